"""Choosing the number of components K in D dimensions: BIC of the maximum-likelihood fit.

BIC = -2 log L_hat + p log N with p = :func:`gmm.mixture_nd.n_parameters_nd` (K - 1 weights,
K D means, K D (D + 1) / 2 or K D covariance entries). The penalty grows like K D^2 for full
covariances, which is why "diag" can win in higher dimensions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import jax

from gmm._validation import check_key, check_n_components
from gmm.em_nd import fit_em_nd
from gmm.mixture_nd import MixtureND, as_data_nd, check_covariance_type, n_parameters_nd


def bic_nd(x: Any, mixture: MixtureND) -> float:
    """Bayesian information criterion -2 log L + p log N of a D-dimensional mixture (lower is better)."""
    if not isinstance(mixture, MixtureND):
        raise ValueError(f"mixture must be a gmm.mixture_nd.MixtureND, got {type(mixture).__name__}.")
    data = as_data_nd(x, dim=mixture.dim)
    return -2.0 * mixture.log_likelihood(data) + mixture.n_parameters * math.log(data.shape[0])


@dataclass(frozen=True)
class SelectionResultND:
    """Outcome of :func:`select_k_nd`.

    Attributes:
        ks: the K values tried, in order.
        scores: BIC for each K (dict K -> float; lower is better).
        log_likelihoods: the maximised log-likelihood for each K (nats).
        best_k: the K with the lowest BIC.
        mixtures: the fitted mixture for each K.
    """

    ks: tuple[int, ...]
    scores: dict[int, float]
    log_likelihoods: dict[int, float]
    best_k: int
    mixtures: dict[int, MixtureND] = field(repr=False)


def select_k_nd(key: jax.Array, x: Any, ks: Iterable[int], *, covariance_type: str = "full",
                n_init: int = 4) -> SelectionResultND:
    """Fit :func:`~gmm.fit_em_nd` for every K in ``ks`` and choose K by BIC.

    Args:
        key: ``jax.random`` key (split once per K).
        x: observations, shape (N, D).
        ks: candidate numbers of components, each in [1, N].
        covariance_type: ``"full"`` or ``"diag"``.
        n_init: EM restarts per K.
    """
    key = check_key(key)
    data = as_data_nd(x)
    covariance_type = check_covariance_type(covariance_type)
    ks = tuple(check_n_components(k, data.shape[0], "ks") for k in ks)
    if not ks:
        raise ValueError("ks must name at least one number of components.")
    scores, lls, mixtures = {}, {}, {}
    for k, key_k in zip(ks, jax.random.split(key, len(ks))):
        fit = fit_em_nd(key_k, data, k, covariance_type=covariance_type, n_init=n_init)
        mixtures[k], lls[k] = fit.mixture, fit.log_likelihood
        scores[k] = -2.0 * fit.log_likelihood + n_parameters_nd(k, data.shape[1], covariance_type) * math.log(data.shape[0])
    best = min(ks, key=lambda k: scores[k])
    return SelectionResultND(ks=ks, scores=scores, log_likelihoods=lls, best_k=best, mixtures=mixtures)


__all__ = ["SelectionResultND", "bic_nd", "n_parameters_nd", "select_k_nd"]
