"""Information criteria: formulas by hand, choosing K on the bentos, and input checks."""

import jax
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import gmm
from gmm import Mixture, aic, bic, n_parameters

X = np.asarray(gmm.datasets.bento(), dtype=np.float64)


def hand_ll(x, w, mu, sd):
    return float(logsumexp(np.log(w) + stats.norm.logpdf(np.asarray(x, float)[:, None], mu, sd), axis=1).sum())


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_n_parameters_counts_means_sds_and_free_weights(k):
    means, sds, free_weights = k, k, k - 1  # the weights sum to 1
    assert n_parameters(k) == means + sds + free_weights == 3 * k - 1


PARAMS = [
    ([1.0], [430.0], [75.0]),
    ([0.4, 0.6], [350.0, 500.0], [2.0, 1.8]),
    ([0.2, 0.3, 0.5], [340.0, 360.0, 500.0], [5.0, 5.0, 2.0]),
]


@pytest.mark.parametrize(("w", "mu", "sd"), PARAMS)
def test_bic_and_aic_formulas(w, mu, sd):
    m = Mixture(w, mu, sd)
    ll = hand_ll(X, np.array(w), np.array(mu), np.array(sd))
    p = 3 * len(w) - 1
    n = X.size
    assert bic(X, m) == pytest.approx(-2 * ll + p * np.log(n), rel=1e-5)
    assert aic(X, m) == pytest.approx(-2 * ll + 2 * p, rel=1e-5)
    # BIC's penalty exceeds AIC's once log N > 2 (N = 20 here).
    assert bic(X, m) - aic(X, m) == pytest.approx(p * (np.log(n) - 2), rel=1e-4)


def test_bic_and_aic_prefer_two_kinds_of_bento():
    # K = 1: the maximum-likelihood Gaussian has the sample mean and the (biased) sample sd.
    one = Mixture([1.0], [X.mean()], [X.std()])
    two = gmm.fit_em(jax.random.key(0), X, 2).mixture
    assert bic(X, two) < bic(X, one)
    assert aic(X, two) < aic(X, one)


def test_list_input_accepted():
    m = Mixture(*PARAMS[1])
    assert bic(list(X), m) == pytest.approx(bic(X, m))


BAD_X = [
    pytest.param([], "empty", id="empty"),
    pytest.param(np.ones((2, 10)), "1-D", id="2-D"),
    pytest.param([1.0, np.nan], "finite", id="nan"),
    pytest.param([1.0, np.inf], "finite", id="inf"),
    pytest.param(["a", "b"], "real numbers", id="str"),
    pytest.param([True, False], "real numbers", id="bool"),
]


@pytest.mark.parametrize("criterion", [bic, aic])
@pytest.mark.parametrize(("x", "match"), BAD_X)
def test_bad_x_raises(criterion, x, match):
    with pytest.raises(ValueError, match=match):
        criterion(x, Mixture(*PARAMS[1]))


@pytest.mark.parametrize("criterion", [bic, aic])
@pytest.mark.parametrize(
    "mixture",
    [None, ([0.5, 0.5], [0.0, 1.0], [1.0, 1.0]), {"weights": [1.0]}, "mixture"],
    ids=["none", "tuple", "dict", "str"],
)
def test_non_mixture_raises(criterion, mixture):
    with pytest.raises(ValueError, match="mixture"):
        criterion(X, mixture)
