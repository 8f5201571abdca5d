"""Paper A, Figure 7 (Appendix C.4): the weights are fixed only up to a time-varying orthogonal transformation.

Spec ``exact-dynamics.md`` sections 2.11, 5.9, 6 (Figure 7) and 7 (checks). A (2, 2, 2) zero-balanced linear network
is trained on teacher task 1 until ``L1 < tol``, then on task 2 until ``L2 < tol``. A: both tasks' losses over
both phases. B: phase 2, the 16 entries of ``QQ^T`` (simulation coloured, Theorem 3.1 from the simulated phase-2
initial weights dotted). C: ``q(t) = P K^{-1/2}`` (spec 2.11) against the simulated ``Q = [W1^T; W2]`` (they differ)
and ``q q^T`` against the simulated ``QQ^T`` (they agree). D: ``Q_D = q D`` with ``D = q^+ Q_sim`` against ``Q``,
``Q_D Q_D^T`` against ``QQ^T`` and the four entries of ``D(t)``.
Task and initialisation scales are the spec's proposal (5.9): teacher ``sigma_t = 0.1``, init ``sigma = 0.01``.
"""

from __future__ import annotations

import matplotlib
import numpy as np

from ... import exact, init, io, plotting, rotation, simulate, tasks
from ..steps import Figure, Step

TASK_COLOURS = ("#0071b2", "#cc79a7")        # task 1 blue, task 2 pink (as the original)
#: one colour per matrix entry (tab20 without its greys, so no simulated curve looks like the black exact ones)
ENTRY_COLOURS = [c for i, c in enumerate(matplotlib.colormaps["tab20"].colors) if i not in (14, 15)]


def draw_tasks(c: dict, rng: np.random.Generator):
    """The pair of Gaussian-teacher tasks of spec 5.9, redrawn until ``sign det S1 == sign det S2`` (spec 1.3)."""
    n = c["n"]
    for _ in range(1000):
        t1, _ = tasks.gaussian_teacher(n, c["n_hidden"], n, c["n_samples"], c["sigma_teacher"], rng)
        t2, _ = tasks.gaussian_teacher(n, c["n_hidden"], n, c["n_samples"], c["sigma_teacher"], rng)
        if np.sign(np.linalg.det(t1.sigma_yx)) == np.sign(np.linalg.det(t2.sigma_yx)):
            return t1, t2
    raise RuntimeError("no task pair with equal determinant signs in 1000 draws")


def run_until(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, c: dict, every: int, record: tuple[str, ...]):
    """GD (spec 1.1) on one task until ``L = 1/2 ||W2 W1 - sigma_yx||^2 < tol`` (teacher tasks: ``L* = 0``) or
    ``max_steps``, in chunks of ``chunk`` steps (the trajectory does not depend on the chunking).

    Returns ``(steps (K,), {name: (K, ...)}, n_stop, W1, W2)``: records every ``every`` steps and at the stop step.
    """
    eta, tol, chunk = c["learning_rate"], c["tol"], c["chunk"]
    stop = lambda losses: losses[-1] < tol  # noqa: E731
    steps, recs, offset = [], {name: [] for name in record}, 0
    while True:
        n = min(chunk, c["max_steps"] - offset)
        grid = np.arange(-offset % every, n + 1, every)
        tr = simulate.gd_linear(w1, w2, sigma_yx, eta, n, record_steps=grid, record=record, until=stop,
                                check_every=1)
        first = 0 if offset == 0 else int(tr.steps.size and tr.steps[0] == 0)   # step 0 = last step of the chunk before
        steps.append(offset + tr.steps[first:])
        for name in record:
            recs[name].append(tr.records[name][first:])
        w1, w2 = tr.w1, tr.w2
        offset += tr.n_steps
        if tr.n_steps < n or tr.loss[-1] < tol or offset >= c["max_steps"]:
            break
    steps = np.concatenate(steps)
    out = {name: np.concatenate(v) for name, v in recs.items()}
    if steps[-1] != offset:                                             # always keep the stop step
        steps = np.append(steps, offset)
        final = {"W1": w1, "W2": w2, "W2W1": w2 @ w1}
        out = {name: np.concatenate([v, final[name][None]]) for name, v in out.items()}
    return steps, out, offset, w1, w2


def compute(cfg: dict):
    """Run the Figure 7 protocol. ``cfg``: the ``paper_a.fig7`` section."""
    c = cfg
    rng = np.random.default_rng(c["seed"])
    n, nh = c["n"], c["n_hidden"]
    t1, t2 = draw_tasks(c, rng)
    sig = (t1.sigma_yx, t2.sigma_yx)
    w1, w2 = init.zero_balanced(n, nh, n, c["sigma"], rng, sigma_yx=t1.sigma_yx)
    eta = c["learning_rate"]
    meta = dict(figure="a7", seed=c["seed"], learning_rate=eta)
    frames = [io.records(s, quantity=f"sigma_yx_{k + 1}", source="summary", **meta) for k, s in enumerate(sig)]

    # phase 1: task 1 until L1 < tol, W2W1 on a coarse grid (panel A)
    s_1, rec, n1, w1b, w2b = run_until(w1, w2, sig[0], c, c["record_every"], ("W2W1",))
    w_1 = rec["W2W1"]
    # phase 2: task 2 until L2 < tol from the simulated end state of phase 1; weights on a dense grid
    s_2, rec, n2, _, _ = run_until(w1b, w2b, sig[1], c, c["dense_every"], ("W1", "W2"))
    w1s, w2s = rec["W1"], rec["W2"]
    q_sim = rotation.q_of_weights(w1s, w2s)                             # (T, 2n, Nh)
    qq_sim = q_sim @ np.swapaxes(q_sim, 1, 2)
    t = s_2 * eta
    qq_ex = exact.qqt(w1b, w2b, sig[1], t)
    # spec 2.11: q, D only while t * s_max <= q_max_exponent (positive exponentials)
    smax = float(np.linalg.svd(sig[1], compute_uv=False)[0])
    win = t * smax <= c["q_max_exponent"]
    q = rotation.q_factor(w1b, w2b, sig[1], t[win])
    d = rotation.rotation_estimate(q, q_sim[win])
    qd = q @ d
    qq_q = q @ np.swapaxes(q, 1, 2)
    qq_d = qd @ np.swapaxes(qd, 1, 2)

    # panel A: both losses on a common coarse grid over both phases
    keep2 = np.flatnonzero(((s_2 % c["record_every"] == 0) | (s_2 == n2)) & (s_2 > 0))   # step 0 = end of phase 1
    w_2 = (w2s @ w1s)[keep2]
    for k, s in enumerate(sig):
        loss = np.concatenate([0.5 * np.sum((w_1 - s) ** 2, axis=(1, 2)), 0.5 * np.sum((w_2 - s) ** 2, axis=(1, 2))])
        steps = np.concatenate([s_1, n1 + s_2[keep2]])
        frames.append(io.records(loss, quantity=f"loss_task{k + 1}", source="simulation", panel="A", steps=steps,
                                 **meta))
    # panels B-D on an evenly spaced subset of the phase-2 grid (deviations use the whole dense grid)
    pick = np.unique(np.round(np.linspace(0, len(s_2) - 1, c["n_plot_points"])).astype(int))
    pick_q = pick[pick < win.sum()]
    series = [("B", "QQt", "simulation", qq_sim, pick), ("B", "QQt", "exact", qq_ex, pick),
              ("C", "Q", "simulation", q_sim, pick_q), ("C", "q", "exact", q, pick_q),
              ("C", "qqt", "exact", qq_q, pick_q), ("D", "qD", "exact", qd, pick_q),
              ("D", "qDqDt", "exact", qq_d, pick_q), ("D", "D", "simulation", d, pick_q)]
    for panel, name, source, arr, idx in series:
        frames.append(io.records(arr[idx], quantity=name, source=source, panel=panel, steps=s_2[idx], **meta))
    scale_q = float(np.max(np.abs(q_sim)))
    summary = {
        "phase1_steps": n1, "phase2_steps": n2, "max_steps": c["max_steps"],
        "det_sign_product": np.sign(np.linalg.det(sig[0])) * np.sign(np.linalg.det(sig[1])),
        "max_dev_qqt": np.max(np.abs(qq_sim - qq_ex)), "max_abs_qqt": np.max(np.abs(qq_ex)),
        "max_dev_qqt_q": np.max(np.abs(qq_q - qq_ex[win])),
        "max_dev_orth": np.max(np.abs(d @ np.swapaxes(d, 1, 2) - np.eye(nh))),
        "max_dev_identity": np.max(np.abs(d - np.eye(nh))),
        "rel_dev_qd": np.max(np.abs(qd - q_sim[win])) / scale_q,
        "rel_dev_q": np.max(np.abs(q - q_sim[win])) / scale_q,
        "q_window_fraction": win.mean(), "q_window_exponent": t[win][-1] * smax,
        "n_dense_points": len(s_2),
    }
    for name, val in summary.items():
        frames.append(io.records(val, quantity=name, source="summary", **meta))
    return io.concat(frames)


def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 7 (and the claims of panels A and C; thresholds:
    ``cfg["checks"]``)."""
    t = cfg["checks"]
    s = lambda q: io.scalar(df, source="summary", quantity=q)  # noqa: E731
    rows = []
    for k in (1, 2):
        v = s(f"phase{k}_steps")
        rows.append((f"A: phase {k} reached L{k} < {cfg['tol']:g} (steps)", v, f"< {cfg['max_steps']}",
                     v < cfg["max_steps"]))
    v = s("det_sign_product")
    rows.append(("tasks: sign det S1 * sign det S2 (spec 1.3)", v, "== 1", v == 1))
    dev, scale = s("max_dev_qqt"), s("max_abs_qqt")
    lim = t["qqt_rel_dev"]
    rows.append((f"B: max |QQt_sim - QQt_Thm3.1| over phase 2 (max|QQt| = {scale:.3g})", dev,
                 f"<= {lim:g} * max|QQt| = {lim * scale:.3g}", dev <= lim * scale))
    v = s("max_dev_qqt_q")   # round-off of the positive exponentials only (spec 2.2, V2)
    lim = t["qqt_q_rel_dev"]
    rows.append(("C: max |q q^T - QQt_Thm3.1| (q of spec 2.11)", v, f"<= {lim:g} * max|QQt| = {lim * scale:.3g}",
                 v <= lim * scale))
    v = s("rel_dev_q")
    rows.append(("C: max |q - Q_sim| / max|Q_sim| (q alone is not the weights)", v, f">= {t['q_rel_dev_min']:g}",
                 v >= t["q_rel_dev_min"]))
    v = s("max_dev_orth")
    rows.append(("D: max |D D^T - I|", v, f"<= {t['orth_dev']:g}", v <= t["orth_dev"]))
    v = s("max_dev_identity")
    rows.append(("D: max |D - I| (D not constant)", v, f">= {t['identity_dev_min']:g}", v >= t["identity_dev_min"]))
    v = s("rel_dev_qd")
    rows.append(("D: max |q D - Q_sim| / max|Q_sim|", v, f"<= {t['qd_rel_dev']:g}", v <= t["qd_rel_dev"]))
    return io.check_table(rows)


def _entries(arr: np.ndarray) -> np.ndarray:
    return arr.reshape(arr.shape[0], -1)


def draw(df, cfg: dict):
    """Figure 7: panels A-D from the parquet data."""
    plotting.apply_style()
    fig = plotting.figure(10.5, 5.6)
    n1 = io.scalar(df, source="summary", quantity="phase1_steps")
    n2 = io.scalar(df, source="summary", quantity="phase2_steps")
    # A
    ax = fig.add_axes([0.06, 0.62, 0.38, 0.3])
    for k in (1, 2):
        steps, loss = io.to_array(df, panel="A", quantity=f"loss_task{k}")
        ax.plot(steps, loss, color=TASK_COLOURS[k - 1], label=f"task {k}")
    ax.axvline(n1, color="#009e73", ls=":", lw=1.5, label="switch to task 2")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss $\\frac{1}{2}\\|W_2W_1-\\tilde\\Sigma_i\\|_F^2$")
    ax.set_xlim(0, n1 + n2)
    ax.ticklabel_format(axis="both", style="sci", scilimits=(-3, 4))
    ax.legend(frameon=False)
    plotting.panel_label(ax, "A", dx=-0.12)
    # B
    ax = fig.add_axes([0.54, 0.62, 0.42, 0.3])
    steps, sim = io.to_array(df, panel="B", quantity="QQt", source="simulation")
    _, ex = io.to_array(df, panel="B", quantity="QQt", source="exact")
    plotting.sim_exact(ax, steps, _entries(sim), _entries(ex), colors=ENTRY_COLOURS, lw=1.0)
    ax.set_xlabel("phase-2 training step")
    ax.set_ylabel("$QQ^T$ entries")
    ax.set_title("phase 2: $QQ^T$, simulation vs Theorem 3.1")
    ax.ticklabel_format(axis="both", style="sci", scilimits=(-2, 4))
    plotting.legend_sim_exact(ax, loc="upper right", fontsize=6)
    plotting.panel_label(ax, "B", dx=-0.1)
    # C and D
    panels = [("C", "Q", "simulation", "q", "$Q$ (sim.) vs $q$ (Eq. 158)"),
              ("C", "QQt", "simulation", "qqt", "$QQ^T$ (sim.) vs $qq^T$"),
              ("D", "Q", "simulation", "qD", "$Q$ (sim.) vs $q\\,D$"),
              ("D", "QQt", "simulation", "qDqDt", "$QQ^T$ (sim.) vs $(qD)(qD)^T$"),
              ("D", "D", "simulation", None, "$D(t)=q^+Q_{sim}$")]
    w = 0.152
    for i, (panel, sim_name, src, ex_name, title) in enumerate(panels):
        ax = fig.add_axes([0.06 + i * (w + 0.04), 0.13, w, 0.3])
        if sim_name == "QQt":
            steps, sim = io.to_array(df, panel="B", quantity="QQt", source="simulation")
        else:
            steps, sim = io.to_array(df, panel="C" if sim_name == "Q" else "D", quantity=sim_name, source=src)
        if ex_name is not None:
            s_ex, ex = io.to_array(df, panel=panel, quantity=ex_name, source="exact")
            m = steps <= s_ex[-1]
            plotting.sim_exact(ax, steps[m], _entries(sim[m]), (s_ex, _entries(ex)), colors=ENTRY_COLOURS, lw=1.0)
        else:
            plotting.sim_exact(ax, steps, _entries(sim), colors=ENTRY_COLOURS, lw=1.2)
            ax.text(0.97, 0.5, "$D_{11}=D_{22}$ (cos), $D_{12}=-D_{21}$ (sin)\nfor a rotation", transform=ax.transAxes,
                    ha="right", va="center", fontsize=6, color="0.3")
        ax.set_title(title)
        ax.set_xlabel("phase-2 step")
        ax.ticklabel_format(axis="both", style="sci", scilimits=(-2, 4))
        if i == 0 or i == 2:
            plotting.panel_label(ax, panel, dx=-0.3)
    note = ("Proposal parameters (spec 5.9): (2, 2, 2) network, two Gaussian-teacher tasks (sigma_t=%g, N=%d, redrawn "
            "until sign det S1 = sign det S2), zero-balanced init sigma=%g, eta=%g, each phase until L < %g "
            "(%d + %d steps). Coloured solid = gradient descent, black dotted = closed forms: Theorem 3.1 (B), q = P K^{-1/2} "
            "of spec 2.11 (C), q D with D = q^+ Q_sim estimated from the simulation (D); q is evaluated while "
            "t * s_max <= %g. D(0) = I by construction (the authors' MATLAB had D(0) != I through its own sign choices)."
            % (cfg["sigma_teacher"], cfg["n_samples"], cfg["sigma"], cfg["learning_rate"], cfg["tol"], n1, n2,
               cfg["q_max_exponent"]))
    plotting.caption(fig, note)
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="a7", paper="paper_a", name="fig7", checks=checks, draw=draw,
    steps=(
        Step("a7_compute", compute, "fig7",
             keys=("seed", "n", "n_hidden", "n_samples", "sigma_teacher", "sigma", "learning_rate", "tol", "max_steps",
                   "chunk", "record_every", "dense_every", "n_plot_points", "q_max_exponent"),
             # benchmark, full scale: 30 s wall, 9 s CPU, max RSS 0.29 GB (~0.95 M GD steps of a 2x2x2 network, weights
             # and closed forms on every phase-2 step); memory grows with the phase-2 length / dense_every
             mem_mb=800, minutes=6),
    ),
)
