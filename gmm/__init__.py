"""gmm: Gaussian mixture models with GenJAX, the package behind the book.

Every routine takes data of shape (N,) (points on the line) or (N, D) (points in D
dimensions): one API whatever the dimension. The modules follow the book's story:

- :mod:`gmm.datasets`     the bento and coffee data, the galaxies, Old Faithful, the penguins
- :mod:`gmm.mixture`      known-parameter mixtures (:class:`Mixture`)
- :mod:`gmm.models`       GenJAX generative functions and the :class:`Prior`
- :mod:`gmm.models_full`  the GenJAX model with full covariances in D dimensions
- :mod:`gmm.niw`          the Normal-Inverse-Wishart prior (:class:`NIWPrior`), conjugate in any D
- :mod:`gmm.kmeans`       k-means seeding, shared by EM and the samplers
- :mod:`gmm.em`           maximum likelihood by EM (:func:`fit_em`), four covariance structures
- :mod:`gmm.importance`   importance sampling and the evidence p(x) (:func:`importance_sampling`)
- :mod:`gmm.gibbs`        Gibbs posterior sampling, with parallel tempering (:func:`gibbs`)
- :mod:`gmm.diagnostics`  R-hat, ESS, convergence warnings and ArviZ ``DataTree`` output
- :mod:`gmm.selection`    choosing K (:func:`bic`, :func:`aic`, :func:`select_k`)
- :mod:`gmm.evidence`     the Bayesian evidence p(x | K) and P(K | x)
- :mod:`gmm.laplace`      a posterior mode's mass split into fit, prior and volume
- :mod:`gmm.crp`          the Chinese restaurant process and the DP mixture as GenJAX programs
- :mod:`gmm.dpmm`         Dirichlet process mixtures (:func:`dp_gibbs`): Neal's Algorithm 8 on the
                          line, the collapsed Algorithm 3 under a :class:`NIWPrior` in any D
- :mod:`gmm.plotting`     the book's figures

Every function that draws random numbers takes a ``jax.random`` key as its first
argument, as in JAX and GenJAX: ``gmm.fit_em(key, x, 2)``, ``gmm.gibbs(key, x, 2)``.

``import gmm`` loads none of these modules: each public name is imported from its module
when first used (PEP 562), so a script that only fits EM never loads GenJAX, TensorFlow
Probability, SciPy's statistics or Matplotlib.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it. Modules themselves map to None.
_EXPORTS: dict[str, str | None] = {
    # modules
    "crp": None, "datasets": None, "kmeans": None, "niw": None, "diagnostics": None, "dpmm": None, "laplace": None,
    "plotting": None,
    # data and known mixtures
    "Mixture": "mixture", "count_modes": "mixture", "decision_boundaries": "mixture",
    "n_parameters": "mixture",
    # models
    "Prior": "models", "bayesian_gmm": "models", "bayesian_gmm_marginal": "models",
    "bento_mixture": "models", "observations": "models", "bayesian_gmm_full": "models_full",
    # estimation
    "EMResult": "em", "fit_em": "em", "ConvergenceWarning": "_validation",
    # inference
    "GibbsPosterior": "gibbs", "gibbs": "gibbs",
    "NIWPrior": "niw",
    "ImportanceResult": "importance", "importance_sampling": "importance",
    "NutsPosterior": "nuts", "nuts": "nuts",
    "DPPosterior": "dpmm", "dp_gibbs": "dpmm",
    # model choice
    "EvidenceEstimate": "evidence", "KPosterior": "evidence",
    "exact_log_marginal_likelihood": "evidence", "log_marginal_likelihood": "evidence",
    "posterior_over_k": "evidence",
    "binned_log_likelihood": "binned", "binned_log_prob": "binned", "data_resolution": "binned",
    "SelectionResult": "selection", "aic": "selection", "bic": "selection",
    "naive_select_k": "selection", "select_k": "selection",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        # Any other submodule (gmm.models, gmm.em, ...) is there as an attribute too, as it
        # would be after an eager import.
        if not name.startswith("__") and importlib.util.find_spec(f"gmm.{name}") is not None:
            return importlib.import_module(f"gmm.{name}")
        raise AttributeError(f"module 'gmm' has no attribute {name!r}")
    module = _EXPORTS[name]
    value = importlib.import_module(f"gmm.{name}" if module is None else f"gmm.{module}")
    if module is not None:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """``gmm.gibbs`` and ``gmm.nuts`` are functions named like their modules. Importing a
    submodule binds it on its package; for these two the function keeps the name, as an
    eager ``from gmm.gibbs import gibbs`` in this file would have made it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if TYPE_CHECKING:  # what static tools and editors see: the names, eagerly
    from gmm import crp, datasets, diagnostics, dpmm, kmeans, laplace, niw, plotting
    from gmm.binned import binned_log_likelihood, binned_log_prob, data_resolution
    from gmm.dpmm import DPPosterior, dp_gibbs
    from gmm.em import EMResult, fit_em
    from gmm.evidence import (EvidenceEstimate, KPosterior, exact_log_marginal_likelihood,
                              log_marginal_likelihood, posterior_over_k)
    from gmm.gibbs import GibbsPosterior, gibbs
    from gmm.models_full import bayesian_gmm_full
    from gmm.niw import NIWPrior
    from gmm.importance import ImportanceResult, importance_sampling
    from gmm._validation import ConvergenceWarning
    from gmm.mixture import Mixture, count_modes, decision_boundaries, n_parameters
    from gmm.models import Prior, bayesian_gmm, bayesian_gmm_marginal, bento_mixture, observations
    from gmm.nuts import NutsPosterior, nuts
    from gmm.selection import SelectionResult, aic, bic, naive_select_k, select_k
