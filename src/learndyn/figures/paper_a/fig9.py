"""Paper A, Figure 9 (Appendix E): decoupling in 5x5 networks.

Spec ``exact-dynamics.md`` section 6 (Figure 9), 2.6 (Theorem 5.1), 4.3 (task-aligned initialisation),
5.7 (5x5 targets), 7 (checks), 9 (decision 5). Rows: dense / unequal diagonal / equal diagonal target;
columns: small / intermediate / large initial scale. A-C: entries of ``W2W1(t)`` (diagonal blue,
off-diagonal red); D-F: the same runs projected on the task's singular basis, ``M(t) = U~^T W2W1 V~``
(``= A^T A``). Simulation solid; with ``overlay`` (config) Theorem 5.1 dotted in D-F (the original shows
simulations only). Sum convention with ``X = I`` (spec 1.1): the whitened problem with ``sigma_yx = Y``.

Spec gaps decided here: (1) at eta = 0.01 the Theorem 5.1 overlay deviates from GD by O(eta) (spec 7 asserts
<= 0.4 only for sigma = 0.3, a draw-dependent number); following the spec's alternative, the pass/fail check
re-runs every initialisation at a small reference learning rate (config ``reference``; V6: 1e-4, 2e-5 for the
large init.) and requires <= 0.03 (config ``checks.reference_dev``); the eta = 0.01 deviations are reported.
(2) Spec 7 asks for the final ``W2W1`` within 1e-5 of the target, but the stopping rule ``l_code < 4.08e-12``
only bounds the column sums of ``E`` by ``sqrt(2 No^2 tol) = 1.4e-5`` (for ``diag(5, 1, 2, 3, 4)`` the slow
mode alone leaves ``|E_22| ~ 1.4e-5`` at the stop step), so the check uses 1e-4 (``checks.final_target_dev``).
"""

from __future__ import annotations

import numpy as np

from ... import aligned, init, io, metrics, plotting, simulate, tasks
from ..steps import Figure, Step

COLUMNS = ("small", "intermediate", "large")
PANELS_W = dict(zip(tasks.DECOUPLING_KINDS, ("A", "B", "C")))
PANELS_M = dict(zip(tasks.DECOUPLING_KINDS, ("D", "E", "F")))
#: Published run lengths in steps at eta = 0.01 (spec 6, Fig. 9, read off the SVGs).
PUBLISHED_STEPS = {"dense": (630, 270, 243), "unequal": (1204, 680, 508), "equal": (309, 185, 153)}
BLUE, RED = "#0071b2", "#d62728"


def compute(cfg: dict):
    """All nine runs in one batched GD call, each stopped at ``l_code < tol`` (spec 1.1); Theorem 5.1
    evaluated at every step; trajectories stored on ``n_plot_points`` linearly spaced steps."""
    targets = tasks.decoupling_targets(cfg["n"])
    eta = cfg["learning_rate"]
    items = [(kind, j) for kind in tasks.DECOUPLING_KINDS for j in range(len(COLUMNS))]
    ys, w1s, w2s, seeds = [], [], [], []
    for kind, j in items:
        seed = cfg["seed"] + 3 * tasks.DECOUPLING_KINDS.index(kind) + j
        w1, w2 = init.task_aligned(targets[kind], cfg["n_hidden"], cfg["sigmas"][j], np.random.default_rng(seed))
        ys.append(targets[kind]); w1s.append(w1); w2s.append(w2); seeds.append(seed)
    yb = np.stack(ys)
    run = simulate.gd_linear_until(np.stack(w1s), np.stack(w2s), yb, eta, cfg["max_steps"],
                                   lambda w: metrics.code_loss(w, yb) < cfg["tol"], chunk=cfg["max_steps"],
                                   keep=("W2W1",))
    frames = [io.records(targets[k], quantity="target", source="target", figure="a9", condition=k)
              for k in tasks.DECOUPLING_KINDS]
    ref = _reference_deviation(cfg, ys, w1s, w2s)
    for i, (kind, j) in enumerate(items):
        u, s, v = aligned.task_svd(ys[i])
        stop = int(run.stop[i]) if run.stop[i] >= 0 else run.n_steps
        steps = np.arange(stop + 1)
        w = run.keep["W2W1"][: stop + 1, i]
        m_sim = aligned.project(w, u, v)
        m_ex = aligned.m_of_t(m_sim[0], s, steps * eta)
        meta = dict(figure="a9", condition=COLUMNS[j], seed=seeds[i], learning_rate=eta)
        summary = {"sigma": cfg["sigmas"][j], "stop_step": stop, "converged": float(run.stop[i] >= 0),
                   "final_dev_target": np.max(np.abs(w[-1] - ys[i])),
                   "max_dev_thm51": np.max(np.abs(m_sim - m_ex)), "max_abs_M": np.max(np.abs(m_sim)),
                   "ref_max_dev_thm51": ref[i], "ref_learning_rate": cfg["reference"]["learning_rates"][j]}
        for name, val in summary.items():
            frames.append(io.records(val, quantity=name, source="summary", panel=PANELS_M[kind], **meta))
        keep = np.unique(np.round(np.linspace(0, stop, cfg["n_plot_points"])).astype(np.int64))
        frames.append(io.records(w[keep], quantity="W2W1", source="simulation", steps=keep, panel=PANELS_W[kind],
                                 **meta))
        frames.append(io.records(m_sim[keep], quantity="M", source="simulation", steps=keep, panel=PANELS_M[kind],
                                 **meta))
        frames.append(io.records(m_ex[keep], quantity="M", source="exact", steps=keep, panel=PANELS_M[kind], **meta))
    return io.concat(frames)


def _reference_deviation(cfg: dict, ys: list, w1s: list, w2s: list) -> np.ndarray:
    """Max over every step ``t <= t_max`` of ``|M_sim - M_Thm5.1|`` for each run, re-simulated from the same
    initial weights at the small reference learning rate of its column (spec 7 Fig. 9 / V6: the O(eta) gap
    of the eta = 0.01 runs closes). Returns ``(n_runs,)``."""
    c = cfg["reference"]
    etas = np.array([c["learning_rates"][j] for _ in tasks.DECOUPLING_KINDS for j in range(len(COLUMNS))])
    out = np.empty(len(ys))
    for eta in np.unique(etas):
        idx = np.flatnonzero(etas == eta)
        n = int(round(c["t_max"] / eta))
        steps = np.arange(n + 1)
        tr = simulate.gd_linear(np.stack([w1s[i] for i in idx]), np.stack([w2s[i] for i in idx]),
                                np.stack([ys[i] for i in idx]), eta, n, record_steps=steps, record=("W2W1",))
        for b, i in enumerate(idx):
            u, s, v = aligned.task_svd(ys[i])
            m_sim = aligned.project(tr.records["W2W1"][:, b], u, v)
            out[i] = np.max(np.abs(m_sim - aligned.m_of_t(m_sim[0], s, steps * eta)))
    return out


def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 9 (thresholds: ``cfg["checks"]``)."""
    t = cfg["checks"]
    rows = []
    for kind in tasks.DECOUPLING_KINDS:
        panel = PANELS_M[kind]
        for j, col in enumerate(COLUMNS):
            g = lambda q: io.scalar(df, panel=panel, condition=col, quantity=q)  # noqa: E731
            name = f"{PANELS_W[kind]}/{panel} ({kind}, {col}, sigma={cfg['sigmas'][j]:g})"
            rows.append((f"{name}: reached l_code < {cfg['tol']:g}", g("converged"), "== 1", g("converged") == 1))
            # spec 7 says 1e-5, but l_code < tol only bounds the column sums of E = Y - W2W1 by sqrt(2 No^2 tol)
            # (1.4e-5 here), so at the stop step an entry of E can exceed 1e-5 (see the module docstring)
            rows.append((f"{name}: max |W2W1 - Y| at the stop step", g("final_dev_target"),
                         f"<= {t['final_target_dev']:g}", g("final_dev_target") <= t["final_target_dev"]))
            pub = PUBLISHED_STEPS[kind][j]
            rel = abs(g("stop_step") - pub) / pub
            rows.append((f"{name}: run length {g('stop_step'):.0f} vs published {pub} steps, relative difference", rel,
                         f"<= {t['run_length_rel']:g}", rel <= t["run_length_rel"]))
            d = g("max_dev_thm51")
            rows.append((f"{name}: max |M_sim - M_Thm5.1| over the run at eta={cfg['learning_rate']:g} (max |M| = "
                         f"{g('max_abs_M'):.3g}; O(eta) discretisation error)", d, "(reported)", True))
            d = g("ref_max_dev_thm51")
            rows.append((f"{name}: max |M_sim - M_Thm5.1| for t <= {cfg['reference']['t_max']:g}, same init. re-run at "
                         f"eta={g('ref_learning_rate'):g}", d, f"<= {t['reference_dev']:g}", d <= t["reference_dev"]))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Figure 9: 6 x 3 grid, rows A-C (``W2W1``) then D-F (``M = A^T A``), columns small/intermediate/large."""
    plotting.apply_style()
    fig = plotting.figure(9.0, 12.5)
    gs = fig.add_gridspec(6, 3, left=0.08, right=0.98, top=0.96, bottom=0.105, hspace=0.55, wspace=0.25)
    n = cfg["n"]
    diag = np.eye(n, dtype=bool)
    for r, (quantity, panels) in enumerate((("W2W1", PANELS_W), ("M", PANELS_M))):
        for k, kind in enumerate(tasks.DECOUPLING_KINDS):
            panel = panels[kind]
            for j, col in enumerate(COLUMNS):
                ax = fig.add_subplot(gs[3 * r + k, j])
                sel = dict(panel=panel, condition=col, quantity=quantity)
                steps, sim = io.to_array(df, source="simulation", **sel)
                ex = None
                if quantity == "M" and cfg["draw"]["overlay"]:
                    ex = io.to_array(df, source="exact", **sel)[1]
                plotting.sim_exact(ax, steps, sim[:, ~diag], None if ex is None else ex[:, ~diag], color=RED, lw=1.0)
                plotting.sim_exact(ax, steps, sim[:, diag], None if ex is None else ex[:, diag], color=BLUE)
                ax.set_xlim(0, steps[-1])
                if k == 2:
                    ax.set_xlabel("training step")
                if j == 0:
                    ax.set_ylabel("$W_2W_1(t)$" if quantity == "W2W1" else "$A^TA(t)$")
                    plotting.panel_label(ax, panel, dx=-0.3)
                ax.set_title(f"{kind}, {col} init. ($\\sigma$={cfg['sigmas'][j]:g})", fontsize=7)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=BLUE, label="diagonal"), Line2D([], [], color=RED, label="off-diagonal")]
    if cfg["draw"]["overlay"]:
        handles.append(Line2D([], [], **plotting.EXACT_STYLE, label="Theorem 5.1 (D-F)"))
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 0.04))
    overlay = ("Dotted (D-F): Theorem 5.1 from the same initial weights, drawn here although the original shows "
               "simulations only (config paper_a.fig9.draw.overlay); its visible gaps at this eta are GD's O(eta) "
               "discretisation error (largest for the large init. and the long dense small-init. run); the checks "
               f"compare Theorem 5.1 with re-runs of the same initial weights at eta = "
               f"{', '.join(f'{e:g}' for e in cfg['reference']['learning_rates'])} (t <= {cfg['reference']['t_max']:g}). "
               if cfg["draw"]["overlay"] else "")
    plotting.caption(fig, (
        f"{n}x{n}x{n} networks (X = I, sum convention = whitened problem with sigma_yx = Y), task-aligned init. "
        f"sigma = {', '.join(f'{s:g}' for s in cfg['sigmas'])} (the authors' code; the caption says 0.1 for the "
        f"intermediate one, whose published run lengths match 0.3), eta={cfg['learning_rate']:g}, each run "
        f"stopped at l_code < {cfg['tol']:g}. Targets: dense (spec 5.7), diag(5,1,2,3,4), 5 I. A-C: entries of "
        f"W2W1(t); D-F: M(t) = U~^T W2W1(t) V~ in the task's singular basis (= A^T A); diagonal entries blue, "
        f"off-diagonal red, simulation solid. " + overlay))
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="a9", paper="paper_a", name="fig9", checks=checks, draw=draw,
    steps=(
        Step("a9_compute", compute, "fig9",
             keys=("seed", "n", "n_hidden", "sigmas", "learning_rate", "tol", "max_steps", "n_plot_points",
                   "reference.learning_rates", "reference.t_max"),
             mem_mb=500, minutes=5),
    ),
)
