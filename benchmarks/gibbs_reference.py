"""A plain-JAX Gibbs sweep for the 1-D Bayesian GMM: the yardstick for ``gmm.gibbs``'s overhead.

The same model and the same moves as ``gmm.gibbs`` with one temperature: z_i from its
softmax, pi ~ Dirichlet(alpha + n_k), mu_k from its normal full conditional, then
``n_mh`` random-walk Metropolis steps on every log sigma_k (Gamma prior on sigma, Jacobian
included), with a fixed step. Densities are written out by hand with ``jax.scipy``: no
GenJAX, no relabelling, no diagnostics, no Rao-Blackwellised assignment probabilities.
It lives here, not in the package: it exists only to be timed against.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from jax.scipy.stats import norm


def _log_std_target(x, z, means, stds, k, a, b):
    ll = norm.logpdf(x[:, None], means, stds)  # (N, K)
    lik = jnp.sum(jnp.where(z[:, None] == jnp.arange(k), ll, 0.0), axis=0)
    log_prior = a * jnp.log(b) - gammaln(a) + (a - 1.0) * jnp.log(stds) - b * stds
    return log_prior + lik + jnp.log(stds)


def sweep(key, state, x, prior, n_mh: int, step: float):
    """One sweep; prior = (alpha, m0, s0, a, b); state = (weights, means, stds)."""
    weights, means, stds = state
    alpha, m0, s0, a, b = prior
    k = weights.shape[0]
    k_z, k_w, k_m, k_s = jax.random.split(key, 4)
    logits = jnp.log(weights) + norm.logpdf(x[:, None], means, stds)
    z = jax.random.categorical(k_z, logits, axis=1)
    onehot = z[:, None] == jnp.arange(k)
    counts = onehot.sum(axis=0).astype(x.dtype)
    sums = jnp.where(onehot, x[:, None], 0.0).sum(axis=0)
    weights = jax.random.dirichlet(k_w, alpha + counts)
    prec = 1.0 / s0**2 + counts / stds**2
    loc = (m0 / s0**2 + sums / stds**2) / prec
    means = loc + jax.random.normal(k_m, (k,)) / jnp.sqrt(prec)

    def mh(carry, key_t):
        stds, cur = carry
        k_prop, k_acc = jax.random.split(key_t)
        prop = stds * jnp.exp(step * jax.random.normal(k_prop, (k,)))
        new = _log_std_target(x, z, means, prop, k, a, b)
        accept = jnp.log(jax.random.uniform(k_acc, (k,))) < new - cur
        return (jnp.where(accept, prop, stds), jnp.where(accept, new, cur)), None

    cur = _log_std_target(x, z, means, stds, k, a, b)
    (stds, _), _ = jax.lax.scan(mh, (stds, cur), jax.random.split(k_s, n_mh))
    return weights, means, stds


@partial(jax.jit, static_argnames=("n_sweeps", "n_mh"))
def run(key, x, prior, init, n_sweeps: int, n_mh: int = 3, step: float = 0.5):
    """``n_sweeps`` sweeps of one chain; returns the (n_sweeps, K) draws of (weights, means, stds)."""

    def body(state, key_t):
        state = sweep(key_t, state, x, prior, n_mh, step)
        return state, state

    _, draws = jax.lax.scan(body, init, jax.random.split(key, n_sweeps))
    return draws
