"""The reproduction report: provenance stamps of figure files and the claims tables of ``snakemake --report``.

* **Provenance** (:func:`provenance`, :func:`file_metadata`; pass ``lambda fmt: file_metadata(stamp, fmt)`` as
  ``metadata`` to :func:`learndyn.plotting.save`): where a figure file came from
  -- learndyn version, git commit of the checkout (``"unknown"`` outside git), SHA-256 of the resolved
  configuration and of the figure's own parameters, and the scale preset -- written into the PNG text chunks
  and the PDF document information, so a file found on its own says how to regenerate it.
* **Claims** (:func:`claims_table`, :func:`summary`, :func:`claims_html`, :func:`claims_figure`): every
  figure's acceptance checks (the ``*_checks.tsv`` tables of :func:`learndyn.io.write_checks`) as one table
  with one row per check, and the verdicts per figure and per paper ("N of M checks pass").

Check rows that only *report* a number (threshold ``"(reported...)"`` or a check text saying ``"report
only"``; their ``passed`` is always true) are kept with ``kind = "reported"`` and not counted as checks.
Pure functions: reading and writing files is left to :mod:`learndyn.io`, :mod:`learndyn.plotting` and the
workflow script ``workflow/scripts/claims.py``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Mapping

import numpy as np
import pandas as pd

from . import __version__, plotting

__all__ = ["CLAIMS_COLUMNS", "canonical_json", "sha256", "provenance", "describe", "file_metadata", "is_reported",
           "figure_number", "paper_letter", "claims_table", "summary", "summary_line", "claims_html",
           "claims_figure"]

#: Columns of the claims table (``results/claims.parquet``), in order.
CLAIMS_COLUMNS: tuple[str, ...] = ("paper", "figure", "claim", "value", "threshold", "passed", "kind", "scale")


# ------------------------------------------------------------------ provenance
def canonical_json(obj) -> str:
    """Canonical JSON of a (config) mapping: sorted keys, no whitespace, non-JSON values as ``str``."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def sha256(obj) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def provenance(config: Mapping, figure: str, figure_config=None, commit: str = "unknown") -> dict[str, str]:
    """Provenance stamp of one output: ``figure`` (e.g. ``"paper_a/fig2"``), ``learndyn_version``,
    ``git_commit`` (as given: ``"<sha>"``, ``"<sha>+dirty"`` or ``"unknown"``; the workflow asks git in
    ``workflow/scripts/_rule.py``, the core touches no repository), ``config_sha256`` (of the resolved
    ``config``, presets applied), ``figure_config_sha256`` (of the figure's own parameters, ``""`` if not
    given) and ``scale``."""
    return {
        "figure": figure,
        "learndyn_version": __version__,
        "git_commit": str(commit),
        "config_sha256": sha256(dict(config)),
        "figure_config_sha256": sha256(figure_config) if figure_config is not None else "",
        "scale": str(config.get("scale", "full")),
    }


def describe(stamp: Mapping[str, str]) -> str:
    """One line of text saying where a file came from (the PDF ``Subject``, the PNG ``Description``)."""
    return (f"learndyn {stamp['learndyn_version']} {stamp['figure']}, git {stamp['git_commit']}, scale "
            f"{stamp['scale']}, config sha256 {stamp['config_sha256']}")


def file_metadata(stamp: Mapping[str, str], fmt: str) -> dict[str, str]:
    """Metadata for ``Figure.savefig(metadata=...)`` in format ``fmt``: PNG text chunks (``Title``,
    ``Description`` and one ``learndyn:<key>`` chunk per stamp entry) or the PDF document information
    (``Title``, ``Subject`` = :func:`describe`, ``Keywords`` = ``key=value; ...``). No dates."""
    title = f"learndyn {stamp['figure']}"
    if fmt == "png":
        return {"Title": title, "Description": describe(stamp), **{f"learndyn:{k}": str(v) for k, v in stamp.items()}}
    if fmt == "pdf":
        return {"Title": title, "Subject": describe(stamp), "Keywords": "; ".join(f"{k}={v}" for k, v in stamp.items())}
    return {}


# ------------------------------------------------------------------ claims
def is_reported(check: str, threshold: str) -> bool:
    """A check row that only reports a value (no pass/fail criterion)."""
    return str(threshold).strip().lower().startswith("(reported") or "report only" in str(check).lower()


def figure_number(fig: str) -> int:
    """``"fig12"`` -> 12."""
    m = re.fullmatch(r"fig(\d+)", fig)
    if m is None:
        raise ValueError(f"figure id {fig!r} is not of the form fig<N>")
    return int(m.group(1))


def paper_letter(paper: str) -> str:
    """``"paper_b"`` -> ``"B"``."""
    m = re.fullmatch(r"paper_([a-z])", paper)
    if m is None:
        raise ValueError(f"paper id {paper!r} is not of the form paper_<letter>")
    return m.group(1).upper()


def claims_table(checks: Mapping[tuple[str, str], pd.DataFrame], scale: str) -> pd.DataFrame:
    """One row per acceptance check of every figure.

    ``checks``: ``{(paper, fig): table}`` with ``paper`` like ``"paper_a"``, ``fig`` like ``"fig2"`` and
    ``table`` a check table (columns ``check, value, threshold, passed``). Returns :data:`CLAIMS_COLUMNS`:
    ``paper`` (``"A"``), ``figure`` (int), ``claim`` (the check text), ``value`` (float, NaN if none),
    ``threshold`` (text), ``passed`` (bool), ``kind`` (``"check"`` | ``"reported"``) and ``scale``; rows
    sorted by paper and figure number, each figure's checks in their original order."""
    frames = []
    for (paper, fig), table in sorted(checks.items(), key=lambda kv: (kv[0][0], figure_number(kv[0][1]))):
        missing = [c for c in ("check", "value", "threshold", "passed") if c not in table.columns]
        if missing:
            raise ValueError(f"{paper}/{fig}: check table lacks columns {missing}")
        threshold = table["threshold"].fillna("").astype(str)
        frames.append(pd.DataFrame({
            "paper": paper_letter(paper),
            "figure": figure_number(fig),
            "claim": table["check"].astype(str).to_numpy(),
            "value": pd.to_numeric(table["value"], errors="coerce").astype(float).to_numpy(),
            "threshold": threshold.to_numpy(),
            "passed": table["passed"].astype(bool).to_numpy(),
            "kind": ["reported" if is_reported(c, t) else "check" for c, t in zip(table["check"], threshold)],
            "scale": scale,
        }))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(CLAIMS_COLUMNS, (
            str, "int64", str, float, str, bool, str, str))})
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"paper": str, "figure": "int64", "claim": str, "value": float, "threshold": str,
                       "passed": bool, "kind": str, "scale": str})[list(CLAIMS_COLUMNS)]


def _name(info: Mapping, n: int) -> str:
    return str(info.get("short", "Fig. {n}")).format(n=n)


def summary(claims: pd.DataFrame, papers: Mapping[str, Mapping]) -> pd.DataFrame:
    """Verdict per figure of every paper in ``papers`` (``{"paper_a": {"title": ..., "figures": 9, "short":
    "Fig. {n}"}, ...}``), including figures without checks (not implemented): columns ``paper`` (letter),
    ``figure`` (int), ``name`` (``short`` formatted with the figure number; default ``"Fig. {n}"``),
    ``implemented``, ``n_checks``, ``n_passed``, ``n_reported``, ``failed`` (list of failed check texts),
    ``verdict`` (``"all N checks pass"``, ``"K of N checks fail"``, ``"not implemented"``)."""
    rows = []
    for paper, info in papers.items():
        letter = paper_letter(paper)
        mine = claims[claims["paper"] == letter]
        numbers = sorted(set(range(1, int(info["figures"]) + 1)) | set(mine["figure"].tolist()))
        for n in numbers:
            sub = mine[mine["figure"] == n]
            real = sub[sub["kind"] == "check"]
            failed = real.loc[~real["passed"], "claim"].tolist()
            implemented = len(sub) > 0
            if not implemented:
                verdict = "not implemented"
            elif failed:
                verdict = f"{len(failed)} of {len(real)} checks fail"
            else:
                verdict = f"all {len(real)} checks pass"
            rows.append({"paper": letter, "figure": n, "name": _name(info, n), "implemented": implemented,
                         "n_checks": len(real), "n_passed": int(real["passed"].sum()),
                         "n_reported": int((sub["kind"] == "reported").sum()),
                         "failed": failed, "verdict": verdict})
    return pd.DataFrame(rows, columns=["paper", "figure", "name", "implemented", "n_checks", "n_passed", "n_reported",
                                       "failed", "verdict"])


def summary_line(claims: pd.DataFrame, paper: str, info: Mapping) -> str:
    """One line per paper: ``"Paper A: 230 of 230 checks pass (9 of 9 figures implemented, all checks pass
    in 9; 40 reported values; scale full)"``."""
    fig = summary(claims, {paper: info})
    impl = fig[fig["implemented"]]
    n, k = int(impl["n_checks"].sum()), int(impl["n_passed"].sum())
    clean = int((impl["n_checks"] == impl["n_passed"]).sum())
    scales = sorted(set(claims.loc[claims["paper"] == paper_letter(paper), "scale"]))
    missing = fig.loc[~fig["implemented"], "name"].tolist()
    text = (f"Paper {paper_letter(paper)}: {k} of {n} checks pass ({len(impl)} of {int(info['figures'])} figures "
            f"implemented, all checks pass in {clean}; {int(impl['n_reported'].sum())} reported values; scale "
            f"{', '.join(scales) or 'n/a'})")
    if missing:
        text += ". Not implemented: " + ", ".join(missing)
    return text


def _fmt(value: float) -> str:
    return "&mdash;" if np.isnan(value) else f"{value:.4g}"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 13px; margin: 1em; color: #222; }
h1 { font-size: 18px; } h2 { font-size: 15px; margin-top: 1.4em; } h3 { font-size: 13px; margin: 1em 0 0.3em; }
table { border-collapse: collapse; margin: 0.3em 0 1em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; } td.num { text-align: right; font-family: monospace; white-space: nowrap; }
tr.pass td.verdict { background: #d9f2d9; } tr.fail td.verdict { background: #f8d0d0; }
tr.reported td.verdict { background: #eeeeee; } tr.missing td { color: #888; }
p.summary { font-weight: bold; }
"""


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _figure_rows(fig: pd.DataFrame) -> list[str]:
    out = ["<table>", "<tr><th>figure</th><th>checks passed</th><th>reported values</th><th>verdict</th>"
           "<th>failed checks</th></tr>"]
    for r in fig.itertuples():
        cls = "missing" if not r.implemented else ("fail" if r.failed else "pass")
        passed = f"{r.n_passed} / {r.n_checks}" if r.implemented else "&mdash;"
        failed = "<br>".join(html.escape(f) for f in r.failed)
        out.append(f"<tr class=\"{cls}\"><td>{html.escape(r.name)}</td><td class=\"num\">{passed}</td>"
                   f"<td class=\"num\">{r.n_reported if r.implemented else '&mdash;'}</td>"
                   f"<td class=\"verdict\">{html.escape(r.verdict)}</td><td>{failed}</td></tr>")
    out.append("</table>")
    return out


def claims_html(claims: pd.DataFrame, papers: Mapping[str, Mapping], detail: bool = True) -> str:
    """Self-contained HTML page (inline CSS, no scripts or external resources) for the papers in
    ``papers``: per paper its :func:`summary_line`, the verdict per figure and (``detail``) every check
    row: claim, measured value, threshold, pass/fail, scale."""
    title = ("Claims: " + ", ".join(f"paper {paper_letter(p)}" for p in papers)) if detail else "Claims summary"
    intro = ("One row per acceptance check of the specs (<code>docs/spec/</code>), computed from each figure's "
             "data by its <code>checks</code> function." if detail else
             "The verdict per figure on the acceptance checks of the specs (<code>docs/spec/</code>), computed "
             "from each figure's data by its <code>checks</code> function; every check is listed in each paper's "
             "claims table.")
    body = [f"<h1>{html.escape(title)}</h1>",
            f"<p>{intro} <em>Reported</em> values (no threshold) are not counted as checks.</p>"]
    for paper, info in papers.items():
        letter = paper_letter(paper)
        body += [f"<h2>{html.escape(str(info['title']))}</h2>",
                 f"<p class=\"summary\">{html.escape(summary_line(claims, paper, info))}</p>"]
        body += _figure_rows(summary(claims, {paper: info}))
        if not detail:
            continue
        mine = claims[claims["paper"] == letter]
        for n, sub in mine.groupby("figure", sort=True):
            body += [f"<h3>Paper {letter}, {html.escape(_name(info, n))}</h3>", "<table>",
                     "<tr><th>claim (check)</th><th>value</th><th>threshold</th><th>verdict</th><th>scale</th></tr>"]
            for r in sub.itertuples():
                cls = "reported" if r.kind == "reported" else ("pass" if r.passed else "fail")
                verdict = "reported" if r.kind == "reported" else ("pass" if r.passed else "FAIL")
                body.append(f"<tr class=\"{cls}\"><td>{html.escape(r.claim)}</td><td class=\"num\">{_fmt(r.value)}</td>"
                            f"<td>{html.escape(r.threshold)}</td><td class=\"verdict\">{verdict}</td>"
                            f"<td>{html.escape(r.scale)}</td></tr>")
            body.append("</table>")
    return _page(title, body)


def claims_figure(claims: pd.DataFrame, paper: str, info: Mapping):
    """Table image of one paper's verdicts: one row per figure (checks passed, reported values, verdict,
    the first failed checks), green = all checks pass, red = some fail, grey = not implemented; title =
    :func:`summary_line`. Returns a matplotlib Figure."""
    import textwrap
    fig_rows = summary(claims, {paper: info})
    width = 11.0
    line = summary_line(claims, paper, info)
    title = textwrap.fill(line, 120)
    cells, colours = [], []
    for r in fig_rows.itertuples():
        failed = "; ".join(r.failed[:2]) + (f"; ... (+{len(r.failed) - 2})" if len(r.failed) > 2 else "")
        cells.append([r.name, f"{r.n_passed} / {r.n_checks}" if r.implemented else "-",
                      str(r.n_reported) if r.implemented else "-", r.verdict,
                      textwrap.shorten(failed, 95) if failed else ""])
        c = "#eeeeee" if not r.implemented else ("#f8d0d0" if r.failed else "#d9f2d9")
        colours.append(["white", "white", "white", c, "white"])
    n_title = title.count("\n") + 1
    title_h, row_h, pad = 0.15 + 0.15 * n_title, 0.22, 0.08
    table_h = row_h * (len(cells) + 1)
    height = title_h + table_h + pad
    fig = plotting.figure(width, height)
    ax = fig.add_axes((0.01, pad / height, 0.98, table_h / height))
    ax.axis("off")
    if cells:
        widths = [0.07, 0.1, 0.08, 0.17, 0.58]
        table = ax.table(cellText=cells, cellColours=colours, cellLoc="left", bbox=(0, 0, 1, 1),
                         colLabels=["figure", "checks passed", "reported", "verdict", "failed checks (first two)"],
                         colWidths=widths)
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        for (_, col), cell in table.get_celld().items():
            cell.PAD = 0.006 / widths[col]  # the same text indent in every column (PAD is a fraction of the width)
    fig.suptitle(title, x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=8, fontweight="bold")
    return fig
