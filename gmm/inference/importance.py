"""Importance sampling for the Bayesian GMM of :mod:`gmm.models.generative`.

:func:`importance_sampling` estimates the evidence p(x) = int p(theta) p(x | theta) dtheta
and weighted posterior particles. With ``proposal="prior"`` the particles are the model's
own prior draws of (pi, mu, sigma, z) (``bayesian_gmm.generate`` conditioned on x), the
textbook construction that collapses on real data; with ``proposal="em"`` they come from
a mixture of multivariate Student-t pieces in unconstrained coordinates, one around each
distinct posterior mode that penalised EM finds from many starts (and around its
relabellings where two means may cross), with covariances from the log posterior's Hessian
refitted by pilot runs, weighted on the means-sorted region (so no sum over the K!
labellings is needed); ``proposal="allocations"`` mixes approximate conditionals
p(theta | z, x) over allocations z drawn given posterior draws that the caller supplies (SMC
particles, Gibbs chains), symmetrised over the K! labellings with permanents
(``gmm/inference/allocation_proposal.py``), which covers a broad posterior (K >= 4 on the galaxies,
up to K = 7) where EM's modes miss part of it.

The model's densities are GenJAX's (``bayesian_gmm_marginal.assess``,
``parameter_prior.assess``, ``em_proposal.assess``), vmapped in one jitted scorer per K;
the proposal's draws are made in NumPy, which keeps that scorer quick to compile.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from genjax import const, seed
from jax.scipy.special import logsumexp

from gmm.inference import modes as _modes
from gmm.inference.allocation_proposal import run_allocations
from gmm.inference.em_proposal import (
    MAX_MODES,
    MAX_PIECES,
    draw_em,
    from_sorted_coordinates,
    initial_pieces,
    refit_pieces,
    sorted_coordinates,
    em_proposal,
)
from gmm.inference.importance_result import ImportanceResult
from gmm.model_choice.evidence_result import importance_error_bar
from gmm.inference.scoring import PARAMS, parameter_prior, quiet_tfp, sort_by_mean, standardise
from gmm._util import defaults
from gmm._util.validation import (
    as_data,
    check_finite,
    check_key,
    check_n_components,
    check_positive,
    check_positive_int,
)
from gmm.estimation.em import fit_line
from gmm._util.numerics import numpy_rng
from gmm.models.mixture import Mixture
from gmm.models.generative import (
    Prior,
    bayesian_gmm,
    bayesian_gmm_marginal,
    check_prior_on_data,
    observations,
    resolve_prior,
)

_N_STARTS = 64
_PILOT = 4096  # particles of each pilot run that refits the "em" proposal (fixed: one compiled program)
_PILOT_ROUNDS = 4
_EQUAL = 0.25  # part of the pieces' probabilities shared equally (the rest by their estimated mass)
_PROPOSALS = ("prior", "em", "allocations")
_ALLOCATION_SPREAD = 1.2  # default inflation of the "allocations" pieces (ESS-best on the galaxies, K = 6, 7)
_MAX_ALLOCATION_K = 10  # the unrolled permanent's compile time grows about 3.5-fold per component (36 s at K = 10)


def weight_summary(log_w: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
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
    return (log_w, w, m, s), weight_summary(log_w)


# The "em" proposal: full-covariance Student-t pieces in coordinates of the means-sorted region.


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
        theta = tuple(jnp.where(from_prior, a, b) for a, b in zip(prior_sorted, from_sorted_coordinates(z_q)[0]))
        z = jnp.where(from_prior, sorted_coordinates(*prior_sorted), z_q)
        finite = jnp.all(jnp.isfinite(z))
        z_safe = jnp.where(finite, z, 0.0)  # a prior draw with a zero weight: no piece reaches it
        log_jac = from_sorted_coordinates(z_safe)[1]
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


def _run_em(key, y, prior, pieces, df, defensive, k, n_particles):
    """``_is_em`` on ``draw_em``'s draws, in batches until ``n_particles`` (the last batch's
    surplus dropped): float64 NumPy arrays (log w, pi, mu, sigma, z, responsibilities)."""
    rng = numpy_rng(key)
    args = tuple(jnp.asarray(a, jnp.float32) for a in pieces[:2]) + (jnp.log(jnp.asarray(pieces[2], jnp.float32)),)
    out = []
    for _ in range(-(-n_particles // _EM_BATCH)):
        draws = draw_em(rng, pieces, df, defensive, prior, _EM_BATCH)
        draws = (jnp.asarray(draws[0]),) + tuple(jnp.asarray(a, jnp.float32) for a in draws[1:])
        out.append(_is_em(y, prior, args, jnp.asarray(df, jnp.float32), jnp.asarray(defensive, jnp.float32), draws, k))
    return [np.concatenate([np.asarray(o[i], np.float64) for o in out])[:n_particles] for i in range(len(out[0]))]


@partial(jax.jit, static_argnames=("k",))
def _centre_log_ratios(y, prior, loc, tril, df, k: int):
    """log p(theta_j, y) - log q_j(theta_j) at each piece's centre theta_j, shape (J,): a
    Laplace-style estimate of the posterior mass around mode j (up to a constant shared by all)."""
    n = y.shape[0]

    def one(m, t):
        theta, log_jac = from_sorted_coordinates(m)
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
    inflation: float | None = None,
    defensive: float = 0.1,
    n_starts: int = _N_STARTS,
    draws: tuple[Any, Any, Any] | None = None,
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
    multiplied by ``inflation`` squared. A fraction ``defensive`` of the particles are prior draws
    sorted by mean instead (defensive importance sampling: no weight exceeds
    p(x | theta) / eps even where no mode was found). Because the posterior is exchangeable
    in the components, p(x) = K! * integral over {mu_1 < ... < mu_K} of p(x, theta): draws
    outside that region get weight 0, the others log w_s = log K! + log p(theta_s) +
    log p(x | theta_s) - log q(theta_s), q the density of theta (the Jacobian of z -> theta
    included), the assignments summed out by ``bayesian_gmm_marginal.assess``. Exact weights
    for any ``df``, ``inflation``, ``defensive`` and modes found; what the modes buy is a
    small variance. On the galaxies the ESS is a large fraction of S at K <= 3, a few
    percent at K = 4, and it collapses from K = 5 on (a posterior spread over many shallow
    modes): check ``ess`` before trusting the estimate. When the ESS is below 50 a
    RuntimeWarning says so and ``log_evidence_stderr`` is NaN
    (``gmm.model_choice.evidence_result.importance_error_bar``).

    ``proposal="allocations"``: the classic importance function for mixtures (Fruehwirth-Schnatter
    2004; Lee, Marin, Mengersen and Robert 2009), built from posterior ``draws`` of any sampler
    (SMC particles, the chains of :func:`gmm.gibbs`, tempered or not); the weights stay exact
    whatever the draws, so the estimate does not depend on that sampler's mixing, only its
    variance does. For up to 2048
    distinct draws theta^s, an allocation z^s ~ p(z | theta^s, x) (one Gibbs step) gives the
    counts n_k, means and scatters of a piece q_s: pi ~ Dirichlet(alpha + c n),
    log sigma_k ~ Student-t(``df``) around the mode of its conditional given the allocated
    points (scale ``inflation`` times the one from the curvature there), mu_k | sigma_k ~ the
    exact normal conditional given c n_k points, with c = 1 / ``inflation`` squared (pieces as
    broad as if they had seen fewer points). Their mixture, symmetrised over the K!
    labellings, is q_sym(theta) = (1 / (S K!)) sum_s C_s perm(A_s), C_s the Dirichlet
    normaliser and A_s[k, j] = pi_j^(alpha + c n_k - 1) g_sk(mu_j, sigma_j), the permanents
    computed exactly by a dynamic programme over the 2^K column subsets; a fraction
    ``defensive`` of the particles are prior draws, so q = (1 - eps) q_sym + eps p(theta) and
    log w = log p(x, theta) - log q(theta) over the whole space (no sorted region). Each
    particle costs S K 2^(K-1) products; on the galaxies, with SMC's particles as ``draws``,
    the ESS is about 60% of the particles at K = 2, 30% at K = 5 and 8-12% at K = 7.

    Args:
        key: ``jax.random`` key.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [2, N] (at most 10 with ``"allocations"``; K = 1 has
            no proportions to draw: its evidence is exact, :func:`gmm.exact_log_marginal_likelihood`).
        prior: the model's :class:`~gmm.models.generative.Prior`; None derives one from the data
            (:meth:`~gmm.Prior.from_data`).
        n_particles: number of particles S >= 1.
        proposal: ``"prior"``, ``"em"`` or ``"allocations"``.
        df: degrees of freedom (> 0) of the proposal pieces' Student-t laws (of z for ``"em"``,
            of log sigma for ``"allocations"``).
        inflation: factor (> 0) on the spread of the pieces (``"em"``: their covariances are inflation^2 times the fitted ones; ``"allocations"``: see above);
            None: 1.5, or 1.2 for ``"allocations"``.
        defensive: fraction in [0, 1) of particles drawn from the prior (all but ``"prior"``).
        n_starts: penalised-EM starts of the ``"em"`` proposal's mode search (>= 1).
        draws: for ``proposal="allocations"`` (and only then), posterior draws
            (weights, means, stds), each of shape (S, K), data units, in any labelling (sorted
            here); S >= 4(3K - 1) finite rows with positive weights and stds.

    Returns:
        An :class:`ImportanceResult`; particles are relabelled by increasing mean (the
        target is label-symmetric, so weighted averages over them are valid posterior
        estimates of the sorted parameters).

    Raises:
        ValueError: on bad data, K, S, prior, proposal name or proposal settings, and on a prior
            (or a data value) that float32 cannot represent on the data's scale: beyond 1e15
            times its spread, or below 1e-15 times it (:func:`gmm.models.generative.check_prior_on_data`).
    """
    key = check_key(key)
    data = as_data(x)
    k = check_n_components(n_components, data.size)
    if k == 1:
        raise ValueError(
            "n_components must be at least 2 for importance_sampling, got 1: with one component there are no "
            "mixing proportions to draw (the model's Dirichlet needs K >= 2) and nothing to relabel; for K = 1 "
            "the evidence is exact, gmm.exact_log_marginal_likelihood(x, 1), and gmm.gibbs(key, x, 1) samples "
            "the posterior.")
    n_particles = check_positive_int(n_particles, "n_particles", maximum=10_000_000)
    prior = check_prior_on_data(resolve_prior(prior, data), data)  # float32 on the data's scale
    if proposal not in _PROPOSALS:
        raise ValueError(f"proposal must be 'prior', 'em' or 'allocations', got {proposal!r}.")
    if proposal == "allocations" and k > _MAX_ALLOCATION_K:
        raise ValueError(
            f"proposal='allocations' allows n_components up to {_MAX_ALLOCATION_K}, got {k}: its permanents "
            "cost K 2^(K-1) products per piece and particle, and compiling them takes minutes beyond that."
        )
    draws = _check_draws(draws, k, proposal)
    n_starts = check_positive_int(n_starts, "n_starts", maximum=10_000)
    df = check_positive(df, "df")
    if inflation is None:
        inflation = _ALLOCATION_SPREAD if proposal == "allocations" else 1.5
    inflation = check_positive(inflation, "inflation")
    defensive = check_finite(defensive, "defensive")
    if not 0.0 <= defensive < 1.0:
        raise ValueError(f"defensive must be in [0, 1), got {defensive!r}.")
    return run_importance_sampling(key, data, k, prior, n_particles, proposal, defensive, df, inflation, n_starts, draws)


def _check_draws(draws: Any, k: int, proposal: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``draws`` checked for ``proposal``: None unless "allocations"; then three
    finite float64 arrays (S, K) with positive weights and stds, S >= 4 (3K - 1), rows sorted
    by mean."""
    if proposal != "allocations":
        if draws is not None:
            raise ValueError(f"draws is only used with proposal='allocations', got proposal={proposal!r}.")
        return None
    if not isinstance(draws, (tuple, list)) or len(draws) != 3:
        raise ValueError(f"draws must be a tuple (weights, means, stds) of arrays (S, {k}), got {type(draws).__name__}.")
    arrays = []
    for name, a in zip(("weights", "means", "stds"), draws):
        try:
            a = np.asarray(a, np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"draws' {name} must be numbers, got {a!r}.") from err
        if a.ndim != 2 or a.shape[1] != k:
            raise ValueError(f"draws' {name} must have shape (S, {k}), got {a.shape}.")
        if not np.all(np.isfinite(a)) or (name != "means" and not np.all(a > 0)):
            raise ValueError(f"draws' {name} must be finite{'' if name == 'means' else ' and positive'}.")
        arrays.append(a)
    if len({a.shape[0] for a in arrays}) != 1 or arrays[0].shape[0] < 4 * (3 * k - 1):
        raise ValueError(
            f"draws must hold the same number S >= {4 * (3 * k - 1)} of rows, got {[a.shape[0] for a in arrays]}."
        )
    order = np.argsort(arrays[1], axis=1)
    return tuple(np.take_along_axis(a, order, axis=1) for a in arrays)


def run_importance_sampling(
    key, data, k, prior, n_particles, proposal, defensive, df, inflation, n_starts=_N_STARTS, draws=None, what=None
) -> ImportanceResult:
    """importance_sampling on checked arguments; runs on standardised data (float32) and
    reports weights and parameters in data units (float64). ``what`` names the caller in the
    warning of an unreliable error bar (default: importance_sampling and its settings)."""
    y, pj, loc, scale = standardise(data, prior)
    jacobian = data.size * math.log(scale)  # p(x | theta) = p(y | theta') / scale^N
    fit, modes, mode_weights = None, (), np.zeros(0)
    if proposal == "prior":
        with quiet_tfp():
            (log_w, w, m, s), summary = _is_prior(key, y, pj, k, n_particles)
    elif proposal == "allocations":
        draws_y = (draws[0], (draws[1] - loc) / scale, draws[2] / scale)
        y64 = (data - loc) / scale
        log_w, *theta = run_allocations(numpy_rng(key), y64, pj, draws_y, df, defensive, inflation, n_particles)
        order = np.argsort(theta[1], axis=1)  # the weights are symmetric: report the sorted labelling
        w, m, s = (np.take_along_axis(a, order, axis=1) for a in theta)
        summary = weight_summary(jnp.asarray(log_w))
    else:
        k_em, k_is = jax.random.split(key)
        y64 = (data - loc) / scale
        prior64 = tuple(float(v) for v in pj.tree_flatten()[0])
        prior_y64 = Prior.tree_unflatten(pj.family, prior64)
        fit = fit_line(k_em, data, k, defaults.MAX_ITER, defaults.TOL, defaults.N_INIT_FIT, None, None, "kmeans")
        mix = fit.mixture
        first = (mix.weights, (mix.means - loc) / scale, mix.stds / scale)
        found = _modes.distinct_modes(numpy_rng(k_em), y64, k, prior64, n_starts, first, MAX_MODES, pj.family)
        locs, trils, owner = initial_pieces(y64, found[:3], prior_y64, df, inflation)
        df32 = jnp.asarray(df, jnp.float32)
        with quiet_tfp():
            log_mass = _centre_log_ratios(y, pj, jnp.asarray(locs, jnp.float32), jnp.asarray(trils, jnp.float32), df32, k)
        log_mass = np.asarray(log_mass, np.float64)
        log_mass = np.where(np.isfinite(log_mass), log_mass, -np.inf)
        keep = log_mass >= np.max(log_mass) - 20.0  # pieces e^-20 below the best carry nothing

        def run(key_run, locs, trils, weights, size):
            # one compiled program whatever the number of pieces
            pad = -(-locs.shape[0] // MAX_PIECES) * MAX_PIECES - locs.shape[0]
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
            locs, trils, share = refit_pieces(locs, trils, p_log_w, p_z, p_resp[:, :n_pieces], df, inflation)
            lw = p_log_w - np.max(p_log_w)
            pilot_ess = np.exp(2 * logsumexp(lw) - logsumexp(2 * lw)) if np.isfinite(lw).any() else 0.0
            keep = share >= 1e-3 if pilot_ess >= 100 else np.ones(n_pieces, bool)
            log_mass = np.log(np.maximum(share, 1e-300))
        locs, trils, owner, log_mass = locs[keep], trils[keep], owner[keep], log_mass[keep]
        piece_weights = _EQUAL / locs.shape[0] + (1.0 - _EQUAL) * np.exp(log_mass - logsumexp(log_mass))
        log_w, w, m, s, _, _ = run(k_is, locs, trils, piece_weights, n_particles)
        summary = weight_summary(jnp.asarray(log_w))
        used = np.unique(owner)
        modes = tuple(Mixture(found[0][j], loc + scale * found[1][j], scale * found[2][j]) for j in used)
        mode_weights = np.array([piece_weights[owner == j].sum() for j in used])
    ess, log_ev, stderr = (float(v) for v in summary)
    what = what or f"importance_sampling (proposal={proposal!r}, K={k}, {n_particles} particles)"
    stderr = importance_error_bar(ess, stderr, n_particles, what)
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
        data=data,
    )


__all__ = ["ImportanceResult", "em_proposal", "importance_sampling", "parameter_prior"]
