"""Paper C, figure group L3: one task-aligned mode, from sigmoidal (rich) to exponential (lazy) learning.

Spec ``lambda-balanced.md`` section 2.7 [D] and section 4 (L3), check 8. A single mode with task singular
value ``s`` and strength ``a = c d`` (first-layer ``c``, second-layer ``d``, ``d^2 - c^2 = lambda``) obeys
``tau da/dt = sqrt(lambda^2 + 4 a^2)(s - a)``; simulated as a 1-1-1 linear network (which *is* one aligned
mode) by gradient descent, against the closed form :func:`learndyn.lambda_balanced.mode_strength`.
A: ``a(t)/s`` for ``lambda/s`` in {0, +-1/4, +-1/2, +-1, +-4, +-16}, ``a0 = 1e-3``; B: time to half-learning vs
lambda; C: largest acceleration ``max_t d^2a/dt^2`` measured on the closed-form trajectory, which vanishes
for ``|lambda| >= s/sqrt(2)`` (the sigmoidal -> exponential threshold).
Panels B and C are the spec's optional/derived additions; the paper's own panel (if any) was not recovered.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ... import aligned, io, plotting, simulate
from ... import lambda_balanced as lb
from ..steps import Figure, Step, sweep_minutes
from ._common import bound, c_minutes

FIG = "c3"


def _ode_a(a0: float, s: float, lam: float, times: np.ndarray, rtol: float) -> np.ndarray:
    """``a(t) = c(t) d(t)`` from a DOP853 integration of the 1-1-1 network's gradient flow (spec 1.1)."""
    c0, d0 = lb.mode_layers(a0, lam)

    def rhs(_, y):
        r = s - y[0] * y[1]
        return [y[1] * r, y[0] * r]

    sol = solve_ivp(rhs, (0.0, float(times[-1])), [float(c0), float(d0)], method="DOP853", rtol=rtol,
                    atol=rtol * 1e-3, t_eval=times)
    if not sol.success:
        raise RuntimeError(sol.message)
    return sol.y[0] * sol.y[1]


def _half_time_sim(t: np.ndarray, a: np.ndarray, target: float) -> float:
    """First time at which a sampled trajectory reaches ``target`` (linear interpolation)."""
    k = int(np.argmax(a >= target))
    if a[k] < target or k == 0:
        return np.nan
    return float(t[k - 1] + (target - a[k - 1]) * (t[k] - t[k - 1]) / (a[k] - a[k - 1]))


def compute_modes(cfg: dict):
    """Panel A (and the markers of B): GD on a batch of 1-1-1 networks, one per lambda, with the closed form
    and an ODE reference. ``cfg``: the ``paper_c.fig3`` config section."""
    s, a0, eta = cfg["s"], cfg["a0"], cfg["learning_rate"]
    lams = np.asarray(cfg["lambda_ratios"], dtype=float) * s
    n_steps = int(round(cfg["t_max"] / s / eta))
    c0, d0 = lb.mode_layers(np.full(len(lams), a0), lams)
    keep = np.unique(np.round(np.linspace(0, n_steps, cfg["n_plot_points"])).astype(int))
    every = np.arange(n_steps + 1)
    tr = simulate.gd_linear(c0[:, None, None], d0[:, None, None], np.array([[s]]), eta, n_steps, record_steps=every,
                            record=("W2W1",))
    sim_all = tr.records["W2W1"][:, :, 0, 0]                                # (K+1, B), every step
    cf_all = lb.mode_strength(a0, s, lams, every * eta).T
    sim, cf = sim_all[keep], cf_all[keep]
    t = keep * eta
    frames = []
    for j, lam in enumerate(lams):
        meta = dict(figure=FIG, panel="A", condition=f"lambda={lam:g}", learning_rate=eta)
        frames.append(io.records(sim[:, j] / s, quantity="a_over_s", source="simulation", steps=keep, **meta))
        frames.append(io.records(cf[:, j] / s, quantity="a_over_s", source="exact", steps=keep, **meta))
        ode = _ode_a(a0, s, lam, t, cfg["ode_rtol"])
        t_half = float(lb.mode_time(a0, 0.5 * s, s, lam))
        summary = {
            "lambda": lam,
            "max_dev_gd": np.max(np.abs(sim_all[:, j] - cf_all[:, j])),
            "max_dev_ode": np.max(np.abs(ode - cf[:, j])),
            "t_half_exact": t_half,
            "t_half_sim": _half_time_sim(every * eta, sim_all[:, j], 0.5 * s),
        }
        if lam == 0:
            summary["max_dev_saxe"] = np.max(np.abs(cf[:, j] - aligned.sigmoid_mode(a0, s, t)))
        for name, val in summary.items():
            frames.append(io.records(val, quantity=name, source="summary", **meta))
    return io.concat(frames)


def sweep_lambdas(cfg: dict) -> np.ndarray:
    """The lambda grid of panels B/C: a fine linear part, log-spaced tails, and the check points
    ``+-0.98, +-1.02`` times the threshold ``s/sqrt(2)`` (spec check 8)."""
    s = cfg["s"]
    sw = cfg["sweep"]
    lin = np.linspace(-sw["linear_max"], sw["linear_max"], sw["n_linear"])
    tail = np.geomspace(sw["linear_max"], sw["log_max"], sw["n_log"])[1:]
    thr = float(lb.sigmoid_threshold(1.0))
    probes = np.array(cfg["threshold_margins"]) * thr
    ratios = np.unique(np.concatenate([lin, tail, -tail, probes, -probes, [0.0]]))
    return ratios * s


def compute_sweep(cfg: dict, batch: int = 0, n_batches: int = 1):
    """Panels B/C: for lambdas ``batch::n_batches`` of :func:`sweep_lambdas`, the closed-form half-learning time,
    the largest acceleration measured by finite differences on the closed-form trajectory, the threshold
    formula's verdict and the deviation from an ODE solution."""
    s, a0 = cfg["s"], cfg["a0"]
    lams = sweep_lambdas(cfg)
    n_fd = cfg["sweep"]["n_fd_points"]
    frames = []
    for i in range(batch, len(lams), n_batches):
        lam = float(lams[i])
        t_end = 1.2 * float(lb.mode_time(a0, 0.999 * s, s, lam))
        t = np.linspace(0.0, t_end, n_fd)
        a = lb.mode_strength(a0, s, lam, t)
        acc = np.gradient(np.gradient(a, t), t)
        t_ode = np.linspace(0.0, t_end, 50)
        meta = dict(figure=FIG, panel="B", condition=f"lambda={lam:g}", seed=i)
        summary = {
            "lambda": lam,
            "t_half_exact": float(lb.mode_time(a0, 0.5 * s, s, lam)),
            "max_acceleration": float(np.max(acc[2:-2])) / s ** 3,
            "formula_accelerating": float(lb.has_accelerating_phase(a0, s, lam)),
            "max_dev_ode": float(np.max(np.abs(_ode_a(a0, s, lam, t_ode, cfg["ode_rtol"])
                                               - lb.mode_strength(a0, s, lam, t_ode)))),
        }
        for name, val in summary.items():
            frames.append(io.records(val, quantity=name, source="summary", **meta))
    return io.concat(frames)


def _sweep_table(df):
    sub = io.select(df, figure=FIG, panel="B", source="summary")
    tab = sub.pivot(index="seed", columns="quantity", values="value").sort_values("lambda")
    return tab


def checks(df, cfg: dict):
    """Acceptance check 8 of spec section 5 (single mode), plus GD vs closed form (thresholds: ``cfg["checks"]``)."""
    s, t = cfg["s"], cfg["checks"]
    rows = []
    modes = io.select(df, panel="A", source="summary")
    dev_ode = max(float(modes.loc[modes.quantity == "max_dev_ode", "value"].max()),
                  float(_sweep_table(df)["max_dev_ode"].max()))
    lim = t["ode_dev"]
    rows.append((f"closed form vs DOP853 (rtol {cfg['ode_rtol']:g}), every lambda", dev_ode, f"<= {bound(lim)}",
                 dev_ode <= lim))
    saxe = io.scalar(df, panel="A", condition="lambda=0", quantity="max_dev_saxe")
    lim = t["saxe_dev"]
    rows.append(("lambda=0: max |a(t) - Saxe logistic| (learndyn.aligned.sigmoid_mode)", saxe, f"<= {bound(lim)}",
                 saxe <= lim))
    dev_gd = float(modes.loc[modes.quantity == "max_dev_gd", "value"].max())
    lim = t["gd_dev"]
    rows.append((f"max |a_GD - a_exact| over all lambda (eta={cfg['learning_rate']:g})", dev_gd, f"<= {bound(lim)}",
                 dev_gd <= lim))
    th = io.select(modes, quantity="t_half_sim")["value"].to_numpy()
    te = io.select(modes, quantity="t_half_exact")["value"].to_numpy()
    dt = float(np.max(np.abs(th - te)))
    n_eta = t["t_half_steps"]
    lim = n_eta * cfg["learning_rate"]
    rows.append(("max |t_half(GD) - t_half(closed form)|", dt, f"<= {lim:g} ({bound(n_eta)} eta)", dt <= lim))
    tab = _sweep_table(df)
    thr = float(lb.sigmoid_threshold(s))
    numeric = tab["max_acceleration"].to_numpy() > t["acceleration_tol"]
    for m in cfg["threshold_margins"]:
        for sign in (1, -1):
            lam = sign * m * thr
            row = tab.iloc[int(np.argmin(np.abs(tab["lambda"].to_numpy() - lam)))]
            present = bool(row["max_acceleration"] > t["acceleration_tol"])
            want = m < 1
            rows.append((f"lambda = {sign * m:g} s/sqrt(2): accelerating segment measured on a(t) "
                         f"(max a''/s^3 = {row['max_acceleration']:.3g})", float(present),
                         f"== {int(want)}", present == want))
    mism = int(np.sum(numeric != (tab["formula_accelerating"].to_numpy() > 0.5)))
    rows.append((f"sweep ({len(tab)} lambdas): measured accelerating segment != threshold formula", mism, "== 0",
                 mism == 0))
    big = tab.iloc[int(np.argmax(np.abs(tab["lambda"].to_numpy())))]
    k = np.sqrt(big["lambda"] ** 2 + 4 * s * s)
    rows.append((f"lambda={big['lambda']:g}: t_half * sqrt(lambda^2 + 4 s^2) (-> ln 2 = 0.693 as |lambda| -> inf)",
                 float(big["t_half_exact"] * k), "(reported)", True))
    t0 = float(tab.loc[np.isclose(tab["lambda"], 0.0), "t_half_exact"].iloc[0])
    rows.append(("lambda=0: t_half (spec 2.7: 3.453 for a0=1e-3, s=1)", t0, "(reported)", True))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """L3: mode trajectories (A), half-learning time (B), largest acceleration (C) vs lambda."""
    s = cfg["s"]
    plotting.apply_style()
    fig = plotting.figure(11.0, 3.3)
    ax_a = fig.add_axes([0.06, 0.27, 0.27, 0.63])
    ratios = cfg["lambda_ratios"]
    mags = sorted({abs(r) for r in ratios})
    cmap = plotting.plt.get_cmap("viridis")
    colour = {m: cmap(i / max(1, len(mags) - 1)) for i, m in enumerate(mags)}
    for r in ratios:
        lam = r * s
        cond = f"lambda={lam:g}"
        steps, sim = io.to_array(df, panel="A", condition=cond, quantity="a_over_s", source="simulation")
        _, ex = io.to_array(df, panel="A", condition=cond, quantity="a_over_s", source="exact")
        t = steps * cfg["learning_rate"] * s
        ax_a.plot(t, sim, color=colour[abs(r)], lw=1.4, ls="-" if r >= 0 else "--")
        ax_a.plot(t, ex, **plotting.EXACT_STYLE)
    for m in mags:
        ax_a.plot([], [], color=colour[m], label=f"$|\\lambda|/\\tilde s$={m:g}")
    ax_a.plot([], [], color="0.4", ls="--", label="$\\lambda<0$ (dashed)")
    ax_a.plot([], [], **plotting.EXACT_STYLE, label="exact")
    ax_a.legend(frameon=False, fontsize=6, loc="lower right")
    ax_a.set_xlabel("time $t\\,\\tilde s/\\tau$")
    ax_a.set_ylabel("mode strength $a(t)/\\tilde s$")
    ax_a.set_title(f"one aligned mode, $a_0$={cfg['a0']:g}")
    plotting.panel_label(ax_a, "A", dx=-0.16)

    tab = _sweep_table(df)
    lam = tab["lambda"].to_numpy() / s
    thr = 1 / np.sqrt(2)
    ax_b = fig.add_axes([0.41, 0.27, 0.25, 0.63])
    ax_b.plot(lam, tab["t_half_exact"].to_numpy() * s, color="k", lw=1.0, label="closed form")
    modes = io.select(df, panel="A", source="summary").pivot(index="condition", columns="quantity", values="value")
    ax_b.plot(modes["lambda"] / s, modes["t_half_sim"] * s, "o", ms=4, mfc="none", color=plotting.PALETTE[1],
              label="gradient descent (A)")
    grid = np.linspace(lam.min(), lam.max(), 400)
    ax_b.plot(grid, np.log(2) / np.sqrt(grid ** 2 + 4), color="0.5", ls="--", lw=0.8,
              label="$\\ln 2/\\sqrt{\\lambda^2+4\\tilde s^2}$")
    ax_b.set_xscale("symlog", linthresh=1.0)
    ax_b.set_yscale("log")
    ax_b.set_xlabel("$\\lambda/\\tilde s$")
    ax_b.set_ylabel("half-learning time $t_{1/2}\\,\\tilde s/\\tau$")
    ax_b.legend(frameon=False, fontsize=6)
    plotting.panel_label(ax_b, "B", dx=-0.2)

    ax_c = fig.add_axes([0.73, 0.27, 0.25, 0.63])
    acc = tab["max_acceleration"].to_numpy()
    sel = np.abs(lam) <= cfg["sweep"]["linear_max"]
    ax_c.plot(lam[sel], acc[sel], color="k", lw=1.0, label="measured on $a(t)$")
    form = tab["formula_accelerating"].to_numpy()[sel] > 0.5
    ax_c.plot(lam[sel][form], np.zeros(form.sum()), "|", color=plotting.PALETTE[2], ms=6,
              label="formula: sigmoidal")
    for x in (-thr, thr):
        ax_c.axvline(x, color="0.5", ls="--", lw=0.8)
    ax_c.axhline(0, color="0.7", lw=0.6)
    ax_c.text(thr, ax_c.get_ylim()[1] * 0.9, " $\\tilde s/\\sqrt{2}$", fontsize=7, color="0.4")
    ax_c.set_xlabel("$\\lambda/\\tilde s$")
    ax_c.set_ylabel("$\\max_t\\, \\ddot a / \\tilde s^3$")
    ax_c.set_title("sigmoidal iff $|\\lambda| < \\tilde s/\\sqrt{2}$")
    ax_c.legend(frameon=False, fontsize=6, loc="upper left")
    plotting.panel_label(ax_c, "C", dx=-0.2)
    plotting.caption(fig, (
        f"Single task-aligned mode (spec 2.7 [D]), s={s:g}, a0={cfg['a0']:g}: a 1-1-1 linear network trained by GD "
        f"(eta={cfg['learning_rate']:g}; solid lambda >= 0, dashed lambda < 0) and the closed form (dotted). B: time to reach "
        "a = s/2 (closed form line; GD circles); C: largest second derivative of a(t), computed by finite differences on "
        "the closed-form trajectory; ticks = lambdas where the threshold formula predicts a sigmoidal phase. "
        "Lambda values from spec L3; panels B and C are reconstructions (derived, not recovered from the paper)."))
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="c3", paper="paper_c", name="fig3", checks=checks, draw=draw,
    steps=(
        Step("c3_modes", compute_modes, "fig3_modes",
             keys=("s", "a0", "lambda_ratios", "t_max", "learning_rate", "n_plot_points", "ode_rtol"),
             # 1.5 s of CPU at full scale (8000 steps)
             mem_mb=500, minutes=lambda c, n: c_minutes(1.5 * c["t_max"] / c["s"] / c["learning_rate"] / 8000)),
        Step("c3_sweep", compute_sweep, "fig3_sweep", batch="c3_sweep",
             keys=("s", "a0", "ode_rtol", "threshold_margins", "sweep.linear_max", "sweep.n_linear", "sweep.log_max",
                   "sweep.n_log", "sweep.n_fd_points"),
             mem_mb=500,
             # ~0.03 s of CPU per lambda (187 lambdas at full scale), x3
             minutes=lambda c, n: sweep_minutes(2 * c["sweep"]["n_linear"] + 4 * c["sweep"]["n_log"], n,
                                                0.1 * c["sweep"]["n_fd_points"] / 20001)),
    ),
)
