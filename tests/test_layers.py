"""Boundaries of the core package, read from the source (no imports executed)."""

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "learndyn"


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name, path):
    """``[(module, imported names)]`` of every import in the file (function-level ones included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = ".".join(base[: len(base) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            out.append((mod, [a.name for a in node.names]))
    return out


MODULES = dict(_modules())


def _resolve(mod, names):
    """The learndyn modules an import statement brings in (``from pkg import mod`` counts as ``pkg.mod``)."""
    found = set()
    if mod in MODULES:
        found.add(mod)
    for n in names:
        if f"{mod}.{n}" in MODULES:
            found.add(f"{mod}.{n}")
    return found


GRAPH = {name: set().union(*[_resolve(m, ns) for m, ns in _imports(name, path)] or [set()]) - {name}
         for name, path in MODULES.items()}


def test_no_import_cycle():
    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in GRAPH.get(todo.pop(), ()):
                if nxt not in seen and nxt != "learndyn":   # the package __init__ imports its modules
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cyclic = sorted(m for m in GRAPH if m != "learndyn" and m in reach(m))
    assert not cyclic, f"modules on an import cycle: {cyclic}"


def test_core_never_imports_figures_and_papers_never_import_each_other():
    bad = []
    for name, deps in GRAPH.items():
        fig = re.match(r"learndyn\.figures\.(paper_[a-z])", name)
        for d in deps:
            if not name.startswith("learndyn.figures") and d.startswith("learndyn.figures"):
                bad.append(f"core module {name} imports {d}")
            other = re.match(r"learndyn\.figures\.(paper_[a-z])", d)
            if fig and other and other.group(1) != fig.group(1):
                bad.append(f"{name} imports another paper's figure module {d} (use learndyn.figures.shared)")
    assert not bad, "\n".join(bad)


def test_no_private_name_is_imported_across_modules():
    bad = []
    for name, path in MODULES.items():
        for mod, names in _imports(name, path):
            if not mod.startswith("learndyn"):
                continue
            for n in names:   # a package's private helper modules (paper_b._two_point) are fine inside it
                if n.startswith("_") and not n.startswith("__") and f"{mod}.{n}" not in MODULES:
                    bad.append(f"{name} imports {mod}.{n}")
        for node in ast.walk(ast.parse(path.read_text())):   # alias._private attribute access
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.attr.startswith("_") and not node.attr.startswith("__"):
                alias = node.value.id
                if alias in ("tp", "fig8", "exact", "metrics", "init", "simulate", "io", "effective",
                             "deepnets", "datasets", "tasks", "plotting"):
                    bad.append(f"{name} uses {alias}.{node.attr}")
    assert not bad, "\n".join(bad)


# Modules that touch files or the network. The design allows only io and plotting (and workflow scripts);
# datasets (reading MNIST IDX files) is the known exception that issue 14 moves out (MNIST provisioning already
# lives in workflow/scripts/mnist_data.py). The test fails on any new one.
ALLOWED_IO = {"learndyn.io", "learndyn.plotting", "learndyn.datasets"}
IO_PATTERN = re.compile(r"\bopen\(|urllib|shutil|socket|requests|subprocess|\.write_bytes|\.write_text|"
                        r"\.read_bytes|\.read_text|os\.replace|os\.remove|\.unlink\(|gzip\.open")


def test_only_io_modules_touch_files_or_the_network():
    bad = sorted(name for name, path in MODULES.items()
                 if name not in ALLOWED_IO and IO_PATTERN.search(path.read_text()))
    assert not bad, f"modules that touch files or the network outside io/plotting: {bad}"


def _core_files():
    """The core's module files: ``learndyn/*.py`` and every file of its subpackages (a core module split into
    a package, e.g. ``deepnets/``, ``effective/``), not the figure modules."""
    yield from sorted(PKG.glob("*.py"))
    for init in sorted(PKG.glob("*/__init__.py")):
        if init.parent.name != "figures":
            yield from sorted(init.parent.glob("*.py"))


def test_every_core_module_declares_its_public_names():
    """Each core module has ``__all__`` listing exactly its public top-level definitions (functions, classes,
    module constants), plus declared re-exports: what ``from learndyn.x import *`` and the docs expose. A
    subpackage's ``__init__`` re-exports what it imports from its own modules (and declares nothing else)."""
    reexports = {"learndyn.metrics": {"optimal_loss"}, "learndyn": {"__version__"}}
    files = list(_core_files())
    assert any(path.parent != PKG for path in files), "no core subpackage found: is _core_files still reading them?"
    for path in files:
        rel = path.relative_to(SRC)
        name = ".".join(rel.parent.parts if path.name == "__init__.py" else rel.with_suffix("").parts)
        tree = ast.parse(path.read_text())
        declared, defined = None, set()
        imported = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(t, ast.Name) and t.id == "__all__":
                        declared = set(ast.literal_eval(node.value))
                    elif isinstance(t, ast.Name):
                        defined.add(t.id)
            elif isinstance(node, ast.ImportFrom) and node.level and path.name == "__init__.py" and \
                    path.parent != PKG:
                imported |= {a.asname or a.name for a in node.names}
        public = {n for n in defined | imported if not n.startswith("_")} | reexports.get(name, set())
        assert declared is not None, f"{rel} has no __all__"
        assert declared == public, f"{rel}: __all__ lacks {sorted(public - declared)}, " \
                                   f"names no public definition {sorted(declared - public)}"
