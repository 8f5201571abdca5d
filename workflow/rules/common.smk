# Shared helpers of the workflow: config presets and validation (before any job starts),
# dependency tracking of the core package, output locations, the list of all figure targets.
import ast
import copy
import json
from pathlib import Path

import jsonschema
import yaml
from snakemake.exceptions import WorkflowError

ROOT = Path(workflow.basedir)
SRC = ROOT / "src"
SCHEMAS = ROOT / "workflow" / "schemas"
RESULTS = Path("results")
LOGS = Path("logs")
ALL_TARGETS = []  # every figure's files; each paper's rule file appends its own


# ------------------------------------------------------------------ configuration
def _deep_merge(base, over):
    out = copy.deepcopy(base)
    for key, val in over.items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def _schema(name):
    with open(SCHEMAS / name) as fh:
        return yaml.safe_load(fh)


def _describe(error, schema_root):
    path = ".".join(str(p) for p in error.absolute_path) or "<top level>"
    msg = error.message
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        msg += f"; allowed keys here: {', '.join(allowed)}"
    elif error.validator == "required":
        msg += " (add it to config.yaml)"
    return f"config key '{path}': {msg}"


def validate_config(cfg, where="config.yaml"):
    """Validate the merged config against workflow/schemas; raise one error naming every bad key."""
    problems = []
    top = _schema("config.schema.yaml")
    validator = jsonschema.Draft202012Validator(top)
    problems += [_describe(e, top) for e in validator.iter_errors(cfg)]
    # each paper section holds one entry per figure, validated by workflow/schemas/<paper>/<figure>.schema.yaml
    for section in sorted(k for k in cfg if k.startswith("paper_") and isinstance(cfg[k], dict)):
        files = {f.name.removesuffix(".schema.yaml"): f for f in (SCHEMAS / section).glob("*.schema.yaml")}
        for key in sorted(set(cfg[section]) - set(files)):
            problems.append(f"config key '{section}.{key}': unknown figure; allowed: {', '.join(sorted(files)) or 'none yet'}")
        for key in sorted(set(files) - set(cfg[section])):
            problems.append(f"config key '{section}.{key}' is missing (add it to config.yaml)")
        for key in sorted(set(files) & set(cfg[section])):
            sch = _schema(files[key].relative_to(SCHEMAS))
            for e in jsonschema.Draft202012Validator(sch).iter_errors(cfg[section][key]):
                e.path.appendleft(key)
                e.path.appendleft(section)
                problems.append(_describe(e, sch))
    if problems:
        raise WorkflowError(f"invalid configuration ({where}):\n  " + "\n  ".join(sorted(set(problems))))


def resolve_config(raw):
    """Apply the scale preset and validate (every preset is checked, not only the chosen one)."""
    raw = dict(raw)
    presets = raw.pop("presets", {}) or {}
    scale = raw.get("scale", "full")
    if scale not in presets and scale != "full":
        raise WorkflowError(f"config key 'scale': {scale!r} is not a preset; allowed: {sorted(set(presets) | {'full'})}")
    for name, over in presets.items():
        if not isinstance(over, dict):
            raise WorkflowError(f"config key 'presets.{name}' must be a mapping")
        merged = _deep_merge(raw, over)
        merged["scale"] = scale
        validate_config(merged, where=f"config.yaml with preset '{name}'")
    cfg = _deep_merge(raw, presets.get(scale, {}))
    validate_config(cfg)
    return cfg


config.update(resolve_config(config))
config.pop("presets", None)

# A run at a preset scale (e.g. smoke) writes under results/<scale>/ and logs/<scale>/: it never
# overwrites (or is mistaken for) the full-scale results in results/<paper>/.
if config.get("scale", "full") != "full":
    RESULTS = RESULTS / config["scale"]
    LOGS = LOGS / config["scale"]


# ------------------------------------------------------------------ core dependencies
def _module_file(name):
    base = SRC.joinpath(*name.split("."))
    if (base / "__init__.py").exists():
        return base / "__init__.py"
    if base.with_suffix(".py").exists():
        return base.with_suffix(".py")
    return None


def _imports(name, file):
    tree = ast.parse(file.read_text(), filename=str(file))
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return {m for m in found if m == "learndyn" or m.startswith("learndyn.")}


def core_deps(*modules):
    """Source files of the learndyn modules that ``modules`` import (transitively), so that a change
    to the core reruns exactly the rules it affects."""
    seen, todo, files = set(), list(modules), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        file = _module_file(name)
        if file is None:
            continue
        files.add(file)
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = _module_file(".".join(parts[:i]))
            if parent is not None:
                files.add(parent)
        todo.extend(_imports(name, file))
    return sorted(str(f.relative_to(ROOT)) for f in files)


# The papers: report category (no ':' -- the names become reStructuredText link targets in the report), number
# of figures of the paper (the claims summary lists the ones not implemented), and the names of figure n in the
# report's menu (zero-padded: the report sorts names as text) and in the claims tables. Paper C's figures are the
# spec's figure groups L1-L8 (its own figure numbering beyond Fig. 1 is unknown).
PAPERS = {
    "paper_a": {"title": "Paper A — Exact learning dynamics of deep linear networks with prior knowledge (Braun et al.)",
                "figures": 9, "subcategory": "Figure {n:02d}", "short": "Fig. {n}"},
    "paper_b": {"title": "Paper B — When Representations Align (van Rossem & Saxe)", "figures": 16,
                "subcategory": "Figure {n:02d}", "short": "Fig. {n}"},
    "paper_c": {"title": "Paper C — From Lazy to Rich (Dominé et al.)", "figures": 8,
                "subcategory": "Group L{n}", "short": "L{n}"},
}
REPORT_CAPTIONS = ROOT / "workflow" / "report"  # caption of figure <paper>/<fig>: <paper>/<fig>.rst


def figure_files(paper, fig):
    """The three outputs of a figure's plot rule. The PNG is registered for ``snakemake --report``: caption
    ``workflow/report/<paper>/<fig>.rst``, category = the paper, subcategory = the figure (PAPERS)."""
    d = RESULTS / paper / "figures"
    caption = REPORT_CAPTIONS / paper / f"{fig}.rst"
    info = PAPERS.get(paper, {"title": paper, "subcategory": "Figure {n}"})
    n = fig.removeprefix("fig")
    png = report(str(d / f"{fig}.png"), caption=str(caption) if caption.exists() else None, category=info["title"],
                 subcategory=info["subcategory"].format(n=int(n)) if n.isdigit() else fig)
    return {"pdf": str(d / f"{fig}.pdf"), "png": png, "checks": str(d / f"{fig}_checks.tsv")}


# ------------------------------------------------------------------ cluster resources
# Every compute rule declares threads, mem_mb (MB) and runtime (minutes); profiles/slurm turns them
# into sbatch requests. Nothing cluster-specific (partition, account, status command) belongs in
# the rules: it lives in the profile. See docs/DEVELOPING.md, "Resources and cluster execution".
BENCHMARKS = LOGS / "benchmarks"  # benchmark: files (wall time, max RSS) used to size resources


def per_attempt(base):
    """Resource callable ``base * attempt``: a job that SLURM killed for memory or wall time is
    resubmitted (``retries`` in profiles/slurm) with twice, three times, ... the request.
    ``base``: a number, or a function of the wildcards (e.g. a runtime that grows with the sweep)."""
    if callable(base):
        return lambda wildcards, attempt: max(1, int(round(base(wildcards) * attempt)))
    return lambda wildcards, attempt: max(1, int(round(base * attempt)))


def sweep_runtime(n_items, n_batches, seconds_per_item, overhead_min=5):
    """Wall time (minutes) to request for one batch job of a sweep of ``n_items`` split into
    ``n_batches`` jobs (items ``range(batch, n_items, n_batches)``, at most
    ``ceil(n_items / n_batches)`` per job): ``overhead_min`` (Python and snakemake start-up in the
    job, a margin) plus ``seconds_per_item`` (measured with ``benchmark:``, times a safety factor)
    per item, rounded up to whole minutes."""
    per_job = -(-n_items // n_batches)
    return overhead_min + int(-(-(per_job * seconds_per_item) // 60))


def gpu_resources(n=1):
    """Rule resources asking for ``n`` GPUs when config ``resources.gpu`` is true, else ``{}``.

    Use in deep-network training rules as ``resources: mem_mb=..., runtime=..., **gpu_resources()``
    together with ``params: device=torch_device()``. snakemake-executor-plugin-slurm turns
    ``gpu=n`` into ``sbatch --gpus=n`` (``--gpus=<gpu_model>:n`` when ``resources.gpu_model`` is
    set) and ``srun --gpus=n`` in the job step; a local run honours ``--resources gpu=1`` (at most
    one GPU job at a time)."""
    res = config["resources"]
    if not res["gpu"]:
        return {}
    out = {"gpu": int(n)}
    if res["gpu_model"]:
        out["gpu_model"] = res["gpu_model"]
    return out


def torch_device():
    """``"cuda"`` when config ``resources.gpu`` is true, else ``"cpu"`` (``learndyn.deepnets.resolve_device``)."""
    return "cuda" if config["resources"]["gpu"] else "cpu"


# ------------------------------------------------------------------ paper B helpers
# (kept here, as snakemake --lint asks; they read paper_b.smk's B_CFG / B2_BATCHES at call time)
def _b_train_minutes(rows, epochs_factor=1.0, n_nets=1):
    """Wall-time request (minutes) of training ``rows``: ~35 ms per epoch of a 20 x 500 net on one shared core
    (spec 8; measured 31 ms under load), scaled by the number of hidden weights; plus the fits."""
    cost = sum(r["epochs"] * max(r["n_hidden"], 1) * r["width"] ** 2 / (20 * 500**2) for r in rows)
    return max(5, int(cost * epochs_factor * n_nets * 0.035 / 60 * 1.5) + 5)


def _b_rows(fig, batches=None, batch=None):
    names = list(B_CFG[fig]["rows"])
    if batch is not None:
        names = names[int(batch)::len(batches)]
    return [B_CFG[fig]["rows"][n] for n in names]


def _b_train_cfg(fig):
    """The keys of ``paper_b.<fig>`` that change a two-point training's numbers (_train.train_rows): the
    training rules get only these as params, so editing thresholds, fit grids or captions never retrains."""
    return {k: B_CFG[fig][k] for k in ("seed", "dx2", "dy2", "rows")}


def _b5_train_cfg(arch, keys):
    """Fig. 5 trainings of ``arch``: only ``keys`` of ``paper_b.fig5`` plus that architecture's Table-1 row, so
    editing thresholds, fit grids or the ``architectures`` list never retrains a pool or a grid."""
    return {**{k: B_CFG["fig5"][k] for k in keys}, "rows": {arch: B_CFG["fig2"]["rows"][arch]}}


def _b2_batch_of(name):
    """The fig2 batch whose training holds row ``name`` (rows are dealt round-robin to batches)."""
    return list(B_CFG["fig2"]["rows"]).index(name) % len(B2_BATCHES)
