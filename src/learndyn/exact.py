"""Closed-form learning dynamics of two-layer linear networks from zero-balanced initialisations.

Paper A: Braun, Dominé, Fitzgerald, Saxe, *Exact learning dynamics of deep linear networks
with prior knowledge* (NeurIPS 2022; JSTAT 2023). Equations are restated in the project
spec ``exact-dynamics.md`` (section numbers in brackets).

Conventions: ``W1 (Nh, Ni)``, ``W2 (No, Nh)``, task correlation ``sigma_yx (No, Ni)`` for
whitened inputs, ``Q = [W1^T; W2]`` so ``QQ^T`` is ``(Ni+No, Ni+No)`` with quadrants
``W1^T W1 = QQt[:Ni, :Ni]``, ``W2 W1 = QQt[Ni:, :Ni]``, ``W2 W2^T = QQt[Ni:, Ni:]``.
Time ``t`` is in units of ``tau = 1/eta``: the state after ``k`` gradient steps of size
``eta`` corresponds to ``t = k * eta``. Every function is vectorised over an array of times.

Contract shared with :mod:`learndyn.lambda_balanced`: :func:`factors` once per network (the time-independent
matrices of Theorem 3.1), then :func:`evaluate` ``(f, t, what=...)`` for any number of time grids, ``what`` one
of :data:`WHAT`; ``t = inf`` is the ``t -> infinity`` limit (Theorem 3.2, :func:`limit`). :func:`qqt`,
:func:`network_function`, :func:`loss` and :func:`loss_from_factors` are thin wrappers over the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tasks import optimal_loss
from .timegrid import as_time, chunks

__all__ = ["SingularBError", "NotBalancedError", "BALANCE_RTOL", "balance_deviation", "check_zero_balanced",
           "TIME_CHUNK", "LOSS_CHUNK", "WHAT", "RiccatiFactors", "factors", "riccati_factors", "evaluate", "qqt",
           "network_function", "loss", "limit", "fukumizu_factors", "qqt_fukumizu", "loss_from_factors"]


class SingularBError(ValueError):
    """Theorem 3.1's matrix ``B = U^T U~ + V^T V~`` is singular (paper A assumption 3.1)."""


class NotBalancedError(ValueError):
    """The weights are not balanced as the closed form requires (``W1 W1^T = W2^T W2`` for Theorem 3.1;
    ``W2^T W2 - W1 W1^T = lambda I`` for :mod:`learndyn.lambda_balanced`)."""


#: Default tolerance of :func:`check_zero_balanced`, relative to ``max(||W1||_2^2, ||W2||_2^2)``. Gradient
#: descent with a finite step drifts the balance by O(eta^2) per step, O(eta t) in all, the order of the
#: discretisation error itself: weights trained for thousands of steps (the start of a second task in paper A
#: Figs. 5/6) sit at ~3e-3, 2000 steps at eta = 0.05 at ~2e-2. Independent Gaussian draws of equal scale sit
#: at 0.1 (200 x 200) to 0.5 (5 x 5).
BALANCE_RTOL = 5e-2


def balance_deviation(w1: np.ndarray, w2: np.ndarray) -> float:
    """``max |W1 W1^T - W2^T W2| / max(||W1||_2^2, ||W2||_2^2)``: the relative violation of zero balance
    (paper A Eq. 6, spec 2.1). ``w1 (Nh, Ni)``, ``w2 (No, Nh)``; 0 for exactly zero-balanced weights."""
    w1 = np.asarray(w1, dtype=float)
    w2 = np.asarray(w2, dtype=float)
    scale = max(np.linalg.norm(w1, 2) ** 2, np.linalg.norm(w2, 2) ** 2)
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(w1 @ w1.T - w2.T @ w2)) / scale)


def check_zero_balanced(w1: np.ndarray, w2: np.ndarray, rtol: float = BALANCE_RTOL, where: str = "Theorem 3.1") -> None:
    """Raise :class:`NotBalancedError` unless ``w1 (Nh, Ni)``, ``w2 (No, Nh)`` are zero-balanced
    (``W1 W1^T = W2^T W2``, paper A Eq. 6, spec 2.1) within ``rtol`` (:func:`balance_deviation`)."""
    dev = balance_deviation(w1, w2)
    if not dev <= rtol:
        raise NotBalancedError(
            f"{where} needs zero-balanced weights (W1 W1^T = W2^T W2, paper A Eq. 6), but "
            f"max|W1 W1^T - W2^T W2| is {dev:.3g} of max(||W1||^2, ||W2||^2) (tolerance {rtol:g}). "
            "Draw them with learndyn.init.zero_balanced; for lambda-balanced weights "
            "(W2^T W2 - W1 W1^T = lambda I) use learndyn.lambda_balanced.qqt / .loss; for other weights "
            "simulate (learndyn.simulate.gd_linear). Pass balance_rtol= to accept larger drift knowingly.")


#: Default number of time points evaluated per batched solve (bounds memory use).
TIME_CHUNK = 2048
#: Time points per block of :func:`loss_from_factors` (keeps the ``(T, k, k)`` work arrays in cache).
LOSS_CHUNK = 64
#: Quantities :func:`evaluate` computes (the same names as :func:`learndyn.lambda_balanced.evaluate`).
WHAT = ("qqt", "network_function", "loss")


@dataclass(frozen=True)
class RiccatiFactors:
    """Time-independent ingredients of Theorem 3.1 (spec 2.3) for one initialisation and task.

    Shapes: ``vt (Ni, k)``, ``ut (No, k)`` task singular vectors, ``st (k,)`` task singular
    values; ``binv (k, k) = B^{-1}``; ``g (k, k) = C^T B^{-T}``; ``m1 = B^{-1} S^{-1} B^{-T}``;
    ``m2 = B^{-1} C``; ``m3 = B^{-1}(V^T V^ V^^T V + U^T U^ U^^T U) B^{-T}``; ``zv (Ni, k) = 2 V^ V^^T V B^{-T}``;
    ``zu (No, k) = 2 U^ U^^T U B^{-T}``; ``sigma_yx (No, Ni)`` the task itself (for the ``t = inf`` limit,
    Theorem 3.2, and the loss; ``None`` in factors built by hand: the limit then uses ``ut``, ``st``, ``vt``).
    """

    ni: int
    no: int
    vt: np.ndarray
    ut: np.ndarray
    st: np.ndarray
    g: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    m3: np.ndarray
    zv: np.ndarray
    zu: np.ndarray
    sigma_yx: np.ndarray | None = None


def factors(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray,
            rcond: float = 1e-10, balance_rtol: float = BALANCE_RTOL) -> RiccatiFactors:
    """Precompute the time-independent matrices of paper A Theorem 3.1 (spec 2.3), once per network, to
    evaluate at any times with :func:`evaluate`.

    ``w1 (Nh, Ni)``, ``w2 (No, Nh)`` zero-balanced weights; ``sigma_yx (No, Ni)`` task. Returns
    :class:`RiccatiFactors` (``k = min(Ni, No)``).
    Raises :class:`NotBalancedError` when the weights are not zero-balanced within ``balance_rtol``
    (:func:`check_zero_balanced`), :class:`SingularBError` when ``B`` is singular and ``ValueError``
    when the network function or task is rank deficient (assumption 2.4).
    """
    w1 = np.asarray(w1, dtype=float)
    w2 = np.asarray(w2, dtype=float)
    sigma_yx = np.asarray(sigma_yx, dtype=float)
    nh, ni = w1.shape
    no = w2.shape[0]
    if w2.shape[1] != nh or sigma_yx.shape != (no, ni):
        raise ValueError(f"shape mismatch: W1 {w1.shape}, W2 {w2.shape}, sigma_yx {sigma_yx.shape}; "
                         "need W1 (Nh, Ni), W2 (No, Nh), sigma_yx (No, Ni)")
    check_zero_balanced(w1, w2, balance_rtol)
    k = min(ni, no)
    u, s, vh = np.linalg.svd(w2 @ w1, full_matrices=False)
    u, s, v = u[:, :k], s[:k], vh[:k].T
    if s[-1] <= rcond * max(s[0], 1e-300):
        raise ValueError(f"W2 W1 at t=0 is rank deficient (singular values {s}); Theorem 3.1 needs "
                         "rank(W2 W1(0)) = min(Ni, No) (paper A assumption 2.4)")
    ut_full, st, vth_full = np.linalg.svd(sigma_yx, full_matrices=True)
    if st[-1] <= rcond * max(st[0], 1e-300):
        raise ValueError(f"sigma_yx is rank deficient (singular values {st}); Theorem 3.1 needs "
                         "rank(sigma_yx) = min(Ni, No) (paper A assumption 2.4)")
    ut, vt = ut_full[:, :k], vth_full[:k].T
    uhat = ut_full[:, k:] if no > ni else np.zeros((no, 0))
    vhat = vth_full[k:].T if ni > no else np.zeros((ni, 0))

    b = u.T @ ut + v.T @ vt
    c = u.T @ ut - v.T @ vt
    sb = np.linalg.svd(b, compute_uv=False)
    if sb[-1] < 1e-8 * max(sb[0], 1.0):
        hint = ""
        if ni == no:
            hint = (" For a square problem this happens exactly when sign det(W2 W1(0)) != sign det(sigma_yx): "
                    "the exact flow then goes to a saddle (reversal learning). Draw the initialisation with "
                    "learndyn.init.zero_balanced(..., sigma_yx=task) or call learndyn.init.fix_det_sign, "
                    "or use the reversal-learning solution for aligned singular vectors.")
        raise SingularBError(f"B = U^T U~ + V^T V~ is singular (smallest singular value {sb[-1]:.3g}), so "
                             f"Theorem 3.1 of paper A does not apply (assumption 3.1).{hint}")
    binv = np.linalg.inv(b)
    m1 = (binv / s) @ binv.T
    m2 = binv @ c
    proj = v.T @ vhat @ vhat.T @ v + u.T @ uhat @ uhat.T @ u
    m3 = binv @ proj @ binv.T
    return RiccatiFactors(
        ni=ni, no=no, vt=vt, ut=ut, st=st, g=c.T @ binv.T, m1=m1, m2=m2, m3=m3,
        zv=2.0 * vhat @ (vhat.T @ v) @ binv.T, zu=2.0 * uhat @ (uhat.T @ u) @ binv.T, sigma_yx=sigma_yx,
    )


def riccati_factors(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray,
                    rcond: float = 1e-10, balance_rtol: float = BALANCE_RTOL) -> RiccatiFactors:
    """The factors of paper A Theorem 3.1 (spec 2.3): the same as :func:`factors` (the older name)."""
    return factors(w1, w2, sigma_yx, rcond=rcond, balance_rtol=balance_rtol)


def _za(f: RiccatiFactors, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Z_top (T, Ni, k)``, ``Z_bottom (T, No, k)`` and ``A (T, k, k)`` of Theorem 3.1 at times ``t``."""
    e = np.exp(-f.st[None, :] * t[:, None])                       # (T, k) diagonal of E(t)
    ee = e[:, :, None] * e[:, None, :]                            # E X E  ==  X * ee
    egE = f.g[None] * ee                                          # E C^T B^-T E
    one_m_e2 = 1.0 - e * e
    mid = (f.m2[None] * (one_m_e2 / f.st[None, :])[:, None, :]) @ f.m2.T[None]
    a = (4.0 * f.m1[None] + mid + 4.0 * t[:, None, None] * f.m3[None]) * ee
    idx = np.arange(len(f.st))
    a[:, idx, idx] += one_m_e2 / f.st[None, :]
    z_top = f.vt[None] - f.vt[None] @ egE + f.zv[None] * e[:, None, :]
    z_bot = f.ut[None] + f.ut[None] @ egE + f.zu[None] * e[:, None, :]
    return z_top, z_bot, a


def evaluate(f: RiccatiFactors, t, *, what: str = "qqt", chunk: int | None = None,
             l_star: float = 0.0) -> np.ndarray:
    """Evaluate precomputed factors ``f = factors(w1, w2, sigma_yx)`` at times ``t``: paper A Theorem 3.1
    (spec 2.3), ``QQ^T(t) = Z(t) A(t)^{-1} Z(t)^T``, numerically stable for all ``t`` (only negative
    exponentials); ``t = inf`` gives the limit ``t -> infinity`` of Theorem 3.2 (spec 2.4, :func:`limit`).

    ``t`` scalar or ``(T,)`` times in units of tau (``inf`` allowed). ``what`` (one of :data:`WHAT`):

    * ``"qqt"``: ``QQ^T (T, Ni+No, Ni+No)``;
    * ``"network_function"``: ``W2 W1 = Z_b A^{-1} Z_t^T (T, No, Ni)``, the bottom-left quadrant (spec 2.3,
      2.5), without forming ``QQ^T``;
    * ``"loss"``: ``L(W(t)) = 1/2 ||W(t) - sigma_yx||_F^2 + l_star (T,)`` (spec 1.1, whitened inputs), as
      ``tr(A^-1 G_b A^-1 G_t) - 2 tr(A^-1 H) + ||S||^2`` in ``O(k^3)`` per time point (see
      :func:`loss_from_factors`); ``l_star = L*`` (:func:`learndyn.tasks.optimal_loss`; 0 gives ``L - L*``).

    ``chunk``: time points per batched block (default :data:`TIME_CHUNK`, :data:`LOSS_CHUNK` for the loss).
    ``what`` is keyword-only here and in :func:`learndyn.lambda_balanced.evaluate` (whose third positional
    argument is ``chunk``).
    """
    if what not in WHAT:
        raise ValueError(f"what must be one of {WHAT}, got {what!r}")
    t = as_time(t, allow_inf=True)
    if chunk is None:
        chunk = LOSS_CHUNK if what == "loss" else TIME_CHUNK
    fin = np.isfinite(t)
    if np.all(fin):
        return _evaluate_finite(f, t, what, chunk, l_star)
    shape = {"qqt": (f.ni + f.no, f.ni + f.no), "network_function": (f.no, f.ni), "loss": ()}[what]
    out = np.empty((len(t),) + shape)
    if np.any(fin):
        out[fin] = _evaluate_finite(f, t[fin], what, chunk, l_star)
    out[~fin] = _evaluate_limit(f, what, l_star)
    return out


def _evaluate_finite(f: RiccatiFactors, t: np.ndarray, what: str, chunk: int, l_star: float) -> np.ndarray:
    """:func:`evaluate` at finite times ``t (T,)``."""
    if what == "loss":
        return _loss_blocks(f, t, chunk) + l_star
    if what == "qqt":
        n = f.ni + f.no
        out = np.empty((len(t), n, n))
        for sl in chunks(len(t), chunk):
            zt, zb, a = _za(f, t[sl])
            z = np.concatenate([zt, zb], axis=1)                        # (T, n, k)
            out[sl] = z @ np.linalg.solve(a, np.swapaxes(z, 1, 2))
        return out
    out = np.empty((len(t), f.no, f.ni))
    for sl in chunks(len(t), chunk):
        zt, zb, a = _za(f, t[sl])
        out[sl] = zb @ np.linalg.solve(a, np.swapaxes(zt, 1, 2))
    return out


def _evaluate_limit(f: RiccatiFactors, what: str, l_star: float):
    """:func:`evaluate` at ``t = inf``: Theorem 3.2 (spec 2.4), :func:`limit` of the task."""
    if f.sigma_yx is not None:
        lim, task = limit(f.sigma_yx), f.sigma_yx
    else:
        z = np.concatenate([f.vt, f.ut], axis=0)
        lim, task = (z * f.st) @ z.T, (f.ut * f.st) @ f.vt.T
    if what == "qqt":
        return lim
    w = lim[f.ni:, :f.ni]
    if what == "network_function":
        return w
    return 0.5 * float(np.sum((w - task) ** 2)) + l_star


def qqt(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t, chunk: int = TIME_CHUNK,
        balance_rtol: float = BALANCE_RTOL) -> np.ndarray:
    """``QQ^T(t)`` of a zero-balanced two-layer linear network: paper A Theorem 3.1, Eq. (spec 2.3).

    ``QQ^T(t) = Z(t) A(t)^{-1} Z(t)^T``, numerically stable for all ``t`` (only negative
    exponentials), valid for equal and unequal input/output dimensions; ``t = inf`` gives Theorem 3.2
    (spec 2.4). ``evaluate(factors(w1, w2, sigma_yx), t, what="qqt")``: for several time grids of one network
    compute :func:`factors` once.

    Parameters: ``w1 (Nh, Ni)``, ``w2 (No, Nh)`` zero-balanced initial weights,
    ``sigma_yx (No, Ni)`` input-output correlation of whitened data, ``t`` scalar or ``(T,)``
    times in units of tau. Returns ``(T, Ni+No, Ni+No)``.
    Raises :class:`NotBalancedError` for weights that are not zero-balanced (``balance_rtol``,
    :func:`check_zero_balanced`) and :class:`SingularBError` if assumption 3.1 fails (see
    :func:`learndyn.init.fix_det_sign`).
    """
    t = as_time(t, allow_inf=True)
    return evaluate(factors(w1, w2, sigma_yx, balance_rtol=balance_rtol), t, what="qqt", chunk=chunk)


def network_function(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t,
                     chunk: int = TIME_CHUNK, balance_rtol: float = BALANCE_RTOL) -> np.ndarray:
    """Network function ``W2 W1(t)``: the bottom-left quadrant of Theorem 3.1 (spec 2.3, 2.5).

    Cheaper than :func:`qqt` when only the function (or the loss) is needed;
    ``evaluate(factors(w1, w2, sigma_yx), t, what="network_function")``.
    Shapes and errors as :func:`qqt`; returns ``(T, No, Ni)``.
    """
    t = as_time(t, allow_inf=True)
    return evaluate(factors(w1, w2, sigma_yx, balance_rtol=balance_rtol), t, what="network_function", chunk=chunk)


def loss(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, sigma_yy: np.ndarray, t,
         chunk: int = LOSS_CHUNK, balance_rtol: float = BALANCE_RTOL) -> np.ndarray:
    """Loss of the exact network function, ``L(W(t)) = 1/2 ||W(t) - sigma_yx||_F^2 + L*``
    (spec 1.1, whitened inputs; ``L* = 1/2 tr sigma_yy - 1/2 ||sigma_yx||_F^2``), with ``W(t)``
    from Theorem 3.1 (spec 2.3).

    Evaluated without forming ``W(t)``: with ``W = Z_b A^{-1} Z_t^T``,
    ``||W - S||^2 = tr(A^{-1} G_b A^{-1} G_t) - 2 tr(A^{-1} H) + ||S||^2`` where
    ``G_t = Z_t^T Z_t``, ``G_b = Z_b^T Z_b`` and ``H = Z_b^T S Z_t`` are ``k x k`` (the completion
    terms are orthogonal to the task's singular vectors), so the cost per time point is
    ``O(k^3)`` whatever ``Ni`` and ``No``.

    ``sigma_yy (No, No)``; other shapes and errors as :func:`qqt`. Returns ``(T,)``. The factors are
    computed here (``evaluate(factors(w1, w2, sigma_yx), t, what="loss", l_star=L*)``); for several time grids of
    one initialisation compute them once (:func:`factors`) and call :func:`evaluate` (``chunk``: its block size).
    """
    f = factors(w1, w2, sigma_yx, balance_rtol=balance_rtol)
    return evaluate(f, t, what="loss", chunk=chunk, l_star=optimal_loss(sigma_yx, sigma_yy))


def limit(sigma_yx: np.ndarray) -> np.ndarray:
    """``QQ^T(t -> infinity)``: paper A Theorem 3.2 (spec 2.4).

    ``[[V~ S~ V~^T, V~ S~ U~^T], [U~ S~ V~^T, U~ S~ U~^T]]`` for ``sigma_yx = U~ S~ V~^T``;
    returns ``(Ni+No, Ni+No)``.
    """
    sigma_yx = np.asarray(sigma_yx, dtype=float)
    u, s, vh = np.linalg.svd(sigma_yx, full_matrices=False)
    z = np.concatenate([vh.T, u], axis=0)
    return (z * s) @ z.T


def fukumizu_factors(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
    """The two factors of Fukumizu's solution (spec 2.2, 2.11): ``P(t) = e^{Ft} Q0`` and
    ``K(t) = I_Nh + 1/2 Q0^T F^{-1} (e^{2Ft} - I) Q0``, so that ``QQ^T(t) = P K^{-1} P^T``, from the
    eigendecomposition of ``F = [[0, sigma_yx^T], [sigma_yx, 0]]``. Needs ``Ni == No`` and ``sigma_yx``
    invertible. Positive exponentials: accurate only for ``t * max singular value <~ 10-30``.

    ``w1 (Nh, n)``, ``w2 (n, Nh)``, ``sigma_yx (n, n)``, ``t`` scalar or ``(T,)``.
    Returns ``P (T, 2n, Nh)``, ``K (T, Nh, Nh)``.
    """
    t = as_time(t)
    w1 = np.asarray(w1, dtype=float)
    w2 = np.asarray(w2, dtype=float)
    sigma_yx = np.asarray(sigma_yx, dtype=float)
    ni, no = w1.shape[1], w2.shape[0]
    if ni != no:
        raise ValueError(f"Fukumizu's form needs Ni == No (got Ni={ni}, No={no}); use qqt (Theorem 3.1)")
    f_mat = np.block([[np.zeros((ni, ni)), sigma_yx.T], [sigma_yx, np.zeros((no, no))]])
    lam, p = np.linalg.eigh(f_mat)
    if np.min(np.abs(lam)) < 1e-12 * np.max(np.abs(lam)):
        raise ValueError("F is singular (sigma_yx not invertible): Fukumizu's form does not apply")
    q0 = np.concatenate([w1.T, w2], axis=0)                       # (n, Nh)
    pq = p.T @ q0                                                  # Q0 in F's eigenbasis
    ef = np.exp(lam[None, :] * t[:, None])                         # (T, n)
    g = (np.expm1(2.0 * lam[None, :] * t[:, None]) / lam[None, :])  # F^{-1}(e^{2Ft}-I) eigenvalues
    k = np.eye(q0.shape[1])[None] + 0.5 * np.einsum("in,ti,im->tnm", pq, g, pq)
    return p[None] @ (ef[:, :, None] * pq[None]), k


def qqt_fukumizu(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t) -> np.ndarray:
    """Fukumizu's closed form of ``QQ^T(t)`` (spec 2.2; paper A Eq. for the square case).

    ``QQ^T = e^{Ft} Q0 [I + 1/2 Q0^T F^{-1} (e^{2Ft} - I) Q0]^{-1} Q0^T e^{Ft}`` with
    ``F = [[0, sigma_yx^T], [sigma_yx, 0]]`` (factors from :func:`fukumizu_factors`). Needs ``Ni == No``
    and ``sigma_yx`` invertible. Numerically unstable at long times (positive exponentials): use only as
    a reference for ``t * max singular value <~ 10``. Shapes as :func:`qqt`.
    """
    left, k = fukumizu_factors(w1, w2, sigma_yx, t)
    return left @ np.linalg.solve(k, np.swapaxes(left, 1, 2))


def loss_from_factors(f: RiccatiFactors, t, l_star: float = 0.0, chunk: int = LOSS_CHUNK) -> np.ndarray:
    """The exact loss of :func:`loss` (paper A Theorem 3.1, spec 2.3; loss of spec 1.1) from precomputed
    factors ``f = factors(w1, w2, sigma_yx)``
    (``evaluate(f, t, what="loss", l_star=l_star, chunk=chunk)``), for many time grids of one initialisation (e.g. the
    learning rates of paper A Fig. 2C share one set of factors).

    Same algebra as :func:`loss` (``||W - S||^2 = tr(A^-1 G_b A^-1 G_t) - 2 tr(A^-1 H) + ||S||^2``, all
    ``k x k``), arranged for speed: ``t`` is processed in blocks of ``chunk`` points that stay in cache; the
    three time-dependent Gram products share one matrix product; ``A^-1 G_t`` and ``A^-1 G_b`` are one
    batched product; and the antisymmetric part ``P^T S~ - S~ P`` of ``H`` is dropped, since its trace
    against the symmetric ``A^-1`` is zero. Equal to :func:`loss` to rounding.

    ``t`` scalar or ``(T,)`` times in units of tau; ``l_star``: ``L*`` (:func:`learndyn.tasks.optimal_loss`;
    0 gives ``L - L*``); ``chunk``: time points per block; ``t = inf`` gives the limit (Theorem 3.2). Returns ``(T,)``.
    """
    return evaluate(f, t, what="loss", chunk=chunk, l_star=l_star)


def _loss_blocks(f: RiccatiFactors, t: np.ndarray, chunk: int) -> np.ndarray:
    """``L - L*`` (spec 1.1) at finite times ``t (T,)`` in blocks of ``chunk`` (the algebra of
    :func:`loss_from_factors`); returns ``(T,)``."""
    st = f.st
    k = len(st)
    idx = np.arange(k)
    outer = lambda x, y: np.einsum("ji,jl->jil", x, y).reshape(k, k * k)  # noqa: E731
    o_mid = outer(f.m2.T, f.m2.T)        # m2 diag(d) m2^T
    o_gg = outer(f.g, f.g)               # G^T diag(d) G
    gsym = f.g + f.g.T
    c_t = f.zv.T @ f.zv - gsym           # G_t = I + (G^T E^2 G + zv^T zv - G - G^T) o ee
    c_b = f.zu.T @ f.zu + gsym           # G_b = I + (G^T E^2 G + zu^T zu + G + G^T) o ee
    m1x4, m3x4 = 4.0 * f.m1, 4.0 * f.m3
    has_m3 = bool(np.any(f.m3))
    s2 = float(np.sum(st ** 2))
    out = np.empty(len(t))
    for sl in chunks(len(t), chunk):
        tt = t[sl]
        n = len(tt)
        e = np.exp(-st[None, :] * tt[:, None])
        e2 = e * e
        d = (1.0 - e2) / st[None, :]
        ee = e[:, :, None] * e[:, None, :]
        a = (d @ o_mid).reshape(n, k, k)
        a += m1x4
        if has_m3:
            a += tt[:, None, None] * m3x4
        a *= ee
        a[:, idx, idx] += d
        w = (np.concatenate([e2, e2 * st[None, :]], axis=0) @ o_gg).reshape(2, n, k, k)
        gtb = np.empty((n, k, 2 * k))
        gt, gb = gtb[:, :, :k], gtb[:, :, k:]
        np.add(w[0], c_t, out=gt)
        gt *= ee
        gt[:, idx, idx] += 1.0
        np.add(w[0], c_b, out=gb)
        gb *= ee
        gb[:, idx, idx] += 1.0
        ptsp = w[1]
        ptsp *= ee                                                    # P^T S~ P
        ainv = np.linalg.inv(a)
        x = ainv @ gtb                                                # [A^-1 G_t | A^-1 G_b]
        tr_gg = np.einsum("tij,tji->t", x[:, :, :k], x[:, :, k:])
        tr_h = np.einsum("tii,i->t", ainv, st) - np.einsum("tij,tij->t", ainv, ptsp)
        out[sl] = 0.5 * (tr_gg - 2.0 * tr_h + s2)
    return out
