"""Paper B, Figure 15: feature collapse with Adam (blob context task), high vs low initial weights.

Spec ``universality.md`` 6.1 (Figures 14-16, inferred mapping: 15 = blobs), D13 and 7; the paper's appendix C.3
(the representational predictions still hold with Adam). Same protocol and drawing as Figure 8 (:mod:`.fig8`) with
Adam (PyTorch defaults); D13 (a proposal of the spec, the paper gives no Adam settings): lr 1e-3, 200 epochs,
gains 0.5 (low) and 2.0 (high).
"""

from __future__ import annotations

from ... import io
from . import fig8

FIGURE = "b15"
RUNS = ("high", "low")


def checks(df, cfg: dict):
    """Spec 7, Figure 15: low F <= 0.15 in both contexts, F(low) <= 0.3 F(high), high F >= 0.3 (plus convergence)."""
    return io.check_table(fig8.collapse_checks(df, cfg, FIGURE, low="low", high="high", f_low_key="f_low_max",
                                               f_high_key="f_high_min", ratio_key="f_ratio_max"))


def draw(df, cfg: dict):
    """Figure 15: MDS projections of the Adam-trained high- (A) and low-weight (B) networks."""
    note = fig8.common_note(df, cfg, FIGURE, RUNS) + (
        "Adam (PyTorch defaults beta = (0.9, 0.999), eps = 1e-8); D13 (spec proposal, the paper gives no Adam "
        f"settings): lr {cfg['runs']['low']['lr']:g}, {cfg['runs']['low']['epochs']} epochs. ") + cfg["scale_note"]
    titles = {"high": "Adam, high initial weights", "low": "Adam, low initial weights"}
    return fig8.draw_runs(df, cfg, FIGURE, RUNS, "AB", note, titles=titles)
