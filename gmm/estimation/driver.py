"""The EM driver, shared by every EM in the package (as scikit-learn's
``BaseMixture.fit_predict`` is by its subclasses): :func:`em_loop` runs any E and M step to
convergence, :func:`best_of_starts` runs it from several starts at once and keeps the best,
and :class:`EMResult` is what a fit returns. :func:`default_reg_covar` is the one default
regularisation, relative to the data's spacing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from gmm.models.mixture import Mixture

_REL_REG = 1e-6  # default reg_covar, in units of the squared median spacing of the values


@dataclass(frozen=True)
class EMResult:
    """Outcome of :func:`fit_em`.

    Attributes:
        mixture: fitted parameters (float64), components ordered by increasing mean.
        log_likelihood: total log-likelihood sum_i log p(x_i) at the fit (nats), equal to
            ``mixture.log_likelihood(x)``.
        history: total log-likelihood at the start and after each iteration,
            shape (n_iter + 1,); ``history[-1] == log_likelihood``.
        n_iter: number of EM iterations (E and M step pairs) run by the best restart.
        converged: whether the best restart's last iteration improved the mean
            log-likelihood per point by at most ``tol`` (rather than stopping at ``max_iter``).
    """

    mixture: Mixture
    log_likelihood: float
    history: np.ndarray
    n_iter: int
    converged: bool


def em_loop(step: Callable, params: tuple, max_iter: int, tol: jax.Array, n_points: jax.Array):
    """Run ``step`` (params -> (new params, log-likelihood of params)) until the mean
    log-likelihood per point improves by at most ``tol``, or ``max_iter`` iterations.

    Returns (params, ll, history, n_iter, converged): the last parameters whose
    log-likelihood is known, that log-likelihood, the log-likelihood of the start and
    after each iteration (shape (max_iter + 1,), NaN past n_iter), the number of
    iterations, and whether the tolerance (not ``max_iter``) stopped it.
    """
    history = jnp.full(max_iter + 1, jnp.nan, dtype=tol.dtype)

    def cond(state):
        it, _, _, prev, ll, _ = state
        return (it <= max_iter) & ((it < 2) | ((ll - prev) / n_points > tol))

    def body(state):
        it, cur, _, _, ll, history = state
        new, ll_cur = step(cur)
        ll_cur = jnp.where(jnp.isnan(ll_cur), -jnp.inf, ll_cur)
        return it + 1, new, cur, ll, ll_cur, history.at[it].set(ll_cur)

    inf = jnp.asarray(-jnp.inf, tol.dtype)
    state = (jnp.asarray(0), params, params, inf, inf, history)
    it, _, scored, prev, ll, history = jax.lax.while_loop(cond, body, state)
    converged = (it >= 2) & ((ll - prev) / n_points <= tol)
    return scored, ll, history, it - 1, converged


def best_of_starts(run: Callable, starts: tuple, *, sequential: bool = False):
    """``run`` from every start (leading axis of ``starts``); the best run's output.

    ``run(*start)`` returns a tuple whose second entry is the log-likelihood. The starts run
    vmapped, or one after another with ``sequential=True`` (``lax.map``: each stops at its own
    convergence, and batching Cholesky factors and triangular solves doubles compilation).
    """
    out = jax.lax.map(lambda s: run(*s), starts) if sequential else jax.vmap(run)(*starts)
    best = jnp.argmax(jnp.where(jnp.isfinite(out[1]), out[1], -jnp.inf))
    return jax.tree_util.tree_map(lambda a: a[best], out)


def responsibilities_step(lp: jax.Array, c: jax.Array, active: jax.Array | bool = True):
    """The part every M step shares: from the log joint ``lp`` (U, K) of rows with counts c
    (U,), the count-weighted responsibilities r (U, K), their column sums N_k (K,), which
    components are alive (active, N_k > 1e-12), N_k with 1 for the dead (a safe divisor), and
    the log-likelihood sum_u c_u log sum_k exp(lp_uk) of the parameters behind ``lp``."""
    lse = logsumexp(lp, axis=1)
    ll = jnp.sum(jnp.where(c > 0, c * lse, 0.0))
    r = jnp.exp(lp - lse[:, None]) * c[:, None]
    nk = r.sum(axis=0)
    alive = active & (nk > 1e-12)
    return r, nk, alive, jnp.where(alive, nk, 1.0), ll


def default_reg_covar(values: np.ndarray) -> float:
    """fit_em's default regularisation for points on the line, in squared units of
    ``values``: 1e-6 times the squared median spacing of the distinct values (scikit-learn's
    1e-6 for data recorded to whole units, and the same fit in any units)."""
    distinct = np.unique(values)
    gap = float(np.median(np.diff(distinct))) if distinct.size > 1 else 1.0
    return _REL_REG * gap**2


__all__ = ["EMResult", "best_of_starts", "default_reg_covar", "em_loop", "responsibilities_step"]
