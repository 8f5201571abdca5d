"""Paper B, Figure 11: loss curves across architectures (the Figure 2 runs).

Spec ``universality.md`` 6.1 (Figure 11) and 7: tracked training loss (solid) and Eq. 22 (dashed) with the
Figure-2 ``eta_h, eta_y`` and one extra fitted mean-output rate ``eta_ymean`` per panel (spec 3.2). Reads the
Figure-2 parquet (training + fit); ``cfg`` = ``paper_b.fig11`` with the ``fig2`` section under ``cfg["fig2"]``.
"""

from __future__ import annotations

import numpy as np

from ... import io, plotting
from . import _two_point as tp
from .fig2 import TITLES
from ..steps import Figure
from . import fig2


def checks(df, cfg: dict):
    """Spec 7, Figure 11: per panel loss nRMSE <= 0.03 with a fitted eta_ymean > 0."""
    lim = cfg["checks"]["nrmse_loss"]
    rows = []
    for name in cfg["fig2"]["rows"]:
        e = tp.fit_value(df, name, "eta_ymean")
        v = tp.fit_value(df, name, "nrmse_loss")
        rows.append((f"{name}: fitted eta_ymean", e, "> 0", e > 0))
        rows.append((f"{name}: loss nRMSE (Eq. 22)", v, f"<= {lim:g}", v <= lim))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Eleven panels of the training loss (solid) and Eq. 22 (dashed)."""
    plotting.apply_style()
    fig = plotting.figure(11.0, 7.4)
    for i, name in enumerate(cfg["fig2"]["rows"]):
        r, c = divmod(i, 4)
        ax = fig.add_axes([0.06 + c * 0.245, 0.74 - r * 0.29, 0.19, 0.2])
        ep, loss = io.to_array(df, source="simulation", condition=name, quantity="loss")
        _, th = io.to_array(df, source="theory", condition=name, quantity="loss")
        keep = np.unique(np.linspace(0, len(ep) - 1, min(600, len(ep))).astype(int))
        ax.plot(ep[keep], loss[keep], color="k", lw=1.4, label="network")
        ax.plot(ep[keep], th[keep], color="#d65c00", ls="--", lw=1.2, label="theory (Eq. 22)")
        e = tp.fit_value(df, name, "eta_ymean")
        ax.set_title(f"{TITLES.get(name, name)}, $\\eta_{{\\bar y}}$={e:.2g}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.set_ylim(0, max(0.5, 1.05 * float(np.max(loss))))
        plotting.panel_label(ax, chr(ord("A") + i), dx=-0.25)
        if i == 0:
            ax.legend(frameon=False, loc="upper right")
    c2 = cfg["fig2"]
    plotting.caption(fig, (f"Runs of Figure 2 (two-point task dx2={c2['dx2']:g}, dy2={c2['dy2']:g}, seed {c2['seed']}). "
                           "Solid: loss 0.5*MSE on the two points per epoch (eval mode, before each update); dashed: "
                           "Eq. 22 with the Figure-2 eta_h, eta_y and a fitted mean-output rate (spec 3.2). "
                           + cfg["draw"]["scale_note"]))
    return fig


FIGURE = Figure(
    id="b11", paper="paper_b", name="fig11", steps=(), checks=checks, draw=draw,
    data=lambda c: [(fig2.TRAIN.name, {}), (fig2.FIT.name, {})],   # the Figure 2 runs and fits
    plot_view=lambda c: {**c["fig11"], "fig2": c["fig2"]},
)
