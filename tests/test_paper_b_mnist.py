"""Paper B's MNIST figures (4, 9, 16): providing the files (rule b_mnist_data's workflow script loaded by path:
good directory, missing file, corrupt file, download with a stand-in for the network -- also through snakemake), the Fig-9/16 protocol pieces (image order, Eq. 50 class shortcut vs the full E D E, trial
averaging, spec-7 statistics and checks), the Fig-4 fit rule on a synthetic trajectory, and the trainings
(batch split invariance, stored distances) on a tiny slice of the real data."""

import gzip
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from learndyn import datasets, effective, io
from learndyn.figures.paper_b import _mnist, _train_mnist, fig4, fig9, fig16

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(datasets.find_mnist_file(MNIST_DIR, "train_images") is None,
                                 reason=f"MNIST files not in {MNIST_DIR}")


def _load_script(name):
    """A workflow script loaded by path (outside snakemake it only defines its functions)."""
    spec = importlib.util.spec_from_file_location(f"_wf_{name}", REPO / "workflow" / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mnist_data = _load_script("mnist_data")     # rule b_mnist_data: the provisioning (files, network)


# ------------------------------------------------------------------ provisioning (spec 9)
def _copy_split(dst, splits=("test",)):
    """Copy the real files of ``splits`` (gzipped) into ``dst``; return the copied paths."""
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for key, name in datasets.MNIST_FILES.items():
        if key.split("_")[0] in splits:
            src = MNIST_DIR / f"{name}.gz"
            out.append(dst / src.name)
            shutil.copyfile(src, out[-1])
    return out


@needs_mnist
def test_provide_copies_verifies_and_gzips(tmp_path):
    src = tmp_path / "src"
    _copy_split(src)
    # an uncompressed source file is accepted and written gzipped (deterministically)
    lab = src / "t10k-labels-idx1-ubyte.gz"
    (src / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(lab.read_bytes()))
    lab.unlink()
    log = tmp_path / "log.txt"
    files = mnist_data.provide_mnist(tmp_path / "dest", source_dir=src, proxy=True, log=log)
    assert [Path(f).name for f in files] == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert Path(files[0]).read_bytes() == (src / "t10k-images-idx3-ubyte.gz").read_bytes()   # byte copy
    assert Path(files[1]).read_bytes()[:2] == b"\x1f\x8b"
    assert set(datasets.verify_mnist_dir(tmp_path / "dest", ("test",))) == {"test_images", "test_labels"}
    assert "verified" in log.read_text() and files[1] in log.read_text()
    again = mnist_data.provide_mnist(tmp_path / "dest2", source_dir=src, proxy=True)
    assert Path(again[1]).read_bytes() == Path(files[1]).read_bytes()
    # without the proxy all four files are needed
    assert _mnist.provided_files("d", proxy=False) == [f"d/{n}.gz" for n in datasets.MNIST_FILES.values()]


def test_provisioning_pure_pieces():
    """The core's pieces of the provisioning work on bytes and names only."""
    assert list(_mnist.provided_names(True)) == ["test_images", "test_labels"]
    assert _mnist.provided_names(False)["train_labels"] == "train-labels-idx1-ubyte.gz"
    content = bytes(range(256)) * 10
    gz = _mnist.gzip_bytes(content)
    assert _mnist.is_gzip(gz) and not _mnist.is_gzip(content) and gz == _mnist.gzip_bytes(content)
    assert gzip.decompress(gz) == content
    text = _mnist.provision_log(["a.gz", "b.gz"], download=True)
    assert datasets.MNIST_URL_BASES[0] in text and text.endswith("a.gz\nb.gz\n")
    assert "copy from p.mnist_dir = 'x'" in _mnist.how_to_provide("p", "x", download=False)


def test_provide_missing_file_names_it_and_how_to_provide(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(datasets.MnistMissingError) as err:
        mnist_data.provide_mnist(tmp_path / "dest", source_dir=tmp_path / "src", proxy=False)
    msg = str(err.value)
    for name in datasets.MNIST_FILES.values():
        assert name in msg
    for key in ("paper_b.mnist.mnist_dir", "paper_b.mnist.download: true", "paper_b.mnist.mnist_10k_proxy"):
        assert key in msg
    assert not (tmp_path / "dest").exists() or not any((tmp_path / "dest").iterdir())


@needs_mnist
def test_provide_corrupt_file_names_it(tmp_path):
    src = tmp_path / "src"
    imgs, labels = _copy_split(src)
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] ^= 1                                                     # one flipped bit in a label
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(datasets.MnistCorruptError) as err:
        mnist_data.provide_mnist(tmp_path / "dest", source_dir=src, proxy=True)
    msg = str(err.value)
    assert str(labels) in msg and "corrupt" in msg and "paper_b.mnist.mnist_dir" in msg
    assert str(imgs) not in msg                                        # the good file is not blamed
    assert not (tmp_path / "dest" / labels.name).exists()              # nothing copied


class _Response:
    def __init__(self, data):
        self.data = data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.data


@needs_mnist
def test_provide_download_verifies_and_deletes_a_corrupt_download(tmp_path, monkeypatch):
    """The download branch with urlopen replaced by the real files: written and verified; a corrupt download is
    deleted and named; an unreachable server names the URL and how to provide the files."""
    served = {f"https://example.org/m/{p.name}": p.read_bytes() for p in _copy_split(tmp_path / "src")}
    monkeypatch.setattr(mnist_data.urllib.request, "urlopen", lambda url, timeout: _Response(served[url]))
    files = mnist_data.provide_mnist(tmp_path / "ok", download=True, url_base="https://example.org/m", proxy=True,
                                     log=tmp_path / "log.txt")
    assert [Path(f).read_bytes() for f in files] == list(served.values())
    assert "downloaded from https://example.org/m" in (tmp_path / "log.txt").read_text()
    url = "https://example.org/m/t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(served[url]))
    raw[100] ^= 1
    served[url] = gzip.compress(bytes(raw))
    with pytest.raises(datasets.MnistCorruptError) as err:
        mnist_data.provide_mnist(tmp_path / "bad", download=True, url_base="https://example.org/m", proxy=True)
    assert "t10k-labels-idx1-ubyte.gz" in str(err.value) and "paper_b.mnist.url_base" in str(err.value)
    assert not any((tmp_path / "bad").iterdir())                        # the corrupt download is deleted

    def offline(url, timeout):
        raise OSError("no route to host")
    monkeypatch.setattr(mnist_data.urllib.request, "urlopen", offline)
    with pytest.raises(datasets.MnistMissingError, match="could not download https://example.org/m/t10k-images"):
        mnist_data.provide_mnist(tmp_path / "off", download=True, url_base="https://example.org/m", proxy=True)


@pytest.mark.slow
def test_provisioning_rule_stops_with_the_message(tmp_path):
    """Through snakemake: an empty source directory stops the run, naming the missing files and the config key."""
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--nolock", "--cores", "1",
         "resources/mnist/train-labels-idx1-ubyte.gz",
         "--config", f'paper_b={{"mnist": {{"mnist_dir": "{tmp_path}"}}}}'],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "missing: train-images-idx3-ubyte" in out and "paper_b.mnist.mnist_dir" in out, out[-3000:]


# ------------------------------------------------------------------ Figs 9/16: theory and statistics
@needs_mnist
def test_structure_images_are_the_first_100_sorted_stably():
    _, labels = datasets.load_mnist(MNIST_DIR, "train", n=100, verify=False)
    cfg = {"mnist_10k_proxy": False, "n_theory": 300, "n_structure": 100}
    df = _mnist.compute_theory(cfg, MNIST_DIR)
    idx = io.to_array(df, source="summary", quantity="structure_index")[1][0].astype(int)
    lab = _mnist.structure_labels(df)
    assert np.array_equal(np.sort(idx), np.arange(100))
    assert np.array_equal(lab, labels[idx]) and np.all(np.diff(lab) >= 0)
    for d in range(10):                                                   # stable: ascending index within a class
        assert np.all(np.diff(idx[lab == d]) > 0)
    assert np.array_equal(np.bincount(lab), [13, 14, 6, 11, 11, 5, 11, 10, 8, 11])   # spec 4.4
    pos, digits = datasets.label_block_centres(lab)
    assert np.array_equal(digits, np.arange(10)) and pos[0] == 6.0                   # ticks at block centres


@needs_mnist
def test_class_shortcut_equals_full_eq50_on_a_random_subset():
    """Spec 7 unit check 9 at the figure level: the theory rows equal E D E on all N points (rel. err < 1e-10)."""
    raw, labels = datasets.load_mnist(MNIST_DIR, "train", scale="raw", n=2000, verify=False, dtype=np.float64)
    sub = np.sort(np.random.default_rng(0).choice(2000, 300, replace=False))
    sub = np.union1d(sub, np.arange(20))                                  # the structure images are the first 20
    X, lab = raw[sub], labels[sub]
    M, dt, idx, slab = _mnist.theory_matrix(X, lab, n_structure=20)
    full = effective.exponential_weighing(effective.rich_limit_distance_matrix(X, datasets.one_hot(lab)))
    ref = full[np.ix_(idx, idx)]
    assert np.max(np.abs(dt - ref)) <= 1e-10 * np.max(np.abs(ref))
    assert np.all(dt[slab[:, None] == slab[None, :]] == 0) and np.all(dt[slab[:, None] != slab[None, :]] > 1e5)


def _structure_table(theory, nets, labels, figure="b9"):
    meta = dict(figure=figure, condition="theory")
    frames = [io.records(theory, quantity="D2", source="theory", **meta),
              io.records(labels.astype(float), quantity="structure_label", source="summary", **meta),
              io.records(np.arange(len(labels), dtype=float), quantity="structure_index", source="summary", **meta),
              io.records(100.0, quantity="n_theory", source="summary", **meta)]
    for k, d2 in enumerate(nets):
        m = dict(figure=figure, condition=f"trial{k}", seed=k)
        frames += [io.records(d2, quantity="D2", source="simulation", **m),
                   io.records(labels.astype(float), quantity="structure_label", source="summary", **m),
                   io.records(np.arange(len(labels), dtype=float), quantity="structure_index", source="summary", **m),
                   io.records(0.9, quantity="train_accuracy", source="summary", **m),
                   io.records(60000.0, quantity="n_train", source="summary", **m)]
    return io.concat(frames)


def test_trial_average_and_statistics():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), [3, 4, 3])
    reps = rng.normal(size=(12, 10, 5))                                   # 12 trials, 10 points
    nets = _train_mnist.squared_distances(reps)
    assert nets.shape == (12, 10, 10) and np.allclose(nets[0, 2, 7], np.sum((reps[0, 2] - reps[0, 7]) ** 2))
    assert np.all(np.diagonal(nets, axis1=1, axis2=2) == 0)
    df = _structure_table(nets[0], nets, labels)                           # trials 0..11: order trial2 < trial10
    assert _mnist.trials(df)[:3] == ["trial0", "trial1", "trial2"] and _mnist.trials(df)[-1] == "trial11"
    assert np.allclose(_mnist.network_d2(df), nets.mean(axis=0))
    # statistics against direct formulas
    theory = nets[0]
    net = nets.mean(axis=0)
    s = _mnist.structure_stats(theory, net, labels)
    diff = labels[:, None] != labels[None, :]
    same_off = ~diff & ~np.eye(10, dtype=bool)
    assert s["r_all"] == pytest.approx(np.corrcoef(theory.ravel(), net.ravel())[0, 1])
    assert s["r_diff"] == pytest.approx(np.corrcoef(theory[diff], net[diff])[0, 1])
    assert s["same_diff_ratio"] == pytest.approx(net[same_off].mean() / net[diff].mean())
    assert _mnist.structure_stats(theory, theory, labels)["r_all"] == pytest.approx(1.0)


def _cfg9(**kw):
    cfg = {"seeds": [0, 1], "mnist_10k_proxy": False, "relaxed_checks": [],
           "checks": {"r_all": 0.55, "r_diff": 0.35, "same_diff_ratio": 0.35},
           "checks_proxy": {"r_all": 0.4, "r_diff": 0.3, "same_diff_ratio": 0.5}}
    cfg.update(kw)
    return cfg


def test_fig9_and_fig16_checks_pass_on_structure_and_fail_without():
    labels = np.repeat(np.arange(4), 5)
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 6)) * 3
    theory = _train_mnist.squared_distances(centres[labels])                # class structure only
    good = [_train_mnist.squared_distances(centres[labels] + 0.3 * rng.normal(size=(20, 6))) for _ in range(2)]
    bad = [_train_mnist.squared_distances(rng.normal(size=(20, 6))) for _ in range(2)]
    assert fig9.checks(_structure_table(theory, good, labels), _cfg9())["passed"].all()
    res = fig9.checks(_structure_table(theory, bad, labels), _cfg9())
    assert not res["passed"].iloc[:3].any() and res["passed"].iloc[3:].all()
    # fig16: r(all) and ratio only
    res16 = fig16.checks(_structure_table(theory, bad, labels), _cfg9(checks={"r_all": 0.4, "same_diff_ratio": 0.5}))
    assert len(res16) == 4 and not res16["passed"].iloc[:2].any()
    # a missing trial is caught
    assert not fig9.checks(_structure_table(theory, good[:1], labels), _cfg9())["passed"].iloc[3]
    # the proxy thresholds are used and labelled
    res_p = fig9.checks(_structure_table(theory, good, labels), _cfg9(mnist_10k_proxy=True))
    assert res_p["check"].iloc[0].endswith("(10k proxy)") and res_p["threshold"].iloc[0] == ">= 0.4"


# ------------------------------------------------------------------ Fig 4: fit rule and checks
FIG4_CFG = {"fit_grid": {"min_exp": -6, "max_exp": 1, "n": 40}, "mnist_10k_proxy": False, "relaxed_checks": [],
            "checks": {"nrmse_h": 0.10, "nrmse_y": 0.30, "nrmse_w": 0.30, "h_growth": 10.0}}


def _pair_table(eta_h=2e-3, eta_y=5.6e-3, n=200):
    """A tracked pair that follows Eq. 21 exactly, with the spec 10.2 MNIST numbers (dx2 = 1240, dy2 = 2)."""
    t = np.arange(n, dtype=float)
    z = effective.solve_three_variable(t, np.array([0.33, 4e-4, -0.02]), eta_h, eta_y, 1240.0, 2.0)
    meta = dict(figure="b4", panel="A", condition="pair", seed=0, learning_rate=0.003)
    frames = [io.records(z[:, i], quantity=q, source="simulation", steps=t.astype(int), t=t, **meta)
              for i, q in enumerate("hyw")]
    for q, v in (("dx2", 1240.0), ("dy2", 2.0), ("final_h", z[-1, 0])):
        frames.append(io.records(v, quantity=q, source="summary", **meta))
    return io.concat(frames), z


def test_fig4_fit_recovers_rates_and_checks():
    table, z = _pair_table()
    out = fig4.fit(table, FIG4_CFG)
    df = io.concat([table, out])
    from learndyn.figures.paper_b import _two_point as tp
    assert tp.fit_value(df, "pair", "eta_h") == pytest.approx(2e-3, rel=0.05)
    assert tp.fit_value(df, "pair", "eta_y") == pytest.approx(5.6e-3, rel=0.05)
    for q in "hyw":                                  # rates within 5 % (BFGS on the tolerance-noisy objective)
        assert tp.fit_value(df, "pair", f"nrmse_{q}") < 0.05
    assert np.max(np.abs(io.to_array(df, source="theory", quantity="h")[1] - z[:, 0])) < 0.08 * z[-1, 0]
    assert z[-1, 0] / z[0, 0] > 10
    res = fig4.checks(df, FIG4_CFG)
    assert res["passed"].all() and len(res) == 6
    # h that does not grow fails the growth check
    flat = io.concat([io.select(table, quantity="h").assign(value=0.33)] +
                     [io.select(table, quantity=q) for q in ("y", "w", "dx2", "dy2")] +
                     [io.records(0.4, quantity="final_h", source="summary", figure="b4", condition="pair")] + [out])
    assert not fig4.checks(flat, FIG4_CFG)["passed"].iloc[-1]


# ------------------------------------------------------------------ trainings on a tiny slice of real data
TRAIN_CFG = dict(seed=0, seeds=[3, 5, 8], settings="head", settings_table={"head": {"lr": 0.05, "epochs": 2, "width": 16}},
                 n_hidden=4, activation="leaky_relu", gain=0.5, observe=2, optimizer="sgd", batch_size=64,
                 n_train=300, n_structure=100, mnist_10k_proxy=False)


@pytest.fixture
def one_thread():
    """Training rules run with one thread (threads: 1); the stacked and the single trainings are then bit-identical."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@needs_mnist
def test_structure_training_is_independent_of_the_batch_split(one_thread):
    one = _train_mnist.train_structure(TRAIN_CFG, MNIST_DIR, 0, 1)
    split = io.concat([_train_mnist.train_structure(TRAIN_CFG, MNIST_DIR, b, 2) for b in range(2)])
    key = ["condition", "quantity", "step", "row", "col"]
    a = one.sort_values(key).reset_index(drop=True)
    b = split.sort_values(key).reset_index(drop=True)
    assert a.equals(b)                                                   # bit-identical (seed per trial)
    assert sorted(a.loc[a.quantity == "D2", "seed"].unique()) == [3, 5, 8]
    d2 = io.to_array(one, source="simulation", quantity="D2", condition="trial1")[1][0]
    assert d2.shape == (100, 100) and np.allclose(d2, d2.T) and np.all(np.diag(d2) == 0) and d2.max() > 0
    assert _train_mnist.train_structure(TRAIN_CFG, MNIST_DIR, 5, 6).empty   # a batch with no trial


@needs_mnist
def test_pair_training_tracks_the_first_zero_and_one(one_thread):
    df = _train_mnist.train_pair(TRAIN_CFG, MNIST_DIR)
    assert np.array_equal(io.to_array(df, source="summary", quantity="pair")[1][0], [1, 3])   # D11
    assert io.scalar(df, quantity="dy2") == pytest.approx(2.0)
    assert io.scalar(df, quantity="dx2") == pytest.approx(1240.0, rel=1e-3)                   # spec 10.2
    ep, h = io.to_array(df, source="simulation", quantity="h")
    assert np.array_equal(ep, [0, 1]) and np.all(h > 0)
