# Paper B (van Rossem & Saxe 2024): the Gaussian-blob context task ("feature collapse", spec 4.3), Figs 7, 8, 12, 15.
# Fig 7 is the dataset. Figs 8/12/15: one training job per run (torch; module _train_blobs imports no theory or
# plotting), one MDS job per run (reads the training parquet), plot rules read only parquet.
BB_DATA = RESULTS / "paper_b" / "data"
BB_MOD = "learndyn.figures.paper_b"
BB_CFG = config["paper_b"]
BB_FIGS = {f"fig{i}": figure_files("paper_b", f"fig{i}") for i in (7, 8, 12, 15)}
# compute rules get only the keys that change their numbers (editing a caption, a threshold or another run of the
# figure never reruns a training or an MDS)
BB_TRAIN_KEYS = ("seed", "seeds", "data", "n_hidden", "width", "activation", "observe", "batch_size", "loss")
_bb_train_cfg = lambda fig, run: {
    **{k: BB_CFG[fig][k] for k in BB_TRAIN_KEYS if k in BB_CFG[fig]},
    "runs": {run: BB_CFG[fig]["runs"][run]},
}

ALL_TARGETS.extend(f for figs in BB_FIGS.values() for f in figs.values())

localrules: b7_plot, b8_plot, b12_plot, b15_plot, fig_b7, fig_b8, fig_b12, fig_b15


rule b7_compute:
    input:
        core=core_deps(f"{BB_MOD}.fig7"),
    output:
        BB_DATA / "fig7.parquet",
    params:
        module=f"{BB_MOD}.fig7",
        function="compute",
        cfg={"data": BB_CFG["fig7"]["data"]},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b7_compute.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b7_compute.tsv"
    threads: 1
    resources:
        # benchmark (full scale): 2 s, max RSS 0.2 GB
        mem_mb=per_attempt(500),
        runtime=per_attempt(5),
    script:
        "../scripts/compute.py"


rule b7_plot:
    input:
        data=rules.b7_compute.output,
        core=core_deps(f"{BB_MOD}.fig7"),
    output:
        **BB_FIGS["fig7"],
    params:
        module=f"{BB_MOD}.fig7",
        cfg=BB_CFG["fig7"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b7_plot.log",
    script:
        "../scripts/plot.py"


# ------------------------------------------------------------------ blob trainings (one job per run) and their MDS
rule b_blobs_train:
    input:
        core=core_deps(f"{BB_MOD}._train_blobs"),
    output:
        BB_DATA / "{fig}_train_{run}.parquet",
    wildcard_constraints:
        fig="fig8|fig12|fig15",
        run="[a-z_]+",
    params:
        module=f"{BB_MOD}._train_blobs",
        function="train",
        cfg=lambda w: _bb_train_cfg(w.fig, w.run),
        kwargs=lambda w: {"run": w.run, "figure": f"b{w.fig.removeprefix('fig')}", "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b_blobs_train_{fig}_{run}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b_blobs_train_{fig}_{run}.tsv"
    threads: 1
    resources:
        # benchmark, full scale on the shared 2-core machine (wall / CPU): SGD high (750 epochs x 29 steps) 33-49 s /
        # 7-15 s, low (1500) 54-81 s / 24-27 s, very low (2000) 57 s / 31 s; Adam (200 epochs) 18-20 s / 9 s: <= 3 ms
        # wall per minibatch step (Adam) and <= 2 ms (SGD); max RSS 0.3-0.4 GB.
        # Request 5 ms per step and seed (~2-4x the loaded wall time) + 5 minutes of start-up.
        mem_mb=per_attempt(1000),
        runtime=per_attempt(
            lambda w: 5
            + int(
                len(BB_CFG[w.fig].get("seeds", [0]))
                * BB_CFG[w.fig]["runs"][w.run]["epochs"]
                * -(-2 * BB_CFG[w.fig]["data"]["n_centres"] ** 2 // BB_CFG[w.fig]["batch_size"])
                * 0.005
                / 60
            )
        ),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b_blobs_mds:
    input:
        data=BB_DATA / "{fig}_train_{run}.parquet",
        core=core_deps(f"{BB_MOD}._blobs"),
    output:
        BB_DATA / "{fig}_mds_{run}.parquet",
    wildcard_constraints:
        fig="fig8|fig12|fig15",
        run="[a-z_]+",
    params:
        module=f"{BB_MOD}._blobs",
        function="mds",
        cfg=lambda w: {"mds": BB_CFG[w.fig]["mds"]},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b_blobs_mds_{fig}_{run}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b_blobs_mds_{fig}_{run}.tsv"
    threads: 1
    resources:
        # benchmark, full scale (1800 points, classical-MDS init): 5-10 s wall / 3-4 s CPU, max RSS 0.45 GB. A SMACOF
        # iteration costs ~0.06 s at 1800 points (grows with the square of the points); budget 0.2 s per iteration of
        # every initialisation + 5 minutes of start-up
        mem_mb=per_attempt(1000),
        runtime=per_attempt(
            lambda w: 5
            + int(
                BB_CFG[w.fig]["mds"]["n_init"]
                * BB_CFG[w.fig]["mds"]["max_iter"]
                * 0.2
                * (BB_CFG[w.fig]["data"]["n_centres"] / 30) ** 4
                / 60
            )
        ),
    script:
        "../scripts/transform.py"


rule b8_plot:
    input:
        data=expand(BB_DATA / "fig8_{kind}_{run}.parquet", kind=("train", "mds"), run=BB_CFG["fig8"]["runs"]),
        core=core_deps(f"{BB_MOD}.fig8"),
    output:
        **BB_FIGS["fig8"],
    params:
        module=f"{BB_MOD}.fig8",
        cfg=BB_CFG["fig8"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b8_plot.log",
    script:
        "../scripts/plot.py"


rule b12_plot:
    input:
        data=[
            *expand(BB_DATA / "fig12_{kind}_{run}.parquet", kind=("train", "mds"), run=BB_CFG["fig12"]["runs"]),
            BB_DATA / f"fig8_train_{BB_CFG['fig12']['s_reference']}.parquet",
        ],
        core=core_deps(f"{BB_MOD}.fig12"),
    output:
        **BB_FIGS["fig12"],
    params:
        module=f"{BB_MOD}.fig12",
        cfg=BB_CFG["fig12"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b12_plot.log",
    script:
        "../scripts/plot.py"


rule b15_plot:
    input:
        data=expand(BB_DATA / "fig15_{kind}_{run}.parquet", kind=("train", "mds"), run=BB_CFG["fig15"]["runs"]),
        core=core_deps(f"{BB_MOD}.fig15"),
    output:
        **BB_FIGS["fig15"],
    params:
        module=f"{BB_MOD}.fig15",
        cfg=BB_CFG["fig15"],
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b15_plot.log",
    script:
        "../scripts/plot.py"


rule fig_b7:
    input:
        **BB_FIGS["fig7"],


rule fig_b8:
    input:
        **BB_FIGS["fig8"],


rule fig_b12:
    input:
        **BB_FIGS["fig12"],


rule fig_b15:
    input:
        **BB_FIGS["fig15"],
