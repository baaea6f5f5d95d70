"""gmm: Gaussian mixture models with GenJAX, the package behind the book.

The modules follow the book's story:

- :mod:`gmm.datasets`   the bento and coffee data
- :mod:`gmm.mixture`    known-parameter mixtures (:class:`Mixture`)
- :mod:`gmm.models`     GenJAX generative functions and the :class:`Prior`
- :mod:`gmm.em`         maximum likelihood by EM (:func:`fit_em`)
- :mod:`gmm.selection`  choosing K (:func:`bic`, :func:`aic`, :func:`select_k`)
- :mod:`gmm.evidence`   the Bayesian evidence p(x | K) and P(K | x)
- :mod:`gmm.crp`        the Chinese restaurant process and the DP mixture as GenJAX programs
- :mod:`gmm.dpmm`       Dirichlet process mixtures by Neal's Algorithm 8 (:func:`dp_gibbs`)
- :mod:`gmm.plotting`   the book's figures
"""

from gmm import crp, datasets, dpmm, plotting
from gmm.dpmm import DPPosterior, dp_gibbs
from gmm.em import EMResult, fit_em
from gmm.inference import GibbsPosterior, ImportanceResult, gibbs, importance_sampling
from gmm.mixture import Mixture, count_modes, decision_boundaries
from gmm.models import (
    Prior,
    bayesian_gmm,
    bayesian_gmm_marginal,
    bento_mixture,
    observations,
)
from gmm.evidence import (
    EvidenceEstimate,
    KPosterior,
    exact_log_marginal_likelihood,
    log_marginal_likelihood,
    posterior_over_k,
)
from gmm.selection import (
    SelectionResult,
    aic,
    bic,
    binned_log_likelihood,
    binned_log_prob,
    data_resolution,
    n_parameters,
    naive_select_k,
    select_k,
)

__all__ = [
    "DPPosterior",
    "crp",
    "dp_gibbs",
    "dpmm",
    "EMResult",
    "EvidenceEstimate",
    "KPosterior",
    "SelectionResult",
    "binned_log_likelihood",
    "binned_log_prob",
    "data_resolution",
    "exact_log_marginal_likelihood",
    "log_marginal_likelihood",
    "naive_select_k",
    "posterior_over_k",
    "select_k",
    "GibbsPosterior",
    "ImportanceResult",
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
    "gibbs",
    "importance_sampling",
    "n_parameters",
    "observations",
]
