"""Paper B's MNIST figures (4, 9, 16): what providing the data needs, the Eq. 50 theory and the structure statistics.

Spec ``universality.md`` 2.10 (exponential weighing, Eq. 50), 4.4 (MNIST protocol), 7 (checks of Figs 9 and 16)
and 9 (data availability: official files, checksums of the *decompressed* content, opt-in 10k proxy).

* Providing the files (rule ``b_mnist_data``): the copying, downloading and verifying of the gzipped IDX files
  is done by the workflow script ``workflow/scripts/mnist_data.py`` (only ``io``, ``plotting`` and workflow
  scripts touch files or the network); this module holds its pure pieces: which splits and files
  (:func:`needed_splits`, :func:`provided_names`, :func:`provided_files`), the how-to-provide message
  (:func:`how_to_provide`), the deterministic gzip of decompressed bytes (:func:`gzip_bytes`) and the log text
  (:func:`provision_log`). The expected checksums are :data:`learndyn.datasets.MNIST_SHA256`.
* :func:`compute_theory` (compute rule of Figs 9/16): ``D̃ = E D E`` (Eq. 50) with ``D_kl = ||x_k − x_l||
  ||y_k − y_l||`` on raw pixels (0-255) of the first 10 000 training images and one-hot targets, by the exact
  class-level shortcut (:func:`learndyn.effective.exponential_weighing_by_class`), restricted to the first 100
  images sorted by label; ``D̃²`` is what the figure shows.
* :func:`network_d2`, :func:`structure_stats`: trial-averaged network distances and the statistics of spec 7.
"""

from __future__ import annotations

import gzip
from pathlib import PurePath

import numpy as np

from ... import datasets, effective, io

N_CLASSES = 10


# ------------------------------------------------------------------ providing the files (spec 9): pure pieces
def split_of(proxy: bool) -> str:
    """IDX split the MNIST figures train on: ``"train"`` (60k), or ``"test"`` for the opt-in 10k proxy (spec 4.4)."""
    return "test" if proxy else "train"


def needed_splits(proxy: bool) -> tuple[str, ...]:
    """Splits to provide: both (the four official files), or the test split only for the 10k proxy (whose
    users lack the training images, spec 4.4)."""
    return ("test",) if proxy else ("train", "test")


def needed_keys(proxy: bool) -> list[str]:
    """Keys of :data:`learndyn.datasets.MNIST_FILES` to provide, in that table's order."""
    return [k for k in datasets.MNIST_FILES if k.split("_")[0] in needed_splits(proxy)]


def provided_names(proxy: bool) -> dict[str, str]:
    """``{key: "<official name>.gz"}`` of the files rule ``b_mnist_data`` writes."""
    return {k: f"{datasets.MNIST_FILES[k]}.gz" for k in needed_keys(proxy)}


def provided_files(dest, proxy: bool) -> list[str]:
    """Paths (strings, nothing is touched) of the gzipped files rule ``b_mnist_data`` writes into ``dest``."""
    return [str(PurePath(dest) / name) for name in provided_names(proxy).values()]


def how_to_provide(config_prefix: str, source_dir, download: bool) -> str:
    """What failed (copy from ``source_dir`` or download) and how to provide the files, naming the config keys
    under ``config_prefix``; appended to every provisioning error."""
    where = (f"download from {config_prefix}.url_base" if download
             else f"copy from {config_prefix}.mnist_dir = '{source_dir}' (relative to the working directory)")
    return (f"MNIST provisioning ({where}) failed. Put the four official files (gzipped or not) into a "
            f"directory and set {config_prefix}.mnist_dir to it in config/paper_b.yaml (or --config), or set "
            f"{config_prefix}.download: true on a machine with internet access; without the 60k training images "
            f"set {config_prefix}.mnist_10k_proxy: true to train on the 10k test split (figures are then labelled "
            f"'10k proxy').")


def is_gzip(data: bytes) -> bool:
    """``data`` (or its first bytes) starts with the gzip magic number."""
    return data[:2] == b"\x1f\x8b"


def gzip_bytes(content: bytes) -> bytes:
    """Deterministic gzip (mtime 0, level 6) of decompressed ``content``: the same input gives the same bytes."""
    return gzip.compress(content, compresslevel=6, mtime=0)


def provision_log(files, *, download: bool, source_dir=None, url_base: str | None = None) -> str:
    """Text of the rule's log: where the files came from and the list of verified ``files``."""
    origin = (f"downloaded from {url_base or datasets.MNIST_URL_BASES[0]}" if download
              else f"copied from {source_dir}")
    return f"MNIST {origin}; verified (SHA-256 of the decompressed content):\n" + "\n".join(map(str, files)) + "\n"


# ------------------------------------------------------------------ theory (Eq. 50)
def theory_matrix(raw: np.ndarray, labels: np.ndarray, n_structure: int = 100):
    """Eq. 50 prediction for the figure's images (spec 2.10), exact class-level shortcut.

    ``raw (N, 784)`` raw pixels (0-255) and ``labels (N,)`` of the first N images of the split. ``D_kl =
    ||x_k − x_l|| · ||e_{c(k)} − e_{c(l)}||`` (small-weight limit, rate factor dropped, one-hot targets);
    every different-class ``D_kl`` is > 745, so ``E = e^{−D}`` is exactly the same-class indicator and
    ``D̃_ij = √2 Σ_{k∈c(i)} Σ_{l∈c(j)} ||x_k − x_l||`` (0 within a class).
    Returns ``(class_matrix (10, 10), d_tilde (n, n), index (n,), sorted_labels (n,))`` for the first
    ``n_structure`` images stably sorted by label (``d_tilde`` in that order).
    """
    M = effective.exponential_weighing_by_class(raw, labels, np.eye(N_CLASSES))
    idx, lab = datasets.structure_subset(labels, n_structure)
    return M, M[lab[:, None], lab[None, :]], idx, lab


def compute_theory(cfg: dict, mnist_dir):
    """Compute rule of Figs 9/16: :func:`theory_matrix` on the first ``cfg["n_theory"]`` images of the split
    (training split; the 10k test split with ``cfg["mnist_10k_proxy"]``).

    Rows (``figure="b9"``, ``panel="A"``, ``source="theory"``): ``class_matrix`` (10, 10), ``D_tilde`` and
    ``D2`` = ``D̃²`` (n, n); summary rows ``structure_index``, ``structure_label`` (n,), ``n_theory``.
    """
    split = split_of(bool(cfg["mnist_10k_proxy"]))
    n = min(int(cfg["n_theory"]), datasets.MNIST_SHAPES[f"{split}_labels"][0])
    if n < cfg["n_structure"]:
        raise ValueError(f"n_theory = {n} must be >= n_structure = {cfg['n_structure']}")
    raw, labels = datasets.load_mnist(mnist_dir, split, scale="raw", n=n, dtype=np.float64)
    M, dt, idx, lab = theory_matrix(raw, labels, cfg["n_structure"])
    meta = dict(figure="b9", panel="A", condition="theory")
    frames = [io.records(M, quantity="class_matrix", source="theory", **meta),
              io.records(dt, quantity="D_tilde", source="theory", **meta),
              io.records(dt ** 2, quantity="D2", source="theory", **meta)]
    for q, v in (("structure_index", idx), ("structure_label", lab), ("n_theory", n)):
        frames.append(io.records(np.asarray(v, dtype=float), quantity=q, source="summary", **meta))
    print(f"Eq. 50 (class-level shortcut) on the first {n} images of the {split} split")
    return io.concat(frames)


# ------------------------------------------------------------------ statistics (spec 7, Figs 9 and 16)
def trials(df) -> list[str]:
    """Trial conditions with a network distance matrix, in trial order."""
    names = io.select(df, source="simulation", quantity="D2")["condition"].unique()
    return sorted(names, key=lambda c: int(c.removeprefix("trial")))


def network_d2(df) -> np.ndarray:
    """Network squared distances ``(n, n)`` averaged over the trials of ``df`` (Figs 9/16: 10 trainings)."""
    mats = [io.to_array(df, source="simulation", quantity="D2", condition=c)[1][0] for c in trials(df)]
    if not mats:
        raise KeyError("no network distance matrices (quantity D2, source simulation) in the table")
    return np.mean(mats, axis=0)


def theory_d2(df) -> np.ndarray:
    """Theory ``D̃²`` ``(n, n)`` (Eq. 50) from the theory rows."""
    return io.to_array(df, source="theory", quantity="D2")[1][0]


def structure_labels(df, condition: str = "theory") -> np.ndarray:
    """Labels ``(n,)`` of the plotted images (sorted) stored with ``condition``."""
    return io.to_array(df, source="summary", quantity="structure_label", condition=condition)[1][0].astype(int)


def structure_stats(theory: np.ndarray, network: np.ndarray, labels: np.ndarray) -> dict:
    """Spec 7 (Figs 9, 16): Pearson r between theory ``D̃²`` and network squared distances over all ``n × n``
    entries (``r_all``) and over the entries with different labels (``r_diff``); mean network D² over
    same-label pairs (off-diagonal) divided by the mean over different-label pairs (``same_diff_ratio``).
    ``theory, network (n, n)``, ``labels (n,)``."""
    theory, network = np.asarray(theory, float), np.asarray(network, float)
    lab = np.asarray(labels)
    same = lab[:, None] == lab[None, :]
    off = ~np.eye(len(lab), dtype=bool)
    r_all = float(np.corrcoef(theory.ravel(), network.ravel())[0, 1])
    r_diff = float(np.corrcoef(theory[~same], network[~same])[0, 1])
    ratio = float(network[same & off].mean() / network[~same].mean())
    return {"r_all": r_all, "r_diff": r_diff, "same_diff_ratio": ratio}


def check_structure_labels(df) -> bool:
    """The theory and every trial plotted the same images in the same order."""
    ref = io.to_array(df, source="summary", quantity="structure_index", condition="theory")[1][0]
    return all(np.array_equal(ref, io.to_array(df, source="summary", quantity="structure_index", condition=c)[1][0])
               for c in trials(df))
