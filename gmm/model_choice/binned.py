"""The likelihood of data as recorded: values rounded to a resolution h.

A recorded value x_i says only that the quantity lies in its rounding bin
[x_i - h/2, x_i + h/2], so the likelihood of the data as recorded is a product of bin
probabilities, P(x_i) = sum_k pi_k [Phi((x_i + h/2 - mu_k)/sigma_k) - Phi((x_i - h/2 - mu_k)/sigma_k)],
each at most 1, where the density of the same mixture is unbounded as a sigma_k goes to 0.
:func:`data_resolution` finds h, :func:`binned_log_prob` scores the data, and
:func:`bin_terms` gives the E step of the EM for grouped data that :func:`gmm.select_k`
runs (the moments of each component truncated to each bin).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr, logsumexp
from jax.scipy.stats import norm

from gmm._util.validation import as_data, check_positive
from gmm._util.numerics import bucket
from gmm.models.mixture import Mixture

_RES_SLACK = 16.0  # float error allowed, in multiples of the input dtype's eps times |x / h|
_RES_MAX_TOL = 0.01  # stop refining h once the float error could be 1% of a bin


def input_eps(x: Any) -> float:
    """Machine epsilon of the dtype the data arrived in (float64 for lists and integers)."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jnp.floating):  # bfloat16 and float16 too
        return float(jnp.finfo(dtype).eps)
    return float(np.finfo(np.float64).eps)


def data_resolution(x: Any) -> float | None:
    """The resolution h the data were recorded to: the largest power of ten dividing every value.

    Every x_i must be an integer multiple of h = 10^e within the float error of its own
    value, in data units: ``|x_i - h round(x_i / h)| <= 16 eps |x_i|`` with eps the
    machine epsilon of the input's dtype. Powers are tried from the largest not above
    ``max |x_i|`` downwards; the search stops (returning None) once the dtype can no longer
    tell multiples of h apart at the largest value, which is what continuous data do.

    Args:
        x: observations, shape (N,), finite numbers.

    Returns:
        h (e.g. 1.0 for whole grams, 0.1 for tenths), or None when the data do not look
        rounded to a power of ten (or are all zero).
    """
    return resolution_of(as_data(x), input_eps(x))


def resolution_of(data: np.ndarray, eps: float) -> float | None:
    """:func:`data_resolution` of checked float64 data (N,) that arrived with machine epsilon ``eps``."""
    top = float(np.max(np.abs(data)))
    if top == 0.0:
        return None
    tol = _RES_SLACK * eps * np.abs(data)
    e = int(math.floor(math.log10(top)))
    while True:
        h = 10.0**e
        if _RES_SLACK * eps * top / h > _RES_MAX_TOL:
            return None
        if np.all(np.abs(data - h * np.rint(data / h)) <= tol):
            return h
        e -= 1


def _log1mexp(d: jax.Array) -> jax.Array:
    """log(1 - exp(d)) for d <= 0, accurate near 0 and for very negative d."""
    d = jnp.minimum(d, 0.0)
    near = d > -math.log(2.0)
    d_near = jnp.where(near, d, -1.0)
    d_far = jnp.where(near, -1.0, d)
    return jnp.where(near, jnp.log(-jnp.expm1(d_near)), jnp.log1p(-jnp.exp(d_far)))


def log_normal_interval(lo: jax.Array, hi: jax.Array) -> jax.Array:
    """log(Phi(hi) - Phi(lo)) for standardised bounds lo <= hi, stable in both tails.

    Written as log Phi(b) + log(1 - exp(log Phi(a) - log Phi(b))) with ``log_ndtr``; a bin
    in the upper tail (lo + hi > 0) is first reflected, Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi),
    so both bounds sit where ``log_ndtr`` keeps full relative precision.
    """
    flip = lo + hi > 0
    a = jnp.where(flip, -hi, lo)
    b = jnp.where(flip, -lo, hi)
    lb = log_ndtr(b)
    return lb + _log1mexp(log_ndtr(a) - lb)


def check_resolution(resolution: Any) -> float:
    """A bin width given by the user, checked: a finite number > 0 (data units), as a float."""
    if isinstance(resolution, (str, bytes, bool)) or resolution is None:
        raise ValueError(f"resolution must be a finite number > 0 (data units), got {resolution!r}.")
    return check_positive(resolution, "resolution")


@jax.jit
def _binned_log_prob(x, logw, mu, sd, h):
    lo = (x[:, None] - h / 2 - mu) / sd
    hi = (x[:, None] + h / 2 - mu) / sd
    return logsumexp(logw + log_normal_interval(lo, hi), axis=1)


def binned_log_prob(x: Any, mixture: Mixture, resolution: float) -> np.ndarray:
    """log P(x_i - h/2 < X < x_i + h/2) of each recorded value under the mixture, shape (N,).

    P = sum_k pi_k [Phi((x_i + h/2 - mu_k)/sigma_k) - Phi((x_i - h/2 - mu_k)/sigma_k)], in log
    space (``log_normal_interval``, then ``logsumexp`` over k), computed in float64.
    Each value is <= 0: the probability of a bin cannot exceed 1.

    Args:
        x: recorded values, shape (N,), data units.
        mixture: a :class:`~gmm.models.mixture.Mixture`.
        resolution: bin width h > 0, data units (see :func:`data_resolution`).
    """
    m = check_mixture(mixture, on_line=True)
    data = as_data(x)
    h = check_resolution(resolution)
    n, k = data.size, m.n_components
    n_pad, k_pad = bucket(n, 64), bucket(k, 8)  # padded shapes share one compilation
    xp = np.zeros(n_pad)
    xp[:n] = data
    logw, mu, sd = np.full(k_pad, -np.inf), np.zeros(k_pad), np.ones(k_pad)
    with np.errstate(divide="ignore"):
        logw[:k] = np.log(np.asarray(m.weights, np.float64))
    mu[:k] = np.asarray(m.means, np.float64)
    sd[:k] = np.asarray(m.stds, np.float64)
    with jax.enable_x64(True):
        out = _binned_log_prob(*(jnp.asarray(a) for a in (xp, logw, mu, sd)), jnp.asarray(h, jnp.float64))
        return np.asarray(out, np.float64)[:n]


def binned_log_likelihood(x: Any, mixture: Mixture, resolution: float) -> float:
    """Log-likelihood of the data as recorded, sum_i log P(bin of x_i) (nats, <= 0)."""
    return float(np.sum(binned_log_prob(x, mixture, resolution)))


_NARROW = 1e-3  # bins narrower than this many sigmas use the midpoint moments


def bin_terms(y, hs, logw, mu, sd, active):
    """Per (value j, component k): log pi_k + log P_k(bin of value j), and E[X], Var[X] given (j, k).

    P_k = Phi(hi) - Phi(lo) for the bin [y_j - hs/2, y_j + hs/2], and the moments of
    N(mu_k, sd_k) truncated to that bin. Inactive (padding) components get log probability -inf.
    """
    lo = (y[:, None] - hs / 2 - mu) / sd
    hi = lo + hs / sd
    log_mass = log_normal_interval(lo, hi)
    finite = jnp.isfinite(log_mass)
    safe = jnp.where(finite, log_mass, 0.0)
    r_lo = jnp.where(finite, jnp.exp(norm.logpdf(lo) - safe), 0.0)
    r_hi = jnp.where(finite, jnp.exp(norm.logpdf(hi) - safe), 0.0)
    width = hs / sd
    narrow = width < _NARROW
    mid = 0.5 * (lo + hi)
    ez = jnp.where(narrow, mid, r_lo - r_hi)
    ez2 = 1.0 + lo * r_lo - hi * r_hi
    vz = jnp.where(narrow, width**2 / 12.0, jnp.maximum(ez2 - ez**2, 0.0))
    lp = jnp.where(active, logw + log_mass, -jnp.inf)
    return lp, mu + sd * ez, sd**2 * vz


def check_mixture(mixture: Any, on_line: bool = False) -> Mixture:
    """``mixture`` if it is a :class:`~gmm.models.mixture.Mixture` (``on_line``: on the line),
    else a ValueError."""
    if not isinstance(mixture, Mixture):
        raise ValueError(f"mixture must be a gmm.Mixture, got {type(mixture).__name__}.")
    if on_line and not mixture.on_line:
        raise ValueError(f"mixture must be a mixture on the line (built from stds), got one with D = "
                         f"{mixture.dim}; this routine takes points on the line.")
    return mixture


__all__ = [
    "bin_terms",
    "binned_log_likelihood",
    "binned_log_prob",
    "check_mixture",
    "check_resolution",
    "data_resolution",
    "input_eps",
    "log_normal_interval",
    "resolution_of",
]
