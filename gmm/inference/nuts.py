"""NumPyro's NUTS on the same 1-D Bayesian GMM, as an independent reference for :func:`gmm.gibbs`.

NUTS runs on the model with the assignments summed out (NumPyro's ``MixtureSameFamily``),
shares no code with the GenJAX samplers, and returns draws in the same layout as
:class:`gmm.GibbsPosterior`. NumPyro is an optional dependency (the ``test`` and ``book``
extras); it is imported only when :func:`nuts` is called.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gmm._util import defaults
from gmm import diagnostics
from gmm.inference.scoring import PARAMS
from gmm._util.validation import as_data, check_chain_sizes, check_key, check_n_components
from gmm.inference.gibbs import mixture_densities
from gmm.models.generative import Prior, resolve_prior


@dataclass(frozen=True)
class NutsPosterior:
    """Outcome of :func:`nuts`: draws relabelled by increasing mean in every sample.

    Attributes:
        weights: mixing proportions, shape (n_chains, n_samples, K).
        means: component means, shape (n_chains, n_samples, K), data units.
        stds: component standard deviations, shape (n_chains, n_samples, K), data units.
        rhat: rank-normalised split R-hat per parameter (ArviZ), ``{"weights": (K,), ...}``.
        ess: bulk effective sample size per parameter, same layout.
        data: the observations, shape (N,), data units.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    rhat: dict[str, np.ndarray]
    ess: dict[str, np.ndarray]
    data: np.ndarray

    def predictive_density(self, grid: Any, max_draws: int = 2000) -> np.ndarray:
        """Posterior predictive density on ``grid`` (mixture density averaged over draws), shape (G,)."""
        return mixture_densities(self.weights, self.means, self.stds, as_data(grid, "grid"), max_draws).mean(axis=0)

    def summary(self) -> list[dict[str, Any]]:
        """One row per scalar parameter: name, mean, sd, 2.5% and 97.5% quantiles, mcse =
        sd / sqrt(ess), rhat, ess, ess_tail (pooled over chains), as :meth:`gmm.GibbsPosterior.summary`."""
        draws = {name: getattr(self, name) for name in PARAMS}
        ess_tail = {name: diagnostics.ess(d, "tail") for name, d in draws.items()}
        return diagnostics.summary(draws, self.rhat, self.ess, ess_tail)

    def to_arviz(self):
        """The draws as an ArviZ ``DataTree`` (dims chain, draw, component) with the observed data."""
        k = self.means.shape[-1]
        return diagnostics.to_datatree(
            {name: getattr(self, name) for name in PARAMS},
            dims={name: ["component"] for name in PARAMS},
            coords={"component": np.arange(k)},
            observed_data={"x": self.data},
        )


_ADVICE = (
    "Run longer chains (n_samples, n_warmup). If R-hat stays high however long they run, the "
    "chains sit in different modes of a multimodal posterior, which NUTS does not cross: compare "
    "the chains (posterior.means[c] for each chain c), or use gmm.gibbs with parallel tempering."
)


def _model(x, k, hyper, *, family):
    import numpyro
    import numpyro.distributions as dist

    alpha, m0, s0, a, b = hyper
    pi = numpyro.sample("weights", dist.Dirichlet(jnp.full(k, alpha)))
    mu = numpyro.sample("means", dist.Normal(m0, s0).expand([k]).to_event(1))
    if family == "inverse_gamma_var":
        var = numpyro.sample("vars", dist.InverseGamma(a, b).expand([k]).to_event(1))
        sd = numpyro.deterministic("stds", jnp.sqrt(var))
    else:
        sd = numpyro.sample("stds", dist.Gamma(a, b).expand([k]).to_event(1))
    numpyro.sample("x", dist.MixtureSameFamily(dist.Categorical(probs=pi), dist.Normal(mu, sd)), obs=x)


def nuts(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: Prior | None = None,
    n_samples: int = defaults.N_SAMPLES,
    n_warmup: int = defaults.N_WARMUP,
    n_chains: int = defaults.N_CHAINS,
) -> NutsPosterior:
    """NumPyro NUTS for the Bayesian GMM of :mod:`gmm.models.generative` (assignments summed out).

    pi ~ Dirichlet(alpha), mu_k ~ Normal(mean_loc, mean_scale), sigma_k ~ Gamma(std_shape,
    std_rate) (or sigma_k^2 ~ InverseGamma(var_shape, var_scale) for
    :meth:`~gmm.Prior.inverse_gamma_variance`), x_i ~ sum_k pi_k N(mu_k, sigma_k); chains
    vectorised; draws sorted by mean.
    Like any local sampler, NUTS does not cross between separated modes (on the galaxies at
    K = 2 its chains all stay in one); compare chains before averaging. It warns
    (``RuntimeWarning``) when a parameter's R-hat exceeds 1.01 or its bulk ESS is below 100.

    Args:
        key: ``jax.random`` key.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [1, N].
        prior: the model's :class:`~gmm.models.generative.Prior`; None derives one from the data.
        n_samples, n_warmup, n_chains: kept draws per chain (>= 4), warmup draws (>= 1), chains
            (the defaults of every sampler, ``gmm._util.defaults``).

    Returns:
        A :class:`NutsPosterior`.

    Raises:
        ValueError: on bad arguments. ImportError: when NumPyro is not installed.
    """
    try:
        with warnings.catch_warnings():
            # NumPyro imports tqdm.auto, which warns in a Jupyter kernel without ipywidgets;
            # no progress bar is ever shown here (progress_bar=False below).
            warnings.filterwarnings("ignore", message="IProgress not found")
            from numpyro.infer import MCMC, NUTS
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("gmm.nuts needs NumPyro: pip install numpyro==0.22.0 (the 'test' or 'book' extra).") from err
    key = check_key(key)
    data = as_data(x)
    k = check_n_components(n_components, data.size, minimum=defaults.MIN_COMPONENTS)
    prior = resolve_prior(prior, data)
    n_samples, n_warmup, n_chains = check_chain_sizes(n_samples, n_warmup, n_chains, max_samples=1_000_000,
                                                      max_warmup=1_000_000, max_chains=1024)
    hyper = (float(prior.alpha), float(prior.mean_loc), float(prior.mean_scale), *(float(v) for v in prior.std_params))
    model = partial(_model, family=prior.family)  # a Python string: bound here, not traced
    mcmc = MCMC(NUTS(model), num_warmup=n_warmup, num_samples=n_samples, num_chains=n_chains,
                chain_method="vectorized", progress_bar=False)
    mcmc.run(key, jnp.asarray(data, jnp.float32), k, hyper)
    s = mcmc.get_samples(group_by_chain=True)
    order = np.argsort(np.asarray(s["means"]), axis=-1)
    draws = {name: np.take_along_axis(np.asarray(s[name], np.float64), order, axis=-1) for name in PARAMS}
    rhat = {name: diagnostics.rhat(d) for name, d in draws.items()}
    ess = {name: diagnostics.ess(d) for name, d in draws.items()}
    diagnostics.warn_if_unconverged(rhat, ess, sampler="nuts", advice=_ADVICE)
    return NutsPosterior(**draws, rhat=rhat, ess=ess, data=data)


__all__ = ["NutsPosterior", "nuts"]
