"""Cluster execution against a real SLURM scheduler (issue 6).

Brings up the one-node SLURM 22.05 cluster of ``shared/tools/slurm-local-up.sh`` (``shared/`` lies
beside the repository, as in CI), runs the smoke-scale workflow for paper A's figures 1 and 2 in a
temporary copy of the repository through ``snakemake --profile profiles/slurm`` plus only what this
cluster needs (``--slurm-status-command squeue``: it has no accounting database; partition
``debug``), and checks that

* every compute job was submitted with ``sbatch`` and ran as a SLURM job (the plugin's per-job
  log and the cluster's job completion log, ``sacct -c``, both name it: COMPLETED, partition debug,
  our working directory), while plot rules (localrules) did not;
* the jobs ran with the repository's virtual environment (the interpreter in the sbatch command
  and in the job's srun call);
* the parquet outputs are byte-identical to a local ``--cores`` run of the same targets, and every
  acceptance check passes.

The cluster is always torn down afterwards (fixture finaliser), unless it was already running
before the test (then it is not ours to stop). Every snakemake call is bounded by
``timeout -s INT -k 60``: SIGINT makes Snakemake ``scancel`` its jobs, so the test never hangs.

Skipped, with the reason, where it cannot run: not root, no ``shared/tools``, neither SLURM nor
apt-get, no package mirror. With ``LEARNDYN_REQUIRE_SLURM=1`` (CI) these are failures instead.
Only that test carries the ``slurm`` marker; the fast tests at the end need no cluster (resource
helpers of common.smk, the GPU switch down to the plugin's sbatch/srun options, the profiles).
"""

import ast
import hashlib
import math
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
            for p in sorted((work / "results" / "smoke" / "paper_a" / "data").glob("*.parquet"))}


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


@pytest.mark.slurm
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
    smoke_batches = yaml.safe_load((slurm / "config" / "presets" / "smoke.yaml").read_text())["batches"]["a2_sweep"]
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
        checks = io.read_checks(slurm / "results" / "smoke" / "paper_a" / "figures" / f"{fig}_checks.tsv")
        assert len(checks) and checks["passed"].all(), checks
    print(f"local run {t_local:.0f} s, SLURM run {t_slurm:.0f} s, {n_expected} SLURM jobs")


# ---------------------------------------------------------------- without a cluster (fast)
def _helpers(cfg_resources):
    """The resource helpers of workflow/rules/common.smk, executed with a given ``resources`` config."""
    tree = ast.parse((REPO / "workflow" / "rules" / "common.smk").read_text())
    names = {"per_attempt", "gpu_resources", "torch_device"}
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    assert {d.name for d in defs} == names
    ns = {"config": {"resources": cfg_resources}}
    exec(compile(ast.Module(body=defs, type_ignores=[]), "common.smk", "exec"), ns)
    return ns


class _Resources(dict):
    __getattr__ = dict.__getitem__


class _Job:
    """The part of a Snakemake job that the SLURM plugin's submit-string builders read."""
    def __init__(self, **resources):
        self.resources = _Resources(resources)
        self.threads = 1


def test_runtime_and_memory_helpers():
    h = _helpers({"gpu": False, "gpu_model": ""})
    assert h["per_attempt"](500)(None, 1) == 500 and h["per_attempt"](500)(None, 3) == 1500
    assert h["per_attempt"](lambda w: 2.4)(None, 1) == 2 and h["per_attempt"](lambda w: 2.4)(None, 2) == 5
    # a sweep step's runtime (learndyn.figures.steps.sweep_minutes, used by the step declarations)
    from learndyn.figures.steps import sweep_minutes
    # a2_sweep at full scale: 50 networks in 8 batches (<= 7 each) at 15 s: 5 + ceil(105 / 60) minutes
    assert sweep_minutes(50, 8, 15) == 7
    assert sweep_minutes(50, 1, 15) == 5 + math.ceil(750 / 60)
    assert sweep_minutes(4, 2, 3.9) == 6 and sweep_minutes(8, 8, 60) == 6


def test_gpu_switch_reaches_the_sbatch_and_srun_requests():
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_executor_plugin_slurm_jobstep import get_gpu_setting

    off = _helpers({"gpu": False, "gpu_model": ""})
    assert off["gpu_resources"]() == {} and off["torch_device"]() == "cpu"
    on = _helpers({"gpu": True, "gpu_model": ""})
    assert on["gpu_resources"]() == {"gpu": 1} and on["torch_device"]() == "cuda"
    model = _helpers({"gpu": True, "gpu_model": "a100"})
    assert model["gpu_resources"](2) == {"gpu": 2, "gpu_model": "a100"}

    params = {"run_uuid": "r", "slurm_logfile": "l", "comment_str": "c", "account": "", "partition": "",
              "workdir": "/w"}
    cpu_job = _Job(mem_mb=1000, runtime=10, **off["gpu_resources"]())
    gpu_job = _Job(mem_mb=1000, runtime=10, **model["gpu_resources"](2))
    assert set_gres_string(cpu_job) == "" and get_gpu_setting(cpu_job) == ""
    assert set_gres_string(_Job(**on["gpu_resources"]())).strip() == "--gpus=1"
    assert set_gres_string(gpu_job).strip() == "--gpus=a100:2"
    assert get_gpu_setting(gpu_job) == "--gpus=2"                       # srun inside the job
    cpu_call, gpu_call = (get_submit_command(j, params) for j in (cpu_job, gpu_job))
    assert "--mem 1000" in cpu_call and "-t 10" in cpu_call and "--ntasks=1" in cpu_call
    assert "--ntasks=1" not in gpu_call and "--cpus-per-gpu=1" not in gpu_call and "--mem 1000" in gpu_call


def test_profiles_parse_and_name_no_cluster(tmp_path):
    """Both profiles load; the SLURM profile leaves partition and account to the user (commented out:
    a placeholder value would make every sbatch fail); there is no profiles/default, which Snakemake
    would apply to every run."""
    slurm = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert slurm["executor"] == "slurm" and slurm["retries"] >= 1 and slurm["slurm-logdir"] == "logs/slurm"
    assert not {"slurm_partition", "slurm_account"} & set(slurm["default-resources"])
    text = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    assert "# slurm_partition:" in text and "# slurm_account:" in text
    assert not (REPO / "profiles" / "default").exists()
    local = yaml.safe_load((REPO / "profiles" / "local" / "config.yaml").read_text())
    assert local["cores"] == "all" and "executor" not in local
    res = subprocess.run([*SNAKEMAKE, "-n", "--profile", "profiles/slurm", "--config", "scale=smoke", "--", "fig_a1"],
                         cwd=_copy(tmp_path / "repo"), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "a1_compute" in res.stdout and "mem_mb=500" in res.stdout and "runtime=5" in res.stdout, res.stdout[-2000:]
