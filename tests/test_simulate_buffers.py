"""The allocation-free steppers of learndyn.simulate give the numbers of their plain definitions, bitwise:
gd_nonlinear's buffered steps equal repeated grad_nonlinear updates (loss every step or only the last one),
gd_linear's preallocated records equal the quantities recomputed from recorded weights, and gd_linear_until's
at-stop quantities (re-run from each chunk's first state) equal those of one run that records everything."""

import numpy as np
import pytest

from learndyn import init, simulate, tasks


@pytest.mark.parametrize("acts", ["tanh", "relu", "linear", ("tanh", "relu"), ("relu", "linear", "relu")])
def test_gd_nonlinear_equals_repeated_gradient_steps(acts):
    rng = np.random.default_rng(7)
    ni, nh, no = 6, 9, 4
    task = tasks.random_regression(ni, no, 30, rng)
    w1, w2 = init.zero_balanced(ni, nh, no, 0.7, rng)
    n_steps, eta = 60, 0.075
    per_member = not isinstance(acts, str)
    r1 = np.stack([w1] * len(acts)) if per_member else w1.copy()
    r2 = np.stack([w2] * len(acts)) if per_member else w2.copy()
    ref_loss = []
    for _ in range(n_steps):
        g1, g2, loss = simulate.grad_nonlinear(r1, r2, task.x, task.y, acts)
        ref_loss.append(loss)
        r1 = r1 - eta * g1
        r2 = r2 - eta * g2
    ref_loss.append(simulate.grad_nonlinear(r1, r2, task.x, task.y, acts)[2])
    every = simulate.gd_nonlinear(w1, w2, task.x, task.y, eta, n_steps, activation=acts, record=())
    last = simulate.gd_nonlinear(w1, w2, task.x, task.y, eta, n_steps, activation=acts, record=(),
                                 loss_every_step=False)
    for tr in (every, last):
        np.testing.assert_array_equal(tr.w1, r1)
        np.testing.assert_array_equal(tr.w2, r2)
    np.testing.assert_array_equal(every.loss, np.array(ref_loss))
    np.testing.assert_array_equal(last.loss, np.array(ref_loss)[-1:])
    # loss_nonlinear reduces in another order: equal to round-off only
    np.testing.assert_allclose(simulate.loss_nonlinear(r1, r2, task.x, task.y, acts), ref_loss[-1], rtol=1e-13)


def test_gd_linear_records_equal_recomputed_quantities():
    rng = np.random.default_rng(8)
    w1 = 0.3 * rng.standard_normal((5, 7, 4))
    w2 = 0.3 * rng.standard_normal((5, 3, 7))
    syx = rng.standard_normal((3, 4))
    steps = [0, 1, 17, 200]
    eta = np.linspace(0.01, 0.05, 5)
    tr = simulate.gd_linear(w1, w2, syx, eta, 200, record_steps=steps, record=simulate.QUANTITIES)
    a, b = tr.records["W1"], tr.records["W2"]
    np.testing.assert_array_equal(tr.records["W2W1"], b @ a)
    np.testing.assert_array_equal(tr.records["W1tW1"], np.swapaxes(a, -1, -2) @ a)
    np.testing.assert_array_equal(tr.records["W2W2t"], b @ np.swapaxes(b, -1, -2))
    np.testing.assert_array_equal(a[-1], tr.w1)
    np.testing.assert_array_equal(tr.steps, steps)
    short = simulate.gd_linear(w1, w2, syx, eta, 200, record_steps=steps, record=("W2W1",),
                               until=lambda losses: True, check_every=10)       # stops at step 10
    assert short.n_steps == 10 and list(short.steps) == [0, 1]
    np.testing.assert_array_equal(short.records["W2W1"], tr.records["W2W1"][:2])
    np.testing.assert_array_equal(short.loss, tr.loss[:11])


@pytest.mark.parametrize("rates", [0.05, "per member"])
def test_gd_linear_until_at_stop_equals_full_records(rates):
    rng = np.random.default_rng(9)
    b, ni, nh, no = 12, 3, 4, 3
    scale = np.geomspace(1e-3, 1.0, b)[:, None, None]
    w1 = scale * rng.standard_normal((b, nh, ni))
    w2 = scale * rng.standard_normal((b, no, nh))
    syx = rng.standard_normal((no, ni))
    eta = 0.05 if rates == 0.05 else np.linspace(0.02, 0.06, b)
    crit = lambda w: np.max(np.abs(w - syx), axis=(-2, -1)) < 3e-2      # noqa: E731
    max_steps = 1500
    run = simulate.gd_linear_until(w1, w2, syx, eta, max_steps, crit, chunk=101, keep=("W2",),
                                   at_stop=("W2W1", "W1tW1", "W2W2t", "W1"))
    assert (run.stop >= 0).sum() >= 3 and len(np.unique(run.stop[run.stop >= 0] // 101)) >= 2
    full = simulate.gd_linear(w1, w2, syx, eta, run.n_steps, record_steps=np.arange(run.n_steps + 1),
                              record=simulate.QUANTITIES)
    stop = np.where(run.stop >= 0, run.stop, run.n_steps)
    np.testing.assert_array_equal(run.stop, np.where(crit(full.records["W2W1"]).any(axis=0),
                                                     np.argmax(crit(full.records["W2W1"]), axis=0), -1))
    for name, value in run.at_stop.items():
        np.testing.assert_array_equal(value, full.records[name][stop, np.arange(b)], err_msg=name)
    np.testing.assert_array_equal(run.keep["W2"], full.records["W2"])
    np.testing.assert_array_equal(run.loss, full.loss)
