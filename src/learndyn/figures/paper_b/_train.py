"""Trainings of paper B's two-point experiments (Figs 2, 3, 5, 10, 11, 13): the functions the training rules call.

Spec ``universality.md`` sections 4.1 (data), 5 (networks), 6.0 (Table 1 rows, D1-D14). This module imports only
:mod:`learndyn.datasets`, :mod:`learndyn.io` and (inside the functions) :mod:`learndyn.deepnets`: the core files it
depends on are the inputs of the training rules, so an edit to the theory, the fits or the plotting never reruns
a training. Fits and plots live in :mod:`._two_point` and the figure modules. Output rows are described in
:mod:`._two_point`'s docstring (``source="simulation"``, ``"summary"``; Fig. 5's grid: ``source="grid"``).
"""

from __future__ import annotations

import numpy as np

from ... import datasets, io

#: Seconds between the progress lines a training writes to its rule log (``tail -f logs/.../b5_grid_*.log``);
#: see :class:`learndyn.deepnets.progress.Progress`. Not a config key: it changes no number (params rerun rules).
PROGRESS_SECONDS = 60.0

GRID_QUANTITIES = ("dist_x", "dist_y", "h0", "y0", "w0", "final_h", "final_loss", "n_epochs", "stopped")


def arch_of(row: dict):
    """:class:`learndyn.deepnets.ArchSpec` of a config row (kind, n_hidden, width, activation, gain, observe)."""
    from ... import deepnets  # torch only where networks are trained

    return deepnets.ArchSpec(kind=row["kind"], n_hidden=row["n_hidden"], width=row["width"],
                             activation=row["activation"], gain=row["gain"], observe=row["observe"])


def train_rows(cfg: dict, figure: str, names, *, observe_all: bool = False, device: str = "cpu"):
    """Train the configured rows ``names`` of ``cfg["rows"]`` on the two-point dataset (spec 4.1).

    ``cfg``: a figure section with ``seed``, ``dx2``, ``dy2``, ``rows``. Each row: ``kind, n_hidden,
    width, activation, gain, lr, epochs, optimizer, observe``. ``observe_all``: track every hidden layer
    (Fig. 10; ``h`` then has ``row`` = layer index). Returns trajectory rows (module docstring).
    """
    from ... import deepnets

    X, Y = datasets.two_point(cfg["dx2"], cfg["dy2"])
    frames = []
    for name in names:
        row = cfg["rows"][name]
        arch = arch_of(row)
        observe = list(range(arch.n_acts)) if observe_all else arch.default_observe()
        res = deepnets.train(arch, X, Y, seed=cfg["seed"], lr=row["lr"], epochs=row["epochs"],
                             optimizer=row["optimizer"], observe=observe, device=device,
                             progress=PROGRESS_SECONDS, progress_label=f"{figure} {name}")
        print(f"{figure} {name}: {row['epochs']} epochs in {float(res['wall_seconds']):.1f} s")
        meta = dict(figure=figure, panel=name, condition=name, seed=cfg["seed"], learning_rate=row["lr"])
        ep = res["epoch"]
        for q in ("h", "y", "w", "loss"):
            frames.append(io.records(res[q], quantity=q, source="simulation", steps=ep, t=ep, **meta))
        m = res["outputs"][0].mean(axis=0) - Y.astype(np.float64).mean(axis=0)
        summ = {"dx2": res["dx2"], "dy2": res["dy2"], "m0_sq": float(np.sum(m ** 2)), "final_h": res["final_h"],
                "final_loss": res["final_loss"], "n_epochs": len(ep), "gain": row["gain"]}
        for q, v in summ.items():
            frames.append(io.records(v, quantity=q, source="summary", **meta))
    return io.concat(frames)


def train_batch(cfg: dict, figure: str, batch: int = 0, n_batches: int = 1, *, observe_all: bool = False,
                device: str = "cpu"):
    """Training rule of Figs 2, 3, 10, 13: rows ``batch, batch + n_batches, ...`` of ``cfg["rows"]`` (config
    order), one network each with seed ``cfg["seed"]`` (:func:`train_rows`). ``figure``: ``"b2"``, ``"b3"``...
    The batch split never changes a row's result, only which file holds it."""
    return train_rows(cfg, figure, list(cfg["rows"])[batch::n_batches], observe_all=observe_all, device=device)


def fit_pool_trainings(cfg: dict, arch: str, batch: int = 0, n_batches: int = 1, device: str = "cpu"):
    """Fit-pool trainings ``i = batch, batch + n_batches, ...`` of architecture ``arch`` (seed ``seed0 + i``),
    all in one stacked batch; rows as :func:`train_rows` with condition ``"<arch>/<i>"``."""
    from ... import deepnets

    row = cfg["rows"][arch]
    trials = list(range(batch, cfg["n_fit_trials"], n_batches))
    seeds = [cfg["seed0"] + i for i in trials]
    X, Y = datasets.two_point(cfg["dx2"], cfg["dy2"])
    res = deepnets.train_batched(arch_of(row), X, Y, seeds, lr=row["lr"], epochs=row["epochs"],
                                 optimizer=row["optimizer"], device=device, progress=PROGRESS_SECONDS,
                                 progress_label=f"b5 pool {arch} batch {batch}")
    print(f"b5 pool {arch}: {len(seeds)} networks x {row['epochs']} epochs in {float(res['wall_seconds']):.1f} s")
    ep = res["epoch"]
    frames = []
    for s, (i, seed) in enumerate(zip(trials, seeds)):
        meta = dict(figure="b5", panel=arch, condition=f"{arch}/{i}", seed=seed, learning_rate=row["lr"])
        for q in ("h", "y", "w", "loss"):
            frames.append(io.records(res[q][s], quantity=q, source="simulation", steps=ep, t=ep, **meta))
        for q in ("dx2", "dy2", "final_h", "final_loss"):
            frames.append(io.records(res[q][s], quantity=q, source="summary", **meta))
    return io.concat(frames)


def grid_trainings(cfg: dict, arch: str, batch: int = 0, n_batches: int = 1, device: str = "cpu"):
    """Test grid of architecture ``arch``: one network per (dist_x, dist_y) dataset ``j`` (seed ``grid_seed0 + j``),
    for the points ``j = batch, batch + n_batches, ...`` of the grid, stacked; lr = ``lr_factor`` x Table-1 lr,
    stop at loss < ``stop_loss`` or ``max_epochs``. Returns per-point vectors of :data:`GRID_QUANTITIES` with
    ``row`` = the global grid index ``j``, so the batch files concatenate to the ``(n_points,)`` grid and the batch
    count never changes a result."""
    from ... import deepnets

    row = cfg["rows"][arch]
    grid = datasets.two_point_grid(cfg["dist_x"], cfg["dist_y"])
    points = np.arange(batch, len(grid), n_batches)
    data = [datasets.two_point(dx ** 2, dy ** 2) for dx, dy in grid[points]]
    X = np.stack([d[0] for d in data])
    Y = np.stack([d[1] for d in data])
    seeds = [cfg["grid_seed0"] + int(j) for j in points]
    lr = cfg["lr_factor"] * row["lr"]
    # Only epoch 0 (h0, y0, w0) and the final state are used: no tracking on the other epochs.
    res = deepnets.train_batched(arch_of(row), X, Y, seeds, lr=lr, epochs=cfg["max_epochs"],
                                 optimizer=row["optimizer"], stop_loss=cfg["stop_loss"], device=device,
                                 record_every=cfg["max_epochs"], stop_on=cfg.get("dropout_stop_on", "eval"),
                                 progress=PROGRESS_SECONDS, progress_label=f"b5 grid {arch} batch {batch}")
    print(f"b5 grid {arch} batch {batch}: {len(seeds)} networks, up to {cfg['max_epochs']} epochs, "
          f"{float(res['wall_seconds']):.1f} s; epochs used {res['n_updates'].tolist()}")
    vals = {"dist_x": grid[points, 0], "dist_y": grid[points, 1], "h0": res["h"][:, 0], "y0": res["y"][:, 0],
            "w0": res["w"][:, 0], "final_h": res["final_h"], "final_loss": res["final_loss"],
            "n_epochs": res["n_updates"], "stopped": res["stopped"].astype(float)}
    meta = dict(figure="b5", panel=arch, condition=arch, learning_rate=lr)
    out = io.concat(io.records(v, quantity=q, source="grid", **meta) for q, v in vals.items())
    out["row"] = points[out["row"].to_numpy()].astype(np.int32)
    return out
