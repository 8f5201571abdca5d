"""Plot rule: read the figure's parquet, draw every panel, compute its acceptance checks."""
import importlib
import sys

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
from learndyn import io, plotting  # noqa: E402


def main():
    module = importlib.import_module(snakemake.params.module)
    table = io.read_trajectories(list(snakemake.input.data))
    checks = module.checks(table, snakemake.params.cfg)
    print(checks.to_string(index=False))
    plotting.save(module.draw(table, snakemake.params.cfg), snakemake.output.pdf, snakemake.output.png)
    io.write_checks(checks, snakemake.output.checks)
    failed = checks[~checks["passed"]]
    if len(failed):
        print(f"WARNING: {len(failed)} acceptance check(s) failed: {list(failed['check'])}")


_rule.run(snakemake, main)
