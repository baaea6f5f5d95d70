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
              density: bool = False, color: str = "0.6", unit: str = "g"):
    """Histogram of the observations x, shape (N,)."""
    ax = _ax(ax)
    ax.hist(as_data(x), bins=bins, color=color, edgecolor="white", density=density, label=label)
    ax.set_xlabel(f"value ({unit})")
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
    if components:
        comp = np.exp(np.asarray(mixture.component_log_prob(grid)))
        for k in range(mixture.n_components):
            name = names[k] if names else f"component {k}"
            ax.plot(grid, comp[:, k], color=COLORS[k % len(COLORS)], lw=1.2, ls="--", label=name)
    ax.plot(grid, np.exp(np.asarray(mixture.log_prob(grid))), color=color, lw=2, label=label)
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
    ax.set_xticks(pos, [f"{v:g}" for v in data[order]], rotation=90, fontsize=8)
    ax.set_ylabel("probability")
    return ax


def criterion_curves(ks: Sequence[int], curves: dict[str, Sequence[float]], *, ax=None):
    """Model-selection scores against K, one line per criterion, best K marked."""
    ax = _ax(ax)
    for i, (name, vals) in enumerate(curves.items()):
        vals = np.asarray(vals, dtype=float)
        c = COLORS[i % len(COLORS)]
        ax.plot(ks, vals, marker="o", color=c, label=name)
        j = int(np.nanargmin(vals))
        ax.plot(ks[j], vals[j], marker="*", ms=16, color=c)
    ax.set_xticks(list(ks))
    ax.set_xlabel("number of components K")
    ax.set_ylabel("score (lower is better)")
    ax.legend()
    return ax
