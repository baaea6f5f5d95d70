"""The evidence p(x | K) for (N, D) data under the Normal-Inverse-Wishart prior (gmm.model_choice.collapsed).

References that do not depend on a sampler: a brute-force sum over all K^N labellings with
each component's marginal from the Student-t chain rule (SciPy), and Monte Carlo over the
prior in 1-D. SMC and importance sampling are compared with the exact value within their
error bars; P(K | x) on Old Faithful in 2-D.
"""

import itertools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln, logsumexp

import gmm
from gmm.models.niw import NIWPrior, log_marginal, sufficient_stats

X8 = np.array([[-0.9, 0.3], [-0.2, -0.6], [0.4, 0.5], [-0.5, 0.1],
               [3.1, 2.2], [3.9, 3.0], [2.6, 2.9], [3.4, 2.4]])
TIGHT = NIWPrior(alpha=0.5, mean_loc=[1.0, 1.0], kappa=0.2, dof=4.0, scale_matrix=[[1.0, 0.3], [0.3, 0.8]])
PRIORS = {"from_data": NIWPrior.from_data(X8), "alpha=0.5": TIGHT}


def chain_rule_log_marginal(points, prior):
    """log p(points) for one NIW component as a product of multivariate Student-t predictives
    (Murphy 2007, eq. 232), updating the posterior one point at a time."""
    m, kappa, nu = np.asarray(prior.mean_loc, float), float(prior.kappa), float(prior.dof)
    psi = np.asarray(prior.scale_matrix, float)
    d, total = m.size, 0.0
    for p in points:
        df = nu - d + 1
        total += stats.multivariate_t.logpdf(p, loc=m, shape=psi * (kappa + 1) / (kappa * df), df=df)
        psi = psi + kappa / (kappa + 1) * np.outer(p - m, p - m)
        m, kappa, nu = (kappa * m + p) / (kappa + 1), kappa + 1, nu + 1
    return total


def brute_force_log_evidence(x, k, prior):
    """log sum over all K^N labellings z of DirMult(z | alpha) prod_k p(x_{S_k})."""
    n, a = len(x), float(prior.alpha)
    table = [chain_rule_log_marginal([x[i] for i in range(n) if mask >> i & 1], prior) for mask in range(1 << n)]
    terms = []
    for z in itertools.product(range(k), repeat=n):
        z = np.array(z)
        term = gammaln(k * a) - gammaln(n + k * a)
        for j in range(k):
            term += gammaln((z == j).sum() + a) - gammaln(a) + table[int(((z == j) << np.arange(n)).sum())]
        terms.append(term)
    return float(logsumexp(terms))


# --- exact enumeration -------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("name", list(PRIORS))
def test_exact_matches_a_brute_force_sum_over_labellings(name, k):
    prior = PRIORS[name]
    expected = brute_force_log_evidence(X8, k, prior)
    assert gmm.exact_log_marginal_likelihood(X8, k, prior=prior) == pytest.approx(expected, abs=1e-8)
    if name == "from_data":  # the default prior for (N, D) data
        assert gmm.exact_log_marginal_likelihood(X8, k) == pytest.approx(expected, abs=1e-8)


def test_results_are_in_data_units():
    """Rescaling the data by c (and the prior with it) shifts log p(x) by -N D log c."""
    c = 1000.0
    scaled = NIWPrior(alpha=TIGHT.alpha, mean_loc=c * np.asarray(TIGHT.mean_loc), kappa=TIGHT.kappa,
                      dof=TIGHT.dof, scale_matrix=c**2 * np.asarray(TIGHT.scale_matrix))
    for k in (1, 2):
        base = gmm.exact_log_marginal_likelihood(X8, k, prior=TIGHT)
        got = gmm.exact_log_marginal_likelihood(c * X8, k, prior=scaled)
        assert got == pytest.approx(base - X8.size * math.log(c), abs=1e-8)


def test_one_dimension_matches_monte_carlo_over_the_prior():
    """(N,) or (N, 1) data with a NIWPrior: the Normal-Inverse-Gamma model, against
    log mean_s p(x | pi_s, mu_s, sigma_s) over 400,000 prior draws (delta-method error ~0.003)."""
    x = np.array([-1.3, -0.8, 0.2, 1.9, 2.4])
    prior = NIWPrior(alpha=0.7, mean_loc=[0.3], kappa=0.5, dof=3.0, scale_matrix=[[2.0]])
    exact = gmm.exact_log_marginal_likelihood(x[:, None], 2, prior=prior)
    assert gmm.exact_log_marginal_likelihood(x, 2, prior=prior) == exact
    rng = np.random.default_rng(1)
    s, k = 400_000, 2
    pi = rng.dirichlet([0.7] * k, s)
    var = 1.0 / rng.gamma(1.5, 1.0, (s, k))  # InverseGamma(dof / 2, scale / 2) = (1.5, 1.0)
    mu = rng.normal(0.3, np.sqrt(var / 0.5))
    dens = pi[:, None, :] * stats.norm.pdf(x[None, :, None], mu[:, None, :], np.sqrt(var)[:, None, :])
    log_lik = np.log(dens.sum(axis=2)).sum(axis=1)
    w = np.exp(log_lik - log_lik.max())
    mc, se = float(logsumexp(log_lik) - math.log(s)), float(w.std() / math.sqrt(s) / w.mean())
    assert se < 0.01
    assert abs(exact - mc) < 4 * se


# --- estimators against the exact value ----------------------------------------


@pytest.mark.parametrize("k", [2, 3])
def test_smc_and_importance_sampling_match_exact(seed, k):
    exact = gmm.exact_log_marginal_likelihood(X8, k, prior=TIGHT)
    key = jax.random.fold_in(jax.random.key(seed), k)
    smc = gmm.log_marginal_likelihood(key, X8, k, prior=TIGHT, n_particles=250, n_runs=16)
    assert smc.method == "smc" and smc.run_log_evidence.shape == (16,)
    assert 0 < smc.log_evidence_stderr < 0.1
    # 5 error bars: the delta-method error of 16 runs is itself noisy (|z| reached 4.5 in 80 keys)
    assert abs(smc.log_evidence - exact) < 5 * smc.log_evidence_stderr + 1e-3
    if k == 3:  # forced resampling at every step, each followed by two collapsed-Gibbs sweeps
        moved = gmm.log_marginal_likelihood(key, X8, k, prior=TIGHT, n_particles=200, n_moves=2, ess_target=0.999)
        assert abs(moved.log_evidence - exact) < 5 * moved.log_evidence_stderr + 1e-3
    imp = gmm.log_marginal_likelihood(key, X8, k, prior=TIGHT, method="is", n_particles=50_000)
    assert imp.method == "is" and imp.ess > 50  # enough for its error bar (gmm.model_choice.collapsed.MIN_IS_ESS)
    assert abs(imp.log_evidence - exact) < 5 * imp.log_evidence_stderr


def test_posterior_over_k_auto_is_exact_on_small_data():
    post = gmm.posterior_over_k(jax.random.key(0), X8, range(1, 5), prior=TIGHT)
    assert all(e.method == "exact" for e in post.estimates.values())
    logs = [brute_force_log_evidence(X8, k, TIGHT) if k < 4 else post.log_evidence[4] for k in range(1, 5)]
    assert [post.log_evidence[k] for k in (1, 2, 3)] == pytest.approx(logs[:3], abs=1e-8)
    p = np.exp(np.array(logs) - logsumexp(logs))
    assert [post.probabilities[k] for k in range(1, 5)] == pytest.approx(p, abs=1e-10)


# --- Old Faithful in 2-D ---------------------------------------------------------


def test_old_faithful_posterior_over_k(seed):
    """K = 1 is exact (one closed form) and ~145 nats below; K = 2..4 by SMC. A deterministic
    lower bound: p(x | K) >= K! p(x, z*) for the k-means labelling z* (its K! relabellings
    are distinct terms of the sum). Two independent calls agree within their error bars."""
    from sklearn.cluster import KMeans

    x = gmm.datasets.faithful()
    assert x.shape == (272, 2)
    key = jax.random.key(seed)
    first = gmm.posterior_over_k(key, x, range(1, 5), method="smc", n_particles=500)
    second = gmm.posterior_over_k(jax.random.fold_in(key, 99), x, range(1, 5), method="smc", n_particles=500)
    assert first.estimates[1].method == "exact"
    assert first.probabilities[1] < 1e-30
    assert first.probabilities[2] + first.probabilities[3] > 0.8
    prior = NIWPrior.from_data(x)
    for k in (2, 3, 4):
        a, b = first.estimates[k], second.estimates[k]
        assert 0 < a.log_evidence_stderr < 0.5 and 0 < b.log_evidence_stderr < 0.5
        assert abs(a.log_evidence - b.log_evidence) < 4 * math.hypot(a.log_evidence_stderr, b.log_evidence_stderr) + 0.05
        z = KMeans(k, n_init=4, random_state=0).fit_predict((x - x.mean(0)) / x.std(0))
        with jax.enable_x64(True):
            log_m = float(log_marginal(prior, *sufficient_stats(x, np.eye(k)[z])).sum())
        alpha, n = float(prior.alpha), np.bincount(z, minlength=k)
        log_joint = gammaln(k * alpha) - gammaln(len(x) + k * alpha) + np.sum(gammaln(n + alpha) - gammaln(alpha)) + log_m
        assert a.log_evidence > math.lgamma(k + 1) + log_joint - 3 * a.log_evidence_stderr


# --- bad input -------------------------------------------------------------------

X30 = np.random.default_rng(0).normal(size=(30, 2))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gmm.exact_log_marginal_likelihood(X8, 2, prior=gmm.Prior()), "prior must be a gmm.NIWPrior"),
        (lambda: gmm.log_marginal_likelihood(jax.random.key(0), X8, 2, prior=gmm.Prior()), r"shape \(N, D\)"),
        (lambda: gmm.posterior_over_k(jax.random.key(0), X8, [1, 2], prior="flat"), "gmm.NIWPrior"),
        (lambda: gmm.exact_log_marginal_likelihood(X8, 2, prior=NIWPrior.from_data(np.ones((4, 3)) + np.eye(4, 3))),
         "dimension 3 but the data have D = 2"),
        (lambda: gmm.exact_log_marginal_likelihood(X30, 3), r"set partitions.*method='smc'"),
        (lambda: gmm.exact_log_marginal_likelihood(X8, 3, max_assignments=100), "max_assignments = 100"),
        (lambda: gmm.posterior_over_k(jax.random.key(0), X30, [1, 3], method="exact"), "max_assignments"),
        (lambda: gmm.log_marginal_likelihood(jax.random.key(0), X8, 9), "n_components=9 exceeds"),
        (lambda: gmm.log_marginal_likelihood(jax.random.key(0), X8, 2, method="laplace"), "method must be one of"),
        (lambda: gmm.log_marginal_likelihood(jax.random.key(0), X8, 2, n_moves=-1), "n_moves"),
        (lambda: gmm.log_marginal_likelihood(jax.random.key(0), X8, 2, n_particles=1), "at least 2"),
        (lambda: gmm.log_marginal_likelihood(jax.random.key(0), X8, 2, ess_target=1.0), "ess_target"),
        (lambda: gmm.log_marginal_likelihood(jax.random.key(0), np.ones((100, 30)), 9), "memory"),
        (lambda: gmm.log_marginal_likelihood(jax.random.key(0), np.ones((4, 2, 2)), 2), "x must"),
        (lambda: gmm.exact_log_marginal_likelihood([[1.0, np.nan]], 1), "finite"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_importance_sampling_warns_when_its_ess_is_too_low():
    x = gmm.datasets.faithful()[:60]
    with pytest.warns(RuntimeWarning, match=r"ESS of only .* Use method='smc'"):
        est = gmm.log_marginal_likelihood(jax.random.key(0), x, 3, method="is", n_particles=2000)
    assert est.ess < 50 and math.isnan(est.log_evidence_stderr) and math.isfinite(est.log_evidence)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isfinite(gmm.log_marginal_likelihood(jax.random.key(0), X8, 2, prior=TIGHT, method="is",
                                                         n_particles=50_000).log_evidence_stderr)


@pytest.mark.parametrize("d", [1, 2])
def test_exact_posterior_draws_give_the_exact_predictive_density(d):
    """E[sum_k pi_k N(y | mu_k, Sigma_k) | x] over the exact draws is p(x, y | K) / p(x | K), the ratio of two
    exact evidences, within Monte Carlo error; every draw is sorted and on the simplex."""
    from gmm.model_choice.collapsed import exact_posterior_draws
    from gmm.inference.vi_result import _log_normal

    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0.0, 1.0, (3, d)), rng.normal(4.0, 1.0, (3, d))])
    y = np.full(d, 1.5)
    prior = gmm.NIWPrior(1.0, np.full(d, 2.0), 0.2, d + 2.0, np.eye(d))
    draws = exact_posterior_draws(jax.random.key(0), x, 2, prior=prior, n_draws=20_000)
    assert np.allclose(draws["weights"].sum(axis=1), 1.0) and np.all(np.diff(draws["means"][..., 0], axis=1) >= 0)
    with jax.enable_x64(True):
        comp = np.asarray(_log_normal(jnp.asarray(y), jnp.asarray(draws["means"]),
                                      jnp.linalg.cholesky(jnp.asarray(draws["covariances"]))))
    dens = (draws["weights"] * np.exp(comp)).sum(axis=1)
    exact = math.exp(gmm.exact_log_marginal_likelihood(np.vstack([x, y]), 2, prior=prior)
                     - gmm.exact_log_marginal_likelihood(x, 2, prior=prior))
    assert abs(dens.mean() - exact) < 4 * dens.std() / math.sqrt(dens.size), (dens.mean(), exact)
