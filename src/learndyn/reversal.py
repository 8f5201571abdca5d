"""Reversal learning in deep and shallow linear networks (paper A, Appendix G).

Spec ``exact-dynamics.md`` sections 2.9 (deep network, diagonal ``B`` and ``C``) and 2.10 (shallow
network). Conventions as :mod:`learndyn.exact`: whitened inputs, ``W1 (Nh, Ni)``, ``W2 (No, Nh)``, task
``sigma_yx (No, Ni)``, time ``t`` in units of ``tau = 1/eta`` (``t = k eta`` after ``k`` steps), every
function vectorised over an array of times.

When the task shares the network's singular vectors up to the signs of the left ones, Theorem 3.1 does not
apply to the reversed modes (``B`` singular, spec 1.3) but the dynamics decouple into one scalar equation per
mode: aligned modes learn as in Saxe et al. (2014), reversed modes decay to the saddle at zero and stay there.
"""

from __future__ import annotations

import numpy as np

from .timegrid import as_time

__all__ = ["reversal_modes", "alignment_error", "aligned_modes", "reversal_network_function",
           "shallow_network_function", "shallow_gd", "shallow_modes"]


def reversal_modes(s: np.ndarray, s_task: np.ndarray, b: np.ndarray, c: np.ndarray, t) -> np.ndarray:
    """Per-mode strengths ``m_i(t)`` of paper A Appendix G.1 (spec 2.9, Eq. for ``m_i``):

    ``m_i = s_i s~_i (b_i^2 - c_i^2 e^{-4 s~_i t}) /
    (4 s~_i e^{-2 s~_i t} + s_i b_i^2 (1 - e^{-2 s~_i t}) + s_i c_i^2 (e^{-2 s~_i t} - e^{-4 s~_i t}))``

    with ``b_i = u_i^T u~_i + v_i^T v~_i``, ``c_i = u_i^T u~_i - v_i^T v~_i`` (``b_i^2 + c_i^2 = 4``): aligned mode
    ``b^2 = 4, c = 0`` (sigmoid to ``s~_i``), reversed mode ``b = 0, c^2 = 4`` (decays to 0). The network function
    is ``W(t) = U~ diag(m(t)) V~^T``. ``s, s_task, b, c (k,)``, ``t`` scalar or ``(T,)``; returns ``(T, k)``.
    """
    t = as_time(t)[:, None]
    s, st, b2, c2 = (np.asarray(a, dtype=float)[None] for a in (s, s_task, np.square(b), np.square(c)))
    e2 = np.exp(-2.0 * st * t)
    e4 = e2 * e2
    return s * st * (b2 - c2 * e4) / (4.0 * st * e2 + s * b2 * (1.0 - e2) + s * c2 * (e2 - e4))


def alignment_error(w: np.ndarray, sigma_yx: np.ndarray) -> float:
    """How far a task is from sharing the singular vectors of ``W = U diag(s) V^T`` (spec 2.9 assumption):
    ``max |offdiag(U^T sigma_yx V)| / max |diag(U^T sigma_yx V)|`` (0 when the reversal solution is exact).
    ``w (n, n)``, ``sigma_yx (n, n)``."""
    u, _, vt = np.linalg.svd(np.asarray(w, dtype=float))
    proj = u.T @ np.asarray(sigma_yx, dtype=float) @ vt.T
    d = np.diag(proj)
    return float(np.max(np.abs(proj - np.diag(d))) / np.max(np.abs(d)))


def aligned_modes(w: np.ndarray, sigma_yx: np.ndarray, rtol: float = 1e-5) -> tuple[np.ndarray, ...]:
    """Network modes and the task in the network's singular basis (spec 2.9 assumption).

    ``W = U diag(s) V^T`` (square ``W (n, n)``), ``d = diag(U^T sigma_yx V)``: the task's signed singular value
    along each network mode (``d_i < 0`` = reversed mode). Raises ``ValueError`` when ``U^T sigma_yx V`` is not
    diagonal to ``rtol * max|d|`` (the task does not share the network's singular vectors), when the problem is
    not square, or when a mode of the task vanishes. Returns ``(U (n, n), s (n,), V (n, n), d (n,))``.
    """
    w = np.asarray(w, dtype=float)
    sigma_yx = np.asarray(sigma_yx, dtype=float)
    if w.shape[0] != w.shape[1] or sigma_yx.shape != w.shape:
        raise ValueError(f"reversal solution needs a square problem: W {w.shape}, sigma_yx {sigma_yx.shape}")
    u, s, vt = np.linalg.svd(w)
    proj = u.T @ sigma_yx @ vt.T
    d = np.diag(proj).copy()
    scale = np.max(np.abs(d))
    off = alignment_error(w, sigma_yx) * scale
    if off > rtol * scale:
        raise ValueError(f"the task does not share the network's singular vectors: max off-diagonal of "
                         f"U^T sigma_yx V is {off:.3g} (> {rtol:g} x {scale:.3g}); the reversal solution (spec 2.9) "
                         "does not apply, use Theorem 3.1")
    if np.min(np.abs(d)) <= 1e-12 * scale or s[-1] <= 1e-12 * s[0]:
        raise ValueError("a mode of the task or of the network vanishes (paper A assumption 2.4)")
    return u, s, vt.T, d


def reversal_network_function(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t, rtol: float = 1e-5) -> np.ndarray:
    """Network function ``W2 W1(t)`` for reversal learning, paper A Appendix G.1 (spec 2.9).

    Valid when ``N_i = N_o``, the weights are zero-balanced and the task shares the network's singular vectors up
    to the signs of the left ones (:func:`aligned_modes`), e.g. after convergence on a task ``S`` and a switch to
    ``-S`` or to ``S`` with some left singular vectors negated. With ``u~_i = sign(d_i) u_i``, ``v~_i = v_i``,
    ``s~_i = |d_i|``: ``W(t) = sum_i sign(d_i) m_i(t) u_i v_i^T`` with :func:`reversal_modes`. Reversed modes go
    to the saddle ``m_i = 0`` and stay there.

    ``w1 (Nh, n)``, ``w2 (n, Nh)``, ``sigma_yx (n, n)``, ``t`` scalar or ``(T,)``; returns ``(T, n, n)``.
    """
    u, s, v, d = aligned_modes(np.asarray(w2, dtype=float) @ np.asarray(w1, dtype=float), sigma_yx, rtol)
    sign = np.sign(d)
    m = reversal_modes(s, np.abs(d), 1.0 + sign, sign - 1.0, t)     # b = 2, c = 0 aligned; b = 0, c = -2 reversed
    return (u[None] * (sign * m)[:, None, :]) @ v.T[None]


def shallow_network_function(w0: np.ndarray, sigma_yx: np.ndarray, t) -> np.ndarray:
    """Shallow network ``y = W x`` under gradient flow, paper A Appendix G.2 (spec 2.10):
    ``W(t) = sigma_yx + (W(0) - sigma_yx) e^{-t}`` (whitened inputs; no saddle, so no slowing).

    ``w0 (No, Ni)``, ``sigma_yx (No, Ni)``, ``t`` scalar or ``(T,)``; returns ``(T, No, Ni)``.
    """
    t = as_time(t)
    sigma_yx = np.asarray(sigma_yx, dtype=float)
    return sigma_yx[None] + (np.asarray(w0, dtype=float) - sigma_yx)[None] * np.exp(-t)[:, None, None]


def shallow_gd(w0: np.ndarray, sigma_yx: np.ndarray, learning_rate: float, steps) -> np.ndarray:
    """Exact discrete-time counterpart of :func:`shallow_network_function` (spec 2.10): after ``k`` full-batch GD
    steps ``W <- W + eta (sigma_yx - W)``, ``W_k = sigma_yx + (W(0) - sigma_yx)(1 - eta)^k``.

    ``w0 (No, Ni)``, ``sigma_yx (No, Ni)``, ``steps`` int or ``(K,)``; returns ``(K, No, Ni)``.
    """
    k = np.atleast_1d(np.asarray(steps, dtype=float))
    sigma_yx = np.asarray(sigma_yx, dtype=float)
    return sigma_yx[None] + (np.asarray(w0, dtype=float) - sigma_yx)[None] * ((1.0 - learning_rate) ** k)[:, None, None]


def shallow_modes(w0: np.ndarray, sigma_yx: np.ndarray, t) -> np.ndarray:
    """The authors' mode form of the shallow solution (spec 2.10): with ``W(0) = U0 S0 V0^T``,
    ``b_i(t) = k_i (1 - e^{-t}) + s0_i e^{-t}``, ``k_i = u0_i^T sigma_yx v0_i`` (negative for a reversed mode),
    ``W(t) = U0 diag(b(t)) V0^T``. Equals :func:`shallow_network_function` exactly when ``U0^T sigma_yx V0`` is
    diagonal. ``w0 (No, Ni)``, ``sigma_yx (No, Ni)``, ``t`` scalar or ``(T,)``; returns ``(T, No, Ni)``.
    """
    t = as_time(t)
    u0, s0, v0t = np.linalg.svd(np.asarray(w0, dtype=float), full_matrices=False)
    k = np.einsum("ik,ij,kj->k", u0, np.asarray(sigma_yx, dtype=float), v0t)
    e = np.exp(-t)[:, None]
    b = k[None] * (1.0 - e) + s0[None] * e
    return (u0[None] * b[:, None, :]) @ v0t[None]
