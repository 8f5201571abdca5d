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

Modules (one idea each; this package re-exports the public names below):

* :mod:`~learndyn.deepnets.arch`      architectures (:class:`ArchSpec`, activations), Table 1, two-point data
* :mod:`~learndyn.deepnets.nets`      stacked networks (:class:`StackedNet`, :func:`build`), initialisation,
  random streams, devices
* :mod:`~learndyn.deepnets.optim`     the training step: loss, SGD / Adam, autograd and fused SGD engines
* :mod:`~learndyn.deepnets.track`     the measurements (:func:`pair_hyw`, records, snapshots, final states)
* :mod:`~learndyn.deepnets.progress`  progress lines of long runs
* :mod:`~learndyn.deepnets.training`  :func:`train_batched` (in named stages) and :func:`train`
"""

from __future__ import annotations

from .arch import ACTIVATIONS, TABLE1, ArchSpec, table1, two_point_dataset
from .nets import StackedNet, build, initial_parameters, resolve_device
from .track import pair_hyw
from .training import train, train_batched

__all__ = [
    "ACTIVATIONS", "ArchSpec", "TABLE1", "table1", "two_point_dataset", "pair_hyw",
    "StackedNet", "build", "initial_parameters", "train", "train_batched", "resolve_device",
]
