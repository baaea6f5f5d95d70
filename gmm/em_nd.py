"""Maximum-likelihood fitting of a Gaussian mixture in D dimensions by EM.

The D-dimensional sibling of :func:`gmm.fit_em`, for points of shape (N, D):

E step: r_ik = P(z_i = k | x_i, theta), in log space, with Cholesky-based Gaussian densities.
M step: N_k = sum_i r_ik, pi_k = N_k / N, mu_k = sum_i r_ik x_i / N_k,
Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k + reg_covar I ("full"), or only the
diagonal of it ("diag").

Numerics. The data are standardised per dimension in float64 (y = (x - m) / s with the
column means m and standard deviations s), EM runs in float32 JAX on y (one jitted
``lax.while_loop``, restarts by ``lax.map`` inside the same compiled program), and the parameters are mapped back in
float64: mu = m + s * mu_y, Sigma = diag(s) Sigma_y diag(s). scikit-learn's ``reg_covar``
adds c to every variance *in data units*; in standardised units that is c / s_d^2 on the
diagonal entry d, which is what is added, so the regularisation does not depend on the
units the data come in. The final log-likelihood is recomputed in float64 from the returned
mixture, so ``result.log_likelihood == result.mixture.log_likelihood(x)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from gmm._validation import check_key, check_n_components, check_positive, check_positive_int
from gmm.mixture_nd import MixtureND, as_data_nd, check_covariance_type

_MAX_ELEMENTS = 2**28  # floats in the largest (n_init, N, K, D) temporary: about 1 GiB


@dataclass(frozen=True)
class EMResultND:
    """Outcome of :func:`fit_em_nd`.

    Attributes:
        mixture: the fitted :class:`~gmm.mixture_nd.MixtureND` (data units, float64),
            components ordered by their mean's first coordinate.
        log_likelihood: total log-likelihood sum_i log p(x_i) of the returned mixture, in
            float64 (equal to ``mixture.log_likelihood(x)``), in nats with densities in the
            data's units.
        history: total log-likelihood at the start and after each iteration, shape
            (n_iter + 1,), float32 arithmetic mapped to data units; ``history[-1]`` is the
            float64 ``log_likelihood``. Never decreases, up to float32 rounding.
        n_iter: EM iterations (E and M step pairs) run by the best restart.
        converged: whether the best restart met the tolerance before ``max_iter``.
    """

    mixture: MixtureND
    log_likelihood: float
    history: np.ndarray
    n_iter: int
    converged: bool


def _whiten(cov):
    """Precision Cholesky factors P = L^{-T} (Sigma = L L^T) and log det L, shapes (K, D, D) and (K,)."""
    chol = jnp.linalg.cholesky(cov)
    eye = jnp.broadcast_to(jnp.eye(cov.shape[-1], dtype=cov.dtype), cov.shape)
    inv = jax.scipy.linalg.solve_triangular(chol, eye, lower=True)
    return jnp.swapaxes(inv, -1, -2), jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)


def _e_step(y, logw, mu, cov):
    """Total log-likelihood and responsibilities (N, K)."""
    prec_chol, log_det = _whiten(cov)
    w = jnp.einsum("nd,kde->nke", y, prec_chol) - jnp.einsum("kd,kde->ke", mu, prec_chol)
    d = y.shape[1]
    lp = logw - log_det - 0.5 * jnp.sum(w * w, axis=-1) - 0.5 * d * math.log(2 * math.pi)
    ll = logsumexp(lp, axis=1)
    return jnp.sum(ll), jnp.exp(lp - ll[:, None])


def _m_step(y, resp, reg, diag: bool):
    nk = resp.sum(axis=0) + 10 * jnp.finfo(resp.dtype).eps
    mu = (resp.T @ y) / nk[:, None]
    diff = y[:, None, :] - mu  # (N, K, D); centred, so no cancellation in float32
    if diag:
        var = jnp.einsum("nk,nkd->kd", resp, diff * diff) / nk[:, None] + reg
        cov = jax.vmap(jnp.diag)(var)
    else:
        cov = jnp.einsum("nk,nkd,nke->kde", resp, diff, diff) / nk[:, None, None] + jnp.diag(reg)
        cov = 0.5 * (cov + jnp.swapaxes(cov, 1, 2))
    return jnp.log(nk / y.shape[0]), mu, cov


def _kmeans_init(key, y, k, n_lloyd=20):
    """k-means++ seeding (D^2 weighting) and Lloyd iterations; hard responsibilities (N, K)."""

    def sqdist(centres):
        return jnp.sum((y[:, None, :] - centres) ** 2, axis=-1)  # (N, K)

    def pick(carry, key_j):
        centres, j = carry
        d2 = jnp.min(jnp.where(jnp.arange(k) < j, sqdist(centres), jnp.inf), axis=1)
        d2 = jnp.where(j == 0, 1.0, d2)
        # All points equal to chosen centres (repeated rows): fall back to a uniform draw.
        logits = jnp.where(d2.sum() > 0, jnp.log(d2), 0.0)
        idx = jax.random.categorical(key_j, logits)
        return (centres.at[j].set(y[idx]), j + 1), None

    (centres, _), _ = jax.lax.scan(pick, (jnp.zeros((k, y.shape[1]), y.dtype), 0), jax.random.split(key, k))

    def lloyd(centres, _):
        one = jax.nn.one_hot(jnp.argmin(sqdist(centres), axis=1), k, dtype=y.dtype)
        cnt = one.sum(0)
        new = (one.T @ y) / jnp.maximum(cnt, 1)[:, None]
        return jnp.where(cnt[:, None] > 0, new, centres), None

    centres, _ = jax.lax.scan(lloyd, centres, None, length=n_lloyd)
    return jax.nn.one_hot(jnp.argmin(sqdist(centres), axis=1), k, dtype=y.dtype)


def _random_init(key, y, k, reg, diag: bool):
    """Means at K distinct random points, equal weights, every covariance the data's (identity here)."""
    idx = jax.random.choice(key, y.shape[0], (k,), replace=False)
    cov = jnp.cov(y.T, bias=True).reshape(y.shape[1], y.shape[1])
    cov = jnp.diag(jnp.diag(cov)) if diag else cov
    cov = jnp.broadcast_to(cov + jnp.diag(reg), (k,) + cov.shape)
    return jnp.full(k, -jnp.log(k)), y[idx], cov


@partial(jax.jit, static_argnames=("k", "max_iter", "init", "diag"))
def _em_single(key, y, reg, tol, k: int, max_iter: int, init: str, diag: bool):
    if init == "kmeans":
        logw, mu, cov = _m_step(y, _kmeans_init(key, y, k), reg, diag)
    else:
        logw, mu, cov = _random_init(key, y, k, reg, diag)
    history = jnp.full(max_iter + 1, jnp.nan, dtype=y.dtype)
    n = y.shape[0]

    def cond(state):
        it, _, _, _, prev, ll, _ = state
        # Per point: the mean log-likelihood changed by at most tol in the last iteration. The
        # absolute change, as scikit-learn: with reg_covar added, a step may lower the likelihood.
        return (it < max_iter) & ((it < 2) | (jnp.abs(ll - prev) / n > tol))

    def body(state):
        it, logw, mu, cov, _, ll, history = state
        new_ll, resp = _e_step(y, logw, mu, cov)
        logw, mu, cov = _m_step(y, resp, reg, diag)
        return it + 1, logw, mu, cov, ll, new_ll, history.at[it].set(new_ll)

    state = (0, logw, mu, cov, -jnp.inf, -jnp.inf, history)
    it, logw, mu, cov, prev, ll, history = jax.lax.while_loop(cond, body, state)
    final_ll, _ = _e_step(y, logw, mu, cov)
    history = jnp.where(jnp.arange(max_iter + 1) == it, final_ll, history)
    converged = (it < max_iter) | (jnp.abs(final_ll - ll) / n <= tol)
    return logw, mu, cov, final_ll, history, it, converged


@partial(jax.jit, static_argnames=("k", "max_iter", "n_init", "init", "diag"))
def _em_restarts(key, y, reg, tol, k: int, max_iter: int, n_init: int, init: str, diag: bool):
    # Restarts one after another (lax.map), not vmapped: each stops at its own convergence, and
    # batching the Cholesky factors and triangular solves doubles the compilation time.
    keys = jax.random.split(key, n_init)
    out = jax.lax.map(lambda kk: _em_single(kk, y, reg, tol, k, max_iter, init, diag), keys)
    best = jnp.argmax(jnp.where(jnp.isfinite(out[3]), out[3], -jnp.inf))
    return jax.tree_util.tree_map(lambda a: a[best], out)


def standardise(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means m (D,) and standard deviations s (D,) of data (N, D), float64 (s = 1 for a constant column)."""
    loc = data.mean(axis=0)
    scale = data.std(axis=0)
    return loc, np.where(scale > 0, scale, 1.0)


def fit_em_nd(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    covariance_type: str = "full",
    n_init: int = 4,
    max_iter: int = 1000,
    tol: float = 1e-6,
    reg_covar: float = 1e-6,
    init: str = "kmeans",
) -> EMResultND:
    """Fit a K-component Gaussian mixture to points x of shape (N, D) by EM (maximum likelihood).

    Args:
        key: ``jax.random`` key for the initialisations.
        x: observations, shape (N, D), finite numbers, one row per point.
        n_components: K, an integer in [1, N].
        covariance_type: ``"full"`` (any covariance matrix) or ``"diag"`` (axis-aligned
            components: variances only).
        n_init: restarts (in one compiled program); the one with the highest likelihood is kept.
        max_iter: most EM iterations per restart.
        tol: stop when the mean log-likelihood per point changes by less than this (nats).
        reg_covar: added to every variance in the data's (squared) units, as scikit-learn's
            ``reg_covar``, so no component can collapse onto a point or a line.
        init: ``"kmeans"`` (k-means++ seeding, then 20 Lloyd iterations, then one M step
            on the hard labels) or ``"random"`` (means at K random points, every covariance
            the data's).

    Returns:
        An :class:`EMResultND`.

    Raises:
        ValueError: on bad data, K, settings, or a problem too large for memory.
    """
    key = check_key(key)
    data = as_data_nd(x)
    k = check_n_components(n_components, data.shape[0])
    covariance_type = check_covariance_type(covariance_type)
    n_init = check_positive_int(n_init, "n_init")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_positive(tol, "tol")
    reg_covar = check_positive(reg_covar, "reg_covar")
    if init not in ("kmeans", "random"):
        raise ValueError(f"init must be 'kmeans' or 'random', got {init!r}.")
    n, d = data.shape
    if n_init * n * k * d > _MAX_ELEMENTS:
        raise ValueError(
            f"x of shape {data.shape} with n_components={k} and n_init={n_init} needs "
            f"{n_init * n * k * d:,} floats per temporary, more than the {_MAX_ELEMENTS:,} allowed; "
            "use fewer restarts or fit a subsample."
        )

    loc, scale = standardise(data)
    y = jnp.asarray((data - loc) / scale, jnp.float32)
    reg = jnp.asarray(reg_covar / scale**2, jnp.float32)
    logw, mu, cov, _, history, n_iter, converged = _em_restarts(
        key, y, reg, jnp.float32(tol), k, max_iter, n_init, init, covariance_type == "diag"
    )
    mixture = _to_data_units(logw, mu, cov, loc, scale, covariance_type)
    ll = mixture.log_likelihood(data)
    n_iter = int(n_iter)
    history = np.asarray(history, np.float64)[: n_iter + 1] - n * float(np.sum(np.log(scale)))
    history[-1] = ll
    return EMResultND(mixture=mixture, log_likelihood=ll, history=history, n_iter=n_iter, converged=bool(converged))


def _to_data_units(logw, mu, cov, loc, scale, covariance_type: str) -> MixtureND:
    """Map standardised float32 parameters back to data units in float64; sort by the first mean coordinate."""
    w = np.exp(np.asarray(logw, np.float64))
    means = loc + scale * np.asarray(mu, np.float64)
    c = np.asarray(cov, np.float64)
    c = 0.5 * (c + np.swapaxes(c, 1, 2)) * np.outer(scale, scale)
    if covariance_type == "diag":
        c = c * np.eye(c.shape[-1])
    order = np.argsort(means[:, 0], kind="stable")
    return MixtureND(w[order] / w.sum(), means[order], c[order], covariance_type)


__all__ = ["EMResultND", "fit_em_nd", "standardise"]
