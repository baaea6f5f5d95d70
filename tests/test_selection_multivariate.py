"""bic and select_k against scikit-learn; the D-dimensional data sets."""

import jax
import numpy as np
import pytest
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

from gmm.datasets import coffee_image, penguins
from gmm.models.mixture import Mixture
from gmm.model_choice.selection import bic, select_k

W = np.array([0.3, 0.7])
MU = np.array([[0.0, 1.0, 2.0], [2.0, -1.0, 0.5]])
COV = {"full": np.array([[[1.0, 0.2, 0.0], [0.2, 0.5, 0.1], [0.0, 0.1, 2.0]], np.eye(3) * 0.3]),
       "diag": np.array([np.diag([1.0, 0.5, 2.0]), np.diag([0.3, 0.2, 0.1])])}


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_bic_matches_sklearn(covariance_type):
    m = Mixture(W, MU, covariances=COV[covariance_type], covariance_type=covariance_type)
    x = m.sample(jax.random.key(0), 300)[0]
    gm = GaussianMixture(2, covariance_type=covariance_type)
    gm.weights_, gm.means_ = W, MU
    gm.covariances_ = COV[covariance_type] if covariance_type == "full" else np.diagonal(COV["diag"], axis1=1, axis2=2)
    gm.precisions_cholesky_ = _compute_precision_cholesky(gm.covariances_, covariance_type)
    assert bic(x, m) == pytest.approx(gm.bic(x), rel=1e-10)


def test_select_k_finds_the_clusters():
    m = Mixture([0.3, 0.3, 0.4], [[0, 0], [6, 0], [0, 6]], covariances=np.array([np.eye(2)] * 3))
    x = m.sample(jax.random.key(1), 400)[0]
    res = select_k(jax.random.key(2), x, [1, 2, 3, 4])
    assert res.best_k == 3
    assert res.scores[3] == pytest.approx(bic(x, res.mixtures[3]))
    with pytest.raises(ValueError, match="ks"):
        select_k(jax.random.key(2), x, [0, 2])
    with pytest.raises(ValueError, match="mixture must be"):
        bic(x, "not a mixture")


def test_penguins():
    x, species = penguins()
    assert x.shape == (342, 2) and x.dtype == np.float64 and np.all(np.isfinite(x))
    # 344 birds, one Adelie and one Gentoo unmeasured (Gorman et al. 2014; palmerpenguins docs).
    names, counts = np.unique(species, return_counts=True)
    assert dict(zip(names, counts)) == {"Adelie": 151, "Chinstrap": 68, "Gentoo": 123}
    assert 30 < x[:, 0].min() and x[:, 0].max() < 61 and 170 < x[:, 1].min() and x[:, 1].max() < 232


def test_coffee_image():
    im = coffee_image()
    assert im.shape == (400, 600, 3) and 0.0 <= im.min() and im.max() <= 1.0
