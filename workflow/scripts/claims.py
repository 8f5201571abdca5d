"""Claims rule: every figure's acceptance checks as one table (parquet), per paper an HTML table of every
check and a PNG of the verdict per figure, and an HTML summary of all papers (learndyn.report)."""
import os
import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from learndyn import io, plotting, report  # noqa: E402


def _write_text(path, text):
    io.atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def main():
    papers = snakemake.params.papers
    checks = {}
    for path in snakemake.input.checks:
        path = Path(path)
        checks[(path.parent.parent.name, path.name.removesuffix("_checks.tsv"))] = io.read_checks(path)
    claims = report.claims_table(checks, scale=snakemake.params.scale)
    table = pa.Table.from_pandas(claims, preserve_index=False).replace_schema_metadata(None)
    io.atomic_write(snakemake.output.parquet, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    _write_text(snakemake.output.summary, report.claims_html(claims, papers, detail=False))
    commit = _rule.git_commit(os.path.join(snakemake.scriptdir, "..", ".."))
    for paper, info in papers.items():
        print(report.summary_line(claims, paper, info))
        _write_text(snakemake.output[f"{paper}_html"], report.claims_html(claims, {paper: info}))
        stamp = report.provenance(snakemake.config, f"{paper}/claims", commit=commit)
        plotting.save(report.claims_figure(claims, paper, info), snakemake.output[f"{paper}_png"],
                      metadata=lambda fmt, stamp=stamp: report.file_metadata(stamp, fmt))


_rule.run(snakemake, main)
