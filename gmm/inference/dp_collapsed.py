"""The Dirichlet process mixture in D dimensions: Neal's (2000) Algorithm 3, collapsed Gibbs.

Model: a partition of the N points from the CRP with concentration alpha; each cluster's
(mu_c, Sigma_c) from the Normal-Inverse-Wishart base measure G0 (:class:`gmm.models.niw.NIWPrior`);
x_i ~ Normal(mu_{z_i}, Sigma_{z_i}). G0 is conjugate, so (mu_c, Sigma_c) integrate out and the
sampler moves the partition alone. Each point in turn leaves its cluster (its statistics
n, s1 = sum x, s2 = sum x x^T are taken out) and joins

    an occupied cluster c   with probability  ∝ n_c p(x_i | points of c),
    a new cluster           with probability  ∝ alpha p(x_i),

where p(x_i | points of c) = p(points of c, x_i) / p(points of c) (:func:`log_marginal`) is the
multivariate Student-t predictive of the NIW posterior (p(x_i) the same with no points). With a
Gamma(a, b) prior alpha is drawn after each sweep by Escobar and West's (1995) auxiliary-variable
step, shared with Algorithm 8 (:mod:`gmm.inference.dpmm`), whose other shared pieces (argument checks, the starting
partition) also live here.

Fixed shapes: ``max_clusters`` cluster slots, a free (empty) slot reused for every new
cluster. When all slots are occupied by the other points the new-cluster option is
switched off for that move; the chain then samples the DP posterior restricted to at most
``max_clusters`` clusters (exactly: it is the Gibbs sampler of that restricted law), and
:func:`gmm.dp_gibbs` warns when a kept draw reached the capacity. With max_clusters >= N the
capacity is never reached.

Numerics: data centred and scaled per column in float64 (median, IQR / 1.349), the prior
mapped with them (:meth:`NIWPrior.standardised`); the chains run in float64, and the
statistics are recomputed from the labels after every sweep, so add-and-remove rounding
never accumulates. Log marginals factor Psi_n from the scatter about each cluster's mean and a
rank-one update (:func:`log_marginal`), so a far outlier in a cluster of its own (whose raw
moments swamp Psi_0) gives finite numbers. Each kept sweep stores its clusters' statistics;
afterwards every cluster's (mu_c, Sigma_c) is drawn from its NIW posterior given that sweep's
partition, by Bartlett's construction of the model's Wishart precision (the law of
``gmm.models.full_covariance.niw_component``), so a draw's
components are a sample of the full posterior, not only of the partition.
"""

from __future__ import annotations

import math
import warnings
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from genjax import const, seed
from jax.scipy.special import multigammaln

from gmm.models import niw
from gmm._util.numerics import bucket, robust_scale_columns
from gmm._util.validation import MAX_VALUES, check_memory, check_n_components, check_positive
from gmm.inference.gibbs_conjugate import MAX_WORK, check_spread, inverse_wishart_factor, posterior_parts
from gmm.inference.gibbs_conjugate import forward_solve, pivot_floor, posterior_tril, small_cholesky
from gmm.models.crp import crp_process
from gmm.models.generative import Prior
from gmm.models.niw import NIWPrior, resolve_niw_prior

INITS = ("one", "singletons", "prior")
MAX_CLUSTERS = 32  # default cluster slots of Algorithm 3
MAX_WARMUP = 10_000_000  # most warmup sweeps per chain, as gmm.gibbs
MAX_CHAINS = 1024  # most chains, as gmm.gibbs


# ---------------------------------------------------------------------------
# Shared with Algorithm 8 (gmm.inference.dpmm)
# ---------------------------------------------------------------------------


def check_concentration_prior(value: Any) -> tuple[float, float] | None:
    """None, or a pair (a, b) of numbers > 0 (alpha ~ Gamma(a, b), shape-rate)."""
    if value is None:
        return None
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"concentration_prior must be None or a pair (a, b) of numbers > 0, got {value!r}.") from None
    return (check_positive(a, "concentration_prior[0]"), check_positive(b, "concentration_prior[1]"))


def check_count(value: Any, name: str, minimum: int, maximum: int | None = None) -> int:
    """An integer >= ``minimum`` (and <= ``maximum`` when given): a Python, NumPy or 0-d JAX integer,
    not a bool, as every sampler's counts (:func:`gmm._util.validation.check_chain_sizes`)."""
    count = check_n_components(value, name=name, minimum=minimum)
    if maximum is not None and count > maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {value!r}.")
    return count


def check_flag(value: Any, name: str) -> bool:
    """True or False (a Python or NumPy bool), as :func:`gmm.gibbs` takes its flags."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_run_options(concentration: Any, concentration_prior: Any, n_samples: Any, n_warmup: Any, n_chains: Any,
                      init: Any, prior_only: Any) -> dict[str, Any]:
    """The options both samplers share, checked; keyword arguments of their runners. The most
    warmup sweeps and chains are :func:`gmm.gibbs`'s; the run's size is checked by each sampler."""
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}.")
    return dict(alpha=check_positive(concentration, "concentration"),
                concentration_prior=check_concentration_prior(concentration_prior),
                n_samples=check_count(n_samples, "n_samples", 4),
                n_warmup=check_count(n_warmup, "n_warmup", 0, MAX_WARMUP),
                n_chains=check_count(n_chains, "n_chains", 1, MAX_CHAINS), init=init,
                prior_only=check_flag(prior_only, "prior_only"))


def check_run_memory(need: float, formula: str, values: str, advice: str) -> None:
    """Refuse a run whose arrays (stored draws, co-clustering counts, a sweep's temporaries) need more
    than :data:`gmm._util.validation.MAX_VALUES` float64 numbers (0.75 GiB): the one memory rule and
    message of every entry point (:func:`gmm._util.validation.check_memory`). ``need`` counts float64
    numbers (a float32 counts half), ``formula`` says how, ``values`` gives each factor, ``advice``
    what to lower."""
    check_memory(math.ceil(need), f"the run's arrays, {formula} float64 numbers with {values},", 1, f" ({advice})")


def check_work(work: float, formula: str, advice: str) -> None:
    """Refuse a run of more than ``MAX_WORK`` elementary updates (hours on a CPU core):
    ``formula`` names each factor with its value."""
    if work > MAX_WORK:
        raise ValueError(f"{formula} = {work:.3g} updates would take hours or days; allowed: at most "
                         f"{MAX_WORK:.0e}: {advice}.")


def check_algorithm8_size(n: int, n_pad: int, n_aux: int, n_samples: int, n_warmup: int, n_chains: int) -> None:
    """Algorithm 8's memory (stored draws, co-clustering counts, and every point's n_aux draws from
    G0 in each sweep, all chains at once) and work (each point move scans N + n_aux slots); n_pad
    is N padded (the sampler's N)."""
    # in float64 numbers: float32 draws (count, mean, sd) of every slot, int32 co-clustering counts
    fixed = n_chains * (n_samples * (n_pad + 1) * 1.5 + n_pad * n_pad / 2)
    # a sweep's draws from G0, N x n_aux (mu, sigma) pairs, take about 55 bytes each with the
    # sampler's temporaries (measured: 0.7 GB more at N x n_aux = 1.3e7)
    per_aux = n_chains * (n_samples * 1.5 + n_pad * 8)
    most = int(max((MAX_VALUES - fixed) // per_aux, 0))
    check_run_memory(fixed + per_aux * n_aux, "n_chains x (n_samples x (N + n_aux) x 1.5 + N^2 / 2 + N x n_aux x 8)",
                     f"n_chains={n_chains}, n_samples={n_samples}, n_aux={n_aux} and N={n} points",
                     "use fewer samples, chains or auxiliary clusters"
                     + (f"; with these n_chains and n_samples, n_aux <= {most}" if most >= 1 else ""))
    # an auxiliary cluster costs about ten occupied slots (its draw from G0 and its bookkeeping; measured)
    width = n_pad + 10 * n_aux
    check_work(float(n_chains) * (n_warmup + n_samples) * n * width,
               f"n_chains x (n_warmup + n_samples) x N x (N + 10 n_aux) = {n_chains} x ({n_warmup} + {n_samples}) x "
               f"{n} x ({n_pad} + 10 x {n_aux})",
               f"use fewer sweeps, chains or auxiliary clusters (with these, n_warmup + n_samples <= "
               f"{int(MAX_WORK // (n_chains * n * width))})")


def check_niw_options(data: np.ndarray, prior: Any, n_aux: Any, max_clusters: Any) -> tuple[NIWPrior, int]:
    """Algorithm 3's prior and capacity for data (N, D), checked; Algorithm 8's options refused."""
    n, d = data.shape
    if n <= d:
        raise ValueError(f"x has N = {n} points in D = {d} dimensions (shape {data.shape}); the DP mixture in D "
                         "dimensions needs more rows (points) than columns (is x transposed?).")
    if isinstance(prior, Prior):
        raise ValueError(f"prior: a gmm.Prior is the base measure of the 1-D DP mixture (Algorithm 8); for x with "
                         f"D = {d} columns give a gmm.NIWPrior, or None for NIWPrior.from_data(x).")
    if n_aux is not None:
        raise ValueError(f"n_aux={n_aux!r}: auxiliary clusters belong to Algorithm 8 (1-D data, a gmm.Prior); under "
                         "a NIWPrior dp_gibbs runs the collapsed Algorithm 3, which has none: leave n_aux out.")
    cap = MAX_CLUSTERS if max_clusters is None else check_count(max_clusters, "max_clusters", 1)
    return resolve_niw_prior(prior, data), cap


def initial_labels(key: jax.Array, n: int, alpha: jax.Array, init: jax.Array) -> jax.Array:
    """Labels of n points from the traced code ``init`` (0: one cluster, 1: singletons, 2: a
    CRP draw, whose first m customers are a CRP of m customers), shape (n,), int32."""
    crp = seed(crp_process.simulate)(key, const(n), alpha).get_retval().astype(jnp.int32)
    return jnp.select([init == 0, init == 1], [jnp.zeros(n, jnp.int32), jnp.arange(n, dtype=jnp.int32)], crp)


def record(t, n_warmup, z, co, bufs, values):
    """After sweep t: add the co-clustering 1[z_i = z_j] (N, N) to ``co`` and write ``values``
    into row t - n_warmup of the buffers ``bufs``, for kept sweeps (t >= n_warmup) only."""
    co = co + jnp.where(t >= n_warmup, (z[:, None] == z[None, :]).astype(co.dtype), 0.0)
    row = jnp.maximum(t - n_warmup, 0)  # warmup sweeps write row 0, overwritten by the first kept one
    return co, tuple(jax.lax.dynamic_update_index_in_dim(buf, v, row, 0) for buf, v in zip(bufs, values))


def gamma_draw(key, shape, n_try: int = 8):
    """Gamma(shape, 1) draws (any array of shapes > 0) with a fixed amount of work.

    Marsaglia and Tsang (2000) for Gamma(shape + 1), whose acceptance rate is at least 0.95,
    with ``n_try`` proposals at once (all rejected with probability < 1e-10, when the last is
    kept), then Gamma(shape) = Gamma(shape + 1) U^(1 / shape). No rejection loop, which keeps
    the compiled sampler small (``jax.random.gamma``/``beta`` triple its compile time).
    """
    k_z, k_u, k_boost = jax.random.split(key, 3)
    size = jnp.shape(shape)
    d = shape + 1.0 - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    z = jax.random.normal(k_z, (n_try,) + size)
    u = jax.random.uniform(k_u, (n_try,) + size)
    v = (1.0 + c * z) ** 3
    ok = (v > 0) & (jnp.log(u) < 0.5 * z**2 + d - d * v + d * jnp.log(jnp.where(v > 0, v, 1.0)))
    first = jnp.where(ok.any(axis=0), jnp.argmax(ok, axis=0), n_try - 1)
    g = d * jnp.maximum(jnp.take_along_axis(v, first[None], axis=0)[0], 0.0)
    return g * jax.random.uniform(k_boost, size) ** (1.0 / shape)


def update_concentration(key, alpha, k, n, a, b):
    """Escobar and West (1995): eta ~ Beta(alpha + 1, N); alpha | eta, k is the two-part mixture
    pi Gamma(a + k, b - log eta) + (1 - pi) Gamma(a + k - 1, b - log eta),
    pi / (1 - pi) = (a + k - 1) / (N (b - log eta)). Beta from two Gamma draws."""
    k_eta, k_mix, k_g = jax.random.split(key, 3)
    g = gamma_draw(k_eta, jnp.stack([alpha + 1.0, jnp.asarray(n, alpha.dtype)]))
    log_eta = jnp.log(jnp.maximum(g[0], 1e-30)) - jnp.log(jnp.maximum(g[0] + g[1], 1e-30))
    rate = b - log_eta
    odds = (a + k - 1.0) / (n * rate)
    shape = jnp.where(jax.random.uniform(k_mix) < odds / (1.0 + odds), a + k, a + k - 1.0)
    return jnp.maximum(gamma_draw(k_g, shape) / rate, 1e-30)


# ---------------------------------------------------------------------------
# Algorithm 3 (standardised units, float64)
# ---------------------------------------------------------------------------


def log_marginal(prior: NIWPrior, n: jax.Array, s1: jax.Array, s2: jax.Array, floor: jax.Array | None = None,
                 ) -> jax.Array:
    """log p(points of a cluster), mu and Sigma integrated out, as :func:`gmm.models.niw.log_marginal`,
    from n (...), s1 = sum y (..., D) and s2 = sum y y^T (..., D, D); 0 for an empty cluster.
    ``floor``: :func:`gmm.inference.gibbs_conjugate.pivot_floor` of the prior's scale matrix, or None.

    log det Psi_n comes from :func:`gmm.inference.gibbs_conjugate.posterior_parts` (the scatter about
    the cluster's mean plus a rank-one term), not from Psi_0 + s2 - kappa_n m_n m_n^T, which
    cancels to noise, and a NaN, for a cluster far from the prior's mean (one far outlier).
    """
    d = s1.shape[-1]
    scatter = s2 - s1[..., :, None] * (s1 / jnp.where(n > 0, n, 1.0)[..., None])[..., None, :]
    scatter = jnp.where((n > 0)[..., None, None], scatter, 0.0)
    # s2 - s1 s1^T / n loses about eps max(s2) (none for one point, whose statistics are exact):
    # a pivot within 1000 times that is noise, and every such cluster gets the same wide factor,
    # so that comparisons between them (a predictive is a difference of two) stay consistent
    rounding = 1e3 * d * jnp.finfo(s2.dtype).eps * jnp.max(jnp.diagonal(s2, axis1=-2, axis2=-1), axis=-1)
    kappa_n, _, dof_n, tril, w = posterior_parts(prior, n, s1, scatter, jnp.where(n >= 2, rounding, 0.0), floor)
    # det(C C^T + w w^T) = det(C C^T) (1 + |C^{-1} w|^2), the matrix determinant lemma
    white = forward_solve(tril, w)
    half_log_det = (jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), axis=-1)
                    + 0.5 * jnp.log1p(jnp.sum(white**2, axis=-1)))
    half_log_det0 = jnp.sum(jnp.log(jnp.diagonal(small_cholesky(prior.scale_matrix))))
    return (-0.5 * n * d * math.log(math.pi)
            + multigammaln(0.5 * dof_n, d) - multigammaln(0.5 * prior.dof, d)
            + prior.dof * half_log_det0 - dof_n * half_log_det
            + 0.5 * d * (jnp.log(prior.kappa) - jnp.log(kappa_n)))


def _move_point(i, state, y, u, prior, use_lik, floor):
    """Point i leaves its slot and joins a slot drawn by inverse CDF from the uniform u[i].

    ``lm`` caches each slot's log marginal likelihood log p(points of c), so the predictive
    of every slot costs one log_marginal of (its points + x_i): the Student-t predictive is
    log p(points + x_i) - log p(points). ``isum`` holds each slot's sum of point indices, which
    names the last point of a slot left with one.
    """
    z, n, s1, s2, lm, isum, alpha = state
    yi, yy = y[i], jnp.outer(y[i], y[i])
    c = z[i]
    n = n.at[c].add(-1.0)
    isum = isum.at[c].add(-i)
    gone = n[c] == 0  # exact zeros for an emptied slot: it is reused as a fresh cluster
    # one point left: its own statistics, exactly (subtracting a far outlier's would leave noise)
    one, j = n[c] == 1, isum[c]
    s1 = s1.at[c].set(jnp.where(gone, 0.0, jnp.where(one, y[j], s1[c] - yi)))
    s2 = s2.at[c].set(jnp.where(gone, 0.0, jnp.where(one, jnp.outer(y[j], y[j]), s2[c] - yy)))
    lm = lm.at[c].set(log_marginal(prior, n[c], s1[c], s2[c], floor))
    joined = log_marginal(prior, n + 1.0, s1 + yi, s2 + yy, floor)  # (M,)
    slots = jnp.arange(n.shape[0])
    free = n == 0
    # the first free slot stands for a new cluster; none free: the capacity is reached
    new_slot = free & (slots == jnp.argmax(free))
    log_w = jnp.where(free, jnp.where(new_slot, jnp.log(alpha), -jnp.inf), jnp.log(jnp.maximum(n, 1.0)))
    log_w = log_w + jnp.where(use_lik, joined - lm, 0.0)
    # a cluster whose statistics rounding destroyed (a far outlier added and removed) is not chosen
    log_w = jnp.where(jnp.isnan(log_w), -jnp.inf, log_w)
    cum = jnp.cumsum(jnp.exp(log_w - jnp.max(log_w)))
    new = jnp.minimum(jnp.sum(cum <= u[i] * cum[-1]), n.shape[0] - 1).astype(z.dtype)
    return (z.at[i].set(new), n.at[new].add(1.0), s1.at[new].add(yi), s2.at[new].add(yy),
            lm.at[new].set(joined[new]), isum.at[new].add(i), alpha)


def _slot_stats(y, z, valid, prior, n_slots: int, floor):
    """(n, s1, s2, log marginal, sum of point indices) of every slot from the labels; padding
    points count for none."""
    onehot = jax.nn.one_hot(z, n_slots, dtype=y.dtype) * valid[:, None]
    n, s1, s2 = niw.sufficient_stats(y, onehot)
    isum = jax.ops.segment_sum(jnp.where(valid, jnp.arange(z.shape[0]), 0), z, num_segments=n_slots)
    return n, s1, s2, log_marginal(prior, n, s1, s2, floor), isum


@jax.jit
def _draw_components(key, prior, n, s1, s2):
    """(mu_c, chol Sigma_c) of B clusters from their NIW posteriors: Sigma_c ~ IW(dof_n, Psi_n) by
    Bartlett's construction (:func:`gmm.inference.gibbs_conjugate.inverse_wishart_factor`, the
    law of the model's ``niw_component``), then mu_c ~ N(m_n, Sigma_c / kappa_n); n (B,), s1 (B, D),
    s2 (B, D, D) give shapes (B, D), (B, D, D). Compiled once per B and D, apart from the sampler."""
    d = s1.shape[-1]
    scatter = s2 - s1[:, :, None] * (s1 / jnp.where(n > 0, n, 1.0)[:, None])[:, None, :]
    scatter = jnp.where((n > 0)[:, None, None], scatter, 0.0)
    kappa_n, m_n, dof_n, psi_tril = posterior_tril(prior, n, s1, scatter)
    k_g, k_a, k_m = jax.random.split(key, 3)
    chi2 = 2.0 * jax.random.gamma(k_g, (dof_n[:, None] - jnp.arange(d, dtype=s1.dtype)) / 2.0, dtype=s1.dtype)
    normals = jax.random.normal(k_a, (n.shape[0], d, d), s1.dtype)
    trils = jax.vmap(inverse_wishart_factor)(chi2, normals, psi_tril)
    eps = jax.random.normal(k_m, m_n.shape, s1.dtype)
    return m_n + jnp.einsum("bde,be->bd", trils, eps) / jnp.sqrt(kappa_n)[:, None], trils


@partial(jax.jit, static_argnames=("n_samples", "n_chains", "n_slots"))
def _collapsed_run(key, y, n_valid, prior, alpha0, alpha_ab, init, n_warmup, learn_alpha, use_lik, *,
                   n_samples: int, n_chains: int, n_slots: int):
    """All chains (vmap) and sweeps (fori_loop). Per kept sweep: the number of clusters, alpha
    and the slots' statistics sorted by size (n, s1 (D,), s2 (D, D)); co-clustering summed.

    ``y`` is padded: its first ``n_valid`` rows are the data; the rest belong to no cluster
    and never move. Only shapes are static, so runs differing in data size (within a
    padding bucket), warmup, start, alpha's prior or the likelihood switch share one program.
    """
    npad, d = y.shape
    valid = jnp.arange(npad) < n_valid
    nv = n_valid.astype(y.dtype)
    a, b = alpha_ab
    floor = pivot_floor(prior.scale_matrix)
    stats = partial(_slot_stats, y, valid=valid, prior=prior, n_slots=n_slots, floor=floor)

    def chain(key_c):
        k_init, k_run = jax.random.split(key_c)
        # labels beyond the capacity share the last slot
        z = jnp.minimum(initial_labels(k_init, npad, alpha0, init), n_slots - 1)
        bufs = (jnp.zeros(n_samples, jnp.int32), jnp.zeros((n_samples, n_slots), jnp.int32),
                jnp.zeros((n_samples, n_slots, d)), jnp.zeros((n_samples, n_slots, d, d)), jnp.zeros(n_samples))

        def sweep(t, carry):
            state, co, bufs = carry
            k_u, k_a = jax.random.split(jax.random.fold_in(k_run, t))
            move = partial(_move_point, y=y, u=jax.random.uniform(k_u, (npad,), y.dtype), prior=prior,
                           use_lik=use_lik, floor=floor)
            state = jax.lax.fori_loop(0, n_valid, move, state)
            z, alpha = state[0], state[-1]
            n, s1, s2, lm, isum = stats(z)
            k = jnp.sum(n > 0)
            alpha = jnp.where(learn_alpha, update_concentration(k_a, alpha, k.astype(y.dtype), nv, a, b), alpha)
            order = jnp.argsort(-n)
            co, bufs = record(t, n_warmup, z, co, bufs, (k.astype(jnp.int32), n[order].astype(jnp.int32), s1[order],
                                                          s2[order], alpha))
            return (z, n, s1, s2, lm, isum, alpha), co, bufs

        state = (z, *stats(z), alpha0)
        _, co, bufs = jax.lax.fori_loop(0, n_warmup + n_samples, sweep, (state, jnp.zeros((npad, npad)), bufs))
        return bufs, co

    (ks, sizes, s1, s2, alphas), co = jax.vmap(chain)(jax.random.split(key, n_chains))
    return ks, sizes, s1, s2, alphas, co.sum(axis=0)


def run_collapsed(key: jax.Array, data: np.ndarray, prior: NIWPrior, *, alpha: float,
                  concentration_prior: tuple[float, float] | None, n_samples: int, n_warmup: int,
                  n_chains: int, init: str, prior_only: bool, max_clusters: int) -> dict[str, np.ndarray]:
    """Algorithm 3 on checked data (N, D) and prior (data units). Returns, in data units and
    float64: ``n_clusters`` (C, S), ``concentration`` (C, S), ``sizes`` (C, S, L) int,
    ``means`` (C, S, L, D), ``covariances`` (C, S, L, D, D) (NaN past a draw's clusters; L the
    most clusters of any draw) and ``coclustering`` (N, N)."""
    n, d = data.shape
    n_pad = bucket(n, 32)  # similar sizes share one compiled sampler
    check_run_memory(n_chains * (n_samples * max_clusters * (2 + d + d * d) + n_pad * n_pad),
                     "n_chains x (n_samples x max_clusters x (D^2 + D + 2) + N^2)",
                     f"n_chains={n_chains}, n_samples={n_samples}, max_clusters={max_clusters} and N={n} points in D={d}",
                     "use fewer samples, chains or max_clusters")
    # a point move evaluates every slot's log marginal; its measured cost grows about as (D + 1)^2
    per_sweep = n * max_clusters * (d + 1) ** 2
    check_work(float(n_chains) * (n_warmup + n_samples) * per_sweep,
               f"n_chains x (n_warmup + n_samples) x N x max_clusters x (D + 1)^2 = {n_chains} x ({n_warmup} + "
               f"{n_samples}) x {n} x {max_clusters} x {(d + 1) ** 2}",
               f"use fewer sweeps, chains or max_clusters (with these, n_warmup + n_samples <= "
               f"{int(MAX_WORK // (n_chains * per_sweep))})")
    loc, scale = robust_scale_columns(data)
    check_spread(data, loc, scale, 1e150, "float64")
    y = np.zeros((n_pad, d))
    y[:n] = (data - loc) / scale
    k_run, k_draw = jax.random.split(key)
    with jax.enable_x64(True):
        prior_std = jax.tree_util.tree_map(jnp.asarray, prior.standardised(loc, scale))
        ks, sizes, s1, s2, alphas, co = (np.asarray(v) for v in _collapsed_run(
            k_run, jnp.asarray(y), jnp.int32(n), prior_std, jnp.float64(alpha),
            tuple(jnp.float64(v) for v in (concentration_prior or (1.0, 1.0))), jnp.int32(INITS.index(init)),
            jnp.int32(n_warmup), jnp.asarray(concentration_prior is not None), jnp.asarray(not prior_only),
            n_samples=n_samples, n_chains=n_chains, n_slots=max_clusters,
        ))
        width = max(int(ks.max()), 1)
        sizes = sizes[..., :width].astype(np.int64)
        means, trils = _components(k_draw, prior_std, sizes, s1[..., :width, :], s2[..., :width, :, :])
    occupied = (sizes > 0)[..., None]
    covs = (trils @ np.swapaxes(trils, -1, -2)) * np.outer(scale, scale)
    if max_clusters < n and np.any(ks >= max_clusters):
        warnings.warn(
            f"dp_gibbs: {np.mean(ks >= max_clusters):.1%} of the draws filled all max_clusters={max_clusters} slots, "
            "so they follow the posterior restricted to at most that many clusters; raise max_clusters.",
            RuntimeWarning, stacklevel=3,
        )
    return {
        "n_clusters": ks.astype(np.int64),
        "concentration": alphas.astype(np.float64),
        "sizes": sizes,
        "means": np.where(occupied, means * scale + loc, np.nan),
        "covariances": np.where(occupied[..., None], covs, np.nan),
        "stds": np.where(sizes > 0, np.sqrt(covs[..., 0, 0]), np.nan) if d == 1 else None,
        "coclustering": co[:n, :n].astype(np.float64) / (n_chains * n_samples),
    }


def _components(key, prior, sizes, s1, s2, chunk: int = 4096):
    """:func:`_draw_components` for arrays of clusters (..., L), in chunks of a fixed size (one
    compilation for every run in D dimensions); returns means (..., L, D), chol Sigma (..., L, D, D)."""
    shape, d = sizes.shape, s1.shape[-1]
    n, s1, s2 = sizes.reshape(-1).astype(np.float64), s1.reshape(-1, d), s2.reshape(-1, d, d)
    means, trils = np.empty((n.size, d)), np.empty((n.size, d, d))
    for j, start in enumerate(range(0, n.size, chunk)):
        sl = slice(start, start + chunk)
        pad = chunk - n[sl].size
        args = (np.pad(a[sl], [(0, pad)] + [(0, 0)] * (a.ndim - 1)) for a in (n, s1, s2))
        m, t = _draw_components(jax.random.fold_in(key, j), prior, *map(jnp.asarray, args))
        means[sl], trils[sl] = np.asarray(m)[: chunk - pad], np.asarray(t)[: chunk - pad]
    return means.reshape(*shape, d), trils.reshape(*shape, d, d)


__all__ = ["INITS", "MAX_CHAINS", "MAX_WARMUP", "check_algorithm8_size", "check_concentration_prior", "check_count",
           "check_flag", "check_niw_options", "check_run_memory", "check_run_options", "check_work", "gamma_draw",
           "initial_labels", "log_marginal", "record", "run_collapsed", "update_concentration"]
