"""gmm.model_choice.laplace: the Laplace split of a posterior mode's mass (fit + prior + volume), held
to exact and SMC evidences where the posterior is close to Gaussian, and log_joint held to
SciPy's densities."""

import math

import jax
import numpy as np
import pytest
from scipy import stats

import gmm
from gmm.model_choice.laplace import from_unconstrained, laplace, log_joint, to_unconstrained


def test_round_trip_of_the_unconstrained_map():
    w, m, s = np.array([0.2, 0.5, 0.3]), np.array([-1.0, 0.5, 4.0]), np.array([0.3, 1.0, 2.5])
    u = to_unconstrained(w, m, s)
    assert u.shape == (8,)
    with jax.enable_x64(True):
        back = [np.asarray(a) for a in from_unconstrained(jax.numpy.asarray(u), 3)]
    for a, b in zip(back, (w, m, s)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_log_joint_matches_scipy():
    x = np.array([-1.2, 0.3, 0.9, 4.1, 5.0])
    prior = gmm.Prior(alpha=2.0, mean_loc=1.0, mean_scale=3.0, std_shape=2.0, std_rate=1.5)
    w, m, s = np.array([0.4, 0.6]), np.array([0.0, 4.5]), np.array([1.0, 0.7])
    ll, lp = log_joint(x, w, m, s, prior)
    ref_ll = np.log(w[0] * stats.norm.pdf(x, m[0], s[0]) + w[1] * stats.norm.pdf(x, m[1], s[1])).sum()
    ref_lp = (stats.beta.logpdf(w[0], 2.0, 2.0) + stats.norm.logpdf(m, 1.0, 3.0).sum()
              + stats.gamma.logpdf(s, 2.0, scale=1 / 1.5).sum())
    assert ll == pytest.approx(ref_ll, rel=1e-10) and lp == pytest.approx(ref_lp, rel=1e-10)
    # leading axes are kept
    ll2, _ = log_joint(x, np.stack([w, w]), np.stack([m, m]), np.stack([s, s]), prior)
    assert ll2.shape == (2,) and np.allclose(ll2, ll)


def test_one_component_matches_the_exact_evidence():
    """With K = 1 and 300 points the posterior is nearly Gaussian: Laplace's mass is the
    evidence to within a few hundredths of a nat (the exact one is a 1-D quadrature)."""
    x = np.asarray(jax.random.normal(jax.random.key(0), (300,)), np.float64) * 2.0 + 5.0
    prior = gmm.Prior(alpha=1.0, mean_loc=0.0, mean_scale=10.0, std_shape=2.0, std_rate=1.0)
    lm = laplace(x, [1.0], [4.0], [1.0], prior)
    exact = gmm.exact_log_marginal_likelihood(x, 1, prior=prior)
    assert abs(lm.log_mass - exact) < 0.05, (lm.log_mass, exact)
    assert lm.fit + lm.prior + lm.volume == pytest.approx(lm.log_mass, abs=1e-9)
    assert lm.gradient_norm < 1e-5
    assert lm.max_log_likelihood >= lm.fit


def test_two_separated_components_match_smc_with_two_copies():
    """Two well-separated groups: one mode and its relabelled copy, so the evidence is
    about 2 times Laplace's mass of one copy; checked against SMC within 0.25 nats."""
    z = np.asarray(jax.random.normal(jax.random.key(1), (240,)), np.float64)
    x = np.concatenate([z[:120], 12.0 + 1.5 * z[120:]])
    prior = gmm.Prior(alpha=1.0, mean_loc=6.0, mean_scale=10.0, std_shape=2.0, std_rate=1.0)
    lm = laplace(x, [0.5, 0.5], [0.5, 11.0], [1.5, 1.5], prior)
    assert lm.means[0] < lm.means[1]  # sorted by mean
    smc = gmm.log_marginal_likelihood(jax.random.key(2), x, 2, prior=prior)
    assert abs(lm.log_mass + math.log(2) - smc.log_evidence) < 0.25, (lm.log_mass, smc)


def test_galaxies_two_modes_reproduce_the_share_of_mode_a():
    """The chapter's K = 2 decomposition: fits within half a nat, the prior (density in
    sigma) favouring mode A by over 2 nats and the volume favouring B by over 4, the Occam
    factor favouring B, mode A's Laplace share near importance sampling's 0.2."""
    x = gmm.datasets.galaxies()
    prior = gmm.Prior(alpha=1.0, mean_loc=20.0, mean_scale=10.0, std_shape=2.0, std_rate=1.0)
    a = laplace(x, [0.09, 0.91], [9.7, 21.4], [0.4, 2.5], prior)
    b = laplace(x, [0.15, 0.85], [20.0, 21.0], [7.0, 2.0], prior)
    assert abs(a.max_log_likelihood - b.max_log_likelihood) < 0.5
    assert a.prior - b.prior > 2.0 and b.volume - a.volume > 4.0
    # the coordinate-free part: the Occam factor favours B, by more than the fits differ
    assert b.occam - a.occam > 1.0 + abs(a.fit - b.fit)
    # on the log-sigma scale most of the prior's preference for A is gone
    assert 0.0 < a.split_in_log_stds()[0] - b.split_in_log_stds()[0] < 1.0
    share = 1.0 / (1.0 + math.exp(b.log_mass - a.log_mass))
    assert 0.1 < share < 0.3, share


def test_bad_starts_are_refused():
    x = gmm.datasets.galaxies()
    prior = gmm.Prior(alpha=1.0, mean_loc=20.0, mean_scale=10.0)
    with pytest.raises(ValueError, match="same length"):
        laplace(x, [0.5, 0.5], [10.0], [1.0, 1.0], prior)
    with pytest.raises(ValueError, match="positive"):
        laplace(x, [0.5, 0.5], [10.0, 20.0], [1.0, -1.0], prior)


def test_split_in_log_stds_moves_sum_log_sigma_and_keeps_the_occam_factor():
    """The prior density of (pi, mu, log sigma) is SciPy's density of (pi, mu, sigma) times
    prod sigma; the volume loses the same amount, so occam = prior + volume is unchanged."""
    x = gmm.datasets.galaxies()
    prior = gmm.Prior(alpha=1.0, mean_loc=20.0, mean_scale=10.0, std_shape=2.0, std_rate=1.0)
    lm = laplace(x, [0.15, 0.85], [20.0, 21.0], [7.0, 2.0], prior)
    prior_log, volume_log = lm.split_in_log_stds()
    ref = (stats.norm.logpdf(lm.means, 20.0, 10.0).sum()
           + stats.gamma.logpdf(lm.stds, 2.0, scale=1.0).sum() + np.log(lm.stds).sum())
    assert prior_log == pytest.approx(ref, rel=1e-10)  # Dirichlet(1, 1) density is 1
    assert lm.occam == pytest.approx(lm.prior + lm.volume, abs=1e-12)
    assert prior_log + volume_log == pytest.approx(lm.occam, abs=1e-9)
    assert volume_log < lm.volume  # B's broad component: sum log sigma > 0
