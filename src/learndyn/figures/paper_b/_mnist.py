"""Paper B's MNIST figures (4, 9, 16): providing the data, the Eq. 50 theory and the structure statistics.

Spec ``universality.md`` 2.10 (exponential weighing, Eq. 50), 4.4 (MNIST protocol), 7 (checks of Figs 9 and 16)
and 9 (data availability: official files, checksums of the *decompressed* content, opt-in 10k proxy).

* :func:`provide_mnist`: copy (from a local directory) or download (official URLs) the gzipped IDX files of
  the needed splits into one directory and verify them; a missing or corrupt file stops with a message that
  names the file and says how to provide it.
* :func:`compute_theory` (compute rule of Figs 9/16): ``D̃ = E D E`` (Eq. 50) with ``D_kl = ||x_k − x_l||
  ||y_k − y_l||`` on raw pixels (0-255) of the first 10 000 training images and one-hot targets, by the exact
  class-level shortcut (:func:`learndyn.effective.exponential_weighing_by_class`), restricted to the first 100
  images sorted by label; ``D̃²`` is what the figure shows.
* :func:`network_d2`, :func:`structure_stats`: trial-averaged network distances and the statistics of spec 7.
"""

from __future__ import annotations

import gzip
import shutil
import urllib.request
from pathlib import Path

import numpy as np

from ... import datasets, effective, io

N_CLASSES = 10


# ------------------------------------------------------------------ providing the files (spec 9)
def split_of(proxy: bool) -> str:
    """IDX split the MNIST figures train on: ``"train"`` (60k), or ``"test"`` for the opt-in 10k proxy (spec 4.4)."""
    return "test" if proxy else "train"


def needed_splits(proxy: bool) -> tuple[str, ...]:
    """Splits to provide: both (the four official files), or the test split only for the 10k proxy (whose
    users lack the training images, spec 4.4)."""
    return ("test",) if proxy else ("train", "test")


def provided_files(dest, proxy: bool) -> list[str]:
    """Paths of the gzipped files :func:`provide_mnist` writes into ``dest`` (official names + ``.gz``)."""
    keys = [k for k in datasets.MNIST_FILES if k.split("_")[0] in needed_splits(proxy)]
    return [str(Path(dest) / f"{datasets.MNIST_FILES[k]}.gz") for k in keys]


def _how(config_prefix: str, source_dir, download: bool) -> str:
    where = (f"download from {config_prefix}.url_base" if download
             else f"copy from {config_prefix}.mnist_dir = '{source_dir}' (relative to the working directory)")
    return (f"MNIST provisioning ({where}) failed. Put the four official files (gzipped or not) into a "
            f"directory and set {config_prefix}.mnist_dir to it in config.yaml (or --config), or set "
            f"{config_prefix}.download: true on a machine with internet access; without the 60k training images "
            f"set {config_prefix}.mnist_10k_proxy: true to train on the 10k test split (figures are then labelled "
            f"'10k proxy').")


def _write_gz(content: bytes, path: Path) -> None:
    """Deterministic gzip (mtime 0) of ``content`` to ``path``, atomically."""
    io.atomic_write(path, lambda tmp: Path(tmp).write_bytes(gzip.compress(content, compresslevel=6, mtime=0)))


def provide_mnist(dest, *, source_dir=None, download: bool = False, url_base: str | None = None,
                  proxy: bool = False, config_prefix: str = "paper_b.mnist", log=None) -> list[str]:
    """Put the MNIST files of :func:`needed_splits` into ``dest`` as ``<official name>.gz`` and verify them.

    ``download=False``: the files are taken from ``source_dir`` (official names, gzipped or not, see
    :func:`learndyn.datasets.find_mnist_file`); they are verified there first (SHA-256 of the decompressed
    bytes, :func:`learndyn.datasets.verify_mnist_dir`), then a gzipped file is copied byte for byte and an
    uncompressed one is gzipped. ``download=True``: the official ``.gz`` files are fetched from ``url_base``
    (default :data:`learndyn.datasets.MNIST_URL_BASES` ``[0]``; needs internet, run it on a login node).
    Either way the written files are verified again. Errors: :class:`learndyn.datasets.MnistMissingError` /
    :class:`~learndyn.datasets.MnistCorruptError` whose message names every bad file and how to provide it
    (a corrupt download is deleted). ``log``: optional file that receives the list of verified files.
    Returns the written paths.
    """
    dest = Path(dest)
    splits = needed_splits(proxy)
    keys = [k for k in datasets.MNIST_FILES if k.split("_")[0] in splits]
    how = _how(config_prefix, source_dir, download)
    if download:
        urls = datasets.mnist_download_urls(url_base)
        for key in keys:
            name = f"{datasets.MNIST_FILES[key]}.gz"
            try:
                with urllib.request.urlopen(urls[name], timeout=120) as resp:
                    raw = resp.read()
            except OSError as exc:
                raise datasets.MnistMissingError(f"could not download {urls[name]}: {exc}\n{how}") from exc
            io.atomic_write(dest / name, lambda tmp: Path(tmp).write_bytes(raw))
    else:
        if source_dir is None:
            raise ValueError("source_dir is required unless download=True")
        try:
            found = datasets.verify_mnist_dir(source_dir, splits)
        except datasets.MnistDataError as exc:
            raise type(exc)(f"{exc}\n{how}") from exc
        for key, src in found.items():
            out = dest / f"{datasets.MNIST_FILES[key]}.gz"
            if src.read_bytes()[:2] == b"\x1f\x8b":
                io.atomic_write(out, lambda tmp: shutil.copyfile(src, tmp))
            else:
                _write_gz(src.read_bytes(), out)
    try:
        datasets.verify_mnist_dir(dest, splits)
    except datasets.MnistDataError as exc:
        if download:
            for path in provided_files(dest, proxy):
                Path(path).unlink(missing_ok=True)
        raise type(exc)(f"{exc}\n{how}") from exc
    files = provided_files(dest, proxy)
    if log is not None:
        origin = f"downloaded from {url_base or datasets.MNIST_URL_BASES[0]}" if download else f"copied from {source_dir}"
        io.atomic_write(Path(log), lambda tmp: Path(tmp).write_text(
            f"MNIST {origin}; verified (SHA-256 of the decompressed content):\n" + "\n".join(files) + "\n"))
    return files


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
