"""Paper B, Figure 1: schematic of the effective two-point theory (drawn with matplotlib, no experiment).

Spec ``universality.md`` 6.1 (Figure 1), 1.2-1.4 and 7. Two inputs ``x1, x2`` (``Δx``) -> encoder ``f`` ->
representations ``h1, h2`` (``Δh``, ``h = ||Δh||²``) -> decoder ``g`` -> predictions ``ŷ1, ŷ2`` (``Δŷ``,
``y = ||Δŷ||²``) with targets ``y1, y2`` (``Δy``); residual ``r = Δŷ − Δy`` and the angle between ``Δŷ`` and
``r`` that defines ``w = Δŷ·r = ||Δŷ|| ||r|| cos θ``. The compute step draws one illustrative linearised
network (Eq. 5) so that the drawn points and the printed ``h, y, w`` are consistent (Eq. 8).
"""

from __future__ import annotations

import numpy as np

from ... import datasets, effective, io, plotting
from ..steps import Figure, Step


def compute(cfg: dict):
    """Illustrative pair: two-point inputs/targets (spec 4.1), a random encoder ``h = J_f x + b`` (2-D) and a
    decoder ``ŷ = J_g h + c`` in the early-training state; a 2-D-output copy for the angle diagram."""
    rng = np.random.default_rng(cfg["seed"])
    x, t = datasets.two_point(cfg["dx2"], cfg["dy2"], dtype=np.float64)
    jf = rng.normal(size=(cfg["hidden_dim"], 1))
    hid = x @ jf.T + rng.normal(size=cfg["hidden_dim"]) * 0.3
    jg = rng.normal(size=(1, cfg["hidden_dim"])) * 0.4
    yhat = hid @ jg.T + t.mean() - (hid @ jg.T).mean() + 0.1
    h, y, w = effective.scalar_variables(hid[1] - hid[0], yhat[1] - yhat[0], t[1] - t[0])
    # 2-D outputs for the angle diagram (with 1-D outputs Δŷ and r are collinear)
    dy_2d = np.array([np.sqrt(cfg["dy2"]), 0.0])
    dyhat_2d = dy_2d * 0.55 + np.array([0.0, 0.3])
    meta = dict(figure="b1", panel="A")
    vals = {"x": x[:, 0], "hidden": hid, "yhat": yhat[:, 0], "target": t[:, 0], "h": h, "y": y, "w": w,
            "dy_2d": dy_2d, "dyhat_2d": dyhat_2d}
    return io.concat(io.records(v, quantity=q, source="summary", **meta) for q, v in vals.items())


def _get(df, q):
    sub = io.select(df, quantity=q).sort_values(["row", "col"])
    v = sub["value"].to_numpy()
    rows, cols = sub["row"].max() + 1, sub["col"].max() + 1
    return v.reshape(rows, cols) if cols > 0 else (v if rows > 0 else v[0])


def _arrow(ax, a, b, color, text=None, offset=(0, 0), **kw):
    ax.annotate("", xy=b, xytext=a, arrowprops=dict(arrowstyle="-|>", color=color, lw=1.4, **kw))
    if text:
        ax.text((a[0] + b[0]) / 2 + offset[0], (a[1] + b[1]) / 2 + offset[1], text, color=color, ha="center",
                va="center", fontsize=9)


def draw(df, cfg: dict):
    """Input line -> f -> hidden plane -> g -> output line, plus the Δŷ / Δy / r angle diagram."""
    plotting.apply_style()
    fig = plotting.figure(9.0, 3.4)
    x, hid, yhat, tgt = _get(df, "x"), _get(df, "hidden"), _get(df, "yhat"), _get(df, "target")
    h, y, w = (float(_get(df, q)) for q in ("h", "y", "w"))
    c1, c2 = "#0071b2", "#d65c00"
    # inputs
    ax = fig.add_axes([0.02, 0.22, 0.17, 0.68])
    ax.axvline(0, color="0.7", lw=0.8)
    for xi, c, lab in zip(x, (c1, c2), ("$x_1$", "$x_2$")):
        ax.plot(0, xi, "o", color=c, ms=7)
        ax.text(0.12, xi, lab, va="center")
    _arrow(ax, (-0.25, x[0]), (-0.25, x[1]), "k", "Δx", offset=(-0.2, 0))
    ax.set_xlim(-0.7, 0.5); ax.set_title("input"); ax.axis("off")
    # hidden
    bx = fig.add_axes([0.27, 0.22, 0.2, 0.68])
    for hi, c, lab in zip(hid, (c1, c2), ("$h_1$", "$h_2$")):
        bx.plot(*hi, "o", color=c, ms=7)
        bx.text(hi[0], hi[1] + 0.12, lab, ha="center")
    _arrow(bx, hid[0], hid[1], "k", "Δh", offset=(0.15, -0.15))
    bx.set_title("hidden representation")
    bx.text(0.5, -0.08, f"h = ||Δh||² = {h:.2f}", transform=bx.transAxes, ha="center", fontsize=8)
    lo, hi_ = hid.min(0) - 0.5, hid.max(0) + 0.5
    bx.set_xlim(lo[0], hi_[0]); bx.set_ylim(lo[1], hi_[1]); bx.set_xticks([]); bx.set_yticks([])
    # outputs
    cx = fig.add_axes([0.55, 0.22, 0.17, 0.68])
    cx.axvline(0, color="0.7", lw=0.8)
    for yi, ti, c, i in zip(yhat, tgt, (c1, c2), (1, 2)):
        cx.plot(0, yi, "o", color=c, ms=7)
        cx.text(0.1, yi, f"$\\hat y_{i}$", va="center")
        cx.plot(0, ti, "s", mfc="none", color=c, ms=7)
        cx.text(0.1, ti, f"$y_{i}$ (target)", va="center")
    _arrow(cx, (-0.2, yhat[0]), (-0.2, yhat[1]), "#009e73", "Δŷ", offset=(-0.17, 0))
    _arrow(cx, (-0.55, tgt[0]), (-0.55, tgt[1]), "0.4", "Δy", offset=(-0.17, 0))
    cx.set_xlim(-0.9, 0.8); cx.set_title("output"); cx.axis("off")
    cx.text(0.5, -0.08, f"y = ||Δŷ||² = {y:.3f}", transform=cx.transAxes, ha="center", fontsize=8)
    # encoder / decoder arrows between the panels
    for xa, xb, lab in ((0.19, 0.265, "f"), (0.475, 0.545, "g")):
        fig.patches.append(__import__("matplotlib").patches.FancyArrowPatch(
            (xa, 0.56), (xb, 0.56), transform=fig.transFigure, arrowstyle="-|>", mutation_scale=14, lw=1.5))
        fig.text((xa + xb) / 2, 0.6, lab, ha="center", fontsize=12, style="italic")
    fig.text(0.23, 0.5, "encoder", ha="center", fontsize=6.5)
    fig.text(0.51, 0.5, "decoder", ha="center", fontsize=6.5)
    # angle diagram
    dx_ = fig.add_axes([0.77, 0.22, 0.21, 0.68])
    dy2d, dyh2d = _get(df, "dy_2d"), _get(df, "dyhat_2d")
    r = dyh2d - dy2d
    o = np.zeros(2)
    _arrow(dx_, o, dy2d, "0.4", "Δy", offset=(0, -0.06))
    _arrow(dx_, o, dyh2d, "#009e73", "Δŷ", offset=(-0.08, 0.05))
    _arrow(dx_, dy2d, dyh2d, "#c0392b", "r = Δŷ − Δy", offset=(0.2, 0.02))
    # angle between Δŷ and r, drawn at the tip of Δŷ (both vectors translated there)
    a1 = np.degrees(np.arctan2(*(-dyh2d)[::-1]))
    a2 = np.degrees(np.arctan2(*(-r)[::-1]))
    from matplotlib.patches import Arc
    dx_.add_patch(Arc(dyh2d, 0.18, 0.18, theta1=min(a1, a2), theta2=max(a1, a2), color="k", lw=0.8))
    dx_.text(dyh2d[0] - 0.02, dyh2d[1] - 0.13, "θ", fontsize=9)
    dx_.set_xlim(-0.1, 0.9); dx_.set_ylim(-0.2, 0.5); dx_.set_aspect("equal"); dx_.axis("off")
    dx_.set_title("alignment")
    dx_.text(0.5, -0.08, "w = Δŷ·r = ||Δŷ|| ||r|| cos θ", transform=dx_.transAxes, ha="center", fontsize=8)
    for a, l in zip((ax, bx, cx, dx_), "ABCD"):
        plotting.panel_label(a, l, dx=0.0)
    plotting.caption(fig, ("Schematic of the effective theory (spec 1.2-1.4): the two-point dataset (dx2=%g, dy2=%g), an "
                           "illustrative linearised network (Eq. 5) with w = %.3f for this pair (1-D outputs: Δŷ and r "
                           "are collinear, so D shows a 2-D output example for the angle). The three scalars h, y, w "
                           "suffice for the two-point dynamics (Eq. 7)." % (cfg["dx2"], cfg["dy2"], w)))
    return fig


def drawn_labels(fig) -> list[str]:
    """Every text string drawn in ``fig`` (figure texts and axes texts)."""
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts] + [ax.get_title()]
    return texts


def checks(df, cfg: dict):
    """Spec 7, Figure 1: every required label (f, g, Δx, Δh, Δŷ, Δy, h, y, w) is drawn; h, y, w match Eq. 8."""
    import matplotlib.pyplot as plt

    fig = draw(df, cfg)
    texts = drawn_labels(fig)
    plt.close(fig)
    rows = []
    for lab in cfg["labels"]:
        if len(lab) == 1:
            ok = any(t == lab or t.startswith(lab + " =") for t in texts)
        else:
            ok = any(lab in t for t in texts)
        rows.append((f"label '{lab}' drawn", float(ok), "= 1", ok))
    hid, yhat, tgt = _get(df, "hidden"), _get(df, "yhat"), _get(df, "target")
    w = float(_get(df, "w"))
    w_direct = float((yhat[1] - yhat[0]) * ((yhat[1] - yhat[0]) - (tgt[1] - tgt[0])))
    rows.append(("|w - Δŷ(Δŷ − Δy)| of the drawn pair", abs(w - w_direct), "<= 1e-12", abs(w - w_direct) <= 1e-12))
    return io.check_table(rows)


FIGURE = Figure(
    id="b1", paper="paper_b", name="fig1",
    steps=(Step(name="b1_compute", function=compute, output="fig1", keys=("seed", "dx2", "dy2", "hidden_dim")),),
    checks=checks, draw=draw,
)
