# Paper B, Figures 6 and 14 (XOR; spec universality.md 4.2, 6.1, D5-D8, D13): one training job per run
# (torch, module _train_xor, which imports no theory or plotting), a theory rule that adds the distance
# matrices and the Eq.-10 theory matrices (rate ratio averaged over Figure 5's default fit pool, so that
# the figure reuses Figure 5's trainings, as the paper does), and the plot rules (parquet only).
# Uses B_DATA, B_MOD, B_CFG, B5_BATCHES of paper_b.smk (included before this file).
BX_FIGS = {f: figure_files("paper_b", f) for f in ("fig6", "fig14")}
BX_ID = {"fig6": "b6", "fig14": "b14"}

ALL_TARGETS.extend(f for figs in BX_FIGS.values() for f in figs.values())

localrules: bx_theory, b6_plot, b14_plot, fig_b6, fig_b14


# runs (rows of paper_b.<fig>.rows) that each figure trains: the values of its ``panels``
BX_RUNS = {f: list(dict.fromkeys(B_CFG[f]["panels"].values())) for f in BX_FIGS}
# the part of the config one training depends on (editing another run reruns only that one)
BX_TRAIN_CFG = {
    (f, r): {k: B_CFG[f][k] for k in ("seed", "activation", "optimizer", "loss")} | {"rows": {r: B_CFG[f]["rows"][r]}}
    for f in BX_FIGS
    for r in B_CFG[f]["rows"]
}
# Wall-time request (minutes), from full-scale benchmark: runs on the shared 2-core machine (cpu_time, one thread):
# SGD 20 x 500 XOR 3000 epochs 12 s (wall 41 s under load), 1000 epochs 9-10 s; 2-layer 40000 epochs 7 s; Adam
# 20 x 500 1000 epochs 56-61 s (autograd engine, ~60 ms per epoch: 5x the fused SGD step). _b_train_minutes budgets
# 35 ms per epoch of a 20 x 500 net (x 1.5) + 5 min start-up, ~3x the SGD measurement; Adam gets a factor 4
# (~3x its measurement). Memory: max_rss 300-400 MB, request 1000 MB.
BX_TRAIN_MINUTES = {
    (f, r): _b_train_minutes([B_CFG[f]["rows"][r]], epochs_factor=4.0 if B_CFG[f]["optimizer"] == "adam" else 1.0)
    for f, r in BX_TRAIN_CFG
}
BX_PLOT_DATA = {
    f: expand(B_DATA / "{fig}_train_{run}.parquet", fig=f, run=BX_RUNS[f]) + [str(B_DATA / f"{f}_theory.parquet")]
    for f in BX_FIGS
}


rule bx_train:
    input:
        core=core_deps(f"{B_MOD}._train_xor"),
    output:
        B_DATA / "{fig}_train_{run}.parquet",
    wildcard_constraints:
        fig="fig6|fig14",
        run=r"[a-z][a-z0-9_]*",
    params:
        module=f"{B_MOD}._train_xor",
        function="train",
        cfg=lambda w: BX_TRAIN_CFG[(w.fig, w.run)],
        kwargs=lambda w: {"run": w.run, "figure": BX_ID[w.fig], "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "bx_train_{fig}_{run}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "bx_train_{fig}_{run}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(lambda w: BX_TRAIN_MINUTES[(w.fig, w.run)]),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule bx_theory:
    input:
        data=lambda w: expand(B_DATA / "{fig}_train_{run}.parquet", fig=w.fig, run=BX_RUNS[w.fig])
        + expand(
            B_DATA / "fig5_fits_{arch}_batch{batch}.parquet",
            arch=B_CFG[w.fig]["rates_architecture"],
            batch=B5_BATCHES,
        ),
        core=core_deps(f"{B_MOD}.fig6"),
    output:
        B_DATA / "{fig}_theory.parquet",
    wildcard_constraints:
        fig="fig6|fig14",
    params:
        module=f"{B_MOD}.fig6",
        function="theory",
        # what theory reads (the runs' names and Figure 5's pool filter): a threshold edit never reruns it
        cfg=lambda w: {"panels": B_CFG[w.fig]["panels"], "fit_loss_threshold": B_CFG["fig5"]["fit_loss_threshold"]},
        kwargs=lambda w: {"figure": BX_ID[w.fig]},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "bx_theory_{fig}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "bx_theory_{fig}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    script:
        "../scripts/transform.py"


rule b6_plot:
    input:
        data=BX_PLOT_DATA["fig6"],
        core=core_deps(f"{B_MOD}.fig6"),
    output:
        **BX_FIGS["fig6"],
    params:
        module=f"{B_MOD}.fig6",
        cfg=B_CFG["fig6"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b6_plot.log",
    script:
        "../scripts/plot.py"


rule b14_plot:
    input:
        data=BX_PLOT_DATA["fig14"],
        core=core_deps(f"{B_MOD}.fig14"),
    output:
        **BX_FIGS["fig14"],
    params:
        module=f"{B_MOD}.fig14",
        cfg=B_CFG["fig14"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b14_plot.log",
    script:
        "../scripts/plot.py"


rule fig_b6:
    input:
        **BX_FIGS["fig6"],


rule fig_b14:
    input:
        **BX_FIGS["fig14"],
