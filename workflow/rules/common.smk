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


def figure_files(paper, fig):
    """The three outputs of a figure's plot rule."""
    d = RESULTS / paper / "figures"
    return {"pdf": str(d / f"{fig}.pdf"), "png": str(d / f"{fig}.png"), "checks": str(d / f"{fig}_checks.tsv")}
