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

__all__ = ["QUANTITIES", "Trajectory", "gd_linear", "log_steps", "ACTIVATIONS", "forward_nonlinear",
           "loss_nonlinear", "grad_nonlinear", "gd_nonlinear", "ShallowTrajectory", "gd_shallow", "StoppedRun",
           "gd_linear_until"]

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
    w1, w2, lr, rec_steps = _batch_setup(w1, w2, learning_rate, n_steps, record_steps, record, dtype)
    b = w1.shape[0]
    syx = np.asarray(sigma_yx, dtype=dtype)
    sxx = None if sigma_xx is None else np.asarray(sigma_xx, dtype=dtype)
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
    recs = _record_buffers(record, rec_steps.size, w1, w2)
    rec_idx = 0
    w = np.empty((b, w2.shape[1], w1.shape[2]), dtype=dtype)
    w2t = np.empty((b, w2.shape[2], w2.shape[1]), dtype=dtype)
    err, dw1, dw2 = np.empty_like(w), np.empty_like(w1), np.empty_like(w2)     # step buffers, allocated once
    w1t = np.swapaxes(w1, 1, 2)
    step = 0
    while True:
        np.matmul(w2, w1, out=w)
        if sxx is None:
            np.subtract(syx, w, out=err)                           # sigma_yx - W sigma_xx
            losses[step] = 0.5 * np.einsum("bij,bij->b", err, err) + lstar
        else:
            wsxx = w @ sxx
            np.subtract(syx, wsxx, out=err)
            losses[step] = (0.5 * np.einsum("bij,bij->b", wsxx, w)
                            - np.einsum("bij,...ij->b", w, syx) + lstar)
        if rec_idx < rec_steps.size and rec_steps[rec_idx] == step:
            for name in record:
                _record_into(recs[name][rec_idx], name, w, w1, w2)
            rec_idx += 1
        if step == n_steps:
            break
        if until is not None and step > 0 and step % check_every == 0 and until(losses[: step + 1]):
            break
        w2t[...] = np.swapaxes(w2, 1, 2)
        np.matmul(err, w1t, out=dw2)
        np.matmul(w2t, err, out=dw1)
        np.multiply(lr, dw1, out=dw1)
        w1 += dw1
        np.multiply(lr, dw2, out=dw2)
        w2 += dw2
        step += 1
    out = {name: (v[:rec_idx] if rec_idx else np.empty((0,))) for name, v in recs.items()}
    if squeeze:
        out = {k: v[:, 0] if v.ndim > 1 else v for k, v in out.items()}
    losses = losses[: step + 1]
    return Trajectory(steps=rec_steps[:rec_idx], records=out, loss=losses[:, 0] if squeeze else losses,
                      w1=w1[0] if squeeze else w1, w2=w2[0] if squeeze else w2, n_steps=step)


def _batch_setup(w1, w2, learning_rate, n_steps, record_steps, record, dtype, extra_batch=1):
    """Common argument handling of the batched simulators: weights as contiguous ``(B, ...)`` copies,
    learning rates ``(B, 1, 1)`` (one rate for all: a scalar of ``dtype``, the same products without a slow broadcast
    over small matrices), validated quantity names and sorted unique record steps."""
    w1 = np.array(w1, dtype=dtype, ndmin=3, copy=True)
    w2 = np.array(w2, dtype=dtype, ndmin=3, copy=True)
    b = max(w1.shape[0], w2.shape[0], np.size(learning_rate), extra_batch)
    w1 = np.ascontiguousarray(np.broadcast_to(w1, (b,) + w1.shape[1:])).copy()
    w2 = np.ascontiguousarray(np.broadcast_to(w2, (b,) + w2.shape[1:])).copy()
    lr = np.asarray(learning_rate, dtype=dtype).reshape(-1)
    lr = lr[0] if lr.size == 1 else np.broadcast_to(lr, (b,)).reshape(b, 1, 1)
    for name in record:
        if name not in QUANTITIES:
            raise ValueError(f"unknown quantity {name!r}; allowed: {QUANTITIES}")
    rec_steps = np.unique(np.asarray([] if record_steps is None else record_steps, dtype=np.int64))
    if rec_steps.size and (rec_steps[0] < 0 or rec_steps[-1] > n_steps):
        raise ValueError(f"record_steps must lie in [0, {n_steps}]")
    return w1, w2, lr, rec_steps


def _record_buffers(record: tuple[str, ...], n: int, w1: np.ndarray, w2: np.ndarray) -> dict[str, np.ndarray]:
    """Uninitialised ``(n, B, ...)`` arrays for ``n`` records of each quantity of ``record`` of batched weights
    ``w1 (B, Nh, Ni)``, ``w2 (B, No, Nh)`` (shapes: :func:`_quantity`)."""
    (b, nh, ni), no = w1.shape, w2.shape[1]
    shapes = {"W2W1": (no, ni), "W1tW1": (ni, ni), "W2W2t": (no, no), "W1": (nh, ni), "W2": (no, nh)}
    return {name: np.empty((n, b) + shapes[name], dtype=np.result_type(w1, w2)) for name in record}


def _record_into(out: np.ndarray, name: str, w: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> None:
    """Write quantity ``name`` (:func:`_quantity`, the same arithmetic) of ``W2W1 = w``, ``w1``, ``w2`` into ``out``."""
    if name == "W1tW1":
        np.matmul(np.swapaxes(w1, 1, 2), w1, out=out)
    elif name == "W2W2t":
        np.matmul(w2, np.swapaxes(w2, 1, 2), out=out)
    else:
        out[...] = _quantity(name, w, w1, w2)


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


# --------------------------------------------------------------------------- nonlinear hidden layer
#: Hidden nonlinearities of :func:`gd_nonlinear` (all satisfy f(0) = 0).
ACTIVATIONS = ("linear", "tanh", "relu")


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; allowed: {ACTIVATIONS}")


def _groups(activation) -> list:
    """``[(name, index)]``: which members of the leading batch axis use which activation. A name applies to
    every member (index ``...``); a sequence gives member ``b`` the activation ``activation[b]`` (index: a
    slice where that activation's members are contiguous, else their list)."""
    if isinstance(activation, str):
        _check_activation(activation)
        return [(activation, Ellipsis)]
    out = []
    for name in dict.fromkeys(activation):
        _check_activation(name)
        idx = [i for i, a in enumerate(activation) if a == name]
        out.append((name, slice(idx[0], idx[-1] + 1) if idx == list(range(idx[0], idx[-1] + 1)) else idx))
    return out


def _f(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return z


def _hidden(z: np.ndarray, groups: list) -> np.ndarray:
    """``f(z)`` with each member's activation (:func:`_groups`)."""
    if groups[0][1] is Ellipsis:
        return _f(groups[0][0], z)
    n = sum(i.stop - i.start if isinstance(i, slice) else len(i) for _, i in groups)
    if z.ndim < 3 or z.shape[0] != n:
        raise ValueError(f"{n} activations (one per network) for a batch of shape {z.shape[:-2]}")
    h = np.empty_like(z)
    for name, idx in groups:
        h[idx] = _f(name, z[idx])
    return h


def forward_nonlinear(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, activation: str) -> np.ndarray:
    """Outputs ``Y_hat = W2 f(W1 X)`` of a two-layer network with a hidden nonlinearity (spec 1.1).

    ``activation``: ``"linear"`` (f(z) = z), ``"tanh"`` or ``"relu"`` (f(z) = max(0, z)), or one of them per
    network of a batch ``(B, ...)`` (a sequence of B names).
    ``w1 (..., Nh, Ni)``, ``w2 (..., No, Nh)``, ``x (..., Ni, N)``; returns ``(..., No, N)``.
    """
    return np.asarray(w2) @ _hidden(np.asarray(w1) @ x, _groups(activation))


def loss_nonlinear(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray, activation: str) -> np.ndarray:
    """Sample loss ``L = 1/2 mean_n ||y_n - W2 f(W1 x_n)||^2`` (spec 1.1, sum over outputs, mean over samples).

    Shapes as :func:`forward_nonlinear`, ``y (..., No, N)``; returns ``(...)``.
    """
    e = y - forward_nonlinear(w1, w2, x, activation)
    return 0.5 * np.sum(e * e, axis=(-2, -1)) / x.shape[-1]


def grad_nonlinear(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray,
                   activation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient of :func:`loss_nonlinear` (spec 1.1): with ``Z = W1 X``, ``H = f(Z)``, ``E = Y - W2 H``,
    ``dL/dW2 = -E H^T / N`` and ``dL/dW1 = -[(W2^T E) * f'(Z)] X^T / N`` where ``f'`` is 1 (linear),
    ``1 - tanh^2`` (tanh) or ``1[z > 0]`` (ReLU, 0 at 0); ``activation`` as :func:`forward_nonlinear`.

    ``w1 (..., Nh, Ni)``, ``w2 (..., No, Nh)``, ``x (..., Ni, N)``, ``y (..., No, N)``.
    Returns ``(dL/dW1 (..., Nh, Ni), dL/dW2 (..., No, Nh), L (...))`` (the loss at the same weights).
    """
    w1, w2, x, y = (np.asarray(a) for a in (w1, w2, x, y))
    return _Gradient(w1, w2, x, y, _groups(activation))(w1, w2, loss=True)


class _Gradient:
    """The arithmetic of :func:`grad_nonlinear` (spec 1.1) for fixed shapes, data and activations, into buffers
    allocated once: calling it repeatedly (the steps of :func:`gd_nonlinear`) allocates nothing, and each call
    performs exactly the operations, in the same order, of a fresh evaluation (bitwise the same result).

    ``w1 (..., Nh, Ni)``, ``w2 (..., No, Nh)`` (their shapes and dtypes: the weights are passed to each call),
    ``x (..., Ni, N)``, ``y (..., No, N)``, ``groups`` from :func:`_groups`. A call ``(w1, w2, loss)`` returns
    ``(dL/dW1 (batch, Nh, Ni), dL/dW2 (batch, No, Nh), L)`` with ``batch`` the broadcast leading shape and
    ``L (batch)`` (None unless ``loss``); the returned arrays are the buffers, overwritten by the next call.
    """

    def __init__(self, w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray, groups: list):
        batch = np.broadcast_shapes(w1.shape[:-2], w2.shape[:-2], x.shape[:-2], y.shape[:-2])
        (nh, ni), no, n = w1.shape[-2:], w2.shape[-2], x.shape[-1]
        dtype = np.result_type(w1.dtype, w2.dtype, x.dtype, y.dtype, 1.0)
        self.members = []                  # (name, index of one group's members: ..., or a slice of the batch)
        if groups[0][1] is Ellipsis:
            self.members = list(groups)
        else:
            count = sum(i.stop - i.start if isinstance(i, slice) else len(i) for _, i in groups)
            if len(batch) != 1 or batch[0] != count:
                raise ValueError(f"{count} activations (one per network) for a batch of shape {batch}")
            for name, idx in groups:
                self.members += [(name, idx)] if isinstance(idx, slice) else [(name, slice(i, i + 1)) for i in idx]
        self.x, self.y, self.n = x, y, n
        self.xt = np.swapaxes(x, -1, -2)
        self.z = np.empty(batch + (nh, n), dtype=dtype)                  # W1 X; tanh members: 1 - H^2
        linear = all(name == "linear" for name, _ in self.members)
        self.h = self.z if linear else np.empty_like(self.z)             # f(Z)
        self.ht = np.swapaxes(self.h, -1, -2)
        self.e = np.empty(batch + (no, n), dtype=dtype)                  # Y - W2 H
        self.back = np.empty_like(self.z)                                # W2^T E * f'(Z)
        self.mask = np.empty(self.z.shape, dtype=bool)                   # ReLU members: Z > 0
        self.g1 = np.empty(batch + (nh, ni), dtype=dtype)
        self.g2 = np.empty(batch + (no, nh), dtype=dtype)

    def __call__(self, w1: np.ndarray, w2: np.ndarray, loss: bool = False):
        z, h, e, back = self.z, self.h, self.e, self.back
        np.matmul(w1, self.x, out=z)
        if h is not z:
            for name, i in self.members:
                if name == "tanh":
                    np.tanh(z[i], out=h[i])
                elif name == "relu":
                    np.maximum(z[i], 0.0, out=h[i])
                else:
                    h[i] = z[i]
        np.matmul(w2, h, out=e)
        np.subtract(self.y, e, out=e)
        np.matmul(np.swapaxes(w2, -1, -2), e, out=back)
        for name, i in self.members:
            if name == "tanh":
                d = z[i]                               # Z is not needed any more for these members
                np.multiply(h[i], h[i], out=d)
                np.subtract(1.0, d, out=d)
                np.multiply(back[i], d, out=back[i])
            elif name == "relu":
                np.greater(z[i], 0.0, out=self.mask[i])
                np.multiply(back[i], self.mask[i], out=back[i])
        np.matmul(back, self.xt, out=self.g1)
        np.multiply(self.g1, -1.0 / self.n, out=self.g1)
        np.matmul(e, self.ht, out=self.g2)
        np.multiply(self.g2, -1.0 / self.n, out=self.g2)
        value = 0.5 * np.einsum("...ij,...ij->...", e, e) / self.n if loss else None
        return self.g1, self.g2, value


def gd_nonlinear(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray, learning_rate,
                 n_steps: int, *, activation: str = "tanh", record_steps=None,
                 record: tuple[str, ...] = ("W1", "W2"), loss_every_step: bool = True,
                 dtype=np.float64) -> Trajectory:
    """Full-batch GD on samples of two-layer networks ``Y_hat = W2 f(W1 X)`` (spec 1.1, paper A Fig. 5B-E):
    ``W2 <- W2 + eta/N (Y - Y_hat) H^T``, ``W1 <- W1 + eta/N [(W2^T (Y - Y_hat)) * f'(W1 X)] X^T``, both from the
    old weights (see :func:`grad_nonlinear`).

    Batched over a leading axis ``B`` of independent networks that share the layer shapes; ``activation`` is
    one name for all or a sequence of ``B`` names, one per network (paper A Fig. 5B trains the tanh and the ReLU
    network of one draw together: the same arithmetic as separate runs, one Python loop); every network may
    have its own data (``x (B, Ni, N)``, ``y (B, No, N)``) or share one
    (``x (Ni, N)``, ``y (No, N)``). Networks of different widths can be batched exactly by zero-padding
    (``f(0) = 0``: padded units, inputs and outputs stay zero), but that costs more flops than it saves
    for the sizes of paper A, so Fig. 5B runs its networks one by one in parallel jobs.

    Parameters: ``w1 (B, Nh, Ni)`` or ``(Nh, Ni)``, ``w2 (B, No, Nh)`` or ``(No, Nh)``; ``learning_rate``
    scalar or ``(B,)``; ``activation`` in :data:`ACTIVATIONS` (or a sequence of them); ``record_steps`` steps ``0..n_steps`` at which
    ``record`` quantities (names of :data:`QUANTITIES`) are stored; ``loss_every_step=False`` keeps only the
    loss after the last update (``loss (1, B)``; the same numbers, one reduction per step saved).

    Returns a :class:`Trajectory` (``loss (n_steps+1, B)``: the sample loss at every step, before the update;
    ``w1, w2`` after ``n_steps`` updates); without batch axes in the inputs the ``B`` axis is dropped.
    With ``activation="linear"`` and whitened inputs it equals :func:`gd_linear` to round-off.
    The steps run on buffers allocated once (:class:`_Gradient`): the arithmetic of :func:`grad_nonlinear`,
    bitwise, without per-step allocations.
    """
    groups = _groups(activation)
    per_member = not isinstance(activation, str)
    squeeze = (np.ndim(w1) == 2 and np.ndim(w2) == 2 and np.ndim(learning_rate) == 0 and np.ndim(x) == 2
               and not per_member)
    xs = np.asarray(x, dtype=dtype)
    ys = np.asarray(y, dtype=dtype)
    w1, w2, lr, rec_steps = _batch_setup(w1, w2, learning_rate, n_steps, record_steps, record, dtype,
                                         extra_batch=max(xs.shape[0] if xs.ndim == 3 else 1,
                                                         len(activation) if per_member else 1))
    b = w1.shape[0]
    losses = np.empty((n_steps + 1 if loss_every_step else 1, b), dtype=np.float64)
    recs: dict[str, list] = {name: [] for name in record}
    rec_idx = 0
    grad = _Gradient(w1, w2, xs, ys, groups)
    for step in range(n_steps + 1):
        if rec_idx < rec_steps.size and rec_steps[rec_idx] == step:
            for name in record:
                recs[name].append(_quantity(name, w2 @ w1, w1, w2).copy())
            rec_idx += 1
        last = step == n_steps
        g1, g2, loss = grad(w1, w2, loss=loss_every_step or last)
        if loss is not None:
            losses[step if loss_every_step else 0] = loss
        if last:
            break
        g1 *= lr
        g2 *= lr
        w1 -= g1
        w2 -= g2
    out = {name: (np.stack(v) if v else np.empty((0,))) for name, v in recs.items()}
    if squeeze:
        out = {k: v[:, 0] if v.ndim > 1 else v for k, v in out.items()}
    return Trajectory(steps=rec_steps, records=out, loss=losses[:, 0] if squeeze else losses,
                      w1=w1[0] if squeeze else w1, w2=w2[0] if squeeze else w2, n_steps=n_steps)


# --------------------------------------------------------------------------- shallow network
@dataclass
class ShallowTrajectory:
    """Output of :func:`gd_shallow`: ``steps (K,)`` recorded steps, ``w (K, ..., No, Ni)`` the weights there,
    ``loss (S+1, ...)`` the loss ``1/2 ||W - sigma_yx||_F^2`` (relative to the whitened optimum) at every step,
    ``final (..., No, Ni)`` the weights after the last update."""

    steps: np.ndarray
    w: np.ndarray
    loss: np.ndarray
    final: np.ndarray


def gd_shallow(w: np.ndarray, sigma_yx: np.ndarray, learning_rate: float, n_steps: int, *,
               record_steps=None, dtype=np.float64) -> ShallowTrajectory:
    """Full-batch GD of a shallow linear network ``y = W x`` on whitened inputs (paper A Appendix G.2,
    spec 2.10): ``W <- W + eta (sigma_yx - W)``.

    ``w (..., No, Ni)`` initial weights (leading axes = independent networks), ``sigma_yx (No, Ni)`` or
    ``(..., No, Ni)``; ``record_steps`` steps in ``0..n_steps`` at which ``W`` is stored (state before the
    next update, as :func:`gd_linear`). Returns a :class:`ShallowTrajectory`.
    """
    w = np.array(w, dtype=dtype, copy=True)
    syx = np.asarray(sigma_yx, dtype=dtype)
    lr = np.asarray(learning_rate, dtype=dtype)
    rec_steps = np.unique(np.asarray([] if record_steps is None else record_steps, dtype=np.int64))
    if rec_steps.size and (rec_steps[0] < 0 or rec_steps[-1] > n_steps):
        raise ValueError(f"record_steps must lie in [0, {n_steps}]")
    losses = np.empty((n_steps + 1,) + w.shape[:-2], dtype=np.float64)
    recs = []
    rec_idx = 0
    for step in range(n_steps + 1):
        err = syx - w
        losses[step] = 0.5 * np.sum(err * err, axis=(-2, -1))
        if rec_idx < rec_steps.size and rec_steps[rec_idx] == step:
            recs.append(w.copy())
            rec_idx += 1
        if step == n_steps:
            break
        w += lr * err
    stacked = np.stack(recs) if recs else np.empty((0,) + w.shape, dtype=dtype)
    return ShallowTrajectory(steps=rec_steps, w=stacked, loss=losses, final=w)


# --------------------------------------------------------------------------- per-member stopping
@dataclass
class StoppedRun:
    """Output of :func:`gd_linear_until`.

    ``stop (B,)``: first step at which each member met the criterion (``-1`` if it never did);
    ``n_steps``: steps run (the batch runs until every member has stopped or ``max_steps``);
    ``loss (n_steps+1, B)``; ``keep[name] (n_steps+1, B, ...)`` the requested quantities at every step;
    ``at_stop[name] (B, ...)`` each member's quantity at its own stop step (the last step if it never
    stopped). Members keep training after their stop step (they do not influence each other), so
    ``keep`` and ``loss`` beyond a member's stop step are to be discarded by the caller.
    """

    stop: np.ndarray
    n_steps: int
    loss: np.ndarray
    keep: dict[str, np.ndarray]
    at_stop: dict[str, np.ndarray]


def gd_linear_until(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, learning_rate, max_steps: int,
                    criterion: Callable[[np.ndarray], np.ndarray], *, chunk: int = 2000,
                    keep: tuple[str, ...] = (), at_stop: tuple[str, ...] = (),
                    sigma_yy: np.ndarray | None = None) -> StoppedRun:
    """Batched GD (:func:`gd_linear`, spec 1.1) run until every member has met a per-step criterion.

    ``criterion(W2W1 (K, B, No, Ni)) -> (K, B)`` bool is evaluated on the network function at *every*
    step (e.g. the MATLAB tolerance ``metrics.code_loss(W, Y) < tol`` of spec 1.1); each member's stop
    step is the first step where it holds. The run proceeds in chunks of ``chunk`` steps (bounding memory)
    and ends after the chunk in which the last member stopped, or at ``max_steps``. Chunking does not
    change the arithmetic: the result equals one uninterrupted :func:`gd_linear` run. Only ``W2W1`` and ``keep``
    are recorded at every step; other ``at_stop`` quantities come from running the members that stopped in a chunk
    again from the chunk's first state up to their stop steps (members are independent, so the same numbers).

    ``w1 (B, Nh, Ni)``, ``w2 (B, No, Nh)``, ``sigma_yx (No, Ni)`` or ``(B, No, Ni)``, ``learning_rate``
    scalar or ``(B,)``; ``keep``/``at_stop``: names of :data:`QUANTITIES`. Returns a :class:`StoppedRun`.
    """
    if np.ndim(w1) != 3 or np.ndim(w2) != 3:
        raise ValueError("gd_linear_until needs batched weights w1 (B, Nh, Ni), w2 (B, No, Nh)")
    names = tuple(dict.fromkeys(("W2W1",) + tuple(keep)))                 # recorded at every step
    rerun = tuple(name for name in dict.fromkeys(at_stop) if name not in names)
    b = w1.shape[0]
    lr_all = np.broadcast_to(np.asarray(learning_rate).reshape(-1), (b,))
    stop = np.full(b, -1, dtype=np.int64)
    found: dict[str, np.ndarray] = {}
    kept: dict[str, list] = {name: [] for name in keep}
    losses: list[np.ndarray] = []
    start = 0
    while True:
        n = min(chunk, max_steps - start)
        tr = gd_linear(w1, w2, sigma_yx, learning_rate, n, sigma_yy=sigma_yy,
                       record_steps=np.arange(n + 1), record=names)
        ok = np.asarray(criterion(tr.records["W2W1"]), dtype=bool)          # (n+1, B)
        if not found:
            found = {name: tr.records[name][-1].copy() for name in at_stop if name in names}
            found.update({name: v[0] for name, v in _record_buffers(rerun, 1, tr.w1, tr.w2).items()})
        new = (stop < 0) & ok.any(axis=0)
        idx = np.argmax(ok, axis=0)
        stop[new] = start + idx[new]
        sel = np.flatnonzero(new)
        for name in at_stop:
            if name in names:
                found[name][new] = tr.records[name][idx[new], sel]
        if rerun and sel.size:
            # quantities not recorded at every step: the newly stopped members' stretch of this chunk again, from the
            # chunk's first state (members are independent: the same arithmetic as in the full batch)
            steps = np.unique(idx[sel])
            syx = np.asarray(sigma_yx)
            sub = gd_linear(np.asarray(w1)[sel], np.asarray(w2)[sel], syx[sel] if syx.ndim == 3 else syx,
                            lr_all[sel], int(steps[-1]), record_steps=steps, record=rerun)
            at = np.searchsorted(steps, idx[sel])
            for name in rerun:
                found[name][sel] = sub.records[name][at, np.arange(sel.size)]
        start += n
        last = bool(np.all(stop >= 0)) or start >= max_steps
        end = n + 1 if last else n            # a chunk's last state is the next chunk's first
        for name in keep:
            kept[name].append(tr.records[name][:end])
        losses.append(tr.loss[:end])
        if last:
            never = stop < 0
            final = _record_buffers(rerun, 1, tr.w1, tr.w2)
            for name in at_stop:
                if name in names:
                    found[name][never] = tr.records[name][-1][never]
                else:
                    _record_into(final[name][0], name, None, tr.w1, tr.w2)
                    found[name][never] = final[name][0][never]
            break
        w1, w2 = tr.w1, tr.w2
    return StoppedRun(stop=stop, n_steps=start, loss=np.concatenate(losses),
                      keep={name: np.concatenate(v) for name, v in kept.items()}, at_stop=found)

