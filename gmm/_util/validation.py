"""Input checks shared by every public routine.

Each check raises a :class:`ValueError` that names the argument, says what is
wrong with it and what is allowed, so that bad input never turns into a NaN or
a traceback from deep inside JAX.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at its iteration limit before meeting its tolerance (as
    scikit-learn's ``sklearn.exceptions.ConvergenceWarning``)."""


def is_concrete(*values: Any) -> bool:
    """True when no value is a JAX tracer (checks only run on concrete data)."""
    return not any(isinstance(v, jax.core.Tracer) for v in jax.tree_util.tree_leaves(values))


# Data must keep its squared deviations finite and non-zero in float64 (variances,
# covariances and sums of squares are formed in data units): a spread (max - min) in
# [1e-150, 1e150] leaves N x spread^2 inside [1e-300, 1e308] for N up to 10^8.
SPREAD_MIN, SPREAD_MAX = 1e-150, 1e150
# The most float64 numbers one intermediate array may hold (0.75 GiB): sizes that scale an
# array (draws, grid points) are bounded by it, so a typo cannot exhaust memory.
MAX_VALUES = 10**8


def _real_array(x: Any, name: str, what: str) -> np.ndarray:
    """x as a NumPy array of real numbers (not yet float64), or a ValueError naming ``name``:
    strings, masked values, ragged nesting, booleans, complex and object arrays are refused."""
    if isinstance(x, (str, bytes)):
        raise ValueError(f"{name} must be {what}, got a string {x!r}.")
    if isinstance(x, np.ma.MaskedArray) and np.ma.is_masked(x):
        raise ValueError(
            f"{name} is a masked array with {int(np.ma.count_masked(x))} masked value(s), which would be used "
            f"as if they were data; pass {name}.compressed() (the unmasked values, 1-D), drop the masked rows, "
            f"or fill them ({name}.filled(value)).")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError):  # ragged lists and the like
        raise ValueError(f"{name} must be {what}; it could not be made into one array (rows of "
                         f"different lengths?), got {type(x).__name__} {str(x)[:80]}.") from None
    # Every real floating dtype is allowed (float16, bfloat16, float32, longdouble ...).
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or jnp.issubdtype(arr.dtype, jnp.floating)):
        kind = {"b": "booleans", "c": "complex numbers", "O": "Python objects", "U": "strings",
                "S": "bytes"}.get(arr.dtype.kind, "")
        raise ValueError(f"{name} must contain real numbers (integers or floats), got dtype {arr.dtype}"
                         f"{f' ({kind})' if kind else ''}.")
    return arr


def as_real_array(x: Any, name: str, ndim: int | None = None) -> np.ndarray:
    """A parameter array (means, covariances, weights ...) as a float64 NumPy copy; refused,
    naming ``name``, when it holds anything but real numbers or does not have ``ndim``
    dimensions (when given). Finiteness and shape are the caller's to check."""
    arr = _real_array(x, name, f"an array of real numbers{f' with {ndim} dimension(s)' if ndim else ''}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}.")
    return arr.astype(np.float64)


def check_representable(data: np.ndarray, name: str = "x") -> np.ndarray:
    """Refuse float64 data (N,) or (N, D) whose spread (max - min, per column) float64 cannot
    square: above 1e150 (squared deviations overflow) or, when not 0, below 1e-150 (they
    underflow to 0). Returns data unchanged. Shared by every routine that takes data
    (:func:`as_data` calls it) and by those that derive a prior from the data."""
    cols = np.asarray(data, np.float64).reshape(np.shape(data)[0], -1)
    with np.errstate(over="ignore", invalid="ignore"):
        spread = cols.max(axis=0) - cols.min(axis=0)
    for d, s in enumerate(spread):
        where = f" (column {d})" if cols.shape[1] > 1 else ""
        if not s <= SPREAD_MAX:
            hint = (f"rescale it, e.g. {name} / 1e{math.floor(math.log10(s))}" if math.isfinite(s)
                    else "its largest and smallest values are too far apart for a float64 difference")
            raise ValueError(
                f"{name} spans {s:.3g}{where} (max - min), more than float64 can square (at most "
                f"{SPREAD_MAX:.0e}; variances would overflow): {hint}.")
        if 0 < s < SPREAD_MIN:
            raise ValueError(
                f"{name} spans only {s:.3g}{where} (max - min), less than float64 can square (at least "
                f"{SPREAD_MIN:.0e}; variances would underflow to 0): rescale it, e.g. "
                f"{name} * 1e{-math.floor(math.log10(s))}.")
    return data


def as_data(x: Any, name: str = "x", ndim: int | None = 1, dim: int | None = None) -> np.ndarray:
    """Check observations and return them as a float64 NumPy array (a new copy).

    Allowed: a non-empty array of finite real numbers (any integer or real floating dtype) of
    shape (N,) (``ndim=1``), (N, D) (``ndim=2``, one row per point; D = ``dim`` when given)
    or either (``ndim=None``), whose spread float64 can square (:func:`check_representable`).
    Masked arrays with masked values are refused (say what to do with the masked values).
    """
    shape = {1: "(N,)", 2: "(N, D)", None: "(N,) or (N, D)"}[ndim]
    what = f"a {ndim}-D array {shape} of finite numbers" if ndim else f"an array {shape} of finite numbers"
    arr = _real_array(x, name, what)
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
        where = tuple(int(i) for i in where) if arr.ndim > 1 else int(where[0])
        raise ValueError(f"{name} must contain only finite numbers; found {int(bad.sum())} NaN or infinite "
                         f"value(s) (in float64), first at index {where}.")
    return check_representable(arr, name)


def check_memory(count: int, name: str, per_item: int = 1, what: str = "") -> int:
    """Refuse a size ``count`` (an int) that would make an array of more than
    :data:`MAX_VALUES` float64 numbers, ``per_item`` numbers each (``what`` says why)."""
    limit = max(1, MAX_VALUES // max(per_item, 1))
    if count > limit:
        raise ValueError(
            f"{name} must be at most {limit:,}{what}, got {count:,}: that would need arrays of "
            f"{count * per_item:.3g} float64 numbers ({8 * count * per_item / 2**30:.3g} GiB).")
    return count


def check_arrays(**specs: Any) -> tuple[np.ndarray, ...]:
    """Arrays given as ``name=(value, shape)`` or ``name=(value, shape, finite)``, each
    checked (:func:`as_real_array`, non-empty) and returned as a float64 copy, in order.

    A shape entry is an int (that size), None (any size) or a letter (any size, but the same
    wherever the letter appears, so that arrays drawn together match). ``finite=False`` lets
    NaN and infinities through (a curve with gaps)."""
    sizes: dict[str, tuple[int, str]] = {}
    out = []
    for name, (value, shape, *finite) in specs.items():
        arr = as_real_array(value, name)
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        if arr.ndim != len(shape) or any(isinstance(s, int) and n != s for s, n in zip(shape, arr.shape)):
            raise ValueError(f"{name} must have shape {want}, got shape {arr.shape}.")
        for s, n in zip(shape, arr.shape):
            if isinstance(s, str) and sizes.setdefault(s, (n, name))[0] != n:
                raise ValueError(f"{name} has shape {arr.shape}, but {s} = {sizes[s][0]} from {sizes[s][1]}: "
                                 f"{name} must have shape {want} with {s} = {sizes[s][0]}.")
        if arr.size == 0:
            raise ValueError(f"{name} is empty (shape {arr.shape}).")
        if (not finite or finite[0]) and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must contain only finite numbers; found NaN or infinity at index "
                             f"{tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])}.")
        out.append(arr)
    return tuple(out)


def check_series(series: Any, name: str, shape: tuple | None, finite: bool = True) -> dict[Any, np.ndarray]:
    """A non-empty dict label -> array of ``shape`` (as :func:`check_arrays`; None: any shape,
    returned flattened), checked entry by entry. ``finite=False`` allows NaN and infinities but
    needs one finite value per entry."""
    if not isinstance(series, Mapping) or not series:
        raise ValueError(f"{name} must be a non-empty dict (label -> values), got {type(series).__name__} {series!r}.")
    out = {label: check_arrays(**{f"{name}[{label!r}]": (
        v if shape is not None else np.ravel(as_real_array(v, f"{name}[{label!r}]")), shape or (None,), finite)})[0]
        for label, v in series.items()}
    for label, v in out.items():
        if not np.isfinite(v).any():
            raise ValueError(f"{name}[{label!r}] must hold at least one finite number, got {v.tolist()}.")
    return out


def check_bins(bins: Any) -> Any:
    """A histogram's bins: an integer in [1, 10^8] or increasing finite edges (at least two)."""
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        return check_memory(check_positive_int(bins, "bins"), "bins")
    (edges,) = check_arrays(bins=(bins, (None,)))
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be an integer >= 1 or increasing edges (at least two), got {bins!r}.")
    return edges


def check_indices(value: Any, name: str, n: int | None = None, ndim: int = 1) -> np.ndarray:
    """An integer array with ``ndim`` dimensions (labels, chain numbers) whose entries lie in
    [0, n) (in [0, infinity) when n is None), as int64; refused naming ``name``."""
    allowed = f"integers in [0, {n - 1}]" if n is not None else "non-negative integers"
    try:
        arr = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray([])
    except (TypeError, ValueError):  # ragged
        arr = np.asarray([])
    if (arr.dtype.kind not in "iu" or arr.ndim != ndim or arr.size == 0 or arr.min() < 0
            or (n is not None and arr.max() >= n)):
        raise ValueError(f"{name} must be a non-empty {ndim}-D array of {allowed}, got {str(value)[:80]}.")
    return arr.astype(np.int64)


def check_laws(laws: Any, name: str) -> dict[Any, dict[int, float]]:
    """A non-empty dict label -> {integer k: finite number} (laws over a count, or their errors)."""
    ok = isinstance(laws, Mapping) and laws and all(isinstance(law, Mapping) and law for law in laws.values())
    out = {}
    for label, law in laws.items() if ok else ():
        keys = [_integer(k) for k in law]
        values = [_real(v) for v in law.values()]
        if None in keys or None in values or not all(math.isfinite(v) for v in values):
            ok = False
            break
        out[label] = dict(zip(keys, values))
    if not ok:
        raise ValueError(f"{name} must be a non-empty dict label -> {{k: number}} (integers k, finite numbers), "
                         f"got {str(laws)[:120]}.")
    return out


def check_dims(dims: Any, dim: int) -> tuple[int, int]:
    """Two different coordinates in [0, dim) to draw, e.g. (0, 1)."""
    try:
        pair = check_indices(dims, "dims", dim)
    except ValueError:
        pair = np.zeros(0)
    if pair.size != 2 or pair[0] == pair[1]:
        raise ValueError(f"dims must be two different coordinates in [0, {dim - 1}], got {dims!r}.")
    return int(pair[0]), int(pair[1])


def check_labels(labels: Any, name: str, n: int | None = None) -> list[str] | None:
    """None, or a sequence of strings: exactly ``n`` of them (one per component or line), or
    at least one when n is None."""
    if labels is None:
        return None
    values = list(labels) if isinstance(labels, Iterable) and not isinstance(labels, (str, bytes, Mapping)) else None
    if values is None or len(values) != (n if n is not None else len(values) or -1) or not all(
            isinstance(v, str) for v in values):
        count = f"{n} strings" if n is not None else "strings"
        raise ValueError(f"{name} must be None or a sequence of {count}, got {labels!r}.")
    return values


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
    """Check candidate numbers of components: a non-empty iterable (list, tuple, range,
    1-D array) of distinct integers in [minimum, n_points]; returned sorted."""
    allowed = f"an iterable of integers in [{minimum}, {n_points}], e.g. range({minimum}, {min(n_points, 6) + 1})"
    if isinstance(ks, (str, bytes, Mapping)) or not isinstance(ks, Iterable) or (
            isinstance(ks, (np.ndarray, jax.Array)) and np.ndim(ks) != 1):
        raise ValueError(f"ks must be {allowed}, got {type(ks).__name__} {ks!r}.")
    values = list(ks)
    if not values:
        raise ValueError(f"ks is empty; give at least one number of components in [{minimum}, {n_points}].")
    checked = [check_n_components(k, n_points, f"ks entry {k!r}", minimum) for k in values]
    repeated = sorted({k for k in checked if checked.count(k) > 1})
    if repeated:
        raise ValueError(f"ks must not repeat a number of components; {repeated} appear more than once in {values!r}.")
    return tuple(sorted(checked))


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
