"""Maximum-likelihood fitting of a 1-D Gaussian mixture by Expectation-Maximization.

E step: responsibilities r_ik = P(z_i = k | x_i, theta), computed in log space.
M step: N_k = sum_i r_ik, pi_k = N_k / N, mu_k = sum_i r_ik x_i / N_k,
sigma_k^2 = max(sum_i r_ik (x_i - mu_k)^2 / N_k + reg_var, min_std^2).

The data are standardised before fitting (and the result mapped back), so the
float32 arithmetic behaves the same for grams, milligrams or kilometres. The
whole loop is one jitted ``lax.while_loop``; restarts run in parallel with
``vmap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm

from gmm._validation import as_data, check_key, check_n_components, check_positive, check_positive_int
from gmm.mixture import Mixture


@dataclass(frozen=True)
class EMResult:
    """Outcome of :func:`fit_em`.

    Attributes:
        mixture: fitted parameters, components ordered by increasing mean.
        log_likelihood: total log-likelihood sum_i log p(x_i) at the fit.
        history: total log-likelihood at the start and after each iteration,
            shape (n_iter + 1,); ``history[-1] == log_likelihood``.
        n_iter: number of EM iterations (E and M step pairs) run by the best restart.
        converged: whether the best restart met the tolerance before ``max_iter``.
    """

    mixture: Mixture
    log_likelihood: float
    history: np.ndarray
    n_iter: int
    converged: bool


def _e_step(y, logw, mu, sd):
    lp = logw + norm.logpdf(y[:, None], mu, sd)
    ll = logsumexp(lp, axis=1)
    return jnp.sum(ll), jnp.exp(lp - ll[:, None])


def _m_step(y, resp, var_reg, min_var):
    nk = resp.sum(axis=0) + 10 * jnp.finfo(resp.dtype).eps
    mu = (resp * y[:, None]).sum(axis=0) / nk
    var = (resp * (y[:, None] - mu) ** 2).sum(axis=0) / nk
    return jnp.log(nk / y.shape[0]), mu, jnp.sqrt(jnp.maximum(jnp.maximum(var, 0.0) + var_reg, min_var))


def _kmeans_init(key, y, k, n_lloyd=20):
    """k-means++ seeding followed by Lloyd iterations; returns hard responsibilities (N, K)."""
    n = y.shape[0]

    def pick(carry, key_j):
        centers, j = carry
        d2 = jnp.min(jnp.where(jnp.arange(k) < j, (y[:, None] - centers) ** 2, jnp.inf), axis=1)
        d2 = jnp.where(j == 0, 1.0, d2)
        # All-zero distances (repeated values) fall back to a uniform draw.
        logits = jnp.where(d2.sum() > 0, jnp.log(d2), 0.0)
        idx = jax.random.categorical(key_j, logits)
        return (centers.at[j].set(y[idx]), j + 1), None

    (centers, _), _ = jax.lax.scan(pick, (jnp.zeros(k, y.dtype), 0), jax.random.split(key, k))

    def lloyd(centers, _):
        lab = jnp.argmin((y[:, None] - centers) ** 2, axis=1)
        one = jax.nn.one_hot(lab, k, dtype=y.dtype)
        cnt = one.sum(0)
        new = jnp.where(cnt > 0, (one * y[:, None]).sum(0) / jnp.maximum(cnt, 1), centers)
        return new, None

    centers, _ = jax.lax.scan(lloyd, centers, None, length=n_lloyd)
    lab = jnp.argmin((y[:, None] - centers) ** 2, axis=1)
    del n
    return jax.nn.one_hot(lab, k, dtype=y.dtype)


def _random_init(key, y, k):
    """Means at K distinct random data points, equal weights, every sd = the data's sd / K."""
    idx = jax.random.choice(key, y.shape[0], (k,), replace=False)
    spread = jnp.std(y)
    spread = jnp.where(spread > 0, spread, 1.0)  # identical values: avoid zero-width components
    return jnp.full(k, -jnp.log(k)), y[idx], jnp.full(k, spread / k)


@partial(jax.jit, static_argnames=("k", "max_iter", "init"))
def _em_single(key, y, k, max_iter, tol, var_reg, min_var, init):
    if init == "kmeans":
        logw, mu, sd = _m_step(y, _kmeans_init(key, y, k), var_reg, min_var)
    else:
        logw, mu, sd = _random_init(key, y, k)
    # One slot per iteration plus one for the final log-likelihood (slot it <= max_iter).
    history = jnp.full(max_iter + 1, jnp.nan, dtype=y.dtype)
    tol_total = tol * y.shape[0]

    def cond(state):
        it, _, _, _, prev, ll, _ = state
        return (it < max_iter) & ((it < 2) | (ll - prev > tol_total))

    def body(state):
        it, logw, mu, sd, _, ll, history = state
        new_ll, resp = _e_step(y, logw, mu, sd)
        logw, mu, sd = _m_step(y, resp, var_reg, min_var)
        return it + 1, logw, mu, sd, ll, new_ll, history.at[it].set(new_ll)

    init = (0, logw, mu, sd, -jnp.inf, -jnp.inf, history)
    it, logw, mu, sd, prev, ll, history = jax.lax.while_loop(cond, body, init)
    final_ll, _ = _e_step(y, logw, mu, sd)
    history = jnp.where(jnp.arange(max_iter + 1) == it, final_ll, history)
    converged = (it < max_iter) | (final_ll - ll <= tol_total)
    return logw, mu, sd, final_ll, history, it, converged


@partial(jax.jit, static_argnames=("k", "max_iter", "n_init", "init"))
def _em_restarts(key, y, k, max_iter, n_init, tol, var_reg, min_var, init):
    keys = jax.random.split(key, n_init)
    out = jax.vmap(lambda kk: _em_single(kk, y, k, max_iter, tol, var_reg, min_var, init))(keys)
    best = jnp.argmax(jnp.where(jnp.isfinite(out[3]), out[3], -jnp.inf))
    return jax.tree_util.tree_map(lambda a: a[best], out)


def fit_em(
    x: Any,
    n_components: int,
    *,
    key: jax.Array,
    max_iter: int = 1000,
    tol: float = 1e-7,
    n_init: int = 4,
    reg_var: float = 1e-6,
    min_std: float | None = None,
    init: str = "kmeans",
) -> EMResult:
    """Fit a K-component 1-D Gaussian mixture to x by EM (maximum likelihood).

    Args:
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [1, N].
        key: ``jax.random`` key for the k-means++ initialisations.
        max_iter: most EM iterations per restart.
        tol: stop when the mean log-likelihood per point improves by less than this.
        n_init: number of random restarts; the one with the highest likelihood is kept.
        reg_var: added to every variance (in squared data units) so that a
            component can never reach zero width, as in scikit-learn's ``reg_covar``.
        min_std: optional floor on every component standard deviation (data units),
            used by model selection to respect the data's rounding.
        init: ``"kmeans"`` (k-means++ then Lloyd iterations) or ``"random"``
            (means at K random data points, every sd the data's sd / K: slower, and
            shows EM's climb more clearly).

    Returns:
        An :class:`EMResult`; ``history[t]`` is the total log-likelihood after t
        iterations (``history[0]`` at the initialisation) and never decreases
        (up to float32 rounding).
    """
    data = as_data(x)
    key = check_key(key)
    k = check_n_components(n_components, data.size)
    max_iter = check_positive_int(max_iter, "max_iter")
    n_init = check_positive_int(n_init, "n_init")
    tol = check_positive(tol, "tol")
    reg_var = check_positive(reg_var, "reg_var")
    if min_std is not None:
        min_std = check_positive(min_std, "min_std")
    if init not in ("kmeans", "random"):
        raise ValueError(f"init must be 'kmeans' or 'random', got {init!r}.")

    loc = float(data.mean())
    scale = float(data.std()) or 1.0
    y = jnp.asarray((data - loc) / scale, dtype=jnp.float32)
    var_reg = reg_var / scale**2
    # A floor, not an addition: widths above min_std are left as EM found them.
    min_var = 0.0 if min_std is None else (min_std / scale) ** 2
    logw, mu, sd, ll, history, n_iter, converged = _em_restarts(
        key, y, k, max_iter, n_init, tol, var_reg, min_var, init
    )
    shift = data.size * np.log(scale)
    n_iter = int(n_iter)
    weights = np.exp(np.asarray(logw, dtype=np.float64))
    mixture = Mixture(
        weights / weights.sum(), loc + scale * np.asarray(mu, np.float64), scale * np.asarray(sd, np.float64)
    ).sorted()
    return EMResult(
        mixture=mixture,
        log_likelihood=float(ll) - shift,
        history=np.asarray(history, dtype=np.float64)[: n_iter + 1] - shift,
        n_iter=n_iter,
        converged=bool(converged),
    )
