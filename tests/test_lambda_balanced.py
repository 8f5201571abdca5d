"""Paper C (lambda-balanced networks): spec lambda-balanced.md section 5, checks 1-9 and 11-13, on the core
module :mod:`learndyn.lambda_balanced` (closed form vs high-precision ODE, gradient descent, paper A, limits)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from learndyn import aligned, continual, exact, init, metrics, simulate, tasks
from learndyn import lambda_balanced as lb

# the 18 configurations of spec section 3: (Ni, Nh, No), lambda
CONFIGS = [((3, 3, 3), -3.0), ((3, 3, 3), -1.0), ((3, 3, 3), 0.0), ((3, 3, 3), 0.5), ((3, 3, 3), 3.0),
           ((3, 4, 5), 0.0), ((3, 4, 5), 1.5), ((3, 3, 5), -2.0), ((3, 3, 5), 0.0), ((3, 3, 5), 2.0),
           ((5, 4, 3), -1.5), ((5, 4, 3), 0.0), ((5, 3, 3), -2.0), ((5, 3, 3), 0.0), ((5, 3, 3), 2.0),
           ((3, 8, 4), 0.0), ((4, 4, 4), 0.2), ((4, 4, 4), -0.2)]


def _problem(ni, nh, no, lam, seed=0, sigma=0.5, n=15):
    rng = np.random.default_rng(seed)
    task = lb.standard_regression(ni, no, n, rng)
    w1, w2 = lb.lambda_balanced(ni, nh, no, lam, rng, sigma=sigma, sigma_yx=task.sigma_yx)
    return task, w1, w2


def _ode_qqt(w1, w2, sigma_yx, times, rtol=1e-12):
    nh, ni = w1.shape
    no = w2.shape[0]

    def rhs(_, y):
        d1, d2 = lb.gradient_flow(y[: nh * ni].reshape(nh, ni), y[nh * ni:].reshape(no, nh), sigma_yx)
        return np.concatenate([d1.ravel(), d2.ravel()])

    sol = solve_ivp(rhs, (0, times[-1]), np.concatenate([w1.ravel(), w2.ravel()]), method="DOP853", rtol=rtol,
                    atol=rtol * 0.1, t_eval=times)
    y = sol.y.T
    return lb.qqt_of(y[:, : nh * ni].reshape(-1, nh, ni), y[:, nh * ni:].reshape(-1, no, nh))


# --------------------------------------------------------------------------- check 1: construction
@pytest.mark.parametrize("dims,lam", CONFIGS + [((3, 3, 5), -2.0), ((4, 4, 4), 1000.0), ((4, 4, 4), -1000.0)])
def test_init_is_lambda_balanced_with_the_requested_spectrum(dims, lam):
    ni, nh, no = dims
    rng = np.random.default_rng(1)
    spec = np.sort(rng.uniform(0.1, 2.0, min(ni, no)))[::-1]
    w1, w2 = lb.lambda_balanced(ni, nh, no, lam, rng, spectrum=spec)
    dev = np.max(np.abs(lb.balance(w1, w2) - lam * np.eye(nh)))
    assert dev <= 1e-12 * max(1.0, abs(lam))
    np.testing.assert_allclose(np.linalg.svd(w2 @ w1, compute_uv=False)[: len(spec)], spec, rtol=1e-11)
    assert lb.lambda_of(w1, w2) == pytest.approx(lam, abs=1e-10 * max(1, abs(lam)))
    # global identity of spec 1.3: |W2|^2 - |W1|^2 = lambda Nh
    assert np.sum(w2 ** 2) - np.sum(w1 ** 2) == pytest.approx(lam * nh, abs=1e-9 * max(1, abs(lam)) * nh)


def test_init_authors_recipe_uses_the_svd_of_the_auxiliary_product():
    w1, w2 = lb.lambda_balanced(3, 4, 5, 1.5, np.random.default_rng(7), sigma=0.7)
    rng = np.random.default_rng(7)
    a = rng.normal(0, 0.7, size=(4, 3))
    b = rng.normal(0, 0.7, size=(5, 4))
    np.testing.assert_allclose(np.linalg.svd(w2 @ w1, compute_uv=False)[:3], np.linalg.svd(b @ a, compute_uv=False)[:3],
                               rtol=1e-12)


@pytest.mark.parametrize("dims,lam,word", [((3, 5, 4), 1.0, "Nh <= 4"), ((4, 5, 3), -1.0, "Nh <= 4"),
                                           ((3, 2, 4), 0.0, "bottleneck"), ((3, 6, 4), 0.5, "only lambda = 0")])
def test_init_rejects_impossible_widths_naming_what_is_allowed(dims, lam, word):
    with pytest.raises(ValueError, match=word):
        lb.lambda_balanced(*dims, lam, np.random.default_rng(0))


def test_lambda_of_rejects_unbalanced_weights():
    w1, w2 = init.random_normal(3, 3, 3, 0.5, np.random.default_rng(0))
    with pytest.raises(lb.NotBalancedError):
        lb.lambda_of(w1, w2)


def test_det_sign_rule_for_square_problems():
    task = lb.standard_regression(3, 3, 12, np.random.default_rng(4))
    for seed in range(6):
        w1, w2 = lb.lambda_balanced(3, 3, 3, 0.0, np.random.default_rng(seed), sigma_yx=task.sigma_yx)
        assert np.sign(np.linalg.det(w2 @ w1)) == np.sign(np.linalg.det(task.sigma_yx))
        lb.qqt(w1, w2, task.sigma_yx, [1.0])          # B / L_+ invertible: no error


# --------------------------------------------------------------------------- check 2: Riccati equation
@pytest.mark.parametrize("dims,lam", CONFIGS[::3])
def test_riccati_residual_at_random_balanced_weights(dims, lam):
    task, w1, w2 = _problem(*dims, lam, seed=3)
    d1, d2 = lb.gradient_flow(w1, w2, task.sigma_yx)
    q = np.concatenate([w1.T, w2])
    dq = np.concatenate([d1.T, d2])
    rate = dq @ q.T + q @ dq.T
    assert np.max(np.abs(rate - lb.riccati_rhs(q @ q.T, task.sigma_yx, lam))) <= 1e-10


# --------------------------------------------------------------------------- check 3: vs ODE
def test_closed_form_matches_dop853_for_the_18_configurations():
    times = np.linspace(0.0, 60.0, 31)
    worst = 0.0
    for k, (dims, lam) in enumerate(CONFIGS):
        task, w1, w2 = _problem(*dims, lam, seed=10 + k)
        q = lb.qqt(w1, w2, task.sigma_yx, times)
        worst = max(worst, float(np.max(np.abs(q - _ode_qqt(w1, w2, task.sigma_yx, times)))))
        late = lb.qqt(w1, w2, task.sigma_yx, [1e5, np.inf])
        assert np.all(np.isfinite(late))
        np.testing.assert_allclose(late[0], late[1], atol=1e-10)
    assert worst <= 1e-8


def test_stable_form_equals_general_form_at_short_times_and_semigroup_restart():
    task, w1, w2 = _problem(3, 4, 5, 1.5, seed=2)
    p0 = lb.qqt_of(w1, w2)
    t = np.linspace(0, 3, 13)
    q = lb.qqt(w1, w2, task.sigma_yx, t)
    np.testing.assert_allclose(q, lb.qqt_direct(p0, task.sigma_yx, 1.5, t), atol=1e-11)
    np.testing.assert_allclose(q[0], p0, atol=1e-12)
    # restarting from the closed form's own factor at t = 1.5 continues the same trajectory
    f = lb.factors(w1, w2, task.sigma_yx)
    b = lb.evaluate(f, [1.5], factor=True)[0]
    q2 = lb.qqt_from_p0(None, task.sigma_yx, 1.5, t[t >= 1.5] - 1.5, l0=b)
    np.testing.assert_allclose(q2, q[t >= 1.5], atol=1e-11)


def test_near_singular_start_stays_accurate():
    """L_+ ill-conditioned (start close to a saddle's stable manifold): the square-root form keeps accuracy."""
    task = lb.standard_regression(3, 3, 15, np.random.default_rng(5))
    p_saddle = lb.limit(task.sigma_yx, 0.0)                  # converged on sigma, then the task is reversed
    w1, w2 = lb.lambda_balanced(3, 3, 3, 0.0, np.random.default_rng(6), sigma=0.3, sigma_yx=-task.sigma_yx)
    p0 = p_saddle + 1e-7 * lb.qqt_of(w1, w2)                 # a tiny component off the saddle manifold
    t = np.linspace(0, 4, 9)
    q = lb.qqt_from_p0(p0, -task.sigma_yx, 0.0, t)
    assert np.max(np.abs(q - lb.qqt_direct(p0, -task.sigma_yx, 0.0, t))) <= 1e-9


# --------------------------------------------------------------------------- check 4: vs gradient descent
def _gd_dev(task, w1, w2, lam, eta, t_end):
    n = int(round(t_end / eta))
    steps = simulate.log_steps(n, 60)
    tr = simulate.gd_linear(w1, w2, task.sigma_yx, eta, n, record_steps=steps)
    q = metrics.split_qqt(lb.qqt(w1, w2, task.sigma_yx, steps * eta, lam=lam), w1.shape[1])
    return max(float(np.max(np.abs(q[k] - tr.records[k]))) for k in q)


def test_closed_form_matches_gd_to_first_order_in_eta():
    task, w1, w2 = _problem(3, 3, 3, 1.0, seed=4)
    devs = [_gd_dev(task, w1, w2, 1.0, eta, 8.0) for eta in (2e-3, 1e-3, 5e-4)]
    assert devs[1] <= 5e-3
    for a, b in zip(devs, devs[1:]):
        assert 1.8 <= a / b <= 2.2


@pytest.mark.parametrize("dims,lam", [((3, 4, 5), 1.5), ((5, 4, 3), -1.5), ((3, 8, 4), 0.0), ((4, 4, 4), -3.0)])
def test_closed_form_matches_gd_unequal_dims(dims, lam):
    task, w1, w2 = _problem(*dims, lam, seed=5)
    assert _gd_dev(task, w1, w2, lam, 1e-3, 10.0) <= 5e-3


# --------------------------------------------------------------------------- check 5: lambda = 0 vs paper A
@pytest.mark.parametrize("shape", [(4, 5, 4), (3, 6, 5), (6, 7, 3), (3, 3, 3)])
def test_lambda_zero_equals_paper_a_theorem_3_1(shape):
    ni, nh, no = shape
    rng = np.random.default_rng(11)
    task, _ = tasks.teacher_student(ni, nh, no, 20, 0.3, rng)
    w1, w2 = init.zero_balanced(ni, nh, no, 0.3, rng, sigma_yx=task.sigma_yx)      # paper A's own initialisation
    t = np.concatenate([np.linspace(0, 5, 11), [50.0, 1e4]])
    np.testing.assert_allclose(lb.qqt(w1, w2, task.sigma_yx, t, lam=0.0), exact.qqt(w1, w2, task.sigma_yx, t),
                               atol=1e-10)
    np.testing.assert_allclose(lb.limit(task.sigma_yx, 0.0), exact.limit(task.sigma_yx), atol=1e-13)


# --------------------------------------------------------------------------- check 6: convergence values
@pytest.mark.parametrize("dims,lam", CONFIGS)
def test_limit_values_including_the_extra_eigenvalue(dims, lam):
    ni, nh, no = dims
    task, w1, w2 = _problem(*dims, lam, seed=6)
    q = lb.qqt(w1, w2, task.sigma_yx, [np.inf])[0]
    ref = lb.limit(task.sigma_yx, lam)
    np.testing.assert_allclose(q[ni:, :ni], task.sigma_yx, atol=1e-8)
    ut, _, vth = np.linalg.svd(task.sigma_yx, full_matrices=True)
    m = min(ni, no)
    extra_in = q[:ni, :ni] - ref[:ni, :ni]
    extra_out = q[ni:, ni:] - ref[ni:, ni:]
    e = nh - m
    n_in = e if (lam < 0 and ni > no) else 0
    n_out = e if (lam > 0 and no > ni) else 0
    for extra, n_extra, perp in ((extra_in, n_in, vth[m:].T), (extra_out, n_out, ut[:, m:])):
        ev = np.sort(np.linalg.eigvalsh(extra))[::-1]
        np.testing.assert_allclose(ev[:n_extra], abs(lam), atol=1e-8)      # |lambda| on n_extra directions ...
        np.testing.assert_allclose(ev[n_extra:], 0.0, atol=1e-8)          # ... and nothing else
        if n_extra:
            proj = perp @ perp.T                                          # ... inside span U~_perp / V~_perp
            np.testing.assert_allclose(proj @ extra @ proj, extra, atol=1e-8)
    # the limit is reached: t = 1e4 agrees with t = inf (the extra directions decouple slowly, spec 2.5)
    np.testing.assert_allclose(lb.qqt(w1, w2, task.sigma_yx, [1e4])[0], q, atol=1e-8)


# --------------------------------------------------------------------------- check 7: |lambda| -> infinity
def test_large_lambda_limits_and_shallow_law():
    rng = np.random.default_rng(8)
    task = lb.standard_regression(4, 4, 20, rng)
    u, s, vh = np.linalg.svd(task.sigma_yx)
    vs2v, us2u = (vh.T * s ** 2) @ vh, (u * s ** 2) @ u.T
    out = {}
    for lam in (100.0, 1000.0, -100.0, -1000.0):
        w1, w2 = lb.lambda_balanced(4, 4, 4, lam, np.random.default_rng(9), sigma=0.5)
        q = lb.qqt(w1, w2, task.sigma_yx, [np.inf])[0]
        big, small, pat = (q[4:, 4:], q[:4, :4], vs2v) if lam > 0 else (q[:4, :4], q[4:, 4:], us2u)
        out[lam] = (np.max(np.abs(big - abs(lam) * np.eye(4))), np.max(np.abs(abs(lam) * small - pat)))
    for sign in (1, -1):
        a, b = out[100.0 * sign], out[1000.0 * sign]
        assert 8 < a[0] / b[0] < 12            # W2W2^T - lambda I = O(1/lambda)
        assert 80 < a[1] / b[1] < 120          # lambda W1^T W1 - V S^2 V^T = O(1/lambda^2)
    # shallow-network law W(t) ~ S + (W0 - S) exp(-|lambda| t): deviation ~ 1/lambda^2 (products O(1): sigma 0.3)
    devs = {}
    for lam in (10.0, 100.0):
        w1, w2 = lb.lambda_balanced(4, 4, 4, lam, np.random.default_rng(9), sigma=0.3)
        t = np.linspace(0, 8, 81) / lam
        w = lb.qqt(w1, w2, task.sigma_yx, t)[:, 4:, :4]
        devs[lam] = np.max(np.abs(w - lb.shallow_limit(w2 @ w1, task.sigma_yx, lam, t)))
    assert devs[10.0] <= 5e-3 and devs[100.0] <= 1e-4
    assert 50 < devs[10.0] / devs[100.0] < 200


# --------------------------------------------------------------------------- check 8: single mode
def test_single_mode_closed_form_vs_ode_and_saxe():
    t = np.linspace(0, 12, 121)
    worst = 0.0
    for lam in (0.0, 0.2, -0.2, 1.0, -1.0, 3.0, -3.0, 10.0, -10.0):
        for a0 in (1e-3, 0.3, -0.5, -1.0):
            sol = solve_ivp(lambda _, a: lb.mode_rate(a, 1.0, lam), (0, 12), [a0], method="DOP853", rtol=1e-13,
                            atol=1e-15, t_eval=t)
            worst = max(worst, float(np.max(np.abs(lb.mode_strength(a0, 1.0, lam, t) - sol.y[0]))))
    assert worst <= 1e-9
    np.testing.assert_allclose(lb.mode_strength(1e-3, 2.0, 0.0, t), aligned.sigmoid_mode(1e-3, 2.0, t), atol=1e-12)
    assert lb.mode_time(1e-3, 0.5, 1.0, 0.0) == pytest.approx(3.453, abs=1e-3)       # spec 2.7
    # time-to-target inverts the trajectory
    for lam in (0.0, 0.5, -2.0):
        ts = lb.mode_time(0.01, 0.7, 1.0, lam)
        assert lb.mode_strength(0.01, 1.0, lam, [ts])[0] == pytest.approx(0.7, abs=1e-12)
    # lambda = 0, anti-aligned: stuck at the saddle; lambda != 0 crosses zero (spec 2.7 reversal numbers)
    assert abs(lb.mode_strength(-1.0, 1.0, 0.0, [30.0])[0]) < 1e-4
    assert lb.mode_strength(-1.0, 1.0, 0.1, [5.0])[0] == pytest.approx(0.965, abs=2e-3)


@pytest.mark.parametrize("sign", [1, -1])
def test_accelerating_segment_threshold_measured_on_the_trajectory(sign):
    thr = float(lb.sigmoid_threshold(1.0))
    for m, present in ((0.98, True), (1.02, False), (0.5, True), (3.0, False)):
        lam = sign * m * thr
        t = np.linspace(0, 1.2 * lb.mode_time(1e-3, 0.999, 1.0, lam), 20001)
        acc = np.gradient(np.gradient(lb.mode_strength(1e-3, 1.0, lam, t), t), t)[2:-2]
        assert (acc.max() > 1e-6) == present
        assert bool(lb.has_accelerating_phase(1e-3, 1.0, lam)) == present


def test_matrix_closed_form_decouples_into_single_modes_for_aligned_init():
    rng = np.random.default_rng(12)
    task = lb.standard_regression(3, 3, 12, rng)
    u, s, vh = np.linalg.svd(task.sigma_yx)
    a0 = np.array([0.02, 0.01, 0.005])
    for lam in (0.0, 0.7, -2.0):
        w1, w2 = lb.lambda_balanced(3, 3, 3, lam, rng, spectrum=a0, u=u, v=vh.T)
        t = np.linspace(0, 10, 21)
        w = lb.qqt(w1, w2, task.sigma_yx, t)[:, 3:, :3]
        modes = np.einsum("ia,tij,ja->ta", u, w, vh.T)
        np.testing.assert_allclose(modes, lb.mode_strength(a0, s, lam, t).T, atol=1e-10)


# --------------------------------------------------------------------------- check 9: NTK and kernel distance
def test_ntk_formula_equals_jacobian_gram_and_kernel_distance_definition():
    for dims, lam in (((3, 4, 5), 1.5), ((5, 4, 3), -1.5), ((4, 4, 4), 0.0)):
        task, w1, w2 = _problem(*dims, lam, seed=13, n=12)
        ni = dims[0]
        q = lb.qqt(w1, w2, task.sigma_yx, [0.0, 2.0])
        theta = lb.ntk(q, ni, task.x)
        ref = lb.ntk_jacobian(w1, w2, task.x)
        assert np.max(np.abs(theta[0] - ref)) <= 1e-12 * np.max(np.abs(ref))
        num = np.sum(theta[0] * theta[1])
        s = 1 - num / (np.linalg.norm(theta[0]) * np.linalg.norm(theta[1]))
        assert lb.kernel_distance(q[0], q[1], ni, task.x) == pytest.approx(s, abs=1e-12)
        assert lb.ntk_change(q[0], q[1], ni, task.x) == pytest.approx(
            np.linalg.norm(theta[1] - theta[0]) / np.linalg.norm(theta[0]), rel=1e-10)


def test_kernel_distance_rich_at_zero_lazy_at_large_lambda():
    lams = np.array([-100, -10, -3, -1, -0.3, 0, 0.3, 1, 3, 10, 100], dtype=float)
    sigmas = (0.05, 0.3, 2.0)
    dist = np.zeros((len(sigmas), 6, len(lams)))
    change = np.zeros_like(dist)
    for seed in range(6):
        task = lb.standard_regression(4, 4, 20, np.random.default_rng([0, seed]))
        for i, sigma in enumerate(sigmas):
            for k, lam in enumerate(lams):
                w1, w2 = lb.lambda_balanced(4, 4, 4, lam, np.random.default_rng([0, seed, 1]), sigma=sigma,
                                            sigma_yx=task.sigma_yx)
                q = lb.qqt(w1, w2, task.sigma_yx, [0.0, np.inf])
                dist[i, seed, k] = lb.kernel_distance(q[0], q[1], 4, task.x)
                change[i, seed, k] = lb.ntk_change(q[0], q[1], 4, task.x)
    mean = dist.mean(axis=1)
    i0 = 5
    assert np.ptp(mean[:, i0]) <= 1e-12                       # lambda = 0 independent of the scale
    for row in mean:
        assert np.argmax(row) == i0
        assert np.all(np.diff(row[i0:]) <= 1e-12) and np.all(np.diff(row[i0::-1]) <= 1e-12)
    assert mean[0, 9] < 1e-3 and mean[1, 9] < 1e-3 and mean[0, 1] < 1e-3 and mean[1, 1] < 1e-3  # |lambda|=10
    assert max(mean[2, 0], mean[2, -1]) < 1e-2 * mean[2, i0]
    # relative NTK change ~ c / lambda^2 for large |lambda|
    task = lb.standard_regression(4, 4, 20, np.random.default_rng(1))
    scaled = []
    for lam in (300.0, 3000.0):
        w1, w2 = lb.lambda_balanced(4, 4, 4, lam, np.random.default_rng(2), sigma=0.5)
        q = lb.qqt(w1, w2, task.sigma_yx, [0.0, np.inf])
        scaled.append(lb.ntk_change(q[0], q[1], 4, task.x) * lam ** 2)
    assert scaled[0] / scaled[1] == pytest.approx(1.0, abs=0.02)


# --------------------------------------------------------------------------- check 11: reversal learning
def test_reversal_saddle_at_lambda_zero_and_escape_for_lambda_nonzero():
    t1, t2 = tasks.reversal_learning(16, 4, 4, np.random.default_rng(0))
    lstar = metrics.optimal_loss(t2.sigma_yx, t2.sigma_yy)
    excess = {}
    for lam in (0.0, 0.1, 1.0, 5.0):
        p0 = lb.limit(t1.sigma_yx, lam)                         # converged on task 1
        t = np.concatenate([np.linspace(0, 10, 101), [30.0, 300.0]])
        q = lb.qqt_from_p0(p0, t2.sigma_yx, lam, t, on_singular="saddle")
        assert np.all(np.isfinite(q))
        w = q[:, 4:, :4]
        loss = metrics.loss(w, t2.sigma_yx, t2.sigma_yy) - lstar
        excess[lam] = loss[50]                                  # t = 5
        if lam == 0:
            with pytest.raises(exact.SingularBError):
                lb.qqt_from_p0(p0, t2.sigma_yx, 0.0, t)
            assert np.linalg.norm(w[-1]) <= 1e-10             # W -> 0 ...
            zero = metrics.loss(np.zeros((4, 4)), t2.sigma_yx, t2.sigma_yy) - lstar
            assert loss[-2] == pytest.approx(zero, rel=1e-5)    # ... and stays: a plateau at the saddle
            assert loss[-1] == pytest.approx(zero, rel=1e-12)
            np.testing.assert_allclose(q[:60], lb.qqt_direct(p0, t2.sigma_yx, 0.0, t[:60]), atol=1e-9)
    assert excess[0.1] > excess[1.0] > excess[5.0]
    assert excess[1.0] <= 1e-4 and excess[5.0] <= 1e-4
    assert excess[0.0] > excess[0.1]


def test_reversal_gd_matches_the_exact_flow_for_lambda_one():
    t1, t2 = tasks.reversal_learning(16, 4, 4, np.random.default_rng(0))
    w1, w2 = lb.lambda_balanced(4, 4, 4, 1.0, np.random.default_rng(1), spectrum=np.ones(4))
    # place the network at the task-1 optimum with lambda = 1, aligned with the task
    u, s, vh = np.linalg.svd(t1.sigma_yx)
    w1, w2 = lb.lambda_balanced(4, 4, 4, 1.0, np.random.default_rng(1), spectrum=s, u=u, v=vh.T)
    eta, n = 1e-3, 5000
    tr = simulate.gd_linear(w1, w2, t2.sigma_yx, eta, n, sigma_yy=t2.sigma_yy)
    q = lb.qqt(w1, w2, t2.sigma_yx, [n * eta])[0]
    lstar = metrics.optimal_loss(t2.sigma_yx, t2.sigma_yy)
    ex = metrics.loss(q[4:, :4], t2.sigma_yx, t2.sigma_yy) - lstar
    assert abs((tr.loss[-1] - lstar) - ex) <= 1e-5 and ex <= 1e-4


# --------------------------------------------------------------------------- check 12: continual learning
def test_continual_learning_closed_form_restarts_and_final_losses():
    rng = np.random.default_rng(2)
    ts = [lb.standard_regression(3, 3, 12, rng) for _ in range(3)]
    sigmas = np.stack([t.sigma_yx for t in ts])
    syys = np.stack([t.sigma_yy for t in ts])
    eta, n = 5e-3, 3000
    finals = {}
    for lam in (1.0, -1.0):
        w1, w2 = lb.lambda_balanced(3, 3, 3, lam, np.random.default_rng(3), sigma=0.3)
        w0 = w2 @ w1
        factor = np.concatenate([w1.T, w2])
        rows = []
        for task in ts:
            steps = np.arange(0, n + 1, 50)
            tr = simulate.gd_linear(w1, w2, task.sigma_yx, eta, n, record_steps=steps, record=("W2W1",))
            f = lb.stable_factors(None, task.sigma_yx, lam, l0=factor)
            w_ex = lb.evaluate(f, steps * eta)[:, 3:, :3]
            assert np.max(np.abs(tr.records["W2W1"] - w_ex)) <= 5e-3 * eta / 1e-3
            factor = lb.evaluate(f, [n * eta], factor=True)[0]
            w1, w2 = tr.w1, tr.w2
            rows.append(continual.task_losses(w_ex[-1], sigmas, syys))
            np.testing.assert_allclose(continual.task_losses(tr.records["W2W1"][-1], sigmas, syys), rows[-1], atol=1e-6)
        pred = continual.loss_table(w0, sigmas, syys)[1:]
        np.testing.assert_allclose(np.array(rows), pred, atol=1e-9)
        finals[lam] = np.array(rows)
    np.testing.assert_allclose(finals[1.0], finals[-1.0], atol=1e-9)     # forgetting independent of lambda


# --------------------------------------------------------------------------- check 13: zero-balanced caveat
def test_det_sign_mismatch_is_detected_never_nan():
    task = lb.standard_regression(3, 3, 15, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    for _ in range(50):
        w1, w2 = lb.lambda_balanced(3, 3, 3, 0.0, rng, sigma=0.5)
        if np.sign(np.linalg.det(w2 @ w1)) != np.sign(np.linalg.det(task.sigma_yx)):
            break
    else:
        pytest.fail("no det-sign mismatch drawn")
    t = np.linspace(0, 6, 13)
    with pytest.raises(exact.SingularBError, match="saddle"):
        lb.qqt(w1, w2, task.sigma_yx, t)
    q = lb.qqt(w1, w2, task.sigma_yx, np.concatenate([t, [1e3, np.inf]]), on_singular="saddle")
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(q[: len(t)], lb.qqt_direct(lb.qqt_of(w1, w2), task.sigma_yx, 0.0, t), atol=1e-10)
    np.testing.assert_allclose(q[: len(t)], _ode_qqt(w1, w2, task.sigma_yx, t), atol=1e-9)
    sv = np.linalg.svd(q[-1][3:, :3], compute_uv=False)
    assert sv[-1] < 1e-12                                        # one mode ends at the saddle (0)
    # the fix: reflecting one output direction restores the regular (convergent) case
    w1f, w2f = init.fix_det_sign(w1, w2, task.sigma_yx)
    qf = lb.qqt(w1f, w2f, task.sigma_yx, [np.inf])[0]
    np.testing.assert_allclose(qf[3:, :3], task.sigma_yx, atol=1e-10)


# --------------------------------------------------------------------------- factors once, evaluate many times
# widths without extra hidden directions (Nh = min(Ni, No), or lambda = 0), where QQ^T(inf) is lb.limit exactly
_NO_EXTRA = [((3, 3, 3), -1.0), ((3, 3, 3), 0.5), ((3, 3, 5), -2.0), ((3, 3, 5), 2.0), ((5, 3, 3), 2.0),
             ((5, 3, 3), -2.0), ((3, 8, 4), 0.0), ((4, 4, 4), 0.2)]


@pytest.mark.parametrize("dims,lam", _NO_EXTRA + [((3, 4, 5), 1.5), ((5, 4, 3), -1.5)])
def test_evaluate_equals_the_wrappers_for_every_what(dims, lam):
    """lb.qqt / network_function / loss are evaluate(factors(...), t, what=...) bit for bit; network_function is
    the W2W1 quadrant of QQ^T (spec 2.4) and loss is 1/2 ||W2W1 - sigma_yx||^2 + L* (spec 1.1 of paper A)."""
    assert lb.WHAT == ("qqt", "network_function", "loss") == exact.WHAT
    ni = dims[0]
    for seed in range(3):
        task, w1, w2 = _problem(*dims, lam, seed=20 + seed)
        s, l_star = task.sigma_yx, tasks.optimal_loss(task.sigma_yx, task.sigma_yy)
        t = np.concatenate([[0.0], np.sort(np.random.default_rng(seed).uniform(0, 30, 40)), [np.inf]])
        f = lb.factors(w1, w2, s)
        q = lb.evaluate(f, t, what="qqt")
        w = lb.evaluate(f, t, what="network_function")
        loss = lb.evaluate(f, t, what="loss", l_star=l_star)
        assert np.array_equal(q, lb.qqt(w1, w2, s, t)) and np.array_equal(q, lb.evaluate(f, t))
        assert np.array_equal(w, lb.network_function(w1, w2, s, t))
        assert np.array_equal(loss, lb.loss(w1, w2, s, task.sigma_yy, t))
        np.testing.assert_allclose(w, lb.readouts(q, ni)["W2W1"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(loss, 0.5 * np.sum((w - s) ** 2, axis=(1, 2)) + l_star, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(q[0], lb.qqt_of(w1, w2), atol=1e-12)
    with pytest.raises(ValueError, match="what must be one of"):
        lb.evaluate(f, t, what="W2W1")
    with pytest.raises(ValueError, match="factor=True"):
        lb.evaluate(f, t, factor=True, what="loss")


@pytest.mark.parametrize("dims,lam", _NO_EXTRA)
def test_t_inf_is_the_limit_for_every_what(dims, lam):
    """t = inf is the t -> infinity limit (spec 2.5): lb.limit where no extra hidden directions exist, the task
    as network function and L* as loss; at lambda = 0 also paper A's exact.evaluate(..., inf) (Theorem 3.2)."""
    ni = dims[0]
    task, w1, w2 = _problem(*dims, lam, seed=31)
    s, l_star = task.sigma_yx, tasks.optimal_loss(task.sigma_yx, task.sigma_yy)
    f = lb.factors(w1, w2, s)
    tt = np.array([1.0, np.inf, 1e4])
    q = lb.evaluate(f, tt)
    np.testing.assert_allclose(q[1], lb.limit(s, lam), atol=1e-10)
    np.testing.assert_allclose(q[2], q[1], atol=1e-8)
    np.testing.assert_allclose(lb.evaluate(f, [np.inf], what="network_function")[0], s, atol=1e-10)
    np.testing.assert_allclose(lb.evaluate(f, [np.inf], what="loss", l_star=l_star), l_star, rtol=1e-10, atol=1e-14)
    if lam == 0.0:
        fe = exact.factors(w1, w2, s)
        for what in lb.WHAT:
            np.testing.assert_allclose(lb.evaluate(f, tt, what=what, l_star=l_star),
                                       exact.evaluate(fe, tt, what=what, l_star=l_star), rtol=1e-9, atol=1e-10)
        assert np.array_equal(exact.evaluate(fe, [np.inf])[0], exact.limit(s))


def test_factors_once_reused_across_many_time_grids_equal_per_call_results():
    """One factors() per network, evaluated on many grids and chunk sizes, equals one full call per grid."""
    task, w1, w2 = _problem(3, 4, 5, 1.5, seed=4)
    s = task.sigma_yx
    f = lb.factors(w1, w2, s)
    for eta in (0.01, 0.05, 0.2):
        t = eta * np.arange(0, 500, 7)
        assert np.array_equal(lb.evaluate(f, t), lb.qqt(w1, w2, s, t))
        assert np.array_equal(lb.evaluate(f, t, 13, what="network_function"),
                              lb.network_function(w1, w2, s, t, chunk=13))
        l_star = tasks.optimal_loss(s, task.sigma_yy)
        assert np.array_equal(lb.evaluate(f, t, 9, what="loss", l_star=l_star),
                              lb.loss(w1, w2, s, task.sigma_yy, t, chunk=9))
