"""Claims rule: every figure's acceptance checks as one table (parquet), per paper an HTML table of every
check and a PNG of the verdict per figure, and an HTML summary of all papers (learndyn.report). At full scale the
log also says, per paper, how many checks agree with the committed full-scale record docs/results/record.json
(`snakemake record`, learndyn.record) and lists those that differ."""
import os
import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from learndyn import io, plotting, record, report  # noqa: E402

RECORD = Path(snakemake.scriptdir).parent.parent / "docs" / "results" / "record.json"
RECORD_NAME = "docs/results/record.json"


def _write_text(path, text):
    io.atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def record_lines(checks, papers, scale):
    """The comparison of this run's checks with the full-scale record (or why there is none)."""
    if scale != "full":
        return [f"Full-scale record: not compared (scale {scale}; {RECORD_NAME} holds full-scale results)"]
    if not RECORD.exists():
        return [f"Full-scale record: {RECORD_NAME} does not exist (no full-scale run recorded yet; write it with "
                "`snakemake record`), so the checks are not compared with it"]
    try:
        rec = record.from_json(RECORD.read_text(encoding="utf-8"))
    except ValueError as exc:
        return [f"Full-scale record: {RECORD_NAME} is not a readable record ({exc}); checks not compared"]
    return record.comparison_lines(record.compare(checks, rec), papers, RECORD_NAME)


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
    for line in record_lines(checks, papers, snakemake.params.scale):
        print(line)


_rule.run(snakemake, main)
