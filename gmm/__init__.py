"""gmm: Gaussian mixture models with GenJAX, the package behind the book.

The modules follow the book's story:

- :mod:`gmm.datasets`     the bento and coffee data, and the galaxies and Old Faithful
- :mod:`gmm.mixture`      known-parameter mixtures (:class:`Mixture`)
- :mod:`gmm.models`       GenJAX generative functions and the :class:`Prior`
- :mod:`gmm.em`           maximum likelihood by EM (:func:`fit_em`)
- :mod:`gmm.importance`   importance sampling and the evidence p(x) (:func:`importance_sampling`)
- :mod:`gmm.gibbs`        Metropolis-within-Gibbs posterior sampling (:func:`gibbs`)
- :mod:`gmm.diagnostics`  R-hat, ESS, convergence warnings and ArviZ ``DataTree`` output
- :mod:`gmm.selection`    choosing K (:func:`bic`, :func:`aic`, :func:`select_k`)
- :mod:`gmm.evidence`     the Bayesian evidence p(x | K) and P(K | x)
- :mod:`gmm.laplace`      a posterior mode's mass split into fit, prior and volume
- :mod:`gmm.crp`          the Chinese restaurant process and the DP mixture as GenJAX programs
- :mod:`gmm.dpmm`         Dirichlet process mixtures by Neal's Algorithm 8 (:func:`dp_gibbs`)
- :mod:`gmm.mixture_nd`, :mod:`gmm.em_nd`, :mod:`gmm.gibbs_nd`, :mod:`gmm.selection_nd`
                          the same story for points in D dimensions
- :mod:`gmm.plotting`     the book's figures

Every function that draws random numbers takes a ``jax.random`` key as its first
argument, as in JAX and GenJAX: ``gmm.fit_em(key, x, 2)``, ``gmm.gibbs(key, x, 2)``.
"""

from gmm import crp, datasets, diagnostics, dpmm, laplace, plotting
from gmm.dpmm import DPPosterior, dp_gibbs
from gmm.em import EMResult, fit_em
from gmm.em_nd import EMResultND, fit_em_nd
from gmm.gibbs_nd import GibbsPosteriorND, PriorND, gibbs_nd
from gmm.mixture_nd import MixtureND, n_parameters_nd
from gmm.selection_nd import SelectionResultND, bic_nd, select_k_nd
from gmm.evidence import (
    EvidenceEstimate,
    KPosterior,
    exact_log_marginal_likelihood,
    log_marginal_likelihood,
    posterior_over_k,
)
from gmm.gibbs import GibbsPosterior, gibbs
from gmm.importance import ImportanceResult, importance_sampling
from gmm.nuts import NutsPosterior, nuts
from gmm.mixture import Mixture, count_modes, decision_boundaries
from gmm.models import (
    Prior,
    bayesian_gmm,
    bayesian_gmm_marginal,
    bento_mixture,
    observations,
)
from gmm.binned import binned_log_likelihood, binned_log_prob, data_resolution
from gmm.selection import (
    SelectionResult,
    aic,
    bic,
    n_parameters,
    naive_select_k,
    select_k,
)

__all__ = [
    "DPPosterior",
    "EMResult",
    "EMResultND",
    "GibbsPosteriorND",
    "MixtureND",
    "PriorND",
    "SelectionResultND",
    "bic_nd",
    "fit_em_nd",
    "gibbs_nd",
    "n_parameters_nd",
    "select_k_nd",
    "EvidenceEstimate",
    "GibbsPosterior",
    "ImportanceResult",
    "KPosterior",
    "Mixture",
    "Prior",
    "SelectionResult",
    "aic",
    "bayesian_gmm",
    "bayesian_gmm_marginal",
    "bento_mixture",
    "bic",
    "binned_log_likelihood",
    "binned_log_prob",
    "count_modes",
    "crp",
    "data_resolution",
    "datasets",
    "decision_boundaries",
    "diagnostics",
    "dp_gibbs",
    "dpmm",
    "exact_log_marginal_likelihood",
    "fit_em",
    "gibbs",
    "importance_sampling",
    "laplace",
    "nuts",
    "NutsPosterior",
    "log_marginal_likelihood",
    "n_parameters",
    "naive_select_k",
    "observations",
    "plotting",
    "posterior_over_k",
    "select_k",
]
