"""Every figure the workflow builds, from its declarative description (``FIGURE`` of each figure module,
learndyn.figures.steps): ``workflow/rules/figures.smk`` generates the rules from ``FIGURES``, the compute and plot
scripts look their functions up here, tests/test_figures.py runs every step in-process. A step shared by several
figures (paper B's blob and XOR trainings) is listed by each of them and gets one rule."""
from __future__ import annotations

from learndyn.figures.paper_a import fig1 as a1, fig2 as a2, fig3 as a3, fig4 as a4, fig5 as a5, fig6 as a6
from learndyn.figures.paper_a import fig7 as a7, fig8 as a8, fig9 as a9
from learndyn.figures.paper_b import fig1 as b1, fig2 as b2, fig3 as b3, fig4 as b4, fig5 as b5, fig6 as b6
from learndyn.figures.paper_b import fig7 as b7, fig8 as b8, fig9 as b9, fig10 as b10, fig11 as b11
from learndyn.figures.paper_b import fig12 as b12, fig13 as b13, fig14 as b14, fig15 as b15, fig16 as b16
from learndyn.figures.paper_c import fig1 as c1, fig2 as c2, fig3 as c3, fig4 as c4, fig5 as c5, fig6 as c6
from learndyn.figures.paper_c import fig7 as c7, fig8 as c8
from learndyn.figures.steps import Figure, Step

__all__ = ["FIGURES", "figure", "step", "steps", "input_files", "plot_files"]

FIGURES: tuple[Figure, ...] = tuple(
    m.FIGURE for m in (a1, a2, a3, a4, a5, a6, a7, a8, a9,
                       b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16,
                       c1, c2, c3, c4, c5, c6, c7, c8)
)


def figure(fid: str) -> Figure:
    """The figure with id ``fid`` (``a2``, ``c8``)."""
    for f in FIGURES:
        if f.id == fid:
            return f
    raise KeyError(f"no figure {fid!r}; figures: {[f.id for f in FIGURES]}")


def step(name: str) -> tuple[Figure, Step]:
    """The (first) figure and the step of the compute rule ``name`` (``a2_sweep``)."""
    for f in FIGURES:
        for s in f.steps:
            if s.name == name:
                return f, s
    raise KeyError(f"no figure step {name!r}")


def steps() -> list[tuple[Figure, Step]]:
    """Every step once (a shared step with the first figure that lists it), in declaration order."""
    seen, out = set(), []
    for f in FIGURES:
        for s in f.steps:
            if s.name not in seen:
                seen.add(s.name)
                out.append((f, s))
    return out


def _files(wanted, paper_cfg: dict, batches: dict) -> list[str]:
    out = []
    for name, flt in wanted:
        fig, st = step(name)
        for job in st.jobs(batches, fig.block(st, paper_cfg)):
            if callable(flt):
                ok = flt(job)
            else:
                ok = all(str(job.get(k)) == str(v) for k, v in flt.items())
            if ok:
                out.append(st.pattern().format(**job))
    return out


def input_files(st: Step, job: dict, paper_cfg: dict, batches: dict) -> list[str]:
    """File names (in the paper's data folder) of the tables that transform step ``st`` reads for ``job``: the
    jobs of its ``inputs`` steps with the same wildcard values (or the declared filters)."""
    if st.inputs is None:
        return []
    if callable(st.inputs):
        fig = step(st.name)[0]
        wanted = st.inputs(fig.block(st, paper_cfg), job)
    else:
        wanted = []
        for name in st.inputs:
            other = step(name)[1]
            shared = set(other.wildcard_names()) | ({"batch"} if other.batch else set())
            wanted.append((name, {k: v for k, v in job.items() if k in shared}))
    return _files(wanted, paper_cfg, batches)


def plot_files(fig: Figure, paper_cfg: dict, batches: dict) -> list[str]:
    """File names (in the paper's data folder) of the tables figure ``fig``'s plot reads."""
    return _files(fig.plot_inputs(paper_cfg), paper_cfg, batches)
