"""The Normal-Inverse-Wishart prior: conjugate to a Gaussian component in any dimension.

For one component with mean mu (D,) and covariance Sigma (D, D)::

    Sigma ~ Inverse-Wishart(dof, scale_matrix),   mu | Sigma ~ Normal(mean_loc, Sigma / kappa).

With n points of sums s1 = sum_i x_i and s2 = sum_i x_i x_i^T the posterior is NIW again:

    kappa_n = kappa + n,  dof_n = dof + n,  m_n = (kappa mean_loc + s1) / kappa_n,
    Psi_n = scale_matrix + s2 + kappa mean_loc mean_loc^T - kappa_n m_n m_n^T,

and the points' marginal likelihood, mu and Sigma integrated out, is closed-form
(Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution", eq. 266):

    log p(x_1..n) = -n D / 2 log(pi) + log Gamma_D(dof_n / 2) - log Gamma_D(dof / 2)
                    + dof / 2 log|scale_matrix| - dof_n / 2 log|Psi_n| + D / 2 log(kappa / kappa_n).

This is what makes exact enumeration, collapsed SMC and the collapsed Dirichlet-process
sampler (Neal 2000, Algorithm 3) possible in D dimensions. In one dimension the prior is the
Normal-Inverse-Gamma: sigma^2 ~ InverseGamma(dof / 2, scale / 2).

The functions below are traced JAX on checked arrays (float64 under ``jax.enable_x64``);
leading axes broadcast, so K components or P particles are one call.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import multigammaln

from gmm._util.numerics import robust_scale_columns
from gmm._util.validation import as_data, as_real_array, check_finite, check_positive, is_concrete
from gmm.models.generative import FieldsPytree


@jax.tree_util.register_pytree_node_class
class NIWPrior(FieldsPytree):
    """Hyperparameters of the Bayesian GMM with full covariances: pi ~ Dirichlet(alpha 1_K) and
    each (mu_k, Sigma_k) Normal-Inverse-Wishart (conjugate; see the module docstring).

    E[Sigma_k] = scale_matrix / (dof - D - 1) when dof > D + 1.

    Args:
        alpha: Dirichlet concentration (> 0); for :func:`gmm.dp_gibbs` not used (it has its own).
        mean_loc: prior centre of every mean, shape (D,), data units.
        kappa: prior pseudo-count of the means (> 0): small kappa, vague means.
        dof: degrees of freedom of the inverse Wishart (> D - 1).
        scale_matrix: its scale matrix, shape (D, D), symmetric positive definite, squared data units.

    Raises:
        ValueError: if a field is out of range or the shapes disagree.
    """

    _FIELDS = ("alpha", "mean_loc", "kappa", "dof", "scale_matrix")

    def __init__(self, alpha: Any, mean_loc: Any, kappa: Any, dof: Any, scale_matrix: Any):
        self.alpha, self.mean_loc, self.kappa, self.dof, self.scale_matrix = alpha, mean_loc, kappa, dof, scale_matrix
        if is_concrete(alpha, mean_loc, kappa, dof, scale_matrix):
            _check_fields(self)

    @property
    def dim(self) -> int:
        """Dimension D of a point."""
        return int(np.shape(self.mean_loc)[0])

    def __repr__(self) -> str:
        fmt = partial(np.array2string, precision=4, separator=", ")
        return (
            f"NIWPrior(alpha={float(self.alpha):g}, mean_loc={fmt(np.asarray(self.mean_loc))}, "
            f"kappa={float(self.kappa):g}, dof={float(self.dof):g}, scale_matrix={fmt(np.asarray(self.scale_matrix))})"
        )

    @classmethod
    def from_data(cls, x: Any, alpha: float = 1.0) -> "NIWPrior":
        """A weakly informative prior set by the data's location and spread.

        With m the column medians and s the columns' interquartile ranges / 1.349 (the sd
        for Gaussian data; robust to outliers): mean_loc = m; kappa = 0.01, so a mean may sit
        ten component-widths from m; dof = D + 2, the smallest whole value with a finite
        prior mean of Sigma_k, which is then scale_matrix = diag(s^2) / 4 (components about
        half as wide as the data). x has shape (N,) or (N, D).
        """
        data = as_data(x, ndim=None)
        data = data[:, None] if data.ndim == 1 else data
        loc, scale = robust_scale_columns(data)
        d = data.shape[1]
        return cls(alpha=alpha, mean_loc=loc, kappa=0.01, dof=float(d + 2), scale_matrix=np.diag(scale**2) / 4.0)

    def standardised(self, loc: np.ndarray, scale: np.ndarray) -> "NIWPrior":
        """The same prior for y = (x - loc) / scale (loc, scale: (D,)); float64 NumPy leaves."""
        m = (np.asarray(self.mean_loc, np.float64) - loc) / scale
        s = np.asarray(self.scale_matrix, np.float64) / np.outer(scale, scale)
        return NIWPrior.tree_unflatten(None, [float(self.alpha), m, float(self.kappa), float(self.dof), s])


def _check_fields(prior: NIWPrior) -> None:
    check_positive(prior.alpha, "prior.alpha")
    check_positive(prior.kappa, "prior.kappa")
    m = as_real_array(prior.mean_loc, "prior.mean_loc")
    if m.ndim != 1 or m.size == 0 or not np.all(np.isfinite(m)):
        raise ValueError(f"prior.mean_loc must be a finite vector of shape (D,), got {prior.mean_loc!r}.")
    d = m.size
    dof = check_finite(prior.dof, "prior.dof")
    if not dof > d - 1:
        raise ValueError(f"prior.dof must exceed D - 1 = {d - 1}, got {dof}.")
    s = as_real_array(prior.scale_matrix, "prior.scale_matrix")
    if s.shape != (d, d) or not np.all(np.isfinite(s)):
        raise ValueError(f"prior.scale_matrix must be a finite ({d}, {d}) matrix, got {prior.scale_matrix!r}.")
    if not np.allclose(s, s.T, rtol=1e-6, atol=0) or np.any(np.linalg.eigvalsh(s) <= 0):
        raise ValueError(f"prior.scale_matrix must be symmetric positive definite, got {s.tolist()}.")


def check_niw_prior(prior: Any, dim: int | None = None) -> NIWPrior:
    """Check a :class:`NIWPrior` (and its dimension against ``dim``); return it."""
    if not isinstance(prior, NIWPrior):
        raise ValueError(f"prior must be a gmm.NIWPrior or None, got {type(prior).__name__} {prior!r}.")
    _check_fields(prior)
    if dim is not None and prior.dim != dim:
        raise ValueError(f"prior.mean_loc has dimension {prior.dim} but the data have D = {dim} columns.")
    return prior


def resolve_niw_prior(prior: NIWPrior | None, data: np.ndarray) -> NIWPrior:
    """``prior`` checked against data (N, D), or :meth:`NIWPrior.from_data` when None."""
    return NIWPrior.from_data(data) if prior is None else check_niw_prior(prior, data.shape[1])


# ---------------------------------------------------------------------------
# Conjugate algebra (traced)
# ---------------------------------------------------------------------------


def sufficient_stats(y: jax.Array, onehot: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-component count n (K,), sum s1 (K, D) and sum of outer products s2 (K, D, D) of
    the points y (N, D) assigned by ``onehot`` (N, K) (rows may also be weights)."""
    return onehot.sum(axis=0), onehot.T @ y, jnp.einsum("nk,nd,ne->kde", onehot, y, y)


def posterior(prior: NIWPrior, n: jax.Array, s1: jax.Array, s2: jax.Array):
    """NIW posterior (kappa_n, m_n, dof_n, Psi_n) from the statistics; leading axes broadcast."""
    kappa_n = prior.kappa + n
    m_n = (prior.kappa * prior.mean_loc + s1) / kappa_n[..., None]
    m0 = prior.mean_loc
    psi_n = (prior.scale_matrix + s2 + prior.kappa * jnp.outer(m0, m0)
             - kappa_n[..., None, None] * m_n[..., :, None] * m_n[..., None, :])
    return kappa_n, m_n, prior.dof + n, 0.5 * (psi_n + jnp.swapaxes(psi_n, -1, -2))


def _half_log_det(a: jax.Array) -> jax.Array:
    return jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(a), axis1=-2, axis2=-1)), axis=-1)


def log_marginal(prior: NIWPrior, n: jax.Array, s1: jax.Array, s2: jax.Array) -> jax.Array:
    """log p(points) of one component's points, mu and Sigma integrated out (the module's
    formula); 0 for an empty component. Shape: the leading shape of n."""
    d = s1.shape[-1]
    kappa_n, _, dof_n, psi_n = posterior(prior, n, s1, s2)
    return (-0.5 * n * d * math.log(math.pi)
            + multigammaln(0.5 * dof_n, d) - multigammaln(0.5 * prior.dof, d)
            + prior.dof * _half_log_det(prior.scale_matrix) - dof_n * _half_log_det(psi_n)
            + 0.5 * d * (jnp.log(prior.kappa) - jnp.log(kappa_n)))


def log_predictive(prior: NIWPrior, n: jax.Array, s1: jax.Array, s2: jax.Array, y: jax.Array) -> jax.Array:
    """log p(y | a component's points) for a new point y (D,): a multivariate Student-t,
    computed as log p(points + y) - log p(points). Leading axes of the statistics broadcast."""
    return (log_marginal(prior, n + 1, s1 + y, s2 + jnp.outer(y, y))
            - log_marginal(prior, n, s1, s2))


__all__ = ["NIWPrior", "check_niw_prior", "log_marginal", "log_predictive", "posterior",
           "resolve_niw_prior", "sufficient_stats"]
