"""Transform rule (e.g. fits): read the input trajectory parquet, call ``<module>.<function>(table, cfg, **kwargs)``
of the core and write its trajectory table."""
import sys

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
from learndyn import io  # noqa: E402


def main():
    data = snakemake.input.data
    table = io.read_trajectories([data] if isinstance(data, str) else list(data))
    out = _rule.core_function(snakemake)(table, snakemake.params.cfg, **_rule.kwargs(snakemake))
    io.write_trajectories(out, snakemake.output[0])
    print(f"{snakemake.params.module}.{snakemake.params.function}: {len(table)} rows -> {len(out)} rows "
          f"-> {snakemake.output[0]}")


_rule.run(snakemake, main)
