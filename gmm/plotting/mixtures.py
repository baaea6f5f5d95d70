"""Figures of a mixture on the line and of its fitting: densities, P(z | x), EM's climb and bound, criteria."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from gmm._util.validation import as_data, check_arrays, check_finite, check_labels, check_series
from gmm.model_choice.binned import check_mixture
from gmm.models.mixture import decision_boundaries, Mixture
from gmm.plotting._base import COLORS, new_axes


def _curve(mixture: Any, grid: Any, names: Any) -> tuple[Mixture, np.ndarray, list[str] | None]:
    """A mixture on the line, its grid (G,) and one name per component (or None), checked."""
    m = check_mixture(mixture, on_line=True)
    return m, m.checked(grid, "grid"), check_labels(names, "names", m.n_components)


def mixture_density(mixture: Mixture, grid: np.ndarray, *, ax=None, components: bool = True,
                    label: str = "mixture p(x)", color: str = "k", names: Sequence[str] | None = None):
    """The mixture density over ``grid`` and, optionally, each weighted component pi_k N(x | mu_k, sigma_k)."""
    mixture, grid, names = _curve(mixture, grid, names)
    ax = new_axes(ax)
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
    ax = new_axes(ax)
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
    ax = new_axes(ax)
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
    ax = new_axes(ax)
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
    ax = new_axes(ax)
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
    ax = new_axes(ax)
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
