"""Paper A closed form (Theorem 3.1) against gradient descent, limits and invariants."""

import numpy as np
import pytest

from learndyn import exact, init, metrics, simulate, tasks

SHAPES = [(4, 5, 4), (3, 6, 5), (6, 7, 3)]  # Ni == No, Ni < No, Ni > No


def _problem(ni, nh, no, sigma=0.3, seed=0, n=20):
    rng = np.random.default_rng(seed)
    task, _ = tasks.teacher_student(ni, nh, no, n, 0.3, rng)
    w1, w2 = init.zero_balanced(ni, nh, no, sigma, rng, sigma_yx=task.sigma_yx)
    return task, w1, w2


def _max_dev(task, w1, w2, eta, t_end):
    n = int(round(t_end / eta))
    steps = simulate.log_steps(n, 80)
    tr = simulate.gd_linear(w1, w2, task.sigma_yx, eta, n, record_steps=steps)
    q = metrics.split_qqt(exact.qqt(w1, w2, task.sigma_yx, steps * eta), w1.shape[1])
    return max(np.max(np.abs(q[k] - tr.records[k])) for k in q)


@pytest.mark.parametrize("shape", SHAPES)
def test_closed_form_matches_gd_error_linear_in_eta(shape):
    task, w1, w2 = _problem(*shape)
    d1 = _max_dev(task, w1, w2, 0.01, 30.0)
    d2 = _max_dev(task, w1, w2, 0.001, 30.0)
    assert d1 < 2e-2
    assert d2 < 2e-3
    assert 7 < d1 / d2 < 13  # O(eta): ten times smaller step, ten times smaller error


@pytest.mark.parametrize("shape", SHAPES)
def test_t0_gives_initial_qqt_and_limit_is_theorem_3_2(shape):
    task, w1, w2 = _problem(*shape, sigma=0.05)
    q = exact.qqt(w1, w2, task.sigma_yx, [0.0, 1e4])
    q0 = np.concatenate([w1.T, w2]) @ np.concatenate([w1.T, w2]).T
    np.testing.assert_allclose(q[0], q0, atol=1e-13)
    np.testing.assert_allclose(q[1], exact.limit(task.sigma_yx), atol=1e-12)
    ni = shape[0]
    np.testing.assert_allclose(q[1][ni:, :ni], task.sigma_yx, atol=1e-12)  # W2 W1 -> sigma_yx


def test_fukumizu_agrees_at_short_times():
    task, w1, w2 = _problem(4, 5, 4)
    smax = np.linalg.svd(task.sigma_yx, compute_uv=False)[0]
    t = np.linspace(0, 10 / smax, 40)
    q_f = exact.qqt_fukumizu(w1, w2, task.sigma_yx, t)
    q = exact.qqt(w1, w2, task.sigma_yx, t)
    assert np.max(np.abs(q_f - q)) < 1e-8 * np.max(np.abs(q))


def test_network_function_and_loss_are_the_qqt_quadrant():
    task, w1, w2 = _problem(6, 7, 3, n=40)
    t = np.linspace(0, 20, 500)
    q = exact.qqt(w1, w2, task.sigma_yx, t)
    w = exact.network_function(w1, w2, task.sigma_yx, t)
    np.testing.assert_allclose(w, q[:, 6:, :6], atol=1e-12)
    loss = exact.loss(w1, w2, task.sigma_yx, task.sigma_yy, t, chunk=64)
    np.testing.assert_allclose(loss, metrics.loss(w, task.sigma_yx, task.sigma_yy), atol=1e-12)
    # and the loss of the data itself (spec 1.1 identity for whitened inputs)
    np.testing.assert_allclose(loss[::50], metrics.loss_samples(w[::50], task.x, task.y), rtol=1e-8, atol=1e-14)


def test_gd_loss_matches_exact_loss():
    task, w1, w2 = _problem(3, 6, 5, n=30)
    tr = simulate.gd_linear(w1, w2, task.sigma_yx, 0.001, 5000, sigma_yy=task.sigma_yy)
    ana = exact.loss(w1, w2, task.sigma_yx, task.sigma_yy, np.arange(5001) * 0.001)
    assert np.max(np.abs(tr.loss - ana)) < 2e-3
    np.testing.assert_allclose(tr.loss[0], metrics.loss_samples(w2 @ w1, task.x, task.y), rtol=1e-12)


def test_singular_b_is_an_error_not_nan():
    rng = np.random.default_rng(4)
    task, _ = tasks.teacher_student(3, 4, 3, 20, 0.5, rng)
    for _ in range(20):
        w1, w2 = init.zero_balanced(3, 4, 3, 0.3, rng)  # no det-sign fix
        if np.sign(np.linalg.det(w2 @ w1)) != np.sign(np.linalg.det(task.sigma_yx)):
            break
    else:
        pytest.fail("no mismatched draw found")
    with pytest.raises(exact.SingularBError, match="sign det"):
        exact.qqt(w1, w2, task.sigma_yx, [0.0, 1.0])
    w1f, w2f = init.fix_det_sign(w1, w2, task.sigma_yx)
    assert np.all(np.isfinite(exact.qqt(w1f, w2f, task.sigma_yx, [0.0, 1.0])))
    np.testing.assert_allclose(init.balancedness(w1f, w2f), 0, atol=1e-12)


def test_zero_balanced_init_is_balanced_and_scaled():
    rng = np.random.default_rng(1)
    for shape in [(5, 10, 2), (4, 5, 3), (8, 14, 8), (20, 40, 30), (2, 2, 2)]:
        w1, w2 = init.zero_balanced(*shape, 0.2, rng)
        assert np.max(np.abs(init.balancedness(w1, w2))) < 1e-13
        s = np.linalg.svd(w2 @ w1, compute_uv=False)[: min(shape[0], shape[2])]
        assert np.all(s > 0)
    with pytest.raises(ValueError, match="Nh=1"):
        init.zero_balanced(3, 1, 3, 0.1, rng)


def test_gd_conserves_balancedness_to_order_eta_squared():
    task, w1, w2 = _problem(4, 6, 3, sigma=0.2)
    drift = []
    for eta in (0.02, 0.01):
        tr = simulate.gd_linear(w1, w2, task.sigma_yx, eta, int(10 / eta))
        drift.append(np.max(np.abs(init.balancedness(tr.w1, tr.w2))))
    assert drift[0] < 1e-2
    assert 1.6 < drift[0] / drift[1] < 2.4  # O(eta^2) per step x O(1/eta) steps = O(eta)


def test_batched_gd_equals_single_runs():
    task, w1, w2 = _problem(3, 6, 5)
    etas = np.array([0.05, 0.01])
    batched = simulate.gd_linear(w1, w2, task.sigma_yx, etas, 300, record_steps=[0, 100, 300])
    for j, eta in enumerate(etas):
        single = simulate.gd_linear(w1, w2, task.sigma_yx, eta, 300, record_steps=[0, 100, 300])
        np.testing.assert_array_equal(batched.records["W2W1"][:, j], single.records["W2W1"])
        np.testing.assert_array_equal(batched.loss[:, j], single.loss)


def test_ntk_is_jacobian_gram():
    rng = np.random.default_rng(2)
    ni, nh, no, n = 4, 5, 3, 10
    x = rng.normal(size=(ni, n))
    w1, w2 = rng.normal(size=(nh, ni)), rng.normal(size=(no, nh))
    jac = np.zeros((no * n, nh * ni + no * nh))
    for o in range(no):
        for s in range(n):
            d_w2 = np.zeros((no, nh))
            d_w2[o] = w1 @ x[:, s]
            jac[o * n + s] = np.concatenate([np.outer(w2[o], x[:, s]).ravel(), d_w2.ravel()])
    np.testing.assert_allclose(metrics.ntk(w1.T @ w1, w2 @ w2.T, x), jac @ jac.T, atol=1e-10)


def test_rsms():
    rng = np.random.default_rng(3)
    w1, w2 = init.zero_balanced(4, 6, 3, 0.5, rng)
    x, y = rng.normal(size=(4, 7)), rng.normal(size=(3, 7))
    h = w1 @ x
    np.testing.assert_allclose(metrics.rsm_input(w1.T @ w1, x), h.T @ h, atol=1e-12)
    hy = np.linalg.pinv(w2) @ y
    np.testing.assert_allclose(metrics.rsm_output(w2 @ w2.T, y), hy.T @ hy, atol=1e-10)


def test_whitening():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 40)) * np.arange(1, 6)[:, None] + 3.0
    xw, mean, w = tasks.whiten(x)
    np.testing.assert_allclose(xw @ xw.T / 40, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(xw.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(w @ (x - mean[:, None]), xw)
    with pytest.raises(ValueError, match="more samples"):
        tasks.random_regression(5, 3, 5, rng)


def test_weights_that_are_not_zero_balanced_are_rejected():
    """Theorem 3.1 holds for zero-balanced weights only: a Gaussian draw of the same scale gives a wrong
    trajectory (here already at t = 0), so qqt, loss and network_function raise and name the remedy;
    zero-balanced weights and the O(eta^2)-per-step drift of trained ones pass."""
    task, w1, w2 = _problem(4, 5, 3, sigma=0.3)
    rng = np.random.default_rng(1)
    g1, g2 = 0.3 * rng.standard_normal(w1.shape), 0.3 * rng.standard_normal(w2.shape)
    assert exact.balance_deviation(g1, g2) > 0.1 and exact.balance_deviation(w1, w2) < 1e-12
    for call in (lambda: exact.qqt(g1, g2, task.sigma_yx, [0.0, 1.0]),
                 lambda: exact.network_function(g1, g2, task.sigma_yx, [0.0, 1.0]),
                 lambda: exact.loss(g1, g2, task.sigma_yx, task.sigma_yy, [0.0, 1.0]),
                 lambda: exact.riccati_factors(g1, g2, task.sigma_yx)):
        with pytest.raises(exact.NotBalancedError, match="zero-balanced.*lambda_balanced"):
            call()
    # the error is the same class lambda_balanced raises
    from learndyn import lambda_balanced
    assert lambda_balanced.NotBalancedError is exact.NotBalancedError
    # trained weights (GD drifts the balance by O(eta^2) per step) are accepted ...
    tr = simulate.gd_linear(w1, w2, task.sigma_yx, 0.05, 2000, record_steps=[2000])
    assert 0 < exact.balance_deviation(tr.w1, tr.w2) < exact.BALANCE_RTOL
    exact.qqt(tr.w1, tr.w2, task.sigma_yx, [0.0])
    # ... and an explicit tolerance lets a knowing caller through
    exact.loss(g1, g2, task.sigma_yx, task.sigma_yy, [0.0], balance_rtol=np.inf)


# --------------------------------------------------------------------------- factors once, evaluate many times
def _random_nets(n_seeds=3):
    for seed in range(n_seeds):
        for shape in SHAPES + [(2, 2, 2)]:
            rng = np.random.default_rng(100 + seed)
            task, _ = tasks.teacher_student(shape[0], shape[1], shape[2], 20, 0.3, rng)
            w1, w2 = init.zero_balanced(*shape, 0.3, rng, sigma_yx=task.sigma_yx)
            t = np.sort(rng.uniform(0.0, 40.0, 57))
            yield task, w1, w2, np.concatenate([[0.0], t])


def test_evaluate_equals_the_wrappers_for_every_what():
    """exact.qqt / network_function / loss / loss_from_factors are evaluate(factors(...), t, what=...) bit for bit;
    qqt is Z A^-1 Z^T of Theorem 3.1 (spec 2.3) point by point, and the other quantities are its quadrant and
    1/2 ||W - sigma_yx||^2 + L*."""
    assert exact.WHAT == ("qqt", "network_function", "loss")
    for task, w1, w2, t in _random_nets():
        s, ni = task.sigma_yx, w1.shape[1]
        f = exact.factors(w1, w2, s)
        g = exact.riccati_factors(w1, w2, s)
        for name in ("vt", "ut", "st", "g", "m1", "m2", "m3", "zv", "zu", "sigma_yx"):
            assert np.array_equal(getattr(f, name), getattr(g, name))
        l_star = tasks.optimal_loss(s, task.sigma_yy)
        q = exact.evaluate(f, t, what="qqt")
        w = exact.evaluate(f, t, what="network_function")
        loss = exact.evaluate(f, t, what="loss", l_star=l_star)
        assert np.array_equal(q, exact.qqt(w1, w2, s, t))
        assert np.array_equal(w, exact.network_function(w1, w2, s, t))
        assert np.array_equal(loss, exact.loss(w1, w2, s, task.sigma_yy, t))
        assert np.array_equal(exact.evaluate(f, t, what="loss"), exact.loss_from_factors(f, t))
        assert np.array_equal(exact.evaluate(f, t, what="qqt"), exact.evaluate(f, t))     # "qqt" is the default
        for i in (0, 7, len(t) - 1):                                                      # one point at a time
            zt, zb, a = exact._za(f, t[i:i + 1])
            z = np.concatenate([zt, zb], axis=1)[0]
            np.testing.assert_allclose(q[i], z @ np.linalg.solve(a[0], z.T), rtol=0, atol=1e-12)
        np.testing.assert_allclose(w, q[:, ni:, :ni], rtol=0, atol=1e-12)
        np.testing.assert_allclose(loss, 0.5 * np.sum((w - s) ** 2, axis=(1, 2)) + l_star, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="what must be one of"):
        exact.evaluate(f, t, what="W2W1")


def test_t_inf_is_the_theorem_3_2_limit_for_every_what():
    """t = inf is allowed everywhere and means t -> infinity: exact.limit (Theorem 3.2, spec 2.4), its quadrant
    and L*; finite times in the same call are unchanged, and t = 1e4 is already at the limit."""
    for task, w1, w2, t in _random_nets(1):
        s, ni = task.sigma_yx, w1.shape[1]
        l_star = tasks.optimal_loss(s, task.sigma_yy)
        f = exact.factors(w1, w2, s)
        tt = np.array([2.0, np.inf, 0.0, np.inf, 1e4])
        lim = exact.limit(s)
        q = exact.evaluate(f, tt, what="qqt")
        assert np.array_equal(q[1], lim) and np.array_equal(q[3], lim)
        assert np.array_equal(q[[0, 2, 4]], exact.evaluate(f, tt[[0, 2, 4]]))
        np.testing.assert_allclose(q[4], lim, atol=1e-10)
        assert np.array_equal(exact.qqt(w1, w2, s, np.inf)[0], lim)
        w = exact.network_function(w1, w2, s, tt)
        assert np.array_equal(w[1], lim[ni:, :ni])
        assert np.array_equal(w[[0, 2, 4]], exact.network_function(w1, w2, s, tt[[0, 2, 4]]))
        loss = exact.loss(w1, w2, s, task.sigma_yy, tt)
        np.testing.assert_allclose(loss[[1, 3]], l_star, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(loss[4], l_star, rtol=1e-9, atol=1e-12)
        assert np.array_equal(exact.loss_from_factors(f, [np.inf]), exact.evaluate(f, [np.inf], what="loss"))
    with pytest.raises(ValueError, match="non-negative"):
        exact.evaluate(f, [-1.0])
    with pytest.raises(ValueError, match="non-negative"):
        exact.evaluate(f, [np.nan])


def test_factors_once_reused_across_many_time_grids_equal_per_call_results():
    """One factors() per network, evaluated on many grids (and chunk sizes), equals one full call per grid."""
    task, w1, w2 = _problem(3, 6, 5)
    s = task.sigma_yx
    f = exact.factors(w1, w2, s)
    rng = np.random.default_rng(3)
    for eta in (0.01, 0.05, 0.2):
        t = eta * np.arange(0, 500, 7)
        assert np.array_equal(exact.evaluate(f, t), exact.qqt(w1, w2, s, t))
        assert np.array_equal(exact.evaluate(f, t, what="network_function", chunk=13),
                              exact.network_function(w1, w2, s, t, chunk=13))
        assert np.array_equal(exact.evaluate(f, t, what="loss", l_star=0.25, chunk=9),
                              exact.loss_from_factors(f, t, 0.25, chunk=9))
        tr = rng.uniform(0, 30, 5)
        assert np.array_equal(exact.evaluate(f, tr), exact.qqt(w1, w2, s, tr))
