"""gmm: Gaussian mixture models with GenJAX, the package behind the book.

The modules follow the book's story:

- :mod:`gmm.datasets`   the bento and coffee data
- :mod:`gmm.mixture`    known-parameter mixtures (:class:`Mixture`)
- :mod:`gmm.models`     GenJAX generative functions and the :class:`Prior`
- :mod:`gmm.em`         maximum likelihood by EM (:func:`fit_em`)
- :mod:`gmm.selection`  choosing K (:func:`bic`, :func:`aic`)
- :mod:`gmm.plotting`   the book's figures
"""

from gmm import datasets, plotting
from gmm.em import EMResult, fit_em
from gmm.mixture import Mixture, count_modes, decision_boundaries
from gmm.models import (
    Prior,
    bayesian_gmm,
    bayesian_gmm_marginal,
    bento_mixture,
    observations,
)
from gmm.selection import aic, bic, n_parameters

__all__ = [
    "EMResult",
    "Mixture",
    "Prior",
    "aic",
    "bayesian_gmm",
    "bayesian_gmm_marginal",
    "bento_mixture",
    "bic",
    "count_modes",
    "datasets",
    "decision_boundaries",
    "plotting",
    "fit_em",
    "n_parameters",
    "observations",
]
