"""simulate.gd_nonlinear_mixed (paper A Fig. 5B: the tanh and ReLU networks of one draw trained as one batch)
gives exactly the weights and losses of separate simulate.gd_nonlinear runs."""

import numpy as np
import pytest

from learndyn import init, simulate, tasks


@pytest.mark.parametrize("shape", [(5, 8, 3), (9, 11, 12)])
def test_mixed_batch_equals_separate_runs(shape):
    ni, nh, no = shape
    rng = np.random.default_rng(1)
    task = tasks.random_regression(ni, no, 40, rng)
    w1, w2 = init.zero_balanced(ni, nh, no, 0.5, rng)
    acts = ("tanh", "relu", "linear", "tanh")
    m1, m2, last = simulate.gd_nonlinear_mixed(w1, w2, task.x, task.y, 0.075, 400, acts)
    for b, act in enumerate(acts):
        ref = simulate.gd_nonlinear(w1, w2, task.x, task.y, 0.075, 400, activation=act, record=())
        np.testing.assert_array_equal(m1[b], ref.w1)
        np.testing.assert_array_equal(m2[b], ref.w2)
        assert last[b] == ref.loss[-1]
