"""Paper C, figure group L7: reversal learning from lambda-balanced initialisations.

Spec ``lambda-balanced.md`` section 4 (L7; derived [D], the paper's figure was not recovered) and checks 11, 13.
Dataset of Braun et al. (:func:`learndyn.tasks.reversal_learning`: 16 items, 4 inputs, 4 outputs; task 2 =
task 1 with every target negated). 4-4-4 network (Braun's hidden width 6 cannot be lambda-balanced for
lambda != 0). Phase 1 trains task 1 to convergence, phase 2 the reversed task. The closed form of phase 2
restarts from its own state at the switch: at lambda = 0 that state lies on the stable manifold of the
saddle W = 0 (spec 2.3a: L_+ singular, detected and handled by following the exact flow to the saddle), so
the exact network function collapses to 0 and stays; for lambda != 0 the flow escapes in a time ~1/K, faster
for larger |lambda|. GD at lambda = 0 escapes only through round-off and the O(eta^2) balance drift.
"""

from __future__ import annotations

import numpy as np

from ... import io, metrics, plotting, simulate, tasks
from ... import lambda_balanced as lb
from ..steps import Figure, Step
from ._common import bound, c_minutes, run_pair

FIG = "c7"


def compute(cfg: dict):
    """Run the L7 protocol. ``cfg``: the ``paper_c.fig7`` config section."""
    t1, t2 = tasks.reversal_learning(cfg["n_samples"], cfg["n_in"], cfg["n_out"], np.random.default_rng(cfg["seed"]))
    eta, n1, n2 = cfg["learning_rate"], cfg["phase1_steps"], cfg["phase2_steps"]
    keep = simulate.log_steps(n2, cfg["n_plot_points"])
    k_ex = int(round(cfg["excess_time"] / eta))
    frames = []
    for lam in cfg["lambdas"]:
        meta = dict(figure=FIG, condition=f"lambda={lam:g}", seed=cfg["seed"], learning_rate=eta)
        w1, w2 = lb.lambda_balanced(cfg["n_in"], cfg["n_hidden"], cfg["n_out"], lam,
                                    np.random.default_rng([cfg["seed"], 1]), sigma=cfg["sigma"], sigma_yx=t1.sigma_yx)
        p1 = run_pair(w1, w2, t1.sigma_yx, lam, eta, n1)
        p2 = run_pair(p1["w1"], p1["w2"], t2.sigma_yx, lam, eta, n2, l0=p1["factor"], on_singular="saddle")
        lstar = metrics.optimal_loss(t2.sigma_yx, t2.sigma_yy)
        loss = {src: metrics.loss(p2[src]["W2W1"], t2.sigma_yx, t2.sigma_yy) for src in ("simulation", "exact")}
        for src in ("simulation", "exact"):
            frames.append(io.records(p2[src]["W2W1"][keep], quantity="W2W1", source=src, panel="A", steps=keep, **meta))
            frames.append(io.records(loss[src][keep] - lstar, quantity="loss_excess", source=src, panel="B",
                                     steps=keep, **meta))
        norm_ex = np.linalg.norm(p2["exact"]["W2W1"], axis=(1, 2))
        exc_sim = loss["simulation"] - lstar
        exc_zero = metrics.loss(np.zeros_like(t2.sigma_yx), t2.sigma_yx, t2.sigma_yy) - lstar
        esc = np.flatnonzero(exc_sim < 0.5 * exc_zero)                     # well past the saddle W = 0
        summary = {
            "phase2_saddle": float(p2["saddle"]),
            "finite": float(all(np.all(np.isfinite(p[src][k])) for p in (p1, p2) for src in ("exact",)
                                for k in ("W2W1", "W1tW1", "W2W2t"))),
            "max_dev_phase1": np.max(np.abs(p1["simulation"]["W2W1"] - p1["exact"]["W2W1"])),
            "max_dev_phase2": np.max(np.abs(p2["simulation"]["W2W1"] - p2["exact"]["W2W1"])),
            "phase1_converged": np.max(np.abs(p1["exact"]["W2W1"][-1] - t1.sigma_yx)),
            "excess_exact_at_t": loss["exact"][k_ex] - lstar,
            "excess_sim_at_t": exc_sim[k_ex],
            "excess_exact_end": loss["exact"][-1] - lstar,
            "excess_at_zero": exc_zero,
            "min_norm_exact": norm_ex.min(),
            "norm_task": np.linalg.norm(t2.sigma_yx),
            "gd_escape_step": float(esc[0]) if esc.size else np.nan,
        }
        for name, val in summary.items():
            frames.append(io.records(val, quantity=name, source="summary", **meta))
    return io.concat(frames)


def checks(df, cfg: dict):
    """Acceptance checks 11 (reversal) and 13 (saddle detected, never NaN) of spec section 5 (thresholds:
    ``cfg["checks"]``)."""
    t = cfg["checks"]
    rows = []
    g = lambda q, lam: io.scalar(df, quantity=q, condition=f"lambda={lam:g}", source="summary")  # noqa: E731
    # check 4's GD-vs-exact threshold at its learning rate, scaled with eta
    tol = t["gd_dev"] * cfg["learning_rate"] / t["gd_dev_eta"]
    for lam in cfg["lambdas"]:
        rows.append((f"lambda={lam:g}: closed form finite (no NaN/inf) in both phases", g("finite", lam), "== 1",
                     g("finite", lam) == 1))
        lim = t["phase1_converged"]
        rows.append((f"lambda={lam:g}: phase 1 converged, max |W2W1_exact - S_1|", g("phase1_converged", lam),
                     f"<= {bound(lim)}", g("phase1_converged", lam) <= lim))
        rows.append((f"lambda={lam:g}: phase 1 max |W2W1_GD - W2W1_exact|", g("max_dev_phase1", lam), f"<= {tol:g}",
                     g("max_dev_phase1", lam) <= tol))
        want_saddle = lam == 0
        rows.append((f"lambda={lam:g}: phase-2 start detected as a saddle case (L_+ singular)",
                     g("phase2_saddle", lam), f"== {int(want_saddle)}", g("phase2_saddle", lam) == want_saddle))
        if lam != 0:
            rows.append((f"lambda={lam:g}: phase 2 max |W2W1_GD - W2W1_exact|", g("max_dev_phase2", lam), f"<= {tol:g}",
                         g("max_dev_phase2", lam) <= tol))
        else:
            lim = t["saddle_norm"]
            rows.append(("lambda=0: min over phase 2 of |W2W1_exact| / |S_2| (passes through W = 0)",
                         g("min_norm_exact", 0) / g("norm_task", 0), f"<= {bound(lim)}",
                         g("min_norm_exact", 0) / g("norm_task", 0) <= lim))
            ratio = g("excess_exact_end", 0) / g("excess_at_zero", 0)
            lim = t["plateau_ratio"]
            rows.append(("lambda=0: exact loss excess at the end of phase 2 / excess at W = 0 (plateau at the saddle)",
                         ratio, f">= {bound(lim)}", ratio >= lim))
            rows.append(("lambda=0: GD escape step (loss excess < half its value at W = 0; round-off / balance drift)",
                         g("gd_escape_step", 0), "(reported)", True))
    pos = [lam for lam in cfg["lambdas"] if lam > 0]
    lim = t["excess_at_t"]
    for src in ("exact", "sim"):
        vals = [g(f"excess_{src}_at_t", lam) for lam in pos]
        dec = bool(np.all(np.diff(vals) < 0))
        rows.append((f"loss excess at t={cfg['excess_time']:g} ({src}) strictly decreasing over lambda={pos}: "
                     + ", ".join(f"{v:.3g}" for v in vals), float(dec), "== 1", dec))
        for lam, v in zip(pos, vals):
            if lam >= t["excess_lambda"]:
                rows.append((f"lambda={lam:g}: loss excess at t={cfg['excess_time']:g} ({src})", v, f"<= {bound(lim)}",
                             v <= lim))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """L7: phase-2 network function per lambda (A), phase-2 loss excess (B), excess at t=5 vs lambda (C)."""
    plotting.apply_style()
    lams = cfg["lambdas"]
    fig = plotting.figure(11.0, 5.8)
    eta = cfg["learning_rate"]
    w = 0.84 / len(lams)
    for i, lam in enumerate(lams):
        ax = fig.add_axes([0.06 + i * w, 0.64, w - 0.05, 0.29])
        cond = f"lambda={lam:g}"
        steps, sim = io.to_array(df, panel="A", condition=cond, quantity="W2W1", source="simulation")
        _, ex = io.to_array(df, panel="A", condition=cond, quantity="W2W1", source="exact")
        plotting.sim_exact(ax, np.maximum(steps, 1), sim.reshape(len(steps), -1), ex.reshape(len(steps), -1),
                           color=plotting.PALETTE[i], lw=0.9, exact_lw=0.8)
        ax.set_xscale("log")
        ax.set_title(f"$\\lambda$={lam:g}")
        ax.set_xlabel("step of phase 2")
        if i == 0:
            ax.set_ylabel("$W_2W_1$ entries")
            plotting.panel_label(ax, "A", dx=-0.35)
            plotting.legend_sim_exact(ax, loc="lower left", fontsize=6)
    ax_b = fig.add_axes([0.06, 0.19, 0.45, 0.33])
    for i, lam in enumerate(lams):
        cond = f"lambda={lam:g}"
        steps, sim = io.to_array(df, panel="B", condition=cond, quantity="loss_excess", source="simulation")
        _, ex = io.to_array(df, panel="B", condition=cond, quantity="loss_excess", source="exact")
        plotting.sim_exact(ax_b, np.maximum(steps, 1), np.maximum(sim, 1e-18), np.maximum(ex, 1e-18),
                           color=plotting.PALETTE[i])
        ax_b.plot([], [], color=plotting.PALETTE[i], label=f"$\\lambda$={lam:g}")
    ax_b.axvline(cfg["excess_time"] / eta, color="0.5", ls="--", lw=0.8)
    ax_b.set_xscale("log")
    ax_b.set_yscale("log")
    ax_b.set_ylim(1e-12, None)
    ax_b.set_xlabel("step of phase 2 (reversed task)")
    ax_b.set_ylabel("loss $-$ optimum")
    ax_b.legend(frameon=False, fontsize=6, loc="lower left")
    plotting.panel_label(ax_b, "B", dx=-0.1)
    ax_c = fig.add_axes([0.6, 0.19, 0.36, 0.33])
    pos = [lam for lam in lams if lam > 0]
    g = lambda q, lam: io.scalar(df, quantity=q, condition=f"lambda={lam:g}", source="summary")  # noqa: E731
    ax_c.plot(pos, [max(g("excess_exact_at_t", lam), 1e-18) for lam in pos], "k:", marker="o", mfc="none",
              label="exact")
    ax_c.plot(pos, [max(g("excess_sim_at_t", lam), 1e-18) for lam in pos], color=plotting.PALETTE[1], marker="x",
              lw=0, label="GD")
    if 0.0 in lams:
        ax_c.axhline(g("excess_exact_at_t", 0.0), color="0.4", ls="--", lw=0.8, label="$\\lambda$=0 (exact)")
    ax_c.set_xscale("log")
    ax_c.set_yscale("log")
    ax_c.set_xlabel("$\\lambda$")
    ax_c.set_ylabel(f"loss excess at $t$={cfg['excess_time']:g}")
    ax_c.legend(frameon=False, fontsize=6)
    plotting.panel_label(ax_c, "C", dx=-0.15)
    plotting.caption(fig, (
        f"Reversal dataset of Braun et al. (N={cfg['n_samples']}, {cfg['n_in']} inputs, {cfg['n_out']} outputs), "
        f"{cfg['n_in']}-{cfg['n_hidden']}-{cfg['n_out']} network, lambda-balanced init. (authors' recipe sigma={cfg['sigma']:g}), "
        f"GD eta={eta:g}: {cfg['phase1_steps']} steps on task 1, then {cfg['phase2_steps']} steps on the reversed targets (shown). "
        "Dotted = exact flow restarted from its own state at the switch; at lambda=0 it collapses to W=0 and stays (saddle), "
        "GD escapes late through round-off/balance drift. B, C: values below 1e-12 / 1e-18 are drawn at the axis floor. Lambda values and sizes are reconstructions (spec L7: derived, "
        "paper figure not found)."))
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="c7", paper="paper_c", name="fig7", checks=checks, draw=draw,
    steps=(
        Step("c7_compute", compute, "fig7",
             keys=("seed", "n_samples", "n_in", "n_hidden", "n_out", "sigma", "lambdas", "learning_rate",
                   "phase1_steps", "phase2_steps", "excess_time", "n_plot_points"),
             # 4.8 s of CPU at full scale (2 x 20 000 steps x 4 lambdas = 160 000 steps)
             mem_mb=500,
             minutes=lambda c, n: c_minutes(4.8 * (c["phase1_steps"] + c["phase2_steps"]) * len(c["lambdas"])
                                            / 160000)),
    ),
)
