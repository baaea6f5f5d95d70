"""Matplotlib figures used throughout the book.

Each function draws on an optional ``ax`` and returns it, so figures compose.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from gmm._util.validation import (
    as_data, check_arrays, check_bins, check_dims, check_finite, check_indices, check_labels, check_laws,
    check_positive, check_positive_int, check_series,
)
from gmm.model_choice.binned import check_mixture
from gmm.models.mixture import Mixture, decision_boundaries

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _ax(ax):
    return ax if ax is not None else plt.subplots(figsize=(7, 3.2))[1]


def _curve(mixture: Any, grid: Any, names: Any) -> tuple[Mixture, np.ndarray, list[str] | None]:
    """A mixture on the line, its grid (G,) and one name per component (or None), checked."""
    m = check_mixture(mixture, on_line=True)
    return m, m.checked(grid, "grid"), check_labels(names, "names", m.n_components)


def histogram(x: Any, *, ax=None, bins: int | Sequence[float] = 30, label: str | None = None,
              density: bool = False, color: str = "0.6", unit: str = "g", quantity: str = "weight"):
    """Histogram of the observations x, shape (N,); the x axis reads "<quantity> (<unit>)"."""
    data, bins = as_data(x), check_bins(bins)
    ax = _ax(ax)
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


def mixture_density(mixture: Mixture, grid: np.ndarray, *, ax=None, components: bool = True,
                    label: str = "mixture p(x)", color: str = "k", names: Sequence[str] | None = None):
    """The mixture density over ``grid`` and, optionally, each weighted component pi_k N(x | mu_k, sigma_k)."""
    mixture, grid, names = _curve(mixture, grid, names)
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
    mixture, grid, names = _curve(mixture, grid, names)
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
    histories = check_series(histories, "histories", (None,))
    ax = _ax(ax)
    for i, (name, h) in enumerate(histories.items()):
        ax.plot(np.arange(len(h)), h, marker="o", ms=3, color=COLORS[i % len(COLORS)], label=name)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("log-likelihood (nats)")
    ax.legend()
    return ax


def lower_bound_curves(grid: Any, log_lik: Any, bound: Any, *, current: float, new: float, ax=None,
                       xlabel: str = "parameter"):
    """The log-likelihood log p(x | theta) and EM's lower bound L(q_t, theta) over a grid of
    one parameter (three arrays of shape (n,)), with vertical lines at the parameter's value
    in theta_t (``current``, where the bound touches) and in theta_{t+1} (``new``, where
    the M step puts it)."""
    grid, log_lik, bound = check_arrays(  # the bound may be -inf (q on a component of weight 0)
        grid=(grid, ("n",)), log_lik=(log_lik, ("n",)), bound=(bound, ("n",), False))
    current, new = check_finite(current, "current"), check_finite(new, "new")
    ax = _ax(ax)
    ax.plot(grid, log_lik, color="k", lw=2, label=r"log-likelihood $\log p(x \mid \theta)$")
    ax.plot(grid, bound, color=COLORS[0], lw=2, ls="--", label=r"bound $\mathcal{L}(q_t, \theta)$")
    ax.axvline(current, color="0.45", ls=":", lw=1.5, label=r"$\theta_t$ (E step: bound touches)")
    ax.axvline(new, color=COLORS[1], ls=":", lw=1.5, label=r"$\theta_{t+1}$ (M step: bound's maximum)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("log-likelihood, bound (nats)")
    return ax


def assignment_bars(x: Any, probs: Any, *, ax=None, names: Sequence[str] | None = None):
    """Stacked bars of P(z_i = k | x) for each observation, sorted by value: x (N,), probs (N, K)."""
    data, p = check_arrays(x=(as_data(x), ("N",)), probs=(probs, ("N", "K")))
    names = check_labels(names, "names", p.shape[1])
    ax = _ax(ax)
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
    check_arrays(ks=(ks, (None,)))
    ks = list(ks)
    curves = check_series(curves, "curves", (len(ks),), finite=False)  # NaN: a K without a score
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
    ax = _ax(ax)
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


# ---------------------------------------------------------------------------
# Mixtures in two or more dimensions
# ---------------------------------------------------------------------------


def _ax2d(ax):
    return ax if ax is not None else plt.subplots(figsize=(5.5, 4.5))[1]


def covariance_ellipses(means: Any, covariances: Any, *, ax=None, n_sd: Sequence[float] = (1.0, 2.0),
                        dims: tuple[int, int] = (0, 1), colors: Sequence[str] = COLORS, lw: float = 1.8):
    """Ellipses {x : (x - mu_k)^T Sigma_k^{-1} (x - mu_k) = c^2} for c in ``n_sd``, for each component.

    ``means`` (K, D) and ``covariances`` (K, D, D); the two coordinates ``dims`` are drawn (the
    ellipse of the 2-D marginal). Solid at the first level, dashed beyond; each component's centre
    is marked with a cross.
    """
    from matplotlib.patches import Ellipse

    m, c = check_arrays(means=(means, ("K", "D")), covariances=(covariances, ("K", "D", "D")))
    i, j = check_dims(dims, m.shape[1])
    n_sd = [check_positive(v, "n_sd entry") for v in np.ravel(np.asarray(n_sd, dtype=object))]
    ax = _ax2d(ax)
    m, c = m[:, [i, j]], c[:, [i, j]][:, :, [i, j]]
    for k in range(m.shape[0]):
        vals, vecs = np.linalg.eigh(c[k])
        angle = np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1]))
        color = colors[k % len(colors)]
        for level, s in enumerate(n_sd):
            ax.add_patch(Ellipse(m[k], 2 * s * np.sqrt(vals[1]), 2 * s * np.sqrt(vals[0]), angle=angle,
                                 fill=False, color=color, lw=lw, ls="-" if level == 0 else "--"))
        ax.plot(*m[k], marker="x", color=color, ms=9, mew=2.5)
    return ax


def soft_scatter(x: Any, probs: Any, *, ax=None, dims: tuple[int, int] = (0, 1),
                 colors: Sequence[str] = COLORS, s: float = 14, labels: Sequence[str] | None = None):
    """Points coloured by their most probable component; the colour fades to white as that
    component's probability falls from 1 to 1/K (a point the mixture cannot place is pale).

    ``x`` (N, D) and ``probs`` (N, K) (responsibilities or posterior assignment probabilities).
    """
    from matplotlib.colors import to_rgb

    pts, p = check_arrays(x=(as_data(x, ndim=2), ("N", None)), probs=(probs, ("N", "K")))
    dims, k = check_dims(dims, pts.shape[1]), p.shape[1]
    labels = check_labels(labels, "labels", k)
    ax = _ax2d(ax)
    best = p.argmax(axis=1)
    strength = (p.max(axis=1) - 1.0 / k) / (1.0 - 1.0 / k) if k > 1 else np.ones(len(p))
    base = np.array([to_rgb(colors[j % len(colors)]) for j in range(k)])[best]
    rgb = 1.0 - strength[:, None] * (1.0 - base) * 0.85 - 0.15 * (1.0 - base)
    ax.scatter(pts[:, dims[0]], pts[:, dims[1]], c=np.clip(rgb, 0, 1), s=s, edgecolors="0.4", linewidths=0.3)
    if labels is not None:
        for j in range(k):
            ax.scatter([], [], color=colors[j % len(colors)], label=labels[j])
        ax.legend(loc="best", fontsize=8)
    return ax


def recoloured_image(labels: Any, palette: Any, *, ax=None, title: str | None = None):
    """An image whose pixel (r, c) is painted ``palette[labels[r, c]]``; labels (H, W), palette (K, 3) in [0, 1]."""
    (palette,) = check_arrays(palette=(palette, (None, 3)))
    labels = check_indices(labels, "labels", palette.shape[0], ndim=2)
    ax = ax if ax is not None else plt.subplots(figsize=(5, 3.4))[1]
    ax.imshow(np.clip(palette, 0, 1)[labels])
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)


# Dirichlet process mixtures (chapter "Dirichlet process mixtures")
# ---------------------------------------------------------------------------


def crp_seating(labels: Any, *, ax=None, expected: Sequence[float] | None = None):
    """One Chinese-restaurant draw: customer i (x axis) at table labels[i] (y axis).

    Customers who open a new table are drawn as larger red dots. With ``expected``
    (E[K] after each customer, shape (n,)), a second axis shows it beside the running
    number of occupied tables.
    """
    z = check_indices(labels, "labels")
    expected = None if expected is None else check_arrays(expected=(expected, (z.size,)))[0]
    ax = _ax(ax)
    i = np.arange(1, z.size + 1)
    opened = np.concatenate([[True], z[1:] > np.maximum.accumulate(z)[:-1]])
    ax.scatter(i[~opened], z[~opened], s=14, color="0.35", label="joins a table")
    ax.scatter(i[opened], z[opened], s=40, color=COLORS[1], label="opens a new table")
    ax.set_xlabel("customer (bento) number")
    ax.set_ylabel("table")
    if expected is not None:
        twin = ax.twinx()
        twin.step(i, np.maximum.accumulate(z) + 1, where="post", color=COLORS[0], lw=1.5,
                  label="tables so far")
        twin.plot(i, expected, color=COLORS[2], ls="--", lw=1.5, label="expected tables")
        twin.set_ylabel("number of tables")
        twin.legend(loc="lower right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def sticks(weights: dict[str, Any], *, ax=None, max_sticks: int = 20):
    """Stick-breaking weights as stacked horizontal bars, one bar per entry of ``weights``
    (label -> weights pi_1, pi_2, ...), each piece coloured in turn; the grey rest is 1 - sum."""
    weights, max_sticks = check_series(weights, "weights", (None,)), check_positive_int(max_sticks, "max_sticks")
    ax = _ax(ax)
    cmap = plt.get_cmap("tab20")
    for row, (label, w) in enumerate(weights.items()):
        w = w[:max_sticks]
        left = np.concatenate([[0.0], np.cumsum(w)[:-1]])
        ax.barh(row, w, left=left, color=[cmap(j % 20) for j in range(w.size)], edgecolor="white", lw=0.5)
        ax.barh(row, 1 - w.sum(), left=w.sum(), color="0.85", edgecolor="white", lw=0.5)
    ax.set_yticks(range(len(weights)), list(weights))
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("cumulative weight")
    return ax


def coclustering_heatmap(x: Any, coclustering: Any, *, ax=None, unit: str = "g"):
    """P(i and j share a cluster | x) as an image, points sorted by value (ticks show values)."""
    data, co = check_arrays(x=(as_data(x), ("N",)), coclustering=(coclustering, ("N", "N")))
    ax = ax if ax is not None else plt.subplots(figsize=(5.2, 4.4))[1]
    order = np.argsort(data, kind="stable")
    im = ax.imshow(co[np.ix_(order, order)], cmap="viridis", vmin=0, vmax=1,
                   interpolation="nearest")
    ticks = np.linspace(0, data.size - 1, min(data.size, 8)).round().astype(int)
    labels = [f"{data[order][t]:.4g}" for t in ticks]
    ax.set_xticks(ticks, labels, rotation=60, fontsize=7)
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.set_xlabel(f"point, sorted by value ({unit})")
    ax.set_ylabel(f"point, sorted by value ({unit})")
    ax.figure.colorbar(im, ax=ax, label="P(same cluster | x)", shrink=0.85)
    return ax


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


def cluster_count_bars(probs: dict[str, dict[int, float]], *, ax=None, xlabel: str = "number of clusters",
                       errors: dict[str, dict[int, float]] | None = None):
    """Side-by-side bars of several laws over a count (label -> {k: probability}), with
    optional error bars (label -> {k: standard error}, e.g. ``KPosterior.probabilities_stderr``)."""
    probs, errors = check_laws(probs, "probs"), None if errors is None else check_laws(errors, "errors")
    ax = _ax(ax)
    ks = sorted({k for p in probs.values() for k in p})
    width = 0.8 / max(len(probs), 1)
    for j, (label, p) in enumerate(probs.items()):
        err = None if errors is None or label not in errors else [errors[label].get(k, 0.0) for k in ks]
        ax.bar(np.array(ks) + (j - (len(probs) - 1) / 2) * width, [p.get(k, 0.0) for k in ks], width=width,
               color=COLORS[j % len(COLORS)], label=label, yerr=err, capsize=2 if err else 0)
    ax.set_xticks(ks)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("probability")
    ax.legend(fontsize=8)
    return ax


def chain_shares(shares: dict[str, Any], *, ax=None, reference: float | None = None,
                 ylabel: str = "share of draws"):
    """One group of bars per sampler (label -> per-chain shares, shape (n_chains,)): how often
    each chain was in some region (a posterior mode), with an optional reference line."""
    shares = check_series(shares, "shares", None)
    ax = _ax(ax)
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

