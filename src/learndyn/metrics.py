"""Read-outs of linear networks: losses, representational similarity matrices, the NTK.

Spec ``exact-dynamics.md`` section 2.5 (paper A Section 4 and Appendix). All functions
accept leading batch dimensions (``...``) on the weight-derived arrays.
"""

from __future__ import annotations

import numpy as np

from .exact import limit
from .init import balancedness as _balancedness
from .tasks import optimal_loss

__all__ = ["loss", "loss_samples", "rsm_input", "rsm_output", "ntk", "split_qqt", "balancedness_norm", "code_loss",
           "representation_error", "optimal_loss"]


def loss(w: np.ndarray, sigma_yx: np.ndarray, sigma_yy: np.ndarray) -> np.ndarray:
    """Mean-over-samples squared-error loss of network function ``W`` with whitened inputs:
    ``L(W) = 1/2 ||W - sigma_yx||_F^2 + L*`` (spec 1.1).

    ``w (..., No, Ni)``, ``sigma_yx (No, Ni)``, ``sigma_yy (No, No)``; returns ``(...)``.
    """
    d = np.asarray(w) - sigma_yx
    return 0.5 * np.sum(d * d, axis=(-2, -1)) + optimal_loss(sigma_yx, sigma_yy)


def loss_samples(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``1/2 mean_n ||y_n - W x_n||^2`` from samples (spec 1.1). ``w (..., No, Ni)``, ``x (Ni, N)``, ``y (No, N)``."""
    e = y - np.asarray(w) @ x
    return 0.5 * np.sum(e * e, axis=(-2, -1)) / x.shape[1]


def rsm_input(w1tw1: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Hidden-layer RSM computed from the inputs: ``H^T H = X^T (W1^T W1) X`` (spec 2.5).

    ``w1tw1 (..., Ni, Ni)`` (top-left quadrant of ``QQ^T``), ``x (Ni, N)``; returns ``(..., N, N)``.
    """
    return x.T @ w1tw1 @ x


def rsm_output(w2w2t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hidden-layer RSM computed from the targets: ``H_y^T H_y = Y^T (W2 W2^T)^+ Y`` with
    ``H_y = W2^+ Y`` (spec 2.5; uses ``(W2^+)^T W2^+ = (W2 W2^T)^+``).

    ``w2w2t (..., No, No)`` (bottom-right quadrant of ``QQ^T``), ``y (No, N)``; returns ``(..., N, N)``.
    """
    return y.T @ np.linalg.pinv(w2w2t, hermitian=True) @ y


def ntk(w1tw1: np.ndarray, w2w2t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Finite-width neural tangent kernel of ``f(x) = W2 W1 x`` (spec 2.5):
    ``Theta = I_No (x) (X^T W1^T W1 X) + (W2 W2^T) (x) (X^T X)``, output-major ordering
    (row index ``o * N + n``).

    ``w1tw1 (..., Ni, Ni)``, ``w2w2t (..., No, No)``, ``x (Ni, N)``; returns ``(..., No*N, No*N)``.
    """
    w1tw1 = np.asarray(w1tw1)
    w2w2t = np.asarray(w2w2t)
    no = w2w2t.shape[-1]
    n = x.shape[1]
    k_in = x.T @ w1tw1 @ x                                       # (..., N, N)
    k_x = x.T @ x                                                # (N, N)
    eye = np.eye(no)
    batch = np.broadcast_shapes(k_in.shape[:-2], w2w2t.shape[:-2])
    out = (eye[:, None, :, None] * k_in[..., None, :, None, :]
           + w2w2t[..., :, None, :, None] * k_x[None, :, None, :])
    return np.broadcast_to(out, batch + (no, n, no, n)).reshape(batch + (no * n, no * n))


def split_qqt(qqt: np.ndarray, ni: int) -> dict[str, np.ndarray]:
    """Quadrants of ``QQ^T (..., Ni+No, Ni+No)``: ``W1tW1 (..., Ni, Ni)``, ``W2W1 (..., No, Ni)``,
    ``W2W2t (..., No, No)`` (spec 1.2)."""
    return {"W1tW1": qqt[..., :ni, :ni], "W2W1": qqt[..., ni:, :ni], "W2W2t": qqt[..., ni:, ni:]}


def balancedness_norm(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Frobenius norm of the balance matrix, ``||W1 W1^T - W2^T W2||_F`` (paper A assumption 2.3, Fig. 5C),
    from :func:`learndyn.init.balancedness`. ``w1 (..., Nh, Ni)``, ``w2 (..., No, Nh)``; returns ``(...)``."""
    return np.linalg.norm(_balancedness(w1, w2), axis=(-2, -1))


def code_loss(w: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Stopping quantity of the authors' MATLAB experiments (spec 1.1, sum convention, ``X = I``):
    ``l_code = mean_ij [1/2 E E^T]_ij`` with ``E = Y - W`` (mean over all ``No x No`` entries), which
    equals ``||1^T E||^2 / (2 No^2)``.

    ``w (..., No, Ni)`` network functions, ``y (No, Ni)`` target; returns ``(...)``.
    """
    e = np.asarray(y) - np.asarray(w)
    col = e.sum(axis=-2)
    return 0.5 * np.sum(col * col, axis=-1) / e.shape[-2] ** 2


def representation_error(w1tw1: np.ndarray, w2w2t: np.ndarray, sigma_yx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Error of the internal representation (paper A Appendix D, Fig. 8): squared Frobenius distances
    ``||W1^T W1 - V~ S~ V~^T||_F^2`` and ``||W2 W2^T - U~ S~ U~^T||_F^2`` to the rich task-specific limits of
    Theorem 3.2 (spec 2.4; compact SVD ``sigma_yx = U~ S~ V~^T``, :func:`learndyn.exact.limit`).

    ``w1tw1 (..., Ni, Ni)``, ``w2w2t (..., No, No)``, ``sigma_yx (No, Ni)``; returns two ``(...)`` arrays.
    """
    ni = np.shape(sigma_yx)[1]
    rich = split_qqt(limit(sigma_yx), ni)
    d1 = np.asarray(w1tw1) - rich["W1tW1"]
    d2 = np.asarray(w2w2t) - rich["W2W2t"]
    return np.sum(d1 * d1, axis=(-2, -1)), np.sum(d2 * d2, axis=(-2, -1))
