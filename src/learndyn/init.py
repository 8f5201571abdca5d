"""Initialisations of two-layer linear networks ``y = W2 W1 x``.

Shapes: ``W1`` is ``(Nh, Ni)``, ``W2`` is ``(No, Nh)``. Every function takes a
:class:`numpy.random.Generator` so draws are reproducible from a seed.
References are to paper A (Braun et al., JSTAT 2023) and to the project spec
``exact-dynamics.md`` (section numbers in brackets).
"""

from __future__ import annotations

import numpy as np

from . import aligned as _aligned

__all__ = ["GAMMA", "random_orthogonal", "fix_det_sign", "zero_balanced", "random_normal", "balancedness",
           "task_aligned", "zero_balanced_direct"]

#: Fixed constant of the authors' zero-balanced initialisation (Algorithm 1, spec 4.1 step 4).
GAMMA = 1.15


def random_orthogonal(n: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Random orthogonal ``(n, n)`` matrix: left singular vectors of a Gaussian matrix (spec 4.1 step 1)."""
    u, _, _ = np.linalg.svd(rng.normal(0.0, scale, size=(n, n)))
    return u


def _check_dims(ni: int, nh: int, no: int) -> int:
    k = min(ni, no)
    if min(ni, nh, no) < 1:
        raise ValueError(f"layer widths must be positive, got Ni={ni}, Nh={nh}, No={no}")
    if nh < k:
        raise ValueError(f"hidden width Nh={nh} must be at least min(Ni, No)={k} (no bottleneck, paper A assumption 2.4)")
    return k


def fix_det_sign(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make ``sign det(W2 W1) == sign det(sigma_yx)`` for square problems (spec 1.3 rule).

    Paper A Theorem 3.1 needs ``B = U^T U~ + V^T V~`` invertible; for ``Ni == No`` and
    zero-balanced weights ``B`` is singular exactly when the determinant signs differ.
    The fix reflects the output layer, ``W2 <- (I - 2 u1 u1^T) W2`` with ``u1`` the first
    left singular vector of ``W2 W1``: balance and singular values are kept.
    Rectangular problems are returned unchanged.

    Shapes: ``w1 (Nh, Ni)``, ``w2 (No, Nh)``, ``sigma_yx (No, Ni)``; returns copies.
    """
    w1 = np.array(w1, dtype=float)
    w2 = np.array(w2, dtype=float)
    if w2.shape[0] != w1.shape[1]:
        return w1, w2
    d_net = np.linalg.det(w2 @ w1)
    d_task = np.linalg.det(sigma_yx)
    if d_task == 0:
        raise ValueError("sigma_yx is singular: paper A assumption 2.4 (full rank task) fails")
    if np.sign(d_net) != np.sign(d_task):
        u, _, _ = np.linalg.svd(w2 @ w1)
        u1 = u[:, :1]
        w2 = w2 - 2.0 * u1 @ (u1.T @ w2)
    return w1, w2


def zero_balanced(ni: int, nh: int, no: int, sigma: float, rng: np.random.Generator,
                  sigma_yx: np.ndarray | None = None, gamma: float = GAMMA) -> tuple[np.ndarray, np.ndarray]:
    """Zero-balanced initialisation, paper A Algorithm 1 (Appendix H.1) as implemented by the authors (spec 4.1).

    1. ``R``: random orthogonal ``(Nh, Nh)``; 2. ``W1' ~ N(0, sigma^2)^(Nh x Ni)``,
    ``W2' ~ N(0, sigma^2)^(No x Nh)``; 3. compact SVD ``W2'W1' = U diag(s) V^T``;
    4. ``S_half = diag(gamma * sqrt(s))``; 5. ``W1 = R [S_half; 0] V^T``, ``W2 = U [S_half, 0] R^T``.
    6. If ``sigma_yx`` is given and the problem is square, apply :func:`fix_det_sign`.

    Result satisfies ``W1 W1^T == W2^T W2`` (paper A assumption 2.3) to round-off.
    Returns ``(W1 (Nh, Ni), W2 (No, Nh))``.
    """
    k = _check_dims(ni, nh, no)
    r = random_orthogonal(nh, rng)
    w1p = rng.normal(0.0, sigma, size=(nh, ni))
    w2p = rng.normal(0.0, sigma, size=(no, nh))
    u, s, vt = np.linalg.svd(w2p @ w1p, full_matrices=False)
    u, s, vt = u[:, :k], s[:k], vt[:k]
    half = gamma * np.sqrt(s)
    w1 = r[:, :k] @ (half[:, None] * vt)
    w2 = (u * half) @ r[:, :k].T
    if sigma_yx is not None:
        w1, w2 = fix_det_sign(w1, w2, sigma_yx)
    return w1, w2


def random_normal(ni: int, nh: int, no: int, sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Plain i.i.d. Gaussian initialisation ``N(0, sigma^2)`` of both layers (spec 4.2; not balanced).

    Returns ``(W1 (Nh, Ni), W2 (No, Nh))``. No closed form applies to these weights.
    """
    if min(ni, nh, no) < 1:
        raise ValueError(f"layer widths must be positive, got Ni={ni}, Nh={nh}, No={no}")
    w1 = rng.normal(0.0, sigma, size=(nh, ni))
    w2 = rng.normal(0.0, sigma, size=(no, nh))
    return w1, w2


def balancedness(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Balance matrix ``W1 W1^T - W2^T W2`` (zero for zero-balanced weights; paper A assumption 2.3).

    Batched: ``w1 (..., Nh, Ni)``, ``w2 (..., No, Nh)`` -> ``(..., Nh, Nh)``.
    """
    return w1 @ np.swapaxes(w1, -1, -2) - np.swapaxes(w2, -1, -2) @ w2


def task_aligned(sigma_yx: np.ndarray, nh: int, sigma: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Task-aligned zero-balanced initialisation of paper A Theorem 5.1 (spec 4.3; Figs 4 and 9).

    ``W1 = R A0 V~^T``, ``W2 = U~ A0^T R^T`` with ``R`` a random orthogonal ``(Nh, Nh)`` matrix,
    ``A0 ~ N(0, sigma^2)^(Nh x n)`` and ``U~ S~ V~^T`` the full SVD of the square task
    (:func:`learndyn.aligned.task_svd`; ``U~ = V~ = I`` for ``c I``). Then ``W1 W1^T = W2^T W2`` and
    ``W2 W1 = U~ M0 V~^T`` with ``M0 = A0^T A0`` (diagonal: aligned strengths, off-diagonal: cross coupling).

    ``sigma_yx (n, n)``, ``nh >= n``. Returns ``(W1 (Nh, n), W2 (n, Nh))``.
    """
    u, _, v = _aligned.task_svd(sigma_yx)
    n = u.shape[0]
    _check_dims(n, nh, n)
    r = random_orthogonal(nh, rng)
    a0 = rng.normal(0.0, sigma, size=(nh, n))
    return r @ a0 @ v.T, u @ a0.T @ r.T


def zero_balanced_direct(ni: int, nh: int, no: int, gain: float, rng: np.random.Generator,
                         sigma_yx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Zero-balanced variant of paper A Figure 8 (spec 4.4; the authors' MATLAB, no ``gamma``).

    ``A ~ N(0, gain^2)^(No x Ni)`` with full SVD ``A = U diag(s) V^T``, ``R`` random orthogonal ``(Nh, Nh)``,
    ``W1 = R [diag(sqrt(s_1..k)); 0] V_:k^T``, ``W2 = U_:,:k [diag(sqrt(s_1..k)), 0] R^T``, so ``W2 W1 = A``
    and ``W1 W1^T = W2^T W2``. For square problems with ``sigma_yx`` given, the det-sign rule of spec 1.3
    (:func:`fix_det_sign`) is applied.

    Returns ``(W1 (Nh, Ni), W2 (No, Nh))``.
    """
    k = _check_dims(ni, nh, no)
    a = rng.normal(0.0, gain, size=(no, ni))
    r = random_orthogonal(nh, rng)
    u, s, vt = np.linalg.svd(a)
    half = np.sqrt(s[:k])
    w1 = r[:, :k] @ (half[:, None] * vt[:k])
    w2 = (u[:, :k] * half) @ r[:, :k].T
    if sigma_yx is not None:
        w1, w2 = fix_det_sign(w1, w2, sigma_yx)
    return w1, w2
