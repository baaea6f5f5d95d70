"""Shared by the galaxies' multimodal tests: the issue's prior, the tempering ladder, the mode-A
indicator, and the references that do not depend on any sampler's mixing (importance sampling,
whose weights are exact, with its mode shares and predictive density)."""

from __future__ import annotations

import jax
import numpy as np

import gmm
from gmm.model_choice.evidence import _smc_launch
from gmm.inference.gibbs import mixture_densities

PRIOR = gmm.Prior(alpha=1.0, mean_loc=20.0, mean_scale=10.0, std_shape=2.0, std_rate=1.0)
LADDER = {"n_temperatures": 12, "min_inverse_temperature": 0.003}
GRID = np.linspace(5.0, 38.0, 200)


def mode_a(means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """Draws (sorted by mean) in mode A: the lowest component narrow and below 13."""
    return (means[..., 0] < 13.0) & (stds[..., 0] < 2.0)


def smc_and_allocation_is(x, k, prior, key, n_smc_particles):
    """An SMC evidence (8 runs) and importance sampling whose proposal pieces are built from that
    run's final particles (``proposal="allocations"``): exact weights, so the IS estimate does not rely
    on SMC's particles being right, only on their covering the posterior for its variance."""
    est, draws = _smc_launch(jax.random.key(key), x, k, prior, n_smc_particles, 8, 8, 0.8, 500, particles=True)()
    r = gmm.importance_sampling(
        jax.random.key(key + 1), x, k, prior=prior, n_particles=20_000, proposal="allocations", draws=draws
    )
    return est, r


def assert_is_matches_smc(r, smc_estimate, label) -> None:
    """Importance sampling ``r`` and an SMC estimate agree within 4 combined standard errors,
    with an IS effective sample size over 500 (weights that a few particles dominate would
    make its error bar meaningless)."""
    assert r.ess > 500, (label, r.ess)
    err = np.hypot(r.log_evidence_stderr, smc_estimate.log_evidence_stderr)
    assert abs(r.log_evidence - smc_estimate.log_evidence) < 4 * err, (label, r.log_evidence, smc_estimate.log_evidence, err)


def is_share_a(r) -> tuple[float, float]:
    """The importance sampler's share of mode A, with its delta-method standard error."""
    w = r.normalized_weights
    a = mode_a(r.means, r.stds)
    share = float(w[a].sum())
    return share, float(np.sqrt(np.sum(w**2 * (a - share) ** 2)))


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
