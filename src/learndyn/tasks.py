"""Task generators. Layout: one **column** per sample (``X (Ni, N)``, ``Y (No, N)``).

Sections refer to the project spec ``exact-dynamics.md`` (paper A, Appendix H.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import init as _init

__all__ = ["optimal_loss", "Task", "whiten", "random_regression", "teacher_student", "reversal_learning",
           "LIVING_KINGDOM", "COLOUR_HIERARCHY", "COLOUR_PERMUTATION", "perturb_labels", "revise_labels",
           "hierarchy", "one_hot_items", "mode_svd", "hierarchy_tree", "DECOUPLING_5X5_DENSE", "DECOUPLING_KINDS",
           "decoupling_targets", "WEIGHTED_HIERARCHY", "random_target", "gaussian_teacher"]



def optimal_loss(sigma_yx: np.ndarray, sigma_yy: np.ndarray) -> float:
    """Global minimum ``L* = 1/2 tr sigma_yy - 1/2 ||sigma_yx||_F^2`` of a linear task with whitened inputs
    (spec 1.1; ``sigma_yx (No, Ni)``, ``sigma_yy (No, No)``)."""
    return 0.5 * float(np.trace(sigma_yy)) - 0.5 * float(np.sum(np.asarray(sigma_yx) ** 2))

@dataclass(frozen=True)
class Task:
    """A regression task with whitened inputs.

    ``x (Ni, N)``, ``y (No, N)``; ``sigma_xx = X X^T / N`` (identity for whitened
    inputs), ``sigma_yx = Y X^T / N (No, Ni)``, ``sigma_yy = Y Y^T / N (No, No)``.
    """

    x: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        return self.x.shape[1]

    @property
    def sigma_xx(self) -> np.ndarray:
        return self.x @ self.x.T / self.n

    @property
    def sigma_yx(self) -> np.ndarray:
        return self.y @ self.x.T / self.n

    @property
    def sigma_yy(self) -> np.ndarray:
        return self.y @ self.y.T / self.n


def whiten(x: np.ndarray, eps: float = 1e-12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA whitening of inputs (spec 5.1): centre each input dimension, ``C = X_c X_c^T / N``,
    ``C = E diag(lam) E^T``, ``X_w = diag(lam)^(-1/2) E^T X_c`` so that ``X_w X_w^T / N = I``.

    Eigenvalues below ``eps`` are set to 1. ``x (Ni, N)``. Returns ``(X_w (Ni, N), mean (Ni,), W (Ni, Ni))``
    where ``X_w = W (X - mean)``; apply ``W`` and the *new* data's own mean to whiten a test set.
    """
    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=1)
    xc = x - mean[:, None]
    c = xc @ xc.T / x.shape[1]
    lam, e = np.linalg.eigh(c)
    lam = np.where(lam < eps, 1.0, lam)
    w = (e / np.sqrt(lam)).T
    return w @ xc, mean, w


def random_regression(ni: int, no: int, n: int, rng: np.random.Generator) -> Task:
    """Random regression (spec 5.2): ``X_raw ~ N(0, 1/Ni)`` whitened, ``Y ~ N(0, 1/No)`` independent.

    Returns a :class:`Task` with ``x (Ni, N)``, ``y (No, N)``; no exact linear fit exists for ``N > Ni``.
    """
    if n <= ni:
        raise ValueError(f"whitening needs more samples than inputs: N={n} <= Ni={ni}")
    x_raw = rng.normal(0.0, np.sqrt(1.0 / ni), size=(ni, n))
    y = rng.normal(0.0, np.sqrt(1.0 / no), size=(no, n))
    x, _, _ = whiten(x_raw)
    return Task(x, y)


def teacher_student(ni: int, nh: int, no: int, n: int, sigma_teacher: float,
                    rng: np.random.Generator) -> tuple[Task, tuple[np.ndarray, np.ndarray]]:
    """Teacher-student task (spec 5.3): whitened ``X ~ N(0, 1)``; the teacher is a zero-balanced
    network (:func:`learndyn.init.zero_balanced`, scale ``sigma_teacher``) and ``Y = W2T W1T X_w``.

    Returns ``(Task, (W1T (Nh, Ni), W2T (No, Nh)))``; ``sigma_yx == W2T @ W1T`` and the optimal loss is 0.
    """
    if n <= ni:
        raise ValueError(f"whitening needs more samples than inputs: N={n} <= Ni={ni}")
    x_raw = rng.normal(0.0, 1.0, size=(ni, n))
    x, _, _ = whiten(x_raw)
    w1t, w2t = _init.zero_balanced(ni, nh, no, sigma_teacher, rng)
    return Task(x, w2t @ w1t @ x), (w1t, w2t)

# --------------------------------------------------------------------------- paper A: reversal and hierarchies
def reversal_learning(n: int, ni: int, no: int, rng: np.random.Generator) -> tuple[Task, Task]:
    """Reversal-learning pair of tasks (spec 5.4, paper A Fig. 6A/B).

    ``R`` = left singular vectors of ``N(0,1)^(N x N)``; ``U0 S0 V0^T = svd(N(0,1)^(No x Ni))``;
    raw inputs ``X = (R[:, :k] S0^(1/2) V0^T)^T``, targets ``Y1 = (R[:, :k] S0^(1/2) U0^T)^T``, ``Y2 = -Y1``;
    inputs then whitened (spec 5.1), targets not. Hence ``sigma_yx(task 2) = -sigma_yx(task 1)``: every left
    singular vector is reversed. Returns ``(task1, task2)`` with ``x (Ni, N)``, ``y (No, N)``.
    """
    if n <= ni:
        raise ValueError(f"whitening needs more samples than inputs: N={n} <= Ni={ni}")
    k = min(ni, no)
    r = _init.random_orthogonal(n, rng)
    u0, s0, v0t = np.linalg.svd(rng.normal(0.0, 1.0, size=(no, ni)), full_matrices=False)
    half = r[:, :k] * np.sqrt(s0[:k])                              # (N, k)
    x_raw = (half @ v0t[:k]).T                                     # (Ni, N)
    y1 = (half @ u0[:, :k].T).T                                    # (No, N)
    x, _, _ = whiten(x_raw)
    return Task(x, y1), Task(x, -y1)


#: Living-kingdom label matrix of spec 5.5 (rows = items, columns = features, before the perturbation):
#: f1 root, f2 animal(+1)/plant(-1), f3 fish/bird, f4 algae/flower, f5-f8 the four leaf pairs.
LIVING_KINGDOM = np.array([
    [1, 1, 1, 0, 1, 0, 0, 0],
    [1, 1, 1, 0, -1, 0, 0, 0],
    [1, 1, -1, 0, 0, 1, 0, 0],
    [1, 1, -1, 0, 0, -1, 0, 0],
    [1, -1, 0, 1, 0, 0, 1, 0],
    [1, -1, 0, 1, 0, 0, -1, 0],
    [1, -1, 0, -1, 0, 0, 0, 1],
    [1, -1, 0, -1, 0, 0, 0, -1],
], dtype=float)

#: Colour-hierarchy label matrix of spec 5.6 (rows = items, columns = features, before the perturbation):
#: the living-kingdom rows permuted, colour item ``i`` = living-kingdom row ``COLOUR_PERMUTATION[i]``.
COLOUR_HIERARCHY = np.array([
    [1, -1, 0, 1, 0, 0, 1, 0],
    [1, 1, -1, 0, 0, -1, 0, 0],
    [1, 1, 1, 0, 1, 0, 0, 0],
    [1, -1, 0, -1, 0, 0, 0, 1],
    [1, 1, -1, 0, 0, 1, 0, 0],
    [1, 1, 1, 0, -1, 0, 0, 0],
    [1, -1, 0, -1, 0, 0, 0, -1],
    [1, -1, 0, 1, 0, 0, -1, 0],
], dtype=float)

#: 0-based ``pi`` with ``COLOUR_HIERARCHY == LIVING_KINGDOM[pi]`` (spec 5.6: (5,4,1,7,3,2,8,6) 1-based).
COLOUR_PERMUTATION = np.array([4, 3, 0, 6, 2, 1, 7, 5])


def perturb_labels(labels: np.ndarray, strength: float = 0.1) -> np.ndarray:
    """Symmetry-breaking perturbation of a hierarchy (spec 5.5, decision 9.10): label column ``j`` (1-based)
    is multiplied by ``1 + strength / j``, which splits the degenerate singular values and fixes the mode order
    to the feature order. ``labels (items, features)``; returns a new array of the same shape.
    """
    labels = np.asarray(labels, dtype=float)
    return labels * (1.0 + strength / np.arange(1, labels.shape[1] + 1))


def revise_labels(labels: np.ndarray, feature: int = 8) -> np.ndarray:
    """Revised hierarchy (spec 5.6, decision 9.9): negate label column ``feature`` (1-based). For the leaf
    feature 8 this swaps the identities of items 7 and 8 and reverses exactly one left singular vector
    (a pure reversal-learning task). ``labels (items, features)``; returns a copy.
    """
    out = np.array(labels, dtype=float)
    out[:, feature - 1] *= -1.0
    return out


def hierarchy(name: str = "living_kingdom", perturbation: float = 0.1, revised_feature: int | None = None) -> np.ndarray:
    """Label matrix ``L (items, features)`` of a semantic hierarchy of paper A (spec 5.5, 5.6).

    ``name``: ``"living_kingdom"`` or ``"colour"``; the perturbation of :func:`perturb_labels` with
    ``strength=perturbation`` (0 for the raw labels) is applied; ``revised_feature`` (1-based) additionally
    negates that feature column (:func:`revise_labels`). Targets are ``Y = L^T``.
    """
    base = {"living_kingdom": LIVING_KINGDOM, "colour": COLOUR_HIERARCHY}
    if name not in base:
        raise ValueError(f"unknown hierarchy {name!r}; allowed: {sorted(base)}")
    labels = perturb_labels(base[name], perturbation)
    if revised_feature is not None:
        labels = revise_labels(labels, revised_feature)
    return labels


def one_hot_items(labels: np.ndarray) -> Task:
    """One-hot item task of a label matrix ``L (items, features)`` (spec 1.1, 5.5): ``X = I_N``, ``Y = L^T``
    (features x items), mean convention, so ``sigma_xx = I / N`` (not white) and ``sigma_yx = Y / N``.

    Gradient descent on it with learning rate ``eta`` equals whitened GD on the target ``Y`` with learning
    rate ``eta / N``, so the closed forms apply with ``sigma~ = Y`` and ``t = k eta / N`` (spec 1.1).
    """
    labels = np.asarray(labels, dtype=float)
    return Task(np.eye(labels.shape[0]), labels.T.copy())


def mode_svd(sigma_yx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compact SVD ``sigma_yx = U diag(s) V^T`` in LAPACK order (decreasing ``s``) with the display sign
    convention of paper A Fig. 3B (spec section 6): each column of ``U`` sums to a non-negative number
    (the matching row of ``V^T`` flips with it). ``sigma_yx (No, Ni)``; returns ``U (No, k)``, ``s (k,)``,
    ``Vt (k, Ni)``.
    """
    u, s, vt = np.linalg.svd(np.asarray(sigma_yx, dtype=float), full_matrices=False)
    sign = np.where(u.sum(axis=0) < 0, -1.0, 1.0)
    return u * sign, s, vt * sign[:, None]


def hierarchy_tree(labels: np.ndarray) -> list[tuple[tuple[int, ...], tuple[int, ...], str]]:
    """The tree encoded by a hierarchy's label matrix (spec 5.5; paper A Appendix H.2.3: +1 = left child of
    the feature's node, -1 = right child, 0 = not below it), for drawing Figs 3A and 6C.

    The groups ``{items with label != 0}``, ``{label > 0}`` and ``{label < 0}`` of every feature plus the single
    items form a nested family of item sets; each set's parent is its smallest strict superset. Returns the
    nodes in depth-first order, children left (+1) before right (-1): ``(items, path, tag)`` with ``items`` the
    0-based item indices below the node, ``path`` its position as a tuple of child indices from the root, and
    ``tag`` the first feature group that defines it ("f1" = all items with a non-zero label of feature 1, "f2+" =
    the items labelled +1 by feature 2, ...; leaves are "item3", 1-based). ``labels (items, features)``.
    """
    labels = np.asarray(labels)
    n_items = labels.shape[0]
    groups: dict[frozenset, tuple[float, str]] = {}

    def add(items, order, tag):
        key = frozenset(int(i) for i in items)
        if key and key not in groups:
            groups[key] = (order, tag)

    for i in range(n_items):
        add([i], -1, f"item{i + 1}")
    for j in range(labels.shape[1]):
        col = labels[:, j]
        add(np.flatnonzero(col), j, f"f{j + 1}")
        add(np.flatnonzero(col > 0), j + 0.1, f"f{j + 1}+")
        add(np.flatnonzero(col < 0), j + 0.2, f"f{j + 1}-")
    sets = sorted(groups, key=len)
    for a in sets:
        for b in sets:
            if not (a <= b or b <= a or not (a & b)):
                raise ValueError("labels do not encode a tree: groups overlap without nesting")
    if frozenset(range(n_items)) not in groups:
        groups[frozenset(range(n_items))] = (-2, "root")
    parent = {}
    for g in groups:
        supers = [h for h in groups if g < h]
        if supers:
            parent[g] = min(supers, key=len)
    children: dict[frozenset, list] = {g: [] for g in groups}
    for g, p in parent.items():
        children[p].append(g)

    def child_key(g):
        # left (+1) group before right (-1) group; ties by the first feature that separates them
        p = parent[g]
        sub = labels[sorted(p)]
        for j in range(labels.shape[1]):
            vals = labels[sorted(g), j]
            if np.all(vals > 0) and np.any(sub[:, j] < 0):
                return (0, j, min(g))
            if np.all(vals < 0) and np.any(sub[:, j] > 0):
                return (1, j, min(g))
        return (2, 0, min(g))

    out = []

    def walk(g, path):
        out.append((tuple(sorted(g)), path, groups[g][1]))
        for c, h in enumerate(sorted(children[g], key=child_key)):
            walk(h, path + (c,))

    walk(frozenset(range(n_items)), ())
    return out


# --------------------------------------------------------------------------- decoupling / Fig. 8 targets
#: Square targets of the decoupling experiments, sum convention with ``X = I`` so ``sigma_yx = Y``
#: (spec 5.7; paper A Figs 4 and 9). The dense 2x2 target is a proposal and comes from the config.
DECOUPLING_5X5_DENSE = np.array([[5, 6, 3, 0, 1],
                                 [4, 1, 0, 1, 2],
                                 [3, 0, 2, 4, 0],
                                 [3, 4, 0, 3, 2],
                                 [2, 0, 1, 3, 4]], dtype=float)
#: Row order of the decoupling figures: dense, unequal diagonal, equal diagonal.
DECOUPLING_KINDS = ("dense", "unequal", "equal")


def decoupling_targets(n: int, dense: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The three ``n x n`` targets of paper A Fig. 4 (``n = 2``) and Fig. 9 (``n = 5``), spec 5.7.

    ``equal``: ``5 I``; ``unequal``: ``diag(5, 1)`` / ``diag(5, 1, 2, 3, 4)``; ``dense``: for ``n = 5`` the
    authors' matrix :data:`DECOUPLING_5X5_DENSE`, for ``n = 2`` the ``dense`` argument (required; spec 5.7
    proposes ``[[5, 1], [2, 1]]``, singular values 5.541 and 0.541 as in the published panels).
    Returns ``{"dense", "unequal", "equal"} -> (n, n)`` arrays in :data:`DECOUPLING_KINDS` order.
    """
    if n == 2:
        if dense is None:
            raise ValueError("the dense 2x2 target is not known (spec 5.7): pass it (proposal [[5, 1], [2, 1]])")
        dense = np.asarray(dense, dtype=float)
        unequal = np.diag([5.0, 1.0])
    elif n == 5:
        dense = DECOUPLING_5X5_DENSE.copy() if dense is None else np.asarray(dense, dtype=float)
        unequal = np.diag([5.0, 1.0, 2.0, 3.0, 4.0])
    else:
        raise ValueError(f"decoupling targets exist for n = 2 and n = 5 only, got {n}")
    if dense.shape != (n, n):
        raise ValueError(f"dense target must be {n}x{n}, got {dense.shape}")
    return {"dense": dense, "unequal": unequal, "equal": 5.0 * np.eye(n)}


#: Weighted 8x8 hierarchy of paper A Fig. 8 (features x items, ``X = I_8``; spec 5.8).
#: Singular values 11.314, 8.485, 8, 6, 5.657, 4.243, 2.828, 1.414.
WEIGHTED_HIERARCHY = np.array([[-4, -4, -4, -4, -4, -4, -4, -4],
                               [-3, -3, -3, -3, 3, 3, 3, 3],
                               [-4, -4, 4, 4, 0, 0, 0, 0],
                               [0, 0, 0, 0, -3, -3, 3, 3],
                               [0, 0, 0, 0, 0, 0, -4, 4],
                               [0, 0, 0, 0, -3, 3, 0, 0],
                               [0, 0, -2, 2, 0, 0, 0, 0],
                               [-1, 1, 0, 0, 0, 0, 0, 0]], dtype=float)


def random_target(no: int, ni: int, rng: np.random.Generator, min_singular_value: float = 0.3,
                  max_draws: int = 1000) -> np.ndarray:
    """Random ``(No, Ni)`` target ``Y ~ N(0, 1)`` for ``X = I`` (spec 5.8 proposal for Fig. 8's random
    7x7, 5x7 and 7x5 tasks): redrawn until its smallest singular value is at least ``min_singular_value``
    (keeps the runs to tolerance short)."""
    for _ in range(max_draws):
        y = rng.normal(0.0, 1.0, size=(no, ni))
        if np.linalg.svd(y, compute_uv=False)[-1] >= min_singular_value:
            return y
    raise ValueError(f"no {no}x{ni} Gaussian draw with smallest singular value >= {min_singular_value} "
                     f"in {max_draws} tries")


def gaussian_teacher(ni: int, nh: int, no: int, n: int, sigma_teacher: float,
                     rng: np.random.Generator) -> tuple[Task, tuple[np.ndarray, np.ndarray]]:
    """Teacher-student task with an i.i.d. Gaussian (not balanced) teacher (spec 5.9, paper A Fig. 7):
    ``X ~ N(0, 1)^(Ni x N)`` centred and whitened (spec 5.1); ``W1T ~ N(0, sigma_teacher^2)^(Nh x Ni)``,
    ``W2T ~ N(0, sigma_teacher^2)^(No x Nh)``; ``Y = W2T W1T X_w``, so ``sigma_yx == W2T @ W1T`` and the optimal loss is 0.

    Returns ``(Task, (W1T (Nh, Ni), W2T (No, Nh)))``.
    """
    if n <= ni:
        raise ValueError(f"whitening needs more samples than inputs: N={n} <= Ni={ni}")
    x, _, _ = whiten(rng.normal(0.0, 1.0, size=(ni, n)))
    w1t = rng.normal(0.0, sigma_teacher, size=(nh, ni))
    w2t = rng.normal(0.0, sigma_teacher, size=(no, nh))
    return Task(x, w2t @ w1t @ x), (w1t, w2t)
