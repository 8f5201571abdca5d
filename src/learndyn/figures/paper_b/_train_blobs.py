"""Trainings of paper B's Gaussian-blob context task ("feature collapse", Figs 8, 12, 15).

Spec ``universality.md`` 4.3 (data), 5.1-5.2 (blob net: L = 4 hidden layers of P = 100, tanh (D9), observed
``acts[2]``), 6.0 Table 2 / D9 / D13 / D14, 6.1 (Figs 8, 12, 15). One configured run (gain, learning rate,
epochs, optimiser) = one network, trained with SGD or Adam on all ``2 n_centres^2`` points (1800), minibatches
of 64 reshuffled every epoch, loss 0.5 * MSE; the observed hidden activities and outputs of *every* point are
taken once, after the last update (eval mode).

This module imports only the dataset, network and I/O layers, so editing the metrics, the MDS or the figures
never reruns a training. Rows of the trajectory schema (``condition`` = ``panel`` = run name):

* ``source="simulation"``, one set per seed (``seed`` column): ``hidden`` ``(1, n, P)`` and ``output`` ``(1, n)``
  at ``step`` = ``epochs`` (final state), ``train_loss`` ``(T,)`` per epoch (sample-weighted mean of the
  minibatch losses of epoch k);
* ``source="summary"`` (:func:`dataset_records`), once, under the first seed: per-point labels ``context``
  (0 = "x", 1 = "y"), ``mu_x``, ``mu_y``, ``target``, each ``(n,)``; and the run's ``gain``, ``epochs``,
  ``observe``.

A config gives either ``seed`` (one network, Figs 8 and 12) or ``seeds`` (one network per seed, Fig. 15: its
checks average over seeds; the first seed's network is the one drawn).
"""

from __future__ import annotations

import numpy as np

from ... import datasets, io

LABELS = ("context", "mu_x", "mu_y", "target")


def blob_data(data_cfg: dict) -> "datasets.BlobData":
    """The blob task of spec 4.3 from a ``data`` config block (``n_centres``, ``size``, ``sigma``)."""
    return datasets.blob_context(n_centres=data_cfg["n_centres"], size=data_cfg["size"], sigma=data_cfg["sigma"])


def dataset_records(data: "datasets.BlobData", *, inputs: bool = False, **meta):
    """Per-point labels of ``data`` (``n`` points) as ``source="summary"`` rows ``(n,)`` of quantities
    :data:`LABELS`; with ``inputs=True`` also the input matrix ``(n, size^2 + 2)`` as ``source="data"``,
    ``quantity="input"`` (flattened image row-major, then the one-hot context). ``meta``: figure, panel, ..."""
    frames = [io.records(v, quantity=q, source="summary", **meta) for q, v in
              zip(LABELS, (data.context, data.feature_x, data.feature_y, data.targets[:, 0]))]
    if inputs:
        frames.append(io.records(data.inputs, quantity="input", source="data", **meta))
    return io.concat(frames)


def arch_of(cfg: dict, run: str, in_dim: int):
    """:class:`learndyn.deepnets.ArchSpec` of run ``run`` of a blob-figure config ``cfg`` (MLP, ``n_hidden``,
    ``width``, ``activation`` (D9), the run's ``gain``, observed ``acts[observe]``)."""
    from ... import deepnets  # torch only where networks are trained

    return deepnets.ArchSpec(kind="mlp", n_hidden=cfg["n_hidden"], width=cfg["width"], activation=cfg["activation"],
                             gain=cfg["runs"][run]["gain"], in_dim=in_dim, out_dim=1, observe=cfg["observe"])


def seeds_of(cfg: dict) -> list[int]:
    """The seeds of a blob-figure config: ``cfg["seeds"]`` if given, else ``[cfg["seed"]]`` (D14)."""
    return [int(s) for s in cfg["seeds"]] if "seeds" in cfg else [int(cfg["seed"])]


def train(cfg: dict, run: str, figure: str, device: str = "cpu"):
    """Train run ``run`` of a blob figure (``cfg`` = ``paper_b.fig8`` / ``fig12`` / ``fig15``) and return its rows.

    ``cfg``: ``seed`` or ``seeds`` (:func:`seeds_of`), ``data`` (spec 4.3), ``n_hidden``, ``width``, ``activation``,
    ``observe``, ``batch_size``, ``loss`` and ``runs[run]`` = ``{gain, lr, epochs, optimizer}``. ``figure``: figure
    id of the rows (``"b8"``). One network per seed, each trained on its own (not stacked), so every seed's rows
    equal those of a one-seed config with that seed. Deterministic for a given config (torch generators seeded
    from the seed).
    """
    from ... import deepnets

    r = cfg["runs"][run]
    data = blob_data(cfg["data"])
    arch = arch_of(cfg, run, data.inputs.shape[1])
    epochs = int(r["epochs"])
    seeds = seeds_of(cfg)
    frames = []
    for seed in seeds:
        res = deepnets.train_batched(arch, data.inputs, data.targets, [seed], lr=r["lr"], epochs=r["epochs"],
                                     optimizer=r["optimizer"], loss=cfg["loss"], batch_size=cfg["batch_size"],
                                     shuffle=True, observe=cfg["observe"], snapshot_epochs=[-1], device=device,
                                     progress=60.0, progress_label=f"{figure} {run} seed {seed}")
        meta = dict(figure=figure, panel=run, condition=run, seed=seed, learning_rate=r["lr"])
        hidden = res["reps"][0]                      # (1, n, P): the final snapshot
        output = res["snapshot_outputs"][0, :, :, 0]  # (1, n)
        final_loss = 0.5 * np.mean((output[0] - data.targets[:, 0].astype(np.float64)) ** 2)
        print(f"{figure} {run} seed {seed}: {arch.activation}, gain {r['gain']:g}, {r['optimizer']} lr {r['lr']:g}, "
              f"{epochs} epochs, {len(data.inputs)} points in {float(res['wall_seconds']):.1f} s; final loss "
              f"(all points) {final_loss:.3g}")
        ep = res["epoch"]
        frames += [
            io.records(hidden, quantity="hidden", source="simulation", steps=[epochs], t=[epochs], **meta),
            io.records(output, quantity="output", source="simulation", steps=[epochs], t=[epochs], **meta),
            io.records(res["train_loss"][0], quantity="train_loss", source="simulation", steps=ep, t=ep, **meta),
        ]
    meta = dict(figure=figure, panel=run, condition=run, seed=seeds[0], learning_rate=r["lr"])
    frames.append(dataset_records(data, **meta))
    for q, v in (("gain", r["gain"]), ("epochs", epochs), ("observe", cfg["observe"])):
        frames.append(io.records(v, quantity=q, source="summary", **meta))
    return io.concat(frames)
