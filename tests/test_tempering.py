"""Parallel tempering internals (gmm/inference/tempering.py): every rung's sweep leaves its tempered
posterior p(theta) p(x | theta)^beta invariant, and the warmup ladder equalises swap rates.

The reference for a rung is self-normalised importance sampling from the prior with weights
p(x | theta)^beta, in float64 NumPy on a small data set, where that is accurate: it shares no
code with the sampler. A sweep without the g-corrections (the complete-data tempered
conditionals alone) targets another law and must fail the same comparison.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

import gmm
from gmm.inference import tempering
from gmm.models.generative import Prior

X = np.array([-1.9, -1.6, -1.4, -1.3, -1.1, -0.2, 0.9, 1.2, 1.3, 1.5, 1.7, 2.2], np.float32)
PRIOR = Prior(alpha=1.0, mean_loc=0.0, mean_scale=2.0, std_shape=2.0, std_rate=2.0)
N_CHAINS, N_SWEEPS, N_BURN = 128, 1200, 200


def sorted_stats(w: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Statistics invariant to labels, (..., 5): sorted means, their sds and the lower one's weight."""
    order = np.argsort(m, axis=-1)
    take = lambda a: np.take_along_axis(a, order, axis=-1)  # noqa: E731
    w, m, s = take(w), take(m), take(s)
    return np.concatenate([m, s, w[..., :1]], axis=-1)


def is_reference(beta: float, n: int = 400_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """E[stats] under p(theta) p(x | theta)^beta and its delta-method standard error."""
    rng = np.random.default_rng(seed)
    w = rng.dirichlet([PRIOR.alpha] * 2, n)
    m = rng.normal(PRIOR.mean_loc, PRIOR.mean_scale, (n, 2))
    s = rng.gamma(PRIOR.std_shape, 1.0 / PRIOR.std_rate, (n, 2))
    x = X.astype(np.float64)[None, :, None]
    comp = np.log(w[:, None, :]) - 0.5 * ((x - m[:, None, :]) / s[:, None, :]) ** 2 - np.log(s[:, None, :] * np.sqrt(2 * np.pi))
    log_w = beta * logsumexp(comp, axis=2).sum(axis=1)
    p = np.exp(log_w - logsumexp(log_w))
    f = sorted_stats(w, m, s)
    mean = p @ f
    return mean, np.sqrt((p**2) @ (f - mean) ** 2)


def make_chains():
    """A jitted function (key, beta) -> N_CHAINS independent chains of
    :func:`gmm.inference.tempering.tempered_sweep` at one fixed beta (no swaps): per-chain means of the
    statistics after burn-in. Traced afresh by each call of this factory."""
    x = jnp.asarray(X)

    def one(key_c, beta):
        k_init, k_run = jax.random.split(key_c)
        centres = jnp.sort(jax.random.choice(k_init, x, (2,), replace=False))
        state = tempering.init_rung_state(*tempering._init_chain(centres, x, jnp.float32(0.5)), x)

        def step(state, inp):
            t, k = inp
            rate = jnp.where(t < N_BURN, 1.0 / (t + 1.0) ** 0.6, 0.0)
            state, _, _ = tempering.tempered_sweep(k, state, x, PRIOR, 3, rate, beta, 0.44)
            return state, state[1:4]

        _, draws = jax.lax.scan(step, state, (jnp.arange(N_SWEEPS, dtype=jnp.float32), jax.random.split(k_run, N_SWEEPS)))
        return draws

    @jax.jit
    def chains(key, beta):
        return jax.vmap(one, in_axes=(0, None))(jax.random.split(key, N_CHAINS), beta)

    def run(beta: float, key: int) -> np.ndarray:
        draws = chains(jax.random.key(key), jnp.float32(beta))
        w, m, s = (np.asarray(a, np.float64)[:, N_BURN:] for a in draws)
        return sorted_stats(w, m, s).mean(axis=1)

    return run


run_rung = make_chains()


def z_scores(beta: float, key: int, run=run_rung) -> np.ndarray:
    per_chain = run(beta, key)
    ref, ref_se = is_reference(beta)
    se = np.hypot(per_chain.std(axis=0, ddof=1) / np.sqrt(N_CHAINS), ref_se)
    return (per_chain.mean(axis=0) - ref) / se


@pytest.mark.parametrize("beta", [1.0, 0.3, 0.05])
def test_each_rung_samples_its_tempered_posterior(beta):
    z = z_scores(beta, 1)
    assert np.all(np.abs(z) < 4.5), z


def test_without_the_g_corrections_a_rung_samples_the_wrong_law(monkeypatch):
    """The check above can fail: accepting every complete-data proposal (no g) targets
    p(theta) prod_i sum_k (pi_k N_ik)^beta, which at beta = 0.3 pulls the means together."""

    def accept_all(key, cur, cols, params, beta):
        lpx, log_g = tempering.marginal_terms(cols, beta)
        return (log_g, lpx, cols, params), jnp.asarray(True)

    monkeypatch.setattr(tempering, "_g_corrected", accept_all)
    z = z_scores(0.3, 1, make_chains())
    assert np.max(np.abs(z)) > 8, z


def test_equalised_ladder_balances_rejections():
    betas = jnp.asarray(tempering.geometric_ladder(6, 0.01), jnp.float32)
    accept = jnp.asarray([0.2, 0.4, 0.6, 0.8, 0.9], jnp.float32)
    new = np.asarray(tempering.equalised_ladder(betas, accept), np.float64)
    assert new[0] == 1.0 and new[-1] == pytest.approx(0.01) and np.all(np.diff(new) < 0)
    # Piecewise-linear cumulative rejection in log beta, evaluated at the new rungs: equal steps.
    cum = np.concatenate([[0.0], np.cumsum(1.0 - np.asarray(accept, np.float64))])
    lam = np.interp(-np.log(new), -np.log(np.asarray(betas, np.float64)), cum)
    np.testing.assert_allclose(np.diff(lam), cum[-1] / 5, rtol=1e-4)
    # Equal rates already: the ladder does not move.
    same = tempering.equalised_ladder(betas, jnp.full(5, 0.5, jnp.float32))
    np.testing.assert_allclose(np.asarray(same), np.asarray(betas), rtol=1e-5)


def test_ladder_adapts_in_warmup_only_and_keeps_its_ends():
    x = gmm.datasets.galaxies()
    prior = gmm.Prior(alpha=1.0, mean_loc=20.0, mean_scale=10.0, std_shape=2.0, std_rate=1.0)
    kw = dict(prior=prior, n_samples=300, n_warmup=256, n_temperatures=8, min_inverse_temperature=0.003)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains: only the ladder is checked
        fixed = gmm.gibbs(jax.random.key(0), x, 2, adapt_ladder=False, **kw)
        adapted = gmm.gibbs(jax.random.key(0), x, 2, **kw)
    np.testing.assert_allclose(fixed.inverse_temperatures, tempering.geometric_ladder(8, 0.003), rtol=1e-6)
    b = adapted.inverse_temperatures
    assert b[0] == 1.0 and b[-1] == pytest.approx(0.003, rel=1e-5) and np.all(np.diff(b) < 0)
    # The geometric ladder's swap rates climb from the cold end to the hot one; the adapted
    # ladder moves rungs towards beta = 1 and evens them out.
    assert b[1] > fixed.inverse_temperatures[1]
    rates_fixed, rates = fixed.swap_acceptance_rate.mean(axis=0), adapted.swap_acceptance_rate.mean(axis=0)
    assert np.ptp(rates) < 0.5 * np.ptp(rates_fixed), (rates, rates_fixed)
    assert rates.min() > rates_fixed.min()


@pytest.mark.parametrize(("t", "n_warmup", "expected"), [
    (31, 64, True), (31, 63, False), (63, 500, True), (127, 500, True), (255, 500, False), (255, 512, True),
    (47, 500, False), (0, 500, False), (1023, 1000, False),
])
def test_adaptation_points(t, n_warmup, expected):
    assert bool(tempering.adapts_ladder_at(jnp.asarray(float(t)), n_warmup)) is expected
