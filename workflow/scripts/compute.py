"""Compute rule: call the step's function (``registry.step(params.step)``, or ``<module>.<function>`` of a
hand-written rule) as ``function(cfg, **kwargs)`` and write its trajectory table."""
import sys

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
from learndyn import io  # noqa: E402


def main():
    table = _rule.core_function(snakemake)(snakemake.params.cfg, **_rule.kwargs(snakemake))
    io.write_trajectories(table, snakemake.output[0])
    name = snakemake.params.get("step") or f"{snakemake.params.module}.{snakemake.params.function}"
    print(f"{name}: {len(table)} rows -> {snakemake.output[0]}")


_rule.run(snakemake, main)
