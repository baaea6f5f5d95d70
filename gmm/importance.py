"""Importance sampling for the Bayesian GMM of :mod:`gmm.models`.

:func:`importance_sampling` estimates the evidence p(x) = int p(theta) p(x | theta) dtheta
and weighted posterior particles. With ``proposal="prior"`` the particles are the model's
own prior draws of (pi, mu, sigma, z) (``bayesian_gmm.generate`` conditioned on x), the
textbook construction that collapses on real data; with ``proposal="em"`` they come from
a mixture of multivariate Student-t pieces in unconstrained coordinates, one around each
distinct posterior mode that penalised EM finds from many starts (and around its
relabellings where two means may cross), with covariances from the log posterior's Hessian
refitted by pilot runs, weighted on the means-sorted region (so no sum over the K!
labellings is needed).

The model's densities are GenJAX's (``bayesian_gmm_marginal.assess``,
``parameter_prior.assess``, ``em_proposal.assess``), vmapped in one jitted scorer per K;
the proposal's draws are made in NumPy, which keeps that scorer quick to compile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from genjax import Const, const, gen, seed
from genjax.core import distribution
from genjax.pjax import wrap_logpdf, wrap_sampler
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import gammaln, logsumexp

from gmm import _modes
from gmm._scoring import PARAMS, quiet_tfp, sort_by_mean, standardise
from gmm._validation import (
    as_data,
    check_finite,
    check_key,
    check_n_components,
    check_positive,
    check_positive_int,
)
from gmm.em import EMResult, _fit_em, numpy_rng
from gmm.mixture import Mixture
from gmm.models import (
    Prior,
    bayesian_gmm,
    bayesian_gmm_marginal,
    draw_parameters,
    draw_stds_numpy,
    observations,
    resolve_prior,
    std_conditional_mode,
)

_MAX_MODES = 16  # distinct modes the "em" proposal is built around
_MAX_PIECES = 2 * _MAX_MODES  # its pieces (padded to this many: one compiled program)
_N_STARTS = 64
_PILOT = 4096  # particles of each pilot run that refits the "em" proposal (fixed: one compiled program)
_PILOT_ROUNDS = 4
_SWAP = 3.0  # neighbouring means this many standard errors apart get a swapped piece too
_EQUAL = 0.25  # part of the pieces' probabilities shared equally (the rest by their estimated mass)


@dataclass(frozen=True)
class ImportanceResult:
    """Outcome of :func:`importance_sampling`.

    Attributes:
        log_weights: log importance weights log p(x, theta_s) - log q(theta_s), shape (S,)
            (densities of x in data units).
        weights: mixing proportions of each particle, shape (S, K), components sorted by mean.
        means: component means of each particle, shape (S, K), data units.
        stds: component standard deviations of each particle, shape (S, K), data units.
        ess: effective sample size (sum w)^2 / sum w^2, in [1, S].
        log_evidence: log p(x) estimate, logsumexp(log_weights) - log S (nats).
        log_evidence_stderr: delta-method standard error of that estimate,
            sqrt(var(w) / S) / mean(w) = sqrt((S / ess - 1) / (S - 1)). It measures the
            spread of the weights that were drawn: when ``ess`` is tiny the estimate is
            biased low and this error bar is itself unreliable (it cannot see the mass
            the proposal missed).
        proposal: ``"prior"`` or ``"em"``.
        em: the maximum-likelihood EM fit, one of the starts of the ``"em"`` proposal's mode
            search (None for ``"prior"``).
        modes: the distinct posterior modes the ``"em"`` proposal's pieces are built around, as
            mixtures sorted by mean (data units), best log posterior first (empty for ``"prior"``).
        mode_weights: the probability of the pieces around each mode within the non-defensive
            part of the proposal, shape (len(modes),), summing to 1.
    """

    log_weights: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    ess: float
    log_evidence: float
    log_evidence_stderr: float
    proposal: str
    em: EMResult | None = field(default=None, repr=False)
    modes: tuple[Mixture, ...] = field(default=(), repr=False)
    mode_weights: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def n_particles(self) -> int:
        """Number of particles S."""
        return int(self.log_weights.shape[0])

    @property
    def normalized_weights(self) -> np.ndarray:
        """Self-normalised importance weights w_s / sum_t w_t, shape (S,)."""
        lw = self.log_weights - np.max(self.log_weights)
        w = np.exp(lw)
        return w / w.sum()

    def posterior_mean(self) -> dict[str, np.ndarray]:
        """Self-normalised estimates of E[weights], E[means], E[stds] (sorted by mean), each (K,)."""
        w = self.normalized_weights
        return {name: w @ getattr(self, name) for name in PARAMS}


def _weight_summary(log_w: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(ESS, log marginal likelihood, its delta-method standard error) from log weights."""
    n = log_w.shape[0]
    total = logsumexp(log_w)
    log_norm = log_w - total
    ess = jnp.exp(-logsumexp(2.0 * log_norm))
    log_ml = total - jnp.log(n)
    # var(w)/mean(w)^2 = S sum(wn^2) - 1 with population variance; use S - 1 for the sample one.
    rel_var = jnp.maximum(n / ess - 1.0, 0.0) * n / jnp.maximum(n - 1, 1)
    stderr = jnp.sqrt(rel_var / n)
    return ess, log_ml, stderr


def _clean_log_weights(log_w: jax.Array) -> jax.Array:
    # A weight of exactly 0 in float32 (a component weight that underflowed) gives
    # -inf - (-inf) = NaN; such a particle has no mass.
    return jnp.where(jnp.isnan(log_w), -jnp.inf, log_w)


_BATCH = 8192  # particles per vmapped batch inside lax.map: bounds memory, not a Python loop


def _map_particles(one, key: jax.Array, n_particles: int):
    """``one(key_s)`` for S = n_particles keys: vmap within batches of at most ``_BATCH``,
    ``lax.map`` over batches (S is padded up to whole batches; the padding is dropped)."""
    size = min(n_particles, _BATCH)
    n_batches = -(-n_particles // size)
    keys = jax.random.split(key, n_batches * size)
    keys = keys.reshape((n_batches, size) + keys.shape[1:])
    out = jax.lax.map(jax.vmap(one), keys)
    return jax.tree_util.tree_map(lambda a: a.reshape((n_batches * size,) + a.shape[2:])[:n_particles], out)


@partial(jax.jit, static_argnames=("k", "n_particles"))
def _is_prior(key: jax.Array, x: jax.Array, prior: Prior, k: int, n_particles: int):
    """Prior proposal: (theta, z) ~ p(theta, z) via ``bayesian_gmm.generate``; log w = log p(x | theta, z)."""
    n = x.shape[0]
    generate = seed(bayesian_gmm.generate)

    def one(key_s):
        tr, log_w = generate(key_s, observations(x), const(n), const(k), prior)
        ch = tr.get_choices()
        return log_w, ch["weights"], ch["means"], ch["stds"]

    log_w, w, m, s = _map_particles(one, key, n_particles)
    log_w = _clean_log_weights(log_w)
    w, m, s = sort_by_mean(w, m, s)
    return (log_w, w, m, s), _weight_summary(log_w)


# The "em" proposal: full-covariance Student-t pieces in coordinates of the means-sorted region.


def _sorted_coordinates(weights: jax.Array, means: jax.Array, stds: jax.Array) -> jax.Array:
    """z = (log(pi_k / pi_K) for k < K, mu_k, log sigma_k), shape (3K - 1,): unconstrained
    coordinates of (pi, mu, sigma). A zero weight gives -inf entries."""
    log_w = jnp.log(weights)
    return jnp.concatenate([log_w[:-1] - log_w[-1], means, jnp.log(stds)])


def _from_sorted_coordinates(z: jax.Array) -> tuple[tuple[jax.Array, jax.Array, jax.Array], jax.Array]:
    """((pi, mu, sigma), log |d theta / d z|) for z of ``_sorted_coordinates``, K = (len(z) + 1) / 3.

    pi = softmax(r, 0) and sigma = exp(log sigma); the Jacobian's log determinant is
    sum_k log pi_k + sum_k log sigma_k (the density of pi is on its first K - 1 coordinates,
    as the Dirichlet's)."""
    k = (z.shape[-1] + 1) // 3
    log_pi = jax.nn.log_softmax(jnp.concatenate([z[: k - 1], jnp.zeros(1, z.dtype)]))
    log_s = z[2 * k - 1 :]
    return (jnp.exp(log_pi), z[k - 1 : 2 * k - 1], jnp.exp(log_s)), jnp.sum(log_pi) + jnp.sum(log_s)


def _mvt_logpdf(z, df, loc, scale_tril):
    """log density of the multivariate Student-t(df, loc, scale_tril scale_tril^T) at z, shape (D,)."""
    d = z.shape[-1]
    u = solve_triangular(scale_tril, z - loc, lower=True)
    half = 0.5 * (df + d)
    log_det = jnp.sum(jnp.log(jnp.diagonal(scale_tril)))
    return gammaln(half) - gammaln(0.5 * df) - 0.5 * d * jnp.log(df * jnp.pi) - log_det - half * jnp.log1p(u @ u / df)


def _mvt_sample(key, df, loc, scale_tril, sample_shape=()):
    """loc + scale_tril e / sqrt(g / df), e ~ N(0, I), g ~ chi^2(df): a multivariate Student-t draw."""
    k_normal, k_chi2 = jax.random.split(key)
    e = jax.random.normal(k_normal, tuple(sample_shape) + loc.shape[-1:], loc.dtype)
    g = jax.random.gamma(k_chi2, 0.5 * df, tuple(sample_shape), loc.dtype) / (0.5 * df)
    return loc + (e @ scale_tril.T) / jnp.sqrt(g)[..., None]


_multivariate_t = distribution(
    wrap_sampler(_mvt_sample, name="multivariate_student_t"), wrap_logpdf(_mvt_logpdf), name="multivariate_student_t"
)


@gen
def em_proposal(df, loc, scale_tril):
    """One piece of the "em" proposal, around one posterior mode in the means-sorted labelling.

    ``"z"`` ~ multivariate Student-t(df, loc, scale_tril scale_tril^T), shape (3K - 1,), the
    coordinates of ``_sorted_coordinates``; returns ((pi, mu, sigma), log |d theta / d z|)
    (``_from_sorted_coordinates``), so the density of theta is that of z minus the log Jacobian.
    """
    z = _multivariate_t(df, loc, scale_tril) @ "z"
    return _from_sorted_coordinates(z)


@gen
def parameter_prior(k: Const[int], prior: Prior):
    """The model's prior p(pi, mu, sigma) alone (the same code and addresses as :func:`bayesian_gmm`)."""
    return draw_parameters(k, prior)


_EM_BATCH = 4096  # particles per call of the jitted "em" scorer: its one compiled size


@partial(jax.jit, static_argnames=("k",))
def _is_em(
    x: jax.Array,
    prior: Prior,
    pieces: tuple[jax.Array, jax.Array, jax.Array],
    df: jax.Array,
    defensive: jax.Array,
    draws: tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array],
    k: int,
):
    """Log weights of ``_EM_BATCH`` draws of importance sampling on the means-sorted region
    with a defensive mixture proposal.

    The target is exchangeable in the components, so p(x) = K! * integral over
    {mu_1 < ... < mu_K} of p(x, theta) dtheta. The proposal is
    q = (1 - eps) sum_j c_j q_j + eps K! p(theta) 1[sorted], pieces = (loc (J, D), scale_tril
    (J, D, D), log c (J,)): q_j the density of theta under ``em_proposal`` (z mapped to theta;
    draws outside the sorted region get weight 0), the last piece a prior draw sorted by mean,
    whose density on the sorted region is K! p(theta). log w = log K! + log p(theta) +
    log p(x | theta) - log q; p(theta) p(x | theta), with the assignments summed out, is
    ``bayesian_gmm_marginal.assess`` with every address constrained; p(theta) is
    ``parameter_prior.assess``; q_j is ``em_proposal.assess``.

    draws = (from_prior (S,) bool, z of the pieces' draws (S, D), the sorted prior draws
    pi, mu, sigma (S, K) each). Returns (log w, pi, mu, sigma, z, responsibilities
    (1 - eps) c_j q_j / q of shape (S, J), for the pilots' refit).
    """
    n = x.shape[0]
    log_kfact = math.lgamma(k + 1)
    loc, tril, log_c = pieces
    log_keep, log_eps = jnp.log1p(-defensive), jnp.log(defensive)

    def one(from_prior, z_q, *prior_sorted):
        theta = tuple(jnp.where(from_prior, a, b) for a, b in zip(prior_sorted, _from_sorted_coordinates(z_q)[0]))
        z = jnp.where(from_prior, _sorted_coordinates(*prior_sorted), z_q)
        finite = jnp.all(jnp.isfinite(z))
        z_safe = jnp.where(finite, z, 0.0)  # a prior draw with a zero weight: no piece reaches it
        log_jac = _from_sorted_coordinates(z_safe)[1]
        log_qj = jax.vmap(lambda m, t: em_proposal.assess({"z": z_safe}, df, m, t)[0])(loc, tril)
        log_qj = jnp.where(finite, log_c + log_qj - log_jac, -jnp.inf)  # c_j q_j(theta), (J,)
        log_prior, _ = parameter_prior.assess(dict(zip(PARAMS, theta)), const(k), prior)
        log_q = jnp.logaddexp(log_keep + logsumexp(log_qj), log_eps + log_kfact + log_prior)
        log_p, _ = bayesian_gmm_marginal.assess(dict(zip(PARAMS, theta), x=x), const(n), const(k), prior)
        in_region = jnp.all(jnp.diff(theta[1]) > 0)
        log_w = jnp.where(in_region, log_kfact + log_p - log_q, -jnp.inf)
        return log_w, *theta, z_safe, log_keep + log_qj - log_q

    log_w, *rest = jax.vmap(one)(*draws)
    return _clean_log_weights(log_w), *rest


def _draw_em(rng: np.random.Generator, pieces, df: float, defensive: float, prior: Prior, size: int):
    """``size`` draws of the "em" proposal in NumPy (float64), as ``_is_em``'s ``draws``: a
    piece j ~ c, z ~ Student-t(df, loc_j, L_j L_j^T) (:func:`_mvt_sample`'s law), and with
    probability ``defensive`` a prior draw sorted by mean instead. Drawing here keeps the
    jitted scorer free of samplers (their rejection loops dominate its compile time)."""
    loc, tril, c = (np.asarray(a, np.float64) for a in pieces)
    k = (loc.shape[1] + 1) // 3
    j = rng.choice(c.size, size=size, p=c / c.sum())
    e = rng.standard_normal((size, loc.shape[1]))
    z = loc[j] + np.einsum("sij,sj->si", tril[j], e) / np.sqrt(rng.chisquare(df, size) / df)[:, None]
    w = rng.dirichlet(np.full(k, float(prior.alpha)), size)
    m = rng.normal(float(prior.mean_loc), float(prior.mean_scale), (size, k))
    s = draw_stds_numpy(rng, (size, k), prior)
    order = np.argsort(m, axis=1)
    prior_sorted = (np.take_along_axis(a, order, axis=1) for a in (w, m, s))
    return (rng.random(size) < defensive, z, *prior_sorted)


def _run_em(key, y, prior, pieces, df, defensive, k, n_particles):
    """``_is_em`` on ``_draw_em``'s draws, in batches until ``n_particles`` (the last batch's
    surplus dropped): float64 NumPy arrays (log w, pi, mu, sigma, z, responsibilities)."""
    rng = numpy_rng(key)
    args = tuple(jnp.asarray(a, jnp.float32) for a in pieces[:2]) + (jnp.log(jnp.asarray(pieces[2], jnp.float32)),)
    out = []
    for _ in range(-(-n_particles // _EM_BATCH)):
        draws = _draw_em(rng, pieces, df, defensive, prior, _EM_BATCH)
        draws = (jnp.asarray(draws[0]),) + tuple(jnp.asarray(a, jnp.float32) for a in draws[1:])
        out.append(_is_em(y, prior, args, jnp.asarray(df, jnp.float32), jnp.asarray(defensive, jnp.float32), draws, k))
    return [np.concatenate([np.asarray(o[i], np.float64) for o in out])[:n_particles] for i in range(len(out[0]))]


def _scale_tril(cov: np.ndarray, df: float, inflation: float) -> np.ndarray:
    """Cholesky factor of the Student-t scale matrix whose covariance is inflation^2 cov
    (the scale is cov (df - 2) / df for df > 2; for df <= 2, where the covariance is infinite, cov)."""
    factor = inflation**2 * ((df - 2.0) / df if df > 2 else 1.0)
    d = cov.shape[-1]
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2)) + 1e-9 * np.eye(d)
    return np.linalg.cholesky(factor * cov)


def _refit_pieces(loc, tril, log_w, z, log_resp, df, inflation):
    """Mixture population Monte Carlo: each piece's centre and covariance become the weighted
    mean and covariance of the pilot particles in z, each particle counted with its importance
    weight times the piece's responsibility for it (the covariance inflated, see
    :func:`_scale_tril`); a piece with fewer than max(30, 3D) effective particles keeps its old
    values. Returns the pieces and each one's share of the pilot's total weight."""
    loc, tril = np.array(loc, np.float64), np.array(tril, np.float64)
    lw = np.where(np.isfinite(log_w), log_w, -np.inf)
    v = np.exp(lw - np.max(lw))[:, None] * np.exp(np.where(np.isfinite(log_resp), log_resp, -np.inf))
    share = v.sum(axis=0)
    d = loc.shape[1]
    for j in range(loc.shape[0]):
        vj = v[:, j]
        if vj.sum() <= 0 or vj.sum() ** 2 / (vj**2).sum() < max(30, 3 * d):
            continue
        vj = vj / vj.sum()
        mean = vj @ z
        dev = z - mean
        loc[j], tril[j] = mean, _scale_tril((vj[:, None] * dev).T @ dev, df, inflation)
    total = share.sum()
    return loc, tril, share / total if total > 0 else share


def _relabel(perm: np.ndarray) -> np.ndarray:
    """The linear map A with z(theta relabelled by perm) = A z(theta), shape (D, D): the means
    and log sds are permuted, the log ratios log(pi_k / pi_K) become
    log(pi_perm(k) / pi_perm(K)) = C P [r; 0] with C = [I, -1]."""
    k = perm.size
    a = np.zeros((3 * k - 1, 3 * k - 1))
    c = np.hstack([np.eye(k - 1), -np.ones((k - 1, 1))])
    a[: k - 1, : k - 1] = (c @ np.eye(k)[perm])[:, : k - 1]
    a[k - 1 : 2 * k - 1, k - 1 : 2 * k - 1] = np.eye(k)[perm]
    a[2 * k - 1 :, 2 * k - 1 :] = np.eye(k)[perm]
    return a


@partial(jax.jit, static_argnames=("k",))
def _log_target_hessian(y, prior, z, k: int):
    """Hessian of log p(theta(z), y) + log |d theta / d z| (the posterior density of z, up to a
    constant) at each row of z, shape (P, D, D)."""
    n = y.shape[0]

    def log_target(zz):
        theta, log_jac = _from_sorted_coordinates(zz)
        log_p, _ = bayesian_gmm_marginal.assess(dict(zip(PARAMS, theta), x=y), const(n), const(k), prior)
        return log_p + log_jac

    return jax.vmap(jax.hessian(log_target))(z)


def _initial_pieces(y, modes, prior_y: Prior, df, inflation):
    """Centres and Cholesky factors of the first ``em_proposal`` pieces, in the standardised
    units y, from Laplace approximations around each mode (w, mu, sd), shapes (J, K).

    The centre is the mode with mu_k and sigma_k replaced by the modes of their conditionals
    given the mode's soft counts n_k, weighted means xbar_k and scatter SS_k (the conjugate
    Normal mean; :func:`gmm.models.std_conditional_mode` with the mean profiled out), so an
    almost empty component sits where its prior puts it; the covariance is the inverse of
    minus the Hessian of the log posterior density of z there (eigenvalues' magnitudes floored
    at 0.01: a flat or saddle direction gets a wide spread, never a negative one). One piece per
    mode in the means-sorted labelling, and one for every pair of neighbouring components whose
    means lie within ``_SWAP`` standard errors of each other, with the two swapped: the sorted
    region cuts a mode where two means cross (a broad component whose mean may fall on either
    side of a narrow one), and the swapped piece's draws that land on the far side of the cut,
    the only ones that count, seed the refit of that part.

    Returns (centres (P, 3K - 1), Cholesky factors (P, 3K - 1, 3K - 1), the mode of each piece (P,)).
    """
    m0, s0 = float(prior_y.mean_loc), float(prior_y.mean_scale)
    w, mu, sd = modes
    lp = np.log(np.maximum(w, 1e-300))[:, None, :] - 0.5 * ((y[None, :, None] - mu[:, None, :]) / sd[:, None, :]) ** 2
    lp -= np.log(sd)[:, None, :]
    resp = np.exp(lp - lp.max(axis=2, keepdims=True))
    resp /= resp.sum(axis=2, keepdims=True)
    nk = resp.sum(axis=1)
    xbar = np.where(nk > 1e-12, (resp * y[None, :, None]).sum(axis=1) / np.maximum(nk, 1e-12), mu)
    ss = (resp * (y[None, :, None] - xbar[:, None, :]) ** 2).sum(axis=1)
    floor = 1e-6 * (float(np.std(y)) or 1.0)
    sigma_c, _ = std_conditional_mode(nk, ss, prior_y, floor)
    prec = 1.0 / s0**2 + nk / sigma_c**2
    mean_c = (m0 / s0**2 + nk * xbar / sigma_c**2) / prec
    order = np.argsort(mean_c, axis=1)  # the main pieces live in the sorted labelling
    centre = tuple(np.take_along_axis(v, order, axis=1) for v in (w, mean_c, sigma_c))
    n_modes, k = nk.shape
    z0 = np.concatenate([np.log(centre[0][:, :-1] / centre[0][:, -1:]), centre[1], np.log(centre[2])], axis=1)
    pad = _MAX_MODES - n_modes  # one compiled program whatever the number of modes
    hess = _log_target_hessian(
        jnp.asarray(y, jnp.float32), prior_y, jnp.asarray(np.concatenate([z0, np.repeat(z0[:1], pad, axis=0)]), jnp.float32), k
    )
    hess = np.asarray(hess, np.float64)[:n_modes]
    locs, covs, owner, swaps = [], [], [], []
    for j in range(n_modes):
        h = -0.5 * (hess[j] + hess[j].T)
        lam, vec = np.linalg.eigh(np.where(np.isfinite(h), h, 0.0))
        cov = (vec / np.maximum(np.abs(lam), 1e-2)) @ vec.T
        locs.append(z0[j]), covs.append(cov), owner.append(j)
        m, m_sd = centre[1][j], np.sqrt(np.diag(cov)[k - 1 : 2 * k - 1])
        for i in np.flatnonzero(np.diff(m) < _SWAP * np.hypot(m_sd[:-1], m_sd[1:])):
            perm = np.arange(k)
            perm[[i, i + 1]] = perm[[i + 1, i]]
            a = _relabel(perm)
            swaps.append((j, a @ z0[j], a @ cov @ a.T))
    for j, loc, cov in swaps[: max(_MAX_PIECES - len(locs), 0)]:  # modes come best first
        locs.append(loc), covs.append(cov), owner.append(j)
    trils = np.stack([_scale_tril(c, df, inflation) for c in covs])
    return np.stack(locs), trils, np.asarray(owner)


@partial(jax.jit, static_argnames=("k",))
def _centre_log_ratios(y, prior, loc, tril, df, k: int):
    """log p(theta_j, y) - log q_j(theta_j) at each piece's centre theta_j, shape (J,): a
    Laplace-style estimate of the posterior mass around mode j (up to a constant shared by all)."""
    n = y.shape[0]

    def one(m, t):
        theta, log_jac = _from_sorted_coordinates(m)
        log_p, _ = bayesian_gmm_marginal.assess(dict(zip(PARAMS, theta), x=y), const(n), const(k), prior)
        log_q, _ = em_proposal.assess({"z": m}, df, m, t)
        return log_p + log_jac - log_q

    return jax.vmap(one)(loc, tril)


def importance_sampling(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: Prior | None = None,
    n_particles: int = 10_000,
    proposal: str = "prior",
    df: float = 4.0,
    inflation: float = 1.5,
    defensive: float = 0.1,
    n_starts: int = _N_STARTS,
) -> ImportanceResult:
    """Importance sampling for the Bayesian GMM: marginal likelihood and weighted particles.

    ``proposal="prior"``: (theta, z) from the prior through ``bayesian_gmm.generate``
    constrained on x, so log w_s = log p(x | theta_s, z_s). Unbiased, but on data with
    tight clusters almost every particle misses and the ESS is about 1.

    ``proposal="em"``: find the posterior's distinct modes by penalised EM (the maximum
    likelihood EM fit and ``n_starts`` k-means++ starts, some with a narrow component on the
    smallest or largest value or a broad one; duplicates removed, at most 16 modes), then
    draw from a mixture of multivariate Student-t pieces (``df`` degrees of freedom) in the
    unconstrained coordinates z = (log(pi_k / pi_K), mu_k, log sigma_k). Each piece starts
    as a Laplace approximation around one mode in the means-sorted labelling (covariance:
    the inverse of minus the Hessian of the log posterior density of z), plus one piece per
    pair of neighbouring means that may cross, with the two components swapped (the sorted
    region cuts such a mode in two, and only one half has a local optimum). Four pilot runs
    of 4096 draws, discarded, refit each piece's centre and covariance to the weighted draws
    it is responsible for (mixture population Monte Carlo) and its probability to its share
    of the weight (a quarter of the probability is shared equally); the covariance is
    multiplied by ``inflation``^2. A fraction ``defensive`` of the particles are prior draws
    sorted by mean instead (defensive importance sampling: no weight exceeds
    p(x | theta) / eps even where no mode was found). Because the posterior is exchangeable
    in the components, p(x) = K! * integral over {mu_1 < ... < mu_K} of p(x, theta): draws
    outside that region get weight 0, the others log w_s = log K! + log p(theta_s) +
    log p(x | theta_s) - log q(theta_s), q the density of theta (the Jacobian of z -> theta
    included), the assignments summed out by ``bayesian_gmm_marginal.assess``. Exact weights
    for any ``df``, ``inflation``, ``defensive`` and modes found; what the modes buy is a
    small variance. On the galaxies the ESS is a large fraction of S at K <= 3, a few
    percent at K = 4, and it collapses from K = 5 on (a posterior spread over many shallow
    modes): check ``ess`` before trusting the estimate.

    Args:
        key: ``jax.random`` key.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [2, N].
        prior: the model's :class:`~gmm.models.Prior`; None derives one from the data
            (:meth:`~gmm.Prior.from_data`).
        n_particles: number of particles S >= 1.
        proposal: ``"prior"`` or ``"em"``.
        df: degrees of freedom (> 0) of the ``"em"`` proposal's multivariate Student-t pieces.
        inflation: factor (> 0) on the standard deviations of the ``"em"`` proposal's pieces
            (their covariances are inflation^2 times the fitted ones).
        defensive: fraction in [0, 1) of ``"em"`` particles drawn from the prior.
        n_starts: penalised-EM starts of the ``"em"`` proposal's mode search (>= 1).

    Returns:
        An :class:`ImportanceResult`; particles are relabelled by increasing mean (the
        target is label-symmetric, so weighted averages over them are valid posterior
        estimates of the sorted parameters).

    Raises:
        ValueError: on bad data, K, S, prior, proposal name or proposal settings.
    """
    key = check_key(key)
    data = as_data(x)
    k = check_n_components(n_components, data.size, minimum=2)
    n_particles = check_positive_int(n_particles, "n_particles", maximum=10_000_000)
    prior = resolve_prior(prior, data)
    if proposal not in ("prior", "em"):
        raise ValueError(f"proposal must be 'prior' or 'em', got {proposal!r}.")
    n_starts = check_positive_int(n_starts, "n_starts", maximum=10_000)
    df = check_positive(df, "df")
    inflation = check_positive(inflation, "inflation")
    defensive = check_finite(defensive, "defensive")
    if not 0.0 <= defensive < 1.0:
        raise ValueError(f"defensive must be in [0, 1), got {defensive!r}.")
    return _importance_sampling(key, data, k, prior, n_particles, proposal, defensive, df, inflation, n_starts)


def _importance_sampling(
    key, data, k, prior, n_particles, proposal, defensive, df, inflation, n_starts=_N_STARTS
) -> ImportanceResult:
    """importance_sampling on checked arguments; runs on standardised data (float32) and
    reports weights and parameters in data units (float64)."""
    y, pj, loc, scale = standardise(data, prior)
    jacobian = data.size * math.log(scale)  # p(x | theta) = p(y | theta') / scale^N
    fit, modes, mode_weights = None, (), np.zeros(0)
    if proposal == "prior":
        with quiet_tfp():
            (log_w, w, m, s), summary = _is_prior(key, y, pj, k, n_particles)
    else:
        k_em, k_is = jax.random.split(key)
        fit = _fit_em(k_em, data, k, 1000, 1e-7, 4, None, None, "kmeans")
        y64 = (data - loc) / scale
        prior64 = tuple(float(v) for v in pj.tree_flatten()[0])
        mix = fit.mixture
        first = (mix.weights, (mix.means - loc) / scale, mix.stds / scale)
        found = _modes.distinct_modes(numpy_rng(k_em), y64, k, prior64, n_starts, first, _MAX_MODES, pj.family)
        prior_y64 = Prior.tree_unflatten(pj.family, prior64)
        locs, trils, owner = _initial_pieces(y64, found[:3], prior_y64, df, inflation)
        df32 = jnp.asarray(df, jnp.float32)
        with quiet_tfp():
            log_mass = _centre_log_ratios(y, pj, jnp.asarray(locs, jnp.float32), jnp.asarray(trils, jnp.float32), df32, k)
        log_mass = np.asarray(log_mass, np.float64)
        log_mass = np.where(np.isfinite(log_mass), log_mass, -np.inf)
        keep = log_mass >= np.max(log_mass) - 20.0  # pieces e^-20 below the best carry nothing

        def run(key_run, locs, trils, weights, size):
            pad = _MAX_PIECES - locs.shape[0]  # one compiled program whatever the number of pieces
            padded = (np.concatenate([a, np.repeat(a[:1], pad, axis=0)]) for a in (locs, trils))
            return _run_em(key_run, y, prior_y64, (*padded, np.r_[weights, np.zeros(pad)]), df, defensive, k, size)

        # Pilot runs, discarded, refit every piece to the weighted particles it is responsible
        # for (mixture population Monte Carlo): the pieces take the posterior's own covariance
        # around each mode (correlations, a broad component soaking up a tail, the part of a
        # mode beyond the sorted region's edge) rather than the curvature at the mode; pieces
        # that end up with under 0.1% of the weight are dropped.
        for _ in range(_PILOT_ROUNDS):
            locs, trils, owner, log_mass = locs[keep], trils[keep], owner[keep], log_mass[keep]
            n_pieces = locs.shape[0]
            piece_weights = _EQUAL / n_pieces + (1.0 - _EQUAL) * np.exp(log_mass - logsumexp(log_mass))
            k_pilot, k_is = jax.random.split(k_is)
            p_log_w, *_, p_z, p_resp = run(k_pilot, locs, trils, piece_weights, _PILOT)
            locs, trils, share = _refit_pieces(locs, trils, p_log_w, p_z, p_resp[:, :n_pieces], df, inflation)
            lw = p_log_w - np.max(p_log_w)
            pilot_ess = np.exp(2 * logsumexp(lw) - logsumexp(2 * lw)) if np.isfinite(lw).any() else 0.0
            keep = share >= 1e-3 if pilot_ess >= 100 else np.ones(n_pieces, bool)
            log_mass = np.log(np.maximum(share, 1e-300))
        locs, trils, owner, log_mass = locs[keep], trils[keep], owner[keep], log_mass[keep]
        piece_weights = _EQUAL / locs.shape[0] + (1.0 - _EQUAL) * np.exp(log_mass - logsumexp(log_mass))
        log_w, w, m, s, _, _ = run(k_is, locs, trils, piece_weights, n_particles)
        summary = _weight_summary(jnp.asarray(log_w))
        used = np.unique(owner)
        modes = tuple(Mixture(found[0][j], loc + scale * found[1][j], scale * found[2][j]) for j in used)
        mode_weights = np.array([piece_weights[owner == j].sum() for j in used])
    ess, log_ev, stderr = (float(v) for v in summary)
    return ImportanceResult(
        log_weights=np.asarray(log_w, np.float64) - jacobian,
        weights=np.asarray(w, np.float64),
        means=loc + scale * np.asarray(m, np.float64),
        stds=scale * np.asarray(s, np.float64),
        ess=ess,
        log_evidence=log_ev - jacobian,
        log_evidence_stderr=stderr,
        proposal=proposal,
        em=fit,
        modes=modes,
        mode_weights=mode_weights,
    )


__all__ = ["ImportanceResult", "em_proposal", "importance_sampling", "parameter_prior"]
