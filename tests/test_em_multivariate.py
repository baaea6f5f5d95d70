"""fit_em: the optimum against scikit-learn's GaussianMixture, units, regularisation, checks.

Every (N, D, K, covariance_type, n_init) costs one XLA compilation, so the data sets
are few and the fits are shared through module-scoped fixtures.
"""

import jax
import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from gmm import EMResult, bic, fit_em
from gmm.models.mixture import Mixture

KEY = jax.random.key(0)
N_INIT = 4


def _data_2d():
    """Two overlapping clusters with opposite correlations and a small, tight third one."""
    m = Mixture(
        [0.45, 0.4, 0.15],
        [[0.0, 0.0], [1.5, 0.5], [4.0, 4.0]],
        covariances=[[[1.0, 0.7], [0.7, 1.0]], [[1.0, -0.6], [-0.6, 1.0]], [[0.05, 0.0], [0.0, 0.02]]],
    )
    return m.sample(jax.random.key(11), 600)[0], 3


def _data_3d():
    """Unequal covariances (one elongated cluster), in units differing by 1000 between columns."""
    m = Mixture(
        [0.3, 0.3, 0.4],
        [[0.0, 0.0, 0.0], [3.0, 0.0, 1.0], [0.0, 3.0, -1.0]],
        covariances=[np.diag([4.0, 0.3, 0.3]), [[1.0, 0.5, 0.2], [0.5, 1.0, 0.0], [0.2, 0.0, 0.5]], np.eye(3) * 0.5],
    )
    x = m.sample(jax.random.key(12), 800)[0]
    return x * np.array([1.0, 1000.0, 0.1]) + np.array([0.0, 5e4, 0.0]), 3


def _data_5d():
    rng = np.random.default_rng(13)
    means = rng.normal(scale=2.5, size=(4, 5))
    covs = []
    for s in (0.5, 1.0, 2.0, 1.0):
        a = rng.normal(size=(5, 5))
        covs.append(s * (a @ a.T / 5 + 0.3 * np.eye(5)))
    m = Mixture([0.25, 0.25, 0.3, 0.2], means, covariances=np.array(covs))
    return m.sample(jax.random.key(14), 1000)[0], 4


DATA = {"2d": _data_2d, "3d": _data_3d, "5d": _data_5d}
CASES = [(name, ct) for name in DATA for ct in ("full", "tied", "diag", "spherical")]


@pytest.fixture(scope="module")
def data():
    return {name: f() for name, f in DATA.items()}


@pytest.fixture(scope="module")
def fits(data):
    return {(name, ct): fit_em(KEY, data[name][0], data[name][1], covariance_type=ct, n_init=N_INIT) for name, ct in CASES}


@pytest.mark.parametrize("name,covariance_type", CASES)
def test_reaches_sklearn_log_likelihood(data, fits, name, covariance_type):
    x, k = data[name]
    sk = GaussianMixture(k, covariance_type=covariance_type, n_init=N_INIT, tol=1e-6, max_iter=1000, random_state=0).fit(x)
    sk_ll = sk.score(x) * x.shape[0]
    ours = fits[(name, covariance_type)]
    assert ours.log_likelihood >= sk_ll - 1e-4 * abs(sk_ll), (ours.log_likelihood, sk_ll)
    assert ours.converged


@pytest.mark.parametrize("name,covariance_type", CASES)
def test_result_consistency(data, fits, name, covariance_type):
    x, k = data[name]
    r = fits[(name, covariance_type)]
    assert isinstance(r, EMResult) and r.mixture.covariance_type == covariance_type
    assert r.log_likelihood == r.mixture.log_likelihood(x)
    assert r.history.shape == (r.n_iter + 1,) and r.history[-1] == r.log_likelihood
    # EM never decreases the likelihood (float64; reg_covar may cost a rounding's worth).
    assert np.all(np.diff(r.history) >= -1e-9 * abs(r.log_likelihood))
    assert np.all(np.diff(r.mixture.means[:, 0]) >= 0)
    if covariance_type in ("diag", "spherical"):
        off = r.mixture.covariances * (1 - np.eye(x.shape[1]))
        assert np.all(off == 0)
    if covariance_type == "tied":
        assert np.all(r.mixture.covariances == r.mixture.covariances[0])


def test_units_do_not_matter(data, fits):
    """Rescaling the columns rescales the fit: the 3-D data come in wildly different units."""
    x, k = data["3d"]
    s = np.array([1.0, 1e-3, 10.0])
    r = fits[("3d", "full")]
    r2 = fit_em(KEY, x * s, k, n_init=N_INIT)
    spread = (x * s).std(axis=0)
    assert np.all(np.abs(r2.mixture.means - r.mixture.means * s) <= 1e-3 * spread)
    shift = x.shape[0] * np.log(s).sum()
    assert r2.log_likelihood == pytest.approx(r.log_likelihood - shift, rel=1e-5)


def test_reg_covar_is_in_data_units():
    """A component that collapses onto a repeated point keeps variance reg_covar in the data's units."""
    rng = np.random.default_rng(5)
    # The same shape as the "2d" data set (600 points, K = 3): no new compilation.
    x = np.concatenate([
        np.tile([[300.0, -2.0]], (100, 1)),
        rng.normal([0.0, 0.0], [100.0, 1.0], size=(300, 2)),
        rng.normal([-300.0, 3.0], [50.0, 0.5], size=(200, 2)),
    ])
    for reg in (1e-2, 1.0):
        r = fit_em(jax.random.key(1), x, 3, reg_covar=reg, n_init=N_INIT)
        sk = GaussianMixture(3, reg_covar=reg, n_init=N_INIT, tol=1e-8, random_state=0).fit(x)
        j = int(np.argmax(r.mixture.means[:, 0]))
        np.testing.assert_allclose(np.diag(r.mixture.covariances[j]), [reg, reg], rtol=1e-3)
        np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(sk.covariances_).min(axis=1)),
                                   np.sort(np.linalg.eigvalsh(r.mixture.covariances).min(axis=1)), rtol=1e-2)
        assert r.log_likelihood >= sk.score(x) * x.shape[0] - 1e-4 * abs(sk.score(x) * x.shape[0])


def test_same_key_same_result(data):
    x, k = data["2d"]
    a = fit_em(jax.random.key(7), x, k, n_init=N_INIT)
    b = fit_em(jax.random.key(7), x, k, n_init=N_INIT)
    np.testing.assert_array_equal(a.mixture.covariances, b.mixture.covariances)
    assert a.log_likelihood == b.log_likelihood


def test_random_init_and_one_component(data):
    x, _ = data["2d"]
    r = fit_em(KEY, x, 3, init="random", n_init=N_INIT)
    assert np.isfinite(r.log_likelihood)
    one = fit_em(KEY, x, 1)
    # K = 1: the maximum-likelihood Gaussian is the sample mean and (biased) covariance.
    np.testing.assert_allclose(one.mixture.means[0], x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(one.mixture.covariances[0], np.cov(x.T, bias=True), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(x=np.zeros((5, 2, 1)), n_components=1), "x must have shape"),
        (dict(x=np.zeros((5, 2)), n_components=6), "n_components=6 exceeds"),
        (dict(x=np.zeros((5, 2)), n_components=2, covariance_type="banana"), "covariance_type"),
        (dict(x=np.zeros((5, 2)), n_components=2, reg_covar=0.0), "reg_covar"),
        (dict(x=np.zeros((5, 2)), n_components=2, tol=-1.0), "tol"),
        (dict(x=np.zeros((5, 2)), n_components=2, n_init=0), "n_init"),
        (dict(x=np.zeros((5, 2)), n_components=2, init="kmeans++"), "init"),
        (dict(x=[[0.0, np.nan]], n_components=1), "finite"),
    ],
)
def test_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_em(KEY, **kwargs)
    with pytest.raises(ValueError, match="key"):
        fit_em("seed", np.zeros((5, 2)), 1)


def test_line_as_n_by_1_is_the_same_fit():
    """(N,) and (N, 1) data give the same fit and criteria, to 1e-10."""
    from gmm import aic, datasets

    x = datasets.galaxies()
    a = fit_em(KEY, x, 3)
    b = fit_em(KEY, x[:, None], 3)
    assert abs(a.log_likelihood - b.log_likelihood) <= 1e-10 * abs(a.log_likelihood)
    np.testing.assert_allclose(a.mixture.means, b.mixture.means, rtol=1e-10)
    for crit in (bic, aic):
        assert abs(crit(x, a.mixture) - crit(x[:, None], b.mixture)) <= 1e-10 * abs(crit(x, a.mixture))


def test_one_outlier_does_not_move_the_clusters(data):
    """Columns are centred and scaled robustly (median, IQR) and EM runs in float64: an
    outlier 1e12 away gets its own component and the other two stay where they were."""
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal([0.0, 0.0], 1.0, size=(50, 2)), rng.normal([10.0, 10.0], 1.0, size=(50, 2))]
    clean = fit_em(KEY, x, 2)
    dirty = fit_em(KEY, np.r_[x, [[1e12, 1e12]]], 3)
    np.testing.assert_allclose(dirty.mixture.means[:2], clean.mixture.means, atol=0.05)
    assert dirty.mixture.weights[2] == pytest.approx(1 / 101)


def test_stopping_at_max_iter_warns():
    import gmm

    x, k = _data_2d()
    with pytest.warns(gmm.ConvergenceWarning, match="max_iter=2"):
        r = fit_em(KEY, x, k, max_iter=2)
    assert not r.converged and r.n_iter == 2
