"""Every figure the workflow builds from a declarative description (``FIGURE`` of each figure module,
learndyn.figures.steps): ``workflow/rules/figures.smk`` generates the rules from ``FIGURES``, the compute and plot
scripts look their functions up here, tests/test_figures.py runs every step in-process. Paper B's figures still
have hand-written rules (workflow/rules/paper_b*.smk)."""
from __future__ import annotations

from learndyn.figures.paper_a import fig1 as a1, fig2 as a2, fig3 as a3, fig4 as a4, fig5 as a5, fig6 as a6
from learndyn.figures.paper_a import fig7 as a7, fig8 as a8, fig9 as a9
from learndyn.figures.paper_c import fig1 as c1, fig2 as c2, fig3 as c3, fig4 as c4, fig5 as c5, fig6 as c6
from learndyn.figures.paper_c import fig7 as c7, fig8 as c8
from learndyn.figures.steps import Figure, Step

__all__ = ["FIGURES", "figure", "step"]

FIGURES: tuple[Figure, ...] = tuple(
    m.FIGURE for m in (a1, a2, a3, a4, a5, a6, a7, a8, a9, c1, c2, c3, c4, c5, c6, c7, c8)
)


def figure(fid: str) -> Figure:
    """The figure with id ``fid`` (``a2``, ``c8``)."""
    for f in FIGURES:
        if f.id == fid:
            return f
    raise KeyError(f"no figure {fid!r}; figures: {[f.id for f in FIGURES]}")


def step(name: str) -> tuple[Figure, Step]:
    """The figure and step of the compute rule ``name`` (``a2_sweep``)."""
    for f in FIGURES:
        for s in f.steps:
            if s.name == name:
                return f, s
    raise KeyError(f"no figure step {name!r}")
