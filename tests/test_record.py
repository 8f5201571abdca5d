"""The full-scale results record (``snakemake record`` -> docs/results/record.{json,md}, learndyn.record).

Fast tests of the pure functions on hand-made check tables: PNG provenance stamps, machine strings, benchmark
files per figure, the merge (old figures kept, new ones replace, partial figures merged item by item), the
per-paper "N of M checks pass" line, the Markdown page, the comparison that ``snakemake claims`` prints, and
paper B Fig. 5 recorded from the prediction files of some architectures only (a tiny synthetic table through
the figure's own ``checks``). One test runs ``snakemake record`` in a temporary copy of the repository with
fabricated full-scale (and smoke) results and an earlier record.
"""

import io as _bytes_io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from learndyn import io, plotting, record, report
from learndyn.figures.paper_b import fig5

REPO = Path(__file__).resolve().parents[1]
PAPERS = {"paper_a": {"title": "Paper A", "figures": 9, "short": "Fig. {n}"},
          "paper_b": {"title": "Paper B", "figures": 16, "short": "Fig. {n}"},
          "paper_c": {"title": "Paper C", "figures": 8, "short": "L{n}"}}
MACHINE = record.machine(16, "AMD EPYC 7763 64-Core Processor", "none")
ARCHS = ["default", "convolution", "skip", "shallow", "narrow", "dropout", "linear", "relu", "elu", "tanh", "swish"]
FIG5_CFG = {"architectures": ARCHS, "relaxed_checks": [],
            "checks": {"converged_fraction": 0.8, "pearson": 0.8, "slope_min": 0.7, "slope_max": 1.3,
                           "median_rel": 0.4, "dy0_rel": 0.1}}


def _checks(*rows):
    return io.check_table(rows)


def _entry(paper, fig, *rows, commit="a" * 40, date="2026-01-01T00:00:00Z", wall=12.5):
    return record.figure_entry(paper, fig, _checks(*rows), commit=commit, date=date, date_source="check table written",
                               machine=MACHINE, wall_time_s=wall, stamp={"scale": "full", "config_sha256": "c" * 64})


def _fig5_table(arch, good=True, seed=0):
    """A tiny prediction table of one architecture in the layout of fig5.predict: a 5 x 5 grid, measured final
    distance = prediction (+1 % noise) when ``good``, unrelated numbers otherwise."""
    rng = np.random.default_rng(seed)
    dx, dy = np.meshgrid([0.5, 0.75, 1.0, 1.25, 1.5], [0.0, 0.25, 0.5, 0.75, 1.0], indexing="ij")
    dx, dy = dx.ravel(), dy.ravel()
    h_plus = 0.3 + dx + dy
    a = h_plus.copy()
    final_h = h_plus * (1 + 0.01 * rng.standard_normal(25)) if good else rng.uniform(0.1, 3.0, 25)
    vectors = {"dist_x": dx, "dist_y": dy, "h0": np.full(25, 0.1), "y0": np.full(25, 0.1), "w0": np.full(25, 0.1),
               "final_h": final_h, "final_loss": np.full(25, 1e-5), "n_epochs": np.full(25, 100.0),
               "stopped": np.ones(25), "h_plus": h_plus, "A": a, "kept": np.ones(25)}
    meta = dict(figure="b5", panel=arch, condition=arch, learning_rate=0.004)
    frames = [io.records(v, quantity=q, source="prediction", **meta) for q, v in vectors.items()]
    frames += [io.records(v, quantity=q, source="prediction", **meta)
               for q, v in (("mean_eta_h", 1.0), ("mean_eta_y", 0.5), ("n_trials_kept", 50.0), ("n_trials", 50.0))]
    return io.concat(frames)


def _item(arch, good=True, date="2026-01-02T00:00:00Z", wall=100.0):
    checks = fig5.checks(_fig5_table(arch, good), {**FIG5_CFG, "architectures": [arch]})
    return record.item_entry(checks, commit="unknown", date=date, date_source="data file written", machine=MACHINE,
                             wall_time_s=wall)


# ------------------------------------------------------------------ provenance, machine, benchmarks
def test_png_text_reads_the_provenance_stamp_of_a_figure_file():
    stamp = report.provenance({"scale": "full", "x": 1}, "paper_a/fig1", {"n": 3}, commit="b" * 40 + "+dirty")
    fig = plotting.figure(2, 2)
    buf = _bytes_io.BytesIO()
    fig.savefig(buf, format="png", metadata=report.file_metadata(stamp, "png"))
    text = record.png_text(buf.getvalue())
    assert text["Title"] == "learndyn paper_a/fig1"
    assert record.stamp_of(text) == stamp
    assert record.png_text(b"%PDF-1.4 not a png") == {}
    assert record.png_text(buf.getvalue()[:40]) == {}  # truncated before the text chunks: nothing, no error


def test_machine_from_cpuinfo_and_nvidia_smi():
    cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC  7763 64-Core Processor\n"
    assert record.cpu_model(cpuinfo) == "AMD EPYC 7763 64-Core Processor"
    assert record.cpu_model("processor : 0\n") is None
    assert record.gpu_models(None) == "none" and record.gpu_models("\n") == "none"
    assert record.gpu_models("NVIDIA H200\nNVIDIA H200\nTesla T4\n") == "2 x NVIDIA H200, Tesla T4"
    m = record.machine(8, None, "NVIDIA H200")
    assert m == {"cores": 8, "cpu": "unknown", "gpu": "NVIDIA H200", "description": "8 cores, unknown, GPU: NVIDIA H200"}


def test_benchmark_files_map_to_their_figure_and_sum_to_its_wall_time():
    fig = record.benchmark_figure
    assert fig("paper_a", "a2_sweep_3") == "fig2" and fig("paper_a", "a2_exact") == "fig2"
    assert fig("paper_b", "b10_train") == "fig10" and fig("paper_b", "b1_compute") == "fig1"
    assert fig("paper_b", "b5_pool_skip_0") == "fig5" and fig("paper_c", "c3_modes") == "fig3"
    assert fig("paper_b", "bx_train_fig6_0") == "fig6" and fig("paper_b", "b_blobs_mds_fig12_1") == "fig12"
    assert fig("paper_b", "a2_sweep_0") is None and fig("paper_b", "b_mnist_data") is None
    times = record.wall_times("paper_b", {"b1_compute": 2.0, "b10_train": 30.0, "b10_fit": 5.5, "b_mnist_data": 9.0,
                                          "bx_train_fig6_0": 1.0, "bx_train_fig6_1": 2.0})
    assert times == {"fig1": 2.0, "fig10": 35.5, "fig6": 3.0}
    assert record.benchmark_item("b5_pool_skip_0", "b5", "skip") and record.benchmark_item("b5_predict_skip", "b5", "skip")
    assert not record.benchmark_item("b5_pool_skipper_0", "b5", "skip")
    assert not record.benchmark_item("b5_pool_default_0", "b5", "skip")
    assert [record.format_seconds(s) for s in (None, 42.0, 750.0, 11100.0)] == ["n/a", "42 s", "12 min", "3 h 05 min"]


# ------------------------------------------------------------------ entries, merge, summary lines
def test_entry_counts_checks_without_reported_values_and_stores_nan_as_null():
    e = _entry("paper_a", "fig2", ("A: max dev", 0.01, "<= 0.05", True), ("B: max dev", 0.2, "<= 0.1", False),
               ("C: median", np.nan, "(reported)", True))
    assert (e["n_checks"], e["n_passed"], e["n_reported"]) == (2, 1, 1)
    assert [r["kind"] for r in e["checks"]] == ["check", "check", "reported"]
    assert e["checks"][2]["value"] is None and e["checks"][1] == {
        "check": "B: max dev", "value": 0.2, "threshold": "<= 0.1", "passed": False, "kind": "check"}
    text = record.to_json({"figures": {"paper_a/fig2": e}})
    assert "NaN" not in text and record.from_json(text)["figures"]["paper_a/fig2"] == e


def test_merge_keeps_figures_absent_from_results_and_replaces_those_present():
    old_fig1 = _entry("paper_a", "fig1", ("one", 1.0, "== 1", True), commit="1" * 40)
    old_fig2 = _entry("paper_a", "fig2", ("two", 2.0, "== 2", True), commit="1" * 40)
    old, _ = record.merge(None, {"paper_a/fig1": old_fig1, "paper_a/fig2": old_fig2}, PAPERS, updated="day 1")
    new_fig2 = _entry("paper_a", "fig2", ("two", 2.5, "== 2", False), commit="2" * 40)
    new_c3 = _entry("paper_c", "fig3", ("three", 3.0, "== 3", True), commit="2" * 40)
    new, actions = record.merge(record.from_json(record.to_json(old)), {"paper_c/fig3": new_c3, "paper_a/fig2": new_fig2},
                                PAPERS, updated="day 2")
    assert list(new["figures"]) == ["paper_a/fig1", "paper_a/fig2", "paper_c/fig3"]
    assert new["figures"]["paper_a/fig1"] == old_fig1  # not in results/: kept as it was
    assert new["figures"]["paper_a/fig2"]["commit"] == "2" * 40 and new["figures"]["paper_a/fig2"]["n_passed"] == 0
    assert actions == {"paper_c/fig3": "added", "paper_a/fig2": "replaced", "paper_a/fig1": "kept (not in results/)"}
    assert new["updated"] == "day 2"
    # recording the same results again changes nothing, not even the date
    again, _ = record.merge(record.from_json(record.to_json(new)), {"paper_a/fig2": new_fig2}, PAPERS, updated="day 3")
    assert again == new


def test_paper_lines_say_n_of_m_checks_pass_and_list_figures_not_run():
    rec, _ = record.merge(None, {
        "paper_a/fig1": _entry("paper_a", "fig1", ("x", 1.0, "== 1", True), ("y", 0.0, "(reported)", True)),
        "paper_a/fig2": _entry("paper_a", "fig2", ("a", 1.0, "<= 2", True), ("b", 3.0, "<= 2", False)),
        "paper_c/fig4": _entry("paper_c", "fig4", ("c", 1.0, "<= 2", True)),
    }, PAPERS, updated="now")
    p = rec["papers"]
    assert p["paper_a"]["line"] == "Paper A: 2 of 3 checks pass (2 of 9 figures run at full scale, all checks pass in 1)"
    assert p["paper_b"]["line"] == "Paper B: 0 of 0 checks pass (0 of 16 figures run at full scale, all checks pass in 0)"
    assert p["paper_c"]["line"] == "Paper C: 1 of 1 checks pass (1 of 8 figures run at full scale, all checks pass in 1)"
    assert p["paper_a"]["not_run"] == [f"Fig. {n}" for n in range(3, 10)]
    assert p["paper_c"]["not_run"] == ["L1", "L2", "L3", "L5", "L6", "L7", "L8"]
    assert len(p["paper_b"]["not_run"]) == 16


# ------------------------------------------------------------------ paper B Fig. 5, run in part
def test_fig5_partial_architectures_are_checked_recorded_and_merged_item_by_item():
    items = {"skip": _item("skip", good=False, date="2026-01-03T00:00:00Z", wall=50.0), "default": _item("default")}
    e = record.partial_entry("paper_b", "fig5", "architectures", ARCHS, items)
    # the figure's own checks, 5 per architecture, in the config's order; the bad architecture fails Pearson
    assert [r["check"].split(":")[0] for r in e["checks"]] == ["default"] * 5 + ["skip"] * 5
    assert e["n_checks"] == 10 and all(r["passed"] for r in e["checks"][:5])
    assert not e["checks"][6]["passed"] and e["checks"][6]["check"] == "skip: Pearson r(theory, measured)"
    assert e["note"].startswith("architectures run at full scale: [default, skip], missing: [convolution, shallow,")
    assert e["items"]["missing"] == [a for a in ARCHS if a not in ("default", "skip")]
    assert e["date"] == "2026-01-03T00:00:00Z" and e["wall_time_s"] == 150.0 and e["status"] == "partial"
    # values are rounded as a check table stores them, so they compare with a later check table exactly
    assert all(r["value"] == record.round_like_tsv(r["value"]) for r in e["checks"] if r["value"] is not None)

    rec, _ = record.merge(None, {"paper_b/fig5": e}, PAPERS, updated="day 1")
    assert "Fig. 5 (partial: 2 of 11 architectures)" in rec["papers"]["paper_b"]["not_run"]
    # another machine completes 'relu' and reruns 'skip' (now good): merged item by item
    later = record.partial_entry("paper_b", "fig5", "architectures", ARCHS,
                                 {"relu": _item("relu"), "skip": _item("skip", good=True)})
    rec2, actions = record.merge(rec, {"paper_b/fig5": later}, PAPERS, updated="day 2")
    merged = rec2["figures"]["paper_b/fig5"]
    assert actions["paper_b/fig5"] == "merged item by item"
    assert merged["items"]["run"] == ["default", "skip", "relu"] and merged["n_passed"] == merged["n_checks"] == 15
    assert merged["items"]["per_item"]["default"] == items["default"]
    assert merged["machine"] == MACHINE and merged["wall_time_s"] == 300.0
    other = {**_item("elu"), "machine": record.machine(4, "Intel Xeon", "NVIDIA H200")}
    mixed = record.partial_entry("paper_b", "fig5", "architectures", ARCHS, {"default": items["default"], "elu": other})
    assert mixed["machine"]["description"] == "several machines (per architecture below)"
    # the complete figure replaces the partial record; a later partial run never replaces a complete one
    full = _entry("paper_b", "fig5", *[(r["check"], r["value"], r["threshold"], r["passed"]) for r in merged["checks"]])
    rec3, actions = record.merge(rec2, {"paper_b/fig5": full}, PAPERS, updated="day 3")
    assert rec3["figures"]["paper_b/fig5"]["status"] == "complete" and actions["paper_b/fig5"] == "replaced"
    rec4, actions = record.merge(rec3, {"paper_b/fig5": later}, PAPERS, updated="day 4")
    assert rec4["figures"]["paper_b/fig5"] == rec3["figures"]["paper_b/fig5"]
    assert actions["paper_b/fig5"].startswith("kept (complete entry")


# ------------------------------------------------------------------ the Markdown page
def test_markdown_has_header_summary_figure_table_checks_and_figures_not_run():
    rec, _ = record.merge(None, {
        "paper_a/fig2": _entry("paper_a", "fig2", ("median |h - h_+| / h_+", 0.0123456789, "<= 0.4", True),
                               ("B: max dev", 0.2, "<= 0.1", False), wall=None),
        "paper_b/fig5": record.partial_entry("paper_b", "fig5", "architectures", ARCHS, {"default": _item("default")}),
    }, PAPERS, updated="2026-01-05T10:00:00Z")
    md = record.to_markdown(rec, PAPERS)
    assert md.startswith("# Full-scale results record\n")
    assert "Generated by `snakemake record`" in md and "do not edit by hand" in md
    assert "* Paper A: 1 of 2 checks pass (1 of 9 figures run at full scale, all checks pass in 0)" in md
    assert ("| [A Fig. 2](#paper-a-fig-2) | 1 / 2 | `aaaaaaaaaa` | 2026-01-01T00:00:00Z | "
            "16 cores, AMD EPYC 7763 64-Core Processor, GPU: none | n/a |") in md
    assert "| [B Fig. 5](#paper-b-fig-5) (partial: 1 of 11 architectures) | 5 / 5 |" in md
    assert "### Paper A, Fig. 2" in md and "### Paper B, Fig. 5" in md
    # pipes and underscores of check texts are escaped: the table keeps its four columns
    assert r"| median \|h - h\_+\| / h\_+ | 0.0123457 | \<= 0.4 | pass |" in md
    assert r"| B: max dev | 0.2 | \<= 0.1 | **FAIL** |" in md
    assert "architectures run at full scale: \\[default\\], missing: \\[convolution," in md
    assert "* Paper A: Fig. 1, Fig. 3, Fig. 4" in md
    assert "* Paper B: Fig. 1, Fig. 2, Fig. 3, Fig. 4, Fig. 5 (partial: 1 of 11 architectures), Fig. 6" in md
    assert md.index("## Summary") < md.index("## Figures") < md.index("## Checks per figure") < md.index(
        "## Not yet run at full scale")


# ------------------------------------------------------------------ snakemake claims vs the record
def test_compare_a_run_with_the_record_check_by_check():
    rec, _ = record.merge(None, {"paper_a/fig1": _entry("paper_a", "fig1", ("x", 1.0, "== 1", True),
                                                        ("y", 0.5, "<= 1", True), ("gone", 1.0, "== 1", True),
                                                        ("nan", np.nan, "(reported)", True))}, PAPERS, updated="d")
    run = {("paper_a", "fig1"): _checks(("x", 1.0 + 1e-12, "== 1", True), ("y", 0.5, "<= 1", False),
                                        ("nan", np.nan, "(reported)", True), ("new", 2.0, "== 2", True)),
           ("paper_a", "fig3"): _checks(("z", 1.0, "== 1", True), ("w", 1.0, "== 1", True)),
           ("paper_c", "fig1"): _checks(("c", 1.0, "== 1", True))}
    res = record.compare(run, rec)
    a = res["paper_a"]
    assert (a["total"], a["agree"]) == (6, 2)  # x (equal to rounding) and nan (both missing)
    assert a["differ"] == [("fig1", "y", 0.5, 0.5, False, True)]
    assert a["figures_not_in_record"] == [("fig3", 2)]
    assert a["not_in_record"] == [("fig1", "new")] and a["only_in_record"] == [("fig1", "gone")]
    assert record.values_agree(1.0, 1.0 + 1e-10) and not record.values_agree(1.0, 1.0 + 1e-8)
    lines = record.comparison_lines(res, PAPERS, "docs/results/record.json")
    assert lines[0] == ("Paper A: 2 of 6 checks agree with the full-scale record (docs/results/record.json); "
                        "1 differ, 2 in figures not in the record, 1 not in record, 1 only in record")
    assert "  differs: Fig. 1: y: value 0.5 (record 0.5), passed False (record True)" in lines
    assert "  not in the record: Fig. 3 (2 checks)" in lines
    assert "Paper B: no checks in this run to compare with the full-scale record (docs/results/record.json)" in lines
    assert any(line.startswith("Paper C: 0 of 1 checks agree") for line in lines)


# ------------------------------------------------------------------ snakemake record, end to end
IGNORE = shutil.ignore_patterns(".git", ".venv", "results", "logs", ".snakemake", "resources", "__pycache__",
                                "*.egg-info", ".pytest_cache")


def test_snakemake_record_writes_the_record_from_existing_results_and_merges(tmp_path):
    """`snakemake record` in a copy of the repository: a fabricated full-scale check table of paper A Fig. 1 (with
    a stamped PNG and a benchmark file), a fabricated smoke check table (ignored), the prediction file of one
    paper B Fig. 5 architecture (recorded in part) and an earlier record holding paper C L2 (kept)."""
    work = tmp_path / "repo"
    shutil.copytree(REPO, work, ignore=IGNORE)
    (work / "docs" / "results").mkdir(parents=True, exist_ok=True)
    for f in ("record.json", "record.md"):  # the committed record of the checkout, if any: start from our own
        (work / "docs" / "results" / f).unlink(missing_ok=True)
    figs = work / "results" / "paper_a" / "figures"
    io.write_checks(_checks(("A: max |W2W1 sim - exact| over every step", 0.00123, "<= 0.01", True),
                            ("B: loss decreases", 1.0, "== 1", True), ("C: rank (reported)", 2.0, "(reported)", True)),
                    figs / "fig1_checks.tsv")
    stamp = report.provenance({"scale": "full"}, "paper_a/fig1", {}, commit="d" * 40)
    plotting.save(plotting.figure(1, 1), figs / "fig1.png", metadata=lambda fmt: report.file_metadata(stamp, fmt))
    bench = work / "logs" / "benchmarks" / "paper_a"
    bench.mkdir(parents=True)
    (bench / "a1_compute.tsv").write_text("s\th:m:s\tmax_rss\n3.5\t0:00:03\t100\n")
    (bench / "a10_compute.tsv").write_text("s\th:m:s\tmax_rss\n1000\t0:16:40\t100\n")  # no figure 10: not fig1's
    bench_b = work / "logs" / "benchmarks" / "paper_b"
    bench_b.mkdir(parents=True)
    for name, s in (("b5_pool_default_0", 10.0), ("b5_pool_default_1", 20.0), ("b5_predict_default", 2.0),
                    ("b5_pool_skip_0", 500.0)):  # skip has no prediction file: not recorded, its time not counted
        (bench_b / f"{name}.tsv").write_text(f"s\th:m:s\tmax_rss\n{s}\t0:00:10\t100\n")
    io.write_checks(_checks(("smoke only", 1.0, "== 1", True)), work / "results" / "smoke" / "paper_a" / "figures"
                    / "fig2_checks.tsv")
    io.write_trajectories(_fig5_table("default"), work / "results" / "paper_b" / "data" / "fig5_pred_default.parquet")
    old, _ = record.merge(None, {"paper_c/fig2": _entry("paper_c", "fig2", ("kept check", 7.0, "== 7", True))},
                          PAPERS, updated="2026-01-01T00:00:00Z")
    (work / "docs" / "results" / "record.json").write_text(record.to_json(old))

    res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "record"], cwd=work, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    log = work / "logs" / "record.log"
    assert res.returncode == 0, res.stderr[-4000:] + (log.read_text()[-3000:] if log.exists() else "")

    rec = json.loads((work / "docs" / "results" / "record.json").read_text())
    assert list(rec["figures"]) == ["paper_a/fig1", "paper_b/fig5", "paper_c/fig2"]
    a1 = rec["figures"]["paper_a/fig1"]
    assert a1["checks"][0] == {"check": "A: max |W2W1 sim - exact| over every step", "value": 0.00123,
                               "threshold": "<= 0.01", "passed": True, "kind": "check"}
    assert (a1["n_checks"], a1["n_passed"], a1["n_reported"]) == (2, 2, 1)
    assert a1["commit"] == "d" * 40 and a1["wall_time_s"] == 3.5 and a1["machine"]["cores"] == os.cpu_count()
    assert a1["date"].endswith("Z") and a1["date"][:2] == "20"
    b5 = rec["figures"]["paper_b/fig5"]
    assert b5["status"] == "partial" and b5["items"]["run"] == ["default"] and b5["n_checks"] == 5
    assert b5["note"].startswith("architectures run at full scale: [default], missing: [convolution")
    assert b5["items"]["per_item"]["default"]["wall_time_s"] == 32.0 and b5["wall_time_s"] == 32.0
    assert rec["figures"]["paper_c/fig2"] == old["figures"]["paper_c/fig2"]
    assert "smoke only" not in json.dumps(rec)
    assert rec["papers"]["paper_a"]["line"].startswith("Paper A: 2 of 2 checks pass (1 of 9 figures")

    md = (work / "docs" / "results" / "record.md").read_text()
    assert "do not edit by hand" in md and "### Paper A, Fig. 1" in md
    assert r"| A: max \|W2W1 sim - exact\| over every step | 0.00123 | \<= 0.01 | pass |" in md
    assert "| `dddddddddd` |" in md and "| 4 s |" in md
    assert "kept check" in md and "default: Pearson r(theory, measured)" in md


_CLAIMS_DRIVER = """
import runpy, sys
from pathlib import Path

class NS(dict):
    def __getattr__(self, name):
        return self[name]

root, scale = Path(sys.argv[1]), sys.argv[2]
papers = {"paper_a": {"title": "Paper A", "figures": 9, "short": "Fig. {n}"},
          "paper_b": {"title": "Paper B", "figures": 16, "short": "Fig. {n}"}}
out = {"parquet": str(root / "out" / "claims.parquet"), "summary": str(root / "out" / "summary.html")}
out.update({f"{p}_{e}": str(root / "out" / f"{p}.{e}") for p in papers for e in ("html", "png")})
smk = NS(scriptdir=str(root / "workflow" / "scripts"), threads=1, log=[str(root / "claims.log")],
         config={"scale": scale}, input=NS(checks=sorted(str(p) for p in root.glob("results/*/figures/*_checks.tsv"))),
         output=NS(out), params=NS(papers=papers, scale=scale))
runpy.run_path(str(root / "workflow" / "scripts" / "claims.py"), init_globals={"snakemake": smk}, run_name="__main__")
"""


def test_claims_script_compares_the_run_with_the_record(tmp_path):
    """workflow/scripts/claims.py (run with a stand-in for snakemake's ``snakemake`` object) keeps its outputs
    and logs, per paper, how many checks agree with docs/results/record.json and which differ; without a record
    it says so, and at smoke scale it does not compare."""
    scripts = tmp_path / "workflow" / "scripts"
    scripts.mkdir(parents=True)
    for name in ("claims.py", "_rule.py"):
        shutil.copy(REPO / "workflow" / "scripts" / name, scripts / name)
    (tmp_path / "driver.py").write_text(_CLAIMS_DRIVER)
    io.write_checks(_checks(("x", 1.0, "== 1", True), ("y", 0.25, "<= 1", True)),
                    tmp_path / "results" / "paper_a" / "figures" / "fig1_checks.tsv")
    io.write_checks(_checks(("z", 3.0, "== 3", True)), tmp_path / "results" / "paper_a" / "figures" / "fig2_checks.tsv")

    def claims(scale="full"):
        res = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(tmp_path), scale], capture_output=True,
                             text=True, timeout=300)
        log = (tmp_path / "claims.log").read_text()
        assert res.returncode == 0, res.stderr[-3000:] + log[-3000:]
        assert (tmp_path / "out" / "paper_a.html").exists() and (tmp_path / "out" / "claims.parquet").exists()
        return log

    log = claims()
    assert "Paper A: 3 of 3 checks pass" in log  # the existing summary line is still there
    assert "Full-scale record: docs/results/record.json does not exist" in log
    rec, _ = record.merge(None, {"paper_a/fig1": _entry("paper_a", "fig1", ("x", 1.0, "== 1", True),
                                                        ("y", 0.5, "<= 1", True))}, PAPERS, updated="d")
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "results" / "record.json").write_text(record.to_json(rec))
    log = claims()
    assert ("Paper A: 1 of 3 checks agree with the full-scale record (docs/results/record.json); 1 differ, "
            "1 in figures not in the record") in log
    assert "  differs: Fig. 1: y: value 0.25 (record 0.5), passed True (record True)" in log
    assert "  not in the record: Fig. 2 (1 check)" in log
    assert "Paper B: no checks in this run to compare" in log
    log = claims("smoke")
    assert "Full-scale record: not compared (scale smoke" in log and "checks agree" not in log


def test_the_commit_of_a_partial_item_comes_from_its_rule_logs():
    assert record.log_commit("learndyn commit: abc123\nb5_pool: 10 rows\n") == "abc123"
    assert record.log_commit("b5_pool: 10 rows\n") is None          # a log written before the line existed
    assert record.joint_commit(["abc", "abc"]) == "abc"
    assert record.joint_commit(["abc1234567", "def1234567+dirty"]) == "several (2): abc1234, def1234+dirty"
    assert record.joint_commit(["abc", None]) == "unknown"
    assert record.joint_commit([]) == "unknown"
