"""Measurements of paper B's networks during training (spec ``universality.md`` 1.4, 5.1; paper Eq. 8 / 20):
:func:`pair_hyw` (the definition, NumPy) and :class:`Tracker`, which records ``h, y, w``, the loss and the
outputs of the tracked pair, snapshots of the observed layers and the final states of a stacked run of
:func:`~learndyn.deepnets.train_batched`, and returns them as its result arrays.

Part of :mod:`learndyn.deepnets` (its docstring defines the measurements).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .nets import StackedNet
from .optim import loss_per_net

__all__ = ["pair_hyw", "Tracker"]


def pair_hyw(h1, h2, yhat1, yhat2, y1, y2):
    """Spec 1.4 / paper Eq. 8 (= 20) for one pair, NumPy, float64.

    ``h1, h2 (..., F)`` hidden activities, ``yhat1, yhat2 (..., D)`` outputs, ``y1, y2 (D,)`` targets.
    Returns ``(h, y, w)`` with ``h = ||h2 - h1||^2``, ``y = ||yhat2 - yhat1||^2``,
    ``w = Delta yhat . (Delta yhat - Delta y)``; each of shape ``(...)``.
    """
    dh = np.asarray(h2, np.float64) - np.asarray(h1, np.float64)
    dyh = np.asarray(yhat2, np.float64) - np.asarray(yhat1, np.float64)
    dy = np.asarray(y2, np.float64) - np.asarray(y1, np.float64)
    return (dh ** 2).sum(-1), (dyh ** 2).sum(-1), (dyh * (dyh - dy)).sum(-1)


class Tracker:
    """The measurements of ``S`` stacked networks during one :func:`~learndyn.deepnets.train_batched` call
    (spec 1.4, 5.1), kept in the original network order while stopped networks leave the stack.

    Records: one float64 row per recorded epoch and network, ``[h (n_obs), y, w, loss, outputs (2 D_out)]``
    (paper Eq. 8 / 20 on the tracked pair, eval mode unless the training forward is the same computation),
    written in place (no per-epoch allocation, no host sync; one copy per recorded epoch): ``rec (S, T_max,
    n_stat)``; the training loss of every epoch ``rec_train (S, epochs)``; the final state of every network
    ``fin (S, n_stat)`` (after the last update, or at its stop) with ``last_epoch (S,)`` and ``stopped (S,)``;
    snapshots of the observed layers and outputs at ``snapshot_epochs`` for the data indices
    ``snapshot_points`` (``snapshot_chunk`` points per forward pass).

    ``net`` and ``data`` (the stacked data of the run: ``X (S', N, in)``, the tracked pair ``X_tr``, ``Y_tr``
    ``(S', 2, .)`` and ``dY (S', D_out)``) are the objects being trained, read as they are at each call
    (they are compacted in place); ``obs`` the observed hidden layers, ``loss`` the loss kind.
    """

    def __init__(self, net: StackedNet, data, obs: Sequence[int], loss: str, epochs: int, record_every: int,
                 snapshot_epochs: Sequence[int], snapshot_points: np.ndarray, snapshot_chunk: int,
                 device: torch.device):
        S = net.S
        self.net, self.data, self.obs, self.loss = net, data, list(obs), loss
        self.epochs, self.record_every = epochs, record_every
        self.snaps, self.snap_set = list(snapshot_epochs), set(snapshot_epochs)
        self.snap_pts = snapshot_points
        self.snap_pts_t = torch.as_tensor(snapshot_points, device=device)
        self.snapshot_chunk = snapshot_chunk
        self.n_obs, self.D_out = len(self.obs), data.Y.shape[-1]
        self.snap_out = {e: np.full((S, len(snapshot_points), self.D_out), np.nan) for e in self.snaps}
        self.snap_rep: dict = {e: {} for e in self.snaps}
        self.n_stat = self.n_obs + 3 + 2 * self.D_out
        T_max = (epochs + record_every - 1) // record_every
        self.rec = torch.full((S, T_max, self.n_stat), float("nan"), dtype=torch.float64, device=device)
        self.rec_train = torch.full((S, epochs), float("nan"), dtype=torch.float64, device=device)
        self.fin = np.full((S, self.n_stat), np.nan)
        self.last_epoch = np.full(S, epochs, dtype=np.int64)   # epoch of the final state (stop epoch or `epochs`)
        self.stopped = np.zeros(S, dtype=bool)

    def wants(self, k: int) -> bool:
        """Whether epoch ``k`` is recorded or snapshot (else it does no tracking work)."""
        return k % self.record_every == 0 or k in self.snap_set

    # -- measuring ---------------------------------------------------------------------------------
    @torch.no_grad()
    def pair_stats(self, out2, acts2, ls=None):
        """out2 (S', 2, D_out), acts2 {l: (S', 2, F)} -> (S', n_stat) float64 record rows (``ls``: the tracked
        loss (S',), if already known)."""
        data = self.data
        o64 = out2.to(torch.float64)
        dyh = o64[:, 1] - o64[:, 0]
        cols = [((acts2[l][:, 1] - acts2[l][:, 0]).to(torch.float64) ** 2).sum(-1) for l in self.obs]
        cols.append((dyh ** 2).sum(-1))
        cols.append((dyh * (dyh - data.dY)).sum(-1))
        cols.append(loss_per_net(out2, data.Y_tr, self.loss).to(torch.float64) if ls is None
                    else ls.to(torch.float64))
        return torch.cat([torch.stack(cols, dim=-1), o64.flatten(1)], dim=-1)

    def eval_stats(self):
        """(S', n_stat) record rows of the networks in the stack from an eval-mode forward of the tracked pair."""
        with torch.no_grad():
            out2, acts_tr = self.net(self.data.X_tr, observe=self.obs)
            return self.pair_stats(out2, acts_tr)

    @torch.no_grad()
    def snapshot(self, epoch_list, rows_stack, rows_orig):
        """Eval-mode activities of the snapshot points for stack rows -> stored for epochs in epoch_list."""
        if not epoch_list:
            return
        net, data, obs, chunk, snap_pts_t = self.net, self.data, self.obs, self.snapshot_chunk, self.snap_pts_t
        outs, reps = [], {l: [] for l in obs}
        for c in range(0, len(self.snap_pts), chunk):
            o, a = net(data.X[:, snap_pts_t[c:c + chunk]], observe=obs)
            outs.append(o[rows_stack].to(torch.float64).cpu())
            for l in obs:
                reps[l].append(a[l][rows_stack].to(torch.float64).cpu())
        o = torch.cat(outs, 1).numpy()
        r = {l: torch.cat(reps[l], 1).numpy() for l in obs}
        S = len(self.stopped)
        for e in epoch_list:
            self.snap_out[e][rows_orig] = o
            for l in obs:
                if l not in self.snap_rep[e]:
                    self.snap_rep[e][l] = np.full((S,) + r[l].shape[1:], np.nan)
                self.snap_rep[e][l][rows_orig] = r[l]

    # -- the stages of a run -----------------------------------------------------------------------
    def record(self, k: int, stats, rows, alive):
        """Epoch ``k`` (before update k): store its record rows ``stats (S', n_stat)`` if it is recorded, at
        record rows ``rows`` (the stack's original indices ``alive``), and its snapshot if it has one."""
        if k % self.record_every == 0:
            self.rec[rows, k // self.record_every] = stats
        if k in self.snap_set:
            self.snapshot([k], slice(None), alive)

    def record_train_loss(self, k: int, rows, loss_tr):
        """The training loss ``(S',)`` of epoch ``k`` (its updates) at record rows ``rows``."""
        self.rec_train[rows, k] = loss_tr.to(torch.float64)

    def stop(self, k: int, hit_t, orig, stats=None):
        """Networks stopping at epoch ``k`` (before update k): stack rows ``hit_t`` (bool, (S',)), original
        indices ``orig``. Their final state is this epoch's (``stats``, the epoch's record rows if computed),
        and so are their later snapshots."""
        self.stopped[orig] = True
        self.last_epoch[orig] = k
        if stats is None:
            stats = self.eval_stats()
        self.fin[orig] = stats[hit_t].cpu().numpy()
        self.snapshot([e for e in self.snaps if e > k], hit_t, orig)

    def finish(self, k_last: int, alive):
        """Final state (after the last update, epoch ``k_last``) of the networks ``alive`` that ran every epoch."""
        if len(alive):
            self.fin[alive] = self.eval_stats().cpu().numpy()
            self.snapshot([e for e in self.snaps if e > k_last], slice(None), alive)

    # -- results -----------------------------------------------------------------------------------
    def arrays(self, k_last: int) -> dict:
        """Records of the run (last epoch begun ``k_last``) as the NumPy arrays of ``train_batched``'s result:
        ``epoch``, ``h (S, T, n_obs)``, ``y``, ``w``, ``loss``, ``train_loss``, ``outputs (S, T, 2, D_out)``,
        ``final_*``, ``n_records``, ``n_updates``, ``stopped``, ``observe``."""
        n_obs, D_out, fin, record_every = self.n_obs, self.D_out, self.fin, self.record_every
        S = len(self.stopped)
        T = k_last // record_every + 1
        rec_np = self.rec[:, :T].cpu().numpy()
        n_updates = self.last_epoch.copy()
        n_records = np.minimum(self.last_epoch, self.epochs - 1) // record_every + 1
        return {
            "epoch": np.arange(T) * record_every,
            "h": rec_np[..., :n_obs],
            "y": rec_np[..., n_obs],
            "w": rec_np[..., n_obs + 1],
            "loss": rec_np[..., n_obs + 2],
            "train_loss": self.rec_train[:, :k_last + 1].cpu().numpy(),
            "outputs": rec_np[..., n_obs + 3:].reshape(S, T, 2, D_out),
            "final_h": fin[:, :n_obs],
            "final_y": fin[:, n_obs],
            "final_w": fin[:, n_obs + 1],
            "final_loss": fin[:, n_obs + 2],
            "final_outputs": fin[:, n_obs + 3:].reshape(S, 2, D_out),
            "n_records": n_records,
            "n_updates": n_updates,
            "stopped": self.stopped,
            "observe": np.asarray(self.obs, dtype=np.int64),
        }

    def snapshot_arrays(self) -> dict:
        """Snapshots as ``train_batched``'s result arrays (``{}`` without snapshot epochs): ``snapshot_epochs``,
        ``snapshot_points``, ``snapshot_outputs (S, n_snap, n_pts, D_out)``, ``reps_l{i} (S, n_snap, n_pts, F_i)``
        and ``reps`` (the first observed layer)."""
        if not self.snaps:
            return {}
        snaps, obs = self.snaps, self.obs
        res = {"snapshot_epochs": np.asarray(snaps, dtype=np.int64), "snapshot_points": self.snap_pts,
               "snapshot_outputs": np.stack([self.snap_out[e] for e in snaps], axis=1)}
        for l in obs:
            res[f"reps_l{l}"] = np.stack([self.snap_rep[e][l] for e in snaps], axis=1)
        res["reps"] = res[f"reps_l{obs[0]}"]
        return res
