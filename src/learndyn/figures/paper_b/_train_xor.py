"""Paper B, Figures 6 and 14: the XOR trainings (spec ``universality.md`` 4.2, 5, 6.0 D5-D8 / D13, 6.1).

This module imports only :mod:`learndyn.datasets`, :mod:`learndyn.deepnets` and :mod:`learndyn.io`, so that
an edit to the theory (:mod:`learndyn.effective`) or to the plotting never reruns the (expensive) trainings;
the theory matrices and the figures are made by separate rules from the parquet written here
(:mod:`learndyn.figures.paper_b.fig6`).

One network per configured run (row of ``cfg["rows"]``): an MLP (spec 5.2) with ``2 -> P -> ... -> P -> 1``,
trained full batch (batch 100 > 4 points: one step per epoch) on the XOR task of spec 4.2 with the figure's
optimiser (SGD for Fig. 6, Adam for Fig. 14, D13) and loss (``"mse"`` = ``nn.MSELoss()`` without 1/2, D8).
The activation is the figure's (D7: leaky ReLU; the reference notebook hard-codes ReLU).

Rows written (trajectory schema of :mod:`learndyn.io`; ``figure`` = ``"b6"`` / ``"b14"``, ``condition`` = run):

* ``source="simulation"``: ``hidden`` ``(2, 4, P)`` = observed hidden activity of the 4 points (``row``)
  at steps ``0`` (initialisation) and ``n_epochs`` (after the last update), eval mode; ``output``
  ``(2, 4, 1)`` the network outputs at the same steps; ``loss`` ``(n_epochs,)`` the full-batch training
  loss at the start of every epoch (before its update);
* ``source="summary"``: ``input`` ``(4, 2)``, ``target`` ``(4, 1)``, ``final_loss`` (loss of the final
  outputs), ``gain``, ``n_epochs``, ``observe``.
"""

from __future__ import annotations

import numpy as np

from ... import datasets, io

def arch_of(row: dict, cfg: dict):
    """:class:`learndyn.deepnets.ArchSpec` of one XOR run: MLP ``2 -> width x n_hidden -> 1`` with the
    figure's activation (D7) and the row's Xavier-normal gain."""
    from ... import deepnets  # torch only where networks are trained

    return deepnets.ArchSpec(kind="mlp", n_hidden=row["n_hidden"], width=row["width"], activation=cfg["activation"],
                             gain=row["gain"], in_dim=2, out_dim=1, observe=row["observe"])


def loss_of(outputs: np.ndarray, targets: np.ndarray, kind: str) -> float:
    """Training loss of outputs ``(4, 1)`` against targets ``(4, 1)``: mean squared error (``"mse"``, D8) or
    half of it (``"half_mse"``), the definitions of :func:`learndyn.deepnets.train_batched`."""
    se = float(np.mean((np.asarray(outputs, float) - np.asarray(targets, float)) ** 2))
    return se if kind == "mse" else 0.5 * se


def train(cfg: dict, run: str, figure: str = "b6", device: str = "cpu"):
    """Train run ``run`` of ``cfg["rows"]`` on XOR (spec 4.2, 5.1) with seed ``cfg["seed"]``.

    ``cfg``: the figure section (``seed, activation, optimizer, loss, rows``); each row has ``n_hidden, width,
    gain, lr, epochs, observe``. Returns the rows of the module docstring.
    """
    from ... import deepnets

    row = cfg["rows"][run]
    X, Y = datasets.xor()
    res = deepnets.train(arch_of(row, cfg), X, Y, seed=cfg["seed"], lr=row["lr"], epochs=row["epochs"],
                         optimizer=cfg["optimizer"], loss=cfg["loss"], batch_size=None, observe=row["observe"],
                         snapshot_epochs=[0, -1], device=device, progress=60.0,
                         progress_label=f"{figure} {run}")
    n = int(row["epochs"])
    final_loss = loss_of(res["snapshot_outputs"][-1], Y, cfg["loss"])
    print(f"{figure} {run}: {n} epochs ({cfg['optimizer']}, lr {row['lr']:g}, gain {row['gain']:g}) in "
          f"{float(res['wall_seconds']):.1f} s; loss {res['train_loss'][0]:.3g} -> {final_loss:.3g}")
    meta = dict(figure=figure, panel=run, condition=run, seed=cfg["seed"], learning_rate=row["lr"])
    steps = np.array([0, n])
    ep = res["epoch"]
    frames = [
        io.records(res["reps"], quantity="hidden", source="simulation", steps=steps, t=steps, **meta),
        io.records(res["snapshot_outputs"], quantity="output", source="simulation", steps=steps, t=steps, **meta),
        io.records(res["train_loss"], quantity="loss", source="simulation", steps=ep, t=ep, **meta),
    ]
    for q, v in (("input", X), ("target", Y), ("final_loss", final_loss), ("gain", row["gain"]),
                 ("n_epochs", n), ("observe", row["observe"])):
        frames.append(io.records(v, quantity=q, source="summary", **meta))
    return io.concat(frames)
