"""Paper B, Figures 6 and 14 (XOR): theory matrix (spec 6.1, Eq. 10/11 per pair), same/different bookkeeping,
the training rows against a hand-written torch forward pass and SGD/MSE steps, the theory rule on a synthetic
table (rate averaging of spec 3.3) and the spec-7 checks (they must fail on wrong data)."""

import numpy as np
import pytest
import torch

from learndyn import datasets, deepnets, effective, io
from learndyn.figures.paper_b import _train_xor as tx
from learndyn.figures.paper_b import fig6, fig14

X, Y = (a.astype(np.float64) for a in datasets.xor())
DX2 = fig6.squared_distances(X)
DY2 = fig6.squared_distances(Y)


def test_xor_pair_bookkeeping():
    same, diff = fig6.same_target_pairs(Y)
    assert same == [(0, 3), (1, 2)] == [tuple(p) for p in datasets.XOR_SAME_TARGET_PAIRS]
    assert diff == [(0, 1), (0, 2), (1, 3), (2, 3)]
    assert fig6.point_labels(X) == ["00", "01", "10", "11"]
    # spec 4.2: dx2 = 1 between adjacent points, 2 across the diagonal (= every same-target pair)
    assert [DX2[i, j] for i, j in same] == [2.0, 2.0]
    assert [DX2[i, j] for i, j in diff] == [1.0] * 4
    assert np.all(np.diag(DX2) == 0)


def test_same_different_ratio_on_a_hand_matrix():
    D = np.zeros((4, 4))
    for (i, j), v in {(0, 1): 1.0, (0, 2): 2.0, (1, 3): 3.0, (2, 3): 2.0, (0, 3): 0.1, (1, 2): 0.3}.items():
        D[i, j] = D[j, i] = v
    s = fig6.pair_stats(D, Y)
    assert s["mean_diff"] == pytest.approx(2.0)
    assert s["ratio"] == pytest.approx(0.1)            # mean(0.1, 0.3) / 2
    assert s["max_ratio"] == pytest.approx(0.15)       # 0.3 / 2
    assert s["same_over_diff"] == pytest.approx([0.05, 0.15])
    # Pearson r over the 6 pairs: invariant to scale/shift, -1 for the reversed order
    assert fig6.pearson_offdiag(D, 3 * D + 1) == pytest.approx(1.0)
    vals = np.array([D[i, j] for i, j in fig6.PAIRS])
    E = np.zeros((4, 4))
    for (i, j), v in zip(fig6.PAIRS, -vals):
        E[i, j] = E[j, i] = v
    assert fig6.pearson_offdiag(D, E) == pytest.approx(-1.0)


def test_theory_matrix_is_the_spec_formula_on_a_hand_example():
    """Spec 6.1: A = ((d_h0/d_x)^2 - (d_y0/d_h0)^2 eta_h/eta_y) d_x^2, B = sqrt(eta_h/eta_y) d_y d_x,
    entry sqrt(A/2 + sqrt(A^2/4 + B^2)), diagonal 0 - written out here entry by entry."""
    rng = np.random.default_rng(3)
    H0 = rng.normal(size=(4, 5)) * 0.1
    O0 = rng.normal(size=(4, 1)) * 0.05
    eh, ey = 2e-3, 5e-2
    h0, y0 = fig6.squared_distances(H0), fig6.squared_distances(O0)
    T = fig6.theory_matrix(h0, y0, DX2, DY2, eh, ey)
    ratio = eh / ey
    for i in range(4):
        assert T[i, i] == 0.0
        for j in range(4):
            if i == j:
                continue
            dh, dyh = np.linalg.norm(H0[i] - H0[j]), np.linalg.norm(O0[i] - O0[j])
            dx, dy = np.linalg.norm(X[i] - X[j]), np.linalg.norm(Y[i] - Y[j])
            A = ((dh / dx) ** 2 - (dyh / dh) ** 2 * ratio) * dx ** 2
            B = np.sqrt(ratio) * dy * dx
            assert T[i, j] == pytest.approx(np.sqrt(A / 2 + np.sqrt(A ** 2 / 4 + B ** 2)), rel=1e-12)
    # only the ratio enters
    np.testing.assert_allclose(fig6.theory_matrix(h0, y0, DX2, DY2, 10 * eh, 10 * ey), T, rtol=1e-12)


def test_theory_matrix_limits_merge_same_targets_only_at_small_weights():
    """Eq. 12/13: tiny initial distances -> same-target pairs (B = 0) merge, different-target pairs go to
    sqrt(B) = (eta_h/eta_y)^(1/4) |dx|^(1/2) |dy|^(1/2); large ones -> sqrt(A) ~ the initial distance."""
    rng = np.random.default_rng(0)
    H0 = rng.normal(size=(4, 50))
    O0 = rng.normal(size=(4, 1))
    ratio = 0.02
    small = fig6.theory_matrix(fig6.squared_distances(1e-4 * H0), fig6.squared_distances(1e-6 * O0), DX2, DY2,
                               ratio, 1.0)
    s = fig6.pair_stats(small, Y)
    assert s["max_ratio"] < 1e-2
    for i, j in [(0, 1), (0, 2), (1, 3), (2, 3)]:
        assert small[i, j] == pytest.approx(ratio ** 0.25, rel=1e-3)
    big_h0 = fig6.squared_distances(1e3 * H0)
    big = fig6.theory_matrix(big_h0, fig6.squared_distances(O0), DX2, DY2, ratio, 1.0)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(big[off], np.sqrt(big_h0[off]), rtol=1e-6)


TINY = dict(seed=3, activation="leaky_relu", optimizer="sgd", loss="mse",
            rows={"tiny": dict(n_hidden=3, width=7, gain=1.3, lr=0.05, epochs=4, observe=1)})


def _manual_forward(params, x, observe):
    """Hand-written MLP (spec 5.1): leaky ReLU(0.01) after every layer but the last."""
    a, hidden = x, None
    for k, (W, b) in enumerate(params):
        a = a @ W.T + b
        if k < len(params) - 1:
            a = torch.where(a > 0, a, 0.01 * a)
            if k == observe:
                hidden = a
    return a, hidden


def test_training_rows_match_a_manual_forward_pass_and_sgd_on_mse():
    cfg = TINY
    row = cfg["rows"]["tiny"]
    df = tx.train(cfg, "tiny")
    arch = tx.arch_of(row, cfg)
    params = [(torch.tensor(W, dtype=torch.float64, requires_grad=True),
               torch.tensor(b, dtype=torch.float64, requires_grad=True))
              for W, b in deepnets.initial_parameters(arch, cfg["seed"])]
    x = torch.tensor(X, dtype=torch.float64)
    y = torch.tensor(Y, dtype=torch.float64)
    steps, H = io.to_array(df, source="simulation", quantity="hidden")
    _, out = io.to_array(df, source="simulation", quantity="output")
    _, loss = io.to_array(df, source="simulation", quantity="loss")
    assert list(steps) == [0, row["epochs"]] and H.shape == (2, 4, row["width"]) and out.shape == (2, 4, 1)
    o0, h0 = _manual_forward(params, x, row["observe"])
    np.testing.assert_allclose(H[0], h0.detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out[0], o0.detach().numpy(), rtol=1e-5, atol=1e-7)
    # distance matrix of the initial hidden layer, computed independently
    D0 = np.sqrt(((h0[:, None, :] - h0[None, :, :]) ** 2).sum(-1).detach().numpy())
    np.testing.assert_allclose(np.sqrt(fig6.squared_distances(H[0])), D0, rtol=1e-5, atol=1e-7)
    # full-batch SGD on nn.MSELoss() (mean, no 1/2: D8), one step per epoch; loss recorded before each update
    manual_loss = []
    for _ in range(row["epochs"]):
        o, _ = _manual_forward(params, x, row["observe"])
        L = torch.mean((o - y) ** 2)
        manual_loss.append(L.item())
        grads = torch.autograd.grad(L, [p for pair in params for p in pair])
        with torch.no_grad():
            for p, g in zip([p for pair in params for p in pair], grads):
                p -= row["lr"] * g
    np.testing.assert_allclose(loss, manual_loss, rtol=1e-5)
    oT, hT = _manual_forward(params, x, row["observe"])
    np.testing.assert_allclose(H[1], hT.detach().numpy(), rtol=1e-4, atol=1e-6)
    fl = io.scalar(df, source="summary", quantity="final_loss")
    assert fl == pytest.approx(torch.mean((oT - y) ** 2).item(), rel=1e-4)
    assert fl == pytest.approx(tx.loss_of(out[1], Y, "mse"))
    assert tx.loss_of(out[1], Y, "half_mse") == pytest.approx(0.5 * fl)


def test_training_is_deterministic():
    a, b = tx.train(TINY, "tiny"), tx.train(TINY, "tiny")
    assert a.equals(b)


# ------------------------------------------------------------------------------------------------ theory rule
def _run_table(fig, run, H0, H1, O0, lr=0.01, final_loss=1e-8):
    meta = dict(figure=fig, panel=run, condition=run, seed=0, learning_rate=lr)
    steps = np.array([0, 100])
    frames = [io.records(np.stack([H0, H1]), quantity="hidden", source="simulation", steps=steps, t=steps, **meta),
              io.records(np.stack([O0, O0]), quantity="output", source="simulation", steps=steps, t=steps, **meta)]
    for q, v in (("input", X), ("target", Y), ("final_loss", final_loss), ("gain", 1.0), ("n_epochs", 100),
                 ("observe", 1)):
        frames.append(io.records(v, quantity=q, source="summary", **meta))
    return io.concat(frames)


def _pool(eta_h, eta_y, final_loss):
    frames = []
    for i, (eh, ey, fl) in enumerate(zip(eta_h, eta_y, final_loss)):
        meta = dict(figure="b5", panel="default", condition=f"default/{i}", seed=1000 + i)
        for q, v in (("eta_h", eh), ("eta_y", ey), ("fit_loss", 0.1), ("final_loss", fl)):
            frames.append(io.records(v, quantity=q, source="fit", **meta))
    return io.concat(frames)


def _embed(D, dim=6):
    """Points in R^dim with Euclidean distance matrix D (classical MDS; D must be Euclidean)."""
    n = len(D)
    J = np.eye(n) - 1.0 / n
    G = -0.5 * J @ (D ** 2) @ J
    w, V = np.linalg.eigh(G)
    P = V * np.sqrt(np.clip(w, 0, None))
    return np.pad(P, ((0, 0), (0, dim - n)))


def _xor_distances(same, diff):
    D = np.full((4, 4), diff)
    np.fill_diagonal(D, 0.0)
    D[0, 3] = D[3, 0] = same[0]
    D[1, 2] = D[2, 1] = same[1]
    return D


CFG6 = dict(seed=0, activation="leaky_relu", optimizer="sgd", loss="mse", rates_architecture="default",
            panels={"low": "low", "high": "high", "two_layer": "two_layer"},
            rows={r: dict(n_hidden=2, width=6, gain=1.0, lr=0.01, epochs=100, observe=1)
                  for r in ("low", "high", "two_layer")},
            checks=dict(same_over_diff_low=0.1, pearson_theory_low=0.95, ratio_high=0.8, pearson_init_high=0.95,
                            two_layer_merged=0.3, two_layer_separate=0.8),
            relaxed_checks=[], draw={"scale_note": ""}, fit_loss_threshold=1e-2)


def _fig6_table(low_final, two_final):
    rng = np.random.default_rng(1)
    small = 1e-3 * rng.normal(size=(4, 6))                 # rich regime: tiny initial distances
    Q = np.linalg.qr(rng.normal(size=(6, 2)))[0].T         # lazy regime: large, input-shaped representations
    large = 5.0 * X @ Q + 0.1 * rng.normal(size=(4, 6))
    O0 = 1e-4 * rng.normal(size=(4, 1))
    pool = _pool([1e-3, 3e-3, 50.0], [0.1, 0.1, 1.0], [1e-5, 1e-6, 0.3])   # the third trial is discarded
    return io.concat([_run_table("b6", "low", small, _embed(low_final), O0),
                      _run_table("b6", "high", large, large + 1e-3 * small, O0),
                      _run_table("b6", "two_layer", small, _embed(two_final), O0), pool]), (small, large, O0)


def test_theory_rule_averages_the_pool_and_builds_the_matrices():
    table, (small, large, O0) = _fig6_table(_xor_distances((0.01, 0.02), 1.0), _xor_distances((0.1, 1.2), 0.85))
    out = fig6.theory(table, CFG6, figure="b6")
    r = fig6.rates(out)
    assert (r["n_trials_kept"], r["n_trials"]) == (2, 3)
    assert r["mean_eta_h"] == pytest.approx(2e-3) and r["mean_eta_y"] == pytest.approx(0.1)
    assert r["eta_ratio"] == pytest.approx(0.02)
    d = fig6.run_data(io.concat([table, out]), "low")
    np.testing.assert_allclose(d["final"], _xor_distances((0.01, 0.02), 1.0), atol=1e-9)
    np.testing.assert_allclose(d["init"], np.sqrt(fig6.squared_distances(small)), rtol=1e-9)
    expect = fig6.theory_matrix(fig6.squared_distances(small), fig6.squared_distances(O0), DX2, DY2, 2e-3, 0.1)
    np.testing.assert_allclose(d["theory"], expect, rtol=1e-12)
    # squared distances are stored as well: h_+ of Eq. 10
    _, hp = io.to_array(out, source="theory", condition="low", quantity="h_plus")
    hp_ref = effective.pairwise_final_distances(fig6.squared_distances(small), fig6.squared_distances(O0),
                                                DX2, DY2, 2e-3, 0.1)
    np.testing.assert_allclose(hp[0], hp_ref, rtol=1e-12)


def _checks(low_same, two_same):
    table, _ = _fig6_table(_xor_distances(low_same, 1.0), _xor_distances(two_same, 0.85))
    df = io.concat([table, fig6.theory(table, CFG6, figure="b6")])
    return fig6.checks(df, CFG6).set_index("check")


def test_fig6_checks_pass_on_the_expected_picture_and_fail_otherwise():
    good = _checks((0.01, 0.02), (0.1, 1.2))
    assert good["passed"].all(), good
    assert good.loc["low weights: max same-target / mean different-target distance", "value"] == pytest.approx(0.02)
    assert good.loc["2-layer: smaller same-target / mean different-target distance (merged pair)",
                    "value"] == pytest.approx(0.1 / 0.85)
    # low weights that did not merge one pair; a 2-layer net that merged both pairs
    bad = _checks((0.01, 0.5), (0.1, 0.1))
    failed = set(bad.index[~bad["passed"]])
    assert failed == {"low weights: max same-target / mean different-target distance",
                      "low weights: Pearson r(theory, network), 6 pairs",
                      "2-layer: larger same-target / mean different-target distance (pair kept apart)"}


def test_fig14_checks_use_the_mean_ratio():
    cfg = dict(CFG6, optimizer="adam", panels={"low": "low", "high": "high"},
               checks=dict(ratio_low=0.1, ratio_high=0.8))
    table, _ = _fig6_table(_xor_distances((0.006, 0.04), 2.22), _xor_distances((0.1, 1.2), 0.85))
    df = io.concat([table, fig14.theory(table, cfg, figure="b6")])
    c = fig14.checks(df, cfg).set_index("check")
    low = c.loc["Adam, low weights: mean same-target / mean different-target distance"]
    assert low["value"] == pytest.approx(0.023 / 2.22) and low["passed"]     # spec 10.2: ratio 0.010
    high = c.loc["Adam, high weights: mean same-target / mean different-target distance"]
    assert high["passed"] and high["value"] > 1.0                             # lazy: diagonal pairs stay apart
