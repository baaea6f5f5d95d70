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


def test_rounded_points_with_diagonal_covariances_use_the_cell_likelihood():
    """Rounded to whole units, 250 points in 2-D repeat 156 times: the density BIC then rewards
    spikes on repeated rows and keeps falling with K, while the likelihood of the recorded
    cells (diagonal covariances: a product of bin probabilities) picks the two clusters. Its
    maximised value is the cell log-likelihood of the returned mixture, computed directly."""
    from gmm.model_choice.binned_points import binned_diag_log_likelihood

    rng = np.random.default_rng(0)
    x = np.round(np.r_[rng.normal([0, 0], [2.0, 1.5], size=(150, 2)),
                       rng.normal([12, 6], [1.5, 2.0], size=(100, 2))])
    binned = select_k(jax.random.key(0), x, range(1, 6), covariance_type="diag")
    density = select_k(jax.random.key(0), x, range(1, 6), covariance_type="diag", resolution=None)
    assert binned.likelihood == "binned" and binned.resolution == (1.0, 1.0)
    assert binned.best_k == 2 and density.best_k == 5
    assert all(v <= 0 for v in binned.log_likelihoods.values())  # probabilities of cells
    ll = binned_diag_log_likelihood(x, binned.mixtures[2], np.array(binned.resolution))
    assert ll == pytest.approx(binned.log_likelihoods[2], rel=1e-9)
    # the floor: no sd below the rounding's own sd, 1 / sqrt(12)
    sds = np.sqrt(np.diagonal(binned.mixtures[5].covariances, axis1=1, axis2=2))
    assert sds.min() >= 1 / np.sqrt(12) * (1 - 1e-9)
    with pytest.raises(ValueError, match="closed form for diagonal covariances only"):
        select_k(jax.random.key(0), x, [1, 2], covariance_type="full", resolution=1.0)
    with pytest.raises(ValueError, match="coarser than column"):
        select_k(jax.random.key(0), x / 10, [1, 2], covariance_type="diag", resolution=1.0)
