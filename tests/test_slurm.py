"""Cluster execution against a real SLURM scheduler (issue 6).

Brings up the one-node SLURM 22.05 cluster of ``shared/tools/slurm-local-up.sh`` (``shared/`` lies
beside the repository, as in CI), runs the smoke-scale workflow for paper A's figures 1 and 2 in a
temporary copy of the repository through ``snakemake --profile profiles/slurm`` plus only what this
cluster needs (``--slurm-status-command squeue``: it has no accounting database; partition
``debug``), and checks that

* every compute job was submitted with ``sbatch`` and ran as a SLURM job (the plugin's per-job
  log and the cluster's job completion log, ``sacct -c``, both name it: COMPLETED, partition debug,
  our working directory), while plot rules (localrules) did not;
* the jobs ran with the repository's virtual environment (the interpreter in the sbatch command);
* the parquet outputs are byte-identical to a local ``--cores`` run of the same targets, and every
  acceptance check passes.

The cluster is always torn down afterwards (fixture finaliser), unless it was already running
before the test (then it is not ours to stop). Every snakemake call is bounded by
``timeout -s INT -k 60``: SIGINT makes Snakemake ``scancel`` its jobs, so the test never hangs.

Skipped, with the reason, where it cannot run: not root, no ``shared/tools``, neither SLURM nor
apt-get, no package mirror. With ``LEARNDYN_REQUIRE_SLURM=1`` (CI) these are failures instead.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from learndyn import io

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO.parent / "shared" / "tools"
UP, DOWN = TOOLS / "slurm-local-up.sh", TOOLS / "slurm-local-down.sh"
JOBCOMP = Path(os.environ.get("SLURM_LOCAL_DIR", "/var/lib/slurm-local")) / "log" / "jobcomp.txt"
PARTITION = "debug"                                   # the local cluster's partition
TARGETS = ["fig_a1", "fig_a2"]
COMPUTE = {"a1_compute", "a2_exact", "a2_sweep"}      # rules submitted to SLURM
LOCAL = {"a1_plot", "a2_plot"}                        # localrules: must not be submitted
SNAKEMAKE = [sys.executable, "-m", "snakemake"]       # the venv's interpreter (jobs must use it too)
RUN_TIMEOUT = 900                                     # seconds per snakemake call (then SIGINT)
IGNORE = shutil.ignore_patterns(".git", ".venv", "results", "logs", ".snakemake", "resources", "__pycache__",
                                "*.egg-info", ".pytest_cache")
REQUIRED = os.environ.get("LEARNDYN_REQUIRE_SLURM") == "1"


def _cannot_run(reason):
    """Skip with a visible reason, or fail where the SLURM test is required (CI)."""
    msg = f"SLURM test not run: {reason}"
    if REQUIRED:
        pytest.fail(msg + " (LEARNDYN_REQUIRE_SLURM=1)")
    pytest.skip(msg)


def _prerequisite_problem():
    if not UP.is_file() or not DOWN.is_file():
        return f"no {UP} / {DOWN} (shared/ must lie beside the repository)"
    if os.geteuid() != 0:
        return "needs root (slurm-local-up.sh installs Debian packages and starts daemons)"
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        return "SLURM is not installed and there is no apt-get to install it"
    if shutil.which("timeout") is None:
        return "no `timeout` command (needed to bound snakemake)"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed in this environment"
    return None


def _controller_up():
    if shutil.which("scontrol") is None:
        return False
    res = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
    return "is UP" in res.stdout


def _script(path, *args, timeout):
    return subprocess.run(["timeout", "-k", "10", str(timeout), "bash", str(path), *args],
                          capture_output=True, text=True, timeout=timeout + 30)


@pytest.fixture(scope="module")
def cluster():
    """A running local SLURM cluster; torn down afterwards, also when the test fails."""
    problem = _prerequisite_problem()
    if problem:
        _cannot_run(problem)
    was_up = _controller_up()
    try:
        res = _script(UP, timeout=900)
        if res.returncode != 0:
            out = res.stdout + res.stderr
            if "apt-get failed" in out or "apt-get not found" in out:
                _cannot_run("the SLURM packages could not be installed (no package mirror?):\n" + out[-1500:])
            pytest.fail(f"slurm-local-up.sh failed (exit {res.returncode}):\n{out[-4000:]}")
        yield
    finally:
        if was_up:
            print("SLURM was already running before the test: left running")
        else:
            down = _script(DOWN, timeout=300)
            assert down.returncode == 0, "slurm-local-down.sh failed:\n" + down.stdout + down.stderr


def _snakemake(args, cwd):
    """One bounded snakemake run: SIGINT after RUN_TIMEOUT s (snakemake then cancels its SLURM jobs),
    SIGKILL 60 s later."""
    cmd = ["timeout", "-s", "INT", "-k", "60", str(RUN_TIMEOUT), *SNAKEMAKE, *args]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT + 120)
    assert res.returncode not in (124, 137), f"snakemake timed out after {RUN_TIMEOUT} s:\n{res.stderr[-4000:]}"
    return res


def _copy(dest):
    shutil.copytree(REPO, dest, ignore=IGNORE)
    return dest


def _digests(work):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((work / "results" / "paper_a" / "data").glob("*.parquet"))}


def _profile_default_resources(work):
    """The slurm profile's default-resources plus the local cluster's partition (a command-line
    --default-resources replaces the profile's list, so its entries are repeated)."""
    profile = yaml.safe_load((work / "profiles" / "slurm" / "config.yaml").read_text())
    res = dict(profile.get("default-resources") or {})
    res["slurm_partition"] = PARTITION
    return [f"{k}={v}" for k, v in res.items()]


def _jobcomp_records():
    """Finished jobs of the local cluster (dicts with JobId, JobName, JobState, Partition, WorkDir)
    from ``sacct -c`` (the job completion log, readable without accounting), else the file itself.
    Job ids restart when the cluster state is purged, so callers match on run id and directory too."""
    keys = ["JobId", "JobName", "JobState", "Partition", "WorkDir"]
    res = subprocess.run(["sacct", "-c", "-P", "-n", "-o", "JobID,JobName,State,Partition,WorkDir"],
                         capture_output=True, text=True, timeout=60)
    rows = [dict(zip(keys, line.split("|"))) for line in res.stdout.splitlines() if line.count("|") == 4]
    if not rows and JOBCOMP.exists():
        for line in JOBCOMP.read_text().splitlines():
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            if "JobId" in fields:
                rows.append({k: fields.get("Name" if k == "JobName" else k, "") for k in keys})
    return rows


def _failure_context(work):
    logs = sorted((work / "logs" / "slurm").rglob("*.log")) if (work / "logs" / "slurm").exists() else []
    text = "".join(f"\n--- {p}:\n{p.read_text()[-1500:]}" for p in logs[:6])
    ctld = Path(os.environ.get("SLURM_LOCAL_DIR", "/var/lib/slurm-local")) / "log" / "slurmctld.log"
    if ctld.exists():
        text += "\n--- slurmctld.log:\n" + "\n".join(ctld.read_text().splitlines()[-20:])
    return text


def test_smoke_workflow_on_slurm_matches_local_run(cluster, tmp_path):
    t0 = time.monotonic()
    local = _copy(tmp_path / "local")
    slurm = _copy(tmp_path / "slurm")
    smoke = ["--config", "scale=smoke"]

    res = _snakemake(["--cores", "1", *smoke, "--", *TARGETS], local)
    assert res.returncode == 0, "local run failed:\n" + res.stderr[-4000:]
    t_local = time.monotonic() - t0

    res = _snakemake(["--profile", "profiles/slurm",
                      "--slurm-status-command", "squeue",          # no accounting database on this cluster
                      "--default-resources", *_profile_default_resources(slurm),
                      "--slurm-init-seconds-before-status-checks", "1",
                      "--slurm-keep-successful-logs",              # so that the test can read them
                      "--verbose",                                 # prints every sbatch call
                      *smoke, "--", *TARGETS], slurm)
    log = res.stdout + res.stderr
    assert res.returncode == 0, "SLURM run failed:\n" + log[-6000:] + _failure_context(slurm)
    t_slurm = time.monotonic() - t0 - t_local

    # every compute job went through sbatch, in partition debug, with the venv's python
    calls = [line for line in log.splitlines() if "sbatch call:" in line]
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.", log)
    rules = {re.search(r"/rule_([A-Za-z0-9_]+)/", path).group(1) for _, path in submitted}
    smoke_batches = yaml.safe_load((slurm / "config.yaml").read_text())["presets"]["smoke"]["batches"]["a2_sweep"]
    n_expected = 2 + smoke_batches                                          # a1_compute, a2_exact, sweep batches
    assert rules == COMPUTE and not rules & LOCAL, rules
    assert len(submitted) == len(calls) == n_expected, (submitted, calls)
    for call in calls:
        assert f"-p {PARTITION}" in call, call
        assert f'--wrap="{sys.executable} -m snakemake' in call, call
        for key in ("--mem ", "-t ", "--cpus-per-task=1"):
            assert key in call, (key, call)

    # ... and ran as SLURM jobs, inside the allocation with the venv's python (the plugin's per-job
    # logs, kept by --slurm-keep-successful-logs), recorded by the cluster (job completion log)
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    jobcomp = _jobcomp_records()
    for jobid, path in submitted:
        slurm_log = Path(path)
        assert slurm_log.is_file() and slurm_log.is_relative_to(slurm / "logs" / "slurm"), path
        text = slurm_log.read_text()
        assert f"'SLURM_JOB_ID': '{jobid}'" in text, f"{path}: not run as SLURM job {jobid}"
        assert re.search(rf"The call for this job is: srun .* {re.escape(sys.executable)} -m snakemake", text), path
        assert "1 of 1 steps (100%) done" in text, text[-3000:]
        mine = [r for r in jobcomp if r["JobId"] == jobid and r["JobName"] == run_id]
        assert len(mine) == 1, f"SLURM job {jobid} of run {run_id} not (once) in the job completion log: {mine}"
        assert mine[0]["JobState"] == "COMPLETED" and mine[0]["Partition"] == PARTITION, mine
        assert Path(mine[0]["WorkDir"]).resolve() == slurm.resolve(), mine

    # same bytes as the local run, every acceptance check passing
    assert _digests(slurm) == _digests(local) and len(_digests(local)) == n_expected
    for fig in ("fig1", "fig2"):
        checks = io.read_checks(slurm / "results" / "paper_a" / "figures" / f"{fig}_checks.tsv")
        assert len(checks) and checks["passed"].all(), checks
    print(f"local run {t_local:.0f} s, SLURM run {t_slurm:.0f} s, {n_expected} SLURM jobs")
