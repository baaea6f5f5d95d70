"""What the evidence estimators return: :class:`EvidenceEstimate` (log p(x | K) with its
error bar) and :class:`KPosterior` (P(K | x) over the candidate K), and how they are made
from the estimators' raw outputs. Shared by the estimators on the line
(:mod:`gmm.model_choice.evidence`) and under the NIW prior (:mod:`gmm.model_choice.collapsed`).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp as np_logsumexp

# An importance sampler's delta-method error bar, sqrt(var(w) / S) / mean(w), estimates var(w)
# from the weights drawn. Below MIN_IS_ESS effective draws (ESS = (sum w)^2 / sum w^2) one or two
# weights make up var(w), the heavy tail of w has not been seen, and the estimate is typically
# far too low (bento at K = 6 with 2000 "em" particles: ESS 2, 4 nats below SMC, error bar 0.7):
# the error bar is then NaN, with a RuntimeWarning. (Pareto k-hat (PSIS; Vehtari et al. 2024)
# was weighed and left out: 1.5 there, where the ESS already tells; 0.1-0.3 where the proposal
# missed a mode (nothing in the weights drawn shows it; gmm.log_marginal_likelihood checks that
# case against a bound, see evidence.py); 0.9-1.1 on 5 points with prior draws whose error bars
# were right (|z| < 2.4 in 8 keys); and meaningless for the tied weights of a discrete z.)
MIN_IS_ESS = 50.0


def warn_unreliable(message: str) -> None:
    """A RuntimeWarning attributed to the first caller outside the ``gmm`` package."""
    warnings.warn(message, RuntimeWarning, skip_file_prefixes=(os.path.dirname(os.path.dirname(__file__)),))


def importance_error_bar(ess: float, stderr: float, n_particles: int, what: str) -> float:
    """The error bar of an importance sampling estimate of log p(x | K) with effective sample
    size ``ess`` of ``n_particles`` and delta-method error ``stderr``: ``stderr``, or NaN with a
    RuntimeWarning (``what`` names the estimator) when ess < ``MIN_IS_ESS`` (the rule above)."""
    if ess >= MIN_IS_ESS:
        return stderr
    warn_unreliable(
        f"{what}: the importance weights reached an ESS of only {ess:.1f} of {n_particles} particles (reliable: "
        f"ESS >= {MIN_IS_ESS:g}). A few weights dominate, so the estimate of log p(x | K) is probably too low and "
        "its error bar is not reliable (reported as NaN). Use method='smc' (gmm.log_marginal_likelihood), or "
        "more particles (n_particles).")
    return math.nan


@dataclass(frozen=True)
class EvidenceEstimate:
    """An estimate of log p(x | K).

    Attributes:
        n_components: the number of components K.
        log_evidence: the estimate of log p(x | K), nats.
        log_evidence_stderr: its standard error (nats; 0 for ``"exact"``): for ``"smc"`` from the spread of
            the independent runs, sqrt(var_r(Z_r) / R) / mean_r(Z_r) (delta method on the
            unbiased Z scale); for ``"is"`` the importance sampler's delta-method error, NaN
            (with a RuntimeWarning) when its weights cannot support it (``importance_error_bar``).
        method: ``"smc"``, ``"is"`` or ``"exact"``.
        run_log_evidence: log Z_r of every independent SMC run, shape (R,) (empty otherwise).
        n_temperatures: mean number of tempering steps per SMC run (0 otherwise).
        acceptance_rate: mean Metropolis acceptance rate of the SMC moves (nan otherwise).
        ess: the importance sampler's effective sample size (nan otherwise).
    """

    n_components: int
    log_evidence: float
    log_evidence_stderr: float
    method: str
    run_log_evidence: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    n_temperatures: float = 0.0
    acceptance_rate: float = math.nan
    ess: float = math.nan


def smc_result(k, n_runs, log_scale, log_z, steps, acc) -> EvidenceEstimate:
    """The EvidenceEstimate from run_smc's outputs (log Z per run in standardised units)."""
    log_z = np.asarray(log_z, np.float64) - log_scale
    est = float(np_logsumexp(log_z) - math.log(n_runs))
    if n_runs > 1 and np.isfinite(est):
        rel = np.exp(log_z - est)
        stderr = float(np.sqrt(np.var(rel, ddof=1) / n_runs))
    else:
        stderr = math.nan
    return EvidenceEstimate(
        n_components=k, log_evidence=est, log_evidence_stderr=stderr, method="smc", run_log_evidence=log_z,
        n_temperatures=float(np.mean(np.asarray(steps))), acceptance_rate=float(np.mean(np.asarray(acc))),
    )


@dataclass(frozen=True)
class KPosterior:
    """P(K | x) under a uniform prior on the candidate K.

    Attributes:
        ks: the candidate K, increasing.
        probabilities: P(K | x) per K, ``{K: float}``, summing to 1.
        probabilities_stderr: delta-method standard error of each probability from the evidences' error
            bars, sd(P_K) ≈ sqrt(sum_j (P_K (1[K = j] - P_j) se_j)^2).
        log_evidence: log p(x | K) per K (nats).
        log_evidence_stderr: its error bar per K (0 when exact).
        estimates: the :class:`EvidenceEstimate` per K.
        best_k: the most probable K.
    """

    ks: tuple[int, ...]
    probabilities: dict[int, float]
    probabilities_stderr: dict[int, float]
    log_evidence: dict[int, float]
    log_evidence_stderr: dict[int, float]
    estimates: dict[int, EvidenceEstimate] = field(repr=False)
    best_k: int

    def summary(self) -> list[dict[str, Any]]:
        """One row per candidate K, as the samplers' ``summary()`` gives one per parameter:
        ``k``, ``probability``, ``probability_stderr``, ``log_evidence``,
        ``log_evidence_stderr`` and the ``method`` that estimated it."""
        return [{"k": k, "probability": self.probabilities[k],
                 "probability_stderr": self.probabilities_stderr[k],
                 "log_evidence": self.log_evidence[k], "log_evidence_stderr": self.log_evidence_stderr[k],
                 "method": self.estimates[k].method} for k in self.ks]


def posterior_from_evidence(log_ev: Any, se: Any) -> tuple[np.ndarray, np.ndarray]:
    """P(K | x) = softmax(log Z) and its delta-method sd; all mass on infinite evidences."""
    L = np.asarray(log_ev, np.float64)
    s = np.asarray(se, np.float64)
    if np.isposinf(L).any():
        p = np.isposinf(L).astype(np.float64)
        return p / p.sum(), np.zeros_like(p)
    p = np.exp(L - np_logsumexp(L))
    jac = p[:, None] * (np.eye(L.size) - p[None, :])  # dP_K / dlogZ_j
    sd = np.sqrt(((jac * s[None, :]) ** 2).sum(axis=1))
    return p, sd


def k_posterior(ks_t: tuple[int, ...], estimates: dict[int, EvidenceEstimate]) -> KPosterior:
    """The KPosterior of the evidences of every candidate K."""
    log_ev = [estimates[k].log_evidence for k in ks_t]
    se = [estimates[k].log_evidence_stderr for k in ks_t]  # NaN (a single SMC run) propagates to P's error bar
    p, sd = posterior_from_evidence(log_ev, se)
    return KPosterior(
        ks=ks_t,
        probabilities={k: float(v) for k, v in zip(ks_t, p)},
        probabilities_stderr={k: float(v) for k, v in zip(ks_t, sd)},
        log_evidence={k: float(v) for k, v in zip(ks_t, log_ev)},
        log_evidence_stderr={k: float(v) for k, v in zip(ks_t, se)},
        estimates=estimates,
        best_k=ks_t[int(np.argmax(p))],
    )


__all__ = ["EvidenceEstimate", "KPosterior", "MIN_IS_ESS", "importance_error_bar", "k_posterior",
           "posterior_from_evidence", "smc_result", "warn_unreliable"]
