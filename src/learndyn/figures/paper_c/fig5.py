"""Paper C, figure group L5: the same network function, different hidden representations.

Spec ``lambda-balanced.md`` section 4 (L5), checks 6, 7, 10. Semantic-hierarchy task ("same task as Braun et
al. (2022)" [P]): 8 one-hot items, 8 hierarchical features (:func:`learndyn.tasks.hierarchy`); with ``X = I_8``,
``sigma_xx = I/8`` so GD with rate ``eta`` equals whitened GD on ``sigma~ = Y`` with rate ``eta/8``
(spec 1.1) and ``t = k eta / 8``. 8-8-8 network, eta = 0.01, 2e4 steps [T/C]; five initialisations: Gaussian
small (sigma = 1e-3) and large (0.42) (not lambda-balanced: simulation only), and lambda-balanced with the
authors' recipe at sigma = 0.42 for lambda = 0, +10, -10 (closed form dotted). A: task SVD and the
task-specific patterns; B: final ``QQ^T / 8``; C: loss (scaled by 1/8 as in Braun et al.).
"""

from __future__ import annotations

import numpy as np

from ... import init, io, plotting, simulate, tasks
from ... import lambda_balanced as lb
from ..steps import Figure, Step
from ._common import QUADS, assemble, bound, c_minutes, run_pair

FIG = "c5"


def conditions(cfg: dict) -> list[tuple[str, str, float | None]]:
    """``(condition, title, lambda or None)`` of the five initialisations, in panel order."""
    out = [("gauss_small", f"Gaussian $\\sigma$={cfg['sigma_small']:g}", None),
           ("gauss_large", f"Gaussian $\\sigma$={cfg['sigma_large']:g}", None)]
    for lam in cfg["lambdas"]:
        out.append((f"lambda={lam:g}", f"$\\lambda$={lam:g}", float(lam)))
    return out


def _task(cfg):
    labels = tasks.hierarchy("living_kingdom", perturbation=cfg["perturbation"])
    task = tasks.one_hot_items(labels)
    return task, task.y          # sigma~ = Y (features x items), spec 1.1 one-hot mapping


def _cos(a, b):
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def compute(cfg: dict):
    """Run the L5 protocol. ``cfg``: the ``paper_c.fig5`` config section."""
    task, target = _task(cfg)
    n = task.n
    nh = cfg["n_hidden"]
    eta_w = cfg["learning_rate"] / n                 # whitened-equivalent learning rate
    n_steps = cfg["n_steps"]
    keep = simulate.log_steps(n_steps, cfg["n_plot_points"])
    frames = []
    u, s, vt = tasks.mode_svd(target)
    for name, val in (("U", u), ("S", np.diag(s)), ("Vt", vt), ("USU", (u * s) @ u.T), ("VSV", (vt.T * s) @ vt)):
        frames.append(io.records(val, quantity=name, source="target", figure=FIG, panel="A"))
    rng = np.random.default_rng(cfg["seed"])
    final = {}
    for cond, _, lam in conditions(cfg):
        meta = dict(figure=FIG, condition=cond, seed=cfg["seed"], learning_rate=cfg["learning_rate"])
        if lam is None:
            sigma = cfg["sigma_small"] if cond == "gauss_small" else cfg["sigma_large"]
            w1, w2 = init.random_normal(n, nh, n, sigma, rng)
            tr = simulate.gd_linear(w1, w2, target, eta_w, n_steps, record_steps=keep, record=QUADS)
            quads = {"simulation": {k: tr.records[k] for k in QUADS}}
            t_keep = keep * eta_w
        else:
            w1, w2 = lb.lambda_balanced(n, nh, n, lam, np.random.default_rng([cfg["seed"], 1]),
                                        sigma=cfg["sigma_balanced"], sigma_yx=target)
            run = run_pair(w1, w2, target, lam, eta_w, n_steps)
            quads = {src: {k: run[src][k][keep] for k in QUADS} for src in ("simulation", "exact")}
            sim_q, ex_q = assemble(run["simulation"]), assemble(run["exact"])
            loss_sim = np.sum((run["simulation"]["W2W1"] - target) ** 2, axis=(1, 2)) / (2 * n)
            loss_ex = np.sum((run["exact"]["W2W1"] - target) ** 2, axis=(1, 2)) / (2 * n)
            summary = {
                "max_dev_qqt": np.max(np.abs(sim_q - ex_q)),
                "range_qqt": np.max(np.ptp(ex_q, axis=0)),
                "max_dev_loss": np.max(np.abs(loss_sim - loss_ex)),
                "range_loss": np.ptp(loss_ex),
                "dev_limit": np.max(np.abs(ex_q[-1] - lb.limit(target, lam))),
                "dev_sim_limit": np.max(np.abs(sim_q[-1] - lb.limit(target, lam))),
            }
            for k, v in summary.items():
                frames.append(io.records(v, quantity=k, source="summary", **meta))
            t_keep = keep * eta_w
        for src, qd in quads.items():
            loss = np.sum((qd["W2W1"] - target) ** 2, axis=(1, 2)) / (2 * n)   # one-hot loss = whitened / 8
            frames.append(io.records(loss, quantity="loss", source=src, panel="C", steps=keep, t=t_keep, **meta))
            frames.append(io.records(assemble(qd)[-1] / n, quantity="qqt_over_n", source=src, panel="B", **meta))
        fin = assemble(quads["simulation"])[-1]
        final[cond] = fin
        w1tw1, w2w2t = fin[:n, :n], fin[n:, n:]
        scores = {
            "cos_in_VSV": _cos(w1tw1, (vt.T * s) @ vt), "cos_in_VS2V": _cos(w1tw1, (vt.T * s ** 2) @ vt),
            "cos_in_I": _cos(w1tw1, np.eye(n)), "cos_out_USU": _cos(w2w2t, (u * s) @ u.T),
            "cos_out_US2U": _cos(w2w2t, (u * s ** 2) @ u.T), "cos_out_I": _cos(w2w2t, np.eye(n)),
            "final_fn_error": np.max(np.abs(fin[n:, :n] - target)),
        }
        for k, v in scores.items():
            frames.append(io.records(v, quantity=k, source="summary", **meta))
    conds = list(final)
    spread = max(np.max(np.abs(final[a][n:, :n] - final[b][n:, :n])) for a in conds for b in conds)
    frames.append(io.records(spread, quantity="network_function_spread", source="summary", figure=FIG))
    return io.concat(frames)


def checks(df, cfg: dict):
    """Acceptance checks of spec section 5: 10 (sim/exact overlap; one network function), 6/7 (limits), and
    the L5 claims (task-specific vs task-agnostic representations); thresholds: ``cfg["checks"]``."""
    t = cfg["checks"]
    rows = []
    spread = io.scalar(df, quantity="network_function_spread")
    lim = t["function_spread"]
    rows.append(("five initialisations: max |W2W1_i - W2W1_j| of the final maps (unscaled)", spread, f"<= {bound(lim)}",
                 spread <= lim))
    for cond, _, lam in conditions(cfg):
        g = lambda q: io.scalar(df, quantity=q, condition=cond, source="summary")  # noqa: E731
        if lam is not None:
            for name in ("qqt", "loss"):
                rel = g(f"max_dev_{name}") / g(f"range_{name}")
                lim = t["curve_rel_dev"]
                rows.append((f"{cond}: max |{name}_sim - {name}_exact| / range (every step)", rel, f"<= {bound(lim)}",
                             rel <= lim))
            lim = t["limit_dev"]
            rows.append((f"{cond}: |QQt_exact(t_end) - limit (spec 2.5)|", g("dev_limit"), f"<= {bound(lim)}",
                         g("dev_limit") <= lim))
            rows.append((f"{cond}: |QQt_sim(t_end) - limit (spec 2.5)|", g("dev_sim_limit"), "(reported)", True))
        if cond in ("gauss_small", "lambda=0"):
            lim = t["task_specific_cosine"]
            for q in ("cos_in_VSV", "cos_out_USU"):
                rows.append((f"{cond}: task-specific: cosine({q[4:]})", g(q), f">= {bound(lim)}", g(q) >= lim))
        elif lam is not None and lam != 0:
            agn, spec_ = ("cos_out_I", "cos_in_VS2V") if lam > 0 else ("cos_in_I", "cos_out_US2U")
            lim = t["task_agnostic_cosine"]
            rows.append((f"{cond}: large side task-agnostic: cosine({agn[4:]})", g(agn), f">= {bound(lim)}",
                         g(agn) >= lim))
            lim = t["small_side_cosine"]
            rows.append((f"{cond}: small side ~ S^2 pattern / |lambda|: cosine({spec_[4:]})", g(spec_),
                         f">= {bound(lim)}", g(spec_) >= lim))
        else:
            for q in ("cos_in_VSV", "cos_out_USU", "cos_in_I", "cos_out_I"):
                rows.append((f"{cond}: cosine({q[4:]})", g(q), "(reported)", True))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """L5: task SVD (A), five final QQ^T/8 maps (B), loss curves (C)."""
    plotting.apply_style()
    fig = plotting.figure(11.0, 4.8)
    conds = conditions(cfg)
    box = 1.1 / 4.8
    # A: task SVD and patterns
    titles = {"U": "$\\tilde U$", "S": "$\\tilde S$", "Vt": "$\\tilde V^\\top$", "USU": "$\\tilde U\\tilde S\\tilde U^\\top$",
              "VSV": "$\\tilde V\\tilde S\\tilde V^\\top$"}
    for i, q in enumerate(titles):
        ax = fig.add_axes([0.04 + i * 0.125, 0.66, 0.1, box])
        _, m = io.to_array(df, panel="A", quantity=q, source="target")
        plotting.heatmap(ax, m[0] if m.ndim == 3 else m, title=titles[q])
        if i == 0:
            plotting.panel_label(ax, "A", dx=-0.3)
    # B: final QQ^T / 8 on one colour scale (that of the lambda = 0 / Gaussian maps; |lambda| diagonals saturate)
    maps = {}
    for cond, _, _ in conds:
        _, m = io.to_array(df, panel="B", condition=cond, quantity="qqt_over_n", source="simulation")
        maps[cond] = m[0] if m.ndim == 3 else m
    vmax = max(float(np.max(np.abs(maps[c]))) for c, _, lam in conds if lam is None or lam == 0)
    frame_col = plotting.PALETTE
    for i, (cond, title, lam) in enumerate(conds):
        ax = fig.add_axes([0.04 + i * 0.125, 0.25, 0.1, box])
        im = plotting.heatmap(ax, maps[cond], vmax=vmax, title=title)
        for sp in ax.spines.values():
            sp.set_visible(True)
            sp.set_color(frame_col[i])
            sp.set_linewidth(1.5)
        if i == 0:
            plotting.panel_label(ax, "B", dx=-0.3)
            ax.set_ylabel("inputs | outputs", fontsize=6)
    cax = fig.add_axes([0.2, 0.18, 0.3, 0.02])
    cb = fig.colorbar(im, cax=cax, orientation="horizontal", extend="both")
    cb.set_label("$QQ^\\top(t_{end})/8$", fontsize=6)
    cb.ax.tick_params(labelsize=6)
    # C: loss
    ax_c = fig.add_axes([0.7, 0.24, 0.28, 0.66])
    for i, (cond, title, lam) in enumerate(conds):
        steps, sim = io.to_array(df, panel="C", condition=cond, quantity="loss", source="simulation")
        ex = None
        if lam is not None:
            ex = io.to_array(df, panel="C", condition=cond, quantity="loss", source="exact")[1]
        plotting.sim_exact(ax_c, np.maximum(steps, 1), sim, ex, color=frame_col[i])
        ax_c.plot([], [], color=frame_col[i], label=title)
    ax_c.set_xscale("log")
    ax_c.set_xlabel("training step")
    ax_c.set_ylabel("loss (one-hot items, $\\frac{1}{2N}\\sum\\|y-\\hat y\\|^2$)")
    ax_c.add_artist(ax_c.legend(frameon=False, fontsize=6, loc="upper right"))
    plotting.legend_sim_exact(ax_c, loc="lower left")
    plotting.panel_label(ax_c, "C", dx=-0.15)
    plotting.caption(fig, (
        f"Hierarchy task (8 items, 8 features, perturbation {cfg['perturbation']:g} splitting the degenerate singular values as in "
        f"Braun et al.), 8-{cfg['n_hidden']}-8 network, eta={cfg['learning_rate']:g} on one-hot items ({cfg['n_steps']} steps), "
        "B: final QQ^T/8 (inputs first: top-left W1'W1, bottom-left W2W1, bottom-right W2W2'), one colour scale (the lambda=+-10 "
        "diagonals, lambda/8, saturate); "
        "frame colours = curves in C. Solid = GD, dotted = exact solution (lambda-balanced inits only). lambda=+-10 as in "
        "the thesis labels (its notebook used +-100); N_h=8 instead of an older notebook's 14, which cannot be "
        "lambda-balanced [T/C]. Paper figure layout not recovered (reconstruction)."), y=0.005)
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="c5", paper="paper_c", name="fig5", checks=checks, draw=draw,
    steps=(
        Step("c5_compute", compute, "fig5",
             keys=("seed", "n_hidden", "perturbation", "learning_rate", "n_steps", "sigma_small", "sigma_large",
                   "sigma_balanced", "lambdas", "n_plot_points"),
             # 4.5 s of CPU at full scale (20 000 steps, five initialisations)
             mem_mb=800, minutes=lambda c, n: c_minutes(4.5 * c["n_steps"] / 2e4)),
    ),
)
