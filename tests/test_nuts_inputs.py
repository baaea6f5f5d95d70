"""gmm.nuts on data far from zero or on extreme scales, its size bound and its starting points.

NUTS runs in float32 on standardised data under the prior carried over to the standardised
units; the references here are computed in float64 in the data's own units, so a wrong
transform of any hyperparameter, or a lost offset, shows as a disagreement.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import gamma, invgamma

import gmm
from gmm.inference.nuts import _dispersed_starts

numpyro = pytest.importorskip("numpyro")
from numpyro.distributions import biject_to, constraints  # noqa: E402

RUN = dict(n_samples=300, n_warmup=300, n_chains=2)


def two_clusters() -> np.ndarray:
    """50 points from N(0, 1) and 50 from N(10, 1)."""
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(0.0, 1.0, 50), rng.normal(10.0, 1.0, 50)])


@pytest.mark.parametrize("offset, scale", [(1.7e9, 1.0), (0.0, 1e30), (0.0, 1e-30)],
                         ids=["offset_1.7e9", "scale_1e30", "scale_1e-30"])
def test_far_from_zero_and_extreme_scales(offset, scale):
    base = two_clusters()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains; the numbers are checked below
        post = gmm.nuts(jax.random.key(0), base * scale + offset, 2, **RUN)
    means = (post.means - offset) / scale
    stds = post.stds / scale
    assert post.means.dtype == np.float64 and np.all(np.isfinite(post.means))
    # each cluster's sample mean is within 0.3 of 0 / 10 (sd 1 / sqrt(50) = 0.14); the posterior
    # sd of a component mean is about 0.14 as well
    np.testing.assert_allclose(means.mean(axis=(0, 1)), [0.0, 10.0], atol=0.5)
    np.testing.assert_allclose(stds.mean(axis=(0, 1)), [1.0, 1.0], atol=0.3)
    np.testing.assert_allclose(post.weights.mean(axis=(0, 1)), [0.5, 0.5], atol=0.1)
    # every draw, not only the average, is in the right place: no chain is lost in float32
    assert np.all(np.abs(means - [0.0, 10.0]) < 1.5) and np.all((stds > 0.4) & (stds < 2.0))


def test_draws_kept_are_bounded_by_memory():
    x = two_clusters()
    with pytest.raises(ValueError, match=r"n_samples must be at most 16,276 with 1024 chains of 3K = 6"):
        gmm.nuts(jax.random.key(0), x, 2, n_samples=10**6, n_chains=1024)
    with pytest.raises(ValueError, match=r"n_samples must be at most 333,333 with 10 chains.*GiB"):
        gmm.nuts(jax.random.key(0), x, 10, n_samples=10**6, n_chains=10)


@pytest.mark.parametrize("prior, name", [
    (gmm.Prior(std_rate=1e30), "std_rate"),  # sigma's prior median 2e-30, far below the data's spread
    (gmm.Prior(std_shape=1e30, std_rate=1e30), "std_rate"),  # median ~1, but std_rate x 1e10 overflows float32
    (gmm.Prior.inverse_gamma_variance(1.0, 400.0, 50.0, 3.0, 1e-30), "var_scale"),
])
def test_prior_not_representable_on_the_data_scale_is_refused(prior, name):
    x = two_clusters() * 1e10  # spread ~ 5e10
    with pytest.raises(ValueError, match=rf"prior\.{name} = "):
        gmm.nuts(jax.random.key(0), x, 2, prior=prior, **RUN)


def test_value_beyond_float32_on_the_data_scale_is_refused():
    x = np.append(two_clusters(), 1e40)  # (1e40 - median) / spread overflows float32
    with pytest.raises(ValueError, match=r"x has a value .* from its median"):
        gmm.nuts(jax.random.key(0), x, 2, **RUN)


def _k1_posterior_moments(x: np.ndarray, prior: gmm.Prior) -> dict[str, tuple[float, float]]:
    """Posterior (mean, sd) of mu and sigma at K = 1, in float64 in the data's units.

    sigma on a fine grid in log sigma; mu integrated analytically given sigma (the Normal
    prior is conjugate): mu | sigma, x ~ N(m_n, v_n). Independent of any sampler's mixing.
    """
    m0, s0 = float(prior.mean_loc), float(prior.mean_scale)
    a, b = (float(v) for v in prior.std_params)
    n, xbar = x.size, float(np.mean(x))
    ss = float(np.sum((x - xbar) ** 2))
    log_s = np.linspace(np.log(np.std(x)) - 4.0, np.log(np.std(x)) + 4.0, 20_001)
    s = np.exp(log_s)
    if prior.family == "gamma_std":
        log_prior = gamma.logpdf(s, a, scale=1.0 / b)
    else:  # sigma^2 ~ InverseGamma(a, b): density of sigma carries the Jacobian 2 sigma
        log_prior = invgamma.logpdf(s**2, a, scale=b) + np.log(2.0 * s)
    # p(x | sigma) with mu integrated out: x ~ N(m0 1, sigma^2 I + s0^2 1 1^T)
    log_lik = (-(n - 1) * np.log(s) - 0.5 * np.log(s**2 + n * s0**2) - ss / (2 * s**2)
               - n * (xbar - m0) ** 2 / (2 * (s**2 + n * s0**2)))
    log_w = log_prior + log_lik + log_s  # + log_s: the grid is uniform in log sigma
    w = np.exp(log_w - logsumexp(log_w))
    v_n = 1.0 / (1.0 / s0**2 + n / s**2)
    m_n = v_n * (m0 / s0**2 + n * xbar / s**2)
    mu_mean = float(np.sum(w * m_n))
    mu_var = float(np.sum(w * (v_n + (m_n - mu_mean) ** 2)))
    s_mean = float(np.sum(w * s))
    s_var = float(np.sum(w * (s - s_mean) ** 2))
    return {"means": (mu_mean, np.sqrt(mu_var)), "stds": (s_mean, np.sqrt(s_var))}


OFFSET = 1e7  # float32's spacing at 1e7 is 1 g: raw float32 data would be rounded to whole grams
K1_PRIORS = {
    # informative priors that pull mu from the data mean (~440) and sigma from the data sd
    # (~73): a hyperparameter carried over with the wrong power of the scale moves the answer
    "gamma": gmm.Prior(alpha=1.0, mean_loc=OFFSET + 300.0, mean_scale=20.0, std_shape=50.0, std_rate=50.0 / 40.0),
    "inverse_gamma": gmm.Prior.inverse_gamma_variance(1.0, OFFSET + 300.0, 20.0, 30.0, 30.0 * 40.0**2),
}


@pytest.mark.parametrize("family", list(K1_PRIORS))
def test_standardised_posterior_is_the_same_distribution(family):
    prior = K1_PRIORS[family]
    x = np.asarray(gmm.datasets.bento(), np.float64) + OFFSET
    ref = _k1_posterior_moments(x, prior)
    post = gmm.nuts(jax.random.key(1), x, 1, prior=prior, n_samples=1000, n_warmup=300, n_chains=2)
    for name, (mean, sd) in ref.items():
        draws = getattr(post, name)[..., 0]
        ess = float(post.ess[name][0])
        assert ess > 200, (name, ess)
        mcse = sd / np.sqrt(ess)
        assert abs(draws.mean() - mean) < 4 * mcse, (family, name, draws.mean() - OFFSET, mean - OFFSET, mcse)
        assert abs(draws.std() / sd - 1) < 0.15, (family, name, draws.std(), sd)
    # the prior matters here: it pulls both parameters several posterior sds from the data's
    # mean and sd, so a hyperparameter carried over wrongly would move the draws
    assert abs(ref["means"][0] - x.mean()) > 3 * ref["means"][1]
    assert abs(ref["stds"][0] - x.std()) > 2.5 * ref["stds"][1]


@pytest.mark.parametrize("family", ["gamma_std", "inverse_gamma_var"])
def test_starting_points_are_over_dispersed(family):
    z = np.linspace(-3.0, 5.0, 30)
    init = _dispersed_starts(np.random.default_rng(0), z, 3, 8, family)
    second = "vars" if family == "inverse_gamma_var" else "stds"
    assert set(init) == {"weights", "means", second}
    weights = np.asarray(biject_to(constraints.simplex)(init["weights"]))
    means = np.asarray(init["means"])
    spread = np.asarray(biject_to(constraints.positive)(init[second]))
    assert weights.shape == means.shape == spread.shape == (8, 3)  # leading chain axis
    np.testing.assert_allclose(weights, 1.0 / 3.0, rtol=1e-5)
    np.testing.assert_allclose(spread, 0.25 if second == "stds" else 0.25**2, rtol=1e-5)
    assert np.all((means >= -3.0) & (means <= 5.0)) and np.all(np.diff(means, axis=1) >= 0)
    # over-dispersed: the chains' lowest means spread over much of the data's range
    assert np.ptp(means[:, 0]) > 2.0 and np.ptp(means[:, -1]) > 2.0
    one = _dispersed_starts(np.random.default_rng(0), z, 3, 1, family)
    assert np.asarray(one["means"]).shape == (1, 3) and np.asarray(one["weights"]).shape == (1, 2)
