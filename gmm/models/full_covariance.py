"""GenJAX generative functions for the Bayesian GMM with full covariance matrices, in D dimensions.

The model (the one-dimensional models are in :mod:`gmm.models.generative`)::

    pi ~ Dirichlet(alpha, ..., alpha)
    Sigma_k ~ Inverse-Wishart(dof, scale_matrix)        k = 1..K
    mu_k | Sigma_k ~ Normal(mean_loc, Sigma_k / kappa)
    z_i ~ Categorical(pi),  x_i | z_i ~ Normal(mu_{z_i}, Sigma_{z_i})   i = 1..N

(mu_k, Sigma_k) has the Normal-Inverse-Wishart prior (:class:`gmm.models.niw.NIWPrior`), conjugate to
the Gaussian. TFP has a Wishart distribution but no inverse one, so the model draws the
precision Lambda_k = Sigma_k^{-1} ~ Wishart(dof, scale_matrix^{-1}): the same prior on Sigma_k.

Addresses of ``bayesian_gmm_full(n, n_components, prior)``:
    ``"weights"``                    pi, shape (K,)
    ``"components" / "precision"``   Lambda_k, shape (K, D, D)
    ``"components" / "mean"``        mu_k, shape (K, D)
    ``"obs" / "z"``                  z_i, shape (N,)
    ``"obs" / "x"``                  x_i, shape (N, D)

The static sizes ``n`` (points) and ``n_components`` (K) are passed as ``genjax.Const``, positionally.
"""

from __future__ import annotations

import jax.numpy as jnp
import tensorflow_probability.substrates.jax.distributions as tfd
from genjax import Const, categorical, dirichlet, gen, tfp_distribution

from gmm.models.niw import NIWPrior

# Wishart(dof, S S^T) with S lower triangular, on D x D matrices.
wishart = tfp_distribution(lambda dof, scale_tril: tfd.WishartTriL(dof, scale_tril), name="wishart")
# Normal(loc, L L^T) with L lower triangular, on vectors of length D.
mvn_tril = tfp_distribution(lambda loc, scale_tril: tfd.MultivariateNormalTriL(loc, scale_tril), name="mvn_tril")


@gen
def niw_component(prior: NIWPrior):
    """One component's (mu, Sigma) from the Normal-Inverse-Wishart prior: the precision
    Sigma^{-1} ~ Wishart(dof, scale_matrix^{-1}), then mu ~ N(mean_loc, Sigma / kappa).
    Returns (mu (D,), chol(Sigma) (D, D))."""
    inv_scale_tril = jnp.linalg.cholesky(jnp.linalg.inv(prior.scale_matrix))
    precision = wishart(prior.dof, inv_scale_tril) @ "precision"
    cov_tril = jnp.linalg.cholesky(jnp.linalg.inv(precision))
    mean = mvn_tril(prior.mean_loc, cov_tril / jnp.sqrt(prior.kappa)) @ "mean"
    return mean, cov_tril


@gen
def assigned_point_full(weights, means, cov_trils):
    """One observation: z ~ Categorical(pi), x ~ N(mu_z, L_z L_z^T); means (K, D), Cholesky
    factors L (K, D, D)."""
    z = categorical(jnp.log(weights)) @ "z"
    x = mvn_tril(means[z], cov_trils[z]) @ "x"
    return x


@gen
def bayesian_gmm_full(n: Const[int], n_components: Const[int], prior: NIWPrior):
    """The Bayesian GMM with full covariances and explicit assignments; returns
    (pi (K,), mu (K, D), chol Sigma (K, D, D))."""
    weights = dirichlet(jnp.full(n_components.value, prior.alpha, dtype=jnp.float32)) @ "weights"
    means, cov_trils = niw_component.repeat(n=n_components.value)(prior) @ "components"
    assigned_point_full.repeat(n=n.value)(weights, means, cov_trils) @ "obs"
    return weights, means, cov_trils


__all__ = ["assigned_point_full", "bayesian_gmm_full", "mvn_tril", "niw_component", "wishart"]
