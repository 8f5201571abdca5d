"""Benchmark of learndyn.deepnets: seconds per training epoch, and the paper-B figure-5 CPU budget.

Measures, on this machine, the two-point task (spec universality.md 4.1) with the default network
(20 hidden layers x 500 units, leaky ReLU, gain 1, SGD lr 0.005, full batch; spec 5.2 / Table 1):

* one network at a time (the default fused SGD engine, and the autograd engine for comparison);
* ``--batch`` networks (independent seeds) trained at once as stacked weights;
* one network of every Table-1 architecture (short runs), for a per-architecture projection;

and projects the full-scale figure-5 cost with the counts of spec section 8: per architecture 50 fit
trainings x 6000 epochs + 25 test trainings (5 x 5 grid, lr = 0.4 x Table 1, stop at loss < 1e-4,
at most 40 000 epochs; "typically 5k-20k" -> 12 500 assumed, 40 000 as the upper bound).

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_deepnets.py [--threads 1] [--epochs 100]
        [--batch 10] [--repeats 3] [--device cpu] [--json benchmarks/out/bench_deepnets.json]

For the per-architecture comparison with a plain PyTorch loop and the memory-bandwidth floor, and stacked
networks per process, see ``benchmarks/bench_train.py``.

Timings: process CPU seconds and wall-clock seconds with ``--threads`` intra-op threads; the
projection uses CPU seconds on CPU (robust to other jobs sharing the machine) and wall seconds on
CUDA. Repeats report the minimum (least disturbed by other load) and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from learndyn import deepnets as dn

FIG2_ARCHS = ("default", "convolution", "skip", "shallow", "narrow", "dropout", "linear", "relu",
              "elu", "tanh", "swish")                     # the 11 required Fig-5 architectures (spec 6.1)
TABLE1_ROWS = FIG2_ARCHS + ("low", "intermediate", "high", "very_high")   # all 15 paper Table-1 rows
FIT_RUNS, FIT_EPOCHS = 50, 6000
TEST_RUNS, TEST_EPOCHS_TYPICAL, TEST_EPOCHS_MAX = 25, 12_500, 40_000


def per_epoch(arch, X, Y, seeds, epochs, repeats, **kw):
    """Seconds per epoch of ``train_batched`` on ``len(seeds)`` networks, build time excluded.

    Returns ``{"cpu": (min, median), "wall": (min, median)}``: process CPU seconds (all threads of this
    process; robust to other jobs on a shared machine) and wall-clock seconds.
    """
    cpu, wall = [], []
    dn.train_batched(arch, X, Y, seeds, epochs=3, **kw)                     # warm-up
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        dn.build(arch, seeds, device=kw.get("device", "cpu"))
        w1, c1 = time.perf_counter(), time.process_time()
        dn.train_batched(arch, X, Y, seeds, epochs=epochs, **kw)
        w2, c2 = time.perf_counter(), time.process_time()
        wall.append(((w2 - w1) - (w1 - w0)) / epochs)
        cpu.append(((c2 - c1) - (c1 - c0)) / epochs)
    return {"cpu": (min(cpu), statistics.median(cpu)), "wall": (min(wall), statistics.median(wall))}


def fmt(t, n=1):
    return (f"{t['cpu'][0] / n * 1e3:7.2f} ms CPU (median {t['cpu'][1] / n * 1e3:.2f}), "
            f"{t['wall'][0] / n * 1e3:7.2f} ms wall (median {t['wall'][1] / n * 1e3:.2f})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=100, help="epochs per timed run (default network)")
    ap.add_argument("--arch-epochs", type=int, default=30, help="epochs per timed run (other rows)")
    ap.add_argument("--batch", type=int, default=10, help="networks trained at once")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default="benchmarks/out/bench_deepnets.json")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    dev = dn.resolve_device(args.device)
    X, Y = dn.two_point_dataset()
    row = dn.table1("default")
    arch, lr = row["arch"], row["lr"]
    kw = dict(lr=lr, device=str(dev))
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"os.cpu_count()={os.cpu_count()}, threads={torch.get_num_threads()}, device={dev}"
          + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""))
    print(f"default network: {arch.n_hidden} x {arch.width}, {arch.activation}, gain {arch.gain}, "
          f"two points, SGD lr {lr}, full batch; {args.epochs} epochs x {args.repeats} repeats\n")

    out = {"torch": torch.__version__, "threads": args.threads, "device": str(dev),
           "cpu_count": os.cpu_count(), "epochs": args.epochs, "batch": args.batch}
    single = per_epoch(arch, X, Y, [0], args.epochs, args.repeats, **kw)
    print(f"single, fused SGD       : {fmt(single)} per epoch")
    auto = per_epoch(arch, X, Y, [0], args.epochs, args.repeats, engine="autograd", **kw)
    print(f"single, autograd SGD    : {fmt(auto)} per epoch")
    seeds = list(range(args.batch))
    batched = per_epoch(arch, X, Y, seeds, args.epochs, args.repeats, **kw)
    print(f"batched x{args.batch:<3d} fused SGD : {fmt(batched)} per batch epoch")
    print(f"                     = {fmt(batched, args.batch)} per network-epoch")
    out.update(single=single, single_autograd=auto, batched=batched)
    key = "wall" if dev.type == "cuda" else "cpu"          # CPU time is the budget on CPU
    per_net_default = min(single[key][0], batched[key][0] / args.batch)

    print(f"\nper-architecture (single network, {args.arch_epochs} epochs, min of {args.repeats}, "
          f"{key} time):")
    arch_s = {}
    for name in TABLE1_ROWS:
        r = dn.table1(name)
        if name == "default":
            arch_s[name] = per_net_default
        else:
            arch_s[name] = per_epoch(r["arch"], X, Y, [0], args.arch_epochs, args.repeats,
                                     lr=r["lr"], device=str(dev), optimizer=r["optimizer"])[key][0]
        a = r["arch"]
        print(f"  {name:13s} {a.kind:8s} L={a.n_hidden:<3d} P={a.width:<4d} "
              f"{arch_s[name] * 1e3:8.2f} ms/epoch")
    out["per_arch_s"] = arch_s

    per_arch_epochs_typ = FIT_RUNS * FIT_EPOCHS + TEST_RUNS * TEST_EPOCHS_TYPICAL
    per_arch_epochs_max = FIT_RUNS * FIT_EPOCHS + TEST_RUNS * TEST_EPOCHS_MAX
    print(f"\nFigure 5 projection (spec 8): per architecture {FIT_RUNS} x {FIT_EPOCHS} fit epochs + "
          f"{TEST_RUNS} x {TEST_EPOCHS_TYPICAL} (typical; max {TEST_EPOCHS_MAX}) test epochs "
          f"= {per_arch_epochs_typ / 1e6:.3f} M epochs (max {per_arch_epochs_max / 1e6:.3f} M)")
    proj = {}
    for label, names in (("11 required architectures", FIG2_ARCHS),
                         ("15 Table-1 rows", TABLE1_ROWS)):
        sec = sum(arch_s[n] for n in names)
        typ, mx = sec * per_arch_epochs_typ / 3600, sec * per_arch_epochs_max / 3600
        proj[label] = {"cpu_hours_typical": typ, "cpu_hours_max": mx}
        print(f"  {label:26s}: {typ:6.1f} {'GPU' if dev.type == 'cuda' else 'CPU'}-hours typical, "
              f"{mx:6.1f} at the 40k-epoch cap ({args.threads} thread(s) per training)")
    n14 = 14 * 75
    h14 = 14 * per_net_default * per_arch_epochs_typ / 3600
    proj["14 x default cost"] = {"cpu_hours_typical": h14}
    print(f"  14 architectures at the default net's cost ({n14} trainings): {h14:6.1f} CPU-hours typical")
    out["projection"] = proj
    out["fig5_epochs_per_arch"] = {"typical": per_arch_epochs_typ, "max": per_arch_epochs_max}

    if args.json:
        p = Path(args.json)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(out, indent=2))
        print(f"\nwrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
