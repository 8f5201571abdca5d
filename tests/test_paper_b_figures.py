"""Figure-specific logic of paper B's two-point figures (1, 2, 3, 5, 10, 11, 13): fits through the fit-rule
functions on synthetic ODE trajectories, the Fig-5 grid prediction, the spec-7 statistics and checks."""

import numpy as np
import pytest

from learndyn import effective, io
from learndyn.figures.paper_b import _two_point as tp
from learndyn.figures.paper_b import fig1, fig5, fig10

FIT_CFG = {"fit_grid": {"min_exp": -4, "max_exp": 0, "n": 25}, "mean_grid": {"min_exp": -5, "max_exp": 0, "n": 10}}
TRUE = dict(eta_h=0.01, eta_y=0.05, dx2=1.0, dy2=0.5)
Z0 = np.array([2e-2, 1e-5, 4e-4])


def synthetic_run(n=500, m0_sq=0.2, eta_ymean=0.03, layers=None):
    """A 'tracked run' that follows the theory exactly: Eq. 21 and Eq. 22 with known rates."""
    t = np.arange(n, dtype=float)
    z = effective.solve_three_variable(t, Z0, TRUE["eta_h"], TRUE["eta_y"], TRUE["dx2"], TRUE["dy2"])
    loss = effective.effective_loss(t, z[:, 1], z[:, 2], m0_sq, eta_ymean, TRUE["dy2"])
    return t, z, loss


def synthetic_table(cond="run", layers=1, **kw):
    t, z, loss = synthetic_run(**kw)
    ep = t.astype(int)
    meta = dict(figure="bx", panel=cond, condition=cond, seed=0, learning_rate=0.01)
    h = z[:, 0] if layers == 1 else np.stack([z[:, 0]] * layers, axis=1)
    frames = [io.records(v, quantity=q, source="simulation", steps=ep, t=ep, **meta)
              for q, v in (("h", h), ("y", z[:, 1]), ("w", z[:, 2]), ("loss", loss))]
    for q, v in (("dx2", TRUE["dx2"]), ("dy2", TRUE["dy2"]), ("m0_sq", kw.get("m0_sq", 0.2)),
                 ("final_h", z[-1, 0]), ("final_loss", loss[-1])):
        frames.append(io.records(v, quantity=q, source="summary", **meta))
    return io.concat(frames), z


def test_nrmse_and_plateau_length():
    s = np.array([0.0, 1.0, 2.0, 4.0])
    assert tp.nrmse(s, s) == 0.0
    assert tp.nrmse(s, s + 0.4) == pytest.approx(0.1)            # 0.4 / max|s| = 0.4 / 4
    loss = np.array([0.3, 0.07, 0.0625, 0.05, 0.051, 0.049, 0.01])  # dy2/8 = 0.0625, band [0.05, 0.075]
    assert tp.plateau_length(loss, 0.5) == 4


def test_fit_rule_recovers_rates_curves_and_final_distance():
    table, z = synthetic_table()
    out = tp.fit_runs(table, FIT_CFG)
    eh, ey = tp.fit_value(out, "run", "eta_h"), tp.fit_value(out, "run", "eta_y")
    assert eh == pytest.approx(TRUE["eta_h"], rel=0.05)
    assert ey == pytest.approx(TRUE["eta_y"], rel=0.05)
    for q in ("h", "y", "w"):
        assert tp.fit_value(out, "run", f"nrmse_{q}") < 0.02
    # mean-output rate of Eq. 22 and the loss curve
    assert tp.fit_value(out, "run", "eta_ymean") == pytest.approx(0.03, rel=0.05)
    assert tp.fit_value(out, "run", "nrmse_loss") < 0.01
    # h_+ (Eq. 10) from the fitted ratio = the converged ODE state
    h_inf = effective.final_representational_distance(*Z0[:2], TRUE["eta_h"], TRUE["eta_y"], 1.0, 0.5)
    assert tp.fit_value(out, "run", "h_plus") == pytest.approx(h_inf, rel=0.05)
    # theory curves are stored on the epochs of the run
    ep, th = io.to_array(out, source="theory", condition="run", quantity="h")
    assert len(ep) == len(z) and np.max(np.abs(th - z[:, 0])) < 0.02 * np.max(z[:, 0])


def test_fit_rule_fits_every_layer_separately():
    table, _ = synthetic_table(cond="deep", layers=2, n=300)
    out = tp.fit_runs(table, FIT_CFG)
    _, eh = io.to_array(out, source="fit", condition="deep", quantity="eta_h")
    assert np.asarray(eh).size == 2
    assert np.allclose(eh, TRUE["eta_h"], rtol=0.1)
    assert io.select(out, source="theory").empty


def test_fig2_style_checks_fail_on_a_bad_fit():
    table, _ = synthetic_table()
    out = io.concat([table, tp.fit_runs(table, FIT_CFG)])
    th = {"converged_loss": 1.0, "nrmse_h": 0.1, "nrmse_y": 0.12, "nrmse_w": 0.25, "final_h_rel": 0.1}
    assert all(r[3] for r in tp.fig2_style_checks(out, "run", th))
    strict = dict(th, converged_loss=1e-12, nrmse_h=1e-9)
    failed = [r[0] for r in tp.fig2_style_checks(out, "run", strict) if not r[3]]
    assert failed == ["run: final loss", "run: nRMSE h"]


def _fig5_table(final_h_fn, final_loss=1e-5):
    """Fit rows (3 trials, one unconverged) and a 3 x 3 grid whose measured h comes from ``final_h_fn``."""
    fits = []
    for i, (eh, ey, fl) in enumerate(((0.01, 0.05, 1e-4), (0.03, 0.05, 1e-4), (5.0, 0.05, 0.5))):
        for q, v in (("eta_h", eh), ("eta_y", ey), ("final_loss", fl), ("fit_loss", 0.0)):
            fits.append(io.records(v, quantity=q, source="fit", figure="b5", condition=f"a/{i}"))
    cfg = {"dist_x": [0.5, 1.0, 1.5], "dist_y": [0.0, 0.5, 1.0], "fit_loss_threshold": 1e-2, "discard_loss": 1e-3}
    from learndyn import datasets
    g = datasets.two_point_grid(cfg["dist_x"], cfg["dist_y"])
    h0 = np.linspace(0.01, 0.05, len(g))
    y0 = np.full(len(g), 1e-4)
    ratio = 0.02 / 0.05                    # mean of the two converged trials
    hp = effective.final_representational_distance(h0, y0, ratio, 1.0, g[:, 0] ** 2, g[:, 1] ** 2)
    vals = {"dist_x": g[:, 0], "dist_y": g[:, 1], "h0": h0, "y0": y0, "w0": 0 * h0, "final_h": final_h_fn(hp),
            "final_loss": np.full(len(g), final_loss), "n_epochs": np.full(len(g), 100.0), "stopped": np.ones(len(g))}
    grid = [io.records(v, quantity=q, source="grid", figure="b5", panel="a", condition="a", learning_rate=0.002)
            for q, v in vals.items()]
    return io.concat(fits + grid), cfg, hp


def test_fig5_prediction_uses_averaged_converged_rates():
    table, cfg, hp = _fig5_table(lambda hp: hp)
    pred = fig5.predict(table, cfg)
    d = fig5.arch_data(pred, "a")
    assert d["mean_eta_h"] == pytest.approx(0.02) and d["n_trials_kept"] == 2
    np.testing.assert_allclose(d["h_plus"], hp, rtol=1e-12)
    s = fig5.grid_stats(d)
    assert s["pearson"] == pytest.approx(1.0) and s["slope"] == pytest.approx(1.0)
    assert s["median_rel"] < 1e-12 and s["dy0_rel"] < 1e-12     # dy = 0: h_+ = A
    th = {"converged_fraction": 0.8, "pearson": 0.8, "slope_min": 0.7, "slope_max": 1.3, "median_rel": 0.4,
          "dy0_rel": 0.1}
    full = dict(cfg, architectures=["a"], checks=th)
    assert fig5.checks(pred, full)["passed"].all()
    # measured distances twice the prediction: slope 2 and relative error 1 fail, correlation still passes
    bad = fig5.checks(fig5.predict(_fig5_table(lambda hp: 2 * hp)[0], cfg), full)
    assert list(bad.loc[~bad["passed"], "check"].str.split(": ").str[1]) == [
        "slope through origin (measured on theory)", "median |h_meas - h_+| / h_+ (dy > 0)",
        "max |h_meas - A| / A (dy = 0)"]
    # unconverged grid points are discarded
    unconv = fig5.arch_data(fig5.predict(_fig5_table(lambda hp: hp, final_loss=0.1)[0], cfg), "a")
    assert fig5.grid_stats(unconv)["fraction_converged"] == 0.0


def _fig10_table(E, eh, ey):
    cfg = {"rows": {"default": {}}, "checks": {"argmin_min_layer": 8, "first_over_min": 20.0,
           "spearman_last_layer": 15, "spearman_min": 0.9, "eta_y_peak_lo": 5, "eta_y_peak_hi": 15,
           "eta_y_last_ratio": 0.8}, "relaxed_checks": []}
    frames = [io.records(v, quantity=q, source="fit", figure="b10", condition="default")
              for q, v in (("fit_loss", E), ("eta_h", eh), ("eta_y", ey))]
    return io.concat(frames), cfg


def test_fig10_checks_on_the_spec_shapes():
    layers = np.arange(20)
    E = 30 * np.exp(-layers / 2.5) + 0.05 + 0.1 * (layers > 15) * (layers - 15)
    eh = 2e-4 * np.exp(layers / 5)
    ey = 0.07 * np.exp(-((layers - 10) / 5) ** 2)
    df, cfg = _fig10_table(E, eh, ey)
    assert fig10.checks(df, cfg)["passed"].all()
    df, cfg = _fig10_table(E[::-1], eh[::-1], ey)          # theory better in early layers: must fail
    assert not fig10.checks(df, cfg)["passed"].iloc[:3].any()


def test_fig1_labels_checked_from_the_drawn_figure():
    cfg = {"seed": 1, "dx2": 1.0, "dy2": 0.5, "hidden_dim": 2, "labels": ["f", "g", "Δx", "Δh", "Δŷ", "Δy", "h", "y", "w"]}
    df = fig1.compute(cfg)
    assert fig1.checks(df, cfg)["passed"].all()
    missing = fig1.checks(df, dict(cfg, labels=["Δz", "q"]))
    assert not missing["passed"].iloc[:2].any()
    h, y, w = (io.scalar(df, quantity=q) for q in ("h", "y", "w"))
    hid = io.to_array(df, quantity="hidden")[1][0]
    assert h == pytest.approx(float(np.sum((hid[1] - hid[0]) ** 2)))
