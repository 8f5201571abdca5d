"""Step declarations shared by paper B's two-point figures (:mod:`learndyn.figures.steps`): the training and
fit pair of Figs 2, 3, 10 and 13, and the wall-time estimate of a two-point training.

The training step names :func:`._train.train_batch` (a module importing only datasets, io and deepnets), the
fit step :func:`._two_point.fit_runs`: a fit or plot edit never reruns a training. Each step declares exactly
the keys its numbers depend on (training: ``seed, dx2, dy2, rows``; fit: the two fit grids), so editing a
threshold or a caption reruns only the plot.
"""

from __future__ import annotations

from ..steps import Step
from . import _mnist, _train, _train_mnist, _two_point

__all__ = ["train_minutes", "two_point_steps", "TRAIN_KEYS", "FIT_KEYS", "MNIST_SHARED", "mnist_train_step",
           "MNIST_THEORY"]

#: keys of a figure block that a two-point training reads (:func:`._train.train_rows`)
TRAIN_KEYS = ("seed", "dx2", "dy2", "rows")
#: keys that the two-point fits read (:func:`._two_point.fit_runs`)
FIT_KEYS = ("fit_grid", "mean_grid")


def train_minutes(rows, epochs_factor: float = 1.0, n_nets: float = 1) -> int:
    """Wall-time request (minutes) of training ``rows`` (config rows: ``epochs, n_hidden, width``), ``n_nets``
    networks each: ~35 ms per epoch of a 20 x 500 net on one shared core (spec 8; measured 31 ms under load),
    scaled by the number of hidden weights, x 1.5, + 5 minutes of start-up."""
    cost = sum(r["epochs"] * max(r["n_hidden"], 1) * r["width"] ** 2 / (20 * 500**2) for r in rows)
    return max(5, int(cost * epochs_factor * n_nets * 0.035 / 60 * 1.5) + 5)


def _batch_rows_minutes(epochs_factor: float):
    """Minutes of one batch job of a two-point training: its ``ceil(n_rows / n_batches)`` most expensive rows."""
    def minutes(cfg: dict, n_batches: int) -> int:
        rows = sorted(cfg["rows"].values(), key=lambda r: train_minutes([r]), reverse=True)
        return train_minutes(rows[: -(-len(rows) // n_batches)], epochs_factor)
    return minutes


def two_point_steps(fig_id: str, name: str, *, batch: str | None = None, observe_all: bool = False,
                    epochs_factor: float = 1.0, fit_minutes: int = 15) -> tuple[Step, Step]:
    """``(<fig_id>_train, <fig_id>_fit)`` of figure block ``name`` (``"fig2"``): one network per row of
    ``rows`` (rows dealt round-robin to ``batches[batch]`` jobs when ``batch`` is given), written to
    ``<name>_train[_batch<k>].parquet``; then the Eq.-49/Eq.-22 fits of those runs (``<name>_fit...``).
    ``epochs_factor``: cost of an epoch relative to the fused SGD step (Adam's autograd engine: ~2)."""
    per_row = {"batch_items": lambda c: len(c["rows"])} if batch else {}
    train = Step(name=f"{fig_id}_train", function=_train.train_batch, output=f"{name}_train", keys=TRAIN_KEYS,
                 batch=batch, env="torch", gpu=True, mem_mb=3000, minutes=_batch_rows_minutes(epochs_factor),
                 kwargs={"figure": fig_id, **({"observe_all": True} if observe_all else {})}, **per_row)
    fit = Step(name=f"{fig_id}_fit", function=_two_point.fit_runs, output=f"{name}_fit", keys=FIT_KEYS, batch=batch,
               inputs=(train.name,), mem_mb=2000, minutes=fit_minutes, kwargs=lambda job: {},
               **({"batch_items": lambda c: len(c["rows"])} if batch else {}))
    return train, fit


# ------------------------------------------------------------------ MNIST (Figs 4, 9, 16)
#: keys of ``paper_b.mnist`` that the MNIST trainings, the theory and the plots read besides their figure's block
MNIST_SHARED = ("mnist_10k_proxy", "n_structure")


def mnist_minutes(cfg: dict, epochs: int, n_nets: int, s_epoch: float) -> int:
    """Wall-time request (minutes) of ``n_nets`` MNIST trainings: single-thread CPU seconds per epoch and network
    on 60k images ``s_epoch`` (shared 2-core machine: SGD 1.65 s measured, requested 2.1; Adam 2.65 s, requested
    3.6) x 2.5, + 5 minutes of start-up."""
    images = min(cfg["n_train"] or 60000, 10000 if cfg["mnist_10k_proxy"] else 60000)
    return 5 + int(n_nets * epochs * images / 60000 * s_epoch * 2.5 / 60 + 1)


def mnist_train_step(name: str, fig: str, function, keys: tuple, *, batch: str | None = None,
                     s_epoch: float = 2.1, kwargs: dict | None = None) -> Step:
    """Training step ``name`` of MNIST figure block ``fig``: ``keys`` of the block plus :data:`MNIST_SHARED`
    (flattened into one mapping, as the training functions read them); one job, or ``batches[batch]`` jobs over
    ``seeds``. Memory: max RSS 0.5 GB for one or two stacked networks, 0.56 GB for five: request about twice."""
    def per_job(cfg: dict, n: int) -> int:
        return -(-len(cfg["seeds"]) // n) if "seeds" in cfg else 1

    def minutes(cfg: dict, n: int) -> int:
        epochs = _train_mnist.settings(cfg)["epochs"]
        return mnist_minutes(cfg, epochs, per_job(cfg, n), s_epoch)

    return Step(name=name, function=function, output=f"{fig}_train", scope="paper",
                keys=tuple(f"{fig}.{k}" for k in keys) + tuple(f"mnist.{k}" for k in MNIST_SHARED),
                view=lambda s, job: {**s[fig], **s["mnist"]}, batch=batch, kwargs=kwargs,
                batch_items=(lambda c: len(c[fig]["seeds"])) if batch else None, mnist=True, env="torch", gpu=True,
                mem_mb=lambda cfg, n: 1000 + 100 * per_job(cfg, n), minutes=minutes)


#: Eq. 50 on the first ``n_theory`` images (raw pixels): 3.4 s wall, 0.32 GB for 10 000 images
MNIST_THEORY = Step(
    name="b9_theory", function=_mnist.compute_theory, output="mnist_theory", scope="paper",
    keys=tuple(f"mnist.{k}" for k in MNIST_SHARED + ("n_theory",)), view=lambda s, job: s["mnist"], mnist=True,
    mem_mb=1000, minutes=lambda cfg, n: 5 + int((cfg["n_theory"] / 10000) ** 2 + 1),
)
