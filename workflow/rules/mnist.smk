# The MNIST files of paper B's Figs 4, 9 and 16 (spec universality.md 4.4, 9). b_mnist_data
# (workflow/scripts/mnist_data.py) puts the official files under MNIST_DIR (gitignored): copied from the local
# directory paper_b.mnist.mnist_dir, or downloaded with paper_b.mnist.download (a localrule: compute nodes are often
# offline); either way the checksums of the decompressed content are verified and a missing or corrupt file stops
# the run with a message naming it. The generated rules of steps declared with mnist=True read MNIST_TRAIN_FILES.
import sys

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))  # this checkout's core, as the workflow scripts use
from learndyn.datasets import MNIST_FILES

MNIST_CFG = config["paper_b"]["mnist"]
MNIST_DIR = Path("resources") / "mnist"
MNIST_PROXY = MNIST_CFG["mnist_10k_proxy"]  # spec 4.4: opt-in 10k proxy (train on the test split), never automatic
MNIST_SPLITS = ("test",) if MNIST_PROXY else ("train", "test")
MNIST_GZ = {k: str(MNIST_DIR / f"{f}.gz") for k, f in MNIST_FILES.items() if k.split("_")[0] in MNIST_SPLITS}
MNIST_TRAIN_FILES = [MNIST_GZ[k] for k in MNIST_GZ if k.startswith("test" if MNIST_PROXY else "train")]


localrules:
    b_mnist_data,


# ------------------------------------------------------------------ MNIST files (spec 9)
rule b_mnist_data:
    output:
        list(MNIST_GZ.values()),
    log:
        LOGS / "paper_b" / "b_mnist_data.log",
    conda:
        "../../envs/learndyn.yaml"
    params:
        mnist_dir=MNIST_CFG["mnist_dir"],
        download=MNIST_CFG["download"],
        url_base=MNIST_CFG["url_base"],
        proxy=MNIST_PROXY,
    script:
        "../scripts/mnist_data.py"  # copies or downloads, verifies; the pure pieces are in _mnist and datasets
