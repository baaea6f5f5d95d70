"""The book's data sets: the chapter's bentos and coffee (JAX arrays), and two real ones
shipped as CSV files in ``gmm/data`` (NumPy float64 arrays).
"""

from __future__ import annotations

from importlib import resources

import jax.numpy as jnp
import numpy as np

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


def _csv(name: str) -> np.ndarray:
    with resources.files("gmm.data").joinpath(name).open("r") as fh:
        return np.loadtxt(fh, delimiter=",", skiprows=1, ndmin=1)


def galaxies() -> np.ndarray:
    """Velocities of 82 galaxies in the Corona Borealis region, in 1000 km/s, shape (82,), float64.

    Roeder (1990), from the redshift survey of Postman, Huchra and Geller (1986); the data of
    Escobar and West (1995), Richardson and Green (1997) and many mixture papers since. Copied
    from R's ``MASS::galaxies`` (km/s, divided here by 1000), with the typo that MASS documents
    corrected: its 78th value 26690 is 26960 in the survey.

    Example:
        >>> import gmm
        >>> x = gmm.datasets.galaxies()
        >>> x.shape, float(x.min()), float(x.max())
        ((82,), 9.172, 34.279)
    """
    return _csv("galaxies.csv") / 1000.0


def faithful() -> np.ndarray:
    """Old Faithful geyser, 272 eruptions: duration and waiting time to the next, in minutes.

    Shape (272, 2), float64: column 0 is the eruption duration (min), column 1 the waiting
    time (min). From R's ``datasets::faithful`` (Härdle 1991; Azzalini and Bowman 1990).
    ``faithful()[:, 0]`` is the 1-D data set of durations.
    """
    return _csv("faithful.csv")
