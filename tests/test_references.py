"""Every "spec <section>" citation in the library resolves inside the repository.

Docstrings and captions in ``src/learndyn`` cite the project's specs as "spec 2.3", "spec section 7",
"Spec ``universality.md`` 6.1 (Figure 2) and 7", "spec 5.5/5.6 of exact-dynamics.md", ... . The specs are
vendored in ``docs/spec/`` (see ``docs/spec/README.md``); ``docs/references.md`` maps every cited section to
the part of the paper it restates. These tests check that

(a) every cited section number is a heading of the spec file the citation refers to (for a letter suffix,
    e.g. "spec 2.3a", also that the section has a paragraph "(a)"), listing every unresolved citation;
(b) ``docs/references.md`` has a table row for every cited (spec file, section);
(the vendored copy is the project's own; ``diff -r docs/spec ../shared/spec`` shows whether the shared notes moved on).

Which spec file a citation refers to, in order of precedence: a file named in the citation itself
("spec ``lambda-balanced.md`` 2.3", "spec 5.5 of exact-dynamics.md"); a spec file named in the module's
docstring (its header); the module-path mapping ``PATH_SPEC`` below (derived from those headers).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "learndyn"
SPEC_DIR = ROOT / "docs" / "spec"
REFERENCES = ROOT / "docs" / "references.md"
SPEC_FILES = ("exact-dynamics.md", "lambda-balanced.md", "universality.md")

#: Fallback spec file of a module without a spec file in its docstring: longest matching path prefix
#: (relative to ``src/learndyn``). Paper A = exact-dynamics.md, paper B = universality.md,
#: paper C = lambda-balanced.md.
PATH_SPEC = {
    "figures/paper_a/": "exact-dynamics.md",
    "figures/paper_b/": "universality.md",
    "figures/paper_c/": "lambda-balanced.md",
    "aligned.py": "exact-dynamics.md",
    "continual.py": "exact-dynamics.md",
    "exact.py": "exact-dynamics.md",
    "init.py": "exact-dynamics.md",
    "metrics.py": "exact-dynamics.md",
    "reversal.py": "exact-dynamics.md",
    "rotation.py": "exact-dynamics.md",
    "simulate.py": "exact-dynamics.md",
    "tasks.py": "exact-dynamics.md",
    "datasets.py": "universality.md",
    "deepnets/": "universality.md",
    "effective/": "universality.md",
    "lambda_balanced.py": "lambda-balanced.md",
}

# ----------------------------------------------------------------------------------------------- parsing
_FILE = r"(?:``|`)?(?:[\w.-]+/)*(?P<file>[\w-]+\.md)(?:``|`)?"
_SPEC = re.compile(r"(?<![\w/.])[Ss]pec(?:'s)?(?![\w])")
_LEAD_FILE = re.compile(r"[\s-]*\(?\s*" + _FILE + r"\s*,?")
_SECTION_WORD = re.compile(r"[\s-]*(?:\(?sections?\s+|§\s*)?", re.I)
_NUM = re.compile(r"(?P<num>\d+(?:\.\d+)*)(?P<sub>[a-c])?(?![\w])(?!\.\d)")
_RANGE = re.compile(r"\s*[-–]\s*(?P<end>\d+(?:\.\d+)*)(?![\w])(?!\.\d)")
_PAREN = re.compile(r"\s*\((?:[^()]|\([^()]*\))*\)")
_QUALIFIER = re.compile(r"\s+(?:Table\s+\d+|D\d+(?:\s*[-–]\s*D?\d+)?)(?![\w])|\s*/\s*D\d+(?![\w])")
_SEP = re.compile(r"\s*(?:,|/|;?\s*and\b|\bor\b|&)\s*(?:sections?\s+|§\s*)?", re.I)
_DECISION_ITEM = re.compile(r"D\d+(?:\s*[-–]\s*D?\d+)?(?![\w])")
_TRAIL_FILE = re.compile(r"\s+(?:of|in)\s+" + _FILE)
_HEADING = re.compile(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", re.M)


@dataclass(frozen=True)
class Citation:
    module: str      # path relative to the repository root
    line: int
    text: str        # the citation as written (up to the end of its section list)
    spec: str | None  # spec file it refers to
    section: str     # e.g. "2.3", "7", "2.3a"


def _expand(start: str, end: str) -> list[str]:
    """``1.2-1.4`` -> 1.2, 1.3, 1.4; ``1-3`` -> 1, 2, 3; anything else -> the two end points."""
    a, b = start.split("."), end.split(".")
    if len(a) == len(b) and a[:-1] == b[:-1] and int(a[-1]) < int(b[-1]) <= int(a[-1]) + 20:
        return [".".join(a[:-1] + [str(i)]) for i in range(int(a[-1]), int(b[-1]) + 1)]
    return [start, end]


def _parse_after(text: str, pos: int) -> tuple[str | None, list[str], int]:
    """Parse the section list that follows a "spec" at ``pos``: (explicit spec file, sections, end)."""
    explicit = None
    m = _LEAD_FILE.match(text, pos)
    if m and m.group("file") in SPEC_FILES:
        explicit, pos = m.group("file"), m.end()
    pos = _SECTION_WORD.match(text, pos).end()
    sections: list[str] = []
    end = pos
    while True:
        m = _NUM.match(text, pos)
        if m:
            items = [m.group("num") + (m.group("sub") or "")]
            pos = m.end()
            r = _RANGE.match(text, pos)
            if r and not m.group("sub"):
                items, pos = _expand(m.group("num"), r.group("end")), r.end()
            sections += items
        elif sections and _DECISION_ITEM.match(text, pos):   # "..., D3 and 7": a decision row, not a section
            pos = _DECISION_ITEM.match(text, pos).end()
        else:
            break
        end = pos
        while True:                                          # "(Figure 6)", " Table 2", " D13", " / D9"
            q = _PAREN.match(text, pos) or _QUALIFIER.match(text, pos)
            if not q:
                break
            pos = q.end()
        s = _SEP.match(text, pos)
        if not s or not (_NUM.match(text, s.end()) or _DECISION_ITEM.match(text, s.end())):
            break
        pos = s.end()
    t = _TRAIL_FILE.match(text, end)
    if t and t.group("file") in SPEC_FILES and explicit is None:
        explicit, end = t.group("file"), t.end()
    return explicit, sections, end


def _spec_files_in(text: str) -> list[str]:
    found = [(text.find(f), f) for f in SPEC_FILES if f in text]
    return [f for _, f in sorted(found)]


def module_spec(path: Path) -> str | None:
    """The spec file a module cites by default: the first spec file its docstring names, else ``PATH_SPEC``."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    named = _spec_files_in(doc)
    if named:
        return named[0]
    rel = path.relative_to(SRC).as_posix()
    keys = [k for k in PATH_SPEC if rel == k or (k.endswith("/") and rel.startswith(k))]
    return PATH_SPEC[max(keys, key=len)] if keys else None


def citations_in(path: Path, default: str | None) -> list[Citation]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in _SPEC.finditer(text):
        explicit, sections, end = _parse_after(text, m.end())
        line = text.count("\n", 0, m.start()) + 1
        snippet = " ".join(text[m.start():end].split())
        for sec in sections:
            out.append(Citation(path.relative_to(ROOT).as_posix(), line, snippet, explicit or default, sec))
    return out


def library_citations() -> list[Citation]:
    cites = []
    for path in sorted(SRC.rglob("*.py")):
        cites += citations_in(path, module_spec(path))
    return cites


# ----------------------------------------------------------------------------------------------- resolving
def spec_sections(name: str) -> dict[str, str]:
    """Section number -> its text (heading line to the next heading of the same or a higher level)."""
    text = (SPEC_DIR / name).read_text(encoding="utf-8")
    heads = [(m.group(1), m.start(), len(text[m.start():].split(None, 1)[0])) for m in _HEADING.finditer(text)]
    sections = {}
    for i, (num, start, level) in enumerate(heads):
        stop = next((s for _, s, lv in heads[i + 1:] if lv <= level), len(text))
        sections[num] = text[start:stop]
    return sections


def unresolved(cites: list[Citation]) -> list[str]:
    cache = {f: spec_sections(f) for f in SPEC_FILES if (SPEC_DIR / f).is_file()}
    bad = []
    for c in cites:
        if c.spec is None or c.spec not in cache:
            bad.append(f"{c.module}:{c.line}: '{c.text}' -> no spec file known for this module/citation")
            continue
        num, sub = re.fullmatch(r"(\d+(?:\.\d+)*)([a-c]?)", c.section).groups()
        body = cache[c.spec].get(num)
        if body is None:
            bad.append(f"{c.module}:{c.line}: '{c.text}' -> section {c.section} is not a heading of "
                       f"docs/spec/{c.spec}")
        elif sub and not re.search(rf"\({sub}\)", body):
            bad.append(f"{c.module}:{c.line}: '{c.text}' -> section {num} of docs/spec/{c.spec} has no "
                       f"paragraph ({sub})")
    return bad


# ----------------------------------------------------------------------------------------------- tests
def test_parser_reads_the_citation_forms_in_use():
    text = ("Spec ``universality.md`` 4.2, 6.0 (Table 2, D5-D8), 6.1 (Figure 6), 7 (Figure 6) and 2.4 / 2.5 "
            "(Eq. 10-13).\n(spec 7, Figs 6 / 14) spec 1e-4 needs; (spec 2.3a, 2.7; lambda) spec 1.2-1.4 and 9. "
            "spec 5.5/5.6 of exact-dynamics.md via; spec section 6 (Figure 2) and section 7 (checks); "
            "spec 6.0 Table 2 / D9 / D14, 6.1 (Figure 8) and 7; spec 6.1 (Figure 5), 3.3, D3 and 7; spec D10; "
            "spec-3.3 filter; spec's 2.6 table; the spec (``shared/spec/universality.md``, sections 1-3); "
            "the spec (section 9) gives; spec ``universality.md`` §6.1, §11). (spec exact-dynamics.md section 6)")
    got = []
    for m in _SPEC.finditer(text):
        explicit, secs, _ = _parse_after(text, m.end())
        got.append((explicit, secs))
    assert got == [
        ("universality.md", ["4.2", "6.0", "6.1", "7", "2.4", "2.5"]),
        (None, ["7"]),
        (None, []),
        (None, ["2.3a", "2.7"]),
        (None, ["1.2", "1.3", "1.4", "9"]),
        ("exact-dynamics.md", ["5.5", "5.6"]),
        (None, ["6", "7"]),
        (None, ["6.0", "6.1", "7"]),
        (None, ["6.1", "3.3", "7"]),
        (None, []),
        (None, ["3.3"]),
        (None, ["2.6"]),
        ("universality.md", ["1", "2", "3"]),
        (None, ["9"]),
        ("universality.md", ["6.1", "11"]),
        ("exact-dynamics.md", ["6"]),
    ]


def test_every_module_with_citations_has_a_spec_file():
    missing = sorted({c.module for c in library_citations() if c.spec is None})
    assert not missing, "modules citing 'spec <n>' without a known spec file (name it in the docstring): " + \
        ", ".join(missing)


def test_spec_citations_resolve():
    cites = library_citations()
    assert len(cites) > 200, f"the parser found only {len(cites)} citations: is it still reading them?"
    bad = unresolved(cites)
    assert not bad, f"{len(bad)} unresolved spec citation(s):\n" + "\n".join(bad)


def test_references_table_covers_every_cited_section():
    text = REFERENCES.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\|\s*`?([\w-]+\.md)`?\s*\|\s*([0-9][0-9.]*[a-c]?)\s*\|", text, re.M))
    cited = {(c.spec, c.section) for c in library_citations() if c.spec}
    missing = sorted(cited - rows)
    assert not missing, "docs/references.md has no table row for: " + \
        ", ".join(f"{f} {s}" for f, s in missing)
    for f in SPEC_FILES:
        assert f"spec/{f}" in text, f"docs/references.md does not link docs/spec/{f}"


def test_references_name_the_papers():
    text = REFERENCES.read_text(encoding="utf-8")
    for needle in ("10.1088/1742-5468/ad01b8", "2402.09142", "2409.14623"):
        assert needle in text


_LABEL = re.compile(r"(?<![\w/.])[Ss]pec(?:'s)?\s+(?:group\s+)?(?:(?P<kind>[DL])(?P<n>\d+)(?![\w])"
                    r"|check\s+(?P<check>\d+))")
#: Where the labels live: decision rows "| D<n> |" (universality.md 6.0), figure groups "**L<n>**"
#: (lambda-balanced.md 4), numbered acceptance checks "<n>. " (the acceptance-check section of each spec).
_CHECK_SECTION = {"lambda-balanced.md": "5", "universality.md": "7", "exact-dynamics.md": "7"}


def test_spec_labels_resolve():
    """"spec D10" (decision row), "spec L3" / "spec group L3" (figure group), "spec check 9" (acceptance check)."""
    cache = {f: spec_sections(f) for f in SPEC_FILES}
    bad, n = [], 0
    for path in sorted(SRC.rglob("*.py")):
        text, spec = path.read_text(encoding="utf-8"), module_spec(path)
        for m in _LABEL.finditer(text):
            n += 1
            where = f"{path.relative_to(ROOT).as_posix()}:{text.count(chr(10), 0, m.start()) + 1}: '{m.group(0)}'"
            if m.group("kind") == "D":
                ok = spec == "universality.md" and re.search(rf"^\|\s*D{m.group('n')}\s*\|", cache[spec]["6.0"], re.M)
            elif m.group("kind") == "L":
                ok = spec == "lambda-balanced.md" and f"**L{m.group('n')}**" in cache[spec]["4"]
            else:
                ok = spec in _CHECK_SECTION and re.search(rf"^{m.group('check')}\. ", cache[spec][_CHECK_SECTION[spec]],
                                                          re.M)
            if not ok:
                bad.append(where)
    assert n > 10
    assert not bad, "unresolved spec labels:\n" + "\n".join(bad)


# docs/spec/ is the project's own copy: the code cites it, whatever later happens to ../shared/spec (a suite that
# failed because a file outside the repository changed would not be green "on any day"). To see whether the
# shared notes moved on: diff -r docs/spec ../shared/spec
