"""Paper B Fig. 5 investigation (issue 15 item 5): which failing checks are the theory's and which the protocol's.

Reruns, in-process and on one CPU thread, the Fig. 5 protocol of ``learndyn.figures.paper_b`` with modified config
dicts and prints the five spec-7 check values per variant (report: ``docs/results/fig5_investigation.md``):

* ``pool``: the stored 50-trial fits (``fig5_fits_<arch>_batch*.parquet``) with the stored grid, averaged differently
  (mean of eta_h and eta_y as the spec / mean or median of the per-trial ratio / trials with fit loss below the
  median) and bootstrapped (pool sizes 10, 25, 50, 100 drawn with replacement); plus the "seed-noise floor": the
  spread of the measured final h of the 50 pool trainings (same dataset, same settings, different seeds)
  applied to the theory values of the grid, which bounds the Pearson r and the median error that any single
  averaged ratio can reach.
* ``long``: the grid networks of the protocol (same datasets, seeds ``grid_seed0 + j``, lr = ``lr_factor`` x
  Table-1 lr) trained on with ``deepnets.train_batched`` to loss < ``--stop-long`` or ``--max-epochs-long``,
  recording every ``--record-every`` epochs. Because a network's trajectory does not depend on where it is
  stopped, the stop-loss variants 1e-4 (= baseline, used as a consistency check), 1e-5, 1e-6, 1e-7 are read off
  this one trajectory (first recorded epoch with loss below the threshold; at most record_every - 1 epochs after
  the exact stop), each with the spec cap of 40 000 epochs and with the extended cap.
* ``lr``: ``_train.grid_trainings`` with ``lr_factor`` 0.2 / 0.1 (``max_epochs`` scaled by 0.4 / lr_factor, so that
  the same gradient-flow time is allowed), on the dy = 0 column (grid points j = 0, 5, ..., 20 = ``batch 0`` of
  5 batches) for every architecture, and on the whole grid for the ``arch:lr_factor`` pairs of ``--lr-full``.

* ``centred``: control for the dy = 0 column: the same networks with both targets shifted by -0.6 (no output mean
  to learn), 2 000 epochs without a stop. The dy = 0 tables also compare h with the theory's own h(t) at the stop
  epoch (Eq. 39, ``effective.identical_output_solution``) besides h(inf) = A.

Every prediction goes through ``fig5.predict`` and every statistic through ``fig5.grid_stats`` (the functions of
the workflow). Pool fits are reused from ``--data`` (a finished workflow's ``results/paper_b/data``), never refitted.

Usage (defaults = what the report ran; the trainings took ~22 min on one shared core, all cached in ``--work``)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/fig5_variants.py   # after `snakemake fig5_pred_{shallow,narrow}`
    python benchmarks/fig5_variants.py --only pool            # seconds
    python benchmarks/fig5_variants.py --only long --archs shallow
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("OMP_NUM_THREADS", "1")

from learndyn import datasets, effective, io  # noqa: E402
from learndyn.figures.paper_b import _train, fig5  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STATS = ("fraction_converged", "pearson", "slope", "median_rel", "dy0_rel")


def default_config() -> Path:
    """config/paper_b.yaml (paper B's block of the workflow's configuration)."""
    return ROOT / "config" / "paper_b.yaml"


def load_cfg(config: Path) -> dict:
    """The Fig. 5 view of the workflow (``paper_b.fig5`` plus the Table-1 ``rows`` of ``paper_b.fig2``)."""
    pb = yaml.safe_load(config.read_text())["paper_b"]
    c = {**pb["fig5"], "rows": pb["fig2"]["rows"]}
    c.setdefault("checks", c.get("thresholds"))     # older key name
    return c


def stored(data: Path, kind: str, arch: str):
    files = sorted(glob.glob(str(data / f"fig5_{kind}_{arch}_batch*.parquet")))
    if not files:
        raise SystemExit(f"no fig5_{kind}_{arch}_batch*.parquet under {data}")
    return io.read_trajectories(files)


def grid_table(arch: str, lr: float, vals: dict, points) -> "io.pd.DataFrame":
    """Rows as :func:`_train.grid_trainings` returns them (``row`` = global grid index)."""
    meta = dict(figure="b5", panel=arch, condition=arch, learning_rate=lr)
    out = io.concat(io.records(np.asarray(vals[q], dtype=float), quantity=q, source="grid", **meta)
                    for q in _train.GRID_QUANTITIES)
    out["row"] = np.asarray(points)[out["row"].to_numpy()].astype(np.int32)
    return out


def evaluate(fits, grid, cfg: dict, arch: str) -> dict:
    """fig5.predict + fig5.grid_stats of one (fits, grid) pair; returns the arch_data dict and the stats."""
    pred = fig5.predict(io.concat([fits, grid]), cfg)
    d = fig5.arch_data(pred, arch)
    return d, fig5.grid_stats(d)


def fmt_stats(name: str, s: dict, extra: str = "") -> str:
    th = "" if not extra else f"  {extra}"
    return (f"| {name} | " + " | ".join("—" if not np.isfinite(s[k]) else f"{s[k]:.3f}" for k in STATS) + f" |{th}")


def table_head(title: str) -> None:
    print(f"\n{title}\n| variant | converged | Pearson r | slope | median rel (dy>0) | max rel dy=0 |\n|---|---|---|---|---|---|")


def pass_marks(s: dict, th: dict) -> str:
    ok = [s["fraction_converged"] >= th["converged_fraction"], s["pearson"] >= th["pearson"],
          th["slope_min"] <= s["slope"] <= th["slope_max"], s["median_rel"] <= th["median_rel"],
          s["dy0_rel"] <= th["dy0_rel"]]
    names = ["conv", "r", "slope", "median", "dy0"]
    return "fails: " + (", ".join(n for n, o, v in zip(names, ok, (s[k] for k in STATS)) if not o and np.isfinite(v))
                        or "none")


# ----------------------------------------------------------------------------------------------- baseline + pool
def fit_arrays(fits):
    conds = sorted(fits["condition"].unique())
    get = lambda q: np.array([io.scalar(fits, condition=c, quantity=q) for c in conds])  # noqa: E731
    return conds, get("eta_h"), get("eta_y"), get("final_loss"), get("fit_loss")


def fits_subset(fits, conds):
    return fits[fits["condition"].isin(conds)]


def fake_fits(arch: str, eh, ey, fl):
    """A fits table with given per-trial rates (for bootstrap draws and alternative averages)."""
    frames = []
    for i, (a, b, c) in enumerate(zip(eh, ey, fl)):
        meta = dict(figure="b5", panel=arch, condition=f"{arch}/boot{i:04d}", seed=i, learning_rate=0.0)
        for q, v in (("eta_h", a), ("eta_y", b), ("fit_loss", 0.0), ("final_loss", c)):
            frames.append(io.records(float(v), quantity=q, source="fit", **meta))
    return io.concat(frames)


def run_pool(args, cfg, arch, out: dict) -> None:
    fits, grid = stored(args.data, "fits", arch), stored(args.data, "grid", arch)
    conds, eh, ey, fl, fitl = fit_arrays(fits)
    th = cfg["checks"]
    d0, s0 = evaluate(fits, grid, cfg, arch)
    out.setdefault(arch, {})["baseline"] = s0
    table_head(f"[{arch}] pool variants (stored grid: lr_factor {cfg['lr_factor']}, stop {cfg['stop_loss']:g})")
    print(fmt_stats(f"baseline: mean eta_h / mean eta_y over {len(conds)} trials, ratio "
                    f"{d0['mean_eta_h'] / d0['mean_eta_y']:.4g}", s0, pass_marks(s0, th)))
    r = eh / ey
    variants = {
        "mean of per-trial ratios": (np.full(1, r.mean()), np.ones(1)),
        "median of per-trial ratios": (np.full(1, np.median(r)), np.ones(1)),
    }
    good = fitl <= np.median(fitl)
    variants[f"trials with fit loss <= median ({good.sum()})"] = (eh[good], ey[good])
    for name, (a, b) in variants.items():
        d, s = evaluate(fake_fits(arch, a, b, np.zeros(len(a))), grid, cfg, arch)
        out[arch][f"pool: {name}"] = s
        print(fmt_stats(f"{name}: ratio {d['mean_eta_h'] / d['mean_eta_y']:.4g}", s, pass_marks(s, th)))
    rng = np.random.default_rng(args.boot_seed)
    for n in args.boot_sizes:
        draws = []
        for _ in range(args.n_boot):
            k = rng.integers(0, len(eh), n)
            _, s = evaluate(fake_fits(arch, [eh[k].mean()], [ey[k].mean()], [0.0]), grid, cfg, arch)
            draws.append([s[q] for q in STATS])
        draws = np.array(draws)
        lo, med, hi = np.nanpercentile(draws, [2.5, 50, 97.5], axis=0)
        out[arch][f"bootstrap pool n={n}"] = {q: [float(lo[i]), float(med[i]), float(hi[i])] for i, q in enumerate(STATS)}
        print(f"| bootstrap pool of {n} (median [2.5 %, 97.5 %] of {args.n_boot}) | "
              + " | ".join(f"{med[i]:.3f} [{lo[i]:.3f}, {hi[i]:.3f}]" for i in range(len(STATS))) + " |")
    # seed-noise floor: the pool trainings are 50 seeds of one dataset; their final h spread is what a single
    # averaged ratio cannot predict. Apply it (multiplicatively) to the theory values of the grid's dy > 0 points.
    pool = stored(args.data, "pool", arch)
    ph = np.array([io.scalar(pool, condition=c, source="summary", quantity="final_h") for c in conds])
    f = ph / ph.mean()
    print(f"seed spread of the pool's final h (dataset dx2 {cfg['dx2']}, dy2 {cfg['dy2']}, {len(ph)} seeds): "
          f"mean {ph.mean():.4g}, CV {ph.std() / ph.mean():.3f}, min/max {ph.min() / ph.mean():.3f} / "
          f"{ph.max() / ph.mean():.3f} of the mean; per-trial eta_h/eta_y CV {r.std() / r.mean():.3f}, "
          f"sqrt(ratio) CV {np.sqrt(r).std() / np.sqrt(r).mean():.3f}")
    pos = d0["dist_y"] > 0
    zero = ~pos
    rs, meds = [], []
    for _ in range(args.n_noise):
        sim = d0["h_plus"].copy()
        sim[pos] = d0["h_plus"][pos] * rng.choice(f, pos.sum())
        sim[zero] = d0["final_h"][zero]          # dy = 0 points as measured (not part of this question)
        rs.append(np.corrcoef(d0["h_plus"], sim)[0, 1])
        meds.append(np.median(np.abs(sim[pos] - d0["h_plus"][pos]) / d0["h_plus"][pos]))
    rs, meds = np.array(rs), np.array(meds)
    out[arch]["noise floor"] = {"pool_final_h_cv": float(ph.std() / ph.mean()), "ratio_cv": float(r.std() / r.mean()),
                                "pearson_q": np.percentile(rs, [2.5, 50, 97.5]).tolist(),
                                "p_pearson_below_0.8": float((rs < th["pearson"]).mean()),
                                "median_rel_q": np.percentile(meds, [2.5, 50, 97.5]).tolist()}
    print(f"noise floor (theory x pool seed spread, {args.n_noise} draws): Pearson r median {np.median(rs):.3f} "
          f"[{np.percentile(rs, 2.5):.3f}, {np.percentile(rs, 97.5):.3f}], P(r < {th['pearson']}) = "
          f"{(rs < th['pearson']).mean():.2f}; median rel error {np.median(meds):.3f} "
          f"[{np.percentile(meds, 2.5):.3f}, {np.percentile(meds, 97.5):.3f}]")
    # systematic dependence on dist_x (dy > 0): measured / theory per input distance
    q = d0["final_h"] / d0["h_plus"]
    print("measured / h_+ (dy > 0) by dist_x: " + ", ".join(
        f"{dx:g}: {np.mean(q[pos & (d0['dist_x'] == dx)]):.2f}" for dx in cfg["dist_x"]))
    print("measured / h_+ (dy > 0) by dist_y: " + ", ".join(
        f"{dy:g}: {np.mean(q[pos & (d0['dist_y'] == dy)]):.2f}" for dy in cfg["dist_y"] if dy > 0))


# ----------------------------------------------------------------------------------------------- long trajectories
def pick(res, s, stop, cap, stop_long):
    """State of network ``s`` of a long run at the first recorded epoch with loss < ``stop`` within ``cap``
    epochs; the run's own stop state (exact) when ``stop`` is the run's stop loss; else the last state."""
    ep, L, H = res["epoch"], res["loss"], res["h"]
    if stop_long is not None and stop == stop_long and bool(res["stopped"][s]) and res["n_updates"][s] <= cap:
        return float(res["final_h"][s]), float(res["final_loss"][s]), int(res["n_updates"][s]), 1.0
    ok = np.isfinite(L[s]) & (ep <= cap)
    hit = np.flatnonzero(ok & (L[s] < stop))
    i = hit[0] if hit.size else np.flatnonzero(ok)[-1]
    return float(H[s, i]), float(L[s, i]), int(ep[i]), float(bool(hit.size))


def load_dy0(args, arch):
    cache = args.work / f"long_{arch}_dy0.npz"
    if not cache.exists():
        return None
    res = dict(np.load(cache))
    full_grid = datasets.two_point_grid(*[load_cfg(args.config)[k] for k in ("dist_x", "dist_y")])
    p0 = np.flatnonzero(full_grid[:, 1] == 0)
    return res, full_grid[p0], p0


def out_r(evaluate, fits, vals, arch, lr, points, cfg) -> str:
    _, st = evaluate(fits, grid_table(arch, lr, vals, points), cfg, arch)
    return f"{st['pearson']:.3f}"


def run_long(args, cfg, arch, out: dict) -> None:
    """Long runs of the dy > 0 points (stop-loss variants) and of the dy = 0 column (does h move after the stop?)."""
    if "dy0" in args.long_subsets:
        long_one(args, cfg, arch, out, "dy0", args.stop_long_dy0, args.max_epochs_dy0)
    if "dypos" in args.long_subsets:
        long_one(args, cfg, arch, out, "dypos", args.stop_long, args.max_epochs_long)


def long_one(args, cfg, arch, out: dict, subset: str, stop_long: float, max_epochs: int) -> None:
    from learndyn import deepnets
    import torch

    torch.set_num_threads(1)
    row = cfg["rows"][arch]
    full_grid = datasets.two_point_grid(cfg["dist_x"], cfg["dist_y"])
    points = np.flatnonzero({"all": np.ones(len(full_grid), bool), "dy0": full_grid[:, 1] == 0,
                             "dypos": full_grid[:, 1] > 0}[subset])
    grid = full_grid[points]
    stop_long = stop_long or None
    data = [datasets.two_point(dx ** 2, dy ** 2) for dx, dy in grid]
    X, Y = np.stack([d[0] for d in data]), np.stack([d[1] for d in data])
    seeds = [cfg["grid_seed0"] + int(j) for j in points]
    lr = cfg["lr_factor"] * row["lr"]
    cache = args.work / f"long_{arch}_{subset}.npz"
    if cache.exists() and not args.rerun:
        res = dict(np.load(cache))
        print(f"[{arch}] long run read from {cache}")
    else:
        t0 = time.time()
        r = deepnets.train_batched(_train.arch_of(row), X, Y, seeds, lr=lr, epochs=max_epochs,
                                   optimizer=row["optimizer"], stop_loss=stop_long,
                                   record_every=args.record_every, progress=120.0,
                                   progress_label=f"long {arch} {subset}")
        wall = time.time() - t0
        ym = Y.astype(np.float64).mean(axis=1)[:, None, :]                            # (S, 1, out)
        m2 = np.sum((np.asarray(r["outputs"], dtype=np.float64).mean(axis=2) - ym) ** 2, axis=-1)   # (S, T)
        res = {k: np.asarray(r[k]) for k in ("epoch", "h", "y", "w", "loss", "final_h", "final_loss",
                                              "n_updates", "stopped")}
        res["m2"], res["wall"] = m2, np.array(wall)
        args.work.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **res)
        print(f"[{arch}] long run ({subset}): {len(seeds)} nets, lr {lr:g}, stop {stop_long}, cap "
              f"{max_epochs}, record every {args.record_every}: {wall:.0f} s wall; updates "
              f"{res['n_updates'].tolist()}")
    out.setdefault(arch, {})[f"long_{subset}_wall_s"] = float(res["wall"])
    ep, L, H = res["epoch"], res["loss"], res["h"]
    fits = stored(args.data, "fits", arch)
    base = stored(args.data, "grid", arch)
    base_h = io.to_array(io.select(base, quantity="final_h"))[1].ravel()[points]
    th = cfg["checks"]
    if subset == "dy0":
        dy0_table(arch, grid, ep, L, H, res, fits, base, cfg, lr, points, base_h)
        return
    table_head(f"[{arch}] stop-loss variants (lr_factor {cfg['lr_factor']}; read off one trajectory per point, "
               f"record every {args.record_every})")
    picks = {}
    dy0 = load_dy0(args, arch)
    for stop in args.stops:
        for cap in sorted({cfg["max_epochs"], max_epochs}):
            vals = {k: [] for k in _train.GRID_QUANTITIES}
            for s in range(len(seeds)):
                h, loss, e, stopped = pick(res, s, stop, cap, stop_long)
                for q, v in (("dist_x", grid[s, 0]), ("dist_y", grid[s, 1]), ("h0", H[s, 0]), ("y0", res["y"][s, 0]),
                             ("w0", res["w"][s, 0]), ("final_h", h), ("final_loss", loss), ("n_epochs", e),
                             ("stopped", stopped)):
                    vals[q].append(v)
            d, st = evaluate(fits, grid_table(arch, lr, vals, points), cfg, arch)
            n_stop = int(np.sum(vals["stopped"]))
            name = f"stop {stop:g}, cap {cap}"
            extra = f"{n_stop}/{len(seeds)} reached the stop; max epochs {int(max(vals['n_epochs']))}; " + pass_marks(st, th)
            if stop == cfg["stop_loss"] and cap == cfg["max_epochs"]:
                dev = np.max(np.abs(np.array(vals["final_h"]) - base_h) / base_h)
                extra += f"; max |h - stored baseline| / h = {dev:.2e}"
            if dy0 is not None:                         # whole grid: add the dy = 0 column's long run
                r0, g0, p0 = dy0
                v_all = {k: list(v) for k, v in vals.items()}
                for s in range(len(p0)):
                    h, loss, e, stopped = pick(r0, s, stop, cap, None)
                    for q, v in (("dist_x", g0[s, 0]), ("dist_y", 0.0), ("h0", r0["h"][s, 0]), ("y0", r0["y"][s, 0]),
                                 ("w0", r0["w"][s, 0]), ("final_h", h), ("final_loss", loss), ("n_epochs", e),
                                 ("stopped", stopped)):
                        v_all[q].append(v)
                _, st = evaluate(fits, grid_table(arch, lr, v_all, np.concatenate([points, p0])), cfg, arch)
                n_stop = int(np.sum(v_all["stopped"]))
                extra = (f"whole grid (dy = 0 column from its {int(r0['epoch'][-1]) + args.record_every}-epoch run); "
                         f"{n_stop}/25 reached the stop; " + pass_marks(st, th) + "; dy>0 only: r "
                         f"{out_r(evaluate, fits, vals, arch, lr, points, cfg)}")
            out[arch][name] = {**st, "n_reached": n_stop}
            print(fmt_stats(name, st, extra))
            picks[(stop, cap)] = (d, vals)
    # point by point: h at each stop for every point
    print(f"\n[{arch}] dy > 0 points: final h by stop loss (cap {max_epochs}); theory h_+; epochs in brackets")
    d_any = picks[(args.stops[0], max_epochs)][0]
    hdr = "| dist_x | dist_y | theory h_+ | " + " | ".join(f"h @ {s:g}" for s in args.stops) + " |"
    print(hdr + "\n|" + "---|" * (3 + len(args.stops)))
    for s in range(len(seeds)):
        cells = []
        for stop in args.stops:
            v = picks[(stop, max_epochs)][1]
            cells.append(f"{v['final_h'][s]:.4g} ({int(v['n_epochs'][s])}{'' if v['stopped'][s] else '*'})")
        print(f"| {grid[s, 0]:g} | {grid[s, 1]:g} | {d_any['h_plus'][s]:.4g} | " + " | ".join(cells) + " |")
    print("(* = threshold not reached by the cap)")


def theory_h_at(d: dict, t, lr_factor: float):
    """Eq. 39 (dy2 = 0, exact logistic solution) at epochs ``t`` per point, with the pool's averaged rates
    (fitted at the Table-1 lr, per epoch) scaled to the grid's lr (rates scale with lr, spec 3.1)."""
    eh, ey = d["mean_eta_h"] * lr_factor, d["mean_eta_y"] * lr_factor
    return np.array([effective.identical_output_solution(np.array([float(tt)]), h0, y0, eh, ey, dx ** 2)[0][0]
                     for tt, h0, y0, dx in zip(np.broadcast_to(t, d["h0"].shape), d["h0"], d["y0"], d["dist_x"])])


def dy0_table(arch, grid, ep, L, H, res, fits, base, cfg, lr, points, base_h) -> None:
    """dy = 0 column: h(t)/h0, mean-output error and loss at a few epochs; the dy0 check at several stops."""
    print(f"\n[{arch}] dy = 0 points: h(t) / h0, mean-output error |m(t)|^2 (spec Eq. 18), loss at recorded epochs")
    vals = {k: [] for k in _train.GRID_QUANTITIES}
    for s in range(len(grid)):
        i = np.flatnonzero(np.isfinite(L[s]) & (L[s] < cfg["stop_loss"]))[0]
        for q, v in (("dist_x", grid[s, 0]), ("dist_y", 0.0), ("h0", H[s, 0]), ("y0", res["y"][s, 0]),
                     ("w0", res["w"][s, 0]), ("final_h", H[s, i]), ("final_loss", L[s, i]), ("n_epochs", ep[i]),
                     ("stopped", 1.0)):
            vals[q].append(v)
    d_any, st = evaluate(fits, grid_table(arch, lr, vals, points), cfg, arch)
    dev = np.max(np.abs(np.array(vals["final_h"]) - base_h) / base_h)
    ht = theory_h_at(d_any, np.array(vals["n_epochs"]), cfg["lr_factor"])
    fh = np.array(vals["final_h"])
    print(f"dy0 check at the first recorded epoch with loss < {cfg['stop_loss']:g}: {st['dy0_rel']:.3f} "
          f"(max |h - stored baseline| / h = {dev:.2e}); against the theory's own h(t) at that epoch (Eq. 39) "
          f"instead of h(inf) = A: max |h - h(t)| / h(t) = {np.max(np.abs(fh - ht) / ht):.3f}")
    print("  per point: dist_x, stop epoch, h/h0, theory h(t_stop)/h0, A/h0, 1/(eta_y A) [epochs]: " + "; ".join(
        f"{dx:g} {int(e)} {h / h0:.3f} {t / h0:.4f} {a / h0:.3f} {1 / (d_any['mean_eta_y'] * cfg['lr_factor'] * a):.0f}"
        for dx, e, h, t, a, h0 in zip(grid[:, 0], vals["n_epochs"], fh, ht, d_any["A"], d_any["h0"])))
    last = int(ep[np.isfinite(L).any(axis=0)][-1])
    for e in sorted({2000, 5000, last}):
        i = min(np.searchsorted(ep, e), len(ep) - 1)
        rel = np.abs(H[:, i] - d_any["A"]) / d_any["A"]
        print(f"  h at epoch {int(ep[i])} (loss {np.nanmax(L[:, i]):.1e} max): max |h - A| / A = {rel.max():.3f}")
    marks = [0, 50, 100, 200, 400, 800, 2000, 5000, last]
    for s in range(len(grid)):
        cells = []
        for e in marks:
            i = np.searchsorted(ep, e)
            i = min(i, len(ep) - 1)
            while i > 0 and not np.isfinite(L[s, i]):
                i -= 1
            cells.append(f"{int(ep[i])}: {H[s, i] / H[s, 0]:.3f}/{res['m2'][s, i]:.1e}/{L[s, i]:.1e}")
        print(f"dist_x {grid[s, 0]:g}: A/h0 {d_any['A'][s] / H[s, 0]:.3f}; epoch: h/h0 / |m|^2 / loss = " + "; ".join(cells))


# ----------------------------------------------------------------------------------------------- learning rate
def run_lr(args, cfg, arch, out: dict) -> None:
    import torch

    torch.set_num_threads(1)
    fits = stored(args.data, "fits", arch)
    th = cfg["checks"]
    full_at = {float(x.split(":")[1]) for x in args.lr_full if x.split(":")[0] == arch}
    table_head(f"[{arch}] lr_factor variants (stop {cfg['stop_loss']:g}; max_epochs x 0.4 / lr_factor; "
               f"whole grid at lr_factor {sorted(full_at) or 'none'}, else the dy = 0 column)")
    base = stored(args.data, "grid", arch)
    _, s0 = evaluate(fits, base, cfg, arch)
    print(fmt_stats(f"lr_factor {cfg['lr_factor']} (stored baseline)", s0, pass_marks(s0, th)))
    for f in args.lr_factors:
        full = f in full_at
        c = {**cfg, "lr_factor": f, "max_epochs": int(round(cfg["max_epochs"] * cfg["lr_factor"] / f))}
        cache = args.work / f"lr_{arch}_{f:g}_{'full' if full else 'dy0'}.parquet"
        t0 = time.time()
        cached = cache.exists() and not args.rerun
        if cached:
            grid = io.read_trajectories(cache)
        else:
            grid = _train.grid_trainings(c, arch, 0, 1) if full else _train.grid_trainings(c, arch, 0, len(cfg["dist_y"]))
            args.work.mkdir(parents=True, exist_ok=True)
            io.write_trajectories(grid, cache)
        wall = time.time() - t0
        d, st = evaluate(fits, grid, c, arch)
        if not full:                                  # only the dy = 0 statistic means something on 5 points
            st = {**st, "pearson": np.nan, "slope": np.nan, "median_rel": np.nan}
        out.setdefault(arch, {})[f"lr_factor {f:g}"] = {**st, "wall_s": wall}
        ne = d["n_epochs"]
        print(fmt_stats(f"lr_factor {f:g}, max_epochs {c['max_epochs']}", st,
                        f"epochs {int(ne.min())}-{int(ne.max())}; "
                        + (f"cached in {cache}; " if cached else f"{wall:.0f} s; ") + pass_marks(st, th)))
        if full:                                      # same seeds and datasets as the stored baseline grid
            d0, _ = evaluate(fits, base, cfg, arch)
            pos = d["dist_y"] > 0
            rel = (d["final_h"] - d0["final_h"]) / d0["final_h"]
            kept = d["kept"] > 0.5
            r_all = np.corrcoef(d["h_plus"], d["final_h"])[0, 1]
            print(f"   dy > 0: final h vs lr_factor {cfg['lr_factor']}: median |change| "
                  f"{np.median(np.abs(rel[pos])):.3f}, max {np.max(np.abs(rel[pos])):.3f}; Pearson r over all 25 points "
                  f"(discarded ones included) {r_all:.3f}; discarded: "
                  + (", ".join(f"({d['dist_x'][i]:g}, {d['dist_y'][i]:g}) loss {d['final_loss'][i]:.1e}"
                               for i in np.flatnonzero(~kept)) or "none"))
            print("   per point (dist_x, dist_y: h at 0.4 -> h here): " + "; ".join(
                f"({d['dist_x'][i]:g}, {d['dist_y'][i]:g}) {d0['final_h'][i]:.3g} -> {d['final_h'][i]:.3g}"
                for i in np.flatnonzero(pos)))
        zero = d["dist_y"] == 0
        print("   dy = 0: dist_x / h0 / A / final h / rel: " + "; ".join(
            f"{dx:g} {h0:.4g} {a:.4g} {fh:.4g} {(fh - a) / a:+.3f}" for dx, h0, a, fh in
            zip(d["dist_x"][zero], d["h0"][zero], d["A"][zero], d["final_h"][zero])))


# ----------------------------------------------------------------------------------------------- centred targets
def run_centred(args, cfg, arch, out: dict) -> None:
    """Control for the dy = 0 column: the same networks (seeds, lr) on the same inputs with the targets shifted by
    -0.6 (both targets 0 instead of 0.6), so that there is (almost) no mean output to learn. Fixed epoch count, no
    stop. If h then stays at A, the dy = 0 deviation of the protocol comes from learning the output mean."""
    from learndyn import deepnets
    import torch

    torch.set_num_threads(1)
    row = cfg["rows"][arch]
    full_grid = datasets.two_point_grid(cfg["dist_x"], cfg["dist_y"])
    points = np.flatnonzero(full_grid[:, 1] == 0)
    grid = full_grid[points]
    data = [datasets.two_point(dx ** 2, dy ** 2) for dx, dy in grid]
    X = np.stack([d[0] for d in data])
    Y0 = np.stack([d[1] for d in data])
    Y = (Y0 - Y0.mean(axis=1, keepdims=True)).astype(np.float32)
    seeds = [cfg["grid_seed0"] + int(j) for j in points]
    lr = cfg["lr_factor"] * row["lr"]
    t0 = time.time()
    r = deepnets.train_batched(_train.arch_of(row), X, Y, seeds, lr=lr, epochs=args.centred_epochs,
                               optimizer=row["optimizer"], record_every=args.record_every)
    wall = time.time() - t0
    ep, H, L = np.asarray(r["epoch"]), np.asarray(r["h"]), np.asarray(r["loss"])
    m2 = np.sum(np.asarray(r["outputs"], dtype=np.float64).mean(axis=2) ** 2, axis=-1)
    fits = stored(args.data, "fits", arch)
    vals = {"dist_x": grid[:, 0], "dist_y": grid[:, 1], "h0": H[:, 0], "y0": np.asarray(r["y"])[:, 0],
            "w0": np.asarray(r["w"])[:, 0], "final_h": np.asarray(r["final_h"]), "final_loss": np.asarray(r["final_loss"]),
            "n_epochs": np.asarray(r["n_updates"]), "stopped": np.zeros(len(points))}
    d, st = evaluate(fits, grid_table(arch, lr, vals, points), cfg, arch)
    ht = theory_h_at(d, vals["n_epochs"], cfg["lr_factor"])
    rel_t = float(np.max(np.abs(vals["final_h"] - ht) / ht))
    out.setdefault(arch, {})["centred dy0"] = {"dy0_rel": st["dy0_rel"], "vs_h_t": rel_t, "wall_s": wall}
    print(f"\n[{arch}] centred targets (y1 = y2 = 0 instead of 0.6), dy = 0 column, {args.centred_epochs} epochs, "
          f"lr {lr:g}: {wall:.0f} s wall; max |h_end - A| / A = {st['dy0_rel']:.3f}; against the theory's h(t) "
          f"at the last epoch (Eq. 39): max |h_end - h(t)| / h(t) = {rel_t:.3f}")
    for s in range(len(points)):
        cells = [f"{int(ep[i])}: {H[s, i] / H[s, 0]:.3f}/{m2[s, i]:.1e}" for i in
                 [min(np.searchsorted(ep, e), len(ep) - 1) for e in (0, 100, 200, 400, 800, args.centred_epochs)]]
        print(f"dist_x {grid[s, 0]:g}: A/h0 {d['A'][s] / H[s, 0]:.3f}, h_end/h0 {vals['final_h'][s] / H[s, 0]:.3f}, "
              f"final loss {vals['final_loss'][s]:.1e}; epoch: h/h0 / |m|^2 = " + "; ".join(cells))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=ROOT / "results" / "paper_b" / "data",
                   help="results/paper_b/data of a finished workflow run (fig5_{pool,fits,grid}_<arch>_batch*)")
    p.add_argument("--config", type=Path, default=None, help="default: config/paper_b.yaml")
    p.add_argument("--work", type=Path, default=Path("/tmp/f5inv"), help="cache of the trainings run here")
    p.add_argument("--archs", nargs="+", default=["shallow", "narrow"])
    p.add_argument("--only", nargs="+", choices=["pool", "long", "lr", "centred"],
                   default=["pool", "long", "lr", "centred"])
    p.add_argument("--rerun", action="store_true", help="ignore cached trainings in --work")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap draws of the pool (fig5.predict each)")
    p.add_argument("--n-noise", type=int, default=5000, help="draws of the seed-noise floor (NumPy only)")
    p.add_argument("--boot-seed", type=int, default=0)
    p.add_argument("--boot-sizes", type=int, nargs="+", default=[10, 50, 100])
    p.add_argument("--stops", type=float, nargs="+", default=[1e-4, 1e-5, 1e-6])
    p.add_argument("--stop-long", type=float, default=1e-6, help="dy > 0 points: stop loss of the long run")
    p.add_argument("--max-epochs-long", type=int, default=40000, help="dy > 0 points: epoch cap of the long run")
    p.add_argument("--long-subsets", nargs="+", choices=["dy0", "dypos"], default=["dy0", "dypos"])
    p.add_argument("--stop-long-dy0", type=float, default=0.0, help="dy = 0 column: stop loss (0 = none)")
    p.add_argument("--max-epochs-dy0", type=int, default=8000, help="dy = 0 column: epochs")
    p.add_argument("--record-every", type=int, default=20)
    p.add_argument("--centred-epochs", type=int, default=2000)
    p.add_argument("--lr-factors", type=float, nargs="+", default=[0.2, 0.1])
    p.add_argument("--lr-full", nargs="*", default=["shallow:0.2", "narrow:0.2", "narrow:0.1"],
                   help="arch:lr_factor pairs retrained on the whole grid (other pairs: the dy = 0 column only)")
    p.add_argument("--json", type=Path, default=None, help="write all numbers here")
    args = p.parse_args(argv)
    args.config = args.config or default_config()
    cfg = load_cfg(args.config)
    out: dict = {}
    t_all = time.time()
    for part in ("pool", "long", "lr", "centred"):
        if part not in args.only:
            continue
        for arch in args.archs:
            t0 = time.time()
            {"pool": run_pool, "long": run_long, "lr": run_lr, "centred": run_centred}[part](args, cfg, arch, out)
            print(f"[{arch}] {part}: {time.time() - t0:.0f} s wall", flush=True)
    print(f"\ntotal wall {time.time() - t_all:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
