"""The chapter's two small data sets, as JAX arrays."""

from __future__ import annotations

import jax.numpy as jnp

_BENTO = [498, 352, 501, 349, 497, 503, 351, 500, 348, 502,
          499, 350, 498, 353, 501, 347, 499, 502, 352, 500]

_COFFEE = [82, 118, 155, 80, 120, 158, 79, 115, 160, 83, 121, 157,
           81, 119, 156, 84, 117, 159, 78, 122, 154, 82, 116, 158,
           80, 120, 155, 81, 118, 157]


def bento() -> jnp.ndarray:
    """Weights of Chibany's 20 mystery bentos, in grams, shape (20,).

    Recorded to the nearest gram, so values repeat.
    """
    return jnp.asarray(_BENTO, dtype=jnp.float32)


def coffee() -> jnp.ndarray:
    """Caffeine content of 30 cups from a café with three blends, in mg per cup, shape (30,)."""
    return jnp.asarray(_COFFEE, dtype=jnp.float32)
