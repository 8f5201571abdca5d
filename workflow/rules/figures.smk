# Rules generated from the figures' declarations (learndyn.figures.registry; each figure module's FIGURE names its
# steps, the config keys each step reads, its batching and its cost). Per step: one compute rule (one job per
# batch or wildcard value) writing results/<paper>/data/<output>.parquet; per figure: one plot rule (reads only
# that parquet, writes the PDF, PNG and check table) and one target fig_<id>. A step's params are exactly its
# declared config keys: editing any other key never reruns it.
import math

sys.path.insert(0, str(SRC))  # this checkout's core, whatever is installed
from learndyn.figures import registry as FIGURE_REGISTRY
from learndyn.figures.steps import ENVIRONMENTS


def _job(step, w):
    """The job (wildcard values, batch, n_batches) of one rule instance."""
    job = {k: w[k] for k in step.wildcard_names()}
    if step.batch is not None:
        job.update(
            batch=int(w.batch), n_batches=_N_BATCHES[step.name][tuple(job.get(k) for k in step.wildcard_names())]
        )
    return job


def _kwargs(step, w):
    kw = step.call_kwargs(_job(step, w))
    if step.env == "torch":
        kw["device"] = torch_device()
    if step.mnist:
        kw["mnist_dir"] = str(MNIST_DIR)
    return kw


def _cost(step, block, w):
    job = _job(step, w)
    return step.resources(block, job.get("n_batches", 1), job)


# Per-step closures (a rule's input/params/resources functions are called at job time, after the loop has moved on:
# each binds its own step)
def _inputs(step, paper_cfg, data):
    return lambda w: [data / f for f in FIGURE_REGISTRY.input_files(step, _job(step, w), paper_cfg, config["batches"])]


def _params_cfg(step, block):
    return lambda w: step.config(block, _job(step, w))


def _params_kwargs(step):
    return lambda w: _kwargs(step, w)


def _resource(step, block, index):
    return lambda w: math.ceil(_cost(step, block, w)[index])


def _constraints(step, jobs):
    out = {w: "|".join(sorted({str(j[w]) for j in jobs})) for w in step.wildcard_names()}
    if step.batch is not None:
        out["batch"] = r"\d+"
    return out


_N_BATCHES = {}  # step -> wildcard values -> number of batches
for _fig, _step in FIGURE_REGISTRY.steps():
    _paper_cfg = config[_fig.paper]
    _block = _fig.block(_step, _paper_cfg)
    _jobs = _step.jobs(config["batches"], _block)
    _N_BATCHES[_step.name] = {
        tuple(j.get(k) for k in _step.wildcard_names()): j["n_batches"] for j in _jobs if "n_batches" in j
    }
    _tag = "".join(f"_{{{w}}}" for w in list(_step.wildcard_names()) + (["batch"] if _step.batch is not None else []))
    _data = RESULTS / _fig.paper / "data"

    rule:
        name:
            _step.name
        input:
            data=_inputs(_step, _paper_cfg, _data),
            mnist=MNIST_TRAIN_FILES if _step.mnist else [],
            core=core_deps(_step.function.__module__),
        output:
            _data / _step.pattern(),
        log:
            LOGS / _fig.paper / f"{_step.name}{_tag}.log",
        benchmark:
            BENCHMARKS / _fig.paper / f"{_step.name}{_tag}.tsv"
        wildcard_constraints:
            **_constraints(_step, _jobs),
        conda:
            f"../../envs/{ENVIRONMENTS[_step.env]}.yaml"
        threads: 1
        resources:
            **(gpu_resources() if _step.gpu else {}),
            mem_mb=per_attempt(_resource(_step, _block, 0)),
            runtime=per_attempt(_resource(_step, _block, 1)),
        params:
            step=_step.name,
            transform=_step.inputs is not None,
            cfg=_params_cfg(_step, _block),
            kwargs=_params_kwargs(_step),
        script:
            "../scripts/compute.py"


for _fig in FIGURE_REGISTRY.FIGURES:
    _paper_cfg = config[_fig.paper]
    _fig_files = figure_files(_fig.paper, _fig.name)
    ALL_TARGETS.extend(_fig_files.values())

    rule:
        name:
            f"{_fig.id}_plot"
        input:
            data=[
                RESULTS / _fig.paper / "data" / f
                for f in FIGURE_REGISTRY.plot_files(_fig, _paper_cfg, config["batches"])
            ],
            core=core_deps(_fig.checks.__module__, _fig.draw.__module__),
        output:
            **_fig_files,
        log:
            LOGS / _fig.paper / f"{_fig.id}_plot.log",
        localrule: True
        conda:
            "../../envs/learndyn.yaml"
        params:
            figure=_fig.id,
            cfg=_fig.plot_config(_paper_cfg),
        script:
            "../scripts/plot.py"

    rule:
        name:
            f"fig_{_fig.id}"
        input:
            **_fig_files,
        localrule: True
