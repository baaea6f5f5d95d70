"""The figures' shared pieces: colours, axes, the data histogram, evaluation grids, the legend and the book's style."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from gmm._util.validation import as_data, check_bins, check_finite, check_positive_int
from gmm.model_choice.binned import check_mixture
from gmm.models.mixture import Mixture


COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def new_axes(ax):
    """``ax``, or the axes of a new 7 x 3.2 in figure when it is None."""
    return ax if ax is not None else plt.subplots(figsize=(7, 3.2))[1]


def histogram(x: Any, *, ax=None, bins: int | Sequence[float] = 30, label: str | None = None,
              density: bool = False, color: str = "0.6", unit: str = "g", quantity: str = "weight"):
    """Histogram of the observations x, shape (N,); the x axis reads "<quantity> (<unit>)"."""
    data, bins = as_data(x), check_bins(bins)
    ax = new_axes(ax)
    ax.hist(data, bins=bins, color=color, edgecolor="white", density=density, label=label)
    ax.set_xlabel(f"{quantity} ({unit})")
    ax.set_ylabel("density" if density else "count")
    if not density:  # counts are whole numbers: no 0.5 ticks
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def grid_for(x: Any, mixture: Mixture | None = None, n: int = 1000, pad: float = 0.15) -> np.ndarray:
    """An evaluation grid of ``n`` points covering the data (and the mixture's components),
    widened by ``pad`` times the span on each side, shape (n,)."""
    data = as_data(x)
    n = check_positive_int(n, "n", maximum=10_000_000)
    pad = check_finite(pad, "pad")
    lo, hi = float(np.min(data)), float(np.max(data))
    if mixture is not None:
        mixture = check_mixture(mixture, on_line=True)
        m, s = np.asarray(mixture.means), np.asarray(mixture.stds)
        lo, hi = min(lo, float((m - 4 * s).min())), max(hi, float((m + 4 * s).max()))
    span = hi - lo or 1.0
    return np.linspace(lo - pad * span, hi + pad * span, n)


def legend_above(ax, ncol: int | None = None):
    """A legend in one row above the axes, where it cannot cover bars or curves."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=ncol or len(labels), frameon=False)
    return ax


# Font sizes for figures 7 in wide or less: the PDF prints them at about 6 in, so the
# smallest text stays at 8 pt or more.
BOOK_RC = {
    "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "legend.fontsize": 9, "figure.titlesize": 11,
    # Reproducible SVG files: the same figure gives the same bytes on every build.
    "svg.hashsalt": "gmm-book",
}


def book_style() -> None:
    """The book's figure style: readable text sizes and vector images.

    Sets matplotlib's rcParams to ``BOOK_RC``. Inside IPython or Jupyter it also asks
    the inline backend for SVG (which the web pages show) and PDF (which the LaTeX book
    includes) instead of PNG rasters; in a plain script it only sets the sizes.
    """
    plt.rcParams.update(BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        return
    if get_ipython() is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg", "pdf")
