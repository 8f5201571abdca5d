"""Paper B, Figure 7: the Gaussian-blob context task (no training).

Spec ``universality.md`` 4.3, 6.1 (Figure 7) and 7. Panels: A example inputs at several blob centres
``(mu_x, mu_y)``, each shown in both contexts (the 5 x 5 image, its one-hot context and the target: ``mu_x`` in
context "x", ``mu_y`` in context "y"); B, C the blob's brightest pixel and its intensity centroid against
``mu_x`` and ``mu_y`` for all images (the maximum moves with the blob centre).
"""

from __future__ import annotations

import numpy as np

from ... import io, plotting
from . import _blobs
from . import _train_blobs as tb
from ..steps import Figure, Step

FIGURE_ID = "b7"


def compute(cfg: dict):
    """The whole dataset of spec 4.3 (``cfg["data"]``): inputs ``(n, size^2 + 2)`` and per-point labels."""
    return tb.dataset_records(tb.blob_data(cfg["data"]), inputs=True, figure=FIGURE_ID)


# ------------------------------------------------------------------ image statistics
def pixel_grid(size: int) -> np.ndarray:
    """Pixel centres ``linspace(-1, 1, size)`` (spec 4.3; x along columns, y along rows, row 0 at y = -1)."""
    return np.linspace(-1.0, 1.0, size)


def images_of(inputs: np.ndarray) -> np.ndarray:
    """``(n, size^2 + 2)`` inputs -> ``(n, size, size)`` images (row-major; the last two columns = context)."""
    size = int(round(np.sqrt(inputs.shape[1] - 2)))
    return np.asarray(inputs[:, : size * size], dtype=np.float64).reshape(-1, size, size)


def argmax_pixel(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column ``(n,)`` of the brightest pixel of each image ``(n, size, size)``."""
    flat = images.reshape(len(images), -1).argmax(axis=1)
    return np.unravel_index(flat, images.shape[1:])


def nearest_pixel(mu_x: np.ndarray, mu_y: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row (from ``mu_y``) and column (from ``mu_x``) ``(n,)`` of the pixel centre nearest to the blob centre."""
    g = pixel_grid(size)
    return (np.abs(g[None, :] - np.asarray(mu_y)[:, None]).argmin(axis=1),
            np.abs(g[None, :] - np.asarray(mu_x)[:, None]).argmin(axis=1))


def n_local_maxima(images: np.ndarray) -> np.ndarray:
    """Number ``(n,)`` of strict local maxima (brighter than each of the up to 8 neighbours) of each image."""
    n, s, _ = images.shape
    pad = np.full((n, s + 2, s + 2), -np.inf)
    pad[:, 1:-1, 1:-1] = images
    is_max = np.ones(images.shape, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_max &= images > pad[:, 1 + di: 1 + di + s, 1 + dj: 1 + dj + s]
    return is_max.sum(axis=(1, 2))


def centroid(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intensity-weighted centre ``(c_x, c_y)`` ``(n,)`` of each image in pixel coordinates (spec 4.3 grid)."""
    g = pixel_grid(images.shape[1])
    w = images / images.sum(axis=(1, 2), keepdims=True)
    return (w.sum(axis=1) * g).sum(axis=1), (w.sum(axis=2) * g).sum(axis=1)


def dataset(df) -> dict:
    """Inputs, images, labels and image statistics of the stored dataset (the first ``n/2`` rows = context "x")."""
    _, inputs = io.to_array(df, figure=FIGURE_ID, source="data", quantity="input")
    d = _blobs.labels(df, FIGURE_ID)
    d["inputs"] = inputs[0]
    d["images"] = images_of(d["inputs"])
    d["argmax"] = argmax_pixel(d["images"])
    d["centroid"] = centroid(d["images"])
    return d


# ------------------------------------------------------------------ checks and figure
def checks(df, cfg: dict):
    """Spec 7, Figure 7: one blob per image whose maximum moves with ``(mu_x, mu_y)``; the task's bookkeeping."""
    d = dataset(df)
    nc, size = cfg["data"]["n_centres"], cfg["data"]["size"]
    n = len(d["target"])
    half = n // 2
    ctx, imgs, inp = d["context"], d["images"], d["inputs"]
    rows = [(f"number of points (2 x {nc}^2 centres)", n, f"== {2 * nc * nc}", n == 2 * nc * nc)]
    onehot = np.stack([ctx == 0, ctx == 1], axis=1).astype(float)
    dev = float(max(np.max(np.abs(imgs[:half] - imgs[half:])), np.max(np.abs(inp[:, -2:] - onehot))))
    rows.append(("same images in both contexts, one-hot context inputs: max deviation", dev, "== 0", dev == 0))
    rel = np.where(ctx == 0, d["mu_x"], d["mu_y"])
    dev = float(np.max(np.abs(d["target"] - rel)))
    rows.append(("target = mu_x in context x, mu_y in context y: max deviation", dev, "== 0", dev == 0))
    dev = float(np.max(np.abs(imgs.sum(axis=(1, 2)) - 1.0)))
    rows.append(("pixels of every image sum to 1: max deviation", dev, "<= 1e-6", dev <= 1e-6))
    frac = float(np.mean(n_local_maxima(imgs) == 1))
    rows.append(("images with exactly one local maximum (one blob)", frac, "== 1", frac == 1.0))
    near = nearest_pixel(d["mu_x"], d["mu_y"], size)
    frac = float(np.mean((d["argmax"][0] == near[0]) & (d["argmax"][1] == near[1])))
    rows.append(("argmax pixel = pixel nearest to (mu_x, mu_y)", frac, "== 1", frac == 1.0))
    # the maximum moves with the centre: argmax column (row) never decreases and the centroid strictly increases
    # along mu_x (mu_y) at fixed mu_y (mu_x); images are ordered mu_x outer, mu_y inner (spec 4.3)
    col = d["argmax"][1][:half].reshape(nc, nc)
    row = d["argmax"][0][:half].reshape(nc, nc)
    cx, cy = (c[:half].reshape(nc, nc) for c in d["centroid"])
    frac = float(np.mean(np.concatenate([(np.diff(col, axis=0) >= 0).ravel(), (np.diff(row, axis=1) >= 0).ravel()])))
    rows.append(("argmax pixel moves with the centre (column non-decreasing in mu_x, row in mu_y)", frac, "== 1",
                 frac == 1.0))
    frac = float(np.mean(np.concatenate([(np.diff(cx, axis=0) > 0).ravel(), (np.diff(cy, axis=1) > 0).ravel()])))
    rows.append(("intensity centroid strictly increasing in mu_x (x) and mu_y (y)", frac, "== 1", frac == 1.0))
    return io.check_table(rows)


def _example_rows(d: dict, cfg: dict) -> list[int]:
    """Data rows (context "x") of the configured examples ``(i_x, i_y)`` (indices of the blob centres)."""
    nc = cfg["data"]["n_centres"]
    return [ix * nc + iy for ix, iy in cfg["draw"]["examples"]]


def draw(df, cfg: dict):
    """A: example inputs in both contexts; B, C: argmax pixel and centroid vs the blob centre."""
    from matplotlib.patches import Rectangle

    plotting.apply_style()
    d = dataset(df)
    nc, size = cfg["data"]["n_centres"], cfg["data"]["size"]
    half = len(d["target"]) // 2
    ex = _example_rows(d, cfg)
    k = len(ex)
    fig = plotting.figure(11.0, 5.6)
    g = pixel_grid(size)
    h = (g[1] - g[0]) / 2
    ext = (g[0] - h, g[-1] + h, g[0] - h, g[-1] + h)
    vmax = float(d["images"].max())
    left, width, gap = 0.075, 0.56 / k, 0.012
    im = None
    for j, r in enumerate(ex):
        for c in (0, 1):
            rr = r + c * half
            ax = fig.add_axes([left + j * width, 0.60 - c * 0.40, width - gap - 0.02, 0.27])
            im = ax.imshow(d["images"][rr], origin="lower", extent=ext, cmap="viridis", vmin=0.0, vmax=vmax)
            ar, ac = d["argmax"][0][rr], d["argmax"][1][rr]
            ax.add_patch(Rectangle((g[ac] - h, g[ar] - h), 2 * h, 2 * h, fill=False, ec="w", lw=1.2))
            ax.plot(d["mu_x"][rr], d["mu_y"][rr], "+", color="#d65c00", ms=9, mew=1.6)
            ax.set_xticks([-1, 0, 1]); ax.set_yticks([-1, 0, 1])
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel("pixel y")
            ax.set_xlabel("pixel x", labelpad=1)
            rel = "\\mu_x" if c == 0 else "\\mu_y"
            ax.set_title(f"$\\mu$=({d['mu_x'][rr]:.2f}, {d['mu_y'][rr]:.2f})\ntarget ${rel}$ = {d['target'][rr]:.2f}",
                         fontsize=7)
            cax = fig.add_axes([left + j * width + (width - gap - 0.02) * 0.3, 0.60 - c * 0.40 - 0.075,
                                (width - gap - 0.02) * 0.4, 0.03])
            cax.imshow(d["inputs"][rr, -2:][None], cmap="Greys", vmin=0, vmax=1, aspect="auto")
            cax.set_xticks([0, 1], ["x", "y"], fontsize=6); cax.set_yticks([])
            cax.tick_params(length=0, pad=1)
            for sp in cax.spines.values():
                sp.set_visible(True)
            if j == 0:
                cax.set_ylabel("context\ninput", fontsize=6, rotation=0, ha="right", va="center")
    for c, name in enumerate(_blobs.CONTEXTS):
        fig.text(0.012, 0.735 - c * 0.40, f"context {name}", rotation=90, va="center", fontsize=8, fontweight="bold")
    fig.text(0.005, 0.95, "A", fontsize=10, fontweight="bold")
    cb = fig.add_axes([left + k * width - 0.01, 0.2, 0.008, 0.67])
    fig.colorbar(im, cax=cb, label="pixel value")

    for i, (axis, lab) in enumerate((("x", "B"), ("y", "C"))):
        ax = fig.add_axes([0.76, 0.60 - i * 0.40, 0.21, 0.27])
        mu = d[f"mu_{axis}"][:half]
        cen = d["centroid"][0 if axis == "x" else 1][:half]
        amax = g[d["argmax"][1 if axis == "x" else 0][:half]]
        order = np.argsort(mu, kind="stable")
        ax.step(mu[order], amax[order], where="mid", color="k", lw=1.0, label="brightest pixel")
        ax.plot(mu[order], cen[order], "o", color=plotting.PALETTE[1], ms=2.5, label="intensity centroid")
        ax.plot([-1, 1], [-1, 1], color="0.6", lw=0.6, ls=":", label="identity")
        ax.set_xlabel(f"blob centre $\\mu_{axis}$")
        ax.set_ylabel(f"pixel {axis} coordinate")
        ax.set_title(f"maximum and centroid move with $\\mu_{axis}$")
        if i == 0:
            ax.legend(loc="upper left", frameon=False, fontsize=6)
        plotting.panel_label(ax, lab, dx=-0.3)
    note = (f"Blob context task (spec 4.3): {size} x {size} images, pixel centres linspace(-1, 1, {size}), isotropic "
            f"Gaussian (sigma = {cfg['data']['sigma']:g}) at (mu_x, mu_y), normalised to sum 1; {nc} x {nc} centres "
            f"(mu in linspace(-1, 1, {nc})), each image in both contexts ({2 * nc * nc} inputs of {size * size} pixels + "
            "one-hot context). Target: mu_x in context x, mu_y in context y. A: examples (orange + = blob centre, white "
            "square = brightest pixel; bar below = the one-hot context input, black = 1). B, C: all images of one context: brightest pixel (black "
            "steps) and intensity centroid (dots; the blob is separable, so they do not depend on the other coordinate) "
            "vs the blob centre. sigma is wide "
            "relative to the pixel spacing, so images differ only slightly (common colour scale).")
    plotting.caption(fig, note)
    return fig


FIGURE = Figure(id="b7", paper="paper_b", name="fig7",
                steps=(Step(name="b7_compute", function=compute, output="fig7", keys=("data",)),),
                checks=checks, draw=draw)
