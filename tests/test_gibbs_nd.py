"""gibbs_nd: the GenJAX model's density against SciPy, the sampler against the conjugate closed
form and against NumPyro's NUTS on the marginalised mixture, reproducibility and checks.

Every (N, K, n_samples, n_warmup, n_chains) costs one XLA compilation, so the runs share
shapes: all data sets have N = 60 points in 2-D.
"""


import jax
import numpy as np
import pytest
from scipy import stats

from gmm.gibbs_nd import GibbsPosteriorND, bayesian_gmm_nd, gibbs_nd
from gmm.niw import NIWPrior
from gmm.mixture_nd import MixtureND
from genjax import const

N = 60
PRIOR = NIWPrior(alpha=1.0, mean_loc=np.array([0.0, 0.0]), kappa=0.1, dof=5.0, scale_matrix=np.array([[1.0, 0.2], [0.2, 0.5]]))
RUN = dict(n_samples=1000, n_warmup=200, n_chains=4)


def closed_form(x, alpha_k, prior):
    """NIW posterior mean of (mu, Sigma) given all points x belong to one component (textbook update)."""
    n, d = x.shape
    xbar = x.mean(axis=0)
    s = (x - xbar).T @ (x - xbar)
    m0, kappa, nu, psi = np.asarray(prior.mean_loc), prior.kappa, prior.dof, np.asarray(prior.scale_matrix)
    kappa_n, nu_n = kappa + n, nu + n
    m_n = (kappa * m0 + n * xbar) / kappa_n
    psi_n = psi + s + kappa * n / kappa_n * np.outer(xbar - m0, xbar - m0)
    return m_n, psi_n / (nu_n - d - 1)


def two_clusters(seed, separation):
    m = MixtureND([0.4, 0.6], [[-separation / 2, 0.0], [separation / 2, 1.0]],
                  [[[1.0, 0.5], [0.5, 1.0]], [[0.5, -0.2], [-0.2, 0.8]]])
    return m.sample(jax.random.key(seed), N)


def assert_mc_close(draws, expected, n_se=5.0):
    """Posterior mean of draws (chains, samples, ...) equals expected within n_se Monte Carlo errors."""
    from gmm import diagnostics

    se = draws.std(axis=(0, 1)) / np.sqrt(diagnostics.ess(draws))
    assert np.all(np.abs(draws.mean(axis=(0, 1)) - expected) <= n_se * se + 1e-9), (draws.mean(axis=(0, 1)), expected, se)


def test_model_density_matches_scipy():
    from genjax import seed

    ch = jax.jit(lambda key: seed(bayesian_gmm_nd.simulate)(key, const(5), const(2), PRIOR).get_choices())(jax.random.key(0))
    w = np.asarray(ch["weights"], np.float64)
    lam = np.asarray(ch["components"]["precision"], np.float64)
    mu = np.asarray(ch["components"]["mean"], np.float64)
    z = np.asarray(ch["obs"]["z"])
    x = np.asarray(ch["obs"]["x"], np.float64)
    psi = np.asarray(PRIOR.scale_matrix)
    ref = stats.dirichlet.logpdf(w / w.sum(), [1.0, 1.0])
    for k in range(2):
        ref += stats.wishart.logpdf(lam[k], df=PRIOR.dof, scale=np.linalg.inv(psi))
        ref += stats.multivariate_normal.logpdf(mu[k], PRIOR.mean_loc, np.linalg.inv(lam[k]) / PRIOR.kappa)
    for i in range(5):
        ref += np.log(w[z[i]]) + stats.multivariate_normal.logpdf(x[i], mu[z[i]], np.linalg.inv(lam[z[i]]))
    score = jax.jit(lambda c: bayesian_gmm_nd.assess(c, const(5), const(2), PRIOR)[0])(ch)
    assert float(score) == pytest.approx(ref, rel=1e-3)


def test_single_component_is_the_exact_niw_posterior():
    x, _ = two_clusters(1, 0.0)
    post = gibbs_nd(jax.random.key(2), x, 1, prior=PRIOR, **RUN)
    m_n, sigma_mean = closed_form(x, 1.0, PRIOR)
    assert_mc_close(post.means[:, :, 0], m_n)
    assert_mc_close(post.covariances[:, :, 0], sigma_mean)
    np.testing.assert_array_equal(post.weights, 1.0)
    np.testing.assert_allclose(post.assignment_probs, 1.0)


@pytest.fixture(scope="module")
def separated():
    x, z = two_clusters(3, 12.0)
    return x, z, gibbs_nd(jax.random.key(4), x, 2, prior=PRIOR, **RUN)


def test_fixed_assignments_give_the_closed_form(separated):
    """Clusters 12 sd apart: the assignments never change, so each component's posterior is conjugate."""
    x, z, post = separated
    np.testing.assert_allclose(post.assignment_probs, np.eye(2)[z], atol=1e-6)
    for k in range(2):
        m_n, sigma_mean = closed_form(x[z == k], 1.0, PRIOR)
        assert_mc_close(post.means[:, :, k], m_n)
        assert_mc_close(post.covariances[:, :, k], sigma_mean)
    counts = np.bincount(z, minlength=2)
    assert_mc_close(post.weights, (1.0 + counts) / (2.0 + N))
    assert isinstance(post, GibbsPosteriorND) and post.weights.shape == (4, 1000, 2)
    assert post.means.shape == (4, 1000, 2, 2) and post.covariances.shape == (4, 1000, 2, 2, 2)
    assert np.all(post.rhat["means"] < 1.01)
    tree = post.to_arviz()
    assert tree.posterior["covariances"].shape == (4, 1000, 2, 2, 2)


def test_same_key_same_result_and_warning():
    x, _ = two_clusters(8, 4.0)
    short = dict(n_samples=4, n_warmup=1, n_chains=2)
    with pytest.warns(RuntimeWarning, match="gibbs_nd"):
        a = gibbs_nd(jax.random.key(9), x, 2, **short)
    with pytest.warns(RuntimeWarning):
        b = gibbs_nd(jax.random.key(9), x, 2, **short)
    np.testing.assert_array_equal(a.covariances, b.covariances)
    np.testing.assert_array_equal(a.assignment_probs, b.assignment_probs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(x=np.zeros(10), n_components=2), "x must be 2-D"),
        (dict(x=np.zeros((10, 2)), n_components=0), "n_components"),
        (dict(x=np.zeros((10, 2)), n_components=2, n_samples=3), "n_samples"),
        (dict(x=np.zeros((10, 2)), n_components=2, n_chains=0), "n_chains"),
        (dict(x=np.zeros((10, 3)), n_components=2, prior=PRIOR), "prior.mean_loc has dimension 2"),
        (dict(x=np.zeros((10, 2)), n_components=2, prior="flat"), "prior must be"),
    ],
)
def test_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gibbs_nd(jax.random.key(0), **kwargs)


@pytest.mark.parametrize(
    "field,value,match",
    [("alpha", 0.0, "prior.alpha"), ("kappa", -1.0, "prior.kappa"), ("dof", 0.5, "prior.dof"),
     ("scale_matrix", np.array([[1.0, 2.0], [2.0, 1.0]]), "positive definite"), ("mean_loc", [np.nan, 0.0], "mean_loc")],
)
def test_bad_prior(field, value, match):
    args = dict(alpha=1.0, mean_loc=np.zeros(2), kappa=1.0, dof=3.0, scale_matrix=np.eye(2))
    args[field] = value
    with pytest.raises(ValueError, match=match):
        NIWPrior(**args)


def test_prior_from_data():
    x = np.random.default_rng(0).normal([10.0, -5.0], [2.0, 0.1], size=(100, 2))
    p = NIWPrior.from_data(x)
    np.testing.assert_allclose(p.mean_loc, x.mean(0))
    # E[Sigma] = scale_matrix / (dof - D - 1) = diag(s^2) / 4.
    np.testing.assert_allclose(np.asarray(p.scale_matrix) / (p.dof - 3), np.diag(x.var(0)) / 4)
