"""Paper A, Figure 3: rich and lazy learning on the living-kingdom hierarchy.

Spec ``exact-dynamics.md`` sections 1.1 (one-hot mapping), 1.3 (det-sign rule), 5.5 (task), 6 (Figure 3)
and 7 (checks). Panels: A the hierarchy's tree, drawn from the label matrix; B the SVD ``U~, S~, V~^T`` of
``sigma~ = Y / 8`` (top) and the task RSMs ``U~ S~ U~^T``, ``V~ S~ V~^T`` (bottom); C, D, E the final
``QQ^T / 8`` after training from small Gaussian (C), large Gaussian (D) and large zero-balanced (E) weights;
F the loss of the three runs (closed form of Theorem 3.1 dotted for the balanced run E).

One-hot items (``X = I_8``, mean convention): GD with learning rate ``eta`` on ``(X, Y)`` is whitened GD on
the target ``Y`` with learning rate ``eta / 8``, so the simulation runs on ``sigma_yx = Y`` with ``eta / 8`` and
the closed form uses ``sigma~ = Y``, ``t = k eta / 8``. Plotted quantities carry the original's factor 1/8:
``QQ^T / 8`` and the loss ``1/2 mean_64 (W - Y)^2``.
"""

from __future__ import annotations

import numpy as np

from ... import exact, init, io, plotting, simulate, tasks
from ..steps import Figure, Step

PANELS = ("C", "D", "E")
#: panel colours of the original (C green, D pink, E blue), also the frames of the matrices
COLOURS = {"C": "#009e73", "D": "#cc79a7", "E": "#0071b2"}
#: names of the living-kingdom groups (paper A Appendix H.2.3), keyed by the tag of tasks.hierarchy_tree
LIVING_NAMES = {"f1": "living thing", "f2+": "animal", "f2-": "plant", "f3+": "fish", "f3-": "bird",
                "f4+": "algae", "f4-": "flower"}


def initial_weights(kind: str, sigma: float, n_hidden: int, y: np.ndarray, rng: np.random.Generator):
    """``(W1 (Nh, Ni), W2 (No, Nh))``: ``"gaussian"`` i.i.d. N(0, sigma^2) (spec 4.2) or ``"balanced"`` (spec 4.1
    with the det-sign rule of 1.3 w.r.t. the target ``y (No, Ni)``)."""
    no, ni = y.shape
    if kind == "gaussian":
        return init.random_normal(ni, n_hidden, no, sigma, rng)
    return init.zero_balanced(ni, n_hidden, no, sigma, rng, sigma_yx=y)


def first_below(loss: np.ndarray, threshold: float) -> np.ndarray:
    """First step at which ``loss (S+1, ...)`` drops below ``threshold`` (``-1`` if never), per trailing index."""
    below = loss < threshold
    return np.where(below.any(axis=0), below.argmax(axis=0), -1)


def svd_records(sigma: np.ndarray, figure: str, panel: str, condition: str = "") -> list:
    """Rows for an SVD panel (Figs 3B, 6D): ``U``, ``S`` (diagonal matrix), ``Vt`` with the sign convention of
    :func:`learndyn.tasks.mode_svd` and the task RSMs ``U S U^T`` (output) and ``V S V^T`` (input)."""
    u, s, vt = tasks.mode_svd(sigma)
    mats = {"U": u, "S": np.diag(s), "Vt": vt, "rsm_out": (u * s) @ u.T, "rsm_in": (vt.T * s) @ vt}
    return [io.records(m, quantity=q, source="theory", figure=figure, panel=panel, condition=condition)
            for q, m in mats.items()]


def compute(cfg: dict):
    """Run the Figure 3 protocol. ``cfg``: the ``paper_a.fig3`` config section."""
    labels = tasks.hierarchy("living_kingdom", cfg["perturbation"])
    task = tasks.one_hot_items(labels)
    y, n = task.y, task.n                                   # sigma~ = Y (features x items), N = 8 items
    eta, n_steps, nh = cfg["learning_rate"], cfg["n_steps"], cfg["n_hidden"]
    lr = eta / n                                            # one-hot mapping (spec 1.1)
    frames = [io.records(labels, quantity="labels", source="target", figure="a3", panel="A")]
    frames += svd_records(task.sigma_yx, "a3", "B")
    steps = np.arange(n_steps + 1)
    rng = np.random.default_rng(cfg["seed"])
    for panel in PANELS:
        kind, sigma = cfg["inits"][panel]["kind"], cfg["inits"][panel]["sigma"]
        w1, w2 = initial_weights(kind, sigma, nh, y, rng)
        tr = simulate.gd_linear(w1, w2, y, lr, n_steps, record_steps=[n_steps], record=("W1tW1", "W2W1", "W2W2t"))
        r = {k: v[0] for k, v in tr.records.items()}
        qqt = np.block([[r["W1tW1"], r["W2W1"].T], [r["W2W1"], r["W2W2t"]]]) / n
        meta = dict(figure="a3", panel=panel, condition=f"{kind} sigma={sigma:g}", seed=cfg["seed"], learning_rate=eta)
        frames.append(io.records(qqt[None], quantity="qqt", source="simulation", steps=[n_steps], t=[n_steps * lr], **meta))
        loss = tr.loss / y.size                             # 1/2 mean_64 (W - Y)^2 (spec Fig. 3F)
        frames.append(io.records(loss, quantity="loss", source="simulation", steps=steps, t=steps * lr, **meta))
        if kind == "balanced" and cfg["exact_overlay"]:
            ex = exact.loss(w1, w2, y, y @ y.T, steps * lr) / y.size
            frames.append(io.records(ex, quantity="loss", source="exact", steps=steps, t=steps * lr, **meta))
            frames.append(io.records(np.max(np.abs(ex - loss)), quantity="max_dev_loss", source="summary", **meta))
    # step counts to the loss threshold over further seeds (spec 7 reports medians over seeds)
    thr = cfg["loss_threshold"]
    seeds = cfg["check_seed0"] + np.arange(cfg["n_check_seeds"])
    for panel in PANELS:
        kind, sigma = cfg["inits"][panel]["kind"], cfg["inits"][panel]["sigma"]
        ws = [initial_weights(kind, sigma, nh, y, np.random.default_rng(int(s))) for s in seeds]
        tr = simulate.gd_linear(np.stack([w[0] for w in ws]), np.stack([w[1] for w in ws]), y, lr, n_steps, record=())
        hits = first_below(tr.loss / y.size, thr)
        for s, h in zip(seeds, hits):
            frames.append(io.records(h, quantity="steps_to_threshold", source="summary", figure="a3", panel=panel,
                                     condition="check seeds", seed=int(s), learning_rate=eta))
    return io.concat(frames)


# --------------------------------------------------------------------------- checks
def _final(df, panel):
    _, q = io.to_array(df, panel=panel, quantity="qqt", source="simulation")
    return q[0]


def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 3 (thresholds: ``cfg["checks"]``)."""
    t = cfg["checks"]
    rows = []
    rsm_in = io.to_array(df, panel="B", quantity="rsm_in", source="theory")[1][0]
    rsm_out = io.to_array(df, panel="B", quantity="rsm_out", source="theory")[1][0]
    labels = io.to_array(df, panel="A", quantity="labels", source="target")[1][0]
    y8 = labels.T / labels.shape[0]
    ni = labels.shape[0]
    for panel in PANELS:
        q = _final(df, panel)
        dev_in = float(np.max(np.abs(q[:ni, :ni] - rsm_in)))
        dev_out = float(np.max(np.abs(q[ni:, ni:] - rsm_out)))
        name = cfg["inits"][panel]["kind"] + f" sigma={cfg['inits'][panel]['sigma']:g}"
        if panel == "D":
            lazy_min = t["lazy_rsm_dev_min"]
            rows.append((f"{panel} ({name}, lazy): max |W1^TW1/8 - V~S~V~^T| at the end", dev_in, f">= {lazy_min:g}",
                         dev_in >= lazy_min))
            rows.append((f"{panel}: max |W2W2^T/8 - U~S~U~^T| at the end", dev_out, f">= {lazy_min:g}",
                         dev_out >= lazy_min))
        else:
            rich_max = t["rich_rsm_dev"]
            rows.append((f"{panel} ({name}, rich): max |W1^TW1/8 - V~S~V~^T| at the end", dev_in, f"<= {rich_max:g}",
                         dev_in <= rich_max))
            rows.append((f"{panel}: max |W2W2^T/8 - U~S~U~^T| at the end", dev_out, f"<= {rich_max:g}",
                         dev_out <= rich_max))
        fn = float(np.max(np.abs(q[ni:, :ni] - y8)))
        rows.append((f"{panel}: max |W2W1/8 - Y/8| at the end", fn, f"<= {t['function_dev']:g}",
                     fn <= t["function_dev"]))
    thr = cfg["loss_threshold"]
    shown = {}
    for panel in PANELS:
        steps, loss = io.to_array(df, panel=panel, quantity="loss", source="simulation")
        shown[panel] = int(first_below(loss, thr))
    order = 0 < shown["D"] < shown["E"] < shown["C"]
    rows.append((f"steps to plotted loss < {thr:g}: D < E < C (shown seed: D {shown['D']}, E {shown['E']}, C {shown['C']})",
                 shown["E"], "D < E < C", order))
    med = {}
    for panel in PANELS:
        hits = io.select(df, panel=panel, quantity="steps_to_threshold", source="summary")["value"].to_numpy()
        med[panel] = float(np.median(hits)) if len(hits) and np.all(hits >= 0) else np.inf
        lo, hi = (float(hits.min()), float(hits.max())) if len(hits) else (np.nan, np.nan)
        rows.append((f"{panel}: median steps to loss < {thr:g} over {len(hits)} seeds [min-max {lo:g}-{hi:g}]",
                     med[panel], "(reported; spec: D 109, E 311, C 1012)", True))
    rows.append(("medians over seeds ordered D < E < C", med["E"], "D < E < C", med["D"] < med["E"] < med["C"]))
    steps, loss_c = io.to_array(df, panel="C", quantity="loss", source="simulation")
    init_loss = 0.5 * float(np.mean(labels ** 2))
    n_plateau, lim = t["plateau_steps"], t["plateau_rel_change"]
    plateau = float(np.max(np.abs(loss_c[steps <= n_plateau] / loss_c[0] - 1.0)))
    rows.append((f"C: max relative change of the loss over the first {n_plateau} steps (plateau)", plateau,
                 f"<= {lim:g}", plateau <= lim))
    ref, rtol = t["initial_loss"], t["initial_loss_rtol"]
    rows.append(("C: initial plotted loss (= 1/2 mean Y^2 = %.4f)" % init_loss, float(loss_c[0]),
                 f"within {100 * rtol:g} % of {ref:g}", abs(loss_c[0] / ref - 1) <= rtol))
    if cfg["exact_overlay"]:
        dev = io.scalar(df, panel="E", quantity="max_dev_loss", source="summary")
        l0 = float(io.to_array(df, panel="E", quantity="loss", source="simulation")[1][0])
        rows.append(("E: max |loss_sim - loss_Thm3.1| / initial loss (one-hot mapping, t = k eta/8; O(eta), "
                     "0.6-0.9 % over 8 seeds)", dev / l0, f"<= {t['exact_loss_rel_dev']:g}",
                     dev / l0 <= t["exact_loss_rel_dev"]))
    return io.check_table(rows)


# --------------------------------------------------------------------------- drawing
def draw_tree(ax, labels: np.ndarray, names: dict | None = None, title: str | None = None,
              highlight: tuple[int, ...] = ()) -> None:
    """Tree of a hierarchy drawn from its label matrix ``labels (items, features)`` via
    :func:`learndyn.tasks.hierarchy_tree`: leaves in depth-first order (left = +1 child first), internal nodes
    named by ``names[tag]`` or by their defining feature group (``f3+`` = items labelled +1 by feature 3);
    ``highlight``: 0-based items whose leaves are drawn in red."""
    names = names or {}
    nodes = tasks.hierarchy_tree(labels)
    depth = max(len(p) for _, p, _ in nodes)
    leaves = [n for n in nodes if len(n[0]) == 1]
    xpos = {n[0]: float(i) for i, n in enumerate(leaves)}
    for items, path, tag in sorted(nodes, key=lambda n: -len(n[1])):
        if items not in xpos:
            kids = [k for k, p, _ in nodes if len(p) == len(path) + 1 and p[:-1] == path]
            xpos[items] = float(np.mean([xpos[k] for k in kids]))
    ypos = {items: depth - len(path) for items, path, _ in nodes}
    ypos.update({n[0]: 0.0 for n in leaves})
    by_path = {p: items for items, p, _ in nodes}
    for items, path, tag in nodes:
        if path:
            par = by_path[path[:-1]]
            ax.plot([xpos[par], xpos[items]], [ypos[par], ypos[items]], color="0.35", lw=1.0, zorder=1)
    for items, path, tag in nodes:
        leaf = len(items) == 1
        c = "#d62728" if leaf and items[0] in highlight else ("0.15" if leaf else "0.55")
        ax.scatter([xpos[items]], [ypos[items]], s=28 if leaf else 18, color=c, zorder=2)
        if leaf:
            ax.text(xpos[items], -0.35, tag.replace("item", ""), ha="center", va="top", fontsize=7, color=c)
        else:
            ax.text(xpos[items] + 0.12, ypos[items] + 0.12, names.get(tag, tag), ha="left", va="bottom", fontsize=6.5)
    ax.text(len(leaves) / 2 - 0.5, -1.05, "item", ha="center", va="top", fontsize=7)
    ax.set_xlim(-0.6, len(leaves) - 0.4)
    ax.set_ylim(-1.4, depth + 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title)


def draw_svd(fig, axes_top, axes_bottom, df, panel: str, condition: str = "", cax_top=None, cax_bottom=None) -> None:
    """SVD heat maps ``U~, S~, V~^T`` (``axes_top``, common limit 1.05 max) and RSMs ``U~S~U~^T``, ``V~S~V~^T``
    (``axes_bottom``) of the rows stored by :func:`svd_records`; colour bars in ``cax_top``/``cax_bottom`` if given."""
    get = lambda q: io.to_array(df, panel=panel, quantity=q, source="theory", condition=condition)[1][0]  # noqa: E731
    mats = [get("U"), get("S"), get("Vt")]
    vmax = 1.05 * max(float(np.max(np.abs(m))) for m in mats)
    for ax, m, t in zip(axes_top, mats, ["$\\tilde U$", "$\\tilde S$", "$\\tilde V^T$"]):
        im = plotting.heatmap(ax, m, vmax=vmax, title=t)
    if cax_top is not None:
        fig.colorbar(im, cax=cax_top)
    rsms = [get("rsm_out"), get("rsm_in")]
    vr = 1.05 * max(float(np.max(np.abs(m))) for m in rsms)
    for ax, m, t in zip(axes_bottom, rsms, ["$\\tilde U\\tilde S\\tilde U^T$ (features)", "$\\tilde V\\tilde S\\tilde V^T$ (items)"]):
        im = plotting.heatmap(ax, m, vmax=vr, title=t)
    if cax_bottom is not None:
        fig.colorbar(im, cax=cax_bottom)


def draw_qqt(fig, ax, q: np.ndarray, ni: int, colour: str, title: str, vmax: float = 0.5, cax=None):
    """``QQ^T / 8`` heat map with its quadrant boundaries and a coloured frame (colour bar in ``cax`` if given)."""
    im = plotting.heatmap(ax, q, vmax=vmax, title=title)
    n = q.shape[0]
    ax.axhline(ni - 0.5, color="0.2", lw=0.6)
    ax.axvline(ni - 0.5, color="0.2", lw=0.6)
    for sp in ax.spines.values():
        sp.set_visible(True)
        sp.set_color(colour)
        sp.set_linewidth(2.0)
    ax.set_xticks([ni / 2 - 0.5, ni + (n - ni) / 2 - 0.5])
    ax.set_xticklabels(["items", "features"])
    ax.set_yticks([ni / 2 - 0.5, ni + (n - ni) / 2 - 0.5])
    ax.set_yticklabels(["items", "features"], rotation=90, va="center")
    ax.tick_params(length=0)
    if cax is not None:
        cb = fig.colorbar(im, cax=cax)
        cb.set_ticks([-0.4, 0, 0.4])
    return im


def draw(df, cfg: dict):
    """Figure 3: tree (A), task SVD and RSMs (B), final QQ^T/8 for three inits (C-E), losses (F)."""
    plotting.apply_style()
    fig = plotting.figure(11.0, 7.0)
    labels = io.to_array(df, panel="A", quantity="labels", source="target")[1][0]
    ni = labels.shape[0]
    ax_a = fig.add_axes([0.03, 0.56, 0.27, 0.36])
    draw_tree(ax_a, labels, LIVING_NAMES, title="living kingdom (8 items, 8 features)")
    plotting.panel_label(ax_a, "A", dx=-0.05)
    w, h = 0.115, 0.16
    top = [fig.add_axes([0.36 + i * 0.145, 0.77, w, h]) for i in range(3)]
    bottom = [fig.add_axes([0.36 + i * 0.145, 0.55, w, h]) for i in range(2)]
    draw_svd(fig, top, bottom, df, "B", cax_top=fig.add_axes([0.36 + 2 * 0.145 + w + 0.008, 0.77, 0.008, h]),
             cax_bottom=fig.add_axes([0.36 + 0.145 + w + 0.008, 0.55, 0.008, h]))
    top[0].set_ylabel("features"); top[0].set_xlabel("modes")
    top[2].set_ylabel("modes"); top[2].set_xlabel("items")
    bottom[0].set_xlabel("features"); bottom[1].set_xlabel("items")
    plotting.panel_label(top[0], "B", dx=-0.35)
    titles = {"C": "small Gaussian", "D": "large Gaussian", "E": "large zero-balanced"}
    for i, panel in enumerate(PANELS):
        ax = fig.add_axes([0.04 + i * 0.205, 0.12, 0.16, 0.30])
        c = cfg["inits"][panel]
        draw_qqt(fig, ax, _final(df, panel), ni, COLOURS[panel], f"{titles[panel]} ($\\sigma$={c['sigma']:g})",
                 cax=fig.add_axes([0.04 + i * 0.205 + 0.165, 0.12, 0.007, 0.30]) if panel == "E" else None)
        plotting.panel_label(ax, panel, dx=-0.22)
    ax_f = fig.add_axes([0.70, 0.12, 0.27, 0.30])
    for panel in PANELS:
        steps, loss = io.to_array(df, panel=panel, quantity="loss", source="simulation")
        ax_f.plot(steps, loss, color=COLOURS[panel], label=panel + ": " + titles[panel])
        if cfg["exact_overlay"] and cfg["inits"][panel]["kind"] == "balanced":
            _, ex = io.to_array(df, panel=panel, quantity="loss", source="exact")
            ax_f.plot(steps, ex, **plotting.EXACT_STYLE, label=f"{panel}: exact (Thm 3.1)")
    ax_f.set_xlim(0, cfg["n_steps"])
    ax_f.set_ylim(bottom=0)
    ax_f.set_xlabel("training step")
    ax_f.set_ylabel("loss  $\\frac{1}{2}$mean$(W_2W_1 - Y)^2$")
    ax_f.legend(frameon=False, loc="upper right")
    plotting.panel_label(ax_f, "F", dx=-0.2)
    fig.text(0.04, 0.455, "final $QQ^T/8$ after %d steps (quadrants: $W_1^TW_1$, $W_1^TW_2^T$ / $W_2W_1$, $W_2W_2^T$)"
             % cfg["n_steps"], fontsize=7.5)
    plotting.caption(fig, (
        f"(8, {cfg['n_hidden']}, 8) network, one-hot items, living-kingdom labels with the symmetry-breaking perturbation "
        f"(column j x (1 + {cfg['perturbation']:g}/j), spec 5.5), eta={cfg['learning_rate']:g}, {cfg['n_steps']} steps. "
        "A: tree drawn from the label matrix (+1 = left child, -1 = right child; group names from the paper's Appendix H.2.3). "
        "B: SVD of sigma~ = Y/8 (top; each column of U~ sums positive) and the task RSMs (bottom), rows/columns in tree order. C/D: i.i.d. Gaussian weights; E: zero-balanced weights (Algorithm 1) "
        "with the det-sign rule (spec 1.3, decision 15). Simulations run in float64 as whitened GD on sigma~ = Y with "
        "learning rate eta/8 (identical to GD on the one-hot data); the dotted curve in F is Theorem 3.1 for E (an "
        "addition: the original shows simulations only). Colour limits of C-E +-0.5; frames match F."))
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="a3", paper="paper_a", name="fig3", checks=checks, draw=draw,
    steps=(
        Step("a3_compute", compute, "fig3",
             keys=("seed", "n_hidden", "learning_rate", "n_steps", "perturbation", "inits.C.kind", "inits.C.sigma",
                   "inits.D.kind", "inits.D.sigma", "inits.E.kind", "inits.E.sigma", "loss_threshold", "check_seed0",
                   "n_check_seeds", "exact_overlay"),
             # ~1 s on one idle core: 3 + 3 x n_check_seeds runs of 2000 steps (8, 14, 8) and one closed-form loss
             mem_mb=500, minutes=5),
    ),
)
