"""GenJAX generative functions for the chapter's mixture models.

Addresses
---------
``bento_mixture(n, weights, means, stds)``, known parameters:
    ``"bentos" / "component"``  int labels, shape (n,)
    ``"bentos" / "weight"``     values, shape (n,)

``bayesian_gmm(n, k, prior)``, the Bayesian GMM with explicit assignments:
    ``"weights"``        mixing proportions pi ~ Dirichlet(alpha 1_K), shape (K,)
    ``"means"``          mu_k ~ Normal(mean_loc, mean_scale), shape (K,)
    ``"stds"``           sigma_k ~ Gamma(std_shape, std_rate), shape (K,)
    ``"obs" / "z"``      z_i ~ Categorical(pi), shape (N,)
    ``"obs" / "x"``      x_i ~ Normal(mu_{z_i}, sigma_{z_i}), shape (N,)

``bayesian_gmm_marginal(n, k, prior)`` has the same parameter addresses and
``"x"`` of shape (N,) drawn from the mixture with the assignments summed out.

The static sizes ``n`` and ``k`` are passed as ``genjax.Const``.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow_probability.substrates.jax.distributions as tfd
from genjax import Const, categorical, const, dirichlet, gamma, gen, normal, tfp_distribution

from gmm._validation import check_finite, check_positive, is_concrete


class FieldsPytree:
    """Pytree protocol for hyperparameter classes: the leaves are the ``_FIELDS``, in order.

    Unflattening does not re-validate (leaves may be tracers inside jit or vmap)."""

    _FIELDS: tuple[str, ...] = ()

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in self._FIELDS), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for f, v in zip(cls._FIELDS, children):
            setattr(obj, f, v)
        return obj


@jax.tree_util.register_pytree_node_class
class Prior(FieldsPytree):
    """Hyperparameters of the Bayesian GMM (the chapter's choices are the defaults).

    pi ~ Dirichlet(alpha, ..., alpha); mu_k ~ Normal(mean_loc, mean_scale);
    sigma_k ~ Gamma(std_shape, std_rate) (shape-rate, so E[sigma] = std_shape / std_rate).
    Means and scales are in the data's units.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        mean_loc: float = 400.0,
        mean_scale: float = 50.0,
        std_shape: float = 2.0,
        std_rate: float = 1.0,
    ):
        if is_concrete(alpha, mean_loc, mean_scale, std_shape, std_rate):
            alpha = check_positive(alpha, "alpha")
            mean_loc = check_finite(mean_loc, "mean_loc")
            mean_scale = check_positive(mean_scale, "mean_scale")
            std_shape = check_positive(std_shape, "std_shape")
            std_rate = check_positive(std_rate, "std_rate")
        self.alpha = alpha
        self.mean_loc = mean_loc
        self.mean_scale = mean_scale
        self.std_shape = std_shape
        self.std_rate = std_rate

    _FIELDS = ("alpha", "mean_loc", "mean_scale", "std_shape", "std_rate")

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={float(getattr(self, f)):g}" for f in self._FIELDS)
        return f"Prior({args})"

    @classmethod
    def from_data(cls, x: Any, alpha: float = 1.0) -> "Prior":
        """A weakly informative prior set by the data's location and scale.

        With m the mean and s the standard deviation of x (s = 1 when all values are
        equal): mu_k ~ Normal(m, s), so a component mean may sit anywhere the data do;
        sigma_k ~ Gamma(2, 4 / s), whose mean s / 2 leaves room for components narrower
        than the whole data set and whose density vanishes at sigma = 0. This is the
        role of scikit-learn's ``BayesianGaussianMixture`` defaults (mean prior at the data
        mean, covariance prior from the data's covariance), in this model's terms.

        Args:
            x: observations, shape (N,), finite numbers (checked).
            alpha: the Dirichlet concentration of the weights.
        """
        from gmm._validation import as_data

        data = as_data(x)
        scale = float(np.std(data)) or 1.0
        return cls(alpha=alpha, mean_loc=float(np.mean(data)), mean_scale=scale, std_shape=2.0,
                   std_rate=4.0 / scale)


def check_prior(prior: Any) -> Prior:
    """Check a :class:`Prior`, re-checking every field (a Prior built inside jit skips that)."""
    if not isinstance(prior, Prior):
        raise ValueError(f"prior must be a gmm.Prior or None, got {type(prior).__name__} {prior!r}.")
    for f in Prior._FIELDS:
        (check_finite if f == "mean_loc" else check_positive)(getattr(prior, f), f"prior.{f}")
    return prior


def resolve_prior(prior: Prior | None, data: np.ndarray) -> Prior:
    """``prior`` checked, or :meth:`Prior.from_data` of the (already checked) data when None."""
    return Prior.from_data(data) if prior is None else check_prior(prior)


@gen
def labelled_point(weights, means, stds):
    """One observation: a component label, then a Gaussian value given it."""
    z = categorical(jnp.log(weights)) @ "component"
    x = normal(means[z], stds[z]) @ "weight"
    return x


@gen
def bento_mixture(n: Const[int], weights, means, stds):
    """``n`` bentos from a known-parameter mixture; returns their weights, shape (n,)."""
    return labelled_point.repeat(n=n.value)(weights, means, stds) @ "bentos"


@gen
def assigned_point(weights, means, stds):
    """One observation of the Bayesian GMM: z ~ Categorical(pi), x ~ N(mu_z, sigma_z)."""
    z = categorical(jnp.log(weights)) @ "z"
    x = normal(means[z], stds[z]) @ "x"
    return x


def draw_parameters(k: Const[int], prior: Prior):
    """Draw (pi, mu, sigma), each of shape (K,), at "weights", "means", "stds".

    A plain function called inside a @gen body, so its choices land at the
    caller's top level rather than under a nested address.
    """
    weights = dirichlet(jnp.full(k.value, prior.alpha, dtype=jnp.float32)) @ "weights"
    means = normal.repeat(n=k.value)(prior.mean_loc, prior.mean_scale) @ "means"
    stds = gamma.repeat(n=k.value)(prior.std_shape, prior.std_rate) @ "stds"
    return weights, means, stds


@gen
def bayesian_gmm(n: Const[int], k: Const[int], prior: Prior):
    """Bayesian GMM with explicit assignments; returns (pi, mu, sigma)."""
    weights, means, stds = draw_parameters(k, prior)
    assigned_point.repeat(n=n.value)(weights, means, stds) @ "obs"
    return weights, means, stds


mixture_normal = tfp_distribution(
    lambda weights, means, stds: tfd.MixtureSameFamily(
        tfd.Categorical(probs=weights), tfd.Normal(means, stds)
    ),
    name="mixture_normal",
)


@gen
def bayesian_gmm_marginal(n: Const[int], k: Const[int], prior: Prior):
    """Bayesian GMM with the assignments summed out: x_i ~ sum_k pi_k N(mu_k, sigma_k)."""
    weights, means, stds = draw_parameters(k, prior)
    mixture_normal.repeat(n=n.value)(weights, means, stds) @ "x"
    return weights, means, stds


def source(fn: Any) -> str:
    """The Python source of a generative function (or a plain function), for display."""
    inner = getattr(fn, "source", None)
    return inspect.getsource(inner.value if inner is not None else fn)


def observations(x: Any) -> dict:
    """Constraints that condition ``bayesian_gmm`` on observed values x, shape (N,) (checked
    when concrete: finite real numbers)."""
    if is_concrete(x):
        from gmm._validation import as_data

        x = as_data(x)
    return {"obs": {"x": jnp.asarray(x, dtype=jnp.float32)}}


__all__ = [
    "Prior",
    "check_prior",
    "resolve_prior",
    "assigned_point",
    "bayesian_gmm",
    "bayesian_gmm_marginal",
    "bento_mixture",
    "draw_parameters",
    "const",
    "labelled_point",
    "observations",
    "source",
]
