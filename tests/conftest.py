"""Shared fixtures: one smoke-scale run of the whole workflow, used by test_workflow.py and test_report.py."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", ".venv", "results", "logs", ".snakemake", "resources", "__pycache__",
                                "*.egg-info", ".pytest_cache")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """A temporary copy of the repository (without git, results, logs; ``../shared`` linked as beside the
    checkout) in which ``snakemake --config scale=smoke`` (every figure of rule all and the claims tables) has
    run successfully; its path. ``LEARNDYN_SMOKE_RUN=<dir>``: use that existing run instead (a checkout in which
    the smoke workflow has run; for developing tests, never set in CI)."""
    if os.environ.get("LEARNDYN_SMOKE_RUN"):
        return Path(os.environ["LEARNDYN_SMOKE_RUN"])
    work = tmp_path_factory.mktemp("wf") / "repo"
    shutil.copytree(REPO, work, ignore=IGNORE)
    if (REPO.parent / "shared").is_dir():  # the checkout's neighbour (config: ../shared/data/mnist), as in the checkout
        (work.parent / "shared").symlink_to(REPO.parent / "shared")
    cores = str(max(2, os.cpu_count() or 2))
    res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", cores, "--config", "scale=smoke"], cwd=work,
                         capture_output=True, text=True, timeout=1500)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-6000:]
    return work
