"""EM for points in D dimensions: the E and M steps for scikit-learn's four covariance
structures, run by :func:`gmm.estimation.em.em_loop` from k-means++ or random starts.

E step: log pi_k + log N(y_i | mu_k, Sigma_k) (:func:`gmm.models.mixture.gaussian_log_prob`).
M step, with r_ik the responsibilities times the count c_i of row i and N_k = sum_i r_ik:
pi_k = N_k / N, mu_k = sum_i r_ik y_i / N_k, and

    "full"       Sigma_k = sum_i r_ik (y_i - mu_k)(y_i - mu_k)^T / N_k + diag(reg)
    "tied"       Sigma   = sum_k sum_i r_ik (y_i - mu_k)(y_i - mu_k)^T / N + diag(reg)
    "diag"       Sigma_k = diag(sum_i r_ik (y_i - mu_k)^2 / N_k + reg)
    "spherical"  Sigma_k = s_k I, s_k the mean over d of the "diag" variances.

The numerics are the 1-D ones (:mod:`gmm.estimation.em`): the caller centres and scales each column in
float64 (median and IQR), groups repeated rows (row, count) and pads them to a bucketed
length with zero counts; EM runs in float64. A component that loses every point keeps its
mean and covariance.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gmm._util.numerics import bucket, robust_scale_columns
from gmm.estimation.driver import EMResult, best_of_starts, default_reg_covar, em_loop, responsibilities_step
from gmm.estimation.kmeans import kmeans_pp_points
from gmm.models.mixture import Mixture, gaussian_log_prob

_MAX_ELEMENTS = 2**27  # floats in the largest (rows, K, D) temporary: 1 GiB

N_LLOYD = 20


def e_step(y, logw, mu, cov):
    """log pi_k + log N(y_i | mu_k, Sigma_k), shape (U, K)."""
    return logw + gaussian_log_prob(y, mu, jnp.linalg.cholesky(cov))


def m_step(y, c, lp, reg, covariance_type: str, prev):
    """New (log pi, mu, Sigma) from the log joint ``lp`` (U, K) of rows y (U, D) with counts
    c (U,), and the log-likelihood of the parameters that produced ``lp``."""
    r, nk, alive, nk_safe, ll = responsibilities_step(lp, c)
    mu = jnp.where(alive[:, None], (r.T @ y) / nk_safe[:, None], prev[1])
    diff = y[:, None, :] - mu  # (U, K, D), centred: no cancellation
    d = y.shape[1]
    eye = jnp.eye(d, dtype=y.dtype)
    if covariance_type in ("full", "tied"):
        scatter = jnp.einsum("nk,nkd,nke->kde", r, diff, diff)
        if covariance_type == "tied":
            cov = jnp.broadcast_to(scatter.sum(axis=0) / c.sum() + jnp.diag(reg), scatter.shape)
        else:
            cov = scatter / nk_safe[:, None, None] + jnp.diag(reg)
        cov = 0.5 * (cov + jnp.swapaxes(cov, 1, 2))
    else:
        var = jnp.einsum("nk,nkd->kd", r, diff * diff) / nk_safe[:, None] + reg
        if covariance_type == "spherical":
            var = jnp.broadcast_to(var.mean(axis=1, keepdims=True), var.shape)
        cov = var[:, :, None] * eye
    if covariance_type != "tied":  # the shared matrix uses every point, dead components too
        cov = jnp.where(alive[:, None, None], cov, prev[2])
    return (jnp.log(nk / c.sum()), mu, cov), ll


def _hard_start(y, c, reg, labels, k: int, covariance_type: str):
    """The M step on hard labels (U,) in [0, K): a start from a clustering."""
    lp = jnp.where(jax.nn.one_hot(labels, k, dtype=bool), 0.0, -jnp.inf).astype(y.dtype)
    mean = (c @ y) / c.sum()
    spread = jnp.einsum("n,nd,ne->de", c, y - mean, y - mean) / c.sum() + jnp.diag(reg)
    prev = (None, jnp.broadcast_to(mean, (k, y.shape[1])), jnp.broadcast_to(spread, (k,) + spread.shape))
    params, _ = m_step(y, c, lp, reg, covariance_type, prev)
    return params


def kmeans_start(key, y, c, reg, k: int, covariance_type: str):
    """k-means++ seeding weighted by the counts, N_LLOYD Lloyd iterations, then one M step
    on the hard labels."""

    def nearest(centres):
        return jnp.argmin(jnp.sum((y[:, None, :] - centres) ** 2, axis=-1), axis=1)

    def lloyd(centres, _):
        one = jax.nn.one_hot(nearest(centres), k, dtype=y.dtype) * c[:, None]
        cnt = one.sum(0)
        new = (one.T @ y) / jnp.maximum(cnt, 1e-300)[:, None]
        return jnp.where(cnt[:, None] > 0, new, centres), None

    centres, _ = jax.lax.scan(lloyd, kmeans_pp_points(key, y, k, c), None, length=N_LLOYD)
    return _hard_start(y, c, reg, nearest(centres), k, covariance_type)


def random_start(key, y, c, reg, k: int, covariance_type: str):
    """Means at K distinct rows drawn by count, equal weights, every covariance the data's."""
    idx = jax.random.choice(key, y.shape[0], (k,), replace=False, p=c / c.sum())
    mean = (c @ y) / c.sum()
    spread = jnp.einsum("n,nd,ne->de", c, y - mean, y - mean) / c.sum() + jnp.diag(reg)
    if covariance_type in ("diag", "spherical"):
        var = jnp.diag(spread)
        spread = jnp.diag(jnp.full_like(var, var.mean()) if covariance_type == "spherical" else var)
    return jnp.full(k, -jnp.log(k)).astype(y.dtype), y[idx], jnp.broadcast_to(spread, (k,) + spread.shape)


@partial(jax.jit, static_argnames=("k", "max_iter", "n_init", "init", "covariance_type"))
def fit_from_starts(key, y, c, reg, tol, *, k: int, max_iter: int, n_init: int, init: str, covariance_type: str):
    """EM from ``n_init`` starts, one after another (:func:`gmm.estimation.driver.best_of_starts`
    with ``sequential=True``); the best run's
    (params, ll, history, n_iter, converged), as :func:`gmm.estimation.em.em_loop` returns them."""
    start = kmeans_start if init == "kmeans" else random_start

    def step(params):
        return m_step(y, c, e_step(y, *params), reg, covariance_type, params)

    def run(key_r):
        return em_loop(step, start(key_r, y, c, reg, k, covariance_type), max_iter, tol, c.sum())

    return best_of_starts(run, (jax.random.split(key, n_init),), sequential=True)


def column_scales(data: np.ndarray, covariance_type: str) -> tuple[np.ndarray, np.ndarray]:
    """(loc, scale), each (D,): every column's median and IQR-based scale (one scale for all
    columns with "spherical", which keeps spheres spheres)."""
    loc, scale = robust_scale_columns(data)
    if covariance_type == "spherical":
        scale = np.full(data.shape[1], float(np.median(scale)))
    return loc, scale


def regularisation(std: np.ndarray, scale: np.ndarray, covariance_type: str, reg_covar: float | None) -> np.ndarray:
    """reg (D,) in standardised units for standardised rows ``std`` (U, D): ``reg_covar``
    scaled, or by default each column's ``default_reg_covar`` (their mean with
    "spherical")."""
    if reg_covar is not None:
        return reg_covar / scale**2
    reg = np.array([default_reg_covar(col) for col in std.T])
    return np.full(reg.size, reg.mean()) if covariance_type == "spherical" else reg


def in_data_units(logw, mu, cov, loc, scale, covariance_type: str, on_line: bool = False) -> Mixture:
    """The mixture of standardised parameters (log pi (K,), mu (K, D), Sigma (K, D, D)) in the
    data's units, components sorted; with ``on_line`` (D = 1) one built from stds."""
    weights = np.exp(logw - logw.max())
    weights, means, cov = weights / weights.sum(), loc + scale * mu, cov * np.outer(scale, scale)
    if on_line:
        return Mixture(weights, means[:, 0], np.sqrt(cov[:, 0, 0])).sorted()
    return Mixture(weights, means, covariances=cov, covariance_type=covariance_type).sorted()


def fit_points(key, data, k, max_iter, tol, n_init, reg_covar, init, covariance_type) -> EMResult:
    """fit_em on checked points (N, D): columns scaled, rows grouped, EM in float64."""
    n, d = data.shape
    loc, scale = column_scales(data, covariance_type)
    rows, counts = np.unique((data - loc) / scale, axis=0, return_counts=True)
    reg = regularisation(rows, scale, covariance_type, reg_covar)
    size = bucket(rows.shape[0], 64)
    if size * k * d > _MAX_ELEMENTS:
        raise ValueError(
            f"x of shape {data.shape} with n_components={k} needs {size * k * d:,} floats per "
            f"temporary, more than the {_MAX_ELEMENTS:,} allowed; fit a subsample.")
    y = np.concatenate([rows, np.repeat(rows[-1:], size - rows.shape[0], axis=0)])
    c = np.concatenate([counts.astype(np.float64), np.zeros(size - rows.shape[0])])
    with jax.enable_x64(True):
        out = fit_from_starts(key, jnp.asarray(y), jnp.asarray(c), jnp.asarray(reg), jnp.float64(tol),
                              k=k, max_iter=max_iter, n_init=n_init, init=init, covariance_type=covariance_type)
        (logw, mu, cov), ll, history, n_iter, converged = jax.tree_util.tree_map(np.asarray, out)
    mixture = in_data_units(logw, mu, cov, loc, scale, covariance_type)
    n_iter = int(n_iter)
    history = history[: n_iter + 1] - n * float(np.sum(np.log(scale)))
    history[-1] = float(mixture.log_likelihood(data))
    return EMResult(mixture=mixture, log_likelihood=history[-1], history=history, n_iter=n_iter,
                    converged=bool(converged))


__all__ = ["column_scales", "e_step", "fit_from_starts", "fit_points", "in_data_units", "kmeans_start", "m_step",
           "random_start", "regularisation"]
