"""MCMC diagnostics and the bridge to ArviZ, shared by every sampler in ``gmm``.

R-hat and ESS come from ArviZ (``arviz-stats``): rank-normalised split R-hat and
bulk and tail ESS (Vehtari et al. 2021), the estimators Stan, NumPyro and PyMC report.
``to_datatree`` packs draws into ArviZ's ``DataTree`` (groups ``posterior``,
``sample_stats``, ``observed_data``), with ``chain`` and ``draw`` dimensions and named
coordinates, so that every ArviZ plot and summary works on a ``gmm`` result.

:func:`warn_if_unconverged` is the one warning rule of the samplers: a
``RuntimeWarning`` naming each parameter whose R-hat exceeds 1.01 or whose bulk ESS is
below 100, and what to try. :func:`rank_counts` gives the counts of a rank plot.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np

from gmm._util.validation import check_positive_int

RHAT_MAX = 1.01
ESS_MIN = 100.0


def _array_stats():
    """ArviZ's array functions, imported on first use: importing arviz_stats takes 1-3 s,
    which every ``import gmm`` would otherwise pay."""
    from arviz_stats.base import array_stats

    return array_stats


def rhat(draws: Any) -> np.ndarray:
    """Rank-normalised split R-hat of draws shaped (n_chains, n_samples, ...), shape (...).

    NaN with a single chain (R-hat compares chains) and for constant draws.
    """
    a = np.asarray(draws, np.float64)
    if a.shape[0] < 2:
        return np.full(a.shape[2:], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(_array_stats().rhat(a, chain_axis=0, draw_axis=1), np.float64)


def ess(draws: Any, method: str = "bulk") -> np.ndarray:
    """Effective sample size of draws shaped (n_chains, n_samples, ...), shape (...).

    ``method="bulk"`` (rank-normalised, for means and medians) or ``"tail"`` (the 5% and
    95% quantiles). Constant draws get the number of draws.
    """
    a = np.asarray(draws, np.float64)
    kwargs = {"prob": (0.05, 0.95)} if method == "tail" else {}
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.asarray(_array_stats().ess(a, chain_axis=0, draw_axis=1, method=method, **kwargs), np.float64)
    constant = np.ptp(a.reshape(-1, *a.shape[2:]), axis=0) == 0
    return np.where(constant, float(a.shape[0] * a.shape[1]), out)


def warn_if_unconverged(
    rhats: Mapping[str, Any], esses: Mapping[str, Any], *, sampler: str, advice: str
) -> list[str]:
    """Issue one ``RuntimeWarning`` listing every parameter with R-hat > 1.01 or bulk ESS < 100.

    Args:
        rhats, esses: per parameter name, arrays of R-hat and bulk ESS (any shape; entry
            j is reported as ``name[j]``).
        sampler: the function's name, for the message.
        advice: what to try, appended to the message.

    Returns:
        The offending entries, e.g. ``["means[0]: R-hat 3.8", "stds[1]: ESS 42"]`` (empty
        when all is well; then nothing is warned).
    """
    problems = []
    for name, values in rhats.items():
        for j, v in np.ndenumerate(np.atleast_1d(np.asarray(values, np.float64))):
            if np.isfinite(v) and v > RHAT_MAX:
                problems.append(f"{name}{list(j)}: R-hat {v:.3g}")
    for name, values in esses.items():
        for j, v in np.ndenumerate(np.atleast_1d(np.asarray(values, np.float64))):
            if np.isfinite(v) and v < ESS_MIN:
                problems.append(f"{name}{list(j)}: ESS {v:.0f}")
    if problems:
        warnings.warn(
            f"{sampler}: the chains may not have converged (R-hat > {RHAT_MAX} or bulk ESS < "
            f"{ESS_MIN:.0f}): {'; '.join(problems)}. {advice}",
            RuntimeWarning,
            stacklevel=3,
        )
    return problems


def rank_counts(draws: Any, n_bins: int = 20) -> np.ndarray:
    """Rank histogram counts of draws shaped (n_chains, n_samples, ...) (Vehtari et al. 2021).

    For each scalar parameter, the C x S draws of all C chains are pooled and ranked
    1 .. C S (ties get their average rank); the ranks are cut into ``n_bins`` equal bins
    [0.5 + b C S / n_bins, 0.5 + (b + 1) C S / n_bins), and each chain's draws are counted
    per bin. When every chain samples the same distribution, a chain's ranks are a uniform
    sample from the pooled ranking, so every count is near S / n_bins; a chain stuck in
    its own region of the parameter space piles its counts into the bins of that region.

    Args:
        draws: shape (n_chains, n_samples, ...), n_chains >= 1, n_samples >= 1.
        n_bins: number of rank bins, an integer in [1, n_chains * n_samples].

    Returns:
        Integer counts of shape (n_chains, n_bins, ...). Each chain's counts sum to
        n_samples, and their mean over chains and bins is exactly S / n_bins.
    """
    from scipy.stats import rankdata

    a = np.asarray(draws, np.float64)
    if a.ndim < 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"draws must have shape (n_chains, n_samples, ...), got {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise ValueError("draws must be finite.")
    c, s, rest = a.shape[0], a.shape[1], a.shape[2:]
    n_bins = check_positive_int(n_bins, "n_bins", maximum=c * s)
    flat = a.reshape(c * s, -1)  # (C S, M): pooled draws of each scalar parameter
    ranks = rankdata(flat, axis=0)  # 1 .. C S
    bins = np.minimum(((ranks - 0.5) * n_bins / (c * s)).astype(np.int64), n_bins - 1)
    bins = bins.reshape(c, s, -1)
    counts = (bins[:, :, None, :] == np.arange(n_bins)[None, None, :, None]).sum(axis=1)
    return counts.reshape(c, n_bins, *rest)


def summary(
    draws: Mapping[str, Any],
    rhat: Mapping[str, Any],
    ess: Mapping[str, Any],
    ess_tail: Mapping[str, Any],
    *,
    weights: Any = None,
) -> list[dict[str, Any]]:
    """One row per scalar parameter, the ``summary()`` of every posterior result.

    Args:
        draws: name -> draws of shape (n_chains, n_samples, ...); of a name ``"covariances"``
            (..., D, D) only the upper triangle is reported.
        rhat, ess, ess_tail: name -> the diagnostic per scalar parameter, shape (...).
        weights: None for equally weighted draws, or self-normalised weights of shape
            (n_chains, n_samples) (importance sampling): mean, sd and quantiles are then
            weighted, and mcse = sd / sqrt(ess) uses the importance ESS passed in ``ess``.

    Returns:
        One dict per scalar parameter, with the keys ``parameter`` (e.g. ``"means[1]"``),
        ``mean``, ``sd``, ``q2.5``, ``q97.5``, ``mcse``, ``rhat``, ``ess`` and ``ess_tail``,
        all pooled over chains (the 95% central interval).
    """
    rows = []
    w = None if weights is None else np.asarray(weights, np.float64).ravel()
    for name, a in draws.items():
        a = np.asarray(a, np.float64)
        for j in np.ndindex(*a.shape[2:]):
            if name == "covariances" and j[1] > j[2]:
                continue
            d = a[(slice(None), slice(None), *j)].ravel()
            if w is None:
                mean = float(d.mean())
                sd = float(d.std(ddof=1)) if d.size > 1 else float("nan")
                lo, hi = np.quantile(d, (0.025, 0.975))
            else:
                mean = float(w @ d)
                sd = float(np.sqrt(w @ (d - mean) ** 2))
                order = np.argsort(d)
                mid = np.cumsum(w[order]) - 0.5 * w[order]  # each draw at the middle of its mass
                lo, hi = np.interp((0.025, 0.975), mid, d[order])
            e = float(np.asarray(ess[name])[j])
            rows.append({"parameter": f"{name}[{', '.join(map(str, j))}]", "mean": mean, "sd": sd,
                         "q2.5": float(lo), "q97.5": float(hi),
                         "mcse": float(sd / np.sqrt(e)) if e > 0 else float("nan"),
                         "rhat": float(np.asarray(rhat[name])[j]), "ess": e,
                         "ess_tail": float(np.asarray(ess_tail[name])[j])})
    return rows


def to_datatree(
    posterior: Mapping[str, Any],
    *,
    dims: Mapping[str, list[str]] | None = None,
    coords: Mapping[str, Any] | None = None,
    sample_stats: Mapping[str, Any] | None = None,
    observed_data: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
):
    """An ArviZ ``DataTree`` from draws shaped (n_chains, n_samples, ...).

    Args:
        posterior: variable name -> draws of shape (n_chains, n_samples, ...).
        dims: variable name -> names of its trailing dimensions, e.g. ``["component"]``.
        coords: dimension name -> coordinate values.
        sample_stats: per-draw sampler statistics, same leading shape.
        observed_data: the data, name -> array.
        attrs: attributes of the tree (how the draws were made, e.g. a resampling key).
    """
    from arviz_base import from_dict  # imported here: ArviZ's import costs about a second

    groups: dict[str, dict[str, np.ndarray]] = {
        "posterior": {k: np.asarray(v) for k, v in posterior.items()}
    }
    if sample_stats:
        groups["sample_stats"] = {k: np.asarray(v) for k, v in sample_stats.items()}
    if observed_data:
        groups["observed_data"] = {k: np.asarray(v) for k, v in observed_data.items()}
    tree = from_dict(groups, dims=dict(dims or {}), coords=dict(coords or {}))
    tree.attrs.update(dict(attrs or {}))
    return tree


__all__ = ["ESS_MIN", "RHAT_MAX", "ess", "rank_counts", "rhat", "summary", "to_datatree", "warn_if_unconverged"]
