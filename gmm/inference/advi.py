"""Black-box variational inference (ADVI) for chapter 5's model through ``genjax.adev``.

The target is ``gmm.bayesian_gmm_marginal`` (pi ~ Dirichlet(alpha), mu_k ~ N(mean_loc,
mean_scale), sigma_k ~ the :class:`~gmm.Prior`'s family, x_i ~ sum_k pi_k N(mu_k, sigma_k)), its log
joint read from the model's own ``assess``. The variational family q is a Gaussian on the unconstrained
coordinates (P = 3K - 1 of them)

    u = (v_1 .. v_{K-1}, mu_1 .. mu_K, log sigma_1 .. log sigma_K),   v_k = log(pi_k / pi_K),

mean-field (diagonal) or full-rank (Cholesky factor with a positive diagonal); theta = T(u) with
pi = softmax(v, 0), sigma = exp(log sigma), and

    ELBO(q) = E_q[log p(x, T(u)) + log abs(det J_T(u)) - log q(u)],
    log abs(det J_T(u)) = sum_k log pi_k + sum_k log sigma_k

(the softmax with its last logit fixed at 0 has Jacobian determinant prod_{k=1}^K pi_k on
(pi_1 .. pi_{K-1})). ADEV turns this ``@expectation`` program into unbiased gradient estimates,
pathwise ("reparam") or by the score function ("reinforce", no baseline), and optax's Adam
climbs them in one jitted ``lax.scan`` (Kucukelbir et al. 2017; Lew et al. 2023).

The optimisation runs in float64 on y = (x - loc) / scale (loc, scale the median and IQR / 1.349),
under the prior carried to y's units (as :func:`gmm.nuts`), so one learning rate serves data on any
scale; q is mapped back to data units exactly (an affine map of u) and the ELBO by its constant
Jacobian, -N log scale.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from gmm._util.numerics import numpy_rng, robust_scale
from gmm._util.validation import (ConvergenceWarning, as_data, as_real_array, check_key, check_n_components,
                                  check_positive, check_positive_int)
from gmm.inference.advi_q import log_q_theta, make_sampler
from gmm.inference.scoring import standardised_prior
from gmm.models.generative import (Prior, bayesian_gmm_marginal, check_prior_on_data, const, log_std_prior,
                                   resolve_prior)

FAMILIES = ("mean_field", "full_rank")
ESTIMATORS = ("reparam", "reinforce")
N_STEPS, LEARNING_RATE, N_PARTICLES = 2000, 0.05, 4
MAX_STEPS, MAX_PARTICLES = 1_000_000, 4096
# Convergence: the mean ELBO over the last 10% of the steps rose over the previous 10% by less than
# TOL nats per point, plus twice the Monte Carlo standard error of that rise.
TOL = 1e-2


def coordinate_names(k: int) -> list[str]:
    """Names of the P = 3K - 1 coordinates of u, in order (components numbered from 1)."""
    return ([f"log(pi_{j}/pi_{k})" for j in range(1, k)] + [f"mu_{j}" for j in range(1, k + 1)]
            + [f"log sigma_{j}" for j in range(1, k + 1)])


# ---------------------------------------------------------------------------
# The ELBO as an ADEV program
# ---------------------------------------------------------------------------


def scale_tril(params: dict, family: str) -> jax.Array:
    """q's Cholesky factor L (P, P) from the optimiser's parameters ``{"loc", "log_scale"}``
    (mean-field, L = diag(exp(log_scale))) or ``{"loc", "log_scale", "unit_tril"}`` (full-rank,
    L = diag(exp(log_scale)) (I + M), M the strict lower triangle of ``unit_tril``).

    Scaling each row of a unit lower-triangular factor keeps every parameter scale-free: a
    posterior sd of 1e-3 standardised units needs log_scale near -7, not off-diagonal entries of
    1e-3, which Adam's steps of about the learning rate would swamp.
    """
    diag = jnp.exp(params["log_scale"])
    if family == "mean_field":
        return jnp.diag(diag)
    return diag[:, None] * (jnp.eye(diag.shape[0], dtype=diag.dtype) + jnp.tril(params["unit_tril"], -1))


def gaussian_log_density(u: jax.Array, loc: jax.Array, tril: jax.Array) -> jax.Array:
    """log N(u; loc, L L^T) for a lower-triangular L with a positive diagonal; u (..., P)."""
    r = jax.scipy.linalg.solve_triangular(tril, jnp.moveaxis(u - loc, -1, 0), lower=True)
    p = loc.shape[-1]
    return -0.5 * jnp.sum(r**2, axis=0) - jnp.sum(jnp.log(jnp.diag(tril))) - 0.5 * p * math.log(2 * math.pi)


def init_params(loc: jax.Array, log_scale: jax.Array, family: str) -> dict:
    """The optimiser's parameters for q = N(loc, diag(exp(log_scale))^2) in either family."""
    if family == "mean_field":
        return {"loc": loc, "log_scale": log_scale}
    return {"loc": loc, "log_scale": log_scale, "unit_tril": jnp.zeros((loc.shape[0],) * 2, loc.dtype)}


def make_elbo(log_joint: Callable[[jax.Array], jax.Array], dim: int, family: str, estimator: str):
    """The ELBO E_q[log_joint(u) - log q(u)] as a ``genjax.adev`` ``@expectation`` of the
    optimiser's parameters (a dict, ``scale_tril``); q on R^dim.

    One draw u ~ q by the ADEV primitive of the estimator: ``normal_reparam`` / ``normal_reinforce``
    (mean-field, elementwise) or ``multivariate_normal_reparam`` / ``multivariate_normal_reinforce``
    with covariance L L^T (full-rank). ``.grad_estimate(params)`` (under ``genjax.seed``) is then an
    unbiased estimate of the ELBO's gradient: pathwise, or f(u) grad log q(u) + grad f (score function).
    ``log_joint`` maps u (dim,) to a scalar and carries any Jacobian itself.
    """
    from genjax.adev import (expectation, multivariate_normal_reinforce, multivariate_normal_reparam,
                             normal_reinforce, normal_reparam)

    reparam = estimator == "reparam"

    @expectation
    def elbo(params):
        if params["loc"].shape != (dim,):  # shapes are static: checked once, while tracing
            raise ValueError(f"params['loc'] must have shape ({dim},), got {params['loc'].shape}.")
        loc, tril = params["loc"], scale_tril(params, family)
        if family == "mean_field":
            u = (normal_reparam if reparam else normal_reinforce)(loc, jnp.diag(tril))
        else:
            draw = multivariate_normal_reparam if reparam else multivariate_normal_reinforce
            u = draw(loc, tril @ tril.T)
        return log_joint(u) - gaussian_log_density(u, loc, tril)

    return elbo


def value_and_grad_estimate(elbo, key: jax.Array, params: dict) -> tuple[jax.Array, dict]:
    """One draw's ELBO estimate and the gradient estimate from the same draw (what
    ``elbo.grad_estimate`` differentiates; the primal comes with it)."""
    from genjax import seed
    from genjax.adev import invoke_closed_over

    return seed(jax.value_and_grad(lambda p: invoke_closed_over(elbo, (p,))))(key, params)


def gmm_log_joint(y: jax.Array, k: int, prior: Prior) -> Callable[[jax.Array], jax.Array]:
    """u -> log p(y, T(u)) + log abs(det J_T(u)) for chapter 5's model, the density read from
    ``bayesian_gmm_marginal.assess`` (assignments summed out); y (N,) in the prior's units.
    At K = 1 there is no weight: p(y, mu, sigma) from the same normal and sigma densities."""

    def log_joint(u):
        log_w = jax.nn.log_softmax(jnp.concatenate([u[: k - 1], jnp.zeros(1, u.dtype)]))
        means, log_sd = u[k - 1: 2 * k - 1], u[2 * k - 1:]
        if k == 1:  # TFP's Dirichlet wants two weights; with one, pi = 1 and p(x, mu, sigma) is the rest
            sd = jnp.exp(log_sd[0])
            lp = (jax.scipy.stats.norm.logpdf(means[0], prior.mean_loc, prior.mean_scale)
                  + log_std_prior(sd, prior) + jnp.sum(jax.scipy.stats.norm.logpdf(y, means[0], sd)))
        else:
            choices = {"weights": jnp.exp(log_w), "means": means, "stds": jnp.exp(log_sd), "x": y}
            lp, _ = bayesian_gmm_marginal.assess(choices, const(y.shape[0]), const(k), prior)
        return lp + jnp.sum(log_w) + jnp.sum(log_sd)

    return log_joint


def _mean_grad(elbo, keys, params):
    """ELBO and gradient estimates averaged over len(keys) independent draws (n_particles)."""
    values, grads = jax.vmap(partial(value_and_grad_estimate, elbo), in_axes=(0, None))(keys, params)
    return jnp.mean(values), jax.tree.map(lambda g: jnp.mean(g, axis=0), grads)


@partial(jax.jit, static_argnames=("k", "family", "estimator", "n_steps", "n_particles"))
def _optimise(key, y, prior, params, learning_rate, *, k, family, estimator, n_steps, n_particles):
    """Adam on the ELBO's gradient estimates for n_steps, the step size decaying along a cosine to
    1% of learning_rate: (final parameters, ELBO estimate per step).

    A step whose gradient estimate is not finite is skipped (optax.apply_if_finite)."""
    import optax

    elbo = make_elbo(gmm_log_joint(y, k, prior), 3 * k - 1, family, estimator)
    # The step size falls from learning_rate to 1% of it along a cosine (Robbins-Monro: the
    # parameters settle instead of jittering by about the learning rate at the end).
    schedule = optax.cosine_decay_schedule(learning_rate, n_steps, alpha=0.01)
    opt = optax.apply_if_finite(optax.adam(schedule), max_consecutive_errors=n_steps)

    def step(carry, step_key):
        p, state = carry
        value, grad = _mean_grad(elbo, jax.random.split(step_key, n_particles), p)
        updates, state = opt.update(jax.tree.map(jnp.negative, grad), state, p)
        return (optax.apply_updates(p, updates), state), value

    (params, _), values = jax.lax.scan(step, (params, opt.init(params)), jax.random.split(key, n_steps))
    return params, values


@partial(jax.jit, static_argnames=("k", "family", "estimator", "n"))
def _gradient_draws(key, y, prior, params, *, k, family, estimator, n):
    elbo = make_elbo(gmm_log_joint(y, k, prior), 3 * k - 1, family, estimator)
    grads = jax.vmap(lambda kk: value_and_grad_estimate(elbo, kk, params)[1])(jax.random.split(key, n))
    return flat_params(grads, family)


def flat_params(params: dict, family: str) -> jax.Array:
    """The optimiser's parameters (or gradients) as rows: loc, log_scale and (full-rank) the strict
    lower triangle of ``unit_tril`` row by row; leading axes kept."""
    loc, log_scale = params["loc"], params["log_scale"]
    if family == "mean_field":
        return jnp.concatenate([loc, log_scale], axis=-1)
    rows, cols = np.tril_indices(loc.shape[-1], -1)
    return jnp.concatenate([loc, log_scale, params["unit_tril"][..., rows, cols]], axis=-1)


# ---------------------------------------------------------------------------
# Units: the standardised problem and back
# ---------------------------------------------------------------------------


def _unit_map(k: int, loc: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(a, d) with u_data = a + d * u_std: the logits stay, mu = loc + scale mu',
    log sigma = log sigma' + log scale."""
    a = np.concatenate([np.zeros(k - 1), np.full(k, loc), np.full(k, math.log(scale))])
    d = np.concatenate([np.ones(k - 1), np.full(k, scale), np.ones(k)])
    return a, d


def to_factors(params: dict, family: str, k: int, loc: float, scale: float) -> dict[str, np.ndarray]:
    """q in data units: ``{"loc": (P,), "scale": (P,)}`` (mean-field: q = N(loc, diag(scale^2)))
    or ``{"loc": (P,), "scale_tril": (P, P)}`` (full-rank: q = N(loc, L L^T)), float64."""
    a, d = _unit_map(k, loc, scale)
    tril = np.asarray(scale_tril(params, family), np.float64)
    out = {"loc": a + d * np.asarray(params["loc"], np.float64)}
    if family == "mean_field":
        out["scale"] = d * np.diag(tril)
    else:
        out["scale_tril"] = d[:, None] * tril
    return out


def from_factors(factors: dict, family: str, k: int, loc: float, scale: float) -> dict:
    """The inverse of ``to_factors``: the optimiser's parameters in standardised units."""
    a, d = _unit_map(k, loc, scale)
    mean = (np.asarray(factors["loc"], np.float64) - a) / d
    if family == "mean_field":
        return {"loc": jnp.asarray(mean), "log_scale": jnp.asarray(np.log(np.asarray(factors["scale"]) / d))}
    tril = np.asarray(factors["scale_tril"], np.float64) / d[:, None]
    diag = np.diag(tril)
    return {"loc": jnp.asarray(mean), "log_scale": jnp.asarray(np.log(diag)),
            "unit_tril": jnp.asarray(np.tril(tril / diag[:, None], -1))}


# ---------------------------------------------------------------------------
# The fit and the public entry points
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ADVIFit:
    """What :func:`fit` found, before it becomes a :class:`~gmm.inference.vi_result.VIPosterior`.

    Attributes:
        factors: q in data units (``to_factors``).
        elbo: the optimiser's ELBO estimate at each step, shape (n_steps,), nats, data units: the
            mean of n_particles one-draw estimates at the parameters before that step's update, so
            it is noisy (its spread is the spread of log p(x, T(u)) + log abs(det J) - log q(u) under q,
            over sqrt(n_particles)) and a little behind the parameters.
        converged: the stopping rule of :data:`TOL` held.
        sampler: :func:`make_sampler` of the factors.
        data: the observations, shape (N,).
        prior: the model's prior, data units.
    """

    factors: dict[str, np.ndarray]
    elbo: np.ndarray
    converged: bool
    sampler: Callable
    data: np.ndarray
    prior: Prior


def _kmeanspp_starts(rng: np.random.Generator, y: np.ndarray, k: int) -> np.ndarray:
    """K starting means by k-means++ seeding (the first uniform, then by squared distance), sorted."""
    centres = [y[rng.integers(y.size)]]
    for _ in range(1, k):
        d2 = np.min((y[:, None] - np.array(centres)[None, :]) ** 2, axis=1)
        pick = rng.integers(y.size) if not d2.sum() > 0 else rng.choice(y.size, p=d2 / d2.sum())
        centres.append(y[pick])
    return np.sort(np.array(centres))


# q starts with a standard deviation of this many standardised units in every coordinate; each
# component's sigma starts at the data's robust spread over K.
_START_Q_SCALE = 0.1


def converged_rule(elbo: np.ndarray, n_points: int, tol: float = TOL) -> bool:
    """The mean ELBO estimate over the last 10% of the steps rose over the previous 10% by less
    than tol nats per point plus twice the standard error of that rise (the estimates' own noise);
    False when fewer than 2 steps per window or an estimate in them is not finite."""
    w = elbo.size // 10
    last, prev = elbo[elbo.size - w:], elbo[elbo.size - 2 * w: elbo.size - w]
    if w < 2 or not (np.all(np.isfinite(last)) and np.all(np.isfinite(prev))):
        return False
    se = math.sqrt((np.var(last, ddof=1) + np.var(prev, ddof=1)) / w)
    return bool(last.mean() - prev.mean() < tol * n_points + 2.0 * se)


def fit(key: jax.Array, data: np.ndarray, k: int, prior: Prior, family: str, estimator: str,
        n_steps: int, learning_rate: float, n_particles: int) -> ADVIFit:
    """ADVI on checked arguments (data (N,) float64, prior checked on the data): see :func:`advi`."""
    loc, scale = robust_scale(data)
    y = (data - loc) / scale
    init_key, opt_key = jax.random.split(key)
    means = _kmeanspp_starts(numpy_rng(init_key), y, k)
    p = 3 * k - 1
    start = np.concatenate([np.zeros(k - 1), means, np.full(k, math.log(1.0 / k))])
    with jax.enable_x64(True):
        params = init_params(jnp.asarray(start), jnp.full(p, math.log(_START_Q_SCALE)), family)
        params, values = _optimise(opt_key, jnp.asarray(y), standardised_prior(prior, loc, scale, jnp.float64), params,
                                   jnp.asarray(learning_rate, jnp.float64), k=k, family=family,
                                   estimator=estimator, n_steps=n_steps, n_particles=n_particles)
        params = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    elbo = np.asarray(values, np.float64) - data.size * math.log(scale)
    factors = to_factors(params, family, k, loc, scale)
    return ADVIFit(factors=factors, elbo=elbo, converged=converged_rule(elbo, data.size),
                   sampler=make_sampler(factors, k), data=data, prior=prior)


def _check_line_data(x: Any) -> np.ndarray:
    data = as_data(x, ndim=None)
    if data.ndim == 2:
        if data.shape[1] != 1:
            raise ValueError(
                f"x must be points on the line, shape (N,) or (N, 1), got shape {data.shape}: gmm.advi fits "
                "chapter 5's one-dimensional model; for data in D >= 2 dimensions use gmm.cavi (the "
                "Normal-Inverse-Wishart mixture).")
        data = data[:, 0]
    return data


def check_settings(family: Any, estimator: Any, n_steps: Any, learning_rate: Any,
                   n_particles: Any) -> tuple[str, str, int, float, int]:
    """Check ADVI's settings once, naming the argument, the value and what is allowed."""
    if not isinstance(family, str) or family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}.")
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}.")
    return (family, estimator, check_positive_int(n_steps, "n_steps", maximum=MAX_STEPS),
            check_positive(learning_rate, "learning_rate"),
            check_positive_int(n_particles, "n_particles", maximum=MAX_PARTICLES))


def _check_inputs(key, x, n_components, prior, family, estimator, n_steps, learning_rate, n_particles):
    key = check_key(key)
    data = _check_line_data(x)
    k = check_n_components(n_components, data.size)
    prior = check_prior_on_data(resolve_prior(prior, data), data, float32=False)
    return (key, data, k, prior) + check_settings(family, estimator, n_steps, learning_rate, n_particles)


def advi(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: Prior | None = None,
    family: str = "mean_field",
    estimator: str = "reparam",
    n_steps: int = N_STEPS,
    learning_rate: float = LEARNING_RATE,
    n_particles: int = N_PARTICLES,
    n_draws: int = 2000,
):
    """Black-box variational inference for chapter 5's Bayesian GMM, by ADEV gradients in GenJAX.

    q is a Gaussian on u = (log(pi_k / pi_K) for k < K, mu_1..mu_K, log sigma_1..log sigma_K)
    (``coordinate_names``), mean-field or full-rank, fitted by Adam on unbiased estimates of
    the gradient of ELBO(q) = E_q[log p(x, T(u)) + log abs(det J_T(u)) - log q(u)], the model's log
    joint read from ``gmm.bayesian_gmm_marginal.assess`` (assignments summed out). See the module
    docstring for the estimators and the units. ADVI is a local optimiser: it finds one mode of
    the posterior (one labelling, and on multimodal data one of the modes, depending on the key's
    k-means++ start), and mean-field q under-disperses.

    Args:
        key: ``jax.random`` key (start, gradient draws and q's stored draws).
        x: observations on the line, shape (N,) or (N, 1), finite numbers.
        n_components: K, an integer in [1, N].
        prior: the model's :class:`~gmm.Prior`; None uses :meth:`~gmm.Prior.from_data`.
        family: "mean_field" (diagonal covariance) or "full_rank" (Cholesky factor).
        estimator: "reparam" (pathwise) or "reinforce" (score function, no baseline; far noisier).
        n_steps: Adam steps (one compiled ``lax.scan``).
        learning_rate: Adam's step size, in standardised units (the data's spread is 1).
        n_particles: draws of q averaged into each step's gradient estimate.
        n_draws: draws of q stored in the result.

    Returns:
        A :class:`~gmm.inference.vi_result.VIPosterior` with ``factors`` ``{"loc": (P,), "scale": (P,)}``
        (mean-field) or ``{"loc": (P,), "scale_tril": (P, P)}`` (full-rank), q = N(loc, L L^T) on u in
        data units (P = 3K - 1); ``elbo`` the optimiser's estimate per step (``ADVIFit``);
        ``converged`` by ``converged_rule``; the sampler's log_q the label-symmetrised density of
        (pi_1..pi_{K-1}, mu, sigma) (``log_q_theta``).

    Raises:
        ValueError: on bad arguments, data in D >= 2 dimensions (use ``gmm.cavi``), a prior
            float64 cannot represent on the data's scale, or an optimisation that diverged
            (a learning_rate far too large).

    Warns:
        ConvergenceWarning: when the ELBO was still rising at the end (``converged_rule``).
    """
    key, data, k, prior, family, estimator, n_steps, learning_rate, n_particles = _check_inputs(
        key, x, n_components, prior, family, estimator, n_steps, learning_rate, n_particles)
    n_draws = check_positive_int(n_draws, "n_draws", maximum=1_000_000)
    fit_key, draw_key, assign_key = jax.random.split(key, 3)
    result = fit(fit_key, data, k, prior, family, estimator, n_steps, learning_rate, n_particles)
    diverged = ValueError(
        f"the optimisation diverged with learning_rate={learning_rate!r} ({estimator}, {n_particles} "
        f"particle(s) per step): q's parameters overflowed. Lower learning_rate (the default is "
        f"{LEARNING_RATE}), or raise n_particles.")
    if not all(np.all(np.isfinite(a)) for a in result.factors.values()):
        raise diverged
    with np.errstate(over="ignore", invalid="ignore"):
        weights, means, covs, _ = result.sampler(assign_key, n_draws)
    if not all(np.all(np.isfinite(a)) for a in (weights, means, covs)):
        raise diverged
    if not result.converged:
        warnings.warn(f"gmm.advi: the ELBO was still rising over the last 10% of the {n_steps} steps; "
                      "run more n_steps, or raise n_particles (reinforce) or lower learning_rate when it "
                      "is noisy.",
                      ConvergenceWarning, stacklevel=2)
    from gmm.inference.posterior_draws import mean_responsibilities
    from gmm.inference.vi_result import VIPosterior

    probs = mean_responsibilities(data, weights, means[..., 0], np.sqrt(covs[..., 0, 0]))

    return VIPosterior.from_q(draw_key, result.sampler, data=data[:, None], prior=prior, method="advi",
                              factors=result.factors, elbo=result.elbo, assignment_probs=probs,
                              converged=result.converged, n_draws=n_draws)


def gradient_samples(key: jax.Array, x: Any, n_components: int, params: dict, *, prior: Prior | None = None,
                     family: str = "mean_field", estimator: str = "reparam", n: int = 1000) -> np.ndarray:
    """n independent one-draw estimates of the ELBO's gradient at fixed q, shape (n, M), float64.

    ``params`` is q in data units, as ``VIPosterior.factors`` (``to_factors``); the gradient is
    with respect to the optimiser's parameters (standardised units, ``flat_params``): M = 2P
    (loc, then log scale) for "mean_field", 2P + P (P - 1) / 2 (loc, log of the Cholesky factor's
    diagonal, then the strict lower triangle of the factor with unit diagonal, row by row; see
    ``scale_tril``) for "full_rank". Their mean is the gradient, their spread the estimator's
    noise (``.var(axis=0)``).
    """
    key, data, k, prior, family, estimator, _, _, _ = _check_inputs(
        key, x, n_components, prior, family, estimator, 1, 1.0, 1)
    n = check_positive_int(n, "n", maximum=1_000_000)
    p = 3 * k - 1
    need = ("loc", "scale") if family == "mean_field" else ("loc", "scale_tril")
    shapes = {"loc": (p,), "scale": (p,), "scale_tril": (p, p)}
    if not isinstance(params, dict) or any(name not in params for name in need):
        got = sorted(params) if isinstance(params, dict) else params
        raise ValueError(f"params must be a dict with keys {need} (q in data units, as VIPosterior.factors "
                         f"of family {family!r}), got {got!r}.")
    checked = {name: as_real_array(params[name], f"params[{name!r}]") for name in need}
    for name, arr in checked.items():
        if arr.shape != shapes[name] or not np.all(np.isfinite(arr)):
            raise ValueError(f"params[{name!r}] must be finite with shape {shapes[name]} for K = {k}, "
                             f"got shape {arr.shape}.")
    tril = checked.get("scale_tril", np.diag(checked.get("scale", np.ones(p))))
    if not np.all(np.diag(tril) > 0) or ("scale_tril" in checked and np.any(np.triu(tril, 1) != 0)):
        raise ValueError("params must give q a positive scale: 'scale' > 0, or 'scale_tril' lower triangular "
                         "with a positive diagonal.")
    loc, scale = robust_scale(data)
    with jax.enable_x64(True):
        raw = from_factors(checked, family, k, loc, scale)
        y, std_prior = jnp.asarray((data - loc) / scale), standardised_prior(prior, loc, scale, jnp.float64)
        grads = _gradient_draws(key, y, std_prior, raw, k=k, family=family, estimator=estimator, n=n)
        return np.asarray(grads, np.float64)


__all__ = ["ADVIFit", "advi", "coordinate_names", "fit", "gradient_samples", "log_q_theta", "make_elbo",
           "make_sampler"]
