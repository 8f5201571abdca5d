"""Paper B blob task (Figs 7, 8, 12, 15): feature-collapse metrics, the 3-D MDS transform and table readers.

Spec ``universality.md`` 4.3, 6.1 (Figs 8, 12, 15) and 7 (checks of Figs 8, 12, 15). No plotting here (the MDS
rule depends on this module, so figure edits never rerun it) and no torch (trainings: ``_train_blobs``).

Metrics on the final hidden activities ``h (n, P)`` of all points (spec 7, made precise here):

* variance of a point set ``V(X) = mean_i ||x_i - mean(X)||^2`` (total variance = trace of the covariance,
  ``1/n`` normalisation);
* irrelevant-feature variance fraction of context ``c`` (``c = 0`` "x": relevant feature ``mu_x``, irrelevant
  ``mu_y``; ``c = 1`` "y": the reverse): the points of context ``c`` are grouped by the value of the relevant
  feature (30 groups of 30 points at full scale, each group spanning the irrelevant feature) and
  ``F_c = mean_g V(group g) / V(context c)``. ``F = 0``: the representation collapsed along the irrelevant
  feature (one line per context, the small-weight prediction of Eq. 13); ``F ~ 1/2``: both features kept
  equally (a 2-D square per context, the input structure);
* context separation ``S = ||mean(context 0) - mean(context 1)||^2 / ((V(context 0) + V(context 1)) / 2)``: squared
  distance of the two context centroids in units of the mean within-context variance. ``S >> 1``: two separate
  structures; ``S << 1``: the two context lines coincide (Fig. 12).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import io

#: 2-D projections of the 3-D MDS embedding drawn in Figs 8, 12, 15: dims 1-2, 2-3, 1-3 (0-based pairs).
PROJECTIONS = ((0, 1), (1, 2), (0, 2))
#: Context names (index = the one-hot position = ``context`` label) and each context's relevant feature.
CONTEXTS = ("x", "y")
RELEVANT = {0: "mu_x", 1: "mu_y"}


# ------------------------------------------------------------------ metrics (spec 7, Figs 8, 12, 15)
def variance(x: np.ndarray) -> float:
    """Total variance ``mean_i ||x_i - mean||^2`` of points ``x (n, P)``."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean(np.sum((x - x.mean(axis=0)) ** 2, axis=1)))


def group_variances(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Variance :func:`variance` of each group of points: ``x (n, P)``, ``groups (n,)`` labels -> ``(G,)`` in the
    order of ``np.unique(groups)`` (vectorised: one pass with ``bincount`` / ``add.at``)."""
    x = np.asarray(x, dtype=np.float64)
    _, inv = np.unique(np.asarray(groups), return_inverse=True)
    counts = np.bincount(inv).astype(np.float64)
    sums = np.zeros((len(counts), x.shape[1]))
    np.add.at(sums, inv, x)
    means = sums / counts[:, None]
    sq = np.bincount(inv, weights=np.sum((x - means[inv]) ** 2, axis=1), minlength=len(counts))
    return sq / counts


def irrelevant_fraction(x: np.ndarray, relevant: np.ndarray) -> float:
    """``F`` of one context (spec 7, Fig. 8): mean over the values of the relevant feature of the variance of the
    points sharing that value, divided by the context's total variance. ``x (n, P)`` points of one context,
    ``relevant (n,)`` their relevant-feature values. Invariant to rotations, translations and scalings of ``x``."""
    return float(np.mean(group_variances(x, relevant)) / variance(x))


def context_separation(h: np.ndarray, context: np.ndarray) -> float:
    """``S`` (spec 7, Fig. 8): squared distance of the two context centroids / mean within-context variance.
    ``h (n, P)``, ``context (n,)`` in {0, 1}."""
    h = np.asarray(h, dtype=np.float64)
    a, b = h[context == 0], h[context == 1]
    return float(np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) / (0.5 * (variance(a) + variance(b))))


def collapse_metrics(h: np.ndarray, context: np.ndarray, mu_x: np.ndarray, mu_y: np.ndarray) -> dict:
    """``{"F_x": F of context "x" (grouped by mu_x), "F_y": F of context "y" (grouped by mu_y), "S": S}`` of
    hidden activities ``h (n, P)`` with per-point labels ``context, mu_x, mu_y (n,)``."""
    out = {}
    for c, name in enumerate(CONTEXTS):
        m = context == c
        out[f"F_{name}"] = irrelevant_fraction(h[m], (mu_x, mu_y)[c][m])
    out["S"] = context_separation(h, context)
    return out


# ------------------------------------------------------------------ MDS (transform rule)
def mds_embedding(points: np.ndarray, m: dict) -> np.ndarray:
    """3-D metric MDS (scikit-learn SMACOF on Euclidean distances; spec 6.1 Fig. 8: ``MDS(n_components=3)``) of
    ``points (n, P)`` -> ``(n, 3)``, row ``i`` = point ``i``. ``m``: ``n_components``, ``init`` (``"classical_mds"``
    or ``"random"``), ``n_init``, ``max_iter``, ``eps``, ``seed``."""
    from sklearn.manifold import MDS

    mds = MDS(n_components=m["n_components"], metric_mds=True, metric="euclidean", init=m["init"],
              n_init=m["n_init"], max_iter=m["max_iter"], eps=m["eps"], random_state=m["seed"])
    return mds.fit_transform(np.asarray(points, dtype=np.float64))


def stress1(points: np.ndarray, emb: np.ndarray) -> float:
    """Kruskal's stress-1 ``sqrt(sum_{i<j} (d_ij - delta_ij)^2 / sum_{i<j} delta_ij^2)`` of an embedding ``emb (n, k)``
    of ``points (n, P)`` (``delta``: distances of the points, ``d``: of the embedding); 0 = distances exact."""
    from scipy.spatial.distance import pdist

    delta = pdist(np.asarray(points, dtype=np.float64))
    d = pdist(np.asarray(emb, dtype=np.float64))
    return float(np.sqrt(np.sum((d - delta) ** 2) / np.sum(delta ** 2)))


def run_meta(table, figure: str, cond: str) -> dict:
    """``figure, panel, condition, seed, learning_rate`` of run ``cond`` of ``figure`` in ``table``."""
    sub = io.select(table, figure=figure, condition=cond, quantity="hidden")
    return dict(figure=figure, panel=sub["panel"].iloc[0], condition=cond, seed=int(sub["seed"].iloc[0]),
                learning_rate=float(sub["learning_rate"].iloc[0]))


def runs_in(table) -> list[tuple[str, str]]:
    """``(figure, condition)`` of every trained run (rows with ``quantity="hidden"``), sorted."""
    sub = io.select(table, quantity="hidden")
    return sorted(set(zip(sub["figure"], sub["condition"])))


def mds(table, cfg: dict):
    """Transform rule: :func:`mds_embedding` (config ``cfg["mds"]``) of the final hidden activities of every run in
    ``table`` (rows of :func:`_train_blobs.train`; a run's first seed, the network drawn). Returns
    ``quantity="mds"`` ``(1, n, 3)`` at the run's final ``step`` (``source="simulation"``) and the embedding's
    :func:`stress1` (``source="summary"``)."""
    frames = []
    for figure, cond in runs_in(table):
        step, h = hidden(table, figure, cond, with_step=True)
        emb = mds_embedding(h, {"n_components": 3, **cfg["mds"]})
        s1 = stress1(h, emb)
        print(f"{figure} {cond}: MDS of {h.shape[0]} points x {h.shape[1]} units, stress-1 {s1:.3g}")
        meta = run_meta(table, figure, cond)
        frames.append(io.records(emb[None], quantity="mds", source="simulation", steps=[step], t=[step], **meta))
        frames.append(io.records(s1, quantity="mds_stress1", source="summary", **meta))
    return io.concat(frames)


# ------------------------------------------------------------------ table readers
def seeds_in(df, figure: str, cond: str) -> list[int]:
    """Seeds of the networks of run ``cond`` of ``figure``, in training order (the first is the one drawn and
    embedded by :func:`mds`)."""
    return [int(s) for s in pd.unique(io.select(df, figure=figure, condition=cond, source="simulation")["seed"])]


def _seed_filter(df, figure: str, cond: str, seed: int | None) -> dict:
    return {"seed": seeds_in(df, figure, cond)[0] if seed is None else seed}


def hidden(df, figure: str, cond: str, with_step: bool = False, seed: int | None = None):
    """Final hidden activities ``(n, P)`` of run ``cond`` of ``figure`` (and their epoch with ``with_step``), of
    network ``seed`` (default: the run's first seed)."""
    steps, h = io.to_array(df, figure=figure, condition=cond, source="simulation", quantity="hidden",
                           **_seed_filter(df, figure, cond, seed))
    return (int(steps[-1]), h[-1]) if with_step else h[-1]


def embedding(df, figure: str, cond: str) -> np.ndarray:
    """3-D MDS embedding ``(n, 3)`` of run ``cond`` of ``figure``."""
    return io.to_array(df, figure=figure, condition=cond, source="simulation", quantity="mds")[1][-1]


def labels(df, figure: str, cond: str = "") -> dict:
    """Per-point labels ``{context, mu_x, mu_y, target}`` (each ``(n,)``) stored with a run or a dataset."""
    out = {q: io.to_array(df, figure=figure, condition=cond, source="summary", quantity=q)[1][0]
           for q in ("context", "mu_x", "mu_y", "target")}
    out["context"] = out["context"].astype(int)
    return out


def _network_metrics(df, figure: str, cond: str, lab: dict, seed: int) -> dict:
    out = collapse_metrics(hidden(df, figure, cond, seed=seed), lab["context"], lab["mu_x"], lab["mu_y"])
    _, y = io.to_array(df, figure=figure, condition=cond, source="simulation", quantity="output", seed=seed)
    out["final_loss"] = float(0.5 * np.mean((y[-1] - lab["target"]) ** 2))
    return out


def run_metrics(df, figure: str, cond: str, seed: int | None = None) -> dict:
    """:func:`collapse_metrics` of network ``seed`` of a run (default: its first seed) plus its final loss
    ``0.5 * mean_i (output_i - target_i)^2`` over all points (from the stored outputs and targets)."""
    return _network_metrics(df, figure, cond, labels(df, figure, cond), _seed_filter(df, figure, cond, seed)["seed"])


def seed_metrics(df, figure: str, cond: str) -> dict:
    """:func:`run_metrics` of every network of a run: ``{"seed": (S,), "F_x", "F_y", "S", "final_loss": (S,)}``
    in the order of :func:`seeds_in` (the labels are read once)."""
    seeds = seeds_in(df, figure, cond)
    lab = labels(df, figure, cond)
    per = [_network_metrics(df, figure, cond, lab, s) for s in seeds]
    return {"seed": np.array(seeds), **{k: np.array([m[k] for m in per]) for k in per[0]}}


def first_epoch_below(df, figure: str, cond: str, level: float, seed: int | None = None) -> int:
    """First epoch whose training loss (mean minibatch loss of the epoch) is below ``level``; -1 if none. Network
    ``seed`` of the run (default: its first seed)."""
    ep, loss = io.to_array(df, figure=figure, condition=cond, source="simulation", quantity="train_loss",
                           **_seed_filter(df, figure, cond, seed))
    hit = np.flatnonzero(loss < level)
    return int(ep[hit[0]]) if len(hit) else -1
