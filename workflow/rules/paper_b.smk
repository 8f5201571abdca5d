# Paper B (van Rossem & Saxe 2024): two-point experiments across architectures (Figs 1, 2, 3, 5, 10, 11, 13).
# Trainings (torch) and fits are separate rules writing parquet in results/paper_b/data; plot rules read only that.
B_DATA = RESULTS / "paper_b" / "data"
B_MOD = "learndyn.figures.paper_b"
TRAIN_MODULE = f"{B_MOD}._train"  # imports only datasets, io, deepnets: fit/plot edits never rerun a training
FIT_MODULE = f"{B_MOD}._two_point"  # fits (effective theory, io): plot edits never rerun a fit
B_CFG = config["paper_b"]
B_FIGS = {f"fig{i}": figure_files("paper_b", f"fig{i}") for i in (1, 2, 3, 5, 10, 11, 13)}
B2_BATCHES = range(min(config["batches"]["b2_train"], len(B_CFG["fig2"]["rows"])))
B3_BATCHES = range(min(config["batches"]["b3_train"], len(B_CFG["fig3"]["rows"])))
B5_BATCHES = range(min(config["batches"]["b5_fits"], B_CFG["fig5"]["n_fit_trials"]))
B5_ARCHS = B_CFG["fig5"]["architectures"]
B5_GRID_BATCHES = range(min(config["batches"]["b5_grid"], len(B_CFG["fig5"]["dist_x"]) * len(B_CFG["fig5"]["dist_y"])))

ALL_TARGETS.extend(f for figs in B_FIGS.values() for f in figs.values())

localrules: b1_plot, b2_plot, b3_plot, b5_plot, b10_plot, b11_plot, b13_plot, fig_b1, fig_b2, fig_b3, fig_b5, fig_b10, fig_b11, fig_b13


# ------------------------------------------------------------------ Figure 1: schematic
rule b1_compute:
    input:
        core=core_deps(f"{B_MOD}.fig1"),
    output:
        B_DATA / "fig1.parquet",
    params:
        module=f"{B_MOD}.fig1",
        function="compute",
        cfg=B_CFG["fig1"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b1_compute.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b1_compute.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/compute.py"


rule b1_plot:
    input:
        data=rules.b1_compute.output,
        core=core_deps(f"{B_MOD}.fig1"),
    output:
        **B_FIGS["fig1"],
    params:
        module=f"{B_MOD}.fig1",
        cfg=B_CFG["fig1"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b1_plot.log",
    script:
        "../scripts/plot.py"


# ------------------------------------------------------------------ two-point trainings and fits (Figs 2/11, 3, 10, 13)
rule b2_train:
    input:
        core=core_deps(TRAIN_MODULE, "learndyn.deepnets"),
    output:
        B_DATA / "fig2_train_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=TRAIN_MODULE,
        function="train_batch",
        cfg=_b_train_cfg("fig2"),
        kwargs=lambda w: {"figure": "b2", "batch": int(w.batch), "n_batches": len(B2_BATCHES), "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b2_train_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b2_train_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(3000),
        runtime=per_attempt(lambda w: _b_train_minutes(_b_rows("fig2", B2_BATCHES, w.batch))),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b2_fit:
    input:
        data=B_DATA / "fig2_train_batch{batch}.parquet",
        core=core_deps(FIT_MODULE),
    output:
        B_DATA / "fig2_fit_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=FIT_MODULE,
        function="fit_runs",
        cfg=_b_fit_cfg("fig2"),
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b2_fit_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b2_fit_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(15),
    script:
        "../scripts/transform.py"


B2_DATA = expand(B_DATA / "fig2_train_batch{batch}.parquet", batch=B2_BATCHES) + expand(
    B_DATA / "fig2_fit_batch{batch}.parquet", batch=B2_BATCHES
)


rule b2_plot:
    input:
        data=B2_DATA,
        core=core_deps(f"{B_MOD}.fig2"),
    output:
        **B_FIGS["fig2"],
    params:
        module=f"{B_MOD}.fig2",
        cfg=B_CFG["fig2"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b2_plot.log",
    script:
        "../scripts/plot.py"


rule b11_plot:
    input:
        data=B2_DATA,
        core=core_deps(f"{B_MOD}.fig11"),
    output:
        **B_FIGS["fig11"],
    params:
        module=f"{B_MOD}.fig11",
        cfg={**B_CFG["fig11"], "fig2": B_CFG["fig2"]},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b11_plot.log",
    script:
        "../scripts/plot.py"


rule b3_train:
    input:
        core=core_deps(TRAIN_MODULE, "learndyn.deepnets"),
    output:
        B_DATA / "fig3_train_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=TRAIN_MODULE,
        function="train_batch",
        cfg=_b_train_cfg("fig3"),
        kwargs=lambda w: {"figure": "b3", "batch": int(w.batch), "n_batches": len(B3_BATCHES), "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b3_train_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b3_train_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(3000),
        runtime=per_attempt(lambda w: _b_train_minutes(_b_rows("fig3", B3_BATCHES, w.batch))),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b3_fit:
    input:
        data=B_DATA / "fig3_train_batch{batch}.parquet",
        core=core_deps(FIT_MODULE),
    output:
        B_DATA / "fig3_fit_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=FIT_MODULE,
        function="fit_runs",
        cfg=_b_fit_cfg("fig3"),
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b3_fit_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b3_fit_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(15),
    script:
        "../scripts/transform.py"


rule b3_plot:
    input:
        data=expand(B_DATA / "fig3_train_batch{batch}.parquet", batch=B3_BATCHES)
        + expand(B_DATA / "fig3_fit_batch{batch}.parquet", batch=B3_BATCHES),
        core=core_deps(f"{B_MOD}.fig3"),
    output:
        **B_FIGS["fig3"],
    params:
        module=f"{B_MOD}.fig3",
        cfg=B_CFG["fig3"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b3_plot.log",
    script:
        "../scripts/plot.py"


rule b10_train:
    input:
        core=core_deps(TRAIN_MODULE, "learndyn.deepnets"),
    output:
        B_DATA / "fig10_train.parquet",
    params:
        module=TRAIN_MODULE,
        function="train_batch",
        cfg=_b_train_cfg("fig10"),
        kwargs={"figure": "b10", "observe_all": True, "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b10_train.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b10_train.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(3000),
        runtime=per_attempt(lambda w: _b_train_minutes(_b_rows("fig10"))),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b10_fit:
    input:
        data=rules.b10_train.output,
        core=core_deps(FIT_MODULE),
    output:
        B_DATA / "fig10_fit.parquet",
    params:
        module=FIT_MODULE,
        function="fit_runs",
        cfg=_b_fit_cfg("fig10"),
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b10_fit.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b10_fit.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(30),
    script:
        "../scripts/transform.py"


rule b10_plot:
    input:
        data=[rules.b10_train.output[0], rules.b10_fit.output[0]],
        core=core_deps(f"{B_MOD}.fig10"),
    output:
        **B_FIGS["fig10"],
    params:
        module=f"{B_MOD}.fig10",
        cfg=B_CFG["fig10"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b10_plot.log",
    script:
        "../scripts/plot.py"


rule b13_train:
    input:
        core=core_deps(TRAIN_MODULE, "learndyn.deepnets"),
    output:
        B_DATA / "fig13_train.parquet",
    params:
        module=TRAIN_MODULE,
        function="train_batch",
        cfg=_b_train_cfg("fig13"),
        kwargs={"figure": "b13", "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b13_train.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b13_train.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(3000),
        # Adam runs on the autograd engine: about twice the fused SGD step
        runtime=per_attempt(lambda w: _b_train_minutes(_b_rows("fig13"), epochs_factor=2.0)),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b13_fit:
    input:
        data=rules.b13_train.output,
        core=core_deps(FIT_MODULE),
    output:
        B_DATA / "fig13_fit.parquet",
    params:
        module=FIT_MODULE,
        function="fit_runs",
        cfg=_b_fit_cfg("fig13"),
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b13_fit.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b13_fit.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(15),
    script:
        "../scripts/transform.py"


rule b13_plot:
    input:
        data=[
            rules.b13_train.output[0],
            rules.b13_fit.output[0],
            str(B_DATA / f"fig2_train_batch{_b2_batch_of(B_CFG['fig13']['sgd_reference'])}.parquet"),
            str(B_DATA / f"fig2_fit_batch{_b2_batch_of(B_CFG['fig13']['sgd_reference'])}.parquet"),
        ],
        core=core_deps(f"{B_MOD}.fig13"),
    output:
        **B_FIGS["fig13"],
    params:
        module=f"{B_MOD}.fig13",
        cfg=B_CFG["fig13"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b13_plot.log",
    script:
        "../scripts/plot.py"


# ------------------------------------------------------------------ Figure 5: fit pool and dataset grid per architecture
rule b5_pool:
    input:
        core=core_deps(TRAIN_MODULE, "learndyn.deepnets"),
    output:
        B_DATA / "fig5_pool_{arch}_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
        arch=r"[a-z_]+",
    params:
        module=TRAIN_MODULE,
        function="fit_pool_trainings",
        cfg=lambda w: _b5_train_cfg(w.arch, ("seed0", "n_fit_trials", "dx2", "dy2")),
        kwargs=lambda w: {"arch": w.arch, "batch": int(w.batch), "n_batches": len(B5_BATCHES), "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b5_pool_{arch}_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b5_pool_{arch}_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(6000),
        runtime=per_attempt(
            lambda w: _b_train_minutes([B_CFG["fig2"]["rows"][w.arch]], n_nets=B_CFG["fig5"]["n_fit_trials"] / len(B5_BATCHES))
        ),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b5_fits:
    input:
        data=B_DATA / "fig5_pool_{arch}_batch{batch}.parquet",
        core=core_deps(f"{B_MOD}.fig5"),
    output:
        B_DATA / "fig5_fits_{arch}_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
        arch=r"[a-z_]+",
    params:
        module=f"{B_MOD}.fig5",
        function="fit_pool",
        cfg={"fit_grid": B_CFG["fig5"]["fit_grid"]},  # only what the fits read: editing the architecture list or a threshold never refits
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b5_fits_{arch}_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b5_fits_{arch}_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(3000),
        # ~15 s per fit (grid 200 + BFGS) on a shared core
        runtime=per_attempt(lambda w: max(5, int(B_CFG["fig5"]["n_fit_trials"] / len(B5_BATCHES) * 15 / 60) + 5)),
    script:
        "../scripts/transform.py"


rule b5_grid:
    input:
        core=core_deps(TRAIN_MODULE, "learndyn.deepnets"),
    output:
        B_DATA / "fig5_grid_{arch}_batch{batch}.parquet",
    wildcard_constraints:
        arch=r"[a-z_]+",
        batch=r"\d+",
    params:
        module=TRAIN_MODULE,
        function="grid_trainings",
        # dropout_stop_on only for the dropout net: editing it never reruns the other architectures' grids
        cfg=lambda w: _b5_train_cfg(
            w.arch,
            ("dist_x", "dist_y", "grid_seed0", "lr_factor", "max_epochs", "stop_loss")
            + (("dropout_stop_on",) if B_CFG["fig2"]["rows"][w.arch]["kind"] == "dropout" else ()),
        ),
        kwargs=lambda w: {"arch": w.arch, "batch": int(w.batch), "n_batches": len(B5_GRID_BATCHES), "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b5_grid_{arch}_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b5_grid_{arch}_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        # the batch's grid points stacked, up to max_epochs (typically 5k-20k) at 0.4 x lr
        runtime=per_attempt(
            lambda w: _b_train_minutes(
                [B_CFG["fig2"]["rows"][w.arch]],
                epochs_factor=B_CFG["fig5"]["max_epochs"] / B_CFG["fig2"]["rows"][w.arch]["epochs"] / 2,
                n_nets=len(range(int(w.batch), len(B_CFG["fig5"]["dist_x"]) * len(B_CFG["fig5"]["dist_y"]), len(B5_GRID_BATCHES))),
            )
        ),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b5_predict:
    input:
        data=lambda w: expand(B_DATA / "fig5_fits_{arch}_batch{batch}.parquet", arch=w.arch, batch=B5_BATCHES)
        + expand(B_DATA / "fig5_grid_{arch}_batch{batch}.parquet", arch=w.arch, batch=B5_GRID_BATCHES),
        core=core_deps(f"{B_MOD}.fig5"),
    output:
        B_DATA / "fig5_pred_{arch}.parquet",
    wildcard_constraints:
        arch=r"[a-z_]+",
    params:
        module=f"{B_MOD}.fig5",
        function="predict",
        cfg={k: B_CFG["fig5"][k] for k in ("fit_loss_threshold", "discard_loss")},  # what predict reads
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b5_predict_{arch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b5_predict_{arch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    script:
        "../scripts/transform.py"


rule b5_plot:
    input:
        data=expand(B_DATA / "fig5_pred_{arch}.parquet", arch=B5_ARCHS),
        core=core_deps(f"{B_MOD}.fig5"),
    output:
        **B_FIGS["fig5"],
    params:
        module=f"{B_MOD}.fig5",
        cfg=B_CFG["fig5"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b5_plot.log",
    script:
        "../scripts/plot.py"


rule fig_b1:
    input:
        **B_FIGS["fig1"],


rule fig_b2:
    input:
        **B_FIGS["fig2"],


rule fig_b3:
    input:
        **B_FIGS["fig3"],


rule fig_b5:
    input:
        **B_FIGS["fig5"],


rule fig_b10:
    input:
        **B_FIGS["fig10"],


rule fig_b11:
    input:
        **B_FIGS["fig11"],


rule fig_b13:
    input:
        **B_FIGS["fig13"],
