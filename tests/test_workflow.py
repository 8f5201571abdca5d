"""End-to-end: the whole workflow at smoke scale in a temporary copy of the repository.

Every figure of ``rule all`` must be produced with all of its acceptance checks passing, the
parquet outputs must follow the trajectory schema and be reproducible byte for byte, and bad
configuration must fail before any job starts with a message naming the key.
"""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from learndyn import io

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# smoke_run (tests/conftest.py): one smoke-scale run of the whole workflow in a temporary copy, shared with test_report


def _run(args, cwd, timeout=1500):
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _figure_targets(work):
    res = _run(["--list-rules", "--config", "scale=smoke"], work)
    assert res.returncode == 0, res.stderr
    return sorted(r.strip() for r in res.stdout.split() if r.strip().startswith("fig_"))


@pytest.mark.slow
def test_every_figure_is_built_with_passing_checks(smoke_run):
    figs = _figure_targets(smoke_run)
    assert {"fig_a1", "fig_a2"} <= set(figs)
    checks = sorted(smoke_run.glob("results/smoke/*/figures/*_checks.tsv"))
    assert len(checks) == len(figs), (figs, checks)
    failed = []
    for path in checks:
        stem = path.name.removesuffix("_checks.tsv")
        for ext in ("pdf", "png"):
            out = path.with_name(f"{stem}.{ext}")
            assert out.exists() and out.stat().st_size > 1000, out
        table = io.read_checks(path)
        assert len(table) > 0, path
        failed += [f"{path.parent.parent.name}/{stem}: {c}" for c in table.loc[~table["passed"], "check"]]
    assert not failed, "failed acceptance checks:\n" + "\n".join(failed)


@pytest.mark.slow
def test_parquet_follow_schema_and_are_reproducible(smoke_run):
    files = sorted(smoke_run.glob("results/smoke/*/data/*.parquet"))
    assert files
    for f in files:
        df = io.read_trajectories(f)
        assert list(df.columns) == list(io.COLUMNS)
        assert len(df) > 0, f
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    paper_a = sorted(smoke_run.glob("results/smoke/paper_a/data/fig[12]*.parquet"))
    before = {p.name: digest(p) for p in paper_a}
    res = _run(["fig_a1", "fig_a2", "--cores", "2", "--forcerun", "a1_compute", "a2_exact", "a2_sweep",
                "--config", "scale=smoke"], smoke_run)
    assert res.returncode == 0, res.stderr[-3000:]
    assert {p.name: digest(p) for p in paper_a} == before


@pytest.mark.slow
def test_core_change_reruns_dependent_rules(smoke_run):
    res = _run(["fig_a1", "fig_a2", "-n", "--config", "scale=smoke"], smoke_run)
    assert res.returncode == 0 and "a2_sweep" not in res.stdout, res.stdout[-2000:]
    exact_py = smoke_run / "src" / "learndyn" / "exact.py"
    exact_py.write_text(exact_py.read_text() + "\n# an edit of the core\n")
    res = _run(["fig_a1", "fig_a2", "-n", "--config", "scale=smoke"], smoke_run)
    assert res.returncode == 0, res.stderr
    assert "a2_exact" in res.stdout and "a2_sweep" in res.stdout
    assert "a1_compute" in res.stdout  # fig1 uses exact.py too


# Bad configurations for real snakemake invocations: (name, --configfile content, the one key it breaks). Each
# breaks exactly one rule of its class; tests/test_config_validation.py covers many more cases by direct calls.
BAD_CONFIGS = [
    ("type", "paper_a:\n  fig1:\n    n_steps: many\n", "paper_a.fig1.n_steps"),
    ("range", "paper_a:\n  fig2:\n    sweep:\n      n_etas: 1\n", "paper_a.fig2.sweep.n_etas"),
    ("batches range", "batches:\n  a2_sweep: 0\n", "batches.a2_sweep"),
    ("non-finite", "paper_a:\n  fig1:\n    learning_rate: .nan\n", "paper_a.fig1.learning_rate"),
    # the user's value wins over the smoke preset's (n_picks 3): 13 > 4 networks x 3 rates of the smoke sweep
    ("relation", "scale: smoke\npaper_a:\n  fig2:\n    sweep:\n      n_picks: 13\n", "paper_a.fig2.sweep.n_picks"),
    ("name", "batches:\n  a2_swep: 2\n", "batches.a2_swep"),
]


@pytest.mark.parametrize("name, text, key", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_rejected_before_any_job(tmp_path, name, text, key):
    """A real run (not a dry run) of a cheap target with one bad value in an extra --configfile fails while the
    Snakefile is parsed: exit code != 0, exactly the bad key named with what is allowed, no job, no outputs.
    The non-finite case also passes a nested --config value, which must be read as a number (not as text)."""
    (tmp_path / "bad.yaml").write_text(text)
    extra = ["--config", "batches={a2_sweep: 2}"] if name == "non-finite" else []
    res = _run(["--cores", "1", "--directory", str(tmp_path), "--snakefile", str(REPO / "Snakefile"),
                "--configfile", str(tmp_path / "bad.yaml"), *extra, "--", "fig_a1"],
               REPO, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-2000:]
    assert "invalid configuration" in out, out[-2000:]
    named = re.findall(r"config key '([^']*)'", out)
    assert named == [key], (named, out[-2000:])
    assert re.search(rf"config key '{re.escape(key)}': .*; allowed: ", out), out[-2000:]
    assert "Building DAG of jobs" not in out
    for path in ("results", "logs", ".snakemake/metadata", ".snakemake/incomplete"):
        assert not (tmp_path / path).exists(), path


def test_lint_is_clean():
    res = _run(["--lint", "--nolock"], REPO, timeout=120)
    assert res.returncode == 0, res.stdout[-3000:]
    assert "Lints for" not in res.stdout + res.stderr, (res.stdout + res.stderr)[-3000:]
