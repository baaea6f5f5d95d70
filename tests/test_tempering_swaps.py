"""Replica exchange (gmm.inference.tempering: swap_log_ratio, swap, exchange), tested directly.

Rung r targets pi_r(s) ∝ p(s) exp(beta_r l(s)). Exchanging the states of rungs i and j is a
Metropolis-Hastings move on the product of the rungs' targets, accepted with probability
min(1, pi_i(s_j) pi_j(s_i) / (pi_i(s_i) pi_j(s_j))) = min(1, exp((beta_i - beta_j)(l_j - l_i))).
The ratio is checked against that product of targets, and a three-rung ladder on a six-state
model, with the sampler's own ``exchange`` between local Metropolis moves, must keep every
rung's law, known exactly by enumeration. A ratio without the temperature difference
(exp(l_j - l_i)) fails both: the first exactly, the second by 20 to 300 standard errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

from gmm.inference import tempering

N_SIGMA = 4.0


def log_target(log_prior, log_lik, beta):
    """log of rung beta's unnormalised target p(s) exp(beta l(s))."""
    return log_prior + beta * log_lik


def test_log_ratio_is_that_of_the_product_of_the_rungs_targets():
    """For random ladders and states the code's log ratio equals
    log [pi_r(s_{r+1}) pi_{r+1}(s_r)] - log [pi_r(s_r) pi_{r+1}(s_{r+1})], the priors cancelling."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        betas = np.sort(rng.uniform(0.001, 1.0, 6))[::-1]
        betas[0] = 1.0
        log_lik = rng.normal(-50.0, 20.0, 6)
        log_prior = rng.normal(0.0, 5.0, 6)
        i, j = np.arange(5), np.arange(1, 6)
        want = (log_target(log_prior[j], log_lik[j], betas[i]) + log_target(log_prior[i], log_lik[i], betas[j])
                - log_target(log_prior[i], log_lik[i], betas[i]) - log_target(log_prior[j], log_lik[j], betas[j]))
        got = tempering.swap_log_ratio(jnp.asarray(betas, jnp.float32), jnp.asarray(log_lik, jnp.float32))
        np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-4, atol=1e-3)
        # The sampler's swap reports min(1, exp(ratio)) for every pair, proposed or not.
        _, prob, _ = tempering.swap(jax.random.key(0), jnp.arange(6), jnp.asarray(log_lik, jnp.float32),
                                    jnp.asarray(betas, jnp.float32), 0)
        np.testing.assert_allclose(np.asarray(prob, np.float64), np.minimum(1.0, np.exp(want)), rtol=1e-3, atol=1e-6)


def test_swap_exchanges_the_proposed_pairs_it_accepts():
    """Pairs (0, 1) and (2, 3) are proposed at parity 0, (1, 2) at parity 1; a hotter rung
    holding a much higher likelihood always moves down, a NaN likelihood never moves."""
    betas = jnp.asarray([1.0, 0.5, 0.25, 0.1], jnp.float32)
    lpx = jnp.asarray([-100.0, 0.0, 50.0, jnp.nan], jnp.float32)
    configs = {"a": jnp.arange(4), "b": jnp.arange(4) * 10.0}
    np.testing.assert_allclose(np.asarray(tempering.swap_log_ratio(betas, lpx)), [50.0, 12.5, -np.inf])
    new, prob, proposed = tempering.swap(jax.random.key(1), configs, lpx, betas, 0)
    np.testing.assert_array_equal(np.asarray(new["a"]), [1, 0, 2, 3])
    np.testing.assert_array_equal(np.asarray(new["b"]), [10.0, 0.0, 20.0, 30.0])
    np.testing.assert_array_equal(np.asarray(proposed), [True, False, True])
    np.testing.assert_array_equal(np.asarray(prob), [1.0, 1.0, 0.0])
    new, _, proposed = tempering.swap(jax.random.key(1), configs, lpx, betas, 1)
    np.testing.assert_array_equal(np.asarray(proposed), [False, True, False])
    np.testing.assert_array_equal(np.asarray(new["a"]), [0, 2, 1, 3])


# A six-state model and a three-rung ladder: every rung's law by enumeration.
LOG_PRIOR = np.log(np.array([0.10, 0.25, 0.15, 0.20, 0.05, 0.25]))
LOG_LIK = np.array([0.0, -4.0, -1.0, -6.0, 1.5, -3.0])
BETAS = np.array([1.0, 0.45, 0.15])
N_CHAINS, N_STEPS = 4096, 200


def rung_laws() -> np.ndarray:
    """(R, S) exact probabilities of each rung's target."""
    lt = LOG_PRIOR[None] + BETAS[:, None] * LOG_LIK[None]
    return np.exp(lt - logsumexp(lt, axis=1, keepdims=True))


@jax.jit
def run_ladder(key, start):
    """N_CHAINS chains of the ladder from ``start`` (C, R): each step, every rung makes one
    Metropolis move to a neighbouring state on a ring (reversible for its own target), then
    tempering.exchange proposes swaps (even pairs on even steps, odd on odd). Returns the
    states after every step (T, C, R) and the kept swap acceptance rates (C, R - 1)."""
    lp, ll, betas = (jnp.asarray(a, jnp.float32) for a in (LOG_PRIOR, LOG_LIK, BETAS))
    n_states = lp.shape[0]

    def step(carry, inp):
        s, stats = carry
        t, key_t = inp
        k_prop, k_acc, k_swap = jax.random.split(key_t, 3)
        prop = (s + jnp.where(jax.random.bernoulli(k_prop, 0.5, s.shape), 1, -1)) % n_states
        log_ratio = lp[prop] + betas * ll[prop] - lp[s] - betas * ll[s]
        s = jnp.where(jnp.log(jax.random.uniform(k_acc, s.shape)) < log_ratio, prop, s)
        s, _, stats = tempering.exchange(jax.random.split(k_swap, N_CHAINS), s, ll[s], betas, stats, t, 0,
                                         jnp.asarray(False))
        return (s, stats), s

    stats = tempering.init_exchange_stats(N_CHAINS, betas.shape[0], jnp.float32)
    inputs = (jnp.arange(N_STEPS, dtype=jnp.float32), jax.random.split(key, N_STEPS))
    (_, (_, swap_sum, swap_n)), states = jax.lax.scan(step, (start, stats), inputs)
    return states, swap_sum / swap_n


def test_a_ladder_with_swaps_keeps_every_rungs_law(seed):
    """Chains started from the rungs' exact laws must keep them: each state's frequency on
    each rung (standard error from the spread over independent chains), and the mean and
    variance of l on each rung. The swap acceptance rate of each pair must be E[min(1, exp(
    (beta_i - beta_j)(l_j - l_i)))] under the product of the two laws, by enumeration. A ratio
    missing the temperature difference moved rung 0's E[l] by 57 standard errors, the state
    frequencies by up to 92 and the two pairs' swap rates by 170 and 310."""
    laws = rung_laws()
    rng = np.random.default_rng(seed)
    start = np.stack([rng.choice(LOG_LIK.size, N_CHAINS, p=p) for p in laws], axis=1)
    states, rates = run_ladder(jax.random.key(seed), jnp.asarray(start, jnp.int32))
    states = np.asarray(states)  # (T, C, R)
    # Per chain time averages: independent across chains, each with expectation the exact value.
    freq = np.stack([(states == k).mean(axis=0) for k in range(LOG_LIK.size)], axis=-1)  # (C, R, S)
    z_freq = (freq.mean(axis=0) - laws) / (freq.std(axis=0, ddof=1) / np.sqrt(N_CHAINS))
    ll = LOG_LIK[states]
    mean_l = (laws * LOG_LIK).sum(axis=1)
    var_l = (laws * (LOG_LIK[None] - mean_l[:, None]) ** 2).sum(axis=1)
    z_l = []
    for f, ref in ((ll, mean_l), ((ll - mean_l) ** 2, var_l)):
        per_chain = f.mean(axis=0)  # (C, R)
        z_l.append((per_chain.mean(axis=0) - ref) / (per_chain.std(axis=0, ddof=1) / np.sqrt(N_CHAINS)))
    # The acceptance probability of each pair, exact under pi_r x pi_{r+1}.
    acc = np.minimum(1.0, np.exp((BETAS[:-1, None, None] - BETAS[1:, None, None])
                                 * (LOG_LIK[None, None, :] - LOG_LIK[None, :, None])))  # (R - 1, s_r, s_{r+1})
    exact_rate = np.einsum("ra,rb,rab->r", laws[:-1], laws[1:], acc)
    rates = np.asarray(rates, np.float64)
    z_rate = (rates.mean(axis=0) - exact_rate) / (rates.std(axis=0, ddof=1) / np.sqrt(N_CHAINS))
    z = np.abs(np.concatenate([z_freq.ravel(), *z_l, z_rate]))
    assert np.all(z < N_SIGMA), (z_freq, z_l, z_rate)
