"""Paper C, Figure 1 (spec group L1): a minimal model of the rich and lazy regimes.

Spec ``lambda-balanced.md`` section 4 (L1) and section 5 (checks 4, 9, 10). Only the caption fragment of the
paper's Figure 1 is known [P]: "panel B: network output for an example task over training time; simulations
solid, analytical solutions dotted". The paper's other panels were not recovered; here A (schematic of the
lambda-balanced two-layer network) and C (NTK kernel distance to the initial kernel over training, the
rich/lazy contrast) are reconstructions. One random whitened regression task (3-3-3, P=10), one draw of the
authors' initialisation recipe shared by all lambda (same network function at t=0), lambda = -10 (lazy,
large first layer), 0 (rich) and +10 (lazy, large second layer).
"""

from __future__ import annotations

import numpy as np

from ... import io, plotting, simulate
from ... import lambda_balanced as lb
from ..shared import network_schematic
from ..steps import Figure, Step
from ._common import assemble, bound, c_minutes, max_dev, run_pair, symlog_label

FIG = "c1"


def compute(cfg: dict):
    """Run the L1 protocol. ``cfg``: the ``paper_c.fig1`` config section."""
    ni, nh, no = cfg["n_in"], cfg["n_hidden"], cfg["n_out"]
    task = lb.standard_regression(ni, no, cfg["n_samples"], np.random.default_rng(cfg["seed"]))
    eta, n_steps = cfg["learning_rate"], cfg["n_steps"]
    keep = simulate.log_steps(n_steps, cfg["n_plot_points"])
    x_item = task.x[:, cfg["item"]]
    frames = [io.records(task.sigma_yx @ x_item, quantity="output", source="target", figure=FIG, panel="B")]
    for lam in cfg["lambdas"]:
        w1, w2 = lb.lambda_balanced(ni, nh, no, lam, np.random.default_rng([cfg["seed"], 1]), sigma=cfg["sigma"],
                                    sigma_yx=task.sigma_yx)
        run = run_pair(w1, w2, task.sigma_yx, lam, eta, n_steps)
        meta = dict(figure=FIG, condition=f"lambda={lam:g}", seed=cfg["seed"], learning_rate=eta)
        for src in ("simulation", "exact"):
            quads = run[src]
            out = quads["W2W1"] @ x_item
            qq = assemble(quads)
            dist = lb.kernel_distance(qq[:1], qq, ni, task.x)
            frames.append(io.records(out[keep], quantity="output", source=src, panel="B", steps=keep, **meta))
            frames.append(io.records(dist[keep], quantity="kernel_distance", source=src, panel="C", steps=keep, **meta))
            run[src + "_out"], run[src + "_dist"] = out, dist
        summary = {
            "max_dev_output": np.max(np.abs(run["simulation_out"] - run["exact_out"])),
            "range_output": np.ptp(run["exact_out"]),
            "max_dev_qqt": max_dev(run["simulation"], run["exact"]),
            "max_dev_distance": np.max(np.abs(run["simulation_dist"] - run["exact_dist"])),
            "final_output_error": np.max(np.abs(run["simulation_out"][-1] - task.sigma_yx @ x_item)),
            "balance_drift": np.max(np.abs(lb.balance(run["w1"], run["w2"]) - lam * np.eye(nh))),
        }
        for name, val in summary.items():
            frames.append(io.records(val, quantity=name, source="summary", panel="B", **meta))
    return io.concat(frames)


def checks(df, cfg: dict):
    """Acceptance checks (spec section 5: 4 closed form vs GD, 10 curves overlap, 9 rich vs lazy; thresholds:
    ``cfg["checks"]``)."""
    t = cfg["checks"]
    rows = []
    g = lambda q, lam: io.scalar(df, quantity=q, condition=f"lambda={lam:g}", source="summary")  # noqa: E731
    for lam in cfg["lambdas"]:
        rel = g("max_dev_output", lam) / g("range_output", lam)
        lim = t["output_rel_dev"]
        rows.append((f"lambda={lam:g}: max |output_sim - output_exact| / output range (every step)", rel,
                     f"<= {bound(lim)}", rel <= lim))
        lim = t["qqt_dev"] * max(1.0, abs(lam))
        rows.append((f"lambda={lam:g}: max |QQt_sim - QQt_exact| over every step, eta={cfg['learning_rate']:g}",
                     g("max_dev_qqt", lam), f"<= {lim:g} ({bound(t['qqt_dev'])} max(1,|lambda|))",
                     g("max_dev_qqt", lam) <= lim))
        lim = t["final_output_error"]
        rows.append((f"lambda={lam:g}: |output - target| at the last step", g("final_output_error", lam),
                     f"<= {bound(lim)}", g("final_output_error", lam) <= lim))
        rows.append((f"lambda={lam:g}: GD balance drift max|W2'W2 - W1W1' - lambda I|", g("balance_drift", lam),
                     "(reported)", True))
    dist = {lam: io.to_array(df, quantity="kernel_distance", source="exact", condition=f"lambda={lam:g}")[1][-1]
            for lam in cfg["lambdas"]}
    rich = dist.get(0.0, np.nan)
    lazy = max(v for lam, v in dist.items() if lam != 0)
    lim = t["rich_lazy_ratio"]
    rows.append(("kernel distance S(0, t_end): lambda=0 (rich) / max over lambda != 0 (lazy)", rich / lazy,
                 f">= {bound(lim)}", bool(rich / lazy >= lim)))
    for lam, v in dist.items():
        rows.append((f"lambda={lam:g}: S(0, t_end) (exact)", float(v), "(reported)", True))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Figure L1: schematic (A), outputs over training per lambda (B), kernel distance (C)."""
    plotting.apply_style()
    fig = plotting.figure(11.0, 3.0)
    lams = cfg["lambdas"]
    ax_a = fig.add_axes([0.015, 0.3, 0.15, 0.6])
    network_schematic(ax_a, cfg["n_in"], cfg["n_hidden"], cfg["n_out"])
    ax_a.text(1.0, -2.05, "$W_2^\\top W_2 - W_1W_1^\\top = \\lambda I$", ha="center", fontsize=7)
    ax_a.set_ylim(-2.3, 1.45)
    plotting.panel_label(ax_a, "A", dx=-0.05)
    _, target = io.to_array(df, quantity="output", source="target")
    width = 0.155
    tags = {True: "rich", False: "lazy"}
    for i, lam in enumerate(lams):
        ax = fig.add_axes([0.22 + i * (width + 0.045), 0.3, width, 0.58])
        cond = f"lambda={lam:g}"
        steps, sim = io.to_array(df, quantity="output", source="simulation", condition=cond)
        _, ex = io.to_array(df, quantity="output", source="exact", condition=cond)
        x = np.maximum(steps, 1)
        plotting.sim_exact(ax, x, sim, ex, colors=plotting.PALETTE)
        xmax = x[-1] * 1.6
        for j, yv in enumerate(np.atleast_1d(target[0])):
            ax.hlines(yv, xmax / 1.3, xmax, color=plotting.PALETTE[j], lw=2.5)
        ax.set_xscale("log")
        ax.set_xlim(1, xmax)
        ax.set_xlabel("training step")
        if i == 0:
            ax.set_ylabel(f"network output $\\hat y$ (item {cfg['item'] + 1})")
            plotting.panel_label(ax, "B")
        ax.set_title(f"{symlog_label(lam)} ({tags[lam == 0]})")
    ax_c = fig.add_axes([0.22 + 3 * (width + 0.045) + 0.01, 0.3, width, 0.58])
    for i, lam in enumerate(lams):
        cond = f"lambda={lam:g}"
        steps, sim = io.to_array(df, quantity="kernel_distance", source="simulation", condition=cond)
        _, ex = io.to_array(df, quantity="kernel_distance", source="exact", condition=cond)
        plotting.sim_exact(ax_c, np.maximum(steps, 1), sim, ex, color=plotting.PALETTE[i + 3])
        ax_c.plot([], [], color=plotting.PALETTE[i + 3], label=symlog_label(lam))
    ax_c.set_xscale("log")
    ax_c.set_xlabel("training step")
    ax_c.set_ylabel("kernel distance $S(0,t)$")
    leg = ax_c.legend(frameon=False, loc="upper left", title="($\\pm\\lambda$ coincide)", title_fontsize=6)
    ax_c.add_artist(leg)
    plotting.legend_sim_exact(ax_c, loc="center right")
    ax_c.set_title("NTK movement")
    plotting.panel_label(ax_c, "C")
    plotting.caption(fig, (
        f"Random whitened regression task ({cfg['n_in']}-{cfg['n_hidden']}-{cfg['n_out']} network, P={cfg['n_samples']}, "
        f"Y ~ N(0,1)); one draw of the authors' lambda-balanced initialisation (sigma={cfg['sigma']:g}) shared by all lambda; "
        f"GD eta={cfg['learning_rate']:g}; solid = simulation, dotted = exact solution (spec 2.3a). B: outputs (one colour per "
        f"output unit) for item {cfg['item'] + 1}; bars = targets. Only panel B's content is known from the paper's "
        "caption [P]; the task, widths, lambda values and panels A and C are reconstructions (spec L1: not found). "
        "C: kernel distance 1 - <Theta_0, Theta_t>/(|Theta_0||Theta_t|) (spec 2.6)."))
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
FIGURE = Figure(
    id="c1", paper="paper_c", name="fig1", checks=checks, draw=draw,
    steps=(
        Step("c1_compute", compute, "fig1",
             keys=("seed", "n_in", "n_hidden", "n_out", "n_samples", "sigma", "lambdas", "learning_rate", "n_steps",
                   "item", "n_plot_points"),
             # 4.2 s of CPU at full scale (40 000 steps, 3 lambdas)
             mem_mb=600, minutes=lambda c, n: c_minutes(4.2 * c["n_steps"] / 4e4 * len(c["lambdas"]) / 3)),
    ),
)
