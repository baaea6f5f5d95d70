"""Numerical helpers shared by every estimator: scaling, grouping, padding, NumPy streams.

Everything here is float64 NumPy on checked arrays; no routine validates its input.
"""

from __future__ import annotations

import math

import jax
import numpy as np

def robust_scale(data: np.ndarray) -> tuple[float, float]:
    """(location, scale) for standardising: the median and IQR / 1.349 (the sd for Gaussian
    data), falling back to the sd and then 1 when the data are (nearly) all equal."""
    loc = float(np.median(data))
    q1, q3 = np.quantile(data, [0.25, 0.75])
    scale = float(q3 - q1) / 1.349
    if not scale > 0:
        scale = float(np.std(data))
    if not scale > 0 or not math.isfinite(scale):
        scale = 1.0
    return loc, scale


def bucket(n: int, smallest: int) -> int:
    """Next power of two >= max(n, smallest): padded sizes share one compilation."""
    return max(smallest, 1 << (max(n, 1) - 1).bit_length())


def quantile_sketch(values: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
    """``size`` points at the (i + 1/2) / size quantiles of the weighted values (sorted)."""
    cum = np.cumsum(counts)
    pos = (np.arange(size) + 0.5) / size * cum[-1]
    return values[np.minimum(np.searchsorted(cum, pos, side="right"), values.size - 1)]


def robust_scale_columns(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`robust_scale` of each column of data (N, D): locations and scales, each (D,)."""
    pairs = [robust_scale(column) for column in data.T]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def numpy_rng(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded from a JAX key (the same key, the same stream)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(jax.random.fold_in(key, 7))).tolist())


def set_partitions(n: int, max_blocks: int | None = None) -> np.ndarray:
    """Every partition of n points into at most ``max_blocks`` non-empty blocks, as
    restricted growth strings: row p gives each point's block, blocks numbered in order of
    first appearance (z_0 = 0, z_i <= 1 + max(z_0..z_{i-1})). Shape (P, n), int32; P is the
    Bell number B(n) when ``max_blocks`` is None (B(8) = 4140, B(10) = 115975)."""
    cap = n if max_blocks is None else max_blocks
    rows = np.zeros((1, 1), np.int32) if n > 0 else np.zeros((1, 0), np.int32)
    for _ in range(1, n):
        top = rows.max(axis=1)
        new = [np.column_stack([rows[top + 1 >= b], np.full(int(np.sum(top + 1 >= b)), b, np.int32)])
               for b in range(min(cap, n))]
        rows = np.concatenate([r for r in new if r.size], axis=0)
        rows = rows[rows.max(axis=1) < cap]
    return rows


__all__ = ["bucket", "numpy_rng", "quantile_sketch", "robust_scale", "robust_scale_columns", "set_partitions"]
