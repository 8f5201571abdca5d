# Shared helpers of the workflow: config presets and validation (before any job starts),
# dependency tracking of the core package, output locations, the list of all figure targets.
import ast
import importlib.util
import json
import sys
from pathlib import Path

from snakemake.common.configfile import load_configfile
from snakemake.exceptions import WorkflowError

ROOT = Path(workflow.basedir)
SRC = ROOT / "src"
RESULTS = Path("results")
LOGS = Path("logs")
ALL_TARGETS = []  # every figure's files; each paper's rule file appends its own


# ------------------------------------------------------------------ configuration
# Validation lives in workflow/scripts/config_validation.py (pure Python, tested directly): JSON schemas
# (workflow/schemas), finite numbers, a table of relational rules (ordered ranges, relations between keys, names
# that must exist, bounds on step counts), batch keys vs the batched rules. It runs here, while the Snakefile is
# parsed, so a bad value fails before any job starts, naming the dotted key and what is allowed.
def _load_config_validation():
    spec = importlib.util.spec_from_file_location(
        "learndyn_config_validation", ROOT / "workflow" / "scripts" / "config_validation.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


CONFIG_VALIDATION = _load_config_validation()


def _user_values():
    """The values the user gave: --configfile files (not the workflow's own config/ files) and --config
    entries (values nested in a --config mapping arrive as text: read as YAML where the schema wants no text).
    Returns (values, paths of the --config entries). They win over the scale preset (README, Configuration)."""
    settings = getattr(workflow, "config_settings", None)
    if settings is None:
        return {}, []
    own = {f.resolve() for f in CONFIG_VALIDATION.CONFIG_FILES}
    values = {}
    for f in settings.configfiles:
        if Path(f).resolve() not in own:
            values = CONFIG_VALIDATION.deep_merge(values, load_configfile(f) or {})
    cli = CONFIG_VALIDATION.coerce_cli(json.loads(json.dumps(dict(settings.config or {}), default=dict)))
    values = CONFIG_VALIDATION.deep_merge(values, cli)
    return values, [p for p, _ in CONFIG_VALIDATION.atoms(cli)]


def resolve_config(given):
    """The workflow's config (config/, CONFIG_VALIDATION.load_raw) with the values the run was ``given``
    (--configfile, --config) merged over it, the scale preset applied (user values win over it) and every preset
    validated; notes go to stderr."""
    user, cli_paths = _user_values()
    try:
        raw = CONFIG_VALIDATION.deep_merge(CONFIG_VALIDATION.load_raw(), given)
        cfg, notes = CONFIG_VALIDATION.resolve(raw, user, cli_paths)
    except CONFIG_VALIDATION.ConfigError as exc:
        raise WorkflowError(str(exc)) from None
    for note in notes[:10]:
        print(f"config: {note}", file=sys.stderr)
    if len(notes) > 10:
        print(f"config: ... and {len(notes) - 10} more of your values replace preset values", file=sys.stderr)
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
    "paper_a": {
        "title": "Paper A — Exact learning dynamics of deep linear networks with prior knowledge (Braun et al.)",
        "figures": 9,
        "subcategory": "Figure {n:02d}",
        "short": "Fig. {n}",
    },
    "paper_b": {
        "title": "Paper B — When Representations Align (van Rossem & Saxe)",
        "figures": 16,
        "subcategory": "Figure {n:02d}",
        "short": "Fig. {n}",
    },
    "paper_c": {
        "title": "Paper C — From Lazy to Rich (Dominé et al.)",
        "figures": 8,
        "subcategory": "Group L{n}",
        "short": "L{n}",
    },
}
REPORT_CAPTIONS = ROOT / "workflow" / "report"  # caption of figure <paper>/<fig>: <paper>/<fig>.rst


def figure_files(paper, fig):
    """The three outputs of a figure's plot rule. The PNG is registered for ``snakemake --report``: caption
    ``workflow/report/<paper>/<fig>.rst``, category = the paper, subcategory = the figure (PAPERS)."""
    d = RESULTS / paper / "figures"
    caption = REPORT_CAPTIONS / paper / f"{fig}.rst"
    info = PAPERS.get(paper, {"title": paper, "subcategory": "Figure {n}"})
    n = fig.removeprefix("fig")
    png = report(
        str(d / f"{fig}.png"),
        caption=str(caption) if caption.exists() else None,
        category=info["title"],
        subcategory=info["subcategory"].format(n=int(n)) if n.isdigit() else fig,
    )
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
