"""The Chinese restaurant process and the Dirichlet process mixture as GenJAX programs.

Generative functions (addresses in quotes):

``crp_process(n, concentration)``, the Chinese restaurant process for ``n`` customers:
    ``"seating" / "table"``  table of each customer, int, shape (n,); tables are numbered
                             0, 1, 2, ... in the order they are opened.

``stick_breaking(n, concentration)``, the first ``n`` sticks of the DP's weights:
    ``"fractions"``          v_j ~ Beta(1, concentration), shape (n,);
                             returns pi_j = v_j prod_{l<j} (1 - v_l), shape (n,).

``cluster_params(prior)``, the base measure G0 of one cluster:
    ``"mean"``               mu ~ Normal(mean_loc, mean_scale)
    ``"std"``                sigma ~ Gamma(std_shape, std_rate) (shape-rate; for ``Prior.inverse_gamma_variance``, sigma^2 ~ InverseGamma(var_shape, var_scale))

``dp_point(mean, std)``, one observation given its cluster: ``"x"`` ~ Normal(mean, std).

``dp_mixture(n, concentration, prior)``, the DP mixture of Gaussians for ``n`` points:
    ``"crp" / "seating" / "table"``   the partition, shape (n,)
    ``"clusters" / "mean"``, ``"clusters" / "std"``   parameters of tables 0..n-1, shape (n,)
    ``"obs" / "x"``                   the observations, shape (n,)

At most ``n`` tables can be occupied by ``n`` points, so ``n`` parameter slots make
the program an exact (not truncated) description of the DP mixture's law of the data.

Plain functions: :func:`crp_sample` simulates the CRP, :func:`crp_n_clusters_pmf` is
the exact law of the number of tables and :func:`crp_expected_clusters` its mean.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from genjax import Const, Scan, beta, categorical, const, gen, normal, seed
from scipy.special import gammaln

from gmm._util.validation import check_key, check_positive, check_positive_int
from gmm.models.generative import Prior, std_distribution

_MAX_PMF_N = 100_000  # the Stirling recursion is O(n^2) in time, O(n) in memory


@gen
def _seat_customer(carry, _):
    """One customer: an occupied table with probability n_t / (i + alpha), a new one with
    alpha / (i + alpha). Tables are numbered in order of opening, so the new table is
    number (tables opened so far)."""
    counts, concentration = carry
    opened = jnp.sum(counts > 0)
    slots = jnp.arange(counts.shape[0])
    logits = jnp.where(
        counts > 0,
        jnp.log(jnp.where(counts > 0, counts, 1.0)),
        jnp.where(slots == opened, jnp.log(concentration), -jnp.inf),
    )
    table = categorical(logits) @ "table"
    return (counts.at[table].add(1.0), concentration), table


@gen
def crp_process(n: Const[int], concentration):
    """Chinese restaurant process: the table of each of ``n`` customers, int array (n,)."""
    start = (jnp.zeros(n.value, jnp.float32), jnp.asarray(concentration, jnp.float32))
    _, tables = Scan(_seat_customer, length=n)(start, jnp.arange(n.value)) @ "seating"
    return tables


@gen
def stick_breaking(n: Const[int], concentration):
    """The first ``n`` weights of a DP, pi_j = v_j prod_{l<j} (1 - v_l), v_j ~ Beta(1, alpha)."""
    v = beta.repeat(n=n.value)(1.0, concentration) @ "fractions"
    left = jnp.concatenate([jnp.ones(1), jnp.cumprod(1.0 - v)[:-1]])
    return v * left


@gen
def cluster_params(prior: Prior):
    """One draw from the base measure G0: (mu, sigma), mu ~ Normal, sigma ~ Gamma (shape-rate)."""
    mean = normal(prior.mean_loc, prior.mean_scale) @ "mean"
    std = std_distribution(prior)(*prior.std_params) @ "std"
    return mean, std


@gen
def dp_point(mean, std):
    """One observation given its cluster's parameters: x ~ Normal(mean, std)."""
    return normal(mean, std) @ "x"


@gen
def dp_mixture(n: Const[int], concentration, prior: Prior):
    """DP mixture of Gaussians: a CRP partition, G0 parameters per table, then the points."""
    tables = crp_process(n, concentration) @ "crp"
    means, stds = cluster_params.repeat(n=n.value)(prior) @ "clusters"
    return dp_point.vmap(in_axes=(0, 0))(means[tables], stds[tables]) @ "obs"


def crp_sample(key: Any, n: int, concentration: float, n_draws: int | None = None) -> np.ndarray:
    """Simulate the CRP (``crp_process``): table labels, shape (n,) or (n_draws, n), int.

    Tables are numbered 0, 1, ... in order of opening, so the number of occupied tables
    of a draw is ``labels.max() + 1``.
    """
    key = check_key(key)
    n = check_positive_int(n, "n")
    concentration = check_positive(concentration, "concentration")
    if n_draws is not None:
        n_draws = check_positive_int(n_draws, "n_draws")
    if (n_draws or 1) * n > 50_000_000:
        raise ValueError(f"n_draws x n = {(n_draws or 1) * n} labels would not fit in memory; at most 5e7.")
    return np.asarray(_crp_draws(key, n, n_draws or 1, jnp.float32(concentration)))[0 if n_draws is None else slice(None)]


@jax.jit(static_argnames=("n", "n_draws"))
def _crp_draws(key, n: int, n_draws: int, concentration):
    simulate = seed(crp_process.simulate)
    return jax.vmap(lambda k: simulate(k, const(n), concentration).get_retval())(jax.random.split(key, n_draws))


def stick_weights(key: Any, concentration: float, n_sticks: int, n_draws: int | None = None) -> np.ndarray:
    """Simulate ``stick_breaking``: the first ``n_sticks`` DP weights, shape (n_sticks,)
    or (n_draws, n_sticks), float64."""
    key = check_key(key)
    concentration = check_positive(concentration, "concentration")
    n_sticks = check_positive_int(n_sticks, "n_sticks")
    if n_draws is not None:
        n_draws = check_positive_int(n_draws, "n_draws")
    if (n_draws or 1) * n_sticks > 50_000_000:
        raise ValueError(f"n_draws x n_sticks = {(n_draws or 1) * n_sticks} weights would not fit in memory; at most 5e7.")
    out = np.asarray(_stick_draws(key, n_sticks, n_draws or 1, jnp.float32(concentration)), np.float64)
    return out[0] if n_draws is None else out


@jax.jit(static_argnames=("n_sticks", "n_draws"))
def _stick_draws(key, n_sticks: int, n_draws: int, concentration):
    simulate = seed(stick_breaking.simulate)
    return jax.vmap(lambda k: simulate(k, const(n_sticks), concentration).get_retval())(jax.random.split(key, n_draws))


def _log_unsigned_stirling_row(n: int) -> np.ndarray:
    """log ``|s(n, k)|`` for k = 0..n (unsigned Stirling numbers of the first kind), shape (n+1,).

    Recursion |s(j+1, k)| = j |s(j, k)| + |s(j, k-1)|, in log space (the numbers overflow
    float64 beyond n ~ 170).
    """
    row = np.full(n + 1, -np.inf)
    row[0] = 0.0
    with np.errstate(divide="ignore"):
        for j in range(n):
            new = np.full(n + 1, -np.inf)
            new[1 : j + 2] = np.logaddexp(np.log(j) + row[1 : j + 2] if j > 0 else -np.inf, row[0 : j + 1])
            row = new
    return row


def crp_n_clusters_pmf(n: int, concentration: float) -> np.ndarray:
    """Exact law of the number of occupied tables K of a CRP with n customers, shape (n+1,).

    Entry k is P(K = k) = alpha^k c(n, k) Gamma(alpha) / Gamma(alpha + n), with c(n, k) = ``|s(n, k)|``
    the unsigned Stirling numbers of the first kind (entry 0 is 0 for n >= 1). Computed in
    log space, O(n^2) time.
    """
    n = check_positive_int(n, "n")
    if n > _MAX_PMF_N:
        raise ValueError(f"n must be at most {_MAX_PMF_N} (the recursion is O(n^2)), got {n}.")
    alpha = check_positive(concentration, "concentration")
    k = np.arange(n + 1)
    log_p = k * np.log(alpha) + _log_unsigned_stirling_row(n) + gammaln(alpha) - gammaln(alpha + n)
    return np.exp(log_p)


def crp_expected_clusters(n: int, concentration: Any) -> np.ndarray | float:
    """E[K] = sum_{i=1}^{n} alpha / (alpha + i - 1), the expected number of occupied tables.

    ``concentration`` may be an array (the result then has its shape); about alpha log(1 + n / alpha).
    """
    n = check_positive_int(n, "n")
    alpha = np.asarray(concentration, np.float64)
    if not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
        raise ValueError(f"concentration must be finite and > 0, got {concentration!r}.")
    i = np.arange(n, dtype=np.float64)
    out = np.sum(alpha[..., None] / (alpha[..., None] + i), axis=-1)
    return float(out) if out.ndim == 0 else out


__all__ = [
    "cluster_params",
    "crp_expected_clusters",
    "crp_n_clusters_pmf",
    "crp_process",
    "crp_sample",
    "dp_mixture",
    "dp_point",
    "stick_breaking",
    "stick_weights",
]
