"""The galaxies at K = 4 and 5, where mode B holds well under 1% of the mass and the posterior
is broad within mode A (the central hump split in many ways). The reference is importance
sampling with pieces built from an SMC run's final particles (``proposal="allocations"``),
checked against that SMC run's evidence; tempered Gibbs is held to its mode share and
predictive density, from three keys.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from galaxy_reference import GRID, assert_is_matches_smc, LADDER, PRIOR, is_predictive, is_share_a, mode_a, smc_and_allocation_is

import gmm


@pytest.fixture(scope="module")
def galaxies() -> np.ndarray:
    return gmm.datasets.galaxies()


@pytest.fixture(scope="module")
def draws_k4(galaxies):
    return smc_and_allocation_is(galaxies, 4, PRIOR, 104, 1000)


@pytest.fixture(scope="module")
def draws_k5(galaxies):
    return smc_and_allocation_is(galaxies, 5, PRIOR, 105, 1000)


@pytest.mark.parametrize("k", [4, 5])
def test_allocation_is_and_smc_agree_within_error_bars(request, k):
    """At K >= 4 the posterior is broad (components that split or merge the bulk) and the EM
    modes miss part of it; pieces built from SMC's particles cover it. The SMC run that supplied
    the particles is the comparison (the IS weights are exact whatever the particles)."""
    est, r = request.getfixturevalue(f"draws_k{k}")
    assert_is_matches_smc(r, est, k)


def test_allocation_is_and_smc_agree_under_chibs_prior_at_k4(galaxies):
    """Under Chib's (1995) inverse-gamma prior the EM-mode proposal misses about 0.3 nats of
    the K = 4 posterior; pieces built from SMC's particles find it."""
    chib = gmm.Prior.inverse_gamma_variance(1.0, 20.0, 10.0, 3.0, 20.0)
    est, r = smc_and_allocation_is(galaxies, 4, chib, 204, 1000)
    assert_is_matches_smc(r, est, "chib k4")


# Chains, not sweeps: at K = 4 the cold chain still dwells for hundreds of sweeps in
# configurations where the component under the central peak is broad (or narrow), so one
# chain's predictive at the peak scatters by about 2.8% of it after 3,000 draws (1.2% at K = 5);
# 16 chains bring that to 0.7% (8 to 0.45% at K = 5). The references sit 0.5% (K = 4) and 0.9%
# (K = 5) above the consensus of 120 tempered chains at the peak. Many short chains cost less
# than a few long ones: the chains share vectorised work.
HIGH_K = {4: {"n_chains": 16, "n_samples": 3000, "n_warmup": 500}, 5: {"n_chains": 8, "n_samples": 3000, "n_warmup": 500}}


@pytest.mark.parametrize("key", [7, 8, 9])
@pytest.mark.parametrize("k", [4, 5])
def test_tempered_gibbs_matches_allocation_is_at_k4_k5(request, galaxies, k, key, seed):
    """At K = 4 and 5 mode B holds well under 1% of the mass; what tempering must get right is
    the mixing within mode A between the ways the central hump is split. The ladder adapted in
    warmup evens out the swap rates (the geometric one runs from 0.28 at the cold pair to 0.9)."""
    _, r = request.getfixturevalue(f"draws_k{k}")
    post = gmm.gibbs(jax.random.key(key + 100 * seed), galaxies, k, prior=PRIOR, **HIGH_K[k], **LADDER)
    ref, se = is_share_a(r)
    share = mode_a(post.means, post.stds).mean()
    assert abs(share - ref) < 0.07, (share, ref, se)
    rates = post.swap_acceptance_rate.mean(axis=0)
    assert rates.min() > 0.45 and np.ptp(rates) < 0.25, rates
    dens = post.predictive_density(GRID, max_draws=12_000)  # thinning to 2,000 draws would add ~0.7% noise
    ref_dens = is_predictive(r, GRID)
    gap = np.max(np.abs(dens - ref_dens)) / ref_dens.max()
    assert gap < 0.03, gap
