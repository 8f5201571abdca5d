"""Paper B, Figure 16: Figure 9 with Adam -- the representational prediction still holds.

Spec ``universality.md`` 6.1 (Figures 14-16: inferred mapping 16 = MNIST with Adam; the reference's
``mnist_structure`` notebook trains with Adam, 10 trials averaged), 7 (checks) and D13 (Adam, PyTorch defaults,
lr 1e-3, 50 epochs; not documented by the authors, verified in spec 10.2 on the 10k proxy). Same theory parquet
and the same panels as Figure 9 (:func:`.fig9.draw_structure`).
"""

from __future__ import annotations

from . import fig9
from ._train_mnist import settings
from ..steps import Figure
from ._steps import MNIST_THEORY, mnist_train_step
from . import _train_mnist


def checks(df, cfg: dict):
    """Spec 7, Figure 16: r(all) >= 0.4 and network same/different-label ratio <= 0.5 (also for the proxy)."""
    return fig9.structure_checks(df, cfg, keys=("r_all", "same_diff_ratio"))


def draw(df, cfg: dict):
    """Theory (A) and trial-averaged Adam-trained network (B) squared distance matrices of the 100 images."""
    s = settings(cfg)
    method = (f"Adam (PyTorch defaults) lr {s['lr']:g}, {s['epochs']} epochs (spec D13: the authors give no Adam "
              "rate for MNIST; proposal verified on the 10k proxy)")
    return fig9.draw_structure(df, cfg, method)


#: Adam on the autograd engine: ~1.6 x the fused SGD step
TRAIN = mnist_train_step("b16_train", "fig16", _train_mnist.train_structure,
                         ("seeds", "lr", "epochs", "width", "n_hidden", "activation", "gain", "observe", "optimizer",
                          "batch_size", "n_train"), batch="b16_train", s_epoch=3.6, kwargs={"figure": "b16"})

FIGURE = Figure(id="b16", paper="paper_b", name="fig16", steps=(TRAIN,), checks=checks, draw=draw,
                data=lambda c: [(MNIST_THEORY.name, {}), (TRAIN.name, {})], plot_view=fig9.mnist_view("fig16"))
