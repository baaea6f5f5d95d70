"""gmm.inference.vi_result: the model's log joint and the evidence a variational q gives.

The log joint is checked against GenJAX's own model (chapter 5's ``bayesian_gmm_marginal.assess``) and
against SciPy's densities (Normal-Inverse-Wishart). The evidence methods are checked with q = the prior, a
proposal whose density is exact and which covers every mode, against exact enumeration.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import gmm
from gmm.inference.vi_result import VIPosterior, log_joint
from gmm.models.generative import bayesian_gmm_marginal, const

X1 = np.array([9.8, 10.4, 11.1, 13.9, 14.6])
X2 = np.array([[0.1, 0.3], [0.4, -0.2], [2.9, 3.2], [3.4, 2.6], [0.2, 0.0]])


def _niw_prior_sampler(prior: gmm.NIWPrior, k: int):
    """q = the NIW prior: (pi, mu, Sigma) drawn with NumPy and SciPy, log q their prior density (SciPy)."""
    d = prior.dim
    m0, kappa = np.asarray(prior.mean_loc, float), float(prior.kappa)

    def sampler(key, n):
        rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
        w = rng.dirichlet(np.full(k, prior.alpha), n)
        cov = stats.invwishart(prior.dof, prior.scale_matrix).rvs((n, k), random_state=rng).reshape(n, k, d, d)
        chol = np.linalg.cholesky(cov / kappa)
        m = m0 + np.einsum("nkde,nke->nkd", chol, rng.standard_normal((n, k, d)))
        log_q = stats.dirichlet(np.full(k, prior.alpha)).logpdf(w.T) if k > 1 else np.zeros(n)
        for j in range(k):
            sigma = np.moveaxis(cov[:, j], 0, -1) if d > 1 else cov[:, j, 0, 0]
            log_q = log_q + stats.invwishart(prior.dof, prior.scale_matrix).logpdf(sigma)
            z = np.linalg.solve(chol[:, j], (m[:, j] - m0)[..., None])[..., 0]
            log_q = log_q - 0.5 * np.sum(z**2, -1) - np.log(np.diagonal(chol[:, j], axis1=1, axis2=2)).sum(-1) \
                - 0.5 * d * math.log(2 * math.pi)
        return w, m, cov, log_q

    return sampler


def _fit_from_prior(key, data, prior, k, n_draws=200):
    d2 = data[:, None] if data.ndim == 1 else data
    return VIPosterior.from_q(key, _niw_prior_sampler(prior, k), data=d2, prior=prior, method="cavi",
                              factors={}, elbo=np.zeros(1), assignment_probs=np.full((len(data), k), 1.0 / k),
                              converged=True, n_draws=n_draws)


def test_log_joint_is_chapter_5_models_density():
    """For a gmm.Prior, log_joint is GenJAX's bayesian_gmm_marginal.assess (both sigma families)."""
    rng = np.random.default_rng(0)
    for prior in (gmm.Prior(1.5, 11.0, 3.0, 2.0, 1.0), gmm.Prior.inverse_gamma_variance(1.0, 12.0, 4.0, 3.0, 2.0)):
        w = rng.dirichlet(np.ones(3), 4)
        m = rng.normal(12.0, 2.0, (4, 3))
        s = rng.gamma(2.0, 0.5, (4, 3))
        ours = log_joint(X1[:, None], prior, w, m[..., None], (s**2)[..., None, None])
        with jax.enable_x64(True):
            ref = [bayesian_gmm_marginal.assess({"weights": jnp.asarray(wi), "means": jnp.asarray(mi),
                                                 "stds": jnp.asarray(si), "x": jnp.asarray(X1)},
                                                const(5), const(3), prior)[0] for wi, mi, si in zip(w, m, s)]
        np.testing.assert_allclose(ours, np.asarray(ref, np.float64), rtol=2e-6)


def test_log_joint_niw_matches_scipy():
    prior = gmm.NIWPrior(alpha=0.7, mean_loc=np.array([1.0, 1.5]), kappa=0.3, dof=4.5,
                         scale_matrix=np.array([[1.0, 0.2], [0.2, 0.5]]))
    w, m, cov, log_q = _niw_prior_sampler(prior, 3)(jax.random.key(1), 6)
    lik = np.array([np.log(sum(wi[j] * stats.multivariate_normal(mi[j], ci[j]).pdf(X2) for j in range(3))).sum()
                    for wi, mi, ci in zip(w, m, cov)])
    np.testing.assert_allclose(log_joint(X2, prior, w, m, cov), log_q + lik, rtol=1e-10)


@pytest.mark.parametrize("data", [X1, X2], ids=["1d", "2d"])
def test_evidence_with_the_prior_as_q_matches_exact_enumeration(data):
    """With q = the prior, IS with q is prior importance sampling: its estimate covers the exact log evidence
    within 4 error bars; the IWAE bound rises with S and stays below it (up to its own error)."""
    d = 1 if data.ndim == 1 else data.shape[1]
    prior = gmm.NIWPrior(1.0, np.median(data.reshape(len(data), d), axis=0), 0.5, d + 2.0, 2.0 * np.eye(d))
    exact = gmm.exact_log_marginal_likelihood(data, 2, prior=prior)
    fit = _fit_from_prior(jax.random.key(0), data, prior, 2)
    est = fit.log_evidence(jax.random.key(1), n_particles=20_000)
    assert abs(est.log_evidence - exact) < 4 * est.log_evidence_stderr + 1e-3, (est, exact)
    bounds = [fit.iwae_bound(jax.random.key(2), s, n_repeats=20) for s in (1, 16, 256)]
    assert bounds[0].bound < bounds[1].bound < bounds[2].bound
    assert bounds[2].bound < exact + 3 * bounds[2].stderr


def test_draws_and_summaries_have_the_sampler_shapes():
    prior = gmm.NIWPrior.from_data(X2)
    fit = _fit_from_prior(jax.random.key(3), X2, prior, 2, n_draws=50)
    assert fit.weights.shape == (1, 50, 2) and fit.means.shape == (1, 50, 2, 2) and fit.stds is None
    assert fit.predictive_density(X2).shape == (5,)
    assert fit.to_arviz()["posterior"]["means"].shape == (1, 50, 2, 2)
    rows = {r["parameter"]: r for r in fit.summary()}
    assert len(rows) == 2 + 4 + 6 and rows["means[1, 0]"]["mean"] == fit.means[0, :, 1, 0].mean()
    assert rows["covariances[0, 0, 1]"]["ess"] == 50 and np.isnan(rows["weights[0]"]["rhat"])
    fit1 = _fit_from_prior(jax.random.key(3), X1, gmm.NIWPrior.from_data(X1), 2, n_draws=50)
    assert fit1.means.shape == (1, 50, 2) and fit1.stds.shape == (1, 50, 2) and fit1.data.shape == (5,)
    mean, lo, hi = fit1.predictive_density(np.linspace(8, 16, 7), quantiles=(0.1, 0.9))
    assert np.all(lo <= mean * (1 + 1e-12)) or np.all(lo <= hi)


def test_evidence_refuses_without_q_density_and_bad_sizes():
    prior = gmm.NIWPrior.from_data(X1)
    fit = _fit_from_prior(jax.random.key(0), X1, prior, 2, n_draws=20)
    with pytest.raises(ValueError, match="n_particles must be an integer"):
        fit.iwae_bound(jax.random.key(0), 0)
    with pytest.raises(ValueError, match="n_particles must be at least 2"):
        fit.log_evidence(jax.random.key(0), 1)
    no_q = VIPosterior.from_q(jax.random.key(0), _niw_prior_sampler(prior, 2), data=X1[:, None], prior=prior,
                              method="cavi", factors={}, elbo=np.zeros(1), assignment_probs=np.full((5, 2), 0.5),
                              converged=True, n_draws=20, evidence=False)
    with pytest.raises(ValueError, match="no density of q"):
        no_q.log_evidence(jax.random.key(0))
    assert math.isfinite(fit.iwae_bound(jax.random.key(0), 4, 2).bound)
