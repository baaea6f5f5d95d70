"""What every posterior given by draws offers: :class:`PosteriorDraws`.

A mixin for frozen dataclasses that hold draws of the mixture's parameters (weights (C, S, K), means (C, S, K)
on the line or (C, S, K, D), stds (C, S, K) on the line or None, covariances (C, S, K, D, D)), the data and the
prior: :class:`gmm.GibbsPosterior` (C chains of S draws) and :class:`gmm.VIPosterior` (one "chain" of S
independent draws of the variational distribution q). From the draws alone it gives posterior means, the
posterior predictive density with credible bands, assignment probabilities of new points and an ArviZ
``DataTree``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gmm import diagnostics
from gmm._util.validation import as_data, check_finite, check_positive_int
from gmm.inference import gibbs_conjugate as conjugate
from gmm.inference.scoring import PARAMS, responsibilities

PARAMS_FULL = ("weights", "means", "covariances")
MAX_DRAWS = 100_000  # the most draws a predictive density averages
_CHUNK_VALUES = 1 << 22  # numbers per temporary array when densities are formed (32 MiB)


def check_quantiles(quantiles: Any) -> tuple[float, float]:
    """A credible band's quantiles: a pair (lo, hi) of numbers with 0 <= lo < hi <= 1."""
    message = (f"quantiles must be a pair (lo, hi) of numbers with 0 <= lo < hi <= 1, e.g. (0.05, 0.95), "
               f"got {quantiles!r}.")
    try:
        lo, hi = (check_finite(q, "quantiles") for q in quantiles)
    except (TypeError, ValueError):  # not a pair of numbers
        raise ValueError(message) from None
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(message)
    return lo, hi


def grid_step(values_per_point: int) -> int:
    """Points per chunk of a grid whose every point needs ``values_per_point`` numbers of
    temporaries: about 4 million numbers (32 MiB) at a time, whatever the grid's size (the rule
    of every predictive density here, :func:`mixture_densities` and the DP's included)."""
    return max(1, _CHUNK_VALUES // max(int(values_per_point), 1))


@jax.jit
def _mean_responsibilities(x: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array) -> jax.Array:
    """Average over draws (rows of the (S, K) parameters) of P(z = k | x_m, theta_s), shape (M, K).

    A scan over the draws, so memory is (M, K) whatever the number of draws.
    """

    def add(total, theta):
        return total + jnp.stack(responsibilities(x, *theta), axis=1), None

    total, _ = jax.lax.scan(add, jnp.zeros((x.shape[0], weights.shape[1]), x.dtype), (weights, means, stds))
    return total / weights.shape[0]


def mean_responsibilities(x: Any, weights: Any, means: Any, stds: Any) -> np.ndarray:
    """The average over draws of P(z = k | x_m, theta_s) on the line, float64, shape (M, K): points x (M,),
    draws of weights, means and stds (S, K) (any leading shape of the draws is flattened)."""
    k = np.shape(weights)[-1]
    with jax.enable_x64(True):
        w, m, s = (jnp.asarray(np.asarray(a, np.float64).reshape(-1, k)) for a in (weights, means, stds))
        return np.asarray(_mean_responsibilities(jnp.asarray(np.asarray(x, np.float64)), w, m, s), np.float64)


def mixture_densities(weights: Any, means: Any, stds: Any, grid: Any, max_draws: int = 2000) -> np.ndarray:
    """The mixture density of each draw on ``grid``, float64, shape (S', G).

    ``weights``, ``means``, ``stds`` hold draws with the components on the last axis (any
    leading shape); at most ``max_draws`` (an integer in [1, 100,000]) evenly spaced draws
    are used (S' of them). Computed in chunks of grid points, so the temporaries stay small
    whatever G.
    """
    max_draws = check_positive_int(max_draws, "max_draws", maximum=MAX_DRAWS)
    w, m, s = (np.asarray(a, np.float64).reshape(-1, np.shape(a)[-1]) for a in (weights, means, stds))
    idx = np.linspace(0, w.shape[0] - 1, min(max_draws, w.shape[0])).astype(int)
    w, m, s = (a[idx][:, None, :] for a in (w, m, s))
    grid = np.asarray(grid, np.float64).reshape(-1)
    out = np.empty((idx.size, grid.size))
    step = grid_step(idx.size * w.shape[-1])
    for start in range(0, grid.size, step):
        z = (grid[None, start:start + step, None] - m) / s
        out[:, start:start + step] = (w * np.exp(-0.5 * z**2) / (s * math.sqrt(2 * math.pi))).sum(axis=-1)
    return out


class PosteriorDraws:
    """Summaries computed from a result's draws: the attributes ``weights``, ``means``,
    ``stds``, ``covariances`` and ``data`` (shapes in the module docstring) are the subclass's."""

    @property
    def n_chains(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        return int(self.means.shape[2])

    @property
    def dim(self) -> int:
        """D, the dimension of a point (1 for the one-dimensional shapes)."""
        return 1 if self.means.ndim == 3 else int(self.means.shape[3])

    @property
    def params(self) -> tuple[str, ...]:
        """The names of the draws the diagnostics cover: weights, means and stds (one
        dimension) or covariances (D dimensions)."""
        return PARAMS if self.dim == 1 else PARAMS_FULL

    def posterior_mean(self) -> dict[str, np.ndarray]:
        """Posterior means over all draws of ``params`` (in the relabelled order), e.g.
        weights (K,), means (K, D), covariances (K, D, D)."""
        return {name: getattr(self, name).mean(axis=(0, 1)) for name in self.params}

    def _points(self, points: Any, name: str) -> np.ndarray:
        """New points checked against the data's dimension: (M,) in one dimension, (M, D) in D."""
        if self.dim == 1:
            p = as_data(points, name, ndim=None)
            if p.ndim == 2 and p.shape[1] != 1:
                raise ValueError(f"{name} must have shape (M,) or (M, 1) for one-dimensional data, got {p.shape}.")
            return p.reshape(-1)
        return as_data(points, name, ndim=2, dim=self.dim)

    def _flat_draws(self, max_draws: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At most ``max_draws`` evenly spaced draws pooled over chains: weights (S', K),
        means (S', K, D), covariances (S', K, D, D)."""
        k, d = self.n_components, self.dim
        total = self.n_chains * self.n_samples
        idx = np.linspace(0, total - 1, min(max_draws, total)).astype(int)
        return (self.weights.reshape(-1, k)[idx], self.means.reshape(-1, k, d)[idx],
                self.covariances.reshape(-1, k, d, d)[idx])

    def predictive_density(
        self, grid: Any, quantiles: tuple[float, float] | None = None, max_draws: int = 2000
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior predictive density p(x_new | x) = E[sum_k pi_k N(x_new | mu_k, Sigma_k) | x]
        at ``grid`` (points (G,) in one dimension, (G, D) in D; data units): the mixture
        density averaged over (at most ``max_draws`` evenly spaced) draws, shape (G,), per
        unit of the data.

        With ``quantiles=(lo, hi)``, also the pointwise lo and hi quantiles of the
        per-draw densities (a credible band): returns (mean, lower, upper).

        ``max_draws`` is an integer in [1, 100,000]. The grid is taken in chunks, so the
        temporaries hold about 4 million numbers (32 MiB) whatever G.
        """
        g = self._points(grid, "grid")
        max_draws = check_positive_int(max_draws, "max_draws", maximum=MAX_DRAWS)
        band = check_quantiles(quantiles) if quantiles is not None else ()
        draws = self._flat_draws(max_draws)
        n_draws = draws[0].shape[0]
        step = grid_step(n_draws * self.n_components * self.dim)
        out = np.empty((1 + len(band), g.shape[0]))
        for start in range(0, g.shape[0], step):
            chunk = g[start:start + step]
            m = chunk.shape[0]
            if self.dim == 1:
                dens = mixture_densities(self.weights, self.means, self.stds, chunk, max_draws)
            else:
                if g.shape[0] > step:  # chunks of one size (the last padded) share one compiled program
                    chunk = np.concatenate([chunk, np.repeat(chunk[-1:], step - m, axis=0)])
                dens = conjugate.draw_densities(self.data, chunk, *draws)[:, :m]
            out[0, start:start + m] = dens.mean(axis=0)
            for i, q in enumerate(band):
                out[1 + i, start:start + m] = np.quantile(dens, q, axis=0)
        return out[0] if quantiles is None else tuple(out)

    def predictive_assignment_probs(self, x_new: Any) -> np.ndarray:
        """P(z_new = k | x_new, x) for new points ((M,) in one dimension, (M, D) in D),
        shape (M, K), in the sorted labelling.

        The responsibilities of each posterior draw, averaged over all draws, so
        the uncertainty about the parameters is carried into the classification.
        """
        new = self._points(x_new, "x_new")
        if self.dim > 1:
            return conjugate.mean_responsibilities(self.data, new, *self._flat_draws(self.n_chains * self.n_samples))
        return mean_responsibilities(new, self.weights, self.means, self.stds)

    def to_arviz(self):
        """The draws as an ArviZ ``DataTree``: ``posterior`` (weights, means and stds or
        covariances, dims chain, draw, component (, dim, dim_b)), ``sample_stats`` (none per
        draw here) and ``observed_data`` (x)."""
        dims = {"weights": ["component"], "means": ["component"], "stds": ["component"],
                "covariances": ["component", "dim", "dim_b"]}
        coords = {"component": np.arange(self.n_components)}
        if self.dim > 1:
            dims["means"] = ["component", "dim"]
            coords.update(dim=np.arange(self.dim), dim_b=np.arange(self.dim))
        return diagnostics.to_datatree(
            {name: getattr(self, name) for name in self.params},
            dims={name: dims[name] for name in self.params},
            coords=coords,
            observed_data={"x": self.data},
        )


__all__ = ["MAX_DRAWS", "PARAMS_FULL", "PosteriorDraws", "check_quantiles", "grid_step", "mean_responsibilities",
           "mixture_densities"]
