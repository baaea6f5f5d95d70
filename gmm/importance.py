"""Importance sampling for the Bayesian GMM of :mod:`gmm.models`.

:func:`importance_sampling` estimates the evidence p(x) = int p(theta) p(x | theta) dtheta
and weighted posterior particles. With ``proposal="prior"`` the particles are the model's
own prior draws of (pi, mu, sigma, z) (``bayesian_gmm.generate`` conditioned on x), the
textbook construction that collapses on real data; with ``proposal="em"`` they come from
a heavy-tailed, label-symmetrised proposal built around an EM fit.

Everything that touches particles is one jitted function (``vmap`` within batches,
``lax.map`` over batches); sizes are static and the jitted functions are cached.
"""

from __future__ import annotations

import itertools
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

from gmm._scoring import PARAMS, quiet_tfp, sort_by_mean, standardise
from gmm._validation import (
    as_data,
    check_finite,
    check_key,
    check_n_components,
    check_positive,
    check_positive_int,
)
from gmm.em import EMResult, _fit_em
from gmm.models import Prior, bayesian_gmm, bayesian_gmm_marginal, draw_parameters, observations, resolve_prior
from gmm.models import std_conditional_mode

_MAX_EM_COMPONENTS = 5  # the "em" proposal sums over K! label permutations


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
        em: the EM fit the ``"em"`` proposal was built around (None for ``"prior"``).
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
    """Proposal for (pi, mu, sigma) around one labelling of an EM fit (same addresses as the model).

    pi ~ Dirichlet(concentration); mu_k ~ StudentT(df, mean_loc_k, mean_scale_k);
    log sigma_k ~ StudentT(df, log_std_loc_k, log_std_scale_k) (density on sigma includes 1/sigma).
    :func:`importance_sampling` symmetrises it over the K! relabellings.
    """
    weights = dirichlet(concentration) @ "weights"
    means = _student_t_vec(df, mean_loc, mean_scale) @ "means"
    stds = _log_student_t_vec(df, log_std_loc, log_std_scale) @ "stds"
    return weights, means, stds


def _sym_log_q(theta: tuple, params: tuple, perms: jax.Array) -> jax.Array:
    """log q_sym(theta) = log (1/K!) sum_sigma q(sigma(theta)), q = ``em_proposal``'s density."""

    def one(p):
        choices = {name: a[p] for name, a in zip(PARAMS, theta)}
        return em_proposal.assess(choices, *params)[0]

    return logsumexp(jax.vmap(one)(perms)) - jnp.log(perms.shape[0])


@gen
def parameter_prior(k: Const[int], prior: Prior):
    """The model's prior p(pi, mu, sigma) alone (the same code and addresses as :func:`bayesian_gmm`)."""
    return draw_parameters(k, prior)


@partial(jax.jit, static_argnames=("k", "n_particles"))
def _is_em(
    key: jax.Array,
    x: jax.Array,
    prior: Prior,
    params: tuple,
    perms: jax.Array,
    defensive: jax.Array,
    k: int,
    n_particles: int,
):
    """Defensive, symmetrised EM proposal q = (1 - eps) q_sym + eps p(theta);
    log w = log p(theta) + log p(x | theta) - log q(theta).

    p(theta) p(x | theta), with the assignments summed out, is
    ``bayesian_gmm_marginal.assess`` with every address constrained; p(theta) is
    ``parameter_prior.assess``.
    """
    n = x.shape[0]
    simulate = seed(em_proposal.simulate)
    simulate_prior = seed(parameter_prior.simulate)

    def one(key_s):
        k_q, k_perm, k_prior, k_pick = jax.random.split(key_s, 4)
        ch = simulate(k_q, *params).get_choices()
        perm = perms[jax.random.randint(k_perm, (), 0, perms.shape[0])]
        ch_prior = simulate_prior(k_prior, const(k), prior).get_choices()
        from_prior = jax.random.uniform(k_pick) < defensive
        # a uniformly random relabelling of an em_proposal draw, or a prior draw
        theta = tuple(jnp.where(from_prior, ch_prior[name], ch[name][perm]) for name in PARAMS)
        log_prior, _ = parameter_prior.assess(dict(zip(PARAMS, theta)), const(k), prior)
        log_q = jnp.logaddexp(
            jnp.log1p(-defensive) + _sym_log_q(theta, params, perms), jnp.log(defensive) + log_prior
        )
        choices = dict(zip(PARAMS, theta), x=x)
        log_p, _ = bayesian_gmm_marginal.assess(choices, const(n), const(k), prior)
        return (log_p - log_q, *theta)

    log_w, w, m, s = _map_particles(one, key, n_particles)
    log_w = _clean_log_weights(log_w)
    w, m, s = sort_by_mean(w, m, s)
    return (log_w, w, m, s), _weight_summary(log_w)


def _em_proposal_params(
    data: np.ndarray, fit: EMResult, prior: Prior, df: float, inflation: float, loc: float, scale: float
) -> tuple[np.ndarray, ...]:
    """Centres and scales of the "em" proposal from the EM fit, in float64, in the
    standardised units (x - loc) / scale that the sampler runs in.

    With soft counts n_k, weighted means xbar_k and scatter SS_k from the EM
    responsibilities: log sigma_k is centred at the mode of its conditional
    (mean profiled out, :func:`gmm.models.std_conditional_mode`: under a Gamma prior the
    root of b s^3 + (n_k - 1 - a) s^2 - SS_k = 0) with its spread; mu_k at the conjugate
    Normal mean with scale 1 / sqrt(1/s0^2 + n_k / s^2); pi ~ Dirichlet(alpha + n_k / inflation^2). For large n_k
    these are the EM fit and its asymptotic standard errors (sigma/sqrt(n_k), 1/sqrt(2 n_k)).
    """
    mix = fit.mixture
    w, mu, sd = (np.asarray(a, np.float64) for a in (mix.weights, mix.means, mix.stds))
    lp = np.log(np.maximum(w, 1e-300)) - 0.5 * ((data[:, None] - mu) / sd) ** 2 - np.log(sd)
    lp -= lp.max(axis=1, keepdims=True)
    resp = np.exp(lp)
    resp /= resp.sum(axis=1, keepdims=True)
    nk = resp.sum(axis=0)
    xbar = (resp * data[:, None]).sum(axis=0) / np.maximum(nk, 1e-12)
    xbar = np.where(nk > 1e-12, xbar, mu)
    ss = (resp * (data[:, None] - xbar) ** 2).sum(axis=0)
    m0, s0 = float(prior.mean_loc), float(prior.mean_scale)
    floor = 1e-6 * (float(np.std(data)) or 1.0)
    sigma_c, log_std_se = std_conditional_mode(nk, ss, prior, floor)
    prec = 1.0 / s0**2 + nk / sigma_c**2
    mean_c = (m0 / s0**2 + nk * xbar / sigma_c**2) / prec
    mean_se = 1.0 / np.sqrt(prec)
    conc = float(prior.alpha) + nk / inflation**2
    return (
        conc,
        (mean_c - loc) / scale,
        inflation * mean_se / scale,
        np.log(sigma_c / scale),
        inflation * log_std_se,
        np.asarray(df, np.float64),
    )


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
) -> ImportanceResult:
    """Importance sampling for the Bayesian GMM: marginal likelihood and weighted particles.

    ``proposal="prior"``: (theta, z) from the prior through ``bayesian_gmm.generate``
    constrained on x, so log w_s = log p(x | theta_s, z_s). Unbiased, but on data with
    tight clusters almost every particle misses and the ESS is about 1.

    ``proposal="em"``: fit EM, then draw pi ~ Dirichlet, mu_k and log sigma_k ~ Student-t
    (``df`` degrees of freedom, scales ``inflation`` times the asymptotic standard errors)
    around the fit, and apply a uniformly random relabelling, so that density is
    q_sym(theta) = (1/K!) sum_sigma q(sigma theta) and covers every label-switched mode; a
    fraction ``defensive`` of the particles come from the prior instead (defensive importance
    sampling, q = (1 - eps) q_sym + eps p(theta), so no weight exceeds p(x | theta) / eps even
    where the EM fit says nothing, e.g. a nearly empty component on small data).
    log w_s = log p(theta_s) + log p(x | theta_s) - log q(theta_s), with the assignments
    summed out by ``bayesian_gmm_marginal.assess``. Exact weights for any ``df``,
    ``inflation`` and ``defensive``.

    Args:
        key: ``jax.random`` key.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [2, N] (at most 5 for ``"em"``).
        prior: the model's :class:`~gmm.models.Prior`; None derives one from the data
            (:meth:`~gmm.Prior.from_data`).
        n_particles: number of particles S >= 1.
        proposal: ``"prior"`` or ``"em"``.
        df: Student-t degrees of freedom of the ``"em"`` proposal (> 0).
        inflation: factor (> 0) applied to the ``"em"`` proposal's scales.
        defensive: fraction in [0, 1) of ``"em"`` particles drawn from the prior.

    Returns:
        An :class:`ImportanceResult`; particles are relabelled by increasing mean (the
        target is label-symmetric, so weighted averages over them are valid posterior
        estimates of the sorted parameters).

    Raises:
        ValueError: on bad data, K, S, prior, proposal name, or K > 5 with ``"em"``.
    """
    key = check_key(key)
    data = as_data(x)
    k = check_n_components(n_components, data.size, minimum=2)
    n_particles = check_positive_int(n_particles, "n_particles", maximum=10_000_000)
    prior = resolve_prior(prior, data)
    if proposal not in ("prior", "em"):
        raise ValueError(f"proposal must be 'prior' or 'em', got {proposal!r}.")
    if proposal == "em" and k > _MAX_EM_COMPONENTS:
        raise ValueError(
            f"proposal='em' sums over the K! label permutations and allows n_components <= "
            f"{_MAX_EM_COMPONENTS}; got n_components={k}."
        )
    df = check_positive(df, "df")
    inflation = check_positive(inflation, "inflation")
    defensive = check_finite(defensive, "defensive")
    if not 0.0 <= defensive < 1.0:
        raise ValueError(f"defensive must be in [0, 1), got {defensive!r}.")
    return _importance_sampling(key, data, k, prior, n_particles, proposal, defensive, df, inflation)


def _importance_sampling(key, data, k, prior, n_particles, proposal, defensive, df, inflation) -> ImportanceResult:
    """importance_sampling on checked arguments; runs on standardised data (float32) and
    reports weights and parameters in data units (float64)."""
    y, pj, loc, scale = standardise(data, prior)
    jacobian = data.size * math.log(scale)  # p(x | theta) = p(y | theta') / scale^N
    fit = None
    if proposal == "prior":
        with quiet_tfp():
            (log_w, w, m, s), summary = _is_prior(key, y, pj, k, n_particles)
    else:
        k_em, k_is = jax.random.split(key)
        fit = _fit_em(k_em, data, k, 1000, 1e-7, 4, None, None, "kmeans")
        params = tuple(
            jnp.asarray(a, jnp.float32)
            for a in _em_proposal_params(data, fit, prior, df, inflation, loc, scale)
        )
        perms = jnp.asarray(list(itertools.permutations(range(k))), jnp.int32)
        with quiet_tfp():
            (log_w, w, m, s), summary = _is_em(
                k_is, y, pj, params, perms, jnp.asarray(defensive, jnp.float32), k, n_particles
            )
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
    )


__all__ = ["ImportanceResult", "em_proposal", "importance_sampling", "parameter_prior"]
