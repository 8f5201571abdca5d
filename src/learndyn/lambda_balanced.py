"""Exact learning dynamics of two-layer linear networks from lambda-balanced initialisations.

Paper C: Dominé, Anguita, Proca, Braun, Kunin, Mediano, Saxe, *From Lazy to Rich: Exact Learning Dynamics
in Deep Linear Networks* (ICLR 2025). The paper text was not available; every equation is taken from the
project spec ``lambda-balanced.md`` (section numbers in brackets), where each formula was verified
against high-precision ODE integration and gradient descent.

Conventions (as :mod:`learndyn.exact`): ``W1 (Nh, Ni)``, ``W2 (No, Nh)``, task ``sigma_yx (No, Ni)`` of
whitened data, ``Q = [W1^T; W2]`` so that ``QQ^T`` is ``(Ni+No, Ni+No)`` with quadrants ``W1^T W1``,
``W2 W1`` (bottom-left) and ``W2 W2^T`` (:func:`learndyn.metrics.split_qqt`). Time ``t`` is in units of
``tau = 1/eta`` (``k`` gradient steps of size ``eta`` <-> ``t = k eta``); every trajectory function is
vectorised over an array of times (``t = inf`` gives the limit).

Contract shared with :mod:`learndyn.exact`: :func:`factors` once per network (:class:`StableFactors`, spec
2.3a), then :func:`evaluate` ``(f, t, what=...)`` for any number of time grids, ``what`` one of :data:`WHAT`;
:func:`qqt`, :func:`network_function`, :func:`loss` and :func:`qqt_from_p0` are thin wrappers over the two.

lambda-balance (spec 1.2, the paper's sign): ``W2^T W2 - W1 W1^T = lambda I_Nh``; ``lambda > 0`` means a
larger second layer. ``lambda = 0`` is the zero-balanced case of paper A, and the closed form here then
coincides with :func:`learndyn.exact.qqt` (Theorem 3.1 of paper A).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics as _metrics
from .exact import TIME_CHUNK, NotBalancedError, SingularBError
from .tasks import optimal_loss
from .timegrid import as_time, chunks
from .init import random_orthogonal

__all__ = ["hidden_width_range", "check_dims", "layer_spectra", "balance", "lambda_of", "lambda_balanced",
           "f_matrix", "mode_constants", "f_eig", "riccati_rhs", "gradient_flow", "qqt_of", "StableFactors",
           "stable_factors", "qqt_from_p0", "WHAT", "evaluate", "qqt", "network_function", "loss", "factors",
           "qqt_direct", "readouts", "limit", "ntk",
           "ntk_jacobian", "ntk_norm", "ntk_change", "kernel_distance", "shallow_limit", "mode_strength",
           "mode_layers", "mode_rate", "mode_time", "sigmoid_threshold", "has_accelerating_phase",
           "standard_regression"]


# --------------------------------------------------------------------------- 1.2-1.4 initialisation
def hidden_width_range(lam: float, ni: int, no: int) -> tuple[int, int | None]:
    """Allowed hidden widths ``(lo, hi)`` of an exactly lambda-balanced network (spec 1.2 table).

    ``lo = min(Ni, No)`` (no bottleneck); ``hi = No`` for ``lambda > 0``, ``Ni`` for ``lambda < 0`` and
    ``None`` (unbounded) for ``lambda = 0``.
    """
    lo = min(ni, no)
    if lam > 0:
        return lo, no
    if lam < 0:
        return lo, ni
    return lo, None


def check_dims(lam: float, ni: int, nh: int, no: int) -> None:
    """Raise ``ValueError`` unless widths ``(Ni, Nh, No)`` admit an exactly lambda-balanced pair (spec 1.2).

    From ``W2^T W2 - W1 W1^T = lambda I``: a hidden direction ``h`` in the kernel of ``W2`` would give
    ``-|W1^T h|^2 = lambda |h|^2``, impossible for ``lambda > 0`` (so ``Nh <= No``); symmetrically
    ``Nh <= Ni`` for ``lambda < 0``. Bottlenecks ``Nh < min(Ni, No)`` are outside the theory.
    """
    if min(ni, nh, no) < 1:
        raise ValueError(f"layer widths must be positive, got Ni={ni}, Nh={nh}, No={no}")
    lo, hi = hidden_width_range(lam, ni, no)
    if nh < lo:
        raise ValueError(f"hidden width Nh={nh} < min(Ni, No)={lo}: bottlenecked networks are outside the "
                         f"lambda-balanced theory (allowed: Nh >= {lo})")
    if hi is not None and nh > hi:
        side = "No" if lam > 0 else "Ni"
        raise ValueError(
            f"lambda={lam:g} is impossible with Nh={nh} > {side}={hi} (spec 1.2): for lambda "
            f"{'> 0' if lam > 0 else '< 0'} the hidden width must satisfy {lo} <= Nh <= {hi}; "
            f"with Nh={nh} only " + ("lambda = 0 is allowed" if nh > max(ni, no) else
                                     f"lambda {'<= 0' if lam > 0 else '>= 0'} is allowed"))


def layer_spectra(a, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-mode layer strengths of a lambda-balanced pair with product singular values ``a`` (spec 1.3):
    ``s1^2 = (sqrt(lam^2 + 4 a^2) - lam)/2``, ``s2^2 = (sqrt(lam^2 + 4 a^2) + lam)/2``, so ``s2^2 - s1^2 = lam``
    and ``s1 s2 = a``. ``a (...)`` non-negative; returns ``(s1, s2)`` of the same shape.
    """
    a = np.asarray(a, dtype=float)
    if np.any(a < 0):
        raise ValueError("product singular values must be non-negative")
    root = np.sqrt(lam * lam + 4.0 * a * a)
    # the smaller of the two is computed as a^2 / larger to avoid cancellation
    big = 0.5 * (root + abs(lam))
    small = np.divide(a * a, big, out=np.zeros_like(a), where=big > 0)
    s1sq, s2sq = (small, big) if lam >= 0 else (big, small)
    return np.sqrt(s1sq), np.sqrt(s2sq)


def balance(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Balance matrix ``W2^T W2 - W1 W1^T`` (spec 1.2; equals ``lambda I`` for lambda-balanced weights).

    Batched: ``w1 (..., Nh, Ni)``, ``w2 (..., No, Nh)`` -> ``(..., Nh, Nh)``. (Note the sign: the opposite
    of :func:`learndyn.init.balancedness`, following paper C.)
    """
    return np.swapaxes(w2, -1, -2) @ w2 - w1 @ np.swapaxes(w1, -1, -2)


def lambda_of(w1: np.ndarray, w2: np.ndarray, rtol: float = 1e-8) -> float:
    """The ``lambda`` of lambda-balanced weights (spec 1.2): ``tr(W2^T W2 - W1 W1^T) / Nh``.

    Raises :class:`NotBalancedError` if the balance matrix deviates from ``lambda I`` by more than
    ``rtol * max(1, |W1|^2, |W2|^2)`` (weights after gradient descent drift by O(eta^2) per step: pass
    lambda explicitly to the closed forms then).
    """
    b = balance(np.asarray(w1, dtype=float), np.asarray(w2, dtype=float))
    lam = float(np.trace(b) / b.shape[0])
    dev = float(np.max(np.abs(b - lam * np.eye(b.shape[0]))))
    scale = max(1.0, float(np.max(np.abs(w1))) ** 2, float(np.max(np.abs(w2))) ** 2)
    if dev > rtol * scale * b.shape[0]:
        raise NotBalancedError(f"W2^T W2 - W1 W1^T deviates from lambda I (lambda={lam:.6g}) by {dev:.3g}: "
                               "the weights are not lambda-balanced; pass lam= explicitly to use the closed form anyway")
    return lam


def lambda_balanced(ni: int, nh: int, no: int, lam: float, rng: np.random.Generator, *, sigma: float = 1.0,
                    spectrum=None, u: np.ndarray | None = None, v: np.ndarray | None = None,
                    sigma_yx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """lambda-balanced initialisation with a chosen product spectrum (spec 1.4, the authors' "Get lambda-balanced").

    1. Network function at init ``W(0) = U diag(a) V^T`` (``U (No, No)``, ``V (Ni, Ni)`` orthogonal):
       ``spectrum=None`` -- authors' recipe: ``A ~ sigma N(0,1)^(Nh x Ni)``, ``B ~ sigma N(0,1)^(No x Nh)``,
       full SVD ``B A = U diag(a) V^T``; ``spectrum`` scalar ``a0`` -- isotropic, ``a = a0``; ``spectrum``
       array ``(min(Ni, No),)`` -- those values. ``u``/``v`` override the singular directions (task-aligned
       variant: pass the task's ``U~``, ``V~``); otherwise random orthogonal (or the recipe's).
    2. Per mode ``s1, s2`` from :func:`layer_spectra`; 3. ``S1 (Nh, Ni)``, ``S2 (No, Nh)`` diagonal, and the
       ``Nh - min(Ni, No)`` extra hidden units get ``sqrt(lam)`` in ``S2`` (``lam > 0``, output directions
       orthogonal to the range of ``W(0)``), ``sqrt(-lam)`` in ``S1`` (``lam < 0``) or zero (``lam = 0``);
    4. ``R`` random orthogonal ``(Nh, Nh)``; ``W1 = R S1 V^T``, ``W2 = U S2 R^T``.
    5. If ``sigma_yx (No, Ni)`` is given and the problem is square, the det-sign rule of spec 1.4 (caveat):
       the first column of ``U`` is reflected when ``sign det W(0) != sign det sigma_yx``. Required at
       lambda = 0 (else the exact flow ends on a saddle), harmless otherwise; applied for every lambda so that
       the same random numbers give the same ``W(0)`` for all lambda.

    Raises ``ValueError`` for impossible ``(lam, Ni, Nh, No)`` (:func:`check_dims`).
    Returns ``(W1 (Nh, Ni), W2 (No, Nh))`` with ``W2^T W2 - W1 W1^T = lam I`` to round-off.
    """
    check_dims(lam, ni, nh, no)
    m = min(ni, no)
    if spectrum is None:
        a_aux = rng.normal(0.0, sigma, size=(nh, ni))
        b_aux = rng.normal(0.0, sigma, size=(no, nh))
        uu, a, vh = np.linalg.svd(b_aux @ a_aux)
        uu, vv = uu, vh.T
        a = a[:m]
    else:
        a = np.broadcast_to(np.asarray(spectrum, dtype=float), (m,)).copy()
        uu = random_orthogonal(no, rng)
        vv = random_orthogonal(ni, rng)
    if u is not None:
        uu = np.asarray(u, dtype=float)
    if v is not None:
        vv = np.asarray(v, dtype=float)
    if uu.shape != (no, no) or vv.shape != (ni, ni):
        raise ValueError(f"u must be (No, No)=({no}, {no}) and v (Ni, Ni)=({ni}, {ni}) orthogonal matrices")
    if sigma_yx is not None and ni == no:
        sign_w = np.sign(np.linalg.det(uu) * np.linalg.det(vv)) * (1.0 if np.all(a > 0) else 0.0)
        if sign_w != np.sign(np.linalg.det(sigma_yx)):
            uu = uu.copy()
            uu[:, 0] *= -1.0
    s1, s2 = layer_spectra(a, lam)
    big1 = np.zeros((nh, ni))
    big2 = np.zeros((no, nh))
    idx = np.arange(m)
    big1[idx, idx] = s1
    big2[idx, idx] = s2
    extra = np.arange(m, nh)
    if extra.size:
        if lam > 0:
            big2[extra, extra] = np.sqrt(lam)
        elif lam < 0:
            big1[extra, extra] = np.sqrt(-lam)
    r = random_orthogonal(nh, rng)
    return r @ big1 @ vv.T, uu @ big2 @ r.T


# --------------------------------------------------------------------------- 2.1 the matrix F
def f_matrix(sigma_yx: np.ndarray, lam: float) -> np.ndarray:
    """``F = [[-lam/2 I_Ni, sigma_yx^T], [sigma_yx, lam/2 I_No]]`` (spec 2.1); returns ``(Ni+No, Ni+No)``."""
    s = np.asarray(sigma_yx, dtype=float)
    no, ni = s.shape
    return np.block([[-0.5 * lam * np.eye(ni), s.T], [s, 0.5 * lam * np.eye(no)]])


def mode_constants(s, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``K = sqrt(s^2 + lam^2/4)``, ``c = sqrt((K - lam/2)/(2K))``, ``d = sqrt((K + lam/2)/(2K))`` (spec 2.1;
    no division by lambda, valid at lambda = 0). ``s (...)`` task singular values; returns ``(K, c, d)``."""
    s = np.asarray(s, dtype=float)
    k = np.sqrt(s * s + 0.25 * lam * lam)
    safe = np.where(k > 0, k, 1.0)
    # the smaller of (K -+ lam/2) via s^2 / (K + |lam|/2) (no cancellation)
    big = k + 0.5 * abs(lam)
    small = np.divide(s * s, big, out=np.zeros_like(s), where=big > 0)
    km, kp = (small, big) if lam >= 0 else (big, small)
    c = np.where(k > 0, np.sqrt(km / (2 * safe)), np.sqrt(0.5))
    d = np.where(k > 0, np.sqrt(kp / (2 * safe)), np.sqrt(0.5))
    return k, c, d


def f_eig(sigma_yx: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Analytic eigen-decomposition ``F = O diag(mu) O^T`` (spec 2.1 table), ``mu`` sorted descending.

    Columns: ``[c v~_a; d u~_a]`` (``+K_a``), ``[d v~_a; -c u~_a]`` (``-K_a``), ``[0; u~_perp]`` (``+lam/2``),
    ``[v~_perp; 0]`` (``-lam/2``). ``sigma_yx (No, Ni)``; returns ``mu (n,)``, ``O (n, n)``, ``n = Ni + No``.
    """
    s = np.asarray(sigma_yx, dtype=float)
    no, ni = s.shape
    m = min(ni, no)
    ut, st, vth = np.linalg.svd(s, full_matrices=True)
    vt = vth.T
    k, c, d = mode_constants(st[:m], lam)
    zi, zo = np.zeros((ni, no - m)), np.zeros((no, ni - m))
    o = np.block([
        [vt[:, :m] * c, vt[:, :m] * d, zi, vt[:, m:]],
        [ut[:, :m] * d, -ut[:, :m] * c, ut[:, m:], zo],
    ])
    mu = np.concatenate([k, -k, np.full(no - m, 0.5 * lam), np.full(ni - m, -0.5 * lam)])
    order = np.argsort(-mu, kind="stable")
    return mu[order], o[:, order]


def riccati_rhs(qqt: np.ndarray, sigma_yx: np.ndarray, lam: float) -> np.ndarray:
    """Right-hand side of the matrix Riccati equation ``tau d/dt QQ^T = F QQ^T + QQ^T F - (QQ^T)^2``
    (spec 2.1; whitened inputs, lambda-balanced weights). ``qqt (..., n, n)``; returns ``(..., n, n)``."""
    f = f_matrix(sigma_yx, lam)
    return f @ qqt + qqt @ f - qqt @ qqt


def gradient_flow(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray,
                  sigma_xx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradient-flow velocities (spec 1.1): ``tau dW1/dt = W2^T (S_yx - W2 W1 S_xx)``,
    ``tau dW2/dt = (S_yx - W2 W1 S_xx) W1^T``. Shapes as the weights; returns ``(dW1, dW2)``."""
    w = w2 @ w1
    r = sigma_yx - (w if sigma_xx is None else w @ sigma_xx)
    return np.swapaxes(w2, -1, -2) @ r, r @ np.swapaxes(w1, -1, -2)


def qqt_of(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """``QQ^T`` of weights ``w1 (..., Nh, Ni)``, ``w2 (..., No, Nh)`` (spec 2.1); returns ``(..., n, n)``."""
    q = np.concatenate([np.swapaxes(w1, -1, -2), w2], axis=-2)
    return q @ np.swapaxes(q, -1, -2)


# --------------------------------------------------------------------------- 2.3a stable closed form
@dataclass(frozen=True)
class StableFactors:
    """Time-independent ingredients of the stable closed form (spec 2.3a) for one initial ``QQ^T`` and task.

    ``mu_s (r,)``, ``o_s (n, r)``: eigenvalues/eigenvectors of ``F`` of the selected ("+") block;
    ``mu_r (m,)``, ``o_r (n, m)``: the rest; ``w (m, r) = L_- L_+^{-1}`` (zero wherever ``mu_r > mu_s``);
    ``ninv (r, r) = L_+^{-1}``; ``saddle``: True if ``L_+`` of the top-``r`` eigen-directions is
    singular (the trajectory ends on a saddle; the selection then skips the empty directions);
    ``sigma_yx (No, Ni)``: the task (for the loss; ``None`` in factors built by hand).
    """

    ni: int
    no: int
    lam: float
    mu_s: np.ndarray
    mu_r: np.ndarray
    o_s: np.ndarray
    o_r: np.ndarray
    w: np.ndarray
    ninv: np.ndarray
    saddle: bool
    sigma_yx: np.ndarray | None = None


def _clusters(mu: np.ndarray, tol: float) -> list[np.ndarray]:
    """Index groups of (numerically) equal, descending-sorted eigenvalues."""
    breaks = np.flatnonzero(np.abs(np.diff(mu)) > tol) + 1
    return np.split(np.arange(len(mu)), breaks)


def _factor_l(p0: np.ndarray, rtol: float) -> np.ndarray:
    """``L (n, r)`` with ``p0 = L L^T`` (eigen-decomposition, positive eigenvalues above ``rtol * max``)."""
    ev, vec = np.linalg.eigh(0.5 * (p0 + p0.T))
    keep = ev > rtol * max(float(ev[-1]), 1e-300)
    return vec[:, keep] * np.sqrt(ev[keep])


def stable_factors(p0: np.ndarray, sigma_yx: np.ndarray, lam: float, *, l0: np.ndarray | None = None,
                   on_singular: str = "raise", saddle_rtol: float = 1e-9) -> StableFactors:
    """Precompute the stable closed form of spec 2.3a from the initial ``QQ^T`` ``p0 (n, n)``.

    ``F = O diag(mu) O^T`` (:func:`f_eig`, ``mu`` descending), ``O^T p0 O = L L^T``, ``L (n, r)``,
    ``r = rank p0``. Inside each cluster of equal ``mu`` the eigenvectors (and rows of ``L``) are rotated by
    the left singular vectors of that cluster's block of ``L``. Normally the "+" block is the first ``r``
    rows; if that block ``L_+`` is singular (e.g. lambda = 0 with ``sign det W(0) != sign det sigma_yx``, or
    an exactly reversed task) the initial state lies on the stable manifold of a saddle: with
    ``on_singular="raise"`` a :class:`learndyn.exact.SingularBError` is raised; with ``"saddle"`` rows of
    ``L`` are selected greedily in order of decreasing ``mu``, components whose residual is below
    ``saddle_rtol * |L|`` are treated as exactly zero, and the result is the exact flow on the saddle's
    stable manifold (numerically stable for all t; compare :func:`qqt_direct` at short times).

    ``l0 (n_, k)`` optionally gives a factor of ``p0`` in the *original* coordinates (``p0 = l0 l0^T``,
    e.g. ``Q = [W1^T; W2]``), which avoids the square root of small eigenvalues.
    """
    if on_singular not in ("raise", "saddle"):
        raise ValueError("on_singular must be 'raise' or 'saddle'")
    if p0 is None and l0 is None:
        raise ValueError("give the initial QQ^T (p0) or a factor of it (l0)")
    s = np.asarray(sigma_yx, dtype=float)
    no, ni = s.shape
    n = ni + no
    mu, o = f_eig(s, lam)
    if l0 is not None:
        u_, sv, _ = np.linalg.svd(o.T @ np.asarray(l0, dtype=float), full_matrices=False)
        keep = sv > 1e-12 * max(float(sv[0]), 1e-300)
        l = u_[:, keep] * sv[keep]
    else:
        l = _factor_l(o.T @ np.asarray(p0, dtype=float) @ o, 1e-13)
    r = l.shape[1]
    if r == 0:
        raise ValueError("QQ^T(0) = 0: the origin is a fixed point of the flow (all weights zero)")
    scale = max(1.0, float(np.max(np.abs(mu))))
    for idx in _clusters(mu, 1e-10 * scale):
        mu[idx] = np.mean(mu[idx])
        if len(idx) > 1:
            uc, _, _ = np.linalg.svd(l[idx], full_matrices=True)
            o[:, idx] = o[:, idx] @ uc
            l[idx] = uc.T @ l[idx]
    lnorm = float(np.linalg.norm(l, 2))
    top = l[:r]
    sv_top = np.linalg.svd(top, compute_uv=False)
    saddle = bool(sv_top[-1] <= saddle_rtol * lnorm)
    if not saddle:
        sel = np.arange(r)
        rest = np.arange(r, n)
        w = np.linalg.solve(top.T, l[r:].T).T
    else:
        if on_singular == "raise":
            raise SingularBError(
                f"L_+ (the initial state on the {r} leading eigen-directions of F) is singular (smallest singular "
                f"value {sv_top[-1]:.3g} vs |L| = {lnorm:.3g}): the exact flow from this lambda={lam:g}-balanced "
                "initialisation converges to a saddle (spec 2.3a, 2.7; lambda = 0 with sign det W(0) != sign det "
                "sigma_yx, or an exactly reversed task). Fix the initialisation (learndyn.init.fix_det_sign for "
                "lambda = 0) or pass on_singular='saddle' for the exact flow to the saddle.")
        basis = np.zeros((0, r))
        sel_l, rest_l, coef = [], [], {}
        for i in range(n):
            row = l[i]
            if len(sel_l) < r:
                resid = row - (row @ basis.T) @ basis if len(basis) else row
                if np.linalg.norm(resid) > saddle_rtol * lnorm:
                    sel_l.append(i)
                    basis = np.vstack([basis, resid / np.linalg.norm(resid)])
                    continue
            rest_l.append(i)
            coef[i] = len(sel_l)      # may only use the rows selected before it (larger or equal mu)
        sel, rest = np.array(sel_l), np.array(rest_l, dtype=int)
        if len(sel) < r:
            raise SingularBError("could not select an invertible block of L (rank-deficient initial state)")
        top = l[sel]
        w = np.zeros((len(rest), r))
        for k, i in enumerate(rest):
            m_ = coef[i]
            if m_:
                w[k, :m_] = np.linalg.lstsq(l[sel[:m_]].T, l[i], rcond=None)[0]
    return StableFactors(ni=ni, no=no, lam=float(lam), mu_s=mu[sel], mu_r=mu[rest], o_s=o[:, sel],
                         o_r=o[:, rest], w=w, ninv=np.linalg.inv(top), saddle=saddle,
                         sigma_yx=s)


def _decay(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``exp(x t)`` for ``x <= 0`` (broadcast; ``t (T, 1, ...)``), with ``exp(0 * inf) = 1`` and ``exp(-|x| inf) = 0``."""
    x = np.minimum(x, 0.0)
    with np.errstate(invalid="ignore"):
        return np.where(x == 0.0, 1.0, np.exp(x * t))


def _phi(m: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(1 - exp(-2 m t)) / (2 m)`` for ``m >= 0`` (``-> t`` at ``m = 0``; ``1/(2m)`` at ``t = inf``)."""
    safe = np.where(m > 0, m, 1.0)
    return np.where(m > 0, -np.expm1(-2.0 * safe * t) / (2.0 * safe), t)


def _stable_parts(f: StableFactors, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Y (T, n, r)`` and ``J (T, n + r, r)`` of spec 2.3a at times ``t (T,)``: ``Omega = J^T J`` and
    ``QQ^T = Y Omega^{-1} Y^T``.

    Generalised to negative ``mu`` in the "+" block (saddle case) by scaling column ``j`` with
    ``exp(-max(mu_j, 0) t)``: then every exponent is <= 0 (``Z_ij = W_ij exp((mu_i - mu_j^+) t)``,
    ``Omega = G L_+^{-T} L_+^{-1} G + diag(phi(|mu_s|)) + Zh^T diag(phi(|mu_r|)) Zh``,
    ``G = diag(exp(-mu_s^+ t))``, ``Zh_ij = W_ij exp((mu_i^+ - mu_j^+) t)``, ``phi(m) = (1 - exp(-2 m t))/(2m)``).
    ``Omega`` is kept in square-root form ``J = [L_+^{-1} G; diag(phi_s)^(1/2); diag(phi_r)^(1/2) Zh]`` so that
    an ill-conditioned ``L_+`` (initial state close to a saddle's stable manifold) is not squared.
    """
    tt = t[:, None, None]
    inf = np.isinf(t)
    ps, pr = np.maximum(f.mu_s, 0.0), np.maximum(f.mu_r, 0.0)
    g = _decay(-ps[None, :], t[:, None])                                   # (T, r)
    top = _decay(np.minimum(f.mu_s, 0.0)[None, :], t[:, None])             # (T, r)
    z = f.w[None] * _decay(f.mu_r[:, None] - ps[None, :], tt)              # (T, m, r)
    zh = f.w[None] * _decay(pr[:, None] - ps[None, :], tt)                 # (T, m, r)
    phi_r = _phi(np.abs(f.mu_r)[None, :], t[:, None])                      # (T, m)
    phi_s = _phi(np.abs(f.mu_s)[None, :], t[:, None])                      # (T, r)
    if np.any(inf):
        # t = inf: a zero mode contributes t * exp(-(mu_j^+ + mu_l^+) t) -> 0 unless it is undamped
        zero_r = np.abs(f.mu_r) == 0
        if np.any(zero_r[:, None] & (f.w != 0) & (ps[None, :] == 0)) or np.any(f.mu_s == 0):
            raise ValueError("t = inf: the limit does not exist for this saddle trajectory (an undamped zero mode); "
                             "evaluate at a finite time")
        phi_r = np.where(inf[:, None] & zero_r[None, :], 0.0, phi_r)
    r = len(f.mu_s)
    j = np.concatenate([
        f.ninv[None] * g[:, None, :],
        np.sqrt(phi_s)[:, :, None] * np.eye(r)[None],
        np.sqrt(phi_r)[:, :, None] * zh,
    ], axis=1)
    y = f.o_s[None] * top[:, None, :] + f.o_r[None] @ z
    return y, j


def qqt_from_p0(p0: np.ndarray | None, sigma_yx: np.ndarray, lam: float, t, *, chunk: int = TIME_CHUNK,
                on_singular: str = "raise", l0: np.ndarray | None = None) -> np.ndarray:
    """``QQ^T(t)`` of a lambda-balanced network from its initial ``QQ^T`` ``p0 (n, n)`` (spec 2.3a).

    The solution of the Riccati equation (spec 2.1) depends on the weights only through ``p0``; this is the
    numerically stable "dominant block" form (all exponents <= 0, so finite for any t, including
    ``t = inf``). Use it to restart the closed form at task switches (balance is conserved, spec 1.2).
    ``sigma_yx (No, Ni)``, ``t`` scalar or ``(T,)`` (times in units of tau, ``inf`` allowed); returns
    ``(T, n, n)``. ``on_singular``: see :func:`stable_factors`. Pass a factor ``l0 (n, k)``, ``p0 = l0 l0^T``
    (e.g. ``evaluate(..., factor=True)`` of the previous phase), instead of ``p0`` (None) for exact rank.
    """
    t = as_time(t, allow_inf=True)
    f = stable_factors(p0, sigma_yx, lam, l0=l0, on_singular=on_singular)
    return evaluate(f, t, chunk=chunk)


#: Quantities :func:`evaluate` computes (the same names as :func:`learndyn.exact.evaluate`).
WHAT = ("qqt", "network_function", "loss")


def evaluate(f: StableFactors, t, chunk: int = TIME_CHUNK, factor: bool = False, *, what: str = "qqt",
             l_star: float = 0.0) -> np.ndarray:
    """Evaluate precomputed :class:`StableFactors` (:func:`factors`, :func:`stable_factors`) at times ``t``
    (spec 2.3a: ``QQ^T = Y Omega^{-1} Y^T``, ``Omega = J^T J = R^T R``, all exponents <= 0).

    ``t`` scalar or ``(T,)`` times in units of tau; ``t = inf`` is the limit ``t -> infinity`` (spec 2.5).
    ``what`` (one of :data:`WHAT`):

    * ``"qqt"``: ``QQ^T (T, n, n)``, ``n = Ni + No``; with ``factor=True`` instead a factor ``B (T, n, r)``
      with ``QQ^T = B B^T`` (exact rank, for restarting the closed form at a task switch via
      ``qqt_from_p0(..., l0=B[-1])``);
    * ``"network_function"``: ``W2 W1 = X[:, Ni:]^T X[:, :Ni] (T, No, Ni)`` with ``X = R^{-T} Y^T``, the
      bottom-left quadrant of ``QQ^T = X^T X`` (spec 2.4) without forming ``QQ^T``;
    * ``"loss"``: ``L = 1/2 ||W2 W1 - sigma_yx||_F^2 + l_star (T,)`` (spec 1.1 of ``exact-dynamics.md``,
      whitened inputs); ``l_star = L*`` (:func:`learndyn.tasks.optimal_loss`; 0 gives ``L - L*``).

    ``chunk``: time points per batched block. ``what`` is keyword-only here and in :func:`learndyn.exact.evaluate`.
    """
    if what not in WHAT:
        raise ValueError(f"what must be one of {WHAT}, got {what!r}")
    if factor and what != "qqt":
        raise ValueError("factor=True returns a factor of QQ^T: only with what='qqt'")
    if what == "loss" and f.sigma_yx is None:
        raise ValueError("these StableFactors carry no task (sigma_yx): build them with stable_factors/factors")
    t = as_time(t, allow_inf=True)
    n = f.ni + f.no
    if what == "qqt":
        out = np.empty((len(t), n, len(f.mu_s) if factor else n))
    elif what == "network_function":
        out = np.empty((len(t), f.no, f.ni))
    else:
        out = np.empty(len(t))
    for sl in chunks(len(t), chunk):
        y, j = _stable_parts(f, t[sl])
        rr = np.linalg.qr(j, mode="r")                                       # Omega = R^T R
        x = np.linalg.solve(np.swapaxes(rr, 1, 2), np.swapaxes(y, 1, 2))    # R^{-T} Y^T
        if what == "qqt":
            out[sl] = np.swapaxes(x, 1, 2) if factor else np.swapaxes(x, 1, 2) @ x
            continue
        w = np.swapaxes(x[:, :, f.ni:], 1, 2) @ x[:, :, :f.ni]              # W2 W1 (T, No, Ni)
        if what == "network_function":
            out[sl] = w
        else:
            out[sl] = 0.5 * np.sum((w - f.sigma_yx[None]) ** 2, axis=(1, 2))
    return out + l_star if what == "loss" else out


def qqt(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t, lam: float | None = None, *,
        chunk: int = TIME_CHUNK, on_singular: str = "raise") -> np.ndarray:
    """``QQ^T(t)`` of a lambda-balanced two-layer linear network (spec 2.3a; the role of paper C's Theorem 4.3,
    whose printed form was not available, spec 6): ``evaluate(factors(w1, w2, sigma_yx, lam), t)``.

    Any widths ``(Ni, Nh, No)`` allowed by spec 1.2 and any lambda; equals paper A's
    :func:`learndyn.exact.qqt` at lambda = 0 (spec 2.3c). ``w1 (Nh, Ni)``, ``w2 (No, Nh)`` initial weights,
    ``sigma_yx (No, Ni)`` task of whitened data, ``t`` scalar or ``(T,)`` times in units of tau
    (``inf`` = the limit). ``lam``: read off the weights (:func:`lambda_of`) if None. Returns ``(T, n, n)``.
    Raises :class:`learndyn.exact.SingularBError` when the flow ends on a saddle and
    ``on_singular="raise"`` (see :func:`stable_factors`).
    """
    return evaluate(factors(w1, w2, sigma_yx, lam, on_singular=on_singular), as_time(t, allow_inf=True), chunk=chunk)


def network_function(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, t, lam: float | None = None, *,
                     chunk: int = TIME_CHUNK, on_singular: str = "raise") -> np.ndarray:
    """Network function ``W2 W1(t)`` of a lambda-balanced network, the bottom-left quadrant of ``QQ^T`` (spec
    2.3a, 2.4): ``evaluate(factors(w1, w2, sigma_yx, lam), t, what="network_function")``. Arguments and errors
    as :func:`qqt`; returns ``(T, No, Ni)``."""
    f = factors(w1, w2, sigma_yx, lam, on_singular=on_singular)
    return evaluate(f, t, chunk=chunk, what="network_function")


def loss(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, sigma_yy: np.ndarray, t, lam: float | None = None,
         *, chunk: int = TIME_CHUNK, on_singular: str = "raise") -> np.ndarray:
    """Loss ``L(W(t)) = 1/2 ||W2 W1(t) - sigma_yx||_F^2 + L*`` of a lambda-balanced network (spec 2.3a;
    loss of ``exact-dynamics.md`` 1.1, whitened inputs, ``L* = 1/2 tr sigma_yy - 1/2 ||sigma_yx||_F^2``):
    ``evaluate(factors(...), t, what="loss", l_star=L*)``. ``sigma_yy (No, No)``; other arguments and errors
    as :func:`qqt`; returns ``(T,)``."""
    f = factors(w1, w2, sigma_yx, lam, on_singular=on_singular)
    return evaluate(f, t, chunk=chunk, what="loss", l_star=optimal_loss(sigma_yx, sigma_yy))


def factors(w1: np.ndarray, w2: np.ndarray, sigma_yx: np.ndarray, lam: float | None = None, *,
            on_singular: str = "raise") -> StableFactors:
    """:class:`StableFactors` of initial weights ``w1 (Nh, Ni)``, ``w2 (No, Nh)`` and task ``sigma_yx (No, Ni)``
    (spec 2.3a), computed once per network to evaluate repeatedly with :func:`evaluate`. ``lam``: read off the
    weights (:func:`lambda_of`) if None; ``on_singular``: see :func:`stable_factors`."""
    w1 = np.asarray(w1, dtype=float)
    w2 = np.asarray(w2, dtype=float)
    _check_shapes(w1, w2, sigma_yx)
    if lam is None:
        lam = lambda_of(w1, w2)
    q = np.concatenate([w1.T, w2], axis=0)
    return stable_factors(q @ q.T, sigma_yx, lam, l0=q, on_singular=on_singular)


def _check_shapes(w1, w2, sigma_yx) -> None:
    nh, ni = w1.shape
    no = w2.shape[0]
    if w2.shape[1] != nh or np.shape(sigma_yx) != (no, ni):
        raise ValueError(f"shape mismatch: W1 {w1.shape}, W2 {w2.shape}, sigma_yx {np.shape(sigma_yx)}; "
                         "need W1 (Nh, Ni), W2 (No, Nh), sigma_yx (No, Ni)")


def qqt_direct(p0: np.ndarray, sigma_yx: np.ndarray, lam: float, t) -> np.ndarray:
    """General closed form ``QQ^T(t) = e^{Ft} (I + P0 G(t))^{-1} P0 e^{Ft}``, ``G = int_0^t e^{2Fs} ds``
    (spec 2.2; Fukumizu's form generalised). Valid for any initial ``p0 (n, n)`` including saddle cases, but
    it loses accuracy once ``(mu_max - mu_min) t >~ 30`` and overflows near ``mu_max t ~ 350``: a reference
    for short times. Returns ``(T, n, n)``.
    """
    t = as_time(t, allow_inf=True)
    mu, o = f_eig(sigma_yx, lam)
    ph = o.T @ np.asarray(p0, dtype=float) @ o
    e = np.exp(mu[None, :] * t[:, None])                                   # (T, n)
    safe = np.where(mu != 0, mu, 1.0)
    g = np.where(mu[None, :] != 0, np.expm1(2 * safe[None, :] * t[:, None]) / (2 * safe[None, :]), t[:, None])
    n = len(mu)
    inner = np.eye(n)[None] + ph[None] * g[:, None, :]                     # I + P G
    core = np.linalg.solve(inner, np.broadcast_to(ph, (len(t), n, n)))
    out = o[None] @ (e[:, :, None] * core * e[:, None, :]) @ o.T[None]
    return 0.5 * (out + np.swapaxes(out, 1, 2))


# --------------------------------------------------------------------------- 2.4-2.6 read-outs and limits
def readouts(qqt: np.ndarray, ni: int) -> dict[str, np.ndarray]:
    """Quadrants of ``QQ^T`` (spec 2.4): ``W1tW1``, ``W2W1`` (network function), ``W2W2t``
    (:func:`learndyn.metrics.split_qqt`)."""
    return _metrics.split_qqt(qqt, ni)


def limit(sigma_yx: np.ndarray, lam: float) -> np.ndarray:
    """Task-determined part of ``QQ^T(inf)`` (spec 2.5): ``W2W1 -> sigma_yx``,
    ``W1^T W1 -> V~ diag(K - lam/2) V~^T``, ``W2 W2^T -> U~ diag(K + lam/2) U~^T`` (compact SVD of the task,
    ``K = sqrt(s~^2 + lam^2/4)``). For ``Nh > min(Ni, No)`` and lambda != 0 the full limit adds ``|lam|`` on
    ``Nh - min(Ni, No)`` init-dependent directions of ``span V~_perp`` (lam < 0) or ``span U~_perp`` (lam > 0):
    use :func:`qqt` with ``t = inf`` for those. At lam = 0 this is paper A's :func:`learndyn.exact.limit`.
    Returns ``(n, n)``.
    """
    s = np.asarray(sigma_yx, dtype=float)
    no, ni = s.shape
    u, st, vh = np.linalg.svd(s, full_matrices=False)
    k, c, d = mode_constants(st, lam)
    # K -+ lam/2 = 2 K c^2, 2 K d^2 (no cancellation)
    v = vh.T
    top = (v * (2 * k * c * c)) @ v.T
    bot = (u * (2 * k * d * d)) @ u.T
    return np.block([[top, s.T], [s, bot]])


def ntk(qqt: np.ndarray, ni: int, x: np.ndarray) -> np.ndarray:
    """Exact NTK on the training inputs from ``QQ^T`` (spec 2.4): ``I_No (x) X^T W1^T W1 X + W2W2^T (x) X^T X``
    (:func:`learndyn.metrics.ntk`, output-major). ``qqt (..., n, n)``, ``x (Ni, P)``; returns ``(..., No P, No P)``."""
    q = _metrics.split_qqt(qqt, ni)
    return _metrics.ntk(q["W1tW1"], q["W2W2t"], x)


def ntk_jacobian(w1: np.ndarray, w2: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Reference NTK ``J J^T`` from the explicit parameter Jacobian of ``vec(W2 W1 X)`` (spec 2.4, check 9):
    ``d yhat_on / d W2_o'h = delta_oo' (W1 X)_hn``, ``d yhat_on / d W1_hi = W2_oh X_in``; rows ordered
    ``o P + n`` like :func:`learndyn.metrics.ntk`. ``w1 (Nh, Ni)``, ``w2 (No, Nh)``, ``x (Ni, P)``; returns
    ``(No P, No P)``."""
    nh, ni = w1.shape
    no, p = w2.shape[0], x.shape[1]
    j1 = np.einsum("oh,in->onhi", w2, x).reshape(no * p, nh * ni)
    j2 = np.einsum("oq,hn->onqh", np.eye(no), w1 @ x).reshape(no * p, no * nh)
    return j1 @ j1.T + j2 @ j2.T


def _ntk_parts(q: np.ndarray, ni: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A = X^T W1^T W1 X (..., P, P)`` and ``B = W2 W2^T (..., No, No)`` with ``Theta = I (x) A + B (x) C``."""
    parts = _metrics.split_qqt(q, ni)
    return x.T @ parts["W1tW1"] @ x, parts["W2W2t"]


def _ntk_frob2(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``|I (x) A + B (x) C|_F^2 = No |A|^2 + 2 tr(B) <A, C> + |B|^2 |C|^2`` (spec 2.4 structure)."""
    no = b.shape[-1]
    ip = lambda p, q: np.sum(p * q, axis=(-2, -1))  # noqa: E731
    return no * ip(a, a) + 2 * np.trace(b, axis1=-2, axis2=-1) * ip(a, c) + ip(b, b) * ip(c, c)


def ntk_norm(q: np.ndarray, ni: int, x: np.ndarray) -> np.ndarray:
    """Frobenius norm of the NTK (spec 2.4) without forming it. ``q (..., n, n)``, ``x (Ni, P)``; returns ``(...)``."""
    a, b = _ntk_parts(q, ni, x)
    return np.sqrt(_ntk_frob2(a, b, x.T @ x))


def ntk_change(qa: np.ndarray, qb: np.ndarray, ni: int, x: np.ndarray) -> np.ndarray:
    """Relative NTK change ``|Theta_b - Theta_a|_F / |Theta_a|_F`` (spec 2.6), from differences (accurate when
    tiny). ``qa, qb (..., n, n)`` broadcast; returns ``(...)``."""
    aa, ba = _ntk_parts(qa, ni, x)
    ab, bb = _ntk_parts(qb, ni, x)
    c = x.T @ x
    return np.sqrt(_ntk_frob2(ab - aa, bb - ba, c) / _ntk_frob2(aa, ba, c))


def kernel_distance(qa: np.ndarray, qb: np.ndarray, ni: int, x: np.ndarray) -> np.ndarray:
    """NTK kernel distance ``S = 1 - <Theta_a, Theta_b> / (|Theta_a| |Theta_b|)`` (spec 2.6, Fort et al. 2020).

    Evaluated as ``S = |Theta_a/|Theta_a| - Theta_b/|Theta_b||_F^2 / 2`` from the kernels' Kronecker structure
    (never forming the ``No P x No P`` matrices), which stays accurate when ``S`` is tiny (lazy regime).
    ``qa, qb (..., n, n)`` ``QQ^T`` matrices (broadcast), ``x (Ni, P)``; returns ``(...)`` in ``[0, 1]``:
    0 = the kernel only rescaled (lazy), large = the kernel rotated (rich).
    """
    aa, ba = _ntk_parts(qa, ni, x)
    ab, bb = _ntk_parts(qb, ni, x)
    c = x.T @ x
    na = np.sqrt(_ntk_frob2(aa, ba, c))[..., None, None]
    nb = np.sqrt(_ntk_frob2(ab, bb, c))[..., None, None]
    return 0.5 * _ntk_frob2(aa / na - ab / nb, ba / na - bb / nb, c)


def shallow_limit(w0: np.ndarray, sigma_yx: np.ndarray, lam: float, t) -> np.ndarray:
    """Large-|lambda| law ``W2W1(t) ~ sigma_yx + (W(0) - sigma_yx) exp(-|lam| t)`` (spec 2.5, equal dims):
    linear regression with a learning rate scaled by |lambda|. ``w0 (No, Ni)``; returns ``(T, No, Ni)``."""
    t = as_time(t, allow_inf=True)
    e = _decay(np.full(1, -abs(lam)), t[:, None])[:, 0]
    return sigma_yx[None] + (np.asarray(w0) - sigma_yx)[None] * e[:, None, None]


# --------------------------------------------------------------------------- 2.7 single aligned mode
def mode_strength(a0, s, lam, t) -> np.ndarray:
    """Strength ``a(t)`` of one task-aligned mode, ``tau da/dt = sqrt(lam^2 + 4 a^2) (s - a)`` (spec 2.7).

    Closed form via ``w = 2a + sqrt(lam^2 + 4a^2)``: ``K = sqrt(lam^2 + 4 s^2)``, ``w_pm = 2 s +- K``,
    ``w(t) = [w_+ (w0 - w_-) - w_- (w0 - w_+) e^{-Kt}] / [(w0 - w_-) - (w0 - w_+) e^{-Kt}]``,
    ``a = (w - lam^2 / w) / 4``; for lambda = 0 and ``a0 < 0`` (anti-aligned, ``w0 = 0``)
    ``a(t) = -s b0 e^{-2st} / (s + b0 (1 - e^{-2st}))``, ``b0 = -a0`` (the saddle).
    ``a0, s, lam`` broadcast to a shape ``B`` (``s > 0``), ``t (T,)``; returns ``B + (T,)``.
    """
    a0, s, lam = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a0, s, lam)))
    t = as_time(t, allow_inf=True)
    a0_, s_, l_ = a0[..., None], s[..., None], lam[..., None]
    k = np.sqrt(l_ * l_ + 4 * s_ * s_)
    wp, wm = 2 * s_ + k, 2 * s_ - k
    # w_- = -lam^2 / w_+ without cancellation; w0 = lam^2 / (sqrt(lam^2 + 4 a0^2) - 2 a0) when a0 < 0
    wm = np.where(l_ == 0, 0.0, -(l_ * l_) / wp)
    root0 = np.sqrt(l_ * l_ + 4 * a0_ * a0_)
    w0 = np.where(a0_ >= 0, 2 * a0_ + root0,
                  np.divide(l_ * l_, root0 - 2 * a0_, out=np.zeros_like(root0), where=root0 - 2 * a0_ > 0))
    e = np.exp(-k * t)
    num = wp * (w0 - wm) - wm * (w0 - wp) * e
    den = (w0 - wm) - (w0 - wp) * e
    with np.errstate(divide="ignore", invalid="ignore"):
        w = num / den
        a = 0.25 * (w - l_ * l_ / w)
    e2 = np.exp(-2 * s_ * t)
    b0 = -a0_
    anti = -s_ * b0 * e2 / (s_ + b0 * (1 - e2))
    return np.where((l_ == 0) & (a0_ < 0), anti, np.where((l_ == 0) & (a0_ == 0), 0.0, a))


def mode_layers(a, lam) -> tuple[np.ndarray, np.ndarray]:
    """First- and second-layer strengths ``(c, d)`` of a mode of strength ``a`` (spec 2.7):
    ``c^2 = (sqrt(lam^2+4a^2) - lam)/2``, ``d^2 = (sqrt(lam^2+4a^2) + lam)/2``, ``c d = a`` (sign in ``c``)."""
    a = np.asarray(a, dtype=float)
    lam = np.asarray(lam, dtype=float)
    root = np.sqrt(lam * lam + 4 * a * a)
    d = np.sqrt(0.5 * (root + lam))
    c = np.sign(a) * np.sqrt(np.maximum(0.5 * (root - lam), 0.0))
    return c, d


def mode_rate(a, s, lam) -> np.ndarray:
    """``tau da/dt = sqrt(lam^2 + 4 a^2) (s - a)`` (spec 2.7), broadcast."""
    a = np.asarray(a, dtype=float)
    return np.sqrt(np.asarray(lam) ** 2 + 4 * a * a) * (np.asarray(s) - a)


def mode_time(a0, a_star, s, lam) -> np.ndarray:
    """Time (units of tau) for a mode to go from ``a0`` to ``a_star`` (spec 2.7):
    ``t* = (1/K) ln[(w0 - w_+)(w* - w_-) / ((w0 - w_-)(w* - w_+))]``, ``w = 2a + sqrt(lam^2 + 4a^2)``.
    Broadcast; ``inf`` when unreachable (``a_star`` beyond ``s`` or the lambda = 0 saddle)."""
    a0, a_star, s, lam = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a0, a_star, s, lam)))
    k = np.sqrt(lam * lam + 4 * s * s)
    wp = 2 * s + k
    wm = np.where(lam == 0, 0.0, -(lam * lam) / wp)
    def wfun(a):
        root = np.sqrt(lam * lam + 4 * a * a)
        den = root - 2 * a
        return np.where(a >= 0, 2 * a + root,
                        np.divide(lam * lam, den, out=np.zeros_like(den), where=(a < 0) & (den > 0)))

    w0, ws = wfun(a0), wfun(a_star)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (w0 - wp) * (ws - wm) / ((w0 - wm) * (ws - wp))
        out = np.log(ratio) / k
    ok = (ratio > 0) & np.isfinite(ratio) & (w0 > 0)
    return np.where(ok, out, np.inf)


def sigmoid_threshold(s) -> np.ndarray:
    """``|lambda|`` above which a mode from small ``a0`` learns without an accelerating (sigmoidal) phase:
    ``s / sqrt(2)`` (spec 2.7)."""
    return np.asarray(s, dtype=float) / np.sqrt(2.0)


def has_accelerating_phase(a0, s, lam) -> np.ndarray:
    """Whether the trajectory from ``a0`` towards ``s`` has an accelerating (sigmoidal) segment (spec 2.7):
    ``d/da[sqrt(lam^2+4a^2)(s-a)] = (4as - 8a^2 - lam^2)/sqrt(lam^2+4a^2) > 0`` somewhere on ``(a0, s)``,
    i.e. ``|lam| < s/sqrt(2)`` and ``a0 < (s + sqrt(s^2 - 2 lam^2)) / 4``. Broadcast; returns bool."""
    a0, s, lam = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a0, s, lam)))
    disc = s * s - 2 * lam * lam
    a_hi = 0.25 * (s + np.sqrt(np.maximum(disc, 0.0)))
    return (disc > 0) & (a0 < a_hi)


# --------------------------------------------------------------------------- tasks used by paper C
def standard_regression(ni: int, no: int, n: int, rng: np.random.Generator):
    """Random regression of the authors' code (spec 1.1 [C]): ``X`` whitened (``X X^T / n = I``), ``Y`` i.i.d.
    standard normal. Built on :func:`learndyn.tasks.random_regression` (whose ``Y ~ N(0, 1/No)`` is rescaled
    by ``sqrt(No)``). Returns a :class:`learndyn.tasks.Task`."""
    from . import tasks as _tasks
    base = _tasks.random_regression(ni, no, n, rng)
    return _tasks.Task(base.x, base.y * np.sqrt(no))
