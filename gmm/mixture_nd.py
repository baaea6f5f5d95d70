"""Known-parameter Gaussian mixtures in D dimensions.

A :class:`MixtureND` holds K weights pi_k, mean vectors mu_k (D,) and covariance
matrices Sigma_k (D, D); its density is

    p(x) = sum_k pi_k N(x | mu_k, Sigma_k),
    log N(x | mu, Sigma) = -D/2 log(2 pi) - sum_d log L_dd - |L^{-1} (x - mu)|^2 / 2,

with L the lower Cholesky factor of Sigma (Sigma = L L^T). It is the D-dimensional
sibling of :class:`gmm.Mixture`: the same methods, with points of shape (N, D)
instead of (N,).

Parameters are float64 NumPy arrays and the densities are computed in float64
(NumPy), so the numbers a reader sees are the numbers the mixture holds. Inside
``jax.jit`` (traced leaves) the same formulas run in JAX.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gmm._validation import as_data, check_key, check_positive_int, is_concrete
from gmm.mixture import check_finite_and_weights

_WEIGHT_TOL = 1e-4
COVARIANCE_TYPES = ("full", "diag")


def as_data_nd(x: Any, name: str = "x", dim: int | None = None) -> np.ndarray:
    """Check observations and return them as a float64 NumPy array of shape (N, D).

    Allowed: a non-empty 2-D array of finite real numbers (one row per point), with
    ``dim`` columns when ``dim`` is given (:func:`gmm._validation.as_data` with ``ndim=2``).
    """
    return as_data(x, name, ndim=2, dim=dim)


def check_covariance_type(covariance_type: Any) -> str:
    """``"full"`` (any symmetric positive definite matrix) or ``"diag"`` (zero off-diagonals)."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be 'full' or 'diag', got {covariance_type!r}.")
    return covariance_type


def _check_params(weights: Any, means: Any, covariances: Any, covariance_type: str):
    try:
        w = np.asarray(weights, dtype=np.float64)
        m = np.asarray(means, dtype=np.float64)
        c = np.asarray(covariances, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"weights, means and covariances must be numeric arrays: {err}") from None
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array of shape (K,), got shape {w.shape}.")
    k = w.size
    if m.ndim != 2 or m.shape[0] != k:
        raise ValueError(f"means must have shape ({k}, D) to match the {k} weights, got shape {m.shape}.")
    d = m.shape[1]
    if c.shape != (k, d, d):
        raise ValueError(f"covariances must have shape ({k}, {d}, {d}), got shape {c.shape}.")
    check_finite_and_weights({"weights": w, "means": m, "covariances": c})
    scale = np.maximum(np.abs(c).max(axis=(1, 2)), np.finfo(np.float64).tiny)
    asym = np.abs(c - np.swapaxes(c, 1, 2)).max(axis=(1, 2)) / scale
    if np.any(asym > 1e-6):
        j = int(np.argmax(asym))
        raise ValueError(f"covariances must be symmetric; covariances[{j}] is not: {c[j].tolist()}.")
    for j in range(k):
        if np.any(np.linalg.eigvalsh(c[j]) <= 0):
            raise ValueError(f"covariances must be positive definite; covariances[{j}] = {c[j].tolist()} is not.")
    if covariance_type == "diag":
        off = c * (1.0 - np.eye(d))
        if np.any(off != 0):
            raise ValueError("covariance_type='diag' needs covariances with zero off-diagonal entries.")
    return w, m, c


def component_log_prob_xp(xp, x, weights, means, covariances):
    """log pi_k + log N(x_i | mu_k, Sigma_k), shape (N, K), with ``xp`` = numpy or jax.numpy.

    Cholesky-based: with L_k = chol(Sigma_k) and P_k = L_k^{-T}, the whitened points are
    y = x P_k - mu_k P_k, so the (N, K, D) work is one matrix product (no per-point solves).
    """
    d = means.shape[-1]
    chol = xp.linalg.cholesky(covariances)  # (K, D, D)
    prec_chol = xp.swapaxes(xp.linalg.inv(chol), -1, -2)  # (K, D, D), upper triangular
    y = xp.einsum("nd,kde->nke", x, prec_chol) - xp.einsum("kd,kde->ke", means, prec_chol)
    log_det = xp.sum(xp.log(xp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)  # (K,)
    with np.errstate(divide="ignore"):
        log_w = xp.log(weights)
    return log_w - 0.5 * d * math.log(2 * math.pi) - log_det - 0.5 * xp.sum(y * y, axis=-1)


def _logsumexp_np(a: np.ndarray) -> np.ndarray:
    top = np.max(a, axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


@jax.tree_util.register_pytree_node_class
class MixtureND:
    """A K-component Gaussian mixture in D dimensions with known parameters (a JAX pytree).

    Args:
        weights: mixing proportions pi, shape (K,), non-negative, summing to 1.
        means: component means mu_k, shape (K, D), in the data's units.
        covariances: component covariance matrices Sigma_k, shape (K, D, D), symmetric
            positive definite, in squared data units (entry (d, e) in units of d times e).
        covariance_type: ``"full"`` or ``"diag"``. A diagonal mixture stores full matrices
            whose off-diagonal entries are zero (checked), so every method is shared; the
            type only changes :attr:`n_parameters` (D variances per component, not D(D+1)/2).

    Raises:
        ValueError: if shapes disagree, a weight is negative, the weights do not sum to 1,
            or a covariance is not symmetric positive definite (or not diagonal for "diag").

    The leaves are float64 NumPy arrays when built from concrete values; inside ``jit``
    they may be tracers, and the density methods then run in JAX.
    """

    def __init__(self, weights: Any, means: Any, covariances: Any, covariance_type: str = "full"):
        covariance_type = check_covariance_type(covariance_type)
        if is_concrete(weights, means, covariances):
            weights, means, covariances = _check_params(weights, means, covariances, covariance_type)
        self.weights = weights
        self.means = means
        self.covariances = covariances
        self.covariance_type = covariance_type

    def tree_flatten(self):
        return (self.weights, self.means, self.covariances), self.covariance_type

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        obj.weights, obj.means, obj.covariances = children
        obj.covariance_type = aux
        return obj

    def __repr__(self) -> str:
        def fmt(a):
            return np.array2string(np.asarray(a), precision=4, separator=", ")

        return (
            f"MixtureND(weights={fmt(self.weights)},\n  means={fmt(self.means)},\n"
            f"  covariances={fmt(self.covariances)},\n  covariance_type={self.covariance_type!r})"
        )

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return int(np.shape(self.weights)[0])

    @property
    def dim(self) -> int:
        """Dimension D of a point."""
        return int(np.shape(self.means)[1])

    @property
    def n_parameters(self) -> int:
        """Number of free parameters, K - 1 weights plus K D means plus K D(D+1)/2 ("full")
        or K D ("diag") covariance entries."""
        return n_parameters_nd(self.n_components, self.dim, self.covariance_type)

    def _xp(self, x):
        return np if is_concrete(x, self.weights, self.means, self.covariances) else jnp

    def component_log_prob(self, x: Any) -> np.ndarray:
        """log(pi_k N(x_i | mu_k, Sigma_k)) for every point and component, shape (N, K), float64."""
        if is_concrete(x):
            x = as_data_nd(x, dim=self.dim)
        xp = self._xp(x)
        return component_log_prob_xp(xp, x, self.weights, self.means, self.covariances)

    def log_prob(self, x: Any) -> np.ndarray:
        """Log density log p(x_i) of each point, shape (N,)."""
        lp = self.component_log_prob(x)
        if isinstance(lp, np.ndarray):
            return _logsumexp_np(lp)
        return jax.scipy.special.logsumexp(lp, axis=1)

    def responsibilities(self, x: Any) -> np.ndarray:
        """Posterior component probabilities P(z_i = k | x_i), shape (N, K); rows sum to 1."""
        lp = self.component_log_prob(x)
        if isinstance(lp, np.ndarray):
            return np.exp(lp - _logsumexp_np(lp)[:, None])
        return jax.nn.softmax(lp, axis=1)

    def log_likelihood(self, x: Any) -> float:
        """Total log-likelihood sum_i log p(x_i) (a float64 scalar; a JAX scalar under jit)."""
        lp = self.log_prob(x)
        return float(np.sum(lp)) if isinstance(lp, np.ndarray) else jnp.sum(lp)

    def sample(self, key: jax.Array, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw n points: z ~ Categorical(pi), then x = mu_z + L_z eps with eps ~ N(0, I_D).

        The labels and standard normal draws come from JAX (so the key decides them); the
        affine map to data units is done in float64.

        Returns:
            A pair ``(x, z)``: points of shape (n, D), float64, and integer labels in [0, K) of shape (n,).
        """
        key = check_key(key)
        n = check_positive_int(n, "n")
        kz, kx = jax.random.split(key)
        with np.errstate(divide="ignore"):
            logits = jnp.asarray(np.log(np.asarray(self.weights, np.float64)), jnp.float32)
        z = np.asarray(jax.random.categorical(kz, logits, shape=(n,)))
        eps = np.asarray(jax.random.normal(kx, (n, self.dim)), np.float64)
        chol = np.linalg.cholesky(np.asarray(self.covariances, np.float64))
        x = np.asarray(self.means, np.float64)[z] + np.einsum("nde,ne->nd", chol[z], eps)
        return x, z


def n_parameters_nd(n_components: int, dim: int, covariance_type: str = "full") -> int:
    """Free parameters of a K-component mixture in D dimensions.

    K - 1 weights + K D means + K D (D + 1) / 2 covariance entries ("full") or K D
    variances ("diag"). For D = 1 both give 3K - 1, :func:`gmm.n_parameters`.
    """
    k = check_positive_int(n_components, "n_components")
    d = check_positive_int(dim, "dim")
    cov = d * (d + 1) // 2 if check_covariance_type(covariance_type) == "full" else d
    return (k - 1) + k * d + k * cov


__all__ = ["COVARIANCE_TYPES", "MixtureND", "as_data_nd", "check_covariance_type", "n_parameters_nd"]
