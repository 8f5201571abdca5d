"""The individual weights of a zero-balanced linear network, up to a time-varying orthogonal matrix.

Paper A Appendix C.4 (Figure 7); spec ``exact-dynamics.md`` section 2.11. Assumptions: whitened inputs,
zero-balanced weights, ``Ni == No =: n`` and ``F = [[0, sigma_yx^T], [sigma_yx, 0]]`` invertible.

With ``Q = [W1^T; W2]`` (``(2n, Nh)``), ``P(t) = e^{Ft} Q0``, ``K(t) = I + 1/2 Q0^T F^{-1} (e^{2Ft} - I) Q0`` and
``q(t) = P(t) K(t)^{-1/2}``: ``q q^T = QQ^T(t)`` (Fukumizu's form, equal to Theorem 3.1), while the true weights
are ``Q(t) = q(t) O(t)`` with an orthogonal ``O(t)`` that is not constant in general. The paper estimates it
from a simulation as ``D(t) = q(t)^+ Q_sim(t)``.

Time ``t`` in units of ``tau`` (``t = k * eta`` after ``k`` steps). These forms contain positive exponentials:
use them only while ``t * max(singular value of sigma_yx) <~ 30``.
"""

from __future__ import annotations

import numpy as np

from .exact import fukumizu_factors
from .timegrid import as_time

__all__ = ["p_k", "p_k_svd", "inv_sqrt_psd", "q_factor", "rotation_estimate", "q_of_weights"]


def p_k(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
    """``P(t) = e^{Ft} Q0`` and ``K(t) = I_Nh + 1/2 Q0^T F^{-1} (e^{2Ft} - I) Q0`` (spec 2.11), from the
    eigendecomposition ``F = Phi diag(lam) Phi^T``.

    ``w1 (Nh, n)``, ``w2 (n, Nh)`` zero-balanced weights at ``t = 0``, ``sigma_yx (n, n)``, ``t`` scalar or ``(T,)``.
    Returns ``P (T, 2n, Nh)``, ``K (T, Nh, Nh)``.
    """
    return fukumizu_factors(w1, w2, sigma_yx, t)


def p_k_svd(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
    """SVD form of ``P(t)``, ``K(t)`` (spec 2.11): with ``W1(0) = R0 S^{1/2} V^T``, ``W2(0) = U S^{1/2} R0^T``,
    ``B = U^T U~ + V^T V~``, ``C = U^T U~ - V^T V~`` (spec 2.3),
    ``P = 1/2 [V~ (e^{S~t} B^T - e^{-S~t} C^T); U~ (e^{S~t} B^T + e^{-S~t} C^T)] S^{1/2} R0^T`` and
    ``K = I + 1/4 R0 S^{1/2} [B (e^{2S~t} - I) S~^{-1} B^T - C (e^{-2S~t} - I) S~^{-1} C^T] S^{1/2} R0^T``.

    Shapes as :func:`p_k`. Needs exactly balanced weights with ``rank W2 W1(0) = n``.
    """
    t = as_time(t)
    w1 = np.asarray(w1, dtype=float)
    w2 = np.asarray(w2, dtype=float)
    u, s, vh = np.linalg.svd(w2 @ w1)
    v = vh.T
    r0 = w1 @ v / np.sqrt(s)                                          # (Nh, n), orthonormal columns
    ut, st, vth = np.linalg.svd(np.asarray(sigma_yx, dtype=float))
    vt = vth.T
    b = u.T @ ut + v.T @ vt
    c = u.T @ ut - v.T @ vt
    right = np.sqrt(s)[:, None] * r0.T                                # S^{1/2} R0^T (n, Nh)
    ep = np.exp(st[None, :] * t[:, None])[:, :, None]                 # (T, n, 1) rows of e^{S~t}
    em = np.exp(-st[None, :] * t[:, None])[:, :, None]
    top = vt[None] @ (ep * b.T[None] - em * c.T[None]) @ right[None]
    bot = ut[None] @ (ep * b.T[None] + em * c.T[None]) @ right[None]
    p = 0.5 * np.concatenate([top, bot], axis=1)
    gp = (np.expm1(2.0 * st[None, :] * t[:, None]) / st[None, :])[:, None, :]   # (T, 1, n)
    gm = (np.expm1(-2.0 * st[None, :] * t[:, None]) / st[None, :])[:, None, :]
    inner = (b[None] * gp) @ b.T[None] - (c[None] * gm) @ c.T[None]
    k = np.eye(w1.shape[0])[None] + 0.25 * right.T[None] @ inner @ right[None]
    return p, k


def inv_sqrt_psd(k: np.ndarray) -> np.ndarray:
    """Symmetric inverse square root ``K^{-1/2}`` of positive definite ``k (..., m, m)``."""
    lam, vec = np.linalg.eigh(k)
    return (vec / np.sqrt(lam)[..., None, :]) @ np.swapaxes(vec, -1, -2)


def q_factor(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t) -> np.ndarray:
    """``q(t) = P(t) K(t)^{-1/2}`` (spec 2.11; paper A Eq. (158)): weights ``[W1^T; W2]`` up to an orthogonal
    factor, ``q q^T = QQ^T(t)`` and ``q(0) = Q0``. Shapes as :func:`p_k`; returns ``(T, 2n, Nh)``.
    """
    p, k = p_k(w1, w2, sigma_yx, t)
    return p @ inv_sqrt_psd(k)


def rotation_estimate(q: np.ndarray, q_sim: np.ndarray) -> np.ndarray:
    """``D(t) = q(t)^+ Q_sim(t)`` (spec 2.11; paper A Appendix C.4): the orthogonal factor estimated from
    simulated weights ``Q_sim = [W1^T; W2]`` (well defined for ``Nh <= rank q = n``).

    ``q (..., 2n, Nh)``, ``q_sim (..., 2n, Nh)``; returns ``(..., Nh, Nh)``.
    """
    return np.linalg.pinv(q) @ q_sim


def q_of_weights(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """``Q = [W1^T; W2]`` (spec 1.2), batched: ``w1 (..., Nh, Ni)``, ``w2 (..., No, Nh)`` -> ``(..., Ni+No, Nh)``."""
    return np.concatenate([np.swapaxes(np.asarray(w1), -1, -2), np.asarray(w2)], axis=-2)
