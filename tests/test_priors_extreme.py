"""Extreme data and priors on the line (issue 26): the default prior resists outliers, data
and hyperparameters the computation cannot represent are refused with a message that names
them and what is allowed, and every prior that is accepted gives finite answers."""

import re
import warnings

import jax
import numpy as np
import pytest

import gmm
from gmm.models.generative import FLOAT32_RANGE, check_prior_on_data

KEY = jax.random.key(0)
_RNG = np.random.default_rng(0)
X = np.r_[_RNG.normal(0.0, 1.0, 50), _RNG.normal(10.0, 1.0, 50)]  # two clusters at 0 and 10
XS = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
XS_SPREAD = (np.quantile(XS, 0.75) - np.quantile(XS, 0.25)) / 1.349


def _quiet(fn):
    """fn() with the samplers' convergence and error-bar warnings silenced (not the point here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn()


# --- the default prior: median and IQR, not mean and sd --------------------------------------


def test_default_prior_ignores_one_wild_value():
    wild = np.r_[X, 1e12]
    prior = gmm.Prior.from_data(wild)
    q1, q3 = np.quantile(wild, [0.25, 0.75])
    assert prior.mean_loc == pytest.approx(np.median(wild), rel=1e-12)
    assert prior.mean_scale == pytest.approx((q3 - q1) / 1.349, rel=1e-12)
    assert prior.std_rate == pytest.approx(4.0 / prior.mean_scale, rel=1e-12)
    clean = gmm.Prior.from_data(X)  # the wild value leaves both inside the bulk of the data
    assert X.min() < prior.mean_loc < X.max() and 0.9 < prior.mean_scale / clean.mean_scale < 1.1
    assert prior.mean_scale < 20.0  # the mean and sd of wild are about 1e10 and 1e11


def test_default_prior_of_equal_values_has_unit_scale():
    prior = gmm.Prior.from_data(np.full(5, 3.0))
    assert (prior.mean_loc, prior.mean_scale, prior.std_rate) == (3.0, 1.0, 4.0)


# --- data the computation cannot represent ---------------------------------------------------


@pytest.mark.parametrize("entry", ["gibbs", "importance_sampling", "log_marginal_likelihood", "exact", "posterior_over_k"])
def test_data_near_1e300_are_refused_naming_x(entry):
    calls = {
        "gibbs": lambda x: gmm.gibbs(KEY, x, 2),
        "importance_sampling": lambda x: gmm.importance_sampling(KEY, x, 2),
        "log_marginal_likelihood": lambda x: gmm.log_marginal_likelihood(KEY, x, 2),
        "exact": lambda x: gmm.exact_log_marginal_likelihood(x[:6], 2),
        "posterior_over_k": lambda x: gmm.posterior_over_k(KEY, x[:6], [1, 2]),
    }
    with pytest.raises(ValueError) as err:
        calls[entry](X * 1e300)
    message = str(err.value)
    assert message.startswith("x ") and ("allowed" in message or "at most" in message), message
    assert "mean_scale" not in message and "prior" not in message, message  # not an argument the user never gave


def test_one_value_beyond_float32_on_the_data_scale_is_refused_naming_x():
    with pytest.raises(ValueError, match=r"x has a value 1e\+40 .* allowed: values within 1e\+15 spreads"):
        gmm.gibbs(KEY, np.r_[X, 1e40], 2, n_samples=4, n_warmup=1)
    with pytest.raises(ValueError, match=r"x has a value"):
        gmm.importance_sampling(KEY, np.r_[X, 1e40], 2, n_particles=64)


# --- hyperparameters the computation cannot represent ----------------------------------------

TINY_SHAPE = gmm.Prior(mean_loc=6.0, mean_scale=10.0, std_shape=1e-30)
FLOAT32_ENTRIES = {
    "gibbs": lambda prior: gmm.gibbs(KEY, XS, 2, prior=prior, n_samples=8, n_warmup=4),
    "importance_sampling": lambda prior: gmm.importance_sampling(KEY, XS, 2, prior=prior, n_particles=64),
    "smc": lambda prior: gmm.log_marginal_likelihood(KEY, XS, 2, prior=prior, method="smc"),
    "is": lambda prior: gmm.log_marginal_likelihood(KEY, XS, 2, prior=prior, method="is"),
    "posterior_over_k smc": lambda prior: gmm.posterior_over_k(KEY, XS, [1, 2], prior=prior, method="smc"),
}
ENTRIES = {
    **FLOAT32_ENTRIES,
    "exact": lambda prior: gmm.exact_log_marginal_likelihood(XS, 2, prior=prior),
    "posterior_over_k": lambda prior: gmm.posterior_over_k(KEY, XS, [1, 2], prior=prior),
}


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_a_prior_with_its_mass_at_sigma_zero_is_refused_everywhere(entry):
    # std_shape = 1e-30: a proper prior whose draws of sigma all underflow to 0 (SMC answered
    # -inf, exact enumeration +inf)
    with pytest.raises(ValueError, match=r"prior\.std_shape = 1e-30 .* allowed: .* std_shape >= 0\.0"):
        ENTRIES[entry](TINY_SHAPE)


@pytest.mark.parametrize("entry", list(FLOAT32_ENTRIES))
def test_means_prior_beyond_float32_is_refused_by_the_samplers(entry):
    # mean_scale 1e20 on 6 points gave Gibbs a quarter of its mean draws NaN
    prior = gmm.Prior(mean_loc=6.0, mean_scale=1e20)
    with pytest.raises(ValueError, match=r"prior\.mean_scale = 1e\+20 .* allowed: 1e-15 to 1e\+15 times"):
        FLOAT32_ENTRIES[entry](prior)


@pytest.mark.parametrize(
    "prior, named",
    [
        (gmm.Prior(mean_loc=1e20, mean_scale=10.0), "prior.mean_loc = 1e+20"),
        (gmm.Prior(mean_loc=6.0, mean_scale=1e-20), "prior.mean_scale = 1e-20"),
        (gmm.Prior(mean_loc=6.0, mean_scale=10.0, std_rate=1e-46), "prior.std_rate = 1e-46"),
        (gmm.Prior(mean_loc=6.0, mean_scale=10.0, std_rate=1e20), "prior.std_rate = 1e+20"),
        (gmm.Prior.inverse_gamma_variance(1.0, 6.0, 10.0, 1e-3, 1.0), "prior.var_shape = 0.001"),
        (gmm.Prior.inverse_gamma_variance(1.0, 6.0, 10.0, 3.0, 1e40), "prior.var_scale = 1e+40"),
    ],
)
def test_each_hyperparameter_is_checked_on_the_data_scale(prior, named):
    with pytest.raises(ValueError, match=re.escape(named)) as err:
        check_prior_on_data(prior, XS)
    assert "allowed" in str(err.value)


def test_the_suggested_bounds_are_where_the_check_flips():
    # the message's "std_shape >= v" and "std_rate <= v" are the edges of what is accepted
    for prior, pattern, rebuild in [
        (TINY_SHAPE, r"std_shape >= ([0-9.e+-]+)", lambda v: gmm.Prior(mean_loc=6.0, mean_scale=10.0, std_shape=v)),
        (gmm.Prior(mean_loc=6.0, mean_scale=10.0, std_rate=1e20), r"std_rate <= ([0-9.e+-]+)",
         lambda v: gmm.Prior(mean_loc=6.0, mean_scale=10.0, std_rate=v)),
    ]:
        with pytest.raises(ValueError) as err:
            check_prior_on_data(prior, XS)
        edge = float(re.search(pattern, str(err.value)).group(1))
        inside = edge * (1.01 if ">=" in pattern else 0.99)
        outside = edge * (0.99 if ">=" in pattern else 1.01)
        check_prior_on_data(rebuild(inside), XS)
        with pytest.raises(ValueError):
            check_prior_on_data(rebuild(outside), XS)


def test_gibbs_at_the_edge_of_the_allowed_means_prior_has_no_nan():
    prior = gmm.Prior(mean_loc=6.0, mean_scale=0.99 * FLOAT32_RANGE * XS_SPREAD)
    post = _quiet(lambda: gmm.gibbs(KEY, XS, 2, prior=prior, n_samples=200, n_warmup=100, n_chains=2))
    for draws in (post.weights, post.means, post.stds):
        assert np.all(np.isfinite(draws))


def test_a_small_but_accepted_std_shape_gives_finite_evidences():
    prior = gmm.Prior(mean_loc=6.0, mean_scale=10.0, std_shape=0.05)  # median of sigma ~ 1e-7: accepted
    exact = gmm.exact_log_marginal_likelihood(XS, 2, prior=prior)
    smc = _quiet(lambda: gmm.log_marginal_likelihood(KEY, XS, 2, prior=prior, method="smc"))
    assert np.isfinite(exact) and np.isfinite(smc.log_evidence)
    assert abs(smc.log_evidence - exact) < 1.0  # and about right
    # exact enumeration, in float64, takes what the samplers refuse
    assert np.isfinite(gmm.exact_log_marginal_likelihood(XS, 2, prior=gmm.Prior(mean_loc=6.0, mean_scale=1e20)))


def test_exact_refuses_a_sigma_prior_too_narrow_for_its_quadrature():
    # std_rate 2.6e14 (sigma's median at the float32 edge, 1e-15 spreads) asked exact
    # enumeration for a grid of 9.4e9 points in log sigma: a MemoryError
    prior = gmm.Prior(mean_loc=6.0, mean_scale=10.0, std_rate=1e13)
    with pytest.raises(ValueError, match=r"prior\.std_rate = 1e\+13: .* allowed: at most 1e\+07 points, i\.e\. "
                                         r"prior\.std_rate below about"):
        gmm.exact_log_marginal_likelihood(XS, 2, prior=prior)
    assert np.isfinite(gmm.exact_log_marginal_likelihood(XS, 2, prior=gmm.Prior(mean_loc=6.0, mean_scale=10.0,
                                                                                  std_rate=1e3)))
