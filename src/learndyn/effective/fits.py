"""Fits of paper B's effective rates to tracked ``h, y, w`` and losses (Eq. 49, spec section 3): the
objectives, the reference fitting procedure with its robustness additions, the mean-output rate (Eq. 22)
and the averaging over converged trials (spec 3.3).

Part of :mod:`learndyn.effective` (its docstring states the conventions: ``h, y, w``, ``dx2, dy2``, time in
epochs, states with last axis ``(h, y, w)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ._checks import nonnegative, numeric, positive, time_grid
from .ode import integrate_partial
from .variables import effective_loss

__all__ = [
    "PENALTY", "FIT_MAX_NFEV", "effective_fit_loss", "RateFit", "fit_effective_rates", "mean_output_fit_loss",
    "MeanRateFit", "fit_mean_output_rate", "average_effective_rates",
]


#: Value that replaces a non-finite objective inside the optimisers (spec 3.1:
#: "return E = +inf (or 1e30)"). Finite so that BFGS' finite-difference gradients
#: stay defined. (Failed ODE solves are by default scored by holding the last valid
#: state instead, see :func:`effective_fit_loss`.)
PENALTY = 1e30

#: Default cap on right-hand-side evaluations per solve inside the fits (robustness
#: addition): well-posed solves at the reference tolerances need < 300.
FIT_MAX_NFEV = 5000


# --------------------------------------------------------------------------------------
# fitting (Eq. 49, spec section 3)


def _fit_data(h, y, w, t):
    h, y, w = numeric("h", h), numeric("y", y), numeric("w", w)
    if h.ndim != 1 or h.shape != y.shape or h.shape != w.shape:
        raise ValueError(f"h, y, w must be 1-D of equal length, got {h.shape}, {y.shape}, {w.shape}")
    n = h.size
    if n < 2:
        raise ValueError("need at least two tracked epochs")
    if h[0] <= 0:
        raise ValueError("h[0] must be > 0 (the ODE is singular at h = 0)")
    t = np.arange(n, dtype=float) if t is None else time_grid(t)
    if t.shape != (n,):
        raise ValueError(f"t must have shape ({n},), got {t.shape}")
    return h, y, w, t


def _sse3(eta_h, eta_y, h, y, w, t, dx2, dy2, method, rtol, atol, max_nfev, on_failure,
          coordinates):
    z0 = np.array([[h[0], y[0], w[0]]])
    Z, n_valid, last, message = integrate_partial(
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
    dx2 = float(positive("dx2", dx2))
    dy2 = float(nonnegative("dy2", dy2))
    _check_on_failure(on_failure)
    eh, ey = float(numeric("eta_h", eta_h)), float(numeric("eta_y", eta_y))
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
    dx2 = float(positive("dx2", dx2))
    dy2 = float(nonnegative("dy2", dy2))
    _check_on_failure(on_failure)
    if ratio is None:
        if dy2 <= 0 or h[-1] <= 0:
            raise ValueError("the default grid ratio h_end²/(dx2 dy2) needs dy2 > 0 and "
                             "h[-1] > 0; pass ratio")
        ratio = h[-1] ** 2 / (dx2 * dy2)
    ratio = float(positive("ratio", ratio))
    grid = np.logspace(-6, 2, 100) if grid is None else positive("grid", grid).ravel()
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
    return _sse_loss(float(numeric("eta_ymean", eta_ymean)), loss, y_model, w_model,
                     float(nonnegative("m0_sq", m0_sq)), float(nonnegative("dy2", dy2)),
                     t, output_dim)


def _mean_fit_data(loss, y_model, w_model, t):
    loss, y_model, w_model = numeric("loss", loss), numeric("y_model", y_model), numeric("w_model", w_model)
    if loss.ndim != 1 or loss.shape != y_model.shape or loss.shape != w_model.shape:
        raise ValueError(f"loss, y_model, w_model must be 1-D of equal length, got "
                         f"{loss.shape}, {y_model.shape}, {w_model.shape}")
    n = loss.size
    t = np.arange(n, dtype=float) if t is None else time_grid(t)
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
    m0_sq = float(nonnegative("m0_sq", m0_sq))
    dy2 = float(nonnegative("dy2", dy2))
    grid = np.logspace(-5, 0, 10) if grid is None else positive("grid", grid).ravel()
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
