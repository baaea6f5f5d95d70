"""A bimodal posterior: the galaxies at K = 2 (a narrow cluster near 10 plus the bulk, about
20% of the mass, or one broad component plus the bulk, about 80%).

Plain Gibbs chains stay in the mode they start in; tempered Gibbs crosses. The reference
is importance sampling with the multi-mode "em" proposal, whose weights are exact whatever
any sampler does, checked in turn against SMC at K = 2 .. 4 (and SMC against the exact value
at K = 1, where importance sampling is not offered); NumPyro's NUTS is the reference at K = 3,
where the samplers mix. K = 4 and 5 are in ``test_multimodal_k45.py``, other priors in
``test_multimodal_priors.py`` (separate modules, so that pytest-xdist runs them side by side).
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
import pytest

from galaxy_reference import GRID, assert_is_matches_smc, LADDER, PRIOR, is_predictive, is_share_a, mode_a

import gmm
from gmm.model_choice.evidence import exact_log_marginal_likelihood

pytest.importorskip("numpyro")


@pytest.fixture(scope="module")
def galaxies() -> np.ndarray:
    return gmm.datasets.galaxies()


@pytest.fixture(scope="module")
def is_k2(galaxies):
    return gmm.importance_sampling(jax.random.key(0), galaxies, 2, prior=PRIOR, n_particles=20_000, proposal="em")


@pytest.fixture(scope="module")
def is_k3(galaxies):
    return gmm.importance_sampling(jax.random.key(1), galaxies, 3, prior=PRIOR, n_particles=20_000, proposal="em")


@pytest.fixture(scope="module")
def is_k4(galaxies):
    return gmm.importance_sampling(jax.random.key(2), galaxies, 4, prior=PRIOR, n_particles=20_000, proposal="em")


@pytest.fixture(scope="module")
def smc(galaxies):
    """SMC evidences at K = 1 .. 4 (one compilation: every K padded to 4 components)."""
    est = gmm.posterior_over_k(jax.random.key(10), galaxies, (2, 3, 4), prior=PRIOR, method="smc").estimates
    est[1] = gmm.log_marginal_likelihood(jax.random.key(11), galaxies, 1, prior=PRIOR, method="smc")
    return est


def test_is_covers_both_modes(is_k2):
    share, se = is_share_a(is_k2)
    assert 0.1 < share < 0.35 and se < 0.03, (share, se)
    assert len(is_k2.modes) >= 2


def test_smc_matches_exact_at_k1(galaxies, smc):
    exact = exact_log_marginal_likelihood(galaxies, 1, prior=PRIOR)
    assert abs(smc[1].log_evidence - exact) < 4 * smc[1].log_evidence_stderr, (smc[1].log_evidence, smc[1].log_evidence_stderr, exact)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_is_and_smc_agree_within_error_bars(request, smc, k):
    assert_is_matches_smc(request.getfixturevalue(f"is_k{k}"), smc[k], k)


@pytest.mark.parametrize("key", [7, 8, 9])
def test_tempered_gibbs_crosses_between_modes(galaxies, is_k2, key, seed):
    post = gmm.gibbs(jax.random.key(key + 100 * seed), galaxies, 2, prior=PRIOR, n_samples=5000, n_warmup=1000, **LADDER)
    a = mode_a(post.means, post.stds)
    ref, se = is_share_a(is_k2)
    assert abs(a.mean() - ref) < 0.07, (a.mean(), ref, se)
    assert np.all(a.any(axis=1) & (~a).any(axis=1))  # every chain visits both modes
    assert np.all(np.abs(a.mean(axis=1) - ref) < 0.2), a.mean(axis=1)
    assert np.all(post.swap_acceptance_rate > 0.1)
    dens = post.predictive_density(GRID)
    ref_dens = is_predictive(is_k2, GRID)
    assert np.max(np.abs(dens - ref_dens)) < 0.03 * ref_dens.max()


def test_tempered_gibbs_k3_matches_is(galaxies, is_k3):
    """At K = 3 the slow group has its own narrow component in almost every draw; the share of
    draws with it and the predictive density match the importance sampler's."""
    post = gmm.gibbs(jax.random.key(7), galaxies, 3, prior=PRIOR, n_samples=1500, n_warmup=500, **LADDER)
    ref, _ = is_share_a(is_k3)
    assert abs(mode_a(post.means, post.stds).mean() - ref) < 0.07
    dens, ref_dens = post.predictive_density(GRID), is_predictive(is_k3, GRID)
    assert np.max(np.abs(dens - ref_dens)) < 0.03 * ref_dens.max()


def test_plain_gibbs_stays_stuck_and_says_how_to_cross(galaxies):
    with pytest.warns(RuntimeWarning, match=r"R-hat.*n_temperatures"):
        post = gmm.gibbs(jax.random.key(7), galaxies, 2, prior=PRIOR, n_samples=1000, n_warmup=500)
    per_chain = mode_a(post.means, post.stds).mean(axis=1)
    assert np.all((per_chain < 0.02) | (per_chain > 0.98)), per_chain  # no chain ever crosses
    assert 0 < (per_chain > 0.5).sum() < post.n_chains  # and they disagree
    assert post.swap_acceptance_rate.shape == (4, 0)


def test_gibbs_k3_predictive_matches_nuts_and_is(galaxies, is_k3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        post = gmm.gibbs(jax.random.key(3), galaxies, 3, prior=PRIOR, n_samples=4000, n_warmup=1000)
    from gmm.inference.nuts import nuts

    # NUTS starts each chain at its own scattered point; at K = 3 a chain can settle in a
    # minor mode (4.7e-5 of the mass by importance sampling) and stay there, as any local
    # sampler may. The reference is read only when its chains agree.
    ref = nuts(jax.random.key(0), galaxies, 3, prior=PRIOR, n_samples=1000, n_warmup=500)
    assert max(r.max() for r in ref.rhat.values()) <= 1.01, ref.rhat
    dens, nuts_dens, is_dens = post.predictive_density(GRID), ref.predictive_density(GRID), is_predictive(is_k3, GRID)
    assert np.max(np.abs(dens - nuts_dens)) < 0.03 * nuts_dens.max()
    assert np.max(np.abs(dens - is_dens)) < 0.03 * is_dens.max()
    assert ref.means.shape == (4, 1000, 3) and np.all(np.diff(ref.means, axis=-1) >= 0)
