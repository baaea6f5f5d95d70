"""Maximum-likelihood fitting of a Gaussian mixture by Expectation-Maximization, any D.

:func:`fit_em` takes points of shape (N,) or (N, D). Points on the line ((N,), or (N, 1))
use the steps below; points in D >= 2 dimensions use the same driver with the steps of
:mod:`gmm.estimation.em_multivariate` (scikit-learn's four covariance structures).

E step: responsibilities r_ik = P(z_i = k | x_i, theta), in log space.
M step: N_k = sum_i r_ik, pi_k = N_k / N, mu_k = sum_i r_ik E[x_i] / N_k,
sigma_k^2 = max(sum_i r_ik (Var[x_i] + (E[x_i] - mu_k)^2) / N_k + reg_covar, min_std^2),
where E[x_i] = x_i and Var[x_i] = 0 for the density likelihood; the grouped-data EM of
:mod:`gmm.model_choice.selection` passes the moments of each component truncated to each bin.

One driver, :func:`em_loop`, runs any E step to convergence (as scikit-learn's
``BaseMixture.fit_predict`` does for its subclasses), and :func:`best_of_starts` runs
it from several starts at once and keeps the best. Starting points come from one k-means
seeding, :func:`kmeans_starts`. A run stops when the log-likelihood is within ``tol`` per
point of its limit (:func:`gmm.estimation.driver.converged`): a run whose gains are each
below ``tol`` per point but shrink slowly (a redundant component crawling) goes on. On
more than 16,384 distinct values the starts run on a quantile sketch to the per-step rule;
the best continues on the sketch to the full rule where it is not there yet (with SQUAREM's
acceleration, ``gmm.estimation.driver.squarem_loop``), and then on all the data.

Numerics: the data are centred and scaled in float64 (median and interquartile range, so
one outlier or an offset such as a timestamp cannot swamp the others) and EM runs in
float64, so the stopping rule sees per-point changes of 1e-7 on a million points and the
reported log-likelihood is the returned mixture's. Repeated values are grouped (value,
count), which is exact for the likelihood and makes rounded data cheap.
"""

from __future__ import annotations

import math
import warnings
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm

from gmm._util import defaults
from gmm._util.numerics import bucket, numpy_rng, quantile_sketch, robust_scale
from gmm._util.validation import (
    ConvergenceWarning,
    as_data,
    check_key,
    check_n_components,
    check_positive,
)
from gmm.estimation.driver import (
    MAX_RATE,
    EMResult,
    best_of_starts,
    default_reg_covar,
    em_loop,
    final_rate,
    responsibilities_step,
    rule_holds,
)
from gmm.estimation.em_multivariate import fit_points
from gmm.estimation.kmeans import kmeans_starts
from gmm.estimation.sources import is_streamed
from gmm.estimation.streaming import fit_stream
from gmm.models.mixture import Mixture, check_covariance_type

_SKETCH = 16_384  # above this many distinct values, restarts run on a quantile sketch first
_EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------
# E and M steps (traced; float64 under jax.enable_x64)
# ---------------------------------------------------------------------------


def density_e_step(y, logw, mu, sd, active):
    """log pi_k + log N(y_j | mu_k, sd_k) per (value, component), and E[x], Var[x] = (y, 0)."""
    lp = jnp.where(active, logw + norm.logpdf(y[:, None], mu, sd), -jnp.inf)
    return lp, y[:, None], jnp.zeros((), y.dtype)


def m_step(lp, ex, vx, c, var_reg, floor, logw, mu, sd, active):
    """Responsibilities from ``lp`` (weighted by the counts c), then the weighted moments.

    Returns the new (log pi, mu, sd) and the log-likelihood of the parameters that produced
    ``lp``. A component that loses every point keeps its mean and sd.
    """
    r, nk, alive, nk_safe, ll = responsibilities_step(lp, c, active)
    mu_new = (r * ex).sum(axis=0) / nk_safe
    var_new = (r * (vx + (ex - mu_new) ** 2)).sum(axis=0) / nk_safe + var_reg
    sd_new = jnp.maximum(jnp.sqrt(var_new), floor)
    logw_new = jnp.where(active, jnp.log(nk / c.sum()), -jnp.inf)
    return (logw_new, jnp.where(alive, mu_new, mu), jnp.where(alive, sd_new, sd)), ll


def lower_bound(x: Any, mixture: Mixture, resp: Any) -> float:
    """EM's lower bound on the log-likelihood, L(q, theta) = E_q[log p(x, z | theta)] + H(q).

    For a table q of label probabilities (row i: a distribution over the K components for
    x_i; the labels independent across points),

        L(q, theta) = sum_i sum_k q_ik [log pi_k + log N(x_i | mu_k, sigma_k^2)]
                      - sum_i sum_k q_ik log q_ik,                  (0 log 0 = 0)

    By Jensen's inequality L(q, theta) <= log p(x | theta) = ``mixture.log_likelihood(x)``
    for every q; the gap is sum_i KL(q_i || r_i), zero exactly when q is the
    responsibilities r = ``mixture.responsibilities(x)`` (the E step). For fixed q the
    bound is maximised over theta by the M step (:func:`em_step`).

    Args:
        x: observations, shape (N,).
        mixture: the parameters theta, K components.
        resp: q, shape (N, K), non-negative, each row summing to 1 (within 1e-6).

    Returns:
        L(q, theta) in nats (float64); -inf where q puts mass on a component of weight 0.

    Raises:
        ValueError: on bad data, a q of the wrong shape, a negative or non-finite entry,
            or a row that does not sum to 1.

    Example:
        >>> import gmm
        >>> x = gmm.datasets.bento()
        >>> theta = gmm.Mixture([0.5, 0.5], [420.0, 470.0], [40.0, 40.0])
        >>> r = theta.responsibilities(x)
        >>> abs(gmm.estimation.em.lower_bound(x, theta, r) - float(theta.log_likelihood(x))) < 1e-9
        True
    """
    data = as_data(x)
    if not isinstance(mixture, Mixture):
        raise ValueError(f"mixture must be a gmm.Mixture, got {type(mixture).__name__}.")
    q = np.asarray(resp, dtype=np.float64)
    shape = (data.size, mixture.n_components)
    if q.shape != shape:
        raise ValueError(f"resp must have shape (N, K) = {shape}, got {q.shape}.")
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("resp must be finite and non-negative.")
    if np.max(np.abs(q.sum(axis=1) - 1.0)) > 1e-6:
        raise ValueError("every row of resp must sum to 1 (within 1e-6).")
    lp = np.asarray(mixture.component_log_prob(data), dtype=np.float64)
    used = q > 0  # 0 log 0 = 0, and q = 0 ignores a component of weight 0
    return float(np.sum(q[used] * (lp[used] - np.log(q[used]))))


def em_step(x: Any, mixture: Mixture) -> Mixture:
    """One exact EM iteration from ``mixture`` on the observations x, shape (N,).

    E step: r_ik = pi_k N(x_i | mu_k, sigma_k^2) / sum_j pi_j N(x_i | mu_j, sigma_j^2).
    M step, with N_k = sum_i r_ik: pi_k = N_k / N, mu_k = sum_i r_ik x_i / N_k,
    sigma_k^2 = sum_i r_ik (x_i - mu_k)^2 / N_k: the maximiser over theta of
    :func:`lower_bound` with q = r. These are :func:`gmm.fit_em`'s steps (the same code) without
    its ``reg_covar`` and without reordering: component k stays component k. A component
    that loses every point keeps its mean and sd.

    Returns:
        The new parameters, a :class:`~gmm.Mixture` with K components (float64).

    Example:
        >>> import gmm
        >>> x = gmm.datasets.bento()
        >>> theta = gmm.Mixture([0.5, 0.5], [420.0, 470.0], [40.0, 40.0])
        >>> new = gmm.estimation.em.em_step(x, theta)
        >>> bool(new.log_likelihood(x) >= theta.log_likelihood(x))
        True
    """
    data = as_data(x)
    if not isinstance(mixture, Mixture):
        raise ValueError(f"mixture must be a gmm.Mixture, got {type(mixture).__name__}.")
    with jax.enable_x64(True):
        y = jnp.asarray(data)
        with np.errstate(divide="ignore"):  # a weight of 0 is a log weight of -inf
            params = tuple(jnp.asarray(a) for a in (np.log(mixture.weights), mixture.means, mixture.stds))
        active = jnp.ones(mixture.n_components, bool)
        lp, ex, vx = density_e_step(y, *params, active)
        zero = jnp.zeros((), y.dtype)
        (logw, mu, sd), _ = m_step(lp, ex, vx, jnp.ones_like(y), zero, zero, *params, active)
        weights = np.exp(np.asarray(logw))
        return Mixture(weights / weights.sum(), np.asarray(mu), np.asarray(sd))


# ---------------------------------------------------------------------------
# fit_em
# ---------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("max_iter", "strict", "accelerate"))
def _em_from_starts(y, c, var_reg, min_var_floor, tol, rate, logw, mu, sd, *, max_iter: int, strict: bool,
                    accelerate: bool):
    """EM on the grouped, standardised data from every start (rows of logw, mu, sd); the
    best run's (params, ll, history, n_iter, converged). ``strict``: :func:`em_loop`'s rule
    with ``rate`` (else the per-step rule); ``accelerate``: SQUAREM
    (``gmm.estimation.driver.squarem_loop``). More than N_INIT_FIT starts (small data)
    run one after another, each to its own convergence: vmapped, every start would run as
    long as the slowest."""
    active = jnp.ones(mu.shape[-1], bool)
    floor = jnp.sqrt(min_var_floor)

    def step(params):
        lp, ex, vx = density_e_step(y, *params, active)
        return m_step(lp, ex, vx, c, var_reg, floor, *params, active)

    # SQUAREM's extrapolation in (log pi, mu, log sd), mapped back to normalised proportions
    # and to widths no narrower than an M step can make them.
    sd_min = jnp.maximum(jnp.sqrt(var_reg), floor)
    free = (lambda p: (p[0], p[1], jnp.log(p[2])),
            lambda q: (q[0] - logsumexp(q[0]), q[1], jnp.maximum(jnp.exp(q[2]), sd_min)))
    free = free if accelerate else None

    def run(logw, mu, sd):
        return em_loop(step, (logw, mu, sd), max_iter, tol, c.sum(), rate if strict else None, free)

    return best_of_starts(run, (logw, mu, sd), sequential=logw.shape[0] > defaults.N_INIT_FIT)


def _starts(key, y, c, k, n_init, init, var_reg):
    """(n_init, K) starting parameters: k-means, or (``"random"``) means at K random values
    drawn by count, equal weights and every sd the data's sd / K."""
    if init == "kmeans":
        return kmeans_starts(key, y, c, k, n_init, var_extra=var_reg)
    rng = numpy_rng(key)
    n = c.sum()
    spread = float(np.sqrt(np.sum(c * (y - np.sum(c * y) / n) ** 2) / n)) or 1.0
    # K distinct data points (not distinct values: two may share a repeated value).
    cum = np.cumsum(c)
    points = [rng.choice(int(n), size=k, replace=n < k) for _ in range(n_init)]
    mu = np.stack([y[np.searchsorted(cum, p, side="right")] for p in points])
    return np.full((n_init, k), -math.log(k)), mu, np.full((n_init, k), spread / k)


def random_start(key: jax.Array, x: Any, n_components: int) -> Mixture:
    """The parameters that ``fit_em(key, x, n_components, init="random", n_init=1)`` starts
    from: K data points drawn without replacement as the means (two may share a repeated
    value), equal proportions 1/K, and every sd the data's sd / K.

    x has shape (N,). Returns a :class:`~gmm.Mixture` (float64), components by increasing
    mean; its ``log_likelihood(x)`` is that run's ``history[0]``.

    Example:
        >>> import jax, gmm
        >>> start = gmm.estimation.em.random_start(jax.random.key(7), gmm.datasets.bento(), 2)
        >>> [float(m) for m in start.means]
        [499.0, 499.0]
    """
    key = check_key(key)
    data = as_data(x)
    k = check_n_components(n_components, data.size)
    loc, scale = robust_scale(data)
    values, counts = np.unique((data - loc) / scale, return_counts=True)
    counts = counts.astype(np.float64)
    if values.size > _SKETCH:  # as in fit_em: the starts are drawn from the sketch
        values, counts = np.unique(quantile_sketch(values, counts, _SKETCH), return_counts=True)
        counts = counts.astype(np.float64)
    logw, mu, sd = _starts(key, values, counts, k, 1, "random", 0.0)
    return Mixture(np.exp(logw[0]), loc + scale * mu[0], scale * sd[0]).sorted()


def _check_init(init: Any) -> str:
    if init not in ("kmeans", "random"):
        raise ValueError(f"init must be 'kmeans' or 'random', got {init!r}.")
    return init


def fit_em(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    covariance_type: str = "full",
    max_iter: int = defaults.MAX_ITER,
    tol: float = defaults.TOL,
    n_init: int | None = None,
    reg_covar: float | None = None,
    min_std: float | None = None,
    init: str = "kmeans",
    chunk_size: int | None = None,
    progress: bool | None = None,
) -> EMResult:
    """Fit a K-component Gaussian mixture to x by EM (maximum likelihood), in any dimension,
    on data in memory or read in chunks, on every device and every process.

    Args:
        key: ``jax.random`` key for the starts.
        x: observations, shape (N,) or (N, D), finite numbers (one row per point). (N, 1)
            is the same as (N,). Data that do not fit in memory are read in chunks, one pass
            per EM iteration (:mod:`gmm.estimation.streaming`): a path to a ``.npy`` file, a
            function that returns a fresh iterator of (n,) or (n, D) chunks (a Parquet or
            CSV reader), or, with ``chunk_size``, any array-like that slices by rows (a Zarr
            or HDF5 array, ``np.memmap``). Under ``jax.distributed.initialize`` with several
            processes, x is this process's part of the data and every process gets the fit
            to all of it.
        n_components: K, an integer in [1, N].
        covariance_type: scikit-learn's four structures, for D >= 2: ``"full"`` (each
            component its own matrix), ``"tied"`` (one matrix shared), ``"diag"``
            (axis-aligned: variances only) or ``"spherical"`` (one variance per component).
            On the line "full", "diag" and "spherical" are the same model; "tied" (one
            variance shared) returns a mixture with D = 1 covariances.
        max_iter: most EM iterations per start (at most 100,000).
        tol: nats per point. On the line a run stops when its log-likelihood is within
            ``tol`` per point of the limit that its rate of convergence predicts
            (:func:`gmm.estimation.driver.converged`), so a run that crawls (a redundant
            component) goes on; in D dimensions (and with "tied") when the last iteration
            gained at most ``tol`` per point (``gmm._util.defaults``); a streamed fit uses
            the rule of the line in every dimension. A run that stops at ``max_iter``
            instead warns (:class:`gmm.ConvergenceWarning`).
        n_init: number of starts (at most 1000); the one with the highest likelihood is
            kept. Default: on the line as many as keep an iteration over all of them to
            2**16 component-values, from 4 to 64 (64 on a few hundred values, 4 from
            8,192 distinct values at K = 2: ``gmm._util.defaults.n_init_line``); 4 in
            D dimensions. On the line they are equal-count quantiles then k-means++, and
            with more than 16,384 distinct values all starts first run on a 16,384-point
            quantile sketch of the data, and only the best one continues (on the sketch
            accelerated by SQUAREM, ``gmm.estimation.driver.squarem_loop``, then on all
            the data). In D dimensions every start is k-means++ followed by Lloyd iterations.
        reg_covar: added to every variance so that a component can never reach zero width,
            as scikit-learn's ``reg_covar``; squared data units (per dimension). Default
            1e-6 times the squared median spacing of the distinct values (per column):
            scikit-learn's 1e-6 for data recorded to whole units, and a fit that does not
            depend on the units.
        min_std: on the line only, an optional floor on every component standard deviation
            (data units), used by model selection to respect the data's rounding.
        init: ``"kmeans"`` (k-means++ then Lloyd iterations) or ``"random"`` (means at K
            random data points; on the line every sd the data's sd / K, in D dimensions
            every covariance the data's: slower, and shows EM's climb more clearly).
        chunk_size: rows read at once (at most 2**22); given, or when x is a file or a
            function, EM streams: the starts run on a sample of at most 16,384 distinct rows,
            each with its count, drawn in one pass (the same whatever the chunks, devices or
            processes); then each iteration is one pass whose sums are added in float64,
            each chunk sharded over the local devices, accelerated by SQUAREM as on the
            line. Memory is bounded by the chunk size. Default for streamed data: about
            2**22 / (K D) rows, a power of two in [4,096, 2**18].
        progress: a progress bar per pass while streaming; default: when stderr is a terminal.

    Returns:
        An :class:`EMResult`; ``history[t]`` is the total log-likelihood after t
        iterations (``history[0]`` at the start; on more than 16,384 distinct values, of
        the run on all the data) and never decreases.

    Raises:
        ValueError: on bad data, key, K, counts, tolerances, init or covariance_type, or a
            problem too large for memory.

    Numerics, in any D: columns centred and scaled in float64 (median and IQR, so one
    outlier or an offset such as a timestamp cannot swamp the rest), repeated values or rows
    grouped, EM in float64, and the log-likelihood recomputed from the returned mixture.

    Example:
        >>> import jax, gmm
        >>> fit = gmm.fit_em(jax.random.key(0), gmm.datasets.bento(), 2)
        >>> [round(float(m)) for m in fit.mixture.means]
        [350, 500]
    """
    key = check_key(key)
    covariance_type = check_covariance_type(covariance_type)
    max_iter, tol, n_init = defaults.check_em_settings(max_iter, tol, n_init, auto=True)
    if reg_covar is not None:
        reg_covar = check_positive(reg_covar, "reg_covar")
    if min_std is not None:
        min_std = check_positive(min_std, "min_std")
    init = _check_init(init)
    if chunk_size is not None or is_streamed(x) or jax.process_count() > 1:
        if min_std is not None:
            raise ValueError("min_std applies to data held in memory; a streamed fit (a file, chunks, "
                             "chunk_size or several processes) takes reg_covar instead.")
        fit_sample = partial(_fit_memory, max_iter=max_iter, tol=tol, n_init=n_init, reg_covar=reg_covar,
                             init=init, covariance_type=covariance_type)
        result = fit_stream(key, x, n_components, fit_sample, covariance_type=covariance_type, max_iter=max_iter,
                            tol=tol, reg_covar=reg_covar, chunk_size=chunk_size, progress=progress)
        _warn_unconverged(result, max_iter, tol)
        return result
    data = as_data(x, ndim=None)
    k = check_n_components(n_components, data.shape[0])
    result = _fit_memory(key, data, k, max_iter=max_iter, tol=tol, n_init=n_init, reg_covar=reg_covar, init=init,
                         covariance_type=covariance_type, min_std=min_std)
    _warn_unconverged(result, max_iter, tol)
    return result


def _fit_memory(key, data, k, *, max_iter, tol, n_init, reg_covar, init, covariance_type, min_std=None) -> EMResult:
    """fit_em on checked data in memory: on the line (:func:`fit_line`) or in D dimensions."""
    on_line = covariance_type != "tied" and (data.ndim == 1 or data.shape[1] == 1)
    if not on_line and min_std is not None:
        raise ValueError(f"min_std applies to points on the line; x has shape {data.shape} "
                         "(use reg_covar to keep components from collapsing in D dimensions).")
    if on_line:
        return fit_line(key, data.reshape(-1), k, max_iter, tol, n_init, reg_covar, min_std, init)
    return fit_points(key, data.reshape(data.shape[0], -1), k, max_iter, tol,
                      defaults.N_INIT_FIT if n_init is None else n_init, reg_covar, init, covariance_type)


def _warn_unconverged(result: EMResult, max_iter: int, tol: float) -> None:
    if not result.converged:
        warnings.warn(
            f"fit_em stopped at max_iter={max_iter} before the log-likelihood came within "
            f"tol={tol:g} per point of its limit (EM crawls where a component is redundant); "
            "raise max_iter (or tol) for a converged fit, or fit fewer components.",
            ConvergenceWarning, stacklevel=3)


def fit_line(key, data, k, max_iter, tol, n_init, reg_covar, min_std, init) -> EMResult:
    """fit_em on checked arguments (n_init None: the default, ``defaults.n_init_line``)."""
    loc, scale = robust_scale(data)
    values, counts = np.unique((data - loc) / scale, return_counts=True)
    counts = counts.astype(np.float64)
    if n_init is None:
        n_init = defaults.n_init_line(min(values.size, _SKETCH), k)
    if reg_covar is None:
        var_reg = default_reg_covar(values)
    else:
        var_reg = reg_covar / scale**2
    min_var = 0.0 if min_std is None else (min_std / scale) ** 2
    consts = (var_reg, min_var, tol)
    if values.size > _SKETCH:
        # Every start on a quantile sketch, to the per-step rule (enough to rank them), then
        # the best one to the full rule: on the sketch when it is not there yet (an
        # iteration on the sketch costs 1/60 of one on a million values), then on all the data.
        sv, sc = np.unique(quantile_sketch(values, counts, _SKETCH), return_counts=True)
        sc = sc.astype(np.float64)
        budget = tol * sc.sum()
        (logw, mu, sd), _, history, n_iter, sketch_converged = _run(
            sv, sc, consts, _starts(key, sv, sc, k, n_init, init, var_reg), max_iter, strict=False)
        history = history[: int(n_iter) + 1]
        if not (sketch_converged and rule_holds(history, budget)):
            (logw, mu, sd), _, history, n_iter, sketch_converged = _run(
                sv, sc, consts, (logw[None], mu[None], sd[None]), max_iter, accelerate=True)
            history = history[: int(n_iter) + 1]
        starts = (logw[None], mu[None], sd[None])
        # The sketch's rate of convergence stands in for the data's until three gains on all
        # the data estimate it, so that a run converged on the sketch can stop after one step
        # on the data. A run that did not converge on the sketch would crawl on the data too:
        # one step there, and not converged.
        rate = final_rate(history, budget)
        refine_iter = max_iter if bool(sketch_converged) else 1
    else:
        starts = _starts(key, values, counts, k, n_init, init, var_reg)
        rate, refine_iter, sketch_converged = MAX_RATE, max_iter, True
    (logw, mu, sd), ll, history, n_iter, converged = _run(values, counts, consts, starts, refine_iter, rate)
    converged = bool(converged) and bool(sketch_converged)
    shift = data.size * math.log(scale)
    n_iter = int(n_iter)
    history = history[: n_iter + 1] - shift
    weights = np.exp(logw - logw.max())
    weights, mu, sd, ll = weights / weights.sum(), loc + scale * mu, scale * sd, float(ll) - shift
    # loc + scale * mu, and the standardised values behind it, carry round-off of about
    # eps * (|loc| + |mu - loc|) in data units. Where that is not negligible against a
    # component's width or its mean itself (values near 2**62 next to values near 5: the
    # small ones standardise to one number and their mean comes back as 0), one more EM
    # step in data units, float64, makes each mean an average of the data themselves.
    if np.any(_EPS * (abs(loc) + np.abs(mu - loc)) > 1e-6 * np.minimum(sd, np.abs(mu))):
        weights, mu, sd, ll = _step_in_data_units(data, weights, mu, sd, var_reg * scale**2, min_var * scale**2)
        history, n_iter = np.append(history, ll), n_iter + 1
    return EMResult(
        mixture=Mixture(weights, mu, sd).sorted(),
        log_likelihood=ll,
        history=history,
        n_iter=n_iter,
        converged=bool(converged),
    )


def _step_in_data_units(x, weights, mu, sd, var_reg, min_var):
    """One EM step on the raw data in float64 (NumPy); the new parameters and their
    log-likelihood. Each mean is a weighted average of the data themselves, so it is
    exact to the data's own precision whatever their offset."""
    from scipy.special import logsumexp as np_logsumexp

    def comp(w, m, s):
        with np.errstate(divide="ignore"):
            return np.log(w) - 0.5 * ((x[:, None] - m) / s) ** 2 - np.log(s) - 0.5 * math.log(2 * math.pi)

    lp = comp(weights, mu, sd)
    r = np.exp(lp - np_logsumexp(lp, axis=1, keepdims=True))
    nk = r.sum(axis=0)
    alive = nk > 1e-12
    safe = np.where(alive, nk, 1.0)
    mu_new = np.where(alive, (r * x[:, None]).sum(axis=0) / safe, mu)
    var = (r * (x[:, None] - mu_new) ** 2).sum(axis=0) / safe + var_reg
    sd_new = np.where(alive, np.sqrt(np.maximum(var, min_var)), sd)
    w_new = nk / nk.sum()
    ll = float(np_logsumexp(comp(w_new, mu_new, sd_new), axis=1).sum())
    return w_new, mu_new, sd_new, ll


def _run(values, counts, consts, starts, max_iter, rate=MAX_RATE, strict=True, accelerate=False):
    """EM from the starts on grouped values (zero-count padding to a bucketed length), float64."""
    size = bucket(values.size, 64)
    y = np.full(size, values[-1])
    c = np.zeros(size)
    y[: values.size], c[: values.size] = values, counts
    with jax.enable_x64(True):
        args = (jnp.asarray(a, jnp.float64) for a in (y, c, *consts, rate, *starts))
        out = _em_from_starts(*args, max_iter=max_iter, strict=strict, accelerate=accelerate)
        return jax.tree_util.tree_map(np.asarray, out)


__all__ = ["EMResult", "fit_em"]
