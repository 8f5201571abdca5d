"""Tests of learndyn.effective (paper B effective theory; spec universality.md sections 1-3, 7).

Every check compares against an independent computation: explicit formulas written out
here, a hand-written RK4 integration of the Jacobian gradient flow (spec 1.3), finite
differences, Monte Carlo, or a second ODE solve.
"""

import numpy as np
import pytest
from scipy.integrate import quad

from learndyn import effective as ef


# ------------------------------------------------------------------------------------
# helpers


def rel_err(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


def random_draws(rng, n, eta=(-4, -1)):
    """Random (eta_h, eta_y, dx2, dy2, h0, y0, w0) with an admissible w0 (spec 10.1 ranges)."""
    eh = 10 ** rng.uniform(*eta, n)
    ey = 10 ** rng.uniform(*eta, n)
    dx2 = rng.uniform(0.25, 2.25, n)
    dy2 = rng.uniform(0.0, 1.0, n)
    h0 = 10 ** rng.uniform(-3, np.log10(3), n)
    y0 = 10 ** rng.uniform(-3, np.log10(3), n)
    lo, hi = ef.alignment_bounds(y0, dy2)
    w0 = lo + (hi - lo) * rng.uniform(0, 1, n)
    return eh, ey, dx2, dy2, h0, y0, w0


def matrix_flow_rk4(Jf, Jg, dx, dy, eta_h, eta_y, T, dt, n_out):
    """Fixed-step RK4 of the Jacobian gradient flow, spec Eq. 17a-b (independent of ef).

    dJ_f/dt = -(eta_h/2) J_g^T r dx^T,  dJ_g/dt = -(eta_y/2) r (J_f dx)^T,  r = J_g J_f dx - dy.
    Returns times (n_out,) and h, y, w at those times.
    """
    def f(Jf, Jg):
        dh = Jf @ dx
        r = Jg @ dh - dy
        return -0.5 * eta_h * np.outer(Jg.T @ r, dx), -0.5 * eta_y * np.outer(r, dh)

    def scalars(Jf, Jg):
        dh = Jf @ dx
        dyh = Jg @ dh
        return dh @ dh, dyh @ dyh, dyh @ (dyh - dy)

    n_steps = int(round(T / dt))
    every = n_steps // (n_out - 1)
    out = [scalars(Jf, Jg)]
    for k in range(1, n_steps + 1):
        a1, b1 = f(Jf, Jg)
        a2, b2 = f(Jf + 0.5 * dt * a1, Jg + 0.5 * dt * b1)
        a3, b3 = f(Jf + 0.5 * dt * a2, Jg + 0.5 * dt * b2)
        a4, b4 = f(Jf + dt * a3, Jg + dt * b3)
        Jf = Jf + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4)
        Jg = Jg + dt / 6 * (b1 + 2 * b2 + 2 * b3 + b4)
        if k % every == 0:
            out.append(scalars(Jf, Jg))
    return np.arange(n_out) * every * dt, np.array(out)


# ------------------------------------------------------------------------------------
# right-hand side, Jacobian, solver


def test_rhs_equals_spec_formulas_and_broadcasts():
    rng = np.random.default_rng(1)
    eh, ey, dx2, dy2, h, y, w = random_draws(rng, 50)
    z = np.stack([h, y, w], axis=-1)
    out = ef.three_variable_rhs(z, eh, ey, dx2, dy2)
    assert out.shape == (50, 3)
    expected = np.stack([
        -eh * dx2 * w,
        -w * (ey * h + eh * dx2 * y / h),
        -0.5 * ey * h * (3 * w - y + dy2) - 0.5 * eh * dx2 * w * (y + w) / h,
    ], axis=-1)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=0)
    # single state gives the same as the corresponding row
    np.testing.assert_allclose(ef.three_variable_rhs(z[7], eh[7], ey[7], dx2[7], dy2[7]), out[7],
                               rtol=1e-15)


def test_jacobian_matches_central_differences():
    rng = np.random.default_rng(2)
    eh, ey, dx2, dy2, h, y, w = random_draws(rng, 10)
    z = np.stack([h, y, w], axis=-1)
    J = ef.three_variable_jacobian(z, eh, ey, dx2, dy2)
    for m in range(10):
        num = np.zeros((3, 3))
        for j in range(3):
            step = 1e-6 * max(abs(z[m, j]), 1e-3)
            zp, zm = z[m].copy(), z[m].copy()
            zp[j] += step
            zm[j] -= step
            num[:, j] = (ef.three_variable_rhs(zp, eh[m], ey[m], dx2[m], dy2[m])
                         - ef.three_variable_rhs(zm, eh[m], ey[m], dx2[m], dy2[m])) / (2 * step)
        assert rel_err(J[m], num) < 1e-6


@pytest.mark.parametrize("P,Dx,Dy,seed,alpha",
                         [(40, 3, 2, 0, 0.4), (25, 1, 1, 1, 0.4), (30, 4, 3, 2, 0.4), (40, 3, 2, 0, 0.2)])
def test_ode_matches_jacobian_gradient_flow_without_rotation(P, Dx, Dy, seed, alpha):
    """Spec 7, unit check 6: matrix flow (17a-b) from J_f = a u v^T, J_g = s u^T reproduces Eq. 7/21."""
    rng = np.random.default_rng(seed)
    dx = rng.normal(size=Dx)
    dy = rng.normal(size=Dy)
    dy *= 0.7 / np.linalg.norm(dy)
    u = rng.normal(size=P)
    u /= np.linalg.norm(u)
    v = dx / np.linalg.norm(dx)
    Jf = alpha * np.outer(u, v)
    Jg = np.outer(0.3 * rng.normal(size=Dy), u)
    eta_h, eta_y = 0.8, 1.5
    T, dt = 20.0, 0.008
    times, ref = matrix_flow_rk4(Jf, Jg, dx, dy, eta_h, eta_y, T, dt, n_out=51)
    z0 = ref[0]
    Z = ef.solve_three_variable(times, z0, eta_h, eta_y, dx @ dx, dy @ dy, rtol=1e-11, atol=1e-14)
    for j in range(3):
        assert rel_err(Z[:, j], ref[:, j]) < 1e-9, j
    # Eq. 21 as written: same result, except on passages close to the saddle h = 0,
    # where (h, y, w) are ill-conditioned (alpha = 0.2 dips to h = 2e-5: only 3e-7
    # agreement, worse at tighter rtol). Only well-conditioned draws are compared.
    if ref[:, 0].min() > 1e-2:
        Zh = ef.solve_three_variable(times, z0, eta_h, eta_y, dx @ dx, dy @ dy, rtol=1e-11,
                                     atol=1e-14, coordinates="hyw")
        assert rel_err(Zh, ref) < 1e-9
    else:
        assert ref[:, 0].min() < 2e-3 * ref[0, 0]
    # the trajectory actually moves (h changes by more than 30 %)
    assert abs(ref[-1, 0] - ref[0, 0]) > 0.3 * ref[0, 0]
    # 1-D outputs: (y - w)^2 = y dy2 exactly; otherwise w within the admissible range
    lo, hi = ef.alignment_bounds(Z[:, 1], dy @ dy)
    if Dy == 1:
        np.testing.assert_allclose((Z[:, 1] - Z[:, 2]) ** 2, Z[:, 1] * (dy @ dy), rtol=1e-7, atol=1e-12)
    assert np.all(Z[:, 2] >= lo - 1e-10) and np.all(Z[:, 2] <= hi + 1e-10)


def test_representations_passing_through_each_other():
    """Anti-aligned outputs and a slow decoder: Δh shrinks through 0 and flips sign.

    The signed coordinates follow the Jacobian flow through h = 0 accurately; Eq. 21 as
    written is singular there (dh/dt ~ sqrt(h)) and only roughly right (1e-6 .. 1e-4,
    not improving with rtol)."""
    P = 20
    rng = np.random.default_rng(21)
    u = rng.normal(size=P)
    u /= np.linalg.norm(u)
    dx, dy = np.array([1.0]), np.array([0.7])
    Jf = 0.5 * np.outer(u, [1.0])
    Jg = -0.5 * u[None, :]
    times, ref = matrix_flow_rk4(Jf, Jg, dx, dy, 1.0, 0.05, 40.0, 0.01, n_out=81)
    i_min = np.argmin(ref[:, 0])
    assert 0 < i_min < 80 and ref[i_min, 0] < 1e-2 * ref[0, 0]  # dips to (almost) 0 ...
    assert ref[-1, 0] > 0.1 * ref[0, 0]                        # ... and grows again
    Z = ef.solve_three_variable(times, ref[0], 1.0, 0.05, 1.0, 0.49, rtol=1e-11, atol=1e-14)
    assert rel_err(Z, ref) < 1e-8
    Zh = ef.solve_three_variable(times, ref[0], 1.0, 0.05, 1.0, 0.49, coordinates="hyw")
    assert rel_err(Zh, ref) < 1e-3


def test_rotation_breaks_the_reduction():
    """Negative control: off the no-rotation manifold the 3-D system is not exact."""
    rng = np.random.default_rng(0)
    P, Dx, Dy = 40, 3, 2
    dx = rng.normal(size=Dx)
    dy = rng.normal(size=Dy)
    u = rng.normal(size=P)
    u /= np.linalg.norm(u)
    Jf = 0.2 * np.outer(u, dx / np.linalg.norm(dx))
    Jg = np.outer(0.3 * rng.normal(size=Dy), u) + 0.3 * rng.normal(size=(Dy, P)) / np.sqrt(P)
    times, ref = matrix_flow_rk4(Jf, Jg, dx, dy, 0.8, 1.5, 20.0, 0.01, n_out=21)
    Z = ef.solve_three_variable(times, ref[0], 0.8, 1.5, dx @ dx, dy @ dy)
    assert rel_err(Z[:, 0], ref[:, 0]) > 1e-2


def test_batched_solve_equals_individual_solves():
    rng = np.random.default_rng(3)
    eh, ey, dx2, dy2, h0, y0, w0 = random_draws(rng, 4, eta=(-2, -1))
    t = np.linspace(0, 300, 31)
    Z = ef.solve_three_variable(t, np.stack([h0, y0, w0], 1), eh, ey, dx2, dy2)
    assert Z.shape == (4, 31, 3)
    for m in range(4):
        # independent explicit solver on a single trajectory
        Zm = ef.solve_three_variable(t, [h0[m], y0[m], w0[m]], eh[m], ey[m], dx2[m], dy2[m],
                                     method="DOP853", rtol=1e-12, atol=1e-16)
        assert rel_err(Z[m], Zm) < 1e-8


# ------------------------------------------------------------------------------------
# conserved relation, 2-D reduction


def test_conserved_quantity_along_solutions_and_reduced_system():
    rng = np.random.default_rng(4)
    eh, ey, dx2, dy2, h0, y0, w0 = random_draws(rng, 8, eta=(-3, -1))
    t = np.linspace(0, 2000, 201)
    worst = 0.0
    for m in range(8):
        coords = "hyw" if m % 2 else "signed"
        Z = ef.solve_three_variable(t, [h0[m], y0[m], w0[m]], eh[m], ey[m], dx2[m], dy2[m],
                                    coordinates=coords)
        q = ef.conserved_quantity(Z[:, 0], Z[:, 1], eh[m], ey[m], dx2[m])
        k = ey[m] / (eh[m] * dx2[m])
        scale = abs(y0[m] / h0[m]) + k * Z[:, 0].max()
        worst = max(worst, np.max(np.abs(q - q[0])) / scale)
        # Eq. 24: y = Y(h) along the solution
        Y = ef.output_distance_on_invariant(Z[:, 0], h0[m], y0[m], eh[m], ey[m], dx2[m])
        assert rel_err(Y, Z[:, 1]) < 1e-6
        # Eq. 25 equals Eq. 21 on the invariant
        red = ef.reduced_rhs(Z[:, [0, 2]], h0[m], y0[m], eh[m], ey[m], dx2[m], dy2[m])
        full = ef.three_variable_rhs(Z, eh[m], ey[m], dx2[m], dy2[m])
        assert rel_err(red, full[:, [0, 2]]) < 1e-5
    assert worst < 1e-6


# ------------------------------------------------------------------------------------
# final distance and limits


def test_final_distance_matches_long_integrations():
    """Spec 7, unit check 2 (fewer draws to stay fast): integrate to t = 1e9 and compare with h_+."""
    rng = np.random.default_rng(5)
    n = 20
    eh, ey, dx2, dy2, h0, y0, w0 = random_draws(rng, n)
    hp = ef.final_representational_distance(h0, y0, eh, ey, dx2, dy2)
    errs = np.empty(n)
    for m in range(n):
        Z = ef.solve_three_variable([0.0, 1e9], [h0[m], y0[m], w0[m]], eh[m], ey[m], dx2[m], dy2[m])
        errs[m] = abs(Z[-1, 0] - hp[m]) / hp[m]
        assert abs(Z[-1, 2]) < 1e-8  # w* = 0 (Eq. 26)
    # signed coordinates: regular everywhere -> exact to the solver tolerance
    assert np.median(errs) < 1e-10
    assert errs.max() < 1e-7
    # Eq. 21 as written (spec thresholds; the worst draws pass close to h = 0)
    errs_hyw = np.empty(6)
    for m in range(6):
        Z = ef.solve_three_variable([0.0, 1e9], [h0[m], y0[m], w0[m]], eh[m], ey[m], dx2[m], dy2[m],
                                    coordinates="hyw")
        errs_hyw[m] = abs(Z[-1, 0] - hp[m]) / hp[m]
    assert np.median(errs_hyw) < 1e-8
    assert errs_hyw.max() < 1e-3


def test_final_distance_formula_and_root():
    h0, y0, eh, ey, dx2, dy2 = 0.3, 0.2, 2e-3, 5e-2, 1.3, 0.7
    r = eh / ey
    A = h0 - r * dx2 * y0 / h0
    B = np.sqrt(r * dx2 * dy2)
    A2, B2 = ef.final_distance_coefficients(h0, y0, eh, ey, dx2, dy2)
    assert np.isclose(A2, A, rtol=1e-15) and np.isclose(B2, B, rtol=1e-15)
    hp = ef.final_representational_distance(h0, y0, eh, ey, dx2, dy2)
    assert np.isclose(hp, A / 2 + np.sqrt(A**2 / 4 + B**2), rtol=1e-14)
    # Eq. 27: Y(h_+) = dy2 (perfect fit) and h_+ solves h^2 - A h - B^2 = 0
    assert np.isclose(ef.output_distance_on_invariant(hp, h0, y0, eh, ey, dx2), dy2, rtol=1e-12)
    # A << 0: no cancellation, h_+ = B^2/|A| to leading order (the naive formula gives 0 here)
    hp_neg = ef.final_representational_distance(1e-4, 1e4, 1.0, 1.0, 1.0, 1e-8)
    A_neg, B_neg = ef.final_distance_coefficients(1e-4, 1e4, 1.0, 1.0, 1.0, 1e-8)
    assert A_neg < -1e7
    assert np.isclose(hp_neg, B_neg**2 / abs(A_neg), rtol=1e-12)
    assert abs(hp_neg**2 - A_neg * hp_neg - B_neg**2) < 1e-12 * B_neg**2
    # only the ratio of the rates matters
    assert np.isclose(ef.final_representational_distance(h0, y0, 10 * eh, 10 * ey, dx2, dy2), hp,
                      rtol=1e-15)


def test_rich_and_lazy_limits():
    eh, ey, dx2, dy2 = 1e-3, 4e-2, 1.0, 0.5
    B = ef.rich_limit_distance(eh, ey, dx2, dy2)
    assert np.isclose(B, np.sqrt(eh / ey * dx2 * dy2), rtol=1e-15)
    h0_base, y0_base = 1.0, 0.2
    lazy_errs, rich_errs = [], []
    for scale in (1e0, 1e1, 1e2, 1e3):
        # large weights: h0, y0 grow together (Eq. 41) -> h_inf -> A (Eq. 12)
        h0, y0 = scale * h0_base, scale * y0_base
        hp = ef.final_representational_distance(h0, y0, eh, ey, dx2, dy2)
        A = ef.lazy_limit_distance(h0, y0, eh, ey, dx2)
        assert np.isclose(A, h0 - eh / ey * dx2 * y0 / h0, rtol=1e-15)
        lazy_errs.append(abs(hp - A) / hp)
    for scale in (1e-2, 1e-3, 1e-4, 1e-5):
        # small weights: A -> 0 -> h_inf -> B (Eq. 13), independent of the initialisation
        h0, y0 = scale * h0_base, scale**2 * y0_base
        hp = ef.final_representational_distance(h0, y0, eh, ey, dx2, dy2)
        rich_errs.append(abs(hp - B) / B)
    lazy_errs, rich_errs = np.array(lazy_errs), np.array(rich_errs)
    # relative error of the lazy limit ~ B^2/A^2 (falls 100x per decade of scale)
    assert np.all(np.diff(np.log10(lazy_errs)) < -1.9) and lazy_errs[-1] < 1e-7
    # relative error of the rich limit ~ A/(2B) (falls 10x per decade)
    assert np.all(np.diff(np.log10(rich_errs)) < -0.9) and rich_errs[-1] < 1e-4
    # lazy limit with A < 0 tends to 0
    assert ef.lazy_limit_distance(0.01, 1.0, 1.0, 1.0, 1.0) == 0.0


def test_stable_fixed_point_jacobian_by_finite_differences():
    rng = np.random.default_rng(6)
    for _ in range(4):
        eh, ey, dx2, dy2, h0, y0, _w = (v[0] for v in random_draws(rng, 1, eta=(-3, -1)))
        dy2 = max(dy2, 0.1)
        J, tr, det = ef.stable_fixed_point_jacobian(h0, y0, eh, ey, dx2, dy2)
        hp = ef.final_representational_distance(h0, y0, eh, ey, dx2, dy2)
        num = np.zeros((2, 2))
        for j, step in enumerate((1e-6 * hp, 1e-6 * hp)):
            zp, zm = np.array([hp, 0.0]), np.array([hp, 0.0])
            zp[j] += step
            zm[j] -= step
            num[:, j] = (ef.reduced_rhs(zp, h0, y0, eh, ey, dx2, dy2)
                         - ef.reduced_rhs(zm, h0, y0, eh, ey, dx2, dy2)) / (2 * step)
        assert rel_err(J, num) < 1e-5
        assert np.isclose(np.trace(num), tr, rtol=1e-5) and np.isclose(np.linalg.det(num), det, rtol=1e-5)
        assert tr < 0 and det > 0
        assert np.all(np.linalg.eigvals(num).real < 0)
        # the fixed point is one: rhs vanishes there
        assert np.all(np.abs(ef.reduced_rhs([hp, 0.0], h0, y0, eh, ey, dx2, dy2)) < 1e-14)


def test_saddle_at_zero_distance():
    h0, y0, eh, ey, dx2, dy2 = 0.05, 0.01, 2e-3, 3e-2, 1.0, 0.5
    cp, cm, lp, lm = ef.saddle_directions(h0, y0, eh, ey, dx2, dy2)
    assert cp * cm < 0 and lp * lm < 0
    for c, lam in ((cp, lp), (cm, lm)):
        h = 1e-7
        dh, dw = ef.reduced_rhs([h, c * h], h0, y0, eh, ey, dx2, dy2)
        assert np.isclose(dw / dh, c, rtol=1e-4)
        assert np.isclose(dh / h, lam, rtol=1e-4)


# ------------------------------------------------------------------------------------
# identical outputs, lazy rescaling, loss


@pytest.mark.parametrize("h0,y0", [(0.2, 0.05), (0.05, 0.3), (0.1, None)])
def test_identical_output_solution_matches_ode(h0, y0):
    eh, ey, dx2 = 3e-3, 4e-2, 1.2
    if y0 is None:  # A = 0 exactly: h = h0 / (1 + eta_y h0 t)
        y0 = h0**2 * ey / (eh * dx2)
    A, _ = ef.final_distance_coefficients(h0, y0, eh, ey, dx2, 0.0)
    t = np.linspace(0, 3000, 61)
    h, y, w = ef.identical_output_solution(t, h0, y0, eh, ey, dx2)
    Z = ef.solve_three_variable(t, [h0, y0, y0], eh, ey, dx2, 0.0, rtol=1e-11, atol=1e-15)
    assert rel_err(h, Z[:, 0]) < 1e-8
    assert rel_err(y, Z[:, 1]) < 1e-8
    assert rel_err(Z[:, 2], Z[:, 1]) < 1e-8  # w == y along the ODE (Eq. 37)
    np.testing.assert_array_equal(w, y)
    if abs(A) < 1e-12:
        np.testing.assert_allclose(h, h0 / (1 + ey * h0 * t), rtol=1e-12)
    # long time: h -> max(A, 0)
    h_end, _, _ = ef.identical_output_solution(1e7, h0, y0, eh, ey, dx2)
    if abs(A) < 1e-12:  # algebraic decay
        assert np.isclose(h_end, h0 / (1 + ey * h0 * 1e7), rtol=1e-9)
    else:
        assert np.isclose(h_end, max(A, 0.0), rtol=1e-9, atol=1e-300)


def test_lazy_rescaling_identity_and_limit():
    eh, ey, dx2, dy2 = 2e-2, 5e-2, 1.0, 0.5
    z0 = np.array([0.3, 0.1, 0.1])
    t = np.linspace(0, 200, 41)
    dists = []
    for lam in (1.0, 10.0, 100.0):
        eh_t, ey_t, dy2_t = ef.lazy_rescaled_parameters(lam, eh, ey, dy2)
        assert eh_t == eh and np.isclose(ey_t, lam * ey) and np.isclose(dy2_t, dy2 / lam)
        big = ef.solve_three_variable(t, lam * z0, eh, ey, dx2, dy2)
        tilde = ef.solve_three_variable(t, z0, eh_t, ey_t, dx2, dy2_t)
        assert rel_err(big / lam, tilde) < 1e-7
        ident = ef.solve_three_variable(t, z0, eh_t, ey_t, dx2, 0.0)
        dists.append(np.max(np.abs(tilde - ident)))
    ratios = np.array(dists[:-1]) / np.array(dists[1:])
    # distance to the identical-output dynamics falls like 1/lambda
    assert np.all((ratios > 5) & (ratios < 20)), ratios
    # general exponents (a, b)
    eh2, ey2, dy22 = ef.lazy_rescaled_parameters(10.0, eh, ey, dy2, a=1.0, b=2.0)
    assert np.isclose(eh2, 10 * eh) and np.isclose(ey2, 10 * ey) and np.isclose(dy22, dy2 / 100)
    z0b = np.array([0.3, 0.1, 0.05])
    big = ef.solve_three_variable(t, z0b * [10, 100, 100], eh, ey, dx2, dy2)
    tilde = ef.solve_three_variable(t, z0b, eh2, ey2, dx2, dy22)
    assert rel_err(big / [10, 100, 100], tilde) < 1e-7


@pytest.mark.parametrize("Dy", [1, 3])
def test_loss_identity_for_two_points(Dy):
    rng = np.random.default_rng(7 + Dy)
    for _ in range(5):
        yhat = rng.normal(size=(2, Dy))
        ytar = rng.normal(size=(2, Dy))
        tracked = 0.5 * np.mean((yhat - ytar) ** 2)
        _, y, w = ef.scalar_variables(np.ones(2), yhat[1] - yhat[0], ytar[1] - ytar[0])
        m_sq = ef.mean_output_error_squared(yhat[0], yhat[1], ytar[0], ytar[1])
        dy2 = np.sum((ytar[1] - ytar[0]) ** 2)
        pred = ef.effective_loss(0.0, y, w, m_sq, 0.123, dy2, output_dim=Dy)
        assert abs(pred - tracked) < 1e-14 * max(1.0, tracked)


def test_loss_curve_plateau_and_mean_decay():
    t = np.array([0.0, 10.0, 100.0])
    m = ef.mean_output_error_decay(t, 0.4, 0.01)
    np.testing.assert_allclose(m, 0.4 * np.exp(-0.02 * t), rtol=1e-15)
    # plateau value dy2/8 when y = w = 0 and the mean is fitted (spec 2.2)
    ell = ef.effective_loss(1e6, 0.0, 0.0, 0.4, 0.01, 0.5)
    assert np.isclose(ell, 0.0625, rtol=1e-12)
    # perfect fit: y = dy2, w = 0 -> loss 0
    assert ef.effective_loss(1e6, 0.5, 0.0, 0.4, 0.01, 0.5) == pytest.approx(0.0, abs=1e-15)


def test_scalar_variables_trajectory_shapes():
    rng = np.random.default_rng(8)
    dh = rng.normal(size=(5, 7))
    dyh = rng.normal(size=(5, 2))
    dy = rng.normal(size=2)
    h, y, w = ef.scalar_variables(dh, dyh, dy)
    assert h.shape == y.shape == w.shape == (5,)
    np.testing.assert_allclose(h, np.sum(dh**2, 1))
    np.testing.assert_allclose(w, y - dyh @ dy)


# ------------------------------------------------------------------------------------
# random features, depth, pairwise predictions, exponential weighing


def test_random_feature_distribution():
    B, mu, kappa = np.sqrt(0.4), 0.3, 0.5
    total, _ = quad(lambda s: ef.final_distance_density(s, B, mu, kappa, 1.0), 0, np.inf)
    assert abs(total - 1) < 1e-7
    # Monte Carlo of A ~ N(mu sigma^2, (kappa sigma^2)^2) mapped through Eq. 10
    rng = np.random.default_rng(9)
    A = rng.normal(mu, kappa, 200_000)
    hp = A / 2 + np.sqrt(A**2 / 4 + B**2)
    s = np.linspace(0.05, 3.0, 60)
    emp = np.searchsorted(np.sort(hp), s) / hp.size
    assert np.max(np.abs(emp - ef.final_distance_cdf(s, B, mu, kappa, 1.0))) < 5e-3
    # density is the derivative of the CDF
    ds = 1e-6
    deriv = (ef.final_distance_cdf(s + ds, B, mu, kappa, 1.0)
             - ef.final_distance_cdf(s - ds, B, mu, kappa, 1.0)) / (2 * ds)
    np.testing.assert_allclose(deriv, ef.final_distance_density(s, B, mu, kappa, 1.0), rtol=1e-5, atol=1e-8)
    # Eq. 44 inverts Eq. 10
    np.testing.assert_allclose(ef.lazy_parameter_from_final_distance(hp[:100], B), A[:100], rtol=1e-9, atol=1e-12)
    # small gain -> concentrated at B; large gain -> broad
    stds, means = [], []
    for sigma in (1.0, 0.3, 0.1):
        Asig = rng.normal(mu * sigma**2, kappa * sigma**2, 100_000)
        hsig = Asig / 2 + np.sqrt(Asig**2 / 4 + B**2)
        stds.append(hsig.std())
        means.append(hsig.mean())
    assert stds[0] > 0.2 and stds[2] < 0.005 and stds[0] > stds[1] > stds[2]
    assert abs(means[2] - B) < 0.01
    assert ef.final_distance_density(-1.0, B, mu, kappa, 1.0) == 0.0


def test_depth_scaling():
    layers = np.arange(20)
    np.testing.assert_allclose(ef.initial_distance_at_depth(1.0, 0.5, layers), 0.5**layers)
    rng = np.random.default_rng(10)
    h0 = 0.93 * 0.5**layers * np.exp(rng.normal(0, 0.1, 20))
    g2, c = ef.layer_gain_from_initial_distances(h0)
    assert abs(g2 - 0.5) < 0.02 and abs(c / 0.93 - 1) < 0.2


def test_pairwise_final_distances_xor_small_weights():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    Y = np.array([[0], [1], [1], [0]], float)
    sq = lambda M: np.sum((M[:, None] - M[None]) ** 2, -1)
    dx2, dy2 = sq(X), sq(Y)
    rng = np.random.default_rng(11)
    H = 1e-2 * rng.normal(size=(4, 5))
    Yh = 1e-3 * rng.normal(size=(4, 1))
    h0, y0 = sq(H), sq(Yh)
    eh, ey = 1e-3, 5e-2
    P = ef.pairwise_final_distances(h0, y0, dx2, dy2, eh, ey)
    assert np.all(np.diag(P) == 0) and np.allclose(P, P.T)
    i, j = 0, 1
    assert np.isclose(P[i, j], ef.final_representational_distance(h0[i, j], y0[i, j], eh, ey, dx2[i, j], dy2[i, j]))
    same = [P[0, 3], P[1, 2]]
    diff = [P[0, 1], P[0, 2], P[1, 3], P[2, 3]]
    assert max(same) < 0.05 * min(diff)  # same-target pairs merge at small weights


def test_exponential_weighing_explicit_sum():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(6, 3))
    Y = rng.normal(size=(6, 2))
    D = ef.rich_limit_distance_matrix(X, Y)
    expl = np.array([[np.linalg.norm(X[i] - X[j]) * np.linalg.norm(Y[i] - Y[j]) for j in range(6)]
                     for i in range(6)])
    np.testing.assert_allclose(D, expl, rtol=1e-12, atol=1e-14)
    Dt = ef.exponential_weighing(D)
    E = np.exp(-D)
    loop = np.array([[sum(E[i, k] * D[k, l] * E[l, j] for k in range(6) for l in range(6))
                      for j in range(6)] for i in range(6)])
    np.testing.assert_allclose(Dt, loop, rtol=1e-12)
    np.testing.assert_allclose(ef.rich_limit_distance_matrix(X, Y, eta_ratio=4.0), 2 * expl, rtol=1e-12, atol=1e-14)


def test_exponential_weighing_class_shortcut_equals_full():
    """Spec 7, unit check 9 on synthetic 'raw-pixel-like' data: well separated classes, one-hot targets."""
    rng = np.random.default_rng(13)
    C, per, dim = 4, 25, 6
    centres = 1000.0 * rng.normal(size=(C, dim))
    assert np.min(ef.rich_limit_distance_matrix(centres, np.eye(C))[~np.eye(C, dtype=bool)]) > 1200
    labels = np.repeat(np.arange(C), per)
    rng.shuffle(labels)
    X = centres[labels] + 20.0 * rng.normal(size=(C * per, dim))
    T = np.eye(C)
    full = ef.exponential_weighing(ef.rich_limit_distance_matrix(X, T[labels]))
    M = ef.exponential_weighing_by_class(X, labels, T, chunk_size=7)
    assert M.shape == (C, C) and np.all(np.diag(M) == 0)
    short = M[labels[:, None], labels[None, :]]
    assert rel_err(short, full) < 1e-10
    # not separated -> E is no indicator -> refuse
    with pytest.raises(ValueError, match="indicator"):
        ef.exponential_weighing_by_class(X / 100.0, labels, T)


# ------------------------------------------------------------------------------------
# fitting


@pytest.fixture(scope="module")
def synthetic_run():
    """Spec 7, unit check 8 data: (eta_h, eta_y) = (7e-4, 4e-2), h0 = 1e-3, y0 = 3e-9, w0 = 4e-5, n = 6000."""
    t = np.arange(6000.0)
    Z = ef.solve_three_variable(t, [1e-3, 3e-9, 4e-5], 7e-4, 4e-2, 1.0, 0.5)
    return t, Z


def test_fit_recovers_rates_noise_free(synthetic_run):
    _, Z = synthetic_run
    fit = ef.fit_effective_rates(Z[:, 0], Z[:, 1], Z[:, 2], 1.0, 0.5)
    assert abs(fit.eta_h / 7e-4 - 1) < 0.01
    assert abs(fit.eta_y / 4e-2 - 1) < 0.01
    assert not fit.nonpositive and np.isnan(fit.log_eta_h)
    assert fit.loss < 1e-4 * fit.grid_loss
    assert fit.positive_rates == (fit.eta_h, fit.eta_y, fit.loss)
    # the objective at the truth is tiny compared with a 20 % wrong rate
    e_true = ef.effective_fit_loss(7e-4, 4e-2, *Z.T, 1.0, 0.5)
    e_wrong = ef.effective_fit_loss(7e-4 * 1.2, 4e-2, *Z.T, 1.0, 0.5)
    assert e_true < 1e-3 * e_wrong


def test_fit_recovers_rates_mildly_noisy(synthetic_run):
    _, Z = synthetic_run
    rng = np.random.default_rng(14)
    noisy = Z + 0.01 * np.abs(Z).max(axis=0) * rng.normal(size=Z.shape)
    noisy[0] = Z[0]
    fit = ef.fit_effective_rates(*noisy.T, 1.0, 0.5, grid=np.logspace(-6, 2, 50))
    assert abs(fit.eta_h / 7e-4 - 1) < 0.05
    assert abs(fit.eta_y / 4e-2 - 1) < 0.05


def test_fit_flags_negative_rates_and_refits_in_log_space():
    t = np.arange(1500.0)
    z0 = [0.2, 0.3, 0.3 - np.sqrt(0.15)]
    Z = ef.solve_three_variable(t, z0, -5e-4, 1e-2, 1.0, 0.5)
    fit = ef.fit_effective_rates(*Z.T, 1.0, 0.5, grid=np.logspace(-6, 2, 30))
    assert fit.nonpositive and fit.eta_h < 0
    assert abs(fit.eta_h / -5e-4 - 1) < 0.01 and abs(fit.eta_y / 1e-2 - 1) < 0.01
    assert fit.log_eta_h > 0 and fit.log_eta_y > 0
    assert fit.log_loss >= fit.loss
    assert fit.positive_rates == (fit.log_eta_h, fit.log_eta_y, fit.log_loss)


def test_fit_mean_output_rate(synthetic_run):
    t, Z = synthetic_run
    loss = ef.effective_loss(t, Z[:, 1], Z[:, 2], 0.3, 1.2e-2, 0.5)
    fit = ef.fit_mean_output_rate(loss, Z[:, 1], Z[:, 2], 0.3, 0.5)
    assert abs(fit.eta_ymean / 1.2e-2 - 1) < 1e-4 and not fit.nonpositive
    rng = np.random.default_rng(15)
    noisy = loss + 0.01 * loss.max() * rng.normal(size=loss.size)
    fit = ef.fit_mean_output_rate(noisy, Z[:, 1], Z[:, 2], 0.3, 0.5)
    assert abs(fit.eta_ymean / 1.2e-2 - 1) < 0.03
    assert ef.mean_output_fit_loss(fit.eta_ymean, noisy, Z[:, 1], Z[:, 2], 0.3, 0.5) == pytest.approx(fit.loss)


def test_average_effective_rates():
    eh = np.array([1.0, 2.0, 3.0, np.nan, 5.0])
    ey = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    loss = np.array([1e-3, 2e-2, 5e-3, 1e-4, np.nan])
    mh, my, kept = ef.average_effective_rates(eh, ey, loss)
    np.testing.assert_array_equal(kept, [True, False, True, False, False])
    assert mh == 2.0 and my == 20.0
    with pytest.raises(ValueError, match="no converged"):
        ef.average_effective_rates(eh, ey, np.ones(5))


# ------------------------------------------------------------------------------------
# input validation and failure handling


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="h0"):
        ef.solve_three_variable([0, 1], [0.0, 0.1, 0.1], 1, 1, 1, 1)
    with pytest.raises(ValueError, match="last axis"):
        ef.three_variable_rhs(np.ones(4), 1, 1, 1, 1)
    with pytest.raises(ValueError, match="non-decreasing"):
        ef.solve_three_variable([0, 2, 1], [0.1, 0.1, 0.1], 1, 1, 1, 1)
    with pytest.raises(ValueError, match="dx2"):
        ef.solve_three_variable([0, 1], [0.1, 0.1, 0.1], 1, 1, -1.0, 1)
    with pytest.raises(ValueError, match="eta_h"):
        ef.final_representational_distance(0.1, 0.1, -1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        ef.final_representational_distance(np.nan, 0.1, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="square"):
        ef.exponential_weighing(np.ones((2, 3)))
    with pytest.raises(ValueError, match="equal length"):
        ef.fit_effective_rates(np.ones(5), np.ones(4), np.ones(5), 1.0, 0.5)
    with pytest.raises(ValueError, match="ratio"):
        ef.fit_effective_rates(np.ones(5), np.ones(5), np.ones(5), 1.0, 0.0)
    with pytest.raises(ValueError, match="method"):
        ef.solve_three_variable([0, 1], [0.1, 0.1, 0.1], 1, 1, 1, 1, method="Euler")


def test_solver_failure_is_reported_and_guarded():
    t = np.arange(6000.0)
    z0 = [1e-3, 3e-9, 4e-5]
    # negative eta_h drives h through 0 (the ODE is singular there)
    with pytest.raises(ef.IntegrationError, match="h reached 0"):
        ef.solve_three_variable(t, z0, -0.336, 0.0328, 1.0, 0.5, rtol=1e-3, atol=1e-6,
                                coordinates="hyw")
    Z = ef.solve_three_variable(t, z0, 7e-4, 4e-2, 1.0, 0.5, rtol=1e-3, atol=1e-6)
    e_inf = ef.effective_fit_loss(-0.336, 0.0328, *Z.T, 1.0, 0.5, on_failure="inf")
    e_hold = ef.effective_fit_loss(-0.336, 0.0328, *Z.T, 1.0, 0.5)
    assert e_inf == np.inf
    assert np.isfinite(e_hold) and e_hold > 1.0


@pytest.mark.parametrize("method", ["Radau", "RK45", "DOP853", "LSODA", "BDF"])
def test_h_crossing_is_detected_whatever_the_integrator(method):
    """The h = 0 guard is an event on the solver's interpolant, not the solver's luck. Here the true
    trajectory touches h = 0 at t ~ 216.5 (the regular signed form: a = sqrt(h) changes sign there), where
    Eq. 21 is singular. Whatever the method and tolerance, the solve either raises IntegrationError naming
    the time and the rates, or returns a trajectory whose h stays > 0; at the fits' loose tolerances every
    method raises, at or before the touch."""
    t = np.arange(6000.0)
    z0 = [1e-3, 3e-9, 4e-5]
    Z = ef.solve_three_variable(t, z0, -0.336, 0.0328, 1.0, 0.5, coordinates="signed")
    assert Z[216, 0] < 1e-6 and Z[210, 0] > 5e-5 and Z[230, 0] > 1e-4  # the true trajectory touches h = 0
    tolerances = [(1e-3, 1e-6)] + ([(1e-8, 1e-13)] if method in ("Radau", "RK45") else [])
    for rtol, atol in tolerances:
        try:
            Zh = ef.solve_three_variable(t, z0, -0.336, 0.0328, 1.0, 0.5, rtol=rtol, atol=atol, method=method,
                                         coordinates="hyw")
        except ef.IntegrationError as exc:
            msg = str(exc)
            assert "h reached 0 at t = " in msg and "eta_h = -0.336" in msg and "eta_y = 0.0328" in msg
            t_cross = float(msg.split("at t = ")[1].split()[0])
            assert 0.0 < t_cross < 6000.0 and (rtol > 1e-4) <= (t_cross < 218.0), msg
        else:
            assert rtol < 1e-4, f"{method} at rtol {rtol} passed h = 0 without an error"
            assert np.all(Zh[:, 0] > 0.0)
