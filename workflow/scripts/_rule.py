"""Glue shared by the workflow scripts (compute, transform, plot), imported before numpy:
BLAS threads = the rule's threads, the checked-out core first on sys.path, and the job's output
(including a traceback on failure) captured in the rule's log."""
import contextlib
import importlib
import os
import sys
import traceback


def setup(smk):
    """Call first: small matrices run fastest single-threaded, and rules must use this checkout's core."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(smk.threads)
    sys.path.insert(0, os.path.join(smk.scriptdir, "..", "..", "src"))


def core_function(smk, name="function"):
    """``<params.module>.<params.<name>>`` of the core."""
    return getattr(importlib.import_module(smk.params.module), smk.params[name])


def kwargs(smk):
    return dict(smk.params.get("kwargs", {}) or {})


def run(smk, main):
    """Run ``main()`` with stdout/stderr in the rule's log; a failure's traceback goes there too."""
    with open(smk.log[0], "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            main()
        except BaseException:
            traceback.print_exc()
            raise
