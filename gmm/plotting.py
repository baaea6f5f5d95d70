"""Matplotlib figures used throughout the book.

Each function draws on an optional ``ax`` and returns it, so figures compose.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gmm._validation import as_data
from gmm.mixture import Mixture, decision_boundaries

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _ax(ax):
    return ax if ax is not None else plt.subplots(figsize=(7, 3.2))[1]


def histogram(x: Any, *, ax=None, bins: int | Sequence[float] = 30, label: str | None = None,
              density: bool = False, color: str = "0.6", unit: str = "g", quantity: str = "weight"):
    """Histogram of the observations x, shape (N,); the x axis reads "<quantity> (<unit>)"."""
    ax = _ax(ax)
    ax.hist(as_data(x), bins=bins, color=color, edgecolor="white", density=density, label=label)
    ax.set_xlabel(f"{quantity} ({unit})")
    ax.set_ylabel("density" if density else "count")
    return ax


def grid_for(x: Any, mixture: Mixture | None = None, n: int = 1000, pad: float = 0.15) -> np.ndarray:
    """An evaluation grid covering the data (and the mixture's components)."""
    lo, hi = float(np.min(x)), float(np.max(x))
    if mixture is not None:
        m, s = np.asarray(mixture.means), np.asarray(mixture.stds)
        lo, hi = min(lo, float((m - 4 * s).min())), max(hi, float((m + 4 * s).max()))
    span = hi - lo or 1.0
    return np.linspace(lo - pad * span, hi + pad * span, n)


def mixture_density(mixture: Mixture, grid: np.ndarray, *, ax=None, components: bool = True,
                    label: str = "mixture p(x)", color: str = "k", names: Sequence[str] | None = None):
    """The mixture density over ``grid`` and, optionally, each weighted component pi_k N(x | mu_k, sigma_k)."""
    ax = _ax(ax)
    # The mixture goes underneath, wide and pale, so that the components drawn on top of
    # it stay visible where they coincide with it (at every well-separated peak).
    ax.plot(grid, np.exp(np.asarray(mixture.log_prob(grid))), color=color, lw=4,
            alpha=0.3 if components else 1.0, label=label)
    if components:
        comp = np.exp(np.asarray(mixture.component_log_prob(grid)))
        for k in range(mixture.n_components):
            name = names[k] if names else f"component {k}"
            ax.plot(grid, comp[:, k], color=COLORS[k % len(COLORS)], lw=1.5, ls="--", label=name)
    ax.set_ylabel("density")
    return ax


def posterior_curves(mixture: Mixture, grid: np.ndarray, *, ax=None, names: Sequence[str] | None = None,
                     show_boundary: bool = True):
    """P(z = k | x) over ``grid`` for every component, with the decision boundaries marked."""
    ax = _ax(ax)
    resp = np.asarray(mixture.responsibilities(grid))
    for k in range(mixture.n_components):
        ax.plot(grid, resp[:, k], color=COLORS[k % len(COLORS)], lw=2,
                label=f"P({names[k] if names else k} | x)")
    if show_boundary:
        for b in decision_boundaries(mixture, float(grid[0]), float(grid[-1])):
            ax.axvline(b, color="0.3", ls=":", lw=1.5)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("probability")
    return ax


def em_history(histories: dict[str, np.ndarray], *, ax=None):
    """Total log-likelihood against EM iteration, one line per labelled run."""
    ax = _ax(ax)
    for i, (name, h) in enumerate(histories.items()):
        ax.plot(np.arange(len(h)), h, marker="o", ms=3, color=COLORS[i % len(COLORS)], label=name)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("log-likelihood")
    ax.legend()
    return ax


def assignment_bars(x: Any, probs: Any, *, ax=None, names: Sequence[str] | None = None):
    """Stacked bars of P(z_i = k | x) for each observation, sorted by value."""
    ax = _ax(ax)
    data = as_data(x)
    p = np.asarray(probs)
    order = np.argsort(data, kind="stable")
    bottom = np.zeros(len(data))
    pos = np.arange(len(data))
    for k in range(p.shape[1]):
        ax.bar(pos, p[order, k], bottom=bottom, color=COLORS[k % len(COLORS)],
               label=names[k] if names else f"component {k}")
        bottom += p[order, k]
    ax.set_xticks(pos, [f"{v:g}" for v in data[order]], rotation=90)
    ax.set_ylabel("probability")
    return ax


def criterion_curves(ks: Sequence[int], curves: dict[str, Sequence[float]], *, ax=None,
                     dashed: Sequence[str] = ()):
    """Model-selection scores against K, one line per criterion (those named in ``dashed`` dashed), best K starred."""
    ax = _ax(ax)
    for i, (name, vals) in enumerate(curves.items()):
        vals = np.asarray(vals, dtype=float)
        c = COLORS[i % len(COLORS)]
        ax.plot(ks, vals, marker="o", color=c, label=name, ls="--" if name in dashed else "-")
        j = int(np.nanargmin(vals))
        ax.plot(ks[j], vals[j], marker="*", ms=16, color=c)
    ax.set_xticks(list(ks))
    ax.set_xlabel("number of components K")
    ax.set_ylabel("score (lower is better)")
    ax.legend()
    return ax


def predictive_density(weights: Any, means: Any, stds: Any, grid: Any, max_draws: int = 2000) -> np.ndarray:
    """Posterior predictive density p(x_new | x) on ``grid``: the mixture density averaged over draws.

    ``weights``, ``means``, ``stds`` hold posterior draws with the components on
    the last axis, e.g. shape (n_chains, n_samples, K); at most ``max_draws``
    evenly spaced draws are used. Returns shape (len(grid),).
    """
    w, m, s = (np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1]) for a in (weights, means, stds))
    idx = np.linspace(0, w.shape[0] - 1, min(max_draws, w.shape[0])).astype(int)
    w, m, s = w[idx], m[idx], s[idx]
    g = np.asarray(grid, dtype=np.float64)[:, None, None]
    dens = (w * np.exp(-0.5 * ((g - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))).sum(axis=-1)
    return dens.mean(axis=1)


def trace_plots(posterior: Any, *, names: Sequence[str] = ("weights", "means", "stds"), max_points: int = 500,
                color_by: str = "chain"):
    """One row of trace plots per parameter family: every chain, every component.

    ``color_by="chain"`` (default) gives each chain its own colour, so that overlapping
    chains (the sign of convergence) can be seen; ``"component"`` colours components.
    """
    if color_by not in ("chain", "component"):
        raise ValueError(f"color_by must be 'chain' or 'component', got {color_by!r}")
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 1.9 * len(names)), sharex=True)
    for ax, name in zip(np.atleast_1d(axes), names):
        draws = np.asarray(getattr(posterior, name))
        step = max(1, draws.shape[1] // max_points)
        for c in range(draws.shape[0]):
            for k in range(draws.shape[2]):
                i = c if color_by == "chain" else k
                label = f"chain {c}" if color_by == "chain" and k == 0 else None
                ax.plot(np.arange(0, draws.shape[1], step), draws[c, ::step, k],
                        color=COLORS[i % len(COLORS)], alpha=0.6, lw=0.6, label=label)
        ax.set_ylabel(name)
    first = np.atleast_1d(axes)[0]
    if color_by == "chain":
        legend = first.legend(loc="lower left", bbox_to_anchor=(0, 1.02), ncol=draws.shape[0],
                              frameon=False)
        for handle in legend.legend_handles:  # the traces' thin, faint lines are hard to read
            handle.set_linewidth(2.0)
            handle.set_alpha(1.0)
    np.atleast_1d(axes)[-1].set_xlabel("sweep (after warm-up)")
    fig.tight_layout()
    return fig


def posterior_histograms(posterior: Any, *, names: Sequence[str] = ("weights", "means", "stds"),
                         units: Sequence[str] = ("", "g", "g")):
    """Histograms of the posterior draws of every parameter, one panel per (family, component)."""
    k = np.asarray(posterior.means).shape[-1]
    fig, axes = plt.subplots(len(names), k, figsize=(3.3 * k, 1.9 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        draws = np.asarray(getattr(posterior, name))
        for j in range(k):
            ax = axes[i, j]
            ax.hist(draws[..., j].ravel(), bins=50, color=COLORS[j % len(COLORS)], alpha=0.8)
            ax.set_yticks([])
            unit = f" ({units[i]})" if units[i] else ""
            ax.set_xlabel(f"{name}[{j}]{unit}")
    fig.tight_layout()
    return fig


def legend_above(ax, ncol: int | None = None):
    """A legend in one row above the axes, where it cannot cover bars or curves."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=ncol or len(labels), frameon=False)
    return ax


# Font sizes for figures 7 in wide or less: the PDF prints them at about 6 in, so the
# smallest text stays at 8 pt or more.
BOOK_RC = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 11,
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
