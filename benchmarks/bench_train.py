"""Training benchmark of learndyn.deepnets against a plain PyTorch loop and the memory-bandwidth floor.

For every architecture of paper B's figure 5 (spec universality.md 6.1 / Table 1: default, convolution,
skip, shallow, narrow, dropout, linear, relu, elu, tanh, swish) on the two-point task (spec 4.1, full
batch, SGD at the Table-1 learning rate), measured in one run, interleaved (every repeat runs every method
once, in turn; the table shows the minimum over repeats, the least disturbed by other load):

* ``floor``  the memory-bandwidth floor of one epoch on this machine, with the same library: every
  parameter tensor of the network streamed the number of times an epoch must touch it - read once
  (forward) and read-and-written once (backward plus update) - as ``p.sum()`` and ``p.add_(0.0)``;
* ``plain``  a plain PyTorch SGD loop on the same initial weights: ``nn.Linear`` / ``nn.Conv1d`` /
  ``nn.Dropout`` modules, ``zero_grad``, ``loss.backward()``, ``optimizer.step()``, no tracking;
* ``ld``     learndyn's training (``deepnets.train``), recording h, y, w, loss and outputs at every epoch
  (what the figure-5 fit-pool trainings run);
* ``ld-nt``  the same without per-epoch tracking (``record_every`` = all epochs: epoch 0 and the final state
  only, what the figure-5 grid trainings need);
* ``base``   (with ``--baseline PATH``) ``learndyn.deepnets`` from another copy, e.g. the committed version:
  the package folder (``mkdir -p /tmp/head && git archive HEAD src/learndyn/deepnets | tar -x -C /tmp/head``,
  then ``--baseline /tmp/head/src/learndyn/deepnets``) or, for a commit before the package split, the single
  file (``git show <commit>:src/learndyn/deepnets.py > /tmp/deepnets_old.py``); for before/after in one run.
  It is timed as (run of E epochs - run of 1 epoch) / (E - 1), so its set-up is excluded as for the others.

Then the default network stacked ``S`` = 2, 5, 10, 50 per process (independent seeds, one batched call):
milliseconds per stack-epoch and per network-epoch, against the floor of the stacked weights.

Times are per epoch, one thread (``--threads``), CPU time of the process (``--clock cpu``, robust to other
jobs taking the core; ``--clock wall`` for wall-clock). No reference numbers are hard-coded.

Usage::

    PYTHONPATH=src python benchmarks/bench_train.py [--epochs 30] [--repeats 3] [--archs default,relu]
        [--stack 2,5,10,50] [--stack-epochs 10] [--baseline /tmp/head/src/learndyn/deepnets] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from learndyn import deepnets as dn

FIG5_ARCHS = ("default", "convolution", "skip", "shallow", "narrow", "dropout", "linear", "relu",
              "elu", "tanh", "swish")


# ------------------------------------------------------------------------------------------------
# The plain PyTorch reference loop
# ------------------------------------------------------------------------------------------------

_ACTS = {"leaky_relu": lambda: torch.nn.LeakyReLU(0.01), "relu": torch.nn.ReLU, "elu": torch.nn.ELU,
         "tanh": torch.nn.Tanh, "silu": torch.nn.SiLU, "none": torch.nn.Identity}


class PlainNet(torch.nn.Module):
    """One network of ``arch`` as ordinary ``torch.nn`` modules, built from ``dn.initial_parameters``."""

    def __init__(self, arch: dn.ArchSpec, seed: int):
        super().__init__()
        self.arch = arch
        layers = []
        for W, b in dn.initial_parameters(arch, seed):
            m = (torch.nn.Linear(W.shape[1], W.shape[0]) if W.ndim == 2
                 else torch.nn.Conv1d(W.shape[1], W.shape[0], W.shape[2]))
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(W))
                m.bias.copy_(torch.from_numpy(b))
            layers.append(m)
        self.layers = torch.nn.ModuleList(layers)
        self.act = _ACTS[arch.activation]()
        self.drop = torch.nn.Dropout(arch.dropout_p) if arch.kind == "dropout" else None

    def forward(self, x):
        kind, n = self.arch.kind, len(self.layers)
        hist, a = [], x
        for i, m in enumerate(self.layers):
            if kind == "cnn" and i == 1:
                a = a.unsqueeze(1)
            if kind == "cnn" and i == n - 1:
                a = a.flatten(1)
            if self.drop is not None:
                a = self.drop(a)
            z = m(a)
            if i == n - 1:
                return z
            a = self.act(z)
            if kind == "resnet":
                if i >= 2:
                    a = a + hist[i - 2]
                hist.append(a)
        raise AssertionError


def plain_loop(arch, lr, X, Y):
    """``epochs -> None``: that many epochs of the plain loop (forward, backward, step; no tracking)."""
    model = PlainNet(arch, 0).train()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.as_tensor(X), torch.as_tensor(Y)

    def run(epochs):
        for _ in range(epochs):
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
    return run


def floor_loop(arch, S=1):
    """``epochs -> None``: stream every parameter tensor of ``S`` stacked networks once read-only and once
    read-and-write per epoch (``p.sum()``, ``p.add_(0.0)``): the bytes an epoch must move."""
    params = dn.build(arch, list(range(S))).params()
    params = [p.detach().clone() for p in params]

    def run(epochs):
        for _ in range(epochs):
            for p in params:
                p.sum()
                p.add_(0.0)
    return run, sum(p.numel() * p.element_size() for p in params)


# ------------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------------

class Clock:
    def __init__(self, kind):
        self.now = time.process_time if kind == "cpu" else time.perf_counter
        self.key = "loop_cpu_seconds" if kind == "cpu" else "loop_seconds"


def timed(clock, fn, epochs):
    t0 = clock.now()
    fn(epochs)
    return (clock.now() - t0) / epochs


def ld_run(mod, clock, arch, X, Y, seeds, lr, epochs, **kw):
    """Seconds per epoch of ``mod.train_batched``'s epoch loop (set-up and final state excluded)."""
    res = mod.train_batched(arch, X, Y, seeds, lr=lr, epochs=epochs, **kw)
    if clock.key in res:
        return float(res[clock.key]) / epochs
    # a module without loop timers (--baseline): difference of a long and a 1-epoch run
    t0 = clock.now()
    mod.train_batched(arch, X, Y, seeds, lr=lr, epochs=epochs, **kw)
    t1 = clock.now()
    mod.train_batched(arch, X, Y, seeds, lr=lr, epochs=1, **kw)
    t2 = clock.now()
    return ((t1 - t0) - (t2 - t1)) / (epochs - 1)


def load_module(path):
    """Another ``learndyn.deepnets``: a package folder (``deepnets/``) or a single file (``deepnets.py``, before
    the split), imported as ``learndyn._bench_baseline_deepnets`` (its relative imports reach learndyn)."""
    name = "learndyn._bench_baseline_deepnets"
    if os.path.isdir(path):          # a package: its own __package__, its modules from the folder
        spec = importlib.util.spec_from_file_location(name, os.path.join(path, "__init__.py"),
                                                      submodule_search_locations=[path])
        mod = importlib.util.module_from_spec(spec)
    else:                            # one file: relative imports from learndyn
        spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=None)
        mod = importlib.util.module_from_spec(spec)
        mod.__package__ = "learndyn"
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def summarise(samples):
    return min(samples), statistics.median(samples)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=30, help="epochs per timed run (default 30)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats (minimum reported)")
    ap.add_argument("--archs", default=",".join(FIG5_ARCHS), help="comma-separated Table-1 rows")
    ap.add_argument("--stack", default="2,5,10,50", help="stack sizes S of the default net ('' = skip)")
    ap.add_argument("--stack-epochs", type=int, default=10, help="epochs per timed stacked run (S <= 10; "
                    "fewer for larger S, at least 3)")
    ap.add_argument("--baseline", default=None,
                    help="another deepnets package folder (or deepnets.py) to time in the same run")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--quick", action="store_true", help="--epochs 10 --repeats 2 --stack 2,5 --stack-epochs 4")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.repeats, args.stack, args.stack_epochs = 10, 2, "2,5", 4

    torch.set_num_threads(args.threads)
    clock = Clock(args.clock)
    base = load_module(args.baseline) if args.baseline else None
    X, Y = dn.two_point_dataset()
    names = [a for a in args.archs.split(",") if a]
    E = args.epochs
    t_start = time.perf_counter()
    print(f"torch {torch.__version__}, {platform.machine()}, os.cpu_count()={os.cpu_count()}, "
          f"threads={torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} at start")
    print(f"two-point task, full batch, SGD at the Table-1 lr; {E} epochs per run, {args.repeats} interleaved "
          f"repeats, {args.clock} time, minimum over repeats (median in brackets), ms per epoch\n")

    methods = {}
    for name in names:
        row = dn.table1(name)
        arch, lr = row["arch"], row["lr"]
        fl, nbytes = floor_loop(arch)
        m = {"floor": lambda e, f=fl: timed(clock, f, e),
             "plain": lambda e, f=plain_loop(arch, lr, X, Y): timed(clock, f, e),
             "ld": lambda e, a=arch, l=lr: ld_run(dn, clock, a, X, Y, [0], l, e),
             "ld-nt": lambda e, a=arch, l=lr: ld_run(dn, clock, a, X, Y, [0], l, e, record_every=e)}
        if base is not None:
            m["base"] = lambda e, a=arch, l=lr: ld_run(base, clock, a, X, Y, [0], l, e)
        methods[name] = (m, nbytes, arch)
    samples = {n: {k: [] for k in methods[n][0]} for n in names}
    for n in names:                                          # warm-up (allocator, MKL, first-call costs)
        for fn in methods[n][0].values():
            fn(2)
    for _ in range(args.repeats):
        for n in names:
            for k, fn in methods[n][0].items():
                samples[n][k].append(fn(E))

    cols = list(next(iter(samples.values())))
    head = (f"{'architecture':12s} {'kind':7s} {'L':>3s} {'P':>4s} {'MB':>6s} " +
            " ".join(f"{c:>15s}" for c in cols) + f" {'plain/ld':>8s} {'ld/floor':>8s}" +
            (f" {'base/ld':>7s}" if base is not None else ""))
    print(head)
    print("-" * len(head))
    for n in names:
        _, nbytes, arch = methods[n]
        st = {k: summarise(v) for k, v in samples[n].items()}
        cells = " ".join(f"{st[c][0] * 1e3:7.2f} ({st[c][1] * 1e3:5.1f})" for c in cols)
        line = (f"{n:12s} {arch.kind:7s} {arch.n_hidden:3d} {arch.width:4d} {nbytes / 1e6:6.2f} {cells} "
                f"{st['plain'][0] / st['ld'][0]:7.2f}x {st['ld'][0] / st['floor'][0]:7.2f}x")
        if base is not None:
            line += f" {st['base'][0] / st['ld'][0]:6.2f}x"
        print(line)
    print("\nplain/ld > 1: learndyn faster than the plain loop; ld/floor: learndyn's epoch over the bandwidth "
          "floor (1 = at the floor).")

    stack = [int(s) for s in args.stack.split(",") if s]
    if stack:
        row = dn.table1("default")
        arch, lr = row["arch"], row["lr"]
        print(f"\nStacked default networks (S independent seeds in one process, one batched call; "
              f"{args.repeats} repeats, minimum):")
        print(f"{'S':>4s} {'epochs':>6s} {'GB':>6s} {'floor ms':>9s} {'ld ms/stack-ep':>15s} "
              f"{'ld ms/net-ep':>13s} {'ld-nt ms/net-ep':>16s} {'ld/floor':>9s}")
        for S in [1] + stack:
            e = max(3, args.stack_epochs * 10 // max(S, 10))
            fl, nbytes = floor_loop(arch, S)
            seeds = list(range(S))
            fns = {"floor": lambda e_, f=fl: timed(clock, f, e_),
                   "ld": lambda e_: ld_run(dn, clock, arch, X, Y, seeds, lr, e_),
                   "ld-nt": lambda e_: ld_run(dn, clock, arch, X, Y, seeds, lr, e_, record_every=e_)}
            sm = {k: [] for k in fns}
            for fn in fns.values():
                fn(1 if S > 10 else 2)
            for _ in range(args.repeats):
                for k, fn in fns.items():
                    sm[k].append(fn(e))
            f_, l_, nt = min(sm["floor"]), min(sm["ld"]), min(sm["ld-nt"])
            print(f"{S:4d} {e:6d} {nbytes / 1e9:6.2f} {f_ * 1e3:9.2f} {l_ * 1e3:15.2f} {l_ / S * 1e3:13.2f} "
                  f"{nt / S * 1e3:16.2f} {l_ / f_:8.2f}x")
            del fl
    print(f"\nbenchmark wall time {time.perf_counter() - t_start:.0f} s, load average "
          f"{os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
