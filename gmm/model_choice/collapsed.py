"""The evidence p(x | K) of the collapsed finite mixture under the Normal-Inverse-Wishart prior.

Model for data x of shape (N, D): pi ~ Dirichlet(alpha 1_K), (mu_k, Sigma_k) ~ NIW independently
(:class:`gmm.models.niw.NIWPrior`), z_i ~ Categorical(pi), x_i ~ Normal(mu_{z_i}, Sigma_{z_i}). With pi
and every (mu_k, Sigma_k) integrated out,

    log p(x, z | K) = log DirMult(z | alpha) + sum_k log m(x_{S_k}),
    DirMult(z | alpha) = Gamma(K alpha) / Gamma(N + K alpha) prod_k Gamma(n_k + alpha) / Gamma(alpha),

where S_k = {i : z_i = k}, n_k = |S_k| and m is the closed-form NIW marginal likelihood of one
component's points (:func:`gmm.models.niw.log_marginal`; m(empty) = 1). Then p(x | K) = sum_z p(x, z | K),
estimated three ways, each returning a :class:`gmm.model_choice.evidence.EvidenceEstimate`:

- :func:`exact_log_evidence`: a sum over the set partitions of the N points into at most K
  blocks. A partition with b blocks stands for K! / (K - b)! labellings z, all with the
  same value (the Dirichlet-multinomial is symmetric in the labels).
- :func:`is_log_evidence`: importance sampling with z drawn from its prior (Dirichlet-
  multinomial), weight p(x | z); simple, but its ESS collapses as N grows.
- :func:`smc_log_evidence`: a particle filter over the points (Fearnhead 2004, "Particle filters
  for mixture models with an unknown number of components"), fully adapted: point n's
  incremental weight is its predictive p(x_n | x_<n, z_<n) = sum_k P(z_n = k | z_<n)
  p(x_n | x_<n in k) (Polya urn times the NIW Student-t predictive), particles are resampled
  (systematic) on those weights when the ESS falls below a threshold, and z_n is then drawn
  from its exact conditional, optionally followed by collapsed-Gibbs sweeps over the points
  seen so far. Each run's estimate of p(x | K) is unbiased.

All three compute in float64 on y = (x - loc) / scale (column medians and IQR / 1.349,
:func:`gmm._util.numerics.robust_scale_columns`) under the prior mapped by
:meth:`NIWPrior.standardised`, and return log p(x) = log p(y) - N sum_d log scale_d: nats,
data units. The functions take checked arguments (the public entry points are
:func:`gmm.log_marginal_likelihood`, :func:`gmm.exact_log_marginal_likelihood` and
:func:`gmm.posterior_over_k`).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from scipy.special import gammaln as np_gammaln
from scipy.special import logsumexp as np_logsumexp

from gmm._util.numerics import numpy_rng, robust_scale_columns, set_partitions
from gmm.model_choice.smc import ess_fraction, systematic_resample
from gmm._util.validation import as_data
from gmm.inference.importance import weight_summary
from gmm.model_choice.evidence_result import (MIN_IS_ESS, EvidenceEstimate, KPosterior, importance_error_bar,
                                              k_posterior, smc_result)
from gmm.models.generative import Prior, resolve_prior
from gmm.models.niw import NIWPrior, check_niw_prior, log_marginal, log_predictive, sufficient_stats

MAX_EXACT_PARTITIONS = 1 << 20  # default limit of exact_log_evidence (memory: P x N ints)
_CHUNK = 1 << 14  # subsets / partitions handled per vectorised block


def resolve_data(x: Any, prior: Any) -> tuple[np.ndarray, Prior | NIWPrior, bool]:
    """Checked data and prior, and whether the (N, D) route applies.

    A :class:`NIWPrior` takes data (N,) (as (N, 1)) or (N, D); data (N, D) with D >= 2 need
    one (None derives :meth:`NIWPrior.from_data`); otherwise ((N,), or (N, 1) as (N,)) the
    1-D :class:`~gmm.models.generative.Prior` applies (None derives :meth:`Prior.from_data`).
    Returns (data, prior, is_nd) with data (N, D) float64 when is_nd, else (N,).
    """
    data = as_data(x, ndim=None)
    if isinstance(prior, NIWPrior):
        data = data[:, None] if data.ndim == 1 else data
        return data, check_niw_prior(prior, data.shape[1]), True
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.ndim == 1:
        return data, resolve_prior(prior, data), False
    if prior is None:
        return data, NIWPrior.from_data(data), True
    raise ValueError(
        f"prior must be a gmm.NIWPrior (or None, which derives NIWPrior.from_data(x)) for data of "
        f"shape (N, D) with D >= 2, got {type(prior).__name__} {prior!r}; a gmm.Prior is for 1-D "
        "data of shape (N,) only."
    )


def n_partitions(n: int, k: int, cap: int) -> int:
    """Number of set partitions of n points into at most k blocks, sum_{b<=k} S(n, b)
    (Stirling numbers of the second kind), or cap + 1 when it exceeds cap."""
    row = [1] + [0] * k  # S(0, b)
    for _ in range(n):
        row = [0] + [min(b * row[b] + row[b - 1], cap + 1) for b in range(1, k + 1)]
    return min(sum(row), cap + 1)


def _standardised(data: np.ndarray, prior: NIWPrior) -> tuple[np.ndarray, NIWPrior, float]:
    """(y, the prior for y, N sum_d log scale_d): log p(x) = log p(y) - the last."""
    loc, scale = robust_scale_columns(data)
    return (data - loc) / scale, prior.standardised(loc, scale), data.shape[0] * float(np.sum(np.log(scale)))


def _as_jax(prior: NIWPrior) -> NIWPrior:
    """The prior's leaves as float64 JAX arrays (call under ``jax.enable_x64``)."""
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float64), prior)


# ---------------------------------------------------------------------------
# Exact: a sum over set partitions
# ---------------------------------------------------------------------------


@jax.jit
def _block_log_marginals(member: jax.Array, y: jax.Array, prior: NIWPrior) -> jax.Array:
    """log m(x_S) for a block of subsets S given as rows of member (C, N) in {0, 1}: (C,)."""
    return log_marginal(prior, *sufficient_stats(y, member.T))


def _subset_table(y: np.ndarray, prior: NIWPrior) -> np.ndarray:
    """log m(x_S) of every subset S of the N points, indexed by bitmask: (2^N,), 0 at S = {}."""
    n = y.shape[0]
    bits = 1 << np.arange(n, dtype=np.int64)
    size = 1 << n
    chunk = min(size, _CHUNK)
    out = np.empty(size)
    with jax.enable_x64(True):
        yj, pj = jnp.asarray(y, jnp.float64), _as_jax(prior)
        for start in range(0, size, chunk):  # same block shape every time: one compile
            member = ((np.arange(start, start + chunk, dtype=np.int64)[:, None] & bits) != 0).astype(np.float64)
            out[start : start + chunk] = np.asarray(_block_log_marginals(jnp.asarray(member), yj, pj))
    out[0] = 0.0
    return out


def _partition_log_terms(y: np.ndarray, prior_y: NIWPrior, k: int, max_partitions: int):
    """Every set partition of the N points into at most K blocks (restricted growth strings, (P, N)) and
    log of its summand in p(x | K) without the constant Gamma(K alpha) / Gamma(N + K alpha) (see
    :func:`exact_log_evidence`), (P,); y and prior_y standardised. Raises when P > ``max_partitions``."""
    n = y.shape[0]
    count = n_partitions(n, k, max_partitions)
    if count > max_partitions:
        raise ValueError(
            f"exact enumeration of {n} points into at most K={k} blocks needs more than "
            f"max_assignments = {max_partitions} set partitions (the limit for (N, D) data; default "
            f"MAX_EXACT_PARTITIONS = {MAX_EXACT_PARTITIONS}). Use log_marginal_likelihood(..., method='smc')."
        )
    table = _subset_table(y, prior_y)
    alpha = float(prior_y.alpha)
    bits = 1 << np.arange(n, dtype=np.int64)
    parts = set_partitions(n, max_blocks=k)
    log_terms = np.empty(parts.shape[0])
    for start in range(0, parts.shape[0], _CHUNK):
        member = parts[start : start + _CHUNK, None, :] == np.arange(k)[None, :, None]  # (C, K, N)
        counts = member.sum(axis=2)
        used = counts > 0
        b = used.sum(axis=1)
        log_terms[start : start + _CHUNK] = (
            np_gammaln(k + 1.0) - np_gammaln(k - b + 1.0)  # labellings per partition
            + np.where(used, np_gammaln(counts + alpha) - np_gammaln(alpha), 0.0).sum(axis=1)
            + table[(member * bits).sum(axis=2)].sum(axis=1)
        )
    return parts, log_terms


def exact_log_evidence(
    data: np.ndarray, k: int, prior: NIWPrior, max_partitions: int = MAX_EXACT_PARTITIONS
) -> EvidenceEstimate:
    """log p(x | K) by enumerating the set partitions of the points into at most K blocks.

    p(x | K) = sum_partitions K! / (K - b)! Gamma(K alpha) / Gamma(N + K alpha)
    prod_blocks Gamma(n_j + alpha) / Gamma(alpha) m(x_block): every labelling z of a partition
    with b blocks has the same value, and there are K! / (K - b)! of them. The 2^N subset
    marginals are tabulated once. K = 1 is one closed form at any N.

    Args:
        data: points (N, D), float64, checked. k: K in [1, N]. prior: a checked NIWPrior.
        max_partitions: refuse when sum_{b<=K} S(N, b) exceeds it (the public routines'
            ``max_assignments``).

    Raises:
        ValueError: when there are more partitions than ``max_partitions``.
    """
    n = data.shape[0]
    y, prior_y, log_jac = _standardised(data, prior)
    if k == 1:
        with jax.enable_x64(True):
            value = float(_block_log_marginals(jnp.ones((1, n)), jnp.asarray(y), _as_jax(prior_y))[0])
        return EvidenceEstimate(n_components=1, log_evidence=value - log_jac, log_evidence_stderr=0.0,
                                method="exact")
    _, log_terms = _partition_log_terms(y, prior_y, k, max_partitions)
    const = float(np_gammaln(k * float(prior_y.alpha)) - np_gammaln(n + k * float(prior_y.alpha)))
    value = const + float(np_logsumexp(log_terms)) - log_jac
    return EvidenceEstimate(n_components=k, log_evidence=value, log_evidence_stderr=0.0, method="exact")


def exact_posterior_draws(key: jax.Array, x: Any, n_components: int, *, prior: NIWPrior | None = None,
                          n_draws: int = 4000, max_assignments: int = MAX_EXACT_PARTITIONS) -> dict[str, np.ndarray]:
    """Independent draws from the exact posterior p(pi, mu, Sigma | x, K) of the NIW mixture, for small data.

    p(theta | x) = sum_z p(z | x) p(theta | z, x): a partition of the points is drawn with its exact
    posterior probability (the summands of ``exact_log_evidence``), the blocks get a uniformly random
    labelling among the K! / (K - b)!, then pi ~ Dirichlet(alpha + n_k) and each (mu_k, Sigma_k) from its
    conjugate NIW posterior (the prior for an empty component). No Markov chain is involved, so the draws are
    a reference that does not depend on mixing: every mode gets its exact share. Components are then sorted
    by the first coordinate of their means (as :func:`gmm.gibbs` relabels).

    Args:
        key: a ``jax.random`` key.
        x: observations, shape (N,) or (N, D), finite numbers.
        n_components: K, an integer in [1, N].
        prior: a :class:`gmm.NIWPrior` (None: :meth:`gmm.NIWPrior.from_data`).
        n_draws: an integer in [1, 1,000,000].
        max_assignments: refuse when there are more set partitions into at most K blocks than this.

    Returns:
        ``{"weights": (S, K), "means": (S, K, D), "covariances": (S, K, D, D)}``, float64, data units.
    """
    from scipy import stats

    from gmm._util.validation import check_n_components, check_positive_int

    data = as_data(x, ndim=None)
    data = data[:, None] if data.ndim == 1 else data
    prior = NIWPrior.from_data(data) if prior is None else check_niw_prior(prior, data.shape[1])
    n, d = data.shape
    k = check_n_components(n_components, n)
    n_draws = check_positive_int(n_draws, "n_draws", maximum=1_000_000)
    max_assignments = check_positive_int(max_assignments, "max_assignments")
    rng = numpy_rng(key)
    y, prior_y, _ = _standardised(data, prior)
    if k == 1:
        parts, log_terms = np.zeros((1, n), np.int32), np.zeros(1)
    else:
        parts, log_terms = _partition_log_terms(y, prior_y, k, max_assignments)
    picked = rng.choice(parts.shape[0], size=n_draws, p=np.exp(log_terms - np_logsumexp(log_terms)))
    alpha = float(prior.alpha)
    m0, psi0 = np.asarray(prior.mean_loc, np.float64), np.asarray(prior.scale_matrix, np.float64)
    w = np.empty((n_draws, k))
    mu = np.empty((n_draws, k, d))
    cov = np.empty((n_draws, k, d, d))
    for p, rows in _groups(picked):
        c = rows.size
        slots = parts[p][:, None] == np.arange(k)[None, :]  # (N, K): block j in slot j, the rest empty
        counts = slots.sum(axis=0).astype(np.float64)
        s1, s2 = slots.T @ data, np.einsum("nk,nd,ne->kde", slots, data, data)
        kappa_n = float(prior.kappa) + counts
        m_n = (float(prior.kappa) * m0 + s1) / kappa_n[:, None]
        psi_n = psi0 + s2 + float(prior.kappa) * np.outer(m0, m0) - kappa_n[:, None, None] * np.einsum(
            "kd,ke->kde", m_n, m_n)
        slot_w = rng.dirichlet(alpha + counts, size=c)  # (c, K)
        slot_cov = np.stack([stats.invwishart(float(prior.dof) + counts[j], 0.5 * (psi_n[j] + psi_n[j].T)).rvs(
            size=c, random_state=rng).reshape(c, d, d) for j in range(k)], axis=1)  # (c, K, D, D)
        chol = np.linalg.cholesky(slot_cov / kappa_n[None, :, None, None])
        slot_mu = m_n[None] + np.einsum("ckde,cke->ckd", chol, rng.standard_normal((c, k, d)))
        perm = np.argsort(rng.random((c, k)), axis=1)  # a uniform labelling of the slots
        w[rows] = np.take_along_axis(slot_w, perm, axis=1)
        mu[rows] = np.take_along_axis(slot_mu, perm[:, :, None], axis=1)
        cov[rows] = np.take_along_axis(slot_cov, perm[:, :, None, None], axis=1)
    order = np.argsort(mu[:, :, 0], axis=1)
    return {"weights": np.take_along_axis(w, order, axis=1),
            "means": np.take_along_axis(mu, order[..., None], axis=1),
            "covariances": np.take_along_axis(cov, order[..., None, None], axis=1)}


def _groups(labels: np.ndarray):
    """(value, indices of the entries equal to it) for each distinct value of a 1-D integer array."""
    order = np.argsort(labels, kind="stable")
    values, starts = np.unique(labels[order], return_index=True)
    return zip(values, np.split(order, starts[1:]))


# ---------------------------------------------------------------------------
# Importance sampling from the prior of z
# ---------------------------------------------------------------------------


def _prior_labels(rng: np.random.Generator, n: int, k: int, alpha: float, size: int) -> np.ndarray:
    """``size`` draws of z (N labels in [0, K)) from the Dirichlet-multinomial prior by the
    sequential Polya urn, P(z_i = j | z_<i) = (n_j + alpha) / (i + K alpha): (size, N) int32.
    (Drawn in NumPy: JAX's gamma sampler alone takes seconds to compile.)"""
    counts = np.zeros((size, k))
    z = np.empty((size, n), np.int32)
    for i in range(n):
        cdf = np.cumsum(counts + alpha, axis=1)
        z[:, i] = np.minimum((rng.random((size, 1)) * cdf[:, -1:] > cdf).sum(axis=1), k - 1)
        counts[np.arange(size), z[:, i]] += 1.0
    return z


@partial(jax.jit, static_argnames=("k",))
def _log_lik_given_z(z: jax.Array, y: jax.Array, prior: NIWPrior, k: int) -> jax.Array:
    """log p(y | z) = sum_k log m(y_{S_k}) for a block of labellings z (C, N): (C,)."""
    stats = jax.vmap(lambda zc: sufficient_stats(y, jax.nn.one_hot(zc, k, dtype=y.dtype)))(z)
    return log_marginal(prior, *stats).sum(axis=-1)


def is_log_evidence(key: jax.Array, data: np.ndarray, k: int, prior: NIWPrior, n_samples: int) -> EvidenceEstimate:
    """log p(x | K) by importance sampling with z from its prior: p(x | K) = E_{z ~ DirMult}[p(x | z)].

    Reports log mean_s w_s with w_s = p(x | z_s) = prod_k m(x_{S_k}), the delta-method error
    sqrt(var(w) / S) / mean(w) and ESS = (sum w)^2 / sum w^2. The error bar is itself estimated
    from the weights drawn, so when ESS < MIN_IS_ESS (50) it means nothing (the heavy tail of
    w has not been seen and the estimate is typically far too low; the rule of
    ``gmm.model_choice.evidence_result.importance_error_bar``): the estimate is still
    returned, its ``log_evidence_stderr`` is NaN and a warning says to use SMC. Warned, not refused: the
    value is an unbiased estimate of p(x | K) all the same, and a NaN error bar carries the
    verdict into :func:`gmm.posterior_over_k`.
    """

    y, prior_y, log_jac = _standardised(data, prior)
    rng = numpy_rng(key)
    chunk = min(n_samples, 1024)  # one block shape, one compile
    log_w = np.empty(n_samples)
    with jax.enable_x64(True):
        yj, pj = jnp.asarray(y), _as_jax(prior_y)
        for start in range(0, n_samples, chunk):
            z = _prior_labels(rng, y.shape[0], k, float(prior_y.alpha), chunk)
            log_w[start : start + chunk] = np.asarray(_log_lik_given_z(jnp.asarray(z), yj, pj, k))[: n_samples - start]
        ess, log_ev, stderr = (float(v) for v in weight_summary(jnp.asarray(log_w)))
    stderr = importance_error_bar(ess, stderr, n_samples, f"importance sampling from the prior of z (K={k}, "
                                  f"{n_samples} samples)")  # the rule shared with the line's estimator
    return EvidenceEstimate(n_components=k, log_evidence=log_ev - log_jac, log_evidence_stderr=stderr,
                            method="is", ess=ess)


# ---------------------------------------------------------------------------
# Sequential Monte Carlo over the points
# ---------------------------------------------------------------------------


def _log_urn(n: jax.Array, k: jax.Array, alpha: jax.Array) -> jax.Array:
    """log P(z_new = j | counts n) = log (n_j + alpha) / (sum n + K alpha) (Polya urn of
    Dirichlet(alpha 1_K)); -inf for padded components j >= K. n: (..., K_max)."""
    live = jnp.arange(n.shape[-1]) < k
    return jnp.where(live, jnp.log(n + alpha) - jnp.log(n.sum(-1, keepdims=True) + k * alpha), -jnp.inf)


def _move(stats: tuple, onehot: jax.Array, yi: jax.Array, sign: float) -> tuple:
    """Add (sign = 1) or remove (-1) the point yi (D,) to or from the component given by
    each particle's onehot row (M, K): statistics (n, s1, s2) of shapes (M, K), (M, K, D), (M, K, D, D)."""
    n, s1, s2 = stats
    w = sign * onehot
    return n + w, s1 + w[..., None] * yi, s2 + w[..., None, None] * jnp.outer(yi, yi)


def _gibbs_sweeps(key, y, z, stats, prior, k, n_seen, n_moves: int):
    """``n_moves`` collapsed-Gibbs sweeps over the points 0..n_seen-1 of every particle:
    z_j ~ P(z_j = c | z_-j, y) ∝ (n_c^-j + alpha) p(y_j | points in c but j). Leaves
    p(z_<n | y_<n) invariant, so the evidence estimate stays unbiased."""
    k_max = stats[0].shape[-1]

    def point(j, carry):
        z, stats, key_s = carry
        yj = y[j]
        stats = _move(stats, jax.nn.one_hot(z[:, j], k_max, dtype=y.dtype), yj, -1.0)
        logits = _log_urn(stats[0], k, prior.alpha) + log_predictive(prior, *stats, yj)
        new = jax.random.categorical(jax.random.fold_in(key_s, j), logits).astype(jnp.int32)
        return z.at[:, j].set(new), _move(stats, jax.nn.one_hot(new, k_max, dtype=y.dtype), yj, 1.0), key_s

    for s in range(n_moves):
        z, stats, _ = jax.lax.fori_loop(0, n_seen, point, (z, stats, jax.random.fold_in(key, s)))
    return z, stats


@partial(jax.jit, static_argnames=("n_particles", "n_runs", "k_max", "n_moves"))
def _smc_runs(key, y, prior, k, ess_threshold, *, n_particles: int, n_runs: int, k_max: int, n_moves: int):
    """log Z of ``n_runs`` independent particle filters over the points y (N, D): (R,), and
    the number of resampling steps per run (R,). Particles of all runs are stacked (R P, ...)."""
    n_pts, d = y.shape
    m = n_runs * n_particles
    stats = (jnp.zeros((m, k_max)), jnp.zeros((m, k_max, d)), jnp.zeros((m, k_max, d, d)))
    offsets = (jnp.arange(n_runs) * n_particles)[:, None]

    def step(carry, inp):
        log_w, log_z, n_res, z, stats, log_m = carry
        i, yi = inp
        key_r, key_z, key_g = jax.random.split(jax.random.fold_in(key, i), 3)
        # log_predictive(prior, *stats, yi) with log m(current points) carried, not recomputed
        log_m_add = log_marginal(prior, *_move(stats, jnp.ones_like(stats[0]), yi, 1.0))
        log_joint = _log_urn(stats[0], k, prior.alpha) + log_m_add - log_m  # (M, K)
        new_w = log_w + logsumexp(log_joint, axis=1).reshape(n_runs, n_particles)
        log_z = log_z + logsumexp(new_w, axis=1) - logsumexp(log_w, axis=1)
        # resample on the predictive weights before drawing z_i (fully adapted filter)
        resample = jax.vmap(ess_fraction)(new_w) < ess_threshold
        idx = jax.vmap(systematic_resample)(jax.random.uniform(key_r, (n_runs,)), new_w)
        idx = (jnp.where(resample[:, None], idx, jnp.arange(n_particles)) + offsets).reshape(-1)
        z, stats, log_joint, log_m, log_m_add = jax.tree_util.tree_map(
            lambda a: a[idx], (z, stats, log_joint, log_m, log_m_add))
        new_w = jnp.where(resample[:, None], 0.0, new_w)
        zi = jax.random.categorical(key_z, log_joint).astype(jnp.int32)
        onehot = jax.nn.one_hot(zi, k_max, dtype=y.dtype)
        z, stats = z.at[:, i].set(zi), _move(stats, onehot, yi, 1.0)
        log_m = jnp.where(onehot > 0, log_m_add, log_m)
        if n_moves:  # rejuvenate every particle when some run resampled (valid for any particle)
            z, stats, log_m = jax.lax.cond(
                resample.any(),
                lambda zs: (*(out := _gibbs_sweeps(key_g, y, *zs[:2], prior, k, i + 1, n_moves)), log_marginal(prior, *out[1])),
                lambda zs: zs, (z, stats, log_m),
            )
        return (new_w, log_z, n_res + resample, z, stats, log_m), None

    init = (jnp.zeros((n_runs, n_particles)), jnp.zeros(n_runs), jnp.zeros(n_runs, jnp.int32),
            jnp.zeros((m, n_pts), jnp.int32), stats, jnp.zeros((m, k_max)))
    (_, log_z, n_res, *_), _ = jax.lax.scan(step, init, (jnp.arange(n_pts), y))
    return log_z, n_res


def smc_log_evidence(
    key: jax.Array, data: np.ndarray, k: int, prior: NIWPrior, n_particles: int, n_runs: int,
    n_moves: int, ess_threshold: float, k_max: int | None = None,
) -> EvidenceEstimate:
    """log p(x | K) from ``n_runs`` independent particle filters over the points (the module
    docstring), ``n_particles`` each, resampling a run when its ESS / M < ``ess_threshold``,
    with ``n_moves`` collapsed-Gibbs sweeps after each step in which some run resampled.
    The estimate is log mean_r Z_r; ``log_evidence_stderr`` = sqrt(var_r(Z_r) / R) / mean_r(Z_r) (delta
    method); ``run_log_evidence`` holds log Z_r. ``k_max`` (>= K; default K) pads the components
    so that calls with the same k_max share one compile. The points are taken in their given
    order; the estimate is unbiased for any order.
    """
    y, prior_y, log_jac = _standardised(data, prior)
    with jax.enable_x64(True):
        log_z, _ = _smc_runs(
            key, jnp.asarray(y), _as_jax(prior_y), jnp.asarray(k), jnp.asarray(ess_threshold, jnp.float64),
            n_particles=n_particles, n_runs=n_runs, k_max=k if k_max is None else k_max, n_moves=n_moves,
        )
        log_z = np.asarray(log_z, np.float64)
    return smc_result(k, n_runs, log_jac, log_z, np.zeros(1), np.array(math.nan))


# ---------------------------------------------------------------------------
# Dispatch for the public entry points (gmm.model_choice.evidence)
# ---------------------------------------------------------------------------


def estimate(key, data, k, prior, method, n_particles, n_runs, n_moves, ess_threshold, k_max=None) -> EvidenceEstimate:
    """:func:`gmm.log_marginal_likelihood` on checked (N, D) data, NIWPrior and settings."""
    if method == "is":
        return is_log_evidence(key, data, k, prior, n_particles)
    return smc_log_evidence(key, data, k, prior, n_particles, n_runs, n_moves, ess_threshold, k_max)


def posterior_over_k_nd(key, data, ks, prior, method, max_exact, settings) -> KPosterior:
    """:func:`gmm.posterior_over_k` on checked (N, D) data, NIWPrior, candidate ks and
    estimator settings (n_particles, n_runs, n_moves, ess_threshold). K = 1, and with
    ``"auto"`` every K with at most ``max_exact`` set partitions, is exact."""
    n = data.shape[0]
    exact = {k: k == 1 or n_partitions(n, k, max_exact) <= max_exact for k in ks}
    if method == "exact" and not all(exact.values()):
        raise ValueError(
            f"method='exact' needs at most max_assignments = {max_exact} set partitions of the "
            f"{n} points for every K; K={max(ks)} has more. Use method='auto' or 'smc'."
        )
    estimates = {}
    for i, k in enumerate(ks):
        if method == "exact" or k == 1 or (method == "auto" and exact[k]):
            estimates[k] = exact_log_evidence(data, k, prior, max_exact)
        else:  # every K padded to max(ks): one compilation serves them all
            estimates[k] = estimate(jax.random.fold_in(key, i), data, k, prior, "is" if method == "is" else "smc",
                                    *settings, k_max=max(ks))
    return k_posterior(ks, estimates)


__all__ = ["MAX_EXACT_PARTITIONS", "MIN_IS_ESS", "estimate", "exact_log_evidence", "exact_posterior_draws", "is_log_evidence",
           "n_partitions", "posterior_over_k_nd", "resolve_data", "smc_log_evidence"]
