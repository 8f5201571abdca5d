"""Record rule (`snakemake record`): the full-scale results record docs/results/record.{json,md} (learndyn.record).

Reads what exists: the check tables results/<paper>/figures/figN_checks.tsv, the provenance stamp in the PNG
beside each (commit; the date is the check table's modification time: stamps carry no date, so that figure files
are byte-reproducible), the benchmark files logs/benchmarks/<paper>/*.tsv (wall time per figure), this machine
(cores, CPU model from /proc/cpuinfo, GPU model from nvidia-smi) and the existing record, which it merges with.
A figure of RECORD_PARTIAL (record.smk) without a check table is recorded from the data files of its completed
items. results/smoke/ is never read."""
import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)
import _rule  # noqa: E402

_rule.setup(snakemake)
import pandas as pd  # noqa: E402

from learndyn import io  # noqa: E402
from learndyn import record as rec  # noqa: E402
from learndyn.figures import registry  # noqa: E402


def _date(path) -> str:
    """Modification time of ``path``, ISO 8601 in UTC to the second."""
    t = datetime.datetime.fromtimestamp(os.path.getmtime(path), tz=datetime.timezone.utc)
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def this_machine() -> dict:
    cpu = None
    try:
        cpu = rec.cpu_model(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        pass
    cpu = cpu or platform.processor() or platform.machine() or None
    try:
        res = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=60)
        gpus = res.stdout if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        gpus = None
    return rec.machine(os.cpu_count(), cpu, rec.gpu_models(gpus))


def _log_commit(path: Path):
    """The commit named by the rule log ``path`` (None when missing or without the line)."""
    try:
        return rec.log_commit(path.read_text(errors="replace"))
    except OSError:
        return None


def benchmark_seconds(folder: Path) -> dict[str, float]:
    """``{file stem: summed s column}`` of the benchmark files in ``folder``."""
    out = {}
    for path in sorted(folder.glob("*.tsv")) if folder.is_dir() else []:
        try:
            table = pd.read_csv(path, sep="\t")
            out[path.stem] = float(pd.to_numeric(table["s"], errors="coerce").sum())
        except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
            print(f"WARNING: benchmark file {path} not read ({exc})")
    return out


def complete_entries(papers, results: Path, benchmarks: Path, machine) -> dict:
    entries = {}
    for paper in papers:
        figures = results / paper / "figures"
        seconds = rec.wall_times(paper, benchmark_seconds(benchmarks / paper))
        for path in sorted(figures.glob("fig*_checks.tsv")) if figures.is_dir() else []:
            fig = path.name.removesuffix("_checks.tsv")
            if not re.fullmatch(r"fig\d+", fig):
                continue
            png = path.with_name(f"{fig}.png")
            stamp = rec.stamp_of(rec.png_text(png.read_bytes())) if png.exists() else {}
            if stamp.get("scale", "full") != "full":
                print(f"skipped {path}: its PNG says scale {stamp['scale']!r}, not full")
                continue
            entries[rec.figure_key(paper, fig)] = rec.figure_entry(
                paper, fig, io.read_checks(path), commit=stamp.get("git_commit", "unknown"), date=_date(path),
                date_source="check table written", machine=machine, wall_time_s=seconds.get(fig), stamp=stamp,
                note="" if stamp else f"no provenance stamp in {png.name}: commit unknown")
    return entries


def partial_entries(specs, results: Path, benchmarks: Path, machine, done) -> dict:
    entries = {}
    for spec in specs:
        key = rec.figure_key(spec["paper"], spec["figure"])
        if key in done:
            continue  # the figure's check table exists: recorded complete
        check = registry.figure(spec["id"]).checks
        seconds = benchmark_seconds(benchmarks / spec["paper"])
        per_item = {}
        for item in spec["cfg"][spec["key"]]:
            path = results / spec["paper"] / "data" / spec["data"].format(item=item)
            if not path.exists():
                continue
            try:
                checks = check(io.read_trajectories(path), {**spec["cfg"], spec["key"]: [item]})
            except Exception as exc:  # noqa: BLE001 -- one unreadable item must not lose the others
                print(f"WARNING: {key} item {item!r} not recorded: {type(exc).__name__}: {exc}")
                continue
            stems = [stem for stem in seconds if rec.benchmark_item(stem, spec["bench_prefix"], item)]
            item_seconds = [seconds[stem] for stem in stems]
            commit = rec.joint_commit(_log_commit(benchmarks.parent / spec["paper"] / f"{stem}.log") for stem in stems)
            per_item[item] = rec.item_entry(checks, commit=commit, date=_date(path),
                                            date_source="data file written", machine=machine,
                                            wall_time_s=sum(item_seconds) if item_seconds else None)
        if per_item:
            entries[key] = rec.partial_entry(spec["paper"], spec["figure"], spec["key"], spec["cfg"][spec["key"]],
                                             per_item)
    return entries


def _write_text(path, text):
    io.atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def main():
    p = snakemake.params
    if p.scale != "full":
        raise SystemExit(f"snakemake record records full-scale results only (results/<paper>/); this run has scale "
                         f"{p.scale!r}: run `snakemake record` without --config scale=...")
    results, benchmarks, out = Path(p.results), Path(p.benchmarks), Path(p.record_dir)
    machine = this_machine()
    print("machine:", machine["description"])
    entries = complete_entries(p.papers, results, benchmarks, machine)
    entries.update(partial_entries(p.partial, results, benchmarks, machine, set(entries)))
    json_path = out / "record.json"
    old = rec.from_json(json_path.read_text(encoding="utf-8")) if json_path.exists() else None
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    record, actions = rec.merge(old, entries, p.papers, updated=now)
    for key, what in actions.items():
        print(f"{key}: {what}")
    for paper in p.papers:
        print(record["papers"][paper]["line"])
    _write_text(json_path, rec.to_json(record))
    _write_text(out / "record.md", rec.to_markdown(record, p.papers))
    print(f"wrote {json_path} and {out / 'record.md'}")


_rule.run(snakemake, main)
