"""Importance sampling for the Bayesian GMM of :mod:`gmm.models`.

:func:`importance_sampling` estimates the evidence p(x) = int p(theta) p(x | theta) dtheta
and weighted posterior particles. With ``proposal="prior"`` the particles are the model's
own prior draws of (pi, mu, sigma, z) (``bayesian_gmm.generate`` conditioned on x), the
textbook construction that collapses on real data; with ``proposal="em"`` they come from
a mixture of heavy-tailed pieces, one around each distinct posterior mode that penalised EM
finds from many starts, restricted by the exchangeability of the components to the
means-sorted region (so no sum over the K! labellings is needed and any K works).

Everything that touches particles is one jitted function (``vmap`` within batches,
``lax.map`` over batches); sizes are static and the jitted functions are cached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow_probability.substrates.jax.bijectors as tfb
import tensorflow_probability.substrates.jax.distributions as tfd
from genjax import Const, const, dirichlet, gen, seed, tfp_distribution
from jax.scipy.special import logsumexp

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
from gmm.models import Prior, bayesian_gmm, bayesian_gmm_marginal, draw_parameters, observations, resolve_prior

_MAX_MODES = 16  # pieces of the "em" proposal (padded to this many: one compiled program)
_N_STARTS = 64
_PILOT = 8192  # particles of the pilot run that refits the "em" proposal (fixed: one compiled program)


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
        modes: the distinct posterior modes the ``"em"`` proposal is built around, as
            mixtures sorted by mean (data units), best log posterior first (empty for ``"prior"``).
        mode_weights: the proposal's probability of each piece, shape (len(modes),).
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


# The "em" proposal: independent heavy-tailed pieces around the EM fit.
_student_t_vec = tfp_distribution(
    lambda df, loc, scale: tfd.Independent(tfd.StudentT(df, loc, scale), reinterpreted_batch_ndims=1),
    name="student_t_vec",
)
_log_student_t_vec = tfp_distribution(
    lambda df, loc, scale: tfd.Independent(
        tfd.TransformedDistribution(tfd.StudentT(df, loc, scale), tfb.Exp()), reinterpreted_batch_ndims=1
    ),
    name="log_student_t_vec",
)


@gen
def em_proposal(concentration, mean_loc, mean_scale, log_std_loc, log_std_scale, df):
    """One piece of the "em" proposal for (pi, mu, sigma), around one posterior mode in the
    means-sorted labelling (same addresses as the model).

    pi ~ Dirichlet(concentration); mu_k ~ StudentT(df, mean_loc_k, mean_scale_k);
    log sigma_k ~ StudentT(df, log_std_loc_k, log_std_scale_k) (density on sigma includes 1/sigma).
    """
    weights = dirichlet(concentration) @ "weights"
    means = _student_t_vec(df, mean_loc, mean_scale) @ "means"
    stds = _log_student_t_vec(df, log_std_loc, log_std_scale) @ "stds"
    return weights, means, stds


@gen
def parameter_prior(k: Const[int], prior: Prior):
    """The model's prior p(pi, mu, sigma) alone (the same code and addresses as :func:`bayesian_gmm`)."""
    return draw_parameters(k, prior)


def _log_q_mix(theta: tuple, params: tuple, log_c: jax.Array) -> jax.Array:
    """log sum_j c_j q_j(theta), q_j = ``em_proposal`` with the j-th row of every parameter."""

    def one(*p):
        return em_proposal.assess(dict(zip(PARAMS, theta)), *p)[0]

    return logsumexp(log_c + jax.vmap(one)(*params))


@partial(jax.jit, static_argnames=("k", "n_particles"))
def _is_em(
    key: jax.Array,
    x: jax.Array,
    prior: Prior,
    params: tuple,
    log_c: jax.Array,
    defensive: jax.Array,
    k: int,
    n_particles: int,
):
    """Importance sampling on the means-sorted region with a defensive mixture proposal.

    The target is exchangeable in the components, so p(x) = K! * integral over
    {mu_1 < ... < mu_K} of p(x, theta) dtheta. The proposal is
    q = (1 - eps) sum_j c_j q_j + eps K! p(theta) 1[sorted] (the second piece: a prior draw
    sorted by mean, whose density on the sorted region is K! p(theta)); draws that are not
    sorted get weight 0, the others log w = log K! + log p(theta) + log p(x | theta) - log q.
    p(theta) p(x | theta), with the assignments summed out, is ``bayesian_gmm_marginal.assess``
    with every address constrained; p(theta) is ``parameter_prior.assess``.
    """
    n = x.shape[0]
    log_kfact = math.lgamma(k + 1)
    simulate = seed(em_proposal.simulate)
    simulate_prior = seed(parameter_prior.simulate)

    def one(key_s):
        k_piece, k_q, k_prior, k_pick = jax.random.split(key_s, 4)
        j = jax.random.categorical(k_piece, log_c)
        ch = simulate(k_q, *(p[j] for p in params)).get_choices()
        ch_prior = simulate_prior(k_prior, const(k), prior).get_choices()
        prior_sorted = sort_by_mean(*(ch_prior[name] for name in PARAMS))
        from_prior = jax.random.uniform(k_pick) < defensive
        theta = tuple(jnp.where(from_prior, a, ch[name]) for name, a in zip(PARAMS, prior_sorted))
        log_prior, _ = parameter_prior.assess(dict(zip(PARAMS, theta)), const(k), prior)
        log_q = jnp.logaddexp(
            jnp.log1p(-defensive) + _log_q_mix(theta, params, log_c), jnp.log(defensive) + log_kfact + log_prior
        )
        choices = dict(zip(PARAMS, theta), x=x)
        log_p, _ = bayesian_gmm_marginal.assess(choices, const(n), const(k), prior)
        in_region = jnp.all(jnp.diff(theta[1]) > 0)
        return (jnp.where(in_region, log_kfact + log_p - log_q, -jnp.inf), *theta, jnp.where(from_prior, -1, j))

    log_w, w, m, s, piece = _map_particles(one, key, n_particles)
    log_w = _clean_log_weights(log_w)
    return (log_w, w, m, s, piece), _weight_summary(log_w)


def _refit_pieces(pieces, log_w, w, m, s, piece, inflation, df):
    """Pieces refitted to a pilot run: each piece's centre and scales become the weighted mean and
    sd (times ``inflation`` / sqrt(df / (df - 2)) for df > 2) of the particles it drew, in the
    proposal's coordinates (mu, log sigma; the Dirichlet moment-matched, its precision divided by
    ``inflation``^2); a piece with fewer than 20 effective particles keeps its old values. Returns
    the pieces and each one's share of the pilot's total weight."""
    conc, m_loc, m_scale, ls_loc, ls_scale, dfs = (np.array(a, np.float64) for a in pieces)
    lw = np.where(np.isfinite(log_w), log_w, -np.inf)
    wt = np.exp(lw - np.max(lw))
    share = np.zeros(conc.shape[0])
    t_sd = math.sqrt(df / (df - 2.0)) if df > 2 else 1.0
    for j in range(conc.shape[0]):
        sel = piece == j
        v = wt[sel]
        share[j] = v.sum()
        if v.sum() <= 0 or v.sum() ** 2 / (v**2).sum() < 20:
            continue
        v = v / v.sum()

        def moments(a):
            mean = v @ a
            return mean, np.sqrt(np.maximum(v @ (a - mean) ** 2, 1e-12))

        (m_loc[j], sd_m), (ls_loc[j], sd_ls) = moments(m[sel]), moments(np.log(s[sel]))
        m_scale[j], ls_scale[j] = inflation * sd_m / t_sd, inflation * sd_ls / t_sd
        mean_w, sd_w = moments(w[sel])
        c0 = np.mean(mean_w * (1 - mean_w) / np.maximum(sd_w**2, 1e-12)) - 1.0
        conc[j] = np.maximum(mean_w * max(c0, 1.0) / inflation**2, 0.5)
    total = share.sum()
    return (conc, m_loc, m_scale, ls_loc, ls_scale, dfs), share / total if total > 0 else share


def _proposal_pieces(y, modes, prior64, df, inflation, family="gamma_std"):
    """Parameters of one ``em_proposal`` piece per mode (rows), in the standardised units y.

    For a mode (w, mu, sd) with soft counts n_k, weighted means xbar_k and scatter SS_k from its
    responsibilities: log sigma_k is centred at the mode of its conditional (Gamma prior, mean
    profiled out: b s^3 + (n_k - 1 - a) s^2 - SS_k = 0) with scale 1 / sqrt(b s + 2 SS_k / s^2);
    mu_k at the conjugate Normal mean with scale 1 / sqrt(1/s0^2 + n_k / s^2);
    pi ~ Dirichlet(alpha + n_k / inflation^2). For large n_k these are the mode and its
    asymptotic standard errors (sigma/sqrt(n_k), 1/sqrt(2 n_k)); both scales are multiplied
    by ``inflation``.
    """
    alpha, m0, s0, a, b = prior64
    w, mu, sd = modes
    lp = np.log(np.maximum(w, 1e-300))[:, None, :] - 0.5 * ((y[None, :, None] - mu[:, None, :]) / sd[:, None, :]) ** 2
    lp -= np.log(sd)[:, None, :]
    resp = np.exp(lp - lp.max(axis=2, keepdims=True))
    resp /= resp.sum(axis=2, keepdims=True)
    nk = resp.sum(axis=1)
    xbar = np.where(nk > 1e-12, (resp * y[None, :, None]).sum(axis=1) / np.maximum(nk, 1e-12), mu)
    ss = (resp * (y[None, :, None] - xbar[:, None, :]) ** 2).sum(axis=1)
    floor = 1e-6 * (float(np.std(y)) or 1.0)
    # The mode of sigma with the mean profiled out (n_k - 1 points' worth) and its spread in log sigma.
    if family == "inverse_gamma_var":
        sigma_c = np.maximum(np.sqrt((2.0 * b + ss) / np.maximum(2.0 * a + nk, 1e-12)), floor)
        log_std_se = 1.0 / np.sqrt(2.0 * (2.0 * b + ss) / sigma_c**2)
    else:
        sigma_c = _modes._sigma_mode(np.maximum(nk - 2.0, -1.0), ss, a, b, floor)  # n_k - 1 - a = (n_k - 2) + 1 - a
        log_std_se = 1.0 / np.sqrt(b * sigma_c + 2.0 * ss / sigma_c**2)
    prec = 1.0 / s0**2 + nk / sigma_c**2
    mean_c = (m0 / s0**2 + nk * xbar / sigma_c**2) / prec
    order = np.argsort(mean_c, axis=1)  # pieces live in the sorted labelling
    take = lambda v: np.take_along_axis(v, order, axis=1)  # noqa: E731
    return (
        take(alpha + nk / inflation**2),
        take(mean_c),
        take(inflation / np.sqrt(prec)),
        take(np.log(sigma_c)),
        take(inflation * log_std_se),
        np.full(nk.shape[0], df),
    )


@partial(jax.jit, static_argnames=("k",))
def _centre_log_ratios(y, prior, params, k: int):
    """log p(theta_j, y) - log q_j(theta_j) at each piece's centre theta_j, shape (J,): a
    Laplace-style estimate of the posterior mass around mode j (up to a constant shared by all)."""
    n = y.shape[0]

    def one(conc, m_loc, m_scale, ls_loc, ls_scale, df):
        theta = dict(weights=conc / conc.sum(), means=m_loc, stds=jnp.exp(ls_loc))
        log_p, _ = bayesian_gmm_marginal.assess(dict(theta, x=y), const(n), const(k), prior)
        log_q, _ = em_proposal.assess(theta, conc, m_loc, m_scale, ls_loc, ls_scale, df)
        return log_p - log_q

    return jax.vmap(one)(*params)


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
    likelihood EM fit and ``n_starts`` k-means++ starts, a quarter of them with a narrow
    component on the smallest value, a quarter on the largest, a quarter on both; duplicates
    removed, at most 16 modes), then draw from a mixture with one piece per mode: pi ~ Dirichlet,
    mu_k and log sigma_k ~ Student-t (``df`` degrees of freedom, scales ``inflation`` times the
    asymptotic standard errors) around the mode in the means-sorted labelling. A piece's
    probability is half an equal share and half its share of a Laplace-style mass estimate,
    p(x, theta_j) / q_j(theta_j) at its centre. A fraction ``defensive`` of the particles are
    prior draws sorted by mean instead (defensive importance sampling: no weight exceeds
    p(x | theta) / eps even where no mode was found). Because the posterior is exchangeable in
    the components, p(x) = K! * integral over {mu_1 < ... < mu_K} of p(x, theta): draws outside
    that region get weight 0, the others log w_s = log K! + log p(theta_s) + log p(x | theta_s)
    - log q(theta_s), with the assignments summed out by ``bayesian_gmm_marginal.assess``. No
    sum over the K! relabellings is needed, so any K works. Exact weights for any ``df``,
    ``inflation``, ``defensive`` and modes found; what the modes buy is a small variance.

    Args:
        key: ``jax.random`` key.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [2, N].
        prior: the model's :class:`~gmm.models.Prior`; None derives one from the data
            (:meth:`~gmm.Prior.from_data`).
        n_particles: number of particles S >= 1.
        proposal: ``"prior"`` or ``"em"``.
        df: Student-t degrees of freedom of the ``"em"`` proposal (> 0).
        inflation: factor (> 0) applied to the ``"em"`` proposal's scales.
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
        pieces = _proposal_pieces(y64, found[:3], prior64, df, inflation, pj.family)
        with quiet_tfp():
            log_mass = np.asarray(_centre_log_ratios(y, pj, tuple(jnp.asarray(a, jnp.float32) for a in pieces), k))
        log_mass = np.where(np.isfinite(log_mass), log_mass, -np.inf)
        keep = log_mass >= np.max(log_mass) - 20.0  # pieces e^-20 below the best carry nothing
        pieces, log_mass = tuple(a[keep] for a in pieces), log_mass[keep]
        n_modes = int(keep.sum())
        mode_weights = 0.5 / n_modes + 0.5 * np.exp(log_mass - logsumexp(log_mass))
        modes = tuple(
            Mixture(found[0][j], loc + scale * found[1][j], scale * found[2][j]) for j in np.flatnonzero(keep)
        )
        pad = _MAX_MODES - n_modes  # one compiled program whatever the number of modes

        def run(key_run, pieces, weights, size):
            params = tuple(jnp.asarray(np.concatenate([a, np.repeat(a[:1], pad, axis=0)]), jnp.float32) for a in pieces)
            log_c = jnp.asarray(np.r_[np.log(weights), np.full(pad, -np.inf)], jnp.float32)
            with quiet_tfp():
                return _is_em(key_run, y, pj, params, log_c, jnp.asarray(defensive, jnp.float32), k, size)

        # A pilot run, discarded, refits every piece to the particles it drew (adaptive
        # importance sampling): modes far from Gaussian (a broad component soaking up a tail)
        # get pieces as wide as their mass, not as their curvature at the mode.
        k_pilot, k_is = jax.random.split(k_is)
        (p_log_w, *p_theta, piece), _ = run(k_pilot, pieces, mode_weights, _PILOT)
        pieces, share = _refit_pieces(
            pieces, np.asarray(p_log_w, np.float64), *(np.asarray(a, np.float64) for a in p_theta),
            np.asarray(piece), inflation, df,
        )
        mode_weights = 0.5 / n_modes + 0.5 * share
        (log_w, w, m, s, _), summary = run(k_is, pieces, mode_weights, n_particles)
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
