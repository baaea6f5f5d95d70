"""The Bayesian answer to "how many components?": the evidence p(x | K).

For the model of :mod:`gmm.models.generative` (pi ~ Dirichlet(alpha 1_K), mu_k ~ Normal(m0, s0),
sigma_k ~ Gamma(a, b) shape-rate, z_i ~ Categorical(pi), x_i ~ Normal(mu_{z_i}, sigma_{z_i}))

    p(x | K) = int p(pi, mu, sigma) prod_i sum_k pi_k N(x_i | mu_k, sigma_k) d(pi, mu, sigma),

and under a uniform prior on K, P(K | x) = p(x | K) / sum_K' p(x | K').

Three routes:

- :func:`exact_log_marginal_likelihood` sums over all K^N labelled assignments (small N):
  given z the components are independent, mu integrates out in closed form and sigma by
  quadrature, and the assignments carry the Dirichlet-multinomial probability (it lives in
  the private module ``gmm/model_choice/exact.py`` and is re-exported here).
- :func:`log_marginal_likelihood` estimates it: adaptive tempered SMC (default) or the
  label-symmetrised importance sampler of :func:`gmm.importance_sampling`,
  with an error bar from independent runs / the weights.
- :func:`posterior_over_k` turns the evidences into P(K | x) with error bars.

Data of shape (N, D) take the full-covariance model with the conjugate Normal-Inverse-Wishart
prior (:class:`gmm.NIWPrior`; None derives :meth:`NIWPrior.from_data`), where pi and every
(mu_k, Sigma_k) integrate out in closed form: exact enumeration sums over set partitions, and
``"smc"`` is a particle filter over the points, ``"is"`` importance sampling of z from its
prior (:mod:`gmm.model_choice.collapsed`). (N, 1) data take this route when the prior is a NIWPrior,
else the 1-D one.

Everything is in nats and the data's units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp as np_logsumexp

from gmm._util import defaults
from gmm._util.numerics import bucket, robust_scale
from gmm._util.validation import check_key, check_ks, check_n_components, check_positive, check_positive_int
from gmm.inference.importance import run_importance_sampling
from gmm.inference.scoring import standardised_prior
from gmm.model_choice import collapsed
from gmm.model_choice.evidence_result import EvidenceEstimate, KPosterior, k_posterior, smc_result, warn_unreliable
from gmm.model_choice.exact import exact_log_marginal_likelihood, log_evidence_by_enumeration, prior_tuple
from gmm.model_choice.smc import pad_points, run_smc
from gmm.models.generative import Prior, check_prior_on_data, draw_stds_numpy, typical_std

# ---------------------------------------------------------------------------
# Estimated evidence: adaptive tempered SMC
# ---------------------------------------------------------------------------


def _smc_launch(
    key: jax.Array, data: np.ndarray, k: int, prior: Prior, n_particles: int, n_runs: int,
    n_moves: int, ess_target: float, max_steps: int, k_max: int | None = None, particles: bool = False,
) -> Callable[[], Any]:
    """Dispatch the SMC estimate of log p(x | K) and return the function that collects it.

    With ``particles`` the collector returns (EvidenceEstimate, (weights, means, stds)), the
    final particles of every run, each (R M, K), sorted by mean, data units.

    JAX dispatches asynchronously, so several K launched before any is collected can run
    side by side on idle cores. ``k_max`` (>= K, default the next power of two >= 4) is the
    padded number of components: calls with the same k_max share a compile."""
    # float32 on standardised data y = (x - loc) / scale (centred and scaled in float64, the
    # prior mapped to y's units); log p(x) = log p(y) - N log scale, added back in float64.
    loc, scale = robust_scale(data)
    y = (data - loc) / scale
    prior_y = standardised_prior(prior, loc, scale)
    n_pad = pad_points(data.size)
    k_max = bucket(k, 4) if k_max is None else k_max
    x = np.zeros(n_pad)
    x[: data.size] = y
    mask = np.arange(n_pad) < data.size
    # Prior draws in NumPy and hashed counters inside: both keep the jitted sampler small to compile.
    seed = np.asarray(jax.random.bits(key, (4,), dtype=jnp.uint32)).tolist()
    rng = np.random.default_rng(seed)
    alpha, m0, s0 = (float(v) for v in (prior_y.alpha, prior_y.mean_loc, prior_y.mean_scale))
    shape = (n_runs, n_particles, k_max)
    with np.errstate(divide="ignore"):
        v = np.log(rng.gamma(alpha, 1.0, shape))  # log g, g ~ Gamma(alpha, 1)
    v = np.maximum(v, np.finfo(np.float32).min)  # log 0 (tiny alpha) -> a huge negative number
    stds = draw_stds_numpy(rng, shape, prior_y)
    theta0 = np.stack([v, rng.normal(m0, s0, shape), np.log(stds)], axis=2)
    run_seeds = rng.integers(0, 2**32, size=n_runs, dtype=np.uint64).astype(np.uint32)
    log_z, steps, acc, theta = run_smc(
        jnp.asarray(run_seeds), jnp.asarray(theta0, jnp.float32), jnp.asarray(x, jnp.float32), jnp.asarray(mask), jnp.asarray(k),
        tuple(jnp.asarray(getattr(prior_y, f), jnp.float32) for f in prior_y.fields),
        jnp.asarray(ess_target, jnp.float32), n_moves=n_moves, max_steps=max_steps, family=prior.family,
    )
    collect = partial(smc_result, k, n_runs, data.size * math.log(scale), log_z, steps, acc)
    if not particles:
        return collect
    return lambda: (collect(), _smc_particles(theta, k, loc, scale))


def _smc_particles(theta, k, loc, scale):
    """(weights, means, stds) of SMC's final particles (R, M, 3, K_max) in y's units: each
    (R M, K), sorted by mean, data units, float64 (pi = g / sum g, mu = loc + scale mu_y,
    sigma = scale exp(log sigma_y))."""
    th = np.asarray(theta, np.float64)[..., :k].reshape(-1, 3, k)
    w = np.exp(th[:, 0] - th[:, 0].max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    m, s = loc + scale * th[:, 1], scale * np.exp(th[:, 2])
    order = np.argsort(m, axis=1)
    return tuple(np.take_along_axis(a, order, axis=1) for a in (w, m, s))


def _is_estimate(key: jax.Array, data: np.ndarray, k: int, prior: Prior, n_particles: int) -> EvidenceEstimate:
    """One "em" importance sampling run; its error bar NaN (warned) when the weights cannot
    support it, or when the estimate falls below ``empty_component_bound`` by more than
    3 error bars + 0.05 nats (the proposal missed the mass of an empty component)."""
    what = f"log_marginal_likelihood(method='is', K={k}, {n_particles} particles)"
    res = run_importance_sampling(key, data, k, prior, n_particles, "em", 0.05, 4.0, 1.5, what=what)
    stderr = res.log_evidence_stderr
    if math.isfinite(stderr):
        bound = empty_component_bound(data, k, prior_tuple(prior))
        if bound is not None and bound > res.log_evidence + 3.0 * stderr + 0.05:
            warn_unreliable(
                f"{what} estimated log p(x | K) = {res.log_evidence:.4g} +- {stderr:.2g} nats, but the assignments "
                f"that leave a component empty alone give at least {bound:.4g} (from the exact evidence with "
                f"K - 1): the proposal missed posterior mass (a component spread over its prior), so the estimate "
                "is too low and its error bar is not reliable (reported as NaN). Use method='smc', or "
                "gmm.exact_log_marginal_likelihood on small data.")
            stderr = math.nan
    return EvidenceEstimate(
        n_components=k, log_evidence=res.log_evidence, log_evidence_stderr=stderr, method="is",
        ess=float(res.ess),
    )


def empty_component_bound(data: np.ndarray, k: int, pr: tuple) -> float | None:
    """A lower bound on log p(x | K) from the assignments z that leave some component empty, or
    None when p(x | K - 1) is not cheap to compute exactly.

    Given that component j is empty, z uses K - 1 labels, and under the Dirichlet-multinomial
    p_K(z) = c_K p_{K-1}(z) with c_K = Gamma(K a) Gamma(N + (K-1) a) / (Gamma(N + K a)
    Gamma((K-1) a)) (a = alpha); so the set A_j of such z holds mass c_K p(x | K - 1), and two
    components empty, c_K c_{K-1} p(x | K - 2). Bonferroni: p(x | K) >= sum_j |A_j| -
    sum_{j<l} |A_j A_l| = K c_K Z_{K-1} - C(K, 2) c_K c_{K-1} Z_{K-2}, and >= c_K Z_{K-1};
    for K = 2 the first is exact (A_1 and A_2 are disjoint). Z_1 is one quadrature (any N);
    Z_{K-1} for K >= 3 needs (K - 1)^N <= ``defaults.AUTO_EXACT_ASSIGNMENTS``.
    """
    from scipy.special import gammaln

    n, a = data.size, pr[0]
    if k > 2 and n * math.log(k - 1) > math.log(defaults.AUTO_EXACT_ASSIGNMENTS):
        return None

    def log_c(j: int) -> float:
        return float(gammaln(j * a) + gammaln(n + (j - 1) * a) - gammaln(n + j * a) - gammaln((j - 1) * a))

    one = log_c(k) + log_evidence_by_enumeration(data, k - 1, pr, defaults.AUTO_EXACT_ASSIGNMENTS)
    if k == 2:
        return math.log(2.0) + one
    both = math.log(k * (k - 1) / 2) + log_c(k) + log_c(k - 1) + log_evidence_by_enumeration(
        data, k - 2, pr, defaults.AUTO_EXACT_ASSIGNMENTS)
    first = math.log(k) + one
    return max(one, first + math.log1p(-math.exp(both - first)) if both < first else -math.inf)


_METHODS = ("smc", "is")
_DEFAULT_MOVES = 8  # 1-D: Metropolis sweeps per tempering step
# (N, D) data (gmm.model_choice.collapsed): the particle filter is cheap per particle and its spread of
# log Z falls with M (Old Faithful, K = 3: sd of log Z_r 0.6 nats at 250, 0.35 at 1000); prior
# draws of z need many samples for a useful ESS even on 8 points.
_ND_DEFAULT_PARTICLES = 1000
_ND_DEFAULT_IS_SAMPLES = 10_000
_ND_MAX_CELLS = 25_000_000  # particles x runs x (N + K D^2): float64 statistics and labels in memory


def _resolve(x: Any, prior: Any):
    """(data, prior, is_nd): see ``gmm.model_choice.collapsed.resolve_data``."""
    return collapsed.resolve_data(x, prior)
# SMC defaults, tuned on the galaxies (K = 3 and 7): at a fixed cost M x n_moves, fewer
# particles moved more often give the smaller spread of log Z (the moves' mixing, not M,
# limits it); 250 x 8 sweeps beat 1000 x 4 at half the cost (about 0.09 nats at K = 7).
_DEFAULT_PARTICLES = 250
_DEFAULT_IS_SAMPLES = 1000
_MAX_IS_COMPONENTS = 5  # beyond this the "em" proposal's ESS collapses on real data (galaxies: from K = 5)


def log_marginal_likelihood(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: Prior | None = None,
    method: str = "smc",
    n_particles: int | None = None,
    n_runs: int = 8,
    n_moves: int | None = None,
    ess_target: float = 0.8,
    max_steps: int = 500,
) -> EvidenceEstimate:
    """Estimate log p(x | K) with an error bar.

    ``method="smc"`` (default): ``n_runs`` independent runs of adaptive tempered SMC with
    ``n_particles`` particles each, over (pi, mu, sigma) with z summed out. Each run moves
    prior draws through p(theta) p(x | theta)^beta, raising beta so that the ESS of the
    incremental weights stays at ``ess_target`` M, multiplying its estimate Z_r by the mean
    incremental weight, resampling, and applying ``n_moves`` sweeps of component-wise
    random-walk Metropolis. Each Z_r is unbiased whatever the mixing of the moves, so label
    switching costs variance, not bias; the estimate is log mean_r Z_r and the error bar
    comes from the spread of the runs (delta method, so it is itself a noisy estimate
    when ``n_runs`` is small). ``method="is"``: one run of
    :func:`gmm.importance_sampling` with the label-symmetrised EM proposal and
    ``n_particles`` particles (2 <= K <= 5) and its delta-method error bar; it can miss
    posterior mass when K is larger than the data support (the error bar cannot see it). That
    error bar is NaN, with a RuntimeWarning, when the weights' ESS is below 50, or when the
    estimate falls more than 3 error bars (+ 0.05 nats) below the mass of the assignments that
    leave a component empty (``empty_component_bound``, computed exactly for K = 2, and for
    K >= 3 when (K - 1)^N is small): then the proposal missed such a mode.

    Data of shape (N, D) (or any data with a :class:`~gmm.NIWPrior`): ``method="smc"`` runs
    ``n_runs`` particle filters over the points with z summed out (``gmm.model_choice.collapsed.smc_log_evidence``),
    ``"is"`` draws z from its prior (``gmm.model_choice.collapsed.is_log_evidence``; when its ESS is
    below 50 it warns and its ``log_evidence_stderr`` is NaN). Exact values: :func:`exact_log_marginal_likelihood`.

    Args:
        key: ``jax.random`` key.
        x: observations, shape (N,) or (N, D), finite numbers.
        n_components: K, an integer in [1, N].
        prior: the model's :class:`~gmm.models.generative.Prior` for data (N,), or a
            :class:`~gmm.NIWPrior` (full covariances, any D); None derives one from the data
            (:meth:`~gmm.Prior.from_data` for (N,) or (N, 1), :meth:`~gmm.NIWPrior.from_data` for (N, D)).
        method: ``"smc"`` or ``"is"``.
        n_particles: particles per SMC run (>= 2; default 250, for (N, D) data 1000), or
            importance samples (default 1000, for (N, D) data 10,000).
        n_runs: independent SMC runs (with 1 the error bar is NaN).
        n_moves: Metropolis sweeps per tempering step (default 8); for (N, D) data,
            collapsed-Gibbs sweeps over the points seen so far after each step in which a
            run resampled (default 0: each costs O(N) per particle).
        ess_target: ESS fraction in (0, 1) kept by each tempering step; for (N, D) data,
            the ESS fraction below which a run resamples.
        max_steps: most tempering steps per run (the last one jumps to beta = 1); 1-D only.

    Returns:
        An :class:`EvidenceEstimate` (``log_evidence``, ``log_evidence_stderr`` in nats).

    Raises:
        ValueError: on bad data, K, prior, method or counts; on data (N,), also on a prior whose
            hyperparameters lie beyond 1e15 times the data's spread (or below 1e-15 times it;
            :func:`gmm.models.generative.check_prior_on_data`), where the float32 estimators fail.

    Example:
        >>> import jax, gmm
        >>> x = gmm.datasets.bento()[:8]  # few enough points to sum over every labelling
        >>> est = gmm.log_marginal_likelihood(jax.random.key(0), x, 2)
        >>> exact = gmm.exact_log_marginal_likelihood(x, 2)
        >>> bool(abs(est.log_evidence - exact) < 4 * est.log_evidence_stderr)
        True
    """
    key = check_key(key)
    data, prior, nd = _resolve(x, prior)
    k = check_n_components(n_components, data.shape[0])
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    settings = _check_estimator_settings(method, k, n_particles, n_runs, n_moves, ess_target, max_steps,
                                         data.shape if nd else None)
    if nd:

        return collapsed.estimate(key, data, k, prior, method, *settings[:4])
    return _estimate(key, data, k, prior, method, *settings)


def _check_estimator_settings(method, k, n_particles, n_runs, n_moves, ess_target, max_steps, nd_shape=None):
    """Checked (n_particles, n_runs, n_moves, ess_target, max_steps) for an estimator; with
    ``nd_shape`` (N, D) for the (N, D) estimators (defaults, n_moves >= 0, memory, any K)."""
    nd = nd_shape is not None
    if n_particles is None:
        n_particles = ((_ND_DEFAULT_IS_SAMPLES if nd else _DEFAULT_IS_SAMPLES) if method == "is"
                       else (_ND_DEFAULT_PARTICLES if nd else _DEFAULT_PARTICLES))
    if n_moves is None:
        n_moves = 0 if nd else _DEFAULT_MOVES
    n_particles = check_positive_int(n_particles, "n_particles", maximum=1_000_000)
    if nd and method == "smc" and n_particles * check_positive_int(n_runs, "n_runs") * (
            nd_shape[0] + k * nd_shape[1] ** 2) > _ND_MAX_CELLS:
        raise ValueError(
            f"n_particles x n_runs x (N + K D^2) must be at most {_ND_MAX_CELLS:.2g} for (N, D) data "
            f"(memory), got {n_particles} x {n_runs} x ({nd_shape[0]} + {k} x {nd_shape[1]}^2)."
        )
    if method == "is" and not nd and not 2 <= k <= _MAX_IS_COMPONENTS:
        raise ValueError(
            f"method='is' needs 2 <= n_components <= {_MAX_IS_COMPONENTS} (beyond that its proposal "
            f"misses most of the posterior's modes), got {k}; use method='smc'."
        )
    if method != "is" and n_particles < 2:
        raise ValueError(f"n_particles must be at least 2 for SMC, got {n_particles}.")
    n_runs = check_positive_int(n_runs, "n_runs", maximum=1000)
    if n_particles * n_runs > 10_000_000:
        raise ValueError(
            f"n_particles x n_runs must be at most 1e7 (memory), got {n_particles} x {n_runs}."
        )
    no_moves = isinstance(n_moves, (int, np.integer)) and not isinstance(n_moves, bool) and n_moves == 0
    if not (nd and no_moves):  # (N, D) data may do without rejuvenation
        n_moves = check_positive_int(n_moves, "n_moves (0 allowed for (N, D) data)" if nd else "n_moves", maximum=1000)
    max_steps = check_positive_int(max_steps, "max_steps", maximum=100_000)
    ess_target = check_positive(ess_target, "ess_target")
    if not ess_target < 1.0:
        raise ValueError(f"ess_target must lie in (0, 1), got {ess_target}.")
    return n_particles, n_runs, n_moves, ess_target, max_steps


_MAX_VAGUENESS = 1e3  # the estimators fail beyond this ratio of prior scale to data range


def _check_vagueness(data: np.ndarray, prior: Prior) -> None:
    """Refuse priors so vague that the estimators cannot find the posterior's mass.

    SMC starts from prior draws; when the prior's scale for the means (mean_scale) or for
    the sds (std_shape / std_rate, or sqrt(var_scale / var_shape)) exceeds the data's range by more than 1e4, almost no draw
    lands near the data and the tempering degenerates: on 6 points the estimate was 4.7 nats
    low at 1e5 times the range and wrong by 1e7 nats at 1e9, with error bars that did not
    show it. The importance sampler's EM proposal misses the mass of an empty component
    spread over the prior (3 nats low at 1e3, with a 0.01 error bar; below that it is warned
    and the error bar NaN where ``empty_component_bound`` is available). Exact enumeration
    has no such limit.
    """
    spread = float(np.ptp(data)) or float(np.abs(data).max()) or 1.0
    std_name = "std_shape / std_rate" if prior.family == "gamma_std" else "sqrt(var_scale / var_shape)"
    for name, scale in (("mean_scale", float(prior.mean_scale)), (std_name, typical_std(prior))):
        if scale > _MAX_VAGUENESS * spread:
            raise ValueError(
                f"prior.{name} = {scale:.3g} is {scale / spread:.3g} times the data's range "
                f"({spread:.3g}); the evidence estimators cannot find the posterior's mass under "
                f"so vague a prior (allowed: at most {_MAX_VAGUENESS:.0e} times the range). Use "
                "exact enumeration on small data (exact_log_marginal_likelihood), or a prior on "
                "the data's scale (prior=None derives one)."
            )


def _estimate(key, data, k, prior, method, n_particles, n_runs, n_moves, ess_target, max_steps):
    """log_marginal_likelihood on checked arguments."""
    return _launch(key, data, k, prior, method, n_particles, n_runs, n_moves, ess_target, max_steps)()


def _launch(key, data, k, prior, method, n_particles, n_runs, n_moves, ess_target, max_steps, k_max=None):
    """_estimate, dispatched: returns the function that collects the EvidenceEstimate."""
    check_prior_on_data(prior, data)  # both estimators run in float32 on the data's scale
    _check_vagueness(data, prior)
    if method == "is":
        res = _is_estimate(key, data, k, prior, n_particles)
        return lambda: res
    return _smc_launch(key, data, k, prior, n_particles, n_runs, n_moves, ess_target, max_steps, k_max)


# ---------------------------------------------------------------------------
# Posterior over K
# ---------------------------------------------------------------------------


def posterior_over_k(
    key: jax.Array,
    x: Any,
    ks: Iterable[int],
    *,
    prior: Prior | None = None,
    method: str = "auto",
    max_assignments: int = defaults.AUTO_EXACT_ASSIGNMENTS,
    n_particles: int | None = None,
    n_runs: int = 8,
    n_moves: int | None = None,
) -> KPosterior:
    """P(K | x) ∝ p(x | K) under a uniform prior on the candidate ks, with error bars.

    Args:
        key: ``jax.random`` key (split over the candidate K).
        x: observations, shape (N,) or (N, D), finite numbers.
        ks: candidate numbers of components, integers >= 1.
        prior: the model's :class:`~gmm.models.generative.Prior` or :class:`~gmm.NIWPrior` (the same
            for every K); None derives one from the data (as in :func:`log_marginal_likelihood`).
        method: ``"auto"`` (exact enumeration when K^N <= ``max_assignments``, else
            SMC), ``"exact"``, ``"smc"`` or ``"is"``. K = 1 is always exact (one
            quadrature, any N; for (N, D) data one closed form).
        max_assignments: the K^N limit for exact evidences (``"auto"`` and ``"exact"``);
            for (N, D) data the limit on the number of set partitions into at most K blocks.
        n_particles, n_runs, n_moves: passed to :func:`log_marginal_likelihood`.

    Every 1-D SMC estimate is padded to the same number of components (the next power of two
    >= max(ks), at least 4), so one compilation serves all of them, and all are dispatched
    before any is collected. For (N, D) data every K is padded to max(ks), so one
    compilation serves all of them too.

    Returns:
        A :class:`KPosterior`.

    Raises:
        ValueError: on bad inputs, or with ``"exact"`` when some K^N is too large.

    Example:
        >>> import jax, gmm
        >>> post = gmm.posterior_over_k(jax.random.key(0), gmm.datasets.bento(), range(1, 4))
        >>> post.best_k, bool(post.probabilities[1] < 1e-6)
        (2, True)
    """
    key = check_key(key)
    data, prior, nd = _resolve(x, prior)
    ks_t = check_ks(ks, data.shape[0])
    if method not in ("auto", "exact", "smc", "is"):
        raise ValueError(f"method must be 'auto', 'exact', 'smc' or 'is', got {method!r}.")
    max_assignments = check_positive_int(max_assignments, "max_assignments")
    if nd:

        settings = _check_estimator_settings("is" if method == "is" else "smc", max(ks_t), n_particles, n_runs,
                                             n_moves, 0.8, 500, data.shape)
        return collapsed.posterior_over_k_nd(key, data, ks_t, prior, method, max_assignments, settings[:4])
    pr = prior_tuple(check_prior_on_data(prior, data, float32=False))  # estimated K are checked in _launch
    exact = {k: k == 1 or data.size * math.log(k) <= math.log(max_assignments) for k in ks_t}
    if method == "exact" and not all(exact.values()):
        worst = max(ks_t)
        raise ValueError(
            f"method='exact' needs K^N <= max_assignments = {max_assignments} for every "
            f"K; K={worst} gives {worst}^{data.size}. Use method='auto' or 'smc'."
        )
    settings = {}
    if method != "exact":
        est_method = "smc" if method == "auto" else method
        settings = dict(zip(
            ("n_particles", "n_runs", "n_moves", "ess_target", "max_steps"),
            _check_estimator_settings(est_method, max(ks_t) if est_method == "is" else 2,
                                      n_particles, n_runs, n_moves, 0.8, 500),
        ))
    # one padded size for every estimated K: a single compilation serves them all
    k_max = bucket(max(ks_t), 4)
    is_exact = {k: method == "exact" or k == 1 or (method == "auto" and exact[k]) for k in ks_t}
    # every estimate dispatched before any is collected (they may overlap on idle cores)
    pending = {k: _launch(jax.random.fold_in(key, i), data, k, prior, est_method, **settings, k_max=k_max)
               for i, k in enumerate(ks_t) if not is_exact[k]}
    estimates = {}
    for k in ks_t:
        if is_exact[k]:
            value = log_evidence_by_enumeration(data, k, pr, max_assignments)
            estimates[k] = EvidenceEstimate(n_components=k, log_evidence=value, log_evidence_stderr=0.0,
                                            method="exact")
        else:
            estimates[k] = pending[k]()
    return k_posterior(ks_t, estimates)


__all__ = [
    "EvidenceEstimate",
    "KPosterior",
    "exact_log_marginal_likelihood",
    "log_marginal_likelihood",
    "posterior_over_k",
]
