"""Information criteria for choosing the number of components K."""

from __future__ import annotations

from typing import Any

import numpy as np

from gmm._validation import as_data
from gmm.mixture import Mixture


def n_parameters(n_components: int) -> int:
    """Free parameters of a 1-D K-component mixture: K means, K sds, K - 1 weights."""
    return 3 * n_components - 1


def _check_mixture(mixture: Any) -> Mixture:
    if not isinstance(mixture, Mixture):
        raise ValueError(f"mixture must be a gmm.Mixture, got {type(mixture).__name__}.")
    return mixture


def bic(x: Any, mixture: Mixture) -> float:
    """Bayesian information criterion -2 log L + p log N (lower is better)."""
    data = as_data(x)
    m = _check_mixture(mixture)
    ll = float(m.log_likelihood(data))
    return -2.0 * ll + n_parameters(m.n_components) * np.log(data.size)


def aic(x: Any, mixture: Mixture) -> float:
    """Akaike information criterion -2 log L + 2p (lower is better)."""
    data = as_data(x)
    m = _check_mixture(mixture)
    ll = float(m.log_likelihood(data))
    return -2.0 * ll + 2.0 * n_parameters(m.n_components)
