"""The inverse-gamma prior on the variance (``Prior.inverse_gamma_variance``): its density
against SciPy, its draws, its standardisation, the exact evidence against brute-force
quadrature, SMC and IS against the exact evidence, and Gibbs against NumPyro's NUTS.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from genjax import const, seed
from scipy import integrate, stats
from scipy.special import gammaln, logsumexp

from gmm.inference.scoring import standardised_prior
from gmm.model_choice.evidence import exact_log_marginal_likelihood, log_marginal_likelihood
from gmm.inference.gibbs import gibbs
from gmm.inference.importance import parameter_prior
from gmm.models.generative import Prior, check_prior, log_std_density, log_std_prior, std_distribution

IG = Prior.inverse_gamma_variance(alpha=1.0, mean_loc=0.0, mean_scale=4.0, var_shape=3.0, var_scale=2.0)
SMALL_X = np.array([-2.6, -2.1, -1.7, 1.2, 1.9, 2.5, 3.0])


# --- the prior object ----------------------------------------------------------


def test_constructor_repr_fields_and_pytree():
    p = Prior.inverse_gamma_variance(1, 20, 10, 3, 20)
    assert p.family == "inverse_gamma_var" and p.std_params == (3.0, 20.0)
    assert repr(p) == "Prior.inverse_gamma_variance(alpha=1, mean_loc=20, mean_scale=10, var_shape=3, var_scale=20)"
    assert repr(Prior()) == "Prior(alpha=1, mean_loc=400, mean_scale=50, std_shape=2, std_rate=1)"
    leaves, tree = jax.tree_util.tree_flatten(p)
    assert leaves == [1.0, 20.0, 10.0, 3.0, 20.0]  # the family is static, not a leaf
    back = jax.tree_util.tree_unflatten(tree, leaves)
    assert back.family == p.family and back.var_scale == 20.0
    # through jit the family survives and selects the density
    f = jax.jit(lambda pr, s: log_std_prior(s, pr))
    s = jnp.asarray([0.5, 2.0])
    assert not np.allclose(f(p, s), f(Prior(1, 20, 10, 3, 20), s))
    assert not hasattr(p, "std_rate")


@pytest.mark.parametrize("field, value", [("var_shape", 0.0), ("var_scale", -1.0), ("mean_scale", math.nan)])
def test_constructor_and_check_prior_refuse_bad_values(field, value):
    kw = dict(alpha=1.0, mean_loc=0.0, mean_scale=1.0, var_shape=2.0, var_scale=1.0)
    kw[field] = value
    with pytest.raises(ValueError, match=field):
        Prior.inverse_gamma_variance(**kw)
    bad = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(IG), list(kw.values()))
    with pytest.raises(ValueError, match=f"prior.{field}"):
        check_prior(bad)


# --- density and draws ---------------------------------------------------------


@pytest.mark.parametrize("a, b", [(3.0, 20.0), (0.7, 0.05), (12.0, 3.0)])
def test_log_density_matches_scipy_invgamma_with_jacobian(a, b):
    sigma = np.geomspace(1e-2, 1e3, 41)
    ref = stats.invgamma.logpdf(sigma**2, a, scale=b) + np.log(2.0 * sigma)  # p(sigma) = p_v(sigma^2) 2 sigma
    np.testing.assert_allclose(log_std_density(np.log(sigma), "inverse_gamma_var", a, b, np), ref, rtol=1e-10)
    with jax.enable_x64(True):
        got = log_std_density(jnp.log(jnp.asarray(sigma)), "inverse_gamma_var", a, b)
        np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-10)
    # the Gamma family is still the Gamma density of sigma
    np.testing.assert_allclose(
        log_std_density(np.log(sigma), "gamma_std", a, b, np), stats.gamma.logpdf(sigma, a, scale=1 / b), rtol=1e-10
    )


def test_genjax_distribution_assess_and_draws():
    p = Prior.inverse_gamma_variance(1.0, 0.0, 1.0, 3.0, 20.0)
    s = jnp.asarray([0.8, 2.5, 6.0])
    dist = std_distribution(p)
    lp = jax.vmap(lambda v: dist.assess(v, *p.std_params)[0])(s)
    np.testing.assert_allclose(lp, stats.invgamma.logpdf(np.asarray(s) ** 2, 3.0, scale=20.0) + np.log(2 * s), rtol=1e-5)
    # draws: sigma^2 follows InverseGamma(3, 20) (Kolmogorov-Smirnov on 4000 draws)
    draws = seed(dist.repeat(n=4000).simulate)(jax.random.key(0), *p.std_params).get_retval()
    assert stats.kstest(np.asarray(draws, np.float64) ** 2, stats.invgamma(3.0, scale=20.0).cdf).pvalue > 1e-3
    # the model's prior draws and score use the same distribution
    one = seed(parameter_prior.simulate)(jax.random.key(1), const(4), p).get_choices()
    log_p, _ = parameter_prior.assess(one, const(4), p)
    w, m, sd = (np.asarray(one[name], np.float64) for name in ("weights", "means", "stds"))
    ref = (
        stats.dirichlet.logpdf(w / w.sum(), np.ones(4))
        + stats.norm.logpdf(m, 0.0, 1.0).sum()
        + (stats.invgamma.logpdf(sd**2, 3.0, scale=20.0) + np.log(2 * sd)).sum()
    )
    assert abs(float(log_p) - ref) < 1e-3


@pytest.mark.parametrize("family", ["gamma_std", "inverse_gamma_var"])
def test_standardised_prior_is_the_change_of_variables(family):
    p = Prior(1.0, 5.0, 2.0, 3.0, 1.5) if family == "gamma_std" else Prior.inverse_gamma_variance(1.0, 5.0, 2.0, 3.0, 1.5)
    loc, scale = 4.0, 2.5
    q = standardised_prior(p, loc, scale)
    assert q.family == family
    sigma = np.geomspace(0.05, 20, 9)
    # p'(sigma / scale) = scale p(sigma)
    lhs = log_std_density(np.log(sigma / scale), family, *(float(v) for v in q.std_params), np)
    rhs = np.log(scale) + log_std_density(np.log(sigma), family, *p.std_params, np)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)
    assert float(q.mean_loc) == pytest.approx((5.0 - loc) / scale) and float(q.mean_scale) == pytest.approx(2.0 / scale)


# --- exact evidence against brute force ---------------------------------------


def _subset_log_evidence_quad(xs, prior):
    """log int int prod_i N(x_i | mu, s) N(mu | m0, s0) p(s) dmu ds, nested QUADPACK, p(s) from SciPy's
    inverse gamma on s^2 with the Jacobian 2 s."""
    m0, s0 = prior.mean_loc, prior.mean_scale
    a, b = prior.std_params
    xs = [float(v) for v in xs]
    n = len(xs)

    def inner(s):
        def f(mu):
            q = sum((v - mu) ** 2 for v in xs) / (s * s) + ((mu - m0) / s0) ** 2
            return math.exp(-0.5 * q - n * math.log(s) - math.log(s0) - 0.5 * (n + 1) * math.log(2 * math.pi))

        lo, hi = min(xs + [m0]) - 40 * max(s, s0), max(xs + [m0]) + 40 * max(s, s0)
        val, _ = integrate.quad(f, lo, hi, points=sorted(set(xs)), epsabs=0, epsrel=1e-11, limit=200)
        return val * math.exp(stats.invgamma.logpdf(s * s, a, scale=b)) * 2 * s

    pieces = [0.0, 0.1, 0.5, 1.0, 3.0, 10.0, 50.0, 1e3]
    return math.log(sum(integrate.quad(inner, lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0]
                        for lo, hi in zip(pieces, pieces[1:])))


@pytest.mark.parametrize("x", [np.array([0.3]), np.array([-1.0, 0.4, 2.5]), np.array([1.0, 1.0, 1.0, 1.0])],
                         ids=["one", "three", "four-ties"])
def test_exact_k1_matches_nested_quadrature(x):
    got = exact_log_marginal_likelihood(x, 1, prior=IG)
    assert got == pytest.approx(_subset_log_evidence_quad(x, IG), abs=1e-7)


def test_exact_k2_matches_a_brute_force_sum_over_assignments():
    x = np.array([-2.0, -1.5, 2.2])
    alpha, k, n = 1.0, 2, x.size
    subset = {}  # log p(x_S) by subset, each by nested quadrature once
    terms = []
    for z in itertools.product(range(k), repeat=n):
        z = np.array(z)
        counts = np.bincount(z, minlength=k)
        log_pz = gammaln(k * alpha) - gammaln(n + k * alpha) + np.sum(gammaln(counts + alpha) - gammaln(alpha))
        for j in range(k):
            members = tuple(np.flatnonzero(z == j))
            if members and members not in subset:
                subset[members] = _subset_log_evidence_quad(x[list(members)], IG)
        terms.append(log_pz + sum(subset[tuple(np.flatnonzero(z == j))] for j in range(k) if counts[j]))
    assert exact_log_marginal_likelihood(x, 2, prior=IG) == pytest.approx(logsumexp(terms), abs=1e-7)


# --- estimators against the exact evidence ------------------------------------


@pytest.mark.parametrize("k", [1, 2])
def test_smc_agrees_with_exact(k):
    exact = exact_log_marginal_likelihood(SMALL_X, k, prior=IG)
    est = log_marginal_likelihood(jax.random.key(7 + k), SMALL_X, k, prior=IG, n_particles=500, n_runs=8)
    assert 0 < est.log_evidence_stderr < 0.1
    assert abs(est.log_evidence - exact) < 4 * est.log_evidence_stderr + 0.01, (est.log_evidence, exact, est.log_evidence_stderr)


def test_importance_sampling_agrees_with_exact():
    exact = exact_log_marginal_likelihood(SMALL_X, 2, prior=IG)
    est = log_marginal_likelihood(jax.random.key(3), SMALL_X, 2, prior=IG, method="is", n_particles=4000)
    assert abs(est.log_evidence - exact) < 4 * est.log_evidence_stderr + 0.02, (est.log_evidence, exact, est.log_evidence_stderr)


# --- Gibbs against NUTS -------------------------------------------------------


def test_gibbs_agrees_with_nuts():
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    x = np.array([-2.6, -2.1, -1.7, -2.3, 1.2, 1.9, 2.5, 3.0, 2.2, 1.6])
    prior = Prior.inverse_gamma_variance(1.0, 0.0, 4.0, 3.0, 2.0)

    def model(x):
        pi = numpyro.sample("weights", dist.Dirichlet(jnp.ones(2)))
        mu = numpyro.sample("means", dist.Normal(0.0, 4.0).expand([2]).to_event(1))
        var = numpyro.sample("var", dist.InverseGamma(3.0, 2.0).expand([2]).to_event(1))  # shape, scale
        numpyro.sample("x", dist.MixtureSameFamily(dist.Categorical(probs=pi), dist.Normal(mu, jnp.sqrt(var))), obs=x)

    mcmc = MCMC(NUTS(model), num_warmup=300, num_samples=1000, num_chains=2, chain_method="vectorized",
                progress_bar=False)
    mcmc.run(jax.random.key(5), jnp.asarray(x, jnp.float32))
    s = mcmc.get_samples()
    order = np.argsort(np.asarray(s["means"]), axis=-1)
    ref = {
        "weights": np.take_along_axis(np.asarray(s["weights"]), order, -1),
        "means": np.take_along_axis(np.asarray(s["means"]), order, -1),
        "stds": np.take_along_axis(np.sqrt(np.asarray(s["var"])), order, -1),
    }
    g = gibbs(jax.random.key(6), x, 2, prior=prior, n_samples=1000, n_warmup=300)
    for name, r in ref.items():
        a = getattr(g, name).reshape(-1, 2)
        # posterior sds / sqrt(effective draws) of both, taken conservatively as 1000 each
        tol = 4 * np.hypot(a.std(0), r.std(0)) / math.sqrt(1000)
        assert np.all(np.abs(a.mean(0) - r.mean(0)) < tol), (name, a.mean(0), r.mean(0), tol)
