"""Time the full-scale Figure 2C protocol of paper A (spec exact-dynamics.md section 6, Fig. 2C).

50 random networks x 7 learning rates, gradient descent to the spec's stopping rule (<= 20 000 steps)
and the exact loss (Theorem 3.1) at every step, exactly as the workflow's ``a2_sweep`` rule runs
it. Prints the wall time, the number of training steps and the time per (training + exact) step.

    python benchmarks/bench_fig2c.py                # full protocol, one process per core
    python benchmarks/bench_fig2c.py --procs 1      # single process
    python benchmarks/bench_fig2c.py --networks 5   # a quick look

Reference (issue 2): the authors' code needs about 510 us per step, about 45 minutes for the sweep
on a 2-core machine.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from learndyn import io  # noqa: E402
from learndyn.figures.paper_a import fig2  # noqa: E402


def _batch(args):
    cfg, batch, n_batches = args
    t0 = time.perf_counter()
    df = fig2.compute_sweep(cfg, batch=batch, n_batches=n_batches)
    return df, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--networks", type=int, default=None, help="override the number of networks")
    args = ap.parse_args()
    cfg = yaml.safe_load(open(Path(__file__).resolve().parents[1] / "config.yaml"))["paper_a"]["fig2"]
    if args.networks:
        cfg["sweep"]["n_networks"] = args.networks
    n_batches = max(args.procs, 1) * 4  # interleaved batches balance the very different network sizes
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.procs) as pool:
        results = list(pool.map(_batch, [(cfg, b, n_batches) for b in range(n_batches)]))
    wall = time.perf_counter() - t0
    df = io.concat(r[0] for r in results)
    steps = io.select(df, quantity="n_steps")["value"].to_numpy()
    n_steps = int(steps.sum() + len(steps))  # states 0..k per (network, eta)
    cpu = sum(r[1] for r in results)
    s = cfg["sweep"]
    print(f"Figure 2C protocol: {s['n_networks']} networks x {s['n_etas']} learning rates, "
          f"{n_steps:,} training steps, each with the exact loss")
    print(f"wall time {wall:.1f} s on {args.procs} process(es); summed worker time {cpu:.1f} s")
    print(f"per step (training + exact solution): {1e6 * wall * args.procs / n_steps:.1f} us of one core "
          f"(reference: ~510 us)")
    print(f"speed-up over the reference 45 min on 2 cores: {45 * 60 / wall:.1f}x")


if __name__ == "__main__":
    main()
