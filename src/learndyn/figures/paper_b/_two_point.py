"""Shared protocol of paper B's two-point experiments (Figs 2, 3, 5, 10, 11, 13).

Spec ``universality.md`` sections 3 (fitting), 4.1 (data), 5 (networks), 6.0 (Table 1 rows, D1-D14).
Training: :mod:`._train` (its own module, so that training rules do not depend on the fitting code);
fitting: :func:`fit_runs` (Eq. 49 rates, Eq. 22 mean-output rate, theory curves, nRMSEs, ``h_+``).
Rows of the trajectory schema (``condition`` = row name, ``t`` = epoch):

* ``source="simulation"``: ``h`` (``(T,)``, or ``(T, n_layers)`` with ``row`` = observed layer), ``y``,
  ``w``, ``loss`` per epoch k (before update k, eval mode);
* ``source="summary"``: ``dx2, dy2, m0_sq, final_h, final_loss, n_epochs, gain``;
* ``source="theory"``: ODE (Eq. 21) ``h, y, w`` and Eq. 22 ``loss`` with the fitted rates;
* ``source="fit"``: ``eta_h, eta_y, fit_loss, nonpositive, eta_ymean, nrmse_h/y/w, nrmse_loss, h_plus``.
"""

from __future__ import annotations

import numpy as np

from ... import effective, io

THEORY_TOL = dict(method="Radau", rtol=1e-6, atol=1e-9)


def nrmse(sim: np.ndarray, theory: np.ndarray) -> float:
    """Spec 7: ``sqrt(mean_k (theory_k - sim_k)^2) / max_k |sim_k|`` (``(T,)`` series)."""
    sim, theory = np.asarray(sim, float), np.asarray(theory, float)
    return float(np.sqrt(np.mean((theory - sim) ** 2)) / np.max(np.abs(sim)))


def plateau_length(loss: np.ndarray, dy2: float) -> int:
    """Spec 7 (Fig. 3): ``T_pl`` = number of epochs with ``0.8 dy2/8 <= loss_k <= 1.2 dy2/8``."""
    lo, hi = 0.8 * dy2 / 8, 1.2 * dy2 / 8
    return int(np.sum((loss >= lo) & (loss <= hi)))


def _grid(g: dict) -> np.ndarray:
    return np.logspace(g["min_exp"], g["max_exp"], g["n"])


def theory_curve(t, z0, eh, ey, dx2, dy2):
    """ODE (Eq. 21) on ``t`` with the fitted rates; NaN where it cannot be integrated."""
    try:
        return effective.solve_three_variable(t, z0, eh, ey, dx2, dy2, **THEORY_TOL)
    except (effective.IntegrationError, ValueError):
        try:
            return effective.solve_three_variable(t, z0, eh, ey, dx2, dy2, coordinates="signed", **THEORY_TOL)
        except (effective.IntegrationError, ValueError):
            return np.full((len(t), 3), np.nan)


def fit_one(h, y, w, loss, dx2, dy2, m0_sq, cfg: dict) -> dict:
    """Fit one tracked run (spec 3.1 then 3.2): returns scalars and theory curves.

    ``h, y, w, loss``: ``(T,)``. Rates ``(eta_h, eta_y)`` are the reference result (grid ``cfg["fit_grid"]``
    + unconstrained BFGS); if one is <= 0 the curves use the log-space refit (flag ``nonpositive``).
    Then ``eta_ymean`` on grid ``cfg["mean_grid"]`` + BFGS against Eq. 22. ``h_plus`` (Eq. 10) from
    ``(h_0, y_0)`` and the fitted ratio (NaN when the rates are not positive).
    """
    t = np.arange(len(h), dtype=float)
    fit = effective.fit_effective_rates(h, y, w, dx2, dy2, t=t, grid=_grid(cfg["fit_grid"]))
    eh, ey, _ = fit.positive_rates
    z = theory_curve(t, np.array([h[0], y[0], w[0]]), eh, ey, dx2, dy2)
    out = {"eta_h": fit.eta_h, "eta_y": fit.eta_y, "fit_loss": fit.loss, "nonpositive": float(fit.nonpositive),
           "curve_eta_h": eh, "curve_eta_y": ey}
    out.update({f"nrmse_{q}": nrmse(s, z[:, i]) for i, (q, s) in enumerate((("h", h), ("y", y), ("w", w)))})
    if np.all(np.isfinite(z)):
        mf = effective.fit_mean_output_rate(loss, z[:, 1], z[:, 2], m0_sq, dy2, t=t, grid=_grid(cfg["mean_grid"]))
        e_m = mf.eta_ymean if not mf.nonpositive else mf.log_eta_ymean
        loss_th = effective.effective_loss(t, z[:, 1], z[:, 2], m0_sq, e_m, dy2)
        out.update(eta_ymean=mf.eta_ymean, nrmse_loss=nrmse(loss, loss_th))
    else:
        loss_th = np.full(len(t), np.nan)
        out.update(eta_ymean=np.nan, nrmse_loss=np.nan)
    ok = fit.eta_h > 0 and fit.eta_y > 0
    out["h_plus"] = float(effective.final_representational_distance(h[0], y[0], fit.eta_h, fit.eta_y, dx2, dy2)) \
        if ok else np.nan
    out["curves"] = {"h": z[:, 0], "y": z[:, 1], "w": z[:, 2], "loss": loss_th}
    return out


def fit_runs(table, cfg: dict):
    """Fit rule of the two-point figures: :func:`fit_one` for every run (condition) of ``table``.

    ``table``: rows of :func:`._train.train_rows`. Multi-layer ``h`` (Fig. 10): one fit per layer, results stored
    with ``row`` = layer index (and no theory curves). Returns ``source="fit"`` and ``"theory"`` rows.
    """
    frames = []
    sim = io.select(table, source="simulation")
    for cond in sorted(sim["condition"].unique()):
        sub = io.select(table, condition=cond)
        meta = dict(figure=sub["figure"].iloc[0], panel=sub["panel"].iloc[0], condition=cond,
                    seed=int(sub["seed"].iloc[0]), learning_rate=float(sub["learning_rate"].iloc[0]))
        ep, h = io.to_array(sub, source="simulation", quantity="h")
        arrays = {q: io.to_array(sub, source="simulation", quantity=q)[1] for q in ("y", "w", "loss")}
        dx2, dy2, m0 = (io.scalar(sub, source="summary", quantity=q) for q in ("dx2", "dy2", "m0_sq"))
        if h.ndim == 1:
            res = fit_one(h, arrays["y"], arrays["w"], arrays["loss"], dx2, dy2, m0, cfg)
            for q, v in res.pop("curves").items():
                frames.append(io.records(v, quantity=q, source="theory", steps=ep, t=ep, **meta))
            for q, v in res.items():
                frames.append(io.records(v, quantity=q, source="fit", **meta))
        else:
            per_layer = [fit_one(h[:, j], arrays["y"], arrays["w"], arrays["loss"], dx2, dy2, m0, cfg)
                         for j in range(h.shape[1])]
            for q in per_layer[0]:
                if q != "curves":
                    frames.append(io.records([r[q] for r in per_layer], quantity=q, source="fit", **meta))
            print(f"{cond}: fitted {h.shape[1]} layers")
    return io.concat(frames)


def relaxed(cfg: dict, text: str, *keys: str) -> str:
    """Check label ``text``, marked "(smoke)" when one of the threshold ``keys`` is relaxed at this scale
    (listed in ``cfg["relaxed_checks"]``: the check is not meaningful for the tiny smoke networks)."""
    return text + (" (smoke)" if set(keys) & set(cfg.get("relaxed_checks", [])) else "")


def fit_value(df, cond: str, q: str) -> float:
    """A scalar fit result of run ``cond``."""
    return io.scalar(df, source="fit", condition=cond, quantity=q)


def fig2_style_checks(df, cond: str, th: dict, w_max: float | None = None, label: str = "",
                      relaxed_keys=(), noisy_window: int | None = None) -> list:
    """Spec 7, Fig. 2 checks of one run: converged, rates > 0, nRMSE h/y/w, final-h error vs ``h_+``.
    ``relaxed_keys``: threshold names relaxed at this scale (labelled "(smoke)"). ``noisy_window``: for a run
    trained with dropout noise (a fresh mask every step: the loss has a noise floor and never meets the
    deterministic ``converged_loss``), "converged" is the mean tracked loss over the last ``noisy_window``
    epochs below ``th["converged_loss_noisy"]``."""
    lab = label or cond
    flags = {"relaxed_checks": relaxed_keys}
    rows = []
    if noisy_window is None:
        fl = io.scalar(df, source="summary", condition=cond, quantity="final_loss")
        rows.append((relaxed(flags, f"{lab}: final loss", "converged_loss"), fl, f"< {th['converged_loss']:g}",
                     fl < th["converged_loss"]))
    else:
        loss = io.to_array(df, source="simulation", condition=cond, quantity="loss")[1][-noisy_window:]
        v = float(np.mean(loss))
        rows.append((relaxed(flags, f"{lab}: mean loss over the last {len(loss)} epochs (dropout noise floor)",
                             "converged_loss_noisy"), v, f"< {th['converged_loss_noisy']:g}",
                     v < th["converged_loss_noisy"]))
    eh, ey = fit_value(df, cond, "eta_h"), fit_value(df, cond, "eta_y")
    rows.append((f"{lab}: fitted eta_h", eh, "> 0", eh > 0))
    rows.append((f"{lab}: fitted eta_y", ey, "> 0", ey > 0))
    lim = {"h": th["nrmse_h"], "y": th["nrmse_y"], "w": th["nrmse_w"] if w_max is None else w_max}
    for q in ("h", "y", "w"):
        v = fit_value(df, cond, f"nrmse_{q}")
        rows.append((f"{lab}: nRMSE {q}", v, f"<= {lim[q]:g}", v <= lim[q]))
    h_end = io.scalar(df, source="summary", condition=cond, quantity="final_h")
    hp = fit_value(df, cond, "h_plus")
    err = abs(h_end - hp) / h_end if np.isfinite(hp) else np.inf
    rows.append((f"{lab}: |h_end - h_+(fit)| / h_end", err, f"<= {th['final_h_rel']:g}", err <= th["final_h_rel"]))
    return rows


HYW_COLOURS = {"h": "#0071b2", "y": "#d65c00", "w": "#009e73", "loss": "#000000"}
HYW_LABELS = {"h": "$h=\\|\\Delta h\\|^2$", "y": "$y=\\|\\Delta\\hat y\\|^2$",
              "w": "$w=\\Delta\\hat y\\cdot(\\Delta\\hat y-\\Delta y)$", "loss": "loss"}


def plot_hyw(ax, df, cond: str, quantities=("h", "y", "w"), max_points: int = 600) -> None:
    """Network (solid) and fitted theory (dashed, same colour) of ``quantities`` vs epoch."""
    for q in quantities:
        ep, s = io.to_array(df, source="simulation", condition=cond, quantity=q)
        _, th = io.to_array(df, source="theory", condition=cond, quantity=q)
        keep = np.unique(np.linspace(0, len(ep) - 1, min(max_points, len(ep))).astype(int))
        ax.plot(ep[keep], s[keep], color=HYW_COLOURS[q], lw=1.4, label=HYW_LABELS[q])
        ax.plot(ep[keep], th[keep], color=HYW_COLOURS[q], ls="--", lw=1.0, alpha=0.9)
    ax.set_xlabel("epoch")


def legend_hyw(ax, quantities=("h", "y", "w"), **kwargs) -> None:
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=HYW_COLOURS[q], lw=1.4, label=HYW_LABELS[q]) for q in quantities]
    handles += [Line2D([], [], color="0.3", lw=1.4, label="network"),
                Line2D([], [], color="0.3", ls="--", lw=1.0, label="theory (fitted)")]
    ax.legend(handles=handles, frameon=False, **kwargs)
