"""Continual learning and forgetting of two-layer linear networks (paper A Section 6 and Appendix F).

Spec ``exact-dynamics.md`` section 2.8. Tasks ``T_1, T_2, ...`` have whitened inputs and input-output
correlations ``sigma_i (No, Ni)``; training to convergence on task ``j`` from any zero-balanced state gives
``W2 W1 = sigma_j`` (Theorem 3.2), so every loss after convergence, and every amount of forgetting, follows
from the tasks alone and can be computed before training.

Stacks of tasks are arrays ``sigmas (n_tasks, No, Ni)``, ``sigma_yys (n_tasks, No, No)``.
"""

from __future__ import annotations

import numpy as np

from .metrics import optimal_loss

__all__ = ["optimal_losses", "task_losses", "loss_table", "forgetting", "forgetting_two_tasks", "forgetting_matrix",
           "numerical_forgetting"]


def optimal_losses(sigmas: np.ndarray, sigma_yys: np.ndarray) -> np.ndarray:
    """``L_i* = 1/2 tr sigma_yy_i - 1/2 ||sigma_i||_F^2`` of every task (spec 1.1, 2.8). Returns ``(n_tasks,)``."""
    return np.array([optimal_loss(s, syy) for s, syy in zip(sigmas, sigma_yys)])


def task_losses(w: np.ndarray, sigmas: np.ndarray, sigma_yys: np.ndarray) -> np.ndarray:
    """Loss of every task for network functions ``w``: ``L_i(W) = 1/2 ||W - sigma_i||_F^2 + L_i*`` (spec 1.1, 2.8).

    ``w (..., No, Ni)``; returns ``(..., n_tasks)``.
    """
    d = np.asarray(w)[..., None, :, :] - sigmas
    return 0.5 * np.sum(d * d, axis=(-2, -1)) + optimal_losses(sigmas, sigma_yys)


def loss_table(w0: np.ndarray, sigmas: np.ndarray, sigma_yys: np.ndarray) -> np.ndarray:
    """Losses of every task at the initialisation and after convergence on each task in order (spec 2.8).

    Row 0: ``L_i(W2W1(0))``; row ``k`` (1-based task index): ``L_i|after k = 1/2 ||sigma_i - sigma_k||^2 + L_i*``.
    ``w0 (No, Ni)`` initial network function. Returns ``(n_tasks + 1, n_tasks)`` (row = state, column = task).
    """
    states = np.concatenate([np.asarray(w0)[None], np.asarray(sigmas)], axis=0)
    return task_losses(states, sigmas, sigma_yys)


def forgetting(sigma_i: np.ndarray, sigma_j: np.ndarray, sigma_k: np.ndarray) -> np.ndarray:
    """Forgetting of task ``i`` caused by training task ``k`` after convergence on task ``j`` (spec 2.8, boxed):
    ``F_i(j -> k) = 1/2 ||sigma_i - sigma_k||_F^2 - 1/2 ||sigma_i - sigma_j||_F^2``.

    For the first task, pass the initial network function ``W2W1(0)`` as ``sigma_j``. Broadcasts over
    leading axes of ``(..., No, Ni)`` arrays; returns ``(...)``.
    """
    dk = np.asarray(sigma_i) - sigma_k
    dj = np.asarray(sigma_i) - sigma_j
    return 0.5 * np.sum(dk * dk, axis=(-2, -1)) - 0.5 * np.sum(dj * dj, axis=(-2, -1))


def forgetting_two_tasks(sigma_1: np.ndarray, sigma_2: np.ndarray) -> np.ndarray:
    """Forgetting of task 1 after training task 2 from convergence on task 1 (spec 2.8):
    ``1/2 ||sigma_1 - sigma_2||_F^2 = 1/2 |s_1|^2 + 1/2 |s_2|^2 - |s_1| |s_2| cos(theta)``, ``s_i = vec sigma_i``.

    Independent of the initialisation. ``(..., No, Ni)`` arrays; returns ``(...)``.
    """
    d = np.asarray(sigma_1) - sigma_2
    return 0.5 * np.sum(d * d, axis=(-2, -1))


def forgetting_matrix(w0: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Analytical forgetting of a task sequence (spec 2.8; paper A Fig. 5E, top half-cells).

    Entry ``[j, i]`` (0-based; evaluated task ``j``, trained task ``i``) is ``F_j(i-1 -> i)``, the change of
    task ``j``'s loss caused by training task ``i`` to convergence after task ``i-1``, with
    ``sigma_{-1} := W2W1(0)`` (``w0 (No, Ni)``). Equals ``numerical_forgetting(loss_table(...))``.
    ``sigmas (n, No, Ni)``; returns ``(n, n)``.
    """
    sigmas = np.asarray(sigmas)
    before = np.concatenate([np.asarray(w0)[None], sigmas[:-1]], axis=0)    # state before task i
    return forgetting(sigmas[:, None], before[None], sigmas[None])


def numerical_forgetting(losses: np.ndarray) -> np.ndarray:
    """Measured forgetting from a loss table ``losses (n + 1, n)`` (row = initial state / after task ``k``,
    column = evaluated task; e.g. simulated losses, or :func:`loss_table`): entry ``[j, i]`` is
    ``L_j(after i) - L_j(before i)``. Returns ``(n, n)``, laid out as :func:`forgetting_matrix`.
    """
    return np.diff(np.asarray(losses), axis=0).T
