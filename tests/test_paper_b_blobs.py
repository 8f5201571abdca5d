"""Paper B blob task (Figs 7, 8, 12, 15): feature-collapse metrics F and S on point clouds with known answers, blob
image statistics (argmax positions, one maximum, moving centroid), MDS bookkeeping, the spec-7 checks on synthetic
tables (they pass and fail where they should), and the training rule's table (tiny network)."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist

from learndyn import datasets, io
from learndyn.figures.paper_b import _blobs, fig7, fig8, fig12, fig15
from learndyn.figures.paper_b import _train_blobs as tb


def random_rotation(d, rng):
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def embed(points, dim, rng, scale=1.0):
    """Points (n, k) -> (n, dim): zero-padded, rotated, scaled and translated (F and S must not change)."""
    pad = np.hstack([points, np.zeros((len(points), dim - points.shape[1]))])
    return scale * pad @ random_rotation(dim, rng) + rng.normal(size=dim)


# ------------------------------------------------------------------ metrics
def test_variance_and_group_variances_match_direct_loops():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    groups = rng.integers(0, 4, size=40)
    direct = np.mean([np.sum((p - x.mean(0)) ** 2) for p in x])
    assert _blobs.variance(x) == pytest.approx(direct, rel=1e-12)
    gv = _blobs.group_variances(x, groups)
    for k, g in enumerate(np.unique(groups)):
        assert gv[k] == pytest.approx(_blobs.variance(x[groups == g]), rel=1e-12)


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (1.0, 0.5), (2.0, 0.0), (0.3, 1.0)])
def test_irrelevant_fraction_of_a_scaled_grid(a, b):
    """Points (a mu_rel, b mu_irr) on a full grid: F = b^2 / (a^2 + b^2) exactly (both coordinates have the same
    variance), whatever rotation, translation and scale the representation has."""
    rng = np.random.default_rng(1)
    mu = np.linspace(-1, 1, 7)
    rel, irr = (m.ravel() for m in np.meshgrid(mu, mu, indexing="ij"))
    h = embed(np.stack([a * rel, b * irr], axis=1), 12, rng, scale=3.7)
    assert _blobs.irrelevant_fraction(h, rel) == pytest.approx(b ** 2 / (a ** 2 + b ** 2), abs=1e-12)


def test_context_separation_of_shifted_clouds():
    rng = np.random.default_rng(2)
    cloud = rng.normal(size=(50, 6)) * [1, 2, 3, 0.5, 1, 1]
    shift = np.array([3.0, 0, 0, 4.0, 0, 0])
    h = np.vstack([cloud, cloud + shift])
    ctx = np.repeat([0, 1], 50)
    assert _blobs.context_separation(h, ctx) == pytest.approx(25.0 / _blobs.variance(cloud), rel=1e-12)
    # scale invariant; coinciding contexts give 0
    assert _blobs.context_separation(5 * h, ctx) == pytest.approx(_blobs.context_separation(h, ctx), rel=1e-12)
    assert _blobs.context_separation(np.vstack([cloud, cloud]), ctx) == pytest.approx(0.0, abs=1e-20)


def representation(data, kind, sep=5.0, irr=1.0):
    """Synthetic hidden activities of the blob task: ``"square"`` keeps both features (F = 1/2) with the contexts
    ``sep`` apart; ``"lines"`` keeps only each context's relevant feature (F = 0); ``irr`` scales the irrelevant one."""
    ctx, mx, my = data.context, data.feature_x.astype(float), data.feature_y.astype(float)
    rel = np.where(ctx == 0, mx, my)
    other = np.where(ctx == 0, my, mx)
    w = 0.0 if kind == "lines" else irr
    return embed(np.stack([rel, w * other, sep * ctx], axis=1), 10, np.random.default_rng(3))


def test_collapse_metrics_on_synthetic_blob_representations():
    data = datasets.blob_context(n_centres=8)
    sq = _blobs.collapse_metrics(representation(data, "square"), data.context, data.feature_x, data.feature_y)
    assert sq["F_x"] == pytest.approx(0.5, abs=1e-9) and sq["F_y"] == pytest.approx(0.5, abs=1e-9)
    var = np.var(np.linspace(-1, 1, 8)) * 2        # within-context variance of the square
    assert sq["S"] == pytest.approx(25.0 / var, rel=1e-6)   # float32 blob centres
    lines = _blobs.collapse_metrics(representation(data, "lines", sep=0.0), data.context, data.feature_x,
                                    data.feature_y)
    assert lines["F_x"] == pytest.approx(0.0, abs=1e-12) and lines["F_y"] == pytest.approx(0.0, abs=1e-12)
    assert lines["S"] == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ Figure 7: blob images
def test_blob_argmax_positions_and_centroid():
    data = datasets.blob_context(n_centres=30)
    half = len(data.context) // 2
    imgs = fig7.images_of(data.inputs[:half])
    r, c = fig7.argmax_pixel(imgs)
    nr, nc = fig7.nearest_pixel(data.feature_x[:half], data.feature_y[:half], 5)
    np.testing.assert_array_equal(r, nr)
    np.testing.assert_array_equal(c, nc)
    # corners: mu = (-1, 1) -> brightest pixel at x = -1 (column 0), y = +1 (row 4, rows run from y = -1 up)
    i = 0 * 30 + 29
    assert (data.feature_x[i], data.feature_y[i]) == (-1.0, 1.0)
    assert (r[i], c[i]) == (4, 0)
    np.testing.assert_array_equal(fig7.n_local_maxima(imgs), 1)
    cx, cy = fig7.centroid(imgs)
    assert np.all(np.diff(cx.reshape(30, 30), axis=0) > 0) and np.all(np.diff(cy.reshape(30, 30), axis=1) > 0)
    # the centroid of one blob equals the closed form (Gaussian weights on the pixel grid)
    g = np.linspace(-1, 1, 5)
    wx = np.exp(-(g - data.feature_x[17]) ** 2 / 2)
    assert cx[17] == pytest.approx(np.sum(wx * g) / np.sum(wx), rel=1e-6)


def test_local_maxima_counts_two_blobs():
    img = np.zeros((1, 5, 5))
    img[0, 0, 0], img[0, 4, 3] = 1.0, 0.5
    assert fig7.n_local_maxima(img)[0] == 2


FIG7_CFG = {"data": {"n_centres": 6, "size": 5, "sigma": 1.0}, "draw": {"examples": [[0, 5], [3, 2]]}}


def test_fig7_checks_pass_on_the_dataset_and_fail_on_a_corrupted_one():
    df = fig7.compute(FIG7_CFG)
    ch = fig7.checks(df, FIG7_CFG)
    assert ch["passed"].all() and len(ch) == 8
    bad = df.copy()
    m = (bad["quantity"] == "target").to_numpy()
    bad.loc[m, "value"] = bad.loc[m, "value"].to_numpy()[::-1]          # targets no longer mu_x / mu_y
    assert not fig7.checks(bad, FIG7_CFG).set_index("check").filter(like="target =", axis=0)["passed"].any()


# ------------------------------------------------------------------ MDS bookkeeping
def test_mds_embedding_keeps_point_order_and_distances():
    rng = np.random.default_rng(4)
    pts3 = rng.normal(size=(60, 3)) * [3.0, 1.0, 0.3]
    h = embed(pts3, 20, rng)
    m = {"n_components": 3, "init": "classical_mds", "n_init": 1, "max_iter": 300, "eps": 1e-9, "seed": 0}
    emb = _blobs.mds_embedding(h, m)
    assert emb.shape == (60, 3)
    np.testing.assert_allclose(pdist(emb), pdist(pts3), rtol=1e-6, atol=1e-6)   # row i is point i
    assert _blobs.stress1(h, emb) < 1e-6
    assert _blobs.stress1(h, emb[rng.permutation(60)]) > 0.3                     # a shuffled embedding is not
    assert _blobs.PROJECTIONS == ((0, 1), (1, 2), (0, 2))                        # dims 1-2, 2-3, 1-3


MDS_CFG = {"mds": {"init": "classical_mds", "n_init": 1, "max_iter": 300, "eps": 1e-9, "seed": 0}}


def run_table(figure, cond, h, data, output=None, step=40, seed=0, labels=True):
    """Rows of one trained network as :func:`_train_blobs.train` writes them (``labels=False``: a further seed of
    the run, whose labels are stored once with the first seed)."""
    meta = dict(figure=figure, panel=cond, condition=cond, seed=seed, learning_rate=0.1)
    out = data.targets[:, 0].astype(float) if output is None else output
    return io.concat([io.records(h[None], quantity="hidden", source="simulation", steps=[step], t=[step], **meta),
                      io.records(out[None], quantity="output", source="simulation", steps=[step], t=[step], **meta),
                      *([tb.dataset_records(data, **meta)] if labels else [])])


def test_mds_transform_rows_and_readers():
    data = datasets.blob_context(n_centres=4)
    h = representation(data, "square")
    table = run_table("b8", "high", h, data)
    out = _blobs.mds(table, MDS_CFG)
    emb = _blobs.embedding(out, "b8", "high")
    assert emb.shape == (len(h), 3)
    np.testing.assert_allclose(pdist(emb), pdist(h), rtol=1e-6, atol=1e-6)
    assert set(io.select(out, quantity="mds")["step"]) == {40}
    assert io.scalar(out, figure="b8", condition="high", quantity="mds_stress1") < 1e-6
    np.testing.assert_array_equal(_blobs.hidden(table, "b8", "high"), h)
    lab = _blobs.labels(table, "b8", "high")
    np.testing.assert_array_equal(lab["context"], data.context)
    np.testing.assert_array_equal(lab["mu_y"], data.feature_y)


def test_first_epoch_below():
    ep = np.arange(4)
    df = io.records([0.2, 0.1, 0.005, 0.001], quantity="train_loss", source="simulation", figure="b8",
                    condition="low", steps=ep, t=ep)
    assert _blobs.first_epoch_below(df, "b8", "low", 0.01) == 2
    assert _blobs.first_epoch_below(df, "b8", "low", 1e-4) == -1


# ------------------------------------------------------------------ spec-7 checks of Figs 8, 12, 15
BLOB_CFG = {"checks": {"converged_loss": 0.01, "f_low_max": 0.05, "f_high_min": 0.3, "s_min": 1.0,
                           "f_max": 0.02, "s_ratio_max": 0.3, "f_ratio_max": 0.3},
            "relaxed_checks": [], "s_reference": "low"}


def test_fig8_checks_pass_for_square_and_lines_and_fail_when_swapped():
    data = datasets.blob_context(n_centres=6)
    high, low = representation(data, "square"), representation(data, "lines", sep=1.0)
    df = io.concat([run_table("b8", "high", high, data), run_table("b8", "low", low, data)])
    ch = fig8.checks(df, BLOB_CFG)
    assert ch["passed"].all() and len(ch) == 8
    swapped = io.concat([run_table("b8", "high", low, data), run_table("b8", "low", high, data)])
    ch = fig8.checks(swapped, BLOB_CFG).set_index("check")
    assert not ch.filter(like="F", axis=0)["passed"].any()
    # an unconverged network (outputs = 0) fails its loss check
    bad = io.concat([run_table("b8", "high", high, data, output=np.zeros(len(high))), run_table("b8", "low", low, data)])
    assert not fig8.checks(bad, BLOB_CFG).set_index("check").loc["high: final loss 0.5*MSE over all points", "passed"]


def test_fig12_and_fig15_checks():
    data = datasets.blob_context(n_centres=6)
    low = representation(data, "lines", sep=1.0)
    merged = representation(data, "lines", sep=0.2)       # S 25x smaller than the Fig-8 low run
    df = io.concat([run_table("b12", "very_low", merged, data), run_table("b8", "low", low, data)])
    ch = fig12.checks(df, BLOB_CFG)
    assert ch["passed"].all()
    assert ch["value"].iloc[-1] == pytest.approx(0.04, rel=1e-9)
    df = io.concat([run_table("b12", "very_low", low, data), run_table("b8", "low", low, data)])
    assert not fig12.checks(df, BLOB_CFG)["passed"].iloc[-1]
    # Fig. 15: a partly collapsed low run, F = 0.1 / (1 + 0.1) = 0.091 <= 0.15, F(low) / F(high) = 0.18 <= 0.3
    part = representation(data, "square", irr=np.sqrt(0.1))
    high = representation(data, "square")
    cfg15 = {**BLOB_CFG, "checks": {**BLOB_CFG["checks"], "f_low_max": 0.15}}   # spec 7, Fig. 15
    ch = fig15.checks(io.concat([run_table("b15", "high", high, data), run_table("b15", "low", part, data)]),
                      cfg15).set_index("check")
    f = 0.1 / 1.1
    assert ch.loc["low: F (irrelevant-feature variance fraction), context x", "value"] == pytest.approx(f, abs=1e-9)
    assert ch.filter(like="F(low) / F(high)", axis=0)["value"].to_numpy() == pytest.approx(2 * f, abs=1e-9)
    assert ch.filter(like="F(low) / F(high)", axis=0)["passed"].all()            # 0.18 <= 0.3
    assert ch["passed"].all()
    weak = representation(data, "square", irr=0.5)         # F = 0.25 / 1.25 = 0.2: too little collapse
    ch = fig15.checks(io.concat([run_table("b15", "high", high, data), run_table("b15", "low", weak, data)]), cfg15)
    assert ch["passed"].sum() == len(ch) - 4              # both F(low) rows and both ratio rows fail


def test_fig15_checks_average_over_seeds():
    """A run of several networks (seeds) is checked on the seed mean of F: low seeds with F = 0.2 (fails alone)
    and F = 0.1 / 1.1 average to 0.1455 <= 0.15; the convergence row takes the worst seed; the first seed is drawn."""
    data = datasets.blob_context(n_centres=6)
    high = representation(data, "square")
    weak, part = (representation(data, "square", irr=v) for v in (0.5, np.sqrt(0.1)))
    cfg15 = {**BLOB_CFG, "checks": {**BLOB_CFG["checks"], "f_low_max": 0.15}}
    y = data.targets[:, 0].astype(float)
    df = io.concat([run_table("b15", "high", high, data, seed=3), run_table("b15", "high", high, data, seed=7,
                                                                           labels=False),
                    run_table("b15", "low", weak, data, seed=3),
                    run_table("b15", "low", part, data, seed=7, labels=False, output=y + 0.2)])
    assert _blobs.seeds_in(df, "b15", "low") == [3, 7]
    np.testing.assert_array_equal(_blobs.hidden(df, "b15", "low"), weak)               # default: first seed
    np.testing.assert_array_equal(_blobs.hidden(df, "b15", "low", seed=7), part)
    m = _blobs.seed_metrics(df, "b15", "low")
    np.testing.assert_allclose(m["F_x"], [0.2, 0.1 / 1.1], atol=1e-9)
    np.testing.assert_allclose(m["final_loss"], [0.0, 0.5 * 0.2 ** 2], atol=1e-12)
    ch = fig15.checks(df, cfg15).set_index("check")
    mean = (0.2 + 0.1 / 1.1) / 2
    row = ch.loc["low: F (irrelevant-feature variance fraction), context x (mean of 2 seeds)"]
    assert row["value"] == pytest.approx(mean, abs=1e-9) and row["passed"]
    conv = ch.loc["low: max over 2 seeds of final loss 0.5*MSE over all points"]
    assert conv["value"] == pytest.approx(0.02) and not conv["passed"]                  # seed 7 is off by 0.2
    assert ch.filter(like="F(low) / F(high)", axis=0)["value"].to_numpy() == pytest.approx(2 * mean, abs=1e-9)
    assert ch.filter(like="F(low) / F(high)", axis=0)["passed"].all()                   # 0.291 <= 0.3
    assert ch["passed"].sum() == len(ch) - 1


# ------------------------------------------------------------------ training rule (tiny network)
def test_train_rule_table_is_complete_and_deterministic():
    cfg = {"seed": 3, "data": {"n_centres": 3, "size": 5, "sigma": 1.0}, "n_hidden": 3, "width": 8,
           "activation": "tanh", "observe": 1, "batch_size": 4, "loss": "half_mse",
           "runs": {"low": {"gain": 0.5, "lr": 0.05, "epochs": 3, "optimizer": "sgd"}}}
    a = tb.train(cfg, "low", "b8")
    b = tb.train(cfg, "low", "b8")
    assert a.equals(b)
    h = _blobs.hidden(a, "b8", "low")
    assert h.shape == (18, 8)
    steps, out = io.to_array(a, figure="b8", condition="low", quantity="output")
    assert list(steps) == [3] and out.shape == (1, 18)
    assert len(io.to_array(a, quantity="train_loss")[1]) == 3
    lab = _blobs.labels(a, "b8", "low")
    np.testing.assert_array_equal(lab["target"], np.where(lab["context"] == 0, lab["mu_x"], lab["mu_y"]))
    assert io.scalar(a, quantity="observe") == 1 and io.scalar(a, quantity="gain") == 0.5
    # another seed gives another network
    c = tb.train({**cfg, "seed": 4}, "low", "b8")
    assert not np.allclose(_blobs.hidden(c, "b8", "low"), h)
    # a config with seeds trains one network per seed, each equal to the one-seed run; labels are stored once
    d = tb.train({**{k: v for k, v in cfg.items() if k != "seed"}, "seeds": [3, 4]}, "low", "b8")
    assert _blobs.seeds_in(d, "b8", "low") == [3, 4]
    np.testing.assert_array_equal(_blobs.hidden(d, "b8", "low", seed=3), h)
    np.testing.assert_array_equal(_blobs.hidden(d, "b8", "low", seed=4), _blobs.hidden(c, "b8", "low"))
    assert len(io.select(d, quantity="context")) == len(io.select(a, quantity="context"))
    pd.testing.assert_frame_equal(io.select(d, seed=3).reset_index(drop=True), a.reset_index(drop=True))
