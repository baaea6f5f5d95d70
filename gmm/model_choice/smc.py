"""The adaptive tempered SMC kernel behind :func:`gmm.log_marginal_likelihood`.

Float32 on standardised data (see :func:`gmm.model_choice.evidence._smc_launch`), every run vmapped in
one jitted function, and one compilation for every K up to the padded K_max: the
likelihood evaluates only the smallest of four row buckets that holds K. Random numbers
come from counter-based hashed streams, far cheaper on CPU than XLA's Threefry or RBG.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, logsumexp

from gmm.models.generative import log_std_density

_LOG_2PI = math.log(2.0 * math.pi)


def _smc_log_prior(theta, active, prior, family):
    """Prior density of the unconstrained coordinates (v = log g, mu, w = log sigma), per particle.

    pi = g / sum g with g_k ~ Gamma(alpha, 1) is Dirichlet(alpha); sigma from ``family``'s
    prior (:func:`gmm.models.generative.log_std_density`). Densities are of (log g, mu, log sigma),
    Jacobians included. theta: (..., 3, K_max); prior: (alpha, m0, s0, a, b).
    """
    alpha, m0, s0, a, b = prior
    v, mu, w = theta[..., 0, :], theta[..., 1, :], theta[..., 2, :]
    lp_v = alpha * v - jnp.exp(v) - gammaln(alpha)
    lp_mu = -0.5 * ((mu - m0) / s0) ** 2 - jnp.log(s0) - 0.5 * _LOG_2PI
    lp_w = log_std_density(w, family, a, b) + w
    return jnp.sum(jnp.where(active, lp_v + lp_mu + lp_w, 0.0), axis=-1)


def _smc_log_lik(theta, active, x, x_mask):
    """log p(x | pi, mu, sigma) with z summed out, per particle; theta: (..., 3, K_max).

    The (..., K_max, N) table of log pi_k + log N(x_i | mu_k, sigma_k) keeps the points on
    the minor axis, so the sum over components is elementwise across contiguous rows (4-8x
    faster on CPU than reducing a minor axis of length K_max).
    """
    v = jnp.where(active, theta[..., 0, :], -jnp.inf)
    log_pi = v - logsumexp(v, axis=-1, keepdims=True)
    mu, w = theta[..., 1, :], theta[..., 2, :]
    z = (x[..., None, :] - mu[..., :, None]) * jnp.exp(-w)[..., :, None]
    comp = (log_pi - w)[..., :, None] - 0.5 * z**2
    top = jnp.max(comp, axis=-2)
    per_point = top + jnp.log(jnp.sum(jnp.exp(comp - top[..., None, :]), axis=-2)) - 0.5 * _LOG_2PI
    ll = jnp.sum(jnp.where(x_mask, per_point, 0.0), axis=-1)
    return jnp.where(jnp.isnan(ll), -jnp.inf, ll)


def ess_fraction(log_w):
    """ESS / M = (sum w)^2 / (M sum w^2) of unnormalised log weights."""
    return jnp.exp(2.0 * logsumexp(log_w) - logsumexp(2.0 * log_w) - jnp.log(log_w.shape[0]))


def _hash32(x: jax.Array) -> jax.Array:
    """Wellons' "lowbias32" integer hash of uint32s (full avalanche in two multiplies)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _stream(seed: jax.Array, *ids: Any) -> jax.Array:
    """A uint32 sub-seed for the stream named by the integers ``ids`` (step, sweep, component)."""
    for i in ids:
        seed = _hash32(seed ^ _hash32(jnp.asarray(i).astype(jnp.uint32) * jnp.uint32(0x9E3779B9) + jnp.uint32(1)))
    return seed


def _uniforms(seed: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Uniforms in (0, 1), float32, from a counter-based hash of (counter, seed).

    A counter-based generator inside the sampler: XLA's CPU Threefry and RBG cost 20-80 ns
    a number, more than the likelihood they feed, and this costs a few integer operations.
    Only the Metropolis moves and the resampling use it, and neither needs more than
    well-mixed bits (the estimator stays unbiased for any proposal noise).
    """
    count = jax.lax.iota(jnp.uint32, math.prod(shape)).reshape(shape)
    bits = _hash32(_hash32(count + seed) ^ _hash32(seed ^ jnp.uint32(0x5BD1E995)))
    return ((bits >> 8).astype(jnp.float32) + 0.5) * (2.0**-24)


def systematic_resample(u, log_w):
    """Systematic resampling indices from one uniform u in (0, 1)."""
    m = log_w.shape[0]
    w = jnp.exp(log_w - logsumexp(log_w))
    cdf = jnp.cumsum(w)
    pos = (u + jnp.arange(m)) / m
    return jnp.clip(jnp.searchsorted(cdf, pos), 0, m - 1)


@partial(jax.jit, static_argnames=("n_moves", "max_steps", "family"))
def run_smc(seeds, theta0, x, x_mask, k, prior, ess_target, *, n_moves, max_steps, family):
    """Adaptive tempered SMC from the prior to the posterior, ``n_runs`` independent runs.

    Targets pi_t(theta) ∝ p(theta) p(x | theta)^beta_t; each step picks beta_{t+1} by
    bisection so that the ESS of the incremental weights is ``ess_target`` M, multiplies
    the evidence estimate by mean(exp((beta_{t+1} - beta_t) log L)), resamples
    (systematic), and applies ``n_moves`` sweeps of component-wise random-walk Metropolis
    on (log g_k, mu_k, log sigma_k) targeting pi_{t+1}. The steps are uniform, with the sd
    of the particle cloud's component of the same rank by mean (so a narrow component is
    not moved with a wide one's step; the rank can change, hence a Hastings ratio) times
    a factor adapted towards 30% acceptance. Random numbers come from counter-based
    streams (:func:`_uniforms`), one per run, step, sweep and component.

    Args:
        seeds: one uint32 seed per run, shape (R,), for the counter-based streams of
            :func:`_uniforms`.
        theta0: prior draws (log g, mu, log sigma), shape (R, M, 3, K_max), float32, in the
            standardised units of x (see _smc_launch).

    Returns:
        log Z per run, tempering steps per run and mean acceptance per run, each (R,), and
        the final particles (R, M, 3, K_max): equally weighted draws from the posterior
        (resampled, then moved at beta = 1), in the coordinates of theta0.
    """
    n_particles, k_max = theta0.shape[1], theta0.shape[3]
    active = jnp.arange(k_max) < k
    # The likelihood costs one row per padded component: evaluate only the first
    # `rows` components, the smallest of these static sizes >= K (one branch runs).
    row_sizes = sorted({-(-k_max * i // 4) for i in range(1, 5)})
    which = jnp.sum(jnp.asarray(row_sizes) < k)

    def log_lik(theta):
        branches = [partial(lambda r, th: _smc_log_lik(th[..., :r], active[:r], x, x_mask), r) for r in row_sizes]
        return jax.lax.switch(which, branches, theta)
    dim_scale = 2.38 / jnp.sqrt(3.0)

    def one_run(seed, theta):
        ll = log_lik(theta)

        def find_delta(ll, beta):
            rest = 1.0 - beta
            ok_all = ess_fraction(rest * ll) >= ess_target

            def bisect(_, lohi):
                lo, hi = lohi
                mid = 0.5 * (lo + hi)
                good = ess_fraction(mid * ll) >= ess_target
                return jnp.where(good, mid, lo), jnp.where(good, hi, mid)

            lo, _ = jax.lax.fori_loop(0, 40, bisect, (jnp.zeros_like(rest), rest))
            return jnp.where(ok_all, rest, jnp.maximum(lo, 1e-12 * rest))

        def sweep(carry, seed_s, beta, scales):
            theta, ll, lp, acc = carry

            def comp(j, inner):
                theta, ll, lp, acc = inner
                u = _uniforms(_stream(seed_s, j), (n_particles, 4))
                # Uniform random-walk steps with the sd of the cloud's component of the same
                # rank by mean: s(rank) forward, s(rank') back, hence the Hastings ratio
                # prod s / s' and the reverse step's box |eps| <= sqrt(3) s'.
                s_fwd = scales.T[_rank(theta, j)]  # (M, 3)
                eps = (u[:, :3] - 0.5) * (2.0 * math.sqrt(3.0)) * s_fwd
                prop = theta.at[:, :, j].add(eps)
                s_back = scales.T[_rank(prop, j)]
                inside = jnp.all(jnp.abs(eps) <= math.sqrt(3.0) * s_back, axis=1)
                log_q = jnp.sum(jnp.log(s_fwd) - jnp.log(s_back), axis=1)
                ll_p = log_lik(prop)
                lp_p = _smc_log_prior(prop, active, prior, family)
                log_r = jnp.where(inside, beta * (ll_p - ll) + lp_p - lp + log_q, -jnp.inf)
                log_r = jnp.where(jnp.isnan(log_r), -jnp.inf, log_r)
                ok = jnp.log(u[:, 3]) < log_r
                theta = jnp.where(ok[:, None, None], prop, theta)
                return theta, jnp.where(ok, ll_p, ll), jnp.where(ok, lp_p, lp), acc + ok.mean()

            theta, ll, lp, acc = jax.lax.fori_loop(0, k, comp, (theta, ll, lp, acc))
            return theta, ll, lp, acc

        def _rank(theta, j):
            """Rank of component j by mean among the active ones (ties by index), (M,)."""
            mu = theta[:, 1, :]
            mu_j = mu[:, j][:, None]
            idx = jnp.arange(k_max)
            below = (mu < mu_j) | ((mu == mu_j) & (idx < j))
            return jnp.sum(active & below, axis=1)

        def cloud_scales(theta):
            """sd over the particles of (log g, mu, log sigma) of the components sorted by
            mean, per rank, (3, K_max)."""
            order = jnp.argsort(jnp.where(active, theta[:, 1, :], jnp.inf), axis=1)
            srt = jnp.take_along_axis(theta, order[:, None, :], axis=2)
            return jnp.std(srt, axis=0) + 1e-6

        def cond(state):
            step, beta = state[0], state[1]
            return (beta < 1.0) & (step < max_steps)

        def body(state):
            step, beta, theta, ll, log_z, factor, acc_sum = state
            seed_t = _stream(seed, step)
            delta = find_delta(ll, beta)
            delta = jnp.where(step == max_steps - 1, 1.0 - beta, delta)
            log_inc = delta * ll
            log_z = log_z + logsumexp(log_inc) - jnp.log(n_particles)
            idx = systematic_resample(_uniforms(_stream(seed_t, k_max), ())[()], log_inc)
            theta, ll = theta[idx], ll[idx]
            beta = jnp.minimum(beta + delta, 1.0)
            beta = jnp.where(1.0 - beta < 1e-12, 1.0, beta)
            lp = _smc_log_prior(theta, active, prior, family)
            scales = factor * dim_scale * cloud_scales(theta)

            def mv(carry, i):
                return sweep(carry, _stream(seed_t, k_max + 1 + i), beta, scales), None

            (theta, ll, _, acc), _ = jax.lax.scan(
                mv, (theta, ll, lp, jnp.zeros((), ll.dtype)), jnp.arange(n_moves)
            )
            rate = acc / (n_moves * k)
            factor = jnp.clip(factor * jnp.exp(rate - 0.3), 0.02, 5.0)
            return step + 1, beta, theta, ll, log_z, factor, acc_sum + rate

        zero = jnp.zeros((), ll.dtype)
        state = (jnp.zeros((), jnp.int32), zero, theta, ll, zero, zero + 1.0, zero)
        step, _, theta, _, log_z, _, acc_sum = jax.lax.while_loop(cond, body, state)
        return log_z, step, acc_sum / jnp.maximum(step, 1), theta

    return jax.vmap(one_run)(seeds, theta0)


def pad_points(n: int) -> int:
    """N rounded up to 16 steps per doubling (multiples of 8, at least 16): padded points cost as much as
    real ones, so the buckets are finer than powers of two (82 -> 88, not 128)."""
    step = max(8, 1 << max(0, (max(n, 1) - 1).bit_length() - 4))
    return max(16, -(-n // step) * step)
