"""Shared protocol pieces of the paper C figures: a gradient-descent run next to the lambda-balanced closed form.

Spec ``lambda-balanced.md`` sections 1.1 (GD, time ``t = k eta``), 2.3a (closed form), 2.4 (read-outs).
"""

from __future__ import annotations

import numpy as np

from ... import lambda_balanced as lb
from ... import metrics, simulate

QUADS = ("W2W1", "W1tW1", "W2W2t")


def run_pair(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, lam: float, eta: float, n_steps: int, *,
             l0: np.ndarray | None = None, on_singular: str = "raise") -> dict:
    """Full-batch GD from ``(w1, w2)`` for ``n_steps`` steps of size ``eta`` on whitened data, and the closed form
    (spec 2.3a) at every step ``t = k eta``; the closed form starts from the weights or, for a restart at a task
    switch, from the factor ``l0`` of its own previous state (``QQ^T = l0 l0^T``).

    Returns ``simulation``/``exact``: dicts of ``(K+1, ...)`` quadrants (``W2W1``, ``W1tW1``, ``W2W2t``) for every
    step; ``w1``, ``w2``: final GD weights; ``factor``: factor of the final closed-form ``QQ^T``; ``saddle``:
    whether the closed form ended on a saddle; ``t (K+1,)``.
    """
    ni = w1.shape[1]
    steps = np.arange(n_steps + 1)
    t = steps * eta
    tr = simulate.gd_linear(w1, w2, sigma_yx, eta, n_steps, record_steps=steps, record=QUADS)
    if l0 is None:
        q0 = np.concatenate([w1.T, w2], axis=0)
        f = lb.stable_factors(None, sigma_yx, lam, l0=q0, on_singular=on_singular)
    else:
        f = lb.stable_factors(None, sigma_yx, lam, l0=l0, on_singular=on_singular)
    q = lb.evaluate(f, t)
    fac = lb.evaluate(f, t[-1:], factor=True)[0]
    ex = metrics.split_qqt(q, ni)
    return dict(simulation={k: tr.records[k] for k in QUADS}, exact={k: np.ascontiguousarray(ex[k]) for k in QUADS},
                w1=tr.w1, w2=tr.w2, factor=fac, saddle=f.saddle, t=t, steps=steps)


def max_dev(a: dict, b: dict, keys=QUADS) -> float:
    """Largest absolute deviation between two dicts of arrays over ``keys``."""
    return float(max(np.max(np.abs(a[k] - b[k])) for k in keys))


def lam_label(lam: float) -> str:
    return f"lambda={lam:g}"


def assemble(quads: dict) -> np.ndarray:
    """``QQ^T (..., n, n)`` from its quadrants ``W1tW1``, ``W2W1``, ``W2W2t`` (spec 2.1)."""
    a, w, b = quads["W1tW1"], quads["W2W1"], quads["W2W2t"]
    top = np.concatenate([a, np.swapaxes(w, -1, -2)], axis=-1)
    bot = np.concatenate([w, b], axis=-1)
    return np.concatenate([top, bot], axis=-2)


def symlog_label(lam: float) -> str:
    """Short label for a lambda value (``"λ=−10"``)."""
    return f"$\\lambda$={lam:g}".replace("-", "\u2212")


def bound(value: float) -> str:
    """A threshold as the check tables write it: ``0.01``, ``10``, ``0.999`` (``:g``) and, below 0.01, a power
    of ten without padding (``1e-3``, ``5e-3``, ``1e-12``)."""
    if value == 0 or abs(value) >= 0.01:
        return f"{value:g}"
    exp = int(np.floor(np.log10(abs(value))))
    mant = float(f"{value / 10.0 ** exp:.12g}")
    if abs(mant) >= 10:                                     # log10 rounding at an exact power of ten
        mant, exp = mant / 10, exp + 1
    return f"{mant:g}e{exp}"


# --------------------------------------------------------------------------- job costs (workflow rules)
def c_minutes(seconds: float) -> int:
    """Runtime request (minutes) of one compute job: 3 x the estimated CPU seconds plus 5 minutes of start-up
    margin. The estimates are cpu_time from logs/benchmarks/paper_c at full scale (shared development machine,
    wall times inflated by other jobs), scaled with the config entries that drive the cost."""
    return 5 + int(-(-3 * seconds // 60))

