"""The pieces of the "em" proposal of :func:`gmm.importance_sampling`.

Multivariate Student-t pieces in the unconstrained coordinates
z = (log(pi_k / pi_K), mu_k, log sigma_k): their GenJAX generative function
(:func:`em_proposal`), the Laplace approximations they start from (one per posterior mode
and its relabellings where two means may cross), the mixture population Monte Carlo refit
from weighted pilot draws, and the NumPy draws of the whole defensive mixture.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from genjax import const, gen
from genjax.core import distribution
from genjax.pjax import wrap_logpdf, wrap_sampler
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import gammaln

from gmm.inference.scoring import PARAMS
from gmm.models.generative import Prior, bayesian_gmm_marginal, draw_stds_numpy, mean_conditional, std_conditional_mode

MAX_MODES = 16  # distinct modes the "em" proposal is built around
MAX_PIECES = 2 * MAX_MODES  # its pieces (padded to this many: one compiled program)
_SWAP = 3.0  # neighbouring means this many standard errors apart get a swapped piece too


def sorted_coordinates(weights: jax.Array, means: jax.Array, stds: jax.Array) -> jax.Array:
    """z = (log(pi_k / pi_K) for k < K, mu_k, log sigma_k), shape (3K - 1,): unconstrained
    coordinates of (pi, mu, sigma). A zero weight gives -inf entries."""
    log_w = jnp.log(weights)
    return jnp.concatenate([log_w[:-1] - log_w[-1], means, jnp.log(stds)])


def from_sorted_coordinates(z: jax.Array) -> tuple[tuple[jax.Array, jax.Array, jax.Array], jax.Array]:
    """((pi, mu, sigma), log |d theta / d z|) for z of ``sorted_coordinates``, K = (len(z) + 1) / 3.

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
    coordinates of ``sorted_coordinates``; returns ((pi, mu, sigma), log |d theta / d z|)
    (``from_sorted_coordinates``), so the density of theta is that of z minus the log Jacobian.
    """
    z = _multivariate_t(df, loc, scale_tril) @ "z"
    return from_sorted_coordinates(z)


def draw_em(rng: np.random.Generator, pieces, df: float, defensive: float, prior: Prior, size: int):
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


def _scale_tril(cov: np.ndarray, df: float, inflation: float) -> np.ndarray:
    """Cholesky factor of the Student-t scale matrix whose covariance is inflation^2 cov
    (the scale is cov (df - 2) / df for df > 2; for df <= 2, where the covariance is infinite, cov)."""
    factor = inflation**2 * ((df - 2.0) / df if df > 2 else 1.0)
    d = cov.shape[-1]
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2)) + 1e-9 * np.eye(d)
    return np.linalg.cholesky(factor * cov)


def refit_pieces(loc, tril, log_w, z, log_resp, df, inflation):
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
        theta, log_jac = from_sorted_coordinates(zz)
        log_p, _ = bayesian_gmm_marginal.assess(dict(zip(PARAMS, theta), x=y), const(n), const(k), prior)
        return log_p + log_jac

    return jax.vmap(jax.hessian(log_target))(z)


def initial_pieces(y, modes, prior_y: Prior, df, inflation):
    """Centres and Cholesky factors of the first ``em_proposal`` pieces, in the standardised
    units y, from Laplace approximations around each mode (w, mu, sd), shapes (J, K).

    The centre is the mode with mu_k and sigma_k replaced by the modes of their conditionals
    given the mode's soft counts n_k, weighted means xbar_k and scatter SS_k (the conjugate
    Normal mean; :func:`gmm.models.generative.std_conditional_mode` with the mean profiled out), so an
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
    mean_c, _ = mean_conditional(prior_y, nk, nk * xbar, sigma_c)
    order = np.argsort(mean_c, axis=1)  # the main pieces live in the sorted labelling
    centre = tuple(np.take_along_axis(v, order, axis=1) for v in (w, mean_c, sigma_c))
    n_modes, k = nk.shape
    z0 = np.concatenate([np.log(centre[0][:, :-1] / centre[0][:, -1:]), centre[1], np.log(centre[2])], axis=1)
    pad = MAX_MODES - n_modes  # one compiled program whatever the number of modes
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
    for j, loc, cov in swaps[: max(MAX_PIECES - len(locs), 0)]:  # modes come best first
        locs.append(loc), covs.append(cov), owner.append(j)
    trils = np.stack([_scale_tril(c, df, inflation) for c in covs])
    return np.stack(locs), trils, np.asarray(owner)


__all__ = ["em_proposal"]
