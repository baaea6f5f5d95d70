"""Posterior inference for the Bayesian GMM of :mod:`gmm.models`.

Two engines, both written against the GenJAX generative functions so that the
densities they use are the model's own:

- :func:`importance_sampling` estimates the marginal likelihood
  p(x) = int p(theta) p(x | theta) dtheta and weighted posterior particles.
  With ``proposal="prior"`` the particles are the model's own prior draws of
  (pi, mu, sigma, z) (``bayesian_gmm.generate`` conditioned on x), the
  textbook construction that collapses on real data; with ``proposal="em"`` they
  come from a heavy-tailed, label-symmetrised proposal built around an EM fit.
- :func:`gibbs` runs a Metropolis-within-Gibbs sampler over (z, pi, mu, sigma)
  with several chains, relabels every draw by increasing mean, and reports
  R-hat, ESS and Rao-Blackwellised assignment probabilities.

Everything that touches particles or sweeps is one jitted function (``vmap``
over particles and chains, ``lax.scan`` over sweeps); sizes are static and the
jitted functions are cached, so repeated calls with the same shapes do not
recompile.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import warnings
from dataclasses import dataclass, field
from functools import partial, reduce
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow_probability.substrates.jax.bijectors as tfb
import tensorflow_probability.substrates.jax.distributions as tfd
from genjax import Const, const, dirichlet, gamma, gen, seed, tfp_distribution
from genjax.inference import compute_ess, compute_rhat
from jax.scipy.special import logsumexp

from gmm._validation import (
    as_data,
    check_finite,
    check_key,
    check_n_components,
    check_positive,
    check_positive_int,
)
from gmm.em import EMResult, fit_em
from gmm.models import Prior, assigned_point, bayesian_gmm, bayesian_gmm_marginal, draw_parameters, observations

_PARAMS = ("weights", "means", "stds")
_MAX_EM_COMPONENTS = 5  # the "em" proposal sums over K! label permutations


def _check_prior(prior: Any) -> Prior:
    if not isinstance(prior, Prior):
        raise ValueError(f"prior must be a gmm.Prior, got {type(prior).__name__} {prior!r}.")
    for f in Prior._FIELDS:  # re-check: a Prior built inside jit skips validation
        value = getattr(prior, f)
        (check_finite if f == "mean_loc" else check_positive)(value, f"prior.{f}")
    return prior


@contextlib.contextmanager
def _quiet_tfp():
    """Silence TFP's "float64 requested ... truncated to float32" notes while tracing its samplers."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Explicitly requested dtype float64", category=UserWarning)
        yield


def _check_k(n_components: Any, n_points: int) -> int:
    k = check_n_components(n_components, n_points)
    if k < 2:
        raise ValueError(
            f"n_components must be at least 2 (the model's Dirichlet prior on the weights needs "
            f"K >= 2), got {k}."
        )
    return k


def _prior_f32(prior: Prior) -> Prior:
    """The prior with float32 array leaves, so that new values never retrigger a trace."""
    return Prior.tree_unflatten(None, [jnp.asarray(float(getattr(prior, f)), jnp.float32) for f in Prior._FIELDS])


def _sort_by_mean(weights: jax.Array, means: jax.Array, stds: jax.Array):
    """Reorder the last axis (components) of each parameter by increasing mean."""
    order = jnp.argsort(means, axis=-1)
    take = partial(jnp.take_along_axis, indices=order, axis=-1)
    return take(weights), take(means), take(stds)


def _component_log_probs(x: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array) -> list[jax.Array]:
    """log pi_k + log N(x_i | mu_k, sigma_k) for every point, one array of shape (N,) per component.

    Each entry is the GenJAX density ``assigned_point.assess({"z": k, "x": x_i}, pi, mu, sigma)``.
    A list of K columns rather than an (N, K) matrix: everything the sampler computes from
    them is elementwise across the K columns, so XLA fuses it into one pass over the data
    with no (N, K) temporary (K is static and small).
    """

    def column(k: int) -> jax.Array:
        zk = jnp.asarray(k, jnp.int32)
        return jax.vmap(lambda xi: assigned_point.assess({"z": zk, "x": xi}, weights, means, stds)[0])(x)

    return [column(k) for k in range(weights.shape[-1])]


def _normalised_columns(cols: list[jax.Array]) -> tuple[list[jax.Array], jax.Array]:
    """exp(c_k - max_j c_j) for each column and their sum over k: P(z_i = k) = p_k / total."""
    top = reduce(jnp.maximum, cols)
    ps = [jnp.exp(c - top) for c in cols]
    return ps, reduce(jnp.add, ps)


def _responsibilities(x: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array) -> list[jax.Array]:
    """P(z_i = k | theta, x_i) for each component k: K arrays of shape (N,), summing to 1 over k."""
    ps, total = _normalised_columns(_component_log_probs(x, weights, means, stds))
    return [p / total for p in ps]


def _sample_assignments(key: jax.Array, cols: list[jax.Array]) -> jax.Array:
    """z_i ~ Categorical(softmax_k cols[k][i]) for every i, by inverse CDF: one uniform per point."""
    ps, total = _normalised_columns(cols)
    u = jax.random.uniform(key, total.shape, total.dtype) * total
    z = jnp.zeros(total.shape, jnp.int32)
    cum = jnp.zeros_like(total)
    for p in ps[:-1]:
        cum = cum + p
        z = z + (cum <= u).astype(jnp.int32)
    return z


# ---------------------------------------------------------------------------
# Importance sampling
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportanceResult:
    """Outcome of :func:`importance_sampling`.

    Attributes:
        log_weights: log importance weights log p(x, theta_s) - log q(theta_s), shape (S,).
        weights: mixing proportions of each particle, shape (S, K), components sorted by mean.
        means: component means of each particle, shape (S, K), data units.
        stds: component standard deviations of each particle, shape (S, K), data units.
        ess: effective sample size (sum w)^2 / sum w^2, in [1, S].
        log_marginal_likelihood: log p(x) estimate, logsumexp(log_weights) - log S (nats).
        log_ml_stderr: delta-method standard error of that estimate,
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
    log_marginal_likelihood: float
    log_ml_stderr: float
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
        return {name: w @ getattr(self, name) for name in _PARAMS}


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
    w, m, s = _sort_by_mean(w, m, s)
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
        choices = {name: a[p] for name, a in zip(_PARAMS, theta)}
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
        theta = tuple(jnp.where(from_prior, ch_prior[name], ch[name][perm]) for name in _PARAMS)
        log_prior, _ = parameter_prior.assess(dict(zip(_PARAMS, theta)), const(k), prior)
        log_q = jnp.logaddexp(
            jnp.log1p(-defensive) + _sym_log_q(theta, params, perms), jnp.log(defensive) + log_prior
        )
        choices = dict(zip(_PARAMS, theta), x=x)
        log_p, _ = bayesian_gmm_marginal.assess(choices, const(n), const(k), prior)
        return (log_p - log_q, *theta)

    log_w, w, m, s = _map_particles(one, key, n_particles)
    log_w = _clean_log_weights(log_w)
    w, m, s = _sort_by_mean(w, m, s)
    return (log_w, w, m, s), _weight_summary(log_w)


def _em_proposal_params(
    data: np.ndarray, fit: EMResult, prior: Prior, df: float, inflation: float
) -> tuple[np.ndarray, ...]:
    """Centres and scales of the "em" proposal from the EM fit, in float64.

    With soft counts n_k, weighted means xbar_k and scatter SS_k from the EM
    responsibilities: log sigma_k is centred at the mode of its conditional
    (Gamma prior, mean profiled out: b s^3 + (n_k - 1 - a) s^2 - SS_k = 0) with scale
    1 / sqrt(b s + 2 SS_k / s^2); mu_k at the conjugate Normal mean with scale
    1 / sqrt(1/s0^2 + n_k / s^2); pi ~ Dirichlet(alpha + n_k / inflation^2). For large n_k
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
    a, b = float(prior.std_shape), float(prior.std_rate)
    m0, s0 = float(prior.mean_loc), float(prior.mean_scale)
    floor = 1e-6 * (float(np.std(data)) or 1.0)
    sigma_c = np.empty_like(nk)
    for j in range(nk.size):
        roots = np.roots([b, max(nk[j] - 1.0, 0.0) - a, 0.0, -ss[j]])
        real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots))].real
        sigma_c[j] = max(real.max(initial=0.0), floor)
    log_std_se = 1.0 / np.sqrt(b * sigma_c + 2.0 * ss / sigma_c**2)
    prec = 1.0 / s0**2 + nk / sigma_c**2
    mean_c = (m0 / s0**2 + nk * xbar / sigma_c**2) / prec
    mean_se = 1.0 / np.sqrt(prec)
    conc = float(prior.alpha) + nk / inflation**2
    return (
        conc,
        mean_c,
        inflation * mean_se,
        np.log(sigma_c),
        inflation * log_std_se,
        np.asarray(df, np.float64),
    )


def importance_sampling(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: Prior = Prior(),
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
        prior: the model's :class:`~gmm.models.Prior`.
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
    k = _check_k(n_components, data.size)
    n_particles = check_positive_int(n_particles, "n_particles")
    prior = _check_prior(prior)
    if proposal not in ("prior", "em"):
        raise ValueError(f"proposal must be 'prior' or 'em', got {proposal!r}.")
    df = check_positive(df, "df")
    inflation = check_positive(inflation, "inflation")
    defensive = check_finite(defensive, "defensive")
    if not 0.0 <= defensive < 1.0:
        raise ValueError(f"defensive must be in [0, 1), got {defensive!r}.")
    xj = jnp.asarray(data, jnp.float32)
    pj = _prior_f32(prior)
    fit = None
    if proposal == "prior":
        with _quiet_tfp():
            (log_w, w, m, s), summary = _is_prior(key, xj, pj, k, n_particles)
    else:
        if k > _MAX_EM_COMPONENTS:
            raise ValueError(
                f"proposal='em' sums over the K! label permutations and allows n_components <= "
                f"{_MAX_EM_COMPONENTS}; got n_components={k}."
            )
        k_em, k_is = jax.random.split(key)
        fit = fit_em(data, k, key=k_em)
        params = tuple(
            jnp.asarray(a, jnp.float32) for a in _em_proposal_params(data, fit, prior, df, inflation)
        )
        perms = jnp.asarray(list(itertools.permutations(range(k))), jnp.int32)
        with _quiet_tfp():
            (log_w, w, m, s), summary = _is_em(
                k_is, xj, pj, params, perms, jnp.asarray(defensive, jnp.float32), k, n_particles
            )
    ess, log_ml, stderr = (float(v) for v in summary)
    return ImportanceResult(
        log_weights=np.asarray(log_w, np.float64),
        weights=np.asarray(w, np.float64),
        means=np.asarray(m, np.float64),
        stds=np.asarray(s, np.float64),
        ess=ess,
        log_marginal_likelihood=log_ml,
        log_ml_stderr=stderr,
        proposal=proposal,
        em=fit,
    )


# ---------------------------------------------------------------------------
# Gibbs sampling
# ---------------------------------------------------------------------------

_TARGET_ACCEPT = 0.44  # optimal acceptance rate of a 1-D random-walk Metropolis step


def _log_std_target(x, z, weights, means, stds, prior):
    """Per component k: log Gamma(sigma_k; a, b) + sum_{i: z_i = k} log N(x_i | mu_k, sigma_k) + log sigma_k.

    The density of log sigma_k given everything else (up to a constant), shape (K,). The
    point terms are ``assigned_point.assess`` scores; the log pi_k they carry is a constant
    n_k log pi_k for every sigma, so it cancels in the MH ratio.
    """
    # Masked sums of each component's column: fused reductions, no (N,) temporaries.
    cols = _component_log_probs(x, weights, means, stds)
    lik = jnp.stack([jnp.sum(jnp.where(z == j, c, 0.0)) for j, c in enumerate(cols)])
    log_prior = jax.vmap(lambda s: gamma.assess(s, prior.std_shape, prior.std_rate)[0])(stds)
    return log_prior + lik + jnp.log(stds)


def _sweep(key, state, x, prior, n_mh: int, adapt_rate):
    """One Metropolis-within-Gibbs sweep: z | theta; pi | z; mu | z, sigma; sigma | z, mu (MH)."""
    z, weights, means, stds, log_step = state
    k = weights.shape[0]
    k_z, k_w, k_m, k_s = jax.random.split(key, 4)
    # (a) assignments, all points at once: P(z_i = k | theta, x_i) ∝ exp(assess score).
    z = _sample_assignments(k_z, _component_log_probs(x, weights, means, stds))
    counts = jax.ops.segment_sum(jnp.ones_like(x), z, num_segments=k)
    sums = jax.ops.segment_sum(x, z, num_segments=k)
    # (b) weights: Dirichlet(alpha + n_k).
    weights = jax.random.dirichlet(k_w, prior.alpha + counts)
    # (c) means: Normal with precision 1/s0^2 + n_k/sigma_k^2.
    prec = 1.0 / prior.mean_scale**2 + counts / stds**2
    loc = (prior.mean_loc / prior.mean_scale**2 + sums / stds**2) / prec
    means = loc + jax.random.normal(k_m, (k,)) / jnp.sqrt(prec)

    # (d) stds: random-walk MH on log sigma_k, accepted per component.
    def mh(carry, key_t):
        stds, cur = carry
        k_prop, k_acc = jax.random.split(key_t)
        prop = stds * jnp.exp(jnp.exp(log_step) * jax.random.normal(k_prop, (k,)))
        new = _log_std_target(x, z, weights, means, prop, prior)
        log_ratio = jnp.where(jnp.isnan(new), -jnp.inf, new - cur)
        accept = jnp.log(jax.random.uniform(k_acc, (k,))) < log_ratio
        return (jnp.where(accept, prop, stds), jnp.where(accept, new, cur)), jnp.minimum(1.0, jnp.exp(log_ratio))

    cur = _log_std_target(x, z, weights, means, stds, prior)
    (stds, _), acc_prob = jax.lax.scan(mh, (stds, cur), jax.random.split(k_s, n_mh))
    acc = acc_prob.mean(axis=0)
    log_step = log_step + adapt_rate * (acc - _TARGET_ACCEPT)
    return (z, weights, means, stds, log_step), acc


def _init_chain(key, x, k: int, init_step):
    """k-means++-style start: K data points drawn with D^2 weighting as means, equal weights,
    every sd the data's sd / K; z is drawn in the first sweep."""

    def pick(carry, key_j):
        centres, j = carry
        d2 = jnp.min(jnp.where(jnp.arange(k) < j, (x[:, None] - centres) ** 2, jnp.inf), axis=1)
        d2 = jnp.where(j == 0, 1.0, d2)
        logits = jnp.where(d2.sum() > 0, jnp.log(d2), 0.0)
        return (centres.at[j].set(x[jax.random.categorical(key_j, logits)]), j + 1), None

    (centres, _), _ = jax.lax.scan(pick, (jnp.zeros(k, x.dtype), 0), jax.random.split(key, k))
    sd = jnp.std(x)
    sd = jnp.where(sd > 0, sd / k, 1.0)
    return (
        jnp.zeros(x.shape[0], jnp.int32),
        jnp.full(k, 1.0 / k, x.dtype),
        jnp.sort(centres),
        jnp.full(k, sd, x.dtype),
        jnp.full(k, jnp.log(init_step), x.dtype),
    )


@partial(jax.jit, static_argnames=("k", "n_samples", "n_warmup", "n_chains", "n_mh"))
def _gibbs_run(key, x, prior, init_step, k: int, n_samples: int, n_warmup: int, n_chains: int, n_mh: int):
    """All chains, all sweeps: vmap over chains of one ``lax.scan`` over warmup + kept sweeps.

    One scan (not a warmup scan and a sampling scan) keeps the compiled program half the size;
    warmup sweeps adapt the MH step and are dropped afterwards.
    """
    n_total = n_warmup + n_samples

    def chain(key_c):
        k_init, k_run = jax.random.split(key_c)
        state = _init_chain(k_init, x, k, init_step)

        def step(carry, inp):
            state, resp_sum = carry
            t, key_t = inp
            warm = t < n_warmup
            rate = jnp.where(warm, 1.0 / (t + 1.0) ** 0.6, 0.0)
            state, acc = _sweep(key_t, state, x, prior, n_mh, rate)
            w, m, s = _sort_by_mean(*state[1:4])
            keep = jnp.where(warm, 0.0, 1.0)
            # Components on the leading axis: each row is one fused pass over the data.
            resp_sum = resp_sum + keep * jnp.stack(_responsibilities(x, w, m, s))
            return (state, resp_sum), (w, m, s, acc)

        resp0 = jnp.zeros((k, x.shape[0]), x.dtype)
        steps = jnp.arange(n_total, dtype=x.dtype)
        (state, resp_sum), (w, m, s, acc) = jax.lax.scan(
            step, (state, resp0), (steps, jax.random.split(k_run, n_total))
        )
        kept = slice(n_warmup, None)
        return w[kept], m[kept], s[kept], acc[kept].mean(axis=0), jnp.exp(state[4]), resp_sum / n_samples

    w, m, s, acc, step_size, resp = jax.vmap(chain)(jax.random.split(key, n_chains))
    return w, m, s, acc, step_size, resp.mean(axis=0)


@jax.jit
def _diagnostics(samples: jax.Array) -> tuple[jax.Array, jax.Array]:
    """GenJAX R-hat and ESS for each component of samples (n_chains, n_samples, K), each (K,).

    R-hat compares chains: with one chain it is NaN (GenJAX's ``compute_rhat`` returns a bare
    Python NaN there, which its own type check then rejects, so it is not called).
    """
    if samples.shape[0] < 2:
        rhat = jnp.full(samples.shape[2], jnp.nan, samples.dtype)
    else:
        rhat = jax.vmap(compute_rhat, in_axes=2)(samples)
    ess = jax.vmap(compute_ess, in_axes=2)(samples)
    return rhat, ess


def ess_autocorr(samples: Any) -> float:
    """Multi-chain ESS from the full autocorrelation (Geyer's initial monotone sequence).

    The estimator of Stan and ArviZ (Vehtari et al. 2021, without rank normalisation):
    rho_t = 1 - (W - mean_c acov_c(t)) / var+, summed in pairs while positive and
    non-increasing; ESS = M N / (-1 + 2 sum_t P_t). ``samples`` has shape (M, N).
    Unlike GenJAX's ``compute_ess`` (lag-1 approximation N / (1 + 2 rho_1)) it sees
    slowly decaying autocorrelation.
    """
    a = np.asarray(samples, np.float64)
    if a.ndim != 2 or a.shape[1] < 4:
        raise ValueError(f"samples must have shape (n_chains, n_samples>=4), got {a.shape}.")
    m, n = a.shape
    c = a - a.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(c, size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n] / n  # biased, (M, N)
    chain_var = acov[:, 0] * n / (n - 1)
    w = chain_var.mean()
    var_plus = w * (n - 1) / n + (a.mean(axis=1).var(ddof=1) if m > 1 else 0.0)
    if not var_plus > 0:
        return float(m * n)
    rho = 1.0 - (w - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    total, prev = 0.0, np.inf
    for t in range(0, n - 1, 2):
        pair = rho[t] + rho[t + 1]
        if pair <= 0:
            break
        pair = min(pair, prev)
        total += pair
        prev = pair
    tau = -1.0 + 2.0 * total
    return float(m * n / max(tau, 1.0 / np.log10(max(m * n, 10))))


@jax.jit
def _mean_responsibilities(x: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array) -> jax.Array:
    """Average over draws (rows of the (S, K) parameters) of P(z = k | x_m, theta_s), shape (M, K).

    A scan over the draws, so memory is (M, K) whatever the number of draws.
    """

    def add(total, theta):
        return total + jnp.stack(_responsibilities(x, *theta), axis=1), None

    total, _ = jax.lax.scan(add, jnp.zeros((x.shape[0], weights.shape[1]), x.dtype), (weights, means, stds))
    return total / weights.shape[0]


@dataclass(frozen=True)
class GibbsPosterior:
    """Outcome of :func:`gibbs`: draws relabelled by increasing mean in every sample.

    Attributes:
        weights: mixing proportions, shape (n_chains, n_samples, K).
        means: component means, shape (n_chains, n_samples, K), data units.
        stds: component standard deviations, shape (n_chains, n_samples, K), data units.
        assignment_probs: P(z_i = k | x), shape (N, K), rows sum to 1, Rao-Blackwellised:
            the average over all draws of P(z_i = k | theta_s, x_i), in the sorted labelling.
        rhat: R-hat of every scalar parameter, ``{"weights": (K,), "means": (K,), "stds": (K,)}``,
            from GenJAX's ``compute_rhat`` (Gelman-Rubin; NaN with one chain).
        ess: effective sample size of every scalar parameter, same layout, from the full
            autocorrelation over all chains (``gmm.inference.ess_autocorr``, the Stan/ArviZ/NumPyro
            estimator); quote this one, e.g. for Monte Carlo standard errors sd / sqrt(ess).
        ess_genjax: the same from GenJAX's ``compute_ess``, for comparison. It is a lag-1
            approximation, N / (1 + 2 rho_1), and overstates the ESS of slowly mixing
            parameters (tenfold on two overlapping clusters).
        acceptance_rate: mean acceptance probability of the log-sigma MH steps after
            warmup, shape (n_chains, K).
        step_size: the adapted random-walk step on log sigma, shape (n_chains, K).
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    assignment_probs: np.ndarray
    rhat: dict[str, np.ndarray]
    ess: dict[str, np.ndarray]
    ess_genjax: dict[str, np.ndarray]
    acceptance_rate: np.ndarray
    step_size: np.ndarray

    @property
    def n_chains(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        return int(self.means.shape[2])

    def summary(self) -> list[dict[str, Any]]:
        """One row per scalar parameter: name, mean, sd, 2.5% and 97.5% quantiles,
        mcse = sd / sqrt(ess), rhat, ess, ess_genjax (all pooled over chains)."""
        rows = []
        for name in _PARAMS:
            draws = getattr(self, name)
            for j in range(self.n_components):
                d = draws[:, :, j].ravel()
                sd = float(d.std(ddof=1)) if d.size > 1 else float("nan")
                ess = float(self.ess[name][j])
                rows.append(
                    {
                        "parameter": f"{name}[{j}]",
                        "mean": float(d.mean()),
                        "sd": sd,
                        "q2.5": float(np.quantile(d, 0.025)),
                        "q97.5": float(np.quantile(d, 0.975)),
                        "mcse": sd / math.sqrt(ess) if ess > 0 else float("nan"),
                        "rhat": float(self.rhat[name][j]),
                        "ess": ess,
                        "ess_genjax": float(self.ess_genjax[name][j]),
                    }
                )
        return rows

    def predictive_assignment_probs(self, x_new: Any) -> np.ndarray:
        """P(z_new = k | x_new, x) for new points, shape (M, K), in the sorted labelling.

        The responsibilities of each posterior draw, averaged over all draws, so
        the uncertainty about the parameters is carried into the classification.
        """
        data = jnp.asarray(as_data(x_new, "x_new"), jnp.float32)
        k = self.n_components
        w, m, s = (jnp.asarray(a.reshape(-1, k), jnp.float32) for a in (self.weights, self.means, self.stds))
        return np.asarray(_mean_responsibilities(data, w, m, s), dtype=np.float64)


def gibbs(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: Prior = Prior(),
    n_samples: int = 2000,
    n_warmup: int = 500,
    n_chains: int = 4,
    n_mh_steps: int = 3,
    init_step_size: float = 0.5,
) -> GibbsPosterior:
    """Metropolis-within-Gibbs posterior sampling for the Bayesian GMM, several chains.

    Each sweep: (a) every z_i from P(z_i = k | theta, x_i) ∝ exp of
    ``assigned_point.assess({"z": k, "x": x_i}, pi, mu, sigma)`` (all i, k at once);
    (b) pi ~ Dirichlet(alpha + n_k); (c) mu_k ~ Normal(m_k, 1/sqrt(1/s0^2 + n_k/sigma_k^2)) with
    m_k = (m0/s0^2 + sum_{z_i=k} x_i / sigma_k^2) / (1/s0^2 + n_k/sigma_k^2); (d) ``n_mh_steps``
    random-walk Metropolis steps on every log sigma_k (Gamma prior and point densities from
    GenJAX, Jacobian included, accepted per component). The step size is adapted towards
    acceptance 0.44 during warmup only. Chains start from K data points picked with
    k-means++ (D^2) weighting. Draws are relabelled by increasing mean.

    Args:
        key: ``jax.random`` key; the same key gives the same draws.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [2, N].
        prior: the model's :class:`~gmm.models.Prior`.
        n_samples: kept sweeps per chain (>= 4).
        n_warmup: discarded sweeps per chain (>= 1), during which the MH step adapts.
        n_chains: independent chains (>= 1; R-hat needs >= 2).
        n_mh_steps: MH steps on log sigma per sweep (>= 1).
        init_step_size: initial random-walk step on log sigma (> 0).

    Returns:
        A :class:`GibbsPosterior`.

    Raises:
        ValueError: on bad data, K, prior, or counts.
    """
    key = check_key(key)
    data = as_data(x)
    k = _check_k(n_components, data.size)
    prior = _check_prior(prior)
    n_samples = check_positive_int(n_samples, "n_samples")
    if n_samples < 4:
        raise ValueError(f"n_samples must be at least 4 (for the diagnostics), got {n_samples}.")
    n_warmup = check_positive_int(n_warmup, "n_warmup")
    n_chains = check_positive_int(n_chains, "n_chains")
    n_mh_steps = check_positive_int(n_mh_steps, "n_mh_steps")
    init_step_size = check_positive(init_step_size, "init_step_size")
    with _quiet_tfp():
        w, m, s, acc, step, resp = _gibbs_run(
            key,
            jnp.asarray(data, jnp.float32),
            _prior_f32(prior),
            jnp.asarray(init_step_size, jnp.float32),
            k,
            n_samples,
            n_warmup,
            n_chains,
            n_mh_steps,
        )
    draws = {"weights": w, "means": m, "stds": s}
    rhat, ess, ess_gj = {}, {}, {}
    for name, d in draws.items():
        r, e = _diagnostics(d)
        rhat[name] = np.asarray(r, np.float64)
        ess_gj[name] = np.asarray(e, np.float64)
        d64 = np.asarray(d, np.float64)
        ess[name] = np.array([ess_autocorr(d64[:, :, j]) for j in range(k)])
    resp = np.asarray(resp, np.float64).T  # (K, N) -> (N, K)
    return GibbsPosterior(
        weights=np.asarray(w, np.float64),
        means=np.asarray(m, np.float64),
        stds=np.asarray(s, np.float64),
        assignment_probs=resp / resp.sum(axis=1, keepdims=True),
        rhat=rhat,
        ess=ess,
        ess_genjax=ess_gj,
        acceptance_rate=np.asarray(acc, np.float64),
        step_size=np.asarray(step, np.float64),
    )


__all__ = [
    "GibbsPosterior",
    "ImportanceResult",
    "em_proposal",
    "ess_autocorr",
    "parameter_prior",
    "gibbs",
    "importance_sampling",
]
