# Rules generated from the figures' declarations (learndyn.figures.registry; each figure module's FIGURE names its
# steps, the config keys each step reads, its batching and its cost). Per step: one compute rule (one job per
# batch or wildcard value) writing results/<paper>/data/<output>.parquet; per figure: one plot rule (reads only
# that parquet, writes the PDF, PNG and check table) and one target fig_<id>. A step's params are exactly its
# declared config keys: editing any other key never reruns it.
import math

sys.path.insert(0, str(SRC))  # this checkout's core, whatever is installed
from learndyn.figures import registry as FIGURE_REGISTRY
from learndyn.figures.steps import ENVIRONMENTS, select


def _step_kwargs(step, n_batches):
    """The step function's keyword arguments of one job, from its wildcards."""
    if step.batch is not None:
        return lambda w: {"batch": int(w.batch), "n_batches": n_batches}
    if step.wildcard is not None:
        return lambda w: {step.wildcard[0]: w[step.wildcard[0]]}
    return {}


def _step_constraints(step):
    if step.batch is not None:
        return {"batch": r"\d+"}
    if step.wildcard is not None:
        return {step.wildcard[0]: "|".join(step.wildcard[1])}
    return {}


for _fig in FIGURE_REGISTRY.FIGURES:
    _fig_cfg = config[_fig.paper][_fig.name]
    _fig_files = figure_files(_fig.paper, _fig.name)
    _plot_data = []
    ALL_TARGETS.extend(_fig_files.values())

    for _step in _fig.steps:
        _jobs = _step.jobs(config["batches"])
        _n_batches = len(_jobs) if _step.batch is not None else 1
        _mem, _minutes = _step.resources(_fig_cfg, _n_batches)
        _tag = "".join(f"_{{{w}}}" for w in _step_constraints(_step))
        _out = RESULTS / _fig.paper / "data" / _step.pattern()
        _plot_data += [str(_out).format(**{k: v for k, v in job.items() if k != "n_batches"}) for job in _jobs]

        rule:
            name:
                _step.name
            input:
                core=core_deps(_step.function.__module__),
            output:
                _out,
            wildcard_constraints:
                **_step_constraints(_step),
            params:
                step=_step.name,
                cfg=select(_fig_cfg, _step.keys),
                kwargs=_step_kwargs(_step, _n_batches),
            conda:
                f"../../envs/{ENVIRONMENTS[_step.env]}.yaml"
            log:
                LOGS / _fig.paper / f"{_step.name}{_tag}.log",
            benchmark:
                BENCHMARKS / _fig.paper / f"{_step.name}{_tag}.tsv"
            threads: 1
            resources:
                mem_mb=per_attempt(math.ceil(_mem)),
                runtime=per_attempt(math.ceil(_minutes)),
                **(gpu_resources() if _step.gpu else {}),
            script:
                "../scripts/compute.py"

    rule:
        name:
            f"{_fig.id}_plot"
        localrule: True
        input:
            data=_plot_data,
            core=core_deps(_fig.checks.__module__, _fig.draw.__module__),
        output:
            **_fig_files,
        params:
            figure=_fig.id,
            cfg=_fig_cfg,
        conda:
            "../../envs/learndyn.yaml"
        log:
            LOGS / _fig.paper / f"{_fig.id}_plot.log",
        script:
            "../scripts/plot.py"

    rule:
        name:
            f"fig_{_fig.id}"
        localrule: True
        input:
            **_fig_files,
