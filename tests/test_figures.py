"""Every figure of the registry (learndyn.figures.registry), in-process at smoke scale: each step's jobs run on
exactly the config keys the step declares (as its generated rule passes them) and read no other key; the tables
have the trajectory parquet schema; every acceptance check passes; the figure draws. Plus the declarations
themselves: rule names unique, every figure-config key read by some step or by the plot, resources positive.
Paper B's deep-network trainings (torch steps) are not rerun here: their tables come from the session's smoke
workflow run (tests/conftest.py), the steps after them run in-process and must reproduce the workflow's files."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from pathlib import Path  # noqa: E402

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


MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
_TABLES: dict = {}  # (paper, file) -> table: a step's output is computed once per session (shared steps)


def _producer(paper: str, name: str):
    for fig, st in registry.steps():
        if fig.paper != paper:
            continue
        for job in st.jobs(SMOKE["batches"], fig.block(st, SMOKE[paper])):
            if st.pattern().format(**job) == name:
                return fig, st, job
    raise KeyError(f"no step writes {paper}/{name}")


def _extra_kwargs(st) -> dict:
    kw = {"device": "cpu"} if st.env == "torch" else {}
    if st.mnist:
        if not MNIST.is_dir():
            pytest.skip(f"official MNIST files not available at {MNIST}")
        kw["mnist_dir"] = str(MNIST)
    return kw


def _table(paper: str, name: str, workflow=None):
    """The table of one output file, computed in-process as its generated rule would (inputs first): the
    function gets exactly the step's declared keys, through a recorder that fails on an undeclared read.
    Deep-network trainings (torch steps) are read from the smoke workflow run ``workflow`` instead (the
    session's ``smoke_run``, which test_workflow.py runs anyway); a step computed here from them must equal
    the workflow's file."""
    if (paper, name) in _TABLES:
        return _TABLES[(paper, name)]
    fig, st, job = _producer(paper, name)
    done = None if workflow is None else workflow / "results" / "smoke" / paper / "data" / name
    if st.env == "torch":
        assert done is not None and done.exists(), f"{name}: no smoke workflow output"
        _TABLES[(paper, name)] = io.read_trajectories(done)
        return _TABLES[(paper, name)]
    block = fig.block(st, SMOKE[paper])
    rec = keytrack.Recorder(st.config(block, job))
    args = ()
    if st.inputs is not None:
        files = registry.input_files(st, job, SMOKE[paper], SMOKE["batches"])
        args = (io.concat([_table(paper, f, workflow) for f in files]),)
    with threadpool_limits(limits=1):  # as the rule (threads: 1): BLAS sums in the same order, the same bits
        table = st.function(*args, rec, **st.call_kwargs(job), **_extra_kwargs(st))
    if done is not None:  # same code, same inputs: the same numbers as the workflow's file (NaN == NaN)
        pd.testing.assert_frame_equal(table.reset_index(drop=True), io.read_trajectories(done).reset_index(drop=True),
                                      check_exact=True, obj=name)
    if st.view is None:  # keys relative to the declared block (a view rearranges them; it sees only the selection)
        read = keytrack.minimal(rec._log)
        keys = [k.format(**job) for k in st.keys]
        undeclared = sorted(k for k in read if not keytrack.covered(k, [k2.rstrip("?") for k2 in keys]))
        assert not undeclared, f"{st.name} reads config keys it does not declare: {undeclared}"
    assert io.to_table(table).schema.equals(io.SCHEMA, check_metadata=False), st.name
    assert len(table), f"{st.name} {job}: empty table"
    _TABLES[(paper, name)] = table
    return table


def _trains(fig) -> bool:
    """Does the figure read deep-network trainings (torch steps, its own or another figure's)?"""
    files = registry.plot_files(fig, SMOKE[fig.paper], SMOKE["batches"])
    return fig.paper == "paper_b" and any(
        _producer(fig.paper, f)[1].env == "torch" or _producer(fig.paper, f)[1].inputs is not None for f in files)


@pytest.mark.parametrize("fig", [pytest.param(f, id=f.id, marks=[pytest.mark.slow] if _trains(f) else [])
                                 for f in registry.FIGURES])
def test_figure_steps_checks_and_draw(fig, request):
    paper_cfg = SMOKE[fig.paper]
    workflow = request.getfixturevalue("smoke_run") if _trains(fig) else None
    files = registry.plot_files(fig, paper_cfg, SMOKE["batches"])
    table = io.concat([_table(fig.paper, f, workflow) for f in files])
    plot_cfg = keytrack.Recorder(fig.plot_config(paper_cfg))
    checks = fig.checks(table, plot_cfg)
    assert list(checks.columns[:4]) == ["check", "value", "threshold", "passed"]
    failed = checks.loc[~checks["passed"].astype(bool), "check"].tolist()
    assert not failed, f"{fig.id}: failed checks at smoke scale: {failed}"
    drawn = fig.draw(table, plot_cfg)
    assert drawn.axes, f"{fig.id}: the figure has no axes"
    plt.close(drawn)
    if fig.plot_view is not None:
        return  # the plot reads a merged mapping: its keys are not paths of the figure's block
    # every key of the figure's block is read by a step (declared) or by the plot (checks/draw): a key nobody
    # reads would be an edit that changes nothing
    prefix = fig.name + "."
    read = [k.rstrip("?") for s in fig.steps for k in s.keys if s.scope == "figure"]
    read += [k.rstrip("?").replace("{fig}.", prefix)[len(prefix):] for s in fig.steps for k in s.keys
             if s.scope == "paper" and k.replace("{fig}.", prefix).startswith(prefix)]
    read += ["checks", "draw"] + sorted(keytrack.minimal(plot_cfg._log))
    read = [k.split(".{")[0] for k in read]  # "runs.{run}": every run is read by some job
    unread = [k for k in _leaves(FULL[fig.paper][fig.name]) if not keytrack.covered(k, read)]
    assert not unread, f"{fig.id}: config keys read by no step and not by the plot: {unread}"


def test_declarations_are_consistent():
    steps = {}
    for f in registry.FIGURES:
        for s in f.steps:
            assert steps.setdefault(s.name, s) is s, f"two different steps are named {s.name} (rule names)"
    ids = [f.id for f in registry.FIGURES]
    assert len(ids) == len(set(ids))
    for fig, step in registry.steps():
        for scale in (SMOKE, FULL):
            block = fig.block(step, scale[fig.paper])
            jobs = step.jobs(scale["batches"], block)
            assert jobs, step.name
            outputs = [step.pattern().format(**j) for j in jobs]
            assert len(outputs) == len(set(outputs)), f"{step.name}: two jobs write one file"
            for job in jobs:
                step.config(block, job)  # every declared key exists (KeyError naming it otherwise)
                mem, minutes = step.resources(block, job.get("n_batches", 1), job)
                assert mem > 0 and minutes > 0, step.name
                if step.inputs is not None:
                    assert registry.input_files(step, job, scale[fig.paper], scale["batches"]), step.name
        for scale in (SMOKE, FULL):
            assert registry.plot_files(fig, scale[fig.paper], scale["batches"]), fig.id
