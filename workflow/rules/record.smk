# The full-scale results record (`snakemake record`, README "Results at full scale"): every acceptance check of
# every figure of the last full-scale run, with its git commit, date, machine and wall time, written to the
# committed files docs/results/record.json and docs/results/record.md (learndyn.record, workflow/scripts/record.py).
#
# It records what is there and never builds a figure: the rule declares no figure files as inputs (an existing
# check table as input would make snakemake rerun its plot and compute jobs whenever their code or parameters
# changed) but the script globs results/<paper>/figures/figN_checks.tsv (and, for a figure run in part, the
# data files of its completed items). It declares no outputs either, so snakemake runs it on every
# `snakemake record` (a rule without outputs is always executed); the script writes the two files atomically.
# The record merges: a figure found in results/ replaces its entry, the others keep the entry of the existing
# record. Full-scale only: results/smoke/ is never read, and the rule refuses to run at a preset scale.
RECORD_DIR = ROOT / "docs" / "results"

# Figures that can be recorded in part while their check table does not exist yet: paper B Fig. 5 plots all
# architectures at once (many CPU hours); each completed architecture leaves its own prediction file, and
# the figure's `checks(table, cfg)` (learndyn.figures.registry), with cfg[key] restricted to the completed items,
# checks those.
# Benchmark files of item X: <bench_prefix>_<rule>_X[_<batch>].tsv (b5_pool_skip_0, b5_predict_skip).
RECORD_PARTIAL = [
    {
        "paper": "paper_b",
        "figure": "fig5",
        "id": "b5",
        "key": "architectures",
        "data": "fig5_pred_{item}.parquet",
        "bench_prefix": "b5",
        "cfg": config["paper_b"]["fig5"],
    },
]


localrules:
    record,


rule record:
    input:
        core=core_deps("learndyn.record", *(FIGURE_REGISTRY.figure(p["id"]).checks.__module__ for p in RECORD_PARTIAL)),
    log:
        LOGS / "record.log",
    conda:
        "../../envs/learndyn.yaml"
    params:
        papers=PAPERS,
        results=str(RESULTS),
        benchmarks=str(BENCHMARKS),
        record_dir=str(RECORD_DIR),
        partial=RECORD_PARTIAL,
        scale=config["scale"],
    script:
        "../scripts/record.py"
