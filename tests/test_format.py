"""The rule files (Snakefile, workflow/rules/*.smk) are formatted by snakefmt (settings: [tool.snakefmt] in
pyproject.toml) and pass `snakemake --lint`: `snakefmt Snakefile workflow/rules` formats them."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_rule_files_are_formatted_by_snakefmt():
    exe = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or shutil.which("snakefmt")
    assert exe, "snakefmt is not installed (it is in the lock: see README, set-up)"
    res = subprocess.run([exe, "--check", "--diff", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, "run `snakefmt Snakefile workflow/rules`:\n" + (res.stdout + res.stderr)[-4000:]


@pytest.mark.slow
def test_workflow_passes_snakemake_lint():
    res = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and "Congratulations" in res.stdout + res.stderr, (res.stdout + res.stderr)[-4000:]
