"""Batched full-batch gradient descent of two-layer linear networks on correlation matrices.

Spec ``exact-dynamics.md`` section 1.1 (paper A Eq. for the GD updates):
``W1 <- W1 + eta W2^T (sigma_yx - W2 W1 sigma_xx)``, ``W2 <- W2 + eta (sigma_yx - W2 W1 sigma_xx) W1^T``,
both layers updated from the old weights. For a linear network this uses the data only through
its correlation matrices, so it is exact without any per-sample work.

Everything is batched over a leading axis ``B`` (independent networks and/or learning rates
sharing the layer shapes). The state recorded at step ``k`` is the state *before* update
``k+1`` (``k = 0`` is the initial state), matching ``t = k * eta`` of the closed forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .metrics import optimal_loss

QUANTITIES = ("W2W1", "W1tW1", "W2W2t", "W1", "W2")


@dataclass
class Trajectory:
    """Output of :func:`gd_linear`.

    ``steps (K,)`` recorded steps; ``records[name] (K, B, ...)`` for each requested quantity;
    ``loss (S+1, B)`` the loss at *every* step ``0..S`` where ``S`` is the number of steps run;
    ``w1 (B, Nh, Ni)``, ``w2 (B, No, Nh)`` the final weights (after ``S`` updates). Without a batch
    axis in the input weights, the ``B`` axis is dropped from every array.
    """

    steps: np.ndarray
    records: dict[str, np.ndarray]
    loss: np.ndarray
    w1: np.ndarray
    w2: np.ndarray
    n_steps: int = field(default=0)


def gd_linear(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, learning_rate,
              n_steps: int, *, sigma_yy: np.ndarray | None = None, sigma_xx: np.ndarray | None = None,
              record_steps=None, record: tuple[str, ...] = ("W2W1", "W1tW1", "W2W2t"),
              until: Callable[[np.ndarray], bool] | None = None, check_every: int = 500,
              dtype=np.float64) -> Trajectory:
    """Run full-batch GD on a batch of two-layer linear networks (spec 1.1).

    Parameters
    ----------
    w1 : ``(B, Nh, Ni)`` or ``(Nh, Ni)``; w2 : ``(B, No, Nh)`` or ``(No, Nh)`` initial weights.
    sigma_yx : ``(No, Ni)`` or ``(B, No, Ni)``; sigma_yy : ``(No, No)`` (optional, for the absolute
        loss; without it the loss is reported relative to the whitened optimum, ``L - L*``).
    sigma_xx : ``(Ni, Ni)`` or None for whitened inputs (identity; faster).
    learning_rate : scalar or ``(B,)``.
    n_steps : maximum number of updates.
    record_steps : steps (``0..n_steps``) at which to record ``record`` quantities; default none.
    until : optional stop test called every ``check_every`` steps with the loss history
        ``(s+1, B)``; returning True ends the run there (later steps never change earlier ones,
        so a post-hoc stopping rule can be applied exactly to the returned history).
    dtype : float64 (default) or float32 (paper A figure 6E/F top row).

    Returns a :class:`Trajectory`; records that fall after an early stop are absent (``steps``
    lists only the recorded ones).
    """
    squeeze = np.ndim(w1) == 2 and np.ndim(w2) == 2 and np.ndim(learning_rate) == 0
    w1 = np.array(w1, dtype=dtype, ndmin=3, copy=True)
    w2 = np.array(w2, dtype=dtype, ndmin=3, copy=True)
    b = max(w1.shape[0], w2.shape[0], np.size(learning_rate))
    w1 = np.ascontiguousarray(np.broadcast_to(w1, (b,) + w1.shape[1:])).copy()
    w2 = np.ascontiguousarray(np.broadcast_to(w2, (b,) + w2.shape[1:])).copy()
    lr = np.broadcast_to(np.asarray(learning_rate, dtype=dtype).reshape(-1), (b,)).reshape(b, 1, 1)
    syx = np.asarray(sigma_yx, dtype=dtype)
    sxx = None if sigma_xx is None else np.asarray(sigma_xx, dtype=dtype)
    for name in record:
        if name not in QUANTITIES:
            raise ValueError(f"unknown quantity {name!r}; allowed: {QUANTITIES}")
    rec_steps = np.unique(np.asarray([] if record_steps is None else record_steps, dtype=np.int64))
    if rec_steps.size and (rec_steps[0] < 0 or rec_steps[-1] > n_steps):
        raise ValueError(f"record_steps must lie in [0, {n_steps}]")
    if sigma_yy is None:
        lstar = 0.0
    else:
        lstar = optimal_loss(syx if syx.ndim == 2 else syx[0], sigma_yy)
    # whitened: L = 1/2||W - Syx||^2 + L*; general: 1/2 tr(W Sxx W^T) - tr(W Syx^T) + 1/2 tr Syy
    if sxx is not None and sigma_yy is not None:
        lstar = 0.5 * float(np.trace(sigma_yy))
    elif sxx is not None:
        lstar = 0.0

    losses = np.empty((n_steps + 1, b), dtype=np.float64)
    recs: dict[str, list] = {name: [] for name in record}
    rec_idx = 0
    w = np.empty((b, w2.shape[1], w1.shape[2]), dtype=dtype)
    w2t = np.empty((b, w2.shape[2], w2.shape[1]), dtype=dtype)
    step = 0
    while True:
        np.matmul(w2, w1, out=w)
        if sxx is None:
            err = syx - w                                          # sigma_yx - W sigma_xx
            losses[step] = 0.5 * np.einsum("bij,bij->b", err, err) + lstar
        else:
            wsxx = w @ sxx
            err = syx - wsxx
            losses[step] = (0.5 * np.einsum("bij,bij->b", wsxx, w)
                            - np.einsum("bij,...ij->b", w, syx) + lstar)
        if rec_idx < rec_steps.size and rec_steps[rec_idx] == step:
            for name in record:
                recs[name].append(_quantity(name, w, w1, w2).copy())
            rec_idx += 1
        if step == n_steps:
            break
        if until is not None and step > 0 and step % check_every == 0 and until(losses[: step + 1]):
            break
        w2t[...] = np.swapaxes(w2, 1, 2)
        dw2 = err @ np.swapaxes(w1, 1, 2)
        w1 += lr * (w2t @ err)
        w2 += lr * dw2
        step += 1
    out = {name: (np.stack(v) if v else np.empty((0,))) for name, v in recs.items()}
    if squeeze:
        out = {k: v[:, 0] if v.ndim > 1 else v for k, v in out.items()}
    losses = losses[: step + 1]
    return Trajectory(steps=rec_steps[:rec_idx], records=out, loss=losses[:, 0] if squeeze else losses,
                      w1=w1[0] if squeeze else w1, w2=w2[0] if squeeze else w2, n_steps=step)


def _quantity(name: str, w: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    if name == "W2W1":
        return w
    if name == "W1tW1":
        return np.swapaxes(w1, 1, 2) @ w1
    if name == "W2W2t":
        return w2 @ np.swapaxes(w2, 1, 2)
    if name == "W1":
        return w1
    return w2


def log_steps(n_steps: int, n_points: int) -> np.ndarray:
    """About ``n_points`` integer steps in ``0..n_steps``, log-spaced from 1 (plus 0), unique and sorted."""
    if n_steps <= 0:
        return np.array([0], dtype=np.int64)
    s = np.unique(np.round(np.geomspace(1, n_steps, n_points)).astype(np.int64))
    return np.concatenate([[0], s])
