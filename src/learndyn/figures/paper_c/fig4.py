"""Paper C, figure group L4: the rich-lazy measure, NTK kernel distance vs lambda.

Spec ``lambda-balanced.md`` sections 2.6 and 4 (L4), check 9. Kernel distance (Fort et al. 2020; in the
authors' code [C], its use in the paper's figure is likely but not confirmed)
``S(0, t) = 1 - <Theta_0, Theta_t>/(|Theta_0||Theta_t|)`` of the exact NTK (spec 2.4) between initialisation
and convergence, vs lambda, for several initialisation scales sigma (spec 2.6 setup: 4-4-4, P=20, the authors'
recipe, mean over seeds). Per seed the same random numbers are used for every (sigma, lambda): only lambda and
the scale change. A: ``S(0, inf)`` vs lambda; B: ``S(0, t)`` during training for a few lambda (GD solid,
closed form dotted); C: relative NTK change times ``lambda^2`` (-> constant: lazy at rate 1/lambda^2).
The paper's sweep values were not recovered (spec L4); the sigma values and lambda grid are the spec's 2.6 table.
"""

from __future__ import annotations

import numpy as np

from ... import io, metrics, plotting, simulate
from ... import lambda_balanced as lb
from ..steps import Figure, Step, sweep_minutes
from ._common import assemble, bound, c_minutes

FIG = "c4"


def lambda_grid(cfg: dict) -> np.ndarray:
    """Symmetric grid: 0, +-logspace(lo, hi, n) and the spec 2.6 table values."""
    g = cfg["grid"]
    pos = np.concatenate([np.logspace(g["log_min"], g["log_max"], g["n_per_side"]), cfg["table_lambdas"]])
    pos = np.unique(np.round(pos, 12))
    return np.concatenate([-pos[::-1], [0.0], pos])


def _draw(cfg: dict, seed: int):
    task = lb.standard_regression(cfg["n_in"], cfg["n_out"], cfg["n_samples"], np.random.default_rng([cfg["seed0"], seed]))
    return task


def _init(cfg, seed, lam, sigma, task):
    return lb.lambda_balanced(cfg["n_in"], cfg["n_hidden"], cfg["n_out"], lam,
                              np.random.default_rng([cfg["seed0"], seed, 1]), sigma=sigma, sigma_yx=task.sigma_yx)


def compute_sweep(cfg: dict, batch: int = 0, n_batches: int = 1):
    """Seeds ``batch::n_batches``: ``S(0, inf)`` and the relative NTK change for every (sigma, lambda)."""
    lams = lambda_grid(cfg)
    ni = cfg["n_in"]
    frames = []
    for seed in range(batch, cfg["n_seeds"], n_batches):
        task = _draw(cfg, seed)
        for sigma in cfg["sigmas"]:
            dist, change = np.empty(len(lams)), np.empty(len(lams))
            for k, lam in enumerate(lams):
                w1, w2 = _init(cfg, seed, lam, sigma, task)
                q = lb.qqt(w1, w2, task.sigma_yx, [0.0, np.inf], lam=lam)
                dist[k] = lb.kernel_distance(q[0], q[1], ni, task.x)
                change[k] = lb.ntk_change(q[0], q[1], ni, task.x)
            meta = dict(figure=FIG, panel="A", condition=f"sigma={sigma:g}", seed=seed)
            frames.append(io.records(np.stack([lams, dist, change], axis=1), quantity="lambda_S_change",
                                     source="exact", **meta))
    return io.concat(frames)


def compute_curves(cfg: dict):
    """Panel B (one seed, one sigma): S(0, t) under GD (batched over lambda) and in closed form; plus the
    NTK formula vs the explicit Jacobian (spec check 9)."""
    c = cfg["curves"]
    ni = cfg["n_in"]
    task = _draw(cfg, c["seed"])
    lams = np.asarray(c["lambdas"], dtype=float)
    inits = [_init(cfg, c["seed"], lam, c["sigma"], task) for lam in lams]
    w1 = np.stack([w[0] for w in inits])
    w2 = np.stack([w[1] for w in inits])
    eta, n_steps = c["learning_rate"], c["n_steps"]
    keep = simulate.log_steps(n_steps, c["n_plot_points"])
    tr = simulate.gd_linear(w1, w2, task.sigma_yx, eta, n_steps, record_steps=keep, record=("W2W1", "W1tW1", "W2W2t"))
    frames = []
    dev_jac = 0.0
    for j, lam in enumerate(lams):
        meta = dict(figure=FIG, panel="B", condition=f"lambda={lam:g}", seed=c["seed"], learning_rate=eta)
        q_sim = assemble({k: tr.records[k][:, j] for k in ("W2W1", "W1tW1", "W2W2t")})
        q_ex = lb.qqt(w1[j], w2[j], task.sigma_yx, keep * eta, lam=lam)
        s_sim = lb.kernel_distance(q_sim[:1], q_sim, ni, task.x)
        s_ex = lb.kernel_distance(q_ex[:1], q_ex, ni, task.x)
        frames.append(io.records(s_sim, quantity="kernel_distance", source="simulation", steps=keep, **meta))
        frames.append(io.records(s_ex, quantity="kernel_distance", source="exact", steps=keep, **meta))
        frames.append(io.records(np.max(np.abs(s_sim - s_ex)), quantity="max_dev_distance", source="summary", **meta))
        theta = metrics.ntk(q_ex[0, :ni, :ni], q_ex[0, ni:, ni:], task.x)
        dev_jac = max(dev_jac, float(np.max(np.abs(lb.ntk_jacobian(w1[j], w2[j], task.x) - theta))
                                     / np.max(np.abs(theta))))
    frames.append(io.records(dev_jac, quantity="max_rel_dev_jacobian", source="summary", figure=FIG, panel="B"))
    return io.concat(frames)


def sweep_table(df) -> dict:
    """``{sigma: (lams (L,), S (seeds, L), change (seeds, L))}`` from the sweep rows."""
    out = {}
    sub = io.select(df, panel="A", quantity="lambda_S_change")
    for cond, g in sub.groupby("condition", sort=False):
        g = g.sort_values(["seed", "row", "col"])
        seeds = g["seed"].nunique()
        arr = g["value"].to_numpy().reshape(seeds, -1, 3)
        out[float(cond.split("=")[1])] = (arr[0, :, 0], arr[:, :, 1], arr[:, :, 2])
    return dict(sorted(out.items()))


def checks(df, cfg: dict):
    """Acceptance check 9 of spec section 5 (NTK and kernel distance; thresholds: ``cfg["checks"]``)."""
    t = cfg["checks"]
    rows = []
    dev = io.scalar(df, quantity="max_rel_dev_jacobian")
    lim = t["jacobian_rel_dev"]
    rows.append(("NTK formula (spec 2.4) vs explicit Jacobian J J^T, max relative deviation", dev, f"<= {bound(lim)}",
                 dev <= lim))
    tab = sweep_table(df)
    zero_vals = []
    for sigma, (lams, dist, change) in tab.items():
        mean = dist.mean(axis=0)
        i0 = int(np.flatnonzero(lams == 0)[0])
        zero_vals.append(mean[i0])
        rows.append((f"sigma={sigma:g}: mean S(0,inf) is maximal at lambda=0", float(np.argmax(mean) == i0), "== 1",
                     bool(np.argmax(mean) == i0)))
        right, left = mean[i0:], mean[i0::-1]
        rise = t["monotone_tol"]
        viol = int(np.sum(np.diff(right) > rise) + np.sum(np.diff(left) > rise))
        rows.append((f"sigma={sigma:g}: violations of 'S non-increasing in |lambda|' on either side (seed mean)", viol,
                     "== 0", viol == 0))
        tail = float(max(mean[0], mean[-1]))
        lim = t["tail_S"]
        rows.append((f"sigma={sigma:g}: S(0,inf) at |lambda|={abs(lams[-1]):g}", tail, f"<= {bound(lim)}", tail <= lim))
        # lazy at moderate |lambda|: small sigma already at lazy_lambda_small, large sigma at lazy_lambda_large
        for lam_t, applies in ((t["lazy_lambda_small"], sigma <= t["lazy_sigma_small"]),
                               (t["lazy_lambda_large"], sigma >= t["lazy_sigma_large"])):
            if not applies:
                continue
            thr = t["lazy_S"]
            v = float(max(mean[np.isclose(lams, lam_t)][0], mean[np.isclose(lams, -lam_t)][0]))
            rows.append((f"sigma={sigma:g}: max over +-{lam_t:g} of mean S(0,inf)", v, f"< {thr:g}", v < thr))
        scaled = change.mean(axis=0) * lams ** 2
        r = float(scaled[-1] / scaled[-2])
        lo, hi = t["change_ratio_min"], t["change_ratio_max"]
        rows.append((f"sigma={sigma:g}: (NTK change x lambda^2) at lambda={lams[-1]:g} / at {lams[-2]:g} (-> constant)",
                     r, f"in [{bound(lo)}, {bound(hi)}]", lo <= r <= hi))
    spread = float(np.ptp(zero_vals))
    lim = t["zero_spread"]
    rows.append(("S(0,inf) at lambda=0: spread over sigma (independent of the scale)", spread, f"<= {bound(lim)}",
                 spread <= lim))
    for sigma, (lams, dist, _) in tab.items():
        mean = dist.mean(axis=0)
        cells = " ".join(f"{mean[np.isclose(lams, v)][0]:.3f}" for v in
                         [-100, -10, -3, -1, -0.3, 0, 0.3, 1, 3, 10, 100] if np.any(np.isclose(lams, v)))
        rows.append((f"table 2.6 row sigma={sigma:g} (lambda=-100..100): {cells}", float(mean.max()), "(reported)", True))
    dd = float(io.select(df, quantity="max_dev_distance")["value"].max())
    lim = t["curve_dev"]
    rows.append(("B: max |S_GD(0,t) - S_exact(0,t)|", dd, f"<= {bound(lim)}", dd <= lim))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """L4: S(0, inf) vs lambda (A), S(0, t) during training (B), NTK change x lambda^2 (C)."""
    plotting.apply_style()
    fig = plotting.figure(11.0, 3.4)
    tab = sweep_table(df)
    colours = {s: plotting.PALETTE[i] for i, s in enumerate(tab)}
    ax_a = fig.add_axes([0.06, 0.28, 0.27, 0.62])
    for sigma, (lams, dist, _) in tab.items():
        m, sd = dist.mean(axis=0), dist.std(axis=0)
        ax_a.plot(lams, m, color=colours[sigma], lw=1.3, label=f"$\\sigma$={sigma:g}")
        ax_a.fill_between(lams, np.maximum(m - sd, 0), m + sd, color=colours[sigma], alpha=0.07, lw=0)
    ax_a.set_xscale("symlog", linthresh=cfg["grid"]["linthresh"])
    lim = float(np.max(np.abs(lams)))
    ticks = [v for v in (-1000, -10, -cfg["grid"]["linthresh"], 0, cfg["grid"]["linthresh"], 10, 1000) if abs(v) <= lim]
    ax_a.set_xticks(ticks)
    ax_a.set_xticklabels([f"{v:g}" for v in ticks])
    ax_a.set_xlabel("$\\lambda$")
    ax_a.set_ylabel("kernel distance $S(0,\\infty)$")
    ax_a.set_title(f"mean $\\pm$ sd over {cfg['n_seeds']} seeds")
    ax_a.text(0.02, 0.97, "lazy", transform=ax_a.transAxes, va="top", fontsize=7, color="0.4")
    ax_a.text(0.98, 0.97, "lazy", transform=ax_a.transAxes, va="top", ha="right", fontsize=7, color="0.4")
    ax_a.text(0.5, 0.97, "rich", transform=ax_a.transAxes, va="top", ha="center", fontsize=7, color="0.4")
    ax_a.legend(frameon=False, loc="center left", fontsize=6)
    plotting.panel_label(ax_a, "A", dx=-0.17)

    ax_b = fig.add_axes([0.40, 0.28, 0.25, 0.62])
    c = cfg["curves"]
    for i, lam in enumerate(c["lambdas"]):
        cond = f"lambda={lam:g}"
        steps, sim = io.to_array(df, panel="B", condition=cond, quantity="kernel_distance", source="simulation")
        _, ex = io.to_array(df, panel="B", condition=cond, quantity="kernel_distance", source="exact")
        col = ["#cc79a7", "#56b4e9", "#e59c00", "#009e73", "#0071b2", "#d65c00"][i % 6]
        plotting.sim_exact(ax_b, np.maximum(steps, 1), sim, ex, color=col)
        ax_b.plot([], [], color=col, label=f"$\\lambda$={lam:g}")
    ax_b.set_xscale("log")
    ax_b.set_xlabel("training step")
    ax_b.set_ylabel("$S(0,t)$")
    ax_b.set_title(f"$\\sigma$={c['sigma']:g}, seed {c['seed']} ($\\pm\\lambda$ coincide)")
    ax_b.add_artist(ax_b.legend(frameon=False, fontsize=6, loc="upper left"))
    plotting.legend_sim_exact(ax_b, loc="center left", bbox_to_anchor=(0.0, 0.5))
    plotting.panel_label(ax_b, "B", dx=-0.2)

    ax_c = fig.add_axes([0.72, 0.28, 0.26, 0.62])
    for sigma, (lams, _, change) in tab.items():
        pos = lams > 0
        neg = lams < 0
        scaled = change.mean(axis=0) * lams ** 2
        ax_c.plot(lams[pos], scaled[pos], color=colours[sigma], lw=1.3, label=f"$\\sigma$={sigma:g}, $\\lambda>0$")
        ax_c.plot(-lams[neg], scaled[neg], color=colours[sigma], lw=0, marker=".", ms=3)
    ax_c.set_xscale("log")
    ax_c.set_yscale("log")
    ax_c.set_xlabel("$|\\lambda|$ (dots: $\\lambda<0$)")
    ax_c.set_ylabel("$\\lambda^2\\,|\\Theta_\\infty-\\Theta_0|/|\\Theta_0|$")
    ax_c.set_title("relative NTK change $\\propto 1/\\lambda^2$")
    plotting.panel_label(ax_c, "C", dx=-0.2)
    plotting.caption(fig, (
        f"{cfg['n_in']}-{cfg['n_hidden']}-{cfg['n_out']} network, random whitened regression (P={cfg['n_samples']}, Y ~ N(0,1)), "
        f"lambda-balanced init. (authors' recipe, scale sigma; per seed the same random numbers for every sigma and lambda). "
        "S from the exact NTK at t=0 and t=inf (spec 2.3a, 2.4, 2.6). The kernel distance as the rich/lazy measure is in the "
        "authors' code [C]; whether the paper's figure uses it, and its lambda grid / scales, were not recovered: the "
        "sigmas and table values are those of spec 2.6 (reconstruction)."))
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="c4", paper="paper_c", name="fig4", checks=checks, draw=draw,
    steps=(
        Step("c4_curves", compute_curves, "fig4_curves",
             keys=("seed0", "n_in", "n_hidden", "n_out", "n_samples", "curves.seed", "curves.sigma", "curves.lambdas",
                   "curves.learning_rate", "curves.n_steps", "curves.n_plot_points"),
             # 1.3 s of CPU at full scale (20 000 steps)
             mem_mb=500, minutes=lambda c, n: c_minutes(1.3 * c["curves"]["n_steps"] / 2e4)),
        Step("c4_sweep", compute_sweep, "fig4_sweep", batch="c4_sweep",
             keys=("seed0", "n_in", "n_hidden", "n_out", "n_samples", "sigmas", "n_seeds", "table_lambdas",
                   "grid.log_min", "grid.log_max", "grid.n_per_side"),
             mem_mb=500,
             # ~0.4 s of CPU per seed (4 sigmas x 63 lambdas at full scale), x3
             minutes=lambda c, n: sweep_minutes(c["n_seeds"], n,
                                                1.3 * len(c["sigmas"]) / 4 * c["grid"]["n_per_side"] / 26)),
    ),
)
