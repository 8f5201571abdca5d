"""Compute rule: call ``<module>.<function>(cfg, **kwargs)`` of the core and write its trajectory table."""
import sys

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
from learndyn import io  # noqa: E402


def main():
    table = _rule.core_function(snakemake)(snakemake.params.cfg, **_rule.kwargs(snakemake))
    io.write_trajectories(table, snakemake.output[0])
    print(f"{snakemake.params.module}.{snakemake.params.function}: {len(table)} rows -> {snakemake.output[0]}")


_rule.run(snakemake, main)
