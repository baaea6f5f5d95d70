"""Input checks shared by every public routine.

Each check raises a :class:`ValueError` that names the argument, says what is
wrong with it and what is allowed, so that bad input never turns into a NaN or
a traceback from deep inside JAX.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import jax
import jax.numpy as jnp
import numpy as np


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at its iteration limit before meeting its tolerance (as
    scikit-learn's ``sklearn.exceptions.ConvergenceWarning``)."""


def is_concrete(*values: Any) -> bool:
    """True when no value is a JAX tracer (checks only run on concrete data)."""
    return not any(isinstance(v, jax.core.Tracer) for v in jax.tree_util.tree_leaves(values))


def as_data(x: Any, name: str = "x", ndim: int | None = 1, dim: int | None = None) -> np.ndarray:
    """Check observations and return them as a float64 NumPy array (a new copy).

    Allowed: a non-empty array of finite real numbers of shape (N,) (``ndim=1``), (N, D)
    (``ndim=2``, one row per point; D = ``dim`` when given) or either (``ndim=None``).
    """
    shape = {1: "(N,)", 2: "(N, D)", None: "(N,) or (N, D)"}[ndim]
    what = f"a {ndim}-D array {shape} of finite numbers" if ndim else f"an array {shape} of finite numbers"
    if isinstance(x, (str, bytes)):
        raise ValueError(f"{name} must be {what}, got a string {x!r}.")
    try:
        arr = np.asarray(x)
    except Exception as err:  # ragged lists and the like
        raise ValueError(f"{name} must be {what}; could not convert it: {err}") from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must contain real numbers (integers or floats), got dtype {arr.dtype}.")
    if arr.ndim != ndim and not (ndim is None and arr.ndim in (1, 2)):
        want = f"be {ndim}-D with shape {shape}" if ndim else f"have shape {shape}"
        raise ValueError(f"{name} must {want}, got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one observation is needed.")
    if dim is not None and arr.ndim == 2 and arr.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns (one per dimension), got shape {arr.shape}.")
    arr = arr.astype(np.float64)  # always a copy: callers may not change the user's array
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must contain only finite numbers; found {int(bad.sum())} NaN or infinite "
            f"value(s), first at index {tuple(int(i) for i in where) if arr.ndim > 1 else int(where[0])}."
        )
    return arr


def _integer(value: Any) -> int | None:
    """``value`` as a Python int when it is an integer scalar (int, NumPy or JAX integer,
    0-d integer array; not bool), else None."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (np.ndarray, jax.Array)) and value.shape == () and is_concrete(value):
        if np.issubdtype(np.dtype(value.dtype), np.integer):
            return int(value)
    return None


def check_n_components(
    n_components: Any, n_points: int | None = None, name: str = "n_components", minimum: int = 1
) -> int:
    """Check a number of mixture components: an integer in [minimum, n_points]."""
    k = _integer(n_components)
    if k is None:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n_components!r}.")
    if k < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {k}.")
    if n_points is not None and k > n_points:
        raise ValueError(
            f"{name}={k} exceeds the number of data points ({n_points}); allowed: {minimum} to {n_points}."
        )
    return k


def check_ks(ks: Any, n_points: int, minimum: int = 1) -> tuple[int, ...]:
    """Check candidate numbers of components: a non-empty iterable of integers in
    [minimum, n_points]; returned sorted, without repeats."""
    if isinstance(ks, (str, bytes)) or not isinstance(ks, Iterable):
        raise ValueError(f"ks must be a non-empty sequence of integers in [{minimum}, {n_points}], got {ks!r}.")
    values = list(ks)
    if not values:
        raise ValueError(f"ks is empty; give at least one number of components in [{minimum}, {n_points}].")
    return tuple(sorted({check_n_components(k, n_points, f"ks entry {k!r}", minimum) for k in values}))


def check_positive_int(value: Any, name: str, maximum: int | None = None) -> int:
    """Check an integer count that must be at least 1 (and at most ``maximum``)."""
    v = _integer(value)
    if v is None or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {v}.")
    return v


def check_chain_sizes(
    n_samples: Any, n_warmup: Any, n_chains: Any, *, max_samples: int | None = None,
    max_warmup: int | None = None, max_chains: int | None = None,
) -> tuple[int, int, int]:
    """Check an MCMC run's kept draws per chain (>= 4, for the diagnostics), warmup draws
    (>= 1) and chains (>= 1), each at most its ``max_*`` when given."""
    n_samples = check_positive_int(n_samples, "n_samples", maximum=max_samples)
    if n_samples < 4:
        raise ValueError(f"n_samples must be at least 4 (for the diagnostics), got {n_samples}.")
    return (n_samples, check_positive_int(n_warmup, "n_warmup", maximum=max_warmup),
            check_positive_int(n_chains, "n_chains", maximum=max_chains))


def _real(value: Any) -> float | None:
    """``value`` as a float when it is a real scalar (not bool, str, complex or None)."""
    if isinstance(value, (bool, np.bool_, str, bytes, complex, np.complexfloating)) or value is None:
        return None
    if isinstance(value, (np.ndarray, jax.Array)):
        if value.shape != () or not is_concrete(value) or not (
            np.issubdtype(np.dtype(value.dtype), np.integer) or np.issubdtype(np.dtype(value.dtype), np.floating)
        ):
            return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def check_positive(value: Any, name: str) -> float:
    """Check a scalar that must be a finite number > 0 (a scale or hyperparameter)."""
    try:
        v = _real(value)
        if v is None:
            raise TypeError
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")
    return v


def check_finite(value: Any, name: str) -> float:
    """Check a scalar that must be a finite real number."""
    try:
        v = _real(value)
        if v is None:
            raise TypeError
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}.") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    return v


def check_key(key: Any) -> jax.Array:
    """Check a ``jax.random`` key and return it as a typed threefry key of shape ().

    Accepted: a new-style typed key (``jax.random.key(0)``, any implementation) or a legacy
    uint32 key (``jax.random.PRNGKey(0)``, shape (2,)). Keys of other implementations (``rbg``)
    are turned into a threefry key by drawing two words from them, so the same key always
    gives the same result and every sampler sees one key type.
    """
    if isinstance(key, jax.Array) and not is_concrete(key):
        return key
    if isinstance(key, jax.Array):
        if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
            if str(jax.random.key_impl(key)) == "threefry2x32":
                return key
            return jax.random.wrap_key_data(jax.random.bits(key, (2,), jnp.uint32), impl="threefry2x32")
        if key.dtype == np.uint32 and key.shape == (2,):
            return jax.random.wrap_key_data(key, impl="threefry2x32")
    raise ValueError(
        "key must be a single jax.random key, e.g. jax.random.key(0); "
        f"got {type(key).__name__} {getattr(key, 'dtype', '')} {getattr(key, 'shape', '')}."
    )
