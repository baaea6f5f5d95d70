"""Data sets in more than one dimension for the chapter "Beyond one dimension".

- :func:`penguins`: two body measurements of the Palmer penguins and their species.
- :func:`coffee_image`: scikit-image's photograph of a cup of coffee, as RGB values.
- Old Faithful in 2-D is :func:`gmm.datasets.faithful`.
"""

from __future__ import annotations

import numpy as np

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


__all__ = ["PENGUIN_COLUMNS", "coffee_image", "penguins"]
