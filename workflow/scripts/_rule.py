"""Glue shared by the workflow scripts (compute, transform, plot, claims), imported before numpy:
BLAS threads = the rule's threads, the checked-out core first on sys.path, the job's output
(including a traceback on failure) captured in the rule's log, and the checkout's git commit for
provenance stamps."""
import contextlib
import os
import subprocess
import sys
import traceback


def setup(smk):
    """Call first: small matrices run fastest single-threaded, and rules must use this checkout's core."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(smk.threads)
    sys.path.insert(0, os.path.join(smk.scriptdir, "..", "..", "src"))


def core_function(smk):
    """The function a rule runs: the function object of step ``params.step`` in the registry of the figures'
    declarations (learndyn.figures.registry), from which the rule was generated."""
    from learndyn.figures import registry
    return registry.step(smk.params.step)[1].function


def figure_functions(smk):
    """``(checks, draw)`` of the figure ``params.figure`` a plot rule draws."""
    from learndyn.figures import registry
    fig = registry.figure(smk.params.figure)
    return fig.checks, fig.draw


def kwargs(smk):
    return dict(smk.params.get("kwargs", {}) or {})


def run(smk, main):
    """Run ``main()`` with stdout/stderr in the rule's log; a failure's traceback goes there too. The log's first
    line names the checkout's commit (``learndyn commit: <sha>``; read by ``snakemake record``)."""
    with open(smk.log[0], "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        print(f"{COMMIT_PREFIX}{git_commit(os.path.join(smk.scriptdir, '..', '..'))}", flush=True)
        try:
            main()
        except BaseException:
            traceback.print_exc()
            raise


#: first line of every rule log: the commit of the code that ran
COMMIT_PREFIX = "learndyn commit: "


def git_commit(root) -> str:
    """Commit of the git checkout containing ``root`` for provenance stamps: ``"<sha>"``, ``"<sha>+dirty"``
    (tracked files differ from the commit) or ``"unknown"`` outside git or without a git executable. Uses
    ``--no-optional-locks`` so that it never takes the index lock of a checkout others commit in."""
    def git(*args):
        return subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args], capture_output=True,
                              text=True, timeout=30)
    try:
        head = git("rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            return "unknown"
        status = git("status", "--porcelain", "--untracked-files=no")
        return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
