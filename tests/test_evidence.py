"""The evidence p(x | K): exact enumeration against independent integrals, the SMC
estimator against the exact value, P(K | x) on the bentos, and input checks.

All SMC calls share one compilation (same particle count, runs and padded sizes).
"""

import itertools
import math
import warnings

import jax
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import gammaln, logsumexp

import gmm
from gmm.model_choice.evidence import (
    EvidenceEstimate,
    KPosterior,
    exact_log_marginal_likelihood,
    log_marginal_likelihood,
    posterior_over_k,
)
from gmm.models.generative import Prior

SMALL_PRIOR = Prior(alpha=1.0, mean_loc=0.0, mean_scale=5.0, std_shape=2.0, std_rate=1.0)
SMALL_X = np.array([-3.1, -2.4, -2.0, 1.5, 2.2, 2.9, 3.4])
SMC = {"n_particles": 500, "n_runs": 8}


def nested_quad_log_evidence(x, prior):
    """log int int prod_i N(x_i | mu, s) N(mu | m0, s0) Gamma(s | a, b) dmu ds by nested adaptive
    quadrature (SciPy's QUADPACK), the inner integral over mu on a window of +-40 s around the
    data, split at the data values (the integrand is a spike there when s is small)."""
    m0, s0, a, b = prior.mean_loc, prior.mean_scale, prior.std_shape, prior.std_rate
    xs = [float(v) for v in x]
    n = len(xs)
    log_gamma_norm = a * math.log(b) - math.lgamma(a)

    def inner(s):
        def f(mu):
            q = sum((v - mu) ** 2 for v in xs) / (s * s) + ((mu - m0) / s0) ** 2
            return math.exp(-0.5 * q - n * math.log(s) - math.log(s0) - 0.5 * (n + 1) * math.log(2 * math.pi))

        lo, hi = min(xs) - 40 * s, max(xs) + 40 * s
        val, _ = integrate.quad(f, lo, hi, points=sorted(set(xs)), epsabs=0, epsrel=1e-11, limit=200)
        return val * math.exp(log_gamma_norm + (a - 1) * math.log(s) - b * s)

    pieces = [0.0, 0.1, 1.0, 5.0, 20.0, 80.0, 300.0]
    total = sum(
        integrate.quad(inner, lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0] for lo, hi in zip(pieces, pieces[1:])
    )
    return math.log(total)


# --- exact enumeration -------------------------------------------------------


@pytest.mark.parametrize(
    "x, prior",
    [
        (np.array([0.3, 1.1]), SMALL_PRIOR),
        (np.array([-1.0, 0.4, 2.5]), SMALL_PRIOR),
        (np.array([1.0, 1.0]), SMALL_PRIOR),
        (np.array([0.5, 0.5, 2.0]), SMALL_PRIOR),
        (np.array([350.0, 498.0, 502.0]), Prior()),  # sigma far out in the Gamma prior's tail
    ],
    ids=["two", "three", "tie", "tie-plus-one", "bentos"],
)
def test_exact_k1_matches_nested_quadrature(x, prior):
    expected = nested_quad_log_evidence(x, prior)
    assert exact_log_marginal_likelihood(x, 1, prior=prior) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("k", [2, 3])
def test_exact_matches_monte_carlo_from_the_prior(k):
    """p(x | K) = E_prior[prod_i sum_k pi_k N(x_i | mu_k, sigma_k)], 2 million prior draws."""
    prior = Prior(alpha=1.0, mean_loc=0.0, mean_scale=2.0, std_shape=2.0, std_rate=1.0)
    x = np.array([-1.0, 0.3, 1.7])
    rng = np.random.default_rng(k)
    vals = []
    for _ in range(4):
        s = 500_000
        pi = rng.dirichlet(np.ones(k), size=s)
        mu = rng.normal(0.0, 2.0, (s, k))
        sd = rng.gamma(2.0, 1.0, (s, k))
        lp = np.log(pi)[:, None, :] + stats.norm.logpdf(x[None, :, None], mu[:, None, :], sd[:, None, :])
        vals.append(np.exp(logsumexp(lp, axis=2).sum(axis=1)))
    v = np.concatenate(vals)
    mc, se = math.log(v.mean()), v.std(ddof=1) / math.sqrt(v.size) / v.mean()
    assert se < 0.01
    assert abs(exact_log_marginal_likelihood(x, k, prior=prior) - mc) < 4 * se


def test_exact_matches_a_python_loop_over_assignments():
    """sum_z p(z) prod_k p(x_{S_k}) with p(x_S) from the K=1 evidence of the subset."""
    x = np.array([-2.0, -1.2, 0.4, 1.9])
    k, alpha = 3, SMALL_PRIOR.alpha
    comp = {}
    total = []
    for z in itertools.product(range(k), repeat=x.size):
        z = np.asarray(z)
        lp = gammaln(k * alpha) - gammaln(x.size + k * alpha)
        for j in range(k):
            members = tuple(np.nonzero(z == j)[0])
            lp += gammaln(len(members) + alpha) - gammaln(alpha)
            if members:
                if members not in comp:
                    comp[members] = exact_log_marginal_likelihood(x[list(members)], 1, prior=SMALL_PRIOR)
                lp += comp[members]
        total.append(lp)
    assert exact_log_marginal_likelihood(x, k, prior=SMALL_PRIOR) == pytest.approx(logsumexp(total), abs=1e-10)


def test_exact_is_infinite_when_a_value_repeats_too_often():
    # Three equal values, Gamma shape 2: the integral over sigma -> 0 diverges.
    assert exact_log_marginal_likelihood([1.0, 1.0, 1.0, 5.0], 2, prior=SMALL_PRIOR) == math.inf
    assert exact_log_marginal_likelihood([1.0, 1.0, 1.0], 1, prior=SMALL_PRIOR) == math.inf
    shape_35 = Prior(mean_loc=0.0, std_shape=3.5)  # sigma^(3.5 - 3) near 0: integrable
    assert math.isfinite(exact_log_marginal_likelihood([1.0, 1.0, 1.0, 5.0], 2, prior=shape_35))


def test_exact_refuses_too_many_assignments():
    with pytest.raises(ValueError, match=r"K\^N = 3\^30"):
        exact_log_marginal_likelihood(gmm.datasets.coffee(), 3)
    with pytest.raises(ValueError, match="max_assignments"):
        exact_log_marginal_likelihood(SMALL_X, 2, prior=SMALL_PRIOR, max_assignments=100)


# --- the estimator -----------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
def test_smc_agrees_with_exact(k, seed):
    exact = exact_log_marginal_likelihood(SMALL_X, k, prior=SMALL_PRIOR)
    est = log_marginal_likelihood(jax.random.key(1000 * seed + k), SMALL_X, k, prior=SMALL_PRIOR, **SMC)
    assert isinstance(est, EvidenceEstimate) and est.method == "smc" and est.n_components == k
    assert 0 < est.log_evidence_stderr < 0.1
    assert est.run_log_evidence.shape == (8,) and est.n_temperatures >= 1
    assert abs(est.log_evidence - exact) < 4 * est.log_evidence_stderr, (est.log_evidence, exact, est.log_evidence_stderr)


def test_smc_at_the_defaults_agrees_with_exact_for_every_k_of_one_compile(seed):
    """posterior_over_k's SMC at its default settings against exact enumeration, K = 2..5 on 7
    points: one padded size (8 components) and one compilation serve every K, each K
    evaluating only the smallest row bucket (2, 4, 6 or 8 components) that holds it; K = 5
    exercises the rank-dependent steps with their Hastings correction."""
    from gmm.model_choice.smc import run_smc

    ks = [2, 3, 4, 5]
    before = run_smc._cache_size()
    post = posterior_over_k(jax.random.key(seed), SMALL_X, ks, prior=SMALL_PRIOR, method="smc", n_runs=9)
    assert run_smc._cache_size() - before <= 1  # n_runs=9 is a shape no other test compiles
    for k in ks:
        exact = exact_log_marginal_likelihood(SMALL_X, k, prior=SMALL_PRIOR)
        est = post.estimates[k]
        assert est.run_log_evidence.shape == (9,) and 0 < est.log_evidence_stderr < 0.15
        assert abs(est.log_evidence - exact) < 4 * est.log_evidence_stderr, (k, est.log_evidence, exact, est.log_evidence_stderr)


def test_counter_based_uniforms_are_uniform_and_streams_independent():
    """The hashed streams behind the SMC moves: uniform on (0, 1) by a KS test, distinct
    streams uncorrelated, and a stream reproducible from its seed and ids."""
    from gmm.model_choice.smc import _stream, _uniforms

    seed = jax.numpy.uint32(12345)
    a = np.asarray(_uniforms(_stream(seed, 0, 1), (20_000,)), np.float64)
    b = np.asarray(_uniforms(_stream(seed, 0, 2), (20_000,)), np.float64)
    c = np.asarray(_uniforms(_stream(seed + 1, 0, 1), (20_000,)), np.float64)
    assert np.all((a > 0) & (a < 1))
    for u in (a, b, c):
        assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.03 and abs(np.corrcoef(a, c)[0, 1]) < 0.03
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 0.03  # consecutive counters
    np.testing.assert_array_equal(a, np.asarray(_uniforms(_stream(seed, 0, 1), (20_000,)), np.float64))


def test_posterior_over_k_on_the_bentos():
    post = posterior_over_k(jax.random.key(0), gmm.datasets.bento(), [1, 2, 3, 4], prior=Prior(), **SMC)
    assert isinstance(post, KPosterior)
    p = np.array([post.probabilities[k] for k in post.ks])
    assert p.sum() == pytest.approx(1.0, abs=1e-12) and np.all(p >= 0)
    assert post.best_k == 2 and post.probabilities[2] > 0.5
    assert post.probabilities[1] < 1e-30  # one Gaussian for 350 g and 500 g bentos: no
    assert post.estimates[1].method == "exact" and post.log_evidence_stderr[1] == 0.0
    for k in (2, 3, 4):
        assert post.estimates[k].method == "smc" and 0 < post.log_evidence_stderr[k] < 0.3
        assert 0 <= post.probabilities_stderr[k] < 0.1


def test_posterior_with_exact_evidences_only():
    post = posterior_over_k(jax.random.key(0), SMALL_X, [1, 2, 3], prior=SMALL_PRIOR, method="exact")
    ev = [exact_log_marginal_likelihood(SMALL_X, k, prior=SMALL_PRIOR) for k in (1, 2, 3)]
    np.testing.assert_allclose([post.probabilities[k] for k in (1, 2, 3)], np.exp(ev - logsumexp(ev)), rtol=1e-12)
    assert all(v == 0.0 for v in post.probabilities_stderr.values())


# --- importance sampling: an error bar only where the weights support it ----------------------

XS = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
VAGUE_MEANS = Prior(mean_loc=6.0, mean_scale=1000.0)  # an empty component may sit anywhere in +-1000


def _bento_12():
    """Six 350 g and six 500 g bentos: small enough for exact enumeration (2^12 assignments)."""
    b = gmm.datasets.bento()
    return np.r_[b[b < 420][:6], b[b > 420][:6]]


def test_is_with_a_handful_of_effective_particles_warns_and_has_no_error_bar():
    # K = 6 on 20 bentos: 2000 "em" particles had an ESS of 2, log p(x) -76.2 against SMC's
    # -80.4, and an error bar of 0.7
    with pytest.warns(RuntimeWarning, match=r"ESS of only [0-9.]+ of 2000 .* not reliable .* Use method='smc'"):
        r = gmm.importance_sampling(jax.random.key(0), gmm.datasets.bento(), 6, prior=Prior(), proposal="em",
                                    n_particles=2000)
    assert r.ess < 50 and math.isnan(r.log_evidence_stderr) and np.isfinite(r.log_evidence)


def test_error_bar_rule_is_one_threshold_on_the_ess():
    from gmm.model_choice.evidence_result import MIN_IS_ESS, importance_error_bar

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert importance_error_bar(MIN_IS_ESS, 0.01, 1000, "test") == 0.01
    with pytest.warns(RuntimeWarning, match=r"test: .* ESS of only 49\.9 of 1000 particles"):
        assert math.isnan(importance_error_bar(MIN_IS_ESS - 0.1, 0.01, 1000, "test"))
    with pytest.warns(RuntimeWarning, match="ESS of only nan"):  # every weight zero
        assert math.isnan(importance_error_bar(math.nan, math.nan, 1000, "test"))


def test_is_below_the_empty_component_bound_warns_and_has_no_error_bar():
    # The "em" proposal misses the mode where one component holds every point and the other
    # roams its vague prior: -27.89 +- 0.05 against the exact -26.80, 20 error bars away, with
    # an ESS of 270 and a Pareto k-hat of 0.2 (nothing in the weights drawn shows it).
    exact = exact_log_marginal_likelihood(XS, 2, prior=VAGUE_MEANS)
    with pytest.warns(RuntimeWarning, match="leave a component empty .* not reliable"):
        est = log_marginal_likelihood(jax.random.key(0), XS, 2, prior=VAGUE_MEANS, method="is")
    assert est.log_evidence < exact - 0.5  # the estimate this guards against is far off
    assert math.isnan(est.log_evidence_stderr) and est.ess > 50
    with pytest.warns(RuntimeWarning, match="leave a component empty"):
        post = posterior_over_k(jax.random.key(0), XS, [1, 2], prior=VAGUE_MEANS, method="is")
    assert math.isnan(post.log_evidence_stderr[2])
    assert all(math.isnan(v) for v in post.probabilities_stderr.values())  # P(K | x) carries the verdict


def test_empty_component_bound_is_the_mass_of_the_one_cluster_assignments():
    from gmm.model_choice.evidence import empty_component_bound
    from gmm.model_choice.exact import prior_tuple

    n, a = XS.size, float(VAGUE_MEANS.alpha)
    whole = exact_log_marginal_likelihood(XS, 1, prior=VAGUE_MEANS)
    # K = 2: all points in component 1, or all in 2, each with Dirichlet-multinomial probability
    # Gamma(2a) Gamma(N + a) / (Gamma(N + 2a) Gamma(a)), times p(x | one component)
    one_cluster = math.log(2) + gammaln(2 * a) + gammaln(n + a) - gammaln(n + 2 * a) - gammaln(a) + whole
    assert empty_component_bound(XS, 2, prior_tuple(VAGUE_MEANS)) == pytest.approx(one_cluster, abs=1e-10)
    for k in (2, 3, 4):
        for prior in (VAGUE_MEANS, SMALL_PRIOR):
            bound = empty_component_bound(XS, k, prior_tuple(prior))
            assert bound <= exact_log_marginal_likelihood(XS, k, prior=prior) + 1e-9
    assert empty_component_bound(gmm.datasets.galaxies(), 3, prior_tuple(Prior(mean_loc=20.0))) is None


def test_healthy_is_does_not_warn_and_covers_exact(seed):
    x, prior = _bento_12(), Prior()
    exact = exact_log_marginal_likelihood(x, 2, prior=prior)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = gmm.importance_sampling(jax.random.key(seed), x, 2, prior=prior, proposal="em", n_particles=4000)
        est = log_marginal_likelihood(jax.random.key(seed), x, 2, prior=prior, method="is", n_particles=4000)
    for value, se in ((r.log_evidence, r.log_evidence_stderr), (est.log_evidence, est.log_evidence_stderr)):
        assert 0 < se < 0.05 and abs(value - exact) < 3 * se
    assert r.ess > 1000


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: exact_log_marginal_likelihood(SMALL_X, 0, prior=SMALL_PRIOR), "n_components must be at least 1"),
        (lambda: exact_log_marginal_likelihood(SMALL_X, 2, prior="flat"), "prior must be a gmm.Prior"),
        (lambda: exact_log_marginal_likelihood([1.0, np.inf], 1), "finite"),
        (lambda: log_marginal_likelihood(jax.random.key(0), SMALL_X, 2, method="mcmc"), "method must be one of"),
        (lambda: log_marginal_likelihood(jax.random.key(0), SMALL_X, 2, n_particles=1), "at least 2"),
        (
            lambda: log_marginal_likelihood(jax.random.key(0), SMALL_X, 2, ess_target=1.5),
            r"ess_target must lie in \(0, 1\)",
        ),
        (lambda: log_marginal_likelihood(jax.random.key(0), SMALL_X, 2, n_runs=0), "n_runs must be an integer >= 1"),
        (lambda: log_marginal_likelihood("key", SMALL_X, 2), "key must be a single jax.random key"),
        (lambda: posterior_over_k(jax.random.key(0), SMALL_X, [], prior=SMALL_PRIOR), "ks is empty"),
        (lambda: posterior_over_k(jax.random.key(0), SMALL_X, [1, -2], prior=SMALL_PRIOR), "at least 1|>= 1"),
        (
            lambda: posterior_over_k(jax.random.key(0), SMALL_X, [1, 2], prior=SMALL_PRIOR, method="vote"),
            "method must be",
        ),
        (
            lambda: posterior_over_k(jax.random.key(0), gmm.datasets.coffee(), [2], method="exact"),
            "max_assignments",
        ),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_k_posterior_summary_has_one_row_per_k():
    kp = gmm.posterior_over_k(jax.random.key(0), [1.0, 2.0, 3.0, 10.0, 11.0, 12.0], [1, 2, 3])
    rows = kp.summary()
    assert [r["k"] for r in rows] == list(kp.ks)
    assert sum(r["probability"] for r in rows) == pytest.approx(1.0)
    for r in rows:
        assert r["probability"] == kp.probabilities[r["k"]]
        assert r["log_evidence"] == kp.log_evidence[r["k"]] and r["method"] == "exact"
        assert r["probability_stderr"] == kp.probabilities_stderr[r["k"]] == 0.0
