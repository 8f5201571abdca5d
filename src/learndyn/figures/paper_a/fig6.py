"""Paper A, Figure 6: reversal learning and revising structured knowledge.

Spec ``exact-dynamics.md`` sections 2.9, 2.10, 5.4-5.6, 6 (Figure 6) and 7 (checks). Panels:

* A: reversal learning (dataset 5.4) in a deep linear network, phase 2 only: ``W2W1`` simulated and the
  per-mode reversal solution (2.9) from the phase-2 initial weights, which decays to the saddle and stays there.
* B: the same task for a shallow network ``y = W x``, phase 2 only, with the closed form 2.10.
* C: trees of the revised living kingdom (items 7/8 swapped) and of the colour hierarchy, from their labels.
* D: SVD and RSMs of both tasks (as Fig. 3B).
* E/F: loss and ``W2W1`` over two phases (living kingdom, then the revised hierarchy (top, small zero-balanced
  init, float32 simulation as the original) or the colour hierarchy (bottom, large zero-balanced init));
  closed forms dotted (phase 1: Theorem 3.1 with the one-hot mapping; phase 2: 2.9 (top) / Theorem 3.1
  (bottom), both from the simulated end-of-phase-1 weights).
* G/H: metric MDS (scikit-learn) of the items' output vectors (columns of ``W2W1``) through training, phase 1
  (G) and phase 2 (H), top = small-init run, bottom = large-init run.
"""

from __future__ import annotations

import numpy as np

from ... import exact, init, io, plotting, reversal, simulate, tasks
from ..shared import mds_embedding
from ..steps import Figure, Step
from .fig3 import LIVING_NAMES, draw_svd, draw_tree, first_below, svd_records

ROWS = ("top", "bottom")
SECOND = {"revised": "revised living kingdom", "colour": "colour hierarchy"}
PHASE_COLOURS = ("#0071b2", "#d65c00")


# --------------------------------------------------------------------------- panels A, B
def compute_reversal(cfg: dict):
    """Panels A and B (reversal-learning dataset, spec 5.4). ``cfg``: the ``paper_a.fig6`` section."""
    c = cfg["reversal"]
    rng = np.random.default_rng(c["seed"])
    n = c["n_in"]
    task1, task2 = tasks.reversal_learning(c["n_samples"], n, n, rng)
    s1, s2 = task1.sigma_yx, task2.sigma_yx
    eta = c["learning_rate"]
    frames = []
    # A: deep network, phase 1 on task 1, phase 2 on task 2 = reversed task 1
    w1, w2 = init.zero_balanced(n, c["n_hidden"], n, c["sigma"], rng, sigma_yx=s1)
    tr1 = simulate.gd_linear(w1, w2, s1, eta, c["phase1_steps"], record=())
    p2 = c["phase2_steps"]
    steps = np.arange(p2 + 1)
    tr2 = simulate.gd_linear(tr1.w1, tr1.w2, s2, eta, p2, record_steps=steps, record=("W2W1",))
    sim = tr2.records["W2W1"]
    cf = reversal.reversal_network_function(tr1.w1, tr1.w2, s2, steps * eta, rtol=c["align_rtol"])
    keep = simulate.log_steps(p2, c["n_plot_points"])
    meta = dict(figure="a6", panel="A", condition="deep", seed=c["seed"], learning_rate=eta)
    frames += [io.records(sim[keep], quantity="W2W1", source="simulation", steps=keep, **meta),
               io.records(cf[keep], quantity="W2W1", source="exact", steps=keep, **meta),
               io.records(s2, quantity="W2W1", source="target", **meta)]
    rel = np.linalg.norm(sim - s2, axis=(1, 2)) / np.linalg.norm(s2)
    first = steps <= c["check_steps"]
    summary = {
        "max_dev_first_steps": np.max(np.abs(sim[first] - cf[first])),
        "cf_final_max_abs": np.max(np.abs(cf[-1])),
        "steps_to_rel_1e-2": first_below(rel, 1e-2),
        "alignment_error": reversal.alignment_error(tr1.w2 @ tr1.w1, s2),
        "phase1_final_rel_err": np.linalg.norm(tr1.w2 @ tr1.w1 - s1) / np.linalg.norm(s1),
    }
    frames += [io.records(v, quantity=k, source="summary", **meta) for k, v in summary.items()]
    # B: shallow network W ~ N(0, shallow_sigma^2), the same two phases
    w = rng.normal(0.0, c["shallow_sigma"], size=(n, n))
    ps = c["shallow_steps"]
    sh1 = simulate.gd_shallow(w, s1, eta, ps)
    steps_b = np.arange(ps + 1)
    sh2 = simulate.gd_shallow(sh1.final, s2, eta, ps, record_steps=steps_b)
    cf_b = reversal.shallow_network_function(sh1.final, s2, steps_b * eta)
    disc = reversal.shallow_gd(sh1.final, s2, eta, steps_b)
    meta = dict(meta, panel="B", condition="shallow")
    frames += [io.records(sh2.w, quantity="W", source="simulation", steps=steps_b, **meta),
               io.records(cf_b, quantity="W", source="exact", steps=steps_b, **meta),
               io.records(s2, quantity="W", source="target", **meta)]
    summary = {
        "max_dev": np.max(np.abs(sh2.w - cf_b)),
        "max_dev_discrete": np.max(np.abs(sh2.w - disc)),
        "final_rel_err": np.linalg.norm(sh2.final - s2) / np.linalg.norm(s2),
    }
    frames += [io.records(v, quantity=k, source="summary", **meta) for k, v in summary.items()]
    return io.concat(frames)


# --------------------------------------------------------------------------- panels C-H
def _tasks(h: dict) -> dict:
    pert = h["perturbation"]
    return {"living": tasks.hierarchy("living_kingdom", pert),
            "revised": tasks.hierarchy("living_kingdom", pert, revised_feature=h["revised_feature"]),
            "colour": tasks.hierarchy("colour", pert)}


def compute_hierarchy(cfg: dict):
    """Panels C-H: two-phase training on the hierarchies (spec 5.5, 5.6) and the MDS of the item outputs."""
    h = cfg["hierarchy"]
    labels = _tasks(h)
    frames = []
    for name in SECOND:
        frames.append(io.records(labels[name], quantity="labels", source="target", figure="a6", panel="C", condition=name))
        frames += svd_records(labels[name].T / labels[name].shape[0], "a6", "D", name)
    frames.append(io.records(labels["living"], quantity="labels", source="target", figure="a6", panel="C",
                             condition="living"))
    nh, eta = h["n_hidden"], h["learning_rate"]
    for row in ROWS:
        r = h[row]
        y1, y2 = labels["living"].T, labels[r["second_task"]].T   # sigma~ = Y (one-hot mapping, spec 1.1)
        n_items = y1.shape[1]
        lr = eta / n_items
        dtype = {"float32": np.float32, "float64": np.float64}[r["dtype"]]
        rng = np.random.default_rng(r["seed"])
        w1, w2 = init.zero_balanced(n_items, nh, y1.shape[0], r["sigma"], rng, sigma_yx=y1)
        p1, p2 = r["phase1_steps"], r["phase2_steps"]
        k1, k2 = np.arange(p1 + 1), np.arange(p2 + 1)
        tr1 = simulate.gd_linear(w1, w2, y1, lr, p1, record_steps=k1, record=("W2W1",), dtype=dtype)
        cf1 = exact.network_function(w1, w2, y1, k1 * lr)
        tr2 = simulate.gd_linear(tr1.w1, tr1.w2, y2, lr, p2, record_steps=k2, record=("W2W1",), dtype=dtype)
        w1b, w2b = tr1.w1.astype(np.float64), tr1.w2.astype(np.float64)
        if r["second_task"] == "revised":           # B singular: per-mode reversal solution (spec 2.9)
            cf2 = reversal.reversal_network_function(w1b, w2b, y2, k2 * lr, rtol=h["align_rtol"])
        else:                                        # Theorem 3.1 from the simulated end-of-phase-1 weights
            cf2 = exact.network_function(w1b, w2b, y2, k2 * lr)
        sims = (tr1.records["W2W1"].astype(np.float64), tr2.records["W2W1"].astype(np.float64))
        for phase, (k, off, sim, cf, y) in enumerate(((k1, 0, sims[0], cf1, y1), (k2, p1, sims[1], cf2, y2)), start=1):
            meta = dict(figure="a6", panel=row, condition=f"phase{phase}", seed=r["seed"], learning_rate=eta)
            steps = k + off
            tt = steps * lr
            frames.append(io.records(0.5 * np.mean((sim - y) ** 2, axis=(1, 2)), quantity="loss", source="simulation",
                                     steps=steps, t=tt, **meta))
            frames.append(io.records(0.5 * np.mean((cf - y) ** 2, axis=(1, 2)), quantity="loss", source="exact",
                                     steps=steps, t=tt, **meta))
            keep = np.union1d(np.arange(0, len(k), r["plot_stride"]), [0, len(k) - 1])
            frames.append(io.records(sim[keep], quantity="W2W1", source="simulation", steps=steps[keep], t=tt[keep], **meta))
            frames.append(io.records(cf[keep], quantity="W2W1", source="exact", steps=steps[keep], t=tt[keep], **meta))
            frames.append(io.records(y, quantity="W2W1", source="target", **meta))
            frames.append(io.records(np.max(np.abs(sim - cf)), quantity="max_dev", source="summary", **meta))
        meta = dict(figure="a6", panel=row, condition="run", seed=r["seed"], learning_rate=eta)
        frames.append(io.records(np.finfo(dtype).bits, quantity="float_bits", source="summary", **meta))
        if r["second_task"] == "revised":
            frames.append(io.records(reversal.alignment_error(w2b @ w1b, y2), quantity="alignment_error",
                                     source="summary", **meta))
        if r["fresh_reference"]:                     # the second task from a fresh init of the same scale
            wf1, wf2 = init.zero_balanced(n_items, nh, y2.shape[0], r["sigma"], rng, sigma_yx=y2)
            trf = simulate.gd_linear(wf1, wf2, y2, lr, p2, record=(), dtype=dtype)
            frames.append(io.records(trf.loss / y2.size, quantity="loss", source="simulation", steps=k2 + p1,
                                     t=(k2 + p1) * lr, **dict(meta, condition="fresh")))
        # G/H: MDS of the columns of W2W1 (one point per item per snapshot), both phases in one embedding
        snaps = np.concatenate([np.arange(0, p1 + 1, r["mds_every"]), p1 + np.arange(r["mds_every"], p2 + 1, r["mds_every"])])
        snaps = np.union1d(snaps, [p1, p1 + p2])
        w_all = np.concatenate([sims[0], sims[1][1:]])             # overall steps 0 .. p1 + p2
        pts = np.swapaxes(w_all[snaps], 1, 2)                      # (snapshots, items, features)
        emb = mds_embedding(pts.reshape(-1, pts.shape[-1]), cfg["mds"]).reshape(len(snaps), n_items, 2)
        frames.append(io.records(emb, quantity="mds", source="simulation", steps=snaps, t=snaps * lr,
                                 **dict(meta, condition="mds")))
    return io.concat(frames)


# --------------------------------------------------------------------------- checks
def _get(df, **sel):
    return io.to_array(df, **sel)


def checks(df, cfg: dict):
    """Acceptance checks of spec section 7, Figure 6 (thresholds: ``cfg["checks"]``)."""
    c, h, t = cfg["reversal"], cfg["hierarchy"], cfg["checks"]
    rows = []
    g = lambda panel, q, cond="deep": io.scalar(df, panel=panel, quantity=q, source="summary", condition=cond)  # noqa: E731
    v = g("A", "cf_final_max_abs")
    rows.append(("A: closed form (2.9) max |W2W1| at the end of phase 2", v, f"<= {t['a_cf_final']:g}",
                 v <= t["a_cf_final"]))
    v = g("A", "steps_to_rel_1e-2")
    rows.append(("A: simulation (float64) steps until ||W - S2|| / ||S2|| < 1e-2", v,
                 f"in [{t['a_steps_min']:g}, {c['phase2_steps']}]", t["a_steps_min"] <= v <= c["phase2_steps"]))
    v = g("A", "max_dev_first_steps")
    rows.append((f"A: max |sim - closed form| over the first {c['check_steps']} phase-2 steps", v,
                 f"<= {t['a_first_steps_dev']:g}", v <= t["a_first_steps_dev"]))
    v = g("A", "alignment_error")
    rows.append(("A: task 2 in the network's singular basis after phase 1 (max rel. off-diagonal)", v,
                 f"<= {c['align_rtol']:g}", v <= c["align_rtol"]))
    v = g("B", "max_dev", "shallow")
    rows.append(("B: shallow closed form (2.10) vs simulation, max abs", v, f"<= {t['b_shallow_dev']:g}",
                 v <= t["b_shallow_dev"]))
    v = g("B", "max_dev_discrete", "shallow")
    rows.append(("B: exact discrete form (1-eta)^k vs simulation, max abs", v, f"<= {t['b_discrete_dev']:g}",
                 v <= t["b_discrete_dev"]))
    v = g("B", "final_rel_err", "shallow")
    rows.append((f"B: relative error after {c['shallow_steps']} steps", v, f"<= {t['b_final_rel']:g}",
                 v <= t["b_final_rel"]))

    labels = {name: io.to_array(df, panel="C", quantity="labels", source="target", condition=name)[1][0]
              for name in ("living", *SECOND)}
    n_items = labels["living"].shape[0]
    lr = h["learning_rate"] / n_items
    loss_thr = h["loss_threshold"]
    for row in ROWS:
        r = h[row]
        p1 = r["phase1_steps"]
        dev1 = io.scalar(df, panel=row, quantity="max_dev", source="summary", condition="phase1")
        dev2 = io.scalar(df, panel=row, quantity="max_dev", source="summary", condition="phase2")
        steps2, loss2 = _get(df, panel=row, quantity="loss", source="simulation", condition="phase2")
        _, loss2_cf = _get(df, panel=row, quantity="loss", source="exact", condition="phase2")
        steps1, loss1 = _get(df, panel=row, quantity="loss", source="simulation", condition="phase1")
        bits = int(io.scalar(df, panel=row, quantity="float_bits", source="summary", condition="run"))
        if r["second_task"] == "revised":
            rows.append((f"E/F {row}: phase 1 max |W_sim - W_Thm3.1| (float{bits} simulation)", dev1,
                         f"<= {t['phase1_dev']:g}", dev1 <= t["phase1_dev"]))
            smin = np.linalg.svd(labels["revised"].T, compute_uv=False)[-1]
            plateau = 0.5 * smin ** 2 / labels["revised"].size
            rel = abs(loss2_cf[-1] / plateau - 1)
            rows.append((f"E/F {row}: closed-form phase-2 loss at the end (plateau 1/2 s8^2/64 = {plateau:.5f})",
                         float(loss2_cf[-1]), f"within {100 * t['plateau_loss_rel']:g} %",
                         rel <= t["plateau_loss_rel"]))
            esc = int(first_below(loss2, h["escape_threshold"]))
            lo = t["escape_step_min"]
            hi = t["escape_step_max_float32"] if bits == 32 else r["phase2_steps"]
            rows.append((f"E/F {row}: float{bits} simulation leaves the plateau (loss < {h['escape_threshold']:g}) at "
                         "phase-2 step", esc, f"in [{lo:g}, {hi:g}]", lo <= esc <= hi))
            v = io.scalar(df, panel=row, quantity="alignment_error", source="summary", condition="run")
            rows.append((f"E/F {row}: revised task in the network's singular basis (max rel. off-diagonal)", v,
                         f"<= {h['align_rtol']:g}", v <= h["align_rtol"]))
            rows.append((f"E/F {row}: phase-2 max |W_sim - W_2.9| (the simulation escapes, the closed form does not)",
                         dev2, "(reported)", True))
        else:
            rows.append((f"E/F {row}: phase 1 max |W_sim - W_Thm3.1|", dev1, f"<= {t['phase1_dev']:g}",
                         dev1 <= t["phase1_dev"]))
            rows.append((f"E/F {row}: colour phase max |W_sim - W_Thm3.1|", dev2, f"<= {t['colour_phase_dev']:g}",
                         dev2 <= t["colour_phase_dev"]))
            n1 = int(first_below(loss1, loss_thr))
            n2 = int(first_below(loss2, loss_thr))
            k = t["colour_steps_ratio"]
            rows.append((f"E {row}: steps to loss < {loss_thr:g}: colour after living ({n2}) <= {k:g} x living from "
                         f"balanced sigma={r['sigma']:g} ({n1})", n2, f"<= {k * n1:g}", 0 < n2 <= k * n1 and n1 > 0))
            if r["fresh_reference"]:
                _, lf = _get(df, panel=row, quantity="loss", source="simulation", condition="fresh")
                rows.append((f"E {row}: steps to loss < {loss_thr:g} for the colour task from a fresh balanced "
                             f"sigma={r['sigma']:g} init", int(first_below(lf, loss_thr)), "(reported)", True))
    # G/H: same representation from small and large initial weights
    ends = {}
    for row in ROWS:
        steps, w = _get(df, panel=row, quantity="W2W1", source="simulation", condition="phase1")
        ends[row] = w[-1]
    y = labels["living"].T
    v = float(np.max(np.abs(ends["top"] - y)))
    rows.append(("G: end of phase 1, small init: max |W2W1 - Y|", v, f"<= {t['g_target_dev']:g}",
                 v <= t["g_target_dev"]))
    v = float(np.max(np.abs(ends["top"] - ends["bottom"])))
    rows.append((f"G: end of phase 1, max |W_small - W_large| (spec 1e-4 needs more than the {h['bottom']['phase1_steps']} "
                 "large-init steps; see caption)", v, f"<= {t['g_init_dev']:g}", v <= t["g_init_dev"]))
    d = {row: np.linalg.norm(ends[row][:, :, None] - ends[row][:, None, :], axis=0) for row in ROWS}
    v = float(np.max(np.abs(d["top"] - d["bottom"])) / np.max(d["top"]))
    rows.append(("G: end of phase 1, item distance matrices (what MDS embeds) small vs large init, max rel. diff.",
                 v, f"<= {t['g_distance_rel']:g}", v <= t["g_distance_rel"]))
    return io.check_table(rows)


# --------------------------------------------------------------------------- drawing
def _rotation(final: np.ndarray) -> np.ndarray:
    """Display-only rotation/reflection of an MDS embedding (spec 9, MDS gap): the animal-plant axis of the
    end-of-phase-1 configuration ``final (8, 2)`` horizontal (animals left), fish above birds."""
    d = final[4:].mean(axis=0) - final[:4].mean(axis=0)
    a = np.arctan2(d[1], d[0])
    rot = np.array([[np.cos(-a), -np.sin(-a)], [np.sin(-a), np.cos(-a)]])
    f = final @ rot.T
    if f[:2, 1].mean() < f[2:4, 1].mean():
        rot = np.diag([1.0, -1.0]) @ rot
    return rot


def _item_colours(n: int):
    import matplotlib
    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i) for i in range(n)]


def draw(df, cfg: dict):
    """Figure 6: panels A-H."""
    c, h = cfg["reversal"], cfg["hierarchy"]
    plotting.apply_style()
    fig = plotting.figure(13.0, 11.0)
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
    # A / B
    for x0, (panel, quantity, ticks, ylabel, title, eq) in zip((0.06, 0.29), (
            ("A", "W2W1", [1, 100, 10_000], "$W_2W_1$ entries", "deep network: reversal", "2.9"),
            ("B", "W", [1, 10, 100], "$W$ entries", "shallow network: reversal", "2.10"))):
        ax = fig.add_axes([x0, 0.77, 0.17, 0.17])
        steps, sim = _get(df, panel=panel, quantity=quantity, source="simulation")
        _, ex = _get(df, panel=panel, quantity=quantity, source="exact")
        show = steps != 1                             # log axis: step 0 is drawn at 1 (as Figs 1, 2), step 1 left out
        plotting.sim_exact(ax, np.maximum(steps, 1)[show], flat(sim)[show], flat(ex)[show], colors=_item_colours(10),
                           lw=1.0)
        ax.set_xscale("log"); ax.set_xticks(ticks)
        ax.set_xlabel("training step (phase 2)"); ax.set_ylabel(ylabel)
        ax.set_title(title)
        plotting.legend_sim_exact(ax, exact_label=f"exact ({eq})", loc="upper left", fontsize=6)
        plotting.panel_label(ax, panel, dx=-0.25)
    # C: trees
    lab = lambda name: _get(df, panel="C", quantity="labels", source="target", condition=name)[1][0]  # noqa: E731
    ax_c1 = fig.add_axes([0.50, 0.75, 0.23, 0.21])
    draw_tree(ax_c1, lab("revised"), LIVING_NAMES, title=f"revised living kingdom (feature {h['revised_feature']} negated)",
              highlight=tuple(np.flatnonzero(lab("revised")[:, h["revised_feature"] - 1])))
    plotting.panel_label(ax_c1, "C", dx=-0.02)
    ax_c2 = fig.add_axes([0.76, 0.75, 0.23, 0.21])
    draw_tree(ax_c2, lab("colour"), None, title="colour hierarchy (groups: feature and sign)")
    # D: SVDs (as Fig. 3B)
    for j, name in enumerate(SECOND):
        x0 = 0.06 + j * 0.48
        w, hgt = 0.062, 0.085
        top = [fig.add_axes([x0 + i * 0.08, 0.565, w, hgt]) for i in range(3)]
        bot = [fig.add_axes([x0 + (3 + i) * 0.08 + 0.02, 0.565, w, hgt]) for i in range(2)]
        draw_svd(fig, top, bot, df, "D", condition=name, cax_top=fig.add_axes([x0 + 2 * 0.08 + w + 0.004, 0.565, 0.005, hgt]),
                 cax_bottom=fig.add_axes([x0 + 4 * 0.08 + 0.02 + w + 0.004, 0.565, 0.005, hgt]))
        fig.text(x0, 0.68, SECOND[name] + ": task SVD of $Y/8$ and RSMs", fontsize=7.5)
        if j == 0:
            plotting.panel_label(top[0], "D", dx=-0.5, dy=1.3)
    # E-H
    item_c = _item_colours(8)
    for i, row in enumerate(ROWS):
        r = h[row]
        p1, p2 = r["phase1_steps"], r["phase2_steps"]
        y0 = 0.345 - i * 0.215
        hgt = 0.15
        # E: loss
        ax = fig.add_axes([0.06, y0, 0.18, hgt])
        for ph, col in zip((1, 2), PHASE_COLOURS):
            st, ls = _get(df, panel=row, quantity="loss", source="simulation", condition=f"phase{ph}")
            _, le = _get(df, panel=row, quantity="loss", source="exact", condition=f"phase{ph}")
            ax.plot(st, ls, color=col, label=("living kingdom" if ph == 1 else SECOND[r["second_task"]]))
            ax.plot(st, le, **plotting.EXACT_STYLE)
        if r["fresh_reference"]:
            st, lf = _get(df, panel=row, quantity="loss", source="simulation", condition="fresh")
            ax.plot(st, lf, color="0.55", ls="--", lw=1.0, label="colour from fresh init.")
        ax.axvline(p1, color="0.5", ls="--", lw=0.7)
        ax.set_xlim(0, p1 + p2); ax.set_ylim(bottom=0)
        ax.set_xlabel("training step"); ax.set_ylabel("loss $\\frac{1}{2}$mean$(W_2W_1-Y)^2$")
        bits = int(io.scalar(df, panel=row, quantity="float_bits", source="summary", condition="run"))
        ax.set_title(f"$\\sigma$={r['sigma']:g} balanced, float{bits}")
        ax.legend(frameon=False, fontsize=6, loc="upper right")
        if i == 0:
            plotting.panel_label(ax, "E", dx=-0.25)
        # F: network function
        ax = fig.add_axes([0.29, y0, 0.19, hgt])
        for ph in (1, 2):
            st, ws = _get(df, panel=row, quantity="W2W1", source="simulation", condition=f"phase{ph}")
            _, we = _get(df, panel=row, quantity="W2W1", source="exact", condition=f"phase{ph}")
            cols = [item_c[k % 8] for k in range(ws[0].size)]       # one colour per item (column of W2W1)
            plotting.sim_exact(ax, st, flat(ws), flat(we), colors=cols, lw=0.8, exact_lw=0.7)
        ax.axvline(p1, color="0.5", ls="--", lw=0.7)
        if r["second_task"] == "revised":
            st2, l2 = _get(df, panel=row, quantity="loss", source="simulation", condition="phase2")
            esc = int(first_below(l2, h["escape_threshold"]))
            if esc >= 0:
                from matplotlib.patches import Ellipse
                ax.add_patch(Ellipse((st2[esc], 0.0), width=0.16 * (p1 + p2), height=1.3, fill=False,
                                     color="#009e73", lw=1.5))
        ax.set_xlim(0, p1 + p2); ax.set_ylim(-1.5, 1.5)
        ax.set_xlabel("training step"); ax.set_ylabel("$W_2W_1$ entries")
        ax.set_title("living kingdom $\\to$ " + SECOND[r["second_task"]])
        if i == 0:
            plotting.panel_label(ax, "F", dx=-0.25)
        # G / H: MDS
        snaps, emb = _get(df, panel=row, quantity="mds", source="simulation", condition="mds")
        rot = _rotation(emb[np.searchsorted(snaps, p1)])
        emb = emb @ rot.T
        ph1, ph2 = snaps <= p1, snaps >= p1
        for k, panel in enumerate(("G", "H")):
            ax = fig.add_axes([0.55 + k * 0.23, y0, 0.16, hgt])
            for item in range(emb.shape[1]):
                if panel == "H":
                    ax.plot(emb[ph1, item, 0], emb[ph1, item, 1], color="0.85", lw=0.8)
                sel = ph1 if panel == "G" else ph2
                ls = ":" if (panel == "H" and r["second_task"] == "revised" and item == 7) else "-"
                ax.plot(emb[sel, item, 0], emb[sel, item, 1], color=item_c[item], lw=1.0, ls=ls)
                end = emb[sel, item][-1]
                ax.scatter([end[0]], [end[1]], color=item_c[item], s=14, zorder=3,
                           label=f"item {item + 1}" if (i == 0 and k == 0) else None)
            ax.set_xlim(-2.6, 2.6); ax.set_ylim(-2.6, 2.6); ax.set_aspect("equal")
            ax.set_xlabel("MDS 1"); ax.set_ylabel("MDS 2")
            ax.set_title(("phase 1: living kingdom" if panel == "G" else "phase 2: " + SECOND[r["second_task"]])
                         + f" ($\\sigma$={r['sigma']:g})", fontsize=7)
            if i == 0:
                plotting.panel_label(ax, panel, dx=-0.35)
                if k == 0:
                    ax.legend(frameon=False, fontsize=5.5, ncol=1, loc="center left", bbox_to_anchor=(1.0, 0.5),
                              handletextpad=0.2, borderaxespad=0.2)
    top, bot = h["top"], h["bottom"]
    bits_top = int(io.scalar(df, panel="top", quantity="float_bits", source="summary", condition="run"))
    _, w_end = _get(df, panel="bottom", quantity="W2W1", source="simulation", condition="phase1")
    _, y_living = _get(df, panel="bottom", quantity="W2W1", source="target", condition="phase1")
    resid = float(np.max(np.abs(w_end[-1] - y_living[0])))
    plotting.caption(fig, (
        f"A: dataset 5.4 (N={c['n_samples']}, {c['n_in']}x{c['n_in']}), ({c['n_in']}, {c['n_hidden']}, {c['n_in']}) network, "
        f"zero-balanced sigma={c['sigma']:g} (det-sign rule w.r.t. task 1), eta={c['learning_rate']:g}, {c['phase1_steps']} "
        f"steps on task 1, then {c['phase2_steps']} on task 2 = -task 1 (shown); dotted: per-mode solution 2.9 from the "
        f"phase-2 initial weights (stuck at the saddle). B: shallow net W ~ N(0, {c['shallow_sigma']:g}^2), {c['shallow_steps']} "
        "steps per phase; dotted: 2.10. C: trees drawn from the label matrices (revised: items 7/8 swapped, red; colour "
        "groups named by feature and sign). D: as Fig. 3B. E/F: (8, %d, 8) network, one-hot items, eta=%g; top: sigma=%g, "
        "%d + %d steps, simulated in float%d (the escape from the reversal saddle is driven by round-off; config "
        "paper_a.fig6.hierarchy.top.dtype), green ellipse at the escape (loss < %g); bottom: sigma=%g, %d + %d steps, grey "
        "dashed = colour task from a fresh balanced init. Dotted: Theorem 3.1 (one-hot mapping) in phase 1; 2.9 (top) / "
        "Theorem 3.1 (bottom) from the simulated end-of-phase-1 weights in phase 2. G/H: metric MDS (scikit-learn SMACOF, "
        "%d inits, eps %g, seed %d) of the item outputs (columns of W2W1) every %d (top) / %d (bottom) steps, one embedding "
        "per run; rotated/reflected for display so the animal-plant axis is horizontal (the original's angles refer to "
        "its own embedding); item 8 dotted in the reversal phase. The large-init run is not fully converged after %d "
        "steps (max |W - Y| = %.1e), so the checks compare the two end configurations to that accuracy."
        % (h["n_hidden"], h["learning_rate"], top["sigma"], top["phase1_steps"], top["phase2_steps"], bits_top,
           h["escape_threshold"], bot["sigma"], bot["phase1_steps"], bot["phase2_steps"], cfg["mds"]["n_init"],
           cfg["mds"]["eps"], cfg["mds"]["seed"], top["mds_every"], bot["mds_every"], bot["phase1_steps"], resid)))
    return fig


# --------------------------------------------------------------------------- declaration (workflow rules, tests)
_ROW_KEYS = ("seed", "second_task", "sigma", "phase1_steps", "phase2_steps", "dtype", "mds_every", "plot_stride",
             "fresh_reference")

FIGURE = Figure(
    id="a6", paper="paper_a", name="fig6", checks=checks, draw=draw,
    steps=(
        Step("a6_reversal", compute_reversal, "fig6_AB",
             keys=tuple(f"reversal.{k}" for k in ("seed", "n_samples", "n_in", "n_hidden", "sigma", "learning_rate",
                                                   "phase1_steps", "phase2_steps", "n_plot_points", "check_steps",
                                                   "align_rtol", "shallow_sigma", "shallow_steps")),
             mem_mb=500, minutes=5),
        Step("a6_hierarchy", compute_hierarchy, "fig6_CH",
             # align_rtol: read for a row whose second task is "revised"
             keys=(*(f"hierarchy.{k}" for k in ("n_hidden", "learning_rate", "perturbation", "revised_feature",
                                                "align_rtol")),
                   *(f"hierarchy.{row}.{k}" for row in ROWS for k in _ROW_KEYS),
                   "mds.n_init", "mds.eps", "mds.max_iter", "mds.seed"),
             # ~40 s on one idle core, dominated by the two MDS fits (~800 points, 4 SMACOF inits each)
             mem_mb=1500, minutes=10),
    ),
)
