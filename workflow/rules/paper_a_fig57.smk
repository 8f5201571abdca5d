# Paper A, Figures 5 (continual learning) and 7 (weights up to an orthogonal transformation).
# Compute rules write parquet in results/paper_a/data; plot rules read only that parquet.
A57_DATA = RESULTS / "paper_a" / "data"
A57_MOD = "learndyn.figures.paper_a"
A57_FIGS = {f"fig{i}": figure_files("paper_a", f"fig{i}") for i in (5, 7)}
A5_RUN_BATCHES = range(config["batches"]["a5_runs"])

ALL_TARGETS.extend(f for figs in A57_FIGS.values() for f in figs.values())

localrules: a5_plot, fig_a5, a7_plot, fig_a7


rule a5_exact:
    input:
        core=core_deps(f"{A57_MOD}.fig5"),
    output:
        A57_DATA / "fig5_A.parquet",
    params:
        module=f"{A57_MOD}.fig5",
        function="compute_a",
        cfg=config["paper_a"]["fig5"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a5_exact.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a5_exact.tsv"
    threads: 1
    resources:
        # benchmark, full scale (shared 2-core machine): 2.3 s wall, 1.4 s CPU, max RSS 0.17 GB
        mem_mb=per_attempt(500),
        runtime=per_attempt(5),
    script:
        "../scripts/compute.py"


rule a5_runs:
    input:
        core=core_deps(f"{A57_MOD}.fig5"),
    output:
        A57_DATA / "fig5_BC_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=f"{A57_MOD}.fig5",
        function="compute_runs",
        cfg=config["paper_a"]["fig5"],
        kwargs=lambda w: {"batch": int(w.batch), "n_batches": len(A5_RUN_BATCHES)},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a5_runs_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a5_runs_{batch}.tsv"
    threads: 1
    resources:
        # benchmark, full scale, 10 batches of 5 networks: max RSS 0.15 GB, CPU 20-36 s per batch (<= 7.1 s per
        # network for linear + tanh + ReLU, 2 x 50 000 nonlinear steps each; wall 56-77 s on the shared machine);
        # 20 s budgeted per network, scaled with the nonlinear step count
        mem_mb=per_attempt(500),
        runtime=per_attempt(sweep_runtime(
            config["paper_a"]["fig5"]["runs"]["n_runs"], len(A5_RUN_BATCHES),
            20 * config["paper_a"]["fig5"]["runs"]["steps_nonlinear"] / 50000)),
    script:
        "../scripts/compute.py"


rule a5_sequence:
    input:
        core=core_deps(f"{A57_MOD}.fig5"),
    output:
        A57_DATA / "fig5_DE.parquet",
    params:
        module=f"{A57_MOD}.fig5",
        function="compute_sequence",
        cfg=config["paper_a"]["fig5"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a5_sequence.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a5_sequence.tsv"
    threads: 1
    resources:
        # benchmark, full scale: 18 s wall, 7 s CPU, max RSS 0.15 GB (3 networks x 5 tasks x 20 000 steps)
        mem_mb=per_attempt(500),
        runtime=per_attempt(6),
    script:
        "../scripts/compute.py"


rule a5_plot:
    input:
        data=[rules.a5_exact.output[0], rules.a5_sequence.output[0]]
        + expand(A57_DATA / "fig5_BC_batch{batch}.parquet", batch=A5_RUN_BATCHES),
        core=core_deps(f"{A57_MOD}.fig5"),
    output:
        **A57_FIGS["fig5"],
    params:
        module=f"{A57_MOD}.fig5",
        cfg=config["paper_a"]["fig5"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a5_plot.log",
    script:
        "../scripts/plot.py"


rule fig_a5:
    input:
        **A57_FIGS["fig5"],


rule a7_compute:
    input:
        core=core_deps(f"{A57_MOD}.fig7"),
    output:
        A57_DATA / "fig7.parquet",
    params:
        module=f"{A57_MOD}.fig7",
        function="compute",
        cfg=config["paper_a"]["fig7"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a7_compute.log",
    benchmark:
        BENCHMARKS / "paper_a" / "a7_compute.tsv"
    threads: 1
    resources:
        # benchmark, full scale: 30 s wall, 9 s CPU, max RSS 0.29 GB (~0.95 M GD steps of a 2x2x2 network, weights
        # and closed forms on every phase-2 step); memory grows with the phase-2 length / dense_every
        mem_mb=per_attempt(800),
        runtime=per_attempt(6),
    script:
        "../scripts/compute.py"


rule a7_plot:
    input:
        data=rules.a7_compute.output,
        core=core_deps(f"{A57_MOD}.fig7"),
    output:
        **A57_FIGS["fig7"],
    params:
        module=f"{A57_MOD}.fig7",
        cfg=config["paper_a"]["fig7"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_a" / "a7_plot.log",
    script:
        "../scripts/plot.py"


rule fig_a7:
    input:
        **A57_FIGS["fig7"],
