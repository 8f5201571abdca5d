"""The reproduction report: claims tables, provenance stamps, captions, and ``snakemake --report`` at smoke scale.

Fast tests check :mod:`learndyn.report` on hand-made check tables (counts, reported rows, missing figures, HTML
without external resources), the provenance stamp in PNG/PDF metadata (deterministic bytes, no git needed) and
that every figure of the three papers has a caption that renders as reStructuredText the way Snakemake renders it.
The slow test builds the report from the shared smoke run (``smoke_run``, tests/conftest.py) and checks it
contains every implemented figure (every ``fig_*`` target) with its caption and the claims tables with the
right "N of M checks pass" lines.
"""

import base64
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from learndyn import io, plotting, report

REPO = Path(__file__).resolve().parents[1]
CAPTIONS = REPO / "workflow" / "report"
PAPERS = {"paper_a": {"title": "Paper A", "figures": 9}, "paper_b": {"title": "Paper B", "figures": 16},
          "paper_c": {"title": "Paper C", "figures": 8}}


def _checks(*rows):
    return io.check_table(rows)


def _example():
    return {
        ("paper_a", "fig2"): _checks(("A: max dev", 0.01, "<= 0.05", True), ("B: max dev", 0.2, "<= 0.1", False),
                                     ("C: median", 3.0, "(reported)", True)),
        ("paper_a", "fig10"): _checks(("ten", 1.0, "== 1", True)),
        ("paper_b", "fig1"): _checks(("label 'f' drawn", 1.0, "= 1", True),
                                     ("high (report only): rate", np.nan, "eta_h = -0.1", True)),
    }


# ------------------------------------------------------------------ claims
def test_claims_table_one_row_per_check_with_kind_and_scale():
    claims = report.claims_table(_example(), scale="smoke")
    assert list(claims.columns) == list(report.CLAIMS_COLUMNS)
    assert len(claims) == 6
    # sorted by paper, then figure *number* (10 after 2), each figure's rows in their original order
    assert claims[["paper", "figure"]].drop_duplicates().values.tolist() == [["A", 2], ["A", 10], ["B", 1]]
    assert claims["claim"].tolist()[:3] == ["A: max dev", "B: max dev", "C: median"]
    assert claims["kind"].tolist() == ["check", "check", "reported", "check", "check", "reported"]
    assert (claims["scale"] == "smoke").all()
    assert claims["passed"].tolist() == [True, False, True, True, True, True]
    assert np.isnan(claims["value"].iloc[5]) and claims["value"].iloc[1] == 0.2
    assert claims["figure"].dtype == np.int64 and claims["passed"].dtype == bool


def test_summary_counts_checks_not_reported_rows_and_lists_missing_figures():
    claims = report.claims_table(_example(), scale="full")
    fig = report.summary(claims, {"paper_a": {"title": "A", "figures": 9}})
    assert fig["figure"].tolist() == list(range(1, 11))            # 1..9 of the paper, and 10 which has checks
    row2 = fig[fig["figure"] == 2].iloc[0]
    assert (row2["n_checks"], row2["n_passed"], row2["n_reported"]) == (2, 1, 1)
    assert row2["failed"] == ["B: max dev"] and row2["verdict"] == "1 of 2 checks fail"
    assert fig[fig["figure"] == 10].iloc[0]["verdict"] == "all 1 checks pass"
    assert fig[fig["figure"] == 3].iloc[0]["verdict"] == "not implemented"
    line = report.summary_line(claims, "paper_a", {"title": "A", "figures": 9})
    assert line.startswith("Paper A: 2 of 3 checks pass (2 of 9 figures implemented, all checks pass in 1; "
                           "1 reported values; scale full). Not implemented: Fig. 1, Fig. 3,")
    line_c = report.summary_line(claims, "paper_c", {"title": "C", "figures": 2, "short": "L{n}"})
    assert line_c.endswith("0 of 0 checks pass (0 of 2 figures implemented, all checks pass in 0; 0 reported values; "
                           "scale n/a). Not implemented: L1, L2")
    line_b = report.summary_line(claims, "paper_b", {"title": "B", "figures": 1})
    assert line_b == ("Paper B: 1 of 1 checks pass (1 of 1 figures implemented, all checks pass in 1; "
                      "1 reported values; scale full)")


def test_reported_rows_of_the_existing_check_tables():
    assert report.is_reported("C: median of that ratio", "(reported)")
    assert report.is_reported("x", "(reported; spec: D 109, E 311, C 1012)")
    assert report.is_reported("high (report only): nRMSE h / fitted eta_h", "eta_h = -0.0011")
    assert not report.is_reported("C: max loss-MSE", "< 5e-6")


def test_claims_html_lists_every_check_and_needs_no_network():
    claims = report.claims_table(_example(), scale="full")
    page = report.claims_html(claims, PAPERS)
    for claim in claims["claim"]:
        assert html.escape(claim) in page
    assert page.count(">FAIL<") == 1 and page.count(">reported<") == 2
    assert "Paper A: 2 of 3 checks pass" in page and "Paper C: 0 of 0 checks pass" in page
    assert not re.search(r"https?://|<script|<link|src=", page)
    summary_page = report.claims_html(claims, PAPERS, detail=False)
    assert "B: max dev" in summary_page                             # failed checks are named in the verdicts
    assert "C: median" not in summary_page                          # but the rows are not listed


def test_claims_figure_has_one_row_per_figure_of_the_paper():
    claims = report.claims_table(_example(), scale="full")
    fig = report.claims_figure(claims, "paper_b", {"title": "B", "figures": 16})
    table = [c for c in fig.axes[0].get_children() if type(c).__name__ == "Table"][0]
    texts = [cell.get_text().get_text() for (r, c), cell in table.get_celld().items() if c == 0 and r > 0]
    assert sorted(texts, key=lambda t: int(t.split()[-1])) == [f"Fig. {i}" for i in range(1, 17)]
    assert "Paper B: 1 of 1 checks pass" in fig._suptitle.get_text()


# ------------------------------------------------------------------ provenance
def test_config_hash_is_canonical():
    a = {"scale": "full", "paper_a": {"fig1": {"seed": 3, "sigmas": [0.01, 0.25]}}}
    b = {"paper_a": {"fig1": {"sigmas": [0.01, 0.25], "seed": 3}}, "scale": "full"}
    assert report.sha256(a) == report.sha256(b)
    assert report.sha256(a) != report.sha256({**a, "scale": "smoke"})
    assert re.fullmatch(r"[0-9a-f]{64}", report.sha256(a))


def _rule_module():
    """workflow/scripts/_rule.py (the workflow glue that asks git; standard library only)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("_rule", REPO / "workflow" / "scripts" / "_rule.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_git_commit_outside_and_inside_git(tmp_path):
    git_commit = _rule_module().git_commit
    assert git_commit(tmp_path) == "unknown"
    stamp = report.provenance({"scale": "smoke"}, "paper_a/fig1", {"seed": 1}, commit=git_commit(tmp_path))
    assert stamp["git_commit"] == "unknown" and stamp["scale"] == "smoke"
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("the repository is not a git checkout here")
    assert git_commit(REPO).removesuffix("+dirty") == head.stdout.strip()


def test_figures_carry_the_provenance_stamp_and_stay_deterministic(tmp_path):
    from PIL import Image
    stamp = report.provenance({"scale": "smoke", "x": 1}, "paper_a/fig9", {"seed": 2})

    def draw():
        fig = plotting.figure(2, 1.5)
        fig.add_subplot().plot([0, 1], [1, 0])
        return fig

    for name in ("one", "two"):
        plotting.save(draw(), tmp_path / f"{name}.png", tmp_path / f"{name}.pdf",
                      metadata=lambda fmt: report.file_metadata(stamp, fmt))
    png = Image.open(tmp_path / "one.png").text
    assert png["learndyn:config_sha256"] == report.sha256({"scale": "smoke", "x": 1})
    assert png["learndyn:figure_config_sha256"] == report.sha256({"seed": 2})
    assert png["learndyn:scale"] == "smoke" and png["learndyn:git_commit"] == "unknown"
    assert png["learndyn:learndyn_version"] == report.__version__ and png["Title"] == "learndyn paper_a/fig9"
    pdf = (tmp_path / "one.pdf").read_bytes()
    assert f"config_sha256={stamp['config_sha256']}".encode() in pdf and b"scale=smoke" in pdf
    assert b"CreationDate" not in pdf
    for ext in ("png", "pdf"):
        assert (tmp_path / f"one.{ext}").read_bytes() == (tmp_path / f"two.{ext}").read_bytes()


# ------------------------------------------------------------------ captions
def _render_rst(path, scale):
    """Render a caption as ``snakemake --report`` does (Jinja with trim/lstrip blocks, then docutils), failing
    on any reStructuredText warning (which would otherwise be printed into the report) and, unlike Snakemake, on
    any undefined name or config key (``StrictUndefined``: a misspelled key would otherwise render as nothing)."""
    from docutils.core import publish_parts
    from jinja2 import Environment, StrictUndefined

    import importlib.util


    spec = importlib.util.spec_from_file_location("config_validation_report_test",
                                                  REPO / "workflow" / "scripts" / "config_validation.py")
    validation = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = validation   # dataclasses look their module up by name
    spec.loader.exec_module(validation)
    resolved, _ = validation.resolve({**validation.load_raw(), "scale": scale})

    class Smk:  # the configuration the report sees: config/ with the scale's preset, as the workflow resolves it
        config = resolved
        params = {}

    env = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    text = env.from_string(path.read_text(encoding="utf-8")).render(snakemake=Smk, categories={}, files=[])
    return publish_parts(text, writer="html", settings_overrides={"report_level": 2, "halt_level": 2})["body"]


def test_every_figure_of_every_paper_has_a_caption_that_renders():
    for paper, info in PAPERS.items():
        letter = paper[-1].upper()
        for n in range(1, info["figures"] + 1):
            path = CAPTIONS / paper / f"fig{n}.rst"
            assert path.exists(), path
            for scale in ("full", "smoke"):
                body = _render_rst(path, scale)
                assert f"Paper {letter}" in body and (f"Figure {n}" in body or f"L{n}" in body), path
                assert ("smoke" in body) == (scale == "smoke"), path
    for name in ("workflow.rst", "claims.rst", "claims_summary.rst"):
        assert _render_rst(CAPTIONS / name, "full")


# ------------------------------------------------------------------ the report
def _snakemake(args, cwd, timeout=900):
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def _data(uri):
    """Bytes of a ``data:...;base64,...`` URI of the report."""
    return base64.b64decode(uri.split("base64,", 1)[1])


@pytest.mark.slow
def test_report_contains_every_figure_and_the_claims_tables(smoke_run):
    res = _snakemake(["--report", "report.html", "--config", "scale=smoke"], smoke_run)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    page = (smoke_run / "report.html").read_text(encoding="utf-8")
    results = json.loads(re.search(r"var results = (\{.*?\});\n", page, re.S).group(1))
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", page, re.S).group(1))
    # offline: every script and style is inlined, nothing is loaded from the network
    assert not re.search(r"<(?:script|link|img)[^>]+(?:src|href)=\"https?://", page)

    targets = _snakemake(["--list-rules", "--config", "scale=smoke"], smoke_run, timeout=300)
    figs = sorted(t for t in targets.stdout.split() if t.startswith("fig_"))
    assert {"fig_a1", "fig_b1", "fig_c1"} <= set(figs)
    base = "results/smoke"
    for target in figs:
        letter, n = target[4], target[5:]
        path = f"{base}/paper_{letter}/figures/fig{n}.png"
        assert path in results, path
        entry = results[path]
        assert entry["mime_type"] == "image/png" and _data(entry["data_uri"])[:4] == b"\x89PNG"
        assert f"Paper {letter.upper()}" in entry["caption"] and "smoke" in entry["caption"], path
        assert entry["job_properties"]["rule"].endswith("_plot"), entry["job_properties"]   # its own rule's parameters
        assert "cfg=" in entry["job_properties"]["params"]
        title = next(c for c in categories if c.startswith(f"Paper {letter.upper()} "))
        subcategory = f"Group L{n}" if letter == "c" else f"Figure {int(n):02d}"   # PAPERS in common.smk
        assert categories[title][subcategory] == [path]
    assert len([p for p in results if p.endswith(".png") and "/figures/" in p]) == len(figs)

    # the claims tables: per paper HTML + PNG, and the summary; their N-of-M lines match the check tables
    checks = {}
    for path in sorted(smoke_run.glob(f"{base}/*/figures/*_checks.tsv")):
        checks[(path.parent.parent.name, path.name.removesuffix("_checks.tsv"))] = io.read_checks(path)
    claims = report.claims_table(checks, scale="smoke")
    parquet = pd.read_parquet(smoke_run / base / "claims.parquet")
    assert len(parquet) == len(claims) == sum(len(t) for t in checks.values())
    assert list(parquet.columns) == list(report.CLAIMS_COLUMNS) and (parquet["scale"] == "smoke").all()
    summary_page = _data(results[f"{base}/claims/claims_summary.html"]["data_uri"]).decode()
    for paper in PAPERS:
        letter = paper[-1].upper()
        mine = claims[(claims["paper"] == letter) & (claims["kind"] == "check")]
        line = f"Paper {letter}: {int(mine['passed'].sum())} of {len(mine)} checks pass"
        assert line in summary_page, line
        table = _data(results[f"{base}/claims/{paper}_claims.html"]["data_uri"]).decode()
        assert line in table and table.count("<tr class=") >= len(mine)
        assert results[f"{base}/claims/{paper}_claims.png"]["mime_type"] == "image/png"
        title = next(c for c in categories if c.startswith(f"Paper {letter} "))
        assert set(categories[title]["Claims (acceptance checks)"]) == {
            f"{base}/claims/{paper}_claims.html", f"{base}/claims/{paper}_claims.png"}
    assert "All papers — claims summary" in categories
