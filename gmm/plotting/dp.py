"""Figures of the Dirichlet process: a restaurant's tables, stick-breaking weights, co-clustering, cluster counts."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gmm._util.validation import as_data, check_arrays, check_indices, check_laws, check_positive_int, check_series
from gmm.plotting._base import COLORS, new_axes


def crp_seating(labels: Any, *, ax=None, expected: Sequence[float] | None = None):
    """One Chinese-restaurant draw: customer i (x axis) at table labels[i] (y axis).

    Customers who open a new table are drawn as larger red dots. With ``expected``
    (E[K] after each customer, shape (n,)), a second axis shows it beside the running
    number of occupied tables.
    """
    z = check_indices(labels, "labels")
    expected = None if expected is None else check_arrays(expected=(expected, (z.size,)))[0]
    ax = new_axes(ax)
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
    ax = new_axes(ax)
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


def cluster_count_bars(probs: dict[str, dict[int, float]], *, ax=None, xlabel: str = "number of clusters",
                       errors: dict[str, dict[int, float]] | None = None):
    """Side-by-side bars of several laws over a count (label -> {k: probability}), with
    optional error bars (label -> {k: standard error}, e.g. ``KPosterior.probabilities_stderr``)."""
    probs, errors = check_laws(probs, "probs"), None if errors is None else check_laws(errors, "errors")
    ax = new_axes(ax)
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
