"""The outcome of :func:`gmm.gibbs` for data in any dimension: :class:`GibbsPosterior`.

One class serves both samplers. Its draws have the one-dimensional shapes (means and stds
(C, S, K)) when the data have one dimension and the D-dimensional ones (means (C, S, K, D),
covariances (C, S, K, D, D)) otherwise; the summaries read whichever the draws have.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmm import diagnostics
from gmm.inference.posterior_draws import PosteriorDraws


@dataclass(frozen=True)
class GibbsPosterior(PosteriorDraws):
    """Outcome of :func:`gmm.gibbs`: draws relabelled in every sample (by increasing mean in
    one dimension, by the first coordinate of the means in D), unless ``relabel=False``.

    Data with one dimension ((N,), or (N, 1)) give the one-dimensional shapes below; data
    (N, D) with D >= 2 the D-dimensional ones.

    Attributes:
        weights: mixing proportions, shape (n_chains, n_samples, K).
        means: component means, shape (n_chains, n_samples, K) in one dimension, else
            (n_chains, n_samples, K, D); data units.
        stds: component standard deviations, shape (n_chains, n_samples, K), data units; in
            one dimension only (None otherwise).
        assignment_probs: P(z_i = k | x), shape (N, K), rows sum to 1, Rao-Blackwellised:
            the average over all draws of P(z_i = k | theta_s, x_i), in the sorted labelling.
        rhat: rank-normalised split R-hat of every scalar parameter (ArviZ),
            ``{"weights": (K,), "means": (K,), "stds": (K,)}`` in one dimension,
            ``{"weights": (K,), "means": (K, D), "covariances": (K, D, D)}`` in D; NaN with one chain.
        ess: bulk effective sample size of every scalar parameter (ArviZ), same layout;
            quote it for Monte Carlo standard errors, sd / sqrt(ess).
        acceptance_rate: mean acceptance probability of the log-sigma MH steps after
            warmup, shape (n_chains, K); None for the conjugate sampler (no MH steps).
        step_size: the adapted random-walk step on log sigma, shape (n_chains, K), in
            log sigma (unitless); None for the conjugate sampler.
        inverse_temperatures: the tempering ladder beta_0 = 1 > beta_1 > ... used after
            warmup (adapted during warmup unless ``adapt_ladder=False``), shape
            (n_temperatures,); ``[1.0]`` without tempering.
        swap_acceptance_rate: mean acceptance probability of the proposed swaps between
            rungs r and r + 1 after warmup, shape (n_chains, n_temperatures - 1) (empty
            without tempering). Rates near 0 for some pair mean the ladder is too sparse there.
        correction_acceptance_rate: acceptance rate after warmup of the 1-D sampler's
            g-corrections of each rung (``gmm.inference.tempering``): [:, :, 0] over pi and the K
            means, [:, :, 1] over the K standard deviations; shape (n_chains,
            n_temperatures, 2); all 1 at beta = 1 and without tempering; None for the
            conjugate sampler, whose rungs need no correction.
        data: the observations, shape (N,) or (N, D), data units.
        covariances: component covariance matrices, shape (n_chains, n_samples, K, D, D)
            (D = 1 in one dimension: the variances stds^2), squared data units.
        prior: the prior used, a :class:`gmm.Prior` or :class:`gmm.NIWPrior`, data units.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray | None
    assignment_probs: np.ndarray
    rhat: dict[str, np.ndarray]
    ess: dict[str, np.ndarray]
    acceptance_rate: np.ndarray | None
    step_size: np.ndarray | None
    inverse_temperatures: np.ndarray
    swap_acceptance_rate: np.ndarray
    correction_acceptance_rate: np.ndarray | None
    data: np.ndarray
    covariances: np.ndarray | None = None
    prior: Any = None

    def __post_init__(self) -> None:
        if self.covariances is None:  # one dimension: Sigma_k = sigma_k^2 as (1, 1) matrices
            object.__setattr__(self, "covariances", (self.stds**2)[..., None, None])

    @functools.cached_property
    def ess_tail(self) -> dict[str, np.ndarray]:
        """Tail (5% and 95% quantile) ESS of every scalar parameter (ArviZ), same layout as
        ``ess``; computed on first use, since the sampler's own checks need only the bulk ESS."""
        return {name: diagnostics.ess(getattr(self, name), "tail") for name in self.params}

    def summary(self) -> list[dict[str, Any]]:
        """One row per scalar parameter (for covariances the upper triangle): name, mean,
        sd, 2.5% and 97.5% quantiles, mcse = sd / sqrt(ess), rhat, ess, ess_tail (all
        pooled over chains; :func:`gmm.diagnostics.summary`)."""
        return diagnostics.summary({name: getattr(self, name) for name in self.params}, self.rhat, self.ess,
                                   self.ess_tail)


__all__ = ["GibbsPosterior"]
