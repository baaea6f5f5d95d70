"""GenJAX scores shared by the samplers: the prior alone (:func:`parameter_prior`),
per-component columns of ``assigned_point.assess``, responsibilities, assignment draws,
and the standardisation of data and prior.

The samplers run in float32 on standardised data y = (x - loc) / scale (loc and scale
robust, computed in float64), with the prior mapped to the same units, so offsets such as
timestamps or a lone outlier cannot swamp float32; draws are mapped back in float64.
"""

from __future__ import annotations

import contextlib
import warnings
from functools import partial, reduce
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from genjax import Const, gen

from gmm._util.numerics import robust_scale
from gmm.models.generative import Prior, assigned_point, draw_parameters

PARAMS = ("weights", "means", "stds")


@gen
def parameter_prior(n_components: Const[int], prior: Prior):
    """The model's prior p(pi, mu, sigma) alone (the same code and addresses as ``gmm.bayesian_gmm``)."""
    return draw_parameters(n_components, prior)


@contextlib.contextmanager
def quiet_tfp():
    """Silence TFP's "float64 requested ... truncated to float32" notes while tracing its samplers."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Explicitly requested dtype float64", category=UserWarning)
        yield


def sort_by_mean(weights: jax.Array, means: jax.Array, stds: jax.Array):
    """Reorder the last axis (components) of each parameter by increasing mean."""
    order = jnp.argsort(means, axis=-1)
    take = partial(jnp.take_along_axis, indices=order, axis=-1)
    return take(weights), take(means), take(stds)


def component_log_probs(x: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array) -> list[jax.Array]:
    """log pi_k + log N(x_i | mu_k, sigma_k) for every point, one array of shape (N,) per component.

    Each entry is the GenJAX density ``assigned_point.assess({"z": k, "x": x_i}, pi, mu, sigma)``.
    A list of K columns rather than an (N, K) matrix: everything the sampler computes from
    them is elementwise across the K columns, so XLA fuses it into one pass over the data
    with no (N, K) temporary (K is static and small).
    """

    return [component_log_prob(x, weights, means, stds, k) for k in range(weights.shape[-1])]


def component_log_prob(x: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array, k: int) -> jax.Array:
    """Column k of :func:`component_log_probs`: log pi_k + log N(x_i | mu_k, sigma_k), shape (N,)."""
    zk = jnp.asarray(k, jnp.int32)
    return jax.vmap(lambda xi: assigned_point.assess({"z": zk, "x": xi}, weights, means, stds)[0])(x)


def normalised_columns(cols: list[jax.Array]) -> tuple[list[jax.Array], jax.Array]:
    """exp(c_k - max_j c_j) for each column and their sum over k: P(z_i = k) = p_k / total."""
    top = reduce(jnp.maximum, cols)
    ps = [jnp.exp(c - top) for c in cols]
    return ps, reduce(jnp.add, ps)


def responsibilities(x: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array) -> list[jax.Array]:
    """P(z_i = k | theta, x_i) for each component k: K arrays of shape (N,), summing to 1 over k."""
    ps, total = normalised_columns(component_log_probs(x, weights, means, stds))
    return [p / total for p in ps]


def sample_assignments(key: jax.Array, cols: list[jax.Array]) -> jax.Array:
    """z_i ~ Categorical(softmax_k cols[k][i]) for every i, by inverse CDF: one uniform per point."""
    return assignments_from(key, *normalised_columns(cols))


def assignments_from(key: jax.Array, ps: list[jax.Array], total: jax.Array) -> jax.Array:
    """z_i ~ Categorical(ps[k][i] / total[i]) for every i (the output of :func:`normalised_columns`),
    by inverse CDF: one uniform per point, int32 of total's shape."""
    u = jax.random.uniform(key, total.shape, total.dtype) * total
    z = jnp.zeros(total.shape, jnp.int32)
    cum = jnp.zeros_like(total)
    for p in ps[:-1]:
        cum = cum + p
        z = z + (cum <= u).astype(jnp.int32)
    return z


# ---------------------------------------------------------------------------
# Importance sampling
# ---------------------------------------------------------------------------


def standardise(data: np.ndarray, prior: Prior) -> tuple[jax.Array, Prior, float, float]:
    """(y, prior in y's units, loc, scale) with y = (x - loc) / scale as float32.

    See :func:`standardised_prior` for the prior. Densities of y differ from those of x
    by the constant Jacobian scale^-N.
    """
    loc, scale = robust_scale(data)
    y = jnp.asarray((data - loc) / scale, jnp.float32)
    return y, standardised_prior(prior, loc, scale), loc, scale


def standardised_prior(prior: Prior, loc: float, scale: float, dtype: Any = jnp.float32) -> Prior:
    """``prior`` in the units of (x - loc) / scale, with leaves of ``dtype`` (float32 for the samplers,
    float64 for :func:`gmm.advi`; call under ``jax.enable_x64`` for float64) and the same family.

    mu ~ N(m0, s0) becomes N((m0 - loc) / scale, s0 / scale); under sigma' = sigma / scale,
    sigma ~ Gamma(a, b) becomes Gamma(a, b scale) and sigma^2 ~ InverseGamma(a, b) becomes
    InverseGamma(a, b / scale^2); the Dirichlet is unchanged. A hyperparameter that ``dtype``
    cannot represent on that scale is refused.
    """
    a, b = (float(v) for v in prior.std_params)
    b_new = b * scale if prior.family == "gamma_std" else b / scale**2
    vals = (
        float(prior.alpha),
        (float(prior.mean_loc) - loc) / scale,
        float(prior.mean_scale) / scale,
        a,
        b_new,
    )
    kind = np.dtype(dtype).type
    for name, v in zip(prior.fields, vals):
        cast = kind(v)
        if not np.isfinite(cast) or (name != "mean_loc" and not cast > 0):
            raise ValueError(
                f"prior.{name} = {getattr(prior, name)!r} cannot be represented on the data's scale "
                f"(it becomes {v:.3g} in units of the data's spread {scale:.3g}, outside {np.dtype(dtype).name}); "
                "allowed: hyperparameters within about 1e30 of the data's scale."
            )
    return Prior.tree_unflatten(prior.family, [jnp.asarray(v, dtype) for v in vals])
