"""Paper A, Figure 5: continual learning.

Spec ``exact-dynamics.md`` section 6 (Figure 5), 2.8 (forgetting), 1.1 (nonlinear hidden layer) and 7 (checks).
A: a (5, 10, 6) linear network trained from small zero-balanced weights on 4 random-regression tasks in sequence;
top ``W2W1`` (simulation coloured by the current task, Theorem 3.1 from each phase's simulated initial weights
dotted), bottom the loss of every task. B: analytical forgetting ``1/2 ||S1 - S2||^2`` vs the numerical one
(``L1`` after task 2 minus after task 1) for 50 random networks, linear / tanh / ReLU hidden layer.
C: balancedness ``||W1 W1^T - W2^T W2||_F`` of the same runs at initialisation and after each task.
D: loss of each of 5 shared tasks at initialisation and after each task; E: the 5 x 5 forgetting matrices,
analytical (upper half-cells) and numerical (lower half-cells).
"""

from __future__ import annotations

import numpy as np

from ... import continual, exact, init, io, metrics, plotting, simulate, tasks
from ..steps import Figure, Step, sweep_minutes

NETS = simulate.ACTIVATIONS                       # ("linear", "tanh", "relu")
NET_LABEL = {"linear": "linear", "tanh": "tanh", "relu": "ReLU"}
NET_COLOUR = {"linear": "#c0392b", "tanh": "#0071b2", "relu": "#009e73"}
NET_CMAP = {"linear": "Reds", "tanh": "Blues", "relu": "Greens"}
STATES = ("init", "after task 1", "after task 2")


# --------------------------------------------------------------------------- shared draw
def task_sequence(c: dict):
    """The ``n_tasks`` random-regression tasks (``tasks.random_regression``, ``(n_in, n_out)``) and the
    zero-balanced initial weights of a sequence (panels A and D/E), drawn in this order from ``seed``.
    Returns ``tasks, sigma_yx (n_tasks, No, Ni), sigma_yy (n_tasks, No, No), W1 (Nh, Ni), W2 (No, Nh)``."""
    rng = np.random.default_rng(c["seed"])
    ni, nh, no = c["n_in"], c["n_hidden"], c["n_out"]
    ts = [tasks.random_regression(ni, no, c["n_samples"], rng) for _ in range(c["n_tasks"])]
    w1, w2 = init.zero_balanced(ni, nh, no, c["sigma"], rng)
    return ts, np.stack([t.sigma_yx for t in ts]), np.stack([t.sigma_yy for t in ts]), w1, w2


# --------------------------------------------------------------------------- panel A
def compute_a(cfg: dict):
    """Panel A: sequential training on random-regression tasks, simulation (correlation-matrix GD, exact for a
    linear network) and Theorem 3.1 per phase; deviations on every step, curves every ``plot_every`` steps."""
    c = cfg["a"]
    ts, sig, syy, w1, w2 = task_sequence(c)
    eta, n = c["learning_rate"], c["steps_per_task"]
    steps = np.arange(n + 1)
    keep = np.unique(np.concatenate([np.arange(0, n + 1, c["plot_every"]), [n]]))
    frames = []
    for k, task in enumerate(ts):
        meta = dict(figure="a5", panel="A", condition=f"phase={k + 1}", seed=c["seed"], learning_rate=eta)
        tr = simulate.gd_linear(w1, w2, task.sigma_yx, eta, n, sigma_yy=task.sigma_yy, record_steps=steps,
                                record=("W2W1",))
        w_sim = tr.records["W2W1"]
        w_ex = exact.network_function(w1, w2, task.sigma_yx, steps * eta)
        losses = continual.task_losses(w_sim, sig, syy)                        # (T, n_tasks)
        g = k * n + keep                                                        # global step
        frames += [io.records(w_sim[keep], quantity="W2W1", source="simulation", steps=g, **meta),
                   io.records(w_ex[keep], quantity="W2W1", source="exact", steps=g, **meta),
                   io.records(losses[keep], quantity="task_loss", source="simulation", steps=g, **meta),
                   io.records(np.max(np.abs(w_sim - w_ex)), quantity="max_dev_W2W1", source="summary", **meta),
                   io.records(np.max(np.abs(losses[:, k] - tr.loss)), quantity="max_dev_own_loss",
                              source="summary", **meta)]
        x_end = min(c["x_max"] - k * n, n)
        if x_end >= 0:
            shown = losses[: x_end + 1]
            frames += [io.records(shown.min(), quantity="min_plotted_loss", source="summary", **meta),
                       io.records(shown.max(), quantity="max_plotted_loss", source="summary", **meta)]
        w1, w2 = tr.w1, tr.w2
    return io.concat(frames)


# --------------------------------------------------------------------------- panels B and C
def run_network(seed: int, c: dict) -> dict:
    """Draw the dimensions, the two tasks and the initial weights of one panel-B/C run (spec Fig. 5B); the same
    draw serves every nonlinearity (the original reset the seed per nonlinearity). Every run draws its own two
    tasks from its own seed: in the authors' code the trainer reset its random key, so all runs with the same
    (Ni, No) trained on the identical task pair; we keep independent tasks per run (stated in the caption)."""
    rng = np.random.default_rng(seed)
    lo, hi = c["dim_range"]
    ni, no = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))
    nh = int(rng.integers(min(ni, no), hi + 1))
    t1 = tasks.random_regression(ni, no, c["n_samples"], rng)
    t2 = tasks.random_regression(ni, no, c["n_samples"], rng)
    sigma = c["sigma_scale"] / np.sqrt((ni + nh) / 2)
    w1, w2 = init.zero_balanced(ni, nh, no, sigma, rng)
    return dict(ni=ni, nh=nh, no=no, sigma=sigma, tasks=(t1, t2), w1=w1, w2=w2)


def compute_runs(cfg: dict, batch: int = 0, n_batches: int = 1):
    """Panels B and C, runs ``batch, batch + n_batches, ...``: each network trained on task 1 then task 2 with a
    linear, tanh and ReLU hidden layer (sample-based GD, spec 1.1); summaries only (of the training loss, only its
    value after the last step of each task is computed)."""
    c = cfg["runs"]
    eta = c["learning_rate"]
    frames = []
    for i in range(batch, c["n_runs"], n_batches):
        seed = c["seed0"] + i
        net = run_network(seed, c)
        t1, t2 = net["tasks"]
        analytic = continual.forgetting_two_tasks(t1.sigma_yx, t2.sigma_yx)
        phases = {}   # activation -> [training after task 1, after task 2] (a batch member index m)
        for acts, n_steps in ((("linear",), c["steps_linear"]),
                              (tuple(a for a in NETS if a != "linear"), c["steps_nonlinear"])):
            w1, w2, trs = net["w1"], net["w2"], []
            for task in (t1, t2):   # networks of one draw share shapes and data: one batch, one activation each
                trs.append(simulate.gd_nonlinear(w1, w2, task.x, task.y, eta, n_steps, activation=acts, record=(),
                                                 loss_every_step=False))
                w1, w2 = trs[-1].w1, trs[-1].w2
            phases.update({a: [(tr, m) for tr in trs] for m, a in enumerate(acts)})
        for act in NETS:
            weights = [(net["w1"], net["w2"])] + [(tr.w1[m], tr.w2[m]) for tr, m in phases[act]]
            bal = [metrics.balancedness_norm(w1, w2) for w1, w2 in weights]
            loss1 = [simulate.loss_nonlinear(w1, w2, t1.x, t1.y, act) for w1, w2 in weights]
            final = [tr.loss[-1, m] for tr, m in phases[act]]
            meta = dict(figure="a5", panel="B", condition=act, seed=seed, learning_rate=eta, source="summary")
            frames += [io.records(analytic, quantity="forgetting_analytic", **meta),
                       io.records(loss1[2] - loss1[1], quantity="forgetting_numerical", **meta),
                       io.records(np.array(loss1), quantity="loss_task1", **meta),
                       io.records(np.array(final), quantity="final_train_loss", **meta),
                       io.records(np.array(bal), quantity="balancedness", **dict(meta, panel="C"))]
        for name in ("ni", "nh", "no", "sigma"):
            frames.append(io.records(net[name], quantity=name, source="summary", figure="a5", panel="B",
                                     condition="network", seed=seed))
    return io.concat(frames)


# --------------------------------------------------------------------------- panels D and E
def compute_sequence(cfg: dict):
    """Panels D and E: one (Ni, Nh, No) network (identical initial weights for the three nonlinearities) trained on
    5 shared random-regression tasks in order; simulated loss table and the forgetting formulas of spec 2.8."""
    c = cfg["sequence"]
    ts, sig, syy, w1_0, w2_0 = task_sequence(c)
    eta = c["learning_rate"]
    meta = dict(figure="a5", panel="E", seed=c["seed"], learning_rate=eta)
    w0 = w2_0 @ w1_0
    frames = [io.records(continual.loss_table(w0, sig, syy), quantity="loss_table", source="exact",
                         **dict(meta, panel="D", condition="analytic")),
              io.records(continual.forgetting_matrix(w0, sig), quantity="forgetting", source="exact",
                         **dict(meta, condition="analytic"))]
    for act in NETS:
        w1, w2 = w1_0, w2_0
        table = [[simulate.loss_nonlinear(w1, w2, t.x, t.y, act) for t in ts]]
        bal = [metrics.balancedness_norm(w1, w2)]
        for task in ts:
            tr = simulate.gd_nonlinear(w1, w2, task.x, task.y, eta, c["steps_per_task"], activation=act, record=(),
                                       loss_every_step=False)
            w1, w2 = tr.w1, tr.w2
            table.append([simulate.loss_nonlinear(w1, w2, t.x, t.y, act) for t in ts])
            bal.append(metrics.balancedness_norm(w1, w2))
        table = np.array(table)
        frames += [io.records(table, quantity="loss_table", source="simulation", **dict(meta, panel="D", condition=act)),
                   io.records(continual.numerical_forgetting(table), quantity="forgetting", source="simulation",
                              **dict(meta, condition=act)),
                   io.records(np.array(bal), quantity="balancedness", source="simulation", **dict(meta, condition=act))]
    return io.concat(frames)


# --------------------------------------------------------------------------- checks
def _runs(df, act):
    """Per-run arrays of panels B/C for one nonlinearity: analytic, numerical forgetting, balancedness (runs, 3)."""
    sub = io.select(df, figure="a5", panel="B", condition=act)
    sub_c = io.select(df, figure="a5", panel="C", condition=act)
    seeds = np.unique(sub["seed"].to_numpy())
    ana = np.array([io.scalar(sub, seed=s, quantity="forgetting_analytic") for s in seeds])
    num = np.array([io.scalar(sub, seed=s, quantity="forgetting_numerical") for s in seeds])
    bal = np.array([io.to_array(sub_c, seed=s, quantity="balancedness")[1][0] for s in seeds])
    return ana, num, bal


def _sequence(df, act):
    _, num = io.to_array(df, panel="E", quantity="forgetting", condition=act)
    _, ana = io.to_array(df, panel="E", quantity="forgetting", condition="analytic")
    return ana[0], num[0]


def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 5 (thresholds: ``cfg["checks"]``)."""
    t = cfg["checks"]
    rows = []
    a = io.select(df, panel="A", source="summary")
    for k in range(cfg["a"]["n_tasks"]):
        dev = io.scalar(a, condition=f"phase={k + 1}", quantity="max_dev_W2W1")
        rows.append((f"A task {k + 1}: max |W2W1_sim - W2W1_exact| (every step)", dev, f"<= {t['a_dev']:g}",
                     dev <= t["a_dev"]))
    lo = float(io.select(a, quantity="min_plotted_loss")["value"].min())
    hi = float(io.select(a, quantity="max_plotted_loss")["value"].max())
    rows.append(("A: smallest plotted loss", lo, f">= {t['a_loss_min']:g}", lo >= t["a_loss_min"]))
    rows.append(("A: largest plotted loss", hi, f"<= {t['a_loss_max']:g}", hi <= t["a_loss_max"]))
    for act in NETS:
        ana, num, bal = _runs(df, act)
        n_runs = len(ana)
        if act == "linear":
            dev = float(np.max(np.abs(num - ana)))
            rows.append((f"B linear: max |numerical - analytical forgetting| over {n_runs} runs", dev,
                         f"<= {t['linear_forgetting_dev']:g}", dev <= t["linear_forgetting_dev"]))
            for j in (1, 2):
                m = float(np.max(bal[:, j]))
                rows.append((f"C linear: max balancedness norm {STATES[j]}", m, f"<= {t['linear_balancedness']:g}",
                             m <= t["linear_balancedness"]))
        else:
            diff = float(np.mean(num - ana))
            corr = float(np.corrcoef(num, ana)[0, 1])
            rows.append((f"B {act}: mean(numerical - analytical forgetting), {n_runs} runs", diff,
                         f">= {t['nonlinear_excess_min']:g}", diff >= t["nonlinear_excess_min"]))
            rows.append((f"B {act}: Pearson correlation numerical vs analytical", corr,
                         f"< {t['nonlinear_corr_max']:g}", corr < t["nonlinear_corr_max"]))
            m = float(np.mean(bal[:, 1]))
            rows.append((f"C {act}: mean balancedness norm after task 1", m, f">= {t['nonlinear_balancedness_min']:g}",
                         m >= t["nonlinear_balancedness_min"]))
        ana5, num5 = _sequence(df, act)
        dev = float(np.max(np.abs(num5 - ana5)))
        if act == "linear":
            rows.append(("D/E linear: max |numerical - analytical| forgetting entry", dev,
                         f"<= {t['sequence_linear_dev']:g}", dev <= t["sequence_linear_dev"]))
            m = float(np.max(np.abs(ana5)))
            rows.append(("D/E: max |analytical forgetting entry|", m, f"<= {t['sequence_forgetting_max']:g}",
                         m <= t["sequence_forgetting_max"]))
        else:
            rows.append((f"D/E {act}: max |numerical - analytical| forgetting entry", dev,
                         f">= {t['sequence_nonlinear_dev_min']:g}", dev >= t["sequence_nonlinear_dev_min"]))
    return io.check_table(rows)


# --------------------------------------------------------------------------- drawing
def _draw_a(fig, df, cfg, rect_top, rect_bot):
    c = cfg["a"]
    n, k_tasks, x_max = c["steps_per_task"], c["n_tasks"], c["x_max"]
    ax_w, ax_l = fig.add_axes(rect_top), fig.add_axes(rect_bot)
    colours = plotting.PALETTE
    for k in range(k_tasks):
        if k * n > x_max:
            break
        base = dict(panel="A", condition=f"phase={k + 1}")
        steps, sim = io.to_array(df, source="simulation", quantity="W2W1", **base)
        _, ex = io.to_array(df, source="exact", quantity="W2W1", **base)
        _, loss = io.to_array(df, source="simulation", quantity="task_loss", **base)
        m = steps <= x_max
        col = colours[k % len(colours)]
        plotting.sim_exact(ax_w, steps[m], sim[m].reshape(m.sum(), -1), ex[m].reshape(m.sum(), -1), color=col,
                           lw=0.9, exact_lw=0.8)
        for j in range(k_tasks):
            ax_l.plot(steps[m], loss[m, j], color=colours[j % len(colours)], lw=1.4 if j == k else 0.9,
                      ls="-" if j == k else (0, (1.5, 1.2)))
    for ax in (ax_w, ax_l):
        for k in range(1, k_tasks):
            if k * n <= x_max:
                ax.axvline(k * n, color="0.55", ls="--", lw=0.8)
        ax.set_xlim(0, x_max)
    for k in range(k_tasks):
        if k * n < x_max:
            ax_w.text(k * n + min(n, x_max - k * n) / 2, 1.02, f"task {k + 1}", transform=ax_w.get_xaxis_transform(),
                      ha="center", va="bottom", color=colours[k % len(colours)], fontsize=7)
    if x_max < k_tasks * n:
        ax_l.text(1.0, -0.02, "...", transform=ax_l.transAxes, ha="left", va="top", fontsize=10)
    ax_w.set_ylabel("$W_2W_1$ entries")
    ax_w.set_xticklabels([])
    ax_l.set_ylabel("loss of task $i$")
    ax_l.set_xlabel("training step")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color="0.3", lw=1.2, label="top: simulation (colour = trained task)"),
               Line2D([], [], color="0.3", lw=1.4, label="bottom: loss of the trained task"),
               Line2D([], [], **plotting.EXACT_STYLE, label="top: exact, Theorem 3.1 per phase"),
               Line2D([], [], color="0.3", lw=0.9, ls=(0, (1.5, 1.2)), label="bottom: loss of the other tasks")]
    ax_w.legend(handles=handles, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2,
                fontsize=6, handlelength=2.2, columnspacing=2.0)
    plotting.panel_label(ax_w, "A", dx=-0.08)


def _draw_bc(fig, df, x0, y0, w, h, gap):
    lim_hi = 0.0
    data = {act: _runs(df, act) for act in NETS}
    for ana, num, _ in data.values():
        lim_hi = max(lim_hi, ana.max(), num.max())
    for r, act in enumerate(NETS):
        ana, num, bal = data[act]
        y = y0 + (2 - r) * (h + gap)
        ax = fig.add_axes([x0, y, w, h])
        top = max(0.425, 1.05 * max(ana.max(), num.max()))
        ax.plot([-0.1, top], [-0.1, top], color="0.4", lw=0.8, ls="--")
        ax.scatter(ana, num, s=9, color=NET_COLOUR[act], edgecolor="none", alpha=0.85)
        ax.set_xlim(-0.1, max(0.425, 1.05 * ana.max()))
        ax.set_ylim(-0.1, top)
        ax.set_ylabel("numerical forgetting", fontsize=6.5)
        ax.text(0.04, 0.96, NET_LABEL[act], transform=ax.transAxes, ha="left", va="top", color=NET_COLOUR[act],
                fontweight="bold")
        if r == 2:
            ax.set_xlabel("analytical forgetting $\\frac{1}{2}\\|\\tilde\\Sigma_1-\\tilde\\Sigma_2\\|_F^2$")
        if r == 0:
            plotting.panel_label(ax, "B", dx=-0.45)
            ax.set_title(f"forgetting of task 1 ({len(ana)} runs)")
        axc = fig.add_axes([x0 + w + 0.085, y, w * 0.8, h])
        mean, std = bal.mean(axis=0), bal.std(axis=0)
        xs = np.arange(3)
        floor = 1e-17
        axc.fill_between(xs, np.maximum(mean - std, floor), mean + std, color=NET_COLOUR[act], alpha=0.25, lw=0)
        axc.plot(xs, np.maximum(mean, floor), color=NET_COLOUR[act], marker="o", ms=3)
        axc.set_yscale("log")
        axc.set_ylim(1e-17, 1e3)
        axc.set_yticks([1e-15, 1e-10, 1e-5, 1e0])
        axc.set_xticks(xs)
        axc.set_xticklabels(["init", "task 1", "task 2"] if r == 2 else [])
        axc.set_ylabel("$\\|W_1W_1^T-W_2^TW_2\\|_F$", fontsize=6.5)
        if r == 0:
            plotting.panel_label(axc, "C", dx=-0.5)
            axc.set_title("balancedness (mean $\\pm$ std)")


def _draw_de(fig, df, cfg, y0, h):
    n_tasks = cfg["sequence"]["n_tasks"]
    from matplotlib.patches import Rectangle
    import matplotlib.pyplot as plt
    for col, act in enumerate(NETS):
        ax = fig.add_axes([0.055 + col * 0.115, y0, 0.085, h])
        _, table = io.to_array(df, panel="D", quantity="loss_table", condition=act)
        table = table[0]
        cmap = plt.get_cmap(NET_CMAP[act])
        for j in range(n_tasks):
            ax.plot(np.arange(n_tasks + 1), table[:, j], color=cmap(0.35 + 0.6 * j / max(n_tasks - 1, 1)),
                    marker="o", ms=2.5, lw=1.1, label=f"task {j + 1}")
        ax.set_xticks(np.arange(n_tasks + 1))
        ax.set_xlabel("after training task")
        ax.set_title(NET_LABEL[act], color=NET_COLOUR[act])
        if col == 0:
            ax.set_ylabel("loss of task $j$")
            plotting.panel_label(ax, "D", dx=-0.5)
        if col == 2:
            ax.legend(frameon=False, fontsize=5.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ana, num = _sequence(df, act)
        half = np.empty((2 * n_tasks, n_tasks))
        half[0::2], half[1::2] = ana, num
        axe = fig.add_axes([0.47 + col * 0.18, y0 - 0.01, 0.12, h + 0.03])
        vmax = float(np.max(np.abs(half)))
        im = axe.imshow(half, cmap=plotting.DIVERGING, vmin=-vmax, vmax=vmax, interpolation="nearest", aspect=0.5)
        for j in range(1, n_tasks):
            axe.axhline(2 * j - 0.5, color="k", lw=0.6)
        for j in range(n_tasks):
            axe.add_patch(Rectangle((j - 0.5, 2 * j - 0.5), 1, 2, fill=False, ec="k", lw=1.6))
        axe.set_yticks(np.arange(n_tasks) * 2 + 0.5)
        axe.set_yticklabels([f"{j + 1}" for j in range(n_tasks)])
        axe.set_xticks(np.arange(n_tasks))
        axe.set_xticklabels([f"{i + 1}" for i in range(n_tasks)])
        axe.set_xlabel("trained task $i$")
        if col == 0:
            axe.set_ylabel("evaluated task $j$")
            plotting.panel_label(axe, "E", dx=-0.45, dy=1.02)
        axe.set_title(NET_LABEL[act], color=NET_COLOUR[act])
        cb = fig.colorbar(im, ax=axe, fraction=0.07, pad=0.03)
        cb.ax.tick_params(labelsize=6)


def draw(df, cfg: dict):
    """Figure 5: every panel (A-E) from the parquet data."""
    plotting.apply_style()
    fig = plotting.figure(11.0, 7.6)
    _draw_a(fig, df, cfg, [0.06, 0.765, 0.47, 0.185], [0.06, 0.51, 0.47, 0.2])
    _draw_bc(fig, df, x0=0.64, y0=0.51, w=0.14, h=0.115, gap=0.035)
    _draw_de(fig, df, cfg, y0=0.15, h=0.23)
    a, r, s = cfg["a"], cfg["runs"], cfg["sequence"]
    note = (f"A: ({a['n_in']}, {a['n_hidden']}, {a['n_out']}) linear network, {a['n_tasks']} random-regression tasks "
            f"(N={a['n_samples']}), zero-balanced sigma={a['sigma']:g}, eta={a['learning_rate']:g}, "
            f"{a['steps_per_task']} steps per task (x axis cut at {a['x_max']} as in the original); solid = GD, "
            "dotted = Theorem 3.1 started from each phase's simulated initial weights. "
            f"B, C: {r['n_runs']} random networks (Ni, No ~ U{{{r['dim_range'][0]}..{r['dim_range'][1]}}}, "
            f"N={r['n_samples']}, eta={r['learning_rate']:g}, {r['steps_linear']} (linear) / {r['steps_nonlinear']} "
            "(tanh, ReLU) steps per task; every run draws its own two tasks, whereas the authors' trainer reset its "
            "random key, so their runs with equal (Ni, No) shared one task pair); dashed = identity. C plots the norm itself on a log axis (decision 11; the "
            "original plotted its square root); init values are round-off. "
            f"D, E: ({s['n_in']}, {s['n_hidden']}, {s['n_out']}) networks, 5 shared tasks (N={s['n_samples']}), "
            f"sigma={s['sigma']:g}, eta={s['learning_rate']:g}, {s['steps_per_task']} steps per task. E: upper half-cell "
            "= analytical forgetting F_j (spec 2.8, computed before training), lower = numerical change of task j's "
            "loss when training task i; outlined: j = i; colour limits symmetric per network.")
    plotting.caption(fig, note)
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
def _runs_minutes(c: dict, n_batches: int) -> float:
    # full scale, 10 batches of 5 networks: max RSS 0.15 GB, CPU 44-59 s per batch on the shared 2-core machine
    # (compute-bound: 5 BLAS products and one libm tanh over (Nh, N) per step; job 0 measured 79 s before the
    # buffered simulate.gd_nonlinear, interleaved); 20 s budgeted per network, scaled with the nonlinear step count;
    # 5 min overhead, rounded up to whole minutes
    return sweep_minutes(c["runs"]["n_runs"], n_batches, 20 * c["runs"]["steps_nonlinear"] / 50000)


FIGURE = Figure(
    id="a5", paper="paper_a", name="fig5", checks=checks, draw=draw,
    steps=(
        Step("a5_exact", compute_a, "fig5_A",
             keys=tuple(f"a.{k}" for k in ("seed", "n_in", "n_hidden", "n_out", "n_samples", "n_tasks", "sigma",
                                            "learning_rate", "steps_per_task", "plot_every", "x_max")),
             # benchmark, full scale (shared 2-core machine): 2.3 s wall, 1.4 s CPU, max RSS 0.17 GB
             mem_mb=500, minutes=5),
        Step("a5_sequence", compute_sequence, "fig5_DE",
             keys=tuple(f"sequence.{k}" for k in ("seed", "n_in", "n_hidden", "n_out", "n_samples", "n_tasks", "sigma",
                                                   "learning_rate", "steps_per_task")),
             # benchmark, full scale: 18 s wall, 7 s CPU, max RSS 0.15 GB (3 networks x 5 tasks x 20 000 steps)
             mem_mb=500, minutes=6),
        Step("a5_runs", compute_runs, "fig5_BC", batch="a5_runs",
             keys=tuple(f"runs.{k}" for k in ("n_runs", "seed0", "dim_range", "n_samples", "sigma_scale",
                                               "learning_rate", "steps_linear", "steps_nonlinear")),
             mem_mb=500, minutes=_runs_minutes),
    ),
)
