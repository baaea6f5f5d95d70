"""Where a posterior mode's mass comes from: fit, prior and volume (Laplace's method).

For the 1-D Bayesian GMM of :mod:`gmm.models.generative` with K components, the parameters
theta = (pi_1..pi_{K-1}, mu_1..mu_K, sigma_1..sigma_K) (d = 3K - 1 numbers) are mapped to
unconstrained coordinates::

    u = (eta_1..eta_{K-1}, mu_1..mu_K, log sigma_1..log sigma_K),
    pi = softmax(0, eta_1, .., eta_{K-1})   (the additive log-ratio map),

whose Jacobian is ``|d theta / d u|`` = prod_k pi_k prod_k sigma_k. The log density of the
posterior in u, up to log p(x), is::

    l(u) = log p(x | theta) + log p(theta) + log |d theta / d u|,

with p(theta) the prior density in theta (Dirichlet(alpha) on pi, Normal on mu, and the
prior family's density of sigma, ``gmm.models.generative.log_std_density``). Around a local
maximum u* of l, Laplace's method gives the posterior mass of its basin (unnormalised,
i.e. as a share of p(x))::

    log mass ≈ l(u*) + (d / 2) log 2 pi - (1 / 2) log det(-H(u*)),     H = Hessian of l,

which splits into three terms at theta* = theta(u*)::

    fit    = log p(x | theta*)                  (how well the mode's best point fits)
    prior  = log p(theta*)                      (how plausible the prior finds it)
    volume = log |d theta / d u|(u*) + (d / 2) log 2 pi - (1 / 2) log det(-H(u*))
                                                (log of the effective volume of the mode in
                                                 theta: the posterior's spread around theta*)

so that log mass ≈ fit + prior + volume. Two caveats about what the terms mean:

- The estimate is Laplace's method in the coordinates u: the exact mass does not depend
  on coordinates, but the Gaussian approximation (and the peak theta*) does, a little.
- The split between ``prior`` and ``volume`` is a convention. A density depends on the
  coordinates it is measured in: measure the widths on the log scale, theta' = (pi, mu,
  log sigma), and the prior density gains sum_k log sigma_k* while the volume loses it
  (:meth:`LaplaceMass.split_in_log_stds`). Only their sum, ``occam`` = prior + volume,
  does not depend on that choice: it is the log of the prior probability of the region
  around theta* that fits about as well as theta* (MacKay's Occam factor).

Every mode of a mixture has K! labelled copies, all with the same mass, so ratios between
modes need no correction. Everything is float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, logsumexp

from gmm.model_choice.exact import prior_tuple
from gmm._util.validation import as_data, check_finite
from gmm.models.generative import Prior, check_prior, log_std_density

_LOG_2PI = math.log(2.0 * math.pi)


def to_unconstrained(weights: Any, means: Any, stds: Any) -> np.ndarray:
    """u = (log(pi_k / pi_1) for k = 2..K, mu, log sigma) on the last axis: parameters of
    shape (..., K) give u of shape (..., 3K - 1), float64."""
    w, m, s = (np.asarray(a, np.float64) for a in (weights, means, stds))
    return np.concatenate([np.log(w[..., 1:]) - np.log(w[..., :1]), m, np.log(s)], axis=-1)


def from_unconstrained(u: Any, k: int) -> tuple[Any, Any, Any]:
    """(weights, means, stds), each (K,), from u of shape (3K - 1,) (the inverse map)."""
    eta = jnp.concatenate([jnp.zeros(1, u.dtype), u[: k - 1]])
    return jax.nn.softmax(eta), u[k - 1 : 2 * k - 1], jnp.exp(u[2 * k - 1 :])


def _terms(u, x, k, prior_values, family):
    """(log p(x | theta), log p(theta), log ``|d theta / d u|``) at u (traceable)."""
    alpha, m0, s0, a, b = prior_values
    eta = jnp.concatenate([jnp.zeros(1, u.dtype), u[: k - 1]])
    log_w = eta - logsumexp(eta)
    mu, log_s = u[k - 1 : 2 * k - 1], u[2 * k - 1 :]
    z = (x[:, None] - mu[None, :]) * jnp.exp(-log_s)[None, :]
    log_lik = jnp.sum(logsumexp(log_w - log_s - 0.5 * z**2 - 0.5 * _LOG_2PI, axis=1))
    log_dirichlet = gammaln(k * alpha) - k * gammaln(alpha) + (alpha - 1.0) * jnp.sum(log_w)
    log_normal = jnp.sum(-0.5 * ((mu - m0) / s0) ** 2 - jnp.log(s0) - 0.5 * _LOG_2PI)
    log_sigma = jnp.sum(log_std_density(log_s, family, a, b))
    log_jac = jnp.sum(log_w) + jnp.sum(log_s)
    return log_lik, log_dirichlet + log_normal + log_sigma, log_jac


def log_joint(x: Any, weights: Any, means: Any, stds: Any, prior: Prior) -> tuple[np.ndarray, np.ndarray]:
    """log p(x | theta) and log p(theta) (density in theta = (pi_1..pi_{K-1}, mu, sigma)) of
    parameter draws with the components on the last axis, any leading shape (...); returns
    two float64 arrays of shape (...)."""
    data = as_data(x)
    prior = check_prior(prior)
    u = to_unconstrained(weights, means, stds)
    lead, k = u.shape[:-1], (u.shape[-1] + 1) // 3
    *pv, family = prior_tuple(prior)
    with jax.enable_x64(True):
        f = jax.vmap(lambda v: _terms(v, jnp.asarray(data), k, pv, family)[:2])
        ll, lp = f(jnp.asarray(u.reshape(-1, 3 * k - 1)))
    return np.asarray(ll).reshape(lead), np.asarray(lp).reshape(lead)


@dataclass(frozen=True)
class LaplaceMass:
    """A posterior mode and the Laplace split of its basin's mass (nats).

    Attributes:
        weights, means, stds: the mode theta*, each (K,), data units.
        fit: log p(x | theta*).
        prior: log p(theta*), the prior density in theta = (pi_1..pi_{K-1}, mu, sigma).
        volume: log ``|d theta / d u|`` + (d / 2) log 2 pi - (1 / 2) log det(-H), the log of the
            mode's effective volume in theta.
        log_mass: fit + prior + volume, the Laplace estimate of log of the basin's
            posterior mass times p(x) (one labelled copy of the mode).
        max_log_likelihood: the largest log p(x | theta) in the same basin (the likelihood
            climbed from theta*), for comparison with ``fit``.
        gradient_norm: the norm of the gradient of l at u* (about 0 at a mode).
        occam: prior + volume (a property), the log Occam factor: the part of log_mass
            that does not depend on the coordinates the prior density is measured in.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    fit: float
    prior: float
    volume: float
    log_mass: float
    max_log_likelihood: float
    gradient_norm: float

    @property
    def occam(self) -> float:
        """The sum prior + volume, log of the prior probability of the region around theta*
        that fits about as well as theta*; unchanged by :meth:`split_in_log_stds`."""
        return self.prior + self.volume

    def split_in_log_stds(self) -> tuple[float, float]:
        """(prior, volume) with the prior density measured in theta' = (pi_1..pi_{K-1}, mu,
        log sigma) instead of theta: p(theta') = p(theta) prod_k sigma_k, so sum_k log sigma_k*
        moves from the volume to the prior, and :attr:`occam` is unchanged.

        Example:
            >>> import gmm
            >>> lm = gmm.model_choice.laplace.laplace(gmm.datasets.bento(), [0.5, 0.5], [350.0, 500.0],
            ...     [10.0, 10.0], gmm.Prior(alpha=1.0, mean_loc=400.0, mean_scale=50.0))
            >>> prior_log, volume_log = lm.split_in_log_stds()
            >>> bool(abs(prior_log + volume_log - lm.occam) < 1e-9)
            True
        """
        shift = float(np.sum(np.log(self.stds)))
        return self.prior + shift, self.volume - shift


@partial(jax.jit, static_argnames=("k", "family", "part"))
def _negative(u, x, prior_values, k, family, part):
    """Value, gradient and Hessian of -l(u) (``part="posterior"``) or of -log p(x | theta)
    (``"likelihood"``), and the three terms of l at u."""

    def f(v):
        terms = _terms(v, x, k, prior_values, family)
        return -(terms[0] + terms[1] + terms[2]) if part == "posterior" else -terms[0]

    return f(u), jax.grad(f)(u), jax.hessian(f)(u), _terms(u, x, k, prior_values, family)


def _climb(u0: np.ndarray, x, prior_values, k, family, part) -> np.ndarray:
    """Maximise l (or the log-likelihood) from u0: Newton trust region with exact Hessians."""
    from scipy import optimize  # imported here: ``import gmm`` need not pay for it

    def call(u):
        return _negative(jnp.asarray(u), x, prior_values, k, family, part)

    res = optimize.minimize(lambda u: float(call(u)[0]), u0, jac=lambda u: np.asarray(call(u)[1]),
                            hess=lambda u: np.asarray(call(u)[2]), method="trust-exact",
                            options={"gtol": 1e-8, "maxiter": 500})
    return np.asarray(res.x, np.float64)


def laplace(x: Any, weights: Any, means: Any, stds: Any, prior: Prior) -> LaplaceMass:
    """Climb from a start theta_0 to the posterior mode of its basin and split the basin's
    mass into fit + prior + volume (module docstring).

    Args:
        x: observations, shape (N,), finite numbers.
        weights, means, stds: the start theta_0, each (K,), weights positive, stds positive
            (for instance a posterior draw of the mode of interest).
        prior: the model's :class:`~gmm.models.generative.Prior`.

    Returns:
        A :class:`LaplaceMass`, the mode's components sorted by mean.

    Raises:
        ValueError: on bad data, prior or start, or when the point reached is not a
            maximum (the Hessian is not negative definite).

    Example:
        >>> import gmm
        >>> x = gmm.datasets.bento()
        >>> prior = gmm.Prior(alpha=1.0, mean_loc=400.0, mean_scale=50.0)
        >>> lm = gmm.model_choice.laplace.laplace(x, [0.5, 0.5], [350.0, 500.0], [10.0, 10.0], prior)
        >>> bool(abs(lm.fit + lm.prior + lm.volume - lm.log_mass) < 1e-9)
        True
    """
    data = as_data(x)
    prior = check_prior(prior)
    w, m, s = (np.asarray(a, np.float64).reshape(-1) for a in (weights, means, stds))
    if not (w.size == m.size == s.size >= 1):
        raise ValueError(f"weights, means and stds must have the same length K >= 1, got {w.size}, {m.size}, {s.size}.")
    for name, a in (("weights", w), ("means", m), ("stds", s)):
        for v in a:
            check_finite(v, name)
    if (w <= 0).any() or (s <= 0).any():
        raise ValueError("weights and stds of the start must be positive.")
    k = w.size
    *pv, family = prior_tuple(prior)
    with jax.enable_x64(True):
        xj = jnp.asarray(data)
        args = (xj, tuple(pv), k, family)
        u_star = _climb(to_unconstrained(w / w.sum(), m, s), *args, "posterior")
        _, grad, neg_h, terms = _negative(jnp.asarray(u_star), *args, "posterior")
        ll, lp, lj = (float(t) for t in terms)
        neg_h = np.asarray(neg_h, np.float64)
        if np.linalg.eigvalsh(neg_h).min() <= 0:
            raise ValueError("the point reached is not a maximum of the posterior (the Hessian is not "
                             "negative definite); start closer to a mode.")
        volume = lj + 0.5 * u_star.size * _LOG_2PI - 0.5 * np.linalg.slogdet(neg_h)[1]
        u_ml = _climb(u_star, *args, "likelihood")
        max_ll = float(_negative(jnp.asarray(u_ml), *args, "likelihood")[3][0])
        ws, ms, ss = (np.asarray(a, np.float64) for a in from_unconstrained(jnp.asarray(u_star), k))
    order = np.argsort(ms)
    return LaplaceMass(weights=ws[order], means=ms[order], stds=ss[order], fit=ll, prior=lp,
                       volume=float(volume), log_mass=ll + lp + float(volume),
                       max_log_likelihood=max(max_ll, ll), gradient_norm=float(np.linalg.norm(grad)))


__all__ = ["LaplaceMass", "from_unconstrained", "laplace", "log_joint", "to_unconstrained"]
