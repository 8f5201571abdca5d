"""Helpers shared by figures of several papers (a figure module never imports another paper's figure module)."""

from __future__ import annotations

import numpy as np

__all__ = ["network_schematic", "mds_embedding"]


def network_schematic(ax, ni: int, nh: int, no: int) -> None:
    """Draw a two-layer network (``ni`` inputs, ``nh`` hidden, ``no`` outputs; weights W1, W2) on ``ax``
    (paper A Fig. 1A, paper C Fig. L1A)."""
    layers = [ni, nh, no]
    xs = [0.0, 1.0, 2.0]
    pos = [np.linspace(-(n - 1) / 2, (n - 1) / 2, n) / max(layers) * 2 for n in layers]
    for li in range(2):
        for ya in pos[li]:
            for yb in pos[li + 1]:
                ax.plot([xs[li], xs[li + 1]], [ya, yb], color="0.75", lw=0.4, zorder=1)
    colours = ["#0071b2", "0.5", "#d65c00"]
    for x, p, c in zip(xs, pos, colours):
        ax.scatter(np.full_like(p, x), p, s=40, color=c, zorder=2, edgecolor="k", lw=0.4)
    for x, lab in zip(xs, ["input $x$", "hidden $h$", "output $\\hat y$"]):
        ax.text(x, -1.35, lab, ha="center", va="top", fontsize=7)
    ax.text(0.5, 1.2, "$W_1$", ha="center"); ax.text(1.5, 1.2, "$W_2$", ha="center")
    ax.set_xlim(-0.4, 2.4); ax.set_ylim(-1.7, 1.45); ax.axis("off")


def mds_embedding(points: np.ndarray, m: dict) -> np.ndarray:
    """2-D metric MDS (scikit-learn SMACOF on Euclidean distances, spec Fig. 6G/H) of ``points (P, D)``;
    ``m``: ``n_init``, ``eps``, ``max_iter``, ``seed``. Returns ``(P, 2)``."""
    from sklearn.manifold import MDS
    mds = MDS(n_components=2, metric_mds=True, metric="euclidean", n_init=m["n_init"], init="random",
              eps=m["eps"], max_iter=m["max_iter"], random_state=m["seed"])
    return mds.fit_transform(np.asarray(points, dtype=np.float64))
