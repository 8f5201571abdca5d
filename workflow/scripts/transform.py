"""Transform rule (e.g. fits): read the input trajectory parquet, call ``<module>.<function>(table, cfg, **kwargs)``
of the core and write its trajectory table."""
import os
import sys

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(snakemake.threads)
sys.path.insert(0, os.path.join(snakemake.scriptdir, "..", "..", "src"))  # the checked-out core

import contextlib  # noqa: E402
import importlib  # noqa: E402
import traceback  # noqa: E402

from learndyn import io  # noqa: E402


def main():
    module = importlib.import_module(snakemake.params.module)
    transform = getattr(module, snakemake.params.function)
    data = snakemake.input.data
    table = io.read_trajectories([data] if isinstance(data, str) else list(data))
    out = transform(table, snakemake.params.cfg, **dict(snakemake.params.get("kwargs", {}) or {}))
    io.write_trajectories(out, snakemake.output[0])
    print(f"{snakemake.params.module}.{snakemake.params.function}: {len(table)} rows -> {len(out)} rows "
          f"-> {snakemake.output[0]}")


with open(snakemake.log[0], "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
    try:
        main()
    except BaseException:
        traceback.print_exc()
        raise
