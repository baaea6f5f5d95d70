"""The defaults and limits that the public routines share, declared once.

In the spirit of scikit-learn's ``_parameter_constraints``: every public routine reads its
default from here and checks its argument with the function here, so two routines cannot
drift apart on ``tol``, ``n_init``, the chain sizes or the smallest K.

EM (:func:`gmm.fit_em`, :func:`gmm.select_k`, :func:`gmm.naive_select_k`)
    ``tol``       1e-7 nats per point. :func:`gmm.fit_em` on the line stops a run when the
                  log-likelihood is within ``tol`` per point of its limit, as its rate of
                  convergence predicts it (:func:`gmm.estimation.driver.converged`: Aitken's
                  estimate of the limit, with gains that shrink by 0.1 % per step or less
                  taken to go on for 1000 steps). The model-selection loops and EM in D
                  dimensions stop when the last iteration gained at most ``tol`` per point
                  (ll_t - ll_{t-1} <= tol * N), which stops a run that crawls (a redundant
                  component: gains shrinking by 1 % per step or less) far below its limit.
                  Either way a fall, which EM makes only by round-off or at a variance
                  floor, counts as converged, and a run that stops at ``max_iter`` warns
                  (:class:`gmm.ConvergenceWarning`).
    ``max_iter``  1000 per start, at most 100,000 (the history buffer holds max_iter + 1 numbers).
    ``n_init``    :func:`gmm.fit_em` on the line (:func:`n_init_line`): as many starts as
                  keep one EM iteration over all of them to 2**16 component-values (4 starts
                  on the 16,384-value sketch of a large data set, 1 component), a power of 2
                  from 4 to 64: 64 on the 20 bentos, 4 from 8,192 distinct values at K = 2.
                  4 in D dimensions. 10 per K for model selection (``select_k``,
                  ``naive_select_k``: a criterion compares the maxima of every K, so each K's
                  fit must reach its maximum; measured below). At most 1000.
Samplers (:func:`gmm.gibbs`, :func:`gmm.nuts`, :func:`gmm.dp_gibbs`)
    ``n_samples`` 2000 kept draws per chain (at least 4, for the diagnostics),
    ``n_warmup``  500, ``n_chains`` 4.
Number of components
    at least 1 wherever the routine handles one component (``MIN_COMPONENTS``): every
    routine but :func:`gmm.importance_sampling`, whose error says why (no mixing
    proportions to draw at K = 1; the evidence is exact there).
"""

from __future__ import annotations

from typing import Any

from gmm._util.numerics import bucket
from gmm._util.validation import check_positive, check_positive_int

# --- EM ------------------------------------------------------------------------------------
TOL = 1e-7
MAX_ITER = 1000
MAX_ITER_LIMIT = 100_000
# tol: select_k on the 2-D Old Faithful (K = 1..6, 20 keys, 10 starts) leaves 41 of the 120
# (key, K) fits more than 0.01 nats below the best of 100 starts with tol = 1e-6, 13 with
# 1e-7 (EM creeps along ridges there); the picked K is the same on every data set tried.
# n_init: fits more than 0.01 nats below the best of 100 starts, out of 20 keys x all K
# (tol 1e-7), with 4 / 10 starts: bento (K = 1..6) 54 / 36 of 120, galaxies (K = 1..7)
# 55 / 43 of 140, Old Faithful 2-D (K = 1..6) 33 / 13 of 120; select_k costs 0.13 / 0.24 s
# on the galaxies. The picked K was the same over the 20 keys for select_k either way.
# fit_em on the line, bento, 10 keys, fits within 0.01 nats of the best of 1500 starts for
# K = 2, 3, 4, 5, 6: 4 starts 10, 8, 0, 1, 1; 16 starts 10, 10, 1, 7, 1; 64 starts 10, 10,
# 8, 10, 1 (K = 4's best, -35.47, puts a component on a repeated value). A fit of the bentos
# takes 1 to 11 ms with 4 starts, 7 to 114 ms with 64 (starts one after another, each to
# its own convergence); a fit of a million values is unchanged (4 starts on its sketch).
N_INIT_FIT = 4
N_INIT_SELECT = 10
N_INIT_LIMIT = 1000
N_INIT_WORK = 1 << 16  # component-values per EM iteration over all of fit_em's default starts
N_INIT_MAX_AUTO = 64

# --- MCMC ----------------------------------------------------------------------------------
N_SAMPLES = 2000
N_WARMUP = 500
N_CHAINS = 4

# --- number of components ------------------------------------------------------------------
MIN_COMPONENTS = 1

# --- exact enumeration ----------------------------------------------------------------------
# exact_log_marginal_likelihood refuses beyond this many labelled assignments K^N (on the line)
MAX_ASSIGNMENTS = 1 << 22
# posterior_over_k(method="auto") enumerates exactly up to this many, and estimates beyond
AUTO_EXACT_ASSIGNMENTS = 1 << 14


def check_em_settings(max_iter: Any, tol: Any, n_init: Any, *, auto: bool = False) -> tuple[int, float, int | None]:
    """Check EM's iteration limit (integer in [1, 100,000]), tolerance (> 0, nats per point)
    and number of starts (integer in [1, 1000], or None where ``auto``: the routine picks
    it, :func:`n_init_line`); the one check for every EM routine."""
    max_iter = check_positive_int(max_iter, "max_iter", maximum=MAX_ITER_LIMIT)
    tol = check_positive(tol, "tol")
    if not (auto and n_init is None):
        n_init = check_positive_int(n_init, "n_init", maximum=N_INIT_LIMIT)
    return max_iter, tol, n_init


def n_init_line(n_values: int, n_components: int) -> int:
    """fit_em's default number of starts on the line for ``n_values`` distinct values (the
    sketch's 16,384 beyond that) and K components: the power of 2 in [4, 64] nearest below
    N_INIT_WORK / (padded n_values x K), so that cheap fits try more starts and large
    ones cost what they did with 4."""
    fit = max(1, N_INIT_WORK // (bucket(n_values, 64) * n_components))
    return int(min(N_INIT_MAX_AUTO, max(N_INIT_FIT, 1 << (fit.bit_length() - 1))))


__all__ = [
    "AUTO_EXACT_ASSIGNMENTS", "MAX_ASSIGNMENTS", "MAX_ITER", "MAX_ITER_LIMIT", "MIN_COMPONENTS", "N_CHAINS",
    "N_INIT_FIT", "N_INIT_LIMIT", "N_INIT_MAX_AUTO", "N_INIT_SELECT", "N_INIT_WORK", "N_SAMPLES", "N_WARMUP", "TOL",
    "check_em_settings", "n_init_line",
]
