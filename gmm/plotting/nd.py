"""Figures in two dimensions: covariance ellipses, points coloured by their responsibilities, a recoloured image."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gmm._util.validation import as_data, check_arrays, check_dims, check_indices, check_labels, check_positive
from gmm.plotting._base import COLORS


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
