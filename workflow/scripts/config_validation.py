"""Validation of the learndyn configuration, before any job starts (``workflow/rules/common.smk``).

Pure Python (PyYAML, jsonschema), importable by the tests. Every problem is reported as
``config key '<dotted.key>': <what is wrong>; allowed: <what is allowed>``, all problems at once.

Layers (all run on the merged config of every preset, not only the chosen one):

1. **JSON schemas** (``workflow/schemas/config.schema.yaml`` and one file per figure,
   ``workflow/schemas/<paper>/<figure>.schema.yaml``; the definitions several files share live in
   ``workflow/schemas/defs.schema.yaml``, referenced across files through :func:`schema_registry`): unknown keys,
   types, ranges, one key at a time. Every key has a ``description``; ``workflow/scripts/config_docs.py`` renders
   them with the defaults of :func:`load_raw` into ``config/README.md``.
2. **Finite numbers**: a walk over every value rejects NaN and +-inf (YAML ``.nan``, ``.inf``), which JSON
   schema ranges let through (``nan < 0`` is false), unless the key's schema says ``x-allow-nonfinite: true``.
3. **Relational rules** (:data:`RULES`): a table of declarative rules (scope, key, test, what is allowed) of the
   relations the code assumes: ordered ranges (``min < max``, increasing lists), relations between keys (sample
   counts vs input widths, hidden widths vs the initialisation's requirements, indices vs sizes, record steps vs
   step counts, ...), names that must exist (architectures vs the rows of ``paper_b.fig2``, ``relaxed_checks``
   labels vs the checks that can be relaxed, ``batches`` keys vs the batched rules), and sane upper bounds on
   step counts.

:func:`resolve` applies the scale preset (``presets.<scale>``) and validates. **Values the user gives**
(``--config`` entries and extra ``--configfile`` files, i.e. anything but the workflow's own ``config/`` files)
**win over the preset's**; each preset value so replaced is reported as a note. ``--config`` values nested in a
mapping (``--config 'batches={a2_sweep: 2}'``) reach the workflow as text (Snakemake's parser); :func:`coerce_cli`
reads them as YAML wherever the schema does not want text.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urljoin

import jsonschema
import referencing
import yaml
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
#: the workflow's own configuration: the global keys and one file per paper (disjoint top-level keys, merged), and
#: one file per scale preset in config/presets/ (``presets.<name>``; ``full`` is the files as they are)
CONFIG_DIR = ROOT / "config"
CONFIG_FILES = tuple(CONFIG_DIR / f for f in ("config.yaml", "paper_a.yaml", "paper_b.yaml", "paper_c.yaml"))
WHERE = "config/"
SCHEMAS = ROOT / "workflow" / "schemas"
RULE_FILES = ROOT / "workflow" / "rules"
FIGURE_MODULES = ROOT / "src" / "learndyn" / "figures"

#: Sane upper bounds (absurd values would hang or exhaust memory rather than fail).
STEP_CAP = 10**8            # gradient steps of any run (the largest default: 5e6, paper_a.fig7.max_steps)
DENSE_STEP_CAP = 10**6      # runs that store every step (every matrix of every step, simulated and closed form)
EPOCH_CAP = 10**6           # training epochs of a deep network (the largest default: 40 000)
POINTS_CAP = 10**6          # stored plot points / evaluation times
SAMPLES_CAP = 10**6         # training samples of a synthetic task (the largest default: 100)
COUNT_CAP = 10**5           # sweep sizes (networks, runs, trials, learning rates, seeds, grid points), MDS iterations

CLI_HINT = ("values nested in a --config mapping (e.g. --config 'batches={a2_sweep: 2}') arrive as text and are "
            "read as YAML where the schema wants a number, list or mapping; for more than a single value prefer a "
            "YAML file with --configfile")


class ConfigError(ValueError):
    """Invalid configuration; ``problems``: one line per bad key."""

    def __init__(self, where: str, problems: list[str], hint: str = ""):
        self.where, self.problems = where, problems
        text = f"invalid configuration ({where}):\n  " + "\n  ".join(problems)
        super().__init__(text + (f"\n  note: {hint}" if hint else ""))


class _Skip(Exception):
    """A rule's inputs are missing or of the wrong type: the schema reports them; the rule does not apply."""


_SKIPPED = (_Skip, KeyError, IndexError, TypeError, ValueError, ZeroDivisionError)


# ------------------------------------------------------------------ small helpers
def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, val in over.items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def dotted(path: Iterable) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def leaves(node: Any, path: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    """Every (path, value) of the non-container values of ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, path + (i,))
    else:
        yield path, node


def _num(x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise _Skip
    return x


def _int(x: Any) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise _Skip
    return x


def _get(node: Any, rel: str) -> Any:
    for part in rel.split(".") if rel else ():
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            raise _Skip
    return node


# ------------------------------------------------------------------ the configuration as written
def load_raw() -> dict:
    """The workflow's own configuration as written, presets included (``presets.<name>`` from
    ``config/presets/<name>.yaml``) and none applied. The one place that knows where the default configuration lives:
    the Snakefile (common.smk), the generated documentation (``workflow/scripts/config_docs.py``) and the tests read
    it through here. A top-level key in two files is an error naming both."""
    raw: dict = {}
    origin: dict = {}
    for path in CONFIG_FILES:
        with open(path) as fh:
            part = yaml.safe_load(fh) or {}
        for key, value in part.items():
            if key in raw:
                raise ConfigError(WHERE, [f"config key '{key}' is set in both {origin[key]} and {path.name}; allowed: "
                                          "each top-level key in one file of config/"])
            raw[key], origin[key] = value, path.name
    raw["presets"] = {"full": {}}
    for path in sorted((CONFIG_DIR / "presets").glob("*.yaml")):
        with open(path) as fh:
            raw["presets"][path.stem] = yaml.safe_load(fh) or {}
    return raw


# ------------------------------------------------------------------ layer 1: JSON schemas
def _absolute_refs(node: Any, base: str) -> Any:
    """``node`` with every ``$ref`` made absolute against ``base`` (the URI of the file it is written in)."""
    if isinstance(node, dict):
        return {k: urljoin(base, v) if k == "$ref" and isinstance(v, str) else _absolute_refs(v, base)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute_refs(v, base) for v in node]
    return node


@functools.lru_cache(maxsize=None)
def _load_schema(path: str) -> dict:
    """A schema file, its ``$ref`` values made absolute URIs (``file:///.../defs.schema.yaml#/$defs/seed``): a
    reference then means the same wherever its node ends up (in an error, under :func:`schema_at`)."""
    with open(path) as fh:
        return _absolute_refs(yaml.safe_load(fh), Path(path).resolve().as_uri())


@functools.lru_cache(maxsize=None)
def schema_registry() -> referencing.Registry:
    """Every schema file under ``workflow/schemas`` (``defs.schema.yaml``: the definitions several files share),
    by its file URI: what a ``$ref`` into another file resolves against."""
    files = sorted(SCHEMAS.rglob("*.schema.yaml"))
    return referencing.Registry().with_resources(
        (f.resolve().as_uri(), DRAFT202012.create_resource(_load_schema(str(f)))) for f in files)


@functools.lru_cache(maxsize=None)
def _validator(path: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_load_schema(path), registry=schema_registry())


def top_schema() -> dict:
    return _load_schema(str(SCHEMAS / "config.schema.yaml"))


def figure_schemas(section: str) -> dict[str, Path]:
    return {f.name.removesuffix(".schema.yaml"): f for f in sorted((SCHEMAS / section).glob("*.schema.yaml"))}


def _deref(node: Any, root: dict | None = None) -> Any:
    """Resolve a ``$ref``, in the same file or another one (:func:`schema_registry`; siblings of the ``$ref`` win:
    a key's own ``description`` or a tighter bound). ``root`` is unused (references are absolute)."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target = schema_registry().resolver().lookup(node["$ref"]).contents
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_at(path: tuple) -> tuple[dict | None, dict | None]:
    """``(subschema, its root schema)`` of the config key ``path`` (``(None, None)`` if no schema describes it)."""
    if len(path) >= 2 and str(path[0]).startswith("paper_"):
        files = figure_schemas(str(path[0]))
        if path[1] not in files:
            return None, None
        root = _load_schema(str(files[path[1]]))
        rest = path[2:]
    else:
        root = top_schema()
        rest = path
    node = root
    for part in rest:
        node = _deref(node, root)
        if not isinstance(node, dict):
            return None, None
        if isinstance(part, int):
            node = node.get("items")
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None, None
        if node is None:
            return None, None
    return _deref(node, root), root


_TYPE_WORDS = {"integer": "an integer", "number": "a finite number", "string": "a string", "boolean": "true or false",
               "array": "a list", "object": "a mapping", "null": "null"}


def describe_allowed(schema: dict, root: dict | None = None) -> str:
    """What a (sub)schema allows, in words (``allowed:`` part of the messages)."""
    schema = _deref(schema, root or schema)
    if "enum" in schema:
        return "one of " + ", ".join(fmt(v) for v in schema["enum"])
    if "const" in schema:
        return fmt(schema["const"])
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    text = " or ".join(_TYPE_WORDS.get(t, t) for t in types) or "a value"
    bounds = [f"{op} {fmt(schema[k])}" for k, op in (("minimum", ">="), ("exclusiveMinimum", ">"),
                                                      ("maximum", "<="), ("exclusiveMaximum", "<")) if k in schema]
    if bounds:
        text += " " + " and ".join(bounds)
    if "pattern" in schema:
        text += f" matching {schema['pattern']}"
    if "minLength" in schema:
        text += f" of at least {schema['minLength']} characters"
    lo, hi = schema.get("minItems"), schema.get("maxItems")
    if lo is not None and lo == hi:
        text += f" of exactly {lo} items"
    elif lo is not None or hi is not None:
        text += f" of {lo or 0} to {hi if hi is not None else 'any number of'} items"
    if schema.get("uniqueItems"):
        text += " without repeats"
    items = schema.get("items")
    if isinstance(items, dict):
        text += f", each {describe_allowed(items, root)}"
    return text


def _describe_schema_error(error: jsonschema.ValidationError, root: dict) -> str:
    path = dotted(error.absolute_path)
    msg = error.message
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        msg += f"; allowed: only the keys {', '.join(allowed)}"
    elif error.validator == "required":
        msg += "; allowed: every required key present (add it to config/)"
    elif error.validator == "propertyNames":
        msg += f"; allowed: key names {describe_allowed(error.schema.get('propertyNames', {}), root)}"
    elif error.validator in ("minProperties", "maxProperties"):
        msg += "; allowed: " + " and ".join(f"{k} {v}" for k, v in error.schema.items()
                                            if k in ("minProperties", "maxProperties"))
    else:
        msg += f"; allowed: {describe_allowed(error.schema, root)}"
    return f"config key '{path}': {msg}"


def schema_problems(cfg: dict) -> list[str]:
    """Layer 1: the JSON schemas (top level and one file per figure)."""
    problems = []
    top = top_schema()
    problems += [_describe_schema_error(e, top)
                 for e in _validator(str(SCHEMAS / "config.schema.yaml")).iter_errors(cfg)]
    for section in sorted(k for k in cfg if k.startswith("paper_") and isinstance(cfg[k], dict)):
        files = figure_schemas(section)
        for key in sorted(set(cfg[section]) - set(files)):
            problems.append(f"config key '{section}.{key}': unknown figure; "
                            f"allowed: {', '.join(sorted(files)) or 'none yet'}")
        for key in sorted(set(files) - set(cfg[section])):
            problems.append(f"config key '{section}.{key}' is missing; allowed: add it (config/paper_*.yaml have every figure)")
        for key in sorted(set(files) & set(cfg[section])):
            sch = _load_schema(str(files[key]))
            for e in _validator(str(files[key])).iter_errors(cfg[section][key]):
                e.path.appendleft(key)
                e.path.appendleft(section)
                problems.append(_describe_schema_error(e, sch))
    return problems


# ------------------------------------------------------------------ layer 2: finite numbers
def nonfinite_problems(cfg: dict) -> list[str]:
    """Layer 2: NaN / inf anywhere, except where the key's schema says ``x-allow-nonfinite: true``."""
    out = []
    for path, value in leaves(cfg):
        if isinstance(value, float) and not math.isfinite(value):
            sub, _ = schema_at(path)
            if sub and sub.get("x-allow-nonfinite"):
                continue
            out.append(f"config key '{dotted(path)}': {value!r} is not a finite number; allowed: a finite number "
                       "(YAML .nan / .inf are accepted only where the schema says x-allow-nonfinite)")
    return out


# ------------------------------------------------------------------ layer 3: relational rules
@dataclass(frozen=True)
class Rule:
    """One relational rule: at every mapping matching ``scope`` (dotted; ``*`` = every key or index) the value at
    ``key`` (dotted, relative to the scope) must pass ``test(value, node, cfg, path)``, which returns ``None`` or
    what is wrong; ``allowed`` (text, or a function of ``(node, cfg, path)``) says what is allowed. ``kind``:
    ``order`` | ``relation`` | ``name`` | ``bound``."""

    kind: str
    scope: str
    key: str
    test: Callable[..., str | None]
    allowed: str | Callable[..., str]

    def matches(self, cfg: dict) -> Iterable[tuple[tuple, Any]]:
        nodes = [((), cfg)]
        for part in self.scope.split("."):
            nxt = []
            for path, node in nodes:
                if part == "*":
                    if isinstance(node, dict):
                        nxt += [(path + (k,), v) for k, v in node.items()]
                    elif isinstance(node, list):
                        nxt += [(path + (i,), v) for i, v in enumerate(node)]
                elif isinstance(node, dict) and part in node:
                    nxt.append((path + (part,), node[part]))
            nodes = nxt
        return nodes

    def check(self, cfg: dict, skip: Iterable[tuple] = ()) -> tuple[list[str], int]:
        """``(problems, number of places where the rule applied)``. ``skip``: keys with a type / range problem; a
        scope holding one of them is not checked (its relations would only repeat that problem)."""
        problems, applied = [], 0
        for path, node in self.matches(cfg):
            if any(path[:len(bad)] == bad or bad[:len(path)] == path for bad in skip):
                continue
            try:
                value = _get(node, self.key)
                why = self.test(value, node, cfg, path)
            except _SKIPPED:
                continue
            applied += 1
            if why:
                try:
                    allowed = self.allowed(node, cfg, path) if callable(self.allowed) else self.allowed
                except _SKIPPED:
                    allowed = f"see the {self.kind} rule on '{self.key}' in workflow/scripts/config_validation.py"
                key = dotted(path + tuple(self.key.split("."))) if self.key else dotted(path)
                problems.append(f"config key '{key}': {why}; allowed: {allowed}")
        return problems, applied


def less(scope: str, a: str, b: str, *, strict: bool = True, note: str = "") -> Rule:
    """order: ``a < b`` (``a <= b`` unless ``strict``), both keys relative to ``scope``."""
    op = "<" if strict else "<="

    def test(va, node, cfg, path):
        x, y = _num(va), _num(_get(node, b))
        if (x < y) if strict else (x <= y):
            return None
        return f"{fmt(va)} is not {op} '{dotted(path + tuple(b.split('.')))}' ({fmt(y)})"

    return Rule("order", scope, a, test, f"{a} {op} {b}" + (f" ({note})" if note else ""))


def ordered_pair(scope: str, key: str, *, strict: bool = False, what: str = "[low, high]") -> Rule:
    """order: a two-item list ``[lo, hi]`` with ``lo <= hi`` (``<`` if ``strict``)."""
    def test(v, node, cfg, path):
        lo, hi = _num(v[0]), _num(v[1])
        return None if (lo < hi if strict else lo <= hi) else f"{fmt(v)} is reversed (first item above the second)"

    return Rule("order", scope, key, test, f"{what} with low {'<' if strict else '<='} high")


def increasing(scope: str, key: str, *, what: str) -> Rule:
    """order: a list strictly increasing."""
    def test(v, node, cfg, path):
        xs = [_num(x) for x in v]
        return None if all(a < b for a, b in zip(xs, xs[1:])) else f"{fmt(v)} is not strictly increasing"

    return Rule("order", scope, key, test, f"strictly increasing values ({what})")


def relation(scope: str, key: str, holds: Callable[..., bool], allowed: str | Callable[..., str],
             why: str | Callable[..., str] = "violates the relation") -> Rule:
    """relation: ``holds(value, node, cfg)``; ``why`` may use the value."""
    def test(v, node, cfg, path):
        if holds(v, node, cfg):
            return None
        return why(v, node, cfg) if callable(why) else f"{fmt(v)} {why}"

    wrapped = (lambda node, cfg, path: allowed(node, cfg)) if callable(allowed) else allowed
    return Rule("relation", scope, key, test, wrapped)


def names_in(scope: str, key: str, choices: Callable[..., Iterable[str]], what: str) -> Rule:
    """name: the value (a name, a list of names or the values of a mapping) names things that exist:
    ``choices(node, cfg, path)``."""
    def test(v, node, cfg, path):
        ok = set(choices(node, cfg, path))
        given = list(v.values()) if isinstance(v, dict) else v if isinstance(v, list) else [v]
        if not all(isinstance(g, str) for g in given):
            raise _Skip
        bad = [g for g in given if g not in ok]
        return None if not bad else f"{', '.join(map(repr, bad))} {'is' if len(bad) == 1 else 'are'} not {what}"

    def allowed(node, cfg, path):
        ok = sorted(set(choices(node, cfg, path)))
        return ", ".join(ok) if ok else f"nothing (no {what.removeprefix('a ').removeprefix('an ')} exists)"

    return Rule("name", scope, key, test, allowed)


def at_most(scope: str, key: str, cap: int, what: str) -> Rule:
    """bound: an integer at most ``cap``."""
    def test(v, node, cfg, path):
        return None if _num(v) <= cap else f"{fmt(v)} is beyond the sane upper bound for {what}"

    return Rule("bound", scope, key, test, f"at most {cap:.0e} ({what}; config_validation.py caps absurd values)")


# -------- what exists: names derived from the config and the workflow
def batched_rules(rules_dir: Path = RULE_FILES, figures_dir: Path = FIGURE_MODULES) -> set[str]:
    """Keys of ``batches`` the workflow reads: every ``config["batches"]["<rule>"]`` in ``workflow/rules/*.smk``
    and every ``batch="<key>"`` of a figure step declaration (``src/learndyn/figures/**/*.py``, read as text so
    that validation needs no import of the core)."""
    pat = re.compile(r"""config\[\s*["']batches["']\s*\]\s*\[\s*["'](\w+)["']\s*\]""")
    step = re.compile(r"""\bbatch\s*=\s*["'](\w+)["']""")
    return ({m for f in sorted(rules_dir.glob("*.smk")) for m in pat.findall(f.read_text())}
            | {m for f in sorted(figures_dir.rglob("*.py")) for m in step.findall(f.read_text())})


#: Threshold names whose check a figure can mark "(smoke)" (``relaxed_checks``): read from the figure modules'
#: calls of ``_two_point.relaxed`` / ``fig6._relaxed`` (``src/learndyn/figures/paper_b``). A name listed in
#: ``relaxed_checks`` but not here would silently label nothing. tests/test_config_validation.py keeps this in
#: step with the checks of config/ and with the names the modules pass.
RELAXABLE = {
    "fig2": {"converged_loss", "converged_loss_noisy"},
    "fig3": {"converged_loss", "fail_nrmse", "plateau_ratio"},
    "fig4": {"nrmse_h", "nrmse_y", "nrmse_w", "h_growth"},
    "fig5": {"pearson", "slope_min", "slope_max", "median_rel", "dy0_rel"},
    "fig6": {"same_over_diff_low", "pearson_theory_low", "ratio_high", "pearson_init_high", "two_layer_merged",
             "two_layer_separate"},
    "fig8": {"converged_loss", "f_low_max", "f_high_min", "s_min"},
    "fig9": {"r_all", "r_diff", "same_diff_ratio"},
    "fig10": {"argmin_min_layer", "first_over_min", "spearman_last_layer", "spearman_min", "eta_y_peak_lo",
              "eta_y_peak_hi", "eta_y_last_ratio"},
    "fig12": {"converged_loss", "f_max", "s_ratio_max"},
    "fig14": {"ratio_low", "ratio_high"},
    "fig15": {"converged_loss", "f_low_max", "f_high_min", "f_ratio_max"},
    "fig16": {"r_all", "same_diff_ratio"},
}


def _fig2_rows(node, cfg, path=()):
    return cfg["paper_b"]["fig2"]["rows"]


def _own_rows(node, cfg, path=()):
    return node["rows"]


def _n_acts(row: dict) -> int:
    """Hidden activities of a deep-network row (learndyn.deepnets.ArchSpec.n_acts): L, or L + 2 for a cnn."""
    return _int(row["n_hidden"]) + (2 if row.get("kind") == "cnn" else 0)


CNN_KERNEL = 11   # learndyn.deepnets.ArchSpec.kernel


def _cnn_span(row: dict) -> int:
    """Signal length the convolutions of a cnn row consume (ArchSpec.conv_out_length = width - this >= 1)."""
    return (_int(row["n_hidden"]) + 1) * (CNN_KERNEL - 1)


def _a8_min_hidden(node: dict) -> int:
    """Smallest hidden width without a bottleneck for every target of paper_a.fig8 (the 8 x 8 hierarchy too)."""
    return max([HIERARCHY_SIZE] + [min(_int(a), _int(b)) for a, b in node["random_tasks"]])


def _lambda_widths(ni: int, no: int, lams) -> tuple[int, int | None]:
    """Hidden widths allowed for every lambda of ``lams`` (learndyn.lambda_balanced.hidden_width_range, spec 1.2):
    ``min(Ni, No) <= Nh``, ``Nh <= No`` if some lambda > 0, ``Nh <= Ni`` if some lambda < 0."""
    lo, hi = min(_int(ni), _int(no)), None
    for lam in lams:
        lam = _num(lam)
        if lam > 0:
            hi = no if hi is None else min(hi, no)
        elif lam < 0:
            hi = ni if hi is None else min(hi, ni)
    return lo, hi


def _lambda_width_rule(scope: str, ni: Callable, no: Callable, lams: Callable, where: str) -> Rule:
    def ok(v, node, cfg):
        lo, hi = _lambda_widths(ni(node), no(node), lams(node))
        return _int(v) >= lo and (hi is None or v <= hi)

    def allowed(node, cfg):
        lo, hi = _lambda_widths(ni(node), no(node), lams(node))
        return (f"{lo} <= n_hidden" + (f" <= {hi}" if hi is not None else "")
                + f" for Ni={ni(node)}, No={no(node)} and every lambda {where} (spec 1.2: Nh >= min(Ni, No); "
                "Nh <= No for lambda > 0, Nh <= Ni for lambda < 0)")

    return relation(scope, "n_hidden", ok, allowed, "admits no exactly lambda-balanced network")


def _c4_lambdas(node) -> list:
    g = node["grid"]
    pos = [1.0] if _int(g["n_per_side"]) > 0 else []
    pos += [_num(x) for x in node["table_lambdas"]]
    return [x for p in pos for x in (p, -p)] + [_num(x) for x in node["curves"]["lambdas"]]


HIERARCHY_SIZE = 8   # items = features of the living-kingdom and colour hierarchies (learndyn.tasks)


def _whitening(scope: str, n_in: str = "n_in") -> Rule:
    return relation(scope, "n_samples", lambda v, node, cfg: _int(v) > _int(node[n_in]),
                    lambda node, cfg: f"n_samples > {n_in} = {node[n_in]} (whitening needs more samples than inputs)",
                    lambda v, node, cfg: f"{v} is not above {n_in} = {node[n_in]}")


def _no_bottleneck(scope: str, n_in: str = "n_in", n_out: str = "n_out") -> Rule:
    k = lambda node: min(_int(node[n_in]), _int(node[n_out]))  # noqa: E731
    return relation(scope, "n_hidden", lambda v, node, cfg: _int(v) >= k(node),
                    lambda node, cfg: f"n_hidden >= min({n_in}, {n_out}) = {k(node)} "
                                      "(no bottleneck, paper A assumption 2.4)",
                    lambda v, node, cfg: f"{v} is below min({n_in}, {n_out}) = {k(node)}")


def _every_within(scope: str, every: str, steps: str) -> Rule:
    return relation(scope, every, lambda v, node, cfg: _int(v) <= _int(_get(node, steps)),
                    lambda node, cfg: f"{every} <= {steps} = {_get(node, steps)}",
                    lambda v, node, cfg: f"{v} is above {steps} = {_get(node, steps)} (nothing would be recorded)")


def _derived_steps(scope: str, key: str, steps: Callable[[dict], float], formula: str) -> Rule:
    """bound: a run whose step count follows from a time and a learning rate, and which stores every step."""
    return Rule("bound", scope, key,
                lambda v, node, cfg, path: None if steps(node) <= DENSE_STEP_CAP else
                f"{fmt(v)} makes a run of {steps(node):.3g} steps ({formula}), each stored",
                f"{formula} <= {DENSE_STEP_CAP:.0e} (a sane upper bound; config_validation.py caps absurd values)")


def _observe_rule(scope: str) -> Rule:
    return relation(scope, "observe", lambda v, node, cfg: 0 <= _int(v) < _n_acts(node),
                    lambda node, cfg: f"0 <= observe < {_n_acts(node)} (the hidden activities "
                                      f"acts[0..{_n_acts(node) - 1}] of this network: n_hidden, +2 for a cnn)",
                    "is not a hidden activity of the network")


def _mnist_n_train(scope: str) -> list[Rule]:
    n_struct = lambda cfg: _int(cfg["paper_b"]["mnist"]["n_structure"])  # noqa: E731
    return [
        relation(scope, "n_train", lambda v, node, cfg: v is None or _int(v) >= n_struct(cfg),
                 lambda node, cfg: f"null (the whole split) or n_train >= paper_b.mnist.n_structure = {n_struct(cfg)}",
                 lambda v, node, cfg: f"{v} images cannot hold the first {n_struct(cfg)} structure images"),
        relation(scope, "batch_size", lambda v, node, cfg: node["n_train"] is None or _int(v) <= _int(node["n_train"]),
                 lambda node, cfg: f"batch_size <= n_train = {node['n_train']}", "is larger than the training set"),
    ]


RULES: list[Rule] = [
    # ---------------------------------------------------------------- paper A
    _whitening("paper_a.fig1"), _no_bottleneck("paper_a.fig1"),
    relation("paper_a.fig1", "n_items", lambda v, node, cfg: _int(v) <= _int(node["n_samples"]),
             lambda node, cfg: f"n_items <= n_samples = {node['n_samples']} (outputs of the first training items)",
             "is above n_samples"),
    less("paper_a.fig1", "check_learning_rate", "learning_rate",
         note="spec 7: the deviation shrinks at a smaller rate"),
    _derived_steps("paper_a.fig1", "check_learning_rate",
                   lambda n: _num(n["n_steps"]) * _num(n["learning_rate"]) / _num(n["check_learning_rate"]),
                   "the check run's n_steps * learning_rate / check_learning_rate"),
    _whitening("paper_a.fig2.ab"), _no_bottleneck("paper_a.fig2.ab"),
    increasing("paper_a.fig2.ab", "sigmas", what="panel A small, panel B large initialisation"),
    ordered_pair("paper_a.fig2.sweep", "dim_range", what="[smallest, largest] layer width"),
    ordered_pair("paper_a.fig2.sweep", "sigma_range", what="[smallest, largest] initial scale"),
    less("paper_a.fig2.sweep", "eta_min", "eta_max", note="the sweep runs from eta_max down to eta_min"),
    less("paper_a.fig2.sweep", "min_steps", "max_steps", note="early stopping only after min_steps"),
    less("paper_a.fig2.sweep", "d_steps", "max_steps", strict=False, note="panel D shows the first d_steps steps"),
    relation("paper_a.fig2.sweep", "n_picks",
             lambda v, node, cfg: _int(v) <= _int(node["n_networks"]) * _int(node["n_etas"]),
             lambda node, cfg: f"n_picks <= n_networks * n_etas = {node['n_networks'] * node['n_etas']}",
             "asks for more (network, learning rate) pairs than the sweep has"),
    relation("paper_a.fig3", "n_hidden", lambda v, node, cfg: _int(v) >= HIERARCHY_SIZE,
             f"n_hidden >= {HIERARCHY_SIZE} (the hierarchy's items and features; no bottleneck)", "is a bottleneck"),
    relation("paper_a.fig4.a", "n_hidden", lambda v, node, cfg: _int(v) >= _int(node["n"]),
             lambda node, cfg: f"n_hidden >= n = {node['n']} (task-aligned init, no bottleneck)", "is below n"),
    increasing("paper_a.fig4.runs", "sigmas", what="small, intermediate, large column"),
    relation("batches", "a4_runs",
             lambda v, node, cfg: _int(v) <= 3 * len(cfg["paper_a"]["fig4"]["runs"]["sigmas"]),
             lambda node, cfg: f"a4_runs <= {3 * len(cfg['paper_a']['fig4']['runs']['sigmas'])} (the runs of "
                               "paper_a.fig4: 3 targets x len(sigmas); an empty batch cannot run)",
             "is more batches than paper_a.fig4 has runs"),
    _whitening("paper_a.fig5.a"), _no_bottleneck("paper_a.fig5.a"),
    _every_within("paper_a.fig5.a", "plot_every", "steps_per_task"),
    ordered_pair("paper_a.fig5.runs", "dim_range", what="[smallest, largest] layer width"),
    relation("paper_a.fig5.runs", "n_samples", lambda v, node, cfg: _int(v) > _int(node["dim_range"][1]),
             lambda node, cfg: f"n_samples > dim_range[1] = {node['dim_range'][1]} (whitening needs more samples "
                               "than the widest input)", "is not above the largest input width"),
    _whitening("paper_a.fig5.sequence"), _no_bottleneck("paper_a.fig5.sequence"),
    _whitening("paper_a.fig6.reversal"),
    relation("paper_a.fig6.reversal", "n_hidden", lambda v, node, cfg: _int(v) >= _int(node["n_in"]),
             lambda node, cfg: f"n_hidden >= n_in = n_out = {node['n_in']} (no bottleneck)", "is a bottleneck"),
    _every_within("paper_a.fig6.reversal", "check_steps", "phase2_steps"),
    _whitening("paper_a.fig7", n_in="n"),
    relation("paper_a.fig7", "n_hidden", lambda v, node, cfg: _int(v) >= _int(node["n"]),
             lambda node, cfg: f"n_hidden >= n = {node['n']} (no bottleneck)", "is a bottleneck"),
    relation("paper_a.fig7", "record_every", lambda v, node, cfg: _int(v) % _int(node["dense_every"]) == 0,
             lambda node, cfg: f"a multiple of dense_every = {node['dense_every']} (panel A's grid lies on the "
                               "phase-2 grid)", "is not a multiple of dense_every"),
    less("paper_a.fig7", "chunk", "max_steps", strict=False),
    less("paper_a.fig8.balanced_gain", "min", "max"),
    less("paper_a.fig8.gaussian_gain", "min", "max"),
    relation("paper_a.fig8", "n_hidden",
             lambda v, node, cfg: _int(v) >= _a8_min_hidden(node),
             lambda node, cfg: f"n_hidden >= the smaller side of every target = {_a8_min_hidden(node)} (no bottleneck)",
             "is a bottleneck for one of the targets"),
    increasing("paper_a.fig9", "sigmas", what="small, intermediate, large column"),
    relation("paper_a.fig9.reference", "learning_rates",
             lambda v, node, cfg: all(_num(x) <= _num(cfg["paper_a"]["fig9"]["learning_rate"]) for x in v),
             lambda node, cfg: f"each <= paper_a.fig9.learning_rate = {cfg['paper_a']['fig9']['learning_rate']} "
                               "(re-runs at a small learning rate)", "has a rate above the run's learning rate"),
    _derived_steps("paper_a.fig9.reference", "t_max",
                   lambda n: _num(n["t_max"]) / min(_num(x) for x in n["learning_rates"]),
                   "t_max / min(learning_rates)"),
    # ---------------------------------------------------------------- paper B
    *[less(f"paper_b.{fig}.{grid}", "min_exp", "max_exp") for fig in ("fig2", "fig3", "fig10", "fig13")
      for grid in ("fit_grid", "mean_grid")],
    less("paper_b.fig5.fit_grid", "min_exp", "max_exp"),
    less("paper_b.fig4.fit_grid", "min_exp", "max_exp"),
    *[_observe_rule(f"paper_b.{fig}.rows.*") for fig in ("fig2", "fig3", "fig10", "fig13", "fig6", "fig14")],
    *[relation(f"paper_b.{fig}.rows.*", "width",
               lambda v, node, cfg: node["kind"] != "cnn" or _int(v) > _cnn_span(node),
               lambda node, cfg: f"width > (n_hidden + 1) * {CNN_KERNEL - 1} = {_cnn_span(node)} for a cnn "
                                 f"({node['n_hidden'] + 1} convolutions of kernel {CNN_KERNEL})",
               "is too short for the convolutions") for fig in ("fig2", "fig3", "fig10", "fig13")],
    *[relation(f"paper_b.{fig}", "observe", lambda v, node, cfg: 0 <= _int(v) < _int(node["n_hidden"]),
               lambda node, cfg: f"0 <= observe < n_hidden = {node['n_hidden']}",
               "is not a hidden layer of the network") for fig in ("fig4", "fig8", "fig9", "fig12", "fig15", "fig16")],
    names_in("paper_b.fig2", "relaxed_w_rows", _own_rows, "a row of paper_b.fig2.rows"),
    names_in("paper_b.fig2", "noisy_rows", _own_rows, "a row of paper_b.fig2.rows"),
    names_in("paper_b.fig3", "fitted_rows", _own_rows, "a row of paper_b.fig3.rows"),
    names_in("paper_b.fig3", "failing_row", _own_rows, "a row of paper_b.fig3.rows"),
    names_in("paper_b.fig5", "architectures", _fig2_rows, "an architecture (a row of paper_b.fig2.rows)"),
    names_in("paper_b.fig13", "sgd_reference", _fig2_rows, "a row of paper_b.fig2.rows"),
    *[names_in(f"paper_b.{fig}", "panels", _own_rows, f"a run of paper_b.{fig}.rows") for fig in ("fig6", "fig14")],
    *[names_in(f"paper_b.{fig}", "rates_architecture", _fig2_rows, "an architecture (a row of paper_b.fig2.rows)")
      for fig in ("fig6", "fig14")],
    *[names_in(f"paper_b.{fig}", "relaxed_checks", lambda node, cfg, path: RELAXABLE[path[-1]],
               f"a check of paper_b.{fig} that can be relaxed") for fig in RELAXABLE],
    less("paper_b.fig5.checks", "slope_min", "slope_max", strict=False),
    increasing("paper_b.fig5", "dist_x", what="the grid's input distances"),
    increasing("paper_b.fig5", "dist_y", what="the grid's output distances"),
    less("paper_b.fig10.checks", "eta_y_peak_lo", "eta_y_peak_hi", strict=False),
    relation("paper_b.fig10.checks", "eta_y_peak_lo",
             lambda v, node, cfg: _int(v) < min(_int(r["n_hidden"]) for r in cfg["paper_b"]["fig10"]["rows"].values()),
             lambda node, cfg: "below the number of tracked layers (n_hidden of paper_b.fig10.rows)",
             "is not a layer of the network"),
    relation("paper_b.fig10.checks", "argmin_min_layer",
             lambda v, node, cfg: _int(v) < min(_int(r["n_hidden"]) for r in cfg["paper_b"]["fig10"]["rows"].values()),
             lambda node, cfg: "below the number of tracked layers (n_hidden of paper_b.fig10.rows)",
             "is not a layer of the network"),
    relation("paper_b.fig7.draw", "examples",
             lambda v, node, cfg: all(0 <= _int(i) < _int(cfg["paper_b"]["fig7"]["data"]["n_centres"]) for pair in v
                                      for i in pair),
             lambda node, cfg: f"indices 0 .. paper_b.fig7.data.n_centres - 1 = "
                               f"{cfg['paper_b']['fig7']['data']['n_centres'] - 1}",
             "has an index beyond the blob centres"),
    *[r for fig in ("fig4", "fig9", "fig16") for r in _mnist_n_train(f"paper_b.{fig}")],
    relation("paper_b.mnist", "n_theory", lambda v, node, cfg: _int(v) >= _int(node["n_structure"]),
             lambda node, cfg: f"n_theory >= n_structure = {node['n_structure']} (the structure images are among the "
                               "theory images)", "is below n_structure"),
    # ---------------------------------------------------------------- paper C
    *[_whitening(f"paper_c.{fig}") for fig in ("fig1", "fig2", "fig4", "fig6", "fig7")],
    *[_lambda_width_rule(f"paper_c.{fig}", lambda n: n["n_in"], lambda n: n["n_out"], lambda n: n["lambdas"],
                         "in lambdas") for fig in ("fig1", "fig2", "fig6", "fig7")],
    _lambda_width_rule("paper_c.fig4", lambda n: n["n_in"], lambda n: n["n_out"], _c4_lambdas,
                       "of the symmetric grid (+-table_lambdas included) and curves.lambdas"),
    *[_lambda_width_rule(f"paper_c.{fig}", lambda n: HIERARCHY_SIZE, lambda n: HIERARCHY_SIZE, lambda n: n["lambdas"],
                         "in lambdas (8 hierarchy items and features)") for fig in ("fig5", "fig8")],
    relation("paper_c.fig1", "item", lambda v, node, cfg: 0 <= _int(v) < _int(node["n_samples"]),
             lambda node, cfg: f"0 <= item < n_samples = {node['n_samples']}", "is not a training item"),
    increasing("paper_c.fig3", "threshold_margins", what="the lower then the upper margin"),
    _derived_steps("paper_c.fig3", "t_max", lambda n: _num(n["t_max"]) / _num(n["s"]) / _num(n["learning_rate"]),
                   "t_max / s / learning_rate"),
    less("paper_c.fig4.grid", "log_min", "log_max"),
    _every_within("paper_c.fig6", "record_every", "steps_per_task"),
    relation("paper_c.fig7", "excess_time",
             lambda v, node, cfg: _num(v) <= _int(node["phase2_steps"]) * _num(node["learning_rate"]),
             lambda node, cfg: f"excess_time <= phase2_steps * learning_rate = "
                               f"{node['phase2_steps'] * node['learning_rate']:g} (a time within phase 2)",
             "is beyond the end of phase 2"),
    *[_every_within(f"paper_c.fig8.{exp}", every, "phase2_steps")
      for exp in ("revision", "colour") for every in ("record_every", "snapshot_every")],
    # ---------------------------------------------------------------- bounds on step counts (absurd values hang)
    *[at_most(scope, key, DENSE_STEP_CAP, "gradient steps stored at every step")
      for scope, key in (("paper_a.fig1", "n_steps"), ("paper_a.fig2.ab", "n_steps"), ("paper_c.fig1", "n_steps"),
                         ("paper_c.fig2", "n_steps"), ("paper_c.fig6", "steps_per_task"),
                         ("paper_c.fig7", "phase1_steps"), ("paper_c.fig7", "phase2_steps"))],
]

#: Generic bounds by key name, anywhere under paper_*: (regex on the key, cap, what).
NAME_BOUNDS = [
    (re.compile(r"(^|_)steps(_|$)"), None, STEP_CAP, "gradient steps"),
    (re.compile(r"(^|_)epochs$"), None, EPOCH_CAP, "training epochs"),
    (re.compile(r"^n_(plot_points|ode_times|fd_points)$"), None, POINTS_CAP, "stored points"),
    (re.compile(r"^n_samples$"), None, SAMPLES_CAP, "training samples"),
    (re.compile(r"^(n|n_(networks|runs|trials|etas|seeds|check_seeds|fit_trials|tasks|items|per_side|linear|log|init)"
                r"|max_iter)$"), None, COUNT_CAP, "sweep sizes and iteration counts"),
    (re.compile(r"^(min_exp|max_exp|log_min|log_max)$"), -300, 300, "decimal exponents (10**x must be a finite float)"),
]


def bound_problems(cfg: dict) -> list[str]:
    """Generic bounds of :data:`NAME_BOUNDS` (step counts, epochs, points, sizes, exponents) on every key of that name
    under ``paper_*`` (keys with an explicit bound rule in :data:`RULES` excepted)."""
    out = []
    explicit = {dotted(path + (r.key,)) for r in RULES if r.kind == "bound" for path, _ in r.matches(cfg)}
    for section in (k for k in cfg if str(k).startswith("paper_")):
        for path, value in leaves(cfg[section], (section,)):
            if isinstance(path[-1], int) or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not math.isfinite(value) or dotted(path) in explicit:
                continue
            for pattern, low, high, what in NAME_BOUNDS:
                if pattern.search(str(path[-1])) and not ((low is None or value >= low) and value <= high):
                    span = f"at most {high:.0e}" if low is None else f"{low} .. {high}"
                    out.append(f"config key '{dotted(path)}': {fmt(value)} is beyond the sane bound for {what}; "
                               f"allowed: {span} ({what}; config_validation.py caps absurd values)")
    return out


def batch_problems(cfg: dict) -> list[str]:
    """``batches``: its keys must be exactly the batched rules of the workflow (:func:`batched_rules`)."""
    batches = cfg.get("batches")
    if not isinstance(batches, dict):
        return []
    known = batched_rules()
    allowed = ", ".join(sorted(known))
    out = [f"config key 'batches.{k}': not a batched rule of the workflow (no rule reads it, so it would have no "
           f"effect); allowed: {allowed}" for k in sorted(set(batches) - known)]
    out += [f"config key 'batches.{k}' is missing (rule {k} reads it); allowed: {allowed}, each a number of jobs"
            for k in sorted(known - set(batches))]
    return out


def rule_problems(cfg: dict, skip: Iterable[tuple] = ()) -> tuple[list[str], dict[int, int]]:
    """Layer 3: :data:`RULES` (plus the batch names and the generic bounds). ``skip``: keys that already have a
    problem (layers 1, 2). Returns the problems and, per rule index, the number of places it applied (the tests
    require every rule to apply to config/)."""
    problems, applied, skip = [], {}, [tuple(p) for p in skip if p]
    for i, rule in enumerate(RULES):
        p, n = rule.check(cfg, skip)
        problems += p
        applied[i] = n
    return problems + batch_problems(cfg) + bound_problems(cfg), applied


def problems(cfg: dict) -> list[str]:
    """Every problem of one merged config (no presets), sorted, no repeats."""
    first = schema_problems(cfg) + nonfinite_problems(cfg)
    return sorted(set(first + rule_problems(cfg, [_named_path(p) for p in first])[0]))


def validate(cfg: dict, where: str = WHERE, hint: str = "") -> None:
    found = problems(cfg)
    if found:
        raise ConfigError(where, found, hint)


# ------------------------------------------------------------------ user values, presets, --config text
def coerce_cli(cli: dict, path: tuple = ()) -> dict:
    """``--config`` values as the user meant them: Snakemake reads a mapping given on the command line
    (``--config 'batches={a2_sweep: 2}'``) with YAML's BaseLoader, so every value nested in it is text. A text
    value is read as YAML wherever the schema of its key does not accept it as text."""
    out = {}
    for key, val in cli.items():
        p = path + (key,)
        if isinstance(val, dict):
            out[key] = coerce_cli(val, p)
        elif isinstance(val, list):
            out[key] = [coerce_cli({i: v}, p)[i] for i, v in enumerate(val)]
        elif isinstance(val, str) and path:   # top-level values were already typed by Snakemake
            out[key] = _coerce_text(val, p)
        else:
            out[key] = val
    return out


def _coerce_text(text: str, path: tuple):
    sub, _ = schema_at(path)
    if sub is not None:
        if jsonschema.Draft202012Validator(sub, registry=schema_registry()).is_valid(text):
            return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def resolve(raw: dict, user: dict | None = None, cli_paths: Iterable[tuple] = ()) -> tuple[dict, list[str]]:
    """Apply the scale preset to the merged config ``raw`` (config/ + the user's values) and validate.

    ``user``: the values the user gave (``--config``, extra ``--configfile``s; already in ``raw``); they win over
    the preset's. ``cli_paths``: keys given nested in a ``--config`` mapping (for the hint). Every preset is
    validated, not only the chosen one. Returns ``(config, notes)``; ``notes`` name every preset value replaced by
    a user value. Raises :class:`ConfigError`."""
    raw = dict(raw)
    user = {k: v for k, v in (user or {}).items() if k != "presets"}
    presets = raw.pop("presets", {}) or {}
    scale = raw.get("scale", "full")
    if not isinstance(presets, dict):
        raise ConfigError(WHERE, [f"config key 'presets': {fmt(presets)} is not a mapping; allowed: a mapping "
                                          "of preset name -> values"])
    if not isinstance(scale, str) or (scale not in presets and scale != "full"):
        raise ConfigError(WHERE, [f"config key 'scale': {fmt(scale)} is not a preset; allowed: "
                                          f"{', '.join(sorted(set(presets) | {'full'}))}"])
    mine = " and your values" if user else ""
    for name, over in presets.items():
        if not isinstance(over, dict):
            raise ConfigError(WHERE, [f"config key 'presets.{name}': not a mapping; allowed: a mapping of "
                                              "values deep-merged over the rest"])
        merged = deep_merge(deep_merge(raw, over), user)
        merged["scale"] = scale
        found = problems(merged)
        if found:
            raise ConfigError(f"{WHERE} with preset '{name}'{mine}", found, _cli_hint(found, cli_paths))
    chosen = presets.get(scale, {})
    cfg = deep_merge(deep_merge(raw, chosen), user)
    preset_values, notes = dict(atoms(chosen)), []
    for path, value in atoms(user):
        if path in preset_values:
            if preset_values[path] != value:
                notes.append(f"config key '{dotted(path)}': your value {fmt(value)} is used instead of the value "
                             f"{fmt(preset_values[path])} of preset '{scale}'")
        elif any(q[:len(path)] == path for q in preset_values):
            notes.append(f"config key '{dotted(path)}': your value {fmt(value)} is used instead of the values of "
                         f"preset '{scale}' below it")
    return cfg, notes


def atoms(node: Any, path: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    """(path, value) of every value of a nested mapping that is not itself a mapping (lists are values: a deep
    merge replaces them whole)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from atoms(v, path + (k,))
    else:
        yield path, node


def _cli_hint(found: list[str], cli_paths: Iterable[tuple]) -> str:
    """:data:`CLI_HINT` if a problem names a key given nested in a --config mapping (or one above / below it)."""
    nested = [p for p in cli_paths if len(p) >= 2]
    for problem in found:
        named = _named_path(problem)
        if any(named[:len(p)] == p or p[:len(named)] == named for p in nested if named):
            return CLI_HINT
    return ""


def _named_path(problem: str) -> tuple:
    m = re.match(r"config key '([^']*)'", problem)
    if not m:
        return ()
    return tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
