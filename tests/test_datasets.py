"""Tests of learndyn.datasets (paper B, spec universality.md sections 4 and 9)."""

from __future__ import annotations

import gzip
import hashlib
import inspect
import shutil
from pathlib import Path

import numpy as np
import pytest

from learndyn import datasets as ds

MNIST_DIR = Path("/work/shared/data/mnist")
needs_mnist = pytest.mark.skipif(
    not MNIST_DIR.is_dir(), reason=f"official MNIST files not available at {MNIST_DIR}")

# Spec section 9 sanity facts.
TRAIN_FIRST_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_FIRST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# Spec 4.4: label counts of the first 100 training images.
FIRST100_TRAIN_COUNTS = [13, 14, 6, 11, 11, 5, 11, 10, 8, 11]


# ---------------------------------------------------------------------------- 4.1

def test_two_point_default_values():
    x, y = ds.two_point()
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert x.shape == (2, 1) and y.shape == (2, 1)
    np.testing.assert_array_equal(x[:, 0], [-1.0, 0.0])
    np.testing.assert_allclose(y[:, 0], [0.6, 1.30711], atol=1e-5)


@pytest.mark.parametrize("dx2,dy2,din,dout", [(0.25, 0.0, 1, 1), (2.25, 1.0, 3, 4), (1.0, 0.5, 10, 2)])
def test_two_point_distances_kept_in_any_dimension(dx2, dy2, din, dout):
    x, y = ds.two_point(dx2, dy2, din, dout)
    assert x.shape == (2, din) and y.shape == (2, dout)
    np.testing.assert_allclose(np.sum((x[1] - x[0]).astype(np.float64) ** 2), dx2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.sum((y[1] - y[0]).astype(np.float64) ** 2), dy2, rtol=1e-6, atol=1e-7)
    # every coordinate equal, scaled by 1/sqrt(D)
    np.testing.assert_allclose(x[0], np.full(din, -1.0 / np.sqrt(din)), rtol=1e-6)
    np.testing.assert_allclose(y[0], np.full(dout, 0.6 / np.sqrt(dout)), rtol=1e-6)


def test_two_point_rejects_negative_distance():
    with pytest.raises(ValueError, match="dx2"):
        ds.two_point(dx2=-1.0)


def test_two_point_grid_fig5():
    g = ds.two_point_grid()
    assert g.shape == (25, 2)
    np.testing.assert_allclose(g[0], [0.5, 0.0])
    np.testing.assert_allclose(g[1], [0.5, 0.25])
    np.testing.assert_allclose(g[5], [0.75, 0.0])  # dist_x is the outer loop
    np.testing.assert_allclose(g[-1], [1.5, 1.0])
    np.testing.assert_allclose(np.unique(g[:, 0]), [0.5, 0.75, 1.0, 1.25, 1.5])


# ---------------------------------------------------------------------------- 4.2

def test_xor_points_targets_and_pairs():
    x, y = ds.xor()
    assert x.dtype == np.float32 and x.shape == (4, 2) and y.shape == (4, 1)
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y[:, 0], [0, 1, 1, 0])
    assert ds.XOR_SAME_TARGET_PAIRS == ((0, 3), (1, 2))
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    for i in range(4):
        for j in range(i + 1, 4):
            same = (i, j) in ds.XOR_SAME_TARGET_PAIRS
            assert (y[i, 0] == y[j, 0]) == same
            assert d2[i, j] == (2.0 if same else 1.0)  # same-target pairs are the diagonals


# ---------------------------------------------------------------------------- 4.3

@pytest.fixture(scope="module")
def blobs():
    return ds.blob_context()


def test_blob_shapes_and_dtypes(blobs):
    assert blobs.inputs.shape == (1800, 27) and blobs.inputs.dtype == np.float32
    assert blobs.targets.shape == (1800, 1) and blobs.targets.dtype == np.float32
    assert blobs.context.shape == (1800,) and blobs.feature_x.shape == (1800,)
    np.testing.assert_array_equal(np.bincount(blobs.context), [900, 900])


def test_blob_normalisation_and_pixel_range(blobs):
    img = blobs.inputs[:, :25].astype(np.float64)
    np.testing.assert_allclose(img.sum(axis=1), 1.0, atol=1e-6)
    # spec 10.2: input pixel range 0.0021-0.115 (sigma = 1)
    assert img.min() == pytest.approx(0.0021060, abs=1e-6)
    assert img.max() == pytest.approx(0.1149863, abs=1e-6)
    # independent value: blob at (-1, -1); pixel (row 0, col 0) sits on the centre
    g = np.linspace(-1, 1, 5)
    s = np.exp(-((g + 1) ** 2) / 2).sum()
    assert img[0, 0] == pytest.approx(1.0 / s ** 2, rel=1e-6)
    assert img[0, 24] == pytest.approx(np.exp(-4.0) / s ** 2, rel=1e-5)


def test_blob_order_contexts_targets(blobs):
    c = np.linspace(-1, 1, 30)
    np.testing.assert_allclose(blobs.feature_x[:900], np.repeat(c, 30), atol=1e-7)  # mu_x outer
    np.testing.assert_allclose(blobs.feature_y[:900], np.tile(c, 30), atol=1e-7)    # mu_y inner
    np.testing.assert_array_equal(blobs.inputs[:900, 25:], np.tile([1, 0], (900, 1)))
    np.testing.assert_array_equal(blobs.inputs[900:, 25:], np.tile([0, 1], (900, 1)))
    np.testing.assert_array_equal(blobs.inputs[:900, :25], blobs.inputs[900:, :25])
    np.testing.assert_array_equal(blobs.targets[:900, 0], blobs.feature_x[:900])
    np.testing.assert_array_equal(blobs.targets[900:, 0], blobs.feature_y[900:])
    np.testing.assert_array_equal(blobs.context, blobs.inputs[:, 26].astype(int))


def test_blob_axes_x_columns_y_rows(blobs):
    # mu = (1, -1): right-most column (x = 1), top row (y = -1)
    row = 29 * 30 + 0
    assert (blobs.feature_x[row], blobs.feature_y[row]) == (1.0, -1.0)
    assert np.unravel_index(np.argmax(blobs.inputs[row, :25]), (5, 5)) == (0, 4)
    np.testing.assert_allclose(blobs.inputs[row, :25], ds.blob_image(1.0, -1.0).ravel(), rtol=1e-6)
    # mu = (-1, 1): left column, bottom row
    assert np.unravel_index(np.argmax(ds.blob_image(-1.0, 1.0)), (5, 5)) == (4, 0)


def test_blob_deterministic(blobs):
    again = ds.blob_context()
    np.testing.assert_array_equal(again.inputs, blobs.inputs)
    np.testing.assert_array_equal(again.targets, blobs.targets)


# ---------------------------------------------------------------------------- IDX

def _idx_bytes(arr: np.ndarray, code: int, dtype: str) -> bytes:
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(dtype).tobytes()


def test_idx_raw_and_gzip_detected_by_magic_not_name(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    data = _idx_bytes(arr, 0x08, "u1")
    assert int.from_bytes(data[:4], "big") == 2051
    raw = tmp_path / "images.gz"          # raw content, misleading name
    gz = tmp_path / "images-idx3-ubyte"   # gzip content, no .gz suffix
    raw.write_bytes(data)
    gz.write_bytes(gzip.compress(data))
    for p in (raw, gz):
        out = ds.read_idx(p, expected_magic=2051, expected_shape=(None, 3, 4))
        assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
        np.testing.assert_array_equal(out, arr)
        assert out[1, 2, 3] == 230


def test_idx_big_endian_types(tmp_path):
    a16 = np.array([1, -2, 300, -32768], dtype=np.int16)
    p = tmp_path / "i16"
    p.write_bytes(_idx_bytes(a16, 0x0B, ">i2"))
    out = ds.read_idx(p)
    assert out.dtype == np.dtype(np.int16) and out.dtype.isnative
    np.testing.assert_array_equal(out, a16)
    a32 = np.array([[1.5, -2.25], [3.0e6, 0.0]], dtype=np.float32)
    p.write_bytes(gzip.compress(_idx_bytes(a32, 0x0D, ">f4")))
    np.testing.assert_array_equal(ds.read_idx(p), a32)


@pytest.mark.parametrize("mutate,match", [
    (lambda b: b"\x01" + b[1:], "two zero bytes"),
    (lambda b: b[:2] + b"\x07" + b[3:], "data type code 0x07"),
    (lambda b: b[:-1], "truncated"),
    (lambda b: b + b"\x00", "trailing bytes"),
    (lambda b: b[:6], "truncated IDX header"),
    (lambda b: b[:3], "shorter than"),
    (lambda b: b[:3] + b"\x00", "0 dimensions"),
])
def test_idx_malformed_raises_naming_file(tmp_path, mutate, match):
    good = _idx_bytes(np.zeros((2, 3), np.uint8), 0x08, "u1")
    p = tmp_path / "broken-file-name"
    p.write_bytes(mutate(good))
    with pytest.raises(ValueError, match=match) as exc:
        ds.read_idx(p)
    assert str(p) in str(exc.value)


def test_idx_expected_magic_and_shape_mismatch(tmp_path):
    p = tmp_path / "labels"
    p.write_bytes(_idx_bytes(np.zeros(5, np.uint8), 0x08, "u1"))  # magic 2049
    assert ds.read_idx(p, expected_magic=2049, expected_shape=(5,)).shape == (5,)
    with pytest.raises(ValueError, match=r"magic number 2049.*expected 2051") as exc:
        ds.read_idx(p, expected_magic=2051)
    assert str(p) in str(exc.value)
    with pytest.raises(ValueError, match=r"dimensions \(5,\), expected \(6,\)"):
        ds.read_idx(p, expected_shape=(6,))
    with pytest.raises(ValueError, match="dimensions"):
        ds.read_idx(p, expected_shape=(5, None))


def test_idx_corrupt_gzip_names_file(tmp_path):
    p = tmp_path / "bad.gz"
    p.write_bytes(gzip.compress(_idx_bytes(np.zeros(100, np.uint8), 0x08, "u1"))[:-12])
    with pytest.raises(ValueError, match="cannot be decompressed") as exc:
        ds.read_idx(p)
    assert str(p) in str(exc.value)


# ---------------------------------------------------------------------------- MNIST: verification errors

def _write_fake_mnist(directory: Path, keys=tuple(ds.MNIST_FILES)) -> None:
    """Tiny well-formed IDX files under the official names (wrong content)."""
    for key in keys:
        arr = np.zeros((3, 28, 28) if key.endswith("images") else (3,), np.uint8)
        data = _idx_bytes(arr, 0x08, "u1")
        name = ds.MNIST_FILES[key]
        if key.startswith("train"):
            (directory / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)


def test_missing_files_message(tmp_path):
    with pytest.raises(ds.MnistMissingError) as exc:
        ds.verify_mnist_dir(tmp_path)
    msg = str(exc.value)
    assert isinstance(exc.value, FileNotFoundError)
    for name in ds.MNIST_FILES.values():
        assert f"missing: {name}" in msg
    assert str(tmp_path) in msg
    assert ds.MNIST_DIR_CONFIG_KEY in msg and "download" in msg
    assert ds.mnist_download_urls()["train-images-idx3-ubyte.gz"] in msg
    assert ds.MNIST_PROXY_CONFIG_KEY in msg


def test_missing_directory_message(tmp_path):
    with pytest.raises(ds.MnistMissingError, match="does not exist"):
        ds.verify_mnist_dir(tmp_path / "nowhere")


def test_only_training_images_missing(tmp_path):
    _write_fake_mnist(tmp_path, keys=("train_labels", "test_images", "test_labels"))
    with pytest.raises(ds.MnistMissingError) as exc:
        ds.verify_mnist_dir(tmp_path)
    msg = str(exc.value)
    assert "missing: train-images-idx3-ubyte" in msg
    assert "missing: train-labels" not in msg
    # the other (fake) files are reported as corrupt in the same message
    assert "corrupt:" in msg and "t10k-labels-idx1-ubyte" in msg
    with pytest.raises(ds.MnistMissingError, match="train-images-idx3-ubyte not found"):
        ds.load_mnist(tmp_path, "train")


def test_checksum_failure_names_file(tmp_path):
    _write_fake_mnist(tmp_path)
    with pytest.raises(ds.MnistCorruptError) as exc:
        ds.verify_mnist_dir(tmp_path)
    msg = str(exc.value)
    assert isinstance(exc.value, ValueError)
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in msg
    assert str(tmp_path / "t10k-labels-idx1-ubyte") in msg
    assert ds.MNIST_SHA256["train_images"] in msg  # expected value is shown
    assert ds.MNIST_DIR_CONFIG_KEY in msg
    # only the requested split is checked
    with pytest.raises(ds.MnistCorruptError) as exc:
        ds.verify_mnist_dir(tmp_path, splits=("test",))
    assert "train-images" not in str(exc.value).split("To provide")[0]
    # the loader verifies too, and names the file
    with pytest.raises(ds.MnistCorruptError, match="t10k-images-idx3-ubyte"):
        ds.load_mnist(tmp_path, "test")
    # without verification the dimension check still rejects the fake (3 != 10000)
    with pytest.raises(ds.MnistCorruptError, match=r"dimensions \(3, 28, 28\), expected \(10000, 28, 28\)"):
        ds.load_mnist(tmp_path, "test", verify=False)


@needs_mnist
def test_single_flipped_byte_detected(tmp_path):
    src = ds.find_mnist_file(MNIST_DIR, "test_labels")
    for key in ("test_images", "test_labels"):
        p = ds.find_mnist_file(MNIST_DIR, key)
        shutil.copyfile(p, tmp_path / p.name)
    assert set(ds.verify_mnist_dir(tmp_path, splits=("test",))) == {"test_images", "test_labels"}
    content = bytearray(ds.read_maybe_gzip(src))
    content[-1] = (content[-1] + 1) % 10  # still a valid label file
    dst = tmp_path / src.name
    dst.write_bytes(gzip.compress(bytes(content)))  # gzip container under whatever name
    with pytest.raises(ds.MnistCorruptError) as exc:
        ds.verify_mnist_dir(tmp_path, splits=("test",))
    msg = str(exc.value)
    assert f"corrupt: {dst}" in msg
    assert "t10k-images" not in msg.split("To provide")[0]


def test_download_urls_are_data():
    urls = ds.mnist_download_urls("https://example.org/mnist")
    assert urls == {f"{n}.gz": f"https://example.org/mnist/{n}.gz" for n in ds.MNIST_FILES.values()}
    assert len(ds.mnist_download_urls()) == 4


def test_module_has_no_network_or_torch():
    src = inspect.getsource(ds)
    for forbidden in ("import urllib", "from urllib", "import requests", "import socket",
                      "http.client", "import torch", "from torch"):
        assert forbidden not in src


def test_spec_md5_constants():
    # copied from spec section 9
    assert ds.MNIST_MD5 == {
        "train_images": "6bbc9ace898e44ae57da46a324031adb",
        "train_labels": "a25bea736e30d166cdddb491f175f624",
        "test_images": "2646ac647ad5339dbf082846283269ea",
        "test_labels": "27ae3e4e09519cfbb04c329615203637",
    }
    assert all(len(v) == 64 for v in ds.MNIST_SHA256.values())


def test_one_hot_and_blocks():
    t = ds.one_hot(np.array([3, 0, 9]))
    assert t.shape == (3, 10) and t.dtype == np.float32
    np.testing.assert_array_equal(t.argmax(1), [3, 0, 9])
    np.testing.assert_array_equal(t.sum(1), [1, 1, 1])
    assert ((t[0] - t[1]) ** 2).sum() == 2.0  # dy2 = 2 between different digits
    with pytest.raises(ValueError, match="range"):
        ds.one_hot(np.array([10]))
    pos, dig = ds.label_block_centres(np.array([0, 0, 1, 1, 1, 3]))
    np.testing.assert_array_equal(pos, [0.5, 3.0, 5.0])
    np.testing.assert_array_equal(dig, [0, 1, 3])
    idx, lab = ds.structure_subset(np.array([2, 0, 2, 1, 0, 9]), n=5)
    np.testing.assert_array_equal(idx, [1, 4, 3, 0, 2])  # stable within a class
    np.testing.assert_array_equal(lab, [0, 0, 1, 2, 2])


# ---------------------------------------------------------------------------- MNIST: real files

@pytest.fixture(scope="module")
def fig_train():
    if not MNIST_DIR.is_dir():
        pytest.skip(f"official MNIST files not available at {MNIST_DIR}")
    return ds.mnist_figure_data(MNIST_DIR)


@needs_mnist
def test_real_checksums_match_both_tables():
    paths = ds.verify_mnist_dir(MNIST_DIR)
    assert set(paths) == set(ds.MNIST_FILES)
    for key, p in paths.items():
        content = ds.read_maybe_gzip(p)
        assert hashlib.md5(content).hexdigest() == ds.MNIST_MD5[key]
        assert hashlib.sha256(content).hexdigest() == ds.MNIST_SHA256[key]


@needs_mnist
def test_real_training_split(fig_train):
    f = fig_train
    assert f.split == "train" and not f.proxy and f.label == ""
    assert f.images.shape == (60000, 784) and f.images.dtype == np.float32
    assert f.targets.shape == (60000, 10)
    assert f.labels[:10].tolist() == TRAIN_FIRST_LABELS
    assert np.bincount(f.labels).tolist() == TRAIN_COUNTS
    assert f.pair == (1, 3)
    assert (f.labels[1], f.labels[3]) == (0, 1)
    a = f.images.astype(np.float64)
    dx2 = ((a[1] - a[3]) ** 2).sum()
    assert dx2 == pytest.approx(1240.0, abs=0.1)  # spec 10.2, normalised inputs
    # standardised: pixel mean/std 0.13066 / 0.30811 (spec 9) => approx 0 / 1
    assert a.mean() == pytest.approx((0.13066 - ds.MNIST_MEAN) / ds.MNIST_STD, abs=2e-4)
    assert a.std() == pytest.approx(0.30811 / ds.MNIST_STD, abs=2e-4)
    assert a.min() == pytest.approx(-0.1307 / 0.3081, abs=1e-6)
    assert a.max() == pytest.approx((1 - 0.1307) / 0.3081, abs=1e-5)
    assert np.bincount(f.structure_labels).tolist() == FIRST100_TRAIN_COUNTS
    assert f.structure_indices[:3].tolist() == [1, 21, 34]  # the first three "0"s
    assert np.all(f.labels[f.structure_indices] == f.structure_labels)
    assert np.array_equal(np.sort(f.structure_indices), np.arange(100))
    assert f.theory_indices.tolist() == list(range(10000))


@needs_mnist
def test_real_test_split_and_scales():
    raw, labels = ds.load_mnist(MNIST_DIR, "test", scale="raw")
    assert labels[:10].tolist() == TEST_FIRST_LABELS
    assert np.bincount(labels).tolist() == TEST_COUNTS
    assert raw.min() == 0.0 and raw.max() == 255.0
    assert np.array_equal(raw, np.round(raw))
    unit, _ = ds.load_mnist(MNIST_DIR, "test", scale="unit", verify=False)
    u = unit.astype(np.float64)
    assert u.mean() == pytest.approx(0.1325, abs=5e-5) and u.std() == pytest.approx(0.3105, abs=5e-5)
    std, _ = ds.load_mnist(MNIST_DIR, "test", n=50, verify=False)
    assert std.shape == (50, 784)
    np.testing.assert_allclose(std, (raw[:50] / 255.0 - 0.1307) / 0.3081, rtol=1e-6, atol=1e-6)


@needs_mnist
def test_proxy_only_when_asked(tmp_path):
    for key in ("test_images", "test_labels"):
        p = ds.find_mnist_file(MNIST_DIR, key)
        (tmp_path / p.name).symlink_to(p)
    with pytest.raises(ds.MnistMissingError, match="train-images-idx3-ubyte"):
        ds.mnist_figure_data(tmp_path)  # no silent fallback to the proxy
    f = ds.mnist_figure_data(tmp_path, use_10k_proxy=True)
    assert f.proxy and f.split == "test" and f.label == "10k proxy"
    assert f.images.shape == (10000, 784)
    assert f.pair == (3, 2)
    a = f.images.astype(np.float64)
    assert ((a[3] - a[2]) ** 2).sum() == pytest.approx(1364.7, abs=0.1)  # spec 10.2
    # computed once from the official test labels (spec 4.4 only says they differ from the train counts)
    assert np.bincount(f.structure_labels, minlength=10).tolist() == [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]
    assert len(f.theory_indices) == 10000
