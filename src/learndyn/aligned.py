"""Task-aligned ("decoupling") dynamics of square two-layer linear networks: paper A Section 5, Appendix E.

Paper A: Braun, Dominé, Fitzgerald, Saxe, *Exact learning dynamics of deep linear networks with prior
knowledge* (JSTAT 2023). Equations are restated in the project spec ``exact-dynamics.md`` sections 2.6
(Theorem 5.1) and 2.7 (explicit 2x2 solution, peak time of the cross-mode coupling, sigmoidal mode).

Setting: ``Ni = No = n``, whitened inputs, task ``sigma_yx = U~ S~ V~^T`` (full SVD), task-aligned
zero-balanced weights ``W1(0) = R A0 V~^T``, ``W2(0) = U~ A0^T R^T`` (:func:`learndyn.init.task_aligned`).
The whole ``QQ^T`` is carried by the ``n x n`` matrix ``M(t) = U~^T W2 W1(t) V~ = A(t)^T A(t)`` (the network
function in the task's singular basis): diagonal entries are the within-mode strengths (-> ``s~_i``),
off-diagonal entries the cross-mode coupling (-> 0).
Time ``t`` is in units of ``tau = 1/eta`` (``t = k * eta`` after ``k`` gradient steps); every function is
vectorised over an array of times.
"""

from __future__ import annotations

import numpy as np

__all__ = ["task_svd", "project", "unproject", "m_of_t", "qqt_aligned", "m_2x2", "peak_time", "peak_time_code",
           "peak_value", "peak_value_small_init", "sigmoid_mode", "half_time"]


def _time(t) -> np.ndarray:
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1 or np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("t must be a scalar or 1-D array of finite non-negative times (units of tau)")
    return t


def task_svd(sigma_yx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full SVD ``sigma_yx = U~ diag(s~) V~^T`` of a square task in LAPACK order (spec 4.3).

    A multiple of the identity, ``c I`` (c > 0), has every basis as singular basis; spec 4.3 takes
    ``U~ = V~ = I`` then. ``sigma_yx (n, n)``; returns ``(U~ (n, n), s~ (n,), V~ (n, n))``.
    """
    s = np.asarray(sigma_yx, dtype=float)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"Theorem 5.1 needs a square task (Ni = No), got shape {s.shape}")
    n = s.shape[0]
    c = s[0, 0]
    if c > 0 and np.array_equal(s, c * np.eye(n)):
        return np.eye(n), np.full(n, c), np.eye(n)
    u, sv, vt = np.linalg.svd(s)
    if sv[-1] <= 1e-12 * sv[0]:
        raise ValueError(f"sigma_yx is singular (singular values {sv}); Theorem 5.1 needs full rank (assumption 2.4)")
    return u, sv, vt.T


def project(w2w1: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``M = U~^T W2W1 V~``: the network function in the task's singular basis (spec 2.6).

    ``w2w1 (..., n, n)``, ``u, v (n, n)``; returns ``(..., n, n)``.
    """
    return u.T @ w2w1 @ v


def unproject(m: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`project`: ``W2W1 = U~ M V~^T`` (spec 2.6). ``m (..., n, n)``; returns ``(..., n, n)``."""
    return u @ m @ v.T


def m_of_t(m0: np.ndarray, s: np.ndarray, t) -> np.ndarray:
    """Theorem 5.1 (paper A Section 5; spec 2.6): ``M(t)`` of a task-aligned zero-balanced network.

    ``M(t) = [E M0^{-1} E + S~^{-1} (I - E^2)]^{-1}`` with ``E = exp(-S~ t)`` (only negative exponentials:
    stable for all ``t``); ``M(0) = M0``, ``M(inf) = S~``. It solves ``dM/dt = S~ M + M S~ - 2 M^2``.

    ``m0 (n, n)`` symmetric positive definite (``A0^T A0``), ``s (n,)`` task singular values, ``t`` scalar
    or ``(T,)``. Returns ``(T, n, n)``.
    """
    t = _time(t)
    m0 = np.asarray(m0, dtype=float)
    s = np.asarray(s, dtype=float)
    e = np.exp(-s[None, :] * t[:, None])                                  # (T, n)
    inner = np.linalg.inv(m0)[None] * (e[:, :, None] * e[:, None, :])     # E M0^-1 E
    idx = np.arange(len(s))
    inner[:, idx, idx] += (1.0 - e * e) / s[None, :]
    return np.linalg.inv(inner)


def qqt_aligned(m: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``QQ^T = [V~; U~] M [V~; U~]^T`` of Theorem 5.1 (spec 2.6). ``m (..., n, n)``; returns ``(..., 2n, 2n)``."""
    z = np.concatenate([v, u], axis=0)
    return z @ m @ z.T


def m_2x2(a1: float, a2: float, b: float, s1: float, s2: float, t) -> np.ndarray:
    """Explicit 2x2 solution of Theorem 5.1 (paper A Appendix E.2-E.3; spec 2.7).

    With ``M0 = [[a1, b], [b, a2]]``, ``Delta = a1 a2 - b^2 > 0``, ``E_i = exp(-2 s_i t)``:
    ``P1 = Delta (1 - E1) + s1 a2 E1``, ``P2 = Delta (1 - E2) + s2 a1 E2``, ``D = P1 P2 - s1 s2 b^2 E1 E2``,
    ``a1(t) = s1 Delta P2 / D``, ``a2(t) = s2 Delta P1 / D``, ``b(t) = s1 s2 Delta b sqrt(E1 E2) / D``.

    Returns ``M(t) (T, 2, 2)`` with entries ``[[a1(t), b(t)], [b(t), a2(t)]]``.
    """
    t = _time(t)
    delta = a1 * a2 - b * b
    if not delta > 0:
        raise ValueError(f"M0 must be positive definite (Delta = a1 a2 - b^2 = {delta:g})")
    e1 = np.exp(-2.0 * s1 * t)
    e2 = np.exp(-2.0 * s2 * t)
    p1 = delta * (1.0 - e1) + s1 * a2 * e1
    p2 = delta * (1.0 - e2) + s2 * a1 * e2
    d = p1 * p2 - s1 * s2 * b * b * e1 * e2
    out = np.empty((len(t), 2, 2))
    out[:, 0, 0] = s1 * delta * p2 / d
    out[:, 1, 1] = s2 * delta * p1 / d
    out[:, 0, 1] = out[:, 1, 0] = s1 * s2 * delta * b * np.exp(-(s1 + s2) * t) / d
    return out


def _equal_target_terms(a1: float, a2: float, b: float, s: float) -> tuple[float, float, float]:
    delta = a1 * a2 - b * b
    if not delta > 0:
        raise ValueError(f"M0 must be positive definite (Delta = a1 a2 - b^2 = {delta:g})")
    c = s * (a1 + a2) - 2.0 * delta                    # b(t) = s^2 b E / (Delta + c E + d E^2)
    d = s * s - s * (a1 + a2) + delta
    return delta, c, d


def peak_time(a1: float, a2: float, b: float, s: float) -> float:
    """Exact time of the extremum of the cross-mode coupling ``b(t)`` for an equal-diagonal 2x2 target
    ``s~1 = s~2 = s`` (spec 2.7): ``t* = ln(1 + s (s - a1 - a2) / Delta) / (4 s)``.

    An interior extremum exists iff ``s > a1 + a2``; otherwise ``|b(t)|`` decays monotonically and NaN is
    returned. Scalars in, scalar out (units of tau).
    """
    delta, _, _ = _equal_target_terms(a1, a2, b, s)
    if s <= a1 + a2:
        return float("nan")
    return float(np.log1p(s * (s - a1 - a2) / delta) / (4.0 * s))


def peak_time_code(a1: float, a2: float, b: float, s: float) -> float:
    """The authors' small-initialisation approximation of :func:`peak_time` (MATLAB ``t_bumps``, spec 2.7):
    ``ln(s (s - a1 - a2) / Delta) / (4 s)`` (drops the ``1 +``; wrong near the no-peak boundary)."""
    delta, _, _ = _equal_target_terms(a1, a2, b, s)
    if s <= a1 + a2:
        return float("nan")
    return float(np.log(s * (s - a1 - a2) / delta) / (4.0 * s))


def peak_value(a1: float, a2: float, b: float, s: float) -> float:
    """Exact extremal value ``b(t*)`` of the cross-mode coupling, equal-diagonal 2x2 target (spec 7, Fig. 4):
    ``b(t*) = s^2 b E* / (2 Delta + (s (a1 + a2) - 2 Delta) E*)``, ``E* = sqrt(Delta / (s^2 - s (a1 + a2) + Delta))``.
    NaN if there is no interior extremum (``s <= a1 + a2``)."""
    delta, c, d = _equal_target_terms(a1, a2, b, s)
    if s <= a1 + a2:
        return float("nan")
    e = np.sqrt(delta / d)
    return float(s * s * b * e / (2.0 * delta + c * e))


def peak_value_small_init(a1: float, a2: float, b: float, s: float) -> float:
    """Small-initialisation limit of :func:`peak_value` (spec 7, Fig. 4): ``s b / (2 sqrt(Delta) + a1 + a2)``.

    Scale free: unchanged when ``M0`` is multiplied by a constant, so the peak does not vanish as the
    initial scale goes to 0 (for ``a1 = a2``: ``s rho / (2 (1 + sqrt(1 - rho^2)))``, ``rho = b / a1``)."""
    delta, _, _ = _equal_target_terms(a1, a2, b, s)
    return float(s * b / (2.0 * np.sqrt(delta) + a1 + a2))


def sigmoid_mode(a0: float, s: float, t) -> np.ndarray:
    """Decoupled mode (``b = 0``; Saxe et al.; spec 2.7): ``a(t) = s a0 / (a0 + (s - a0) exp(-2 s t))``.

    Sigmoidal for ``a0 << s``, a near-exponential relaxation to ``s`` for ``a0 >~ s``. Returns ``(T,)``.
    """
    t = _time(t)
    return s * a0 / (a0 + (s - a0) * np.exp(-2.0 * s * t))


def half_time(a0: float, s: float) -> float:
    """Time at which a decoupled mode reaches half its final value (spec 2.7):
    ``t_1/2 = ln(s / a0 - 1) / (2 s)`` (``~ ln(s / a0) / (2 s)`` for ``a0 << s``); needs ``a0 < s / 2``
    for a positive time (NaN otherwise: the mode starts above half)."""
    if not 0 < a0 < s / 2:
        return float("nan")
    return float(np.log(s / a0 - 1.0) / (2.0 * s))
