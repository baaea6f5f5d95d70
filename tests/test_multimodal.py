"""A bimodal posterior: the galaxies at K = 2 (a narrow cluster near 10 plus the bulk, about
20% of the mass, or one broad component plus the bulk, about 80%).

Plain Gibbs chains stay in the mode they start in; tempered Gibbs crosses. The reference
is importance sampling with the multi-mode "em" proposal, whose weights are exact whatever
any sampler does, checked in turn against SMC at K = 2 .. 4 (and SMC against the exact value
at K = 1, where importance sampling is not offered); NumPyro's NUTS is the reference at K = 3,
where the samplers mix. From K = 4 on the posterior is broad and the EM modes miss part of it
(about 0.1 nats at K = 4, 0.3 under Chib's prior): there the proposal is built from SMC's
particles instead (``proposal="allocations"``).
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
import pytest

import gmm
from gmm.evidence import _smc_launch, exact_log_marginal_likelihood
from gmm.gibbs import mixture_densities

pytest.importorskip("numpyro")

PRIOR = gmm.Prior(alpha=1.0, mean_loc=20.0, mean_scale=10.0, std_shape=2.0, std_rate=1.0)
LADDER = {"n_temperatures": 12, "min_inverse_temperature": 0.003}
GRID = np.linspace(5.0, 38.0, 200)


def mode_a(means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """Draws (sorted by mean) in mode A: the lowest component narrow and below 13."""
    return (means[..., 0] < 13.0) & (stds[..., 0] < 2.0)


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


def smc_and_draws_is(x, k, prior, key, n_smc_particles):
    """An SMC evidence (8 runs) and importance sampling whose proposal pieces are built from that
    run's final particles (``proposal="allocations"``): exact weights, so the IS estimate does not rely
    on SMC's particles being right, only on their covering the posterior for its variance."""
    est, draws = _smc_launch(jax.random.key(key), x, k, prior, n_smc_particles, 8, 8, 0.8, 500, particles=True)()
    r = gmm.importance_sampling(
        jax.random.key(key + 1), x, k, prior=prior, n_particles=20_000, proposal="allocations", draws=draws
    )
    return est, r


@pytest.fixture(scope="module")
def draws_k4(galaxies):
    return smc_and_draws_is(galaxies, 4, PRIOR, 104, 1000)


@pytest.fixture(scope="module")
def draws_k5(galaxies):
    return smc_and_draws_is(galaxies, 5, PRIOR, 105, 1000)


def is_share_a(r) -> tuple[float, float]:
    w = r.normalized_weights
    a = mode_a(r.means, r.stds)
    share = float(w[a].sum())
    return share, float(np.sqrt(np.sum(w**2 * (a - share) ** 2)))  # delta-method standard error


def is_predictive(r, grid) -> np.ndarray:
    """The self-normalised weighted average of every particle's mixture density on the grid
    (all particles: keeping only the heaviest ones biases the average towards the regions
    the proposal under-covers)."""
    w = r.normalized_weights
    keep = np.flatnonzero(w > 0)
    return sum(
        w[i] @ mixture_densities(r.weights[i], r.means[i], r.stds[i], grid, i.size)
        for i in np.array_split(keep, -(-keep.size // 5000))
    )


def test_is_covers_both_modes(is_k2):
    share, se = is_share_a(is_k2)
    assert 0.1 < share < 0.35 and se < 0.03, (share, se)
    assert len(is_k2.modes) >= 2


def test_smc_matches_exact_at_k1(galaxies, smc):
    exact = exact_log_marginal_likelihood(galaxies, 1, prior=PRIOR)
    assert abs(smc[1].log_evidence - exact) < 4 * smc[1].stderr, (smc[1].log_evidence, smc[1].stderr, exact)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_is_and_smc_agree_within_error_bars(request, smc, k):
    r = request.getfixturevalue(f"is_k{k}")
    assert r.ess > 500, r.ess  # weights that a few particles dominate would make the error bar meaningless
    err = np.hypot(r.log_evidence_stderr, smc[k].stderr)
    assert abs(r.log_evidence - smc[k].log_evidence) < 4 * err, (k, r.log_evidence, smc[k].log_evidence, err)


@pytest.mark.parametrize("k", [4, 5])
def test_allocation_is_and_smc_agree_within_error_bars(request, k):
    """At K >= 4 the posterior is broad (components that split or merge the bulk) and the EM
    modes miss part of it; pieces built from SMC's particles cover it. The SMC run that supplied
    the particles is the comparison (the IS weights are exact whatever the particles)."""
    est, r = request.getfixturevalue(f"draws_k{k}")
    assert r.ess > 500, r.ess
    err = np.hypot(r.log_evidence_stderr, est.stderr)
    assert abs(r.log_evidence - est.log_evidence) < 4 * err, (k, r.log_evidence, est.log_evidence, err)


def test_allocation_is_and_smc_agree_under_chibs_prior_at_k4(galaxies):
    """Under Chib's (1995) inverse-gamma prior the EM-mode proposal misses about 0.3 nats of
    the K = 4 posterior; pieces built from SMC's particles find it."""
    chib = gmm.Prior.inverse_gamma_variance(1.0, 20.0, 10.0, 3.0, 20.0)
    est, r = smc_and_draws_is(galaxies, 4, chib, 204, 1000)
    assert r.ess > 500, r.ess
    err = np.hypot(r.log_evidence_stderr, est.stderr)
    assert abs(r.log_evidence - est.log_evidence) < 4 * err, (r.log_evidence, est.log_evidence, err)


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
    from gmm.nuts import nuts

    ref = nuts(jax.random.key(4), galaxies, 3, prior=PRIOR, n_samples=1000, n_warmup=500)
    dens, nuts_dens, is_dens = post.predictive_density(GRID), ref.predictive_density(GRID), is_predictive(is_k3, GRID)
    assert np.max(np.abs(dens - nuts_dens)) < 0.03 * nuts_dens.max()
    assert np.max(np.abs(dens - is_dens)) < 0.03 * is_dens.max()
    assert ref.means.shape == (4, 1000, 3) and np.all(np.diff(ref.means, axis=-1) >= 0)
