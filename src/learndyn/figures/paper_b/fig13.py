"""Paper B, Figure 13: two-point dynamics of the default network trained with Adam.

Spec ``universality.md`` 6.1 (Figure 13), D13 (Adam lr 5e-7, 6000 epochs, gain 1.0, full batch) and 7: ``h, y,
w`` with the best ODE fit. The check compares with the Figure-2 SGD default (its parquet is an input).
"""

from __future__ import annotations

from ... import io, plotting
from . import _two_point as tp
from ._steps import two_point_steps
from ..steps import Figure
from . import fig2


def checks(df, cfg: dict):
    """Spec 7, Figure 13: Adam fit nRMSE(h) >= 2 x and loss nRMSE >= 5 x those of the SGD default."""
    th = cfg["checks"]
    sgd = cfg["sgd_reference"]
    rows = []
    for name in cfg["rows"]:
        for q, key in (("h", "nrmse_h_ratio"), ("loss", "nrmse_loss_ratio")):
            a, s = tp.fit_value(df, name, f"nrmse_{q}"), tp.fit_value(df, sgd, f"nrmse_{q}")
            rows.append((f"{name}: nRMSE {q} / SGD {sgd} nRMSE {q} ({a:.3g} / {s:.3g})", a / s, f">= {th[key]:g}",
                         a / s >= th[key]))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Adam: h, y, w (solid) and the best ODE fit (dashed); loss and Eq. 22; the SGD default for reference."""
    plotting.apply_style()
    fig = plotting.figure(9.0, 3.2)
    name = list(cfg["rows"])[0]
    sgd = cfg["sgd_reference"]
    axes = [fig.add_axes([0.07 + i * 0.33, 0.3, 0.25, 0.56]) for i in range(3)]
    tp.plot_hyw(axes[0], df, name)
    eh, ey = tp.fit_value(df, name, "eta_h"), tp.fit_value(df, name, "eta_y")
    axes[0].set_title(f"Adam (lr {cfg['rows'][name]['lr']:g}): $\\eta_h$={eh:.2g}, $\\eta_y$={ey:.2g}")
    axes[0].set_ylabel("squared distance")
    tp.legend_hyw(axes[0], loc="upper left", fontsize=5.5)
    for ax, cond, title in ((axes[1], name, "Adam: loss"), (axes[2], sgd, f"SGD {sgd} (Fig. 2): loss")):
        ep, loss = io.to_array(df, source="simulation", condition=cond, quantity="loss")
        _, th = io.to_array(df, source="theory", condition=cond, quantity="loss")
        ax.plot(ep, loss, color="k", lw=1.4, label="network")
        ax.plot(ep, th, color="#d65c00", ls="--", lw=1.2, label="theory (Eq. 22)")
        ax.set_title(f"{title}, loss nRMSE {tp.fit_value(df, cond, 'nrmse_loss'):.3f}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.set_ylim(0, 0.5)
    axes[1].legend(frameon=False, loc="upper right")
    for ax, letter in zip(axes, "ABC"):
        plotting.panel_label(ax, letter, dx=-0.2)
    plotting.caption(fig, ("Default architecture trained with Adam (PyTorch defaults; lr and epochs: spec D13, the "
                           "reference's only two-point Adam row), full batch, seed %d. nRMSE h/y/w of the fit: "
                           "%.3f/%.3f/%.3f (SGD default: %.3f/%.3f/%.3f). C: the SGD default run of Figure 2 for "
                           "comparison. " % (cfg["seed"], *(tp.fit_value(df, name, f"nrmse_{q}") for q in "hyw"),
                                             *(tp.fit_value(df, sgd, f"nrmse_{q}") for q in "hyw"))) + cfg["draw"]["scale_note"])
    return fig


#: Adam runs on the autograd engine: about twice the fused SGD step
_STEPS = two_point_steps("b13", "fig13", epochs_factor=2.0)


def _sgd_reference(c: dict) -> list:
    """The Figure 2 batch files holding the SGD reference row (rows are dealt round-robin to batches)."""
    index = list(c["fig2"]["rows"]).index(c["fig13"]["sgd_reference"])
    same = lambda job: job["batch"] == index % job["n_batches"]
    return [(fig2.TRAIN.name, same), (fig2.FIT.name, same)]


FIGURE = Figure(id="b13", paper="paper_b", name="fig13", steps=_STEPS, checks=checks, draw=draw,
                data=lambda c: [(s.name, {}) for s in _STEPS] + _sgd_reference(c))
