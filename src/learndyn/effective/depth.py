"""Representational distances across depth in paper B (Eq. 14): the initial distance at a hidden layer and
the per-layer gain fitted to measured distances.

Part of :mod:`learndyn.effective` (its docstring states the conventions: ``h, y, w``, ``dx2, dy2``, time in
epochs, states with last axis ``(h, y, w)``).
"""

from __future__ import annotations

import numpy as np

from ._checks import nonnegative, numeric, positive

__all__ = ["initial_distance_at_depth", "layer_gain_from_initial_distances"]


# --------------------------------------------------------------------------------------
# depth (Eq. 14)


def initial_distance_at_depth(dx2, gain_sq, layer):
    """Initial squared distance at hidden layer ``l``: ``h₀(l) ≈ γ^{2l} dx2`` (paper B Eq. 14).

    ``gain_sq`` = γ² (average per-layer gain of squared distances); arguments broadcast
    (e.g. ``layer = np.arange(L)``). Returns ``(...)``.
    """
    layer = nonnegative("layer", layer)
    return nonnegative("dx2", dx2) * positive("gain_sq", gain_sq) ** layer


def layer_gain_from_initial_distances(h0_per_layer, layers=None):
    """Least-squares γ² of Eq. 14 from measured initial distances per layer.

    Fits ``log h₀(l) = log c + l log γ²``. ``h0_per_layer``: ``(L,)`` positive;
    ``layers``: ``(L,)`` indices (default ``0..L−1``). Returns ``(gain_sq, c)``.
    """
    h = positive("h0_per_layer", h0_per_layer)
    if h.ndim != 1 or h.size < 2:
        raise ValueError("h0_per_layer must be 1-D with at least two layers")
    l = np.arange(h.size, dtype=float) if layers is None else numeric("layers", layers)
    if l.shape != h.shape:
        raise ValueError(f"layers shape {l.shape} does not match h0_per_layer {h.shape}")
    slope, intercept = np.polyfit(l, np.log(h), 1)
    return float(np.exp(slope)), float(np.exp(intercept))
