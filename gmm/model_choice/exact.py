"""Exact evidence p(x | K) for small data: a sum over all K^N labelled assignments.

Given the assignments z the components are independent; for each one, mu integrates out in
closed form (Normal-Normal) and sigma by quadrature on a grid in log sigma fitted to the data
and the prior. The assignments carry the Dirichlet-multinomial probability. Used by
:func:`gmm.exact_log_marginal_likelihood` and by :func:`gmm.posterior_over_k` (its K = 1 and
small-data terms). Nats, data units.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import gammaln as np_gammaln
from scipy.special import logsumexp as np_logsumexp

from gmm._util import defaults
from gmm._util.validation import check_n_components, check_positive_int
from gmm.model_choice.collapsed import MAX_EXACT_PARTITIONS, exact_log_evidence, resolve_data
from gmm.models.generative import Prior, check_prior_on_data, log_std_density

_LOG_2PI = math.log(2.0 * math.pi)


def _gamma_ppf(q: float, a: float) -> float:
    """The q-quantile of Gamma(a, 1)."""
    from scipy.special import gammaincinv

    return float(gammaincinv(a, q))


def _gamma_isf(q: float, a: float) -> float:
    """The (1 - q)-quantile of Gamma(a, 1), accurate for tiny q."""
    from scipy.special import gammainccinv

    return float(gammainccinv(a, q))


def prior_tuple(prior: Prior) -> tuple:
    """(alpha, m0, s0, a, b, family) of a checked prior: floats, with (a, b) the two
    hyperparameters of sigma's prior family (:attr:`Prior.std_params`)."""
    return (*(float(getattr(prior, f)) for f in prior.fields), prior.family)


# ---------------------------------------------------------------------------
# Exact evidence by enumeration
# ---------------------------------------------------------------------------

_CHUNK = 1 << 14  # subsets / assignments handled per vectorised block
_CELLS = 1 << 24  # subsets x grid points per block of the subset table (each temporary: 128 MB)


def _log_sigma_grid(data: np.ndarray, prior: tuple) -> tuple[np.ndarray, float]:
    """Uniform grid in u = log sigma for the trapezoid rule, and its step du.

    For the inverse-gamma prior on sigma^2 (a, b): from the 1e-30 quantile of
    InverseGamma(a + N/2, b), the narrowest posterior any subset can give sigma^2 (below it
    exp(-b / sigma^2) kills the integrand), to the larger of its 1 - 1e-30 quantile and 20 x
    the data's spread, step 0.3 / sqrt(2N + 4a + 2): the curvature in u of prior x likelihood
    at its peak is about 2(2a + n - 1) (an inverse gamma in sigma^2 with shape a + n/2).
    For the Gamma prior on sigma:

    From sigma_lo = 1e-6 min(1/b, s0, smallest gap between distinct values) (below it the
    integrand of a subset with distinct values is exp(-SS / 2 sigma^2) ~ 0; subsets of
    identical values get an analytic tail) to sigma_hi = max((a + 10 sqrt(a) + 40) / b,
    20 x the data's spread around m0) (the Gamma prior's e^{-b sigma} and the likelihood's
    sigma^{-(n-1)} make the rest negligible). The step is 0.3 / sqrt(2N + a + 2 + b range(x)), a
    fraction of the narrowest width of the integrand in log sigma (curvature at most about
    2N from the likelihood plus b sigma from the prior); the trapezoid rule on a smooth,
    rapidly decaying integrand then converges geometrically.
    """
    _, m0, s0, a, b, family = prior
    if family == "inverse_gamma_var":
        spread = max(float(np.ptp(data)), float(np.max(np.abs(data - m0))), s0)
        # the narrowest posterior of sigma^2 is InverseGamma(a + N/2, b) (all N points, SS = 0)
        sigma_lo = math.sqrt(b / _gamma_isf(1e-30, a + 0.5 * data.size))
        sigma_hi = max(math.sqrt(b / _gamma_ppf(1e-30, a)), 20.0 * spread)
        du = 0.3 / math.sqrt(2.0 * data.size + 4.0 * a + 2.0)
        n_grid = _grid_size(sigma_lo, sigma_hi, du, f"prior.var_shape = {a:g}", 4.0, 2.0 * data.size + 2.0)
        return math.log(sigma_lo) + du * np.arange(n_grid), du
    distinct = np.unique(data)
    lo_scales = [1.0 / b, s0]
    if distinct.size > 1:
        lo_scales.append(float(np.min(np.diff(distinct))))
    sigma_lo = 1e-6 * min(lo_scales)
    spread = max(float(np.ptp(data)), float(np.max(np.abs(data - m0))), s0)
    sigma_hi = max((a + 10.0 * math.sqrt(a) + 40.0) / b, 20.0 * spread)
    du = 0.3 / math.sqrt(2.0 * data.size + a + 2.0 + b * float(np.ptp(data)))
    by_rate = b * float(np.ptp(data)) >= a  # which of the prior's terms narrows the step
    n_grid = _grid_size(sigma_lo, sigma_hi, du, f"prior.std_rate = {b:g}" if by_rate else f"prior.std_shape = {a:g}",
                        float(np.ptp(data)) if by_rate else 1.0,
                        2.0 * data.size + 2.0 + (a if by_rate else b * float(np.ptp(data))))
    return math.log(sigma_lo) + du * np.arange(n_grid), du


_MAX_GRID = 10_000_000  # quadrature points in log sigma (typical: about 1000; K = 1 on 1e6 points: 2e5)


def _grid_size(sigma_lo: float, sigma_hi: float, du: float, named: str, per_unit: float, rest: float) -> int:
    """The number of grid points from sigma_lo to sigma_hi at step du, refused above _MAX_GRID.
    du = 0.3 / sqrt(rest + per_unit h), h the hyperparameter ``named`` (``"prior.std_rate = b"``,
    per_unit the data's range; std_shape or var_shape with 1 or 4): the message gives the
    largest h that keeps the grid within the limit."""
    span = math.log(sigma_hi) - math.log(sigma_lo)
    n_grid = int(math.ceil(span / du)) + 1
    if n_grid > _MAX_GRID:
        most = ((0.3 * (_MAX_GRID - 1) / span) ** 2 - rest) / per_unit
        field = named.split(" = ")[0]
        raise ValueError(
            f"{named}: exact enumeration's quadrature over log sigma would need {n_grid:.3g} points to resolve "
            f"a prior of sigma that narrow on the data's range; allowed: at most {_MAX_GRID:.0e} points, i.e. "
            + (f"{field} below about {most:.3g} here" if most > 0 else "a wider prior of sigma (smaller shape)")
            + ". Use log_marginal_likelihood(method='smc').")
    return n_grid


def _subset_log_evidence(
    n: np.ndarray, xbar: np.ndarray, ss: np.ndarray, same: np.ndarray, n_total: int,
    prior: tuple[float, float, float, float, float], u: np.ndarray, du: float,
) -> np.ndarray:
    """log p(x_S) for one component holding the points S, for a block of subsets.

    Args:
        n, xbar, ss: size |S|, mean and scatter sum_{i in S} (x_i - xbar)^2 of each subset, (C,).
        same: whether all values in S are equal (ss is exactly 0), (C,).
        n_total: N (unused; kept for the callers).
        prior: (alpha, m0, s0, a, b, family).
        u, du: the log-sigma grid and its step.

    With mu integrated out (Normal-Normal):
        log p(x_S | sigma) = -(n-1)/2 log 2 pi - (n-1) log sigma - 1/2 log n - SS / (2 sigma^2)
                             + log N(xbar | m0, s0^2 + sigma^2 / n),
    and log p(x_S) = log int p(sigma) p(x_S | sigma) dsigma by the trapezoid rule in
    u = log sigma (Jacobian sigma), p(sigma) from :func:`gmm.models.generative.log_std_density`. Under the
    Gamma prior, when all values in S are equal the integrand behaves like sigma^(a - n) near
    0: its tail below the grid is added in closed form, and the integral is +inf when
    n >= a + 1 (the density of repeated values is unbounded); the inverse-gamma prior's
    exp(-b / sigma^2) keeps it finite. Empty subsets give 0.
    """
    _, m0, s0, a, b, family = prior
    sig2 = np.exp(2.0 * u)
    with np.errstate(over="ignore"):
        log_prior_u = log_std_density(u, family, a, b, np) + u  # density of log sigma
    nn = np.maximum(n, 1).astype(np.float64)
    # per subset, not a table over every size 0..N: (C, G) like ``terms``, so K = 1 on large N
    # (one subset of N points) does not build an (N + 1, G) table
    var_mu = s0**2 + sig2[None, :] / nn[:, None]
    d2 = (xbar - m0) ** 2
    with np.errstate(over="ignore"):
        terms = (
            log_prior_u[None, :]
            - 0.5 * (nn - 1.0)[:, None] * _LOG_2PI
            - (nn - 1.0)[:, None] * u[None, :]
            - 0.5 * np.log(nn)[:, None]
            - 0.5 * ss[:, None] / sig2[None, :]
            - 0.5 * _LOG_2PI
            - 0.5 * np.log(var_mu)
            - 0.5 * d2[:, None] / var_mu
        )
    weights = np.full(u.size, math.log(du))
    weights[[0, -1]] -= math.log(2.0)
    out = np_logsumexp(terms + weights, axis=1)
    # Closed-form tail below the grid for subsets of identical values: integrand
    # ~ C exp((a - n + 1) u) there (e^{-b sigma} -> 1, sigma^2 / n -> 0).
    expo = a - nn + 1.0
    c0 = (
        a * math.log(b) - np_gammaln(a) - 0.5 * (nn - 1.0) * _LOG_2PI - 0.5 * np.log(nn)
        - 0.5 * _LOG_2PI - math.log(s0) - 0.5 * d2 / s0**2
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(expo > 0, c0 + expo * u[0] - np.log(np.where(expo > 0, expo, 1.0)), np.inf)
    if family == "gamma_std":
        out = np.where(same, np.logaddexp(out, tail), out)
    return np.where(n == 0, 0.0, out)


def _whole_log_evidence(data: np.ndarray, prior: tuple) -> float:
    """log g(all points) = log Gamma(N + alpha) - log Gamma(alpha) + log p(x), for K = 1."""
    u, du = _log_sigma_grid(data, prior)
    n = np.array([data.size])
    xbar = float(data.mean())
    ss = np.array([float(np.sum((data - xbar) ** 2))])
    same = np.array([bool(np.all(data == data[0]))])
    if same[0]:
        ss[:] = 0.0
    log_f = _subset_log_evidence(n, np.array([xbar]), ss, same, data.size, prior, u, du)[0]
    return float(np_gammaln(data.size + prior[0]) - np_gammaln(prior[0]) + log_f)


def _subset_table(data: np.ndarray, prior: tuple, subsets: np.ndarray) -> np.ndarray:
    """log g(S) = log Gamma(|S| + alpha) - log Gamma(alpha) + log p(x_S) for the given bitmasks."""
    alpha = prior[0]
    n_pts = data.size
    u, du = _log_sigma_grid(data, prior)
    centre = float(data.mean())
    xc = data - centre
    bits = 1 << np.arange(n_pts, dtype=np.int64)
    out = np.empty(subsets.size)
    chunk = max(1, min(_CHUNK, _CELLS // u.size))  # a block's (subsets, grid) arrays stay within _CELLS
    for start in range(0, subsets.size, chunk):  # blocks of subsets, vectorised within
        block = subsets[start : start + chunk]
        member = (block[:, None] & bits[None, :]) != 0
        n = member.sum(axis=1)
        s1 = member @ xc
        s2 = member @ (xc**2)
        nn = np.maximum(n, 1)
        ss = np.maximum(s2 - s1**2 / nn, 0.0)
        hi = np.where(member, data, -np.inf).max(axis=1)
        lo = np.where(member, data, np.inf).min(axis=1)
        same = (n >= 1) & (hi == lo)
        ss = np.where(same, 0.0, ss)
        xbar = s1 / nn + centre
        log_f = _subset_log_evidence(n, xbar, ss, same, n_pts, prior, u, du)
        out[start : start + chunk] = np_gammaln(n + alpha) - np_gammaln(alpha) + log_f
    return out


def exact_log_marginal_likelihood(
    x: Any, n_components: int, *, prior: Any = None, max_assignments: int | None = None
) -> float:
    """log p(x | K) by summing over all K^N labelled assignments z (exact up to quadrature).

    p(x | K) = sum_z p(z) prod_k p(x_{S_k}), with S_k = {i : z_i = k},
    p(z) = Gamma(K alpha) / Gamma(N + K alpha) prod_k Gamma(n_k + alpha) / Gamma(alpha)
    (Dirichlet-multinomial), and p(x_S) = int Gamma(sigma; a, b) int N(mu; m0, s0)
    prod_{i in S} N(x_i; mu, sigma) dmu dsigma: mu in closed form, sigma by the trapezoid
    rule on a fine log-sigma grid (relative error far below 1e-8 for this prior). The
    2^N subset terms are tabulated once; the K^N assignments are then enumerated in
    vectorised blocks of bitmask look-ups.

    Data of shape (N, D) (or any data with a :class:`~gmm.NIWPrior`): the full-covariance
    model with the Normal-Inverse-Wishart prior, where each component's marginal is closed-form
    and the sum runs over the set partitions of the points into at most K blocks, each
    standing for K! / (K - b)! labellings (``gmm.model_choice.collapsed.exact_log_evidence``; exact).

    Args:
        x: observations, shape (N,) or (N, D), finite numbers.
        n_components: K, an integer in [1, N].
        prior: the model's :class:`~gmm.models.generative.Prior` for data (N,), or a
            :class:`~gmm.NIWPrior`; None derives one from the data (:meth:`~gmm.Prior.from_data`
            for (N,) or (N, 1), :meth:`~gmm.NIWPrior.from_data` for (N, D)).
        max_assignments: refuse when K^N exceeds this (the cost is about K^N look-ups and
            2^N quadratures; default 2^22); for the (N, D) model, when the number of set
            partitions into at most K blocks exceeds it (the cost is about that many look-ups
            and 2^N closed forms; default ``gmm.model_choice.collapsed.MAX_EXACT_PARTITIONS`` = 2^20).

    Returns:
        log p(x | K) in nats; +inf when the density evidence is infinite, which happens
        when some value repeats at least std_shape + 1 times (and K >= 2, or all N values
        are equal) under the Gamma prior on sigma, which does not keep sigma -> 0 on the
        repeats integrable (the inverse-gamma prior on sigma^2 does).

    Raises:
        ValueError: on bad data, K or prior, or when there are more than max_assignments
            terms (use :func:`gmm.log_marginal_likelihood` with ``method="smc"``); on data (N,),
            also on a prior float64 cannot represent on the data's scale: a mean_loc or
            mean_scale beyond 1e100 times the data's spread, or sigma's prior median outside
            1e-100 .. 1e100 times it (std_shape = 1e-30 puts it at 0;
            :func:`gmm.models.generative.check_prior_on_data`).
    """

    data, prior, nd = resolve_data(x, prior)
    k = check_n_components(n_components, data.shape[0])
    if max_assignments is not None:
        max_assignments = check_positive_int(max_assignments, "max_assignments")
    if nd:
        limit = MAX_EXACT_PARTITIONS if max_assignments is None else max_assignments
        return exact_log_evidence(data, k, prior, limit).log_evidence
    pr = prior_tuple(check_prior_on_data(prior, data, float32=False))
    return log_evidence_by_enumeration(data, k, pr, defaults.MAX_ASSIGNMENTS if max_assignments is None else max_assignments)


def log_evidence_by_enumeration(data: np.ndarray, k: int, pr: tuple, max_assignments: int) -> float:
    """exact_log_marginal_likelihood on checked arguments."""
    n = data.size
    alpha = pr[0]
    const = float(np_gammaln(k * alpha) - np_gammaln(n + k * alpha))
    if k == 1:  # one component holds every point: no enumeration, any N
        return const + _whole_log_evidence(data, pr)
    if n * math.log(k) > math.log(max_assignments):
        raise ValueError(
            f"exact enumeration needs K^N = {k}^{n} assignments (N log K = {n * math.log(k):.1f}); "
            f"allowed: K^N <= max_assignments = {max_assignments} (N log K <= "
            f"{math.log(max_assignments):.1f}). Use log_marginal_likelihood for larger problems."
        )
    table = _subset_table(data, pr, np.arange(1 << n, dtype=np.int64))
    if np.isposinf(table).any():
        return math.inf
    powers = k ** np.arange(n, dtype=np.int64)
    bits = 1 << np.arange(n, dtype=np.int64)
    total = k**n
    block_lse = []
    for start in range(0, total, _CHUNK):  # vectorised blocks of assignments
        t = np.arange(start, min(start + _CHUNK, total), dtype=np.int64)
        digits = (t[:, None] // powers[None, :]) % k  # z_i for every assignment, (C, N)
        log_p = np.zeros(t.size)
        for j in range(k):  # K bitmask look-ups per assignment
            log_p += table[((digits == j) * bits[None, :]).sum(axis=1)]
        block_lse.append(np_logsumexp(log_p))
    return const + float(np_logsumexp(np.asarray(block_lse)))


__all__ = ["exact_log_marginal_likelihood"]
