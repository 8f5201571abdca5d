"""Paper B's MNIST trainings (Figs 4, 9, 16): spec ``universality.md`` 4.4, 5.1-5.2, 6.1, decisions D10, D11,
D13, D14.

MNIST net (spec 5.2): ``784 -> P -> P -> P -> P -> 10`` (L = 4 hidden layers), leaky ReLU, Xavier-normal gain 0.5,
observed hidden activity ``acts[2]``; SGD (or Adam, Fig. 16) on ``0.5 * MSE`` with one-hot targets, minibatches
of 64 reshuffled every epoch (last batch smaller). Inputs ``(pixels/255 - 0.1307) / 0.3081``.

* :func:`train_pair` (Fig. 4): one network; at the start of every epoch (before the update, eval mode) the
  tracked pair (first "0" and first "1" of the split, D11: training indices 1 and 3) gives ``h, y, w``.
* :func:`train_structure` (Figs 9, 16): independent trainings, one seed each (D14); after training the squared
  distances of ``acts[2]`` between the first 100 images of the split sorted by label (stable).

Only the needed points are evaluated per epoch (the pair); the whole training set is evaluated once at the end
(training accuracy). The networks of one job are stacked (:func:`learndyn.deepnets.train_batched`): network
``k`` depends on its seed only, so the job split (``batch, n_batches``) never changes the numbers (on CPU the
stacked and the single training are bit-identical; tested).

This module imports only :mod:`learndyn.datasets`, :mod:`learndyn.io` and (inside the functions, torch)
:mod:`learndyn.deepnets`, so that edits to the theory or the plots never rerun a training. Rows follow the
trajectory schema (``t`` = ``step`` = epoch):

* ``train_pair``: ``source="simulation"``: ``h, y, w, loss`` (pair, per epoch), ``train_loss`` (mean minibatch
  loss of the epoch); ``source="summary"``: ``dx2, dy2, final_h, final_y, final_w, final_loss, train_accuracy,
  pair (2,), n_train``.
* ``train_structure``: per trial (``condition = "trial<k>"``): ``D2`` ``(n, n)`` squared distances
  (``source="simulation"``, summary row), ``train_loss`` per epoch, ``train_accuracy``, ``structure_index`` and
  ``structure_label`` ``(n,)`` (``source="summary"``).
"""

from __future__ import annotations

import numpy as np

from ... import datasets, io

N_CLASSES = 10


def settings(cfg: dict) -> dict:
    """Learning rate, epochs and width of a run: ``cfg["settings_table"][cfg["settings"]]`` (D10 switch:
    ``head`` = the reference's "correct MNIST settings", ``paper`` = paper Table 2) when the figure has the
    switch, else ``cfg``'s own ``lr, epochs, width`` (Fig. 16, D13)."""
    src = cfg["settings_table"][cfg["settings"]] if "settings" in cfg else cfg
    return {k: src[k] for k in ("lr", "epochs", "width")}


def arch_of(cfg: dict):
    """:class:`learndyn.deepnets.ArchSpec` of the MNIST net (spec 5.2) from ``cfg`` (and :func:`settings`)."""
    from ... import deepnets

    return deepnets.ArchSpec(kind="mlp", n_hidden=cfg["n_hidden"], width=settings(cfg)["width"],
                             activation=cfg["activation"], gain=cfg["gain"], in_dim=784, out_dim=N_CLASSES,
                             observe=cfg["observe"])


def training_data(cfg: dict, mnist_dir):
    """The training split (spec 4.4): the 60k training set, or the 10k test split with
    ``cfg["mnist_10k_proxy"]`` (never automatic), cut to the first ``cfg["n_train"]`` images (``None``: all).

    Returns ``(X (N, 784) float32 standardised, Y (N, 10) one-hot, data)`` with ``data`` the
    :class:`learndyn.datasets.MnistFigureData` of the whole split (pair, structure subset, labels).
    Missing or corrupt files raise :class:`learndyn.datasets.MnistDataError` naming the file.
    """
    data = datasets.mnist_figure_data(mnist_dir, use_10k_proxy=bool(cfg["mnist_10k_proxy"]),
                                      n_structure=cfg["n_structure"], n_theory=cfg["n_structure"])
    n = len(data.labels) if cfg["n_train"] is None else min(int(cfg["n_train"]), len(data.labels))
    needed = max(max(data.pair), int(np.max(data.structure_indices))) + 1
    if n < needed:
        raise ValueError(f"n_train = {n} must include the tracked pair and the first {cfg['n_structure']} "
                         f"images (>= {needed})")
    return data.images[:n], data.targets[:n], data


def squared_distances(reps: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``reps``: ``(..., n, F) -> (..., n, n)`` float64
    (direct differences, no cancellation; zero diagonal)."""
    r = np.asarray(reps, dtype=np.float64)
    return ((r[..., :, None, :] - r[..., None, :, :]) ** 2).sum(-1)


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Fraction of ``argmax`` outputs equal to the label: ``outputs (..., N, 10)``, ``labels (N,)`` -> ``(...)``."""
    return (np.argmax(outputs, axis=-1) == np.asarray(labels)).mean(axis=-1)


def _train(cfg: dict, X, Y, seeds, pair, device):
    from ... import deepnets

    s = settings(cfg)
    res = deepnets.train_batched(arch_of(cfg), X, Y, seeds, lr=s["lr"], epochs=s["epochs"],
                                 optimizer=cfg["optimizer"], loss="half_mse", batch_size=cfg["batch_size"],
                                 shuffle=True, observe=cfg["observe"], track=pair, snapshot_epochs=[-1],
                                 device=device, progress=60.0, progress_label=f"mnist seeds {list(seeds)}")
    print(f"{len(seeds)} network(s), seeds {list(seeds)}: {s['epochs']} epochs on {len(X)} images in "
          f"{float(res['wall_seconds']):.1f} s")
    return res


def train_pair(cfg: dict, mnist_dir, device: str = "cpu"):
    """Figure 4 training (spec 6.1): one network, seed ``cfg["seed"]``, tracked pair of D11.

    ``cfg``: ``seed, settings, settings_table, n_hidden, activation, gain, observe, optimizer, batch_size,
    n_train, n_structure, mnist_10k_proxy``. Returns trajectory rows (module docstring).
    """
    X, Y, data = training_data(cfg, mnist_dir)
    res = _train(cfg, X, Y, [cfg["seed"]], data.pair, device)
    lr = settings(cfg)["lr"]
    meta = dict(figure="b4", panel="A", condition="pair", seed=cfg["seed"], learning_rate=lr)
    ep = res["epoch"]
    frames = [io.records(res[q][0], quantity=q, source="simulation", steps=ep, t=ep, **meta)
              for q in ("h", "y", "w", "loss", "train_loss")]
    summ = {"dx2": res["dx2"][0], "dy2": res["dy2"][0], "final_h": res["final_h"][0], "final_y": res["final_y"][0],
            "final_w": res["final_w"][0], "final_loss": res["final_loss"][0],
            "train_accuracy": accuracy(res["snapshot_outputs"][0, -1], data.labels[:len(X)]),
            "pair": np.asarray(data.pair, dtype=float), "n_train": len(X)}
    frames += [io.records(v, quantity=q, source="summary", **meta) for q, v in summ.items()]
    return io.concat(frames)


def train_structure(cfg: dict, mnist_dir, batch: int = 0, n_batches: int = 1, device: str = "cpu",
                    figure: str = "b9"):
    """Figures 9 / 16 trainings (spec 6.1): trials ``k = batch, batch + n_batches, ...`` of ``cfg["seeds"]``
    (trial k uses seed ``cfg["seeds"][k]``), stacked in one :func:`learndyn.deepnets.train_batched` call.

    After training: squared distances of ``acts[observe]`` between the ``cfg["n_structure"]`` structure images
    (first images of the split, stably sorted by label) and the training accuracy. Returns trajectory rows
    (module docstring); an empty table when the batch holds no trial.
    """
    trials = list(range(len(cfg["seeds"])))[batch::n_batches]
    if not trials:
        return io.empty()
    X, Y, data = training_data(cfg, mnist_dir)
    seeds = [int(cfg["seeds"][k]) for k in trials]
    res = _train(cfg, X, Y, seeds, data.pair, device)
    reps = res["reps"][:, -1][:, data.structure_indices]                       # (S, n, F), final state
    d2 = squared_distances(reps)                                               # (S, n, n)
    acc = accuracy(res["snapshot_outputs"][:, -1], data.labels[:len(X)])       # (S,)
    lr = settings(cfg)["lr"]
    ep = res["epoch"]
    frames = []
    for s, k in enumerate(trials):
        meta = dict(figure=figure, panel="B", condition=f"trial{k}", seed=seeds[s], learning_rate=lr)
        frames.append(io.records(d2[s], quantity="D2", source="simulation", **meta))
        frames.append(io.records(res["train_loss"][s], quantity="train_loss", source="simulation", steps=ep, t=ep,
                                 **meta))
        for q, v in (("train_accuracy", acc[s]), ("structure_index", data.structure_indices), ("structure_label", data.structure_labels),
                     ("n_train", len(X))):
            frames.append(io.records(np.asarray(v, dtype=float), quantity=q, source="summary", **meta))
    return io.concat(frames)
