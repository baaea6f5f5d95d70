"""Choosing the number of components K, for points in any dimension.

Information criteria score a maximum-likelihood fit by -2 log L_hat plus a penalty
for its p free parameters (:func:`bic`, :func:`aic`, lower is better): p = 3K - 1 on the
line, and in D dimensions K - 1 + K D plus the covariance entries
(:func:`gmm.models.mixture.n_parameters`), which grow like K D^2 for full covariances, so "diag"
can win in higher dimensions.

The trap. Data are *recorded* to a finite resolution h (the bento weights are whole
grams), so values repeat. The Gaussian-mixture *density* is unbounded on such data: a
component centred on a repeated value with sigma -> 0 sends log L to +infinity, and
plain maximum likelihood (EM, scikit-learn) happily finds these spikes once K is large
enough. :func:`naive_select_k` reproduces this: on the 20 bentos its BIC prefers a
large K where 2 is plainly right.

The fix, :func:`select_k`. A recorded value x_i only says that the quantity lies in
its rounding bin, so the likelihood of the data *as recorded* is

    P(x_i) = sum_k pi_k [Phi((x_i + h/2 - mu_k) / sigma_k) - Phi((x_i - h/2 - mu_k) / sigma_k)],

a probability, bounded by 1: a collapsing component can at most claim the bins it sits
on, which does not pay for its three parameters. :func:`select_k` detects h
(:func:`data_resolution`), maximises this likelihood with an EM for grouped data (the
E step uses the moments of each component truncated to each bin) and scores the maximum
with BIC or AIC.

The second trap. Binning bounds the spike on a *repeated* value, but not a component on
two or three *distinct* values that happen to lie close together in a sparse stretch of
the data: on the 82 galaxy velocities (recorded to 1 km/s) such two-point components,
sd 0.02-0.04 (1000 km/s), win BIC up to K = 7. :func:`select_k` therefore also keeps every
component at least as wide as the gaps between the observations it explains
(``spacing_span``, :func:`gmm.model_choice.selection.local_spacing`): a component needs more than a handful of
points before it may be narrower than the data around it.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Iterable

import jax
import jax.numpy as jnp
import numpy as np

from gmm._util import defaults
from gmm._util.validation import (
    ConvergenceWarning,
    as_data,
    check_key,
    check_ks,
    check_positive,
    check_positive_int,
)
from gmm.model_choice.binned import bin_terms, check_mixture, check_resolution, input_eps, resolution_of
from gmm.model_choice.binned_points import column_resolutions, fit_binned_diag
from gmm.estimation.driver import best_of_starts, default_reg_covar, em_loop
from gmm.estimation.em import density_e_step, m_step
from gmm.estimation.em_multivariate import fit_points
from gmm._util.numerics import bucket, robust_scale
from gmm.estimation.kmeans import kmeans_starts
from gmm.models.mixture import Mixture, check_covariance_type, n_parameters


def _criterion_parts(x: Any, mixture: Mixture) -> tuple[float, int, int]:
    """(log-likelihood, free parameters, N) of a mixture on data of its dimension."""
    m = check_mixture(mixture)
    data = m.checked(x)
    return float(m.log_likelihood(data)), m.n_parameters, data.shape[0]


def bic(x: Any, mixture: Mixture) -> float:
    """Bayesian information criterion -2 log L + p log N (lower is better); x of shape (N,)
    or (N, D), as the mixture."""
    ll, p, n = _criterion_parts(x, mixture)
    return -2.0 * ll + p * math.log(n)


def aic(x: Any, mixture: Mixture) -> float:
    """Akaike information criterion -2 log L + 2p (lower is better); x of shape (N,) or (N, D)."""
    ll, p, _ = _criterion_parts(x, mixture)
    return -2.0 * ll + 2.0 * p


# ---------------------------------------------------------------------------
# EM for every K at once (density or grouped-data likelihood)
# ---------------------------------------------------------------------------

def local_spacing(values: np.ndarray, counts: np.ndarray, span: int) -> np.ndarray:
    """Mean gap between neighbouring observations around each distinct value, shape (J,).

    values: sorted distinct values, shape (J,); counts: how often each occurs. For the
    value whose middle observation has rank r, the window is the ``span`` gaps centred on
    r (shifted inwards at the ends); the result is the window's width / span, data units,
    about 1 / (N f(x)) where the data come from a smooth density f.
    """
    cum = np.cumsum(counts)
    n = cum[-1]
    half = 0.5 * min(span, n - 1)
    rank = np.clip(cum - 0.5 * counts - 0.5, half, n - 1 - half)
    order = np.repeat(values, counts.astype(np.int64))  # the sorted observations
    lo = np.interp(rank - half, np.arange(n), order)
    hi = np.interp(rank + half, np.arange(n), order)
    return (hi - lo) / max(2 * half, 1)


@partial(jax.jit, static_argnames=("max_iter", "binned"))
def _fit_k(y, c, inv_spacing, active, hs, var_reg, floor, tol, logw, mu, sd, *, max_iter: int, binned: bool):
    """EM for one K (``active`` marks the K real components among k_max) from every start
    (rows of logw, mu, sd): the best start's (log pi, mu, sd), log-likelihood (binned or
    density), number of iterations and whether it converged. ``inv_spacing`` (J,) is 1 / local spacing of each
    value (all 0: no spacing floor)."""

    def step(params):
        if binned:
            lp, ex, vx = bin_terms(y, hs, *params, active)
        else:
            lp, ex, vx = density_e_step(y, *params, active)
        # Each component's floor: the harmonic mean of the local spacing over its points,
        # 1 / (N x their mean density); a tight cluster keeps its own tiny spacing.
        r = jax.nn.softmax(lp, axis=1) * c[:, None]
        den = (r * inv_spacing[:, None]).sum(axis=0)
        own = jnp.where(den > 0, r.sum(axis=0) / jnp.where(den > 0, den, 1.0), 0.0)
        return m_step(lp, ex, vx, c, var_reg, jnp.maximum(floor, own), *params, active)

    def run(logw, mu, sd):
        params, ll, _, n_iter, converged = em_loop(step, (logw, mu, sd), max_iter, tol, c.sum())
        return params, ll, n_iter, converged

    return best_of_starts(run, (logw, mu, sd))


# ---------------------------------------------------------------------------
# Model selection
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectionResult:
    """Outcome of :func:`select_k` / :func:`naive_select_k`.

    Attributes:
        ks: the candidate K, increasing.
        best_k: the K with the lowest score (the smallest such K on ties).
        scores: criterion value per K (lower is better), ``{K: float}``.
        log_likelihoods: maximised log-likelihood per K (nats): of the data as recorded
            (``likelihood == "binned"``) or of the density (``"density"``).
        mixtures: the maximum-likelihood :class:`~gmm.models.mixture.Mixture` per K, sorted by mean.
        criterion: ``"bic"`` or ``"aic"``.
        likelihood: ``"binned"`` (bins of width ``resolution``) or ``"density"``.
        resolution: the bin width h in data units (None for the density).
        min_std: the floor on every component sd used by EM, data units.
        n_points: N, the number of observations.
        spacing_span: the window of the per-component spacing floor (None: no such floor).
    """

    ks: tuple[int, ...]
    best_k: int
    scores: dict[int, float]
    log_likelihoods: dict[int, float]
    mixtures: dict[int, Mixture] = field(repr=False)
    criterion: str
    likelihood: str
    resolution: float | None
    min_std: float
    n_points: int
    spacing_span: int | None = None

    @property
    def best_mixture(self) -> Mixture:
        """The fitted mixture with ``best_k`` components."""
        return self.mixtures[self.best_k]


def _check_criterion(criterion: Any) -> str:
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic', got {criterion!r}.")
    return criterion


def _penalty(criterion: str, k: int, n: int, dim: int = 1, covariance_type: str = "full") -> float:
    p = n_parameters(k, dim, covariance_type)
    return p * math.log(n) if criterion == "bic" else 2.0 * p


def _fit_and_score(
    data: np.ndarray,
    ks: tuple[int, ...],
    key: jax.Array,
    criterion: str,
    h: float | None,
    min_std: float,
    reg_covar: float,
    n_init: int,
    max_iter: int,
    tol: float,
    spacing_span: int | None = None,
) -> tuple[dict, dict, dict, list]:
    """Fit every K in ks (grouped, standardised data, float64) and score it; also the K
    whose best start stopped at ``max_iter``."""
    n = data.size
    loc, scale = robust_scale(data)
    values, counts = np.unique((data - loc) / scale, return_counts=True)
    counts = counts.astype(np.float64)
    size = bucket(values.size, 64)
    y, c, inv_sp = np.full(size, values[-1]), np.zeros(size), np.zeros(size)
    y[: values.size], c[: values.size] = values, counts
    if spacing_span is not None and data.size > 1:
        sp = local_spacing(values, counts, spacing_span)
        # A zero spacing (a window inside one repeated value) is an infinitely dense spot:
        # it pulls the harmonic mean, and so the floor, to ~0 rather than dropping out of it.
        inv_sp[: values.size] = 1.0 / np.maximum(sp, 1e-12)
    k_max = bucket(max(ks), 8)
    scores, lls, mixtures, unconverged = {}, {}, {}, []
    hs, var_reg_s, floor_s = (h or 0.0) / scale, reg_covar / scale**2, min_std / scale
    with jax.enable_x64(True):
        consts = tuple(jnp.asarray(v, jnp.float64) for v in (y, c, inv_sp))
        settings = tuple(jnp.asarray(v, jnp.float64) for v in (hs, var_reg_s, floor_s, tol))
        for i, k in enumerate(ks):
            starts = kmeans_starts(jax.random.fold_in(key, i), values, counts, k, n_init, k_max=k_max,
                                   var_extra=var_reg_s + hs**2 / 12.0, floor=floor_s)
            (logw, mu, sd), ll, _, converged = _fit_k(
                *consts, jnp.arange(k_max) < k, *settings, *(jnp.asarray(a) for a in starts),
                max_iter=max_iter, binned=h is not None,
            )
            logw, mu, sd = (np.asarray(a, np.float64)[:k] for a in (logw, mu, sd))
            ll = float(ll)
            if h is None:
                ll -= n * math.log(scale)  # density in data units
            weights = np.exp(logw - logw.max())
            mixtures[k] = Mixture(weights / weights.sum(), loc + scale * mu, scale * sd).sorted()
            lls[k] = ll
            scores[k] = -2.0 * ll + _penalty(criterion, k, n)
            if not bool(converged):
                unconverged.append(k)
    return scores, lls, mixtures, unconverged


def _fit_and_score_points(data, ks, key, criterion, covariance_type, n_init, max_iter, tol):
    """Fit every K in ks to points (N, D) by :func:`gmm.fit_em`'s engine and score it (density)."""

    scores, lls, mixtures, unconverged = {}, {}, {}, []
    n, d = data.shape
    for i, k in enumerate(ks):
        fit = fit_points(jax.random.fold_in(key, i), data, k, max_iter, tol, n_init, None, "kmeans",
                             covariance_type)
        mixtures[k], lls[k] = fit.mixture, fit.log_likelihood
        scores[k] = -2.0 * fit.log_likelihood + _penalty(criterion, k, n, d, covariance_type)
        if not fit.converged:
            unconverged.append(k)
    return scores, lls, mixtures, unconverged


def _warn_unconverged(unconverged: list, max_iter: int, tol: float, routine: str) -> None:
    """fit_em's ConvergenceWarning, for the K whose best EM run stopped at ``max_iter``."""
    if unconverged:
        warnings.warn(
            f"{routine} stopped EM at max_iter={max_iter} for K in {unconverged} before the mean "
            f"log-likelihood per point improved by less than tol={tol:g}; raise max_iter (or tol) "
            "for converged fits.", ConvergenceWarning, stacklevel=3)


def _select_binned_points(data, ks, key, criterion, h, n_init, max_iter, tol) -> SelectionResult:
    """select_k for rounded points (N, D) with diagonal covariances: the cell likelihood."""
    n, d = data.shape
    # Columns without rounding get fit_em's regularisation; rounded ones the rounding's floor.
    reg = np.array([0.0 if hd > 0 else default_reg_covar(col) for hd, col in zip(h, data.T)])
    scores, lls, mixtures = {}, {}, {}
    for i, k in enumerate(ks):
        mixtures[k], lls[k] = fit_binned_diag(jax.random.fold_in(key, i), data, k, h, reg, n_init, max_iter, tol)
        scores[k] = -2.0 * lls[k] + _penalty(criterion, k, n, d, "diag")
    return _result(ks, scores, lls, mixtures, criterion, "binned", tuple(float(v) for v in h),
                   tuple(float(v) for v in h / math.sqrt(12.0)), n)


def _common_checks(key, x, ks, criterion, n_init, max_iter, tol, ndim=1):
    key = check_key(key)
    data = as_data(x, ndim=ndim)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    ks = check_ks(ks, data.shape[0])
    criterion = _check_criterion(criterion)
    max_iter, tol, n_init = defaults.check_em_settings(max_iter, tol, n_init)
    return data, ks, key, criterion, n_init, max_iter, tol


def _result(ks, scores, lls, mixtures, criterion, likelihood, h, min_std, n) -> SelectionResult:
    best = min(ks, key=lambda k: (scores[k], k))
    return SelectionResult(
        ks=ks,
        best_k=best,
        scores=scores,
        log_likelihoods=lls,
        mixtures=mixtures,
        criterion=criterion,
        likelihood=likelihood,
        resolution=h,
        min_std=min_std,
        n_points=n,
    )


def select_k(
    key: jax.Array,
    x: Any,
    ks: Iterable[int],
    *,
    criterion: str = "bic",
    covariance_type: str = "full",
    resolution: float | str | None = "auto",
    min_std: float | None = None,
    spacing_span: int | None = 4,
    n_init: int = defaults.N_INIT_SELECT,
    max_iter: int = defaults.MAX_ITER,
    tol: float = defaults.TOL,
) -> SelectionResult:
    """Choose K by BIC or AIC of the likelihood of the data *as recorded*, in any dimension.

    Points in D >= 2 dimensions, x of shape (N, D): with ``covariance_type="diag"`` and
    rounded columns (``resolution`` detected per column, or given), each point stands for its
    rounding cell, whose probability factorises over the coordinates
    (``gmm.model_choice.binned_points``); otherwise :func:`gmm.fit_em` fits every K and the
    density scores it (a given resolution with other covariance types is refused: no closed
    form). ``min_std`` and ``spacing_span`` are for the line. On the line:

    Recorded values are rounded to a resolution h, and the mixture density is unbounded on
    repeated values (a component with sigma -> 0 on a repeat), so the usual BIC can be
    driven to -infinity by spurious components (:func:`naive_select_k`). Here each value
    stands for its bin, with probability

        P(x_i) = sum_k pi_k [Phi((x_i + h/2 - mu_k)/sigma_k) - Phi((x_i - h/2 - mu_k)/sigma_k)] <= 1,

    so log L <= 0 and a collapsed component gains at most the log-probability of the bins
    it captures, which does not pay for its 3 parameters. For each K this likelihood is
    maximised by EM for grouped data (E step: responsibilities from the bin probabilities
    and the mean and variance of each component truncated to each bin; M step: the
    weighted moments), from ``n_init`` starts (equal-count quantiles, then k-means++), and
    scored as BIC = -2 log L_hat + (3K - 1) log N or AIC = -2 log L_hat + 2 (3K - 1).
    For continuous data (no resolution) this is ordinary maximum likelihood and BIC.

    Args:
        key: ``jax.random`` key for the k-means++ starts.
        x: observations, shape (N,) or (N, D), finite numbers.
        ks: candidate numbers of components, integers in [1, N].
        criterion: ``"bic"`` or ``"aic"``.
        covariance_type: for D >= 2, ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``
            (:func:`gmm.fit_em`); on the line "full" (the only structure there).
        resolution: the rounding h in data units; ``"auto"`` detects it with
            :func:`data_resolution` (a power of ten; falls back to the density when the data
            are not rounded to one); None uses the density (continuous data).
        min_std: floor on every component sd (data units). Default h / sqrt(12), the sd of
            the rounding error itself: a narrower component puts almost all its mass in one
            bin (Phi(sqrt(3)) - Phi(-sqrt(3)) = 0.92), so the floor costs at most 0.09 nats
            per point, and keeps EM well conditioned. With no resolution the default is 0
            (only :func:`gmm.fit_em`'s default ``reg_covar``, 1e-6 times the squared median
            spacing of the values, regularises the variances).
        spacing_span: a second floor, per component, against components that a handful of
            points pin down (two close points in a sparse region make a spike whose
            likelihood beats BIC's penalty). Each value's local spacing is the mean gap
            between neighbouring observations over the ``spacing_span`` gaps around it
            (:func:`gmm.model_choice.selection.local_spacing`); component k's sd may not fall below the harmonic mean of
            the local spacings of its points, weighted by responsibility, i.e. 1 / (N x the
            data's mean density there). A component of many points has its own small spacing
            and is not affected; one on two or three points in a sparse stretch cannot be
            narrower than the gaps around it. None switches this floor off.
        n_init: EM starts per K (at most 1000); the highest likelihood is kept. 10 rather
            than :func:`gmm.fit_em`'s 4, because the criterion compares the maxima of every K:
            over 20 keys, 4 starts left 55 of the galaxies' 140 (key, K) fits (K = 1..7) and
            33 of the 2-D Old Faithful's 120 (K = 1..6) more than 0.01 nats below the best
            of 100 starts, 10 starts 43 and 13 (``gmm._util.defaults``).
        max_iter: most EM iterations per start (at most 100,000).
        tol: stop when the mean log-likelihood per point improves by at most this (nats; the
            rule of :func:`gmm.fit_em`); a K whose best run stops at ``max_iter`` instead
            warns (:class:`gmm.ConvergenceWarning`).

    Returns:
        A :class:`SelectionResult` with ``best_k``, ``scores`` per K and the fitted mixtures.

    Raises:
        ValueError: on bad data, ks, key, criterion, resolution or counts.

    Example:
        >>> import jax, gmm
        >>> gmm.select_k(jax.random.key(0), gmm.datasets.galaxies(), range(1, 8)).best_k
        3
    """
    data, ks, key, criterion, n_init, max_iter, tol = _common_checks(key, x, ks, criterion, n_init, max_iter, tol,
                                                                     ndim=None)
    covariance_type = check_covariance_type(covariance_type)
    if data.ndim == 2:
        if min_std is not None:
            raise ValueError(f"min_std is for points on the line; x has shape {data.shape} (in D dimensions "
                             "the floor is the rounding's own sd, h / sqrt(12), per column).")
        h = column_resolutions(x, data, resolution)
        if h is not None and covariance_type == "diag":
            data = np.where(h > 0, np.rint(data / np.where(h > 0, h, 1.0)) * h, data)
            return _select_binned_points(data, ks, key, criterion, h, n_init, max_iter, tol)
        if h is not None and resolution != "auto":
            raise ValueError(
                f"the likelihood of rounded points has a closed form for diagonal covariances only (a "
                f"component's coordinates are then independent); got covariance_type={covariance_type!r}. "
                "Use covariance_type='diag', or resolution=None (or 'auto') to score the density.")
        scores, lls, mixtures, unconverged = _fit_and_score_points(data, ks, key, criterion, covariance_type,
                                                                   n_init, max_iter, tol)
        _warn_unconverged(unconverged, max_iter, tol, "select_k")
        return _result(ks, scores, lls, mixtures, criterion, "density", None, 0.0, data.shape[0])
    if covariance_type == "tied":
        raise ValueError("covariance_type='tied' on the line is a model with one shared sd, which select_k "
                         "does not fit; use 'full' (the same as 'diag' and 'spherical' there), or "
                         "gmm.fit_em(..., covariance_type='tied') and gmm.bic for each K.")
    if isinstance(resolution, str):
        if resolution != "auto":
            raise ValueError(f"resolution must be 'auto', None or a number > 0 (data units), got {resolution!r}.")
        h = resolution_of(data, input_eps(x))
        if h is not None:
            data = np.rint(data / h) * h  # remove float noise so equal values share a bin
    elif resolution is None:
        h = None
    else:
        h = check_resolution(resolution)
        distinct = np.unique(data)
        gap = float(np.min(np.diff(distinct))) if distinct.size > 1 else math.inf
        if gap < 0.5 * h:
            raise ValueError(
                f"resolution={h:g} is coarser than the data: two distinct values of x are only "
                f"{gap:.3g} apart, so their bins of width h overlap. Allowed: a bin width no "
                f"larger than twice the smallest gap ({2 * gap:.3g} here), 'auto', or None for "
                "continuous data."
            )
    if min_std is None:
        floor = h / math.sqrt(12.0) if h is not None else 0.0
    else:
        floor = check_positive(min_std, "min_std")
    if spacing_span is not None:
        spacing_span = check_positive_int(spacing_span, "spacing_span", maximum=1_000_000)
    # Continuous data: fit_em's regularisation, relative to the spacing of the values, so that
    # the choice of K does not depend on the units (grams or tonnes).
    reg_covar = 0.0 if h is not None else default_reg_covar(data)
    scores, lls, mixtures, unconverged = _fit_and_score(data, ks, key, criterion, h, floor, reg_covar, n_init,
                                                        max_iter, tol, spacing_span)
    _warn_unconverged(unconverged, max_iter, tol, "select_k")
    res = _result(ks, scores, lls, mixtures, criterion, "binned" if h else "density", h, floor, data.size)
    return dataclasses.replace(res, spacing_span=spacing_span)


def naive_select_k(
    key: jax.Array,
    x: Any,
    ks: Iterable[int],
    *,
    criterion: str = "bic",
    reg_covar: float = 1e-6,
    n_init: int = defaults.N_INIT_SELECT,
    max_iter: int = defaults.MAX_ITER,
    tol: float = defaults.TOL,
) -> SelectionResult:
    """The textbook recipe and its trap: BIC/AIC of the maximised *density* likelihood.

    Plain maximum likelihood as in scikit-learn's ``GaussianMixture``: EM on the density
    sum_k pi_k N(x_i | mu_k, sigma_k^2) from ``n_init`` starts (quantiles, then k-means++),
    with only ``reg_covar`` (squared data units, as scikit-learn's) added to every
    variance and no floor tied to the data's rounding. On rounded data a start that puts a
    component on a repeated value collapses to sigma^2 = reg_covar, the log density of that
    value grows like -log sqrt(reg_covar), and the criterion keeps falling with K. Kept to
    show the trap; use :func:`select_k`.

    Args:
        key: ``jax.random`` key for the k-means++ starts.
        x: observations, shape (N,), finite numbers.
        ks: candidate numbers of components, integers in [1, N].
        criterion: ``"bic"`` or ``"aic"``.
        reg_covar: variance added to every component (> 0), squared data units.
        n_init: EM starts per K (as :func:`select_k`).
        max_iter: most EM iterations per start.
        tol: stop when the mean log-likelihood per point improves by at most this (nats), as
            :func:`select_k` and :func:`gmm.fit_em`.

    Returns:
        A :class:`SelectionResult` with ``likelihood == "density"``.
    """
    data, ks, key, criterion, n_init, max_iter, tol = _common_checks(key, x, ks, criterion, n_init, max_iter, tol)
    reg_covar = check_positive(reg_covar, "reg_covar")
    scores, lls, mixtures, unconverged = _fit_and_score(data, ks, key, criterion, None, 0.0, reg_covar, n_init,
                                                        max_iter, tol)
    _warn_unconverged(unconverged, max_iter, tol, "naive_select_k")
    return _result(ks, scores, lls, mixtures, criterion, "density", None, 0.0, data.size)


__all__ = [
    "SelectionResult",
    "aic",
    "bic",
    "local_spacing",
    "naive_select_k",
    "select_k",
]
