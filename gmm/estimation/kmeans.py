"""k-means seeding, one implementation for EM, model selection and the samplers.

One dimension: values sorted with counts, so Lloyd's iteration is a few binary searches
(:func:`lloyd`). D dimensions: k-means++ in JAX (:func:`kmeans_pp_points`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gmm._util.numerics import numpy_rng


def kmeans_pp_centres(rng: np.random.Generator, y: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """k-means++ seeding (Arthur and Vassilvitskii 2007): K centres drawn from the values y,
    each with probability proportional to count x squared distance to the nearest centre
    chosen so far (the first by count alone); shape (k,)."""
    p = c / c.sum()
    centres = np.empty(k)
    d2 = np.full(y.size, np.inf)
    for j in range(k):
        centres[j] = y[rng.choice(y.size, p=p)]
        d2 = np.minimum(d2, (y - centres[j]) ** 2)
        w = c * d2
        # All-zero distances (repeated values) fall back to drawing by count.
        p = w / w.sum() if w.sum() > 0 else c / c.sum()
    return centres


def _clusters(y: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Boundaries (indices into sorted y) of the values nearest to each sorted centre, (K + 1,)."""
    mid = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[0], np.searchsorted(y, mid, side="right"), [y.size]])


def lloyd(y: np.ndarray, c: np.ndarray, centres: np.ndarray, n_iter: int):
    """Weighted 1-D k-means (Lloyd) on sorted values y with counts c, from ``centres``.

    In one dimension each cluster is a run of sorted values between midpoints of the
    centres, so an iteration is K binary searches and prefix-sum differences, O(K log U).
    Returns (counts, means, variances), each (K,), centres sorted; an empty cluster keeps
    its centre (count 0, variance 1).
    """
    s0, s1 = np.concatenate([[0], np.cumsum(c)]), np.concatenate([[0], np.cumsum(c * y)])
    centres = np.sort(centres)
    for _ in range(n_iter):
        b = _clusters(y, centres)
        cnt = s0[b[1:]] - s0[b[:-1]]
        new = np.sort(np.where(cnt > 0, (s1[b[1:]] - s1[b[:-1]]) / np.maximum(cnt, 1e-300), centres))
        if np.array_equal(new, centres):
            break
        centres = new
    b = _clusters(y, centres)
    cnt = s0[b[1:]] - s0[b[:-1]]
    means = np.where(cnt > 0, (s1[b[1:]] - s1[b[:-1]]) / np.maximum(cnt, 1e-300), centres)
    var = np.array([
        float(np.sum(c[lo:hi] * (y[lo:hi] - m) ** 2) / n) if n > 0 else 1.0
        for lo, hi, m, n in zip(b[:-1], b[1:], means, cnt)
    ])
    return cnt, means, var


def kmeans_starts(
    key: jax.Array, y: np.ndarray, c: np.ndarray, k: int, n_init: int, *, k_max: int | None = None,
    var_extra: float = 0.0, floor: float = 0.0, n_lloyd: int = 25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starting (log pi, mu, sd), each (n_init, k_max), from weighted k-means (float64).

    Start 0 puts the centres at equal-count quantiles; the others use k-means++. All then
    run up to ``n_lloyd`` weighted Lloyd iterations. Each hard cluster gives pi = count / N,
    its mean, and sd = sqrt(var + var_extra) (at least ``floor``). Components k..k_max-1 are
    padding (log pi = -inf). ``y`` holds sorted distinct values with counts ``c`` > 0.
    """
    k_max = k if k_max is None else k_max
    rng = numpy_rng(key)
    total = c.sum()
    cum = np.cumsum(c) / total
    logw = np.full((n_init, k_max), -np.inf)
    mu = np.zeros((n_init, k_max))
    sd = np.ones((n_init, k_max))
    for r in range(n_init):
        if r == 0:
            centres = y[np.minimum(np.searchsorted(cum, (np.arange(k) + 0.5) / k), y.size - 1)]
        else:
            centres = kmeans_pp_centres(rng, y, c, k)
        cnt, centres, var = lloyd(y, c, centres, n_lloyd)
        logw[r, :k] = np.log(np.maximum(cnt, 1e-3) / total)
        mu[r, :k] = centres
        sd[r, :k] = np.maximum(np.sqrt(var + var_extra), floor)
    return logw, mu, sd


def kmeans_pp_points(key: jax.Array, y: jax.Array, k: int, weights: jax.Array | None = None) -> jax.Array:
    """Greedy k-means++ seeding in D dimensions (traced), as scikit-learn's: K rows of y (N, D).

    The first row is drawn by weight; each next one is the best of 2 + floor(log K) candidates
    drawn with probability proportional to weight x squared distance to the nearest row chosen
    so far (Arthur and Vassilvitskii 2007), best meaning the lowest weighted sum of squared
    distances to the nearest centre once it is added. Repeated rows fall back to drawing by
    weight. Returns shape (K, D).
    """
    w = jnp.ones(y.shape[0], y.dtype) if weights is None else weights
    n_try = 2 + int(np.log(k))

    def sqdist(c):
        return jnp.sum((y - c) ** 2, axis=-1)

    def pick(carry, key_j):
        centres, d2, j = carry
        logits = jnp.log(jnp.where(j == 0, w, jnp.where(jnp.sum(d2 * w) > 0, d2 * w, w)))
        idx = jax.random.categorical(key_j, logits, shape=(n_try,))
        cand_d2 = jnp.minimum(d2, jax.vmap(lambda i: sqdist(y[i]))(idx))  # (n_try, N)
        best = jnp.argmin(jnp.sum(cand_d2 * w, axis=1))
        return (centres.at[j].set(y[idx[best]]), cand_d2[best], j + 1), None

    start = (jnp.zeros((k, y.shape[1]), y.dtype), jnp.full(y.shape[0], jnp.inf, y.dtype), 0)
    (centres, _, _), _ = jax.lax.scan(pick, start, jax.random.split(key, k))
    return centres


__all__ = ["kmeans_pp_centres", "kmeans_pp_points", "kmeans_starts", "lloyd"]
