"""Where paper B's two-point dynamics end: the conserved relation and the 2-D reduction (Eq. 23-25), the
fixed points and the final representational distance with its lazy and rich limits (Eq. 10-13, 26-36), the
exact solution for identical targets (Eq. 37-40), the lazy-limit rescaling (Eq. 41-43) and the distribution
of the final distance under random initial weights (Eq. 44-48).

Part of :mod:`learndyn.effective` (its docstring states the conventions: ``h, y, w``, ``dx2, dy2``, time in
epochs, states with last axis ``(h, y, w)``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ._checks import nonnegative, numeric, positive, state_array
from .ode import three_variable_rhs

__all__ = [
    "conserved_quantity", "output_distance_on_invariant", "reduced_rhs", "final_distance_coefficients",
    "final_representational_distance", "lazy_limit_distance", "rich_limit_distance",
    "stable_fixed_point_jacobian", "saddle_directions", "identical_output_solution", "lazy_rescaled_parameters",
    "lazy_parameter_from_final_distance", "final_distance_cdf", "final_distance_density",
]


# --------------------------------------------------------------------------------------
# conserved relation and the 2-D reduction (Eq. 23-25)


def _k(eta_h, eta_y, dx2):
    return eta_y / (eta_h * dx2)


def conserved_quantity(h, y, eta_h, eta_y, dx2):
    """The invariant ``y/h − (η_y / (η_h dx2)) h`` of the 3-D system (paper B Eq. 23-24).

    Constant along solutions of Eq. 7 / 21. ``h`` (> 0), ``y``: ``(...)`` (e.g. a
    trajectory ``(T,)``); parameters broadcast. Returns ``(...)``.
    """
    h = positive("h", h)
    y = numeric("y", y)
    eh = numeric("eta_h", eta_h)
    if np.any(eh == 0):
        raise ValueError("eta_h must be non-zero")
    return y / h - _k(eh, numeric("eta_y", eta_y), positive("dx2", dx2)) * h


def output_distance_on_invariant(h, h0, y0, eta_h, eta_y, dx2):
    """``Y(h) = h [y₀/h₀ + (η_y/(η_h dx2))(h − h₀)] = k h² + C h`` (paper B Eq. 24).

    ``k = η_y/(η_h dx2)``, ``C = y₀/h₀ − k h₀``. All arguments broadcast; returns ``(...)``.
    """
    h = numeric("h", h)
    h0 = positive("h0", h0)
    y0 = numeric("y0", y0)
    eh = numeric("eta_h", eta_h)
    if np.any(eh == 0):
        raise ValueError("eta_h must be non-zero")
    k = _k(eh, numeric("eta_y", eta_y), positive("dx2", dx2))
    return h * (y0 / h0 + k * (h - h0))


def reduced_rhs(z, h0, y0, eta_h, eta_y, dx2, dy2):
    """Right-hand side of the 2-D system (paper B Eq. 25) on the invariant ``y = Y(h)``.

    ::

        dh/dt = − η_h dx2 w
        dw/dt = − ½ η_y h (3w − Y(h) + dy2) − ½ η_h dx2 w (Y(h) + w) / h

    ``z``: ``(..., 2)`` states ``(h, w)``; ``h0, y0`` fix the invariant; parameters
    broadcast to ``z.shape[:-1]``. Returns ``(..., 2)``.
    """
    z = state_array(z, size=2)
    h, w = z[..., 0], z[..., 1]
    Y = output_distance_on_invariant(h, h0, y0, eta_h, eta_y, dx2)
    full = three_variable_rhs(np.stack(np.broadcast_arrays(h, Y, w), axis=-1),
                              eta_h, eta_y, dx2, dy2)
    return full[..., [0, 2]]


# --------------------------------------------------------------------------------------
# fixed points and the final distance (Eq. 10-13, 26-36)


def final_distance_coefficients(h0, y0, eta_h, eta_y, dx2, dy2):
    """Coefficients ``(A, B)`` of the final distance, paper B Eq. 11 / 28.

    ::

        A = h₀ − (η_h/η_y) dx2 y₀/h₀,       B = √(η_h/η_y) |Δx| |Δy|  (B² = (η_h/η_y) dx2 dy2)

    ``h0`` > 0, ``y0`` >= 0, ``eta_h, eta_y`` > 0, ``dx2`` >= 0, ``dy2`` >= 0; all
    broadcast. Returns ``(A, B)`` of the broadcast shape.
    """
    h0 = positive("h0", h0)
    y0 = nonnegative("y0", y0)
    r = positive("eta_h", eta_h) / positive("eta_y", eta_y)
    dx2 = nonnegative("dx2", dx2)
    dy2 = nonnegative("dy2", dy2)
    A = h0 - r * dx2 * y0 / h0
    B = np.sqrt(r * dx2 * dy2)
    A, B = np.broadcast_arrays(A, B)
    return A.copy(), B.copy()


def _h_plus(A, B):
    # h_+ = A/2 + sqrt(A²/4 + B²), written without cancellation when A < 0.
    root = np.hypot(0.5 * A, B)
    with np.errstate(divide="ignore", invalid="ignore"):
        neg = np.where(root - 0.5 * A > 0, B * B / (root - 0.5 * A), 0.0)
    return np.where(A >= 0, 0.5 * A + root, neg)


def final_representational_distance(h0, y0, eta_h, eta_y, dx2, dy2):
    """Final squared representational distance ``h(∞) = h_+``, paper B Eq. 10 / 36.

    ``h_+ = A/2 + √(A²/4 + B²)`` with ``A, B`` from :func:`final_distance_coefficients`
    (Eq. 11 / 28): the only stable fixed point of Eq. 7 / 21 (``h_-`` < 0 is invalid,
    ``h = 0`` is a saddle). Evaluated without cancellation for ``A < 0``. Only the ratio
    ``η_h/η_y`` enters. Arguments broadcast; returns ``(...)``.
    """
    A, B = final_distance_coefficients(h0, y0, eta_h, eta_y, dx2, dy2)
    return _h_plus(A, B)


def lazy_limit_distance(h0, y0, eta_h, eta_y, dx2):
    """Large-initial-weight limit of the final distance, paper B Eq. 12.

    For ``A² ≫ B²`` and ``A > 0``: ``h(∞) → A = h₀ − (η_h/η_y) dx2 y₀/h₀`` (input
    structure plus random initialisation). Returns ``max(A, 0)``: for ``A < 0``,
    ``|A| ≫ B`` the exact value ``≈ B²/|A|`` also tends to 0. Arguments broadcast.
    """
    A, _ = final_distance_coefficients(h0, y0, eta_h, eta_y, dx2, 0.0)
    return np.maximum(A, 0.0)


def rich_limit_distance(eta_h, eta_y, dx2, dy2):
    """Small-initial-weight limit of the final distance, paper B Eq. 13.

    For ``A² ≪ B²``: ``h(∞) → B = √(η_h/η_y) |Δx| |Δy|`` (input and output structure,
    independent of the initialisation). Arguments broadcast; returns ``(...)``.
    """
    r = positive("eta_h", eta_h) / positive("eta_y", eta_y)
    return np.sqrt(r * nonnegative("dx2", dx2) * nonnegative("dy2", dy2))


def stable_fixed_point_jacobian(h0, y0, eta_h, eta_y, dx2, dy2):
    """Jacobian of the 2-D system (Eq. 25) at its stable fixed point ``(h_+, 0)``, Eq. 29-31.

    ::

        J = [[0, −η_h dx2], [½ η_y h_+ Y'(h_+), −(3/2) η_y h_+ − ½ η_h dx2 dy2 / h_+]]
        Y'(h_+) = k √(A² + 4B²),  tr J = −(3/2) η_y h_+ − ½ η_h dx2 dy2/h_+ < 0,
        det J = ½ η_y² h_+ √(A² + 4B²) > 0

    Scalar or broadcastable inputs (``dy2 > 0`` so that ``h_+ > 0``). Returns
    ``(J, trace, det)`` with shapes ``(..., 2, 2)``, ``(...)``, ``(...)``.
    """
    A, B = final_distance_coefficients(h0, y0, eta_h, eta_y, dx2, dy2)
    hp = _h_plus(A, B)
    if np.any(hp <= 0):
        raise ValueError("h_+ must be > 0 (needs dy2 > 0 or A > 0)")
    eh, ey = numeric("eta_h", eta_h), numeric("eta_y", eta_y)
    dx2, dy2 = numeric("dx2", dx2), numeric("dy2", dy2)
    p = eh * dx2
    sq = np.sqrt(A * A + 4.0 * B * B)
    yprime = _k(eh, ey, dx2) * sq
    shape = np.broadcast_shapes(hp.shape, np.shape(p), np.shape(ey), np.shape(dy2))
    J = np.zeros(shape + (2, 2))
    J[..., 0, 1] = -p
    J[..., 1, 0] = 0.5 * ey * hp * yprime
    J[..., 1, 1] = -1.5 * ey * hp - 0.5 * p * dy2 / hp
    trace = -1.5 * ey * hp - 0.5 * p * dy2 / hp
    det = 0.5 * ey**2 * hp * sq
    return J, np.broadcast_to(trace, shape).copy(), np.broadcast_to(det, shape).copy()


def saddle_directions(h0, y0, eta_h, eta_y, dx2, dy2):
    """Approach directions and eigenvalues of the saddle at ``h = 0`` (paper B Eq. 32-35).

    Along ``w = c h`` the linearisation has eigenvector ``(1, c)`` iff
    ``η_h dx2 c² − η_h dx2 C c − η_y dy2 = 0``::

        c_± = C/2 ± √(C²/4 + η_y dy2/(η_h dx2)),   λ_± = −η_h dx2 c_±,
        C = y₀/h₀ − (η_y/(η_h dx2)) h₀

    (``c₊ c₋ < 0`` for ``dy2 > 0``: one stable and one unstable direction.) Arguments
    broadcast. Returns ``(c_plus, c_minus, lambda_plus, lambda_minus)``.
    """
    h0 = positive("h0", h0)
    y0 = nonnegative("y0", y0)
    eh, ey = positive("eta_h", eta_h), positive("eta_y", eta_y)
    dx2, dy2 = positive("dx2", dx2), nonnegative("dy2", dy2)
    k = _k(eh, ey, dx2)
    C = y0 / h0 - k * h0
    root = np.sqrt(0.25 * C * C + ey * dy2 / (eh * dx2))
    cp, cm = 0.5 * C + root, 0.5 * C - root
    return cp, cm, -eh * dx2 * cp, -eh * dx2 * cm


# --------------------------------------------------------------------------------------
# identical outputs (Eq. 37-40)


def identical_output_solution(t, h0, y0, eta_h, eta_y, dx2):
    """Exact solution for identical targets (``dy2 = 0``), paper B Eq. 37-40.

    With ``dy2 = 0`` and ``w ≡ y`` (Eq. 37) the distance obeys the Bernoulli/logistic
    equation ``dh/dt = η_y h (A − h)`` (Eq. 38), solved by (Eq. 39)::

        h(t) = A h₀ / (h₀ + (A − h₀) e^{−η_y A t})

    (evaluated in a form that stays exact for ``A → 0``, where ``h = h₀/(1 + η_y h₀ t)``),
    and ``y(t) = w(t) = h(t)[y₀/h₀ + (η_y/(η_h dx2))(h(t) − h₀)]`` (Eq. 40, i.e. Eq. 24).
    ``h(∞) = max(A, 0)``.

    ``t``: ``(T,)`` (>= 0); other arguments scalars (or broadcastable with ``t``).
    Returns ``(h, y, w)``, each of the broadcast shape.
    """
    t = nonnegative("t", t)
    h0 = positive("h0", h0)
    y0 = nonnegative("y0", y0)
    eh, ey = positive("eta_h", eta_h), positive("eta_y", eta_y)
    dx2 = positive("dx2", dx2)
    A = h0 - (eh / ey) * dx2 * y0 / h0
    u = ey * A * t
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # (1 − e^{−u})/u, continuous at u = 0
        phi = np.where(u == 0, 1.0, -np.expm1(-u) / np.where(u == 0, 1.0, u))
        denom = np.exp(-u) + h0 * ey * t * phi
        h = np.where(np.isinf(denom), 0.0, h0 / denom)
    y = output_distance_on_invariant(h, h0, y0, eh, ey, dx2)
    h, y = np.broadcast_arrays(h, y)
    return h.copy(), y.copy(), y.copy()


# --------------------------------------------------------------------------------------
# lazy-limit rescaling (Eq. 41-43)


def lazy_rescaled_parameters(lam, eta_h, eta_y, dy2, a=1.0, b=1.0):
    """Rescaled rates and target distance of the lazy-limit substitution, Eq. 41-43.

    Initial values growing as ``h ∝ λ^a, (y, w) ∝ λ^b`` (Eq. 41; spec default a = b = 1)
    and ``h = λ^a h̃, (y, w) = λ^b (ỹ, w̃)`` (Eq. 42) give the same 3-D system for
    ``(h̃, ỹ, w̃)`` with (Eq. 43)::

        η̃_h = λ^{b−a} η_h,   η̃_y = λ^a η_y,   d̃y2 = dy2 / λ^b

    so ``d̃y2 → 0`` as ``λ → ∞``: the identical-output dynamics (Eq. 37-40).
    ``lam`` > 0; arguments broadcast. Returns ``(eta_h_tilde, eta_y_tilde, dy2_tilde)``.
    """
    lam = positive("lam", lam)
    a, b = numeric("a", a), numeric("b", b)
    return (lam ** (b - a) * numeric("eta_h", eta_h), lam**a * numeric("eta_y", eta_y),
            nonnegative("dy2", dy2) / lam**b)


# --------------------------------------------------------------------------------------
# random-feature distribution (Eq. 44-48)


def lazy_parameter_from_final_distance(h_plus, B):
    """Inverse of ``A ↦ h_+``: ``A = h_+ − B²/h_+`` for ``h_+ > 0`` (paper B Eq. 44).

    ``A ↦ A/2 + √(A²/4 + B²)`` is an increasing bijection ℝ → (0, ∞) for ``B > 0``.
    Arguments broadcast; returns ``(...)``.
    """
    hp = positive("h_plus", h_plus)
    B = nonnegative("B", B)
    return hp - B * B / hp


def _rf_check(s, B, mu, kappa, sigma):
    s = numeric("s", s)
    B = positive("B", B)
    mu = numeric("mu", mu)
    kappa = positive("kappa", kappa)
    sigma = positive("sigma", sigma)
    return s, B, mu * sigma**2, kappa * sigma**2


def final_distance_cdf(s, B, mu, kappa, sigma):
    """CDF of the final distance ``h_+`` under a Gaussian initial ``A``, paper B Eq. 45-47.

    ``A ~ N(μσ², (κσ²)²)`` (Eq. 46, σ = initial gain); ``P(h_+ ≤ s) = P(A ≤ s − B²/s)``
    (Eq. 45). ``s``: ``(...)``; ``B``, ``kappa``, ``sigma`` > 0. Returns ``(...)``, 0 for
    ``s <= 0``.
    """
    s, B, m, sd = _rf_check(s, B, mu, kappa, sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (s - B * B / s - m) / sd
    return np.where(s > 0, ndtr(np.where(s > 0, z, 0.0)), 0.0)


def final_distance_density(s, B, mu, kappa, sigma):
    """Density of the final distance ``h_+`` (paper B Eq. 47-48)::

        p(s) = (1 + B²/s²) (2π κ² σ⁴)^{−1/2} exp(−(s − B²/s − μσ²)² / (2 κ² σ⁴)),  s > 0

    As σ → 0 it concentrates at ``s = B`` (structured), for large σ it follows ``A``
    (random features). ``s``: ``(...)``; returns ``(...)``, 0 for ``s <= 0``.
    """
    s, B, m, sd = _rf_check(s, B, mu, kappa, sigma)
    pos = s > 0
    sp_ = np.where(pos, s, 1.0)
    z = (sp_ - B * B / sp_ - m) / sd
    with np.errstate(under="ignore"):
        p = (1.0 + B * B / sp_**2) * np.exp(-0.5 * z * z) / (np.sqrt(2.0 * np.pi) * sd)
    return np.where(pos, p, 0.0)
