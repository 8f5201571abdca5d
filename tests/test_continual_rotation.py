"""Paper A continual learning (spec 2.8), GD with a nonlinear hidden layer (spec 1.1) and the weights up to an
orthogonal transformation (spec 2.11): closed forms against gradient descent, finite differences, invariants."""

import numpy as np
import pytest

from learndyn import continual, exact, init, metrics, rotation, simulate, tasks


# --------------------------------------------------------------------------- nonlinear GD
@pytest.mark.parametrize("activation", simulate.ACTIVATIONS)
def test_nonlinear_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    ni, nh, no, n = 4, 6, 3, 30
    x, y = rng.normal(size=(ni, n)), rng.normal(size=(no, n))
    w1, w2 = rng.normal(0, 0.7, (nh, ni)), rng.normal(0, 0.7, (no, nh))
    g1, g2, loss = simulate.grad_nonlinear(w1, w2, x, y, activation)
    assert loss == pytest.approx(simulate.loss_nonlinear(w1, w2, x, y, activation), rel=1e-14)
    h = 1e-6
    for w, g, which in ((w1, g1, 0), (w2, g2, 1)):
        fd = np.empty_like(w)
        for idx in np.ndindex(w.shape):
            wp, wm = w.copy(), w.copy()
            wp[idx] += h
            wm[idx] -= h
            args_p = (wp, w2) if which == 0 else (w1, wp)
            args_m = (wm, w2) if which == 0 else (w1, wm)
            fd[idx] = (simulate.loss_nonlinear(*args_p, x, y, activation)
                       - simulate.loss_nonlinear(*args_m, x, y, activation)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_relu_derivative_is_zero_at_zero_and_update_is_minus_eta_gradient():
    # a unit with pre-activation exactly 0 on every sample gets no W1 update (1[z > 0] = 0 at 0)
    x = np.array([[1.0, -1.0, 2.0], [0.5, 0.3, -0.2]])
    y = np.array([[1.0, 0.0, -1.0]])
    w1 = np.array([[0.0, 0.0], [0.4, -0.3]])
    w2 = np.array([[0.8, 0.5]])
    g1, g2, _ = simulate.grad_nonlinear(w1, w2, x, y, "relu")
    assert np.all(g1[0] == 0.0)
    tr = simulate.gd_nonlinear(w1, w2, x, y, 0.1, 1, activation="relu")
    np.testing.assert_allclose(tr.w1, w1 - 0.1 * g1, atol=1e-15)
    np.testing.assert_allclose(tr.w2, w2 - 0.1 * g2, atol=1e-15)


def test_linear_sample_gd_equals_correlation_gd():
    rng = np.random.default_rng(2)
    task = tasks.random_regression(5, 4, 40, rng)
    w1, w2 = init.zero_balanced(5, 7, 4, 0.3, rng)
    a = simulate.gd_nonlinear(w1, w2, task.x, task.y, 0.05, 400, activation="linear")
    b = simulate.gd_linear(w1, w2, task.sigma_yx, 0.05, 400, sigma_yy=task.sigma_yy, record=())
    np.testing.assert_allclose(a.w1, b.w1, atol=1e-12)
    np.testing.assert_allclose(a.w2, b.w2, atol=1e-12)
    np.testing.assert_allclose(a.loss, b.loss, atol=1e-12)


def test_nonlinear_batching_is_exact_and_zero_padding_is_exact():
    rng = np.random.default_rng(3)
    ta, tb = tasks.random_regression(3, 2, 20, rng), tasks.random_regression(3, 2, 20, rng)
    wa, wb = init.zero_balanced(3, 4, 2, 0.5, rng), init.zero_balanced(3, 4, 2, 0.5, rng)
    batched = simulate.gd_nonlinear(np.stack([wa[0], wb[0]]), np.stack([wa[1], wb[1]]), np.stack([ta.x, tb.x]),
                                    np.stack([ta.y, tb.y]), np.array([0.05, 0.02]), 300, activation="tanh")
    one = simulate.gd_nonlinear(*wa, ta.x, ta.y, 0.05, 300, activation="tanh")
    two = simulate.gd_nonlinear(*wb, tb.x, tb.y, 0.02, 300, activation="tanh")
    np.testing.assert_allclose(batched.w1[0], one.w1, atol=1e-14)
    np.testing.assert_allclose(batched.w2[1], two.w2, atol=1e-14)
    np.testing.assert_allclose(batched.loss[:, 1], two.loss, atol=1e-14)
    # f(0) = 0: an extra zero hidden unit, input and output change nothing (ReLU and tanh)
    for act in ("relu", "tanh"):
        ref = simulate.gd_nonlinear(*wa, ta.x, ta.y, 0.05, 200, activation=act)
        w1p = np.zeros((5, 4)); w1p[:4, :3] = wa[0]
        w2p = np.zeros((3, 5)); w2p[:2, :4] = wa[1]
        xp = np.vstack([ta.x, np.zeros((1, 20))]); yp = np.vstack([ta.y, np.zeros((1, 20))])
        pad = simulate.gd_nonlinear(w1p, w2p, xp, yp, 0.05, 200, activation=act)
        np.testing.assert_allclose(pad.w1[:4, :3], ref.w1, atol=1e-13)
        assert np.all(pad.w1[4] == 0) and np.all(pad.w1[:, 3] == 0) and np.all(pad.w2[2] == 0)


def test_balancedness_norm_zero_for_balanced_and_drifts_for_tanh():
    rng = np.random.default_rng(4)
    task = tasks.random_regression(6, 5, 60, rng)
    w1, w2 = init.zero_balanced(6, 8, 5, 0.4, rng)
    assert metrics.balancedness_norm(w1, w2) < 1e-13
    ref = np.sqrt(np.sum((w1 @ w1.T - w2.T @ w2) ** 2))
    w2b = w2 * 1.1
    assert metrics.balancedness_norm(w1, w2b) == pytest.approx(np.sqrt(np.sum((w1 @ w1.T - w2b.T @ w2b) ** 2)))
    assert ref < 1e-13
    drift = {}
    for eta, n_steps in ((0.05, 1000), (0.005, 10000)):             # same time t = 50
        for act in ("linear", "tanh"):
            tr = simulate.gd_nonlinear(w1, w2, task.x, task.y, eta, n_steps, activation=act)
            drift[act, eta] = float(metrics.balancedness_norm(tr.w1, tr.w2))
    # linear: conserved by gradient flow, GD drift O(eta^2) per step -> O(eta) at fixed t
    assert drift["linear", 0.05] < 1e-2
    assert 8 < drift["linear", 0.05] / drift["linear", 0.005] < 12
    # tanh: no conservation law, the imbalance is O(1) whatever eta
    assert drift["tanh", 0.005] > 1.0
    assert drift["tanh", 0.005] == pytest.approx(drift["tanh", 0.05], rel=0.05)


# --------------------------------------------------------------------------- forgetting (spec 2.8)
def _sequence(seed=5, n_tasks=3, ni=6, nh=9, no=4, n=100, eta=0.075, steps=5000):
    rng = np.random.default_rng(seed)
    ts = [tasks.random_regression(ni, no, n, rng) for _ in range(n_tasks)]
    w1, w2 = init.zero_balanced(ni, nh, no, 0.5 / np.sqrt(ni), rng)
    sig = np.stack([t.sigma_yx for t in ts])
    syy = np.stack([t.sigma_yy for t in ts])
    losses = [[metrics.loss_samples(w2 @ w1, t.x, t.y) for t in ts]]
    w0 = w2 @ w1
    for t in ts:
        tr = simulate.gd_linear(w1, w2, t.sigma_yx, eta, steps, record=())
        w1, w2 = tr.w1, tr.w2
        losses.append([metrics.loss_samples(w2 @ w1, u.x, u.y) for u in ts])
    return w0, sig, syy, np.array(losses)


def test_forgetting_formulas_match_linear_simulation():
    w0, sig, syy, sim = _sequence()
    table = continual.loss_table(w0, sig, syy)
    np.testing.assert_allclose(sim, table, atol=1e-6)               # spec V9: <= 2e-8
    np.testing.assert_allclose(continual.numerical_forgetting(sim), continual.forgetting_matrix(w0, sig), atol=1e-6)
    f1 = continual.forgetting(sig[0], sig[1], sig[2])                 # F_1(2 -> 3)
    assert sim[3, 0] - sim[2, 0] == pytest.approx(f1, abs=1e-6)
    assert abs(f1) > 1e-3                                             # the check is not vacuous


def test_forgetting_identities():
    rng = np.random.default_rng(6)
    s1, s2, w0 = rng.normal(size=(3, 4, 5))
    s1v, s2v = s1.ravel(), s2.ravel()
    cos = s1v @ s2v / np.linalg.norm(s1v) / np.linalg.norm(s2v)
    code_form = 0.5 * s1v @ s1v + 0.5 * s2v @ s2v - np.linalg.norm(s1v) * np.linalg.norm(s2v) * cos
    assert continual.forgetting_two_tasks(s1, s2) == pytest.approx(code_form, rel=1e-12)
    sig = np.stack([s1, s2])
    fm = continual.forgetting_matrix(w0, sig)
    assert fm[0, 1] == pytest.approx(continual.forgetting_two_tasks(s1, s2), rel=1e-12)
    assert fm[1, 1] == pytest.approx(-continual.forgetting_two_tasks(s2, s1), rel=1e-12)   # learning task 2
    assert fm[0, 0] == pytest.approx(-0.5 * np.sum((w0 - s1) ** 2), rel=1e-12)           # from W2W1(0)
    syy = np.stack([np.eye(4) * 9.0] * 2)
    np.testing.assert_allclose(continual.numerical_forgetting(continual.loss_table(w0, sig, syy)), fm, atol=1e-12)


# --------------------------------------------------------------------------- rotation (spec 2.11)
def _square(seed=7, n=2, nh=2, sigma=0.5):
    rng = np.random.default_rng(seed)
    task, _ = tasks.teacher_student(n, n, n, 50, 1.0, rng)
    w1, w2 = init.zero_balanced(n, nh, n, sigma, rng, sigma_yx=task.sigma_yx)
    return task.sigma_yx, w1, w2


@pytest.mark.parametrize("n,nh", [(2, 2), (3, 5)])
def test_q_reproduces_theorem_3_1_and_starts_at_q0(n, nh):
    syx, w1, w2 = _square(n=n, nh=nh)
    smax = np.linalg.svd(syx, compute_uv=False)[0]
    t = np.linspace(0, 12 / smax, 60)
    q = rotation.q_factor(w1, w2, syx, t)
    assert q.shape == (60, 2 * n, nh)
    qq = exact.qqt(w1, w2, syx, t)
    assert np.max(np.abs(q @ np.swapaxes(q, 1, 2) - qq)) < 2e-7 * np.max(np.abs(qq))   # spec V2: 1.8e-7
    np.testing.assert_allclose(q[0], rotation.q_of_weights(w1, w2), atol=1e-14)
    p, k = rotation.p_k(w1, w2, syx, t)
    ps, ks = rotation.p_k_svd(w1, w2, syx, t)                        # spec V12: <= 1.4e-9
    assert np.max(np.abs(p - ps)) < 1e-9 * np.max(np.abs(p))
    assert np.max(np.abs(k - ks)) < 1e-9 * np.max(np.abs(k))
    assert np.all(np.linalg.eigvalsh(k) > 0)


def test_rotation_from_gd_is_orthogonal_not_constant_and_recovers_weights():
    syx, w1, w2 = _square(sigma=1.0)
    smax = np.linalg.svd(syx, compute_uv=False)[0]
    eta = 1e-3
    n_steps = int(round(8 / smax / eta))
    steps = np.linspace(0, n_steps, 50).astype(int)
    tr = simulate.gd_linear(w1, w2, syx, eta, n_steps, record_steps=steps, record=("W1", "W2"))
    q_sim = rotation.q_of_weights(tr.records["W1"], tr.records["W2"])
    q = rotation.q_factor(w1, w2, syx, steps * eta)
    d = rotation.rotation_estimate(q, q_sim)
    dev_orth = np.max(np.abs(d @ np.swapaxes(d, 1, 2) - np.eye(2)))
    assert dev_orth < 2e-3
    np.testing.assert_allclose(d[0], np.eye(2), atol=1e-12)          # D(0) = I with the definition of 2.11
    assert np.max(np.abs(d - np.eye(2))) > 1e-2                      # the rotation is real (spec V12: 0.14)
    assert np.max(np.abs(q - q_sim)) > 1e-2 * np.max(np.abs(q_sim))  # q alone is not the weights ...
    assert np.max(np.abs(q @ d - q_sim)) < 2e-3 * np.max(np.abs(q_sim))  # ... q D is


# --------------------------------------------------------------------------- Figure 7 protocol pieces
def test_fig7_task_pair_and_stop_rule_do_not_depend_on_chunking():
    from learndyn.figures.paper_a import fig7
    c = dict(n=2, n_hidden=2, n_samples=50, sigma_teacher=0.3, learning_rate=0.05, tol=1e-6, max_steps=200000)
    rng = np.random.default_rng(0)
    t1, t2 = fig7.draw_tasks(c, rng)
    assert np.linalg.det(t1.sigma_yx) * np.linalg.det(t2.sigma_yx) > 0          # spec 1.3 / 5.9
    np.testing.assert_allclose(t1.x @ t1.x.T / 50, np.eye(2), atol=1e-12)        # whitened
    w1, w2 = init.zero_balanced(2, 2, 2, 0.05, rng, sigma_yx=t1.sigma_yx)
    runs = [fig7.run_until(w1, w2, t1.sigma_yx, dict(c, chunk=chunk), 7, ("W1", "W2W1")) for chunk in (150, 10**6)]
    (s_a, r_a, n_a, w1a, _), (s_b, r_b, n_b, w1b, _) = runs
    assert n_a == n_b and np.array_equal(s_a, s_b) and s_a[-1] == n_a
    np.testing.assert_array_equal(r_a["W2W1"], r_b["W2W1"])
    np.testing.assert_array_equal(w1a, w1b)
    loss = 0.5 * np.sum((r_a["W2W1"] - t1.sigma_yx) ** 2, axis=(1, 2))
    assert loss[-1] < c["tol"] <= loss[-2]                                        # stops at the first step below tol
    # the stop step is the first one below tol: one step earlier is above it
    tr = simulate.gd_linear(w1, w2, t1.sigma_yx, c["learning_rate"], n_a - 1, record=())
    assert tr.loss[-1] >= c["tol"]
