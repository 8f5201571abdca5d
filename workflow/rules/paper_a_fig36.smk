# Paper A, Figures 3 (rich and lazy learning) and 6 (reversal learning, revising structured knowledge).
# Compute rules write parquet in results/paper_a/data; plot rules read only that parquet.
A36_DATA = RESULTS / "paper_a" / "data"
A36_MOD = "learndyn.figures.paper_a"
A36_FIGS = {f"fig{i}": figure_files("paper_a", f"fig{i}") for i in (3, 6)}

ALL_TARGETS.extend(f for figs in A36_FIGS.values() for f in figs.values())

localrules: a3_plot, a6_plot, fig_a3, fig_a6


rule a3_compute:
    input:
        core=core_deps(f"{A36_MOD}.fig3"),
    output:
        A36_DATA / "fig3.parquet",
    params:
        module=f"{A36_MOD}.fig3",
        function="compute",
        cfg=config["paper_a"]["fig3"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a3_compute.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a3_compute.tsv"
    threads: 1
    resources:
        mem_mb=500,
        # ~1 s on one idle core: 3 + 3 x n_check_seeds runs of 2000 steps (8, 14, 8) and one closed-form loss
        runtime=5,
    script:
        "../scripts/compute.py"


rule a3_plot:
    input:
        data=rules.a3_compute.output,
        core=core_deps(f"{A36_MOD}.fig3"),
    output:
        **A36_FIGS["fig3"],
    params:
        module=f"{A36_MOD}.fig3",
        cfg=config["paper_a"]["fig3"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a3_plot.log",
    script:
        "../scripts/plot.py"


rule a6_reversal:
    input:
        core=core_deps(f"{A36_MOD}.fig6"),
    output:
        A36_DATA / "fig6_AB.parquet",
    params:
        module=f"{A36_MOD}.fig6",
        function="compute_reversal",
        cfg=config["paper_a"]["fig6"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a6_reversal.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a6_reversal.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/compute.py"


rule a6_hierarchy:
    input:
        core=core_deps(f"{A36_MOD}.fig6"),
    output:
        A36_DATA / "fig6_CH.parquet",
    params:
        module=f"{A36_MOD}.fig6",
        function="compute_hierarchy",
        cfg=config["paper_a"]["fig6"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a6_hierarchy.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a6_hierarchy.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        # ~40 s on one idle core, dominated by the two MDS fits (~800 points, 4 SMACOF inits each)
        runtime=10,
    script:
        "../scripts/compute.py"


rule a6_plot:
    input:
        data=[rules.a6_reversal.output[0], rules.a6_hierarchy.output[0]],
        core=core_deps(f"{A36_MOD}.fig6"),
    output:
        **A36_FIGS["fig6"],
    params:
        module=f"{A36_MOD}.fig6",
        cfg=config["paper_a"]["fig6"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a6_plot.log",
    script:
        "../scripts/plot.py"


rule fig_a3:
    input:
        **A36_FIGS["fig3"],


rule fig_a6:
    input:
        **A36_FIGS["fig6"],
