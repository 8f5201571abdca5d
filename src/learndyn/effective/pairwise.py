"""Paper B's two-point theory applied to every pair of a dataset: the final distances of all pairs (Eq. 10,
the XOR / Fig. 6 theory), the pairwise rich-limit predictions (Eq. 13) and their exponential weighing
(Eq. 50, the MNIST figure).

Part of :mod:`learndyn.effective` (its docstring states the conventions: ``h, y, w``, ``dx2, dy2``, time in
epochs, states with last axis ``(h, y, w)``).
"""

from __future__ import annotations

import numpy as np

from ._checks import numeric, positive
from .final_distance import final_representational_distance

__all__ = [
    "pairwise_final_distances", "rich_limit_distance_matrix", "exponential_weighing",
    "exponential_weighing_by_class",
]


#: ``exp(-d)`` is exactly 0.0 in float64 for every ``d`` above this.
_EXP_UNDERFLOW = 745.2


# --------------------------------------------------------------------------------------
# final distances of every pair (Eq. 10)


def pairwise_final_distances(h0, y0, dx2, dy2, eta_h, eta_y):
    """Eq. 10 / 11 applied to every pair of a dataset (used for the XOR / Fig. 6 theory).

    ``h0, y0, dx2, dy2``: ``(N, N)`` matrices of **squared** distances between the
    initial representations, initial predictions, inputs and targets. ``eta_h, eta_y``
    scalars (only the ratio matters). Returns the ``(N, N)`` matrix of predicted final
    squared distances ``h_+``; the diagonal is 0. Off-diagonal ``h0`` must be > 0.
    """
    mats = [numeric(n, v) for n, v in (("h0", h0), ("y0", y0), ("dx2", dx2), ("dy2", dy2))]
    N = mats[0].shape[0] if mats[0].ndim == 2 else -1
    for name, m in zip(("h0", "y0", "dx2", "dy2"), mats):
        if m.ndim != 2 or m.shape != (N, N):
            raise ValueError(f"{name} must be a square (N, N) matrix matching h0, got {m.shape}")
    off = ~np.eye(N, dtype=bool)
    out = np.zeros((N, N))
    out[off] = final_representational_distance(mats[0][off], mats[1][off], eta_h, eta_y,
                                               mats[2][off], mats[3][off])
    return out


# --------------------------------------------------------------------------------------
# exponential weighing (Eq. 50)


def _pairwise_euclidean(X, Y=None):
    """Euclidean distances (N, D) x (K, D) -> (N, K) via the Gram trick; pairs where the
    trick cancels badly (close or identical rows) are recomputed from differences, so
    identical rows give exactly 0."""
    Y = X if Y is None else Y
    nx, ny = np.einsum("ij,ij->i", X, X), np.einsum("ij,ij->i", Y, Y)
    sq = nx[:, None] + ny[None, :] - 2.0 * X @ Y.T
    close = sq <= 1e-8 * (nx[:, None] + ny[None, :])
    if np.any(close):
        i, j = np.nonzero(close)
        diff = X[i] - Y[j]
        sq[i, j] = np.einsum("ij,ij->i", diff, diff)
    return np.sqrt(np.maximum(sq, 0.0))


def rich_limit_distance_matrix(X, Y, eta_ratio=1.0):
    """Pairwise small-weight predictions ``D_ij = √(η_h/η_y) ||x_i − x_j|| ||y_i − y_j||``.

    Eq. 13 applied to all pairs (``eta_ratio = 1`` drops the rate factor, as the MNIST
    figure does, spec 2.10). ``X``: ``(N, D_x)``, ``Y``: ``(N, D_y)``. Returns ``(N, N)``
    with exact zeros on the diagonal.
    """
    X = numeric("X", X)
    Y = numeric("Y", Y)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X (N, D_x) and Y (N, D_y) must be 2-D with equal N, "
                         f"got {X.shape} and {Y.shape}")
    D = np.sqrt(positive("eta_ratio", eta_ratio)) * _pairwise_euclidean(X) * _pairwise_euclidean(Y)
    np.fill_diagonal(D, 0.0)
    return D


def exponential_weighing(D):
    """Exponential weighing of pairwise predictions, paper B Eq. 50.

    ``D̃ = E D E`` with ``E_ij = exp(−D_ij)`` (elementwise exponential, ordinary matrix
    products), i.e. ``D̃_ij = Σ_kl e^{−D_ik} D_kl e^{−D_lj}``; reduces violations of the
    triangle inequality. ``D``: ``(N, N)``, finite. Returns ``(N, N)``.
    """
    D = numeric("D", D)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"D must be a square matrix, got shape {D.shape}")
    with np.errstate(under="ignore"):
        E = np.exp(-D)
    return E @ D @ E


def exponential_weighing_by_class(X, labels, class_targets, *, chunk_size=2048):
    """Class-level exact shortcut of Eq. 50 for class-constant targets (spec 2.10).

    With ``D_kl = ||x_k − x_l|| · ||t_{c(k)} − t_{c(l)}||`` (:func:`rich_limit_distance_matrix`
    with ``eta_ratio = 1``) and every different-class ``D_kl`` above ~745, ``E = e^{−D}``
    is exactly (in float64) the same-class indicator, so::

        D̃_ij = ||t_a − t_b|| Σ_{k∈a} Σ_{l∈b} ||x_k − x_l||   (a = c(i), b = c(j)),  0 if a = b

    (e.g. raw MNIST pixels with one-hot targets). Computed blockwise without forming
    ``N × N`` matrices. ``X``: ``(N, D_x)``; ``labels``: ``(N,)`` integers in ``0..C−1``;
    ``class_targets``: ``(C, D_y)``, pairwise distinct. Returns the ``(C, C)`` matrix ``M``;
    ``M[labels[:, None], labels[None, :]]`` is ``D̃`` for any subset of the N points.
    Raises ``ValueError`` if the indicator condition fails (use
    :func:`exponential_weighing` on the full matrix then).
    """
    X = numeric("X", X)
    T = numeric("class_targets", class_targets)
    lab = np.asarray(labels)
    if X.ndim != 2 or lab.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, D_x) and labels (N,), got {X.shape} and {lab.shape}")
    if T.ndim != 2:
        raise ValueError(f"class_targets must be (C, D_y), got {T.shape}")
    if not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0 or lab.max() >= T.shape[0]:
        raise ValueError("labels must be integers in 0..C-1 with C = len(class_targets)")
    C = T.shape[0]
    tdist = _pairwise_euclidean(T)
    off = ~np.eye(C, dtype=bool)
    if np.any(tdist[off] == 0):
        raise ValueError("class_targets must be pairwise distinct")
    members = [X[lab == c] for c in range(C)]
    sums = np.zeros((C, C))
    for a in range(C):
        for b in range(a + 1, C):
            if members[a].size == 0 or members[b].size == 0:
                continue
            total, dmin = 0.0, np.inf
            for start in range(0, members[a].shape[0], chunk_size):
                d = _pairwise_euclidean(members[a][start:start + chunk_size], members[b])
                total += d.sum()
                dmin = min(dmin, d.min())
            if dmin * tdist[a, b] <= _EXP_UNDERFLOW:
                raise ValueError(
                    f"classes {a} and {b} have a pair with D = {dmin * tdist[a, b]:.4g} <= "
                    f"{_EXP_UNDERFLOW}: exp(-D) does not underflow, so E is not the class "
                    "indicator; use exponential_weighing on the full matrix")
            sums[a, b] = sums[b, a] = total
    return tdist * sums
