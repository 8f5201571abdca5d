"""Paper A Fig. 2C protocol: the fast path (factors once per network, learning rates trained as one batch,
the closed form in vectorised blocks) against the straightforward one, and the float32/float64 switch."""

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from learndyn import exact, metrics, simulate
from learndyn.figures.paper_a import fig2

ROOT = Path(__file__).resolve().parents[1]


def _sweep_cfg(**over):
    cfg = yaml.safe_load(open(ROOT / "config" / "paper_a.yaml"))["paper_a"]["fig2"]
    c = cfg["sweep"]
    c.update(n_networks=3, dim_range=[2, 9], n_etas=3, max_steps=1500, min_steps=600, d_steps=1500,
             n_picks=2, n_plot_points=30, precision="float64")
    c.update(over)
    return cfg


@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_loss_from_factors_equals_loss(seed):
    """Factors once + blocked evaluation (exact.loss_from_factors, which exact.loss also calls) == the loss of the
    explicit network function W(t) of Theorem 3.1 (exact.network_function, metrics.loss) on several time grids."""
    c = _sweep_cfg(dim_range=[2, 12])["sweep"]
    net = fig2.sweep_network(seed, c)
    task = net["task"]
    t = np.concatenate([np.arange(700) * 0.05, np.arange(300) * 0.0005, [0.0, 1e3]])
    ref = metrics.loss(exact.network_function(net["w1"], net["w2"], task.sigma_yx, t), task.sigma_yx, task.sigma_yy)
    f = exact.riccati_factors(net["w1"], net["w2"], task.sigma_yx)
    for chunk in (1, 7, 64, 5000):
        new = exact.loss_from_factors(f, t, metrics.optimal_loss(task.sigma_yx, task.sigma_yy), chunk=chunk)
        assert np.max(np.abs(new - ref)) <= 1e-12 * np.max(np.abs(ref))


def test_sweep_exact_losses_equal_per_eta_closed_form():
    """The per-network evaluation of every learning rate's step grid equals exact.loss per learning rate."""
    c = _sweep_cfg()["sweep"]
    net = fig2.sweep_network(4, c)
    etas, ks = fig2.learning_rates(c), [900, 17, 1500]
    got = fig2.sweep_exact_losses(net, etas, ks)
    for eta, k, g in zip(etas, ks, got):
        ref = exact.loss(net["w1"], net["w2"], net["task"].sigma_yx, net["task"].sigma_yy, np.arange(k + 1) * eta)
        assert g.shape == (k + 1,)
        np.testing.assert_allclose(g, ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batched_learning_rates_equal_single_runs(dtype):
    """Training the learning rates as one batch == training each alone (same dtype)."""
    c = _sweep_cfg()["sweep"]
    net = fig2.sweep_network(1, c)
    etas = fig2.learning_rates(c)
    task = net["task"]
    batched = simulate.gd_linear(net["w1"], net["w2"], task.sigma_yx, etas, 800, sigma_yy=task.sigma_yy,
                                 record=(), dtype=dtype)
    for j, eta in enumerate(etas):
        single = simulate.gd_linear(net["w1"], net["w2"], task.sigma_yx, eta, 800, sigma_yy=task.sigma_yy,
                                    record=(), dtype=dtype)
        tol = 1e-13 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(batched.loss[:, j], single.loss, rtol=tol, atol=0)


def _old_sweep(cfg):
    """The protocol as first written: factors recomputed per learning rate, exact.loss per grid."""
    c = cfg["sweep"]
    out = {}
    for i in range(c["n_networks"]):
        net = fig2.sweep_network(c["seed0"] + i, c)
        task = net["task"]
        etas = fig2.learning_rates(c)
        done = lambda losses: all(fig2.stop_index(losses[:, j], c) < len(losses) - 1  # noqa: E731
                                  for j in range(len(etas)))
        tr = simulate.gd_linear(net["w1"], net["w2"], task.sigma_yx, etas, c["max_steps"],
                                sigma_yy=task.sigma_yy, record=(), until=done)
        for j, eta in enumerate(etas):
            k = fig2.stop_index(tr.loss[:, j], c)
            ana = exact.loss(net["w1"], net["w2"], task.sigma_yx, task.sigma_yy, np.arange(k + 1) * eta)
            out[(i, j)] = (k, float(np.mean((tr.loss[: k + 1, j] - ana) ** 2)))
    return out


def test_compute_sweep_float64_equals_old_path():
    cfg = _sweep_cfg()
    df = fig2.compute_sweep(cfg)
    old = _old_sweep(cfg)
    etas = fig2.learning_rates(cfg["sweep"])
    for (i, j), (k, mse) in old.items():
        sel = (df["condition"] == f"network={i}") & (df["learning_rate"] == etas[j])
        assert int(df.loc[sel & (df["quantity"] == "n_steps"), "value"].iloc[0]) == k
        got = float(df.loc[sel & (df["quantity"] == "loss_mse"), "value"].iloc[0])
        assert got == pytest.approx(mse, rel=1e-8)


def test_batches_partition_networks():
    """Every network lands in exactly one batch, whatever the batch count."""
    cfg = _sweep_cfg(n_networks=5, max_steps=700, min_steps=300)
    one = fig2.compute_sweep(cfg)
    parts = [fig2.compute_sweep(cfg, batch=b, n_batches=3) for b in range(3)]
    mse = lambda d: d[d["quantity"] == "loss_mse"].set_index(["seed", "learning_rate"])["value"].sort_index()  # noqa: E731
    np.testing.assert_array_equal(mse(pd.concat(parts)).to_numpy(), mse(one).to_numpy())


def test_precision_switch():
    """float32 training (the authors' JAX default): the loss stagnates exactly, so the stopping rule
    (|dL| < 1e-15) fires right after min_steps for the large learning rates, where float64 runs on; the
    deviation from the float64 closed form stays small."""
    cfg32 = _sweep_cfg(n_networks=1, n_etas=2, eta_min=0.005, max_steps=6000, min_steps=3000, precision="float32")
    cfg64 = copy.deepcopy(cfg32)
    cfg64["sweep"]["precision"] = "float64"
    assert fig2.sweep_precision(cfg32["sweep"]) is np.float32
    n32 = fig2.compute_sweep(cfg32)
    n64 = fig2.compute_sweep(cfg64)
    s32 = n32[n32["quantity"] == "n_steps"]["value"].to_numpy()
    s64 = n64[n64["quantity"] == "n_steps"]["value"].to_numpy()
    assert np.all(s32 <= s32.max()) and s32[0] <= 3001 + 1
    assert np.all(s32 <= s64)
    m32 = n32[n32["quantity"] == "loss_mse"]["value"].to_numpy()
    assert np.all(m32 < 5e-6)
