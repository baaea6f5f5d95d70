"""Mixture: densities against SciPy, sampling moments, parameter counts against scikit-learn, checks."""

import jax
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

from gmm._util.validation import as_data
from gmm.models.mixture import Mixture, n_parameters

W = np.array([0.2, 0.5, 0.3])
MU = np.array([[0.0, 0.0, 1.0], [3.0, -1.0, 0.0], [-2.0, 4.0, 2.0]])
COV = np.array([
    [[1.0, 0.3, 0.0], [0.3, 2.0, -0.4], [0.0, -0.4, 0.5]],
    [[0.2, 0.0, 0.0], [0.0, 0.1, 0.05], [0.0, 0.05, 3.0]],
    [[4.0, 1.5, 0.0], [1.5, 1.0, 0.0], [0.0, 0.0, 1.0]],
])


@pytest.fixture(scope="module")
def mixture():
    return Mixture(W, MU, covariances=COV)


def scipy_component_log_prob(x):
    return np.stack([np.log(W[k]) + stats.multivariate_normal(MU[k], COV[k]).logpdf(x) for k in range(3)], axis=1)


def test_densities_match_scipy(mixture):
    x = np.random.default_rng(0).normal(size=(200, 3)) * 3
    ref = scipy_component_log_prob(x)
    np.testing.assert_allclose(mixture.component_log_prob(x), ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mixture.log_prob(x), logsumexp(ref, axis=1), rtol=1e-10)
    np.testing.assert_allclose(mixture.responsibilities(x), np.exp(ref - logsumexp(ref, axis=1, keepdims=True)), atol=1e-12)
    assert mixture.log_likelihood(x) == pytest.approx(logsumexp(ref, axis=1).sum(), rel=1e-12)
    assert mixture.n_components == 3 and mixture.dim == 3


def test_jit_path_agrees(mixture):
    x = np.random.default_rng(1).normal(size=(50, 3))
    jitted = jax.jit(lambda m, pts: m.log_prob(pts))(mixture, x)
    np.testing.assert_allclose(np.asarray(jitted), mixture.log_prob(x), rtol=1e-4)


def test_sample_moments(mixture):
    x, z = mixture.sample(jax.random.key(3), 200_000)
    assert x.shape == (200_000, 3) and z.shape == (200_000,)
    mean = W @ MU
    cov = np.einsum("k,kde->de", W, COV + np.einsum("kd,ke->kde", MU, MU)) - np.outer(mean, mean)
    se = np.sqrt(np.diag(cov) / x.shape[0])
    assert np.all(np.abs(x.mean(axis=0) - mean) < 5 * se)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.05)
    np.testing.assert_allclose(np.bincount(z) / z.size, W, atol=0.005)
    again, _ = mixture.sample(jax.random.key(3), 200_000)
    np.testing.assert_array_equal(x, again)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("k,d", [(1, 1), (1, 2), (3, 3), (5, 5)])
def test_n_parameters_matches_sklearn(k, d, covariance_type):
    gm = GaussianMixture(k, covariance_type=covariance_type)
    gm.means_ = np.zeros((k, d))
    assert n_parameters(k, d, covariance_type) == gm._n_parameters()


def test_diag_mixture():
    m = Mixture([0.5, 0.5], [[0, 0], [1, 1]], covariances=[np.diag([1.0, 2.0]), np.diag([0.5, 0.5])], covariance_type="diag")
    assert m.n_parameters == 1 + 4 + 4
    with pytest.raises(ValueError, match="diag"):
        Mixture([1.0], [[0, 0]], covariances=[[[1.0, 0.1], [0.1, 1.0]]], covariance_type="diag")


@pytest.mark.parametrize(
    "args,match",
    [
        (([0.5, 0.6], MU[:2], COV[:2]), "weights must sum to 1"),
        (([-0.5, 1.5], MU[:2], COV[:2]), "weights must be non-negative"),
        ((W, MU[:2], COV), "means must have shape"),
        ((W, MU, COV[:, :2, :2]), "covariances must have shape"),
        (([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.0, 1.0]]]), "symmetric"),
        (([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]]), "positive definite"),
        (([1.0], [[np.nan, 0.0]], [np.eye(2)]), "means must be finite"),
    ],
)
def test_bad_parameters(args, match):
    with pytest.raises(ValueError, match=match):
        Mixture(args[0], args[1], covariances=args[2])


def test_structures_are_checked_and_frozen():
    with pytest.raises(ValueError, match="tied"):
        Mixture(W[:2] / W[:2].sum(), MU[:2], covariances=COV[:2], covariance_type="tied")
    with pytest.raises(ValueError, match="spherical"):
        Mixture([1.0], [[0.0, 0.0]], covariances=[np.diag([1.0, 2.0])], covariance_type="spherical")
    with pytest.raises(ValueError, match="not both"):
        Mixture([1.0], [0.0], [1.0], covariances=[[[1.0]]])
    cov = COV.copy()
    m = Mixture(W, MU, covariances=cov)
    cov[0] = np.eye(3) * 9.0  # the caller's array changes; the mixture does not
    assert m.covariances[0, 0, 0] == COV[0, 0, 0]
    with pytest.raises(ValueError, match="read-only"):
        m.covariances[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="stds exist for mixtures on the line"):
        m.stds


def test_one_dimension_two_ways():
    """A mixture on the line and the same mixture with (K, 1, 1) covariances agree on
    points given as (N,) or (N, 1)."""
    line = Mixture([0.3, 0.7], [0.0, 4.0], [1.0, 2.0])
    col = Mixture([0.3, 0.7], [[0.0], [4.0]], covariances=[[[1.0]], [[4.0]]])
    x = np.linspace(-3.0, 9.0, 13)
    for pts in (x, x[:, None]):
        np.testing.assert_allclose(line.log_prob(pts), col.log_prob(x[:, None]), rtol=1e-12)
    np.testing.assert_allclose(col.stds, line.stds)
    np.testing.assert_array_equal(line.covariances[:, 0, 0], line.stds**2)
    assert line.n_parameters == col.n_parameters == 5


def test_bad_points(mixture):
    with pytest.raises(ValueError, match="x must have 3 columns"):
        mixture.log_prob(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="shape \\(N, D\\)"):
        as_data(np.zeros(4), ndim=2)
    with pytest.raises(ValueError, match="finite"):
        as_data([[0.0, np.inf]], ndim=2)
    with pytest.raises(ValueError, match="covariance_type"):
        n_parameters(2, 2, "banana")
    with pytest.raises(ValueError, match="n must be"):
        mixture.sample(jax.random.key(0), 0)
