"""NumPyro's NUTS on the same 1-D Bayesian GMM, as an independent reference for :func:`gmm.gibbs`.

NUTS runs on the model with the assignments summed out (NumPyro's ``MixtureSameFamily``),
shares no code with the GenJAX samplers, and returns draws in the same layout as
:class:`gmm.GibbsPosterior`. Like every sampler here it runs in float32 on the data
standardised in float64 (median, IQR), with the prior carried over exactly, and maps the
draws back to data units in float64. NumPyro is an optional dependency (the ``test`` and
``book`` extras); it is imported only when :func:`nuts` is called.
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
from gmm.inference.scoring import PARAMS, standardised_prior
from gmm._util.numerics import numpy_rng, robust_scale
from gmm._util.validation import as_data, check_chain_sizes, check_key, check_memory, check_n_components
from gmm.inference.gibbs import mixture_densities
from gmm.models.generative import Prior, check_prior_on_data, resolve_prior


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


# Starting standard deviation of every component, in units of the data's robust spread
# (IQR / 1.349): narrow enough that components start distinct, wide enough that every
# point has a usable likelihood under the component nearest to it.
_START_STD = 0.25


def _dispersed_starts(rng: np.random.Generator, z: np.ndarray, k: int, n_chains: int, family: str) -> dict:
    """Over-dispersed initial points, one per chain, in NumPyro's unconstrained space.

    Per chain: means uniform over [min z, max z], sorted; standard deviations _START_STD;
    equal weights. Mapped by NumPyro's own bijections (stick-breaking for the simplex, log
    for the positive sites). Leaves have a leading chain axis (n_chains, ...).
    """
    from numpyro.distributions import biject_to, constraints

    means = np.sort(rng.uniform(z.min(), z.max(), (n_chains, k)), axis=-1)
    stds = np.full((n_chains, k), _START_STD)
    second = ("vars", stds**2) if family == "inverse_gamma_var" else ("stds", stds)
    constrained = {"weights": (constraints.simplex, np.full((n_chains, k), 1.0 / k)),
                   "means": (constraints.real, means), second[0]: (constraints.positive, second[1])}
    return {name: biject_to(c).inv(jnp.asarray(v, jnp.float32)) for name, (c, v) in constrained.items()}


@partial(jax.jit, static_argnames=("k", "family", "n_samples", "n_warmup"))
def _run_chains(keys, z, hyper, init, *, k: int, family: str, n_samples: int, n_warmup: int) -> dict:
    """NUTS chains side by side (vmap), from NumPyro's functional ``hmc`` kernel.

    The sampler of ``MCMC(NUTS(model), chain_method="vectorized")`` (step size and diagonal
    mass matrix adapted in warmup, target acceptance 0.8), as one jitted function of the data
    and the prior: ``MCMC.run`` traces and compiles its sampler anew on every call (some 8 s
    even when XLA's program comes from JAX's cache), while a second call here with the same
    shapes only samples. ``keys`` (C,); ``z`` (N,) float32; ``hyper`` the standardised
    prior's five numbers; ``init`` unconstrained starts, leading axis C. Returns every site's
    kept draws in its own support, each (C, n_samples, K).
    """
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import constrain_fn, potential_energy

    model = partial(_model, family=family)
    args = (z, k, hyper)
    init_kernel, sample_kernel = hmc(partial(potential_energy, model, args, {}), algo="NUTS")

    def chain(key, params):
        state = init_kernel(params, num_warmup=n_warmup, rng_key=key)
        state = jax.lax.fori_loop(0, n_warmup, lambda _, s: sample_kernel(s), state)

        def keep(s, _):
            s = sample_kernel(s)
            return s, s.z

        return jax.lax.scan(keep, state, None, length=n_samples)[1]

    constrain = partial(constrain_fn, model, args, {}, return_deterministic=True)
    return jax.vmap(jax.vmap(constrain))(jax.vmap(chain)(keys, init))


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

    NUTS runs in float32 on z = (x - loc) / scale, with loc the median and scale IQR / 1.349
    taken in float64, under the same prior in z's units: mu ~ N((mean_loc - loc) / scale,
    mean_scale / scale), sigma / scale ~ Gamma(std_shape, std_rate * scale), or
    sigma^2 / scale^2 ~ InverseGamma(var_shape, var_scale / scale^2). The Jacobian is a
    constant, so the posterior is exactly the one in data units; the draws are mapped back in
    float64 (means * scale + loc, stds * scale). Data far from zero (timestamps) or on any
    scale (1e-30, 1e30) are sampled as well as data near 1.

    Each chain starts from its own over-dispersed point (Gelman's recommendation): means
    drawn uniformly over the data's range and sorted, standard deviations a quarter of the
    data's spread (IQR / 1.349), equal weights. Chains that start in different regions of a
    multimodal posterior can settle in different modes, even one of negligible mass, which
    R-hat then reports.
    Like any local sampler, NUTS does not cross between separated modes (on the galaxies at
    K = 2 each chain stays in the mode it finds first); compare chains before averaging. It
    warns (``RuntimeWarning``) when a parameter's R-hat exceeds 1.01 or its bulk ESS is
    below 100.

    Args:
        key: ``jax.random`` key.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [1, N].
        prior: the model's :class:`~gmm.models.generative.Prior`; None derives one from the data.
        n_samples, n_warmup, n_chains: kept draws per chain (>= 4), warmup draws (>= 1), chains
            (the defaults of every sampler, ``gmm._util.defaults``); the draws kept,
            n_chains x n_samples x 3K numbers, at most 5e7 (as :func:`gmm.gibbs`).

    Returns:
        A :class:`NutsPosterior`.

    Raises:
        ValueError: on bad arguments, when the draws would not fit in memory, or when a value
            of x or a prior hyperparameter cannot be represented in float32 on the data's scale
            (:func:`gmm.models.generative.check_prior_on_data`).
        ImportError: when NumPyro is not installed.
    """
    try:
        with warnings.catch_warnings():
            # NumPyro imports tqdm.auto, which warns in a Jupyter kernel without ipywidgets;
            # no progress bar is ever shown here.
            warnings.filterwarnings("ignore", message="IProgress not found")
            import numpyro.infer.hmc  # noqa: F401  (used by _run_chains)
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("gmm.nuts needs NumPyro: pip install numpyro==0.22.0 (the 'test' or 'book' extra).") from err
    key = check_key(key)
    data = as_data(x)
    k = check_n_components(n_components, data.size, minimum=defaults.MIN_COMPONENTS)
    prior = check_prior_on_data(resolve_prior(prior, data), data)  # float32 on the data's scale
    n_samples, n_warmup, n_chains = check_chain_sizes(n_samples, n_warmup, n_chains, max_samples=1_000_000,
                                                      max_warmup=1_000_000, max_chains=1024)
    check_memory(n_samples, "n_samples", n_chains * 3 * k, f" with {n_chains} chains of 3K = {3 * k} numbers per draw")
    loc, scale = robust_scale(data)
    z = (data - loc) / scale
    # standardised_prior refuses, naming the field, a hyperparameter that float32 cannot hold on
    # this scale; NumPy's overflow warning from its float32 cast would only repeat that.
    with np.errstate(over="ignore", under="ignore"):
        std_prior = standardised_prior(prior, loc, scale)
    hyper = tuple(float(getattr(std_prior, name)) for name in std_prior.fields)
    run_key, init_key = jax.random.split(key)
    init = _dispersed_starts(numpy_rng(init_key), z, k, n_chains, prior.family)
    s = _run_chains(jax.random.split(run_key, n_chains), jnp.asarray(z, jnp.float32), hyper, init,
                    k=k, family=prior.family, n_samples=n_samples, n_warmup=n_warmup)
    order = np.argsort(np.asarray(s["means"]), axis=-1)
    draws = {name: np.take_along_axis(np.asarray(s[name], np.float64), order, axis=-1) for name in PARAMS}
    draws["means"] = draws["means"] * scale + loc
    draws["stds"] = draws["stds"] * scale
    rhat = {name: diagnostics.rhat(d) for name, d in draws.items()}
    ess = {name: diagnostics.ess(d) for name, d in draws.items()}
    diagnostics.warn_if_unconverged(rhat, ess, sampler="nuts", advice=_ADVICE)
    return NutsPosterior(**draws, rhat=rhat, ess=ess, data=data)


__all__ = ["NutsPosterior", "nuts"]
