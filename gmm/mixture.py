"""Known-parameter one-dimensional Gaussian mixtures.

A :class:`Mixture` holds the weights pi_k, means mu_k and standard deviations
sigma_k of K Gaussian components; its density is

    p(x) = sum_k pi_k N(x | mu_k, sigma_k^2).

Everything is computed in log space with ``logsumexp`` so that points far from
every component give large negative log densities instead of ``log(0)``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm

from gmm._validation import as_data, check_finite, check_key, check_positive_int, is_concrete

_WEIGHT_TOL = 1e-4
MAX_DRAWS = 10**8


def check_finite_and_weights(arrays: dict[str, np.ndarray]) -> None:
    """Every array finite; ``arrays["weights"]`` non-negative and summing to 1 (within 1e-4)."""
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite, got {a.tolist()}.")
    w = arrays["weights"]
    if np.any(w < 0):
        raise ValueError(f"weights must be non-negative, got {w.tolist()}.")
    if abs(w.sum() - 1.0) > _WEIGHT_TOL:
        raise ValueError(f"weights must sum to 1 (within {_WEIGHT_TOL}), got sum {w.sum():.6g}.")


def _check_params(weights: Any, means: Any, stds: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = np.asarray(weights, dtype=np.float64) if not isinstance(weights, str) else None
    if w is None or w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array of shape (K,), got {weights!r}.")
    k = w.size
    arrays = {"weights": w}
    for name, value in (("means", means), ("stds", stds)):
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a 1-D array of {k} numbers, got {value!r}.") from None
        if a.shape != (k,):
            raise ValueError(
                f"{name} must have shape ({k},) to match the {k} weights, got shape {a.shape}."
            )
        arrays[name] = a
    check_finite_and_weights(arrays)
    if np.any(arrays["stds"] <= 0):
        raise ValueError(f"stds must be > 0, got {arrays['stds'].tolist()}.")
    return w, arrays["means"], arrays["stds"]


@jax.tree_util.register_pytree_node_class
class Mixture:
    """A K-component 1-D Gaussian mixture with known parameters (a JAX pytree).

    Args:
        weights: mixing proportions pi, shape (K,), non-negative, summing to 1.
        means: component means mu, shape (K,), in the data's units.
        stds: component standard deviations sigma, shape (K,), > 0, same units.

    Raises:
        ValueError: if the shapes disagree, a weight is negative, the weights do
            not sum to 1, or a standard deviation is not positive.

    Example:
        >>> import numpy as np, gmm
        >>> shop = gmm.Mixture([0.5, 0.5], [350.0, 500.0], [10.0, 10.0])
        >>> shop.responsibilities(np.array([420.0, 430.0])).round(3)  # P(kind | weight)
        array([[0.999, 0.001],
               [0.001, 0.999]])
    """

    def __init__(self, weights: Any, means: Any, stds: Any):
        if is_concrete(weights, means, stds):
            # Float64 copies that cannot be changed in place: a Mixture stays valid.
            leaves = []
            for a in _check_params(weights, means, stds):
                a = np.array(a, dtype=np.float64)
                a.flags.writeable = False
                leaves.append(a)
            object.__setattr__(self, "_leaves", tuple(leaves))
        else:
            object.__setattr__(self, "_leaves", (weights, means, stds))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Mixture is immutable; build a new one, e.g. gmm.Mixture(weights, means, stds).")

    @property
    def weights(self) -> np.ndarray:
        """Mixing proportions pi, shape (K,), float64 (read-only)."""
        return self._leaves[0]

    @property
    def means(self) -> np.ndarray:
        """Component means mu, shape (K,), data units, float64 (read-only)."""
        return self._leaves[1]

    @property
    def stds(self) -> np.ndarray:
        """Component standard deviations sigma, shape (K,), data units, float64 (read-only)."""
        return self._leaves[2]

    # Pytree protocol: unflattening must not re-validate (leaves may be tracers
    # or placeholders inside jit/vmap).
    def tree_flatten(self):
        return self._leaves, None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        object.__setattr__(obj, "_leaves", tuple(children))
        return obj

    def __repr__(self) -> str:
        def fmt(a):
            return np.array2string(np.asarray(a), precision=4, separator=", ")

        return f"Mixture(weights={fmt(self.weights)}, means={fmt(self.means)}, stds={fmt(self.stds)})"

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return int(self.weights.shape[0])

    def component_log_prob(self, x: Any) -> jax.Array:
        """log(pi_k N(x_i | mu_k, sigma_k^2)) for every point and component, shape (N, K).

        On concrete input it is computed in float64 and returned as a NumPy array; traced
        inside ``jit`` it follows the tracers' dtype.
        """
        return self._evaluate(_component_log_prob, x)

    def log_prob(self, x: Any) -> jax.Array:
        """Log density log p(x_i) of each point, shape (N,)."""
        return self._evaluate(_log_prob, x)

    def responsibilities(self, x: Any) -> jax.Array:
        """Posterior component probabilities P(z_i = k | x_i), shape (N, K); rows sum to 1."""
        return self._evaluate(_responsibilities, x)

    def log_likelihood(self, x: Any) -> jax.Array:
        """Total log-likelihood sum_i log p(x_i), a scalar."""
        return self._evaluate(_log_likelihood, x)

    def _evaluate(self, fn, x: Any):
        if is_concrete(self, x):
            data = as_data(x)
            with jax.enable_x64(True):
                return np.asarray(fn(self, jnp.asarray(data)))
        return fn(self, jnp.asarray(x))

    def sample(self, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draw n points: component labels z ~ Categorical(pi), then x ~ N(mu_z, sigma_z^2).

        Returns:
            A pair ``(x, z)``: values of shape (n,) (float64) and integer labels in [0, K)
            of shape (n,).

        Raises:
            ValueError: on a bad key, or n not an integer in [1, 10^8].
        """
        key = check_key(key)
        n = check_positive_int(n, "n")
        if n > MAX_DRAWS:
            raise ValueError(f"n must be at most {MAX_DRAWS:.0e} (the draws would need {16 * n / 1e9:.3g} GB), got {n}.")
        if is_concrete(self):
            with jax.enable_x64(True):
                x, z = _sample(self, key, n)
                return np.asarray(x), np.asarray(z)
        return _sample(self, key, n)

    def sorted(self) -> "Mixture":
        """The same mixture with components ordered by increasing mean."""
        order = np.argsort(self.means, kind="stable") if is_concrete(self) else jnp.argsort(self.means)
        return Mixture.tree_unflatten(None, tuple(a[order] for a in self._leaves))


@jax.jit
def _component_log_prob(mixture: Mixture, x: jax.Array) -> jax.Array:
    return jnp.log(mixture.weights) + norm.logpdf(x[:, None], mixture.means, mixture.stds)


@jax.jit
def _log_prob(mixture: Mixture, x: jax.Array) -> jax.Array:
    return logsumexp(_component_log_prob(mixture, x), axis=1)


@jax.jit
def _responsibilities(mixture: Mixture, x: jax.Array) -> jax.Array:
    lp = _component_log_prob(mixture, x)
    return jnp.exp(lp - logsumexp(lp, axis=1, keepdims=True))


@jax.jit
def _log_likelihood(mixture: Mixture, x: jax.Array) -> jax.Array:
    return jnp.sum(_log_prob(mixture, x))


@jax.jit(static_argnums=2)
def _sample(mixture: Mixture, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
    kz, kx = jax.random.split(key)
    # The random draws are float32 whatever the parameters' precision, so a key gives the
    # same sample inside and outside jit (float64 only refines mu + sigma * eps).
    z = jax.random.categorical(kz, jnp.log(mixture.weights).astype(jnp.float32), shape=(n,))
    eps = jax.random.normal(kx, (n,), jnp.float32)
    x = mixture.means[z] + mixture.stds[z] * eps.astype(mixture.means.dtype)
    return x, z


def _check_range(mixture: Any, lo: Any, hi: Any, n_grid: Any) -> tuple[float, float, int]:
    if not isinstance(mixture, Mixture):
        raise ValueError(f"mixture must be a gmm.Mixture, got {type(mixture).__name__}.")
    lo, hi = check_finite(lo, "lo"), check_finite(hi, "hi")
    if not lo < hi:
        raise ValueError(f"lo must be smaller than hi, got lo={lo}, hi={hi}.")
    n_grid = check_positive_int(n_grid, "n_grid")
    if n_grid < 3:
        raise ValueError(f"n_grid must be at least 3, got {n_grid}.")
    return lo, hi, n_grid


def decision_boundaries(mixture: Mixture, lo: float, hi: float, n_grid: int = 20001) -> np.ndarray:
    """Points in [lo, hi] where the most probable component changes, shape (M,).

    Located on a grid of ``n_grid`` points and refined by linear interpolation
    of the difference in log responsibilities between the two neighbouring
    winners; for two components this is where P(z = 0 | x) = 1/2.
    """
    lo, hi, n_grid = _check_range(mixture, lo, hi, n_grid)
    grid = np.linspace(lo, hi, n_grid)
    lp = np.asarray(mixture.component_log_prob(grid), dtype=np.float64)
    best = lp.argmax(axis=1)
    change = np.nonzero(best[1:] != best[:-1])[0]
    out = []
    for i in change:
        a, b = best[i], best[i + 1]
        d0 = lp[i, a] - lp[i, b]
        d1 = lp[i + 1, a] - lp[i + 1, b]
        t = d0 / (d0 - d1) if d0 != d1 else 0.5
        out.append(grid[i] + t * (grid[i + 1] - grid[i]))
    return np.asarray(out)


def count_modes(mixture: Mixture, lo: float, hi: float, n_grid: int = 20001) -> int:
    """Number of local maxima of the mixture density on a grid over [lo, hi].

    The density is evaluated in float64 (float32 rounding would create spurious
    bumps on a flat top); rises smaller than 1e-9 of the peak are ignored.
    """
    lo, hi, n_grid = _check_range(mixture, lo, hi, n_grid)
    grid = np.linspace(lo, hi, n_grid)
    w, m, s = (np.asarray(a, dtype=np.float64) for a in (mixture.weights, mixture.means, mixture.stds))
    p = (w * np.exp(-0.5 * ((grid[:, None] - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))).sum(axis=1)
    step = np.diff(p)
    step[np.abs(step) <= 1e-9 * p.max()] = 0.0
    sign = np.sign(step)
    sign = sign[sign != 0]
    # A mode is a rise followed by a fall.
    return int(np.sum((sign[:-1] > 0) & (sign[1:] < 0)))
