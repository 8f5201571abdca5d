"""Paper B's effective theory of two-point representation learning (NumPy/SciPy only).

van Rossem & Saxe, "When Representations Align: Universality in Representation
Learning Dynamics", ICML 2024.  Equation numbers refer to the paper as mapped by
the project spec (``docs/spec/universality.md``, sections 1-3); the paper text
lost its symbols, so every formula here follows the spec.

Conventions (spec, preamble):

* ``h = ||Δh||²`` (squared representational distance), ``y = ||Δŷ||²`` (squared
  output distance), ``w = Δŷ·(Δŷ − Δy)`` (alignment); never square-rooted.
* ``dx2 = ||Δx||²``, ``dy2 = ||Δy||²`` are the squared input / target distances.
* Time ``t`` is in epochs, so the effective rates ``eta_h, eta_y, eta_ymean``
  (``1/τ_h, 1/τ_y, 1/τ_ȳ``) are per epoch.
* A state is an array whose last axis is ``(h, y, w)``; leading axes index
  independent trajectories / parameter sets and broadcast against the rate and
  distance arguments.
* Eq. 21 is singular at ``h = 0``; :func:`solve_three_variable` therefore integrates
  an equivalent regular form by default (signed distance, see its docstring) and
  Eq. 21 as written on request; the fits use Eq. 21 as written, like the reference.

Contents:

* dynamics: :func:`scalar_variables`, :func:`alignment_bounds`,
  :func:`three_variable_rhs`, :func:`three_variable_jacobian`,
  :func:`solve_three_variable` (Eq. 7 / 8 / 20 / 21);
* mean output and loss: :func:`mean_output_error_squared`,
  :func:`mean_output_error_decay` (Eq. 18), :func:`effective_loss` (Eq. 9 / 22);
* conserved relation: :func:`conserved_quantity`,
  :func:`output_distance_on_invariant` (Eq. 23-24), :func:`reduced_rhs` (Eq. 25);
* fixed points: :func:`final_distance_coefficients` (Eq. 11 / 28),
  :func:`final_representational_distance` (Eq. 10 / 36),
  :func:`stable_fixed_point_jacobian` (Eq. 29-31), :func:`saddle_directions`
  (Eq. 32-35), :func:`lazy_limit_distance` (Eq. 12), :func:`rich_limit_distance`
  (Eq. 13), :func:`pairwise_final_distances` (Eq. 10 on distance matrices);
* identical outputs: :func:`identical_output_solution` (Eq. 37-40);
* lazy rescaling: :func:`lazy_rescaled_parameters` (Eq. 41-43);
* random features: :func:`lazy_parameter_from_final_distance` (Eq. 44),
  :func:`final_distance_cdf` (Eq. 45-47), :func:`final_distance_density` (Eq. 48);
* depth: :func:`initial_distance_at_depth` (Eq. 14),
  :func:`layer_gain_from_initial_distances`;
* exponential weighing: :func:`rich_limit_distance_matrix`,
  :func:`exponential_weighing`, :func:`exponential_weighing_by_class` (Eq. 50);
* fitting: :func:`effective_fit_loss`, :func:`fit_effective_rates` (Eq. 49),
  :func:`mean_output_fit_loss`, :func:`fit_mean_output_rate` (Eq. 22 / 49),
  :func:`average_effective_rates` (spec 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, Radau
from scipy.optimize import minimize
from scipy.special import ndtr

__all__ = [
    "IntegrationError",
    "FIT_MAX_NFEV",
    "PENALTY",
    "scalar_variables",
    "alignment_bounds",
    "mean_output_error_squared",
    "three_variable_rhs",
    "three_variable_jacobian",
    "solve_three_variable",
    "mean_output_error_decay",
    "effective_loss",
    "conserved_quantity",
    "output_distance_on_invariant",
    "reduced_rhs",
    "final_distance_coefficients",
    "final_representational_distance",
    "lazy_limit_distance",
    "rich_limit_distance",
    "pairwise_final_distances",
    "stable_fixed_point_jacobian",
    "saddle_directions",
    "identical_output_solution",
    "lazy_rescaled_parameters",
    "lazy_parameter_from_final_distance",
    "final_distance_cdf",
    "final_distance_density",
    "initial_distance_at_depth",
    "layer_gain_from_initial_distances",
    "rich_limit_distance_matrix",
    "exponential_weighing",
    "exponential_weighing_by_class",
    "effective_fit_loss",
    "RateFit",
    "fit_effective_rates",
    "mean_output_fit_loss",
    "MeanRateFit",
    "fit_mean_output_rate",
    "average_effective_rates",
]

#: Value that replaces a non-finite objective inside the optimisers (spec 3.1:
#: "return E = +inf (or 1e30)"). Finite so that BFGS' finite-difference gradients
#: stay defined. (Failed ODE solves are by default scored by holding the last valid
#: state instead, see :func:`effective_fit_loss`.)
PENALTY = 1e30

#: Default cap on right-hand-side evaluations per solve inside the fits (robustness
#: addition): well-posed solves at the reference tolerances need < 300.
FIT_MAX_NFEV = 5000

#: ``exp(-d)`` is exactly 0.0 in float64 for every ``d`` above this.
_EXP_UNDERFLOW = 745.2


class IntegrationError(RuntimeError):
    """The ODE solve failed (solver failure, non-finite values, h reached 0 in Eq. 21,
    too many right-hand-side evaluations)."""


# --------------------------------------------------------------------------------------
# validation helpers


def _arr(name, x):
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {x!r}") from exc
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return a


def _positive(name, x):
    a = _arr(name, x)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0, got {x!r}")
    return a


def _nonnegative(name, x):
    a = _arr(name, x)
    if np.any(a < 0):
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return a


def _state(z, size=3, name="z"):
    a = _arr(name, z)
    if a.ndim == 0 or a.shape[-1] != size:
        raise ValueError(f"{name} must have last axis of length {size}, got shape {a.shape}")
    return a


def _time_grid(t):
    t = _arr("t", t)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t must be a non-empty 1-D array, got shape {t.shape}")
    if t[0] < 0 or np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing and start at t >= 0 (z0 is the state at t = 0)")
    return t


# --------------------------------------------------------------------------------------
# the scalar variables (Eq. 8 / 20) and the 3-D system (Eq. 7 / 21)


def scalar_variables(delta_h, delta_yhat, delta_y):
    """The three scalars of paper B Eq. 8 / 20 from difference vectors.

    ``h = ||Δh||²``, ``y = ||Δŷ||²``, ``w = Δŷ·(Δŷ − Δy)``.

    ``delta_h``: ``(..., P)``; ``delta_yhat``, ``delta_y``: ``(..., D_y)`` (leading axes
    broadcast, e.g. ``(T, P)`` for a trajectory). Returns ``(h, y, w)``, each of the
    broadcast leading shape ``(...)``.
    """
    dh = _arr("delta_h", delta_h)
    dyh = _arr("delta_yhat", delta_yhat)
    dy = _arr("delta_y", delta_y)
    if dh.ndim == 0 or dyh.ndim == 0 or dy.ndim == 0:
        raise ValueError("delta_h, delta_yhat, delta_y need a trailing vector axis")
    if dyh.shape[-1] != dy.shape[-1]:
        raise ValueError(f"delta_yhat and delta_y differ in output dimension: "
                         f"{dyh.shape[-1]} vs {dy.shape[-1]}")
    h = np.sum(dh * dh, axis=-1)
    y = np.sum(dyh * dyh, axis=-1)
    w = y - np.sum(dyh * dy, axis=-1)
    h, y, w = np.broadcast_arrays(h, y, w)
    return h.copy(), y.copy(), w.copy()


def alignment_bounds(y, dy2):
    """Admissible range of the alignment ``w`` given ``y`` and ``dy2`` (spec 1.4, Eq. 8).

    ``|Δŷ·Δy| ≤ √(y·dy2)`` gives ``y − √(y dy2) ≤ w ≤ y + √(y dy2)``; with 1-D outputs
    ``w`` sits on one of the two bounds exactly. ``y``, ``dy2``: broadcastable arrays
    ``(...)``. Returns ``(w_min, w_max)`` of the broadcast shape.
    """
    y = _nonnegative("y", y)
    dy2 = _nonnegative("dy2", dy2)
    s = np.sqrt(y * dy2)
    return y - s, y + s


def mean_output_error_squared(yhat1, yhat2, y1, y2):
    """``||m||² = ||½(ŷ₁+ŷ₂) − ½(y₁+y₂)||²``, the mean-output error of Eq. 16 / 18 / 22.

    All arguments ``(..., D_y)`` (broadcast); returns ``(...)``.
    """
    m = 0.5 * (_arr("yhat1", yhat1) + _arr("yhat2", yhat2)) - 0.5 * (_arr("y1", y1) + _arr("y2", y2))
    if m.ndim == 0:
        raise ValueError("outputs need a trailing vector axis (use shape (..., 1) for 1-D outputs)")
    return np.sum(m * m, axis=-1)


def three_variable_rhs(z, eta_h, eta_y, dx2, dy2):
    """Right-hand side of the 3-D system, paper B Eq. 7 / 21.

    ::

        dh/dt = − η_h dx2 w
        dy/dt = − w (η_y h + η_h dx2 y / h)
        dw/dt = − ½ η_y h (3w − y + dy2) − ½ η_h dx2 w (y + w) / h

    ``z``: ``(..., 3)`` states ``(h, y, w)``; ``eta_h, eta_y, dx2, dy2``: scalars or
    arrays broadcastable to ``z.shape[:-1]`` (so many parameter sets evaluate at once).
    Rates may be negative (the fit explores them). Returns ``(..., 3)``.
    """
    z = _state(z)
    eh, ey, dx2, dy2 = (_arr(n, v) for n, v in
                        (("eta_h", eta_h), ("eta_y", eta_y), ("dx2", dx2), ("dy2", dy2)))
    return _rhs(z, eh, ey, dx2, dy2)


def _rhs(z, eh, ey, dx2, dy2):
    h, y, w = z[..., 0], z[..., 1], z[..., 2]
    p = eh * dx2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dh = -p * w
        dy = -w * (ey * h + p * y / h)
        dw = -0.5 * ey * h * (3.0 * w - y + dy2) - 0.5 * p * w * (y + w) / h
    out = np.stack(np.broadcast_arrays(dh, dy, dw), axis=-1)
    return out


def three_variable_jacobian(z, eta_h, eta_y, dx2, dy2):
    """Jacobian ``∂(dz/dt)/∂z`` of Eq. 7 / 21 (rows: dh, dy, dw; columns: h, y, w).

    ``z``: ``(..., 3)``; parameters broadcast to ``z.shape[:-1]``. Returns ``(..., 3, 3)``.
    Used by the stiff solver and to check the fixed-point analysis (Eq. 29-31).
    """
    z = _state(z)
    eh, ey, dx2, dy2 = (_arr(n, v) for n, v in
                        (("eta_h", eta_h), ("eta_y", eta_y), ("dx2", dx2), ("dy2", dy2)))
    return _jac(z, eh, ey, dx2, dy2)


def _jac(z, eh, ey, dx2, dy2):
    h, y, w = z[..., 0], z[..., 1], z[..., 2]
    p = eh * dx2
    shape = np.broadcast_shapes(h.shape, np.shape(p), np.shape(ey), np.shape(dy2))
    J = np.zeros(shape + (3, 3))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        J[..., 0, 2] = -p
        J[..., 1, 0] = -w * (ey - p * y / h**2)
        J[..., 1, 1] = -w * p / h
        J[..., 1, 2] = -(ey * h + p * y / h)
        J[..., 2, 0] = -0.5 * ey * (3.0 * w - y + dy2) + 0.5 * p * w * (y + w) / h**2
        J[..., 2, 1] = 0.5 * ey * h - 0.5 * p * w / h
        J[..., 2, 2] = -1.5 * ey * h - 0.5 * p * (y + 2.0 * w) / h
    return J


def solve_three_variable(t, z0, eta_h, eta_y, dx2, dy2, *, method="Radau",
                         rtol=1e-9, atol=1e-12, max_nfev=None, coordinates="signed"):
    """Solve the 3-D system (paper B Eq. 7 / 21) from ``z0`` at time 0 on the grid ``t``.

    ``t``: ``(T,)`` non-decreasing, ``t[0] >= 0`` (epochs). ``z0``: ``(3,)`` = ``(h₀, y₀, w₀)``
    or ``(M, 3)`` for M trajectories, with ``eta_h, eta_y, dx2, dy2`` scalars or ``(M,)``.
    The M systems are integrated together as one block-diagonal system (analytic sparse
    Jacobian), so the error control is on the stacked vector: for per-trajectory
    guarantees solve them one at a time. Returns ``(h, y, w)`` on the grid, shape
    ``(T, 3)`` or ``(M, T, 3)``.

    Defaults are tight (``Radau``, rtol 1e-9, atol 1e-12); the fitting code uses the
    reference's loose defaults (rtol 1e-3, atol 1e-6). Any SciPy ``solve_ivp`` method
    name works; implicit methods get the analytic Jacobian. ``max_nfev`` (default: no
    limit) caps the right-hand-side evaluations.

    ``coordinates``:

    * ``"hyw"``: integrate Eq. 21 as written (as the reference does; the fits use it).
    * ``"signed"`` (default): integrate the equivalent polynomial system in ``a = ±√h`` (signed
      distance along the representation axis), ``σ = y/h`` and ``κ = (y − w)/a``
      (``h = a²``, ``y = a²σ``, ``w = a²σ − aκ``; derived from spec 1.4)::

          da/dt = −(η_h dx2/2)(aσ − κ),  dσ/dt = −η_y a (aσ − κ),  dκ/dt = −(η_y/2) a (aκ − dy2)

      Eq. 21 has a square-root singularity at ``h = 0`` (``w ≈ −aκ ∝ √h``), so
      trajectories that pass close to ``h = 0`` are ill-conditioned in ``(h, y, w)``
      (different solvers disagree, even at rtol 1e-12); the signed form is regular there
      and also follows the representations through each other (``a`` changes sign), as
      the underlying Jacobian flow (Eq. 17) does. Identical to ``"hyw"`` elsewhere (and
      cheaper: fewer steps at the same tolerance).

    Raises :class:`IntegrationError` if the solver fails, exceeds ``max_nfev``, returns
    non-finite values, or (``"hyw"``) ``h`` reaches 0 (singular, spec 2.1); ``ValueError``
    on bad input (``h₀ <= 0``, ``dx2 <= 0``, unknown method, ...).
    """
    t = _time_grid(t)
    z0 = _state(z0, name="z0")
    if z0.ndim > 2:
        raise ValueError(f"z0 must have shape (3,) or (M, 3), got {z0.shape}")
    single = z0.ndim == 1
    Z0 = z0[None] if single else z0
    M = Z0.shape[0]
    if np.any(Z0[:, 0] <= 0):
        raise ValueError("initial h0 must be > 0 (the system is singular at h = 0)")
    eh = _arr("eta_h", eta_h)
    ey = _arr("eta_y", eta_y)
    dx2 = _positive("dx2", dx2)
    dy2 = _nonnegative("dy2", dy2)
    try:
        eh, ey, dx2, dy2 = (np.broadcast_to(v, (M,)).astype(np.float64)
                            for v in (eh, ey, dx2, dy2))
    except ValueError as exc:
        raise ValueError(f"rates and distances must be scalars or have shape ({M},)") from exc
    Z = _integrate(t, Z0, eh, ey, dx2, dy2, method, rtol, atol, max_nfev, coordinates)
    return Z[0] if single else Z


_METHODS = {"RK23": RK23, "RK45": RK45, "DOP853": DOP853, "Radau": Radau, "BDF": BDF,
            "LSODA": LSODA}


def _system_hyw(M, eh, ey, dx2, dy2, calls):
    """RHS and Jacobian of Eq. 21 for the stacked state (3M,)."""
    if M == 1:
        # scalar fast path (the fits solve thousands of single trajectories)
        p1, ey1, dy21 = float(eh[0] * dx2[0]), float(ey[0]), float(dy2[0])

        def fun(_, x):
            calls[0] += 1
            h, y, w = float(x[0]), float(x[1]), float(x[2])
            try:
                return np.array([-p1 * w, -w * (ey1 * h + p1 * y / h),
                                 -0.5 * ey1 * h * (3.0 * w - y + dy21) - 0.5 * p1 * w * (y + w) / h])
            except (ZeroDivisionError, OverflowError):
                return np.full(3, np.nan)

        def jac(_, x):
            h, y, w = float(x[0]), float(x[1]), float(x[2])
            try:
                return np.array([
                    [0.0, 0.0, -p1],
                    [-w * (ey1 - p1 * y / (h * h)), -w * p1 / h, -(ey1 * h + p1 * y / h)],
                    [-0.5 * ey1 * (3.0 * w - y + dy21) + 0.5 * p1 * w * (y + w) / (h * h),
                     0.5 * ey1 * h - 0.5 * p1 * w / h, -1.5 * ey1 * h - 0.5 * p1 * (y + 2.0 * w) / h]])
            except (ZeroDivisionError, OverflowError):
                return np.full((3, 3), np.nan)

        return fun, jac

    def fun(_, x):
        calls[0] += 1
        with np.errstate(all="ignore"):
            return _rhs(x.reshape(M, 3), eh, ey, dx2, dy2).ravel()

    def jac(_, x):
        with np.errstate(all="ignore"):
            return _jac(x.reshape(M, 3), eh, ey, dx2, dy2)

    return fun, jac


def _system_signed(M, eh, ey, dx2, dy2, calls):
    """RHS and Jacobian of the regular signed form of Eq. 21 (see solve_three_variable).

    State (a, σ, κ) with h = a², y = a² σ, w = a² σ − a κ::

        da/dt = −(η_h dx2 / 2)(a σ − κ)
        dσ/dt = −η_y a (a σ − κ)
        dκ/dt = −(η_y / 2) a (a κ − dy2)
    """
    p = eh * dx2

    def parts(x):
        X = x.reshape(M, 3)
        return X[:, 0], X[:, 1], X[:, 2]

    def fun(_, x):
        calls[0] += 1
        a, sg, kp = parts(x)
        D = a * sg - kp
        with np.errstate(all="ignore"):
            return np.stack([-0.5 * p * D, -ey * a * D, -0.5 * ey * a * (a * kp - dy2)], -1).ravel()

    def jac(_, x):
        a, sg, kp = parts(x)
        J = np.zeros((M, 3, 3))
        J[:, 0, 0] = -0.5 * p * sg
        J[:, 0, 1] = -0.5 * p * a
        J[:, 0, 2] = 0.5 * p
        J[:, 1, 0] = -ey * (2.0 * a * sg - kp)
        J[:, 1, 1] = -ey * a * a
        J[:, 1, 2] = ey * a
        J[:, 2, 0] = -0.5 * ey * (2.0 * a * kp - dy2)
        J[:, 2, 2] = -0.5 * ey * a * a
        return J

    return fun, jac


def _to_signed(Z):
    h, y, w = Z[..., 0], Z[..., 1], Z[..., 2]
    a = np.sqrt(h)
    return np.stack([a, y / h, (y - w) / a], -1)


def _from_signed(X):
    a, sg, kp = X[..., 0], X[..., 1], X[..., 2]
    h = a * a
    return np.stack([h, h * sg, h * sg - a * kp], -1)


def _integrate_partial(t, Z0, eh, ey, dx2, dy2, method, rtol, atol, max_nfev=None,
                       coordinates="hyw"):
    """Step the stacked system (Z0: (M, 3) in (h, y, w), parameters (M,)) from 0 to t[-1].

    Returns ``(Z, n_valid, last, message)``: ``Z`` (M, T, 3) holds the solution (h, y, w)
    at the first ``n_valid`` times of ``t``, the remaining rows are NaN; ``last`` (M, 3)
    is the state after the last accepted step; ``message`` is ``""`` when the whole grid
    was reached, else why the solve stopped (solver failure, non-finite state, ``h``
    reaching 0 in the (h, y, w) coordinates -- the system is singular there -- or more
    than ``max_nfev`` right-hand-side evaluations). Steps that end with a non-finite state
    or ``h <= 0`` are discarded.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
    if coordinates not in ("hyw", "signed"):
        raise ValueError(f"coordinates must be 'hyw' or 'signed', got {coordinates!r}")
    signed = coordinates == "signed"
    M = Z0.shape[0]
    T_end = float(t[-1])
    Z = np.full((M, t.size, 3), np.nan)
    if T_end == 0.0:
        Z[:] = Z0[:, None, :]
        return Z, t.size, Z0.copy(), ""
    calls = [0]
    fun, jac_blocks = (_system_signed if signed else _system_hyw)(M, eh, ey, dx2, dy2, calls)
    X0 = _to_signed(Z0) if signed else Z0
    kwargs = {}
    if method in ("Radau", "BDF", "LSODA"):
        if M == 1:
            def jac(_, x):
                J = jac_blocks(_, x)
                return J.reshape(3, 3)
        else:
            indices = np.arange(M, dtype=np.int32)
            indptr = np.arange(M + 1, dtype=np.int32)

            def jac(_, x):
                blocks = jac_blocks(_, x)
                return sp.bsr_matrix((blocks, indices, indptr), shape=(3 * M, 3 * M)).tocsc()
        kwargs["jac"] = jac

    message = ""
    last = Z0.copy()
    n_valid = 1 if t[0] == 0.0 else 0
    Z[:, :n_valid] = Z0[:, None, :]
    with np.errstate(all="ignore"):
        try:
            solver = _METHODS[method](fun, 0.0, X0.ravel(), T_end, rtol=rtol, atol=atol, **kwargs)
            while solver.status == "running":
                t_old = solver.t
                step_message = solver.step()
                if solver.status == "failed":
                    message = f"solver failed at t = {t_old:g}: {step_message}"
                    break
                x = solver.y
                if not np.all(np.isfinite(x)):
                    message = f"non-finite state after t = {t_old:g}"
                    break
                interp = solver.dense_output()
                if not signed:
                    crossing = _h_crossing(interp, t_old, solver.t, M)
                    if crossing is not None:
                        message = (f"h reached 0 at t = {crossing:g} (eta_h = {_fmt_rates(eh)}, "
                                   f"eta_y = {_fmt_rates(ey)}): Eq. 21 is singular there; "
                                   "use coordinates='signed' to follow the trajectory through it")
                        break
                # grid points covered by this step (t_old, solver.t]
                stop = int(np.searchsorted(t, solver.t, side="right"))
                if stop > n_valid:
                    X = interp(t[n_valid:stop]).reshape(M, 3, -1).transpose(0, 2, 1)
                    Z[:, n_valid:stop] = _from_signed(X) if signed else X
                    n_valid = stop
                last = _from_signed(x.reshape(M, 3)) if signed else x.reshape(M, 3).copy()
                if max_nfev is not None and calls[0] > max_nfev and solver.status == "running":
                    message = f"more than {max_nfev} right-hand-side evaluations (t = {solver.t:g})"
                    break
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            message = f"solver raised: {exc}"
    if not message and n_valid < t.size:  # cannot happen unless t_bound rounding; be safe
        message = "solver stopped before the end of the time grid"
    if n_valid and not np.all(np.isfinite(Z[:, :n_valid])):
        bad = int(np.argmax(~np.all(np.isfinite(Z[:, :n_valid]), axis=(0, 2))))
        Z[:, bad:] = np.nan
        n_valid = bad
        message = message or "non-finite values in the dense output"
        last = Z[:, bad - 1] if bad else Z0.copy()
    return Z, n_valid, last, message


_CROSSING_SAMPLES = 16  # interior points per solver step at which h is checked for a sign change


def _fmt_rates(v):
    v = np.asarray(v, dtype=float).ravel()
    return f"{v[0]:g}" if v.size == 1 else "[" + ", ".join(f"{x:g}" for x in v[:4]) + (", ...]" if v.size > 4 else "]")


def _h_crossing(interp, t_old, t_new, M):
    """First time in ``[t_old, t_new]`` at which any of the M trajectories' ``h`` is <= 0 on the
    step's interpolant, or ``None``.

    The event is detected on the interpolant itself (step end and ``_CROSSING_SAMPLES`` interior
    points, then bisection on the first bracket), not on the accepted step ends only: a step can
    end with ``h > 0`` while its interpolant, and so the returned grid values, dip below 0."""
    ts = np.linspace(t_old, t_new, _CROSSING_SAMPLES + 2)[1:]
    h = np.asarray(interp(ts)).reshape(M, 3, -1)[:, 0, :].min(axis=0)
    bad = np.flatnonzero(~(h > 0.0))  # NaN counts as a failure too
    if bad.size == 0:
        return None
    hi = ts[bad[0]]
    lo = ts[bad[0] - 1] if bad[0] > 0 else t_old
    for _ in range(60):  # bisection to the crossing of the interpolant
        mid = 0.5 * (lo + hi)
        if np.asarray(interp(mid)).reshape(M, 3)[:, 0].min() > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            break
    return float(hi)


def _integrate(t, Z0, eh, ey, dx2, dy2, method, rtol, atol, max_nfev=None, coordinates="hyw"):
    """As :func:`_integrate_partial` but all or nothing: raises IntegrationError."""
    Z, _, _, message = _integrate_partial(t, Z0, eh, ey, dx2, dy2, method, rtol, atol, max_nfev,
                                          coordinates)
    if message:
        raise IntegrationError(message)
    return Z


# --------------------------------------------------------------------------------------
# mean output and loss (Eq. 18, 9 / 22)


def mean_output_error_decay(t, m0_sq, eta_ymean):
    """``||m(t)||² = ||m₀||² e^{−2 η_ȳ t}`` (paper B Eq. 18, mean output decoupled).

    Arguments broadcast (e.g. ``t`` of shape ``(T,)``); returns the broadcast shape.
    """
    t = _arr("t", t)
    m0 = _nonnegative("m0_sq", m0_sq)
    e = _arr("eta_ymean", eta_ymean)
    with np.errstate(over="ignore"):
        return m0 * np.exp(-2.0 * e * t)


def effective_loss(t, y, w, m0_sq, eta_ymean, dy2, output_dim=1):
    """Training loss predicted by the theory, paper B Eq. 9 / 22.

    ::

        ℓ(t) = (1/(4 D_y)) · [ 2 ||m₀||² e^{−2 η_ȳ t} + w(t) + ½ (dy2 − y(t)) ]

    for the tracked loss ``½ · mean_i mean_k (ŷ_ik − y_ik)²`` of the two points
    (``0.5*mse_loss``). ``t, y, w``: ``(T,)`` (or broadcastable), ``m0_sq = ||m₀||²``
    at t = 0, ``eta_ymean`` the third effective rate, ``output_dim`` = D_y. Returns
    ``(T,)``.
    """
    t = _arr("t", t)
    y = _arr("y", y)
    w = _arr("w", w)
    dy2 = _nonnegative("dy2", dy2)
    if int(output_dim) != output_dim or output_dim < 1:
        raise ValueError(f"output_dim must be a positive integer, got {output_dim!r}")
    mean_term = mean_output_error_decay(t, m0_sq, eta_ymean)
    with np.errstate(over="ignore", invalid="ignore"):
        return (2.0 * mean_term + w + 0.5 * (dy2 - y)) / (4.0 * output_dim)


# --------------------------------------------------------------------------------------
# conserved relation and the 2-D reduction (Eq. 23-25)


def _k(eta_h, eta_y, dx2):
    return eta_y / (eta_h * dx2)


def conserved_quantity(h, y, eta_h, eta_y, dx2):
    """The invariant ``y/h − (η_y / (η_h dx2)) h`` of the 3-D system (paper B Eq. 23-24).

    Constant along solutions of Eq. 7 / 21. ``h`` (> 0), ``y``: ``(...)`` (e.g. a
    trajectory ``(T,)``); parameters broadcast. Returns ``(...)``.
    """
    h = _positive("h", h)
    y = _arr("y", y)
    eh = _arr("eta_h", eta_h)
    if np.any(eh == 0):
        raise ValueError("eta_h must be non-zero")
    return y / h - _k(eh, _arr("eta_y", eta_y), _positive("dx2", dx2)) * h


def output_distance_on_invariant(h, h0, y0, eta_h, eta_y, dx2):
    """``Y(h) = h [y₀/h₀ + (η_y/(η_h dx2))(h − h₀)] = k h² + C h`` (paper B Eq. 24).

    ``k = η_y/(η_h dx2)``, ``C = y₀/h₀ − k h₀``. All arguments broadcast; returns ``(...)``.
    """
    h = _arr("h", h)
    h0 = _positive("h0", h0)
    y0 = _arr("y0", y0)
    eh = _arr("eta_h", eta_h)
    if np.any(eh == 0):
        raise ValueError("eta_h must be non-zero")
    k = _k(eh, _arr("eta_y", eta_y), _positive("dx2", dx2))
    return h * (y0 / h0 + k * (h - h0))


def reduced_rhs(z, h0, y0, eta_h, eta_y, dx2, dy2):
    """Right-hand side of the 2-D system (paper B Eq. 25) on the invariant ``y = Y(h)``.

    ::

        dh/dt = − η_h dx2 w
        dw/dt = − ½ η_y h (3w − Y(h) + dy2) − ½ η_h dx2 w (Y(h) + w) / h

    ``z``: ``(..., 2)`` states ``(h, w)``; ``h0, y0`` fix the invariant; parameters
    broadcast to ``z.shape[:-1]``. Returns ``(..., 2)``.
    """
    z = _state(z, size=2)
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
    h0 = _positive("h0", h0)
    y0 = _nonnegative("y0", y0)
    r = _positive("eta_h", eta_h) / _positive("eta_y", eta_y)
    dx2 = _nonnegative("dx2", dx2)
    dy2 = _nonnegative("dy2", dy2)
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
    r = _positive("eta_h", eta_h) / _positive("eta_y", eta_y)
    return np.sqrt(r * _nonnegative("dx2", dx2) * _nonnegative("dy2", dy2))


def pairwise_final_distances(h0, y0, dx2, dy2, eta_h, eta_y):
    """Eq. 10 / 11 applied to every pair of a dataset (used for the XOR / Fig. 6 theory).

    ``h0, y0, dx2, dy2``: ``(N, N)`` matrices of **squared** distances between the
    initial representations, initial predictions, inputs and targets. ``eta_h, eta_y``
    scalars (only the ratio matters). Returns the ``(N, N)`` matrix of predicted final
    squared distances ``h_+``; the diagonal is 0. Off-diagonal ``h0`` must be > 0.
    """
    mats = [_arr(n, v) for n, v in (("h0", h0), ("y0", y0), ("dx2", dx2), ("dy2", dy2))]
    N = mats[0].shape[0] if mats[0].ndim == 2 else -1
    for name, m in zip(("h0", "y0", "dx2", "dy2"), mats):
        if m.ndim != 2 or m.shape != (N, N):
            raise ValueError(f"{name} must be a square (N, N) matrix matching h0, got {m.shape}")
    off = ~np.eye(N, dtype=bool)
    out = np.zeros((N, N))
    out[off] = final_representational_distance(mats[0][off], mats[1][off], eta_h, eta_y,
                                               mats[2][off], mats[3][off])
    return out


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
    eh, ey = _arr("eta_h", eta_h), _arr("eta_y", eta_y)
    dx2, dy2 = _arr("dx2", dx2), _arr("dy2", dy2)
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
    h0 = _positive("h0", h0)
    y0 = _nonnegative("y0", y0)
    eh, ey = _positive("eta_h", eta_h), _positive("eta_y", eta_y)
    dx2, dy2 = _positive("dx2", dx2), _nonnegative("dy2", dy2)
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
    t = _nonnegative("t", t)
    h0 = _positive("h0", h0)
    y0 = _nonnegative("y0", y0)
    eh, ey = _positive("eta_h", eta_h), _positive("eta_y", eta_y)
    dx2 = _positive("dx2", dx2)
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
    lam = _positive("lam", lam)
    a, b = _arr("a", a), _arr("b", b)
    return (lam ** (b - a) * _arr("eta_h", eta_h), lam**a * _arr("eta_y", eta_y),
            _nonnegative("dy2", dy2) / lam**b)


# --------------------------------------------------------------------------------------
# random-feature distribution (Eq. 44-48)


def lazy_parameter_from_final_distance(h_plus, B):
    """Inverse of ``A ↦ h_+``: ``A = h_+ − B²/h_+`` for ``h_+ > 0`` (paper B Eq. 44).

    ``A ↦ A/2 + √(A²/4 + B²)`` is an increasing bijection ℝ → (0, ∞) for ``B > 0``.
    Arguments broadcast; returns ``(...)``.
    """
    hp = _positive("h_plus", h_plus)
    B = _nonnegative("B", B)
    return hp - B * B / hp


def _rf_check(s, B, mu, kappa, sigma):
    s = _arr("s", s)
    B = _positive("B", B)
    mu = _arr("mu", mu)
    kappa = _positive("kappa", kappa)
    sigma = _positive("sigma", sigma)
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


# --------------------------------------------------------------------------------------
# depth (Eq. 14)


def initial_distance_at_depth(dx2, gain_sq, layer):
    """Initial squared distance at hidden layer ``l``: ``h₀(l) ≈ γ^{2l} dx2`` (paper B Eq. 14).

    ``gain_sq`` = γ² (average per-layer gain of squared distances); arguments broadcast
    (e.g. ``layer = np.arange(L)``). Returns ``(...)``.
    """
    layer = _nonnegative("layer", layer)
    return _nonnegative("dx2", dx2) * _positive("gain_sq", gain_sq) ** layer


def layer_gain_from_initial_distances(h0_per_layer, layers=None):
    """Least-squares γ² of Eq. 14 from measured initial distances per layer.

    Fits ``log h₀(l) = log c + l log γ²``. ``h0_per_layer``: ``(L,)`` positive;
    ``layers``: ``(L,)`` indices (default ``0..L−1``). Returns ``(gain_sq, c)``.
    """
    h = _positive("h0_per_layer", h0_per_layer)
    if h.ndim != 1 or h.size < 2:
        raise ValueError("h0_per_layer must be 1-D with at least two layers")
    l = np.arange(h.size, dtype=float) if layers is None else _arr("layers", layers)
    if l.shape != h.shape:
        raise ValueError(f"layers shape {l.shape} does not match h0_per_layer {h.shape}")
    slope, intercept = np.polyfit(l, np.log(h), 1)
    return float(np.exp(slope)), float(np.exp(intercept))


# --------------------------------------------------------------------------------------
# exponential weighing (Eq. 50)


def _pairwise_euclidean(X, Y=None):
    """Euclidean distances (N, D) x (K, D) -> (N, K) via the Gram trick; pairs where the
    trick cancels badly (close or identical rows) are recomputed from differences, so
    identical rows give exactly 0."""
    Y = X if Y is None else Y
    nx, ny = np.einsum("ij,ij->i", X, X), np.einsum("ij,ij->i", Y, Y)
    sq = nx[:, None] + ny[None, :] - 2.0 * X @ Y.T
    close = sq <= 1e-8 * (nx[:, None] + ny[None, :])
    if np.any(close):
        i, j = np.nonzero(close)
        diff = X[i] - Y[j]
        sq[i, j] = np.einsum("ij,ij->i", diff, diff)
    return np.sqrt(np.maximum(sq, 0.0))


def rich_limit_distance_matrix(X, Y, eta_ratio=1.0):
    """Pairwise small-weight predictions ``D_ij = √(η_h/η_y) ||x_i − x_j|| ||y_i − y_j||``.

    Eq. 13 applied to all pairs (``eta_ratio = 1`` drops the rate factor, as the MNIST
    figure does, spec 2.10). ``X``: ``(N, D_x)``, ``Y``: ``(N, D_y)``. Returns ``(N, N)``
    with exact zeros on the diagonal.
    """
    X = _arr("X", X)
    Y = _arr("Y", Y)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X (N, D_x) and Y (N, D_y) must be 2-D with equal N, "
                         f"got {X.shape} and {Y.shape}")
    D = np.sqrt(_positive("eta_ratio", eta_ratio)) * _pairwise_euclidean(X) * _pairwise_euclidean(Y)
    np.fill_diagonal(D, 0.0)
    return D


def exponential_weighing(D):
    """Exponential weighing of pairwise predictions, paper B Eq. 50.

    ``D̃ = E D E`` with ``E_ij = exp(−D_ij)`` (elementwise exponential, ordinary matrix
    products), i.e. ``D̃_ij = Σ_kl e^{−D_ik} D_kl e^{−D_lj}``; reduces violations of the
    triangle inequality. ``D``: ``(N, N)``, finite. Returns ``(N, N)``.
    """
    D = _arr("D", D)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"D must be a square matrix, got shape {D.shape}")
    with np.errstate(under="ignore"):
        E = np.exp(-D)
    return E @ D @ E


def exponential_weighing_by_class(X, labels, class_targets, *, chunk_size=2048):
    """Class-level exact shortcut of Eq. 50 for class-constant targets (spec 2.10).

    With ``D_kl = ||x_k − x_l|| · ||t_{c(k)} − t_{c(l)}||`` (:func:`rich_limit_distance_matrix`
    with ``eta_ratio = 1``) and every different-class ``D_kl`` above ~745, ``E = e^{−D}``
    is exactly (in float64) the same-class indicator, so::

        D̃_ij = ||t_a − t_b|| Σ_{k∈a} Σ_{l∈b} ||x_k − x_l||   (a = c(i), b = c(j)),  0 if a = b

    (e.g. raw MNIST pixels with one-hot targets). Computed blockwise without forming
    ``N × N`` matrices. ``X``: ``(N, D_x)``; ``labels``: ``(N,)`` integers in ``0..C−1``;
    ``class_targets``: ``(C, D_y)``, pairwise distinct. Returns the ``(C, C)`` matrix ``M``;
    ``M[labels[:, None], labels[None, :]]`` is ``D̃`` for any subset of the N points.
    Raises ``ValueError`` if the indicator condition fails (use
    :func:`exponential_weighing` on the full matrix then).
    """
    X = _arr("X", X)
    T = _arr("class_targets", class_targets)
    lab = np.asarray(labels)
    if X.ndim != 2 or lab.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, D_x) and labels (N,), got {X.shape} and {lab.shape}")
    if T.ndim != 2:
        raise ValueError(f"class_targets must be (C, D_y), got {T.shape}")
    if not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0 or lab.max() >= T.shape[0]:
        raise ValueError("labels must be integers in 0..C-1 with C = len(class_targets)")
    C = T.shape[0]
    tdist = _pairwise_euclidean(T)
    off = ~np.eye(C, dtype=bool)
    if np.any(tdist[off] == 0):
        raise ValueError("class_targets must be pairwise distinct")
    members = [X[lab == c] for c in range(C)]
    sums = np.zeros((C, C))
    for a in range(C):
        for b in range(a + 1, C):
            if members[a].size == 0 or members[b].size == 0:
                continue
            total, dmin = 0.0, np.inf
            for start in range(0, members[a].shape[0], chunk_size):
                d = _pairwise_euclidean(members[a][start:start + chunk_size], members[b])
                total += d.sum()
                dmin = min(dmin, d.min())
            if dmin * tdist[a, b] <= _EXP_UNDERFLOW:
                raise ValueError(
                    f"classes {a} and {b} have a pair with D = {dmin * tdist[a, b]:.4g} <= "
                    f"{_EXP_UNDERFLOW}: exp(-D) does not underflow, so E is not the class "
                    "indicator; use exponential_weighing on the full matrix")
            sums[a, b] = sums[b, a] = total
    return tdist * sums


# --------------------------------------------------------------------------------------
# fitting (Eq. 49, spec section 3)


def _fit_data(h, y, w, t):
    h, y, w = _arr("h", h), _arr("y", y), _arr("w", w)
    if h.ndim != 1 or h.shape != y.shape or h.shape != w.shape:
        raise ValueError(f"h, y, w must be 1-D of equal length, got {h.shape}, {y.shape}, {w.shape}")
    n = h.size
    if n < 2:
        raise ValueError("need at least two tracked epochs")
    if h[0] <= 0:
        raise ValueError("h[0] must be > 0 (the ODE is singular at h = 0)")
    t = np.arange(n, dtype=float) if t is None else _time_grid(t)
    if t.shape != (n,):
        raise ValueError(f"t must have shape ({n},), got {t.shape}")
    return h, y, w, t


def _sse3(eta_h, eta_y, h, y, w, t, dx2, dy2, method, rtol, atol, max_nfev, on_failure,
          coordinates):
    z0 = np.array([[h[0], y[0], w[0]]])
    Z, n_valid, last, message = _integrate_partial(
        t, z0, np.array([eta_h], float), np.array([eta_y], float), np.array([dx2], float),
        np.array([dy2], float), method, rtol, atol, max_nfev, coordinates)
    if message:
        if on_failure == "inf":
            return np.inf
        Z[0, n_valid:] = last[0]
    Z = Z[0]
    with np.errstate(over="ignore", invalid="ignore"):
        e = float(np.sum((h - Z[:, 0]) ** 2 + (y - Z[:, 1]) ** 2 + (w - Z[:, 2]) ** 2))
    return e if np.isfinite(e) else np.inf


def _check_on_failure(on_failure):
    if on_failure not in ("hold", "inf"):
        raise ValueError(f"on_failure must be 'hold' or 'inf', got {on_failure!r}")


def effective_fit_loss(eta_h, eta_y, h, y, w, dx2, dy2, *, t=None, method="Radau",
                       rtol=1e-3, atol=1e-6, max_nfev=FIT_MAX_NFEV, on_failure="hold",
                       coordinates="hyw"):
    """Fit objective of paper B Eq. 49 (unweighted, raw scale)::

        E(η_h, η_y) = Σ_k (h_k − ĥ(t_k))² + (y_k − ŷ(t_k))² + (w_k − ŵ(t_k))²

    ``h, y, w``: ``(n,)`` tracked values, sample k measured before the k-th update;
    the model starts from ``(h[0], y[0], w[0])``. ``t``: ``(n,)`` sample times (default
    ``t_k = k`` epochs; pass ``np.linspace(0, n, n)`` to mimic the reference exactly).
    Solver as in the reference: Radau, rtol 1e-3, atol 1e-6 (analytic Jacobian), on
    Eq. 21 as written (``coordinates="hyw"``; ``"signed"`` as in
    :func:`solve_three_variable`).

    Guard (spec 3.1 robustness): a solve *fails* when the solver fails, a state is
    non-finite, ``h`` reaches 0 (singular), or it needs more than ``max_nfev``
    right-hand-side evaluations (well-posed solves at these tolerances need a few
    hundred; the cap only cuts short the slow oscillating solves at unphysical trial
    rates such as ``η_h < 0``; ``None`` disables it). On failure, ``on_failure="hold"``
    (default) keeps the last valid state for the remaining samples, which gives a finite,
    data-scaled objective; ``"inf"`` returns ``inf`` (the spec's literal suggestion; it
    makes BFGS stop at its start when its first line-search trial fails). Returns a
    float (``inf`` only if the sum overflows or with ``on_failure="inf"``).
    """
    h, y, w, t = _fit_data(h, y, w, t)
    dx2 = float(_positive("dx2", dx2))
    dy2 = float(_nonnegative("dy2", dy2))
    _check_on_failure(on_failure)
    eh, ey = float(_arr("eta_h", eta_h)), float(_arr("eta_y", eta_y))
    return _sse3(eh, ey, h, y, w, t, dx2, dy2, method, rtol, atol, max_nfev, on_failure,
                 coordinates)


@dataclass(frozen=True)
class RateFit:
    """Result of :func:`fit_effective_rates` (spec 3.1).

    ``eta_h, eta_y, loss``: the reference-procedure result (grid + unconstrained BFGS),
    the primary numbers. ``grid_scale``/``grid_loss``: best grid point ``g`` (rates
    ``(g ρ, g)``) and its objective. ``ratio``: ``ρ`` used for the grid.
    ``bfgs_success``/``bfgs_message``: optimiser status. ``nonpositive``: a rate is <= 0
    (flag, spec 3.1). ``log_eta_h, log_eta_y, log_loss``: the log-space Nelder-Mead refit
    (rates > 0 by construction), ``nan`` when not run.
    """

    eta_h: float
    eta_y: float
    loss: float
    grid_scale: float
    grid_loss: float
    ratio: float
    bfgs_success: bool
    bfgs_message: str
    nonpositive: bool
    log_eta_h: float = np.nan
    log_eta_y: float = np.nan
    log_loss: float = np.nan

    @property
    def positive_rates(self):
        """``(eta_h, eta_y, loss)`` with positive rates: the primary fit when it is
        positive, otherwise the log-space refit (``nan`` if that was not run)."""
        if not self.nonpositive:
            return self.eta_h, self.eta_y, self.loss
        return self.log_eta_h, self.log_eta_y, self.log_loss


def fit_effective_rates(h, y, w, dx2, dy2, *, t=None, grid=None, ratio=None,
                        log_refit="auto", method="Radau", rtol=1e-3, atol=1e-6,
                        max_nfev=FIT_MAX_NFEV, on_failure="hold", coordinates="hyw"):
    """Fit ``(η_h, η_y)`` to tracked ``h, y, w`` by the reference procedure (Eq. 49, spec 3.1).

    1. Ratio from the small-weight limit (Eq. 13) with the last sample:
       ``ρ = h_{n−1}² / (dx2 dy2)`` (so that ``B = h_{n−1}``), unless ``ratio`` is given.
    2. Grid over a common scale ``g`` (default ``np.logspace(-6, 2, 100)``; the spec uses
       200 points for Fig. 5 and ``logspace(-6, 1, 100)`` for MNIST), rates ``(g ρ, g)``;
       keep the ``g`` of smallest :func:`effective_fit_loss`.
    3. ``scipy.optimize.minimize`` (BFGS, finite-difference gradient, unconstrained) from
       that point. A non-finite objective counts as ``PENALTY`` (1e30).
    4. Robustness (spec 3.1, not in the reference): if a fitted rate is <= 0
       (``log_refit="auto"``) or always (``log_refit=True``), refit with Nelder-Mead on
       ``log η`` from the best grid point; ``log_refit=False`` never does.

    ``h, y, w``: ``(n,)`` (sample k before update k; k = 0 is the initialisation);
    ``dx2 > 0``, ``dy2 >= 0`` of the tracked pair; ``t``, ``method``, ``rtol``, ``atol``,
    ``max_nfev``, ``on_failure``, ``coordinates`` as in :func:`effective_fit_loss`. Returns a
    :class:`RateFit`. Raises ``ValueError`` on bad input and ``RuntimeError`` if the
    objective is non-finite at every grid point.
    """
    h, y, w, t = _fit_data(h, y, w, t)
    dx2 = float(_positive("dx2", dx2))
    dy2 = float(_nonnegative("dy2", dy2))
    _check_on_failure(on_failure)
    if ratio is None:
        if dy2 <= 0 or h[-1] <= 0:
            raise ValueError("the default grid ratio h_end²/(dx2 dy2) needs dy2 > 0 and "
                             "h[-1] > 0; pass ratio")
        ratio = h[-1] ** 2 / (dx2 * dy2)
    ratio = float(_positive("ratio", ratio))
    grid = np.logspace(-6, 2, 100) if grid is None else _positive("grid", grid).ravel()
    if grid.size == 0:
        raise ValueError("grid must not be empty")
    if log_refit not in ("auto", True, False):
        raise ValueError(f"log_refit must be 'auto', True or False, got {log_refit!r}")

    def E(eh, ey):
        return _sse3(eh, ey, h, y, w, t, dx2, dy2, method, rtol, atol, max_nfev, on_failure,
                     coordinates)

    grid_losses = np.array([E(g * ratio, g) for g in grid])
    if not np.any(np.isfinite(grid_losses)):
        raise RuntimeError("the fit objective is non-finite at every grid point")
    i = int(np.argmin(grid_losses))
    g_best = float(grid[i])
    x0 = np.array([g_best * ratio, g_best])

    def objective(x):
        e = E(x[0], x[1])
        return e if e < PENALTY else PENALTY

    with np.errstate(all="ignore"):
        res = minimize(objective, x0)
    eh, ey = float(res.x[0]), float(res.x[1])
    loss = float(res.fun)
    if not loss < grid_losses[i]:  # BFGS never returns worse than its start
        eh, ey, loss = float(x0[0]), float(x0[1]), float(grid_losses[i])
    nonpositive = eh <= 0 or ey <= 0
    out = dict(eta_h=eh, eta_y=ey, loss=loss, grid_scale=g_best, grid_loss=float(grid_losses[i]),
               ratio=ratio, bfgs_success=bool(res.success), bfgs_message=str(res.message),
               nonpositive=bool(nonpositive))
    if log_refit is True or (log_refit == "auto" and nonpositive):
        def log_objective(lx):
            e = E(np.exp(lx[0]), np.exp(lx[1]))
            return e if e < PENALTY else PENALTY

        with np.errstate(all="ignore"):
            lres = minimize(log_objective, np.log(x0), method="Nelder-Mead",
                            options=dict(xatol=1e-6, fatol=0.0, maxiter=1000))
        out.update(log_eta_h=float(np.exp(lres.x[0])), log_eta_y=float(np.exp(lres.x[1])),
                   log_loss=float(lres.fun))
    return RateFit(**out)


def mean_output_fit_loss(eta_ymean, loss, y_model, w_model, m0_sq, dy2, *, t=None, output_dim=1):
    """Least-squares objective for the mean-output rate (spec 3.2; Eq. 22 vs the loss)::

        Σ_k (ℓ_k − ℓ̂(t_k; η_ȳ))²,   ℓ̂ from :func:`effective_loss`

    ``loss``: ``(n,)`` tracked loss (before-update, eval mode); ``y_model, w_model``:
    ``(n,)`` the ODE solution with the fitted ``(η_h, η_y)`` on the same times ``t``
    (default ``t_k = k``). Returns a float (``inf`` on overflow, e.g. large negative trial
    rates).
    """
    loss, y_model, w_model, t = _mean_fit_data(loss, y_model, w_model, t)
    return _sse_loss(float(_arr("eta_ymean", eta_ymean)), loss, y_model, w_model,
                     float(_nonnegative("m0_sq", m0_sq)), float(_nonnegative("dy2", dy2)),
                     t, output_dim)


def _mean_fit_data(loss, y_model, w_model, t):
    loss, y_model, w_model = _arr("loss", loss), _arr("y_model", y_model), _arr("w_model", w_model)
    if loss.ndim != 1 or loss.shape != y_model.shape or loss.shape != w_model.shape:
        raise ValueError(f"loss, y_model, w_model must be 1-D of equal length, got "
                         f"{loss.shape}, {y_model.shape}, {w_model.shape}")
    n = loss.size
    t = np.arange(n, dtype=float) if t is None else _time_grid(t)
    if t.shape != (n,):
        raise ValueError(f"t must have shape ({n},), got {t.shape}")
    return loss, y_model, w_model, t


def _sse_loss(e, loss, y_model, w_model, m0_sq, dy2, t, output_dim):
    with np.errstate(over="ignore", invalid="ignore"):
        pred = effective_loss(t, y_model, w_model, m0_sq, e, dy2, output_dim)
        s = float(np.sum((loss - pred) ** 2))
    return s if np.isfinite(s) else np.inf


@dataclass(frozen=True)
class MeanRateFit:
    """Result of :func:`fit_mean_output_rate` (spec 3.2): reference result ``eta_ymean``,
    ``loss`` (SSE) and status; ``log_eta_ymean``/``log_loss`` from the log-space refit
    (``nan`` when not run)."""

    eta_ymean: float
    loss: float
    grid_value: float
    bfgs_success: bool
    nonpositive: bool
    log_eta_ymean: float = np.nan
    log_loss: float = np.nan


def fit_mean_output_rate(loss, y_model, w_model, m0_sq, dy2, *, t=None, output_dim=1,
                         grid=None, log_refit="auto"):
    """Fit the mean-output rate ``η_ȳ`` of Eq. 9 / 22 to a tracked loss curve (spec 3.2).

    Grid ``η_ȳ ∈ logspace(−5, 0, 10)`` (default), then BFGS from the best grid value;
    overflowing trial values count as ``PENALTY``. If the result is <= 0 (``"auto"``) or
    always (``True``), also refit ``log η_ȳ`` with Nelder-Mead. ``y_model, w_model`` are
    the ODE solution with the fitted ``(η_h, η_y)`` on the loss samples' times ``t``
    (:func:`solve_three_variable`); ``m0_sq`` = ``||m₀||²`` at epoch 0 (Eq. 22).
    ``loss, y_model, w_model``: ``(n,)``. To mimic the reference (RK45, default
    tolerances, ``t = linspace(0, n, n)``) exactly:
    ``solve_three_variable(np.linspace(0, n, n), z0, eta_h, eta_y, dx2, dy2, method="RK45",
    rtol=1e-3, atol=1e-6, coordinates="hyw")`` and ``t=np.linspace(0, n, n)``.
    Returns a :class:`MeanRateFit`.
    """
    loss, y_model, w_model, t = _mean_fit_data(loss, y_model, w_model, t)
    m0_sq = float(_nonnegative("m0_sq", m0_sq))
    dy2 = float(_nonnegative("dy2", dy2))
    grid = np.logspace(-5, 0, 10) if grid is None else _positive("grid", grid).ravel()
    if log_refit not in ("auto", True, False):
        raise ValueError(f"log_refit must be 'auto', True or False, got {log_refit!r}")

    def S(e):
        return _sse_loss(e, loss, y_model, w_model, m0_sq, dy2, t, output_dim)

    gl = np.array([S(g) for g in grid])
    if not np.any(np.isfinite(gl)):
        raise RuntimeError("loss objective is non-finite for every grid value")
    i = int(np.argmin(gl))

    def objective(x):
        s = S(x[0])
        return s if s < PENALTY else PENALTY

    with np.errstate(all="ignore"):
        res = minimize(objective, np.array([grid[i]]))
    e, s = float(res.x[0]), float(res.fun)
    if not s < gl[i]:
        e, s = float(grid[i]), float(gl[i])
    out = dict(eta_ymean=e, loss=s, grid_value=float(grid[i]), bfgs_success=bool(res.success),
               nonpositive=bool(e <= 0))
    if log_refit is True or (log_refit == "auto" and e <= 0):
        with np.errstate(all="ignore"):
            lres = minimize(lambda lx: min(S(np.exp(lx[0])), PENALTY), np.log([grid[i]]),
                            method="Nelder-Mead")
        out.update(log_eta_ymean=float(np.exp(lres.x[0])), log_loss=float(lres.fun))
    return MeanRateFit(**out)


def average_effective_rates(eta_h, eta_y, final_loss, threshold=1e-2):
    """Average fitted rates over converged trials for predictions (spec 3.3).

    A trial is kept when its last tracked loss is <= ``threshold`` (reference: 1e−2; NaN
    losses or NaN rates are discarded). Arithmetic means of ``η_h`` and of ``η_y`` over the
    kept trials (only the ratio enters Eq. 10-13 predictions). ``eta_h, eta_y, final_loss``:
    ``(n_trials,)``. Returns ``(mean_eta_h, mean_eta_y, kept)`` with ``kept`` a boolean
    ``(n_trials,)`` mask. Raises ``ValueError`` if no trial is kept.
    """
    eh = np.asarray(eta_h, dtype=float)
    ey = np.asarray(eta_y, dtype=float)
    fl = np.asarray(final_loss, dtype=float)
    if eh.ndim != 1 or eh.shape != ey.shape or eh.shape != fl.shape:
        raise ValueError(f"eta_h, eta_y, final_loss must be 1-D of equal length, got "
                         f"{eh.shape}, {ey.shape}, {fl.shape}")
    kept = (fl <= threshold) & np.isfinite(eh) & np.isfinite(ey)
    if not np.any(kept):
        raise ValueError(f"no converged trial (final loss <= {threshold}) to average")
    return float(eh[kept].mean()), float(ey[kept].mean()), kept
