# Paper C (Dominé et al., ICLR 2025, "From Lazy to Rich"): exact dynamics from lambda-balanced initialisations.
# Figure groups L1-L8 of spec lambda-balanced.md section 4 -> targets fig_c1 ... fig_c8.
# Compute rules write parquet in results/paper_c/data; plot rules read only that parquet.
C_DATA = RESULTS / "paper_c" / "data"
C_FIGS = {f"fig{i}": figure_files("paper_c", f"fig{i}") for i in range(1, 9)}
C_MOD = "learndyn.figures.paper_c"
C_CFG = config["paper_c"]
C3_BATCHES = range(config["batches"]["c3_sweep"])
C4_BATCHES = range(config["batches"]["c4_sweep"])
C8_EXPERIMENTS = ("revision", "colour")

ALL_TARGETS.extend(f for figs in C_FIGS.values() for f in figs.values())


# Runtime requests (minutes): 3 x the estimated CPU seconds plus 5 minutes of start-up margin. The estimates are
# cpu_time from logs/benchmarks/paper_c at full scale (shared development machine, wall times inflated by other
# jobs), scaled with the config entries that drive the cost.
c_minutes = lambda seconds: 5 + int(-(-3 * seconds // 60))  # noqa: E731
# fig8: two GD runs per lambda plus a metric MDS of (snapshots x 8 items) points, O(points^2 n_init max_iter)
C8_POINTS = max(8 * (C_CFG["fig8"][x]["phase1_steps"] + C_CFG["fig8"][x]["phase2_steps"]) / C_CFG["fig8"][x]["snapshot_every"]
                for x in C8_EXPERIMENTS)
C8_SECONDS = 6.0 * len(C_CFG["fig8"]["lambdas"]) / 3 * max(
    1.0, (C8_POINTS / 808) ** 2 * C_CFG["fig8"]["mds"]["n_init"] / 4 * C_CFG["fig8"]["mds"]["max_iter"] / 300)

localrules: c1_plot, c2_plot, c3_plot, c4_plot, c5_plot, c6_plot, c7_plot, c8_plot, fig_c1, fig_c2, fig_c3, fig_c4, fig_c5, fig_c6, fig_c7, fig_c8


# ------------------------------------------------------------------ single-job figures (L1, L2, L5, L6, L7)
rule c1_compute:
    input:
        core=core_deps(f"{C_MOD}.fig1"),
    output:
        C_DATA / "fig1.parquet",
    params:
        module=f"{C_MOD}.fig1",
        function="compute",
        cfg=C_CFG["fig1"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c1_compute.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c1_compute.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(600),
        runtime=per_attempt(c_minutes(4.2 * C_CFG["fig1"]["n_steps"] / 4e4 * len(C_CFG["fig1"]["lambdas"]) / 3)),
    script:
        "../scripts/compute.py"


rule c2_compute:
    input:
        core=core_deps(f"{C_MOD}.fig2"),
    output:
        C_DATA / "fig2.parquet",
    params:
        module=f"{C_MOD}.fig2",
        function="compute",
        cfg=C_CFG["fig2"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c2_compute.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c2_compute.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(c_minutes(7.4 * C_CFG["fig2"]["n_steps"] / 5e4 * len(C_CFG["fig2"]["lambdas"]) / 3)),
    script:
        "../scripts/compute.py"


rule c5_compute:
    input:
        core=core_deps(f"{C_MOD}.fig5"),
    output:
        C_DATA / "fig5.parquet",
    params:
        module=f"{C_MOD}.fig5",
        function="compute",
        cfg=C_CFG["fig5"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c5_compute.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c5_compute.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(800),
        runtime=per_attempt(c_minutes(4.5 * C_CFG["fig5"]["n_steps"] / 2e4)),
    script:
        "../scripts/compute.py"


rule c6_compute:
    input:
        core=core_deps(f"{C_MOD}.fig6"),
    output:
        C_DATA / "fig6.parquet",
    params:
        module=f"{C_MOD}.fig6",
        function="compute",
        cfg=C_CFG["fig6"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c6_compute.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c6_compute.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(500),
        runtime=per_attempt(c_minutes(2.9 * C_CFG["fig6"]["steps_per_task"] * C_CFG["fig6"]["n_tasks"] * len(C_CFG["fig6"]["lambdas"]) / 72000)),
    script:
        "../scripts/compute.py"


rule c7_compute:
    input:
        core=core_deps(f"{C_MOD}.fig7"),
    output:
        C_DATA / "fig7.parquet",
    params:
        module=f"{C_MOD}.fig7",
        function="compute",
        cfg=C_CFG["fig7"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c7_compute.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c7_compute.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(500),
        runtime=per_attempt(c_minutes(4.8 * (C_CFG["fig7"]["phase1_steps"] + C_CFG["fig7"]["phase2_steps"]) * len(C_CFG["fig7"]["lambdas"]) / 160000)),
    script:
        "../scripts/compute.py"


# ------------------------------------------------------------------ L3: mode curves + batched lambda sweep
rule c3_modes:
    input:
        core=core_deps(f"{C_MOD}.fig3"),
    output:
        C_DATA / "fig3_modes.parquet",
    params:
        module=f"{C_MOD}.fig3",
        function="compute_modes",
        cfg=C_CFG["fig3"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c3_modes.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c3_modes.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(500),
        runtime=per_attempt(c_minutes(1.5 * C_CFG["fig3"]["t_max"] / C_CFG["fig3"]["s"] / C_CFG["fig3"]["learning_rate"] / 8000)),
    script:
        "../scripts/compute.py"


rule c3_sweep:
    input:
        core=core_deps(f"{C_MOD}.fig3"),
    output:
        C_DATA / "fig3_sweep_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=f"{C_MOD}.fig3",
        function="compute_sweep",
        cfg=C_CFG["fig3"],
        kwargs=lambda w: {"batch": int(w.batch), "n_batches": len(C3_BATCHES)},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c3_sweep_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c3_sweep_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(500),
        # ~0.03 s of CPU per lambda (187 lambdas at full scale), x3
        runtime=per_attempt(sweep_runtime(2 * C_CFG["fig3"]["sweep"]["n_linear"] + 4 * C_CFG["fig3"]["sweep"]["n_log"],
                                          len(C3_BATCHES), 0.1 * C_CFG["fig3"]["sweep"]["n_fd_points"] / 20001)),
    script:
        "../scripts/compute.py"


# ------------------------------------------------------------------ L4: batched (seeds) sweep + training curves
rule c4_sweep:
    input:
        core=core_deps(f"{C_MOD}.fig4"),
    output:
        C_DATA / "fig4_sweep_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=f"{C_MOD}.fig4",
        function="compute_sweep",
        cfg=C_CFG["fig4"],
        kwargs=lambda w: {"batch": int(w.batch), "n_batches": len(C4_BATCHES)},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c4_sweep_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c4_sweep_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(500),
        # ~0.4 s of CPU per seed (4 sigmas x 63 lambdas at full scale), x3
        runtime=per_attempt(sweep_runtime(C_CFG["fig4"]["n_seeds"], len(C4_BATCHES),
                                          1.3 * len(C_CFG["fig4"]["sigmas"]) / 4 * C_CFG["fig4"]["grid"]["n_per_side"] / 26)),
    script:
        "../scripts/compute.py"


rule c4_curves:
    input:
        core=core_deps(f"{C_MOD}.fig4"),
    output:
        C_DATA / "fig4_curves.parquet",
    params:
        module=f"{C_MOD}.fig4",
        function="compute_curves",
        cfg=C_CFG["fig4"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c4_curves.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c4_curves.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(500),
        runtime=per_attempt(c_minutes(1.3 * C_CFG["fig4"]["curves"]["n_steps"] / 2e4)),
    script:
        "../scripts/compute.py"


# ------------------------------------------------------------------ L8: one job per experiment (MDS is the cost)
rule c8_compute:
    input:
        core=core_deps(f"{C_MOD}.fig8"),
    output:
        C_DATA / "fig8_{experiment}.parquet",
    wildcard_constraints:
        experiment="|".join(C8_EXPERIMENTS),
    params:
        module=f"{C_MOD}.fig8",
        function="compute",
        cfg=C_CFG["fig8"],
        kwargs=lambda w: {"experiment": w.experiment},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_c" / "c8_compute_{experiment}.log",
    benchmark:
        BENCHMARKS / "paper_c" / "c8_compute_{experiment}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(700),
        runtime=per_attempt(c_minutes(C8_SECONDS)),
    script:
        "../scripts/compute.py"


# ------------------------------------------------------------------ plots (parquet only) and named targets
C_PLOT_INPUTS = {
    "fig1": [C_DATA / "fig1.parquet"],
    "fig2": [C_DATA / "fig2.parquet"],
    "fig3": [C_DATA / "fig3_modes.parquet"] + expand(C_DATA / "fig3_sweep_batch{batch}.parquet", batch=C3_BATCHES),
    "fig4": [C_DATA / "fig4_curves.parquet"] + expand(C_DATA / "fig4_sweep_batch{batch}.parquet", batch=C4_BATCHES),
    "fig5": [C_DATA / "fig5.parquet"],
    "fig6": [C_DATA / "fig6.parquet"],
    "fig7": [C_DATA / "fig7.parquet"],
    "fig8": expand(C_DATA / "fig8_{experiment}.parquet", experiment=C8_EXPERIMENTS),
}


for _i in range(1, 9):

    rule:
        name:
            f"c{_i}_plot"
        input:
            data=C_PLOT_INPUTS[f"fig{_i}"],
            core=core_deps(f"{C_MOD}.fig{_i}"),
        output:
            **C_FIGS[f"fig{_i}"],
        params:
            module=f"{C_MOD}.fig{_i}",
            cfg=C_CFG[f"fig{_i}"],
        conda:
            "../../envs/learndyn.yaml"
        log:
            LOGS / "paper_c" / f"c{_i}_plot.log",
        script:
            "../scripts/plot.py"

    rule:
        name:
            f"fig_c{_i}"
        input:
            **C_FIGS[f"fig{_i}"],
