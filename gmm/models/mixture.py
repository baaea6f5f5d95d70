"""Known-parameter Gaussian mixtures, for points in one dimension or in D.

A :class:`Mixture` holds the weights pi_k, means mu_k and covariances Sigma_k of K
Gaussian components; its density is

    p(x) = sum_k pi_k N(x | mu_k, Sigma_k),
    log N(x | mu, Sigma) = -D/2 log(2 pi) - sum_d log L_dd - |L^{-1} (x - mu)|^2 / 2,

with L the lower Cholesky factor of Sigma. In one dimension it is built from standard
deviations (``Mixture(weights, means, stds)``, Sigma_k = sigma_k^2) and takes points of
shape (N,) (or (N, 1)); in D dimensions from covariance matrices
(``Mixture(weights, means, covariances=...)``, means (K, D)) and takes points (N, D).

Everything is computed in log space with ``logsumexp`` so that points far from
every component give large negative log densities instead of ``log(0)``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from gmm._util.validation import (
    MAX_VALUES, as_data, as_real_array, check_finite, check_key, check_memory, check_positive_int, is_concrete,
)

_WEIGHT_TOL = 1e-4
MAX_DRAWS = MAX_VALUES  # n x D drawn coordinates at most (each float64)
# scikit-learn's four structures: every component its own matrix, one matrix shared by all,
# axis-aligned (variances only), or one variance per component.
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def check_covariance_type(covariance_type: Any) -> str:
    """One of :data:`COVARIANCE_TYPES`."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}.")
    return covariance_type


def n_parameters(n_components: int, dim: int = 1, covariance_type: str = "full") -> int:
    """Free parameters of a K-component mixture in D dimensions.

    K - 1 weights + K D means + the covariance entries: K D (D + 1) / 2 ("full"),
    D (D + 1) / 2 ("tied"), K D ("diag") or K ("spherical"). In one dimension "full",
    "diag" and "spherical" all give 3K - 1.
    """
    k = check_positive_int(n_components, "n_components")
    d = check_positive_int(dim, "dim")
    cov = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d,
           "spherical": k}[check_covariance_type(covariance_type)]
    return (k - 1) + k * d + cov


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
    w = as_real_array(weights, "weights")
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array of shape (K,), got {weights!r}.")
    k = w.size
    arrays = {"weights": w}
    for name, value in (("means", means), ("stds", stds)):
        a = as_real_array(value, name)
        if a.shape != (k,):
            raise ValueError(
                f"{name} must have shape ({k},) to match the {k} weights, got shape {a.shape}."
            )
        arrays[name] = a
    check_finite_and_weights(arrays)
    if np.any(arrays["stds"] <= 0):
        raise ValueError(f"stds must be > 0, got {arrays['stds'].tolist()}.")
    return w, arrays["means"], arrays["stds"]


def _check_covariances(weights: Any, means: Any, covariances: Any, covariance_type: str):
    """Float64 copies of D-dimensional parameters, checked (shapes, weights, symmetric
    positive definite covariances with the structure that ``covariance_type`` names)."""
    w, m, c = (as_real_array(a, name) for a, name in ((weights, "weights"), (means, "means"),
                                                          (covariances, "covariances")))
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array of shape (K,), got shape {w.shape}.")
    k = w.size
    if m.ndim != 2 or m.shape[0] != k:
        raise ValueError(f"means must have shape ({k}, D) to match the {k} weights, got shape {m.shape}.")
    d = m.shape[1]
    if d == 0:
        raise ValueError(f"means must have at least one column (D >= 1), got shape {m.shape}.")
    if c.shape != (k, d, d):
        raise ValueError(f"covariances must have shape ({k}, {d}, {d}), got shape {c.shape}.")
    check_finite_and_weights({"weights": w, "means": m, "covariances": c})
    scale = np.maximum(np.abs(c).max(axis=(1, 2)), np.finfo(np.float64).tiny)
    asym = np.abs(c - np.swapaxes(c, 1, 2)).max(axis=(1, 2)) / scale
    for j in range(k):
        if asym[j] > 1e-6 or np.any(np.linalg.eigvalsh(c[j]) <= 0):
            raise ValueError(f"covariances must be symmetric positive definite; covariances[{j}] = {c[j].tolist()} is not.")
    diag = np.diagonal(c, axis1=1, axis2=2)
    broken = {
        "tied": np.any(c != c[:1]),
        "diag": np.any(c * (1.0 - np.eye(d)) != 0),
        "spherical": np.any(c * (1.0 - np.eye(d)) != 0) or np.any(diag != diag[:, :1]),
    }.get(covariance_type, False)
    if broken:
        what = {"tied": "one matrix shared by every component", "diag": "zero off-diagonal entries",
                "spherical": "a multiple of the identity for each component"}[covariance_type]
        raise ValueError(f"covariance_type={covariance_type!r} needs covariances with {what}.")
    return w, m, 0.5 * (c + np.swapaxes(c, 1, 2))


def _frozen(arrays) -> tuple:
    out = []
    for a in arrays:
        a = np.array(a, dtype=np.float64)
        a.flags.writeable = False
        out.append(a)
    return tuple(out)


@jax.tree_util.register_pytree_node_class
class Mixture:
    """A K-component Gaussian mixture with known parameters (a JAX pytree), any dimension.

    ``Mixture(weights, means, stds)`` is a mixture on the line; ``Mixture(weights, means,
    covariances=C)`` a mixture in D dimensions.

    Args:
        weights: mixing proportions pi, shape (K,), non-negative, summing to 1.
        means: component means mu, shape (K,) on the line or (K, D), in the data's units.
        stds: on the line, component standard deviations sigma, shape (K,), > 0, same units.
        covariances: in D dimensions, covariance matrices Sigma_k, shape (K, D, D),
            symmetric positive definite, squared data units (entry (d, e) in units of d times e).
        covariance_type: the structure the covariances have, one of "full", "tied", "diag"
            and "spherical" (checked); it sets :attr:`n_parameters`. Matrices are stored in
            full whatever the type, so every method is shared.

    Raises:
        ValueError: if a parameter holds anything but real numbers (booleans, complex
            numbers, strings), the shapes disagree (or D = 0), a weight is negative, the
            weights do not sum to 1, a standard deviation is not positive, or a covariance is
            not symmetric positive definite with the structure ``covariance_type`` names.

    The arrays are float64 copies that cannot be changed in place, so a mixture stays what
    it was built as.

    Example:
        >>> import numpy as np, gmm
        >>> shop = gmm.Mixture([0.5, 0.5], [350.0, 500.0], [10.0, 10.0])
        >>> shop.responsibilities(np.array([420.0, 430.0])).round(3)  # P(kind | weight)
        array([[0.999, 0.001],
               [0.001, 0.999]])
        >>> plane = gmm.Mixture([0.5, 0.5], [[0.0, 0.0], [5.0, 5.0]], covariances=[np.eye(2)] * 2)
        >>> plane.dim, plane.n_parameters
        (2, 11)
    """

    def __init__(self, weights: Any, means: Any, stds: Any = None, *, covariances: Any = None,
                 covariance_type: str = "full"):
        covariance_type = check_covariance_type(covariance_type)
        if (stds is None) == (covariances is None):
            raise ValueError("give stds (points on the line, means of shape (K,)) or covariances "
                             "(points in D dimensions, means (K, D)), not both and not neither.")
        concrete = is_concrete(weights, means, stds, covariances)
        if stds is not None:
            leaves = _frozen(_check_params(weights, means, stds)) if concrete else (weights, means, stds)
            aux = None
        else:
            leaves = (_frozen(_check_covariances(weights, means, covariances, covariance_type)) if concrete
                      else (weights, means, covariances))
            aux = covariance_type
        object.__setattr__(self, "_leaves", tuple(leaves))
        object.__setattr__(self, "_aux", aux)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Mixture is immutable; build a new one, e.g. gmm.Mixture(weights, means, stds).")

    @property
    def weights(self) -> np.ndarray:
        """Mixing proportions pi, shape (K,), float64 (read-only)."""
        return self._leaves[0]

    @property
    def means(self) -> np.ndarray:
        """Component means mu, shape (K,) on the line or (K, D), data units, float64 (read-only)."""
        return self._leaves[1]

    @property
    def on_line(self) -> bool:
        """True for a mixture built from standard deviations (points of shape (N,))."""
        return self._aux is None

    @property
    def stds(self) -> np.ndarray:
        """Component standard deviations sigma, shape (K,), data units (a mixture on the line,
        or D = 1)."""
        if self.on_line:
            return self._leaves[2]
        if self.dim != 1:
            raise ValueError(f"stds exist for mixtures on the line; this one has D = {self.dim}: "
                             "use .covariances (K, D, D).")
        return np.sqrt(self._leaves[2][:, 0, 0])

    @property
    def covariances(self) -> np.ndarray:
        """Covariance matrices Sigma_k, shape (K, D, D) (sigma_k^2 as (K, 1, 1) on the line),
        squared data units."""
        return self._leaves[2] if not self.on_line else (self._leaves[2] ** 2)[:, None, None]

    @property
    def covariance_type(self) -> str:
        """Which covariance structure the mixture has ("full", "tied", "diag" or "spherical")."""
        return "full" if self.on_line else self._aux

    @property
    def dim(self) -> int:
        """Dimension D of a point (1 on the line)."""
        return 1 if self.on_line else int(np.shape(self.means)[1])

    @property
    def n_parameters(self) -> int:
        """Free parameters (:func:`n_parameters`): 3K - 1 on the line."""
        return n_parameters(self.n_components, self.dim, self.covariance_type)

    # Pytree protocol: unflattening must not re-validate (leaves may be tracers
    # or placeholders inside jit/vmap).
    def tree_flatten(self):
        return self._leaves, self._aux

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        object.__setattr__(obj, "_leaves", tuple(children))
        object.__setattr__(obj, "_aux", aux)
        return obj

    def __repr__(self) -> str:
        def fmt(a):
            return np.array2string(np.asarray(a), precision=4, separator=", ")

        if self.on_line:
            return f"Mixture(weights={fmt(self.weights)}, means={fmt(self.means)}, stds={fmt(self.stds)})"
        return (f"Mixture(weights={fmt(self.weights)},\n  means={fmt(self.means)},\n"
                f"  covariances={fmt(self.covariances)},\n  covariance_type={self.covariance_type!r})")

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return int(np.shape(self.weights)[0])

    def component_log_prob(self, x: Any) -> jax.Array:
        """log(pi_k N(x_i | mu_k, Sigma_k)) for every point and component, shape (N, K).

        x has shape (N,) (or (N, 1)) for a mixture on the line, (N, D) otherwise.

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
            data = self.checked(x)
            with jax.enable_x64(True):
                return np.asarray(fn(self, jnp.asarray(data)))
        return fn(self, jnp.asarray(x))

    def checked(self, x: Any, name: str = "x") -> np.ndarray:
        """x checked for this mixture (a float64 copy): (N,) on the line ((N, 1) is
        accepted and flattened), (N, D) otherwise."""
        if self.on_line:
            try:
                shape = np.shape(x) if not isinstance(x, (str, bytes)) else ()
            except ValueError:  # ragged: as_data says what is wrong
                shape = ()
            if len(shape) == 2 and shape[1] == 1:
                return as_data(x, name, ndim=2)[:, 0]
            if len(shape) == 2:
                raise ValueError(
                    f"{name} has shape {shape}, points in {shape[1]} dimensions, but this mixture is 1-D "
                    "(built from stds): give points of shape (N,) or (N, 1), or build a mixture in D "
                    "dimensions, gmm.Mixture(weights, means, covariances=...).")
            return as_data(x, name)
        return as_data(x, name, ndim=2, dim=self.dim)

    def sample(self, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draw n points: component labels z ~ Categorical(pi), then x = mu_z + L_z eps with
        eps ~ N(0, I_D) (L the Cholesky factor; sigma_z on the line).

        Returns:
            A pair ``(x, z)``: points of shape (n,) on the line or (n, D) (float64) and
            integer labels in [0, K) of shape (n,).

        Under ``jit`` or ``vmap`` (a traced key or traced parameters) n must stay a Python
        integer; the draws then follow the tracers' dtype.

        Raises:
            ValueError: on a bad key, or n not an integer in [1, 10^8 / D] (memory).
        """
        key = check_key(key)
        n = check_memory(check_positive_int(n, "n"), "n", self.dim,
                         f" for D = {self.dim} (n x D coordinates at most {MAX_DRAWS:.0e})" if self.dim > 1 else "")
        if is_concrete(self, key):
            with jax.enable_x64(True):
                x, z = _sample(self, key, n)
                return np.asarray(x), np.asarray(z)
        return _sample(self, key, n)

    def sorted(self) -> "Mixture":
        """The same mixture with components ordered by increasing mean (by the means'
        first coordinate in D dimensions)."""
        key = self.means if self.on_line else self.means[:, 0]
        order = np.argsort(key, kind="stable") if is_concrete(self) else jnp.argsort(key)
        return Mixture.tree_unflatten(self._aux, tuple(a[order] for a in self._leaves))


def gaussian_log_prob(x: jax.Array, means: jax.Array, chol: jax.Array) -> jax.Array:
    """log N(x_i | mu_k, L_k L_k^T) for points x (N, D), means (K, D) and lower Cholesky
    factors chol (K, D, D); shape (N, K). The one multivariate Gaussian density of the
    package (EM, the samplers and :class:`Mixture` all call it)."""
    d = means.shape[-1]
    eye = jnp.broadcast_to(jnp.eye(d, dtype=chol.dtype), chol.shape)
    # With P_k = L_k^{-T}, the whitened points are x P_k - mu_k P_k: one matrix product.
    prec = jnp.swapaxes(jax.scipy.linalg.solve_triangular(chol, eye, lower=True), -1, -2)
    y = jnp.einsum("nd,kde->nke", x, prec) - jnp.einsum("kd,kde->ke", means, prec)
    half_log_det = jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    return -0.5 * d * jnp.log(2 * jnp.pi) - half_log_det - 0.5 * jnp.sum(y * y, axis=-1)


@jax.jit
def _component_log_prob(mixture: Mixture, x: jax.Array) -> jax.Array:
    if mixture.on_line:
        # Written without sigma^2, which under- or overflows for sigma beyond 1e+-154 (NaN).
        z = (x[:, None] - mixture.means) / mixture.stds
        return jnp.log(mixture.weights) - 0.5 * z * z - jnp.log(mixture.stds) - 0.5 * jnp.log(2 * jnp.pi)
    chol = jnp.linalg.cholesky(mixture.covariances)
    return jnp.log(mixture.weights) + gaussian_log_prob(x, mixture.means, chol)


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
    if mixture.on_line:
        eps = jax.random.normal(kx, (n,), jnp.float32)
        return mixture.means[z] + mixture.stds[z] * eps.astype(mixture.means.dtype), z
    eps = jax.random.normal(kx, (n, mixture.dim), jnp.float32).astype(mixture.means.dtype)
    chol = jnp.linalg.cholesky(mixture.covariances)

    # One component at a time: gathering chol[z] would hold n x D x D numbers.
    def add(k, out):
        return jnp.where((z == k)[:, None], eps @ chol[k].T, out)

    return mixture.means[z] + jax.lax.fori_loop(0, mixture.n_components, add, jnp.zeros_like(eps)), z


def _check_range(mixture: Any, lo: Any, hi: Any, n_grid: Any) -> tuple[float, float, int]:
    if not isinstance(mixture, Mixture):
        raise ValueError(f"mixture must be a gmm.Mixture, got {type(mixture).__name__}.")
    if not mixture.on_line:
        raise ValueError(f"decision boundaries and modes are found on a line; this mixture has D = "
                         f"{mixture.dim} (use mixture.responsibilities on a grid of points).")
    lo, hi = check_finite(lo, "lo"), check_finite(hi, "hi")
    if not lo < hi:
        raise ValueError(f"lo must be smaller than hi, got lo={lo}, hi={hi}.")
    n_grid = check_memory(check_positive_int(n_grid, "n_grid"), "n_grid", mixture.n_components,
                          f" for K = {mixture.n_components} (an n_grid x K array of densities)")
    if n_grid < 3:
        raise ValueError(f"n_grid must be at least 3, got {n_grid}.")
    return lo, hi, n_grid


def decision_boundaries(mixture: Mixture, lo: float, hi: float, n_grid: int = 20001) -> np.ndarray:
    """Points in [lo, hi] where the most probable component changes, shape (M,).

    Located on a grid of ``n_grid`` points and refined by linear interpolation
    of the difference in log responsibilities between the two neighbouring
    winners; for two components this is where P(z = 0 | x) = 1/2. ``n_grid`` is an
    integer in [3, 10^8 / K] (the grid's K log densities are held at once).
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
    bumps on a flat top); rises smaller than 1e-9 of the peak are ignored. ``n_grid`` is
    an integer in [3, 10^8 / K] (memory).
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
