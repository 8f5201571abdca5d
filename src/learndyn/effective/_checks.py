"""Argument checks shared by the modules of :mod:`learndyn.effective` (not part of its API).

Part of :mod:`learndyn.effective` (its docstring states the conventions: ``h, y, w``, ``dx2, dy2``, time in
epochs, states with last axis ``(h, y, w)``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["numeric", "positive", "nonnegative", "state_array", "time_grid"]


def numeric(name, x):
    """``x`` as a float64 array; ``ValueError`` naming ``name`` unless numeric and finite."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {x!r}") from exc
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return a


def positive(name, x):
    """:func:`numeric`, and every value > 0."""
    a = numeric(name, x)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0, got {x!r}")
    return a


def nonnegative(name, x):
    """:func:`numeric`, and every value >= 0."""
    a = numeric(name, x)
    if np.any(a < 0):
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return a


def state_array(z, size=3, name="z"):
    """:func:`numeric` states ``(..., size)`` (``(h, y, w)``: size 3; ``(h, w)``: size 2)."""
    a = numeric(name, z)
    if a.ndim == 0 or a.shape[-1] != size:
        raise ValueError(f"{name} must have last axis of length {size}, got shape {a.shape}")
    return a


def time_grid(t):
    """:func:`numeric` time grid ``(T,)``, non-empty, non-decreasing, ``t[0] >= 0`` (epochs)."""
    t = numeric("t", t)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t must be a non-empty 1-D array, got shape {t.shape}")
    if t[0] < 0 or np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing and start at t >= 0 (z0 is the state at t = 0)")
    return t
