# Paper A, Figures 4 (decoupling dynamics), 8 (representation error vs initial gain) and 9 (decoupling
# in 5x5 networks). Compute rules write parquet in results/paper_a/data; plot rules read only that parquet.
A489_DATA = RESULTS / "paper_a" / "data"
A489_MOD = "learndyn.figures.paper_a"
A489_FIGS = {f"fig{i}": figure_files("paper_a", f"fig{i}") for i in (4, 8, 9)}
A4_RUN_BATCHES = range(config["batches"]["a4_runs"])
A8_SWEEP_BATCHES = range(config["batches"]["a8_sweep"])

ALL_TARGETS.extend(f for figs in A489_FIGS.values() for f in figs.values())

localrules: a4_plot, a8_plot, a9_plot, fig_a4, fig_a8, fig_a9


rule a4_exact:
    input:
        core=core_deps(f"{A489_MOD}.fig4"),
    output:
        A489_DATA / "fig4_A.parquet",
    params:
        module=f"{A489_MOD}.fig4",
        function="compute_a",
        cfg=config["paper_a"]["fig4"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a4_exact.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a4_exact.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/compute.py"


rule a4_runs:
    input:
        core=core_deps(f"{A489_MOD}.fig4"),
    output:
        A489_DATA / "fig4_BF_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=f"{A489_MOD}.fig4",
        function="compute_runs",
        cfg=config["paper_a"]["fig4"],
        kwargs=lambda w: {"batch": int(w.batch), "n_batches": len(A4_RUN_BATCHES)},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a4_runs_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a4_runs_{batch}.tsv"
    threads: 1
    resources:
        # every step of W2W1 kept for the longest run of the batch (~370 000 steps at full scale)
        mem_mb=lambda w: max(1000, int(config["paper_a"]["fig4"]["runs"]["max_steps"] * 9 / len(A4_RUN_BATCHES)
                                       * 32 * 4 / 1e6) + 500),
        # ~30 us per GD step on one idle core, recorded every step; the longest run sets the batch's time
        runtime=lambda w: max(5, int(config["paper_a"]["fig4"]["runs"]["max_steps"] * 30e-6 / 60) + 5),
    script:
        "../scripts/compute.py"


rule a4_plot:
    input:
        data=[rules.a4_exact.output[0]] + expand(A489_DATA / "fig4_BF_batch{batch}.parquet", batch=A4_RUN_BATCHES),
        core=core_deps(f"{A489_MOD}.fig4"),
    output:
        **A489_FIGS["fig4"],
    params:
        module=f"{A489_MOD}.fig4",
        cfg=config["paper_a"]["fig4"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a4_plot.log",
    script:
        "../scripts/plot.py"


rule a8_sweep:
    input:
        core=core_deps(f"{A489_MOD}.fig8"),
    output:
        A489_DATA / "fig8_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=f"{A489_MOD}.fig8",
        function="compute_sweep",
        cfg=config["paper_a"]["fig8"],
        kwargs=lambda w: {"batch": int(w.batch), "n_batches": len(A8_SWEEP_BATCHES)},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a8_sweep_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a8_sweep_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        # ~1 s per (task, scheme, gain) item of 100 trials on one idle core
        runtime=lambda w: max(5, int(2 * (1 + len(config["paper_a"]["fig8"]["random_tasks"])) * 50
                                     * config["paper_a"]["fig8"]["n_trials"] / 100 / len(A8_SWEEP_BATCHES) / 60) + 5),
    script:
        "../scripts/compute.py"


rule a8_plot:
    input:
        data=expand(A489_DATA / "fig8_batch{batch}.parquet", batch=A8_SWEEP_BATCHES),
        core=core_deps(f"{A489_MOD}.fig8"),
    output:
        **A489_FIGS["fig8"],
    params:
        module=f"{A489_MOD}.fig8",
        cfg=config["paper_a"]["fig8"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a8_plot.log",
    script:
        "../scripts/plot.py"


rule a9_compute:
    input:
        core=core_deps(f"{A489_MOD}.fig9"),
    output:
        A489_DATA / "fig9.parquet",
    params:
        module=f"{A489_MOD}.fig9",
        function="compute",
        cfg=config["paper_a"]["fig9"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a9_compute.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a9_compute.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/compute.py"


rule a9_plot:
    input:
        data=rules.a9_compute.output,
        core=core_deps(f"{A489_MOD}.fig9"),
    output:
        **A489_FIGS["fig9"],
    params:
        module=f"{A489_MOD}.fig9",
        cfg=config["paper_a"]["fig9"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a9_plot.log",
    script:
        "../scripts/plot.py"


rule fig_a4:
    input:
        **A489_FIGS["fig4"],


rule fig_a8:
    input:
        **A489_FIGS["fig8"],


rule fig_a9:
    input:
        **A489_FIGS["fig9"],
