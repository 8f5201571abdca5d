"""Architectures of paper B's deep networks (spec ``universality.md`` 5.1-5.2): :class:`ArchSpec`, the
activations and their derivatives, Table 1 (:data:`TABLE1`) and the two-point data of its rows (spec 4.1).

Part of :mod:`learndyn.deepnets` (its docstring describes the networks, the initialisation and the training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ACTIVATIONS", "KINDS", "ActivationOps", "activation_ops", "ArchSpec", "TABLE1", "table1",
           "two_point_dataset"]

#: Activation names accepted by :class:`ArchSpec` (spec 5.1). Aliases: ``swish`` = ``silu``,
#: ``linear`` = ``none``.
ACTIVATIONS = ("leaky_relu", "relu", "elu", "tanh", "silu", "none")
_ALIASES = {"swish": "silu", "linear": "none", "identity": "none", "leakyrelu": "leaky_relu",
            "leaky relu": "leaky_relu"}
#: Network kinds of spec 5.2 (see :mod:`learndyn.deepnets`).
KINDS = ("mlp", "resnet", "cnn", "dropout")


@dataclass(frozen=True)
class ActivationOps:
    """One activation of spec 5.1 (PyTorch's conventions at 0): ``forward(z)``; ``grad(g, z, y) = g * act'(z)``
    with ``y = act(z)``, PyTorch's own autograd kernel (one fused aten op: the same numbers as autograd);
    ``inplace(z)``, the forward overwriting ``z``, or ``None`` where ``grad`` reads the pre-activation ``z``
    (only SiLU; the others work from the output, so the fused engine applies them in place)."""

    forward: object
    inplace: object
    grad: object


_ATEN = torch.ops.aten
_ACTIVATION_OPS = {
    "leaky_relu": ActivationOps(lambda z: F.leaky_relu(z, 0.01), lambda z: F.leaky_relu_(z, 0.01),
                                lambda g, z, y: _ATEN.leaky_relu_backward(g, y, 0.01, True)),
    "relu": ActivationOps(F.relu, torch.relu_, lambda g, z, y: _ATEN.threshold_backward(g, y, 0.0)),
    "elu": ActivationOps(lambda z: F.elu(z, 1.0), lambda z: F.elu_(z, 1.0),
                         lambda g, z, y: _ATEN.elu_backward(g, 1.0, 1.0, 1.0, True, y)),
    "tanh": ActivationOps(torch.tanh, torch.tanh_, lambda g, z, y: _ATEN.tanh_backward(g, y)),
    "silu": ActivationOps(F.silu, None, lambda g, z, y: _ATEN.silu_backward(g, z)),
    "none": ActivationOps(lambda z: z, lambda z: z, lambda g, z, y: g),
}


def activation_ops(name: str) -> ActivationOps:
    """The :class:`ActivationOps` of activation ``name`` (one of :data:`ACTIVATIONS`, spec 5.1)."""
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
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; choose from {KINDS}")
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
    from ..datasets import two_point

    return two_point(dx2, dy2, dim_in=in_dim, dim_out=out_dim)
