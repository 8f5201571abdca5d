"""The configuration reference ``config/README.md``, generated from the JSON schemas (``workflow/schemas``: what
each key means and allows) and the default values (:func:`config_validation.load_raw`).

    python workflow/scripts/config_docs.py            # (re)writes config/README.md
    python workflow/scripts/config_docs.py --check    # exit status 1 if config/README.md is stale

Pure Python (PyYAML, jsonschema), importable: :func:`render` returns the text. One section for the top-level keys,
then per paper one table per figure in figure order (fig1, fig2, ..., fig16; paper B's ``mnist`` block right
before fig4, the first MNIST figure): dotted key | default (full scale) | smoke (the smoke preset's value where it
differs) | allowed (type, range, enum: the words of the validation messages) | description (the schema's).
Mappings whose keys are names (``paper_b.fig2.rows``) are shown once with ``<name>``, the default listing
``name=value`` per entry. The same inputs give the same bytes.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COMMAND = "python workflow/scripts/config_docs.py"


def _load_cv():
    name = "learndyn_config_validation_docs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "config_validation.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod   # dataclasses look their module up by name
        spec.loader.exec_module(mod)
    return sys.modules[name]


cv = _load_cv()
OUTPUT = cv.ROOT / "config" / "README.md"
PAPERS = ("paper_a", "paper_b", "paper_c")
SMOKE = "smoke"
_MISSING = object()


# ------------------------------------------------------------------ cells
def value_text(value: Any) -> str:
    """A default value as YAML flow text (``null``, ``true``, ``1e-05``, ``[0.01, 0.25]``, ``{lr: 0.003}``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {value_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def code(text: str) -> str:
    return f"`{text.replace('|', chr(92) + '|')}`" if text else ""


def prose(text: str) -> str:
    """Schema text in a table cell: one line, Markdown's special characters escaped."""
    text = re.sub(r"([\\|*~$`])", r"\\\1", " ".join(str(text).split()))
    return re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text)     # <name> would read as an HTML tag


def allowed_text(schema: dict) -> str:
    """What the schema allows: the words of the validation messages (:func:`config_validation.describe_allowed`),
    for a mapping its kind of keys."""
    sub = cv._deref(schema)
    if sub.get("type") != "object" and "properties" not in sub:
        return cv.describe_allowed(sub)
    text = "a mapping"
    if isinstance(sub.get("additionalProperties"), dict) and not sub.get("properties"):
        text += " of named entries"
        if "pattern" in sub.get("propertyNames", {}):
            text += f" (names matching {sub['propertyNames']['pattern']})"
        if sub.get("minProperties"):
            text += f", at least {sub['minProperties']}"
    elif sub.get("minProperties"):
        text += f" of at least {sub['minProperties']} of these keys"
    return text


# ------------------------------------------------------------------ rows
def _get(node: Any, path: tuple) -> Any:
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _entries(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _named_text(entries: dict, rel: tuple, unless: dict | None = None) -> str:
    """``name=value`` of every named entry that has ``rel`` (an empty ``rel``: the names); with ``unless``, only
    the entries whose value differs from theirs there (the smoke column)."""
    if not rel:
        return ", ".join(str(k) for k in entries)
    out = [f"{name}={value_text(v)}" for name, entry in entries.items()
           if (v := _get(entry, rel)) is not _MISSING and (unless is None or _get(unless.get(name), rel) != v)]
    return ", ".join(out)


def _sizes(entries: dict) -> str:
    """``name (n values)`` of every entry (the presets)."""
    return ", ".join(f"{name} ({sum(1 for _ in cv.atoms(v))} values)" for name, v in entries.items())


class Table:
    """The rows of one section: ``(dotted key, default, smoke, allowed, description)``."""

    def __init__(self, full: dict, smoke: dict):
        self.full, self.smoke, self.rows = full, smoke, []

    def add(self, key: str, default: str, smoke: str, schema: dict):
        sub = cv._deref(schema)
        self.rows.append((code(key), code(default), code(smoke if smoke != default else ""),
                          prose(allowed_text(schema)), prose(sub.get("description", ""))))

    def walk(self, schema: dict, path: tuple, label: str, own_row: bool = True):
        """Rows of the key at ``path`` (``label``: its dotted name) and of everything below it."""
        sub = cv._deref(schema)
        full, smoke = _get(self.full, path), _get(self.smoke, path)
        props = sub.get("properties") or {}
        extra = sub.get("additionalProperties")
        if props or sub.get("type") == "object" and not isinstance(extra, dict):   # a mapping of known keys
            if own_row:
                self.add(label, "", "", schema)
            order = [k for k in _entries(full) if k in props] + [k for k in props if k not in _entries(full)]
            for k in order:
                self.walk(props[k], path + (k,), f"{label}.{k}" if label else k)
        elif isinstance(extra, dict):                                              # a mapping of named entries
            self.named(schema, extra, path, label)
        else:
            self.add(label, value_text(full) if full is not _MISSING else "(not set)",
                     value_text(smoke) if smoke is not _MISSING else "", schema)

    def named(self, schema: dict, entry: dict, path: tuple, label: str):
        full, smoke = _entries(_get(self.full, path)), _entries(_get(self.smoke, path))
        sub = cv._deref(entry)
        props = sub.get("properties") or {}
        if sub.get("type") == "object" and not props:        # opaque entries (presets): their size only
            self.add(label, _sizes(full), _sizes(smoke), schema)
            self.add(f"{label}.<name>", "", "", entry)
        elif props:                                            # table rows: one line per column, name=value
            self.add(label, _named_text(full, ()), _named_text(smoke, ()), schema)
            for k in props:
                self.add(f"{label}.<name>.{k}", _named_text(full, (k,)), _named_text(smoke, (k,), full), props[k])
        else:                                                  # scalar entries (batches): one line each
            self.add(label, "", "", schema)
            for k in full:
                self.walk(entry, path + (k,), f"{label}.{k}")

    def markdown(self) -> list[str]:
        out = ["| key | default | smoke | allowed | description |", "|---|---|---|---|---|"]
        return out + ["| " + " | ".join(r) + " |" for r in self.rows]


# ------------------------------------------------------------------ sections
def figure_order(name: str) -> tuple:
    """fig1, fig2, ..., fig16 numerically; ``mnist`` right before fig4 (its first figure)."""
    m = re.fullmatch(r"fig(\d+)", name)
    if m:
        return (int(m.group(1)), 1, name)
    return ((4, 0, name) if name == "mnist" else (10**6, 0, name))


def _anchor(title: str) -> str:
    return "#" + re.sub(r"[^a-z0-9_ -]", "", title.lower()).replace(" ", "-")


def render(raw: dict | None = None) -> str:
    """``config/README.md`` for the defaults ``raw`` (default: :func:`config_validation.load_raw`)."""
    raw = cv.load_raw() if raw is None else raw
    presets = raw.get("presets") or {}
    full = {k: v for k, v in raw.items() if k != "presets"}
    smoke = cv.deep_merge(full, presets.get(SMOKE) or {})
    top = cv.top_schema()
    sections = {p: sorted(cv.figure_schemas(p), key=figure_order) for p in PAPERS}

    lines = [
        "# Configuration reference",
        "",
        f"<!-- generated by workflow/scripts/config_docs.py: do not edit; regenerate with `{COMMAND}` -->",
        "",
        "Every key of the workflow's configuration (`config/`), generated from the JSON schemas in "
        "`workflow/schemas/` (each key's `description`, type and range; the definitions several files share are in "
        "`workflow/schemas/defs.schema.yaml`) and the default values (`load_raw()` in "
        "`workflow/scripts/config_validation.py`). After changing a schema or a default, regenerate it with "
        f"`{COMMAND}` (`tests/test_config_docs.py` fails while this file is stale).",
        "",
        "- **default**: the value at full scale (`scale: full`, the papers' scale); **smoke**: the value of the smoke "
        "preset (`config/presets/smoke.yaml`, `--config scale=smoke`) where it differs.",
        "- **allowed**: what the key's schema accepts, in the words of the validation messages. Relations between "
        "keys (ordered ranges, sizes, names that must exist, bounds on step counts) are checked as well, by the "
        "`RULES` table of `workflow/scripts/config_validation.py`; they are not repeated here.",
        "- `<name>` stands for every key of a mapping whose keys are names (the rows of a table, the runs of a "
        "figure); its default lists `name=value` per entry.",
        "- Section, spec and decision references (\"spec 7\", \"D14\", \"decision 9\") point into the paper's spec "
        "under `docs/spec/`: exact-dynamics.md (paper A), universality.md (paper B), lambda-balanced.md (paper C).",
        "",
        "Contents: [top level](#top-level)",
    ]
    for p in PAPERS:
        links = ", ".join(f"[{n}]({_anchor(f'{p}.{n}')})" for n in sections[p])
        lines.append(f"- [{p}]({_anchor(p)}): {links}")
    lines += ["", "## Top level", "", prose(top.get("description", "")), ""]
    table = Table(raw, {**smoke, "presets": presets})     # presets: shown at the top level only
    props = top["properties"]
    for k in [k for k in raw if k in props] + [k for k in props if k not in raw]:
        if k not in PAPERS:
            table.walk(props[k], (k,), k)
    lines += table.markdown()
    for p in PAPERS:
        lines += ["", f"## {p}", "", prose(cv._deref(props[p]).get("description", ""))]
        for name in sections[p]:
            schema = cv._load_schema(str(cv.figure_schemas(p)[name]))
            table = Table(full, smoke)
            table.walk(schema, (p, name), f"{p}.{name}", own_row=False)
            lines += ["", f"### {p}.{name}", "", prose(schema.get("description", "")), ""] + table.markdown()
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.relative_to(cv.ROOT)} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(cv.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
