"""simulate.gd_nonlinear with one activation per batch member (paper A Fig. 5B: the tanh and ReLU networks of one
draw trained as one batch) gives exactly the weights and losses of separate single-activation runs."""

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
    mixed = simulate.gd_nonlinear(w1, w2, task.x, task.y, 0.075, 400, activation=acts, record=())
    m1, m2, last = mixed.w1, mixed.w2, mixed.loss[-1]
    for b, act in enumerate(acts):
        ref = simulate.gd_nonlinear(w1, w2, task.x, task.y, 0.075, 400, activation=act, record=())
        np.testing.assert_array_equal(m1[b], ref.w1)
        np.testing.assert_array_equal(m2[b], ref.w2)
        assert last[b] == ref.loss[-1]


def test_per_member_activations_must_match_the_batch():
    rng = np.random.default_rng(2)
    task = tasks.random_regression(4, 3, 20, rng)
    w1, w2 = init.zero_balanced(4, 5, 3, 0.5, rng)
    with pytest.raises(ValueError, match="unknown activation"):
        simulate.gd_nonlinear(w1, w2, task.x, task.y, 0.1, 5, activation=("tanh", "sigmoid"), record=())
    with pytest.raises(ValueError, match="2 activations"):
        simulate.grad_nonlinear(np.stack([w1] * 3), np.stack([w2] * 3), task.x, task.y, ("tanh", "relu"))
