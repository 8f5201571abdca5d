"""Paper B, Figure 10: dependence on the observed depth.

Spec ``universality.md`` 6.1 (Figure 10), D2 (reference lr 0.01, 3000 epochs) and 7. One default network,
every hidden layer tracked (``y, w`` common, ``h`` per layer); per layer the fit of Eq. 49 gives ``E_min``,
``eta_h``, ``eta_y``. Panel: x = hidden layer index; fit loss (red, scaled x0.02), ``1/tau_h = eta_h`` (x70),
``1/tau_y = eta_y`` (x7); the y-axis carries arbitrary units (the paper hides it).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from ... import io, plotting
from . import _two_point as tp
from ._steps import two_point_steps
from ..steps import Figure


def per_layer(df, cfg: dict, q: str) -> np.ndarray:
    """``(n_layers,)`` fit result ``q`` (``fit_loss``, ``eta_h``, ``eta_y``) of the tracked network."""
    name = list(cfg["rows"])[0]
    _, v = io.to_array(df, source="fit", condition=name, quantity=q)
    return np.asarray(v).reshape(-1)


def checks(df, cfg: dict):
    """Spec 7, Figure 10: fit loss minimal in deep layers, large at layer 0; eta_h increases with depth;
    eta_y peaks in the middle and falls towards the last layer."""
    th = cfg["checks"]
    E, eh, ey = (per_layer(df, cfg, q) for q in ("fit_loss", "eta_h", "eta_y"))
    n = len(E)
    rows = []
    am = int(np.argmin(E))
    rows.append((tp.relaxed(cfg, "argmin over layers of the fit loss", "argmin_min_layer"), am, f">= {th['argmin_min_layer']}", am >= th["argmin_min_layer"]))
    r = E[0] / E[am]
    rows.append((tp.relaxed(cfg, "fit loss(layer 0) / min fit loss", "first_over_min"), r, f">= {th['first_over_min']:g}", r >= th["first_over_min"]))
    last = min(th["spearman_last_layer"], n - 1)
    rho = float(spearmanr(np.arange(last + 1), eh[: last + 1]).statistic)
    rows.append((tp.relaxed(cfg, f"Spearman(layer, eta_h) over layers 0-{last}", "spearman_last_layer", "spearman_min"), rho, f">= {th['spearman_min']:g}", rho >= th["spearman_min"]))
    ap = int(np.argmax(ey))
    lo, hi = th["eta_y_peak_lo"], th["eta_y_peak_hi"]
    rows.append((tp.relaxed(cfg, "argmax over layers of eta_y", "eta_y_peak_lo", "eta_y_peak_hi"), ap, f"in [{lo}, {hi}]", lo <= ap <= hi))
    rl = ey[-1] / ey[ap]
    rows.append((tp.relaxed(cfg, f"eta_y(layer {n - 1}) / max eta_y", "eta_y_last_ratio"), rl, f"< {th['eta_y_last_ratio']:g}", rl < th["eta_y_last_ratio"]))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Fit loss and effective rates vs the observed hidden layer; second panel: initial h per layer (Eq. 14)."""
    plotting.apply_style()
    fig = plotting.figure(8.0, 3.3)
    sc = cfg["draw"]["scales"]
    E, eh, ey = (per_layer(df, cfg, q) for q in ("fit_loss", "eta_h", "eta_y"))
    layers = np.arange(len(E))
    ax = fig.add_axes([0.07, 0.3, 0.4, 0.6])
    ax.plot(layers, sc["fit_loss"] * E, "o-", color="#c0392b", ms=3, label=f"fit loss (x{sc['fit_loss']:g})")
    ax.plot(layers, sc["eta_h"] * eh, "s-", color="#0071b2", ms=3, label=f"$1/\\tau_h$ (x{sc['eta_h']:g})")
    ax.plot(layers, sc["eta_y"] * ey, "^-", color="#d65c00", ms=3, label=f"$1/\\tau_y$ (x{sc['eta_y']:g})")
    ax.set_xlabel("observed hidden layer")
    ax.set_ylabel("arbitrary units")
    ax.set_xticks(layers[:: max(1, len(layers) // 10)])
    ax.legend(frameon=False, loc="upper left")
    plotting.panel_label(ax, "A", dx=-0.12)
    name = list(cfg["rows"])[0]
    _, h = io.to_array(df, source="simulation", condition=name, quantity="h")
    bx = fig.add_axes([0.58, 0.3, 0.38, 0.6])
    bx.semilogy(layers, h[0], "o-", color="0.3", ms=3, label="$h_0$ (initialisation)")
    bx.semilogy(layers, h[-1], "o-", color="#009e73", ms=3, label="$h$ (last epoch)")
    bx.set_xlabel("observed hidden layer")
    bx.set_ylabel("squared representational distance")
    bx.legend(frameon=False)
    plotting.panel_label(bx, "B", dx=-0.12)
    row = cfg["rows"][name]
    plotting.caption(fig, ("Default network (%d x %d, leaky ReLU, gain %g), SGD lr %g, %d epochs (spec D2: reference "
                           "values), seed %d; every hidden layer tracked, Eq. 49 fitted per layer (grid + BFGS). A: the "
                           "paper's panel (scalings as in the paper). B (added): initial and final h per layer, the "
                           "depth decay of Eq. 14. " % (row["n_hidden"], row["width"], row["gain"], row["lr"],
                                                        row["epochs"], cfg["seed"])) + cfg["draw"]["scale_note"])
    return fig


FIGURE = Figure(id="b10", paper="paper_b", name="fig10",
                steps=two_point_steps("b10", "fig10", observe_all=True, fit_minutes=30), checks=checks, draw=draw)
