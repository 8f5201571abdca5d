"""Time grids shared by the closed forms and the simulations.

Time ``t`` is in units of ``tau = 1/eta`` (paper A Eq. 5 with ``tau = 1/eta``; spec ``exact-dynamics.md``
section 1.1): the state after ``k`` gradient steps of size ``eta`` is the closed form at ``t = k * eta``.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

__all__ = ["as_time", "chunks"]


def as_time(t, allow_inf: bool = False) -> np.ndarray:
    """``t`` (scalar or ``(T,)``) as a float ``(T,)`` array of non-negative times in units of tau.

    Raises ``ValueError`` for a negative, NaN or (unless ``allow_inf``) infinite time, or more than one
    dimension. ``allow_inf``: ``t = inf`` stands for the limit ``t -> infinity`` (closed forms that have it).
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1:
        raise ValueError(f"t must be a scalar or a 1-D array of times, got shape {t.shape}")
    finite_ok = np.isfinite(t) | (allow_inf & (t == np.inf))
    if np.any(t < 0) or not np.all(finite_ok):
        allowed = "non-negative (inf = the limit)" if allow_inf else "finite and non-negative"
        raise ValueError(f"t must be {allowed} (time in units of tau)")
    return t


def chunks(n: int, chunk: int) -> Iterator[slice]:
    """Consecutive slices of ``range(n)`` of at most ``chunk`` items (bounded memory for batched solves)."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    for i in range(0, n, chunk):
        yield slice(i, min(i + chunk, n))
