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

Contents (one module per idea; this package re-exports the public names):

* :mod:`~learndyn.effective.variables` -- the measured quantities: :func:`scalar_variables`,
  :func:`alignment_bounds` (Eq. 8 / 20), :func:`mean_output_error_squared`,
  :func:`mean_output_error_decay` (Eq. 18), :func:`effective_loss` (Eq. 9 / 22);
* :mod:`~learndyn.effective.ode` -- dynamics: :func:`three_variable_rhs`,
  :func:`three_variable_jacobian`, :func:`solve_three_variable` (Eq. 7 / 21), :class:`IntegrationError`;
* :mod:`~learndyn.effective.final_distance` -- conserved relation: :func:`conserved_quantity`,
  :func:`output_distance_on_invariant` (Eq. 23-24), :func:`reduced_rhs` (Eq. 25);
  fixed points: :func:`final_distance_coefficients` (Eq. 11 / 28),
  :func:`final_representational_distance` (Eq. 10 / 36),
  :func:`stable_fixed_point_jacobian` (Eq. 29-31), :func:`saddle_directions`
  (Eq. 32-35), :func:`lazy_limit_distance` (Eq. 12), :func:`rich_limit_distance` (Eq. 13);
  identical outputs: :func:`identical_output_solution` (Eq. 37-40);
  lazy rescaling: :func:`lazy_rescaled_parameters` (Eq. 41-43);
  random features: :func:`lazy_parameter_from_final_distance` (Eq. 44),
  :func:`final_distance_cdf` (Eq. 45-47), :func:`final_distance_density` (Eq. 48);
* :mod:`~learndyn.effective.depth` -- depth: :func:`initial_distance_at_depth` (Eq. 14),
  :func:`layer_gain_from_initial_distances`;
* :mod:`~learndyn.effective.pairwise` -- many points: :func:`pairwise_final_distances` (Eq. 10 on
  distance matrices), exponential weighing: :func:`rich_limit_distance_matrix`,
  :func:`exponential_weighing`, :func:`exponential_weighing_by_class` (Eq. 50);
* :mod:`~learndyn.effective.fits` -- fitting: :func:`effective_fit_loss`, :func:`fit_effective_rates`
  (Eq. 49), :func:`mean_output_fit_loss`, :func:`fit_mean_output_rate` (Eq. 22 / 49),
  :func:`average_effective_rates` (spec 3.3).
"""

from __future__ import annotations

from .depth import initial_distance_at_depth, layer_gain_from_initial_distances
from .final_distance import (
    conserved_quantity,
    final_distance_cdf,
    final_distance_coefficients,
    final_distance_density,
    final_representational_distance,
    identical_output_solution,
    lazy_limit_distance,
    lazy_parameter_from_final_distance,
    lazy_rescaled_parameters,
    output_distance_on_invariant,
    reduced_rhs,
    rich_limit_distance,
    saddle_directions,
    stable_fixed_point_jacobian,
)
from .fits import (
    FIT_MAX_NFEV,
    PENALTY,
    MeanRateFit,
    RateFit,
    average_effective_rates,
    effective_fit_loss,
    fit_effective_rates,
    fit_mean_output_rate,
    mean_output_fit_loss,
)
from .ode import IntegrationError, solve_three_variable, three_variable_jacobian, three_variable_rhs
from .pairwise import (
    exponential_weighing,
    exponential_weighing_by_class,
    pairwise_final_distances,
    rich_limit_distance_matrix,
)
from .variables import (
    alignment_bounds,
    effective_loss,
    mean_output_error_decay,
    mean_output_error_squared,
    scalar_variables,
)

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
