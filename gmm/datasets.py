"""The book's data sets: the chapter's bentos and coffee (JAX arrays), two real ones
shipped as CSV files in ``gmm/data`` (NumPy float64 arrays), and two read through the book's
optional dependencies: the Palmer penguins' measurements (:func:`penguins`) and a
photograph's colours (:func:`coffee_image`).
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


PENGUIN_COLUMNS = ("bill_length_mm", "flipper_length_mm")


def penguins() -> tuple[np.ndarray, np.ndarray]:
    """Bill length and flipper length of 342 Palmer penguins, in mm, with their species.

    Returns:
        ``(x, species)``: x of shape (342, 2), float64, column 0 the bill (culmen) length and
        column 1 the flipper length, both in mm; species of shape (342,), strings
        ``"Adelie"``, ``"Chinstrap"`` or ``"Gentoo"``. The two of the 344 birds with no
        measurements are dropped.

    Source: Gorman, Williams and Fraser (2014), PLoS ONE 9(3): e90081, data of the Palmer
    Station Antarctica LTER, as published in the ``palmerpenguins`` R package (Horst, Hill
    and Gorman 2020) under the CC0 licence; read through the Python ``palmerpenguins``
    package (``load_penguins()``).
    """
    from palmerpenguins import load_penguins  # optional dependency (the book extra)

    df = load_penguins().dropna(subset=list(PENGUIN_COLUMNS))
    return df[list(PENGUIN_COLUMNS)].to_numpy(np.float64), df["species"].to_numpy(str)


def coffee_image() -> np.ndarray:
    """scikit-image's photograph of a cup of coffee (``skimage.data.coffee()``), shape (400, 600, 3).

    RGB values scaled to [0, 1], float64. The photograph is by Rachel Michetti and is in the
    public domain (CC0), as scikit-image documents.
    """
    from skimage import data  # optional dependency (the book extra)

    return np.asarray(data.coffee(), np.float64) / 255.0
