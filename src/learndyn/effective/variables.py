"""The measured quantities of paper B's effective theory: the scalar variables ``h, y, w`` and the
admissible alignment (Eq. 8 / 20), the mean-output error and its decay (Eq. 16 / 18), the predicted loss
(Eq. 9 / 22).

Part of :mod:`learndyn.effective` (its docstring states the conventions: ``h, y, w``, ``dx2, dy2``, time in
epochs, states with last axis ``(h, y, w)``).
"""

from __future__ import annotations

import numpy as np

from ._checks import nonnegative, numeric

__all__ = [
    "scalar_variables", "alignment_bounds", "mean_output_error_squared", "mean_output_error_decay",
    "effective_loss",
]


# --------------------------------------------------------------------------------------
# the scalar variables (Eq. 8 / 20) and the mean output (Eq. 16)


def scalar_variables(delta_h, delta_yhat, delta_y):
    """The three scalars of paper B Eq. 8 / 20 from difference vectors.

    ``h = ||Δh||²``, ``y = ||Δŷ||²``, ``w = Δŷ·(Δŷ − Δy)``.

    ``delta_h``: ``(..., P)``; ``delta_yhat``, ``delta_y``: ``(..., D_y)`` (leading axes
    broadcast, e.g. ``(T, P)`` for a trajectory). Returns ``(h, y, w)``, each of the
    broadcast leading shape ``(...)``.
    """
    dh = numeric("delta_h", delta_h)
    dyh = numeric("delta_yhat", delta_yhat)
    dy = numeric("delta_y", delta_y)
    if dh.ndim == 0 or dyh.ndim == 0 or dy.ndim == 0:
        raise ValueError("delta_h, delta_yhat, delta_y need a trailing vector axis")
    if dyh.shape[-1] != dy.shape[-1]:
        raise ValueError(f"delta_yhat and delta_y differ in output dimension: "
                         f"{dyh.shape[-1]} vs {dy.shape[-1]}")
    h = np.sum(dh * dh, axis=-1)
    y = np.sum(dyh * dyh, axis=-1)
    w = y - np.sum(dyh * dy, axis=-1)
    h, y, w = np.broadcast_arrays(h, y, w)
    return h.copy(), y.copy(), w.copy()


def alignment_bounds(y, dy2):
    """Admissible range of the alignment ``w`` given ``y`` and ``dy2`` (spec 1.4, Eq. 8).

    ``|Δŷ·Δy| ≤ √(y·dy2)`` gives ``y − √(y dy2) ≤ w ≤ y + √(y dy2)``; with 1-D outputs
    ``w`` sits on one of the two bounds exactly. ``y``, ``dy2``: broadcastable arrays
    ``(...)``. Returns ``(w_min, w_max)`` of the broadcast shape.
    """
    y = nonnegative("y", y)
    dy2 = nonnegative("dy2", dy2)
    s = np.sqrt(y * dy2)
    return y - s, y + s


def mean_output_error_squared(yhat1, yhat2, y1, y2):
    """``||m||² = ||½(ŷ₁+ŷ₂) − ½(y₁+y₂)||²``, the mean-output error of Eq. 16 / 18 / 22.

    All arguments ``(..., D_y)`` (broadcast); returns ``(...)``.
    """
    m = 0.5 * (numeric("yhat1", yhat1) + numeric("yhat2", yhat2)) - 0.5 * (numeric("y1", y1) + numeric("y2", y2))
    if m.ndim == 0:
        raise ValueError("outputs need a trailing vector axis (use shape (..., 1) for 1-D outputs)")
    return np.sum(m * m, axis=-1)


# --------------------------------------------------------------------------------------
# mean output and loss (Eq. 18, 9 / 22)


def mean_output_error_decay(t, m0_sq, eta_ymean):
    """``||m(t)||² = ||m₀||² e^{−2 η_ȳ t}`` (paper B Eq. 18, mean output decoupled).

    Arguments broadcast (e.g. ``t`` of shape ``(T,)``); returns the broadcast shape.
    """
    t = numeric("t", t)
    m0 = nonnegative("m0_sq", m0_sq)
    e = numeric("eta_ymean", eta_ymean)
    with np.errstate(over="ignore"):
        return m0 * np.exp(-2.0 * e * t)


def effective_loss(t, y, w, m0_sq, eta_ymean, dy2, output_dim=1):
    """Training loss predicted by the theory, paper B Eq. 9 / 22.

    ::

        ℓ(t) = (1/(4 D_y)) · [ 2 ||m₀||² e^{−2 η_ȳ t} + w(t) + ½ (dy2 − y(t)) ]

    for the tracked loss ``½ · mean_i mean_k (ŷ_ik − y_ik)²`` of the two points
    (``0.5*mse_loss``). ``t, y, w``: ``(T,)`` (or broadcastable), ``m0_sq = ||m₀||²``
    at t = 0, ``eta_ymean`` the third effective rate, ``output_dim`` = D_y. Returns
    ``(T,)``.
    """
    t = numeric("t", t)
    y = numeric("y", y)
    w = numeric("w", w)
    dy2 = nonnegative("dy2", dy2)
    if int(output_dim) != output_dim or output_dim < 1:
        raise ValueError(f"output_dim must be a positive integer, got {output_dim!r}")
    mean_term = mean_output_error_decay(t, m0_sq, eta_ymean)
    with np.errstate(over="ignore", invalid="ignore"):
        return (2.0 * mean_term + w + 0.5 * (dy2 - y)) / (4.0 * output_dim)
