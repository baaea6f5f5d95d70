"""gmm.advi: ADEV gradient estimates against a closed-form ELBO, q's density against direct
integration and exact enumeration, the fit against EM on the bentos, and bad input.

Every fit here shares one configuration (mean-field, reparam, 2000 steps, 4 particles), so a
data size compiles once per session.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln, logsumexp

import gmm
from gmm.inference import advi as A
from gmm.inference import advi_q

FIT = dict(family="mean_field", estimator="reparam", n_steps=2000, learning_rate=0.05, n_particles=4)
TINY = np.array([-2.1, -1.8, -2.3, 1.7, 2.2, 2.0])
TINY_PRIOR = gmm.Prior(alpha=1.0, mean_loc=0.0, mean_scale=2.0, std_shape=2.0, std_rate=4.0)


def _fit(key, x, k, prior, **kw):
    return A.fit(key, np.asarray(x, np.float64), k, prior, **{**FIT, **kw})


def _log_joint(x, prior, w, m, s):
    """log p(x, pi_1..K-1, mu, sigma) with SciPy, assignments summed out; w, m, s (n, K)."""
    k = w.shape[1]
    a, b = prior.std_params
    lp = gammaln(k * prior.alpha) - k * gammaln(prior.alpha) + (prior.alpha - 1) * np.log(w).sum(1)
    lp += stats.norm.logpdf(m, prior.mean_loc, prior.mean_scale).sum(1)
    lp += stats.gamma.logpdf(s, a, scale=1 / b).sum(1)
    comp = np.log(w)[:, None, :] + stats.norm.logpdf(x[None, :, None], m[:, None, :], s[:, None, :])
    return lp + logsumexp(comp, axis=2).sum(1)


def _draws(sampler, key, n):
    w, m, c, log_q = sampler(key, n)
    return w, m[..., 0], np.sqrt(c[..., 0, 0]), log_q


# ---------------------------------------------------------------------------
# 1. The gradient estimators are unbiased
# ---------------------------------------------------------------------------

# log p(u) = -u' Lam u / 2 + b' u: theta ~ N(0, 1), y_i | theta ~ N(theta, 1) for y = (0.5, 1.2, -0.3)
# in 1-D (Lam = 1 + 3, b = sum y), and a correlated Gaussian in 2-D.
GAUSSIANS = {
    "mean_field": (np.array([[4.0]]), np.array([1.4]),
                   {"loc": [0.2], "log_scale": [-0.4]}),
    "full_rank": (np.array([[2.0, 0.8], [0.8, 1.5]]), np.array([0.3, -0.5]),
                  {"loc": [0.2, -0.1], "log_scale": [-0.3, 0.2], "unit_tril": [[0.0, 0.0], [0.4, 0.0]]}),
}


def _closed_form_elbo(params, family, lam, b):
    """E_q[log p(u)] + H(q) for q = N(m, L L^T):
    -(tr(Lam S) + m' Lam m) / 2 + b' m + sum log diag L + const."""
    m, tril = params["loc"], A.scale_tril(params, family)
    s = tril @ tril.T
    return -0.5 * (jnp.trace(lam @ s) + m @ lam @ m) + b @ m + jnp.sum(jnp.log(jnp.diag(tril)))


@pytest.mark.parametrize("estimator", A.ESTIMATORS)
@pytest.mark.parametrize("family", A.FAMILIES)
def test_gradient_estimates_are_unbiased(family, estimator):
    from genjax import seed

    lam, b, params = GAUSSIANS[family]
    with jax.enable_x64(True):
        lam, b = jnp.asarray(lam), jnp.asarray(b)
        params = {name: jnp.asarray(v, jnp.float64) for name, v in params.items()}
        elbo = A.make_elbo(lambda u: -0.5 * u @ lam @ u + b @ u, b.size, family, estimator)
        n = 20_000
        keys = jax.random.split(jax.random.key(0), n)
        draws = jax.jit(jax.vmap(seed(elbo.grad_estimate), in_axes=(0, None)))(keys, params)
        exact = jax.grad(_closed_form_elbo)(params, family, lam, b)
        est, ref = np.asarray(A.flat_params(draws, family)), np.asarray(A.flat_params(exact, family))
    se = est.std(axis=0, ddof=1) / math.sqrt(n)
    np.testing.assert_array_less(np.abs(est.mean(axis=0) - ref), 4 * se + 1e-9)
    assert np.any(np.abs(ref) > 0.1)  # a point away from the optimum, so a zero-mean estimator would fail


# ---------------------------------------------------------------------------
# 2. q's density is in the prior's measure, and symmetrised over labellings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3])
def test_log_q_integrates_to_one_in_the_priors_measure(k):
    """E_prior[q(theta) / p(theta)] = 1 for a density q of (pi_1..pi_{K-1}, mu, sigma); a wrong Jacobian
    (log sigma instead of sigma, K weights instead of K - 1) or a missing log K! moves it far from 1."""
    rng = np.random.default_rng(0)
    alpha, m0, s0, a, b = 1.5, 0.0, 1.0, 3.0, 3.0
    n, p = 300_000, 3 * k - 1
    w, mu, sd = rng.dirichlet(np.full(k, alpha), n), rng.normal(m0, s0, (n, k)), rng.gamma(a, 1 / b, (n, k))
    log_prior = (stats.dirichlet.logpdf(w.T, np.full(k, alpha)) + stats.norm.logpdf(mu, m0, s0).sum(1)
                 + stats.gamma.logpdf(sd, a, scale=1 / b).sum(1))
    loc = np.concatenate([np.linspace(-0.3, 0.3, k - 1), np.linspace(-0.5, 0.5, k), np.full(k, -0.1)])
    tril = np.tril(rng.normal(0, 0.1, (p, p)), -1) + np.diag(np.full(p, 0.4))
    for factors in ({"loc": loc, "scale": np.full(p, 0.4)}, {"loc": loc, "scale_tril": tril}):
        for symmetrise in (False, True):
            ratio = np.exp(advi_q.log_q_theta(np.log(w), mu, np.log(sd), factors, symmetrise) - log_prior)
            assert abs(ratio.mean() - 1) < 4 * ratio.std() / math.sqrt(n), (list(factors), symmetrise)


def test_tiny_data_elbo_below_exact_evidence_and_importance_sampling_matches_it():
    exact = gmm.exact_log_marginal_likelihood(TINY, 2, prior=TINY_PRIOR)
    fit = _fit(jax.random.key(0), TINY, 2, TINY_PRIOR)
    tail = fit.elbo[-200:]
    assert tail.mean() + 3 * tail.std() / math.sqrt(tail.size) < exact
    # The optimiser's estimate (GenJAX assess) is the ELBO of the sampler's q with an independent log joint.
    w, m, s, _ = _draws(advi_q.make_sampler(fit.factors, 2, symmetrise=False), jax.random.key(1), 200_000)
    log_q = advi_q.log_q_theta(np.log(w), m, np.log(s), fit.factors, symmetrise=False)
    log_w = _log_joint(TINY, TINY_PRIOR, w, m, s) - log_q
    assert abs(log_w.mean() - tail.mean()) < 0.05
    # q covers one labelling: importance sampling with it finds about p(x) / 2! ...
    assert logsumexp(log_w) - math.log(log_w.size) < exact - 0.5
    # ... and with the symmetrised density (the sampler's log_q) the evidence itself, within the error bar.
    w, m, s, log_q = _draws(fit.sampler, jax.random.key(2), 200_000)
    log_w = _log_joint(TINY, TINY_PRIOR, w, m, s) - log_q
    norm = np.exp(log_w - logsumexp(log_w))
    ess = 1 / np.sum(norm**2)
    stderr = math.sqrt((log_w.size / ess - 1) / log_w.size)
    assert ess > 500
    assert abs(logsumexp(log_w) - math.log(log_w.size) - exact) < max(4 * stderr, 0.02)
    assert log_w.mean() < exact  # the ELBO of the symmetrised q is a bound too


def test_one_component_importance_sampling_matches_exact_evidence():
    post = A.advi(jax.random.key(0), TINY, 1, prior=TINY_PRIOR, n_draws=100)
    assert post.factors["loc"].shape == (2,) and np.all(post.weights == 1.0)
    w, m, s, log_q = _draws(_fit(jax.random.key(0), TINY, 1, TINY_PRIOR).sampler, jax.random.key(1), 100_000)
    log_w = _log_joint(TINY, TINY_PRIOR, w, m, s) - log_q
    stderr = math.sqrt(np.exp(logsumexp(2 * log_w) - 2 * logsumexp(log_w)) - 1 / log_w.size)
    exact = gmm.exact_log_marginal_likelihood(TINY, 1, prior=TINY_PRIOR)
    assert abs(logsumexp(log_w) - math.log(log_w.size) - exact) < max(4 * stderr, 0.01)


# ---------------------------------------------------------------------------
# 3. The bentos: the means of EM, a rising ELBO, REINFORCE noisier than reparam
# ---------------------------------------------------------------------------


def test_bentos_means_match_em_elbo_rises_and_reinforce_is_noisier():
    x = np.asarray(gmm.datasets.bento(), np.float64)
    prior = gmm.Prior()  # chapter 5's
    fit = _fit(jax.random.key(0), x, 2, prior)
    em = gmm.fit_em(jax.random.key(0), x, 2)
    loc, scale = fit.factors["loc"], fit.factors["scale"]
    # EM's means are the clusters' sample means; the posterior means differ from them by the prior's
    # shrinkage, (sigma^2 / n_k) / mean_scale^2 * |mean - mean_loc| < 0.01 g here. ADVI must put q's mean of
    # each mu_k within a quarter of q's own sd of it (0.5 to 0.75 g) of that.
    np.testing.assert_array_less(np.abs(np.sort(loc[1:3]) - np.ravel(em.mixture.means)), 0.25 * scale[1:3])
    w, m, s, _ = _draws(fit.sampler, jax.random.key(1), 4000)
    assert abs(w[:, 0].mean() - 9 / 22) < 0.05  # pi_1 | z of EM's clusters ~ Beta(8 + 1, 12 + 1)
    window = fit.elbo.size // 10
    assert fit.elbo[-window:].mean() > fit.elbo[:window].mean() + 20
    assert fit.converged
    grads = {est: A.gradient_samples(jax.random.key(2), x, 2, fit.factors, prior=prior, family="mean_field",
                                     estimator=est, n=300) for est in A.ESTIMATORS}
    assert grads["reparam"].shape == (300, 10)
    np.testing.assert_array_less(10 * grads["reparam"].var(axis=0), grads["reinforce"].var(axis=0))


def test_results_are_in_data_units():
    """Data moved to 1e6 + 1000 x: the same standardised problem, so q moves with the data exactly."""
    x = np.asarray(gmm.datasets.bento(), np.float64)
    prior = gmm.Prior()
    a, b = 1e6, 1000.0
    moved = gmm.Prior(prior.alpha, a + b * prior.mean_loc, b * prior.mean_scale, prior.std_shape,
                      prior.std_rate / b)
    one, two = _fit(jax.random.key(3), x, 2, prior), _fit(jax.random.key(3), a + b * x, 2, moved)
    np.testing.assert_allclose(two.factors["loc"][1:3], a + b * one.factors["loc"][1:3], rtol=1e-9)
    np.testing.assert_allclose(two.factors["loc"][3:], one.factors["loc"][3:] + math.log(b), atol=1e-6)
    np.testing.assert_allclose(two.elbo, one.elbo - x.size * math.log(b), atol=1e-5)


# ---------------------------------------------------------------------------
# 4. The public entry, bad input, reproducibility
# ---------------------------------------------------------------------------


def test_advi_returns_a_vi_posterior_reproducibly():
    post = A.advi(jax.random.key(4), TINY[:, None], 2, prior=TINY_PRIOR, n_draws=500)
    again = A.advi(jax.random.key(4), TINY, 2, prior=TINY_PRIOR, n_draws=500)
    other = A.advi(jax.random.key(5), TINY, 2, prior=TINY_PRIOR, n_draws=500)
    assert post.method == "advi" and post.elbo.shape == (A.N_STEPS,) and post.factors["scale"].shape == (5,)
    assert post.weights.shape == (1, 500, 2) and post.means.shape == (1, 500, 2)
    np.testing.assert_allclose(post.assignment_probs.sum(axis=1), 1.0)
    assert np.all(post.assignment_probs[:3, 0] > 0.9) and np.all(post.assignment_probs[3:, 1] > 0.9)
    for name in ("elbo", "weights", "means", "stds", "assignment_probs"):
        np.testing.assert_array_equal(getattr(post, name), getattr(again, name))
    assert not np.array_equal(post.elbo, other.elbo)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.zeros((5, 2))), "gmm.cavi"),
    (dict(x=[1.0, np.nan, 2.0]), "finite"),
    (dict(n_components=0), "n_components"),
    (dict(n_components=7), "n_components"),
    (dict(n_components=1.5), "n_components"),
    (dict(family="diag"), "family"),
    (dict(estimator="score"), "estimator"),
    (dict(n_steps=0), "n_steps"),
    (dict(n_steps=2.5), "n_steps"),
    (dict(learning_rate=-0.1), "learning_rate"),
    (dict(learning_rate=float("nan")), "learning_rate"),
    (dict(learning_rate=1e3), "diverged with learning_rate"),
    (dict(n_particles=0), "n_particles"),
    (dict(n_draws=0), "n_draws"),
    (dict(prior="chapter 5"), "prior"),
    (dict(prior=gmm.NIWPrior.from_data(np.c_[TINY, TINY ** 2])), "prior"),
])
def test_bad_input_is_refused_clearly(kwargs, match):
    args = dict(x=TINY, n_components=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        A.advi(jax.random.key(0), args.pop("x"), args.pop("n_components"), **args)


def test_gradient_samples_refuses_bad_params():
    good = {"loc": np.zeros(5), "scale": np.ones(5)}
    for params, match in [({"loc": np.zeros(5)}, "params"),
                          ({"loc": np.zeros(4), "scale": np.ones(4)}, "shape"),
                          ({"loc": np.zeros(5), "scale": -np.ones(5)}, "positive"),
                          (good | {"loc": np.full(5, np.nan)}, "finite")]:
        with pytest.raises(ValueError, match=match):
            A.gradient_samples(jax.random.key(0), TINY, 2, params)
    with pytest.raises(ValueError, match="scale_tril"):
        A.gradient_samples(jax.random.key(0), TINY, 2, good, family="full_rank")


def test_convergence_rule():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1.0, 1000)
    assert A.converged_rule(-50 + noise, 20)  # flat, however noisy
    assert not A.converged_rule(-50 + np.linspace(-5, 0, 1000) + 0.1 * noise, 20)  # rising 0.5 per window
    assert A.converged_rule(-50 + np.linspace(-5, 0, 1000) + 0.1 * noise, 100)  # < 0.01 nats per point
    assert not A.converged_rule(np.r_[noise[:-1], np.nan], 20) and not A.converged_rule(noise[:19], 20)
