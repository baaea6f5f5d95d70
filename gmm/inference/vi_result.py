"""The outcome of variational inference (:func:`gmm.cavi`, :func:`gmm.advi`): :class:`VIPosterior`.

A variational fit is a distribution q(theta) over the mixture's parameters theta = (pi, mu, Sigma) chosen to
maximise the evidence lower bound

    ELBO(q) = E_q[log p(x, theta) - log q(theta)] = log p(x | K) - KL(q || p(theta | x, K)) <= log p(x | K),

with the assignments summed out of p(x, theta) (or, in CAVI, carried in q as q(z)). The result keeps q's
parameters, the ELBO after every sweep or step, and ``n_draws`` independent draws of q, from which the summaries
shared with the samplers (``gmm.inference.posterior_draws.PosteriorDraws``) are computed. Where q's density
is known it also gives two estimates of log p(x | K) itself:

- :meth:`gmm.VIPosterior.iwae_bound`: the importance-weighted bound of Burda et al. (2016),
  L_S = E[log (1/S) sum_s p(x, theta_s) / q(theta_s)], theta_s ~ q, which is the ELBO at S = 1 and rises to
  log p(x | K) as S grows;
- :meth:`gmm.VIPosterior.log_evidence`: importance sampling with q as the proposal, an unbiased estimate of
  p(x | K) with a delta-method error bar.

Densities are with respect to the measure of the model's prior: (pi_1..pi_{K-1}, mu_k, sigma_k) for the
one-dimensional :class:`gmm.Prior` (sigma, not its square), and (pi_1..pi_{K-1}, mu_k, the upper triangle of
Sigma_k) for :class:`gmm.NIWPrior`. Nats, data units.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import permutations
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, logsumexp, multigammaln
from scipy.special import logsumexp as np_logsumexp

from gmm import diagnostics
from gmm._util.validation import check_positive_int
from gmm.inference.posterior_draws import PosteriorDraws
from gmm.model_choice.evidence_result import EvidenceEstimate, importance_error_bar
from gmm.models.generative import Prior, log_std_prior
from gmm.models.niw import NIWPrior

_LOG_2PI = math.log(2.0 * math.pi)
_BATCH = 1024  # draws of q scored at once: memory (batch x N x K numbers), not a Python loop
MAX_PARTICLES = 1_000_000  # the most draws one evidence estimate takes
MAX_SYMMETRISED_K = 6  # label_symmetrised sums over all K! relabellings up to this K (720)

# sampler(key, n) -> weights (n, K), means (n, K, D), covariances (n, K, D, D), log q (n,)
Sampler = Callable[[jax.Array, int], tuple[Any, Any, Any, Any]]


def _log_normal(y: jax.Array, mean: jax.Array, tril: jax.Array) -> jax.Array:
    """log N(y | mean, L L^T) for y (..., D) against mean (..., D), L (..., D, D) lower triangular."""
    d = y.shape[-1]
    z = jax.scipy.linalg.solve_triangular(tril, (y - mean)[..., None], lower=True)[..., 0]
    half_log_det = jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), axis=-1)
    return -0.5 * jnp.sum(z**2, axis=-1) - half_log_det - 0.5 * d * _LOG_2PI


def _log_dirichlet(w: jax.Array, alpha: jax.Array) -> jax.Array:
    """log Dirichlet(w | alpha 1_K), density of the first K - 1 coordinates; w (..., K)."""
    k = w.shape[-1]
    return gammaln(k * alpha) - k * gammaln(alpha) + (alpha - 1.0) * jnp.sum(jnp.log(w), axis=-1)


def _log_inverse_wishart(cov: jax.Array, tril: jax.Array, dof: jax.Array, psi: jax.Array) -> jax.Array:
    """log IW(Sigma | dof, Psi) for Sigma (..., D, D) with Cholesky factor ``tril``."""
    d = cov.shape[-1]
    _, log_det_psi = jnp.linalg.slogdet(psi)
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), axis=-1)
    inv_tril = jax.scipy.linalg.solve_triangular(tril, jnp.broadcast_to(jnp.eye(d), tril.shape), lower=True)
    trace = jnp.einsum("...ij,jk,...ik->...", inv_tril, psi, inv_tril)  # tr(Psi Sigma^-1)
    return (0.5 * dof * log_det_psi - 0.5 * dof * d * math.log(2.0) - multigammaln(0.5 * dof, d)
            - 0.5 * (dof + d + 1.0) * log_det - 0.5 * trace)


def _log_joint_one(y, prior_leaves, family, w, m, cov):
    """log p(x, theta) for one theta: w (K,), m (K, D), cov (K, D, D); y (N, D)."""
    tril = jnp.linalg.cholesky(cov)
    comp = _log_normal(y[:, None, :], m[None], tril[None])  # (N, K)
    log_lik = jnp.sum(logsumexp(jnp.log(w)[None, :] + comp, axis=1))
    if family == "niw":
        alpha, m0, kappa, dof, psi = prior_leaves
        log_prior_mean = _log_normal(m, m0[None], tril / jnp.sqrt(kappa))
        log_prior = jnp.sum(log_prior_mean + _log_inverse_wishart(cov, tril, dof, psi))
    else:
        alpha, m0, s0, a, b = prior_leaves
        stds = tril[:, 0, 0]
        log_prior_mean = -0.5 * ((m[:, 0] - m0) / s0) ** 2 - jnp.log(s0) - 0.5 * _LOG_2PI
        prior = Prior.inverse_gamma_variance(alpha, m0, s0, a, b) if family == "inverse_gamma_var" \
            else Prior(alpha, m0, s0, a, b)
        log_prior = jnp.sum(log_prior_mean + log_std_prior(stds, prior))
    return _log_dirichlet(w, alpha) + log_prior + log_lik


@partial(jax.jit, static_argnames=("family",))
def _log_joint_batch(y, prior_leaves, family, w, m, cov):
    return jax.vmap(lambda *t: _log_joint_one(y, prior_leaves, family, *t))(w, m, cov)


def _prior_parts(prior: Prior | NIWPrior) -> tuple[tuple, str]:
    """The prior's leaves as float64 NumPy values and the name of its family ("niw" or the Prior's family of sigma)."""
    if isinstance(prior, NIWPrior):
        leaves = (prior.alpha, prior.mean_loc, prior.kappa, prior.dof, prior.scale_matrix)
        return tuple(np.asarray(v, np.float64) for v in leaves), "niw"
    return tuple(np.float64(getattr(prior, f)) for f in prior.fields), prior.family


def log_joint(data: np.ndarray, prior: Prior | NIWPrior, weights: Any, means: Any, covariances: Any) -> np.ndarray:
    """log p(x, theta | K) with the assignments summed out, for n parameter values at once.

    log Dirichlet(pi | alpha) + sum_k log p(mu_k, Sigma_k) + sum_i log sum_k pi_k N(x_i | mu_k, Sigma_k): the
    log density of chapter 5's model (``gmm.bayesian_gmm_marginal``; sigma's prior as a density of sigma) for a
    :class:`gmm.Prior`, of the Normal-Inverse-Wishart model for a :class:`gmm.NIWPrior`.

    Args:
        data: checked points, float64, shape (N, D) (D = 1 for a :class:`gmm.Prior`).
        prior: the model's prior.
        weights, means, covariances: shapes (n, K), (n, K, D), (n, K, D, D), data units.

    Returns:
        float64, shape (n,), nats.
    """
    leaves, family = _prior_parts(prior)
    w, m, c = (np.asarray(a, np.float64) for a in (weights, means, covariances))
    out = np.empty(w.shape[0])
    with jax.enable_x64(True):
        y = jnp.asarray(data, jnp.float64)
        leaves = tuple(jnp.asarray(v) for v in leaves)
        for start in range(0, w.shape[0], _BATCH):
            stop = min(start + _BATCH, w.shape[0])
            pad = _BATCH - (stop - start) if w.shape[0] > _BATCH else 0  # one compiled size for all chunks
            chunk = [np.concatenate([a[start:stop], np.repeat(a[stop - 1:stop], pad, axis=0)]) for a in (w, m, c)]
            out[start:stop] = np.asarray(_log_joint_batch(y, leaves, family, *chunk))[:stop - start]
    return out


def label_symmetrised(log_density: Callable[..., Any], *parts: Any) -> np.ndarray:
    """log q_sym(theta) = log (1/K!) sum_perm q(perm theta): q's density averaged over the K! relabellings.

    ``log_density(*parts)`` is q's own log density at n parameter values given as arrays whose axis 1 is the
    component axis (e.g. log weights (n, K), means (n, K, D), Cholesky factors (n, K, D, D)); it is called
    once per relabelling with that axis permuted. A fit q sits in one of the K! labellings of a posterior that
    the model cannot tell apart, so q's own density gives importance weights p/q that miss up to log K! of
    the evidence; q_sym covers every labelling. Draws may still come from q itself: p and q_sym are both
    invariant under relabelling, so the weights p / q_sym have the same law under q as under q_sym, and the
    evidence estimates stay unbiased. Exact for K <= ``MAX_SYMMETRISED_K``; beyond, log q(theta) - log K!
    (the own labelling's term alone: a lower bound, tight when the relabelled copies of q do not overlap).
    Returns float64, shape (n,).
    """
    k = int(np.shape(parts[0])[1])
    perms = list(permutations(range(k))) if k <= MAX_SYMMETRISED_K else [tuple(range(k))]
    terms = [np.asarray(log_density(*(np.asarray(a)[:, list(p)] for a in parts)), np.float64) for p in perms]
    return np_logsumexp(np.stack(terms), axis=0) - math.lgamma(k + 1)


class IWAEBound(NamedTuple):
    """The importance-weighted bound L_S (Burda et al. 2016) estimated from ``n_repeats`` independent sets of
    ``n_particles`` draws of q: ``bound`` is their mean (nats), ``stderr`` its standard error."""

    bound: float
    stderr: float
    n_particles: int
    n_repeats: int


@dataclass(frozen=True)
class VIPosterior(PosteriorDraws):
    """Outcome of :func:`gmm.cavi` and :func:`gmm.advi`: the variational distribution q and draws from it.

    The draws have the shapes of :class:`gmm.GibbsPosterior`'s with one "chain" of independent draws of q
    (S = ``n_draws``), so the same summaries apply; they carry no Monte Carlo diagnostics beyond S itself, and
    they say nothing about the error of q, which only a comparison with an exact or sampling reference shows.

    Attributes:
        weights: draws of pi from q, shape (1, S, K).
        means: draws of mu, shape (1, S, K) in one dimension, (1, S, K, D) otherwise; data units.
        stds: draws of sigma, shape (1, S, K), in one dimension only (None otherwise).
        assignment_probs: P(z_i = k | x) under the fit, shape (N, K), rows sum to 1: q(z) for CAVI, the mean
            over q's draws of P(z_i = k | theta, x_i) for ADVI.
        elbo: the ELBO after each sweep (CAVI, exact) or step (ADVI, the optimiser's Monte Carlo estimate), nats.
        factors: q's parameters, named by the routine that fitted them (its docstring says what each is).
        method: ``"cavi"`` or ``"advi"``.
        converged: whether the routine's stopping rule was met before its iteration limit.
        data: the observations, shape (N,) or (N, D), data units.
        covariances: draws of Sigma, shape (1, S, K, D, D) (D = 1 in one dimension), squared data units.
        prior: the prior, a :class:`gmm.Prior` or :class:`gmm.NIWPrior`.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray | None
    assignment_probs: np.ndarray
    elbo: np.ndarray
    factors: dict[str, np.ndarray]
    method: str
    converged: bool
    data: np.ndarray
    covariances: np.ndarray
    prior: Any = None
    _sampler: Sampler | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_q(cls, key: jax.Array, sampler: Sampler, *, data: np.ndarray, prior: Prior | NIWPrior, method: str,
               factors: dict[str, Any], elbo: Any, assignment_probs: Any, converged: bool, n_draws: int = 2000,
               evidence: bool = True) -> "VIPosterior":
        """The result of a fit: ``n_draws`` draws of q made with ``key`` through ``sampler`` (see
        ``Sampler``), data (N, D) as checked by the routine; ``evidence=False`` where q's density is not
        available (the evidence methods then raise)."""
        w, m, c, _ = (np.asarray(a, np.float64) for a in sampler(key, n_draws))
        one_d = data.shape[1] == 1
        return cls(
            weights=w[None], means=(m[..., 0] if one_d else m)[None],
            stds=np.sqrt(c[..., 0, 0])[None] if one_d else None,
            assignment_probs=np.asarray(assignment_probs, np.float64), elbo=np.asarray(elbo, np.float64),
            factors={k: np.asarray(v, np.float64) for k, v in factors.items()}, method=method,
            converged=bool(converged), data=data[:, 0] if one_d else data, covariances=c[None], prior=prior,
            _sampler=sampler if evidence else None,
        )

    @property
    def n_iter(self) -> int:
        """Sweeps (CAVI) or optimisation steps (ADVI) taken."""
        return int(self.elbo.shape[0])

    def summary(self) -> list[dict[str, Any]]:
        """One row per scalar parameter of q (for covariances the upper triangle), as the samplers'
        ``summary()``: name, mean, sd, 2.5% and 97.5% quantiles over the stored draws of q, mcse = sd /
        sqrt(S) (independent draws: ess = S; rhat is NaN, there being no chains to compare)."""
        s = self.weights.shape[1]
        draws = {name: getattr(self, name) for name in self.params}
        nan = {name: np.full(a.shape[2:], np.nan) for name, a in draws.items()}
        ess = {name: np.full(a.shape[2:], float(s)) for name, a in draws.items()}
        return diagnostics.summary(draws, nan, ess, ess)

    def _data_2d(self) -> np.ndarray:
        return self.data[:, None] if self.data.ndim == 1 else self.data

    def _log_weights(self, key: jax.Array, n: int) -> np.ndarray:
        """log p(x, theta_s) - log q(theta_s) for n draws of q, float64, shape (n,)."""
        if self._sampler is None:
            raise ValueError(f"this {self.method} fit has no density of q (the stick-breaking weights of the "
                             "truncated Dirichlet process), so it gives no evidence; fit weight_prior='dirichlet'.")
        w, m, c, log_q = (np.asarray(a, np.float64) for a in self._sampler(key, n))
        log_w = log_joint(self._data_2d(), self.prior, w, m, c) - log_q
        return np.where(np.isnan(log_w), -np.inf, log_w)

    def iwae_bound(self, key: jax.Array, n_particles: int, n_repeats: int = 16) -> IWAEBound:
        """The importance-weighted bound L_S = E[log (1/S) sum_s p(x, theta_s) / q(theta_s)] with S =
        ``n_particles`` draws of q, averaged over ``n_repeats`` independent sets (integers >= 1, with
        S x n_repeats at most 1,000,000). L_S rises towards log p(x | K) as S grows. Its density of q is the
        label-symmetrised one (:func:`gmm.inference.vi_result.label_symmetrised`), so L_1 is the ELBO of
        q_sym with the assignments summed out: the recorded ELBO plus about log K! when q's relabelled copies
        do not overlap, plus, for CAVI's q(z) q(theta), what summing out z recovers."""
        n_particles = check_positive_int(n_particles, "n_particles", maximum=MAX_PARTICLES)
        n_repeats = check_positive_int(n_repeats, "n_repeats", maximum=max(1, MAX_PARTICLES // n_particles))
        log_w = self._log_weights(key, n_particles * n_repeats).reshape(n_repeats, n_particles)
        per_set = np_logsumexp(log_w, axis=1) - math.log(n_particles)
        stderr = float(np.std(per_set, ddof=1) / math.sqrt(n_repeats)) if n_repeats > 1 else math.nan
        return IWAEBound(float(per_set.mean()), stderr, n_particles, n_repeats)

    def log_evidence(self, key: jax.Array, n_particles: int = 10_000) -> EvidenceEstimate:
        """log p(x | K) by importance sampling with q as the proposal: log (1/S) sum_s p(x, theta_s) /
        q(theta_s), S = ``n_particles`` (an integer in [2, 1,000,000]), with its delta-method standard error, NaN
        with a RuntimeWarning when the weights' ESS is below 50 (``importance_error_bar``). q is lighter-tailed
        than the posterior wherever it under-disperses, so check ``ess``."""
        n_particles = check_positive_int(n_particles, "n_particles", maximum=MAX_PARTICLES)
        if n_particles < 2:
            raise ValueError(f"n_particles must be at least 2 (for an error bar), got {n_particles}.")
        log_w = self._log_weights(key, n_particles)
        total = float(np_logsumexp(log_w))
        if not np.isfinite(total):
            raise ValueError(f"every one of the {n_particles} importance weights is zero: q puts no mass where the "
                             "model has any; this fit cannot estimate the evidence.")
        norm = np.exp(log_w - total)
        ess = float(1.0 / np.sum(norm**2))
        rel_var = max(n_particles / ess - 1.0, 0.0) * n_particles / (n_particles - 1)
        what = f"{self.method} importance sampling"
        stderr = importance_error_bar(ess, math.sqrt(rel_var / n_particles), n_particles, what)
        return EvidenceEstimate(n_components=self.n_components, log_evidence=total - math.log(n_particles),
                                log_evidence_stderr=stderr, method="is", ess=ess)


__all__ = ["IWAEBound", "MAX_SYMMETRISED_K", "Sampler", "VIPosterior", "label_symmetrised", "log_joint"]
