"""Paper B, Figure 4: two tracked MNIST digits inside the full training set follow the two-point theory.

Spec ``universality.md`` 6.1 (Figure 4), 3.1 (fit), 4.4 (data), 7 (checks), decisions D10 (settings: reference
HEAD lr 0.003, 200 epochs, P = 200; the paper row is the config alternative) and D11 (tracked pair = first "0"
and first "1" of the training split, indices 1 and 3). Training: :func:`._train_mnist.train_pair` (its own rule);
:func:`fit` fits ``eta_h, eta_y`` (Eq. 49, grid ``logspace(-6, 1, 100)``) and solves Eq. 21 with them.
One panel: ``0.1 h``, ``y``, ``w`` of the pair per epoch, network solid, fitted ODE dashed.
"""

from __future__ import annotations

import numpy as np

from ... import effective, io, plotting
from . import _two_point as tp
from ._train_mnist import settings
from ..steps import Figure, Step
from . import _train_mnist
from ._steps import MNIST_SHARED, mnist_train_step

H_SCALE = 0.1  # h is drawn scaled by 0.1 (spec 6.1)


def fit(table, cfg: dict):
    """Fit rule: Eq. 49 rates (grid ``cfg["fit_grid"]`` + BFGS, spec 3.1) of the tracked pair, Eq. 21 with them
    (``source="theory"``: ``h, y, w`` per epoch) and ``source="fit"`` rows ``eta_h, eta_y, fit_loss,
    nonpositive, nrmse_h/y/w, h_plus`` (Eq. 10 with the fitted ratio)."""
    sim = io.select(table, source="simulation")
    meta = dict(figure="b4", panel="A", condition="pair", seed=int(sim["seed"].iloc[0]),
                learning_rate=float(sim["learning_rate"].iloc[0]))
    ep, h = io.to_array(table, source="simulation", quantity="h")
    y = io.to_array(table, source="simulation", quantity="y")[1]
    w = io.to_array(table, source="simulation", quantity="w")[1]
    dx2, dy2 = (io.scalar(table, source="summary", quantity=q) for q in ("dx2", "dy2"))
    t = ep.astype(float)
    g = cfg["fit_grid"]
    res = effective.fit_effective_rates(h, y, w, dx2, dy2, t=t, grid=np.logspace(g["min_exp"], g["max_exp"], g["n"]))
    eh, ey, _ = res.positive_rates
    z = tp.theory_curve(t, np.array([h[0], y[0], w[0]]), eh, ey, dx2, dy2)
    out = {"eta_h": res.eta_h, "eta_y": res.eta_y, "fit_loss": res.loss, "nonpositive": float(res.nonpositive)}
    out.update({f"nrmse_{q}": tp.nrmse(s, z[:, i]) for i, (q, s) in enumerate((("h", h), ("y", y), ("w", w)))})
    ok = res.eta_h > 0 and res.eta_y > 0
    out["h_plus"] = float(effective.final_representational_distance(h[0], y[0], res.eta_h, res.eta_y, dx2, dy2)) \
        if ok else np.nan
    print(f"fit: eta_h = {res.eta_h:.3g}, eta_y = {res.eta_y:.3g}, nRMSE h/y/w = "
          f"{out['nrmse_h']:.3f}/{out['nrmse_y']:.3f}/{out['nrmse_w']:.3f}")
    frames = [io.records(z[:, i], quantity=q, source="theory", steps=ep, t=t, **meta) for i, q in enumerate("hyw")]
    frames += [io.records(v, quantity=q, source="fit", **meta) for q, v in out.items()]
    return io.concat(frames)


def _label(cfg: dict) -> str:
    return " (10k proxy)" if cfg["mnist_10k_proxy"] else ""


def checks(df, cfg: dict):
    """Spec 7, Figure 4: ``eta_h, eta_y > 0``; nRMSE h <= 0.10, y <= 0.30, w <= 0.30; h grows > 10x."""
    th = cfg["checks"]
    rel = cfg["relaxed_checks"]
    lab = _label(cfg)
    rows = []
    for q in ("eta_h", "eta_y"):
        v = tp.fit_value(df, "pair", q)
        rows.append((f"fitted {q}{lab}", v, "> 0", v > 0))
    for q in "hyw":
        v = tp.fit_value(df, "pair", f"nrmse_{q}")
        key = f"nrmse_{q}"
        rows.append((tp.relaxed({"relaxed_checks": rel}, f"nRMSE {q}{lab}", key), v, f"<= {th[key]:g}", v <= th[key]))
    h0 = io.to_array(df, source="simulation", quantity="h")[1][0]
    growth = io.scalar(df, source="summary", quantity="final_h") / h0
    rows.append((tp.relaxed({"relaxed_checks": rel}, f"h_end / h_0{lab}", "h_growth"), growth,
                 f"> {th['h_growth']:g}", growth > th["h_growth"]))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """One panel: ``0.1 h``, ``y``, ``w`` of the tracked pair vs epoch; network solid, fitted Eq. 21 dashed."""
    plotting.apply_style()
    fig = plotting.figure(4.6, 3.9)
    ax = fig.add_axes([0.14, 0.36, 0.82, 0.54])
    scale = {"h": H_SCALE, "y": 1.0, "w": 1.0}
    for q in "hyw":
        ep, s = io.to_array(df, source="simulation", quantity=q)
        th = io.to_array(df, source="theory", quantity=q)[1]
        ax.plot(ep, scale[q] * s, color=tp.HYW_COLOURS[q], lw=1.4)
        ax.plot(ep, scale[q] * th, color=tp.HYW_COLOURS[q], ls="--", lw=1.1)
    ax.axhline(0, color="0.7", lw=0.6, zorder=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("squared distance")
    from matplotlib.lines import Line2D
    labels = {"h": "$0.1\\,h = 0.1\\,\\|\\Delta h\\|^2$", "y": tp.HYW_LABELS["y"], "w": tp.HYW_LABELS["w"]}
    handles = [Line2D([], [], color=tp.HYW_COLOURS[q], lw=1.4, label=labels[q]) for q in "hyw"]
    handles += [Line2D([], [], color="0.3", lw=1.4, label="network"),
                Line2D([], [], color="0.3", ls="--", lw=1.1, label="theory (fitted)")]
    ax.legend(handles=handles, frameon=False, loc="center right", fontsize=6)
    eh, ey = tp.fit_value(df, "pair", "eta_h"), tp.fit_value(df, "pair", "eta_y")
    pair = io.to_array(df, source="summary", quantity="pair")[1][0].astype(int)
    split = "test" if cfg["mnist_10k_proxy"] else "training"
    ax.set_title(f"MNIST{_label(cfg)}: {split} images {pair[0]} ('0') and {pair[1]} ('1')\n"
                 f"$\\eta_h$={eh:.2g}, $\\eta_y$={ey:.2g}")
    s = settings(cfg)
    n_train = int(io.scalar(df, source="summary", quantity="n_train"))
    acc = io.scalar(df, source="summary", quantity="train_accuracy")
    nr = [tp.fit_value(df, "pair", f"nrmse_{q}") for q in "hyw"]
    note = (f"MNIST net (L = {cfg['n_hidden']}, P = {s['width']}, leaky ReLU, gain {cfg['gain']:g}) trained on "
            f"{n_train} {split} images{_label(cfg)}, SGD lr {s['lr']:g}, batch {cfg['batch_size']} reshuffled, "
            f"0.5*MSE on one-hot targets, {s['epochs']} epochs, seed {cfg['seed']}; settings '{cfg['settings']}' "
            f"(spec D10: reference HEAD; the paper row lr 0.002, 500 epochs, P = 100 is config alternative "
            f"'paper'); tracked pair = first '0' and first '1' of the split (D11). h, y, w of the pair measured "
            f"at hidden layer acts[{cfg['observe']}] at the start of each epoch (eval mode); dashed: Eq. 21 with "
            f"eta_h, eta_y fitted by Eq. 49 (grid logspace({cfg['fit_grid']['min_exp']}, "
            f"{cfg['fit_grid']['max_exp']}, {cfg['fit_grid']['n']}) + BFGS). nRMSE h/y/w = "
            f"{nr[0]:.3f}/{nr[1]:.3f}/{nr[2]:.3f}; final training accuracy {acc:.3f}. ")
    plotting.caption(fig, note + cfg["draw"]["scale_note"])
    return fig


TRAIN = mnist_train_step("b4_train", "fig4", _train_mnist.train_pair,
                         ("seed", "settings", "settings_table", "n_hidden", "activation", "gain", "observe",
                          "optimizer", "batch_size", "n_train"), kwargs=lambda job: {})
FIT = Step(name="b4_fit", function=fit, output="fig4_fit", keys=("fit_grid",), inputs=(TRAIN.name,),
           kwargs=lambda job: {}, mem_mb=1000, minutes=10)

FIGURE = Figure(id="b4", paper="paper_b", name="fig4", steps=(TRAIN, FIT), checks=checks, draw=draw,
                plot_view=lambda c: {**c["fig4"], **{k: c["mnist"][k] for k in MNIST_SHARED}})
