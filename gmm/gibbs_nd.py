"""The Bayesian Gaussian mixture in D dimensions, and its conjugate Gibbs sampler.

Model (written with GenJAX below, :func:`bayesian_gmm_nd`)::

    pi ~ Dirichlet(alpha, ..., alpha)
    Sigma_k ~ Inverse-Wishart(dof, scale_matrix)        k = 1..K
    mu_k | Sigma_k ~ Normal(mean_loc, Sigma_k / kappa)
    z_i ~ Categorical(pi),  x_i | z_i ~ Normal(mu_{z_i}, Sigma_{z_i})   i = 1..N

(mu_k, Sigma_k) has the Normal-Inverse-Wishart prior, conjugate to the Gaussian, so every
conditional of the Gibbs sampler is a known distribution. The model draws the precision
Lambda_k = Sigma_k^{-1} ~ Wishart(dof, scale_matrix^{-1}) (TFP has a Wishart, not an inverse
one); that is the same prior on Sigma_k.

Addresses of ``bayesian_gmm_nd(n, k, prior)``:
    ``"weights"``                    pi, shape (K,)
    ``"components" / "precision"``   Lambda_k, shape (K, D, D)
    ``"components" / "mean"``        mu_k, shape (K, D)
    ``"obs" / "z"``                  z_i, shape (N,)
    ``"obs" / "x"``                  x_i, shape (N, D)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow_probability.substrates.jax.distributions as tfd
from genjax import Const, categorical, dirichlet, gen, tfp_distribution
from jax.scipy.special import logsumexp

from gmm import diagnostics
from gmm._validation import (
    check_chain_sizes, check_finite, check_key, check_n_components, check_positive, check_positive_int, is_concrete,
)
from gmm.em_nd import standardise
from gmm.mixture_nd import as_data_nd
from gmm import niw
from gmm.niw import NIWPrior, resolve_niw_prior

# ---------------------------------------------------------------------------
# Prior and model
# ---------------------------------------------------------------------------


wishart = tfp_distribution(lambda dof, scale_tril: tfd.WishartTriL(dof, scale_tril), name="wishart")
mvn_tril = tfp_distribution(lambda loc, scale_tril: tfd.MultivariateNormalTriL(loc, scale_tril), name="mvn_tril")


@gen
def component_nd(prior: NIWPrior):
    """One component's (mu, Sigma) from the Normal-Inverse-Wishart prior; returns (mu, chol(Sigma))."""
    inv_scale_tril = jnp.linalg.cholesky(jnp.linalg.inv(prior.scale_matrix))
    precision = wishart(prior.dof, inv_scale_tril) @ "precision"
    cov_tril = jnp.linalg.cholesky(jnp.linalg.inv(precision))
    mean = mvn_tril(prior.mean_loc, cov_tril / jnp.sqrt(prior.kappa)) @ "mean"
    return mean, cov_tril


@gen
def assigned_point_nd(weights, means, cov_trils):
    """One observation: z ~ Categorical(pi), x ~ N(mu_z, L_z L_z^T) (L: Cholesky factors, (K, D, D))."""
    z = categorical(jnp.log(weights)) @ "z"
    x = mvn_tril(means[z], cov_trils[z]) @ "x"
    return x


@gen
def bayesian_gmm_nd(n: Const[int], k: Const[int], prior: NIWPrior):
    """The D-dimensional Bayesian GMM with explicit assignments; returns (pi, mu (K, D), chol Sigma (K, D, D))."""
    weights = dirichlet(jnp.full(k.value, prior.alpha, dtype=jnp.float32)) @ "weights"
    means, cov_trils = component_nd.repeat(n=k.value)(prior) @ "components"
    assigned_point_nd.repeat(n=n.value)(weights, means, cov_trils) @ "obs"
    return weights, means, cov_trils


# ---------------------------------------------------------------------------
# Gibbs sampler (standardised units, float32)
# ---------------------------------------------------------------------------


def _component_columns(y, weights, means, cov_trils) -> jax.Array:
    """log pi_k + log N(y_i | mu_k, Sigma_k) as GenJAX scores of ``assigned_point_nd``, shape (N, K)."""

    def column(k: int) -> jax.Array:
        zk = jnp.asarray(k, jnp.int32)
        return jax.vmap(lambda yi: assigned_point_nd.assess({"z": zk, "x": yi}, weights, means, cov_trils)[0])(y)

    return jnp.stack([column(k) for k in range(weights.shape[0])], axis=1)


def _inv_wishart_tril(chi2, normals, psi):
    """A Cholesky factor of Sigma ~ IW(dof, Psi) (Bartlett): with Psi = C C^T and A lower triangular,
    A_ii^2 = chi2_i ~ chi2(dof - i), A_ij = normals_ij ~ N(0, 1) below the diagonal,
    Sigma = (C A^{-T})(C A^{-T})^T. Takes the random variates, shapes (D,) and (D, D)."""
    d = psi.shape[-1]
    a = jnp.tril(normals, -1) + jnp.diag(jnp.sqrt(chi2))
    c = jnp.linalg.cholesky(psi)
    a_inv = jax.scipy.linalg.solve_triangular(a, jnp.eye(d, dtype=psi.dtype), lower=True)
    b = c @ a_inv.T
    cov = b @ b.T
    return jnp.linalg.cholesky(0.5 * (cov + cov.T))


def _sweep(key, state, y, prior):
    """z | theta (GenJAX scores); pi | z ~ Dirichlet(alpha + n_k); (mu_k, Sigma_k) | z ~ NIW posterior."""
    z, weights, means, cov_trils = state
    k = weights.shape[0]
    k_z, k_w, k_s, k_m = jax.random.split(key, 4)
    z = jax.random.categorical(k_z, _component_columns(y, weights, means, cov_trils), axis=1)
    onehot = jax.nn.one_hot(z, k, dtype=y.dtype)
    counts = onehot.sum(axis=0)
    kappa_n, m_n, dof_n, psi_n = niw.posterior(prior, *niw.sufficient_stats(y, onehot))
    # One call to the gamma sampler for the Dirichlet (K variates) and the Bartlett chi-squares
    # (K x D): each call of it adds seconds of compilation.
    d = y.shape[1]
    shapes = jnp.concatenate([prior.alpha + counts, ((dof_n[:, None] - jnp.arange(d, dtype=y.dtype)) / 2.0).ravel()])
    g = jax.random.gamma(k_w, shapes)
    weights = g[:k] / g[:k].sum()
    normals = jax.random.normal(k_s, (k, d, d), y.dtype)
    cov_trils = jax.vmap(_inv_wishart_tril)(2.0 * g[k:].reshape(k, d), normals, psi_n)
    eps = jax.random.normal(k_m, m_n.shape, y.dtype)
    means = m_n + jnp.einsum("kde,ke->kd", cov_trils, eps) / jnp.sqrt(kappa_n)[:, None]
    # Floor the weights: a component that lost every point can get pi_k = 0 in float32.
    weights = jnp.maximum(weights, jnp.finfo(y.dtype).tiny)
    return z, weights / weights.sum(), means, cov_trils


def _init_chain(key, y, k: int):
    """Means at K points picked with k-means++ (D^2) weighting, equal weights, covariances I / K."""

    def pick(carry, key_j):
        centres, j = carry
        d2 = jnp.min(jnp.where(jnp.arange(k) < j, jnp.sum((y[:, None] - centres) ** 2, -1), jnp.inf), axis=1)
        d2 = jnp.where(j == 0, 1.0, d2)
        logits = jnp.where(d2.sum() > 0, jnp.log(d2), 0.0)
        return (centres.at[j].set(y[jax.random.categorical(key_j, logits)]), j + 1), None

    (centres, _), _ = jax.lax.scan(pick, (jnp.zeros((k, y.shape[1]), y.dtype), 0), jax.random.split(key, k))
    tril = jnp.broadcast_to(jnp.eye(y.shape[1], dtype=y.dtype) / jnp.sqrt(k), (k, y.shape[1], y.shape[1]))
    return jnp.zeros(y.shape[0], jnp.int32), jnp.full(k, 1.0 / k, y.dtype), centres, tril


def _relabel(weights, means, cov_trils):
    """Order components by the first coordinate of their means."""
    order = jnp.argsort(means[:, 0])
    return weights[order], means[order], cov_trils[order]


@partial(jax.jit, static_argnames=("k", "n_samples", "n_warmup", "n_chains"))
def _gibbs_run(key, y, prior, k: int, n_samples: int, n_warmup: int, n_chains: int):
    """``lax.map`` over chains of one ``lax.scan`` over warmup + kept sweeps; returns relabelled draws
    and the running mean of the responsibilities (Rao-Blackwellised assignment probabilities).

    The chains run one after another rather than under ``vmap``: batching the Cholesky factors,
    triangular solves and gamma sampler doubles the compilation time, and the data are small.
    """

    def chain(key_c):
        k_init, k_run = jax.random.split(key_c)
        state = _init_chain(k_init, y, k)

        def step(carry, inp):
            state, resp_sum = carry
            t, key_t = inp
            state = _sweep(key_t, state, y, prior)
            w, m, l = _relabel(*state[1:])
            keep = jnp.where(t < n_warmup, 0.0, 1.0)
            resp_sum = resp_sum + keep * jax.nn.softmax(_component_columns(y, w, m, l), axis=1)
            return (state, resp_sum), (w, m, l)

        steps = jnp.arange(n_warmup + n_samples)
        (_, resp_sum), (w, m, l) = jax.lax.scan(
            step, (state, jnp.zeros((y.shape[0], k), y.dtype)), (steps, jax.random.split(k_run, steps.size))
        )
        return w[n_warmup:], m[n_warmup:], l[n_warmup:], resp_sum / n_samples

    w, m, l, resp = jax.lax.map(chain, jax.random.split(key, n_chains))
    return w, m, l, resp.mean(axis=0)


@jax.jit
def _mean_density(points, weights, means, cov_trils):
    """Average over draws (leading axis) of the mixture density at points (M, D), shape (M,)."""
    d = points.shape[1]

    def add(total, theta):
        w, m, l = theta
        eye = jnp.broadcast_to(jnp.eye(d, dtype=l.dtype), l.shape)
        inv = jax.scipy.linalg.solve_triangular(l, eye, lower=True)  # L^{-1}, (K, D, D)
        white = jnp.einsum("kde,ne->nkd", inv, points) - jnp.einsum("kde,ke->kd", inv, m)
        log_det = jnp.sum(jnp.log(jnp.diagonal(l, axis1=-2, axis2=-1)), axis=-1)
        lp = jnp.log(w) - log_det - 0.5 * jnp.sum(white * white, axis=-1) - 0.5 * d * jnp.log(2 * jnp.pi)
        return total + jnp.exp(logsumexp(lp, axis=1)), None

    total, _ = jax.lax.scan(add, jnp.zeros(points.shape[0], points.dtype), (weights, means, cov_trils))
    return total / weights.shape[0]


@dataclass(frozen=True)
class GibbsPosteriorND:
    """Outcome of :func:`gibbs_nd`: draws relabelled by the first coordinate of the means.

    Attributes:
        weights: mixing proportions, shape (n_chains, n_samples, K).
        means: component means, shape (n_chains, n_samples, K, D), data units.
        covariances: component covariance matrices, shape (n_chains, n_samples, K, D, D),
            squared data units.
        assignment_probs: P(z_i = k | x), shape (N, K), rows sum to 1: the average over all
            kept draws of P(z_i = k | theta, x_i), in the relabelled order.
        rhat: rank-normalised split R-hat, ``{"weights": (K,), "means": (K, D), "covariances": (K, D, D)}``.
        ess: bulk effective sample size, same layout.
        prior: the :class:`NIWPrior` used (data units).
        data: the observations, shape (N, D).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    assignment_probs: np.ndarray
    rhat: dict[str, np.ndarray]
    ess: dict[str, np.ndarray]
    prior: NIWPrior
    data: np.ndarray

    @property
    def n_chains(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[2])

    @property
    def dim(self) -> int:
        return int(self.means.shape[3])

    def posterior_mean(self) -> dict[str, np.ndarray]:
        """Posterior means of the relabelled weights (K,), means (K, D) and covariances (K, D, D)."""
        return {f: getattr(self, f).mean(axis=(0, 1)) for f in ("weights", "means", "covariances")}

    def predictive_density(self, grid_points: Any, max_draws: int = 1000) -> np.ndarray:
        """Posterior predictive density p(x_new | x) = E[sum_k pi_k N(x_new | mu_k, Sigma_k) | x], shape (M,).

        Args:
            grid_points: points of shape (M, D), data units. The average runs over at most
                ``max_draws`` evenly spaced draws (pooled over chains), in standardised float32
                units; the density is mapped back (divided by prod_d s_d), so it is per unit
                of the data.
            max_draws: the most draws averaged (>= 1).
        """
        pts = as_data_nd(grid_points, "grid_points", dim=self.dim)
        max_draws = check_positive_int(max_draws, "max_draws")
        loc, scale = standardise(self.data)
        k, d = self.n_components, self.dim
        total = self.n_chains * self.n_samples
        idx = np.linspace(0, total - 1, min(max_draws, total)).astype(int)
        w = jnp.asarray(self.weights.reshape(-1, k)[idx], jnp.float32)
        m = jnp.asarray(((self.means - loc) / scale).reshape(-1, k, d)[idx], jnp.float32)
        c = self.covariances.reshape(-1, k, d, d)[idx] / np.outer(scale, scale)
        l = jnp.asarray(np.linalg.cholesky(c), jnp.float32)
        y = jnp.asarray((pts - loc) / scale, jnp.float32)
        return np.asarray(_mean_density(y, w, m, l), np.float64) / float(np.prod(scale))

    def to_arviz(self):
        """The draws as an ArviZ ``DataTree`` (posterior: weights, means, covariances; observed_data: x)."""
        k, d = self.n_components, self.dim
        return diagnostics.to_datatree(
            {"weights": self.weights, "means": self.means, "covariances": self.covariances},
            dims={"weights": ["component"], "means": ["component", "dim"], "covariances": ["component", "dim", "dim_b"]},
            coords={"component": np.arange(k), "dim": np.arange(d), "dim_b": np.arange(d)},
            observed_data={"x": self.data},
        )


def gibbs_nd(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: NIWPrior | None = None,
    n_samples: int = 1000,
    n_warmup: int = 500,
    n_chains: int = 4,
) -> GibbsPosteriorND:
    """Conjugate Gibbs sampling for the D-dimensional Bayesian GMM, several chains.

    Each sweep: (a) every z_i from P(z_i = k | theta, x_i) ∝ exp of
    ``assigned_point_nd.assess({"z": k, "x": x_i}, pi, mu, L)``; (b) pi ~ Dirichlet(alpha + n_k);
    (c) for each k, (mu_k, Sigma_k) from its Normal-Inverse-Wishart posterior
    (:func:`gmm.niw.posterior`): Sigma_k ~ IW(dof_n, Psi_n), then mu_k ~ N(m_n, Sigma_k / kappa_n).
    The sampler runs on the data standardised per dimension (the prior mapped with them, which
    the NIW family allows exactly) in float32; draws are mapped back in float64 and relabelled
    by the first coordinate of the means. Warns (``RuntimeWarning``) when an R-hat exceeds
    1.01 or a bulk ESS is below 100.

    Args:
        key: ``jax.random`` key; the same key gives the same draws.
        x: observations, shape (N, D), finite numbers.
        n_components: K, an integer in [1, N] (K = 1 gives the exact NIW posterior).
        prior: a :class:`NIWPrior`, or None for :meth:`NIWPrior.from_data`.
        n_samples: kept sweeps per chain (>= 4).
        n_warmup: discarded sweeps per chain (>= 1).
        n_chains: independent chains (>= 1; R-hat needs >= 2).

    Returns:
        A :class:`GibbsPosteriorND`.

    Raises:
        ValueError: on bad data, K, prior, or counts.
    """
    key = check_key(key)
    data = as_data_nd(x)
    k = check_n_components(n_components, data.shape[0])
    prior = resolve_niw_prior(prior, data)
    n_samples, n_warmup, n_chains = check_chain_sizes(n_samples, n_warmup, n_chains)
    n, d = data.shape
    if n_chains * n_samples * k * d * d > 2**27:
        raise ValueError(
            f"n_chains * n_samples = {n_chains * n_samples} draws of {k} covariance matrices ({d}x{d}) "
            "would not fit comfortably in memory; keep fewer draws."
        )

    loc, scale = standardise(data)
    prior_std = NIWPrior.tree_unflatten(None, [
        jnp.float32(prior.alpha),
        jnp.asarray((np.asarray(prior.mean_loc, np.float64) - loc) / scale, jnp.float32),
        jnp.float32(prior.kappa),
        jnp.float32(prior.dof),
        jnp.asarray(np.asarray(prior.scale_matrix, np.float64) / np.outer(scale, scale), jnp.float32),
    ])
    y = jnp.asarray((data - loc) / scale, jnp.float32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Explicitly requested dtype", category=UserWarning)
        w, m, l, resp = _gibbs_run(key, y, prior_std, k, n_samples, n_warmup, n_chains)
    l = np.asarray(l, np.float64)
    draws = {
        "weights": np.asarray(w, np.float64),
        "means": loc + scale * np.asarray(m, np.float64),
        "covariances": (l @ np.swapaxes(l, -1, -2)) * np.outer(scale, scale),
    }
    rhat = {name: diagnostics.rhat(v) for name, v in draws.items()}
    ess = {name: diagnostics.ess(v) for name, v in draws.items()}
    diagnostics.warn_if_unconverged(
        rhat, ess, sampler="gibbs_nd",
        advice="Run longer chains (n_samples, n_warmup); if R-hat stays high, the chains found different "
        "modes: try another K or a more informative prior.",
    )
    resp = np.asarray(resp, np.float64)
    return GibbsPosteriorND(
        weights=draws["weights"], means=draws["means"], covariances=draws["covariances"],
        assignment_probs=resp / resp.sum(axis=1, keepdims=True), rhat=rhat, ess=ess, prior=prior, data=data,
    )


__all__ = [
    "GibbsPosteriorND",
    "assigned_point_nd",
    "bayesian_gmm_nd",
    "component_nd",
    "gibbs_nd",
]
