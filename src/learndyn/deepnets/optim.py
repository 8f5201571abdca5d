"""One training step of stacked networks (paper Eq. 1-3, spec ``universality.md`` 5.1): the per-network loss,
plain SGD and Adam on stacked parameters, and the two engines that run forward, gradient and update: autograd
(:class:`AutogradEngine`, any architecture and optimiser) and the hand-written fused SGD backward pass
(:class:`FusedSGDEngine`, the affine kinds); :func:`make_engine` picks one.

Part of :mod:`learndyn.deepnets` (its docstring describes the batching and the training rules).
"""

from __future__ import annotations

import math

import torch

from .arch import activation_ops
from .nets import StackedNet

__all__ = ["LOSSES", "SGD", "Adam", "loss_per_net", "AutogradEngine", "FusedSGDEngine", "make_engine"]

#: Training losses: ``half_mse`` = 0.5 * MSE (spec 5.1), ``mse`` (XOR, D8); see :func:`loss_per_net`.
LOSSES = ("half_mse", "mse")

# ------------------------------------------------------------------------------------------------
# Optimisers on stacked parameters (elementwise => exact under stacking)
# ------------------------------------------------------------------------------------------------

class SGD:
    """Plain SGD (paper Eq. 3): ``theta <- theta - lr_s * grad`` with a per-network rate ``lr_s``."""

    def __init__(self, params):
        self.params = params

    def compact(self, keep):
        """Nothing to drop: plain SGD keeps no per-network state (Adam's :meth:`compact` does)."""

    @torch.no_grad()
    def step(self, grads, lr_eff):
        for p, g in zip(self.params, grads):
            p.sub_(g * lr_eff.view(-1, *([1] * (p.dim() - 1))))


class Adam:
    """Adam with PyTorch defaults (beta = (0.9, 0.999), eps = 1e-8, no weight decay), per-element state.

    Same update as ``torch.optim.Adam`` (single-tensor path): ``m <- lerp(m, g, 1 - b1)``,
    ``v <- b2 v + (1 - b2) g^2``, ``theta <- theta - lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps)``.
    The step counter ``t`` is shared: all networks in the stack step together (stopped networks are
    removed from the stack), so it equals each network's own step count.
    """

    def __init__(self, params, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def compact(self, keep):
        self.m = [m[keep] for m in self.m]
        self.v = [v[keep] for v in self.v]

    @torch.no_grad()
    def step(self, grads, lr_eff):
        self.t += 1
        bc1 = 1.0 - self.b1 ** self.t
        bc2_sqrt = math.sqrt(1.0 - self.b2 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m.lerp_(g, 1.0 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            step = (lr_eff / bc1).view(-1, *([1] * (p.dim() - 1)))
            p.sub_(m / denom * step)


# ------------------------------------------------------------------------------------------------
# Engines: one training step = forward (cached) + loss gradient + optimiser update
# ------------------------------------------------------------------------------------------------

def loss_per_net(out: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-network loss ``(S,)``: ``half_mse`` = 0.5 * mean over samples and output dims (paper Eq. 1-2,
    spec 5.1, two-point / blobs / MNIST); ``mse`` = the mean without 1/2 (XOR, D8)."""
    se = ((out - target) ** 2).mean(dim=(1, 2))
    return 0.5 * se if kind == "half_mse" else se


class AutogradEngine:
    """Any architecture, SGD or Adam: autograd of the summed per-network losses (exact per network).

    Protocol shared with :class:`FusedSGDEngine`: ``forward`` (caches what the step needs), ``loss``
    (per-network loss ``(S,)`` of that forward, detached), ``step`` (the optimiser update from the last
    ``forward``/``loss``), ``compact`` (drop networks; the cached forward is dropped too: re-forward)."""

    can_compact_cache = False

    def __init__(self, net: StackedNet, opt, loss: str):
        self.net, self.opt, self.loss_kind = net, opt, loss
        self.params = net.params()
        self._loss = None

    def forward(self, x, observe, train):
        self._loss = None
        return self.net(x, observe=observe, train=train)

    def loss(self, out, target) -> torch.Tensor:
        self._loss = loss_per_net(out, target, self.loss_kind)
        return self._loss.detach()

    def compact(self, keep):
        """Call after ``net.compact(keep)``: follow the new parameter tensors, compact optimiser state."""
        self.params = self.net.params()
        self.opt.params = self.params
        self.opt.compact(keep)
        self._loss = None

    def step(self, out, target, lr_eff):
        loss_s = self._loss if self._loss is not None else loss_per_net(out, target, self.loss_kind)
        grads = torch.autograd.grad(loss_s.sum(), self.params)
        self.opt.step(grads, lr_eff)
        self._loss = None


class FusedSGDEngine:
    """Plain SGD for the affine families (``mlp``, ``resnet``, ``dropout``) with a hand-written backward
    pass that applies each layer's update in place as soon as its gradient is known
    (``W_i <- W_i - (lr_s delta_i)^T a_{i-1}`` as one ``baddbmm_``), right after ``delta_i W_i`` has been
    formed with the old ``W_i`` (so the update finds ``W_i`` in cache). Mathematically the same SGD step as
    :class:`AutogradEngine` (paper Eq. 3); the activation derivatives are PyTorch's own autograd kernels,
    and the two agree to rounding (tested).

    Per layer and step: forward ``baddbmm`` + activation (in place), backward activation-derivative,
    ``bmm``, ``baddbmm_`` and the bias update, on views prepared once (no per-step view or list work).
    The forward cache can be compacted (networks removed mid-step without a second forward)."""

    can_compact_cache = True

    def __init__(self, net: StackedNet, loss: str):
        if net.arch.kind == "cnn":
            raise ValueError("the fused engine supports the affine kinds only")
        self.net, self.loss_kind = net, loss
        self.cache = None
        act = activation_ops(net.arch.activation)
        self._grad, self._act_, self._act = act.grad, act.inplace, act.forward
        self._views()

    def _views(self):
        """Detached views of the parameters used by every step (rebuilt after compaction)."""
        self.W = [w.detach() for w in self.net.weights]                  # (S, out, in)
        self.Wt = [w.transpose(1, 2) for w in self.W]                       # (S, in, out)
        self.b = [b.detach() for b in self.net.biases]                     # (S, out)
        self.b1 = [b.unsqueeze(1) for b in self.b]                         # (S, 1, out)

    def compact(self, keep):
        """Call after ``net.compact(keep)``: new parameter views; the cached forward keeps its networks."""
        self._views()
        if self.cache is not None:
            inps, masks, zs, ys = self.cache
            self.cache = ([t[keep] for t in inps], [None if m is None else m[keep] for m in masks],
                          [None if z is None else z[keep] for z in zs], [y[keep] for y in ys])

    @torch.no_grad()
    def forward(self, x, observe, train):
        net, arch = self.net, self.net.arch
        S = net.S
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(S, *x.shape)
        drop = train and arch.kind == "dropout" and arch.dropout_p > 0
        resnet = arch.kind == "resnet"
        act_, act = self._act_, self._act
        Wt, b1 = self.Wt, self.b1
        n = len(Wt)
        inps, masks, zs, ys, acts = [], [], [], [], {}
        a = x
        for i in range(n):
            if drop:
                m = net.dropout_mask(a.shape[1:])
                a = a * m / (1.0 - arch.dropout_p)
                masks.append(m)
            else:
                masks.append(None)
            inps.append(a)
            z = torch.baddbmm(b1[i], a, Wt[i])
            if i == n - 1:
                self.cache = (inps, masks, zs, ys)
                return z, acts
            if act_ is not None:
                y_ = act_(z)
                zs.append(None)
            else:
                y_ = act(z)
                zs.append(z)
            ys.append(y_)
            a = y_ + inps[i - 1] if resnet and i >= 2 else y_        # inps[i - 1] = a_{i-2} (post-skip)
            if i in observe:
                acts[i] = a
        raise AssertionError("unreachable")

    def loss(self, out, target) -> torch.Tensor:
        return loss_per_net(out, target, self.loss_kind)

    @torch.no_grad()
    def step(self, out, target, lr_eff):
        arch = self.net.arch
        inps, masks, zs, ys = self.cache
        self.cache = None
        W, Wt, b = self.W, self.Wt, self.b
        grad = self._grad
        n = len(W)
        resnet = arch.kind == "resnet"
        c = (1.0 if self.loss_kind == "half_mse" else 2.0) / (out.shape[1] * out.shape[2])
        delta = (out - target) * c                                   # dLoss_s / d out, (S, B, out)
        lr_v = lr_eff.view(-1, 1, 1)
        ga: list = [None] * (n - 1)                                  # dLoss / d a_i (post-skip)
        for i in range(n - 1, -1, -1):
            if i < n - 1:
                gi = ga[i]
                if resnet and i >= 2:
                    ga[i - 2] = gi if ga[i - 2] is None else ga[i - 2] + gi
                delta = grad(gi, zs[i], ys[i])
            if i > 0:
                gin = torch.bmm(delta, W[i])                         # with the old W_i
                if masks[i] is not None:
                    gin = gin * masks[i] / (1.0 - arch.dropout_p)
                ga[i - 1] = gin if ga[i - 1] is None else ga[i - 1] + gin
            ds = delta * lr_v
            W[i].baddbmm_(ds.transpose(1, 2), inps[i], alpha=-1.0)
            b[i].sub_(ds.sum(1))


def make_engine(net: StackedNet, optimizer: str, loss: str, engine: str = "auto"):
    """The training engine of :func:`~learndyn.deepnets.train_batched` for ``net``: ``engine="auto"`` is
    ``"fused"`` (:class:`FusedSGDEngine`) for SGD on the affine kinds, else ``"autograd"``
    (:class:`AutogradEngine` with :class:`SGD` or :class:`Adam`, ``optimizer`` = ``"sgd"`` / ``"adam"``);
    ``loss`` one of :data:`LOSSES`. Both compute the same step (paper Eq. 3) and agree to rounding."""
    if engine == "auto":
        engine = "fused" if optimizer == "sgd" and net.arch.kind != "cnn" else "autograd"
    if engine == "fused":
        if optimizer != "sgd":
            raise ValueError("the fused engine implements plain SGD only")
        return FusedSGDEngine(net, loss)
    if engine == "autograd":
        params = net.params()
        return AutogradEngine(net, SGD(params) if optimizer == "sgd" else Adam(params), loss)
    raise ValueError("engine must be 'auto', 'fused' or 'autograd'")
