"""Paper A Section 5 / Appendix E (spec exact-dynamics.md 2.6, 2.7, 4.3, 4.4, 5.7, 5.8; checks of section 7):
Theorem 5.1 vs Theorem 3.1 and gradient descent, the explicit 2x2 solution, the exact peak time and value of
the cross-mode coupling, the sigmoidal mode, the task-aligned and Fig.-8 initialisations, the MATLAB stopping
quantity, the representation error and per-member stopping of batched GD."""

import numpy as np
import pytest

from learndyn import aligned, exact, init, metrics, simulate, tasks

DENSE_2X2 = [[5.0, 1.0], [2.0, 1.0]]


def _aligned_run(y, sigma, seed, nh=None):
    y = np.asarray(y, dtype=float)
    w1, w2 = init.task_aligned(y, nh or y.shape[0], sigma, np.random.default_rng(seed))
    u, s, v = aligned.task_svd(y)
    return w1, w2, u, s, v, aligned.project(w2 @ w1, u, v)


# --------------------------------------------------------------------------- Theorem 5.1
@pytest.mark.parametrize("sigma, nh", [(0.001, 5), (0.3, 5), (2.0, 5), (0.3, 7)])
def test_theorem51_equals_theorem31(sigma, nh):
    """V6: for task-aligned zero-balanced weights Thm 5.1 reproduces the general Thm 3.1 (all of QQ^T)."""
    y = tasks.decoupling_targets(5)["dense"]
    w1, w2, u, s, v, m0 = _aligned_run(y, sigma, 1, nh)
    t = np.linspace(0.0, 1.5, 31)
    q51 = aligned.qqt_aligned(aligned.m_of_t(m0, s, t), u, v)
    q31 = exact.qqt(w1, w2, y, t)
    assert np.max(np.abs(q51 - q31)) <= 1e-9 * max(1.0, np.abs(q31).max())


def test_theorem51_matches_small_step_gd_and_deviation_is_order_eta():
    """Thm 5.1 vs GD on every step: O(eta) deviation, ~10x smaller at 10x smaller eta (spec 3 V6)."""
    y = np.array([[3.0, 1.0, 0.5], [0.0, 2.0, 1.0], [1.0, 0.0, 1.5]])
    w1, w2, u, s, v, m0 = _aligned_run(y, 0.3, 2)
    devs = []
    for eta in (1e-3, 1e-4):
        n = int(round(1.0 / eta))
        steps = np.arange(n + 1)
        tr = simulate.gd_linear(w1, w2, y, eta, n, record_steps=steps, record=("W2W1",))
        m_sim = aligned.project(tr.records["W2W1"], u, v)
        devs.append(np.max(np.abs(m_sim - aligned.m_of_t(m0, s, steps * eta))))
    assert devs[1] < 5e-3
    assert 6.0 < devs[0] / devs[1] < 14.0


def test_gd_keeps_the_aligned_form_m_symmetric():
    """GD preserves W1 = R A V~^T, W2 = U~ A^T R^T, so the simulated M stays symmetric (= A^T A)."""
    y = tasks.decoupling_targets(2, DENSE_2X2)["dense"]
    w1, w2, u, s, v, _ = _aligned_run(y, 0.5, 3)
    tr = simulate.gd_linear(w1, w2, y, 1e-2, 500, record_steps=np.arange(501), record=("W2W1",))
    m = aligned.project(tr.records["W2W1"], u, v)
    assert np.max(np.abs(m - np.swapaxes(m, 1, 2))) < 1e-12
    assert np.max(np.abs(init.balancedness(tr.w1, tr.w2))) < 1e-3  # O(eta^2) drift per step only


def test_theorem51_limits_and_ode():
    """M(0) = M0, M(inf) = S~, and tau dM/dt = S~M + MS~ - 2M^2 (spec 2.6) by central differences."""
    rng = np.random.default_rng(4)
    a0 = rng.normal(size=(4, 4)) * 0.4
    m0 = a0.T @ a0
    s = np.array([4.0, 2.5, 1.0, 0.3])
    np.testing.assert_allclose(aligned.m_of_t(m0, s, 0.0)[0], m0, atol=1e-13)
    np.testing.assert_allclose(aligned.m_of_t(m0, s, 200.0)[0], np.diag(s), atol=1e-12)
    t, h = np.array([0.05, 0.4, 1.3]), 1e-5
    m = aligned.m_of_t(m0, s, t)
    dm = (aligned.m_of_t(m0, s, t + h) - aligned.m_of_t(m0, s, t - h)) / (2 * h)
    rhs = s[:, None] * m + m * s[None, :] - 2 * m @ m
    np.testing.assert_allclose(dm, rhs, atol=1e-6)


def test_task_svd_identity_rule_and_projection():
    u, s, v = aligned.task_svd(5.0 * np.eye(3))
    assert np.array_equal(u, np.eye(3)) and np.array_equal(v, np.eye(3)) and np.allclose(s, 5.0)
    y = tasks.decoupling_targets(5)["unequal"]
    u, s, v = aligned.task_svd(y)
    np.testing.assert_allclose(s, [5, 4, 3, 2, 1])
    np.testing.assert_allclose(aligned.unproject(np.diag(s), u, v), y, atol=1e-14)
    w = np.random.default_rng(0).normal(size=(2, 5, 5))
    np.testing.assert_allclose(aligned.unproject(aligned.project(w, u, v), u, v), w, atol=1e-13)
    with pytest.raises(ValueError):
        aligned.task_svd(np.ones((2, 3)))


# --------------------------------------------------------------------------- explicit 2x2 solution
@pytest.mark.parametrize("kind", ["dense", "unequal", "equal"])
@pytest.mark.parametrize("sigma", [1e-5, 0.1, 2.0])
def test_explicit_2x2_equals_theorem51(kind, sigma):
    y = tasks.decoupling_targets(2, DENSE_2X2)[kind]
    *_, s, _, m0 = _aligned_run(y, sigma, 5)
    t = np.linspace(0.0, 6.0, 121)
    m2 = aligned.m_2x2(m0[0, 0], m0[1, 1], m0[0, 1], s[0], s[1], t)
    m51 = aligned.m_of_t(m0, s, t)
    assert np.max(np.abs(m2 - m51)) <= 1e-9 * max(1.0, np.abs(m51).max())


def test_explicit_2x2_limits_and_decoupled_case():
    t = np.array([0.0, 60.0])
    m = aligned.m_2x2(0.3, 0.2, 0.1, 5.0, 1.0, t)
    np.testing.assert_allclose(m[0], [[0.3, 0.1], [0.1, 0.2]], atol=1e-14)
    np.testing.assert_allclose(m[1], np.diag([5.0, 1.0]), atol=1e-12)
    tt = np.linspace(0, 3, 50)
    m = aligned.m_2x2(1e-3, 2e-3, 0.0, 5.0, 1.0, tt)               # b = 0: two sigmoidal modes
    np.testing.assert_allclose(m[:, 0, 0], aligned.sigmoid_mode(1e-3, 5.0, tt), rtol=1e-12)
    np.testing.assert_allclose(m[:, 1, 1], aligned.sigmoid_mode(2e-3, 1.0, tt), rtol=1e-12)
    assert np.all(m[:, 0, 1] == 0)
    with pytest.raises(ValueError):
        aligned.m_2x2(1.0, 1.0, 1.5, 5.0, 5.0, tt)                   # not positive definite


def test_explicit_2x2_vs_gradient_descent():
    """V7: explicit 2x2 solution vs GD (eta = 1e-4) on every step for the three targets, sigma = 0.1."""
    for kind in ("dense", "unequal", "equal"):
        y = tasks.decoupling_targets(2, DENSE_2X2)[kind]
        w1, w2, u, s, v, m0 = _aligned_run(y, 0.1, 6)
        eta, n = 1e-4, 12000
        steps = np.arange(n + 1)
        tr = simulate.gd_linear(w1, w2, y, eta, n, record_steps=steps, record=("W2W1",))
        m_sim = aligned.project(tr.records["W2W1"], u, v)
        m2 = aligned.m_2x2(m0[0, 0], m0[1, 1], m0[0, 1], s[0], s[1], steps * eta)
        assert np.max(np.abs(m_sim - m2)) < 0.03, kind


# --------------------------------------------------------------------------- peak time and value
def test_peak_time_and_value_against_the_closed_form_on_a_fine_grid():
    """t* and b(t*) (spec 2.7 / section 7) equal the argmax and max of |b(t)| of the explicit solution."""
    for a1, a2, b, s in [(0.02, 0.01, 0.01, 5.0), (2.0, 1.5, 1.2, 5.0), (0.3, 0.5, -0.2, 3.0), (1e-6, 3e-6, 1e-6, 5.0),
                         (0.5, 0.5, 0.45, 2.0)]:
        ts = aligned.peak_time(a1, a2, b, s)
        t = np.linspace(0.0, 3 * ts, 300_001)
        bt = aligned.m_2x2(a1, a2, b, s, s, t)[:, 0, 1]
        k = np.argmax(np.abs(bt))
        assert abs(t[k] - ts) <= 2 * (t[1] - t[0])
        assert aligned.peak_value(a1, a2, b, s) == pytest.approx(bt[k], rel=1e-6)
        assert np.sign(aligned.peak_value(a1, a2, b, s)) == np.sign(b)


def test_peak_time_versus_the_authors_approximation():
    """Spec V7b: near the no-peak boundary the code's t_bumps is wrong, the exact form is right."""
    assert aligned.peak_time(2.0, 1.5, 1.2, 5.0) == pytest.approx(0.08796, abs=1e-5)
    assert aligned.peak_time_code(2.0, 1.5, 1.2, 5.0) == pytest.approx(0.07851, abs=1e-5)
    assert aligned.peak_time(2.4, 2.4, 0.1, 5.0) == pytest.approx(0.00802, abs=1e-5)
    assert aligned.peak_time_code(2.4, 2.4, 0.1, 5.0) == pytest.approx(-0.0875, abs=1e-4)
    # small init: both agree (ln(1 + x) ~ ln x for x >> 1)
    assert aligned.peak_time_code(2e-8, 1e-8, 5e-9, 5.0) == pytest.approx(aligned.peak_time(2e-8, 1e-8, 5e-9, 5.0),
                                                                          rel=1e-6)


def test_no_peak_at_large_init_and_monotone_decay():
    a1, a2, b, s = 6.0, 4.0, 2.0, 5.0                  # s < a1 + a2
    assert np.isnan(aligned.peak_time(a1, a2, b, s)) and np.isnan(aligned.peak_value(a1, a2, b, s))
    bt = np.abs(aligned.m_2x2(a1, a2, b, s, s, np.linspace(0, 5, 2001))[:, 0, 1])
    assert np.all(np.diff(bt) < 0)


def test_small_init_peak_value_is_scale_free():
    a1, a2, b, s = 2.0, 1.0, 0.7, 5.0
    lim = aligned.peak_value_small_init(a1, a2, b, s)
    for scale in (1e-6, 1e-10):
        assert aligned.peak_value(scale * a1, scale * a2, scale * b, s) == pytest.approx(lim, rel=1e-3)
    rho = 0.6
    assert aligned.peak_value_small_init(1.0, 1.0, rho, s) == pytest.approx(s * rho / (2 * (1 + np.sqrt(1 - rho ** 2))))


def test_peak_time_matches_simulated_argmax():
    """Spec 7 Fig. 4 row F: |t* - argmax_t b_sim| <= 0.5 % and peak value within 2 % (eta = 1e-4)."""
    y = 5.0 * np.eye(2)
    w1, w2, u, s, v, m0 = _aligned_run(y, 0.1, 7)
    a1, a2, b = m0[0, 0], m0[1, 1], m0[0, 1]
    ts = aligned.peak_time(a1, a2, b, 5.0)
    eta = 1e-4
    n = int(2 * ts / eta)
    tr = simulate.gd_linear(w1, w2, y, eta, n, record_steps=np.arange(n + 1), record=("W2W1",))
    bs = aligned.project(tr.records["W2W1"], u, v)[:, 0, 1]
    k = np.argmax(np.abs(bs))
    assert abs(k * eta - ts) / ts <= 5e-3
    assert abs(bs[k] - aligned.peak_value(a1, a2, b, 5.0)) / abs(bs[k]) <= 0.02


# --------------------------------------------------------------------------- sigmoidal mode
@pytest.mark.parametrize("s, a0, t_half", [(5.0, 1e-6, 1.5425), (1.0, 1e-4, 4.6051), (3.0, 0.5, 0.2682)])
def test_sigmoid_half_time(s, a0, t_half):
    """V8: t_1/2 = ln(s/a0 - 1)/(2s), and a(t_1/2) = s/2."""
    th = aligned.half_time(a0, s)
    assert th == pytest.approx(t_half, abs=1e-4)
    assert aligned.sigmoid_mode(a0, s, th)[0] == pytest.approx(s / 2, rel=1e-12)
    assert np.isnan(aligned.half_time(0.6 * s, s))


def test_sigmoid_mode_vs_scalar_gd():
    """A scalar decoupled mode (1x1x1 network, W1 = W2 = sqrt(a0)) follows the sigmoid to O(eta)."""
    s, a0, eta = 3.0, 0.01, 1e-4
    n = 20000
    w = np.array([[np.sqrt(a0)]])
    tr = simulate.gd_linear(w, w, np.array([[s]]), eta, n, record_steps=np.arange(n + 1), record=("W2W1",))
    sim = tr.records["W2W1"][:, 0, 0]
    assert np.max(np.abs(sim - aligned.sigmoid_mode(a0, s, np.arange(n + 1) * eta))) < 2e-3


# --------------------------------------------------------------------------- initialisations
def test_task_aligned_init():
    y = tasks.decoupling_targets(5)["dense"]
    w1, w2 = init.task_aligned(y, 7, 0.3, np.random.default_rng(0))
    assert w1.shape == (7, 5) and w2.shape == (5, 7)
    assert np.max(np.abs(init.balancedness(w1, w2))) < 1e-13
    u, _, v = aligned.task_svd(y)
    m0 = aligned.project(w2 @ w1, u, v)
    np.testing.assert_allclose(m0, m0.T, atol=1e-14)
    assert np.all(np.linalg.eigvalsh(m0) > 0)
    # sign det W2W1 = sign det Y: B invertible, Theorem 3.1 applies (spec 1.3)
    assert np.sign(np.linalg.det(w2 @ w1)) == np.sign(np.linalg.det(y))
    with pytest.raises(ValueError):
        init.task_aligned(y, 3, 0.3, np.random.default_rng(0))


def test_fig8_balanced_variant():
    """Spec 4.4: W2W1 = A ~ N(0, l^2) exactly, zero-balanced, no gamma; det-sign rule for square tasks."""
    rng = np.random.default_rng(1)
    for ni, no in [(7, 5), (5, 7), (8, 8)]:
        w1, w2 = init.zero_balanced_direct(ni, 10, no, 0.7, rng)
        assert w1.shape == (10, ni) and w2.shape == (no, 10)
        assert np.max(np.abs(init.balancedness(w1, w2))) < 1e-13
    # the product is the Gaussian matrix drawn first with the same generator state
    a = np.random.default_rng(2).normal(0.0, 0.7, size=(5, 7))
    w1, w2 = init.zero_balanced_direct(7, 10, 5, 0.7, np.random.default_rng(2))
    np.testing.assert_allclose(w2 @ w1, a, atol=1e-13)
    # entry variance of the product over many draws = l^2 (unlike Algorithm 1's gamma^2 factor)
    def product(w):
        return w[1] @ w[0]

    prods = np.stack([product(init.zero_balanced_direct(3, 4, 3, 0.5, rng)) for _ in range(2000)])
    assert np.var(prods) == pytest.approx(0.25, rel=0.05)
    y = tasks.WEIGHTED_HIERARCHY
    dets = [np.linalg.det(product(init.zero_balanced_direct(8, 10, 8, 1.0, np.random.default_rng(k), sigma_yx=y)))
            for k in range(10)]
    assert set(np.sign(dets)) == {np.sign(np.linalg.det(y))}


# --------------------------------------------------------------------------- targets
def test_targets():
    t2 = tasks.decoupling_targets(2, DENSE_2X2)
    np.testing.assert_allclose(np.linalg.svd(t2["dense"], compute_uv=False), [5.5414, 0.5414], atol=1e-4)
    assert list(t2) == list(tasks.DECOUPLING_KINDS)
    t5 = tasks.decoupling_targets(5)
    np.testing.assert_allclose(np.linalg.svd(t5["dense"], compute_uv=False), [11.729, 5.685, 3.274, 2.415, 1.888],
                               atol=1e-3)
    assert round(np.linalg.det(t5["dense"])) == -995
    np.testing.assert_allclose(np.diag(t5["unequal"]), [5, 1, 2, 3, 4])
    with pytest.raises(ValueError):
        tasks.decoupling_targets(2)
    np.testing.assert_allclose(np.linalg.svd(tasks.WEIGHTED_HIERARCHY, compute_uv=False),
                               [11.314, 8.485, 8, 6, 5.657, 4.243, 2.828, 1.414], atol=1e-3)
    rng = np.random.default_rng(0)
    for no, ni in [(7, 7), (5, 7), (7, 5)]:
        y = tasks.random_target(no, ni, rng, 0.3)
        assert y.shape == (no, ni) and np.linalg.svd(y, compute_uv=False)[-1] >= 0.3
    with pytest.raises(ValueError):
        tasks.random_target(7, 7, rng, 50.0, max_draws=5)


# --------------------------------------------------------------------------- metrics
def test_code_loss_is_mean_of_half_e_et():
    rng = np.random.default_rng(3)
    w, y = rng.normal(size=(4, 3, 5)), rng.normal(size=(3, 5))
    ref = [np.mean(0.5 * (y - wi) @ (y - wi).T) for wi in w]
    np.testing.assert_allclose(metrics.code_loss(w, y), ref, rtol=1e-13)
    assert metrics.code_loss(y, y) == 0.0


def test_representation_error():
    rng = np.random.default_rng(4)
    y = rng.normal(size=(5, 7))
    rich = exact.limit(y)
    w1tw1, w2w2t = rich[:7, :7], rich[7:, 7:]
    e1, e2 = metrics.representation_error(w1tw1, w2w2t, y)
    assert e1 < 1e-25 and e2 < 1e-25
    d = np.zeros((7, 7)); d[0, 1] = d[1, 0] = 0.5
    e1, e2 = metrics.representation_error(w1tw1 + d, w2w2t, y)
    assert e1 == pytest.approx(0.5) and e2 < 1e-25
    # balanced weights at W2W1 = Y have the rich representation exactly (Thm 3.2)
    w1, w2 = init.zero_balanced_direct(7, 10, 5, 1.0, np.random.default_rng(5))
    e1, e2 = metrics.representation_error(w1.T @ w1, w2 @ w2.T, w2 @ w1)
    assert e1 < 1e-24 and e2 < 1e-24


# --------------------------------------------------------------------------- per-member stopping
def test_gd_linear_until_equals_one_run_and_stops_each_member_at_its_first_crossing():
    rng = np.random.default_rng(6)
    y = tasks.decoupling_targets(2, DENSE_2X2)["dense"]
    w1 = rng.normal(size=(3, 4, 2)) * np.array([0.01, 0.3, 1.0])[:, None, None]
    w2 = rng.normal(size=(3, 2, 4)) * np.array([0.01, 0.3, 1.0])[:, None, None]
    tol, eta = 1e-3, 0.01
    crit = lambda w: metrics.code_loss(w, y) < tol  # noqa: E731
    run = simulate.gd_linear_until(w1, w2, y, eta, 5000, crit, chunk=37, keep=("W2W1",), at_stop=("W1tW1",))
    full = simulate.gd_linear(w1, w2, y, eta, run.n_steps, record_steps=np.arange(run.n_steps + 1),
                              record=("W2W1", "W1tW1"))
    assert np.array_equal(run.keep["W2W1"], full.records["W2W1"])          # chunking is exact
    assert np.array_equal(run.loss, full.loss)
    ok = crit(full.records["W2W1"])
    first = np.argmax(ok, axis=0)
    assert np.all(ok.any(axis=0)) and np.array_equal(run.stop, first)
    assert run.n_steps - 37 < run.stop.max() <= run.n_steps                 # ends in the chunk of the last stop
    for b in range(3):
        np.testing.assert_array_equal(run.at_stop["W1tW1"][b], full.records["W1tW1"][first[b], b])
    never = simulate.gd_linear_until(w1, w2, y, eta, 50, lambda w: np.zeros(w.shape[:2], bool), chunk=20,
                                     at_stop=("W2W1",))
    assert np.all(never.stop == -1) and never.n_steps == 50
    np.testing.assert_array_equal(never.at_stop["W2W1"], simulate.gd_linear(w1, w2, y, eta, 50).w2 @
                                  simulate.gd_linear(w1, w2, y, eta, 50).w1)
