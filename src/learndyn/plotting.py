"""Shared figure style and panel helpers (the only module besides :mod:`learndyn.io` that writes files).

Conventions of every figure: simulations are solid coloured lines, exact (closed-form) solutions
black/dark dotted lines drawn on top; matrices are heat maps with a diverging colour map centred on
zero; every axis is labelled; each panel carries its letter.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import io  # noqa: E402

__all__ = ["DIVERGING", "PALETTE", "EXACT_STYLE", "STYLE", "figure", "apply_style", "panel_label", "sim_exact",
           "heatmap", "legend_sim_exact", "caption", "save"]

#: Diverging colour map for matrices (QQ^T, RSMs, NTKs).
DIVERGING = "RdBu_r"
#: Okabe-Ito palette (colour-blind safe), also used by the papers' appendix figures.
PALETTE = ["#0071b2", "#d65c00", "#009e73", "#e59c00", "#cc79a7", "#56b4e9", "#f0e442", "#000000"]
EXACT_STYLE = dict(color="k", ls=(0, (1, 1.5)), lw=1.0)

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "lines.linewidth": 1.2,
    "pdf.fonttype": 42,
    "svg.hashsalt": "learndyn",
}


def figure(width: float, height: float, **kwargs):
    """A new figure in the shared style (size in inches)."""
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(width, height), **kwargs)
    return fig


def apply_style() -> None:
    """Apply the shared rcParams globally (plot scripts call this once)."""
    plt.rcParams.update(STYLE)


def panel_label(ax, letter: str, dx: float = -0.18, dy: float = 1.06) -> None:
    """Bold panel letter at the top-left corner of ``ax``."""
    ax.text(dx, dy, letter, transform=ax.transAxes, fontsize=10, fontweight="bold", va="bottom", ha="left")


def sim_exact(ax, x, sim, exact=None, colors=None, color=None, lw=1.2, alpha=1.0, exact_lw=1.0) -> None:
    """Plot simulation curves (solid) and, on top, exact curves (dotted black).

    ``x (T,)``; ``sim (T, C)`` or ``(T,)``; ``exact`` same shape (or on its own x if given as
    a tuple ``(x_exact, values)``).
    """
    sim = np.asarray(sim)
    if sim.ndim == 1:
        sim = sim[:, None]
    for j in range(sim.shape[1]):
        c = color if color is not None else (colors[j % len(colors)] if colors is not None else PALETTE[j % len(PALETTE)])
        ax.plot(x, sim[:, j], color=c, lw=lw, alpha=alpha)
    if exact is not None:
        xe, ex = exact if isinstance(exact, tuple) else (x, exact)
        ex = np.asarray(ex)
        if ex.ndim == 1:
            ex = ex[:, None]
        style = dict(EXACT_STYLE, lw=exact_lw)
        for j in range(ex.shape[1]):
            ax.plot(xe, ex[:, j], **style)


def heatmap(ax, mat, vmax: float | None = None, cmap: str = DIVERGING, ticks: bool = False, colorbar: bool = False,
            title: str | None = None):
    """Heat map of a matrix with a symmetric colour range ``[-vmax, vmax]`` (default: max |entry|)."""
    mat = np.asarray(mat)
    if vmax is None:
        vmax = float(np.max(np.abs(mat))) or 1.0
    im = ax.imshow(mat, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    if not ticks:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def legend_sim_exact(ax, sim_label="simulation", exact_label="exact solution", color="0.3", **kwargs) -> None:
    """Legend with one solid (simulation) and one dotted (exact) entry."""
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=color, lw=1.2, label=sim_label), Line2D([], [], **EXACT_STYLE, label=exact_label)]
    ax.legend(handles=handles, frameon=False, **kwargs)


def caption(fig, text: str, y: float = 0.005, fontsize: float = 6.5) -> None:
    """Small caption text at the bottom of the figure (provenance, proposals, reconstructions)."""
    import textwrap
    # characters per line that fit the figure's width (average glyph ~0.5 em wide)
    width = max(40, int(fig.get_figwidth() * 0.98 * 72 / (0.5 * fontsize)))
    wrapped = "\n".join(textwrap.fill(p, width) for p in text.split("\n"))
    fig.text(0.01, y, wrapped, fontsize=fontsize, va="bottom", ha="left", color="0.25")


def save(fig, *paths, metadata=None) -> None:
    """Save ``fig`` to every path (format from the suffix), atomically and with fixed metadata
    so that the same figure gives the same bytes. ``metadata``: optional function ``format -> dict`` of
    extra entries (e.g. :func:`learndyn.report.file_metadata`, the provenance stamp)."""
    for path in paths:
        path = Path(path)
        fmt = path.suffix.lstrip(".")
        meta = {"pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": "learndyn"},
                "png": {"Software": None}, "svg": {"Date": None}}.get(fmt, {})
        meta = {**meta, **(metadata(fmt) if metadata is not None else {})}
        io.atomic_write(path, lambda tmp, fmt=fmt, meta=meta: fig.savefig(tmp, format=fmt, metadata=meta))
    plt.close(fig)
