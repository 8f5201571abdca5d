"""Paper A, Figure 2: exact learning dynamics.

Spec ``exact-dynamics.md`` section 6 (Figure 2) and section 7 (checks).
A/B: loss, ``W2W1``, ``W1^T W1``, ``W2 W2^T`` and the NTK vs step for a small (A) and a large (B)
zero-balanced initialisation of a (4, 5, 3) network on a teacher-student task; simulation
coloured, Theorem 3.1 dotted. C: mean squared deviation between simulated and exact loss vs
learning rate for 50 random architectures on random-regression tasks; D: five (network,
learning rate) pairs of C, simulated and exact loss curves.
"""

from __future__ import annotations

import numpy as np

from ... import exact, init, io, metrics, plotting, simulate, tasks
from ..steps import Figure, Step, sweep_minutes

AB_PANELS = ("A", "B")
PRECISION_NOTE = {
    "float32": " as the authors' JAX code (the stopping rule |dL| < 1e-15 then fires right after step min_steps for "
               "the larger learning rates)",
    "float64": " (the authors trained in float32; float64 runs more steps before the stopping rule fires)",
}
QUANTITIES = ("loss", "W2W1", "W1tW1", "W2W2t", "ntk")
LABELS = {"loss": "loss", "W2W1": "$W_2W_1$", "W1tW1": "$W_1^TW_1$", "W2W2t": "$W_2W_2^T$", "ntk": "NTK"}
COLOURS = {"loss": "#000000", "W2W1": "#0071b2", "W1tW1": "#d65c00", "W2W2t": "#009e73", "ntk": "#cc79a7"}


# --------------------------------------------------------------------------- panels A/B
def compute_ab(cfg: dict):
    """Panels A and B: every step simulated and evaluated in closed form; deviations on every
    step, trajectories stored on a log-spaced step grid. ``cfg``: ``paper_a.fig2`` section."""
    c = cfg["ab"]
    rng = np.random.default_rng(c["seed"])
    ni, nh, no = c["n_in"], c["n_hidden"], c["n_out"]
    task, _ = tasks.teacher_student(ni, nh, no, c["n_samples"], c["sigma_teacher"], rng)
    eta, n_steps = c["learning_rate"], c["n_steps"]
    steps = np.arange(n_steps + 1)
    keep = simulate.log_steps(n_steps, c["n_plot_points"])
    frames = []
    for panel, sigma in zip(AB_PANELS, c["sigmas"]):
        w1, w2 = init.zero_balanced(ni, nh, no, sigma, rng)
        tr = simulate.gd_linear(w1, w2, task.sigma_yx, eta, n_steps, sigma_yy=task.sigma_yy,
                                record_steps=steps, record=("W2W1", "W1tW1", "W2W2t"))
        q = exact.qqt(w1, w2, task.sigma_yx, steps * eta)
        quad = metrics.split_qqt(q, ni)
        series = {
            "simulation": {"loss": tr.loss, **tr.records},
            "exact": {"loss": metrics.loss(quad["W2W1"], task.sigma_yx, task.sigma_yy), **quad},
        }
        for src in series:
            series[src]["ntk"] = metrics.ntk(series[src]["W1tW1"], series[src]["W2W2t"], task.x)
        meta = dict(figure="a2", panel=panel, condition=f"sigma={sigma:g}", seed=c["seed"], learning_rate=eta)
        for src, qs in series.items():
            for name in QUANTITIES:
                frames.append(io.records(qs[name][keep], quantity=name, source=src, steps=keep, **meta))
        sim_q = np.block([[series["simulation"]["W1tW1"], np.swapaxes(series["simulation"]["W2W1"], 1, 2)],
                          [series["simulation"]["W2W1"], series["simulation"]["W2W2t"]]])
        summary = {
            "max_dev_qqt": np.max(np.abs(sim_q - q)),
            "max_dev_ntk": np.max(np.abs(series["simulation"]["ntk"] - series["exact"]["ntk"])),
            "max_abs_ntk": np.max(np.abs(series["exact"]["ntk"])),
            "max_dev_loss": np.max(np.abs(series["simulation"]["loss"] - series["exact"]["loss"])),
            "limit_dev": np.max(np.abs(exact.qqt(w1, w2, task.sigma_yx, c["limit_time"])[0]
                                       - exact.limit(task.sigma_yx))),
        }
        for name, val in summary.items():
            frames.append(io.records(val, quantity=name, source="summary", **meta))
    return io.concat(frames)


# --------------------------------------------------------------------------- panels C/D
def _sweep_dims(rng: np.random.Generator, c: dict) -> tuple[int, int, int, int]:
    """``(Ni, Nh, No, N)`` of a panel-C network: the first draws of its generator (:func:`sweep_network`)."""
    lo, hi = c["dim_range"]
    ni, no = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))
    if ni == no:
        no += 1
    nh = int(rng.integers(min(ni, no), hi + 1))
    m = max(ni, no, nh)
    return ni, nh, no, int(rng.integers(2 * m, 3 * m))


def sweep_network(seed: int, c: dict) -> dict:
    """Draw the random architecture, task and initial weights of one panel-C network (spec Fig. 2C)."""
    rng = np.random.default_rng(seed)
    ni, nh, no, n = _sweep_dims(rng, c)
    m = max(ni, no, nh)
    task = tasks.random_regression(ni, no, n, rng)
    sigma = float(rng.uniform(*c["sigma_range"])) / np.sqrt(m)
    w1, w2 = init.zero_balanced(ni, nh, no, sigma, rng)
    return dict(ni=ni, nh=nh, no=no, n=n, sigma=sigma, task=task, w1=w1, w2=w2)


def stop_index(loss: np.ndarray, c: dict) -> int:
    """Index of the last step of the spec's early-stopping rule (Fig. 2C): the first step ``k`` with
    ``k > min_steps``, ``|L[k] - L[k-1]| < tol`` and ``L[k] < L[0] - drop``; else the last step."""
    k = np.arange(len(loss))
    ok = (k > c["min_steps"]) & (np.abs(np.diff(loss, prepend=np.inf)) < c["tol"]) & (loss < loss[0] - c["drop"])
    idx = np.flatnonzero(ok)
    return int(idx[0]) if idx.size else len(loss) - 1


def picks(c: dict) -> set[tuple[int, int]]:
    """The (network index, learning-rate index) pairs shown in panel D (fixed by ``pick_seed``)."""
    n_eta = len(learning_rates(c))
    rng = np.random.default_rng(c["pick_seed"])
    flat = rng.choice(c["n_networks"] * n_eta, size=min(c["n_picks"], c["n_networks"] * n_eta), replace=False)
    return {(int(f // n_eta), int(f % n_eta)) for f in flat}


def learning_rates(c: dict) -> np.ndarray:
    return np.geomspace(c["eta_max"], c["eta_min"], c["n_etas"])


def sweep_precision(c: dict):
    """NumPy dtype of the panel-C/D training (``sweep.precision``: ``float32`` as the authors' JAX code, or
    ``float64``); the closed form is always evaluated in float64."""
    return np.dtype(c["precision"]).type


def sweep_training(net: dict, c: dict):
    """Panel C/D training of one network (spec Fig. 2C): full-batch GD on the correlation matrices, its
    learning rates trained as one batch (they share the layer shapes) in ``sweep.precision``, until every
    learning rate has met the stopping rule (checked every 500 steps; later steps never change earlier
    ones). Returns the :class:`learndyn.simulate.Trajectory` (``loss (S+1, n_etas)``) and the stop index
    per learning rate."""
    etas = learning_rates(c)
    task = net["task"]
    done = lambda losses: all(stop_index(losses[:, j], c) < len(losses) - 1 for j in range(len(etas)))  # noqa: E731
    tr = simulate.gd_linear(net["w1"], net["w2"], task.sigma_yx, etas, c["max_steps"],
                            sigma_yy=task.sigma_yy, record=(), until=done, dtype=sweep_precision(c))
    return tr, [stop_index(tr.loss[:, j], c) for j in range(len(etas))]


def sweep_exact_losses(net: dict, etas, n_steps) -> list[np.ndarray]:
    """Closed-form loss (Theorem 3.1, spec 2.3) at every step ``0..n_steps[j]`` of learning rate ``etas[j]``
    (``t = k * eta``): the Theorem-3.1 factors once per network, shared by its learning rates, and all
    time grids evaluated in one vectorised call (:func:`learndyn.exact.loss_from_factors`)."""
    task = net["task"]
    f = exact.riccati_factors(net["w1"], net["w2"], task.sigma_yx)
    grids = [np.arange(k + 1) * eta for eta, k in zip(etas, n_steps)]
    ana = exact.loss_from_factors(f, np.concatenate(grids), metrics.optimal_loss(task.sigma_yx, task.sigma_yy))
    return np.split(ana, np.cumsum([len(g) for g in grids])[:-1])


def sweep_batch(c: dict, batch: int, n_batches: int) -> list[int]:
    """The panel-C networks of job ``batch`` of ``n_batches``: a balanced split (largest estimated cost first, each
    to the batch with the least work so far), since the cost per network ranges over ~30x (it grows with
    ``min(Ni, No)^3`` for the closed form and ``Ni Nh No`` for the training). Deterministic; each network lands in
    exactly one batch, so the batch count changes only which file holds a network's rows."""
    cost = []
    for i in range(c["n_networks"]):
        ni, nh, no, _ = _sweep_dims(np.random.default_rng(c["seed0"] + i), c)   # the widths only, not the tasks
        cost.append(7.5e5 + 200.0 * min(ni, no) ** 3 + 41.0 * ni * nh * no)   # ~us at full scale
    load = [0.0] * n_batches
    items: list[list[int]] = [[] for _ in range(n_batches)]
    for i in sorted(range(len(cost)), key=lambda j: (-cost[j], j)):
        b = min(range(n_batches), key=lambda m: (load[m], m))
        load[b] += cost[i]
        items[b].append(i)
    return sorted(items[batch])


def compute_sweep(cfg: dict, batch: int = 0, n_batches: int = 1):
    """Panel C/D networks of job ``batch`` of ``n_batches`` (:func:`sweep_batch`): GD batched over the learning
    rates (which share shapes), exact loss at every step, MSE of the deviation per (network, eta)."""
    return io.concat(sweep_network_rows(cfg, i) for i in sweep_batch(cfg["sweep"], batch, n_batches))


def sweep_network_rows(cfg: dict, i: int):
    """The rows of panel-C network ``i`` (and of its panel-D pairs): :func:`sweep_training`, then
    :func:`sweep_exact_losses` at every step up to each learning rate's stop, and the MSE of the deviation."""
    c = cfg["sweep"]
    etas = learning_rates(c)
    shown = picks(c)
    frames = []
    seed = c["seed0"] + i
    net = sweep_network(seed, c)
    tr, stops = sweep_training(net, c)
    analytic = sweep_exact_losses(net, etas, stops)
    meta = dict(figure="a2", panel="C", condition=f"network={i}", seed=seed)
    for name in ("ni", "nh", "no", "n", "sigma"):
        frames.append(io.records(net[name], quantity=name, source="summary", **meta))
    for j, (eta, k, ana) in enumerate(zip(etas, stops, analytic)):
        sim = tr.loss[: k + 1, j]
        mse = float(np.mean((sim - ana) ** 2))
        frames.append(io.records(mse, quantity="loss_mse", source="summary", learning_rate=eta, **meta))
        frames.append(io.records(k, quantity="n_steps", source="summary", learning_rate=eta, **meta))
        if (i, j) in shown:
            keep = simulate.log_steps(min(k, c["d_steps"]), c["n_plot_points"])
            dmeta = dict(meta, panel="D", learning_rate=eta)
            frames.append(io.records(sim[keep], quantity="loss", source="simulation", steps=keep, **dmeta))
            frames.append(io.records(ana[keep], quantity="loss", source="exact", steps=keep, **dmeta))
    return io.concat(frames)


# --------------------------------------------------------------------------- checks
def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 2 (thresholds: ``cfg["checks"]``)."""
    c, s, t = cfg["ab"], cfg["sweep"], cfg["checks"]
    rows = []
    for panel, sigma in zip(AB_PANELS, c["sigmas"]):
        g = lambda q: io.scalar(df, panel=panel, quantity=q, source="summary")  # noqa: E731
        qq_t, loss_t = t[f"qqt_dev_{panel}"], t[f"loss_dev_{panel}"]
        rows.append((f"{panel} (sigma={sigma:g}): max |QQt_sim - QQt_exact| over all steps", g("max_dev_qqt"),
                     f"<= {qq_t:g}", g("max_dev_qqt") <= qq_t))
        rel = g("max_dev_ntk") / g("max_abs_ntk")
        rows.append((f"{panel}: max |NTK_sim - NTK_exact| / max |NTK|", rel, f"<= {t['ntk_rel_dev']:g}",
                     rel <= t["ntk_rel_dev"]))
        rows.append((f"{panel}: max |loss_sim - loss_exact|", g("max_dev_loss"), f"<= {loss_t:g}",
                     g("max_dev_loss") <= loss_t))
        rows.append((f"{panel}: |Thm 3.1 at t={c['limit_time']:g} - Thm 3.2 limit|", g("limit_dev"),
                     f"<= {t['limit_dev']:g}", g("limit_dev") <= t["limit_dev"]))
    mse = io.select(df, panel="C", quantity="loss_mse")
    table = mse.pivot(index="seed", columns="learning_rate", values="value").sort_index(axis=1, ascending=False)
    vals = table.to_numpy()                                   # (networks, etas) from largest to smallest eta
    n_mono = int(np.sum(np.all(np.diff(vals, axis=1) < 0, axis=1)))
    rows.append(("C: networks whose loss-MSE decreases strictly as eta decreases", n_mono,
                 f"== {len(vals)} (all)", n_mono == len(vals) and len(vals) == s["n_networks"]))
    rows.append(("C: max loss-MSE over all networks and learning rates", float(vals.max()), f"< {t['loss_mse_max']:g}",
                 float(vals.max()) < t["loss_mse_max"]))
    ratio = vals[:, 0] / vals[:, -1]
    rows.append((f"C: min over networks of MSE(eta={s['eta_max']:g}) / MSE(eta={s['eta_min']:g})", float(ratio.min()),
                 f">= {t['mse_ratio_min']:g}", float(ratio.min()) >= t["mse_ratio_min"]))
    rows.append(("C: median of that ratio", float(np.median(ratio)), "(reported)", True))
    for eta, med in zip(table.columns, np.median(vals, axis=0)):
        rows.append((f"C: median loss-MSE at eta={eta:.4g}", float(med), "(reported)", True))
    return io.check_table(rows)


# --------------------------------------------------------------------------- drawing
def draw(df, cfg: dict):
    """Figure 2: rows A and B (five quantities each), C (MSE vs eta) and D (five loss curves)."""
    c, s = cfg["ab"], cfg["sweep"]
    plotting.apply_style()
    fig = plotting.figure(11.0, 8.2)
    gs = fig.add_gridspec(3, 5, left=0.08, right=0.98, top=0.95, bottom=0.14, hspace=0.55, wspace=0.38)
    ylims = {"loss": (-0.075, 0.8), "W1tW1": (-0.3, 1.2), "W2W2t": (-0.7, 1.1), "ntk": (-7, 8)}
    for r, (panel, sigma) in enumerate(zip(AB_PANELS, c["sigmas"])):
        for col, q in enumerate(QUANTITIES):
            ax = fig.add_subplot(gs[r, col])
            steps, sim = io.to_array(df, panel=panel, quantity=q, source="simulation")
            _, ex = io.to_array(df, panel=panel, quantity=q, source="exact")
            x = np.maximum(steps, 1)
            flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
            lw = 0.5 if q == "ntk" else 1.2
            plotting.sim_exact(ax, x, flat(sim), flat(ex), color=COLOURS[q], lw=lw, exact_lw=0.6 if q == "ntk" else 1.0)
            ax.set_xscale("log")
            ax.set_xticks([1, 100, 10_000])
            if q in ylims:  # the original limits, widened if this draw's curves leave them
                lo, hi = ylims[q]
                data_lo, data_hi = float(min(sim.min(), ex.min())), float(max(sim.max(), ex.max()))
                ax.set_ylim(min(lo, data_lo * 1.05), max(hi, data_hi * 1.05))
            ax.set_xlabel("training step")
            ax.set_title(LABELS[q])
            if col == 0:
                ax.set_ylabel(f"{'small' if panel == 'A' else 'large'} init. ($\\sigma$={sigma:g})")
                plotting.panel_label(ax, panel, dx=-0.42)
            if r == 0 and col == 0:
                plotting.legend_sim_exact(ax, loc="upper right")
    # panel C
    axc = fig.add_subplot(gs[2, 0:2])
    mse = io.select(df, panel="C", quantity="loss_mse")
    table = mse.pivot(index="seed", columns="learning_rate", values="value")
    for _, row in table.iterrows():
        axc.plot(table.columns, row.to_numpy(), color="0.6", lw=0.7, marker=".", ms=2)
    shown = sorted(picks(s))
    etas = learning_rates(s)
    for n, (i, j) in enumerate(shown):
        v = table.loc[s["seed0"] + i, etas[j]] if (s["seed0"] + i) in table.index else None
        if v is not None:
            axc.plot([etas[j]], [v], marker="x", color=plotting.PALETTE[n], ms=7, mew=1.5, zorder=5)
    axc.set_xscale("log"); axc.set_yscale("log")
    axc.set_xticks([s["eta_min"], s["eta_max"]]); axc.set_xticklabels([f"{s['eta_min']:g}", f"{s['eta_max']:g}"])
    axc.set_xlabel("learning rate $\\eta$")
    axc.set_ylabel("MSE(loss$_{sim}$, loss$_{exact}$)")
    axc.set_title(f"{table.shape[0]} random networks")
    plotting.panel_label(axc, "C", dx=-0.2)
    # panel D
    axd = fig.add_subplot(gs[2, 2:4])
    for n, (i, j) in enumerate(shown):
        sel = dict(panel="D", condition=f"network={i}", learning_rate=etas[j], quantity="loss")
        try:
            steps, sim = io.to_array(df, source="simulation", **sel)
        except KeyError:
            continue
        _, ex = io.to_array(df, source="exact", **sel)
        x = np.maximum(steps, 1)
        plotting.sim_exact(axd, x, sim, ex, color=plotting.PALETTE[n])
    axd.set_xscale("log"); axd.set_yscale("log")
    axd.set_xlabel("training step"); axd.set_ylabel("loss")
    axd.set_title(f"{len(shown)} (network, $\\eta$) pairs marked in C")
    plotting.panel_label(axd, "D", dx=-0.2)
    plotting.caption(fig, (
        f"A/B: ({c['n_in']}, {c['n_hidden']}, {c['n_out']}) network, teacher-student task (N={c['n_samples']}, teacher sigma="
        f"{c['sigma_teacher']:g}), eta={c['learning_rate']:g}, zero-balanced init. sigma={c['sigmas'][0]:g} (A; the "
        f"authors' code, the text says 0.01) and {c['sigmas'][1]:g} (B). Coloured = gradient descent, dotted = exact "
        f"solution (Theorem 3.1); NTK = all {c['n_out'] * c['n_samples']}x{c['n_out'] * c['n_samples']} entries. "
        f"C: mean squared deviation of simulated and exact loss for {s['n_networks']} random architectures (random "
        f"regression, widths in {s['dim_range']}) at {s['n_etas']} learning rates; crosses = the pairs of D. C/D trained in "
        f"{s['precision']}{PRECISION_NOTE[s['precision']]}; closed form in float64."))
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
def _sweep_minutes(c: dict, n_batches: int) -> float:
    # full scale, 8 cost-balanced batches (sweep_batch), float32: 303 s CPU in all, the largest network alone
    # 22-30 s (loaded 2-core machine); 15 s budgeted per network, scaled with steps and learning rates
    s = c["sweep"]
    return sweep_minutes(s["n_networks"], n_batches, 15 * s["max_steps"] / 20000 * s["n_etas"] / 7)


FIGURE = Figure(
    id="a2", paper="paper_a", name="fig2", checks=checks, draw=draw,
    steps=(
        Step("a2_exact", compute_ab, "fig2_AB",
             keys=("ab.seed", "ab.n_in", "ab.n_hidden", "ab.n_out", "ab.n_samples", "ab.sigma_teacher",
                   "ab.learning_rate", "ab.n_steps", "ab.sigmas", "ab.n_plot_points", "ab.limit_time"),
             # 4 s, max RSS 0.38 GB at 10 000 steps (0.24 GB at 2 000): every step is stored
             mem_mb=lambda c, n: 500 + c["ab"]["n_steps"] // 20, minutes=5),
        Step("a2_sweep", compute_sweep, "fig2_C", batch="a2_sweep",
             keys=tuple(f"sweep.{k}" for k in ("n_networks", "seed0", "dim_range", "sigma_range", "eta_max", "eta_min",
                                                "n_etas", "max_steps", "min_steps", "tol", "drop", "precision",
                                                "pick_seed", "n_picks", "d_steps", "n_plot_points")),
             mem_mb=1200, minutes=_sweep_minutes),
    ),
)
