"""Paper A, Figure 4: decoupling dynamics.

Spec ``exact-dynamics.md`` section 6 (Figure 4), 2.6-2.7 (Theorem 5.1, explicit 2x2 solution, peak time),
4.3 (task-aligned initialisation), 5.7 (targets), 7 (checks), 9 (decisions 2, 3, 4, 14). Panels:
A: ``W2W1(t)`` of a 5x5 network on ``diag(5, 1, 2, 3, 4)`` (diagonal blue, off-diagonal red), gradient
descent solid, Theorem 5.1 dotted. B: schematic of the decoupling process, drawn from the row-F
intermediate run's ``M`` at three times. C: the three 2x2 targets. D-F (rows dense / unequal diagonal /
equal diagonal; columns small / intermediate / large init): ``M(t) = U~^T W2W1(t) V~ = A^T A(t)``,
simulation solid, explicit 2x2 solution dotted, simulated extremum of the cross coupling (pink) and the
exact peak time ``t*`` (green, row F). All networks use the sum convention with ``X = I`` (spec 1.1), i.e.
the whitened problem with ``sigma_yx = Y``, ``t = k * eta``.
"""

from __future__ import annotations

import numpy as np

from ... import aligned, init, io, metrics, plotting, simulate, tasks
from ..steps import Figure, Step

ROWS = dict(zip(tasks.DECOUPLING_KINDS, ("D", "E", "F")))          # target kind -> panel
COLUMNS = ("small", "intermediate", "large")
#: Published run lengths in steps at eta = 1e-4 (spec 6, Fig. 4, read off the SVGs).
PUBLISHED_STEPS = {"dense": (370_580, 106_068, 42_483), "unequal": (210_229, 67_819, 48_754),
                   "equal": (44_364, 14_941, 10_903)}
PUBLISHED_ETA = 1e-4
BLUE, RED, PINK, GREEN = "#0071b2", "#d62728", "#e377c2", "#2ca02c"


def runs(cfg: dict) -> list[tuple[str, int]]:
    """The nine (target kind, column index) runs of panels D-F, column-major, so that
    ``range(batch, 9, 3)`` is one target per batch."""
    return [(kind, j) for j in range(len(COLUMNS)) for kind in tasks.DECOUPLING_KINDS]


def _targets(c: dict) -> dict[str, np.ndarray]:
    return tasks.decoupling_targets(2, c["dense_target"])


# --------------------------------------------------------------------------- panel A
def compute_a(cfg: dict):
    """Panel A: 5x5 network, task-aligned init, every step simulated and evaluated by Theorem 5.1."""
    c = cfg["a"]
    rng = np.random.default_rng(c["seed"])
    y = tasks.decoupling_targets(c["n"])[c["target"]]
    u, s, v = aligned.task_svd(y)
    w1, w2 = init.task_aligned(y, c["n_hidden"], c["sigma"], rng)
    eta, n_steps = c["learning_rate"], c["n_steps"]
    steps = np.arange(n_steps + 1)
    tr = simulate.gd_linear(w1, w2, y, eta, n_steps, record_steps=steps, record=("W2W1",))
    m0 = aligned.project(w2 @ w1, u, v)
    m_ex = aligned.m_of_t(m0, s, steps * eta)
    m_sim = aligned.project(tr.records["W2W1"], u, v)
    meta = dict(figure="a4", panel="A", condition=f"sigma={c['sigma']:g}", seed=c["seed"], learning_rate=eta)
    frames = [io.records(y, quantity="target", source="target", figure="a4", panel="A"),
              io.records(tr.records["W2W1"], quantity="W2W1", source="simulation", steps=steps, **meta),
              io.records(aligned.unproject(m_ex, u, v), quantity="W2W1", source="exact", steps=steps, **meta),
              io.records(np.max(np.abs(m_sim - m_ex)), quantity="max_dev_M", source="summary", **meta),
              io.records(np.max(np.abs(tr.records["W2W1"] - aligned.unproject(m_ex, u, v))), quantity="max_dev_W",
                         source="summary", **meta)]
    return io.concat(frames)


# --------------------------------------------------------------------------- panels B-F
def _extremum(b: np.ndarray) -> int:
    """Step index of the extremum of the cross coupling: argmax of ``|b|`` over every step."""
    return int(np.argmax(np.abs(b)))


def compute_runs(cfg: dict, batch: int = 0, n_batches: int = 1):
    """Panels B-F: the runs ``batch, batch + n_batches, ...`` of :func:`runs`, batched in one GD call
    that stops when every member has reached ``l_code < tol`` (spec 1.1, 6). Deviations, extremum and
    stop step use every step; the trajectories are stored on ``n_plot_points`` linearly spaced steps."""
    c = cfg["runs"]
    targets = _targets(c)
    mine = runs(cfg)[batch::n_batches]
    eta, tol = c["learning_rate"], c["tol"]
    ys, w1s, w2s, bases, seeds = [], [], [], [], []
    for kind, j in mine:
        seed = c["seed"] + 3 * tasks.DECOUPLING_KINDS.index(kind) + j
        y = targets[kind]
        w1, w2 = init.task_aligned(y, c["n_hidden"], c["sigmas"][j], np.random.default_rng(seed))
        ys.append(y); w1s.append(w1); w2s.append(w2); bases.append(aligned.task_svd(y)); seeds.append(seed)
    yb = np.stack(ys)
    run = simulate.gd_linear_until(np.stack(w1s), np.stack(w2s), yb, eta, c["max_steps"],
                                   lambda w: metrics.code_loss(w, yb) < tol, chunk=c["chunk"], keep=("W2W1",))
    frames = []
    if batch == 0:
        frames += [io.records(targets[k], quantity="target", source="target", figure="a4", panel="C", condition=k)
                   for k in tasks.DECOUPLING_KINDS]
    for i, (kind, j) in enumerate(mine):
        u, s, v = bases[i]
        stop = int(run.stop[i]) if run.stop[i] >= 0 else run.n_steps
        steps = np.arange(stop + 1)
        t = steps * eta
        m_sim = aligned.project(run.keep["W2W1"][: stop + 1, i], u, v)
        m0 = m_sim[0]
        a1, a2, b0 = m0[0, 0], m0[1, 1], m0[0, 1]
        m_ex = aligned.m_2x2(a1, a2, b0, s[0], s[1], t)
        m_51 = aligned.m_of_t(m0, s, t)
        bsim = m_sim[:, 0, 1]
        k_ext = _extremum(bsim)
        meta = dict(figure="a4", panel=ROWS[kind], condition=COLUMNS[j], seed=seeds[i], learning_rate=eta)
        summary = {
            "sigma": c["sigmas"][j], "a1_0": a1, "a2_0": a2, "b_0": b0, "s1": s[0], "s2": s[1],
            "stop_step": stop, "converged": float(run.stop[i] >= 0),
            "max_dev_2x2": np.max(np.abs(m_sim - m_ex)), "max_abs_M": np.max(np.abs(m_sim)),
            "max_dev_2x2_thm51": np.max(np.abs(m_ex - m_51)),
            "ext_step": k_ext, "ext_value": bsim[k_ext],
            "ext_interior": float(0 < k_ext < stop),
            "abs_b_monotone": float(np.all(np.diff(np.abs(bsim)) <= 0.0)),
            "max_abs_b_increase": float(np.max(np.diff(np.abs(bsim)), initial=0.0)),
        }
        if kind == "equal":
            summary.update(t_star=aligned.peak_time(a1, a2, b0, s[0]),
                           t_star_code=aligned.peak_time_code(a1, a2, b0, s[0]),
                           b_peak=aligned.peak_value(a1, a2, b0, s[0]),
                           b_peak_small_init=aligned.peak_value_small_init(a1, a2, b0, s[0]),
                           t_half=aligned.half_time(0.5 * (a1 + a2), s[0]))
        for name, val in summary.items():
            frames.append(io.records(val, quantity=name, source="summary", **meta))
        keep = np.unique(np.concatenate([np.round(np.linspace(0, stop, c["n_plot_points"])).astype(np.int64),
                                         [k_ext]]))
        frames.append(io.records(m_sim[keep], quantity="M", source="simulation", steps=keep, **meta))
        frames.append(io.records(m_ex[keep], quantity="M", source="exact", steps=keep, **meta))
        if kind == "equal" and COLUMNS[j] == "intermediate":          # panel B: the decoupling cartoon
            snaps = np.array([0, k_ext, stop])
            frames.append(io.records(m_sim[snaps], quantity="M", source="simulation", steps=snaps,
                                     **dict(meta, panel="B")))
    return io.concat(frames)


# --------------------------------------------------------------------------- checks
def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 4 (thresholds: ``cfg["checks"]``; the 2x2 deviation thresholds
    are stated at eta = ``checks.reference_eta`` and scale with eta, since GD deviates from gradient flow by O(eta);
    run lengths compared in units of tau)."""
    ca, c, t = cfg["a"], cfg["runs"], cfg["checks"]
    rows = []
    dev = io.scalar(df, panel="A", quantity="max_dev_M")
    rows.append((f"A (5x5, sigma={ca['sigma']:g}, eta={ca['learning_rate']:g}): max |M_sim - M_Thm5.1| over all steps",
                 dev, f"<= {t['a_dev']:g}", dev <= t["a_dev"]))
    scale = c["learning_rate"] / t["reference_eta"]
    for kind, j in runs(cfg):
        panel, col = ROWS[kind], COLUMNS[j]
        g = lambda q: io.scalar(df, panel=panel, condition=col, quantity=q)  # noqa: E731
        name = f"{panel} ({kind}, {col}, sigma={c['sigmas'][j]:g})"
        lim = (t["dev_2x2_small"] if j < 2 else t["dev_2x2_large"]) * scale
        d = g("max_dev_2x2")
        rows.append((f"{name}: max |M_sim - M_2x2| over all steps (max |M| = {g('max_abs_M'):.3g})", d,
                     f"<= {lim:g}", d <= lim))
        d51 = g("max_dev_2x2_thm51")
        rows.append((f"{name}: max |M_2x2 - M_Thm5.1| (explicit vs matrix form)", d51,
                     f"<= {t['thm51_rel_dev']:g} * max|M|", d51 <= t["thm51_rel_dev"] * max(1.0, g("max_abs_M"))))
        rows.append((f"{name}: reached l_code < {c['tol']:g}", g("converged"), "== 1", g("converged") == 1))
        t_run = g("stop_step") * c["learning_rate"]
        t_pub = PUBLISHED_STEPS[kind][j] * PUBLISHED_ETA
        rel = _rel(t_run, t_pub)
        checked = (kind != "dense" and j < 2) or (kind == "dense" and j == 0)
        rows.append((f"{name}: run length {g('stop_step'):.0f} steps (t = {t_run:.4g}) vs published "
                     f"{PUBLISHED_STEPS[kind][j]} steps at eta=1e-4 (t = {t_pub:.4g}), relative difference", rel,
                     f"<= {t['run_length_rel']:g}" if checked else "(reported)",
                     rel <= t["run_length_rel"] if checked else True))
    # row F: peak time and value of the cross coupling
    for j in (0, 1):
        col = COLUMNS[j]
        g = lambda q: io.scalar(df, panel="F", condition=col, quantity=q)  # noqa: E731
        t_sim = g("ext_step") * c["learning_rate"]
        rel = _rel(t_sim, g("t_star"))
        rows.append((f"F ({col}): |t*_exact - argmax_t |b_sim|| / t*_exact (t* = {g('t_star'):.5g}, sim {t_sim:.5g})",
                     rel, f"<= {t['peak_time_rel']:g}", rel <= t["peak_time_rel"]))
        rows.append((f"F ({col}): the code's approximate t* (t_bumps) = {g('t_star_code'):.5g}, relative to exact",
                     _rel(g("t_star_code"), g("t_star")), "(reported)", True))
        rows.append((f"F ({col}): half-learning time t_1/2 of the mean diagonal strength vs t*", g("t_half") / g("t_star"),
                     "(reported, ~1)", True))
        relv = _rel(g("ext_value"), g("b_peak"))
        rows.append((f"F ({col}): |b_sim(peak) - b(t*)| / |b(t*)| (b(t*) = {g('b_peak'):.5g})", relv,
                     f"<= {t['peak_value_rel']:g}", relv <= t["peak_value_rel"]))
    g = lambda q: io.scalar(df, panel="F", condition="small", quantity=q)  # noqa: E731
    rel = _rel(g("b_peak"), g("b_peak_small_init"))
    rows.append((f"F (small): exact peak value vs scale-free small-init value s b/(2 sqrt(Delta) + a1 + a2) = "
                 f"{g('b_peak_small_init'):.5g}", rel, f"<= {t['small_init_peak_rel']:g}",
                 rel <= t["small_init_peak_rel"]))
    g = lambda q: io.scalar(df, panel="F", condition="large", quantity=q)  # noqa: E731
    margin = g("a1_0") + g("a2_0") - g("s1")
    rows.append(("F (large): a1(0) + a2(0) - s~ (no interior peak when > 0)", margin, "> 0", margin > 0))
    rows.append(("F (large): |b_sim| non-increasing at every step (largest increase shown)", g("max_abs_b_increase"),
                 "<= 0", g("abs_b_monotone") == 1))
    return io.check_table(rows)


# --------------------------------------------------------------------------- drawing
def _schematic(ax, df) -> None:
    steps, snaps = io.to_array(df, panel="B", quantity="M", source="simulation")
    labels = ["$t=0$", "$t\\approx t^*$", "converged"]
    top = np.abs(snaps).max()
    for n, (m, lab) in enumerate(zip(snaps, labels)):
        x0 = n * 1.25
        w = np.abs(m) / top
        for i in range(2):
            for k in range(2):
                ax.plot([x0, x0 + 0.8], [1 - k, 1 - i], color=BLUE if i == k else RED, lw=0.3 + 4.5 * w[i, k],
                        solid_capstyle="round", zorder=1)
        ax.scatter([x0] * 2 + [x0 + 0.8] * 2, [1, 0, 1, 0], s=60, color=["#d65c00"] * 2 + ["0.5"] * 2,
                   edgecolor="k", lw=0.4, zorder=2)
        ax.text(x0 + 0.4, -0.45, lab, ha="center", va="top", fontsize=7)
        ax.text(x0 + 0.4, 1.3, f"$a_1$={m[0, 0]:.2g}, |b|={abs(m[0, 1]):.2g}", ha="center", fontsize=6)
    ax.text(-0.12, 1, "$v_1$", ha="right", va="center", fontsize=7)
    ax.text(-0.12, 0, "$v_2$", ha="right", va="center", fontsize=7)
    ax.text(3.42, 1, "$u_1$", ha="left", va="center", fontsize=7)
    ax.text(3.42, 0, "$u_2$", ha="left", va="center", fontsize=7)
    ax.set_xlim(-0.35, 3.65); ax.set_ylim(-0.9, 1.55); ax.axis("off")
    ax.set_title("decoupling (row F, intermediate)")


def draw(df, cfg: dict):
    """Figure 4: panels A (5x5), B (schematic), C (targets), D-F (3x3 grid of 2x2 runs)."""
    ca, c = cfg["a"], cfg["runs"]
    plotting.apply_style()
    fig = plotting.figure(10.0, 11.0)
    # A
    ax = fig.add_axes([0.07, 0.74, 0.25, 0.2])
    steps, sim = io.to_array(df, panel="A", quantity="W2W1", source="simulation")
    _, ex = io.to_array(df, panel="A", quantity="W2W1", source="exact")
    n = sim.shape[1]
    diag = np.eye(n, dtype=bool)
    plotting.sim_exact(ax, steps, sim[:, ~diag], ex[:, ~diag], color=RED, lw=1.0)
    plotting.sim_exact(ax, steps, sim[:, diag], ex[:, diag], color=BLUE)
    ax.set_xlim(1, steps[-1]); ax.set_yticks([0, 3, 6])
    ax.set_xlabel("training step"); ax.set_ylabel("$W_2W_1(t)$ entries")
    ax.set_title(f"{n}x{n}, target diag(5,1,2,3,4), $\\sigma$={ca['sigma']:g}")
    plotting.legend_sim_exact(ax, exact_label="Theorem 5.1", loc="center right")
    plotting.panel_label(ax, "A", dx=-0.25)
    # B
    ax = fig.add_axes([0.38, 0.75, 0.3, 0.18])
    _schematic(ax, df)
    plotting.panel_label(ax, "B", dx=-0.05)
    # C
    targets = {k: io.to_array(df, panel="C", condition=k, quantity="target")[1][0] for k in tasks.DECOUPLING_KINDS}
    vmax = max(np.abs(t).max() for t in targets.values())
    for i, kind in enumerate(tasks.DECOUPLING_KINDS):
        ax = fig.add_axes([0.76, 0.905 - i * 0.075, 0.07, 0.06])
        plotting.heatmap(ax, targets[kind], vmax=vmax)
        for (r, q), val in np.ndenumerate(targets[kind]):
            ax.text(q, r, f"{val:g}", ha="center", va="center", fontsize=6,
                    color="w" if abs(val) > 0.6 * vmax else "k")
        ax.set_ylabel(f"{ROWS[kind]}: {kind}", fontsize=7, rotation=0, ha="right", va="center")
        if i == 0:
            plotting.panel_label(ax, "C", dx=-1.4)
    # D-F
    gs = fig.add_gridspec(3, 3, left=0.08, right=0.98, top=0.66, bottom=0.14, hspace=0.45, wspace=0.28)
    eta = c["learning_rate"]
    for r, kind in enumerate(tasks.DECOUPLING_KINDS):
        panel = ROWS[kind]
        for j, col in enumerate(COLUMNS):
            ax = fig.add_subplot(gs[r, j])
            sel = dict(panel=panel, condition=col, quantity="M")
            steps, sim = io.to_array(df, source="simulation", **sel)
            _, ex = io.to_array(df, source="exact", **sel)
            x = np.maximum(steps, 1)
            plotting.sim_exact(ax, x, sim[:, 0, 1], ex[:, 0, 1], color=RED)
            plotting.sim_exact(ax, x, sim[:, [0, 1], [0, 1]], ex[:, [0, 1], [0, 1]], color=BLUE)
            g = lambda q: io.scalar(df, panel=panel, condition=col, quantity=q)  # noqa: E731
            if j < 2 and g("ext_interior") == 1:
                ax.axvline(g("ext_step"), color=PINK, ls=":", lw=1.5)
            if kind == "equal" and j < 2:
                ax.axvline(g("t_star") / eta, color=GREEN, ls=(0, (2, 2)), lw=1.2)
            ax.set_xlim(1, steps[-1])
            ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
            if r == 2:
                ax.set_xlabel("training step")
            if j == 0:
                ax.set_ylabel(f"{kind} target\n$A^TA(t)$")
                plotting.panel_label(ax, panel, dx=-0.3)
            if r == 0:
                ax.set_title(f"{col} init. ($\\sigma$={c['sigmas'][j]:g})\n", fontsize=8)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=BLUE, label="diagonal $a_1, a_2$"), Line2D([], [], color=RED, label="off-diagonal $b$"),
               Line2D([], [], **plotting.EXACT_STYLE, label="explicit 2x2 solution"),
               Line2D([], [], color=PINK, ls=":", lw=1.5, label="simulated extremum of $b$"),
               Line2D([], [], color=GREEN, ls=(0, (2, 2)), label="exact peak time $t^*$")]
    fig.legend(handles=handles, loc="lower center", ncol=5, frameon=False, bbox_to_anchor=(0.5, 0.07))
    plotting.caption(fig, (
        f"A: {ca['n']}x{ca['n']}x{ca['n']} network (X = I, sum convention = whitened problem with sigma_yx = Y), "
        f"target diag(5,1,2,3,4) as in the published panel (the text says 'equal diagonal'), task-aligned init. "
        f"sigma={ca['sigma']:g}, eta={ca['learning_rate']:g}; diagonal entries blue, off-diagonal red, solid = gradient "
        f"descent, dotted = Theorem 5.1. B: schematic drawn from the row-F intermediate run: input modes v (left), output "
        f"modes u (right), line width = |M_ij| relative to the largest entry of the three times (blue within-mode, red "
        f"cross-mode): the cross-mode link is amplified with the modes, then removed. "
        f"C: 2x2 targets; the dense target {np.asarray(c['dense_target']).tolist()} is a proposal (spec 5.7: reproduces "
        f"the published singular values 5.541/0.541; the authors' comment gives [[4,1],[3,5]]). D-F: 2x2x2 networks, "
        f"task-aligned init. sigma = {', '.join(f'{s:g}' for s in c['sigmas'])} (the authors' code; the text says "
        f"1e-5/0.3/2), eta={eta:g}, each run stopped at l_code < {c['tol']:g}; M(t) = U~^T W2W1 V~ in the task's "
        f"singular basis. Pink: simulated extremum of |b| (small and intermediate columns, when interior); green: exact "
        f"t* = ln(1 + s(s - a1 - a2)/Delta)/(4s) (not the authors' small-init approximation)."), y=0.003)
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="a4", paper="paper_a", name="fig4", checks=checks, draw=draw,
    steps=(
        Step("a4_exact", compute_a, "fig4_A",
             keys=("a.seed", "a.n", "a.n_hidden", "a.target", "a.sigma", "a.learning_rate", "a.n_steps"),
             mem_mb=500, minutes=5),
        Step("a4_runs", compute_runs, "fig4_BF", batch="a4_runs",
             keys=tuple(f"runs.{k}" for k in ("seed", "n_hidden", "dense_target", "sigmas", "learning_rate", "tol",
                                               "max_steps", "chunk", "n_plot_points")),
             # every step of W2W1 kept for the longest run of the batch (~370 000 steps at full scale)
             mem_mb=lambda c, n: max(1000, int(c["runs"]["max_steps"] * 9 / n * 32 * 4 / 1e6) + 500),
             # ~30 us per GD step on one idle core, recorded every step; the longest run sets the batch's time
             minutes=lambda c, n: max(5, int(c["runs"]["max_steps"] * 30e-6 / 60) + 5)),
    ),
)
