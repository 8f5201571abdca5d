"""Every figure of the registry (learndyn.figures.registry), in-process at smoke scale: each step's jobs run on
exactly the config keys the step declares (as its generated rule passes them) and read no other key; the tables
have the trajectory parquet schema; every acceptance check passes; the figure draws. Plus the declarations
themselves: rule names unique, every figure-config key read by some step or by the plot, resources positive.
Paper B's trainings still have hand-written rules (not in the registry) and their own tests."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import keytrack  # noqa: E402
from learndyn import io  # noqa: E402
from learndyn.figures import registry  # noqa: E402
from learndyn.figures.steps import select  # noqa: E402

SMOKE = keytrack.load_config("smoke")
FULL = keytrack.load_config("full")


def _leaves(node, path=()):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, path + (str(k),))
    else:
        yield ".".join(path)


@pytest.mark.parametrize("fig", registry.FIGURES, ids=[f.id for f in registry.FIGURES])
def test_figure_steps_checks_and_draw(fig):
    cfg = SMOKE[fig.paper][fig.name]
    tables = []
    for step in fig.steps:
        for job in step.jobs(SMOKE["batches"]):
            rec = keytrack.Recorder(select(cfg, step.keys))
            table = step.function(rec, **job)
            read = keytrack.minimal(rec._log)
            undeclared = sorted(k for k in read if not keytrack.covered(k, step.keys))
            assert not undeclared, f"{step.name} reads config keys it does not declare: {undeclared}"
            assert io.to_table(table).schema.equals(io.SCHEMA, check_metadata=False), step.name
            assert len(table), f"{step.name} {job}: empty table"
            tables.append(table)
    table = io.concat(tables)
    plot_cfg = keytrack.Recorder(cfg)
    checks = fig.checks(table, plot_cfg)
    assert list(checks.columns[:4]) == ["check", "value", "threshold", "passed"]
    failed = checks.loc[~checks["passed"].astype(bool), "check"].tolist()
    assert not failed, f"{fig.id}: failed checks at smoke scale: {failed}"
    drawn = fig.draw(table, plot_cfg)
    assert drawn.axes, f"{fig.id}: the figure has no axes"
    plt.close(drawn)
    # every key of the figure's block is read by a step (declared) or by the plot (checks/draw): a key nobody
    # reads would be an edit that changes nothing
    read = [k for s in fig.steps for k in s.keys] + ["checks", "draw"] + sorted(keytrack.minimal(plot_cfg._log))
    unread = [k for k in _leaves(FULL[fig.paper][fig.name]) if not keytrack.covered(k, read)]
    assert not unread, f"{fig.id}: config keys read by no step and not by the plot: {unread}"


def test_declarations_are_consistent():
    names = [s.name for f in registry.FIGURES for s in f.steps]
    assert len(names) == len(set(names)), "step (rule) names must be unique"
    ids = [f.id for f in registry.FIGURES]
    assert len(ids) == len(set(ids))
    for fig in registry.FIGURES:
        for scale in (SMOKE, FULL):
            cfg = scale[fig.paper][fig.name]
            for step in fig.steps:
                select(cfg, step.keys)  # every declared key exists
                n = len(step.jobs(scale["batches"])) if step.batch else 1
                mem, minutes = step.resources(cfg, n)
                assert mem > 0 and minutes > 0, step.name
