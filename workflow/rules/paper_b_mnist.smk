# Paper B (van Rossem & Saxe 2024), MNIST figures 4, 9 and 16 (spec universality.md 4.4, 6.1, 7, 9) and the
# MNIST files they read. b_mnist_data (workflow/scripts/mnist_data.py) puts the official files under MNIST_DIR
# (gitignored): copied from the local directory paper_b.mnist.mnist_dir, or downloaded with paper_b.mnist.download
# (a localrule: compute nodes are often offline); either way the checksums of the decompressed content are verified
# and a missing or corrupt file stops the run with a message naming it. Trainings (torch; modules importing only
# datasets/deepnets/io), the Eq. 50 theory and the Fig. 4 fit are separate rules writing parquet; plot rules read
# only parquet.
import sys

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))  # this checkout's core, as the workflow scripts use
from learndyn.datasets import MNIST_FILES

BM_DATA = RESULTS / "paper_b" / "data"
BM_MOD = "learndyn.figures.paper_b"
BM_CFG = config["paper_b"]
MNIST_CFG = BM_CFG["mnist"]
MNIST_DIR = Path("resources") / "mnist"
MNIST_PROXY = MNIST_CFG["mnist_10k_proxy"]  # spec 4.4: opt-in 10k proxy (train on the test split), never automatic
MNIST_SPLITS = ("test",) if MNIST_PROXY else ("train", "test")
MNIST_GZ = {k: str(MNIST_DIR / f"{f}.gz") for k, f in MNIST_FILES.items() if k.split("_")[0] in MNIST_SPLITS}
MNIST_TRAIN_FILES = [MNIST_GZ[k] for k in MNIST_GZ if k.startswith("test" if MNIST_PROXY else "train")]
BM_FIGS = {f"fig{i}": figure_files("paper_b", f"fig{i}") for i in (4, 9, 16)}
# what the training, theory and plot functions need besides their figure's block
BM_SHARED = {"mnist_10k_proxy": MNIST_PROXY, "n_structure": MNIST_CFG["n_structure"]}
BM_CFG4 = {**BM_CFG["fig4"], **BM_SHARED}
BM_CFG9 = {**BM_CFG["fig9"], **BM_SHARED}
BM_CFG16 = {**BM_CFG["fig16"], **BM_SHARED}
# trainings get only the keys that change their numbers: editing a caption or a threshold never reruns them
BM_DISPLAY_KEYS = ("fit_grid", "thresholds", "thresholds_proxy", "relaxed_checks", "scale_note")
BM_TRAIN4, BM_TRAIN9, BM_TRAIN16 = (
    {k: v for k, v in c.items() if k not in BM_DISPLAY_KEYS} for c in (BM_CFG4, BM_CFG9, BM_CFG16)
)
B9_BATCHES = range(min(config["batches"]["b9_train"], len(BM_CFG9["seeds"])))
B16_BATCHES = range(min(config["batches"]["b16_train"], len(BM_CFG16["seeds"])))
# Wall-time request (minutes) of n_nets MNIST trainings of cfg: single-thread CPU time per epoch and network on 60k
# images (benchmarks on the shared 2-core machine: SGD 1.65 s (b4_train, 329 s CPU for 200 epochs), Adam 2.65 s
# (b16_train, 662 s CPU for 5 x 50 epochs); requested as 2.1 s / 3.6 s) x 2.5 for a shared machine, + 5 min start-up.
# b9_train: 587-631 s CPU for 2 x 200 epochs (1.5-1.6 s). Memory: max_rss 0.50 GB (b4_train, one network; b9_train,
# two stacked) and 0.56 GB (b16_train, five stacked) -> about twice that.
_bm_images = lambda cfg: min(cfg["n_train"] or 60000, 10000 if MNIST_PROXY else 60000)
_bm_minutes = lambda cfg, epochs, n_nets, s_epoch: 5 + int(n_nets * epochs * _bm_images(cfg) / 60000 * s_epoch * 2.5 / 60 + 1)

ALL_TARGETS.extend(f for figs in BM_FIGS.values() for f in figs.values())

localrules: b_mnist_data, b4_plot, b9_plot, b16_plot, fig_b4, fig_b9, fig_b16


# ------------------------------------------------------------------ MNIST files (spec 9)
rule b_mnist_data:
    output:
        list(MNIST_GZ.values()),
    params:
        mnist_dir=MNIST_CFG["mnist_dir"],
        download=MNIST_CFG["download"],
        url_base=MNIST_CFG["url_base"],
        proxy=MNIST_PROXY,
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b_mnist_data.log",
    script:
        "../scripts/mnist_data.py"  # copies or downloads, verifies; the pure pieces are in _mnist and datasets


# ------------------------------------------------------------------ Figure 4: two tracked digits
rule b4_train:
    input:
        data=MNIST_TRAIN_FILES,
        core=core_deps(f"{BM_MOD}._train_mnist"),
    output:
        BM_DATA / "fig4_train.parquet",
    params:
        module=f"{BM_MOD}._train_mnist",
        function="train_pair",
        cfg=BM_TRAIN4,
        kwargs={"mnist_dir": str(MNIST_DIR), "device": torch_device()},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b4_train.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b4_train.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(lambda w: _bm_minutes(BM_CFG4, BM_CFG4["settings_table"][BM_CFG4["settings"]]["epochs"], 1, 2.1)),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b4_fit:
    input:
        data=rules.b4_train.output,
        core=core_deps(f"{BM_MOD}.fig4"),
    output:
        BM_DATA / "fig4_fit.parquet",
    params:
        module=f"{BM_MOD}.fig4",
        function="fit",
        cfg={"fit_grid": BM_CFG["fig4"]["fit_grid"]},  # what the fit reads: a threshold edit never refits
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b4_fit.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b4_fit.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(10),
    script:
        "../scripts/transform.py"


rule b4_plot:
    input:
        data=[rules.b4_train.output[0], rules.b4_fit.output[0]],
        core=core_deps(f"{BM_MOD}.fig4"),
    output:
        **BM_FIGS["fig4"],
    params:
        module=f"{BM_MOD}.fig4",
        cfg=BM_CFG4,
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b4_plot.log",
    script:
        "../scripts/plot.py"


# ------------------------------------------------------------------ Figures 9 (SGD) and 16 (Adam): structure
rule b9_theory:
    input:
        data=MNIST_TRAIN_FILES,
        core=core_deps(f"{BM_MOD}._mnist"),
    output:
        BM_DATA / "mnist_theory.parquet",
    params:
        module=f"{BM_MOD}._mnist",
        function="compute_theory",
        cfg={**BM_SHARED, "n_theory": MNIST_CFG["n_theory"]},
        kwargs={"mnist_dir": str(MNIST_DIR)},
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b9_theory.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b9_theory.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),  # max_rss 0.32 GB, 3.4 s wall for 10 000 images (class-level shortcut)
        runtime=per_attempt(lambda w: 5 + int((MNIST_CFG["n_theory"] / 10000) ** 2 + 1)),
    script:
        "../scripts/compute.py"


rule b9_train:
    input:
        data=MNIST_TRAIN_FILES,
        core=core_deps(f"{BM_MOD}._train_mnist"),
    output:
        BM_DATA / "fig9_train_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=f"{BM_MOD}._train_mnist",
        function="train_structure",
        cfg=BM_TRAIN9,
        kwargs=lambda w: {"mnist_dir": str(MNIST_DIR), "batch": int(w.batch), "n_batches": len(B9_BATCHES),
                          "device": torch_device(), "figure": "b9"},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b9_train_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b9_train_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(lambda w: 1000 + 100 * -(-len(BM_CFG9["seeds"]) // len(B9_BATCHES))),
        runtime=per_attempt(
            lambda w: _bm_minutes(BM_CFG9, BM_CFG9["settings_table"][BM_CFG9["settings"]]["epochs"],
                                  -(-len(BM_CFG9["seeds"]) // len(B9_BATCHES)), 2.1)
        ),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b16_train:
    input:
        data=MNIST_TRAIN_FILES,
        core=core_deps(f"{BM_MOD}._train_mnist"),
    output:
        BM_DATA / "fig16_train_batch{batch}.parquet",
    wildcard_constraints:
        batch=r"\d+",
    params:
        module=f"{BM_MOD}._train_mnist",
        function="train_structure",
        cfg=BM_TRAIN16,
        kwargs=lambda w: {"mnist_dir": str(MNIST_DIR), "batch": int(w.batch), "n_batches": len(B16_BATCHES),
                          "device": torch_device(), "figure": "b16"},
    conda:
        "../../envs/torch.yaml"
    log:
        LOGS / "paper_b" / "b16_train_{batch}.log",
    benchmark:
        BENCHMARKS / "paper_b" / "b16_train_{batch}.tsv"
    threads: 1
    resources:
        mem_mb=per_attempt(lambda w: 1000 + 100 * -(-len(BM_CFG16["seeds"]) // len(B16_BATCHES))),
        # Adam runs on the autograd engine: ~1.6 x the fused SGD step
        runtime=per_attempt(
            lambda w: _bm_minutes(BM_CFG16, BM_CFG16["epochs"], -(-len(BM_CFG16["seeds"]) // len(B16_BATCHES)), 3.6)
        ),
        **gpu_resources(),
    script:
        "../scripts/compute.py"


rule b9_plot:
    input:
        data=[rules.b9_theory.output[0]] + expand(BM_DATA / "fig9_train_batch{batch}.parquet", batch=B9_BATCHES),
        core=core_deps(f"{BM_MOD}.fig9"),
    output:
        **BM_FIGS["fig9"],
    params:
        module=f"{BM_MOD}.fig9",
        cfg=BM_CFG9,
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b9_plot.log",
    script:
        "../scripts/plot.py"


rule b16_plot:
    input:
        data=[rules.b9_theory.output[0]] + expand(BM_DATA / "fig16_train_batch{batch}.parquet", batch=B16_BATCHES),
        core=core_deps(f"{BM_MOD}.fig16"),
    output:
        **BM_FIGS["fig16"],
    params:
        module=f"{BM_MOD}.fig16",
        cfg=BM_CFG16,
    conda:
        "../../envs/learndyn.yaml"
    log:
        LOGS / "paper_b" / "b16_plot.log",
    script:
        "../scripts/plot.py"


rule fig_b4:
    input:
        **BM_FIGS["fig4"],


rule fig_b9:
    input:
        **BM_FIGS["fig9"],


rule fig_b16:
    input:
        **BM_FIGS["fig16"],
