"""The likelihood of rounded points in D dimensions, for mixtures with diagonal covariances.

With a diagonal covariance a component's coordinates are independent, so the probability
of a point's rounding cell (a box of sides h_1..h_D around the recorded point) factorises:

    P(x_i) = sum_k pi_k prod_d [Phi((x_id + h_d/2 - mu_kd) / s_kd) - Phi((x_id - h_d/2 - mu_kd) / s_kd)],

each factor a one-dimensional bin probability (:func:`gmm.model_choice.binned.bin_terms`).
A column recorded without rounding (h_d = 0) contributes its density instead. EM for these
grouped data takes the moments of each component truncated to each bin, dimension by
dimension, exactly as on the line. With full or tied covariances the cell probability has no
closed form, which is why :func:`gmm.select_k` refuses a resolution there.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm

from gmm._util.numerics import bucket, robust_scale_columns
from gmm.estimation.driver import best_of_starts, em_loop, responsibilities_step
from gmm.estimation.em_multivariate import kmeans_start
from gmm.model_choice.binned import bin_terms, check_resolution, input_eps, resolution_of
from gmm.models.mixture import Mixture


def cell_terms(y, hs, logw, mu, sd):
    """Per (row j, component k): log pi_k + log P_k(cell of row j), shape (U, K), and the
    truncated moments E[X], Var[X], shape (U, K, D); a column with h_d = 0 uses the density
    (E = y, Var = 0)."""
    active = jnp.ones(logw.shape[0], bool)
    zero = jnp.zeros_like(logw)

    def one_column(yd, hd, mud, sdd):
        lp, ex, vx = bin_terms(yd, jnp.where(hd > 0, hd, 1.0), zero, mud, sdd, active)
        dens = norm.logpdf(yd[:, None], mud, sdd)
        binned = hd > 0
        return (jnp.where(binned, lp, dens), jnp.where(binned, ex, yd[:, None]),
                jnp.where(binned, vx, 0.0))

    lp, ex, vx = jax.vmap(one_column, in_axes=(1, 0, 1, 1), out_axes=-1)(y, hs, mu, sd)
    return logw + lp.sum(axis=-1), ex, vx


def _m_step(lp, ex, vx, c, reg, floor, prev):
    r, nk, alive, nk_safe, ll = responsibilities_step(lp, c)
    mu = jnp.einsum("uk,ukd->kd", r, ex) / nk_safe[:, None]
    var = jnp.einsum("uk,ukd->kd", r, vx + (ex - mu) ** 2) / nk_safe[:, None] + reg
    sd = jnp.maximum(jnp.sqrt(var), floor)
    return (jnp.log(nk / c.sum()), jnp.where(alive[:, None], mu, prev[1]),
            jnp.where(alive[:, None], sd, prev[2])), ll


@partial(jax.jit, static_argnames=("k", "max_iter", "n_init"))
def _fit(key, y, c, hs, reg, floor, tol, *, k: int, max_iter: int, n_init: int):
    def step(params):
        return _m_step(*cell_terms(y, hs, *params), c, reg, floor, params)

    def run(key_r):
        logw, mu, cov = kmeans_start(key_r, y, c, reg + hs**2 / 12.0, k, "diag")
        sd = jnp.maximum(jnp.sqrt(jnp.diagonal(cov, axis1=1, axis2=2)), floor)
        return em_loop(step, (logw, mu, sd), max_iter, tol, c.sum())

    return best_of_starts(run, (jax.random.split(key, n_init),), sequential=True)


def fit_binned_diag(key, data, k, h, reg_covar, n_init, max_iter, tol) -> tuple[Mixture, float]:
    """Maximise the rounded-data likelihood of a K-component diagonal mixture on checked points
    (N, D) with resolutions h (D,) (0 for a column not rounded). Returns the mixture (data units,
    float64, ``covariance_type="diag"``) and its log-likelihood: the log probability of the
    recorded cells, plus log densities (in data units) for the unrounded columns.

    Every sd is kept at least h_d / sqrt(12), the sd of the rounding error itself, as on the line.
    """
    n, d = data.shape
    loc, scale = robust_scale_columns(data)
    rows, counts = np.unique((data - loc) / scale, axis=0, return_counts=True)
    size = bucket(rows.shape[0], 64)
    y = np.concatenate([rows, np.repeat(rows[-1:], size - rows.shape[0], axis=0)])
    c = np.concatenate([counts.astype(np.float64), np.zeros(size - rows.shape[0])])
    hs = np.asarray(h, np.float64) / scale
    with jax.enable_x64(True):
        out = _fit(key, jnp.asarray(y), jnp.asarray(c), jnp.asarray(hs), jnp.asarray(reg_covar / scale**2),
                   jnp.asarray(hs / math.sqrt(12.0)), jnp.float64(tol), k=k, max_iter=max_iter, n_init=n_init)
        (logw, mu, sd), ll, *_ = jax.tree_util.tree_map(np.asarray, out)
    weights = np.exp(logw - logw.max())
    sd = sd * scale
    mixture = Mixture(weights / weights.sum(), loc + scale * mu, covariances=sd[:, :, None] ** 2 * np.eye(d),
                      covariance_type="diag").sorted()
    # Cell probabilities are unit-free; a density column carries the Jacobian of the scaling.
    ll = float(ll) - n * float(np.sum(np.log(scale)[hs == 0]))
    return mixture, ll


def column_resolutions(x: Any, data: np.ndarray, resolution: Any) -> np.ndarray | None:
    """Each column's rounding h_d (0 for a column not rounded), or None when no column is:
    detected per column for ``"auto"``, the same h for every column when given."""
    if resolution is None:
        return None
    if isinstance(resolution, str):
        if resolution != "auto":
            raise ValueError(f"resolution must be 'auto', None or a number > 0 (data units), got {resolution!r}.")
        h = np.array([resolution_of(col, input_eps(x)) or 0.0 for col in data.T])
        return h if np.any(h > 0) else None
    h = check_resolution(resolution)
    for j, col in enumerate(data.T):
        distinct = np.unique(col)
        gap = float(np.min(np.diff(distinct))) if distinct.size > 1 else math.inf
        if gap < 0.5 * h:
            raise ValueError(f"resolution={h:g} is coarser than column {j} of x, whose distinct values are "
                             f"only {gap:.3g} apart; allowed: at most {2 * gap:.3g}, 'auto', or None.")
    return np.full(data.shape[1], h)


def binned_diag_log_likelihood(data: np.ndarray, mixture: Mixture, h: np.ndarray) -> float:
    """The rounded-data log-likelihood of a diagonal mixture on checked points (N, D), in float64:
    the check of :func:`fit_binned_diag`'s value, computed directly in data units."""
    sd = np.sqrt(np.diagonal(mixture.covariances, axis1=1, axis2=2))
    with jax.enable_x64(True):
        lp, _, _ = cell_terms(jnp.asarray(data), jnp.asarray(h, jnp.float64), jnp.log(jnp.asarray(mixture.weights)),
                              jnp.asarray(mixture.means), jnp.asarray(sd))
        return float(jnp.sum(logsumexp(lp, axis=1)))


__all__ = ["binned_diag_log_likelihood", "cell_terms", "column_resolutions", "fit_binned_diag"]
