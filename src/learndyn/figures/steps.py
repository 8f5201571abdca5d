"""Declarative description of a figure: its compute steps and its plot (checks + draw).

Each figure module ends with ``FIGURE = Figure(...)`` naming the real function objects of its steps, the
config keys each step's numbers depend on, its batching and its cost as functions of the config. The workflow
generates one compute rule per step, one plot rule and one ``fig_<id>`` target per figure from these
descriptions (``workflow/rules/figures.smk``); the per-figure tests run the same steps in-process. Nothing
here imports Snakemake.

A step's function is called as ``function(select(figure_cfg, keys), **kwargs)`` where kwargs hold
``batch``/``n_batches`` for a batched step and ``<wildcard>=value`` for a step with a wildcard. It therefore
sees only the keys it declares: reading an undeclared key raises ``KeyError`` (in the rule and in the tests),
so a step's rule reruns exactly when one of its declared keys changes (they are the rule's only params).

Steps shared across figures or reading another figure's block (paper B: Fig. 5 trains the rows of Fig. 2,
one blob-training rule serves Figs 8, 12 and 15) use ``scope="paper"``: their keys are relative to the paper's
block and may name a wildcard (``"fig2.rows.{arch}"``, ``"{fig}.runs.{run}"``; a trailing ``?`` marks a key
some figures lack), ``jobs`` lists the wildcard values from the paper's block, and ``view`` rearranges the
selection into the mapping the function takes (it sees nothing but the selection). A step with ``inputs``
transforms earlier steps' tables: ``function(table, cfg, **kwargs)``.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Union

__all__ = ["Step", "Figure", "select", "sweep_minutes", "ENVIRONMENTS", "SCOPES"]

#: conda environment of a step (``envs/<name>.yaml``), by the libraries it needs
ENVIRONMENTS = {"numpy": "learndyn", "torch": "torch"}

#: what a step's keys are relative to: its figure's config block, or the paper's (shared or cross-figure steps)
SCOPES = ("figure", "paper")

Cost = Union[float, Callable[[dict, int], float]]


def select(cfg: dict, keys) -> dict:
    """The part of the (nested) mapping ``cfg`` named by dotted ``keys`` (e.g. ``("ab", "sweep.n_networks")``),
    as a new nested dict with the same structure. A key that names no entry raises ``KeyError`` naming it,
    unless it ends in ``?`` (optional: skipped when absent)."""
    out: dict = {}
    for key in keys:
        optional = key.endswith("?")
        key = key.rstrip("?")
        parts = key.split(".")
        src, dst = cfg, out
        for i, part in enumerate(parts):
            if not isinstance(src, dict) or part not in src:
                if optional:
                    break
                raise KeyError(f"config key {'.'.join(parts[:i + 1])!r} (declared {key!r}) does not exist")
            src = src[part]
            if i == len(parts) - 1:
                dst[part] = copy.deepcopy(src)
            else:
                dst = dst.setdefault(part, {})
    return out


def sweep_minutes(n_items: int, n_batches: int, seconds_per_item: float, overhead_min: int = 5) -> int:
    """Wall time (minutes) to request for one job of a sweep of ``n_items`` split into ``n_batches`` jobs (items
    ``range(batch, n_items, n_batches)``, at most ``ceil(n_items / n_batches)`` per job): ``overhead_min`` (Python
    and Snakemake start-up, a margin) plus ``seconds_per_item`` (measured with ``benchmark:``, times a safety
    factor) per item, rounded up to whole minutes. For a batched step's ``minutes``."""
    per_job = -(-n_items // n_batches)
    return overhead_min + int(-(-(per_job * seconds_per_item) // 60))


def _cost(value: Cost, cfg: dict, n_batches: int) -> float:
    return float(value(cfg, n_batches) if callable(value) else value)


@dataclass(frozen=True)
class Step:
    """One compute step of a figure: one rule (one job per batch and wildcard value) writing one parquet file.

    name: the rule name (``a2_sweep``); function: ``function(cfg, **kwargs) -> pandas.DataFrame`` (or
    ``function(table, cfg, **kwargs)`` with ``inputs``) where cfg is the selection of ``keys``; output: the file
    stem under ``results/<paper>/data`` (``fig2_C`` -> ``fig2_C.parquet``, ``fig2_C_batch{batch}.parquet`` when
    batched, ``fig8_{experiment}.parquet`` with a wildcard); keys: dotted config paths the numbers depend on,
    relative to the figure's block (``scope="figure"``) or the paper's (``scope="paper"``, may hold
    ``{wildcard}``); batch: the ``batches`` config key giving the number of jobs (items ``range(batch, n,
    n_batches)``; ``batch_items(block)`` caps it at the number of items), or None; jobs_of: ``block -> [{wildcard:
    value, ...}]``, one job per entry, for an output with ``{wildcard}`` fields;
    view: ``(selection, wildcards) -> cfg`` the function takes; inputs: the steps whose tables it transforms,
    as step names (their jobs with the same wildcard values) or ``(block, job) -> [(step name, filter)]`` (filter:
    a dict of wildcard values or a predicate on the job; :func:`learndyn.figures.registry.input_files`);
    kwargs: fixed keyword arguments added to the wildcard values and batch, or ``job -> kwargs`` replacing them;
    mnist: reads the MNIST files (``mnist_dir=`` argument); env: ``numpy`` or ``torch`` (torch steps get
    ``device=``); gpu: asks for a GPU when ``resources.gpu`` is true; mem_mb and minutes: the resource request of one job (a number or a function of the job's cfg and the
    number of batches; the workflow multiplies it by the attempt number)."""

    name: str
    function: Callable[..., Any]
    output: str
    keys: tuple[str, ...]
    batch: str | None = None
    env: str = "numpy"
    gpu: bool = False
    mem_mb: Cost = 500
    minutes: Cost = 5
    scope: str = "figure"
    jobs_of: Callable[[dict], list] | None = None
    view: Callable[[dict, dict], dict] | None = None
    inputs: tuple[str, ...] | Callable[[dict, dict], list] | None = None
    kwargs: Any = None
    batch_items: Callable[[dict], int] | None = None
    mnist: bool = False

    def __post_init__(self):
        if self.env not in ENVIRONMENTS:
            raise ValueError(f"step {self.name}: env {self.env!r} is not one of {sorted(ENVIRONMENTS)}")
        if self.scope not in SCOPES:
            raise ValueError(f"step {self.name}: scope {self.scope!r} is not one of {SCOPES}")
        if not self.keys:
            raise ValueError(f"step {self.name}: declare the config keys its numbers depend on")
        if bool(self.wildcard_names()) != (self.jobs_of is not None):
            raise ValueError(f"step {self.name}: an output with {{wildcard}} fields ({self.output!r}) needs jobs_of, "
                             "and jobs_of needs them")

    def wildcard_names(self) -> tuple[str, ...]:
        """The names of the step's wildcards besides ``batch``: the ``{name}`` fields of its output, in order."""
        return tuple(re.findall(r"\{(\w+)\}", self.output))

    def pattern(self) -> str:
        """Output file name (relative to the paper's data folder) with the step's wildcards, if any."""
        if self.batch is not None:
            return f"{self.output}_batch{{batch}}.parquet"
        return f"{self.output}.parquet"

    def jobs(self, batches: dict, block: dict | None = None) -> list[dict]:
        """The wildcard values of every job of this step (``batches``: the ``batches`` config block; ``block``:
        the config block of the step's scope, needed for config-dependent jobs and batch caps), with
        ``n_batches`` for a batched step."""
        base = [dict(j) for j in self.jobs_of(block)] if self.jobs_of is not None else [{}]
        if self.batch is None:
            return base
        out = []
        for job in base:
            n = int(batches[self.batch])
            if self.batch_items is not None:
                n = max(1, min(n, int(self.batch_items(block))))
            out += [{**job, "batch": b, "n_batches": n} for b in range(n)]
        return out

    def config(self, block: dict, job: dict | None = None) -> dict:
        """The mapping the function receives for ``job``: the declared keys of ``block`` (wildcards filled in),
        arranged by ``view``."""
        job = job or {}
        keys = [k.format(**job) if "{" in k else k for k in self.keys]
        sel = select(block, keys)
        return self.view(sel, job) if self.view is not None else sel

    def call_kwargs(self, job: dict) -> dict:
        """Keyword arguments of the function for ``job`` (without ``device``/``mnist_dir``, which the workflow
        adds)."""
        if callable(self.kwargs):
            return dict(self.kwargs(job))
        return {**job, **(self.kwargs or {})}

    def run(self, block: dict, table=None, **job):
        """Call the step's function on the declared part of ``block`` (as its rule does); ``table``: the input
        tables of a transform step."""
        cfg = self.config(block, job)
        if self.inputs is not None:
            return self.function(table, cfg, **self.call_kwargs(job))
        return self.function(cfg, **self.call_kwargs(job))

    def resources(self, block: dict, n_batches: int = 1, job: dict | None = None) -> tuple[float, float]:
        """(mem_mb, minutes) of one job, from the declared part of the config."""
        cfg = self.config(block, job)
        return _cost(self.mem_mb, cfg, n_batches), _cost(self.minutes, cfg, n_batches)


@dataclass(frozen=True)
class Figure:
    """One figure (paper A/B figure n, paper C group Ln): its id (``a2`` -> target ``fig_a2``, plot rule
    ``a2_plot``), paper (``paper_a``), name (``fig2``: config block ``<paper>.<name>`` and outputs
    ``results/<paper>/figures/<name>.*``), steps in the order their tables are concatenated for the plot, and
    the plot's two functions ``checks(table, cfg) -> check table`` and ``draw(table, cfg) -> Figure`` (cfg:
    the whole figure block, or ``plot_view(paper_cfg)``). ``data(paper_cfg) -> [(step name, filter)]``: the
    step outputs the plot reads when not every job of its own steps (shared steps, another figure's runs)."""

    id: str
    paper: str
    name: str
    steps: tuple[Step, ...]
    checks: Callable[..., Any]
    draw: Callable[..., Any]
    data: Callable[[dict], list] | None = None
    plot_view: Callable[[dict], dict] | None = None

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"figure {self.id} has no step {name!r} (steps: {[s.name for s in self.steps]})")

    def block(self, step: Step, paper_cfg: dict) -> dict:
        """The config block ``step``'s keys are relative to."""
        return paper_cfg if step.scope == "paper" else paper_cfg[self.name]

    def plot_config(self, paper_cfg: dict) -> dict:
        """The mapping the plot's checks and draw receive."""
        return self.plot_view(paper_cfg) if self.plot_view is not None else paper_cfg[self.name]

    def plot_inputs(self, paper_cfg: dict) -> list:
        """``[(step name, filter)]`` of the tables the plot reads (default: every job of its own steps)."""
        if self.data is not None:
            return list(self.data(paper_cfg))
        return [(s.name, {}) for s in self.steps]
