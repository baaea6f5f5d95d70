"""The outcome of :func:`gmm.importance_sampling`: weighted particles, the evidence, and
their summaries and ArviZ export (as every posterior result of :mod:`gmm.inference`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np

from gmm import diagnostics
from gmm._util.numerics import numpy_rng
from gmm._util.validation import check_key
from gmm.estimation.em import EMResult
from gmm.inference.scoring import PARAMS
from gmm.models.mixture import Mixture


@dataclass(frozen=True)
class ImportanceResult:
    """Outcome of :func:`importance_sampling`.

    Attributes:
        log_weights: log importance weights log p(x, theta_s) - log q(theta_s), shape (S,)
            (densities of x in data units).
        weights: mixing proportions of each particle, shape (S, K), components sorted by mean.
        means: component means of each particle, shape (S, K), data units.
        stds: component standard deviations of each particle, shape (S, K), data units.
        ess: effective sample size (sum w)^2 / sum w^2, in [1, S].
        log_evidence: log p(x) estimate, logsumexp(log_weights) - log S (nats).
        log_evidence_stderr: delta-method standard error of that estimate,
            sqrt(var(w) / S) / mean(w) = sqrt((S / ess - 1) / (S - 1)). It measures the
            spread of the weights that were drawn, so it is NaN (and a RuntimeWarning says
            why) when they cannot support it, ``ess`` below 50
            (``gmm.model_choice.evidence_result.importance_error_bar``), where the estimate is
            typically biased low. It cannot see mass the proposal never reached.
        proposal: ``"prior"``, ``"em"`` or ``"allocations"``.
        em: the maximum-likelihood EM fit, one of the starts of the ``"em"`` proposal's mode
            search (None for the other proposals).
        modes: the distinct posterior modes the ``"em"`` proposal's pieces are built around, as
            mixtures sorted by mean (data units), best log posterior first (empty for the other
            proposals).
        mode_weights: the probability of the pieces around each mode within the non-defensive
            part of the proposal, shape (len(modes),), summing to 1 (empty for the other
            proposals).
        data: the observations, shape (N,), data units.
    """

    log_weights: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    ess: float
    log_evidence: float
    log_evidence_stderr: float
    proposal: str
    em: EMResult | None = field(default=None, repr=False)
    modes: tuple[Mixture, ...] = field(default=(), repr=False)
    mode_weights: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    data: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_particles(self) -> int:
        """Number of particles S."""
        return int(self.log_weights.shape[0])

    @property
    def normalized_weights(self) -> np.ndarray:
        """Self-normalised importance weights w_s / sum_t w_t, shape (S,)."""
        lw = self.log_weights - np.max(self.log_weights)
        w = np.exp(lw)
        return w / w.sum()

    def posterior_mean(self) -> dict[str, np.ndarray]:
        """Self-normalised estimates of E[weights], E[means], E[stds] (sorted by mean), each (K,)."""
        w = self.normalized_weights
        return {name: w @ getattr(self, name) for name in PARAMS}

    def summary(self) -> list[dict[str, Any]]:
        """One row per scalar parameter (sorted by mean): the self-normalised weighted mean, sd
        and 2.5% and 97.5% quantiles, mcse = sd / sqrt(ess) with the importance ESS, rhat NaN
        (one weighted sample, no chains) and ess = ess_tail = the importance ESS; the columns of
        :meth:`gmm.GibbsPosterior.summary` (:func:`gmm.diagnostics.summary`)."""
        draws = {name: getattr(self, name)[None] for name in PARAMS}  # (1, S, K): one "chain"
        k = self.means.shape[1]
        ess = {name: np.full(k, self.ess) for name in PARAMS}
        rhat = {name: np.full(k, np.nan) for name in PARAMS}
        return diagnostics.summary(draws, rhat, ess, ess, weights=self.normalized_weights[None])

    def to_arviz(self, key: Any = None):
        """The particles as an ArviZ ``DataTree`` of equally weighted draws, by resampling.

        ``posterior`` holds S = ``n_particles`` draws (one chain; dims chain, draw, component)
        picked from the particles by systematic resampling with probabilities
        ``normalized_weights``, so every ArviZ summary and plot, which all treat draws as
        equally weighted, sees the weighted posterior; ``sample_stats`` holds each draw's
        ``particle`` index; ``observed_data`` the data (x). The tree's attrs record the
        resampling key's data (``resampling_key``), the importance ESS and the proposal.
        ArviZ ignores weights stored as a variable, so keeping the particles with a
        ``log_weight`` would make its summaries silently unweighted; resampling adds Monte
        Carlo noise of the order of the mcse of :meth:`summary` (use that for exact weighted
        summaries). Draws repeat where few particles carry the weight (small ``ess``).

        Args:
            key: ``jax.random`` key for the resampling; None uses ``jax.random.key(0)`` (the same
                tree every call).
        """
        key = check_key(jax.random.key(0) if key is None else key)
        w = self.normalized_weights
        u = (numpy_rng(key).random() + np.arange(w.size)) / w.size
        idx = np.minimum(np.searchsorted(np.cumsum(w), u, side="right"), w.size - 1)
        return diagnostics.to_datatree(
            {name: getattr(self, name)[idx][None] for name in PARAMS},
            dims={name: ["component"] for name in PARAMS},
            coords={"component": np.arange(self.means.shape[1])},
            sample_stats={"particle": idx[None]},
            observed_data=None if self.data is None else {"x": self.data},
            attrs={"resampling_key": np.asarray(jax.random.key_data(key)).tolist(), "importance_ess": self.ess,
                   "proposal": self.proposal},
        )


__all__ = ["ImportanceResult"]
