"""Paper A, Figure 1: learning with prior knowledge (teacher-student, network outputs).

Spec ``exact-dynamics.md`` section 6 (Figure 1) and section 7 (checks). Panels:
A schematic of the two-layer network; B, C, D outputs of the first training items vs step for a
small (B), a large (C) and a second large (D) zero-balanced initialisation, simulation solid
and Theorem 3.1 dotted. Panel D: ``d_variant = "code"`` reproduces the authors' figure (another
random large balanced draw with a drawn flat "previously learned" segment); ``"prior_task"`` is the
faithful variant (spec proposal): the weights come from training to convergence on an
independent teacher task first.
"""

from __future__ import annotations

import numpy as np

from ... import exact, init, io, plotting, simulate, tasks
from ..shared import network_schematic
from ..steps import Figure, Step

PANELS = ("B", "C", "D")


def _outputs(w2w1: np.ndarray, x: np.ndarray, n_items: int) -> np.ndarray:
    """``(T, No, Ni)`` network functions -> ``(T, No, n_items)`` outputs of the first items."""
    return w2w1 @ x[:, :n_items]


def compute(cfg: dict) -> "io.pd.DataFrame":
    """Run the Figure 1 protocol. ``cfg``: the ``paper_a.fig1`` config section."""
    rng = np.random.default_rng(cfg["seed"])
    ni, nh, no = cfg["n_in"], cfg["n_hidden"], cfg["n_out"]
    task, _ = tasks.teacher_student(ni, nh, no, cfg["n_samples"], cfg["sigma_teacher"], rng)
    n_items, eta, n_steps = cfg["n_items"], cfg["learning_rate"], cfg["n_steps"]
    frames = [io.records(_outputs(task.sigma_yx[None], task.x, n_items)[0], quantity="output",
                         source="target", figure="a1", panel=p) for p in PANELS]

    runs = []  # (panel, condition, w1, w2, eta, n_steps)
    for panel, sigma in zip(PANELS, cfg["sigmas"]):
        w1, w2 = init.zero_balanced(ni, nh, no, sigma, rng)
        if panel == "D" and cfg["d_variant"] == "prior_task":
            prior, _ = tasks.teacher_student(ni, nh, no, cfg["n_samples"], cfg["sigma_teacher"], rng)
            pre = simulate.gd_linear(w1, w2, prior.sigma_yx, eta, cfg["prior_steps"], record=())
            w1, w2 = pre.w1, pre.w2
        runs.append((panel, f"sigma={sigma:g}", w1, w2, eta, n_steps))
    # the check of spec 7: the small-init deviation shrinks at a 10x smaller learning rate
    w1b, w2b = runs[0][2], runs[0][3]
    eta_f = cfg["check_learning_rate"]
    runs.append(("B", f"sigma={cfg['sigmas'][0]:g}", w1b, w2b, eta_f, int(round(n_steps * eta / eta_f))))

    for panel, cond, w1, w2, lr, ns in runs:
        steps = np.arange(ns + 1)
        tr = simulate.gd_linear(w1, w2, task.sigma_yx, lr, ns, record_steps=steps, record=("W2W1",))
        ex = exact.network_function(w1, w2, task.sigma_yx, steps * lr)
        for source, w in (("simulation", tr.records["W2W1"]), ("exact", ex)):
            frames.append(io.records(_outputs(w, task.x, n_items), quantity="output", source=source,
                                     figure="a1", panel=panel, condition=cond, seed=cfg["seed"],
                                     learning_rate=lr, steps=steps))
    return io.concat(frames)


def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 1 (thresholds: ``cfg["checks"]``)."""
    t = cfg["checks"]
    rows = []
    eta, eta_f = cfg["learning_rate"], cfg["check_learning_rate"]
    for panel, sigma in zip(PANELS, cfg["sigmas"]):
        base = dict(panel=panel, quantity="output", learning_rate=eta)
        _, sim = io.to_array(df, source="simulation", **base)
        _, ex = io.to_array(df, source="exact", **base)
        dev = float(np.max(np.abs(sim - ex)))
        lim = t[f"output_dev_{panel}"]
        rows.append((f"{panel} (sigma={sigma:g}): max |output_sim - output_exact|, eta={eta:g}", dev,
                     f"<= {lim:g}", dev <= lim))
        _, target = io.to_array(df, source="target", panel=panel, quantity="output")
        final = float(np.max(np.abs(sim[-1] - target[0])))
        lim = t["final_target_dev"]
        rows.append((f"{panel}: max |output - target| at the last step", final, f"<= {lim:g}", final <= lim))
    base = dict(panel="B", quantity="output", learning_rate=eta_f)
    _, sim = io.to_array(df, source="simulation", **base)
    _, ex = io.to_array(df, source="exact", **base)
    dev = float(np.max(np.abs(sim - ex)))
    lim = t["output_dev_check_eta"]
    rows.append((f"B: max |output_sim - output_exact| at eta={eta_f:g}", dev, f"<= {lim:g}", dev <= lim))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Figure 1: schematic (A) and outputs vs step for the three initialisations (B-D)."""
    plotting.apply_style()
    fig = plotting.figure(9.0, 2.9)
    axes = [fig.add_axes([0.03 + i * 0.245, 0.33, 0.19, 0.57]) for i in range(4)]
    network_schematic(axes[0], cfg["n_in"], cfg["n_hidden"], cfg["n_out"])
    plotting.panel_label(axes[0], "A", dx=-0.05)
    eta = cfg["learning_rate"]
    n_items = cfg["n_items"]
    colours = plotting.PALETTE
    titles = {"B": "small init.", "C": "large init.", "D": "prior knowledge" if cfg["d_variant"] == "prior_task"
              else "large init. (second draw)"}
    for ax, panel, sigma in zip(axes[1:], PANELS, cfg["sigmas"]):
        base = dict(panel=panel, quantity="output", learning_rate=eta)
        steps, sim = io.to_array(df, source="simulation", **base)
        _, ex = io.to_array(df, source="exact", **base)
        _, target = io.to_array(df, source="target", panel=panel, quantity="output")
        x = np.maximum(steps, 1)  # log axis: step 0 is drawn at 1 like the original
        xmax = cfg["n_steps"] * 1.6
        for item in range(n_items):
            c = colours[item % len(colours)]
            plotting.sim_exact(ax, x, sim[:, :, item], ex[:, :, item], color=c)
            ax.hlines(target[0, :, item], xmax / 1.25, xmax, color=c, lw=2.5)
        if panel == "D":
            for item in range(n_items):
                ax.hlines(sim[0, :, item], 0.57, 1.0, color=colours[item % len(colours)], lw=1.2)
            ax.axvline(1.0, color="0.4", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(0.5 if panel == "D" else 1, xmax)
        ax.set_ylim(-2.2, 2.2)
        ax.set_xlabel("training step")
        ax.set_ylabel("network output $\\hat y$")
        ax.set_title(f"{titles[panel]}, $\\sigma$={sigma:g}")
        plotting.panel_label(ax, panel)
    plotting.legend_sim_exact(axes[1], loc="lower left")
    note = ("Panels B-D: outputs (2 units) of the first %d training items, one colour per item; solid = gradient descent "
            "(eta=%g), dotted = exact solution (Theorem 3.1); bars at the right = targets. " % (n_items, eta))
    if cfg["d_variant"] == "code":
        note += ("Panel D reproduces the authors' figure: an independent large balanced draw, with the flat segment before "
                 "step 1 only drawn to suggest a previously learned state (config paper_a.fig1.d_variant='prior_task' "
                 "trains on an independent teacher first).")
    else:
        note += ("Panel D (proposal, spec Fig. 1): the network was first trained to convergence on an independent teacher "
                 "task; the flat segment before step 1 is that learned state.")
    plotting.caption(fig, note)
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="a1", paper="paper_a", name="fig1", checks=checks, draw=draw,
    steps=(
        Step("a1_compute", compute, "fig1",
             # prior_steps: read only with d_variant = prior_task
             keys=("seed", "n_in", "n_hidden", "n_out", "n_samples", "sigma_teacher", "learning_rate", "n_steps",
                   "sigmas", "n_items", "d_variant", "prior_steps", "check_learning_rate"),
             # benchmark (full = smoke scale): 3 s, max RSS 0.2 GB
             mem_mb=500, minutes=5),
    ),
)
