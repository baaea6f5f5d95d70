"""Figures that check and read a sampler's draws: traces, rank plots, histograms, shares of modes, predictive bands."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gmm._util.validation import check_arrays, check_indices, check_labels, check_positive_int, check_series
from gmm.plotting._base import COLORS, histogram, new_axes


def _families(posterior: Any, names: Any, units: Any) -> dict[str, tuple[np.ndarray, str]]:
    """name -> (draws (n_chains, n_samples, K), unit) for each of ``names``, checked."""
    names = check_labels(() if names is None else names, "names")
    units = check_labels([""] * len(names) if units is None else units, "units (one unit per name)", len(names))
    draws = {n: getattr(posterior, n, f"none: no {n} on it") for n in names}
    return {n: (check_arrays(**{f"posterior.{n}": (draws[n], (None, None, None))})[0], u) for n, u in zip(names, units)}


def trace_plots(posterior: Any, *, names: Sequence[str] = ("weights", "means", "stds"), max_points: int = 500,
                color_by: str = "chain", chains: Sequence[int] | None = None,
                units: Sequence[str] | None = None):
    """One row of trace plots per parameter family: every chain (or those in ``chains``),
    every component.

    ``units`` gives each family's unit for its axis label, one per name ("" for none), for
    example ``("", "g", "g")``; None labels the axes by name alone.

    ``color_by="chain"`` (default) gives each chain its own colour, so that overlapping
    chains (the sign of convergence) can be seen; ``"component"`` colours components.
    """
    if color_by not in ("chain", "component"):
        raise ValueError(f"color_by must be 'chain' or 'component', got {color_by!r}")
    max_points, family = check_positive_int(max_points, "max_points"), _families(posterior, names, units)
    if chains is not None:
        chains = check_indices(chains, "chains", min(draws.shape[0] for draws, _ in family.values()))
    fig, axes = plt.subplots(len(family), 1, figsize=(7, 1.9 * len(family)), sharex=True)
    for ax, (name, (draws, unit)) in zip(np.atleast_1d(axes), family.items()):
        if chains is not None:
            draws = draws[chains]
        step = max(1, draws.shape[1] // max_points)
        for c in range(draws.shape[0]):
            for k in range(draws.shape[2]):
                i = c if color_by == "chain" else k
                label = f"chain {c}" if color_by == "chain" and k == 0 else None
                ax.plot(np.arange(0, draws.shape[1], step), draws[c, ::step, k],
                        color=COLORS[i % len(COLORS)], alpha=0.6, lw=0.6, label=label)
        ax.set_ylabel(f"{name} ({unit})" if unit else name)
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


def rank_histogram(counts: Any, *, ax=None, title: str | None = None):
    """Rank plot of one scalar parameter: each chain's counts per rank bin, shape
    (n_chains, n_bins), as from :func:`gmm.diagnostics.rank_counts`, drawn as one step line
    per chain, with a dashed line at the count every bin would hold if the chains mixed
    (the mean count, n_samples / n_bins)."""
    (counts,) = check_arrays(counts=(counts, ("n_chains", "n_bins")))
    ax = new_axes(ax)
    n_chains, n_bins = counts.shape
    edges = np.linspace(0.0, counts.sum(), n_bins + 1)  # rank bins over the pooled draws
    for c in range(n_chains):
        ax.stairs(counts[c], edges, baseline=None, color=COLORS[c % len(COLORS)], lw=1.5,
                  label=f"chain {c}")
    ax.axhline(counts.mean(), color="black", ls="--", lw=1, label="uniform")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, None)
    ax.set_xlabel("rank among all chains' draws")
    ax.set_ylabel("draws per rank bin")
    if title is not None:
        ax.set_title(title)
    return ax


def rank_plots(counts: Any, names: Sequence[str]):
    """One :func:`rank_histogram` panel per parameter, side by side, with one legend above.

    ``counts`` has shape (n_chains, n_bins, P), as :func:`gmm.diagnostics.rank_counts`
    returns for draws of shape (n_chains, n_samples, P); ``names`` gives the P titles.
    """
    names = check_labels(() if names is None else names, "names")
    (counts,) = check_arrays(counts=(counts, ("n_chains", "n_bins", len(names))))
    fig, axes = plt.subplots(1, len(names), figsize=(7, 3.0), sharey=True, squeeze=False)
    for j, ax in enumerate(axes[0]):
        rank_histogram(counts[:, :, j], ax=ax, title=names[j])
        if j > 0:
            ax.set_ylabel("")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def posterior_histograms(posterior: Any, *, names: Sequence[str] = ("weights", "means", "stds"),
                         units: Sequence[str] = ("", "g", "g")):
    """Histograms of the posterior draws of every parameter, one panel per (family, component)."""
    family = _families(posterior, names, units)
    k = next(iter(family.values()))[0].shape[-1]
    fig, axes = plt.subplots(len(family), k, figsize=(3.3 * k, 1.9 * len(family)), squeeze=False)
    for i, (name, (draws, unit)) in enumerate(family.items()):
        for j in range(k):
            ax = axes[i, j]
            ax.hist(draws[..., j].ravel(), bins=50, color=COLORS[j % len(COLORS)], alpha=0.8)
            ax.set_yticks([])
            unit = f" ({unit})" if unit else ""
            ax.set_xlabel(f"{name}[{j}]{unit}")
    fig.tight_layout()
    return fig


def predictive_band(x: Any, grid: Any, density: Any, band: Any, *, ax=None, bins: int | Sequence[float] = 30,
                    unit: str = "g", label: str = "posterior predictive", quantity: str = "weight"):
    """Histogram of x (as a density) with a predictive density and its pointwise band (2, G) over it;
    the x axis reads "<quantity> (<unit>)"."""
    grid, density, band = check_arrays(grid=(grid, ("G",)), density=(density, ("G",)), band=(band, (None, "G")))
    ax = histogram(x, ax=ax, bins=bins, density=True, unit=unit, quantity=quantity, label="data")
    ax.fill_between(grid, band[0], band[-1], color=COLORS[0], alpha=0.25, lw=0, label="90% band")
    ax.plot(grid, density, color=COLORS[0], lw=2, label=label)
    ax.legend(fontsize=8)
    return ax


def chain_shares(shares: dict[str, Any], *, ax=None, reference: float | None = None,
                 ylabel: str = "share of draws"):
    """One group of bars per sampler (label -> per-chain shares, shape (n_chains,)): how often
    each chain was in some region (a posterior mode), with an optional reference line."""
    shares = check_series(shares, "shares", None)
    ax = new_axes(ax)
    pos = 0.0
    ticks, names = [], []
    for j, (label, vals) in enumerate(shares.items()):
        xs = pos + np.arange(vals.size)
        ax.bar(xs, vals, width=0.8, color=COLORS[j % len(COLORS)])
        ticks.append(xs.mean())
        names.append(label)
        pos += vals.size + 1.0
    if reference is not None:
        ax.axhline(reference, color="black", ls="--", lw=1, label="reference")
        ax.legend(fontsize=8)
    ax.set_xticks(ticks, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    return ax
