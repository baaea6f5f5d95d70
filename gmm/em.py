"""Maximum-likelihood fitting of a 1-D Gaussian mixture by Expectation-Maximization.

E step: responsibilities r_ik = P(z_i = k | x_i, theta), in log space.
M step: N_k = sum_i r_ik, pi_k = N_k / N, mu_k = sum_i r_ik E[x_i] / N_k,
sigma_k^2 = max(sum_i r_ik (Var[x_i] + (E[x_i] - mu_k)^2) / N_k + reg_var, min_std^2),
where E[x_i] = x_i and Var[x_i] = 0 for the density likelihood; the grouped-data EM of
:mod:`gmm.selection` passes the moments of each component truncated to each bin.

One driver, :func:`em_loop`, runs any E step to convergence (as scikit-learn's
``BaseMixture.fit_predict`` does for its subclasses), and :func:`best_of_starts` runs
it from several starts at once (``vmap``) and keeps the best. Starting points come from
one k-means seeding, :func:`kmeans_starts`.

Numerics: the data are centred and scaled in float64 (median and interquartile range, so
one outlier or an offset such as a timestamp cannot swamp the others) and EM runs in
float64, so the stopping rule sees per-point changes of 1e-7 on a million points and the
reported log-likelihood is the returned mixture's. Repeated values are grouped (value,
count), which is exact for the likelihood and makes rounded data cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm

from gmm._validation import (
    as_data,
    check_key,
    check_n_components,
    check_positive,
    check_positive_int,
)
from gmm.mixture import Mixture

MAX_ITER_LIMIT = 100_000  # the history buffer holds max_iter + 1 numbers
_SKETCH = 16_384  # above this many distinct values, restarts run on a quantile sketch first


@dataclass(frozen=True)
class EMResult:
    """Outcome of :func:`fit_em`.

    Attributes:
        mixture: fitted parameters (float64), components ordered by increasing mean.
        log_likelihood: total log-likelihood sum_i log p(x_i) at the fit (nats), equal to
            ``mixture.log_likelihood(x)``.
        history: total log-likelihood at the start and after each iteration,
            shape (n_iter + 1,); ``history[-1] == log_likelihood``.
        n_iter: number of EM iterations (E and M step pairs) run by the best restart.
        converged: whether the best restart's last iteration improved the mean
            log-likelihood per point by at most ``tol`` (rather than stopping at ``max_iter``).
    """

    mixture: Mixture
    log_likelihood: float
    history: np.ndarray
    n_iter: int
    converged: bool


# ---------------------------------------------------------------------------
# Scaling, grouping and padding (float64, NumPy)
# ---------------------------------------------------------------------------


def robust_scale(data: np.ndarray) -> tuple[float, float]:
    """(location, scale) for standardising: the median and IQR / 1.349 (the sd for Gaussian
    data), falling back to the sd and then 1 when the data are (nearly) all equal."""
    loc = float(np.median(data))
    q1, q3 = np.quantile(data, [0.25, 0.75])
    scale = float(q3 - q1) / 1.349
    if not scale > 0:
        scale = float(np.std(data))
    if not scale > 0 or not math.isfinite(scale):
        scale = 1.0
    return loc, scale


def bucket(n: int, smallest: int) -> int:
    """Next power of two >= max(n, smallest): padded sizes share one compilation."""
    return max(smallest, 1 << (max(n, 1) - 1).bit_length())


def grouped(y: np.ndarray, smallest: int = 64) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct values of y (sorted) and their counts, zero-padded to a bucketed length.

    Returns (values, counts, n_distinct); padding entries have count 0 and the last value.
    """
    values, counts = np.unique(y, return_counts=True)
    size = bucket(values.size, smallest)
    v = np.full(size, values[-1])
    c = np.zeros(size)
    v[: values.size] = values
    c[: values.size] = counts
    return v, c, values.size


def quantile_sketch(values: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
    """``size`` points at the (i + 1/2) / size quantiles of the weighted values (sorted)."""
    cum = np.cumsum(counts)
    pos = (np.arange(size) + 0.5) / size * cum[-1]
    return values[np.minimum(np.searchsorted(cum, pos, side="right"), values.size - 1)]


# ---------------------------------------------------------------------------
# E and M steps (traced; float64 under jax.enable_x64)
# ---------------------------------------------------------------------------


def density_e_step(y, logw, mu, sd, active):
    """log pi_k + log N(y_j | mu_k, sd_k) per (value, component), and E[x], Var[x] = (y, 0)."""
    lp = jnp.where(active, logw + norm.logpdf(y[:, None], mu, sd), -jnp.inf)
    return lp, y[:, None], jnp.zeros((), y.dtype)


def m_step(lp, ex, vx, c, var_reg, floor, logw, mu, sd, active):
    """Responsibilities from ``lp`` (weighted by the counts c), then the weighted moments.

    Returns the new (log pi, mu, sd) and the log-likelihood of the parameters that produced
    ``lp``. A component that loses every point keeps its mean and sd.
    """
    lse = logsumexp(lp, axis=1)
    ll = jnp.sum(jnp.where(c > 0, c * lse, 0.0))
    r = jnp.exp(lp - lse[:, None]) * c[:, None]
    nk = r.sum(axis=0)
    alive = active & (nk > 1e-12)
    nk_safe = jnp.where(alive, nk, 1.0)
    mu_new = (r * ex).sum(axis=0) / nk_safe
    var_new = (r * (vx + (ex - mu_new) ** 2)).sum(axis=0) / nk_safe + var_reg
    sd_new = jnp.maximum(jnp.sqrt(var_new), floor)
    logw_new = jnp.where(active, jnp.log(nk / c.sum()), -jnp.inf)
    return (logw_new, jnp.where(alive, mu_new, mu), jnp.where(alive, sd_new, sd)), ll


def em_loop(step: Callable, params: tuple, max_iter: int, tol: jax.Array, n_points: jax.Array):
    """Run ``step`` (params -> (new params, log-likelihood of params)) until the mean
    log-likelihood per point improves by at most ``tol``, or ``max_iter`` iterations.

    Returns (params, ll, history, n_iter, converged): the last parameters whose
    log-likelihood is known, that log-likelihood, the log-likelihood of the start and
    after each iteration (shape (max_iter + 1,), NaN past n_iter), the number of
    iterations, and whether the tolerance (not ``max_iter``) stopped it.
    """
    history = jnp.full(max_iter + 1, jnp.nan, dtype=tol.dtype)

    def cond(state):
        it, _, _, prev, ll, _ = state
        return (it <= max_iter) & ((it < 2) | ((ll - prev) / n_points > tol))

    def body(state):
        it, cur, _, _, ll, history = state
        new, ll_cur = step(cur)
        ll_cur = jnp.where(jnp.isnan(ll_cur), -jnp.inf, ll_cur)
        return it + 1, new, cur, ll, ll_cur, history.at[it].set(ll_cur)

    inf = jnp.asarray(-jnp.inf, tol.dtype)
    state = (jnp.asarray(0), params, params, inf, inf, history)
    it, _, scored, prev, ll, history = jax.lax.while_loop(cond, body, state)
    converged = (it >= 2) & ((ll - prev) / n_points <= tol)
    return scored, ll, history, it - 1, converged


def best_of_starts(run: Callable, starts: tuple):
    """``run`` from every start (leading axis of ``starts``), vmapped; the best run's output.

    ``run(*start)`` returns a tuple whose second entry is the log-likelihood.
    """
    out = jax.vmap(run)(*starts)
    best = jnp.argmax(jnp.where(jnp.isfinite(out[1]), out[1], -jnp.inf))
    return jax.tree_util.tree_map(lambda a: a[best], out)


# ---------------------------------------------------------------------------
# k-means seeding (one implementation, for EM, model selection and the samplers)
# ---------------------------------------------------------------------------


def kmeans_pp_centres(key: jax.Array, y: jax.Array, c: jax.Array, k: int) -> jax.Array:
    """k-means++ seeding (Arthur and Vassilvitskii 2007): K centres drawn from the values y,
    each with probability proportional to count x squared distance to the nearest centre
    chosen so far (the first by count alone); shape (k,)."""
    logc = jnp.log(c)

    def pick(carry, key_j):
        centres, j = carry
        d2 = jnp.min(jnp.where(jnp.arange(k) < j, (y[:, None] - centres) ** 2, jnp.inf), axis=1)
        d2 = jnp.where(j == 0, 1.0, d2)
        # All-zero distances (repeated values) fall back to drawing by count.
        logits = jnp.where(jnp.sum(c * d2) > 0, logc + jnp.log(d2), logc)
        idx = jax.random.categorical(key_j, logits)
        return (centres.at[j].set(y[idx]), j + 1), None

    (centres, _), _ = jax.lax.scan(pick, (jnp.zeros(k, y.dtype), 0), jax.random.split(key, k))
    return centres


def _hard_moments(y, c, centres, active):
    """Counts, means and variances of the weighted values nearest to each active centre."""
    d2 = jnp.where(active, (y[:, None] - centres) ** 2, jnp.inf)
    one = jax.nn.one_hot(jnp.argmin(d2, axis=1), centres.shape[0], dtype=y.dtype) * c[:, None]
    cnt = one.sum(axis=0)
    safe = jnp.where(cnt > 0, cnt, 1.0)
    mean = jnp.where(cnt > 0, (one * y[:, None]).sum(axis=0) / safe, centres)
    var = jnp.where(cnt > 0, (one * (y[:, None] - mean) ** 2).sum(axis=0) / safe, 1.0)
    return cnt, mean, var


def kmeans_starts(key, y, c, k, k_max: int, n_init: int, n_lloyd: int, var_extra, floor):
    """Starting (log pi, mu, sd), each (n_init, k_max), from weighted k-means.

    Start 0 puts the centres at equal-count quantiles; the others use k-means++. All then
    run ``n_lloyd`` weighted Lloyd iterations. Each hard cluster gives pi = count / N, its
    mean, and sd = sqrt(var + var_extra) (at least ``floor``). Components k..k_max-1 are
    padding (log pi = -inf). ``k`` may be traced; ``k_max``, ``n_init`` and ``n_lloyd`` are static.
    """
    active = jnp.arange(k_max) < k
    cum = jnp.cumsum(c) / c.sum()
    n_valid = jnp.sum(c > 0)
    q_idx = jnp.clip(jnp.searchsorted(cum, (jnp.arange(k_max) + 0.5) / k), 0, n_valid - 1)
    quantile = jnp.where(active, y[q_idx], 0.0)
    pp = jax.vmap(lambda kk: kmeans_pp_centres(kk, y, c, k_max))(jax.random.split(key, max(n_init - 1, 1)))
    centres = jnp.concatenate([quantile[None], pp[: n_init - 1]], axis=0)

    def lloyd(centres, _):
        return jax.vmap(lambda m: _hard_moments(y, c, m, active)[1])(centres), None

    centres, _ = jax.lax.scan(lloyd, centres, None, length=n_lloyd)
    cnt, mu, var = jax.vmap(lambda m: _hard_moments(y, c, m, active))(centres)
    sd = jnp.maximum(jnp.sqrt(var + var_extra), floor)
    logw = jnp.where(active, jnp.log(jnp.maximum(cnt, 1e-3) / c.sum()), -jnp.inf)
    return logw, mu, sd


# ---------------------------------------------------------------------------
# fit_em
# ---------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("k", "n_init", "max_iter", "init"))
def _fit(key, y, c, var_reg, min_var_floor, tol, *, k: int, n_init: int, max_iter: int, init: str):
    """Seed and run EM from every start on the grouped, standardised data; the best fit."""
    active = jnp.ones(k, bool)
    n = c.sum()
    floor = jnp.sqrt(min_var_floor)
    if init == "kmeans":
        starts = kmeans_starts(key, y, c, k, k, n_init, 20, var_reg, floor)
    else:  # means at K random values, equal weights, every sd the data's sd / K
        keys = jax.random.split(key, n_init)
        idx = jax.vmap(lambda kk: jax.random.choice(kk, y.shape[0], (k,), replace=False, p=c / n))(keys)
        spread = jnp.sqrt(jnp.sum(c * (y - jnp.sum(c * y) / n) ** 2) / n)
        spread = jnp.where(spread > 0, spread, 1.0)
        starts = (jnp.full((n_init, k), -jnp.log(k)), y[idx], jnp.full((n_init, k), spread / k))

    def step(params):
        lp, ex, vx = density_e_step(y, *params, active)
        return m_step(lp, ex, vx, c, var_reg, floor, *params, active)

    def run(logw, mu, sd):
        params, ll, history, n_iter, converged = em_loop(step, (logw, mu, sd), max_iter, tol, n)
        return params, ll, history, n_iter, converged

    return best_of_starts(run, starts)


def _check_init(init: Any) -> str:
    if init not in ("kmeans", "random"):
        raise ValueError(f"init must be 'kmeans' or 'random', got {init!r}.")
    return init


def fit_em(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    max_iter: int = 1000,
    tol: float = 1e-7,
    n_init: int = 4,
    reg_var: float | None = None,
    min_std: float | None = None,
    init: str = "kmeans",
) -> EMResult:
    """Fit a K-component 1-D Gaussian mixture to x by EM (maximum likelihood).

    Args:
        key: ``jax.random`` key for the k-means++ starts.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [1, N].
        max_iter: most EM iterations per start (at most 100,000).
        tol: stop when the mean log-likelihood per point improves by at most this (nats).
        n_init: number of starts (equal-count quantiles, then k-means++); the one with
            the highest likelihood is kept. With more than 16,384 distinct values all starts
            first run on a 16,384-point quantile sketch of the data, and only the best one
            is refined on the full data.
        reg_var: added to every variance so that a component can never reach zero width,
            as scikit-learn's ``reg_covar``; squared data units. Default 1e-6 times the
            squared scale of the data (their interquartile range / 1.349), so that the fit does not depend
            on the units.
        min_std: optional floor on every component standard deviation (data units),
            used by model selection to respect the data's rounding.
        init: ``"kmeans"`` (k-means++ then Lloyd iterations) or ``"random"``
            (means at K random data points, every sd the data's sd / K: slower, and
            shows EM's climb more clearly).

    Returns:
        An :class:`EMResult`; ``history[t]`` is the total log-likelihood after t
        iterations (``history[0]`` at the start) and never decreases.

    Raises:
        ValueError: on bad data, key, K, counts, tolerances or init.

    Example:
        >>> import jax, gmm
        >>> fit = gmm.fit_em(jax.random.key(0), gmm.datasets.bento(), 2)
        >>> [round(float(m)) for m in fit.mixture.means]
        [350, 500]
    """
    key = check_key(key)
    data = as_data(x)
    k = check_n_components(n_components, data.size)
    max_iter = check_positive_int(max_iter, "max_iter")
    if max_iter > MAX_ITER_LIMIT:
        raise ValueError(f"max_iter must be at most {MAX_ITER_LIMIT}, got {max_iter}.")
    n_init = check_positive_int(n_init, "n_init")
    if n_init > 1000:
        raise ValueError(f"n_init must be at most 1000, got {n_init}.")
    tol = check_positive(tol, "tol")
    if reg_var is not None:
        reg_var = check_positive(reg_var, "reg_var")
    if min_std is not None:
        min_std = check_positive(min_std, "min_std")
    init = _check_init(init)
    return _fit_em(key, data, k, max_iter, tol, n_init, reg_var, min_std, init)


def _fit_em(key, data, k, max_iter, tol, n_init, reg_var, min_std, init) -> EMResult:
    """fit_em on checked arguments."""
    loc, scale = robust_scale(data)
    y, c, n_distinct = grouped((data - loc) / scale)
    var_reg = 1e-6 if reg_var is None else reg_var / scale**2
    min_var = 0.0 if min_std is None else (min_std / scale) ** 2
    with jax.enable_x64(True):
        consts = (jnp.asarray(var_reg), jnp.asarray(min_var), jnp.asarray(tol))
        if n_distinct > _SKETCH:
            # All starts on a quantile sketch, then only the best start on all the data.
            sketch = quantile_sketch(y[:n_distinct], c[:n_distinct], _SKETCH)
            (logw, mu, sd), *_ = _fit(key, jnp.asarray(sketch), jnp.ones(_SKETCH), *consts,
                                      k=k, n_init=n_init, max_iter=max_iter, init=init)
            (logw, mu, sd), ll, history, n_iter, converged = _refine(
                jnp.asarray(y), jnp.asarray(c), *consts, logw, mu, sd, max_iter=max_iter)
        else:
            (logw, mu, sd), ll, history, n_iter, converged = _fit(
                key, jnp.asarray(y), jnp.asarray(c), *consts, k=k, n_init=n_init,
                max_iter=max_iter, init=init)
        logw, mu, sd, history = (np.asarray(a, np.float64) for a in (logw, mu, sd, history))
    shift = data.size * math.log(scale)
    n_iter = int(n_iter)
    weights = np.exp(logw - logw.max())
    mixture = Mixture(weights / weights.sum(), loc + scale * mu, scale * sd).sorted()
    return EMResult(
        mixture=mixture,
        log_likelihood=float(ll) - shift,
        history=history[: n_iter + 1] - shift,
        n_iter=n_iter,
        converged=bool(converged),
    )


@partial(jax.jit, static_argnames=("max_iter",))
def _refine(y, c, var_reg, min_var_floor, tol, logw, mu, sd, *, max_iter: int):
    """EM on all the (grouped) data from one start."""
    active = jnp.ones(mu.shape[0], bool)
    floor = jnp.sqrt(min_var_floor)

    def step(params):
        lp, ex, vx = density_e_step(y, *params, active)
        return m_step(lp, ex, vx, c, var_reg, floor, *params, active)

    return em_loop(step, (logw, mu, sd), max_iter, tol, c.sum())


__all__ = ["EMResult", "fit_em"]
