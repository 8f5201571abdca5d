"""Where the minutes of a workflow run go: the per-job times from snakemake's benchmark files.

Every compute rule writes ``logs/benchmarks/<paper>/<rule>[_<wildcards>].tsv`` (``s`` = wall seconds,
``cpu_time``, ``max_rss`` in MB). This prints one row per job, sorted by wall time, one row per rule
(jobs summed), the totals, and, with ``--checks``, the acceptance checks of the figures
(``results/<paper>/figures/*_checks.tsv``: passed / total).

    python benchmarks/rule_times.py                              # every benchmark file of the full scale
    python benchmarks/rule_times.py --papers paper_a paper_c --checks
    python benchmarks/rule_times.py --root /tmp/ac_run --since 1700000000   # only files written after
"""

import argparse
import csv
from collections import defaultdict
from pathlib import Path


def read_tsv(path: Path) -> dict:
    with open(path) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows:
        return {}
    row = rows[-1]                       # a --benchmark-repeats run: the last repeat

    def num(key):
        try:
            return float(row.get(key, "nan"))
        except ValueError:
            return float("nan")
    return {"s": num("s"), "cpu": num("cpu_time"), "rss": num("max_rss")}


def log_jobs(path: Path) -> None:
    """Wall time per job from a snakemake log: '[<date>]' lines, 'rule <name>:' / 'localrule', 'jobid: <n>',
    'wildcards: ...' and 'Finished job[id:] <n>' (includes queueing behind other jobs on busy cores)."""
    import re
    from datetime import datetime
    stamp, start, name = None, {}, {}
    current = last = None
    rows = []
    for line in open(path):
        line = line.rstrip()
        m = re.match(r"^\[(\w{3} \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4})\]$", line)
        if m:
            stamp = datetime.strptime(re.sub(r"\s+", " ", m.group(1)), "%a %b %d %H:%M:%S %Y")
            continue
        m = re.match(r"^(local)?rule (\S+):$", line)
        if m:
            current = m.group(2)
            continue
        m = re.match(r"^\s+jobid: (\d+)$", line)
        if m and current:
            last = m.group(1)
            start[last], name[last] = stamp, current
            continue
        m = re.match(r"^\s+wildcards: (.*)$", line)
        if m and current and last is not None:
            name[last] = f"{name[last]} [{m.group(1)}]"
            current, last = None, None
            continue
        m = re.match(r"^Finished job(?:id:)? (\d+)", line)
        if m and m.group(1) in start:
            rows.append(((stamp - start[m.group(1)]).total_seconds(), name[m.group(1)]))
    rows.sort(reverse=True)
    print(f"jobs from {path} (wall s, start to finish):")
    for sec, job in rows:
        if not job.startswith("fig_"):
            print(f"  {job:<50} {sec:>7.0f}")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=".", help="workflow directory (default: here)")
    ap.add_argument("--scale", default="full", help="full (logs/benchmarks) or a preset (logs/<scale>/benchmarks)")
    ap.add_argument("--papers", nargs="*", default=None, help="e.g. paper_a paper_c (default: all)")
    ap.add_argument("--since", type=float, default=None, help="only files modified after this Unix time")
    ap.add_argument("--checks", action="store_true", help="also count the figures' passed checks")
    ap.add_argument("--top", type=int, default=40, help="job rows to print")
    ap.add_argument("--log", default=None,
                    help="a snakemake log (.snakemake/log/*.log): also list the wall time of every job from its start "
                         "and 'Finished job' lines, including rules without a benchmark file")
    args = ap.parse_args()
    root = Path(args.root)
    if args.log:
        log_jobs(Path(args.log))
    bench = root / "logs" / ("benchmarks" if args.scale == "full" else f"{args.scale}/benchmarks")
    jobs = []
    for path in sorted(bench.glob("*/*.tsv")):
        paper = path.parent.name
        if args.papers and paper not in args.papers:
            continue
        if args.since is not None and path.stat().st_mtime < args.since:
            continue
        rec = read_tsv(path)
        if rec:
            jobs.append((paper, path.stem, rec))
    if not jobs:
        print(f"no benchmark files under {bench}")
        return
    jobs.sort(key=lambda j: -j[2]["s"])
    print(f"{'job':<44} {'wall s':>8} {'cpu s':>8} {'max_rss MB':>11}")
    for paper, stem, r in jobs[: args.top]:
        print(f"{paper + '/' + stem:<44} {r['s']:>8.1f} {r['cpu']:>8.1f} {r['rss']:>11.0f}")
    if len(jobs) > args.top:
        print(f"... {len(jobs) - args.top} more jobs")
    # per rule: strip the wildcard suffix (a digit batch index or a name after the rule)
    rules = defaultdict(lambda: [0, 0.0, 0.0])
    for paper, stem, r in jobs:
        parts = stem.split("_")
        name = "_".join(parts[:2]) if len(parts) > 1 else stem
        agg = rules[f"{paper}/{name}"]
        agg[0] += 1
        agg[1] += r["s"]
        agg[2] += r["cpu"]
    print(f"\n{'rule (jobs summed)':<44} {'jobs':>5} {'wall s':>8} {'cpu s':>8}")
    for name, (n, s, cpu) in sorted(rules.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:<44} {n:>5} {s:>8.1f} {cpu:>8.1f}")
    tot_s = sum(r["s"] for _, _, r in jobs)
    tot_cpu = sum(r["cpu"] for _, _, r in jobs)
    print(f"\n{len(jobs)} jobs: summed wall {tot_s:.1f} s ({tot_s / 60:.1f} min), summed CPU {tot_cpu:.1f} s "
          f"(on 2 cores at best {tot_cpu / 2 / 60:.1f} min); the run's own wall time is not in these files")
    if args.checks:
        res = root / "results" if args.scale == "full" else root / "results" / args.scale
        n_ok = n_all = 0
        print()
        for path in sorted(res.glob("*/figures/*_checks.tsv")):
            if args.papers and path.parent.parent.name not in args.papers:
                continue
            with open(path) as fh:
                rows = list(csv.DictReader(fh, delimiter="\t"))
            ok = sum(r["passed"].strip().lower() == "true" for r in rows)
            n_ok += ok
            n_all += len(rows)
            failed = [r["check"] for r in rows if r["passed"].strip().lower() != "true"]
            print(f"{path.parent.parent.name}/{path.name:<24} {ok:>3}/{len(rows):<3}"
                  + (f"  FAILED: {'; '.join(failed)}" if failed else ""))
        print(f"checks passed: {n_ok}/{n_all}")


if __name__ == "__main__":
    main()
