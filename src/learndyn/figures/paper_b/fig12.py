"""Paper B, Figure 12: very low initial weights in the blob context task - the two context lines merge.

Spec ``universality.md`` 6.1 (Figure 12), 6.0 Table 2, 7 and the paper's appendix C.2. Same protocol and drawing as
Figure 8 (:mod:`.fig8`) for one run at gain 0.275, lr 0.05, 2000 epochs. Pairs across contexts with equal targets
have ``dy2 = 0`` and merge at small enough weights (Eq. 13); their larger input distance only slows this down.
The check compares the context separation ``S`` with that of Figure 8's low-weight run (its training parquet is an
input of this figure, not retrained).
"""

from __future__ import annotations

from ... import io
from . import _blobs, fig8
from . import _two_point as tp

FIGURE_ID = "b12"
RUNS = ("very_low",)


def checks(df, cfg: dict):
    """Spec 7, Figure 12: very low F <= 0.02 in both contexts and S <= 0.3 x S(low) of Figure 8 (plus convergence)."""
    th = cfg["checks"]
    m = _blobs.run_metrics(df, FIGURE_ID, "very_low")
    low = _blobs.run_metrics(df, fig8.FIGURE_ID, cfg["s_reference"])
    rows = [fig8.converged_row(cfg, FIGURE_ID, "very_low", m)]
    for ctx in _blobs.CONTEXTS:
        f = m[f"F_{ctx}"]
        rows.append((tp.relaxed(cfg, f"very_low: F (irrelevant-feature variance fraction), context {ctx}", "f_max"), f,
                     f"<= {th['f_max']:g}", f <= th["f_max"]))
    ratio = m["S"] / low["S"]
    rows.append((tp.relaxed(cfg, f"S(very_low) / S(Fig. 8 {cfg['s_reference']}) (S = {m['S']:.3g} vs {low['S']:.3g})",
                            "s_ratio_max"), ratio, f"<= {th['s_ratio_max']:g}", ratio <= th["s_ratio_max"]))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Figure 12: MDS projections of the very-low-weight network's final hidden activities."""
    s_low = _blobs.run_metrics(df, fig8.FIGURE_ID, cfg["s_reference"])["S"]
    ms = fig8.metrics_of(df, FIGURE_ID, RUNS)
    note = fig8.common_note(df, cfg, FIGURE_ID, RUNS, ms) + (
        f"Pairs across contexts with equal targets (dy2 = 0) move together, the two context lines towards one: "
        f"S = {ms['very_low']['S'][0]:.3g} vs {s_low:.3g} for the low-weight network of Fig. 8 "
        f"(gain {cfg['runs']['very_low']['gain']:g} here vs {io.scalar(df, figure=fig8.FIGURE_ID, condition=cfg['s_reference'], quantity='gain'):g}). ") \
        + cfg["draw"]["scale_note"]
    return fig8.draw_runs(df, cfg, FIGURE_ID, RUNS, "A", note, ms)


FIGURE = fig8.blob_figure("b12", "fig12", checks, draw,
                          extra=lambda c: [(fig8.TRAIN.name, {"fig": "fig8", "run": c["fig12"]["s_reference"]})])
