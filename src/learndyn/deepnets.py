"""Paper B's deep networks on PyTorch: architectures, training and per-epoch tracking of h, y, w.

Implements spec ``universality.md`` sections 5.1-5.2 (architectures, initialisation, training rules)
and the per-epoch measurements the effective theory is fitted to (spec 1.2-1.4, paper Eq. 5, 8 / 20).
This is the only module of :mod:`learndyn` that imports :mod:`torch`; everything it returns is NumPy.

Networks (spec 5.2; ``L`` hidden layers of width ``P``; ``acts[i]`` = i-th hidden activity, 0-based,
taken *after* the activation and, for the skip network, after the skip addition):

* ``"mlp"``      ``in -> P -> ... -> P -> out`` (``L + 1`` affine layers, activation after all but the last).
* ``"resnet"``   as ``"mlp"``, with ``a_i = act(W_i a_{i-1} + b_i) + a_{i-2}`` for hidden layers ``i >= 2``
  (every activity skips over the next two layers; no skip into the output layer).
* ``"cnn"``      ``Linear(in -> P)``, ``Conv1d(1 -> C, k)``, ``(L - 1) x Conv1d(C -> C, k)``,
  ``Conv1d(C -> 1, k)``, ``Linear(P - (L + 1)(k - 1) -> out)``; stride 1, no padding, the ``P``
  features of the first layer are the length of a 1-channel signal; conv activities are flattened
  channel-major (``C x length``).
  Paper row "Convolution" (L = 10, C = 20, k = 11): ``acts[0]`` is the linear layer, ``acts[1..10]`` the
  20-channel convs, ``acts[11]`` the 1-channel conv (length 390); observed ``acts[5]`` (20 x 450 = 9000).
* ``"dropout"``  as ``"mlp"`` with ``Dropout(p)`` before *every* affine layer (also on the input and
  before the output layer). Dropout is active only in the training forward passes; tracking is in eval mode.

Initialisation (spec 5.1, paper App. B.1): every weight ``~ N(0, std^2)`` with the Xavier-normal
``std = gain * sqrt(2 / (fan_in + fan_out))`` (conv: ``fan = channels * kernel``), every bias zero.

Batching. Every network object holds ``S`` independent networks of one architecture as *stacked*
parameters (leading axis ``S``): affine layers run as batched matmuls (``baddbmm``), conv layers as one
grouped convolution (``groups = S``). The training loss is the *sum* of the ``S`` per-network losses, so
each network's gradient is exactly its own, and SGD / Adam are elementwise, so stacking is exact up to
floating-point rounding of the batched kernels. Each network owns its random streams, derived from its
seed only: initialisation, minibatch shuffling and dropout masks are drawn per network with the same
calls whether it trains alone or inside a batch. One network is simply ``S = 1`` of the same code.
With ``stop_loss`` a network that meets the criterion is removed from the stack (with its optimiser
state and random streams), so stopped networks cost nothing and the others continue unchanged.

Training (paper Eq. 1-3, spec 5.1): loss ``0.5 * MSE`` (or ``MSE`` for XOR, D8), plain SGD
``theta <- theta - lr * grad`` or Adam (PyTorch defaults). SGD on the affine kinds uses by default a
hand-written backward pass that applies each layer's update in place (``engine="fused"``): the same
step as autograd to rounding, about 2x faster on CPU, where the 20 x 500 step is memory-bound. Its
per-step cost is almost entirely the three BLAS calls per layer (forward ``baddbmm``, backward ``bmm``,
rank-B update ``baddbmm_``); ``benchmarks/bench_train.py`` measures it against a plain PyTorch loop and
the memory-bandwidth floor. Tracking costs nothing on epochs that are not recorded (``record_every``),
and ``progress`` prints a progress line at a fixed interval for long runs.
On CPU with a fixed thread count the same seed gives bit-identical results. On CUDA, dropout masks
come from CUDA generators (different numbers from CPU) and kernels may differ in rounding.

Measurements (spec 1.4, 3.1, 5.1). At the start of every epoch ``k`` (before update ``k``; ``k = 0`` is the
initialisation), in eval mode, for the tracked pair ``(x_1, y_1), (x_2, y_2)``::

    h_k = ||Delta h||^2   (observed hidden layer(s))     y_k = ||Delta yhat||^2
    w_k = Delta yhat . (Delta yhat - Delta y)            loss_k = training loss on the two tracked points

with ``Delta = (point 2) - (point 1)``. A run of ``n`` epochs gives ``n`` samples (paper Eq. 49 data); the
state after the last update is reported separately as ``final_*``.

Epoch = one pass over the training set; for the two-point and XOR tasks the batch (100) exceeds the data,
so one epoch is one full-batch gradient step (pass ``batch_size=None``).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "ACTIVATIONS", "ArchSpec", "TABLE1", "table1", "two_point_dataset", "pair_hyw",
    "StackedNet", "build", "initial_parameters", "train", "train_batched", "resolve_device",
]

#: Activation names accepted by :class:`ArchSpec` (spec 5.1). Aliases: ``swish`` = ``silu``,
#: ``linear`` = ``none``.
ACTIVATIONS = ("leaky_relu", "relu", "elu", "tanh", "silu", "none")
_ALIASES = {"swish": "silu", "linear": "none", "identity": "none", "leakyrelu": "leaky_relu",
            "leaky relu": "leaky_relu"}
_KINDS = ("mlp", "resnet", "cnn", "dropout")
_LOSSES = ("half_mse", "mse")


@dataclass(frozen=True)
class _Activation:
    """One activation of spec 5.1 (PyTorch's conventions at 0): ``forward(z)``; ``grad(g, z, y) = g * act'(z)``
    with ``y = act(z)``, PyTorch's own autograd kernel (one fused aten op: the same numbers as autograd);
    ``inplace(z)``, the forward overwriting ``z``, or ``None`` where ``grad`` reads the pre-activation ``z``
    (only SiLU; the others work from the output, so the fused engine applies them in place)."""

    forward: object
    inplace: object
    grad: object


_ATEN = torch.ops.aten
_ACTIVATION_OPS = {
    "leaky_relu": _Activation(lambda z: F.leaky_relu(z, 0.01), lambda z: F.leaky_relu_(z, 0.01),
                              lambda g, z, y: _ATEN.leaky_relu_backward(g, y, 0.01, True)),
    "relu": _Activation(F.relu, torch.relu_, lambda g, z, y: _ATEN.threshold_backward(g, y, 0.0)),
    "elu": _Activation(lambda z: F.elu(z, 1.0), lambda z: F.elu_(z, 1.0),
                       lambda g, z, y: _ATEN.elu_backward(g, 1.0, 1.0, 1.0, True, y)),
    "tanh": _Activation(torch.tanh, torch.tanh_, lambda g, z, y: _ATEN.tanh_backward(g, y)),
    "silu": _Activation(F.silu, None, lambda g, z, y: _ATEN.silu_backward(g, z)),
    "none": _Activation(lambda z: z, lambda z: z, lambda g, z, y: g),
}


def _activation(name: str) -> _Activation:
    if name not in _ACTIVATION_OPS:
        raise ValueError(f"unknown activation {name!r}; choose from {ACTIVATIONS}")
    return _ACTIVATION_OPS[name]


# ------------------------------------------------------------------------------------------------
# Architecture description
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ArchSpec:
    """One architecture of spec 5.2 (immutable, hashable; record ``asdict(spec)`` with the run).

    ``kind`` in ``{"mlp", "resnet", "cnn", "dropout"}``; ``n_hidden`` = L (for ``"cnn"``: the number of
    C-channel conv layers); ``width`` = P (for ``"cnn"``: output size of the first linear layer = signal
    length); ``activation`` in :data:`ACTIVATIONS`; ``gain`` = Xavier-normal gain; ``in_dim`` / ``out_dim``
    data dimensions; ``dropout_p`` (kind ``"dropout"`` only); ``channels`` / ``kernel`` (kind ``"cnn"`` only);
    ``observe`` = default observed hidden-activity index (``None``: see :meth:`default_observe`).
    """

    kind: str = "mlp"
    n_hidden: int = 20
    width: int = 500
    activation: str = "leaky_relu"
    gain: float = 1.0
    in_dim: int = 1
    out_dim: int = 1
    dropout_p: float = 0.1
    channels: int = 20
    kernel: int = 11
    observe: int | None = None

    def __post_init__(self):
        act = _ALIASES.get(self.activation.lower(), self.activation.lower())
        object.__setattr__(self, "activation", act)
        if self.kind not in _KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; choose from {_KINDS}")
        if act not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {ACTIVATIONS}")
        if self.n_hidden < 1 or self.width < 1 or self.in_dim < 1 or self.out_dim < 1:
            raise ValueError("n_hidden, width, in_dim and out_dim must be >= 1")
        if self.kind == "cnn" and self.conv_out_length < 1:
            raise ValueError(f"cnn: width {self.width} too short for {self.n_hidden + 1} convolutions "
                             f"of kernel {self.kernel}")
        if self.kind == "dropout" and not 0.0 <= self.dropout_p < 1.0:
            raise ValueError("dropout_p must be in [0, 1)")
        if self.observe is not None and not 0 <= self.observe < self.n_acts:
            raise ValueError(f"observe={self.observe} out of range 0..{self.n_acts - 1}")

    @property
    def conv_out_length(self) -> int:
        """Length of the last conv activity (``"cnn"``): ``P - (L + 1)(k - 1)`` (390 for the paper row)."""
        return self.width - (self.n_hidden + 1) * (self.kernel - 1)

    @property
    def n_acts(self) -> int:
        """Number of hidden activities ``acts[0..n_acts-1]``: L (``"cnn"``: L + 2)."""
        return self.n_hidden + 2 if self.kind == "cnn" else self.n_hidden

    def default_observe(self) -> int:
        """Observed hidden activity (spec 5.2): ``observe`` if set, else ``acts[L // 2]``.

        Exception ``"dropout"`` (spec 5.2 / D12): the reference's index ``L // 2`` points into an
        interleaved module list and lands on the 3rd hidden layer, ``acts[2]``, for L = 10. Generalised
        here as two modules per hidden layer, ``acts[(L // 2 - 1) // 2]`` (a reconstruction; only
        L = 10 is used). D12 also asks to log the paper's "halfway" 5th hidden layer, ``acts[4]``
        (``TABLE1["dropout"]["observe_alt"]``; pass ``observe=[2, 4]``).
        """
        if self.observe is not None:
            return self.observe
        if self.kind == "dropout":
            return max((self.n_hidden // 2 - 1) // 2, 0)
        return self.n_hidden // 2

    def layer_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """``[(type, weight shape)]`` in forward order: ``linear`` (out, in), ``conv`` (C_out, C_in, k)."""
        L, P = self.n_hidden, self.width
        if self.kind == "cnn":
            C, k = self.channels, self.kernel
            shapes = [("linear", (P, self.in_dim)), ("conv", (C, 1, k))]
            shapes += [("conv", (C, C, k))] * (L - 1)
            shapes += [("conv", (1, C, k)), ("linear", (self.out_dim, self.conv_out_length))]
            return shapes
        dims = [self.in_dim] + [P] * L + [self.out_dim]
        return [("linear", (dims[i + 1], dims[i])) for i in range(L + 1)]

    def xavier_std(self, shape: tuple[int, ...]) -> float:
        """Xavier-normal std ``gain * sqrt(2 / (fan_in + fan_out))`` of a weight of ``shape`` (spec 5.1)."""
        receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        return self.gain * math.sqrt(2.0 / (fan_in + fan_out))


# Paper B Table 1 (two-point experiments; spec 6.0 D1: paper values, identical to the reference after its
# lr/2, epochs*2 conversion), plus the Adam row of Fig. 13 (D13). Dropout observes acts[2] (D12; the
# paper's "halfway" acts[4] is ``observe_alt``). Every row: 2-point data dx2 = 1, dy2 = 0.5, full batch,
# loss 0.5*MSE.
def _row(kind="mlp", L=20, P=500, act="leaky_relu", gain=1.0, lr=0.005, epochs=6000, optimizer="sgd",
         observe=None, observe_alt=None):
    arch = ArchSpec(kind=kind, n_hidden=L, width=P, activation=act, gain=gain, observe=observe)
    return {"arch": arch, "lr": lr, "epochs": epochs, "optimizer": optimizer,
            "observe": arch.default_observe(), "observe_alt": observe_alt}


TABLE1: dict[str, dict] = {
    "default": _row(),
    "convolution": _row(kind="cnn", L=10, gain=0.95, lr=0.002, observe=5),
    "skip": _row(kind="resnet", gain=0.1, lr=0.01),
    "shallow": _row(L=2, gain=0.35, lr=0.01),
    "narrow": _row(P=50, gain=1.05, lr=0.005),
    "dropout": _row(kind="dropout", L=10, gain=1.0, lr=0.005, observe=2, observe_alt=4),
    "linear": _row(act="none", gain=0.85, lr=0.00125),
    "relu": _row(act="relu", gain=1.0, lr=0.005),
    "elu": _row(act="elu", gain=0.95, lr=0.00045),
    "tanh": _row(act="tanh", gain=0.85, lr=0.00125),
    "swish": _row(act="silu", gain=1.7, lr=0.0025),
    "low": _row(gain=0.9, lr=0.015),
    "intermediate": _row(gain=1.1, lr=0.0025),
    "high": _row(gain=1.3, lr=0.00075),
    "very_high": _row(gain=1.4, lr=0.00025),
    "adam": _row(gain=1.0, lr=5e-7, optimizer="adam"),
}


def table1(name: str, **overrides) -> dict:
    """A copy of a :data:`TABLE1` row; ``overrides`` replace ArchSpec fields (e.g. ``width=50``)."""
    row = dict(TABLE1[name])
    if overrides:
        row["arch"] = replace(row["arch"], **overrides)
    return row


def two_point_dataset(dx2: float = 1.0, dy2: float = 0.5, in_dim: int = 1, out_dim: int = 1):
    """Two-point dataset of spec 4.1 (paper App. B.1): ``X (2, in_dim)``, ``Y (2, out_dim)``, float32.

    1-D: ``x = (-1, -1 + sqrt(dx2))``, ``y = (0.6, 0.6 + sqrt(dy2))``; in D dimensions every coordinate is
    the 1-D value divided by ``sqrt(D)``. Thin wrapper of :func:`learndyn.datasets.two_point`.
    """
    from .datasets import two_point

    return two_point(dx2, dy2, dim_in=in_dim, dim_out=out_dim)


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


# ------------------------------------------------------------------------------------------------
# Devices and random streams
# ------------------------------------------------------------------------------------------------

def resolve_device(device: str | torch.device = "cpu") -> torch.device:
    """``"cpu"`` (default), ``"cuda"`` / ``"cuda:N"`` (error if CUDA is absent), ``"auto"`` (CUDA if any)."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available")
    return dev


_STREAM_INIT, _STREAM_SHUFFLE, _STREAM_DROPOUT = 0, 1, 2


def _stream_seed(seed: int, stream: int) -> int:
    """Independent 63-bit seed for one random stream of one network (NumPy SeedSequence)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, stream]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def _generator(seed: int, stream: int, device: torch.device) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(_stream_seed(seed, stream))
    return g


_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _dtype(dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    return _DTYPES[np.dtype(dtype).name]


# ------------------------------------------------------------------------------------------------
# Stacked networks
# ------------------------------------------------------------------------------------------------

def initial_parameters(arch: ArchSpec, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Initial ``[(W, b)]`` of one network (float64 NumPy; spec 5.1), in forward order.

    Affine ``W (out, in)``, conv ``W (C_out, C_in, k)`` (PyTorch layouts). Network ``seed`` draws its
    layers in order from its own generator: ``W = std * N(0, 1)`` (float32 draws), ``b = 0``.
    """
    g = _generator(seed, _STREAM_INIT, torch.device("cpu"))
    out = []
    for _, shape in arch.layer_shapes():
        w = torch.randn(shape, generator=g, dtype=torch.float32) * arch.xavier_std(shape)
        out.append((w.double().numpy(), np.zeros(shape[0])))
    return out


class StackedNet(torch.nn.Module):
    """``S`` independent networks of one :class:`ArchSpec` with stacked parameters.

    ``weights[i]``: ``(S, out, in)`` (affine) or ``(S, C_out, C_in, k)`` (conv); ``biases[i]``: ``(S, out)``.
    Build with :func:`build`. ``forward(x)`` takes ``x (S, B, in_dim)`` (or ``(B, in_dim)``, shared by all
    networks) and returns ``(out (S, B, out_dim), acts)`` with ``acts[i] (S, B, F_i)`` for the requested
    hidden activities (``F_i = width``, or ``C * length`` for conv activities).
    """

    def __init__(self, arch: ArchSpec, seeds: Sequence[int], device="cpu", dtype="float32"):
        super().__init__()
        self.arch = arch
        self.seeds = [int(s) for s in seeds]
        self.S = len(self.seeds)
        if self.S < 1:
            raise ValueError("need at least one seed")
        self.device = resolve_device(device)
        self.dtype = _dtype(dtype)
        self.layer_types = [t for t, _ in arch.layer_shapes()]
        self._act = _activation(arch.activation).forward
        per_net = [initial_parameters(arch, s) for s in self.seeds]
        ws, bs = [], []
        for i in range(len(self.layer_types)):
            w = np.stack([p[i][0] for p in per_net])
            b = np.stack([p[i][1] for p in per_net])
            # float32 draws -> float64 NumPy -> chosen dtype: exact for float32 and float64.
            ws.append(torch.nn.Parameter(torch.as_tensor(w, dtype=self.dtype, device=self.device)))
            bs.append(torch.nn.Parameter(torch.as_tensor(b, dtype=self.dtype, device=self.device)))
        self.weights = torch.nn.ParameterList(ws)
        self.biases = torch.nn.ParameterList(bs)
        self._dropout_gens = None
        if arch.kind == "dropout":
            self.set_dropout_streams()

    # -- parameters -------------------------------------------------------------------------------
    def params(self) -> list[torch.Tensor]:
        """All parameter tensors in a fixed order (weights and biases interleaved by layer)."""
        out = []
        for w, b in zip(self.weights, self.biases):
            out += [w, b]
        return out

    def numpy_params(self, s: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
        """Current ``[(W, b)]`` of network ``s`` as float64 NumPy (layouts as :func:`initial_parameters`)."""
        return [(w[s].detach().cpu().double().numpy(), b[s].detach().cpu().double().numpy())
                for w, b in zip(self.weights, self.biases)]

    def compact(self, keep: torch.Tensor):
        """Keep only the networks where the bool mask ``keep (S,)`` is True (in place)."""
        with torch.no_grad():      # new leaf tensors: autograd caches the old shapes
            self.weights = torch.nn.ParameterList([torch.nn.Parameter(w[keep]) for w in self.weights])
            self.biases = torch.nn.ParameterList([torch.nn.Parameter(b[keep]) for b in self.biases])
        kp = keep.cpu().tolist()
        self.seeds = [s for s, k in zip(self.seeds, kp) if k]
        if self._dropout_gens is not None:
            self._dropout_gens = [g for g, k in zip(self._dropout_gens, kp) if k]
        self.S = len(self.seeds)

    # -- forward ----------------------------------------------------------------------------------
    def dropout_mask(self, shape) -> torch.Tensor:
        """0/1 keep mask ``(S, *shape)`` for one dropout site; network s draws from its own generator."""
        p = self.arch.dropout_p
        return torch.stack([(torch.rand(shape, generator=g, device=self.device, dtype=self.dtype) >= p)
                            for g in self._dropout_gens]).to(self.dtype)

    def set_dropout_streams(self, seeds: Sequence[int] | None = None):
        """(Re)start the per-network dropout streams (done by the trainers; default: the net's seeds)."""
        self._dropout_gens = [_generator(s, _STREAM_DROPOUT, self.device) for s in (seeds or self.seeds)]

    def forward(self, x: torch.Tensor, observe: Sequence[int] | None = None, train: bool = False,
                all_acts: bool = False):
        """Forward pass (spec 5.2). ``train=True`` applies dropout (kind ``"dropout"``).

        Returns ``(out (S, B, out_dim), acts)``: ``acts`` is a dict ``{i: (S, B, F_i)}`` for ``i`` in
        ``observe`` (all hidden activities if ``all_acts``).
        """
        arch, act, S = self.arch, self._act, self.S
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(S, *x.shape)
        B = x.shape[1]
        want = set(range(arch.n_acts)) if all_acts else set(observe or ())
        acts: dict[int, torch.Tensor] = {}
        drop = train and arch.kind == "dropout"
        W, b = self.weights, self.biases
        if arch.kind == "cnn":
            L = arch.n_hidden
            a = act(torch.baddbmm(b[0].unsqueeze(1), x, W[0].transpose(1, 2)))      # (S, B, P)
            if 0 in want:
                acts[0] = a
            z = a.transpose(0, 1).reshape(B, S, a.shape[-1])                         # (B, S*1, P)
            for i in range(1, L + 2):
                w = W[i]
                c_out = w.shape[1]
                z = act(F.conv1d(z, w.reshape(S * c_out, w.shape[2], w.shape[3]), b[i].reshape(-1),
                                 groups=S))                                           # (B, S*C_out, len)
                if i in want:
                    acts[i] = z.reshape(B, S, -1).transpose(0, 1)                     # (S, B, C_out*len)
            a = z.reshape(B, S, -1).transpose(0, 1)                                   # (S, B, len)
            out = torch.baddbmm(b[-1].unsqueeze(1), a, W[-1].transpose(1, 2))
            return out, acts
        a = x
        hist: list[torch.Tensor] = []
        n = len(W)
        for i in range(n):
            if drop and arch.dropout_p > 0:
                a = a * self.dropout_mask(a.shape[1:]) / (1.0 - arch.dropout_p)
            z = torch.baddbmm(b[i].unsqueeze(1), a, W[i].transpose(1, 2))
            if i == n - 1:
                return z, acts
            a = act(z)
            if arch.kind == "resnet" and i >= 2:
                a = a + hist[i - 2]
            if arch.kind == "resnet":
                hist.append(a)
            if i in want:
                acts[i] = a
        raise AssertionError("unreachable")


def build(arch: ArchSpec, seeds: int | Sequence[int], device="cpu", dtype="float32") -> StackedNet:
    """Initialise networks (spec 5.1) for ``seeds`` (an int gives ``S = 1``) as a :class:`StackedNet`."""
    if isinstance(seeds, (int, np.integer)):
        seeds = [int(seeds)]
    return StackedNet(arch, seeds, device=device, dtype=dtype)


# ------------------------------------------------------------------------------------------------
# Optimisers on stacked parameters (elementwise => exact under stacking)
# ------------------------------------------------------------------------------------------------

class _SGD:
    """Plain SGD (paper Eq. 3): ``theta <- theta - lr_s * grad`` with a per-network rate ``lr_s``."""

    def __init__(self, params):
        self.params = params

    def compact(self, keep):
        """Nothing to drop: plain SGD keeps no per-network state (Adam's :meth:`compact` does)."""

    @torch.no_grad()
    def step(self, grads, lr_eff):
        for p, g in zip(self.params, grads):
            p.sub_(g * lr_eff.view(-1, *([1] * (p.dim() - 1))))


class _Adam:
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

def _loss_per_net(out: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-network loss ``(S,)``: ``half_mse`` = 0.5 * mean over samples and output dims (paper Eq. 1-2,
    spec 5.1, two-point / blobs / MNIST); ``mse`` = the mean without 1/2 (XOR, D8)."""
    se = ((out - target) ** 2).mean(dim=(1, 2))
    return 0.5 * se if kind == "half_mse" else se


class _AutogradEngine:
    """Any architecture, SGD or Adam: autograd of the summed per-network losses (exact per network).

    Protocol shared with :class:`_FusedSGDEngine`: ``forward`` (caches what the step needs), ``loss``
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
        self._loss = _loss_per_net(out, target, self.loss_kind)
        return self._loss.detach()

    def compact(self, keep):
        """Call after ``net.compact(keep)``: follow the new parameter tensors, compact optimiser state."""
        self.params = self.net.params()
        self.opt.params = self.params
        self.opt.compact(keep)
        self._loss = None

    def step(self, out, target, lr_eff):
        loss_s = self._loss if self._loss is not None else _loss_per_net(out, target, self.loss_kind)
        grads = torch.autograd.grad(loss_s.sum(), self.params)
        self.opt.step(grads, lr_eff)
        self._loss = None


class _FusedSGDEngine:
    """Plain SGD for the affine families (``mlp``, ``resnet``, ``dropout``) with a hand-written backward
    pass that applies each layer's update in place as soon as its gradient is known
    (``W_i <- W_i - (lr_s delta_i)^T a_{i-1}`` as one ``baddbmm_``), right after ``delta_i W_i`` has been
    formed with the old ``W_i`` (so the update finds ``W_i`` in cache). Mathematically the same SGD step as
    :class:`_AutogradEngine` (paper Eq. 3); the activation derivatives are PyTorch's own autograd kernels,
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
        act = _activation(net.arch.activation)
        self._grad, self._act_ = act.grad, act.inplace
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
        act_, act = self._act_, net._act
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
        return _loss_per_net(out, target, self.loss_kind)

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


# ------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------

def _as_stack(a, S: int, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[0] == S:
        return a
    raise ValueError(f"{name} must be (N, D) or (S, N, D) with S = {S}; got {a.shape}")


class _StackData:
    """Training data, tracked pair and learning rates of the networks in the stack (compactable)."""

    def __init__(self, Xn, Yn, S, track, lr_arr, tdt, dev):
        self.per_net = Xn.ndim == 3 or Yn.ndim == 3
        self.S = S
        self._X0 = torch.as_tensor(np.ascontiguousarray(Xn), dtype=tdt, device=dev)   # (N, D) | (S, N, D)
        self._Y0 = torch.as_tensor(np.ascontiguousarray(Yn), dtype=tdt, device=dev)
        self.tidx = torch.tensor(list(track), device=dev)
        self.lr = torch.as_tensor(lr_arr, dtype=tdt, device=dev)
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


def _hms(seconds: float) -> str:
    s = int(round(max(seconds, 0.0)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _Progress:
    """Progress lines of a long training (``progress=`` of :func:`train_batched`), one every ``interval``
    seconds of the epoch loop, printed to stdout and flushed (the rule's log: ``tail -f`` it)::

        [progress 0:02:00] b5 grid default batch 0 | nets 4/5 running (seeds 100, 105, 110, 115) | epoch 2400/40000 (6.0%) | loss 3.1e-02 (max; min 8.4e-03) | 20.1 epochs/s | left <= 0:31:10 (epoch cap; stops at loss < 1e-04)

    ``epochs/s`` is the rate since the previous line (the stack shrinks as networks stop); the time left
    is the remaining epochs at that rate, an upper bound when a stopping loss can end the run earlier.
    """

    def __init__(self, interval: float, label: str, epochs: int, seeds, stop_loss, stream=None):
        self.interval, self.label, self.epochs = float(interval), label, epochs
        self.seeds = list(seeds)
        self.stop_loss = stop_loss
        self.stream = stream
        self.t0 = self.t_last = time.perf_counter()
        self.k_last = 0
        self.lines = 0

    def _print(self, text):
        print(text, file=self.stream or sys.stdout, flush=True)

    def tick(self, k: int, alive, loss_t):
        now = time.perf_counter()
        if now - self.t_last < self.interval:
            return
        rate = (k - self.k_last) / max(now - self.t_last, 1e-9)
        self.t_last, self.k_last = now, k
        self.lines += 1
        seeds = [self.seeds[i] for i in alive]
        shown = ", ".join(str(s) for s in seeds[:6]) + (", ..." if len(seeds) > 6 else "")
        if loss_t is None:
            loss = "loss n/a"
        else:
            ls = loss_t.detach().to(torch.float64).cpu().numpy()
            loss = f"loss {ls.max():.2e}" + (f" (max; min {ls.min():.2e})" if ls.size > 1 else "")
        left = (self.epochs - k) / rate if rate > 0 else float("inf")
        cap = f" (epoch cap; stops at loss < {self.stop_loss:.0e})" if self.stop_loss is not None else ""
        name = f"{self.label} | " if self.label else ""
        self._print(f"[progress {_hms(now - self.t0)}] {name}nets {len(seeds)}/{len(self.seeds)} running "
                    f"(seeds {shown}) | epoch {k}/{self.epochs} ({100.0 * k / self.epochs:.1f}%) | {loss} | "
                    f"{rate:.1f} epochs/s | left {'<= ' if self.stop_loss is not None else ''}"
                    f"{_hms(left) if math.isfinite(left) else '?'}{cap}")

    def done(self, k: int, stopped):
        if not self.lines:
            return
        el = time.perf_counter() - self.t0
        name = f"{self.label} | " if self.label else ""
        self._print(f"[progress {_hms(el)}] {name}done: {k} epochs, {int(np.sum(stopped))}/{len(self.seeds)} "
                    f"nets stopped early, {k / max(el, 1e-9):.1f} epochs/s on average")


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
    progress : seconds between progress lines on stdout (``None``: none), see :class:`_Progress`;
        ``progress_label`` names the job in them.

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
    if optimizer not in ("sgd", "adam"):
        raise ValueError("optimizer must be 'sgd' or 'adam'")
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {_LOSSES}")
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
    obs_set = frozenset(obs)

    t_start = time.perf_counter()
    dev = resolve_device(device)
    tdt = _dtype(dtype)
    Xn, Yn = _as_stack(X, S, "X"), _as_stack(Y, S, "Y")
    N = Xn.shape[-2]
    if Yn.shape[-2] != N:
        raise ValueError("X and Y have different numbers of points")
    Xs = np.broadcast_to(Xn, (S,) + Xn.shape[-2:]) if Xn.ndim == 2 else Xn
    Ys = np.broadcast_to(Yn, (S,) + Yn.shape[-2:]) if Yn.ndim == 2 else Yn
    i1, i2 = int(track[0]), int(track[1])
    dx2 = ((Xs[:, i2].astype(np.float64) - Xs[:, i1].astype(np.float64)) ** 2).sum(-1)
    dy2 = ((Ys[:, i2].astype(np.float64) - Ys[:, i1].astype(np.float64)) ** 2).sum(-1)
    lr_arr = np.broadcast_to(np.asarray(lr, dtype=np.float64), (S,)).copy()

    data = _StackData(Xn, Yn, S, (i1, i2), lr_arr, tdt, dev)
    net = build(arch, seeds, device=dev, dtype=tdt)
    if engine == "auto":
        engine = "fused" if optimizer == "sgd" and arch.kind != "cnn" else "autograd"
    if engine == "fused":
        if optimizer != "sgd":
            raise ValueError("the fused engine implements plain SGD only")
        engine = _FusedSGDEngine(net, loss)
    elif engine == "autograd":
        params = net.params()
        engine = _AutogradEngine(net, _SGD(params) if optimizer == "sgd" else _Adam(params), loss)
    else:
        raise ValueError("engine must be 'auto', 'fused' or 'autograd'")

    bs = N if batch_size is None or batch_size >= N else int(batch_size)
    full_batch = bs >= N
    if shuffle is None:
        shuffle = not full_batch
    shuffle = bool(shuffle) and not full_batch
    shuffle_gens = [_generator(s, _STREAM_SHUFFLE, torch.device("cpu")) for s in seeds] if shuffle else None
    # Reuse the training forward for tracking when it is the same computation (no dropout, full batch).
    reuse = full_batch and arch.kind != "dropout"
    # The tracked pair is the whole training set (two-point task): tracked loss = training loss.
    pair_is_data = N == 2 and (i1, i2) == (0, 1)
    train_stop = stop_loss is not None and stop_on == "train" and arch.kind == "dropout"
    if train_stop and not full_batch:
        raise ValueError("stop_on='train' needs full-batch training (the loss of the update's own forward)")
    if train_stop and not engine.can_compact_cache:
        raise ValueError("stop_on='train' needs the fused SGD engine")

    snaps = sorted({epochs if int(e) == -1 else int(e) for e in snapshot_epochs})
    for e in snaps:
        if not 0 <= e <= epochs:
            raise ValueError(f"snapshot epoch {e} outside 0..{epochs}")
    snap_set = set(snaps)
    snap_pts = np.arange(N) if snapshot_points is None else np.asarray(snapshot_points, dtype=np.int64)
    snap_pts_t = torch.as_tensor(snap_pts, device=dev)
    snap_out = {e: np.full((S, len(snap_pts), Yn.shape[-1]), np.nan) for e in snaps}
    snap_rep: dict = {e: {} for e in snaps}

    # Records: one float64 row per recorded epoch and network: [h (n_obs), y, w, loss, outputs (2 D_out)],
    # written in place (no per-epoch allocation, no host sync; one copy per recorded epoch).
    n_obs, D_out = len(obs), Yn.shape[-1]
    n_stat = n_obs + 3 + 2 * D_out
    T_max = (epochs + record_every - 1) // record_every
    rec = torch.full((S, T_max, n_stat), float("nan"), dtype=torch.float64, device=dev)
    rec_train = torch.full((S, epochs), float("nan"), dtype=torch.float64, device=dev)
    fin = np.full((S, n_stat), np.nan)
    last_epoch = np.full(S, epochs, dtype=np.int64)      # epoch of the final state (stop epoch or `epochs`)
    stopped = np.zeros(S, dtype=bool)
    alive = np.arange(S)                      # original indices of the networks still in the stack
    rows = slice(None)                        # stack rows -> record rows (the alive networks' indices once any stopped)

    @torch.no_grad()
    def pair_stats(out2, acts2, ls=None):
        """out2 (S', 2, D_out), acts2 {l: (S', 2, F)} -> (S', n_stat) float64 record rows."""
        o64 = out2.to(torch.float64)
        dyh = o64[:, 1] - o64[:, 0]
        cols = [((acts2[l][:, 1] - acts2[l][:, 0]).to(torch.float64) ** 2).sum(-1) for l in obs]
        cols.append((dyh ** 2).sum(-1))
        cols.append((dyh * (dyh - data.dY)).sum(-1))
        cols.append(_loss_per_net(out2, data.Y_tr, loss).to(torch.float64) if ls is None
                    else ls.to(torch.float64))
        return torch.cat([torch.stack(cols, dim=-1), o64.flatten(1)], dim=-1)

    def eval_stats():
        with torch.no_grad():
            out2, acts_tr = net(data.X_tr, observe=obs)
            return pair_stats(out2, acts_tr)

    @torch.no_grad()
    def take_snapshot(epoch_list, rows_stack, rows_orig):
        """Eval-mode activities of the snapshot points for stack rows -> stored for epochs in epoch_list."""
        if not epoch_list:
            return
        outs, reps = [], {l: [] for l in obs}
        for c in range(0, len(snap_pts), snapshot_chunk):
            o, a = net(data.X[:, snap_pts_t[c:c + snapshot_chunk]], observe=obs)
            outs.append(o[rows_stack].to(torch.float64).cpu())
            for l in obs:
                reps[l].append(a[l][rows_stack].to(torch.float64).cpu())
        o = torch.cat(outs, 1).numpy()
        r = {l: torch.cat(reps[l], 1).numpy() for l in obs}
        for e in epoch_list:
            snap_out[e][rows_orig] = o
            for l in obs:
                if l not in snap_rep[e]:
                    snap_rep[e][l] = np.full((S,) + r[l].shape[1:], np.nan)
                snap_rep[e][l][rows_orig] = r[l]

    prog = _Progress(progress, progress_label, epochs, seeds, stop_loss) if progress else None
    t_loop, c_loop = time.perf_counter(), time.process_time()
    k_last = -1
    for k in range(epochs):
        recorded = k % record_every == 0
        track_k = recorded or k in snap_set
        stats = None                       # (S', n_stat) record rows of this epoch, if computed
        ls = None                          # (S',) tracked loss (eval mode), if computed
        out = loss_tr = None
        if reuse:
            out, acts = engine.forward(data.X, obs_set if track_k else (), True)
            loss_tr = engine.loss(out, data.Y)
            if pair_is_data:
                ls = loss_tr
            elif track_k or stop_loss is not None:
                ls = _loss_per_net(out[:, data.tidx].detach(), data.Y_tr, loss)
            if track_k:
                stats = pair_stats(out[:, data.tidx], {l: acts[l][:, data.tidx] for l in obs}, ls)
        else:
            if track_k or (stop_loss is not None and not train_stop):
                stats = eval_stats()
                ls = stats[:, n_obs + 2]
            if full_batch:
                out, _ = engine.forward(data.X, (), True)
                loss_tr = engine.loss(out, data.Y)
        if recorded:
            rec[rows, k // record_every] = stats
        k_last = k
        if k in snap_set:
            take_snapshot([k], slice(None), alive)
        if stop_loss is not None:
            hit_t = (loss_tr if train_stop else ls).to(torch.float64) < stop_loss
            if bool(hit_t.any()):
                hit = hit_t.cpu().numpy()
                orig = alive[hit]
                stopped[orig] = True
                last_epoch[orig] = k
                if stats is None:
                    stats = eval_stats()
                fin[orig] = stats[hit_t].cpu().numpy()
                take_snapshot([e for e in snaps if e > k], hit_t, orig)
                keep = ~hit
                alive = alive[keep]
                if not keep.any():
                    break
                # Remove them from the stack (no compute is spent on frozen networks).
                keep_t = torch.as_tensor(keep, device=dev)
                net.compact(keep_t)
                engine.compact(keep_t)
                data.compact(keep_t)
                if shuffle_gens is not None:
                    shuffle_gens = [g for g, kp in zip(shuffle_gens, keep) if kp]
                rows = torch.as_tensor(alive, device=dev)
                if out is not None:
                    if engine.can_compact_cache:
                        out, loss_tr = out[keep_t], loss_tr[keep_t]
                    else:
                        out, _ = engine.forward(data.X, (), True)
                        loss_tr = engine.loss(out, data.Y)
        if full_batch:
            engine.step(out, data.Y, data.lr)
            rec_train[rows, k] = loss_tr.to(torch.float64)
        else:
            S_cur = len(alive)
            if shuffle:
                perm = torch.stack([torch.randperm(N, generator=g) for g in shuffle_gens]).to(dev)
            else:
                perm = torch.arange(N, device=dev).unsqueeze(0).expand(S_cur, N)
            acc = torch.zeros(S_cur, dtype=torch.float64, device=dev)
            srows = torch.arange(S_cur, device=dev).unsqueeze(1)
            for c in range(0, N, bs):
                idx = perm[:, c:c + bs]                                                  # (S', b)
                if data.per_net or shuffle:
                    xb, yb = data.X[srows, idx], data.Y[srows, idx]
                else:
                    xb, yb = data.X[:, c:c + bs], data.Y[:, c:c + bs]
                out, _ = engine.forward(xb, (), True)
                loss_s = engine.loss(out, yb)
                engine.step(out, yb, data.lr)
                acc += loss_s.to(torch.float64) * idx.shape[1]
            loss_tr = acc / N
            rec_train[rows, k] = loss_tr
        if prog is not None:
            prog.tick(k + 1, alive, loss_tr)
    loop_seconds, loop_cpu = time.perf_counter() - t_loop, time.process_time() - c_loop

    # Final state of the networks that ran all epochs (after the last update).
    if len(alive):
        fin[alive] = eval_stats().cpu().numpy()
        take_snapshot([e for e in snaps if e > k_last], slice(None), alive)
    if prog is not None:
        prog.done(k_last + 1, stopped)

    T = k_last // record_every + 1
    rec_np = rec[:, :T].cpu().numpy()
    n_updates = last_epoch.copy()
    n_records = np.minimum(last_epoch, epochs - 1) // record_every + 1
    res = {
        "epoch": np.arange(T) * record_every,
        "h": rec_np[..., :n_obs],
        "y": rec_np[..., n_obs],
        "w": rec_np[..., n_obs + 1],
        "loss": rec_np[..., n_obs + 2],
        "train_loss": rec_train[:, :k_last + 1].cpu().numpy(),
        "outputs": rec_np[..., n_obs + 3:].reshape(S, T, 2, D_out),
        "final_h": fin[:, :n_obs],
        "final_y": fin[:, n_obs],
        "final_w": fin[:, n_obs + 1],
        "final_loss": fin[:, n_obs + 2],
        "final_outputs": fin[:, n_obs + 3:].reshape(S, 2, D_out),
        "n_records": n_records,
        "n_updates": n_updates,
        "stopped": stopped,
        "observe": np.asarray(obs, dtype=np.int64),
        "seed": np.asarray(seeds, dtype=np.int64),
        "lr": lr_arr,
        "dx2": dx2,
        "dy2": dy2,
        "record_every": np.asarray(record_every),
        "stop_on": np.asarray(stop_on if train_stop else "eval"),
    }
    if single_obs:
        res["h"] = res["h"][..., 0]
        res["final_h"] = res["final_h"][..., 0]
    if snaps:
        res["snapshot_epochs"] = np.asarray(snaps, dtype=np.int64)
        res["snapshot_points"] = snap_pts
        res["snapshot_outputs"] = np.stack([snap_out[e] for e in snaps], axis=1)
        for l in obs:
            res[f"reps_l{l}"] = np.stack([snap_rep[e][l] for e in snaps], axis=1)
        res["reps"] = res[f"reps_l{obs[0]}"]
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
