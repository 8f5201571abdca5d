"""Paper A, Figure 8 (Appendix D): error of the internal representation at convergence vs initial gain.

Spec ``exact-dynamics.md`` section 6 (Figure 8), 4.2 (Gaussian init), 4.4 (zero-balanced variant of this
figure), 5.8 (targets), 7 (checks), 9 (decisions 6, 7, 17). Panels: A ``||W1^T W1 - V~ S~ V~^T||_F^2`` and
B ``||W2 W2^T - U~ S~ U~^T||_F^2`` after training to ``l_code < tol``, mean (line) +- std (shaded) over trials
vs the gain ``std(W1(0)) / sqrt(Nh)`` (averaged over trials); zero-balanced initialisations dotted, Gaussian
solid; one colour per task. Sum convention with ``X = I`` (spec 1.1): the whitened problem with ``sigma_yx = Y``.
"""

from __future__ import annotations

import numpy as np

from ... import init, io, metrics, plotting, simulate, tasks
from ..steps import Figure, Step

SCHEMES = ("balanced", "gaussian")
COLOURS = {"hierarchy": "#d65c00", "7x7": "#0071b2", "7x5": "#009e73", "5x7": "#e59c00"}
PANELS = {"A": ("W1tW1", "$\\|W_1^TW_1-\\tilde V\\tilde S\\tilde V^T\\|_F^2$"),
          "B": ("W2W2t", "$\\|W_2W_2^T-\\tilde U\\tilde S\\tilde U^T\\|_F^2$")}


def targets(cfg: dict) -> dict[str, np.ndarray]:
    """The weighted 8x8 hierarchy and the random targets (spec 5.8; the random ones are the proposal:
    ``Y ~ N(0, 1)`` of shape ``(No, Ni)``, numpy seed ``[task_seed, i]``, redrawn below ``min_singular_value``)."""
    out = {"hierarchy": tasks.WEIGHTED_HIERARCHY.copy()}
    for i, (no, ni) in enumerate(cfg["random_tasks"]):
        rng = np.random.default_rng([cfg["task_seed"], i])
        out[f"{no}x{ni}"] = tasks.random_target(no, ni, rng, cfg["min_singular_value"])
    return out


def gains(cfg: dict, scheme: str) -> np.ndarray:
    """Initial scales ``l`` of a scheme: ``linspace(min, max, n)`` (spec 6, Fig. 8)."""
    g = cfg[f"{scheme}_gain"]
    return np.linspace(g["min"], g["max"], g["n"])


def items(cfg: dict) -> list[tuple[int, int, int]]:
    """Every (task index, scheme index, gain index) of the sweep."""
    n_tasks = 1 + len(cfg["random_tasks"])
    return [(t, s, g) for t in range(n_tasks) for s in range(len(SCHEMES)) for g in range(len(gains(cfg, SCHEMES[s])))]


def condition(task: str, scheme: str, g: int) -> str:
    return f"{task}/{scheme}/{g}"


def draw_init(cfg: dict, y: np.ndarray, scheme: str, scale: float, rng: np.random.Generator):
    """``n_trials`` initialisations ``(W1 (B, Nh, Ni), W2 (B, No, Nh))``: the zero-balanced variant of
    spec 4.4 (with the det-sign rule of spec 1.3 for square targets) or i.i.d. ``N(0, scale^2)`` (spec 4.2)."""
    no, ni = y.shape
    nh = cfg["n_hidden"]
    if scheme == "balanced":
        pairs = [init.zero_balanced_direct(ni, nh, no, scale, rng, sigma_yx=y) for _ in range(cfg["n_trials"])]
    else:
        pairs = [init.random_normal(ni, nh, no, scale, rng) for _ in range(cfg["n_trials"])]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def compute_sweep(cfg: dict, batch: int = 0, n_batches: int = 1):
    """Sweep items ``batch, batch + n_batches, ...`` of :func:`items`: all trials of one (task, scheme, gain)
    in one batched GD run, each trial stopped at its first step with ``l_code < tol`` (spec 1.1), where
    its weight correlations are taken."""
    tgs = targets(cfg)
    names = list(tgs)
    frames = []
    if batch == 0:
        frames += [io.records(y, quantity="target", source="target", figure="a8", condition=k) for k, y in tgs.items()]
    for t, s, g in items(cfg)[batch::n_batches]:
        task, scheme = names[t], SCHEMES[s]
        y = tgs[task]
        scale = gains(cfg, scheme)[g]
        rng = np.random.default_rng([cfg["seed"], t, s, g])
        w1, w2 = draw_init(cfg, y, scheme, scale, rng)
        run = simulate.gd_linear_until(w1, w2, y, cfg["learning_rate"], cfg["max_steps"],
                                       lambda w: metrics.code_loss(w, y) < cfg["tol"], chunk=cfg["chunk"],
                                       at_stop=("W2W1", "W1tW1", "W2W2t"))
        e1, e2 = metrics.representation_error(run.at_stop["W1tW1"], run.at_stop["W2W2t"], y)
        meta = dict(figure="a8", condition=condition(task, scheme, g), seed=cfg["seed"],
                    learning_rate=cfg["learning_rate"], source="summary")
        per_trial = {
            "scale": np.full(cfg["n_trials"], scale),
            "gain": np.std(w1, axis=(1, 2)) / np.sqrt(cfg["n_hidden"]),
            "stop_step": run.stop,
            "final_max_abs_error": np.max(np.abs(run.at_stop["W2W1"] - y), axis=(1, 2)),
            "balance_0": np.linalg.norm(init.balancedness(w1, w2), axis=(1, 2)),
        }
        frames.append(io.records(e1, quantity="error", panel="A", **meta))
        frames.append(io.records(e2, quantity="error", panel="B", **meta))
        for name, val in per_trial.items():
            frames.append(io.records(val, quantity=name, **meta))
    return io.concat(frames)


def _curve(df, task: str, scheme: str, cfg: dict, panel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean gain, mean error and std of the error over trials, one entry per gain of the scheme."""
    out = []
    for g in range(len(gains(cfg, scheme))):
        cond = condition(task, scheme, g)
        _, err = io.to_array(df, condition=cond, panel=panel, quantity="error")
        _, gain = io.to_array(df, condition=cond, quantity="gain")
        out.append((gain.mean(), err.mean(), err.std()))
    return tuple(np.array(v) for v in zip(*out))


def _final_errors(df, task: str, scheme: str, cfg: dict) -> np.ndarray:
    """``max |W2W1 - Y|`` at the stop step of every trial of a (task, scheme), all gains."""
    return np.concatenate([io.to_array(df, condition=condition(task, scheme, g), quantity="final_max_abs_error")[1][0]
                           for g in range(len(gains(cfg, scheme)))])


def _blindness(y: np.ndarray) -> float:
    """``min_i |1^T u_i|`` over the target's left singular vectors: how weakly l_code sees its worst mode."""
    u = np.linalg.svd(y)[0][:, : min(y.shape)]
    return float(np.min(np.abs(u.sum(axis=0))))


def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 8 (the spec's Gaussian checks are for the hierarchy;
    the balanced bound is applied to every task; thresholds: ``cfg["checks"]``)."""
    t = cfg["checks"]
    rows = []
    names = list(targets(cfg))
    for task in names:
        for scheme in SCHEMES:
            stops = np.concatenate([io.to_array(df, condition=condition(task, scheme, g), quantity="stop_step")[1]
                                    for g in range(len(gains(cfg, scheme)))])
            n_bad = int(np.sum(stops < 0))
            rows.append((f"{task}, {scheme}: trials not reaching l_code < {cfg['tol']:g} within {cfg['max_steps']} steps "
                         f"(steps used: median {np.median(stops[stops >= 0]):.0f}, max {stops.max():.0f})", n_bad,
                         "== 0", n_bad == 0))
            fin = _final_errors(df, task, scheme, cfg)
            # l_code only bounds the column sums of E = Y - W2W1 (spec 1.1): a slow mode whose left singular
            # vector is nearly orthogonal to (1, ..., 1) is almost invisible to it, so some trials stop before
            # W2W1 has converged (the authors' criterion, kept; reported here)
            rows.append((f"{task}, {scheme}: max |W2W1 - Y| at the stop steps (l_code bounds only column sums of E; "
                         f"min_i |1^T u_i| of the target = {_blindness(targets(cfg)[task]):.3g})", float(fin.max()),
                         "(reported)", True))
            bad = t["reported_final_error"]
            rows.append((f"{task}, {scheme}: trials stopped with max |W2W1 - Y| > {bad:g} (of {fin.size})",
                         int(np.sum(fin > bad)), "(reported)", True))
    for panel in PANELS:
        for task in names:
            _, mean, _ = _curve(df, task, "balanced", cfg, panel)
            lim = t["balanced_error_max"]
            rows.append((f"{panel}, {task}, zero-balanced: max over gains of the mean error", float(mean.max()),
                         f"<= {lim:g}", float(mean.max()) <= lim))
        for task in names:
            gain, mean, _ = _curve(df, task, "gaussian", cfg, panel)
            is_h = task == "hierarchy"
            inc = bool(np.all(np.diff(mean) > 0))
            rows.append((f"{panel}, {task}, Gaussian: mean error strictly increasing over the {len(mean)} gains "
                         f"(number of decreases)", int(np.sum(np.diff(mean) <= 0)), "== 0" if is_h else "(reported)",
                         inc if is_h else True))
            rows.append((f"{panel}, {task}, Gaussian: mean error at the smallest gain ({gain[0]:.3g})", float(mean[0]),
                         f"< {t['gaussian_small_gain_max']:g}" if is_h else "(reported)",
                         float(mean[0]) < t["gaussian_small_gain_max"] if is_h else True))
            rows.append((f"{panel}, {task}, Gaussian: mean error at the largest gain ({gain[-1]:.3g})", float(mean[-1]),
                         f">= {t['gaussian_large_gain_min']:g}" if is_h else "(reported)",
                         float(mean[-1]) >= t["gaussian_large_gain_min"] if is_h else True))
    return io.check_table(rows)


def draw(df, cfg: dict):
    """Figure 8: panels A (``W1^T W1``) and B (``W2 W2^T``) error vs gain, both schemes, all tasks."""
    plotting.apply_style()
    fig = plotting.figure(9.0, 3.8)
    names = list(targets(cfg))
    for i, (panel, (_, label)) in enumerate(PANELS.items()):
        ax = fig.add_axes([0.08 + i * 0.49, 0.31, 0.4, 0.6])
        top, right = 0.0, 0.16
        for task in names:
            for scheme, ls in (("gaussian", "-"), ("balanced", ":")):
                gain, mean, std = _curve(df, task, scheme, cfg, panel)
                ax.plot(gain, mean, color=COLOURS.get(task, "0.3"), ls=ls, lw=1.5 if ls == ":" else 1.2)
                ax.fill_between(gain, mean - std, mean + std, color=COLOURS.get(task, "0.3"), alpha=0.15, lw=0)
                top = max(top, float(np.max(mean + std)))
                right = max(right, float(gain.max()) * 1.02)
        ax.set_xlim(0, right)
        ax.set_xticks([0, 0.15])
        ax.set_yticks([0, 40, 85])
        ax.set_ylim(-2, max(88, top * 1.02))
        ax.set_xlabel("gain std$(W_1(0))/\\sqrt{N_h}$")
        ax.set_ylabel(label)
        plotting.panel_label(ax, panel, dx=-0.2)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=COLOURS.get(t, "0.3"), label=("weighted hierarchy 8x8" if t == "hierarchy" else
                                                                   f"random {t}")) for t in names]
    handles += [Line2D([], [], color="0.3", ls="-", label="Gaussian init."),
                Line2D([], [], color="0.3", ls=":", lw=1.5, label="zero-balanced init.")]
    fig.axes[0].legend(handles=handles, frameon=False, loc="upper left", fontsize=6)
    bg, gg = cfg["balanced_gain"], cfg["gaussian_gain"]
    fins = [_final_errors(df, t, sc, cfg) for t in names for sc in SCHEMES]
    premature, total = sum(int(np.sum(f > 1e-2)) for f in fins), sum(f.size for f in fins)
    plotting.caption(fig, (
        f"Representation error after training to l_code < {cfg['tol']:g} (eta={cfg['learning_rate']:g}, the authors' "
        f"code; caption 0.001), Nh={cfg['n_hidden']}, X = I (sum convention), {cfg['n_trials']} trials per scale; "
        f"line = mean, band = +-1 std over trials, x = trial mean of std(W1(0))/sqrt(Nh). Zero-balanced (dotted): "
        f"spec 4.4 variant, l in linspace({bg['min']:g}, {bg['max']:g}, {bg['n']}), det-sign rule for square tasks; "
        f"Gaussian (solid): N(0, l^2), l in linspace({gg['min']:g}, {gg['max']:g}, {gg['n']}). Random targets "
        f"(No x Ni) are a PROPOSAL (spec 5.8: Y ~ N(0,1), seed {cfg['task_seed']}, smallest singular value >= "
        f"{cfg['min_singular_value']:g}; stored in the parquet); training capped at {cfg['max_steps']} steps. "
        f"l_code (the authors' criterion) bounds only the column sums of Y - W2W1: trials stopped with max |Y - W2W1| "
        f"> 1e-2: {premature} of {total} (a target mode nearly orthogonal to (1,...,1) is almost invisible to it)."),
        y=0.005)
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
def _sweep_minutes(c: dict, n_batches: int) -> float:
    # ~1 s per (task, scheme, gain) item of 100 trials on one idle core
    return max(5, int(2 * (1 + len(c["random_tasks"])) * 50 * c["n_trials"] / 100 / n_batches / 60) + 5)


FIGURE = Figure(
    id="a8", paper="paper_a", name="fig8", checks=checks, draw=draw,
    steps=(
        Step("a8_sweep", compute_sweep, "fig8", batch="a8_sweep",
             keys=("seed", "task_seed", "random_tasks", "min_singular_value", "n_hidden", "learning_rate",
                   *(f"{scheme}_gain.{k}" for scheme in SCHEMES for k in ("min", "max", "n")),
                   "n_trials", "tol", "max_steps", "chunk"),
             mem_mb=1000, minutes=_sweep_minutes),
    ),
)
