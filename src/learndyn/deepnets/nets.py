"""Paper B's networks as stacked PyTorch modules (spec ``universality.md`` 5.1-5.2): ``S`` independent networks
of one :class:`~learndyn.deepnets.arch.ArchSpec` in one :class:`StackedNet`, their Xavier-normal initialisation
and their per-network random streams (initialisation, minibatch shuffling, dropout), devices and dtypes.

Part of :mod:`learndyn.deepnets` (its docstring describes the networks, the initialisation and the batching).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .arch import ArchSpec, activation_ops

__all__ = ["resolve_device", "STREAM_INIT", "STREAM_SHUFFLE", "STREAM_DROPOUT", "generator", "torch_dtype",
           "initial_parameters", "StackedNet", "build"]

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


#: Random streams of one network (see :func:`generator`): initialisation, minibatch shuffling, dropout masks.
STREAM_INIT = 0
STREAM_SHUFFLE = 1
STREAM_DROPOUT = 2


def _stream_seed(seed: int, stream: int) -> int:
    """Independent 63-bit seed for one random stream of one network (NumPy SeedSequence)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, stream]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def generator(seed: int, stream: int, device: torch.device) -> torch.Generator:
    """Generator of random stream ``stream`` (``STREAM_*``) of network ``seed`` on ``device``, derived from the
    seed only (spec 5.1), so that a network draws the same numbers alone or in a stack."""
    g = torch.Generator(device=device)
    g.manual_seed(_stream_seed(seed, stream))
    return g


_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def torch_dtype(dtype) -> torch.dtype:
    """The torch dtype of ``"float32"`` / ``"float64"`` (or a NumPy or torch dtype)."""
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
    g = generator(seed, STREAM_INIT, torch.device("cpu"))
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
        self.dtype = torch_dtype(dtype)
        self.layer_types = [t for t, _ in arch.layer_shapes()]
        self._act = activation_ops(arch.activation).forward
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
        self._dropout_gens = [generator(s, STREAM_DROPOUT, self.device) for s in (seeds or self.seeds)]

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
