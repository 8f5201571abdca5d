"""Paper B, Figure 8: feature collapse in a 5-layer tanh network (blob context task), high vs low initial weights.

Spec ``universality.md`` 4.3, 5.2 (blob net), 6.0 Table 2 / D9 / D14, 6.1 (Figure 8) and 7. Two trainings
(:func:`_train_blobs.train`: high = gain 2.0, lr 0.0015, 750 epochs; low = gain 0.5, lr 0.015, 1500 epochs; SGD,
minibatches of 64 reshuffled every epoch, 0.5 * MSE), the final hidden activities ``acts[2]`` of all 1800 points,
their 3-D metric MDS (:func:`_blobs.mds`, a separate rule), drawn as the 2-D projections dims 1-2, 2-3, 1-3
(columns) coloured by context, by ``mu_x`` and by ``mu_y`` (rows). Claim: low weights collapse each context onto a
line along its relevant feature (F ~ 0); high weights keep a 2-D square per context (F ~ 1/2).

Figures 12 (very low weights) and 15 (Adam) use the same drawing and check helpers (:func:`draw_runs`,
:func:`collapse_checks`).
"""

from __future__ import annotations

import numpy as np

from ... import io, plotting
from . import _blobs
from . import _two_point as tp
from ..steps import Figure, Step
from . import _train_blobs

FIGURE_ID = "b8"
RUNS = ("high", "low")
TITLES = {"high": "High initial weights", "low": "Low initial weights", "very_low": "Very low initial weights"}
COLOURINGS = ("context", "mu_x", "mu_y")
COLOURING_LABELS = {"context": "context", "mu_x": "$\\mu_x$", "mu_y": "$\\mu_y$"}
CONTEXT_COLOURS = (plotting.PALETTE[0], plotting.PALETTE[1])
FEATURE_CMAP = "viridis"


def settings(cfg: dict, run: str) -> str:
    """``"gain 2, SGD lr 0.0015, 750 epochs"`` of a run."""
    r = cfg["runs"][run]
    return f"gain {r['gain']:g}, {r['optimizer'].upper() if r['optimizer'] == 'sgd' else 'Adam'} lr {r['lr']:g}, " \
           f"{r['epochs']} epochs"


# ------------------------------------------------------------------ checks
def converged_row(cfg: dict, figure: str, run: str, m: dict) -> tuple:
    """Check row: final loss over all points of run ``run`` below ``checks.converged_loss`` (the largest over
    the run's seeds; ``m``: :func:`_blobs.seed_metrics` or, for one network, :func:`_blobs.run_metrics`)."""
    th = cfg["checks"]["converged_loss"]
    losses = np.atleast_1d(m["final_loss"])
    v = float(np.max(losses))
    what = f"max over {len(losses)} seeds of " if len(losses) > 1 else ""
    return (tp.relaxed(cfg, f"{run}: {what}final loss 0.5*MSE over all points", "converged_loss"), v, f"<= {th:g}",
            v <= th)


def collapse_checks(df, cfg: dict, figure: str, low: str, high: str | None, f_low_key: str,
                    f_high_key: str | None = None, s_min_key: str | None = None, ratio_key: str | None = None) -> list:
    """Spec-7 checks shared by Figs 8 and 15: converged runs; ``F <= checks[f_low_key]`` of run ``low`` and
    ``F >= checks[f_high_key]`` of run ``high`` in both contexts; ``S >= checks[s_min_key]`` of both runs;
    ``F(low) / F(high) <= checks[ratio_key]`` per context. Metrics: :func:`_blobs.seed_metrics`; a run of
    several networks (seeds, Fig. 15) is checked on the mean of F and S over its seeds (and the ratio of the means)."""
    th = cfg["checks"]
    runs = [r for r in (high, low) if r is not None]
    m = {r: _blobs.seed_metrics(df, figure, r) for r in runs}
    mean = {r: {k: float(np.mean(v)) for k, v in m[r].items() if k != "seed"} for r in runs}
    of = {r: f" (mean of {len(m[r]['seed'])} seeds)" if len(m[r]["seed"]) > 1 else "" for r in runs}
    rows = [converged_row(cfg, figure, r, m[r]) for r in runs]
    for ctx in _blobs.CONTEXTS:
        f = mean[low][f"F_{ctx}"]
        rows.append((tp.relaxed(cfg, f"{low}: F (irrelevant-feature variance fraction), context {ctx}{of[low]}",
                                f_low_key), f, f"<= {th[f_low_key]:g}", f <= th[f_low_key]))
    if high is not None:
        for ctx in _blobs.CONTEXTS:
            f = mean[high][f"F_{ctx}"]
            rows.append((tp.relaxed(cfg, f"{high}: F, context {ctx}{of[high]}", f_high_key), f,
                         f">= {th[f_high_key]:g}", f >= th[f_high_key]))
    if ratio_key is not None:
        for ctx in _blobs.CONTEXTS:
            v = mean[low][f"F_{ctx}"] / mean[high][f"F_{ctx}"]
            rows.append((tp.relaxed(cfg, f"F({low}) / F({high}), context {ctx}{of[low] and ' (seed means)'}",
                                    ratio_key), v, f"<= {th[ratio_key]:g}", v <= th[ratio_key]))
    if s_min_key is not None:
        for r in runs:
            s = mean[r]["S"]
            rows.append((tp.relaxed(cfg, f"{r}: S (context separation){of[r]}", s_min_key), s,
                         f">= {th[s_min_key]:g}", s >= th[s_min_key]))
    return rows


def checks(df, cfg: dict):
    """Spec 7, Figure 8: low F <= 0.05 and high F >= 0.3 in both contexts, S >= 1 for both (plus convergence)."""
    return io.check_table(collapse_checks(df, cfg, FIGURE_ID, low="low", high="high", f_low_key="f_low_max",
                                          f_high_key="f_high_min", s_min_key="s_min"))


# ------------------------------------------------------------------ drawing
def _scatter(ax, xy, colour_by: str, lab: dict, order: np.ndarray):
    if colour_by == "context":
        cols = np.array(CONTEXT_COLOURS)[lab["context"][order]]
        return ax.scatter(xy[order, 0], xy[order, 1], c=cols, s=1.5, lw=0, rasterized=True)
    return ax.scatter(xy[order, 0], xy[order, 1], c=lab[colour_by][order], cmap=FEATURE_CMAP, vmin=-1, vmax=1,
                      s=1.5, lw=0, rasterized=True)


def metrics_of(df, figure: str, runs) -> dict:
    """``{run: _blobs.seed_metrics(...)}``: computed once per drawing and shared by the caption, the block titles
    and the seed panel."""
    return {r: _blobs.seed_metrics(df, figure, r) for r in runs}


def seed_panel(ax, ms: dict, cfg: dict):
    """F of every network (seed) of each run (``ms``: :func:`metrics_of`), per context (dots; bar = mean over
    seeds), with the F thresholds of the figure's checks (dashed: ``f_low_max``, dotted: ``f_high_min``)."""
    th = cfg["checks"]
    xt, xl, top = [], [], 0.6
    for i, (run, m) in enumerate(ms.items()):
        for c, ctx in enumerate(_blobs.CONTEXTS):
            x = i * 2.6 + c
            f = m[f"F_{ctx}"]
            top = max(top, 1.05 * float(f.max()))
            ax.plot(np.full(len(f), x) + np.linspace(-0.15, 0.15, len(f)), f, "o", ms=3, color=CONTEXT_COLOURS[c],
                    label=f"context {ctx}" if i == 0 else None)
            ax.plot([x - 0.3, x + 0.3], [f.mean()] * 2, "-", color="k", lw=1.2)
            xt.append(x)
            xl.append(f"{run}\n{ctx}")
    ax.axhline(th["f_low_max"], ls="--", lw=0.8, color="0.4")
    ax.axhline(th["f_high_min"], ls=":", lw=0.8, color="0.4")
    ax.set_xticks(xt, xl, fontsize=6)
    ax.set_xlim(-0.7, xt[-1] + 0.7)
    ax.set_ylim(0, top)
    ax.set_ylabel("F (irrelevant-feature variance fraction)")
    ax.set_title(f"F per seed (bar: mean of {len(m['seed'])})", fontsize=8)
    ax.legend(frameon=False, fontsize=6, loc="upper left")


def draw_runs(df, cfg: dict, figure: str, runs, letters, note: str, ms: dict, titles=None,
              seeds_letter: str | None = None):
    """One block of 3 x 3 panels per run: columns = MDS projections dims 1-2, 2-3, 1-3 (:data:`_blobs.PROJECTIONS`),
    rows = colouring by context, ``mu_x``, ``mu_y``; the network drawn is each run's first seed. Block titles give
    the run's settings and that network's F, S. With ``seeds_letter``, a last panel shows F of every seed
    (:func:`seed_panel`). ``ms``: :func:`metrics_of` of ``runs``."""
    from matplotlib.lines import Line2D

    plotting.apply_style()
    titles = titles or TITLES
    nb = len(runs)
    pw, ph = 1.7, 1.5            # panel size (inches)
    gap_b = 0.45                 # between blocks
    extra = 2.6 if seeds_letter else 0.0
    w = 0.75 + nb * 3 * pw + (nb - 1) * gap_b + 0.9 + extra
    h = 0.55 + 3 * ph + 0.35 + (0.9 if nb > 1 else 1.35)   # the caption wraps to more lines on a narrow figure
    fig = plotting.figure(w, h)
    rng = np.random.default_rng(0)   # draw order only (so neither context hides the other)
    mappable = None
    for b, run in enumerate(runs):
        lab = _blobs.labels(df, figure, run)
        emb = _blobs.embedding(df, figure, run)
        m = {k: v[0] for k, v in ms[run].items()}        # the drawn network: the first seed
        order = rng.permutation(len(emb))
        x0 = 0.75 + b * (3 * pw + gap_b)
        for r, colour_by in enumerate(COLOURINGS):
            for c, (i, j) in enumerate(_blobs.PROJECTIONS):
                ax = fig.add_axes([(x0 + c * pw + 0.25) / w, (h - 0.55 - (r + 1) * ph + 0.2) / h,
                                   (pw - 0.45) / w, (ph - 0.45) / h])
                sc = _scatter(ax, emb[:, [i, j]], colour_by, lab, order)
                if colour_by != "context":
                    mappable = sc
                ax.set_aspect("equal", adjustable="datalim")
                ax.locator_params(nbins=3)
                ax.tick_params(labelsize=5, length=2, pad=1)
                ax.set_xlabel(f"MDS {i + 1}", labelpad=1)
                ax.set_ylabel(f"MDS {j + 1}", labelpad=1)
                if c == 0 and b == 0:
                    ax.text(-0.42, 0.5, f"colour: {COLOURING_LABELS[colour_by]}", transform=ax.transAxes,
                            rotation=90, va="center", ha="center", fontsize=8)
                if r == 0 and c == 0:
                    plotting.panel_label(ax, letters[b], dx=-0.3, dy=1.25)
        which = f" (seed {m['seed']})" if len(ms[run]["seed"]) > 1 else ""
        fig.text((x0 + 1.5 * pw) / w, (h - 0.2) / h,
                 f"{titles.get(run, run)}: {settings(cfg, run)}\n"
                 f"F = {m['F_x']:.3f} (context x), {m['F_y']:.3f} (context y); S = {m['S']:.3g}{which}",
                 ha="center", va="top", fontsize=8)
    lx = (0.75 + nb * 3 * pw + (nb - 1) * gap_b + 0.05) / w
    lax = fig.add_axes([lx, (h - 0.55 - ph + 0.12) / h, 0.5 / w, (ph - 0.3) / h])
    lax.axis("off")
    lax.legend(handles=[Line2D([], [], ls="", marker="o", ms=4, color=CONTEXT_COLOURS[k], label=f"context {n}")
                        for k, n in enumerate(_blobs.CONTEXTS)], loc="center left", frameon=False, fontsize=7,
               handletextpad=0.2)
    for r in (1, 2):
        cax = fig.add_axes([lx, (h - 0.55 - (r + 1) * ph + 0.2) / h, 0.1 / w, (ph - 0.45) / h])
        fig.colorbar(mappable, cax=cax, label=COLOURING_LABELS[COLOURINGS[r]])
    if seeds_letter:
        ax = fig.add_axes([(w - extra + 0.55) / w, (h - 0.55 - 3 * ph + 0.45) / h, (extra - 0.75) / w,
                           (3 * ph - 0.7) / h])
        seed_panel(ax, ms, cfg)
        plotting.panel_label(ax, seeds_letter, dx=-0.3, dy=1.05)
    plotting.caption(fig, note)
    return fig


def common_note(df, cfg: dict, figure: str, runs, ms: dict) -> str:
    """Caption text shared by Figs 8, 12, 15: data, network, training, observed layer, MDS and decisions.
    ``ms``: :func:`metrics_of` of ``runs``."""
    d = cfg["data"]
    n = 2 * d["n_centres"] ** 2
    mds = cfg["mds"]
    stress = ", ".join(f"{r} {io.scalar(df, figure=figure, condition=r, quantity='mds_stress1'):.2g}" for r in runs)
    level = cfg["checks"]["converged_loss"]
    seeds = {r: [int(x) for x in ms[r]["seed"]] for r in runs}
    loss = ", ".join(f"{r} " + "/".join(f"{v:.2g}" for v in ms[r]["final_loss"]) for r in runs)
    learnt = ", ".join(f"{r} " + "/".join(str(_blobs.first_epoch_below(df, figure, r, level, seed=s))
                                          for s in seeds[r]) for r in runs)
    multi = any(len(v) > 1 for v in seeds.values())
    seed_text = (f"seeds {', '.join(map(str, seeds[runs[0]]))} (D14; one network per seed and run, the panels show "
                 f"the first seed's, the checks average F and S over the seeds; values below listed per seed)"
                 if multi else f"seed {cfg['seed']} (D14)")
    init = "classical-MDS initialisation" if mds["init"] == "classical_mds" else \
        f"{mds['n_init']} random initialisation(s)"
    return (f"Blob context task (spec 4.3, {n} points, Fig. 7). Network: {cfg['n_hidden']} hidden layers of "
            f"{cfg['width']} {cfg['activation']} units (D9: tanh as in the paper; the reference notebook ran leaky ReLU, "
            f"config activation), Xavier-normal init with the given gain, {seed_text}, minibatches of "
            f"{cfg['batch_size']} reshuffled every epoch, loss 0.5*MSE. Points: hidden activities of all {n} inputs at "
            f"acts[{cfg['observe']}] after training, embedded by 3-D metric MDS (scikit-learn SMACOF, Euclidean, {init}, "
            f"max_iter {mds['max_iter']}, eps {mds['eps']:g}, seed {mds['seed']}; Kruskal stress-1: {stress}); each column "
            f"is one 2-D projection of the same 3-D embedding (equal scales on both axes of a panel, each panel autoscaled; "
            f"units = those of the hidden activities, as MDS keeps distances). "
            f"F = mean over the relevant feature's values of the variance of the hidden activities along the irrelevant "
            f"feature / the context's total variance; S = squared distance of the two context means / mean within-context "
            f"variance (both on the hidden activities themselves, not on the MDS). Final loss over all points: {loss}; "
            f"first epoch with training loss < {level:g} (end of the loss plateau): "
            f"{learnt}. ")


def draw(df, cfg: dict):
    """Figure 8: MDS projections of the high- (A) and low-weight (B) networks' final hidden activities."""
    ms = metrics_of(df, FIGURE_ID, RUNS)
    note = common_note(df, cfg, FIGURE_ID, RUNS, ms) + ("Low weights: each context collapses onto a line along its "
                                                     "relevant feature; high weights: a 2-D square per context. ") \
        + cfg["draw"]["scale_note"]
    return draw_runs(df, cfg, FIGURE_ID, RUNS, "AB", note, ms)


BLOB_FIGURES = ("fig8", "fig12", "fig15")
#: keys of a blob figure's block that a training reads (``seeds`` or ``seed``: Fig. 15 has several seeds)
TRAIN_KEYS = ("seed?", "seeds?", "data", "n_hidden", "width", "activation", "observe", "batch_size", "loss")


def _blob_jobs(c: dict) -> list:
    return [{"fig": f, "run": r} for f in BLOB_FIGURES for r in c[f]["runs"]]


def _train_minutes(cfg: dict, n: int) -> int:
    """<= 3 ms wall per minibatch step (Adam; SGD <= 2 ms) on the shared 2-core machine: request 5 ms per step
    and seed + 5 minutes of start-up."""
    steps = cfg["runs"][next(iter(cfg["runs"]))]["epochs"] * -(-2 * cfg["data"]["n_centres"] ** 2 // cfg["batch_size"])
    return 5 + int(len(cfg.get("seeds", [0])) * steps * 0.005 / 60)


def _mds_minutes(cfg: dict, n: int) -> int:
    """~0.06 s per SMACOF iteration at 1800 points (the paper's 30 x 30 x 2 grid): 0.2 s per iteration of every
    initialisation + 5 minutes."""
    return 5 + int(cfg["mds"]["n_init"] * cfg["mds"]["max_iter"] * 0.2 / 60)


#: one training per run of Figs 8, 12, 15 (torch; _train_blobs imports no theory or plotting)
TRAIN = Step(
    name="b_blobs_train", function=_train_blobs.train, output="{fig}_train_{run}", scope="paper",
    keys=tuple("{fig}." + k for k in TRAIN_KEYS) + ("{fig}.runs.{run}",), jobs_of=_blob_jobs,
    view=lambda s, job: s[job["fig"]], kwargs=lambda job: {"run": job["run"], "figure": "b" + job["fig"][3:]},
    env="torch", gpu=True, mem_mb=1000, minutes=_train_minutes,
)
#: 3-D metric MDS of one run's hidden representations
MDS = Step(
    name="b_blobs_mds", function=_blobs.mds, output="{fig}_mds_{run}", scope="paper",
    keys=("{fig}.mds",), jobs_of=_blob_jobs,
    view=lambda s, job: {"mds": s[job["fig"]]["mds"]}, inputs=(TRAIN.name,), kwargs=lambda job: {},
    mem_mb=1000, minutes=_mds_minutes,
)


def blob_figure(fid: str, name: str, checks, draw, extra=lambda c: []) -> Figure:
    """Figure ``name`` of the blob task: its runs' trainings and MDS embeddings (plus ``extra(paper_cfg)``)."""
    return Figure(id=fid, paper="paper_b", name=name, steps=(TRAIN, MDS), checks=checks, draw=draw,
                  data=lambda c: [(TRAIN.name, {"fig": name}), (MDS.name, {"fig": name}), *extra(c)])


FIGURE = blob_figure("b8", "fig8", checks, draw)
