"""Distinct posterior modes of the 1-D Bayesian GMM by penalised EM from many starts.

The importance sampler of :mod:`gmm.inference.importance` builds its proposal around every mode found
here, so that a posterior with several separated modes (on the galaxies at K = 2: a narrow
cluster near 10 plus the bulk, or one broad component plus the bulk) is covered by
construction rather than by luck. Everything is float64 NumPy on standardised data,
vectorised over the starts.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from gmm._util.numerics import quantile_sketch
from gmm.estimation.kmeans import kmeans_pp_centres
from gmm.models.generative import Prior, std_conditional_mode

_SKETCH = 1000  # distinct values the starts run on (a quantile sketch beyond that)


def penalised_em(y, c, w, mu, sd, prior: tuple[float, ...], n_iter: int = 300, family: str = "gamma_std"):
    """EM that climbs p(theta | x) rather than p(x | theta), from S starts at once.

    y, c: values and their counts (M,); w, mu, sd: starts (S, K). Per iteration: responsibilities;
    pi = (n_k + alpha) / (N + K alpha); mu_k and sigma_k the modes of their conditionals given
    the soft counts (Normal prior on mu, Gamma prior on sigma), so no component can collapse
    onto one point. Returns (w, mu, sd) of shape (S, K).
    """
    alpha, m0, s0, _, _ = prior
    prior_obj = Prior.tree_unflatten(family, prior)
    n = c.sum()
    floor = 1e-6 * (float(np.std(y)) or 1.0)
    for it in range(n_iter):
        prev = mu
        lp = np.log(w)[:, None, :] - 0.5 * ((y[None, :, None] - mu[:, None, :]) / sd[:, None, :]) ** 2 - np.log(sd)[:, None, :]
        r = np.exp(lp - logsumexp(lp, axis=2, keepdims=True)) * c[None, :, None]
        nk = r.sum(axis=1)
        w = (nk + alpha) / (n + w.shape[1] * alpha)
        mu = (m0 / s0**2 + (r * y[None, :, None]).sum(axis=1) / sd**2) / (1.0 / s0**2 + nk / sd**2)
        ss = (r * (y[None, :, None] - mu[:, None, :]) ** 2).sum(axis=1)
        sd, _ = std_conditional_mode(nk + 2.0, ss, prior_obj, floor)  # mean known, density in sigma: n + 2
        if np.max(np.abs(mu - prev)) < 1e-9 * (1.0 + np.max(np.abs(mu))):
            break
    return w, mu, sd


def log_posterior(y, w, mu, sd, prior: tuple[float, ...], family: str = "gamma_std") -> np.ndarray:
    """log p(theta) + log p(y | theta) up to a constant (Dirichlet, Normal, and the sigma prior
    of ``family``, density in sigma), shape (S,)."""
    alpha, m0, s0, a, b = prior
    lp = np.log(w)[:, None, :] - 0.5 * ((y[None, :, None] - mu[:, None, :]) / sd[:, None, :]) ** 2 - np.log(sd)[:, None, :]
    lik = logsumexp(lp, axis=2).sum(axis=1)
    if family == "inverse_gamma_var":
        log_sd = -(2 * a + 1) * np.log(sd) - b / sd**2
    else:
        log_sd = (a - 1) * np.log(sd) - b * sd
    log_prior = ((alpha - 1) * np.log(w) - 0.5 * ((mu - m0) / s0) ** 2 + log_sd).sum(axis=1)
    return lik + log_prior


def starts(rng: np.random.Generator, y: np.ndarray, c: np.ndarray, k: int, n_starts: int):
    """``n_starts`` starts (w, mu, sd), each (S, K), from k-means++ centres with every sd the data's
    sd / K, cycling through five kinds: as drawn; the lowest centre moved onto the smallest value
    and made narrow (a tenth of the data's sd); the highest onto the largest value, narrow; both;
    one centre, chosen at random, as broad as the data. Small clusters at either end and broad
    components that soak up a tail are modes that starts of the first kind miss."""
    spread = float(np.sqrt(np.average((y - np.average(y, weights=c)) ** 2, weights=c))) or 1.0
    mu = np.stack([np.sort(kmeans_pp_centres(rng, y, c, k)) for _ in range(n_starts)])
    sd = np.full((n_starts, k), spread / k)
    kind = np.arange(n_starts) % 5
    low, high = (kind == 1) | (kind == 3), (kind == 2) | (kind == 3)
    mu[low, 0], sd[low, 0] = y.min(), 0.1 * spread
    mu[high, -1], sd[high, -1] = y.max(), 0.1 * spread
    broad = np.flatnonzero(kind == 4)
    sd[broad, rng.integers(0, k, broad.size)] = spread
    return np.full((n_starts, k), 1.0 / k), mu, sd


def distinct_modes(rng, y, k, prior, n_starts, first=None, max_modes: int = 16, family: str = "gamma_std"):
    """Penalised EM from ``n_starts`` starts (plus ``first``, a (w, mu, sd) start of shape (K,)),
    optima sorted by mean, duplicates (every mean and sd within 0.02 data sds and every weight within 0.02 of a
    better optimum's) removed;
    at most ``max_modes``, the highest log posterior first.

    Returns (w, mu, sd) each (J, K) and their log posterior densities (J,).
    """
    values, counts = np.unique(y, return_counts=True)
    counts = counts.astype(np.float64)
    if values.size > _SKETCH:
        values, counts = np.unique(quantile_sketch(values, counts, _SKETCH), return_counts=True)
        counts = counts.astype(np.float64) * (y.size / counts.sum())
    w, mu, sd = starts(rng, values, counts, k, n_starts)
    if first is not None:
        w, mu, sd = (np.concatenate([np.asarray(f, np.float64)[None], a]) for f, a in zip(first, (w, mu, sd)))
    w, mu, sd = penalised_em(values, counts, w, mu, sd, prior, family=family)
    order = np.argsort(mu, axis=1)
    w, mu, sd = (np.take_along_axis(a, order, axis=1) for a in (w, mu, sd))
    lp = log_posterior(y, w, mu, sd, prior, family)
    tol = 0.02 * (float(np.std(y)) or 1.0)
    kept: list[int] = []
    for i in np.argsort(-lp):
        if not np.isfinite(lp[i]):
            continue
        if all(
            max(np.abs(mu[i] - mu[j]).max(), np.abs(sd[i] - sd[j]).max()) > tol or np.abs(w[i] - w[j]).max() > 0.02
            for j in kept
        ):
            kept.append(int(i))
        if len(kept) == max_modes:
            break
    idx = np.asarray(kept)
    return w[idx], mu[idx], sd[idx], lp[idx]
