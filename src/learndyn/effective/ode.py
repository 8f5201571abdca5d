"""The effective 3-D system of paper B (Eq. 7 / 21): right-hand side, Jacobian and the solver
(:func:`solve_three_variable`; also in the regular signed coordinates), with the partial solve the fits use
(:func:`integrate_partial`).

Part of :mod:`learndyn.effective` (its docstring states the conventions: ``h, y, w``, ``dx2, dy2``, time in
epochs, states with last axis ``(h, y, w)``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, Radau

from ._checks import nonnegative, numeric, positive, state_array, time_grid

__all__ = [
    "IntegrationError", "three_variable_rhs", "three_variable_jacobian", "solve_three_variable",
    "integrate_partial",
]


class IntegrationError(RuntimeError):
    """The ODE solve failed (solver failure, non-finite values, h reached 0 in Eq. 21,
    too many right-hand-side evaluations)."""


# --------------------------------------------------------------------------------------
# the 3-D system (Eq. 7 / 21)


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
    return _rhs(state_array(z), *_parameters(eta_h, eta_y, dx2, dy2))


def _parameters(eta_h, eta_y, dx2, dy2):
    """The four parameters of Eq. 7 / 21, each checked numeric (named in the error)."""
    return tuple(numeric(n, v) for n, v in (("eta_h", eta_h), ("eta_y", eta_y), ("dx2", dx2), ("dy2", dy2)))


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
    return _jac(state_array(z), *_parameters(eta_h, eta_y, dx2, dy2))


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
    t = time_grid(t)
    z0 = state_array(z0, name="z0")
    if z0.ndim > 2:
        raise ValueError(f"z0 must have shape (3,) or (M, 3), got {z0.shape}")
    single = z0.ndim == 1
    Z0 = z0[None] if single else z0
    M = Z0.shape[0]
    if np.any(Z0[:, 0] <= 0):
        raise ValueError("initial h0 must be > 0 (the system is singular at h = 0)")
    eh = numeric("eta_h", eta_h)
    ey = numeric("eta_y", eta_y)
    dx2 = positive("dx2", dx2)
    dy2 = nonnegative("dy2", dy2)
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


def integrate_partial(t, Z0, eh, ey, dx2, dy2, method, rtol, atol, max_nfev=None,
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
    """As :func:`integrate_partial` but all or nothing: raises IntegrationError."""
    Z, _, _, message = integrate_partial(t, Z0, eh, ey, dx2, dy2, method, rtol, atol, max_nfev,
                                          coordinates)
    if message:
        raise IntegrationError(message)
    return Z
