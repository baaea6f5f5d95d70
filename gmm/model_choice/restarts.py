"""How a maximum-likelihood answer depends on restarts: scikit-learn's BIC choice of K.

Chapter 6 uses this to show that the "collapse trap" of plain BIC on rounded data is not
a fixed verdict but depends on how hard the optimiser searches: more restarts find more
of the degenerate, ever-narrower components that sit on repeated values.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from gmm._util.validation import as_data, check_n_components, check_positive_int


def sklearn_bic_choices(x: Any, ks: Sequence[int], *, n_init: int, seeds: Sequence[int]) -> np.ndarray:
    """The K that scikit-learn's ``GaussianMixture(...).bic`` picks, once per random seed.

    For each seed s, fits ``GaussianMixture(n_components=k, n_init=n_init, random_state=s)``
    for every k in ``ks`` (scikit-learn's defaults otherwise: k-means initialisation,
    ``reg_covar=1e-6``) and returns the k with the lowest BIC. Shape (len(seeds),), int.
    """
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    data = as_data(x).reshape(-1, 1)
    ks = _check_ks(ks, data.shape[0])
    n_init = check_positive_int(n_init, "n_init")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one random seed, got an empty sequence.")
    choices = []
    # One thread: on 20 points, starting OpenMP threads for each k-means initialisation
    # costs far more than the work (and the answer does not depend on it).
    with threadpool_limits(1):
        for seed in seeds:
            bics = [GaussianMixture(k, n_init=n_init, random_state=seed).fit(data).bic(data) for k in ks]
            choices.append(ks[int(np.argmin(bics))])
    return np.asarray(choices, dtype=int)


def bic_choice_table(
    x: Any, ks: Sequence[int], *, n_inits: Sequence[int] = (1, 4, 20), seeds: Sequence[int] = range(20)
) -> dict[int, dict[int, int]]:
    """How often scikit-learn's BIC picks each K, for each number of restarts.

    Returns ``{n_init: {k: count}}`` with a count (over ``seeds``) for every k in ``ks``.
    """
    ks = _check_ks(ks, as_data(x).size)
    table = {}
    for n_init in n_inits:
        picks = sklearn_bic_choices(x, ks, n_init=n_init, seeds=seeds)
        table[int(n_init)] = {k: int(np.sum(picks == k)) for k in ks}
    return table


def _check_ks(ks: Any, n: int) -> tuple[int, ...]:
    try:
        values = tuple(ks)
    except TypeError:
        raise ValueError(f"ks must be a sequence of numbers of components, got {ks!r}.") from None
    if not values:
        raise ValueError("ks must contain at least one number of components, got an empty sequence.")
    return tuple(check_n_components(k, n, name="ks") for k in values)
