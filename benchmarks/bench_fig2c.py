"""Paper A Figure 2C protocol: learndyn against a plain reference implementation, measured in one run.

The protocol (spec exact-dynamics.md section 6, Fig. 2C): per network, gradient descent at 7 learning rates
until the stopping rule (<= 20 000 steps), and the exact loss (Theorem 3.1) at every step.

* learndyn: ``fig2.compute_sweep`` for that one network, exactly as the workflow's ``a2_sweep`` rule runs it
  (training in ``sweep.precision`` of config/paper_a.yaml, closed form in float64).
* reference (written here, numpy only, float64, no batching): per step one full-batch gradient step on the
  correlation matrices, then the closed-form loss at that step from the Theorem-3.1 factors recomputed
  (SVDs of W2W1(0) and sigma_yx, B, C, B^-1, ...), then ``W(t) = Z_b A^-1 Z_t^T`` and
  ``L = 1/2 ||W - sigma_yx||^2 + L*``: what a straightforward implementation of spec 2.3 does. Its cost per
  step does not depend on the step, so it runs the first ``--ref-steps`` steps of every learning rate and
  its time for the whole protocol is extrapolated from them; its closed-form losses are compared with
  learndyn's at those steps (printed as ``agree``).

Both sides run in their own worker process (one thread each), interleaved network by network (the order
alternates), and are timed by the CPU time of their process (wall time printed as well). Nothing is
compared with numbers from elsewhere.

    python benchmarks/bench_fig2c.py --networks 13,10,4      # chosen networks (the largest: 13, 10, 4, 17)
    python benchmarks/bench_fig2c.py                         # all 50 networks (minutes)
    python benchmarks/bench_fig2c.py --sweep --procs 2       # only the learndyn sweep, wall time on 2 processes
"""

import argparse
import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from learndyn import exact, io, metrics  # noqa: E402
from learndyn.figures.paper_a import fig2  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config" / "paper_a.yaml"


# --------------------------------------------------------------------------- plain reference
def ref_exact_loss(w1, w2, syx, syy, t):
    """Theorem 3.1 (spec 2.3) at one time ``t``, factors recomputed, ``W = Z_b A^-1 Z_t^T``."""
    ni, no = syx.shape[1], syx.shape[0]
    k = min(ni, no)
    u, s, vh = np.linalg.svd(w2 @ w1, full_matrices=False)
    u, s, v = u[:, :k], s[:k], vh[:k].T
    ut_full, st, vth_full = np.linalg.svd(syx, full_matrices=True)
    ut, vt = ut_full[:, :k], vth_full[:k].T
    uhat = ut_full[:, k:] if no > ni else np.zeros((no, 0))
    vhat = vth_full[k:].T if ni > no else np.zeros((ni, 0))
    b = u.T @ ut + v.T @ vt
    c = u.T @ ut - v.T @ vt
    binv = np.linalg.inv(b)
    e = np.diag(np.exp(-st * t))
    d = np.diag((1.0 - np.exp(-2.0 * st * t)) / st)
    ge = e @ c.T @ binv.T @ e
    z_top = vt - vt @ ge + 2.0 * vhat @ vhat.T @ v @ binv.T @ e
    z_bot = ut + ut @ ge + 2.0 * uhat @ uhat.T @ u @ binv.T @ e
    a = (d + e @ binv @ (4.0 * np.diag(1.0 / s) + c @ d @ c.T
                         + 4.0 * t * (v.T @ vhat @ vhat.T @ v + u.T @ uhat @ uhat.T @ u)) @ binv.T @ e)
    w = z_bot @ np.linalg.solve(a, z_top.T)
    return 0.5 * np.sum((w - syx) ** 2) + 0.5 * np.trace(syy) - 0.5 * np.sum(syx ** 2)


def ref_protocol(seed, c, n_steps):
    """The reference on network ``seed``: its first ``n_steps`` steps at every learning rate.
    Returns (CPU s, wall s, steps run, {eta index: closed-form losses})."""
    net = fig2.sweep_network(seed, c)
    syx, syy = net["task"].sigma_yx, net["task"].sigma_yy
    lstar = 0.5 * np.trace(syy) - 0.5 * np.sum(syx ** 2)
    c0, w0 = time.process_time(), time.perf_counter()
    ana, steps = {}, 0
    for j, eta in enumerate(fig2.learning_rates(c)):
        w1, w2 = net["w1"].copy(), net["w2"].copy()
        sim, out = [], []
        for k in range(n_steps):
            err = syx - w2 @ w1
            sim.append(0.5 * np.sum(err ** 2) + lstar)
            out.append(ref_exact_loss(net["w1"], net["w2"], syx, syy, k * eta))
            if (k > c["min_steps"] and abs(sim[-1] - sim[-2]) < c["tol"]
                    and sim[-1] < sim[0] - c["drop"]):
                break
            w1, w2 = w1 + eta * w2.T @ err, w2 + eta * err @ w1.T
        ana[j] = np.array(out)
        steps += len(out)
    return time.process_time() - c0, time.perf_counter() - w0, steps, ana


def learndyn_protocol(seed, c):
    """learndyn's Fig. 2C protocol (``fig2.sweep_network_rows``, what ``compute_sweep`` runs per network) on
    network ``seed`` alone. Returns (CPU s, wall s, states, df)."""
    c0, w0 = time.process_time(), time.perf_counter()
    df = fig2.sweep_network_rows({"sweep": c}, seed - c["seed0"])
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    n = int(io.select(df, quantity="n_steps")["value"].sum()) + len(fig2.learning_rates(c))
    return cpu, wall, n, df


def learndyn_exact(seed, c, n_steps):
    net = fig2.sweep_network(seed, c)
    t = net["task"]
    f = exact.riccati_factors(net["w1"], net["w2"], t.sigma_yx)
    ls = metrics.optimal_loss(t.sigma_yx, t.sigma_yy)
    return {j: exact.loss_from_factors(f, np.arange(n_steps) * eta, ls) for j, eta in enumerate(fig2.learning_rates(c))}


def _sweep_batch(args):
    cfg, batch, n_batches = args
    return fig2.compute_sweep(cfg, batch=batch, n_batches=n_batches)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", default="all", help="'all' or comma-separated network indices")
    ap.add_argument("--ref-steps", type=int, default=150, help="reference steps per learning rate (sampled)")
    ap.add_argument("--precision", choices=("float32", "float64"), default=None,
                    help="override sweep.precision of config/paper_a.yaml (learndyn's training dtype)")
    ap.add_argument("--sweep", action="store_true", help="only the learndyn sweep, in parallel batches")
    ap.add_argument("--procs", type=int, default=2, help="processes for --sweep")
    args = ap.parse_args()
    config = yaml.safe_load(open(CONFIG))
    c = config["paper_a"]["fig2"]["sweep"]
    if args.precision:
        c["precision"] = args.precision
    nets = range(c["n_networks"]) if args.networks == "all" else [int(x) for x in args.networks.split(",")]

    if args.sweep:
        n_batches = config["batches"]["a2_sweep"]
        cfg = {"sweep": c}
        w0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.procs) as pool:
            dfs = list(pool.map(_sweep_batch, [(cfg, b, n_batches) for b in range(n_batches)]))
        wall = time.perf_counter() - w0
        steps = io.select(io.concat(dfs), quantity="n_steps")["value"]
        print(f"learndyn Fig. 2C sweep, {c['n_networks']} networks x {c['n_etas']} learning rates "
              f"({c['precision']} training), {int(steps.sum() + len(steps)):,} steps: {wall:.1f} s wall on "
              f"{args.procs} processes ({n_batches} batches, as the a2_sweep rule); load {os.getloadavg()}")
        return

    print(f"Fig. 2C protocol, learndyn ({c['precision']} training, float64 closed form) vs plain reference "
          f"(float64, {args.ref_steps} sampled steps per learning rate); CPU time per process; load {os.getloadavg()}")
    print(f"{'net':>4} {'Ni,Nh,No':>10} {'steps':>8} {'learndyn us/step':>17} {'reference us/step':>18} "
          f"{'ratio':>7} {'agree':>8}")
    tot_l = tot_r = tot_steps = 0.0
    wall_l = 0.0
    rows = []
    with ProcessPoolExecutor(max_workers=1) as lpool, ProcessPoolExecutor(max_workers=1) as rpool:
        for n_i, i in enumerate(nets):
            seed = c["seed0"] + i
            first_l = n_i % 2 == 0
            order = ["l", "r"] if first_l else ["r", "l"]
            res = {}
            for side in order:
                if side == "l":
                    res["l"] = lpool.submit(learndyn_protocol, seed, c).result()
                else:
                    res["r"] = rpool.submit(ref_protocol, seed, c, args.ref_steps).result()
            cpu_l, wl, n_steps, _ = res["l"]
            cpu_r, _, r_steps, r_ana = res["r"]
            l_ana = lpool.submit(learndyn_exact, seed, c, args.ref_steps).result()
            agree = max(np.max(np.abs(r_ana[j] - l_ana[j][: len(r_ana[j])])) for j in r_ana)
            us_l, us_r = 1e6 * cpu_l / n_steps, 1e6 * cpu_r / r_steps
            net = fig2.sweep_network(seed, c)
            dims = f"{net['ni']},{net['nh']},{net['no']}"
            print(f"{i:>4} {dims:>10} {n_steps:>8} {us_l:>17.1f} {us_r:>18.1f} {us_r / us_l:>7.1f} {agree:>8.1e}",
                  flush=True)
            rows.append((i, net["ni"] * net["nh"] * net["no"], us_l, us_r, n_steps))
            tot_l += cpu_l
            wall_l += wl
            tot_r += us_r * 1e-6 * n_steps
            tot_steps += n_steps
    print(f"\nall {len(rows)} networks, {int(tot_steps):,} steps: learndyn {1e6 * tot_l / tot_steps:.1f} us/step "
          f"({tot_l:.1f} s CPU, {wall_l:.1f} s wall, one core); reference {1e6 * tot_r / tot_steps:.1f} us/step "
          f"(extrapolated {tot_r:.0f} s = {tot_r / 60:.1f} min on one core); ratio {tot_r / tot_l:.1f}")
    big = sorted(rows, key=lambda r: -r[1])[:5]
    tl, tr = sum(r[2] * r[4] for r in big), sum(r[3] * r[4] for r in big)
    print(f"largest networks (top {len(big)} by Ni*Nh*No): ratio {tr / tl:.1f} over them; "
          + ", ".join(f"net {r[0]}: {r[3] / r[2]:.1f}" for r in big))
    if len(rows) == c["n_networks"]:
        print(f"full sweep on 2 cores (ideal split of the CPU time): learndyn >= {tot_l / 2:.0f} s, reference "
              f">= {tot_r / 2 / 60:.1f} min")


if __name__ == "__main__":
    main()
