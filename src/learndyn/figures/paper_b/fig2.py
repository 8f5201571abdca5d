"""Paper B, Figure 2: universality of the two-point learning dynamics across architectures.

Spec ``universality.md`` 6.1 (Figure 2) and 7. Eleven panels (Table-1 rows: default, convolution, skip,
shallow, narrow, dropout, linear, ReLU, ELU, tanh, swish): network ``h, y, w`` per epoch (solid) and the
3-variable ODE (Eq. 21) with the fitted ``eta_h, eta_y`` (Eq. 49, dashed, same colours). The same runs
and fits (including the mean-output rate of Eq. 22) make Figure 11.
"""

from __future__ import annotations

from ... import io, plotting
from . import _two_point as tp
from ._steps import two_point_steps
from ..steps import Figure

TITLES = {"default": "Default", "convolution": "Convolution", "skip": "Skip connections", "shallow": "Shallow",
          "narrow": "Narrow", "dropout": "Dropout", "linear": "Linear", "relu": "ReLU", "elu": "ELU",
          "tanh": "Tanh", "swish": "Swish"}


def names(cfg: dict) -> list[str]:
    """Panel order = config order of ``cfg["rows"]``."""
    return list(cfg["rows"])


def checks(df, cfg: dict):
    """Spec 7, Figure 2: per panel converged, rates > 0, nRMSE h/y/w, final-h error."""
    th = cfg["checks"]
    rows = []
    for name in names(cfg):
        w_max = th["nrmse_w_relaxed"] if name in cfg["relaxed_w_rows"] else None
        noisy = cfg["noisy_window"] if name in cfg["noisy_rows"] else None
        rows += tp.fig2_style_checks(df, name, th, w_max=w_max, relaxed_keys=cfg["relaxed_checks"], noisy_window=noisy)
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Eleven panels of h, y, w vs epoch: network solid, fitted theory dashed."""
    plotting.apply_style()
    fig = plotting.figure(11.0, 8.2)      # row pitch leaves room for the x label and the next row's 2-line title
    rows = names(cfg)
    n_col = 4
    for i, name in enumerate(rows):
        r, c = divmod(i, n_col)
        ax = fig.add_axes([0.06 + c * 0.245, 0.74 - r * 0.29, 0.19, 0.18])
        tp.plot_hyw(ax, df, name)
        eh, ey = tp.fit_value(df, name, "eta_h"), tp.fit_value(df, name, "eta_y")
        ax.set_title(f"{TITLES.get(name, name)}\n$\\eta_h$={eh:.2g}, $\\eta_y$={ey:.2g}")
        ax.set_ylabel("squared distance")
        plotting.panel_label(ax, chr(ord("A") + i), dx=-0.25)
    lax = fig.add_axes([0.06 + 3 * 0.245, 0.74 - 2 * 0.29, 0.19, 0.18])
    lax.axis("off")
    tp.legend_hyw(lax, loc="center")
    note = (f"Two-point task (dx2={cfg['dx2']:g}, dy2={cfg['dy2']:g}), one network per panel (seed {cfg['seed']}), "
            "Table-1 hyper-parameters of the paper (spec D1), SGD full batch, loss 0.5*MSE. Solid: network h, y, w "
            "per epoch (before each update); dashed: Eq. 21 with eta_h, eta_y fitted by Eq. 49 (grid + BFGS). "
            "Dropout observes the 3rd hidden layer (reference index, spec D12); its fresh mask every step leaves a loss "
            "noise floor, so its convergence check is the mean loss over the last epochs (config noisy_rows). ")
    note += cfg["draw"]["scale_note"]
    plotting.caption(fig, note)
    return fig


#: the eleven Table-1 trainings (one job per row, ``batches.b2_train`` jobs) and their fits; Figs 5, 11, 13 reuse them
TRAIN, FIT = two_point_steps("b2", "fig2", batch="b2_train")

FIGURE = Figure(id="b2", paper="paper_b", name="fig2", steps=(TRAIN, FIT), checks=checks, draw=draw)
