"""The Gaussian q of :func:`gmm.advi` in data units: its draws of (pi, mu, sigma) and their density in
the measure of the model's prior, (pi_1 .. pi_{K-1}, mu_1 .. mu_K, sigma_1 .. sigma_K).

q = N(loc, L L^T) on u = (log(pi_k / pi_K) for k < K, mu_1..mu_K, log sigma_1..log sigma_K), given as
``factors``: ``{"loc": (P,), "scale": (P,)}`` (mean-field, L = diag(scale)) or ``{"loc": (P,),
"scale_tril": (P, P)}`` (full-rank), P = 3K - 1, all in data units. Float64 NumPy throughout.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from gmm.inference.vi_result import label_symmetrised

def factor_tril(factors: dict) -> np.ndarray:
    """q's Cholesky factor L (P, P) from ``factors``."""
    tril = factors["scale_tril"] if "scale_tril" in factors else np.diag(factors["scale"])
    return np.asarray(tril, np.float64)


def _log_normal_np(u: np.ndarray, loc: np.ndarray, tril: np.ndarray) -> np.ndarray:
    """log N(u; loc, L L^T), u (n, P), float64 NumPy."""
    from scipy.linalg import solve_triangular

    r = solve_triangular(tril, (u - loc).T, lower=True)
    return (-0.5 * np.sum(r**2, axis=0) - np.sum(np.log(np.diag(tril)))
            - 0.5 * loc.size * math.log(2 * math.pi))


def _u(log_w: np.ndarray, means: np.ndarray, log_sd: np.ndarray) -> np.ndarray:
    """q's coordinates u of draws given by log weights, means and log sds (n, K) each: (n, P)."""
    return np.concatenate([log_w[:, :-1] - log_w[:, -1:], means, log_sd], axis=1)


def log_q_theta(log_w: np.ndarray, means: np.ndarray, log_sd: np.ndarray, factors: dict,
                symmetrise: bool = True) -> np.ndarray:
    """log density of theta = (pi_1 .. pi_{K-1}, mu, sigma) (the prior's measure), each row of
    log_w, means, log_sd (n, K) a draw.

    q's own density is log N(u; loc, L L^T) - sum_k log pi_k - sum_k log sigma_k (change of variables
    from u). With ``symmetrise`` it is averaged over the K! relabellings
    (:func:`gmm.inference.vi_result.label_symmetrised`: q sits in one labelling of a posterior the model
    cannot tell apart from the others; exact for K <= 6).
    """
    loc = np.asarray(factors["loc"], np.float64)
    tril = factor_tril(factors)
    jacobian = log_w.sum(axis=1) + log_sd.sum(axis=1)  # the same in every labelling

    def own(*parts: np.ndarray) -> np.ndarray:
        return _log_normal_np(_u(*parts), loc, tril)

    if not symmetrise or log_w.shape[1] == 1:
        return own(log_w, means, log_sd) - jacobian
    return label_symmetrised(own, log_w, means, log_sd) - jacobian


def make_sampler(factors: dict, k: int, symmetrise: bool = True):
    """``sampler(key, n) -> (weights (n, K), means (n, K, 1), covariances (n, K, 1, 1), log_q (n,))``
    from q in data units (:func:`to_factors`), float64; log_q as :func:`log_q_theta`.

    Components are listed by increasing q-mean of mu_k: a fixed relabelling of every draw, which
    leaves the symmetrised density unchanged and carries q's own density along (without ``symmetrise``
    log_q is the density of the relabelled q at the relabelled draw)."""
    loc = np.asarray(factors["loc"], np.float64)
    tril = factor_tril(factors)
    order = np.argsort(loc[k - 1: 2 * k - 1], kind="stable")

    def sampler(key: jax.Array, n: int):
        with jax.enable_x64(True):
            eps = np.asarray(jax.random.normal(key, (int(n), loc.size), jnp.float64))
        u = loc + eps @ tril.T
        logits = np.concatenate([u[:, : k - 1], np.zeros((u.shape[0], 1))], axis=1)
        log_w = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        means, log_sd = u[:, k - 1: 2 * k - 1], u[:, 2 * k - 1:]
        log_q = log_q_theta(log_w, means, log_sd, factors, symmetrise)
        log_w, means, log_sd = log_w[:, order], means[:, order], log_sd[:, order]
        return np.exp(log_w), means[..., None], np.exp(2 * log_sd)[..., None, None], log_q

    return sampler


__all__ = ["factor_tril", "log_q_theta", "make_sampler"]
