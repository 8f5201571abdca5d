"""Paper B, Figure 9: the representational structure learned on MNIST resembles the rich-regime theory.

Spec ``universality.md`` 2.10 (Eq. 50), 4.4, 6.1 (Figure 9), 7 (checks), decisions D10 (SGD lr 0.005, 200
epochs, P = 200; the paper row is the config alternative) and D14 (10 trial seeds in config). Left: theory
``D̃²`` (Eq. 50 on raw pixels of the first 10 000 training images, exact class-level shortcut;
:func:`._mnist.compute_theory`); right: squared distances of ``acts[2]`` after training, averaged over the
trials (:func:`._train_mnist.train_structure`); both for the first 100 training images sorted by label, tick
labels = digit at each block centre, no colour bar. Figure 16 (Adam) is drawn by :func:`draw_structure` too.
"""

from __future__ import annotations

import numpy as np

from ... import datasets, io, plotting
from . import _mnist
from . import _two_point as tp
from ._train_mnist import settings
from ..steps import Figure
from ._steps import MNIST_SHARED, MNIST_THEORY, mnist_train_step
from . import _train_mnist

OPTIMISERS = {"sgd": "SGD", "adam": "Adam"}
CMAP = "viridis"  # sequential from 0 (distances are >= 0): dark = close, so the class blocks show dark


def _label(cfg: dict) -> str:
    return " (10k proxy)" if cfg["mnist_10k_proxy"] else ""


def thresholds(cfg: dict) -> dict:
    """Spec 7 thresholds: ``cfg["checks"]``, or ``cfg["checks_proxy"]`` for the 10k proxy."""
    return cfg["checks_proxy"] if cfg["mnist_10k_proxy"] else cfg["checks"]


def stats(df) -> dict:
    """:func:`._mnist.structure_stats` of the trial-averaged network distances vs the theory."""
    return _mnist.structure_stats(_mnist.theory_d2(df), _mnist.network_d2(df), _mnist.structure_labels(df))


def structure_checks(df, cfg: dict, keys=("r_all", "r_diff", "same_diff_ratio")):
    """Spec 7 checks of Figs 9/16 from the parquet data: ``r_all >=``, ``r_diff >=``, ``same_diff_ratio <=`` the
    thresholds (only ``keys``), the number of averaged trials and the image order of theory and networks."""
    th = thresholds(cfg)
    rel = {"relaxed_checks": cfg["relaxed_checks"]}
    lab = _label(cfg)
    s = stats(df)
    names = {"r_all": "Pearson r(theory D~^2, network D^2), all entries",
             "r_diff": "Pearson r(theory D~^2, network D^2), different-label entries",
             "same_diff_ratio": "network mean same-label D^2 / mean different-label D^2"}
    rows = []
    for k in keys:
        ok = s[k] <= th[k] if k == "same_diff_ratio" else s[k] >= th[k]
        rows.append((tp.relaxed(rel, names[k] + lab, k), s[k], f"{'<=' if k == 'same_diff_ratio' else '>='} {th[k]:g}",
                     ok))
    n = len(_mnist.trials(df))
    rows.append(("trainings averaged", n, f"== {len(cfg['seeds'])}", n == len(cfg["seeds"])))
    same = _mnist.check_structure_labels(df)
    rows.append(("theory and networks show the same images in the same order", float(same), "== 1", same))
    return io.check_table(rows)


def checks(df, cfg: dict):
    """Spec 7, Figure 9: r(all) >= 0.55, r(different labels) >= 0.35, same/different ratio <= 0.35
    (10k proxy: 0.4 / 0.3 / 0.5)."""
    return structure_checks(df, cfg)


def _matrix(ax, mat, labels, title):
    im = ax.imshow(mat, cmap=CMAP, vmin=0.0, vmax=float(np.max(mat)) or 1.0, interpolation="nearest")
    pos, digits = datasets.label_block_centres(labels)
    ax.set_xticks(pos, [str(d) for d in digits])
    ax.set_yticks(pos, [str(d) for d in digits])
    ax.tick_params(length=0)
    for b in np.flatnonzero(np.diff(labels)) + 0.5:
        ax.axhline(b, color="w", lw=0.3, alpha=0.6)
        ax.axvline(b, color="w", lw=0.3, alpha=0.6)
    ax.set_title(title)
    ax.set_xlabel("image (sorted by label)")
    ax.set_ylabel("image (sorted by label)")
    return im


def draw_structure(df, cfg: dict, method: str):
    """Two panels: theory ``D̃²`` and the trial-averaged network squared distances (``method`` names the
    optimiser settings for the caption), tick labels = digit at each block centre, no colour bar."""
    plotting.apply_style()
    fig = plotting.figure(7.2, 4.3)
    labels = _mnist.structure_labels(df)
    axes = [fig.add_axes([0.08 + i * 0.5, 0.3, 0.38, 0.6]) for i in range(2)]
    n_trials = len(_mnist.trials(df))
    s = stats(df)
    split = "test" if cfg["mnist_10k_proxy"] else "training"
    n_theory = int(io.scalar(df, source="summary", quantity="n_theory", condition="theory"))
    _matrix(axes[0], _mnist.theory_d2(df), labels, f"theory $\\tilde D^2$ (Eq. 50){_label(cfg)}")
    _matrix(axes[1], _mnist.network_d2(df), labels,
            f"network ({OPTIMISERS[cfg['optimizer']]}) $\\|\\Delta h\\|^2$, mean of {n_trials} trainings{_label(cfg)}")
    for ax, letter in zip(axes, "AB"):
        plotting.panel_label(ax, letter, dx=-0.2)
    n_train = int(io.to_array(df, source="summary", quantity="n_train", condition=_mnist.trials(df)[0])[1][0])
    acc = [io.scalar(df, source="summary", quantity="train_accuracy", condition=c) for c in _mnist.trials(df)]
    note = (f"First {len(labels)} {split} images{_label(cfg)} sorted by label (stable); ticks at block centres. "
            f"A: Eq. 50 D~ = E D E with D_kl = ||x_k - x_l|| ||y_k - y_l|| on raw pixels (0-255) of the first "
            f"{n_theory} {split} images and one-hot targets, computed with the exact class-level shortcut (every "
            f"different-label D_kl > 745, so E = exp(-D) is the same-label indicator; spec 2.10), shown squared. "
            f"B: squared distances of hidden layer acts[{cfg['observe']}] after training, averaged over "
            f"{n_trials} trainings (seeds {', '.join(str(x) for x in cfg['seeds'])}; D14) of the MNIST net "
            f"(L = {cfg['n_hidden']}, P = {settings(cfg)['width']}, leaky ReLU, gain {cfg['gain']:g}) on {n_train} "
            f"{split} images, {method}, batch {cfg['batch_size']} reshuffled, 0.5*MSE; training accuracy "
            f"{min(acc):.3f}-{max(acc):.3f}. Pearson r(A, B) = {s['r_all']:.3f} (all entries), {s['r_diff']:.3f} "
            f"(different labels); network same/different-label mean D^2 = {s['same_diff_ratio']:.3f}. "
            "Sequential colour map from 0 (dark = close). ")
    plotting.caption(fig, note + cfg["draw"]["scale_note"])
    return fig


def draw(df, cfg: dict):
    """Theory (A) and trial-averaged network (B) squared distance matrices of the 100 images."""
    s = settings(cfg)
    method = (f"SGD lr {s['lr']:g}, {s['epochs']} epochs (settings '{cfg['settings']}', spec D10: reference HEAD; "
              "paper row lr 0.002, 500 epochs, P = 100 is config alternative 'paper')")
    return draw_structure(df, cfg, method)


TRAIN = mnist_train_step("b9_train", "fig9", _train_mnist.train_structure,
                         ("seeds", "settings", "settings_table", "n_hidden", "activation", "gain", "observe",
                          "optimizer", "batch_size", "n_train"), batch="b9_train", kwargs={"figure": "b9"})


def mnist_view(name: str):
    """The plot's mapping of MNIST figure ``name``: its block plus the shared MNIST keys."""
    return lambda c: {**c[name], **{k: c["mnist"][k] for k in MNIST_SHARED}}


FIGURE = Figure(id="b9", paper="paper_b", name="fig9", steps=(MNIST_THEORY, TRAIN), checks=checks, draw=draw,
                plot_view=mnist_view("fig9"))
