"""Task generators. Layout: one **column** per sample (``X (Ni, N)``, ``Y (No, N)``).

Sections refer to the project spec ``exact-dynamics.md`` (paper A, Appendix H.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import init as _init


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
