"""gmm: Gaussian mixture models with GenJAX, the package behind the book.

Every routine takes data of shape (N,) (points on the line) or (N, D) (points in D
dimensions): one API whatever the dimension. The subpackages follow the book's story:

- :mod:`gmm.datasets`      the bentos and coffee, the galaxies, Old Faithful, the penguins, a photograph
- :mod:`gmm.models`        what a mixture is: :class:`Mixture`, the priors (:class:`Prior`,
                           :class:`NIWPrior`) and the generative programs in GenJAX
- :mod:`gmm.estimation`    maximum likelihood: :func:`fit_em` (four covariance structures) and k-means
- :mod:`gmm.inference`     the posterior: :func:`gibbs` (with parallel tempering),
                           :func:`importance_sampling`, :func:`nuts`, :func:`dp_gibbs`, and variational
                           inference: :func:`cavi`, :func:`advi`
- :mod:`gmm.model_choice`  how many components: :func:`bic`, :func:`select_k`, the evidence
                           :func:`log_marginal_likelihood` and :func:`posterior_over_k`
- :mod:`gmm.diagnostics`   R-hat, ESS, convergence warnings and ArviZ ``DataTree`` output
- :mod:`gmm.plotting`      the book's figures (they only draw)

Shared helpers (input checks, float64 scaling) live in ``gmm._util``. Every public name
is here at the top (``gmm.fit_em``); the modules hold the rest (``gmm.estimation.em.em_step``).

Every function that draws random numbers takes a ``jax.random`` key as its first
argument, as in JAX and GenJAX: ``gmm.fit_em(key, x, 2)``, ``gmm.gibbs(key, x, 2)``.

``import gmm`` loads none of these modules: each public name is imported from its module
when first used (PEP 562), so a script that only fits EM never loads GenJAX, TensorFlow
Probability, SciPy's statistics or Matplotlib.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it, relative to gmm.
_EXPORTS: dict[str, str] = {
    # data and known mixtures
    "Mixture": "models.mixture", "count_modes": "models.mixture",
    "decision_boundaries": "models.mixture", "n_parameters": "models.mixture",
    # models
    "Prior": "models.generative", "bayesian_gmm": "models.generative",
    "bayesian_gmm_marginal": "models.generative", "bento_mixture": "models.generative",
    "observations": "models.generative", "bayesian_gmm_full": "models.full_covariance",
    "NIWPrior": "models.niw",
    # estimation
    "EMResult": "estimation.driver", "fit_em": "estimation.em", "ConvergenceWarning": "_util.validation",
    # inference
    "GibbsPosterior": "inference.gibbs_posterior", "gibbs": "inference.gibbs",
    "ImportanceResult": "inference.importance_result", "importance_sampling": "inference.importance",
    "NutsPosterior": "inference.nuts", "nuts": "inference.nuts",
    "DPPosterior": "inference.dpmm", "dp_gibbs": "inference.dpmm",
    "VIPosterior": "inference.vi_result", "cavi": "inference.cavi", "advi": "inference.advi",
    # model choice
    "EvidenceEstimate": "model_choice.evidence_result", "KPosterior": "model_choice.evidence_result",
    "exact_log_marginal_likelihood": "model_choice.evidence",
    "log_marginal_likelihood": "model_choice.evidence", "posterior_over_k": "model_choice.evidence",
    "binned_log_likelihood": "model_choice.binned", "binned_log_prob": "model_choice.binned",
    "data_resolution": "model_choice.binned",
    "SelectionResult": "model_choice.selection", "aic": "model_choice.selection",
    "bic": "model_choice.selection", "naive_select_k": "model_choice.selection",
    "select_k": "model_choice.selection",
}
_SUBPACKAGES = ("datasets", "diagnostics", "estimation", "inference", "model_choice", "models", "plotting")
__all__ = sorted(_EXPORTS) + list(_SUBPACKAGES)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"gmm.{_EXPORTS[name]}"), name)
    elif not name.startswith("__") and importlib.util.find_spec(f"gmm.{name}") is not None:
        value = importlib.import_module(f"gmm.{name}")  # gmm.models, gmm.plotting, ...
    else:
        raise AttributeError(f"module 'gmm' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static tools and editors see: the names, eagerly
    from gmm import datasets, diagnostics, estimation, inference, model_choice, models, plotting
    from gmm._util.validation import ConvergenceWarning
    from gmm.estimation.driver import EMResult
    from gmm.estimation.em import fit_em
    from gmm.inference.dpmm import DPPosterior, dp_gibbs
    from gmm.inference.gibbs import gibbs
    from gmm.inference.gibbs_posterior import GibbsPosterior
    from gmm.inference.importance import importance_sampling
    from gmm.inference.importance_result import ImportanceResult
    from gmm.inference.nuts import NutsPosterior, nuts
    from gmm.inference.advi import advi
    from gmm.inference.cavi import cavi
    from gmm.inference.vi_result import VIPosterior
    from gmm.model_choice.binned import binned_log_likelihood, binned_log_prob, data_resolution
    from gmm.model_choice.evidence import exact_log_marginal_likelihood, log_marginal_likelihood, posterior_over_k
    from gmm.model_choice.evidence_result import EvidenceEstimate, KPosterior
    from gmm.model_choice.selection import SelectionResult, aic, bic, naive_select_k, select_k
    from gmm.models.full_covariance import bayesian_gmm_full
    from gmm.models.generative import Prior, bayesian_gmm, bayesian_gmm_marginal, bento_mixture, observations
    from gmm.models.mixture import Mixture, count_modes, decision_boundaries, n_parameters
    from gmm.models.niw import NIWPrior
