"""Training of stacked networks (spec ``universality.md`` 5.1; paper Eq. 1-3) with the per-epoch tracking of
``h, y, w`` (spec 1.4; paper Eq. 8 / 20): :func:`train_batched` (``S`` networks at once) and :func:`train` (one).

A :func:`train_batched` call runs in stages, each a function or class below:

1. set-up: :func:`_check_options` (the options that need no data), :class:`_StackData` (the data of every
   network, its tracked pair and learning rate), :func:`~learndyn.deepnets.nets.build` (the networks),
   :func:`~learndyn.deepnets.optim.make_engine` (the training step), :func:`_plan` (batching, reuse of the
   training forward for tracking, stopping, snapshot epochs: a :class:`_Plan`), :class:`_Stack` (the
   networks still training) and a :class:`~learndyn.deepnets.track.Tracker` (records, snapshots, final
   states);
2. the epoch loop :func:`_run_epochs`; per epoch ``k``: :func:`_track_epoch` (the forward passes that the
   tracking, the stopping test and the update share), ``Tracker.record`` (records and snapshot of epoch k,
   before update k), :func:`_stop_networks` (the stopping test; stopped networks leave the stack) and
   :func:`_update` (one full-batch step, or one pass over the minibatches);
3. ``Tracker.finish`` (the final states after the last update) and :func:`_result` (the returned arrays).

Part of :mod:`learndyn.deepnets` (its docstring describes batching, training rules and measurements).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .arch import ArchSpec
from .nets import STREAM_SHUFFLE, build, generator, resolve_device, torch_dtype
from .optim import LOSSES, loss_per_net, make_engine
from .progress import Progress
from .track import Tracker

__all__ = ["train_batched", "train"]


# ------------------------------------------------------------------------------------------------
# Set-up: options, data, plan, stack
# ------------------------------------------------------------------------------------------------

def _check_options(arch: ArchSpec, optimizer, loss, stop_on, epochs, record_every, observe):
    """The options that need no data -> ``(epochs, record_every, obs, single_obs)``: ``obs`` the observed
    layers, ``single_obs`` whether ``observe`` named one layer (the result then drops the layer axis)."""
    if optimizer not in ("sgd", "adam"):
        raise ValueError("optimizer must be 'sgd' or 'adam'")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}")
    if stop_on not in ("eval", "train"):
        raise ValueError("stop_on must be 'eval' or 'train'")
    epochs = int(epochs)
    record_every = int(record_every)
    if record_every < 1:
        raise ValueError("record_every must be >= 1")
    single_obs = observe is None or isinstance(observe, (int, np.integer))
    obs = [arch.default_observe() if observe is None else int(observe)] if single_obs \
        else [int(o) for o in observe]
    for o in obs:
        if not 0 <= o < arch.n_acts:
            raise ValueError(f"observe index {o} out of range 0..{arch.n_acts - 1}")
    return epochs, record_every, obs, single_obs


def _as_stack(a, S: int, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[0] == S:
        return a
    raise ValueError(f"{name} must be (N, D) or (S, N, D) with S = {S}; got {a.shape}")


class _StackData:
    """Training data, tracked pair and learning rates of the networks in the stack (compactable).

    ``X, Y``: ``(N, D)`` shared or ``(S, N, D)`` one dataset per network; ``track``: the tracked pair's
    indices; ``lr``: scalar or ``(S,)``. Besides the tensors of the current stack (``X, Y (S', N, .)``,
    ``X_tr, Y_tr (S', 2, .)``, ``dY (S', D_out)``, ``lr (S',)``) it keeps what the result reports of all ``S``
    networks: ``lr_all``, ``dx2``, ``dy2`` ``(S,)`` (float64; squared distances of the tracked pair).
    """

    def __init__(self, X, Y, S, track, lr, tdt, dev):
        Xn, Yn = _as_stack(X, S, "X"), _as_stack(Y, S, "Y")
        self.N = Xn.shape[-2]
        if Yn.shape[-2] != self.N:
            raise ValueError("X and Y have different numbers of points")
        Xs = np.broadcast_to(Xn, (S,) + Xn.shape[-2:]) if Xn.ndim == 2 else Xn
        Ys = np.broadcast_to(Yn, (S,) + Yn.shape[-2:]) if Yn.ndim == 2 else Yn
        i1, i2 = int(track[0]), int(track[1])
        self.pair = (i1, i2)
        self.dx2 = ((Xs[:, i2].astype(np.float64) - Xs[:, i1].astype(np.float64)) ** 2).sum(-1)
        self.dy2 = ((Ys[:, i2].astype(np.float64) - Ys[:, i1].astype(np.float64)) ** 2).sum(-1)
        self.lr_all = np.broadcast_to(np.asarray(lr, dtype=np.float64), (S,)).copy()
        self.per_net = Xn.ndim == 3 or Yn.ndim == 3
        self.S = S
        self._X0 = torch.as_tensor(np.ascontiguousarray(Xn), dtype=tdt, device=dev)   # (N, D) | (S, N, D)
        self._Y0 = torch.as_tensor(np.ascontiguousarray(Yn), dtype=tdt, device=dev)
        self.tidx = torch.tensor(list(self.pair), device=dev)
        self.lr = torch.as_tensor(self.lr_all, dtype=tdt, device=dev)
        self._set()

    def _set(self):
        S = self.S
        self.X = self._X0 if self._X0.dim() == 3 else self._X0.unsqueeze(0).expand(S, *self._X0.shape)
        self.Y = self._Y0 if self._Y0.dim() == 3 else self._Y0.unsqueeze(0).expand(S, *self._Y0.shape)
        self.X_tr, self.Y_tr = self.X[:, self.tidx], self.Y[:, self.tidx]                 # (S, 2, D)
        self.dY = (self.Y_tr[:, 1] - self.Y_tr[:, 0]).to(torch.float64)                  # (S, D_out)

    def compact(self, keep: torch.Tensor):
        self.S = int(keep.sum())
        if self._X0.dim() == 3:
            self._X0 = self._X0[keep]
        if self._Y0.dim() == 3:
            self._Y0 = self._Y0[keep]
        self.lr = self.lr[keep]
        self._set()


@dataclass(frozen=True)
class _Plan:
    """What the stages of one :func:`train_batched` call follow: checked options and derived choices."""

    epochs: int
    obs: list                 # observed hidden layers
    obs_set: frozenset
    loss: str                 # loss kind (LOSSES)
    stop_loss: float | None
    N: int                    # training points
    bs: int                   # minibatch size (N: full batch)
    full_batch: bool
    shuffle: bool             # reshuffle the minibatches every epoch (per network, from its own stream)
    reuse: bool               # the training forward is also the tracking forward (full batch, no dropout)
    pair_is_data: bool        # the tracked pair is the whole training set: tracked loss = training loss
    train_stop: bool          # stop_loss tests the training forward's loss (stop_on="train", dropout)
    snaps: list               # snapshot epochs, sorted
    snap_pts: np.ndarray      # snapshot data indices


def _plan(arch: ArchSpec, data: _StackData, engine, *, epochs, obs, loss, batch_size, shuffle, stop_loss,
          stop_on, snapshot_epochs, snapshot_points) -> _Plan:
    """Batching, reuse of the training forward, stopping and snapshots of a run (see :func:`train_batched`)."""
    N = data.N
    bs = N if batch_size is None or batch_size >= N else int(batch_size)
    full_batch = bs >= N
    if shuffle is None:
        shuffle = not full_batch
    shuffle = bool(shuffle) and not full_batch
    # Reuse the training forward for tracking when it is the same computation (no dropout, full batch).
    reuse = full_batch and arch.kind != "dropout"
    # The tracked pair is the whole training set (two-point task): tracked loss = training loss.
    pair_is_data = N == 2 and data.pair == (0, 1)
    train_stop = stop_loss is not None and stop_on == "train" and arch.kind == "dropout"
    if train_stop and not full_batch:
        raise ValueError("stop_on='train' needs full-batch training (the loss of the update's own forward)")
    if train_stop and not engine.can_compact_cache:
        raise ValueError("stop_on='train' needs the fused SGD engine")

    snaps = sorted({epochs if int(e) == -1 else int(e) for e in snapshot_epochs})
    for e in snaps:
        if not 0 <= e <= epochs:
            raise ValueError(f"snapshot epoch {e} outside 0..{epochs}")
    snap_pts = np.arange(N) if snapshot_points is None else np.asarray(snapshot_points, dtype=np.int64)
    return _Plan(epochs=epochs, obs=obs, obs_set=frozenset(obs), loss=loss, stop_loss=stop_loss, N=N, bs=bs,
                 full_batch=full_batch, shuffle=shuffle, reuse=reuse, pair_is_data=pair_is_data,
                 train_stop=train_stop, snaps=snaps, snap_pts=snap_pts)


class _Stack:
    """The networks still training: ``net``, ``engine``, ``data`` and the per-network shuffle streams, with
    ``alive`` (the original indices of the stack rows) and ``rows`` (stack rows -> record rows: ``slice(None)``
    until a network stops, then the ``alive`` indices as a tensor)."""

    def __init__(self, net, engine, data: _StackData, shuffle_gens, dev: torch.device):
        self.net, self.engine, self.data, self.shuffle_gens, self.dev = net, engine, data, shuffle_gens, dev
        self.alive = np.arange(net.S)
        self.rows = slice(None)

    def compact(self, keep: np.ndarray) -> torch.Tensor:
        """Keep the stack rows where ``keep`` (bool, at least one True): remove the others from the networks,
        the engine (optimiser state), the data and the shuffle streams. Returns ``keep`` as a tensor."""
        self.alive = self.alive[keep]
        keep_t = torch.as_tensor(keep, device=self.dev)
        self.net.compact(keep_t)
        self.engine.compact(keep_t)
        self.data.compact(keep_t)
        if self.shuffle_gens is not None:
            self.shuffle_gens = [g for g, kp in zip(self.shuffle_gens, keep) if kp]
        self.rows = torch.as_tensor(self.alive, device=self.dev)
        return keep_t


# ------------------------------------------------------------------------------------------------
# The epoch loop: tracking forward, record, stopping test, update
# ------------------------------------------------------------------------------------------------

@dataclass
class _Epoch:
    """What epoch k's forward passes leave for the record, the stopping test and the update."""

    stats: torch.Tensor | None = None     # (S', n_stat) record rows of this epoch, if computed
    ls: torch.Tensor | None = None        # (S',) tracked loss (eval mode), if computed
    out: torch.Tensor | None = None       # output of the full-batch training forward, reused by the update
    loss_tr: torch.Tensor | None = None   # (S',) its training loss


def _track_epoch(plan: _Plan, stack: _Stack, tracker: Tracker, track_k: bool) -> _Epoch:
    """The forward passes before update k: the full-batch training forward (also the tracking forward when
    ``plan.reuse``) and, where the tracking (``track_k``: epoch k is recorded or snapshot) or the stopping test
    needs it, the eval-mode forward of the tracked pair."""
    engine, data, obs = stack.engine, stack.data, plan.obs
    ep = _Epoch()
    if plan.reuse:
        ep.out, acts = engine.forward(data.X, plan.obs_set if track_k else (), True)
        ep.loss_tr = engine.loss(ep.out, data.Y)
        if plan.pair_is_data:
            ep.ls = ep.loss_tr
        elif track_k or plan.stop_loss is not None:
            ep.ls = loss_per_net(ep.out[:, data.tidx].detach(), data.Y_tr, plan.loss)
        if track_k:
            ep.stats = tracker.pair_stats(ep.out[:, data.tidx], {l: acts[l][:, data.tidx] for l in obs}, ep.ls)
    else:
        if track_k or (plan.stop_loss is not None and not plan.train_stop):
            ep.stats = tracker.eval_stats()
            ep.ls = ep.stats[:, len(obs) + 2]
        if plan.full_batch:
            ep.out, _ = engine.forward(data.X, (), True)
            ep.loss_tr = engine.loss(ep.out, data.Y)
    return ep


def _stop_networks(plan: _Plan, stack: _Stack, tracker: Tracker, k: int, ep: _Epoch) -> bool:
    """The stopping test of epoch k (before update k): the networks whose loss is ``< plan.stop_loss`` keep
    this epoch as their final state and leave the stack (no compute is spent on frozen networks); the cached
    training forward in ``ep`` follows the stack. Returns True when no network is left."""
    hit_t = (ep.loss_tr if plan.train_stop else ep.ls).to(torch.float64) < plan.stop_loss
    if not bool(hit_t.any()):
        return False
    hit = hit_t.cpu().numpy()
    tracker.stop(k, hit_t, stack.alive[hit], ep.stats)
    keep = ~hit
    if not keep.any():
        stack.alive = stack.alive[keep]
        return True
    keep_t = stack.compact(keep)
    if ep.out is not None:
        if stack.engine.can_compact_cache:
            ep.out, ep.loss_tr = ep.out[keep_t], ep.loss_tr[keep_t]
        else:
            ep.out, _ = stack.engine.forward(stack.data.X, (), True)
            ep.loss_tr = stack.engine.loss(ep.out, stack.data.Y)
    return False


def _update(plan: _Plan, stack: _Stack, ep: _Epoch) -> torch.Tensor:
    """The updates of one epoch: one full-batch step from the cached forward in ``ep``, or one pass over the
    minibatches (reshuffled per network from its own stream). Returns the epoch's training loss ``(S',)``
    (for minibatches, the sample-weighted mean of their losses, float64)."""
    engine, data, dev, N, bs = stack.engine, stack.data, stack.dev, plan.N, plan.bs
    if plan.full_batch:
        engine.step(ep.out, data.Y, data.lr)
        return ep.loss_tr
    S_cur = len(stack.alive)
    if plan.shuffle:
        perm = torch.stack([torch.randperm(N, generator=g) for g in stack.shuffle_gens]).to(dev)
    else:
        perm = torch.arange(N, device=dev).unsqueeze(0).expand(S_cur, N)
    acc = torch.zeros(S_cur, dtype=torch.float64, device=dev)
    srows = torch.arange(S_cur, device=dev).unsqueeze(1)
    for c in range(0, N, bs):
        idx = perm[:, c:c + bs]                                                  # (S', b)
        if data.per_net or plan.shuffle:
            xb, yb = data.X[srows, idx], data.Y[srows, idx]
        else:
            xb, yb = data.X[:, c:c + bs], data.Y[:, c:c + bs]
        out, _ = engine.forward(xb, (), True)
        loss_s = engine.loss(out, yb)
        engine.step(out, yb, data.lr)
        acc += loss_s.to(torch.float64) * idx.shape[1]
    return acc / N


def _run_epochs(plan: _Plan, stack: _Stack, tracker: Tracker, prog: Progress | None) -> int:
    """The epoch loop, until ``plan.epochs`` or until every network stopped. Returns the last epoch begun
    (-1: none)."""
    k_last = -1
    for k in range(plan.epochs):
        ep = _track_epoch(plan, stack, tracker, tracker.wants(k))
        tracker.record(k, ep.stats, stack.rows, stack.alive)
        k_last = k
        if plan.stop_loss is not None and _stop_networks(plan, stack, tracker, k, ep):
            break
        loss_tr = _update(plan, stack, ep)
        tracker.record_train_loss(k, stack.rows, loss_tr)
        if prog is not None:
            prog.tick(k + 1, stack.alive, loss_tr)
    return k_last


def _result(tracker: Tracker, data: _StackData, k_last: int, seeds, record_every: int, single_obs: bool,
            stop_on: str) -> dict:
    """The returned arrays (see :func:`train_batched`), without the timings."""
    res = tracker.arrays(k_last)
    res.update({
        "seed": np.asarray(seeds, dtype=np.int64),
        "lr": data.lr_all,
        "dx2": data.dx2,
        "dy2": data.dy2,
        "record_every": np.asarray(record_every),
        "stop_on": np.asarray(stop_on),
    })
    if single_obs:
        res["h"] = res["h"][..., 0]
        res["final_h"] = res["final_h"][..., 0]
    res.update(tracker.snapshot_arrays())
    return res


# ------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------

def train_batched(arch: ArchSpec, X, Y, seeds: Sequence[int], *, lr, epochs: int,
                  optimizer: str = "sgd", loss: str = "half_mse", batch_size: int | None = None,
                  shuffle: bool | None = None, observe: int | Sequence[int] | None = None,
                  track: tuple[int, int] = (0, 1), snapshot_epochs: Sequence[int] = (),
                  snapshot_points: Sequence[int] | None = None, stop_loss: float | None = None,
                  device="cpu", dtype="float32", engine: str = "auto",
                  snapshot_chunk: int = 4096, record_every: int = 1, stop_on: str = "eval",
                  progress: float | None = None, progress_label: str = "") -> dict:
    """Train ``S = len(seeds)`` independent networks of one architecture at once (spec 5.1; paper Eq. 1-3).

    Parameters
    ----------
    arch : the architecture (spec 5.2).
    X, Y : ``(N, in_dim)``, ``(N, out_dim)`` training data shared by all networks, or ``(S, N, .)`` one
        dataset per network (e.g. the Fig. 5 grid of datasets in one batch). Cast to ``dtype``.
    seeds : one seed per network; network ``s`` equals ``train(..., seed=seeds[s])`` up to the rounding of the
        batched kernels (see Batching above; over long runs that rounding can grow, e.g. an Adam network
        leaving a plateau a few steps earlier, so callers that need the one-network result train alone).
    lr : learning rate, scalar or ``(S,)``.
    epochs : maximum number of epochs (passes over the data).
    optimizer : ``"sgd"`` (plain, spec 5.1) or ``"adam"`` (PyTorch defaults).
    loss : ``"half_mse"`` (0.5 * MSE) or ``"mse"`` (XOR, D8).
    batch_size : minibatch size; ``None`` or ``>= N`` = full batch (one step per epoch, no shuffling).
    shuffle : reshuffle every epoch, per network from its own stream (default: True iff minibatches).
    observe : observed hidden-activity index or list of indices (default ``arch.default_observe()``).
    track : indices ``(i, j)`` into the data of the tracked pair; ``Delta = point j - point i``.
    snapshot_epochs : epochs ``e`` at which to store the observed hidden activities and outputs of
        ``snapshot_points`` (before update ``e``; ``e = epochs`` or ``-1`` = final state).
    snapshot_points : data indices for snapshots (default: all N points).
    stop_loss : if given, network ``s`` stops (no further updates) at the first epoch whose tracked loss
        is ``< stop_loss`` (spec D3, Fig. 5): that epoch is its last record (its ``final_*`` and any later
        snapshot are that state), later entries are NaN, and it is removed from the stack so that it
        costs no further compute; the run ends when all have stopped.
    device : ``"cpu"`` (default), ``"cuda"`` or ``"auto"``. dtype : ``"float32"`` (spec) or ``"float64"``.
    engine : ``"auto"`` (default: ``"fused"`` for SGD on the affine kinds, else ``"autograd"``),
        ``"fused"`` (hand-written backward with in-place per-layer SGD updates, ~2x less memory traffic)
        or ``"autograd"``. Both compute the same SGD step and agree to rounding.
    snapshot_chunk : points per forward pass when taking snapshots.
    record_every : record ``h, y, w, loss, outputs`` at epochs ``0, r, 2r, ...`` only (default 1 = every epoch).
        Unrecorded epochs do no tracking work at all (the stopping loss is still checked every epoch; for
        the two-point task it is the training loss itself). ``final_*`` always hold the final state.
    stop_on : which loss ``stop_loss`` tests for kind ``"dropout"``: ``"eval"`` (default; the tracked
        eval-mode loss, dropout off) or ``"train"`` (the authors' protocol: the loss of epoch k's own
        training forward, with its dropout masks; full batch only). A network whose criterion holds
        at epoch k stops before update k either way. Other kinds have no train/eval difference.
    progress : seconds between progress lines on stdout (``None``: none), see
        :class:`~learndyn.deepnets.progress.Progress`; ``progress_label`` names the job in them.

    Returns
    -------
    dict of NumPy arrays (``T`` = number of epochs recorded by the longest-running network; ``n_obs`` =
    number of observed layers; if ``observe`` is an int the last axis of ``h`` / ``final_h`` is dropped):

    * ``h (S, T[, n_obs])``, ``y (S, T)``, ``w (S, T)``: spec 1.4 / paper Eq. 8 at the start of each epoch,
      eval mode; ``loss (S, T)``: training loss function on the tracked pair (eval mode);
      ``outputs (S, T, 2, out_dim)``: the pair's outputs (for ``||m0||^2`` of Eq. 22);
    * ``train_loss (S, T)``: sample-weighted mean of the minibatch losses during epoch k (train mode, i.e.
      with dropout; NaN where no update happened);
    * ``final_h (S[, n_obs])``, ``final_y``, ``final_w``, ``final_loss``, ``final_outputs (S, 2, out_dim)``:
      the same after the last update (or at the stop);
    * ``n_records (S,)`` recorded epochs, ``n_updates (S,)`` updates, ``stopped (S,)`` bool;
    * ``epoch (T,)``, ``observe (n_obs,)``, ``seed (S,)``, ``lr (S,)``, ``dx2 (S,)``, ``dy2 (S,)``;
    * if snapshots: ``snapshot_epochs (n_snap,)``, ``snapshot_points (n_pts,)``,
      ``reps_l{i} (S, n_snap, n_pts, F_i)`` for each observed layer i (``reps`` = the first observed
      layer), ``snapshot_outputs (S, n_snap, n_pts, out_dim)``;
    * ``epoch (T,)`` = the recorded epochs, ``record_every ()``, ``stop_on ()`` (``"train"`` only where it applied);
    * ``wall_seconds ()`` (the whole call), ``loop_seconds ()`` / ``loop_cpu_seconds ()`` (wall / process CPU
      seconds of the epoch loop only).
    """
    seeds = [int(s) for s in seeds]
    S = len(seeds)
    epochs, record_every, obs, single_obs = _check_options(arch, optimizer, loss, stop_on, epochs, record_every,
                                                           observe)
    t_start = time.perf_counter()
    dev = resolve_device(device)
    tdt = torch_dtype(dtype)
    data = _StackData(X, Y, S, track, lr, tdt, dev)
    net = build(arch, seeds, device=dev, dtype=tdt)
    eng = make_engine(net, optimizer, loss, engine)
    plan = _plan(arch, data, eng, epochs=epochs, obs=obs, loss=loss, batch_size=batch_size, shuffle=shuffle,
                 stop_loss=stop_loss, stop_on=stop_on, snapshot_epochs=snapshot_epochs,
                 snapshot_points=snapshot_points)
    shuffle_gens = [generator(s, STREAM_SHUFFLE, torch.device("cpu")) for s in seeds] if plan.shuffle else None
    stack = _Stack(net, eng, data, shuffle_gens, dev)
    tracker = Tracker(net, data, obs, loss, epochs, record_every, plan.snaps, plan.snap_pts, snapshot_chunk, dev)

    prog = Progress(progress, progress_label, epochs, seeds, stop_loss) if progress else None
    t_loop, c_loop = time.perf_counter(), time.process_time()
    k_last = _run_epochs(plan, stack, tracker, prog)
    loop_seconds, loop_cpu = time.perf_counter() - t_loop, time.process_time() - c_loop

    tracker.finish(k_last, stack.alive)      # final state of the networks that ran every epoch
    if prog is not None:
        prog.done(k_last + 1, tracker.stopped)

    res = _result(tracker, data, k_last, seeds, record_every, single_obs, stop_on if plan.train_stop else "eval")
    res["loop_seconds"] = np.asarray(loop_seconds)
    res["loop_cpu_seconds"] = np.asarray(loop_cpu)
    res["wall_seconds"] = np.asarray(time.perf_counter() - t_start)
    return res


_PER_NET_KEYS = ("h", "y", "w", "loss", "train_loss", "outputs", "final_h", "final_y", "final_w",
                 "final_loss", "final_outputs", "n_records", "n_updates", "stopped", "seed", "lr",
                 "dx2", "dy2", "snapshot_outputs")


def train(arch: ArchSpec, X, Y, *, seed: int = 0, lr, epochs: int, **kwargs) -> dict:
    """Train one network (spec 5.1): :func:`train_batched` with ``seeds=[seed]``, leading axis removed.

    ``X (N, in_dim)``, ``Y (N, out_dim)``; keyword arguments as :func:`train_batched`. Returns e.g.
    ``h (T[, n_obs])``, ``y (T,)``, ``w (T,)``, ``loss (T,)``, ``reps (n_snap, n_pts, F)``, scalars
    ``final_h``, ``dx2``, ``dy2``, ``seed``, ``lr``.
    """
    res = train_batched(arch, X, Y, [seed], lr=lr, epochs=epochs, **kwargs)
    for key in list(res):
        if key in _PER_NET_KEYS or key.startswith("reps"):
            res[key] = res[key][0]
    return res
