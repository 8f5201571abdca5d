"""Compute rule: call the step's function (``registry.step(params.step)``) as ``function(cfg, **kwargs)``, or as
``function(table, cfg, **kwargs)`` on the tables of ``input.data`` for a step that transforms earlier steps'
outputs (``params.transform``; fits, theory), and write its trajectory table."""
import sys

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
from learndyn import io  # noqa: E402


def main():
    function = _rule.core_function(snakemake)
    if snakemake.params.transform:
        table = io.read_trajectories(list(snakemake.input.data))
        print(f"{snakemake.params.step}: {len(table)} input rows")
        table = function(table, snakemake.params.cfg, **_rule.kwargs(snakemake))
    else:
        table = function(snakemake.params.cfg, **_rule.kwargs(snakemake))
    io.write_trajectories(table, snakemake.output[0])
    print(f"{snakemake.params.step}: {len(table)} rows -> {snakemake.output[0]}")


_rule.run(snakemake, main)
