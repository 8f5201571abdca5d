"""Paper B, Figure 5: predicted vs measured final representational distance.

Spec ``universality.md`` 6.1 (Figure 5), 3.3, D3 and 7. Per architecture (rows of ``paper_b.fig2``):

1. fit pool: ``n_fit_trials`` trainings with the Table-1 settings on the default two-point dataset
   (:func:`._train.fit_pool_trainings`, batched seeds), one Eq.-49 fit each (:func:`fit_pool`, grid 200), rates averaged
   over trials whose last tracked loss <= 1e-2 (:func:`learndyn.effective.average_effective_rates`);
2. test grid: one training per dataset of the 5 x 5 grid (spec 4.1) at ``lr_factor`` x Table-1 lr, stopped at
   epoch loss < ``stop_loss`` or ``max_epochs`` (:func:`._train.grid_trainings`); a point is kept if its final tracked
   loss <= ``discard_loss``;
3. prediction (:func:`predict`): ``h_+`` (Eq. 10) from the point's own ``(h_0, y_0)``, its ``dx2, dy2`` and the
   averaged ratio ``eta_h / eta_y``; plotted against the measured final ``h``.
"""

from __future__ import annotations

import numpy as np

from ... import effective, io, plotting
from . import _two_point as tp
from ._train import GRID_QUANTITIES
from ..steps import Figure, Step
from . import _train
from ._steps import train_minutes


def fit_pool(table, cfg: dict):
    """Eq.-49 fit (spec 3.1, grid ``cfg["fit_grid"]``) of every pool trial: ``eta_h, eta_y, fit_loss`` and the
    trial's ``final_loss`` (for the spec-3.3 convergence filter)."""
    grid = np.logspace(cfg["fit_grid"]["min_exp"], cfg["fit_grid"]["max_exp"], cfg["fit_grid"]["n"])
    frames = []
    for cond in sorted(io.select(table, source="simulation")["condition"].unique()):
        sub = io.select(table, condition=cond)
        meta = dict(figure="b5", panel=sub["panel"].iloc[0], condition=cond, seed=int(sub["seed"].iloc[0]),
                    learning_rate=float(sub["learning_rate"].iloc[0]))
        h, y, w = (io.to_array(sub, source="simulation", quantity=q)[1] for q in ("h", "y", "w"))
        dx2, dy2, fl = (io.scalar(sub, source="summary", quantity=q) for q in ("dx2", "dy2", "final_loss"))
        f = effective.fit_effective_rates(h, y, w, dx2, dy2, grid=grid)
        for q, v in (("eta_h", f.eta_h), ("eta_y", f.eta_y), ("fit_loss", f.loss), ("final_loss", fl)):
            frames.append(io.records(v, quantity=q, source="fit", **meta))
    return io.concat(frames)


def predict(table, cfg: dict):
    """Average the pool rates (spec 3.3) and predict ``h_+`` (Eq. 10) for every grid point of one architecture.

    Returns the grid vectors plus ``h_plus``, ``A`` (Eq. 11), ``kept`` (final loss <= ``discard_loss``), and
    scalars ``mean_eta_h``, ``mean_eta_y``, ``n_trials_kept``, ``n_trials``."""
    fits = io.select(table, source="fit")
    conds = sorted(fits["condition"].unique())
    eh = np.array([io.scalar(fits, condition=c, quantity="eta_h") for c in conds])
    ey = np.array([io.scalar(fits, condition=c, quantity="eta_y") for c in conds])
    fl = np.array([io.scalar(fits, condition=c, quantity="final_loss") for c in conds])
    m_eh, m_ey, kept_trials = effective.average_effective_rates(eh, ey, fl, cfg["fit_loss_threshold"])
    grid = io.select(table, source="grid")
    arch = grid["condition"].iloc[0]
    g = {q: io.to_array(grid, quantity=q)[1][0] for q in GRID_QUANTITIES}
    dx2, dy2 = g["dist_x"] ** 2, g["dist_y"] ** 2
    A, _ = effective.final_distance_coefficients(g["h0"], g["y0"], m_eh, m_ey, dx2, dy2)
    hp = effective.final_representational_distance(g["h0"], g["y0"], m_eh, m_ey, dx2, dy2)
    kept = np.isfinite(g["final_loss"]) & (g["final_loss"] <= cfg["discard_loss"])
    meta = dict(figure="b5", panel=arch, condition=arch, learning_rate=float(grid["learning_rate"].iloc[0]))
    out = dict(g, h_plus=hp, A=A, kept=kept.astype(float))
    frames = [io.records(v, quantity=q, source="prediction", **meta) for q, v in out.items()]
    for q, v in (("mean_eta_h", m_eh), ("mean_eta_y", m_ey), ("n_trials_kept", kept_trials.sum()),
                 ("n_trials", len(conds))):
        frames.append(io.records(v, quantity=q, source="prediction", **meta))
    return io.concat(frames)


def arch_data(df, arch: str) -> dict:
    """Prediction vectors of one architecture (``(n_points,)`` each) and its scalars."""
    sub = io.select(df, source="prediction", condition=arch)
    out = {}
    for q in sub["quantity"].unique():
        _, v = io.to_array(sub, quantity=q)
        out[q] = np.asarray(v).reshape(-1) if np.ndim(v) > 1 else float(np.asarray(v).reshape(-1)[0])
    return out


def grid_stats(d: dict) -> dict:
    """Spec 7, Figure 5 statistics of one architecture from :func:`arch_data`."""
    k = d["kept"] > 0.5
    x, y = d["h_plus"][k], d["final_h"][k]
    pos = k & (d["dist_y"] > 0)
    zero = k & (d["dist_y"] == 0)
    return {
        "fraction_converged": float(k.mean()),
        "pearson": float(np.corrcoef(x, y)[0, 1]) if k.sum() > 2 else np.nan,
        "slope": float(np.sum(x * y) / np.sum(x * x)) if k.sum() else np.nan,
        "median_rel": float(np.median(np.abs(d["final_h"][pos] - d["h_plus"][pos]) / d["h_plus"][pos]))
        if pos.any() else np.nan,
        "dy0_rel": float(np.max(np.abs(d["final_h"][zero] - d["A"][zero]) / np.abs(d["A"][zero])))
        if zero.any() else np.nan,
    }


def checks(df, cfg: dict):
    """Spec 7, Figure 5, per architecture."""
    th = cfg["checks"]
    rows = []
    for arch in cfg["architectures"]:
        s = grid_stats(arch_data(df, arch))
        rows += [
            (f"{arch}: fraction of grid points converged", s["fraction_converged"], f">= {th['converged_fraction']:g}",
             s["fraction_converged"] >= th["converged_fraction"]),
            (tp.relaxed(cfg, f"{arch}: Pearson r(theory, measured)", "pearson"), s["pearson"], f">= {th['pearson']:g}", s["pearson"] >= th["pearson"]),
            (tp.relaxed(cfg, f"{arch}: slope through origin (measured on theory)", "slope_min", "slope_max"), s["slope"],
             f"in [{th['slope_min']:g}, {th['slope_max']:g}]", th["slope_min"] <= s["slope"] <= th["slope_max"]),
            (tp.relaxed(cfg, f"{arch}: median |h_meas - h_+| / h_+ (dy > 0)", "median_rel"), s["median_rel"], f"<= {th['median_rel']:g}",
             s["median_rel"] <= th["median_rel"]),
            (tp.relaxed(cfg, f"{arch}: max |h_meas - A| / A (dy = 0)", "dy0_rel"), s["dy0_rel"], f"<= {th['dy0_rel']:g}", s["dy0_rel"] <= th["dy0_rel"]),
        ]
    return io.check_table(rows)


def draw(df, cfg: dict):
    """One scatter per architecture: theory h_+ (x) vs measured final h (y), colour = target distance."""
    plotting.apply_style()
    archs = cfg["architectures"]
    n_col = min(4, len(archs))
    n_row = int(np.ceil(len(archs) / n_col))
    import textwrap
    width = 2.9 * n_col + 1.0
    note = textwrap.fill(
        "Per architecture: rates fitted on %d trainings (default dataset, Table-1 settings) and averaged over trials "
        "with last loss <= %g; then one training per dataset of the grid |Δx| in %s, |Δy| in %s at %g x Table-1 lr, "
        "stopped at loss < %g or %d epochs; x = h_+ from the point's own (h0, y0) and the averaged eta_h/eta_y, "
        "y = measured final h; marker size ~ |Δx|; crosses: final loss > %g (discarded). "
        % (cfg["n_fit_trials"], cfg["fit_loss_threshold"], cfg["dist_x"], cfg["dist_y"], cfg["lr_factor"],
           cfg["stop_loss"], cfg["max_epochs"], cfg["discard_loss"]) + cfg["draw"]["scale_note"], int(17 * width))
    cap_h = 0.12 * (note.count("\n") + 1) + 0.1
    height = 2.6 * n_row + 0.7 + cap_h
    fig = plotting.figure(width, height)
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("viridis")
    dmax = max(cfg["dist_y"])
    gs = fig.add_gridspec(n_row, n_col, left=0.9 / width, right=1 - 1.0 / width, bottom=(0.6 + cap_h) / height,
                          top=1 - 0.4 / height, wspace=0.45, hspace=0.55)
    for i, arch in enumerate(archs):
        ax = fig.add_subplot(gs[i // n_col, i % n_col])
        d = arch_data(df, arch)
        k = d["kept"] > 0.5
        sizes = 12 + 30 * (d["dist_x"] - min(cfg["dist_x"])) / max(np.ptp(cfg["dist_x"]), 1e-12)
        ax.scatter(d["h_plus"][k], d["final_h"][k], c=[cmap(v / dmax) for v in d["dist_y"][k]], s=sizes[k],
                   edgecolor="k", lw=0.3, zorder=3)
        if (~k).any():
            ax.scatter(d["h_plus"][~k], d["final_h"][~k], marker="x", color="0.5", s=15, zorder=2)
        top = 1.08 * float(np.nanmax(np.concatenate([d["h_plus"], d["final_h"]])))
        ax.plot([0, top], [0, top], "k--", lw=0.8)
        ax.set_xlim(0, top); ax.set_ylim(0, top)
        s = grid_stats(d)
        ax.set_title(f"{arch}: r={s['pearson']:.2f}, slope={s['slope']:.2f}")
        ax.set_xlabel("theory $h_+$ (Eq. 10)")
        ax.set_ylabel("measured final $h$")
        plotting.panel_label(ax, chr(ord("A") + i), dx=-0.3)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, dmax))
    cax = fig.add_axes([1 - 0.75 / width, 0.35, 0.1 / width, 0.4])
    fig.colorbar(sm, cax=cax, label="target distance |Δy|")
    plotting.caption(fig, note)
    return fig


def _archs(c: dict) -> list:
    return [{"arch": a} for a in c["architectures"]]


def _grid_size(c: dict) -> int:
    return len(c["dist_x"]) * len(c["dist_y"])


def _row(cfg: dict) -> dict:
    return next(iter(cfg["rows"].values()))


#: fit pool: ``n_fit_trials`` trainings of one architecture (its Table-1 row of paper_b.fig2), stacked per batch
POOL = Step(
    name="b5_pool", function=_train.fit_pool_trainings, output="fig5_pool_{arch}", scope="paper",
    keys=("fig5.seed0", "fig5.n_fit_trials", "fig5.dx2", "fig5.dy2", "fig2.rows.{arch}"),
    jobs_of=lambda c: _archs(c["fig5"]), view=lambda s, job: {**s["fig5"], "rows": s["fig2"]["rows"]},
    batch="b5_fits", batch_items=lambda c: c["fig5"]["n_fit_trials"], env="torch", gpu=True, mem_mb=6000,
    minutes=lambda cfg, n: train_minutes([_row(cfg)], n_nets=cfg["n_fit_trials"] / n),
)
#: one Eq.-49 fit per pool trial (~15 s per fit on a shared core)
FITS = Step(
    name="b5_fits", function=fit_pool, output="fig5_fits_{arch}", keys=("fit_grid",), jobs_of=_archs,
    batch="b5_fits", batch_items=lambda c: c["n_fit_trials"], inputs=(POOL.name,), kwargs=lambda job: {},
    mem_mb=3000, minutes=15,
)
#: the 5 x 5 dataset grid, stacked per batch, up to max_epochs at lr_factor x the Table-1 lr; dropout_stop_on only
#: for the dropout net (editing it never reruns another architecture's grid)
GRID = Step(
    name="b5_grid", function=_train.grid_trainings, output="fig5_grid_{arch}", scope="paper",
    keys=("fig5.dist_x", "fig5.dist_y", "fig5.grid_seed0", "fig5.lr_factor", "fig5.max_epochs", "fig5.stop_loss",
          "fig5.dropout_stop_on", "fig2.rows.{arch}"),
    jobs_of=lambda c: _archs(c["fig5"]),
    view=lambda s, job: {**{k: v for k, v in s["fig5"].items()
                            if k != "dropout_stop_on" or s["fig2"]["rows"][job["arch"]]["kind"] == "dropout"},
                         "rows": s["fig2"]["rows"]},
    batch="b5_grid", batch_items=lambda c: _grid_size(c["fig5"]), env="torch", gpu=True, mem_mb=4000,
    minutes=lambda cfg, n: train_minutes([_row(cfg)], epochs_factor=cfg["max_epochs"] / _row(cfg)["epochs"] / 2,
                                         n_nets=-(-_grid_size(cfg) // n)),
)
PREDICT = Step(
    name="b5_predict", function=predict, output="fig5_pred_{arch}", keys=("fit_loss_threshold", "discard_loss"),
    jobs_of=_archs, inputs=(FITS.name, GRID.name), kwargs=lambda job: {}, mem_mb=1000, minutes=5,
)

FIGURE = Figure(id="b5", paper="paper_b", name="fig5", steps=(POOL, FITS, GRID, PREDICT), checks=checks, draw=draw,
                data=lambda c: [(PREDICT.name, {})])
