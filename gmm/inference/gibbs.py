"""Posterior sampling for the Bayesian GMM by Gibbs sampling, for data in any dimension.

:func:`gibbs` runs several chains, relabels every draw, and reports ArviZ's R-hat and ESS
(:mod:`gmm.diagnostics`), Rao-Blackwellised assignment probabilities, and a ``RuntimeWarning``
when the chains disagree; both samplers offer parallel tempering on an adaptive ladder
(:mod:`gmm.inference.tempering`). Data in one dimension with the model of :mod:`gmm.models.generative` (a
:class:`~gmm.models.generative.Prior`) go to the Metropolis-within-Gibbs sampler: one jitted function
(``lax.scan`` over sweeps) on standardised float32 data, in chunks on large data
(:mod:`gmm.inference.sweep`). Data in D >= 2 dimensions, or any data with a
:class:`~gmm.models.niw.NIWPrior`, go to the conjugate sampler of the model with full covariances
(:mod:`gmm.models.full_covariance`, ``gmm.inference.gibbs_conjugate``). Sizes are static and the jitted
functions are cached, so repeated calls with the same shapes do not recompile. The result
is a :class:`~gmm.inference.gibbs_posterior.GibbsPosterior` for either.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gmm._util import defaults
from gmm.inference import gibbs_conjugate as conjugate
from gmm import diagnostics
from gmm.inference import sweep as _sweep
from gmm.inference import tempering
from gmm.inference.gibbs_posterior import GibbsPosterior
from gmm.inference.posterior_draws import mixture_densities
from gmm._util.numerics import numpy_rng
from gmm.inference.scoring import quiet_tfp, standardise
from gmm._util.validation import (
    as_data,
    check_chain_sizes,
    check_key,
    check_memory,
    check_n_components,
    check_positive,
    check_positive_int,
)
from gmm.estimation.kmeans import kmeans_pp_centres
from gmm.models.generative import Prior, check_prior_on_data, resolve_prior
from gmm.models.niw import NIWPrior, resolve_niw_prior

_MAX_TEMPERATURES = 64
_ADVICE = (
    "Run longer chains (n_samples, n_warmup). If R-hat stays high however long the chains run, "
    "they sit in different modes of a multimodal posterior, which untempered Gibbs does not "
    "cross: compare the chains (posterior.means[c] for each chain c) before trusting any average "
    "over them, or turn on parallel tempering (e.g. n_temperatures=12, min_inverse_temperature=0.003), "
    "whose hot copies cross between modes."
)
_ADVICE_TEMPERED = (
    "Run longer chains (n_samples, n_warmup >= 256, so the ladder adapts). If R-hat stays high, "
    "the tempering ladder may not reach hot enough or be too sparse: lower "
    "min_inverse_temperature or raise n_temperatures until every swap_acceptance_rate is about "
    "0.5 or more. Compare the chains (posterior.means[c]) before trusting any average over them."
)
# Arguments of the 1-D sampler alone, with their defaults there.
_MH_DEFAULTS = {"n_mh_steps": 3, "init_step_size": 0.5}


def gibbs(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: Prior | NIWPrior | None = None,
    n_samples: int = defaults.N_SAMPLES,
    n_warmup: int = defaults.N_WARMUP,
    n_chains: int = defaults.N_CHAINS,
    n_mh_steps: int | None = None,
    init_step_size: float | None = None,
    n_temperatures: int = 1,
    min_inverse_temperature: float = 0.1,
    adapt_ladder: bool = True,
    relabel: bool = True,
) -> GibbsPosterior:
    """Gibbs sampling of the Bayesian GMM's posterior, several chains, for data (N,) or (N, D).

    **One dimension** (data (N,), or (N, 1), which is the same; ``prior`` a
    :class:`~gmm.models.generative.Prior` or None): Metropolis-within-Gibbs for ``gmm.bayesian_gmm``.
    Each sweep: (a) every z_i from P(z_i = k | theta, x_i) ∝ exp of
    ``assigned_point.assess({"z": k, "x": x_i}, pi, mu, sigma)`` (all i, k at once), adding up
    each component's n_k, sum and sum of squares of x_i in the same pass;
    (b) pi ~ Dirichlet(alpha + n_k); (c) mu_k ~ Normal(m_k, 1/sqrt(1/s0^2 + n_k/sigma_k^2)) with
    m_k = (m0/s0^2 + sum_{z_i=k} x_i / sigma_k^2) / (1/s0^2 + n_k/sigma_k^2); (d) ``n_mh_steps``
    random-walk Metropolis steps on every log sigma_k (the prior's density, the points' normal
    densities through those sums, Jacobian included, accepted per component). Large data are
    processed in chunks of the points within each sweep (``gmm.inference.sweep``), so beyond the data
    and ``assignment_probs`` the memory used does not grow with N. The step size is adapted towards
    acceptance 0.44 during warmup only. Each chain starts from K data points picked with
    k-means++ (D^2) weighting (``gmm.estimation.kmeans.kmeans_pp_centres``). Draws are relabelled by increasing
    mean unless ``relabel=False``. The sampler runs on
    standardised data (robust location and scale, float64) with the prior mapped to the
    same units; draws come back in data units.

    With ``n_temperatures`` R > 1 each chain runs parallel tempering (replica exchange): R
    copies, rung r targeting a joint law of (z, theta) whose theta-marginal is
    p(theta) p(x | theta)^beta_r, on a ladder from beta_0 = 1 down to
    ``min_inverse_temperature``. It starts geometric, beta_r = ``min_inverse_temperature`` **
    (r / (R - 1)), and unless ``adapt_ladder=False`` is re-placed during warmup (after sweeps
    32, 64, ... up to n_warmup / 2) so that all adjacent pairs have the same estimated swap
    rejection rate (Syed et al. 2021); it is fixed for the kept sweeps, so they come from one
    fixed Markov chain. Each rung's updates are the ones above with beta multiplying every data
    term, pi, each mu_k and each sigma_k followed by its own Metropolis-Hastings correction
    that makes it exact for the tempered marginal (``gmm.inference.tempering``; at beta = 1 the
    correction is 1).
    After every sweep adjacent rungs (r, r + 1), even r on even sweeps and odd r on odd ones,
    swap states with probability min(1, exp((beta_r - beta_{r+1})(l_{r+1} - l_r))),
    l = log p(x | theta) from the same GenJAX scores. Hot rungs cross between separated modes
    and the swaps carry those states down to beta = 1; only rung 0 is kept. On the galaxies,
    12 rungs down to beta = 0.003 give each mode its share of the draws from any key at
    K = 2 .. 5, and once adapted every adjacent pair swaps about 60% of the time. A sweep costs
    up to 2R untempered sweeps (less on small data, where the rungs and chains share
    vectorised work, so many short chains cost less per draw than a few long ones).

    **D dimensions** (data (N, D) with D >= 2, or any data with ``prior`` a
    :class:`~gmm.models.niw.NIWPrior`): conjugate Gibbs for ``gmm.bayesian_gmm_full``.
    Each sweep: (a) every z_i from P(z_i = k | theta, x_i) ∝ exp of
    ``assigned_point_full.assess({"z": k, "x": x_i}, pi, mu, L)``; (b) pi ~ Dirichlet(alpha + n_k);
    (c) for each k, (mu_k, Sigma_k) from its Normal-Inverse-Wishart posterior
    (``gmm.models.niw.posterior``): Sigma_k ~ IW(dof_n, Psi_n), then mu_k ~ N(m_n, Sigma_k / kappa_n).
    It runs on the data standardised per column in float32; draws are relabelled by the first
    coordinate of the means. With R > 1 rungs the ladder, its adaptation and the swaps are
    as above, but rung r targets p(theta) p(z | pi) p(x | z, theta)^beta_r, which stays
    conjugate (the data terms of (a) and (c) raised to beta, i.e. beta-weighted statistics),
    so every rung's sweep is exact and swaps compare l = log p(x | z, theta)
    (``gmm.inference.gibbs_conjugate``). ``n_mh_steps`` and ``init_step_size`` do not apply (a
    ``ValueError`` says so).

    A ``RuntimeWarning`` names every parameter whose R-hat exceeds 1.01 or whose bulk ESS
    is below 100 (:func:`gmm.diagnostics.warn_if_unconverged`).

    Args:
        key: ``jax.random`` key; the same key gives the same draws.
        x: observations, shape (N,) or (N, D), finite numbers.
        n_components: K, an integer in [1, N].
        prior: a :class:`~gmm.models.generative.Prior` (one dimension) or a :class:`~gmm.models.niw.NIWPrior`
            (any D, conjugate sampler); None derives one from the data
            (:meth:`~gmm.Prior.from_data` in one dimension, :meth:`~gmm.NIWPrior.from_data` in D).
        n_samples: kept sweeps per chain (>= 4).
        n_warmup: discarded sweeps per chain (>= 1), during which the MH step and the ladder adapt.
        n_chains: independent chains (>= 1; R-hat needs >= 2).
        n_mh_steps: MH steps on log sigma per sweep (>= 1; None: 3). One dimension only.
        init_step_size: initial random-walk step on log sigma (> 0; None: 0.5). One dimension only.
        n_temperatures: R, rungs of the tempering ladder per chain, in [1, 64]; 1 is the
            plain sampler (no tempering, exactly its cost).
        min_inverse_temperature: beta of the hottest rung, in (0, 1); ignored when R = 1.
        adapt_ladder: re-place the ladder's inner rungs during warmup to equalise swap
            rates (default); False keeps the geometric ladder. Needs n_warmup >= 64 to act.
        relabel: sort every draw's components by increasing mean (by the mean's first
            coordinate in D dimensions; default). False keeps the
            sampler's own labels, which switch whenever the chain moves between the K!
            labellings of a mode; ``assignment_probs`` then averages over those labels too.

    Returns:
        A :class:`GibbsPosterior`.

    Raises:
        ValueError: on bad data, K, prior, or counts, or when the draws would not fit in memory;
            in one dimension, also on a prior (or a data value) that float32 cannot represent on
            the data's scale: beyond 1e15 times its spread, or below 1e-15 times it
            (:func:`gmm.models.generative.check_prior_on_data`).
    """
    key = check_key(key)
    data = as_data(x, ndim=None)
    full = isinstance(prior, NIWPrior) or (data.ndim == 2 and data.shape[1] > 1)
    if full and isinstance(prior, Prior):
        raise ValueError(
            f"prior {prior!r} is the one-dimensional model's, but x has shape {data.shape}: for (N, D) data "
            "with D >= 2 pass a gmm.NIWPrior (full covariances) or None."
        )
    if data.ndim == 2 and not full:
        data = data[:, 0]  # (N, 1) with the 1-D model: the same as (N,)
    k = check_n_components(n_components, data.shape[0], minimum=defaults.MIN_COMPONENTS)
    n_samples, n_warmup, n_chains = check_chain_sizes(n_samples, n_warmup, n_chains, max_warmup=10_000_000,
                                                      max_chains=1024)
    for name, flag in (("relabel", relabel), ("adapt_ladder", adapt_ladder)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}.")
    relabel, adapt_ladder = bool(relabel), bool(adapt_ladder)
    n_temps = check_positive_int(n_temperatures, "n_temperatures", maximum=_MAX_TEMPERATURES)
    beta_min = check_positive(min_inverse_temperature, "min_inverse_temperature")
    if not beta_min < 1.0:
        raise ValueError(f"min_inverse_temperature must be in (0, 1), got {min_inverse_temperature!r}.")
    betas = np.asarray(tempering.geometric_ladder(n_temps, beta_min), np.float64)
    d = 1 if data.ndim == 1 else data.shape[1]
    # the draws kept: K (1 + D + D^2) numbers per chain and sample
    check_memory(n_samples, "n_samples", n_chains * k * (1 + d + d * d),
                 f" with {n_chains} chains of K (1 + D + D^2) = {k * (1 + d + d * d)} numbers per draw")
    if full:
        for name, value in (("n_mh_steps", n_mh_steps), ("init_step_size", init_step_size)):
            if value is not None:
                raise ValueError(
                    f"{name}={value!r} applies only to the one-dimensional Metropolis-within-Gibbs sampler "
                    "(data (N,) or (N, 1) with a gmm.Prior or None); the conjugate sampler for "
                    f"x of shape {data.shape} with a NIWPrior draws every conditional exactly. Leave it None."
                )
        draws, fields = _sample_full(key, data, k, prior, n_samples, n_warmup, n_chains, betas, relabel,
                                     adapt_ladder)
    else:
        prior = check_prior_on_data(resolve_prior(prior, data), data)  # float32 on the data's scale
        n_mh_steps = check_positive_int(_MH_DEFAULTS["n_mh_steps"] if n_mh_steps is None else n_mh_steps,
                                        "n_mh_steps", maximum=1000)
        init_step_size = check_positive(
            _MH_DEFAULTS["init_step_size"] if init_step_size is None else init_step_size, "init_step_size")
        draws, fields = _sample_1d(key, data, k, prior, n_samples, n_warmup, n_chains, n_mh_steps, init_step_size,
                                   betas, relabel, adapt_ladder)
    rhat = {name: diagnostics.rhat(d) for name, d in draws.items()}
    ess = {name: diagnostics.ess(d) for name, d in draws.items()}
    diagnostics.warn_if_unconverged(rhat, ess, sampler="gibbs", advice=_ADVICE if n_temps == 1 else _ADVICE_TEMPERED)
    return GibbsPosterior(**draws, rhat=rhat, ess=ess, **fields)


def _sample_1d(key, data: np.ndarray, k: int, prior: Prior, n_samples: int, n_warmup: int, n_chains: int,
               n_mh_steps: int, init_step_size: float, betas: np.ndarray, relabel: bool, adapt_ladder: bool):
    """The Metropolis-within-Gibbs sampler on checked data (N,): the draws (weights, means, stds)
    in data units and the other fields of a :class:`GibbsPosterior`."""
    k_init, k_run = jax.random.split(key)
    n_temps = betas.size
    y, pj, loc, scale = standardise(data, prior)
    values, counts = np.unique(np.asarray(y, np.float64), return_counts=True)
    rng = numpy_rng(k_init)
    # Every rung of every chain starts from its own k-means++ draw (chain-major order).
    centres = np.stack(
        [np.sort(kmeans_pp_centres(rng, values, counts.astype(np.float64), k)) for _ in range(n_chains * n_temps)]
    ).reshape(n_chains, n_temps, k)
    n = data.size
    init_step = jnp.asarray(init_step_size, jnp.float32)
    with quiet_tfp():
        if n_temps == 1:
            xs = _sweep.to_chunks(y, *_sweep.chunk_plan(n, n_chains))
            w, m, s, acc, step, resp_sum = _sweep.run(
                k_run, xs, n, pj, init_step, jnp.asarray(centres[:, 0], jnp.float32), n_samples, n_warmup,
                n_mh_steps, jnp.asarray(relabel),
            )
            resp = _sweep.from_chunks(resp_sum, n)  # (N, K), rows normalised
            swap, fix = np.zeros((n_chains, 0)), np.ones((n_chains, 1, 2))
        else:
            w, m, s, acc, step, resp, swap, fix, ladder = tempering.run(
                k_run, y, pj, init_step, jnp.asarray(centres, jnp.float32), jnp.asarray(betas, jnp.float32),
                n_samples, n_warmup, n_mh_steps, jnp.asarray(relabel), jnp.asarray(adapt_ladder),
            )
            betas = np.asarray(ladder, np.float64)
            resp = np.asarray(resp, np.float64).T  # (K, N) -> (N, K)
            resp /= resp.sum(axis=1, keepdims=True)
    draws = {
        "weights": np.asarray(w, np.float64),
        "means": loc + scale * np.asarray(m, np.float64),
        "stds": scale * np.asarray(s, np.float64),
    }
    fields = dict(
        assignment_probs=resp, acceptance_rate=np.asarray(acc, np.float64), step_size=np.asarray(step, np.float64),
        inverse_temperatures=betas, swap_acceptance_rate=np.asarray(swap, np.float64),
        correction_acceptance_rate=np.asarray(fix, np.float64), data=data, prior=prior,
    )
    return draws, fields


def _sample_full(key, data: np.ndarray, k: int, prior: NIWPrior | None, n_samples: int, n_warmup: int,
                 n_chains: int, betas: np.ndarray, relabel: bool, adapt: bool):
    """The conjugate sampler on checked data (N,) or (N, D) (``gmm.inference.gibbs_conjugate``): the
    draws (weights, means and stds or covariances; data with one column give the
    one-dimensional shapes) and the other fields of a :class:`GibbsPosterior`."""
    points = data[:, None] if data.ndim == 1 else data
    prior = resolve_niw_prior(prior, points)
    with quiet_tfp():
        out = conjugate.sample(jax.random.split(key)[1], points, k, prior, n_samples, n_warmup, n_chains, betas,
                               relabel, adapt)
    if points.shape[1] == 1:
        draws = {"weights": out["weights"], "means": out["means"][..., 0],
                 "stds": np.sqrt(out["covariances"][..., 0, 0])}
    else:
        draws = {name: out[name] for name in ("weights", "means", "covariances")}
    fields = dict(
        assignment_probs=out["assignment_probs"], acceptance_rate=None, step_size=None,
        inverse_temperatures=out["inverse_temperatures"], swap_acceptance_rate=out["swap_acceptance_rate"],
        correction_acceptance_rate=None, data=data, prior=prior,
    )
    if points.shape[1] == 1:
        fields["covariances"] = out["covariances"]
    else:
        fields["stds"] = None
    return draws, fields


__all__ = ["GibbsPosterior", "gibbs", "mixture_densities"]
