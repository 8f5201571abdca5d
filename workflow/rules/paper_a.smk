# Paper A (Braun, Dominé, Fitzgerald, Saxe 2022/2023): exact learning dynamics with prior knowledge.
# Compute rules write parquet in results/paper_a/data; plot rules read only that parquet.
A_DATA = RESULTS / "paper_a" / "data"
A_FIGS = {f"fig{i}": figure_files("paper_a", f"fig{i}") for i in (1, 2)}
A_MOD = "learndyn.figures.paper_a"
A_SWEEP_BATCHES = range(config["batches"]["a2_sweep"])

ALL_TARGETS.extend(f for figs in A_FIGS.values() for f in figs.values())

localrules: a1_plot, a2_plot, fig_a1, fig_a2


rule a1_compute:
    input:
        core=core_deps(f"{A_MOD}.fig1"),
    output:
        A_DATA / "fig1.parquet",
    params:
        module=f"{A_MOD}.fig1",
        function="compute",
        cfg=config["paper_a"]["fig1"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a1_compute.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a1_compute.tsv"
    threads: 1
    resources:
        # benchmark (full = smoke scale): 3 s, max RSS 0.2 GB
        mem_mb=per_attempt(500),
        runtime=per_attempt(5),
    script:
        "../scripts/compute.py"


rule a1_plot:
    input:
        data=rules.a1_compute.output,
        core=core_deps(f"{A_MOD}.fig1"),
    output:
        **A_FIGS["fig1"],
    params:
        module=f"{A_MOD}.fig1",
        cfg=config["paper_a"]["fig1"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a1_plot.log",
    script:
        "../scripts/plot.py"


rule a2_exact:
    input:
        core=core_deps(f"{A_MOD}.fig2"),
    output:
        A_DATA / "fig2_AB.parquet",
    params:
        module=f"{A_MOD}.fig2",
        function="compute_ab",
        cfg=config["paper_a"]["fig2"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a2_exact.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a2_exact.tsv"
    threads: 1
    resources:
        # benchmark: 4 s, max RSS 0.38 GB at 10 000 steps (0.24 GB at 2 000): every step is stored
        mem_mb=per_attempt(500 + config["paper_a"]["fig2"]["ab"]["n_steps"] // 20),
        runtime=per_attempt(5),
    script:
        "../scripts/compute.py"


rule a2_sweep:
    input:
        core=core_deps(f"{A_MOD}.fig2"),
    output:
        A_DATA / "fig2_C_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=f"{A_MOD}.fig2",
        function="compute_sweep",
        cfg=config["paper_a"]["fig2"],
        kwargs=lambda w: {"batch": int(w.batch), "n_batches": len(A_SWEEP_BATCHES)},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a2_sweep_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a2_sweep_{batch}.tsv"
    threads: 1
    resources:
        # benchmark, full scale, 8 cost-balanced batches (fig2.sweep_batch), float32 training: 303 s CPU in all,
        # ~38 s per batch, the largest network alone 22-30 s (loaded 2-core machine, session 4); max RSS 0.17-0.58 GB
        # (grows with the widths); 15 s budgeted per network as an upper bound
        mem_mb=per_attempt(1200),
        runtime=per_attempt(sweep_runtime(
            config["paper_a"]["fig2"]["sweep"]["n_networks"], len(A_SWEEP_BATCHES),
            15 * config["paper_a"]["fig2"]["sweep"]["max_steps"] / 20000 * config["paper_a"]["fig2"]["sweep"]["n_etas"] / 7)),
    script:
        "../scripts/compute.py"


rule a2_plot:
    input:
        data=[rules.a2_exact.output[0]] + expand(A_DATA / "fig2_C_batch{batch}.parquet", batch=A_SWEEP_BATCHES),
        core=core_deps(f"{A_MOD}.fig2"),
    output:
        **A_FIGS["fig2"],
    params:
        module=f"{A_MOD}.fig2",
        cfg=config["paper_a"]["fig2"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a2_plot.log",
    script:
        "../scripts/plot.py"


rule fig_a1:
    input:
        **A_FIGS["fig1"],


rule fig_a2:
    input:
        **A_FIGS["fig2"],
