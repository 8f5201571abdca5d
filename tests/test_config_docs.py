"""The configuration documents itself: every key of every schema (workflow/schemas, shared definitions in
defs.schema.yaml followed through their $ref) has a one-line description, and config/README.md is what
workflow/scripts/config_docs.py renders from the schemas and the defaults now (regenerate it when this fails)."""

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


docs = _load("learndyn_config_docs_test", REPO / "workflow" / "scripts" / "config_docs.py")
cv = docs.cv
SCHEMA_FILES = sorted((REPO / "workflow" / "schemas").rglob("*.schema.yaml"))


def _keys(node, path=""):
    """(dotted path, schema) of every property at every level of a schema node (additionalProperties: ``*``),
    $defs included; ``$ref`` targets are checked where they are defined (every file is walked)."""
    if isinstance(node, dict):
        for k, v in (node.get("properties") or {}).items():
            yield f"{path}{k}", v
            yield from _keys(v, f"{path}{k}.")
        if isinstance(node.get("additionalProperties"), dict):
            yield f"{path}*", node["additionalProperties"]
            yield from _keys(node["additionalProperties"], f"{path}*.")
        for k in ("items", "$defs"):
            sub = node.get(k)
            if isinstance(sub, dict):
                for name, v in (sub.items() if k == "$defs" else [("[]", sub)]):
                    yield from _keys(v, f"{path}{name}.")


def _bare(node):
    """A schema without its descriptions."""
    if isinstance(node, dict):
        return {k: _bare(v) for k, v in node.items() if k != "description"}
    return [_bare(v) for v in node] if isinstance(node, list) else node


def test_schema_files_share_their_definitions():
    """The shared definitions resolve across files and no figure schema keeps a copy of one (by name or content)."""
    shared = cv._load_schema(str(REPO / "workflow" / "schemas" / "defs.schema.yaml"))["$defs"]
    assert {"seed", "posint", "pos", "width", "grid", "row"} <= set(shared)
    copies = [_bare(d) for d in shared.values()]
    for f in SCHEMA_FILES:
        if f.name == "defs.schema.yaml":
            continue
        local = cv._load_schema(str(f)).get("$defs", {})
        assert not set(local) & set(shared), f"{f}: local $defs named like shared ones: {set(local) & set(shared)}"
        assert not [k for k, d in local.items() if _bare(d) in copies], f"{f}: a local copy of a shared $def"
    assert cv._deref({"$ref": (REPO / "workflow" / "schemas" / "defs.schema.yaml").as_uri() + "#/$defs/seed"}) \
        == {"type": "integer", "minimum": 0}


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: str(p.relative_to(REPO / "workflow" / "schemas")))
def test_every_schema_key_has_a_one_line_description(path):
    missing = []
    for key, node in _keys(cv._load_schema(str(path))):
        text = cv._deref(node).get("description") if isinstance(node, dict) else None
        if not (isinstance(text, str) and text.strip() and "\n" not in text.strip()):
            missing.append(key)
    assert not missing, f"{path.name}: keys without a (one-line) description: {missing}"


def test_config_readme_is_current():
    expected = docs.render()
    assert docs.render() == expected                       # deterministic
    actual = docs.OUTPUT.read_text() if docs.OUTPUT.exists() else ""
    assert actual == expected, (f"config/README.md is stale (the schemas or the defaults changed): run "
                                f"`{docs.COMMAND}` and commit the result")


def test_config_readme_lists_every_key_in_figure_order():
    text = docs.render()
    raw = cv.load_raw()
    for path, _ in cv.leaves({k: v for k, v in raw.items() if k != "presets"}):
        keys = [str(p) for p in path if not isinstance(p, int)]
        named = [".".join(keys[:i] + ["<name>"] + keys[i + 1:]) for i in range(len(keys))]
        assert any(f"| `{k}` |" in text for k in [".".join(keys), *named]), ".".join(keys)
    heads = [line[4:] for line in text.splitlines() if line.startswith("### paper_b.")]
    assert heads[:5] == ["paper_b.fig1", "paper_b.fig2", "paper_b.fig3", "paper_b.mnist", "paper_b.fig4"]
    assert heads[-1] == "paper_b.fig16"
