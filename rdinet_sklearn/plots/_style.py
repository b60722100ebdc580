"""Shared look of every figure: sizes readable at print scale, colour-blind palette.

Figures are built with :class:`matplotlib.figure.Figure` directly rather than
``pyplot``, so plotting never depends on (or changes) the interactive backend
and no global figure registry fills up in long runs; saving uses the Agg
(PNG) and SVG canvases. Jupyter still displays the returned figures.
"""

import functools
from pathlib import Path

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Okabe & Ito (2008) colour-blind-safe palette, black moved last.
PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
)

STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    # Text as paths: the SVG renders identically without the fonts installed.
    "svg.fonttype": "path",
}

DEFAULT_FIGSIZE = (4.5, 4.2)


def styled(plot_function):
    """Run ``plot_function`` under :data:`STYLE` (artists read rcParams when created)."""

    @functools.wraps(plot_function)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(STYLE):
            return plot_function(*args, **kwargs)

    return wrapper


def new_axes(ax=None, *, figsize=DEFAULT_FIGSIZE, polar=False):
    """Return ``ax`` or a fresh Axes on a new pyplot-free Figure.

    Call inside a :func:`styled` function so the new figure gets the style.
    """
    if ax is not None:
        if polar and ax.name != "polar":
            raise ValueError("ax must be a polar Axes (add_subplot(projection='polar')).")
        return ax
    figure = Figure(figsize=figsize, layout="constrained")
    return figure.add_subplot(projection="polar" if polar else None)


def color_for(position):
    """Palette colour for the ``position``-th series (cycles)."""
    return PALETTE[position % len(PALETTE)]


def unit_square(ax, *, diagonal, xlabel, ylabel):
    """Square axes over [0, 1] x [0, 1] with the dashed y = x reference labelled ``diagonal``.

    ROC curves (chance) and calibration curves (perfect calibration) share this frame.
    """
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1.0, label=diagonal)
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel=xlabel, ylabel=ylabel, aspect="equal")


def save_figure(figure, path, *, formats=("png", "svg"), dpi=300):
    """Save a figure (or an Axes' figure) in several formats.

    Parameters
    ----------
    figure : matplotlib.figure.Figure or matplotlib.axes.Axes
        What to save.
    path : str or path-like
        Destination; its suffix is replaced by each format's.
    formats : sequence of str, default=("png", "svg")
        File formats understood by ``Figure.savefig``.
    dpi : int, default=300
        Resolution of raster formats.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> from rdinet_sklearn.plots import plot_roc, save_figure
    >>> ax = plot_roc({"model": ([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [p.suffix for p in save_figure(ax, f"{folder}/roc")]
    ['.png', '.svg']
    """
    if isinstance(figure, Axes):
        figure = figure.figure
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with mpl.rc_context(STYLE):
        for file_format in formats:
            target = path.with_suffix(f".{file_format}")
            figure.savefig(target, format=file_format, dpi=dpi)
            written.append(target)
    return written
