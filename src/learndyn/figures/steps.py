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
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Union

__all__ = ["Step", "Figure", "select", "sweep_minutes", "ENVIRONMENTS"]

#: conda environment of a step (``envs/<name>.yaml``), by the libraries it needs
ENVIRONMENTS = {"numpy": "learndyn", "torch": "torch"}

Cost = Union[float, Callable[[dict, int], float]]


def select(cfg: dict, keys) -> dict:
    """The part of the (nested) mapping ``cfg`` named by dotted ``keys`` (e.g. ``("ab", "sweep.n_networks")``),
    as a new nested dict with the same structure. A key that names no entry raises ``KeyError`` naming it."""
    out: dict = {}
    for key in keys:
        parts = key.split(".")
        src, dst = cfg, out
        for i, part in enumerate(parts):
            if not isinstance(src, dict) or part not in src:
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
    """One compute step of a figure: one rule (or one per batch / wildcard value) writing one parquet file.

    name: the rule name (``a2_sweep``); function: ``function(cfg, **kwargs) -> pandas.DataFrame`` where cfg is
    ``select(figure_cfg, keys)``; output: the file stem under ``results/<paper>/data`` (``fig2_C`` ->
    ``fig2_C.parquet``, ``fig2_C_batch{batch}.parquet`` when batched, ``fig8_{experiment}.parquet`` with a
    wildcard); keys: dotted config paths relative to the figure's block that the numbers depend on; batch: the
    ``batches`` config key giving the number of jobs (items ``range(batch, n, n_batches)``), or None; wildcard:
    ``(name, values)`` for one job per value, or None; env: ``numpy`` or ``torch``; gpu: asks for a GPU when
    ``resources.gpu`` is true; mem_mb and minutes: the resource request of one job (a number or a function of
    the selected cfg and the number of batches; the workflow multiplies it by the attempt number)."""

    name: str
    function: Callable[..., Any]
    output: str
    keys: tuple[str, ...]
    batch: str | None = None
    wildcard: tuple[str, tuple[str, ...]] | None = None
    env: str = "numpy"
    gpu: bool = False
    mem_mb: Cost = 500
    minutes: Cost = 5

    def __post_init__(self):
        if self.env not in ENVIRONMENTS:
            raise ValueError(f"step {self.name}: env {self.env!r} is not one of {sorted(ENVIRONMENTS)}")
        if self.batch is not None and self.wildcard is not None:
            raise ValueError(f"step {self.name}: a step is batched or has a wildcard, not both")
        if not self.keys:
            raise ValueError(f"step {self.name}: declare the config keys its numbers depend on")
        if self.wildcard is not None and "{" + self.wildcard[0] + "}" not in self.output:
            raise ValueError(f"step {self.name}: output {self.output!r} must contain {{{self.wildcard[0]}}}")

    def pattern(self) -> str:
        """Output file name (relative to the paper's data folder) with the step's wildcard, if any."""
        if self.batch is not None:
            return f"{self.output}_batch{{batch}}.parquet"
        return f"{self.output}.parquet"

    def jobs(self, batches: dict) -> list[dict]:
        """The keyword arguments of every job of this step (``batches``: the ``batches`` config block)."""
        if self.batch is not None:
            n = int(batches[self.batch])
            return [{"batch": b, "n_batches": n} for b in range(n)]
        if self.wildcard is not None:
            name, values = self.wildcard
            return [{name: v} for v in values]
        return [{}]

    def run(self, figure_cfg: dict, **kwargs):
        """Call the step's function on the declared part of ``figure_cfg`` (as its rule does)."""
        return self.function(select(figure_cfg, self.keys), **kwargs)

    def resources(self, figure_cfg: dict, n_batches: int = 1) -> tuple[float, float]:
        """(mem_mb, minutes) of one job, from the declared part of the config."""
        cfg = select(figure_cfg, self.keys)
        return _cost(self.mem_mb, cfg, n_batches), _cost(self.minutes, cfg, n_batches)


@dataclass(frozen=True)
class Figure:
    """One figure (paper A/B figure n, paper C group Ln): its id (``a2`` -> target ``fig_a2``, plot rule
    ``a2_plot``), paper (``paper_a``), name (``fig2``: config block ``<paper>.<name>`` and outputs
    ``results/<paper>/figures/<name>.*``), steps in the order their tables are concatenated for the plot, and
    the plot's two functions ``checks(table, cfg) -> check table`` and ``draw(table, cfg) -> Figure`` (cfg:
    the whole figure block)."""

    id: str
    paper: str
    name: str
    steps: tuple[Step, ...]
    checks: Callable[..., Any]
    draw: Callable[..., Any]

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"figure {self.id} has no step {name!r} (steps: {[s.name for s in self.steps]})")
