"""Plot rule: read the figure's parquet, draw every panel, compute its acceptance checks. The PDF and PNG
carry a provenance stamp in their metadata (learndyn version, git commit, config hashes, scale)."""
import os
import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
from learndyn import io, plotting, report  # noqa: E402


def main():
    checks_fn, draw_fn = _rule.figure_functions(snakemake)
    table = io.read_trajectories(list(snakemake.input.data))
    checks = checks_fn(table, snakemake.params.cfg)
    print(checks.to_string(index=False))
    png = Path(snakemake.output.png)
    stamp = report.provenance(snakemake.config, f"{png.parent.parent.name}/{png.stem}", snakemake.params.cfg,
                              commit=_rule.git_commit(os.path.join(snakemake.scriptdir, "..", "..")))
    print("provenance:", report.describe(stamp))
    plotting.save(draw_fn(table, snakemake.params.cfg), snakemake.output.pdf, snakemake.output.png,
                  metadata=lambda fmt: report.file_metadata(stamp, fmt))
    io.write_checks(checks, snakemake.output.checks)
    failed = checks[~checks["passed"]]
    if len(failed):
        print(f"WARNING: {len(failed)} acceptance check(s) failed: {list(failed['check'])}")


_rule.run(snakemake, main)
