"""The "allocations" proposal of :func:`gmm.importance_sampling`.

The classic importance function for mixtures (Fruehwirth-Schnatter 2004; Lee, Marin,
Mengersen and Robert 2009): a mixture over S allocations z^s, drawn given posterior draws
theta^s, of pieces q_s(theta) that mimic p(theta | z^s, x), symmetrised over the K!
labellings. The symmetrised density needs, per piece, the permanent of a K x K matrix,
computed exactly by a dynamic programme over the 2^K subsets of the columns.

Routines, one job each: the allocations and their statistics (:func:`allocation_stats`),
the pieces' parameters (:func:`piece_parameters`), draws from the pieces
(:func:`draw_pieces`), the permanent (:func:`log_permanent`), the symmetrised density
(:func:`log_symmetrised_density`), and the jitted scorer and its driver
(:func:`run_allocations`). Everything runs on standardised data y and the prior in y's units.
"""

from __future__ import annotations

import functools
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from genjax import const
from jax.scipy.special import gammaln, logsumexp

from gmm.inference.scoring import PARAMS, parameter_prior
from gmm.models.generative import Prior, bayesian_gmm_marginal, draw_stds_numpy, mean_conditional, std_conditional_mode

MAX_PIECES = 2048  # allocations the proposal mixes (cost per particle grows with it; ESS too, up to K = 7)
_CHUNK = 64  # particles per step of the symmetrised density: bounds its (chunk, S) temporaries
_BATCH = 4096  # particles per call of the jitted scorer (its one compiled size)
_TABLE = 1 << 22  # entries of the (draws, N, K) tables of allocation_stats per block


class Pieces(NamedTuple):
    """Parameters of the S proposal pieces, each array of shape (S, K), in y's units.

    Piece s: pi ~ Dirichlet(concentration_s); independently for each component k,
    log sigma_k ~ Student-t(df, log_sd_loc_sk, log_sd_scale_sk) and mu_k | sigma_k ~
    Normal(m, v), v = 1 / (1 / s0^2 + count_sk / sigma_k^2),
    m = v (m0 / s0^2 + count_sk * centre_sk / sigma_k^2).
    """

    concentration: jax.Array | np.ndarray
    log_sd_loc: jax.Array | np.ndarray
    log_sd_scale: jax.Array | np.ndarray
    count: jax.Array | np.ndarray
    centre: jax.Array | np.ndarray


# ---------------------------------------------------------------------------
# Allocations and pieces (NumPy, float64)
# ---------------------------------------------------------------------------


def allocation_stats(
    rng: np.random.Generator, y: np.ndarray, draws: tuple[np.ndarray, np.ndarray, np.ndarray], n_pieces: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allocations z^s ~ p(z | theta^s, y) for up to ``n_pieces`` distinct draws theta^s (chosen
    at random without replacement among the distinct rows of ``draws``), and their statistics.

    draws: (weights, means, stds), each (R, K), y's units. z_i^s ~ Categorical(r_i), r_ik
    proportional to pi_k N(y_i | mu_k, sigma_k): one Gibbs step. Returns, each (S, K),
    counts n_k = #{i: z_i = k}, means xbar_k of the points allocated to k (0 when empty)
    and scatters SS_k = sum_{z_i = k} (y_i - xbar_k)^2.
    """
    w, m, s = (np.asarray(a, np.float64) for a in draws)
    rows = np.unique(np.concatenate([w, m, s], axis=1), axis=0, return_index=True)[1]
    pick = rng.choice(rows, size=min(n_pieces, rows.size), replace=False)
    k = w.shape[1]
    step = max(1, _TABLE // (y.size * k))  # draws per block: (block, N, K) tables of bounded size
    stats = []
    for i in range(0, pick.size, step):
        j = pick[i : i + step]
        logit = np.log(np.maximum(w[j], 1e-300))[:, None, :] - np.log(s[j])[:, None, :]
        logit = logit - 0.5 * ((y[None, :, None] - m[j][:, None, :]) / s[j][:, None, :]) ** 2
        cum = np.cumsum(np.exp(logit - logit.max(axis=2, keepdims=True)), axis=2)
        u = rng.random(cum.shape[:2])[..., None] * cum[..., -1:]
        z = np.minimum((cum <= u).sum(axis=2), k - 1)  # (block, N)
        one_hot = z[..., None] == np.arange(k)  # (block, N, K)
        n = one_hot.sum(axis=1).astype(np.float64)
        xbar = np.where(n > 0, (one_hot * y[None, :, None]).sum(axis=1) / np.maximum(n, 1.0), 0.0)
        stats.append((n, xbar, (one_hot * (y[None, :, None] - xbar[:, None, :]) ** 2).sum(axis=1)))
    return tuple(np.concatenate([b[i] for b in stats]) for i in range(3))


def piece_parameters(
    stats: tuple[np.ndarray, np.ndarray, np.ndarray], prior: Prior, spread: float = 1.0
) -> Pieces:
    """The pieces' parameters from the allocations' counts n, means xbar and scatters SS, (S, K).

    sigma: the mode of log sigma given the n points (the mean profiled out) and the spread
    there (:func:`gmm.models.generative.std_conditional_mode`), the spread times ``spread``; with
    c = 1 / spread^2, concentration alpha + c n and count c n (each piece as broad as if it
    had seen c n points), centre xbar. A component with no points has sigma's prior mode and
    curvature and mu's prior.
    """
    n, xbar, ss = (np.asarray(a, np.float64) for a in stats)
    floor = 1e-3 * float(prior.mean_scale)
    mode, sd = std_conditional_mode(n, ss, prior, floor)
    c = 1.0 / np.square(spread)
    return Pieces(
        concentration=float(prior.alpha) + c * n,
        log_sd_loc=np.log(mode),
        log_sd_scale=spread * sd,
        count=c * n,
        centre=xbar,
    )


def draw_pieces(
    rng: np.random.Generator, pieces: Pieces, df: float, defensive: float, prior: Prior, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``size`` draws (weights, means, stds), each (size, K), float64, of the mixture
    (1 - eps) (1 / S) sum_s q_s + eps p(theta): a piece s uniformly, then pi, sigma (``df``
    degrees of freedom) and mu given sigma as in :class:`Pieces`; with probability
    eps = ``defensive`` a prior draw.

    No random relabelling: the weight p(x, theta) / q_sym(theta) is symmetric in the labels,
    so it has the same law under the unsymmetrised mixture as under the symmetrised one.
    """
    s_count, k = pieces.concentration.shape
    j = rng.integers(s_count, size=size)
    sub = Pieces(*(np.asarray(a, np.float64)[j] for a in pieces))
    g = rng.gamma(sub.concentration)
    w = g / g.sum(axis=1, keepdims=True)
    stds = np.exp(sub.log_sd_loc + sub.log_sd_scale * rng.standard_t(df, (size, k)))
    prior64 = Prior.tree_unflatten(prior.family, [float(v) for v in prior.tree_flatten()[0]])
    mean, var = mean_conditional(prior64, sub.count, sub.count * sub.centre, stds)
    means = mean + np.sqrt(var) * rng.standard_normal((size, k))
    from_prior = rng.random(size) < defensive
    w0 = rng.dirichlet(np.full(k, float(prior.alpha)), size)
    m0 = rng.normal(float(prior.mean_loc), float(prior.mean_scale), (size, k))
    s0 = draw_stds_numpy(rng, (size, k), prior64)
    pick = from_prior[:, None]
    return np.where(pick, w0, w), np.where(pick, m0, means), np.where(pick, s0, stds)


# ---------------------------------------------------------------------------
# The permanent and the symmetrised density (JAX, float32)
# ---------------------------------------------------------------------------


def _permanent(a: list[list[jax.Array]]) -> jax.Array:
    """perm(A) = sum_sigma prod_k A[k, sigma(k)] for K x K matrices given entrywise: a[k][j] an
    array of any one shape (a batch of matrices), entries >= 0.

    Subset DP (no signs, unlike Ryser's formula, so no cancellation): f_0(empty) = 1 and
    f_r(T) = sum_{j in T} f_{r-1}(T minus j) A[r - 1, j] over the column subsets T with |T| = r,
    so perm(A) = f_K(all columns): K 2^(K-1) products. Unrolled here into elementwise
    operations on whole batches, which XLA fuses into one loop over the batch (some 20 times
    faster on CPU than gathering subset tables)."""
    k = len(a)
    f = {0: jnp.ones_like(a[0][0])}
    for r in range(k):
        new: dict[int, jax.Array] = {}
        for mask, value in f.items():
            for j in range(k):
                if not mask >> j & 1:
                    term = value * a[r][j]
                    new[mask | 1 << j] = new[mask | 1 << j] + term if mask | 1 << j in new else term
        f = new
    return f[(1 << k) - 1]


def _log_permanent_rows(log_a: list[list[jax.Array]]) -> jax.Array:
    """log perm(A) from log A given entrywise (as :func:`_permanent`).

    Each row is divided by its largest entry first (perm(D A) = det(D) perm(A) for diagonal D),
    so every entry is at most 1 and some entry of every row is 1: float32 holds the scaled
    permanent unless it is below about 1e-38 of the product of the row maxima (and such a
    term is negligible next to a piece that the particle was drawn from). A row of -inf
    gives -inf."""
    tops = []
    scaled = []
    for row in log_a:
        top = functools.reduce(jnp.maximum, row)
        top = jnp.where(jnp.isfinite(top), top, 0.0)
        tops.append(top)
        scaled.append([jnp.exp(v - top) for v in row])
    return jnp.log(_permanent(scaled)) + sum(tops)


def log_permanent(log_a: jax.Array) -> jax.Array:
    """log perm(A) = log sum_sigma prod_k A[k, sigma(k)] from log A, shape (..., K, K) -> (...,)
    (:func:`_log_permanent_rows` on the entries)."""
    k = log_a.shape[-1]
    return _log_permanent_rows([[log_a[..., r, j] for j in range(k)] for r in range(k)])


def _log_entries(
    pieces: Pieces, df: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array, prior: Prior
) -> list[list[jax.Array]]:
    """log A_s[k][j] = (alpha_sk - 1) log pi_j + log g_sk(mu_j, sigma_j) for P particles and S
    pieces: theta's arrays (P, K), the pieces' (S, K); entry [k][j] of shape (P, S), row k a
    component of piece s, column j one of the particle's. g_sk is the density of (mu, sigma)
    under piece s's component k; that of sigma is the Student-t density of log sigma over sigma."""
    k = weights.shape[1]
    log_t0 = gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * jnp.log(df * jnp.pi)
    log_pi, log_s = jnp.log(weights), jnp.log(stds)
    rows = []
    for r in range(k):
        p = Pieces(*(v[None, :, r] for v in pieces))  # (1, S) against a particle column (P, 1)
        row = []
        for j in range(k):
            u = (log_s[:, j : j + 1] - p.log_sd_loc) / p.log_sd_scale
            log_sd = log_t0 - 0.5 * (df + 1.0) * jnp.log1p(u**2 / df) - jnp.log(p.log_sd_scale) - log_s[:, j : j + 1]
            mean, var = mean_conditional(prior, p.count, p.count * p.centre, stds[:, j : j + 1])
            log_mu = -0.5 * (jnp.log(2.0 * jnp.pi * var) + (means[:, j : j + 1] - mean) ** 2 / var)
            row.append((p.concentration - 1.0) * log_pi[:, j : j + 1] + log_sd + log_mu)
        rows.append(row)
    return rows


def log_symmetrised_density(
    pieces: Pieces, df: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array, prior: Prior
) -> jax.Array:
    """log q_sym(theta) = log (1 / (S K!)) sum_s sum_sigma q_s(sigma theta) for P particles theta
    = (pi, mu, sigma), each (P, K); returns (P,).

    Relabelling pi leaves the Dirichlet normaliser C_s = Gamma(sum_k alpha_sk) / prod_k
    Gamma(alpha_sk) alone, so sum_sigma q_s(sigma theta) = C_s perm(A_s)
    (:func:`_log_entries`, :func:`_log_permanent_rows`). The density of pi is on its first
    K - 1 coordinates, as the model's Dirichlet's.
    """
    s_count, k = pieces.concentration.shape
    log_c = gammaln(jnp.sum(pieces.concentration, axis=1)) - jnp.sum(gammaln(pieces.concentration), axis=1)
    log_perm = _log_permanent_rows(_log_entries(pieces, df, weights, means, stds, prior))  # (P, S)
    return logsumexp(log_c + log_perm, axis=1) - math.log(s_count) - math.lgamma(k + 1)


@partial(jax.jit, static_argnames=("k",))
def _score(y: jax.Array, prior: Prior, pieces: Pieces, df: jax.Array, defensive: jax.Array, theta, k: int) -> jax.Array:
    """log w = log p(y, theta) - log q(theta), shape (B,), for a batch theta = (pi, mu, sigma)
    (B, K) each, B a multiple of ``_CHUNK``; q = (1 - eps) q_sym + eps p(theta).

    p(y, theta) with the assignments summed out is ``bayesian_gmm_marginal.assess`` with every
    address constrained, p(theta) ``parameter_prior.assess``, q_sym
    :func:`log_symmetrised_density`; all on chunks of ``_CHUNK`` particles, which bounds the
    (chunk, S) and (chunk, N) temporaries. A NaN weight (a weight that underflowed to 0 in
    float32) counts as 0."""
    n = y.shape[0]

    def model(w, m, s):
        choices = dict(zip(PARAMS, (w, m, s)))
        log_p, _ = bayesian_gmm_marginal.assess(dict(choices, x=y), const(n), const(k), prior)
        log_prior, _ = parameter_prior.assess(choices, const(k), prior)
        return log_p, log_prior

    def chunk(c):
        log_p, log_prior = jax.vmap(model)(*c)
        log_sym = log_symmetrised_density(pieces, df, *c, prior)
        return log_p - jnp.logaddexp(jnp.log1p(-defensive) + log_sym, jnp.log(defensive) + log_prior)

    log_w = jax.lax.map(chunk, tuple(a.reshape((-1, _CHUNK) + a.shape[1:]) for a in theta)).reshape(-1)
    return jnp.where(jnp.isnan(log_w), -jnp.inf, log_w)


def run_allocations(
    rng: np.random.Generator,
    y: np.ndarray,
    prior: Prior,
    draws: tuple[np.ndarray, np.ndarray, np.ndarray],
    df: float,
    defensive: float,
    spread: float,
    n_particles: int,
    n_pieces: int = MAX_PIECES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Importance sampling with the allocation proposal: (log w (P,), pi, mu, sigma (P, K)) for
    P = ``n_particles``, float64, in y's units, unsorted.

    y: standardised data, float64 (N,); ``prior`` in y's units (float32 leaves, as
    :func:`gmm.inference.scoring.standardised_prior` makes it); draws: posterior draws (weights, means,
    stds), each (R, K), in y's units. The S = min(``n_pieces``, distinct draws) pieces are
    built once (:func:`allocation_stats`, :func:`piece_parameters` with ``spread``); the
    particles are drawn in NumPy (:func:`draw_pieces`) and scored in float32 in batches of
    ``_BATCH`` (the last batch's surplus dropped).
    """
    prior64 = Prior.tree_unflatten(prior.family, [float(v) for v in prior.tree_flatten()[0]])
    pieces = piece_parameters(allocation_stats(rng, y, draws, n_pieces), prior64, spread)
    pieces32 = Pieces(*(jnp.asarray(a, jnp.float32) for a in pieces))
    k = pieces.concentration.shape[1]
    y32, df32, eps32 = (jnp.asarray(v, jnp.float32) for v in (y, df, defensive))
    out = []
    for _ in range(-(-n_particles // _BATCH)):
        theta32 = tuple(jnp.asarray(a, jnp.float32) for a in draw_pieces(rng, pieces, df, defensive, prior64, _BATCH))
        log_w = _score(y32, prior, pieces32, df32, eps32, theta32, k)
        out.append((np.asarray(log_w, np.float64),) + tuple(np.asarray(a, np.float64) for a in theta32))
    return tuple(np.concatenate([o[i] for o in out])[:n_particles] for i in range(4))


__all__ = ["Pieces", "allocation_stats", "draw_pieces", "log_permanent", "log_symmetrised_density", "piece_parameters"]
