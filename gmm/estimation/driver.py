"""The EM driver, shared by every EM in the package (as scikit-learn's
``BaseMixture.fit_predict`` is by its subclasses): :func:`em_loop` runs any E and M step to
convergence (by the per-step rule, or by :func:`converged`, with SQUAREM's acceleration,
:func:`squarem_loop`, where the caller maps its parameters to free coordinates),
:func:`best_of_starts` runs it from several starts at once and keeps the best, and
:class:`EMResult` is what a fit returns. :func:`default_reg_covar` is the one default
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

MAX_RATE = 0.999  # the slowest rate of convergence the stopping rule assumes (1 - 1e-3)
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
        n_iter: number of EM iterations (E and M step pairs) run by the best restart (on
            more than 16,384 distinct values, by its run on all the data).
        converged: whether the stopping rule (``tol``), not ``max_iter``, ended the best
            restart: on the line, the log-likelihood is within ``tol`` per point of the
            limit its rate of convergence predicts (:func:`converged`); in D dimensions,
            the last iteration gained at most ``tol`` per point.
    """

    mixture: Mixture
    log_likelihood: float
    history: np.ndarray
    n_iter: int
    converged: bool


def em_loop(step: Callable, params: tuple, max_iter: int, tol: jax.Array, n_points: jax.Array,
            rate: jax.Array | float | None = None, free: tuple[Callable, Callable] | None = None):
    """Run ``step`` (params -> (new params, log-likelihood of params)) until it converges, or
    ``max_iter`` iterations.

    With ``rate`` None a run has converged when its last iteration gained at most ``tol``
    nats per point. With a ``rate`` it has converged when the log-likelihood is within
    ``tol`` per point of where it is heading (:func:`converged`, which assumes ``rate`` until
    two gains estimate it: a run continued from a converged one passes that run's,
    :func:`final_rate`, and a fresh one MAX_RATE). ``free``, with a rate: maps
    (to_free, from_free) from the parameters to unconstrained coordinates and back, for
    the acceleration of :func:`squarem_loop`.

    Returns (params, ll, history, n_iter, converged): the last parameters whose
    log-likelihood is known, that log-likelihood, the log-likelihood of the start and
    after each iteration (shape (max_iter + 1,), NaN past n_iter), the number of
    iterations, and whether the tolerance (not ``max_iter``) stopped it.
    """
    if free is not None:
        return squarem_loop(step, params, max_iter, tol, n_points, MAX_RATE if rate is None else rate, free)
    history = jnp.full(max_iter + 1, jnp.nan, dtype=tol.dtype)
    budget = tol * n_points

    def done(lls):
        g = jnp.diff(lls)  # the last three gains (-inf - -inf is NaN: no estimate)
        if rate is None:
            return g[2] <= budget
        return converged(g[2], g[1], g[0], budget, rate)

    def cond(state):
        it, _, _, lls, _ = state
        return (it <= max_iter) & ((it < 2) | (~jnp.isnan(lls[3] - lls[2]) & ~done(lls)))

    def body(state):
        it, cur, _, lls, history = state
        new, ll = step(cur)
        ll = jnp.where(jnp.isnan(ll), -jnp.inf, ll)
        return it + 1, new, cur, jnp.append(lls[1:], ll), history.at[it].set(ll)

    lls = jnp.full(4, -jnp.inf, tol.dtype)  # the log-likelihoods of the last four iterates
    it, _, scored, lls, history = jax.lax.while_loop(cond, body, (jnp.asarray(0), params, params, lls, history))
    return scored, lls[3], history, it - 1, (it >= 2) & done(lls)


def squarem_loop(step: Callable, params: tuple, max_iter: int, tol: jax.Array, n_points: jax.Array,
                 rate: jax.Array | float, free: tuple[Callable, Callable], n_plain: int = 4):
    """:func:`em_loop` with :func:`converged`, accelerated by SQUAREM (Varadhan and Roland
    2008, scheme S3, with the step-length bounds of their ``SQUAREM`` package); one
    ``step`` per iteration.

    Each cycle takes ``n_plain`` EM steps, then evaluates, in the coordinates of ``free``,
    the point extrapolated from the last three iterates u0, u1 = M(u0), u2 = M(u1)
    (r = u1 - u0, v = u2 - 2 u1 + u0): u' = u0 + 2a r + a^2 v, a = |r| / |v| in [1, a_max]
    (a = 1 gives u2). The next cycle starts from M(u') if u' is at least as likely as u1,
    and from u2 otherwise, so the log-likelihood never falls; a_max grows fourfold after a
    step that used all of it and shrinks fourfold after a refusal. Where EM crawls (a
    redundant component, gains shrinking by 1 % or less per step) a cycle gains what tens
    of EM steps would.

    ``history[t]`` is the log-likelihood of the best parameters after t steps. The stopping
    rule needs EM's own rate of convergence, which a jump disturbs (it excites directions
    that EM settles within a few steps): it is checked at every step until the first jump,
    then at each cycle's last EM step only, on the gains of its last three.
    """
    body, state = squarem_machine(step, params, max_iter, tol, n_points, rate, free, n_plain)
    s = jax.lax.while_loop(lambda s: (s["it"] <= max_iter) & ~s["stop"], body, state)
    return s["scored"], s["ll"], s["history"], s["it"] - 1, s["converged"]


def squarem_machine(step: Callable, params: tuple, max_iter: int, tol: jax.Array, n_points: jax.Array,
                    rate: jax.Array | float, free: tuple[Callable, Callable], n_plain: int = 4):
    """:func:`squarem_loop`'s state machine: (body, initial state). ``body`` makes one
    ``step``; run it while ``state["it"] <= max_iter`` and not ``state["stop"]``, traced
    (``lax.while_loop``) or eagerly from Python, where ``step`` is a pass over data read
    in chunks (:mod:`gmm.estimation.streaming`). The result is (``scored``, ``ll``,
    ``history``, ``it`` - 1, ``converged``)."""
    to_free, from_free = free
    m = n_plain
    history = jnp.full(max_iter + 1, jnp.nan, dtype=tol.dtype)
    budget = tol * n_points

    def pick(c, u, w):
        return jax.tree_util.tree_map(lambda x, y: jnp.where(c, x, y), u, w)

    def body(s):
        it, phase = s["it"], s["phase"]
        new, ll = step(s["cur"])
        ll = jnp.where(jnp.isnan(ll), -jnp.inf, ll)
        plain, jump, last = phase < m, phase == m, phase == m - 1
        gain = ll - s["ll"]  # over the best point so far: for an EM step, its input
        check = plain & (it >= 1) & (~s["jumped"] | last)
        stop = check & (jnp.isnan(gain) | converged(gain, s["gains"][1], s["gains"][0], budget, rate))
        u_prime, a = _extrapolate(to_free, from_free, s["base"], s["cur"], new, s["a_max"])
        ok = jnp.isfinite(ll) & (ll >= s["ll"])
        take = plain | ok
        grown = jnp.where(s["a"] >= s["a_max"], 4.0 * s["a_max"], s["a_max"])
        return {
            "it": it + 1,
            "phase": (phase + 1) % (m + 1),
            "cur": pick(last, u_prime, pick(jump & ~ok, s["alt"], new)),
            "base": pick(phase == m - 2, s["cur"], s["base"]),
            "alt": pick(last, new, s["alt"]),
            "scored": pick(take, s["cur"], s["scored"]),
            "ll": jnp.where(take, ll, s["ll"]),
            "gains": jnp.where(plain, jnp.stack([s["gains"][1], gain]), s["gains"]),
            "a_max": jnp.where(jump, jnp.where(ok, grown, jnp.maximum(1.0, s["a_max"] / 4.0)), s["a_max"]),
            "a": jnp.where(last, a, s["a"]),
            "jumped": s["jumped"] | jump,
            "stop": stop,
            "converged": stop & ~jnp.isnan(gain),
            "history": s["history"].at[it].set(jnp.where(take, ll, s["ll"])),
        }

    one = jnp.asarray(1.0, tol.dtype)
    nan = jnp.full(2, jnp.nan, tol.dtype)
    state = {"it": jnp.asarray(0), "phase": jnp.asarray(0), "cur": params, "base": params, "alt": params,
             "scored": params, "ll": -jnp.inf * one, "gains": nan, "a_max": one, "a": one,
             "jumped": jnp.asarray(False), "stop": jnp.asarray(False), "converged": jnp.asarray(False),
             "history": history}
    return body, state


def _extrapolate(to_free, from_free, u0, u1, u2, a_max):
    """SQUAREM's S3 point from u0, u1 = M(u0), u2 = M(u1) in free coordinates (entries not
    finite in all three keep u2's), and its step length a."""
    leaves = jax.tree_util.tree_leaves
    q0, q1, q2 = (leaves(to_free(u)) for u in (u0, u1, u2))
    ok = [jnp.isfinite(a) & jnp.isfinite(b) & jnp.isfinite(c) for a, b, c in zip(q0, q1, q2)]
    r = [jnp.where(f, b - a, 0.0) for f, a, b in zip(ok, q0, q1)]
    v = [jnp.where(f, c - 2.0 * b + a, 0.0) for f, a, b, c in zip(ok, q0, q1, q2)]
    rn = jnp.sqrt(sum(jnp.sum(u * u) for u in r))
    vn = jnp.sqrt(sum(jnp.sum(u * u) for u in v))
    a = jnp.clip(jnp.where(vn > 0, rn / jnp.where(vn > 0, vn, 1.0), 1.0), 1.0, a_max)
    out = [jnp.where(f, x + 2.0 * a * dr + a * a * dv, c) for f, x, dr, dv, c in zip(ok, q0, r, v, q2)]
    return from_free(jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(to_free(u0)), out)), a


def converged(gain: jax.Array, previous: jax.Array, earlier: jax.Array, budget: jax.Array,
              rate: jax.Array | float = MAX_RATE) -> jax.Array:
    """The stopping rule of fit_em: whether the log-likelihood, after its last three gains
    (``earlier``, ``previous``, ``gain``, nats; each an EM step's), is within ``budget``
    (tol x N) of its limit.

    EM converges linearly near a maximum, each gain about r times the last, so the
    log-likelihood has gain * r / (1 - r) still to rise (Aitken's estimate of the limit:
    Böhning et al. 1994, McNicholas et al. 2010): the rule is gain / (1 - r) <= budget.
    Gains that decay towards a level A > 0 rather than to zero (a fast transient over a
    slow crawl, as a redundant component makes, or the disturbance an extrapolation
    leaves) fit g_t = A + B q^t exactly through three gains (Aitken's delta-squared:
    A = gain - (gain - previous)^2 / (gain - 2 previous + earlier)); the transient then
    has (gain - A) / (1 - q) to give and the crawl, whose rate is unknown, is taken at
    MAX_RATE: A / (1 - MAX_RATE). With two gains r = gain / previous, with one ``rate``;
    every rate at most MAX_RATE, so gains that do not shrink stop the run only once they
    are below 1e-3 x budget. A fall (round-off, or a variance floor) counts as converged.
    """
    ok1 = jnp.isfinite(previous) & (previous > 0)
    r = jnp.where(ok1, gain / jnp.where(ok1, previous, 1.0), rate)
    d1, d2 = previous - earlier, gain - previous
    dd = d2 - d1
    decaying = ok1 & jnp.isfinite(earlier) & (earlier > 0) & (d2 < 0) & (dd > 0)
    level = jnp.where(decaying, jnp.clip(gain - d2**2 / jnp.where(decaying, dd, 1.0), 0.0, gain), 0.0)
    q = jnp.where(decaying, d2 / jnp.where(decaying, d1, 1.0), r)
    remaining = (gain - level) / (1.0 - jnp.clip(q, 0.0, MAX_RATE)) + level / (1.0 - MAX_RATE)
    return (gain <= 0) | (remaining <= budget)


def final_rate(history: np.ndarray, budget: float) -> float:
    """The rate of convergence when a run of ``history`` (NaN-free) stopped, in
    [0, MAX_RATE]: what a continuation of that run (on more data) may assume."""
    gains = np.diff(history)
    if gains.size == 1:
        # Stopped after one step that gained at most (1 - MAX_RATE) x budget: the start was a
        # fixed point (well-separated clusters, where k-means is EM); else nothing is known.
        return 0.0 if gains[0] <= (1.0 - MAX_RATE) * budget else MAX_RATE
    if gains.size < 2 or not gains[-2] > 0:
        return MAX_RATE
    return float(np.clip(gains[-1] / gains[-2], 0.0, MAX_RATE))


def rule_holds(history: np.ndarray, budget: float) -> bool:
    """Whether :func:`converged` holds at the end of ``history`` (NaN-free), with MAX_RATE
    where it has too few gains."""
    return rule_holds_on_gains(np.diff(history), budget)


def rule_holds_on_gains(gains: np.ndarray, budget: float, rate: float = MAX_RATE) -> bool:
    """:func:`converged` on the last three of ``gains`` (fewer: NaN before the first), in
    float64."""
    g = np.r_[np.full(3, np.nan), gains][-3:]
    with jax.enable_x64(True):
        return bool(converged(*(jnp.asarray(v, jnp.float64) for v in (g[2], g[1], g[0], budget)), rate))


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


__all__ = ["EMResult", "MAX_RATE", "best_of_starts", "converged", "default_reg_covar", "em_loop", "final_rate",
           "responsibilities_step", "rule_holds", "rule_holds_on_gains", "squarem_loop", "squarem_machine"]
