"""Coordinate-ascent variational inference (CAVI) for the Bayesian GMM with the Normal-Inverse-Wishart prior.

Model (any D): pi ~ Dirichlet(alpha 1_K), or the truncated stick-breaking prior of the Dirichlet process,
pi_k = v_k prod_{j<k} (1 - v_j) with v_k ~ Beta(1, concentration) (Blei and Jordan 2006); (mu_k, Sigma_k) ~
NIW (:class:`gmm.NIWPrior`); z_i ~ Cat(pi); x_i ~ N(mu_{z_i}, Sigma_{z_i}). The mean-field family
q(z) q(pi or v) prod_k q(mu_k, Sigma_k) has closed-form coordinate updates (Bishop 2006, section 10.2; Blei,
Kucukelbir and McAuliffe 2017). A sweep is

- E step: r_ik ∝ exp(E[log pi_k] + E[log N(x_i | mu_k, Sigma_k)]), with
  E[log N] = -D/2 log(2 pi) + 1/2 E[log det(Sigma_k^-1)] - D / (2 kappa_k) - dof_k / 2 (x_i - m_k)^T Psi_k^-1 (x_i - m_k)
  and E[log det(Sigma_k^-1)] = sum_d digamma((dof_k - d) / 2) + D log 2 - log det(Psi_k), normalised in log space;
- M step: with the weighted statistics n_k = sum_i r_ik, s1_k = sum_i r_ik x_i and their scatter,
  q(mu_k, Sigma_k) is the NIW posterior of those statistics (kappa_k, m_k, dof_k, Psi_k)
  (``gmm.inference.gibbs_conjugate.posterior_tril``), q(pi) = Dirichlet(alpha + n), or
  q(v_k) = Beta(1 + n_k, concentration + sum_{j>k} n_j).

This is scikit-learn's ``BayesianGaussianMixture(covariance_type="full")`` with weight_concentration_prior =
alpha (or concentration), mean_precision_prior = kappa, mean_prior = mean_loc, degrees_of_freedom_prior = dof,
covariance_prior = scale_matrix, reg_covar = 0; its ``covariances_`` are Psi_k / dof_k. As there, the K-th stick
is a Beta variable too (the fit's expected log weights include E[log v_K]).

The ELBO after each sweep is exact, with every constant: once q(theta) is optimal for q(z), the bound is the log
normaliser of p(theta) exp(E_q(z) log p(x, z | theta)) plus the entropy of q(z), which is the evidence of
the weighted statistics,

    ELBO = sum_k log p_NIW(n_k, s1_k, S_k) + log B(alpha + n) / B(alpha) - sum_ik r_ik log r_ik,

with p_NIW the closed-form marginal of :mod:`gmm.models.niw` at (fractional) counts and, for the sticks,
sum_k log [B(1 + n_k, c + n_{>k}) / B(1, c)] in place of the Dirichlet term. So for the Dirichlet prior it is
a true lower bound on log p(x | K) (Bishop's eqs 10.70-10.77 summed). Coordinate ascent never lowers it.

Everything runs in float64 on the data standardised per column (median, IQR / 1.349; the NIW prior maps
exactly), and is mapped back to data units.
"""

from __future__ import annotations

import math
import warnings
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, gammaln, logsumexp, multigammaln

from gmm._util import defaults
from gmm._util.numerics import bucket, numpy_rng, robust_scale_columns
from gmm._util.validation import (
    ConvergenceWarning, as_data, as_real_array, check_key, check_memory, check_n_components, check_positive,
    check_positive_int,
)
from gmm.estimation.driver import em_loop
from gmm.estimation.kmeans import kmeans_pp_points
from gmm.inference.gibbs_conjugate import check_spread, forward_solve, inverse_wishart_factor, posterior_tril
from gmm.inference.vi_result import VIPosterior, label_symmetrised
from gmm.models.niw import NIWPrior, resolve_niw_prior

WEIGHT_PRIORS = ("dirichlet", "dirichlet_process")
_LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------
# One sweep (traced, float64, standardised units)
# ---------------------------------------------------------------------------


def _half_log_det(tril: jax.Array) -> jax.Array:
    return jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), axis=-1)


def _weight_factor(n: jax.Array, c: jax.Array, sticks: bool) -> jax.Array:
    """q(pi) = Dirichlet(c + n), shape (K,), or q(v_k) = Beta(1 + n_k, c + n_{>k}), shape (K, 2)."""
    if not sticks:
        return c + n
    tail = jnp.cumsum(n[::-1])[::-1] - n  # n_{>k}
    return jnp.stack([1.0 + n, c + tail], axis=-1)


def _expected_log_weights(wc: jax.Array, sticks: bool) -> jax.Array:
    """E_q[log pi_k], shape (K,): digamma differences (for sticks, E log v_k + sum_{j<k} E log (1 - v_j))."""
    if not sticks:
        return digamma(wc) - digamma(jnp.sum(wc))
    both = digamma(wc[:, 0] + wc[:, 1])
    rest = digamma(wc[:, 1]) - both
    return digamma(wc[:, 0]) - both + jnp.cumsum(rest) - rest


def _m_step(y: jax.Array, log_r: jax.Array, prior: NIWPrior, c: jax.Array, sticks: bool):
    """q(theta) optimal for q(z) = exp(log_r) (N, K): (weight factor, kappa (K,), m (K, D), dof (K,),
    chol Psi (K, D, D)) and the counts n (K,). Psi_k is factored from the scatter about the weighted mean
    plus a rank-one term, never from raw second moments, which cancel for a cluster far from mean_loc."""
    r = jnp.exp(log_r)
    n = jnp.sum(r, axis=0)
    s1 = r.T @ y
    xbar = s1 / jnp.where(n > 0, n, 1.0)[:, None]
    centred = y[None, :, :] - xbar[:, None, :]  # (K, N, D)
    scatter = jnp.einsum("nk,knd,kne->kde", r, centred, centred)
    kappa, m, dof, tril = posterior_tril(prior, n, s1, scatter)
    return (_weight_factor(n, c, sticks), kappa, m, dof, tril), n


def _e_step(y: jax.Array, q: tuple, sticks: bool) -> jax.Array:
    """log q(z) (N, K) from q(theta): the E step of the module docstring."""
    wc, kappa, m, dof, tril = q
    d = y.shape[1]
    white = forward_solve(tril[:, None], y[None, :, :] - m[:, None, :])  # Psi_k^{-1/2} (y_i - m_k), (K, N, D)
    quad = jnp.sum(white**2, axis=-1).T  # (N, K)
    e_log_det = (jnp.sum(digamma(0.5 * (dof[:, None] - jnp.arange(d))), axis=1) + d * math.log(2.0)
                 - 2.0 * _half_log_det(tril))
    log_rho = (_expected_log_weights(wc, sticks) + 0.5 * e_log_det - 0.5 * d * _LOG_2PI - 0.5 * d / kappa
               - 0.5 * dof * quad)
    return log_rho - logsumexp(log_rho, axis=1, keepdims=True)


def _elbo(log_r: jax.Array, q: tuple, n: jax.Array, prior: NIWPrior, c: jax.Array, sticks: bool) -> jax.Array:
    """The ELBO of (q(z), q(theta)) for q(theta) optimal given q(z) (module docstring), nats (standardised units)."""
    _, kappa, _, dof, tril = q
    d = tril.shape[-1]
    half_log_det0 = _half_log_det(jnp.linalg.cholesky(prior.scale_matrix))
    # the NIW marginal of gmm.models.niw.log_marginal, at fractional counts, from chol Psi_k
    components = jnp.sum(-0.5 * n * d * math.log(math.pi) + multigammaln(0.5 * dof, d)
                         - multigammaln(0.5 * prior.dof, d) + prior.dof * half_log_det0 - dof * _half_log_det(tril)
                         + 0.5 * d * (jnp.log(prior.kappa) - jnp.log(kappa)))
    if sticks:
        tail = jnp.cumsum(n[::-1])[::-1] - n
        # log B(a, b) from gammaln: jax.scipy.special.betaln is off by ~4e-7 at a = 12, b = 5.7 (JAX 0.11)
        a, b = 1.0 + n, c + tail
        weights = jnp.sum(gammaln(a) + gammaln(b) - gammaln(a + b) + jnp.log(c))  # B(1, c) = 1 / c
    else:
        k = n.shape[0]
        weights = gammaln(k * c) - k * gammaln(c) + jnp.sum(gammaln(c + n)) - gammaln(k * c + jnp.sum(n))
    entropy = -jnp.sum(jnp.where(log_r > -jnp.inf, jnp.exp(log_r) * log_r, 0.0))
    return components + weights + entropy


@partial(jax.jit, static_argnames=("k",))
def _kmeans_start(key: jax.Array, y: jax.Array, *, k: int) -> jax.Array:
    """log q(z) (N, K) one-hot at the nearest of K k-means++ centres of y (:func:`kmeans_pp_points`)."""
    centres = kmeans_pp_points(key, y, k)
    nearest = jnp.argmin(jnp.sum((y[:, None, :] - centres[None]) ** 2, axis=-1), axis=1)
    return jnp.log(jax.nn.one_hot(nearest, k, dtype=y.dtype))


@partial(jax.jit, static_argnames=("max_iter", "sticks"))
def _fit(y, log_r0, prior, c, tol, *, max_iter: int, sticks: bool):
    """CAVI from q(z) = exp(log_r0) (N, K) until the ELBO gains at most ``tol`` nats per point in a
    sweep, or ``max_iter`` sweeps (:func:`gmm.estimation.driver.em_loop`). Returns (log q(z), q(theta),
    history (max_iter + 1,): the ELBO of the start and after each sweep, NaN beyond, sweeps, converged)."""

    def step(log_r):
        q, n = _m_step(y, log_r, prior, c, sticks)
        return _e_step(y, q, sticks), _elbo(log_r, q, n, prior, c, sticks)

    log_r, _, history, n_iter, converged = em_loop(step, log_r0, max_iter, tol, jnp.asarray(y.shape[0], tol.dtype))
    q, _ = _m_step(y, log_r, prior, c, sticks)
    return log_r, q, history, n_iter, converged


def _log_gamma(rng: np.random.Generator, shape: np.ndarray) -> np.ndarray:
    """log of Gamma(shape, 1) draws, one per entry of ``shape`` (> 0), as log Gamma(shape + 1) + log(U) / shape
    (U uniform on (0, 1]): finite where tiny shapes would round a Gamma(shape) draw itself to 0."""
    return np.log(rng.standard_gamma(shape + 1.0)) + np.log1p(-rng.random(shape.shape)) / shape


def _variates(key: jax.Array, wc: np.ndarray, dof: np.ndarray, d: int, n: int) -> tuple[np.ndarray, ...]:
    """The random numbers behind n draws of q, from NumPy's generator seeded by ``key`` (no compiled
    random-number program): log-gamma variates for the weights (n, *wc.shape), chi-squares with
    dof_k - j degrees of freedom (n, K, D), and standard normals (n, K, D, D) and (n, K, D)."""
    rng = numpy_rng(key)
    k = dof.shape[0]
    g = _log_gamma(rng, np.broadcast_to(wc, (n,) + wc.shape))
    chi2 = 2.0 * np.exp(_log_gamma(rng, np.broadcast_to(0.5 * (dof[:, None] - np.arange(d)), (n, k, d))))
    return g, chi2, rng.standard_normal((n, k, d, d)), rng.standard_normal((n, k, d))


@partial(jax.jit, static_argnames=("sticks",))
def _draws(g, chi2, normals, eps, wc, kappa, m, dof, psi_tril, *, sticks: bool):
    """Draws of q in data units from the variates of :func:`_variates`: log weights (n, K), means (n, K, D)
    and the Cholesky factors of the covariances (n, K, D, D).

    Sigma_k ~ IW(dof_k, Psi_k) by Bartlett's construction (:func:`inverse_wishart_factor`), mu_k | Sigma_k ~
    N(m_k, Sigma_k / kappa_k); pi from the log-gamma variates, so that tiny weights keep finite logs. The
    sticks' v_K is not used: the last component takes what the first K - 1 sticks leave (v_K = 1)."""
    n, k, d = eps.shape
    trils = jax.vmap(jax.vmap(inverse_wishart_factor))(chi2, normals, jnp.broadcast_to(psi_tril, (n, k, d, d)))
    means = m + jnp.einsum("skde,ske->skd", trils, eps) / jnp.sqrt(kappa)[:, None]
    if not sticks:
        return g - logsumexp(g, axis=1, keepdims=True), means, trils
    norm = jnp.logaddexp(g[..., 0], g[..., 1])
    log_v, log_1mv = g[..., 0] - norm, g[..., 1] - norm
    log_w = jnp.concatenate([log_v[:, :-1], jnp.zeros((n, 1))], axis=1) + jnp.cumsum(log_1mv, axis=1) - log_1mv
    return log_w, means, trils


@jax.jit
def _log_q(log_w, means, trils, wc, kappa, m, dof, psi_tril):
    """log q(pi, mu, Sigma) (n,) at log weights (n, K), means (n, K, D) and covariance factors (n, K, D, D),
    q(pi) a Dirichlet: the density of (pi_1..pi_{K-1}, mu_k, upper triangle of Sigma_k)."""
    d = means.shape[-1]
    log_dir = gammaln(jnp.sum(wc)) - jnp.sum(gammaln(wc)) + jnp.sum((wc - 1.0) * log_w, axis=1)
    half_log_det = _half_log_det(trils)  # (n, K)
    white = forward_solve(trils, means - m)
    log_normal = -0.5 * d * _LOG_2PI + 0.5 * d * jnp.log(kappa) - half_log_det - 0.5 * kappa * jnp.sum(white**2, -1)
    # tr(Psi Sigma^-1) = |T^-1 C|_F^2 for Sigma = T T^T, Psi = C C^T
    inv_t_c = jax.vmap(jax.vmap(lambda t, c: forward_solve(t, c.T)))(trils, jnp.broadcast_to(psi_tril, trils.shape))
    log_iw = (dof * _half_log_det(psi_tril) - 0.5 * dof * d * math.log(2.0) - multigammaln(0.5 * dof, d)
              - (dof + d + 1.0) * half_log_det - 0.5 * jnp.sum(inv_t_c**2, axis=(-2, -1)))
    return log_dir + jnp.sum(log_normal + log_iw, axis=1)


def _factor_leaves(factors: dict[str, np.ndarray]) -> list[np.ndarray]:
    """(weight concentration, kappa, means, dof, chol Psi) from :func:`gmm.cavi`'s factors (data units)."""
    return [np.asarray(factors[name], np.float64) for name in ("weight_concentration", "mean_precision", "means",
                                                               "dof")] + [np.linalg.cholesky(factors["scale_matrix"])]


def log_q_density(factors: dict[str, Any], weights: Any, means: Any, covariances: Any) -> np.ndarray:
    """log q(theta) of a :func:`gmm.cavi` fit with Dirichlet weights (``fit.factors``) at any n parameter values:
    weights (n, K), means (n, K, D), covariances (n, K, D, D) (symmetric positive definite), data units; the
    density of (pi_1..pi_{K-1}, mu_k, upper triangle of Sigma_k), float64, shape (n,). For importance
    sampling with q symmetrised over the K! labellings of a label-invariant posterior."""
    wc, kappa, m, dof, psi_tril = _factor_leaves(factors)
    if wc.ndim != 1:
        raise ValueError("log_q_density is for weight_prior='dirichlet' fits; the sticks' q has no density of pi.")
    w, mu, cov = (np.asarray(a, np.float64) for a in (weights, means, covariances))
    with jax.enable_x64(True), np.errstate(divide="ignore"):
        out = _log_q(jnp.log(w), jnp.asarray(mu), jnp.linalg.cholesky(jnp.asarray(cov)),
                     *(jnp.asarray(a) for a in (wc, kappa, m, dof, psi_tril)))
        return np.asarray(out, np.float64)


# ---------------------------------------------------------------------------
# Public entry
# ---------------------------------------------------------------------------


def _check_init(init: Any, n: int, k: int) -> np.ndarray | None:
    """None for "kmeans++", else the starting responsibilities (N, K) checked: finite, >= 0, rows summing to 1."""
    if isinstance(init, str) and init == "kmeans++":
        return None
    if isinstance(init, (str, bytes)):
        raise ValueError(f"init must be 'kmeans++' or an (N, K) = ({n}, {k}) array of responsibilities, got {init!r}.")
    r = as_real_array(init, "init")
    if r.shape != (n, k):
        raise ValueError(f"init must be 'kmeans++' or an array of responsibilities of shape (N, K) = ({n}, {k}), "
                         f"got shape {r.shape}.")
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError("init must hold finite responsibilities >= 0; found a negative, NaN or infinite entry.")
    sums = r.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        raise ValueError(f"init's rows must sum to 1 (responsibilities); row {int(bad[0])} sums to "
                         f"{float(sums[bad[0]])!r} ({bad.size} row(s) off by more than 1e-6).")
    return r


def cavi(
    key: Any,
    x: Any,
    n_components: int,
    *,
    prior: NIWPrior | None = None,
    weight_prior: str = "dirichlet",
    concentration: float | None = None,
    init: Any = "kmeans++",
    max_iter: int = defaults.MAX_ITER,
    tol: float = defaults.TOL,
    n_draws: int = 2000,
) -> VIPosterior:
    """Fit the Bayesian GMM by coordinate-ascent variational inference (module docstring), data (N,) or (N, D).

    Args:
        key: ``jax.random`` key, for the k-means++ start and the stored draws of q; the same key gives the
            same result.
        x: observations, shape (N,) or (N, D), finite numbers.
        n_components: K, an integer in [1, N]; for ``"dirichlet_process"`` the truncation level.
        prior: a :class:`gmm.NIWPrior` of dimension D; None gives ``NIWPrior.from_data(x)``.
        weight_prior: ``"dirichlet"`` (pi ~ Dirichlet(prior.alpha 1_K)) or ``"dirichlet_process"`` (truncated
            stick-breaking, v_k ~ Beta(1, concentration); prior.alpha is then not used).
        concentration: the DP's concentration (> 0; None: 1.0, as :func:`gmm.dp_gibbs`); only with
            ``"dirichlet_process"``.
        init: ``"kmeans++"`` (q(z) one-hot at the nearest of K k-means++ centres drawn with the key, on the
            standardised data), or starting responsibilities, an (N, K) array of entries >= 0 whose rows sum
            to 1 (the first M step starts from them, as scikit-learn's ``_initialize``).
        max_iter: most sweeps (an integer in [1, 100,000]).
        tol: stop when a sweep raises the ELBO by at most ``tol`` nats per point (> 0).
        n_draws: draws of q stored in the result (an integer >= 1).

    Returns:
        A :class:`gmm.inference.vi_result.VIPosterior` (method "cavi"): ``elbo`` after each sweep (nats, data
        units; never falls), ``assignment_probs`` = q(z) (N, K) of the last sweep, and ``factors``, q's
        parameters in the fitted order (components are not sorted), data units:
        ``weight_concentration`` (K,) Dirichlet parameters, or (K, 2) Beta parameters (a_k, b_k) of the sticks;
        ``mean_precision`` kappa_k (K,); ``means`` m_k (K, D); ``dof`` (K,); ``scale_matrix`` Psi_k (K, D, D),
        the inverse-Wishart scale of q(Sigma_k) (the inverse of Bishop's Wishart scale W_k), so that
        Sigma_k ~ IW(dof_k, Psi_k), mu_k | Sigma_k ~ N(m_k, Sigma_k / kappa_k). The stored draws of the sticks
        give the last component what the first K - 1 sticks leave; their density is not available, so
        :meth:`gmm.VIPosterior.log_evidence` is for ``"dirichlet"`` only.
        A :class:`gmm.ConvergenceWarning` when ``max_iter`` sweeps end the run.

    Raises:
        ValueError: naming the bad argument (key, data, K, weight prior, concentration, prior or its
            dimension, init's shape or rows, max_iter, tol, n_draws).

    Example:
        >>> import jax, gmm
        >>> from gmm.inference.cavi import cavi
        >>> fit = cavi(jax.random.key(0), gmm.datasets.bento(), 2)
        >>> bool(fit.converged), bool((fit.elbo[1:] >= fit.elbo[:-1] - 1e-9 * abs(fit.elbo[:-1])).all())
        (True, True)
    """
    key = check_key(key)
    data = as_data(x, ndim=None)
    data = data[:, None] if data.ndim == 1 else data
    n, d = data.shape
    k = check_n_components(n_components, n)
    if not (isinstance(weight_prior, str) and weight_prior in WEIGHT_PRIORS):
        raise ValueError(f"weight_prior must be one of {WEIGHT_PRIORS}, got {weight_prior!r}.")
    sticks = weight_prior == "dirichlet_process"
    if not sticks and concentration is not None:
        raise ValueError(f"concentration={concentration!r} is the Dirichlet process's; with weight_prior='dirichlet' "
                         "the weights' concentration is prior.alpha: leave concentration out.")
    prior = resolve_niw_prior(prior, data)
    c = check_positive(1.0 if concentration is None else concentration, "concentration") if sticks \
        else float(prior.alpha)
    r0 = _check_init(init, n, k)
    max_iter = check_positive_int(max_iter, "max_iter", maximum=defaults.MAX_ITER_LIMIT)
    tol = check_positive(tol, "tol")
    n_draws = check_positive_int(n_draws, "n_draws")
    check_memory(n * k, "N x n_components", d * d, " (points x components, D^2 numbers each)")
    check_memory(n_draws, "n_draws", k * d * d, f" (K = {k}, D = {d})")
    loc, scale = robust_scale_columns(data)
    check_spread(data, loc, scale, 1e150, "float64")
    key_init, key_draws = jax.random.split(key)
    with jax.enable_x64(True):
        y = jnp.asarray((data - loc) / scale)
        prior_y = jax.tree_util.tree_map(jnp.asarray, prior.standardised(loc, scale))
        if r0 is None:
            log_r0 = _kmeans_start(key_init, y, k=k)
        else:
            with np.errstate(divide="ignore"):
                log_r0 = jnp.asarray(np.log(r0))
        log_r, q, history, n_iter, converged = _fit(y, log_r0, prior_y, jnp.float64(c), jnp.float64(tol),
                                                    max_iter=max_iter, sticks=sticks)
        wc, kappa, m, dof, tril = (np.asarray(a, np.float64) for a in q)
        psi_tril = scale[:, None] * tril  # chol of diag(scale) Psi diag(scale)
        factors = {"weight_concentration": wc, "mean_precision": kappa, "means": loc + scale * m, "dof": dof,
                   "scale_matrix": psi_tril @ np.swapaxes(psi_tril, -1, -2)}
        n_iter = int(n_iter)
        # the ELBO in data units: the density of x is that of y over prod(scale) per point
        elbo = np.asarray(history, np.float64)[1:n_iter + 1] - n * float(np.sum(np.log(scale)))
        assignment_probs = np.exp(np.asarray(log_r, np.float64))
    if not bool(converged):
        warnings.warn(f"cavi stopped at max_iter={max_iter} sweeps before the ELBO gained less than tol={tol:g} "
                      "nats per point in a sweep; raise max_iter (or tol).", ConvergenceWarning, stacklevel=2)
    leaves = [wc, kappa, factors["means"], dof, psi_tril]

    def sampler(key_q: jax.Array, n_q: int):
        n_q = int(n_q)
        # padded to a power of two with copies of the first draw, so that few sizes are compiled
        pad = bucket(n_q, 64) - n_q
        variates = [np.concatenate([v, np.repeat(v[:1], pad, axis=0)]) for v in _variates(key_q, wc, dof, d, n_q)]
        with jax.enable_x64(True):
            parts = (jnp.asarray(a, jnp.float64) for a in (*variates, *leaves))
            log_w, means, trils = _draws(*parts, sticks=sticks)
            covariances = trils @ jnp.swapaxes(trils, -1, -2)
            out = [np.asarray(a, np.float64)[:n_q] for a in (jnp.exp(log_w), means, covariances)]
            if sticks:
                return (*out, np.full(n_q, np.nan))
            # the padded draws too: one compiled size of _log_q per bucket
            log_q = label_symmetrised(lambda *t: _log_q(*t, *leaves), log_w, means, trils)[:n_q]
            return (*out, log_q)

    return VIPosterior.from_q(key_draws, sampler, data=data, prior=prior, method="cavi", factors=factors,
                              elbo=elbo, assignment_probs=assignment_probs, converged=bool(converged),
                              n_draws=n_draws, evidence=not sticks)


__all__ = ["WEIGHT_PRIORS", "cavi", "log_q_density"]
