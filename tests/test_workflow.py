"""End-to-end: the whole workflow at smoke scale in a temporary copy of the repository.

Every figure of ``rule all`` must be produced with all of its acceptance checks passing, the
parquet outputs must follow the trajectory schema and be reproducible byte for byte, and bad
configuration must fail before any job starts with a message naming the key.
"""

import hashlib
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


def test_bad_config_is_rejected_before_any_job(tmp_path):
    cases = [
        (["scale=huge"], "'scale'"),
        (["paper_a={fig1: {n_stepz: 5}}"], "paper_a.fig1"),
        (["paper_a={fig2: {sweep: {n_etas: 1}}}"], "paper_a.fig2.sweep.n_etas"),
        (["paper_a={fig1: {d_variant: maybe}}"], "paper_a.fig1.d_variant"),
        (["batches={a2_sweep: 0}"], "batches.a2_sweep"),
    ]
    for overrides, needle in cases:
        res = _run(["-n", "--cores", "1", "--directory", str(tmp_path), "--snakefile", str(REPO / "Snakefile"),
                    "--configfile", str(REPO / "config.yaml"), "--config", *overrides], REPO, timeout=120)
        out = res.stdout + res.stderr
        assert res.returncode != 0, overrides
        assert needle in out, (needle, out[-2000:])
        assert "invalid configuration" in out or "not a preset" in out
    assert not (tmp_path / "results").exists()


def test_lint_is_clean():
    res = _run(["--lint", "--nolock"], REPO, timeout=120)
    assert res.returncode == 0, res.stdout[-3000:]
    assert "Lints for" not in res.stdout + res.stderr, (res.stdout + res.stderr)[-3000:]
