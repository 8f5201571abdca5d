"""Datasets of paper B (van Rossem & Saxe, ICML 2024): spec ``universality.md`` section 4.

Pure NumPy (no torch).  Every generator returns ``float32`` arrays (spec 4.1 and 5.1:
"Dtype float32"), with one sample per row:

=======================  =====================================  ==========================
function                 spec / paper-B figures                 shapes
=======================  =====================================  ==========================
:func:`two_point`        4.1 -- Figs 2, 3, 5, 10, 11, 13        x ``(2, D_x)``, y ``(2, D_y)``
:func:`two_point_grid`   4.1 -- Fig. 5 step 2 (5 x 5 datasets)  ``(25, 2)`` (dist_x, dist_y)
:func:`xor`              4.2 -- Figs 6, 14                      x ``(4, 2)``, y ``(4, 1)``
:func:`blob_context`     4.3 -- Figs 7, 8, 12, 15               inputs ``(1800, 27)``, targets ``(1800, 1)``
:func:`load_mnist`       4.4 / 9 -- Figs 4, 9, 16               images ``(N, 784)``, labels ``(N,)``
=======================  =====================================  ==========================

MNIST (spec 4.4 and 9) is read from local IDX files only: this module never touches
the network.  Providing the files (a local directory named by the config key
:data:`MNIST_DIR_CONFIG_KEY`, or downloading the official files) is the job of a
workflow rule; :func:`mnist_download_urls` only lists the official addresses as data.
Integrity is checked on the *decompressed* bytes (spec 9: the training-image archive
in ``shared/data/mnist`` is a re-compressed copy of the genuine content), so any gzip
container -- or none -- is accepted.  Compression is detected from the gzip magic
bytes, never from the file name.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Literal, Mapping, Sequence

import numpy as np

__all__ = [
    "TWO_POINT_X1", "TWO_POINT_Y1", "XOR_SAME_TARGET_PAIRS",
    "two_point", "two_point_grid", "xor", "blob_image", "blob_context", "BlobData",
    "IDX_DTYPES", "parse_idx", "read_idx", "read_maybe_gzip",
    "MNIST_FILES", "MNIST_SHAPES", "MNIST_IDX_MAGIC", "MNIST_SHA256", "MNIST_MD5",
    "MNIST_MEAN", "MNIST_STD", "MNIST_DIR_CONFIG_KEY", "MNIST_PROXY_CONFIG_KEY",
    "MNIST_URL_BASES", "MnistDataError", "MnistMissingError", "MnistCorruptError",
    "mnist_download_urls", "find_mnist_file", "verify_mnist_dir", "load_mnist",
    "one_hot", "first_index_of", "tracked_pair", "structure_subset", "label_block_centres",
    "MnistFigureData", "mnist_figure_data",
]

_FloatArray = np.ndarray
_PathType = str | PathLike

# ---------------------------------------------------------------------------------
# 4.1 two-point dataset
# ---------------------------------------------------------------------------------

TWO_POINT_X1 = -1.0
"""First input of the two-point dataset (spec 4.1): ``x1 = -1``, ``x2 = -1 + sqrt(dx2)``."""
TWO_POINT_Y1 = 0.6
"""First target of the two-point dataset (spec 4.1): ``y1 = 0.6``, ``y2 = 0.6 + sqrt(dy2)``."""


def two_point(dx2: float = 1.0, dy2: float = 0.5, dim_in: int = 1, dim_out: int = 1,
              dtype=np.float32) -> tuple[_FloatArray, _FloatArray]:
    """Two-point dataset of spec 4.1 (paper-B Figs 2, 3, 5, 10, 11, 13).

    ``x = (-1, -1 + sqrt(dx2))``, ``y = (0.6, 0.6 + sqrt(dy2))``; defaults dx2 = 1, dy2 = 0.5
    (decision D4) give ``x = (-1, 0)``, ``y = (0.6, 1.30711)``.  For ``dim_in``/``dim_out`` > 1
    every coordinate is equal and divided by ``sqrt(D)`` (the reference's general form), so the
    squared distances stay ``dx2`` and ``dy2``.

    Returns ``(x, y)`` with shapes ``(2, dim_in)`` and ``(2, dim_out)``, dtype ``dtype``.
    """
    if dx2 < 0 or dy2 < 0:
        raise ValueError(f"dx2 and dy2 must be >= 0, got dx2={dx2}, dy2={dy2}")
    if dim_in < 1 or dim_out < 1:
        raise ValueError(f"dim_in and dim_out must be >= 1, got {dim_in}, {dim_out}")
    xs = np.array([TWO_POINT_X1, TWO_POINT_X1 + np.sqrt(dx2)], dtype=np.float64)
    ys = np.array([TWO_POINT_Y1, TWO_POINT_Y1 + np.sqrt(dy2)], dtype=np.float64)
    x = np.repeat(xs[:, None], dim_in, axis=1) / np.sqrt(dim_in)
    y = np.repeat(ys[:, None], dim_out, axis=1) / np.sqrt(dim_out)
    return x.astype(dtype), y.astype(dtype)


def two_point_grid(dist_x: Sequence[float] | None = None,
                   dist_y: Sequence[float] | None = None) -> _FloatArray:
    """The 5 x 5 grid of (input distance, target distance) of spec 4.1 (paper-B Fig. 5, step 2).

    Defaults ``dist_x = linspace(0.5, 1.5, 5)``, ``dist_y = linspace(0, 1, 5)``.  Returns a
    float64 array of shape ``(len(dist_x) * len(dist_y), 2)`` with columns (dist_x, dist_y),
    dist_x in the outer loop.  These are *Euclidean* distances: use
    ``two_point(dx2=dist_x**2, dy2=dist_y**2)`` for each row.
    """
    dx = np.linspace(0.5, 1.5, 5) if dist_x is None else np.asarray(dist_x, dtype=np.float64)
    dy = np.linspace(0.0, 1.0, 5) if dist_y is None else np.asarray(dist_y, dtype=np.float64)
    gx, gy = np.meshgrid(dx, dy, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


# ---------------------------------------------------------------------------------
# 4.2 XOR
# ---------------------------------------------------------------------------------

XOR_SAME_TARGET_PAIRS: tuple[tuple[int, int], ...] = ((0, 3), (1, 2))
"""Index pairs of XOR points with equal targets (spec 4.2): these merge with small weights (Fig. 6)."""


def xor(dtype=np.float32) -> tuple[_FloatArray, _FloatArray]:
    """XOR task of spec 4.2 (paper-B Figs 6, 14).

    Points in the order ``(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0`` (indices 0..3).
    Returns ``(x, y)`` of shapes ``(4, 2)`` and ``(4, 1)``.
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([[0], [1], [1], [0]], dtype=dtype)
    return x, y


# ---------------------------------------------------------------------------------
# 4.3 Gaussian-blob context task
# ---------------------------------------------------------------------------------

def blob_image(mu_x: float, mu_y: float, size: int = 5, sigma: float = 1.0,
               dtype=np.float64) -> _FloatArray:
    """One blob image of spec 4.3 (paper-B Fig. 7), shape ``(size, size)``.

    Pixel centres at ``linspace(-1, 1, size)`` in x (along columns) and y (along rows, row 0
    at y = -1); ``G = exp(-((p_x - mu_x)^2 + (p_y - mu_y)^2) / (2 sigma^2))`` (spec: sigma = 1,
    i.e. ``/2``), then divided by its sum so that all pixels sum to 1.
    """
    grid = np.linspace(-1.0, 1.0, size)
    px, py = np.meshgrid(grid, grid)  # px[i, j] = grid[j] (columns), py[i, j] = grid[i] (rows)
    g = np.exp(-((px - mu_x) ** 2 + (py - mu_y) ** 2) / (2.0 * sigma ** 2))
    return (g / g.sum()).astype(dtype)


@dataclass(frozen=True)
class BlobData:
    """Gaussian-blob context task (spec 4.3).  ``n = 2 * n_centres**2`` rows (1800 by default).

    Attributes: ``inputs`` ``(n, size**2 + 2)`` float32 (flattened image, then one-hot context);
    ``targets`` ``(n, 1)`` float32 (mu_x in context 0, mu_y in context 1); ``context`` ``(n,)``
    int64 (0 = "x", 1 = "y"); ``feature_x``, ``feature_y`` ``(n,)`` float32 (mu_x, mu_y of every
    row, for colouring the MDS plots of Figs 8, 12, 15).
    """

    inputs: _FloatArray
    targets: _FloatArray
    context: np.ndarray
    feature_x: _FloatArray
    feature_y: _FloatArray


def blob_context(n_centres: int = 30, size: int = 5, sigma: float = 1.0,
                 dtype=np.float32) -> BlobData:
    """Gaussian-blob context task of spec 4.3 (paper-B Figs 7, 8, 12, 15).

    Centres ``mu_x, mu_y in linspace(-1, 1, n_centres)``, mu_x the outer loop, mu_y the inner
    loop (900 images).  Rows 0..899: image + one-hot ``[1, 0]`` (context "x"), target mu_x;
    rows 900..1799: the same images + ``[0, 1]`` (context "y"), target mu_y.  Each image is
    :func:`blob_image` flattened row-major (sums to 1).  The task has no randomness: the
    result is the same on every call (shuffling belongs to the training loop).
    """
    centres = np.linspace(-1.0, 1.0, n_centres)
    mx, my = np.meshgrid(centres, centres, indexing="ij")  # mu_x outer, mu_y inner
    mx, my = mx.ravel(), my.ravel()
    grid = np.linspace(-1.0, 1.0, size)
    px, py = np.meshgrid(grid, grid)
    px, py = px.ravel(), py.ravel()
    g = np.exp(-((px[None, :] - mx[:, None]) ** 2 + (py[None, :] - my[:, None]) ** 2)
               / (2.0 * sigma ** 2))
    images = g / g.sum(axis=1, keepdims=True)
    m = images.shape[0]
    ctx_x = np.tile([1.0, 0.0], (m, 1))
    ctx_y = np.tile([0.0, 1.0], (m, 1))
    inputs = np.concatenate([np.hstack([images, ctx_x]), np.hstack([images, ctx_y])], axis=0)
    targets = np.concatenate([mx, my])[:, None]
    return BlobData(
        inputs=inputs.astype(dtype),
        targets=targets.astype(dtype),
        context=np.repeat(np.array([0, 1], dtype=np.int64), m),
        feature_x=np.concatenate([mx, mx]).astype(dtype),
        feature_y=np.concatenate([my, my]).astype(dtype),
    )


# ---------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------

IDX_DTYPES: Mapping[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type code -> big-endian NumPy dtype (IDX format of LeCun et al.)."""

_GZIP_MAGIC = b"\x1f\x8b"


def read_maybe_gzip(path: _PathType) -> bytes:
    """Bytes of ``path``, gunzipped when the file starts with the gzip magic ``1f 8b``.

    The file name is ignored.  A file with the gzip magic that fails to decompress raises
    ``ValueError`` naming the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: starts with the gzip magic bytes but cannot be "
                             f"decompressed ({exc})") from exc
    return raw


def parse_idx(data: bytes, name: str = "<bytes>", expected_magic: int | None = None,
              expected_shape: Sequence[int | None] | None = None) -> np.ndarray:
    """Parse uncompressed IDX bytes into a native-endian array.

    Header: two zero bytes, a type code (see :data:`IDX_DTYPES`), the number of dimensions
    ``n >= 1``, then ``n`` big-endian uint32 sizes; the payload must hold exactly
    ``prod(sizes)`` items (no missing and no trailing bytes).  ``expected_magic`` is the first
    4 bytes as a big-endian integer (2049 = uint8 vector, 2051 = uint8 rank-3 array);
    ``expected_shape`` may hold ``None`` for any free size.  Every mismatch raises
    ``ValueError`` whose message starts with ``name``.
    """
    if len(data) < 4:
        raise ValueError(f"{name}: not an IDX file: {len(data)} bytes, shorter than the "
                         f"4-byte magic number")
    magic = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"{name}: not an IDX file: magic number 0x{magic:08x} does not start "
                         f"with two zero bytes")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise ValueError(f"{name}: unknown IDX data type code 0x{code:02x} "
                         f"(known: {', '.join(f'0x{c:02x}' for c in IDX_DTYPES)})")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{name}: IDX magic number {magic} (0x{magic:08x}), expected "
                         f"{expected_magic} (0x{expected_magic:08x})")
    if ndim < 1:
        raise ValueError(f"{name}: IDX header declares {ndim} dimensions (need >= 1)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name}: truncated IDX header: {len(data)} bytes, the {ndim} "
                         f"dimension sizes need {header}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if expected_shape is not None:
        exp = tuple(expected_shape)
        if len(exp) != ndim or any(e is not None and e != s for e, s in zip(exp, shape)):
            raise ValueError(f"{name}: IDX dimensions {shape}, expected "
                             f"{tuple('*' if e is None else e for e in exp)}")
    dtype = IDX_DTYPES[code]
    n_items = int(np.prod(shape, dtype=np.int64))
    need = header + n_items * dtype.itemsize
    if len(data) != need:
        kind = "truncated" if len(data) < need else "trailing bytes"
        raise ValueError(f"{name}: IDX payload length mismatch ({kind}): file has {len(data)} "
                         f"bytes, header {shape} of {dtype.name} needs exactly {need}")
    arr = np.frombuffer(data, dtype=dtype, count=n_items, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: _PathType, expected_magic: int | None = None,
             expected_shape: Sequence[int | None] | None = None) -> np.ndarray:
    """Read an IDX file, gzipped or not (detected by magic bytes); see :func:`parse_idx`.

    Raises ``ValueError`` naming ``path`` on any format mismatch.
    """
    return parse_idx(read_maybe_gzip(path), str(path), expected_magic, expected_shape)


# ---------------------------------------------------------------------------------
# MNIST: constants
# ---------------------------------------------------------------------------------

MNIST_FILES: Mapping[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
"""Logical name -> official (uncompressed) MNIST file name.  On disk each may also carry ``.gz``."""

MNIST_SHAPES: Mapping[str, tuple[int, ...]] = {
    "train_images": (60000, 28, 28),
    "train_labels": (60000,),
    "test_images": (10000, 28, 28),
    "test_labels": (10000,),
}
"""IDX dimensions of the official files (spec 9)."""

MNIST_IDX_MAGIC: Mapping[str, int] = {
    "train_images": 2051, "train_labels": 2049, "test_images": 2051, "test_labels": 2049,
}
"""IDX magic numbers (spec 9): 2051 = uint8 rank 3, 2049 = uint8 rank 1."""

# SHA-256 of the DECOMPRESSED IDX bytes.  The spec (section 9) gives only MD5s; these values
# were computed (by the author of this module) from /work/shared/data/mnist with
#   gunzip -c <file>.gz | sha256sum
# after checking that the decompressed MD5s equal the spec's values (MNIST_MD5 below) and the
# sizes 47 040 016 / 60 008 / 7 840 016 / 10 008 bytes.  The two uncompressed label files in that
# directory hash identically to their .gz twins.
MNIST_SHA256: Mapping[str, str] = {
    "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# MD5 of the DECOMPRESSED IDX bytes, copied from spec section 9 ("decompressed md5" table).
MNIST_MD5: Mapping[str, str] = {
    "train_images": "6bbc9ace898e44ae57da46a324031adb",
    "train_labels": "a25bea736e30d166cdddb491f175f624",
    "test_images": "2646ac647ad5339dbf082846283269ea",
    "test_labels": "27ae3e4e09519cfbb04c329615203637",
}

MNIST_MEAN = 0.1307
"""Normalisation mean of pixels/255 (spec 4.4)."""
MNIST_STD = 0.3081
"""Normalisation std of pixels/255 (spec 4.4)."""

MNIST_DIR_CONFIG_KEY = "mnist_dir"
"""Config key expected to name the local directory with the four official MNIST files."""
MNIST_PROXY_CONFIG_KEY = "mnist_10k_proxy"
"""Config switch for the opt-in "MNIST-10k proxy" of spec 4.4 (never automatic)."""

MNIST_URL_BASES: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # mirror used by torchvision (same archives)
    "http://yann.lecun.com/exdb/mnist/",               # original site (often refuses downloads)
)
"""Where the official gzipped files can be fetched (by a workflow rule, never by this module)."""


def mnist_download_urls(base: str | None = None) -> dict[str, str]:
    """Official ``<name>.gz`` file name -> URL for the four MNIST files (data only, no download).

    ``base`` defaults to ``MNIST_URL_BASES[0]``.
    """
    base = MNIST_URL_BASES[0] if base is None else base
    if not base.endswith("/"):
        base += "/"
    return {f"{fname}.gz": f"{base}{fname}.gz" for fname in MNIST_FILES.values()}


# ---------------------------------------------------------------------------------
# MNIST: locating and verifying
# ---------------------------------------------------------------------------------

class MnistDataError(RuntimeError):
    """MNIST files are missing or do not match the official content."""


class MnistMissingError(MnistDataError, FileNotFoundError):
    """At least one required MNIST file is absent."""


class MnistCorruptError(MnistDataError, ValueError):
    """A present MNIST file is unreadable or its decompressed content has the wrong checksum."""


def _candidates(key: str) -> list[str]:
    base = MNIST_FILES[key]
    dotted = base.replace("-idx", ".idx")  # e.g. "train-images.idx3-ubyte" (common re-packaging)
    return [base, base + ".gz", dotted, dotted + ".gz"]


def _check_key(key: str) -> None:
    if key not in MNIST_FILES:
        raise KeyError(f"unknown MNIST file {key!r}; known: {sorted(MNIST_FILES)}")


def find_mnist_file(directory: _PathType, key: str) -> Path | None:
    """Path of MNIST file ``key`` (e.g. ``"train_images"``) in ``directory``, or ``None``.

    Tries the official name, then ``<name>.gz``, then the dotted variants
    (``train-images.idx3-ubyte[.gz]``); the first existing regular file wins.
    """
    _check_key(key)
    for cand in _candidates(key):
        p = Path(directory) / cand
        if p.is_file():
            return p
    return None


def _how_to_provide() -> str:
    urls = ", ".join(mnist_download_urls().values())
    return (f"To provide MNIST, either set the config key '{MNIST_DIR_CONFIG_KEY}' to a local "
            f"directory holding the four official files (names {', '.join(MNIST_FILES.values())}, "
            f"gzipped '.gz' or not), or, with internet access, download the official files "
            f"({urls}) into that directory (the workflow's download rule does this). Without the "
            f"training images, the labelled 'MNIST-10k proxy' (spec 4.4) runs only if you set "
            f"'{MNIST_PROXY_CONFIG_KEY}: true' explicitly.")


def _keys_for(splits: Sequence[str]) -> list[str]:
    keys = []
    for split in splits:
        if split not in ("train", "test"):
            raise ValueError(f"unknown MNIST split {split!r}; use 'train' or 'test'")
        keys += [f"{split}_images", f"{split}_labels"]
    return keys


def _content_problem(key: str, content: bytes) -> str | None:
    sha = hashlib.sha256(content).hexdigest()
    if sha != MNIST_SHA256[key]:
        md5 = hashlib.md5(content).hexdigest()
        return (f"decompressed content ({len(content)} bytes) has SHA-256 {sha} (MD5 {md5}); "
                f"expected SHA-256 {MNIST_SHA256[key]} (MD5 {MNIST_MD5[key]})")
    return None


def _read_verified(path: Path, key: str, verify: bool) -> bytes:
    """Decompressed bytes of ``path``; raises MnistCorruptError naming the file on a bad checksum."""
    try:
        content = read_maybe_gzip(path)
    except ValueError as exc:
        raise MnistCorruptError(f"MNIST file {path} is corrupt: {exc}. {_how_to_provide()}") from exc
    if verify:
        problem = _content_problem(key, content)
        if problem is not None:
            raise MnistCorruptError(f"MNIST file {path} is corrupt or not the official "
                                    f"'{MNIST_FILES[key]}': {problem}. {_how_to_provide()}")
    return content


def verify_mnist_dir(directory: _PathType, splits: Sequence[str] = ("train", "test")) -> dict[str, Path]:
    """Check that the MNIST files of ``splits`` exist in ``directory`` and are the official content.

    Each file may be gzipped or not; the SHA-256 (:data:`MNIST_SHA256`) of its decompressed
    bytes must match.  All files are checked before raising, and the error lists every problem:
    :class:`MnistMissingError` if any file is absent, else :class:`MnistCorruptError`; the
    message names each file and says how to provide the official files.
    Returns ``{key: path}`` for the checked files.
    """
    directory = Path(directory)
    found: dict[str, Path] = {}
    missing: list[str] = []
    corrupt: list[str] = []
    for key in _keys_for(splits):
        path = find_mnist_file(directory, key)
        if path is None:
            missing.append(f"  - missing: {MNIST_FILES[key]} (looked for "
                           f"{' / '.join(_candidates(key))} in {directory})")
            continue
        found[key] = path
        try:
            content = read_maybe_gzip(path)
        except ValueError as exc:
            corrupt.append(f"  - corrupt: {path}: {exc}")
            continue
        problem = _content_problem(key, content)
        if problem is not None:
            corrupt.append(f"  - corrupt: {path}: {problem}")
    if missing or corrupt:
        cls = MnistMissingError if missing else MnistCorruptError
        if not directory.is_dir():
            head = f"MNIST directory {directory} does not exist."
        else:
            head = f"MNIST files in {directory} are missing or corrupt:"
        raise cls("\n".join([head, *missing, *corrupt, _how_to_provide()]))
    return found


# ---------------------------------------------------------------------------------
# MNIST: loading
# ---------------------------------------------------------------------------------

_Scale = Literal["standard", "unit", "raw"]


def load_mnist(directory: _PathType, split: Literal["train", "test"] = "train",
               scale: _Scale = "standard", n: int | None = None, verify: bool = True,
               dtype=np.float32) -> tuple[_FloatArray, np.ndarray]:
    """MNIST images and labels from local IDX files (spec 4.4 and 9; paper-B Figs 4, 9, 16).

    ``scale``: ``"standard"`` = ``(v/255 - 0.1307) / 0.3081`` (network inputs, spec 4.4),
    ``"unit"`` = ``v/255``, ``"raw"`` = ``v`` in 0..255 (the Eq. 50 theory of Fig. 9, spec 2.10).
    ``n`` keeps only the first ``n`` images.  With ``verify`` (default) the decompressed
    SHA-256 is checked and a mismatch raises :class:`MnistCorruptError` naming the file;
    an absent file raises :class:`MnistMissingError`.

    Returns ``images`` ``(N, 784)`` of ``dtype`` (row-major 28 x 28) and ``labels`` ``(N,)`` int64.
    """
    if scale not in ("standard", "unit", "raw"):
        raise ValueError(f"scale must be 'standard', 'unit' or 'raw', got {scale!r}")
    keys = _keys_for([split])
    directory = Path(directory)
    paths = {}
    for key in keys:
        p = find_mnist_file(directory, key)
        if p is None:
            raise MnistMissingError(f"MNIST file {MNIST_FILES[key]} not found in {directory} "
                                    f"(looked for {' / '.join(_candidates(key))}). "
                                    f"{_how_to_provide()}")
        paths[key] = p
    arrays = {}
    for key, p in paths.items():
        content = _read_verified(p, key, verify)
        try:
            arrays[key] = parse_idx(content, str(p), MNIST_IDX_MAGIC[key], MNIST_SHAPES[key])
        except ValueError as exc:
            raise MnistCorruptError(f"{exc}. {_how_to_provide()}") from exc
    images = arrays[f"{split}_images"]
    labels = arrays[f"{split}_labels"].astype(np.int64)
    if n is not None:
        if not 0 <= n <= len(labels):
            raise ValueError(f"n must be in [0, {len(labels)}], got {n}")
        images, labels = images[:n], labels[:n]
    # 256-entry lookup table computed in float64, then cast: identical to scaling in float64,
    # without a float64 copy of all 47M pixels.
    lut = np.arange(256, dtype=np.float64)
    if scale == "unit":
        lut = lut / 255.0
    elif scale == "standard":
        lut = (lut / 255.0 - MNIST_MEAN) / MNIST_STD
    return lut.astype(dtype)[images.reshape(len(images), -1)], labels


def one_hot(labels: np.ndarray, n_classes: int = 10, dtype=np.float32) -> _FloatArray:
    """One-hot targets (spec 4.4: 10-dim float, so ``dy2 = 2`` between different digits).

    ``labels`` ``(N,)`` ints in ``[0, n_classes)`` -> ``(N, n_classes)``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range "
                         f"[{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.size, n_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def first_index_of(labels: np.ndarray, digit: int) -> int:
    """Index of the first occurrence of ``digit`` in ``labels``; ``ValueError`` if absent."""
    hits = np.flatnonzero(np.asarray(labels) == digit)
    if hits.size == 0:
        raise ValueError(f"digit {digit} does not occur in the labels")
    return int(hits[0])


def tracked_pair(labels: np.ndarray, digits: tuple[int, int] = (0, 1)) -> tuple[int, int]:
    """Fig. 4 tracked pair (spec 4.4, decision D11): first "0" and first "1" of the split.

    Training split -> ``(1, 3)``; test split (10k proxy) -> ``(3, 2)``.
    """
    return first_index_of(labels, digits[0]), first_index_of(labels, digits[1])


def structure_subset(labels: np.ndarray, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Fig. 9/16 plotted digits (spec 4.4): the first ``n`` images, re-ordered by label (stable).

    Returns ``(indices, sorted_labels)``, both ``(n,)`` int64: ``indices`` are positions in the
    split, ascending within each class.  Training split, n = 100: class counts
    ``13 14 6 11 11 5 11 10 8 11``.
    """
    labels = np.asarray(labels)
    if not 0 < n <= labels.size:
        raise ValueError(f"n must be in [1, {labels.size}], got {n}")
    order = np.argsort(labels[:n], kind="stable").astype(np.int64)
    return order, labels[order].astype(np.int64)


def label_block_centres(sorted_labels: np.ndarray) -> tuple[_FloatArray, np.ndarray]:
    """Tick positions and digits for the Fig. 9 class blocks: centre of each run of equal labels.

    ``sorted_labels`` ``(n,)`` (from :func:`structure_subset`) -> ``(positions, digits)``; the
    position of a block covering indices ``a..b`` is ``(a + b) / 2``.
    """
    s = np.asarray(sorted_labels)
    if s.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.size] - 1
    return (starts + ends) / 2.0, s[starts].astype(np.int64)


@dataclass(frozen=True)
class MnistFigureData:
    """Everything the MNIST figures (4, 9, 16) take from the data (spec 4.4).

    ``images`` ``(N, 784)`` float32 standardised network inputs; ``labels`` ``(N,)`` int64;
    ``targets`` ``(N, 10)`` float32 one-hot; ``pair`` = Fig. 4 tracked (first "0", first "1");
    ``structure_indices`` / ``structure_labels`` ``(100,)`` = Fig. 9 plotted images sorted by
    label; ``theory_indices`` ``(n_theory,)`` = images of the Eq. 50 theory (raw pixels:
    ``load_mnist(..., scale="raw")``); ``split`` the IDX split used; ``proxy`` True for the
    "MNIST-10k proxy"; ``label`` a tag for figures ("" or "10k proxy").
    """

    images: _FloatArray
    labels: np.ndarray
    targets: _FloatArray
    pair: tuple[int, int]
    structure_indices: np.ndarray
    structure_labels: np.ndarray
    theory_indices: np.ndarray
    split: str
    proxy: bool
    label: str


def mnist_figure_data(directory: _PathType, use_10k_proxy: bool = False, n_structure: int = 100,
                      n_theory: int = 10000, verify: bool = True) -> MnistFigureData:
    """Training data and subsets of paper-B Figs 4, 9, 16 (spec 4.4).

    Default: the full 60k training split; tracked pair (1, 3); the first 100 training images
    sorted by label; theory on the first 10 000 training images.  Only with
    ``use_10k_proxy=True`` (config :data:`MNIST_PROXY_CONFIG_KEY`, never automatic) the 10k
    test split replaces it everywhere (pair (3, 2), its first 100 images, theory on all 10k)
    and ``label == "10k proxy"``.  Missing/corrupt files raise :class:`MnistDataError`.
    """
    split = "test" if use_10k_proxy else "train"
    images, labels = load_mnist(directory, split, scale="standard", verify=verify)
    idx, sorted_labels = structure_subset(labels, n_structure)
    if not 0 < n_theory <= len(labels):
        raise ValueError(f"n_theory must be in [1, {len(labels)}], got {n_theory}")
    return MnistFigureData(
        images=images, labels=labels, targets=one_hot(labels),
        pair=tracked_pair(labels), structure_indices=idx, structure_labels=sorted_labels,
        theory_indices=np.arange(n_theory, dtype=np.int64), split=split,
        proxy=use_10k_proxy, label="10k proxy" if use_10k_proxy else "",
    )
