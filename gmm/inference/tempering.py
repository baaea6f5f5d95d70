"""Parallel tempering (replica exchange) for the samplers of :func:`gmm.gibbs`.

The ladder, the swaps and the ladder's adaptation (:func:`geometric_ladder`, :func:`exchange`,
:func:`equalised_ladder`) serve both samplers: the 1-D Metropolis-within-Gibbs sampler below and
the conjugate sampler for D dimensions (``gmm.inference.gibbs_conjugate``), which tempers the
complete-data likelihood instead. What follows is the 1-D sampler's tempered target.

Rung r of a ladder 1 = beta_0 > beta_1 > ... targets

    pi_beta(z, theta) ∝ p(theta) p(x | theta)^beta q_beta(z | theta),
    q_beta(z | theta) = prod_i (pi_{z_i} N(x_i | mu_{z_i}, sigma_{z_i}))^beta / sum_k (...)^beta,

so its theta-marginal is the posterior with the likelihood tempered, p(theta) p(x | theta)^beta,
and swaps compare log p(x | theta). Tempering the complete-data likelihood instead,
p(theta) p(x, z | theta)^beta, would keep every conditional in closed form, but its theta-marginal
rewards overlapping components by up to (1 - beta) log K nats per ambiguous point: on the
galaxies at K = 2 even beta = 0.84 moves almost all the mass from one mode to the other, and
swaps between beta = 1 and the next rung are almost never accepted.

Here the conditional of theta given z is f(theta) g(theta), f the complete-data tempered
conditional (closed form: Dirichlet(alpha + beta n_k), Normal means with precision
1/s0^2 + beta n_k / sigma_k^2, log sigma MH on prior + beta * point terms) and
g(theta) = p(x | theta)^beta / prod_i sum_k (pi_k N(x_i | ...))^beta. Given z, f factorises over
pi and the components, so pi, then each mu_k, then each sigma_k is proposed by an update that
leaves f invariant and is reversible for it (an exact draw from f's conditional, or n_mh
random-walk steps on log sigma_k) and accepted with probability min(1, g(new) / g(old)): a
Metropolis-Hastings step for f g. At beta = 1, g = 1 and rung 0 is the plain sampler. Every
density is a GenJAX ``assigned_point.assess`` column (:func:`gmm.inference.scoring.component_log_probs`).

The ladder starts geometric and is re-placed during warmup so that every adjacent pair has
the same swap rejection rate (:func:`equalised_ladder`); the geometric ladder crowds the hot
end, where swaps are almost always accepted, and leaves the cold end, where most of the
communication barrier lies, too sparse. On the galaxies at K = 4 (12 rungs down to 0.003)
its rates run from 0.28 at the cold pair to 0.90 at the hot one; adapted, all are about 0.6,
and the ESS at beta = 1 of the predictive density at its peak grows 1.6 to 2.2 fold (K = 5, 4).
"""

from __future__ import annotations

from functools import partial, reduce

import jax
import jax.numpy as jnp

from gmm.inference.scoring import component_log_prob, component_log_probs, responsibilities, sample_assignments, sort_by_mean
from gmm.inference.sweep import TARGET_ACCEPT
from gmm.models.generative import Prior, log_std_prior, mean_conditional


def geometric_ladder(n_temperatures: int, min_inverse_temperature: float) -> list[float]:
    """beta_r = min_inverse_temperature ** (r / (R - 1)), r = 0 .. R - 1 (beta_0 = 1); [1.0] for R = 1."""
    if n_temperatures == 1:
        return [1.0]
    return [min_inverse_temperature ** (r / (n_temperatures - 1)) for r in range(n_temperatures)]


def marginal_terms(cols: jax.Array, beta: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(log p(x | theta), log g(theta)) from the columns c_ik = log pi_k N(x_i | mu_k, sigma_k), shape (K, N).

    log g = sum_i [beta log sum_k e^{c_ik} - log sum_k e^{beta c_ik}] <= 0, exactly 0 at beta = 1.
    """
    top = jnp.max(cols, axis=0)
    s1 = reduce(jnp.add, [jnp.exp(c - top) for c in cols])
    sb = reduce(jnp.add, [jnp.exp(beta * (c - top)) for c in cols])
    return jnp.sum(top + jnp.log(s1)), jnp.sum(beta * jnp.log(s1) - jnp.log(sb))


def _std_target(cols, z, stds, prior: Prior, beta):
    """log p(sigma_k) + beta sum_{z_i = k} c_ik + log sigma_k per component, shape (K,): the
    complete-data tempered density of log sigma_k (the n_k log pi_k in c cancels in MH ratios)."""
    lik = jnp.stack([jnp.sum(jnp.where(z == j, c, 0.0)) for j, c in enumerate(cols)])
    return log_std_prior(stds, prior) + beta * lik + jnp.log(stds)


def _cols(x, weights, means, stds) -> jax.Array:
    return jnp.stack(component_log_probs(x, weights, means, stds))


def init_rung_state(z, weights, means, stds, log_step, x):
    """A rung's state: (z, pi, mu, sigma, log MH step, columns (K, N), log p(x | theta))."""
    cols = _cols(x, weights, means, stds)
    return (z, weights, means, stds, log_step, cols, marginal_terms(cols, 1.0)[0])


def _g_corrected(key, cur, cols, params, beta):
    """A Metropolis-Hastings step for f g whose proposal (``cols``, ``params``) came from an
    update reversible for f: accepted with probability min(1, g(new) / g(cur)).

    ``cur`` = (log g, log p(x | theta), cols (K, N), (pi, mu, sigma)); returns the state kept
    (same layout) and whether the proposal was accepted."""
    lpx, log_g = marginal_terms(cols, beta)
    ok = jnp.log(jax.random.uniform(key)) < log_g - cur[0]
    return jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), (log_g, lpx, cols, params), cur), ok


def tempered_sweep(key, state, x, prior: Prior, n_mh: int, adapt_rate, beta, target_accept: float):
    """One sweep of rung ``beta``: z | theta from q_beta; then pi, each mu_k and each sigma_k
    in turn, each proposed by an update of the complete-data tempered conditional f (which
    factorises over components given z) and corrected by g on its own.

    One correction per component rather than one for the whole block: a single mu_k or
    sigma_k moves g far less than all K together, so at beta ~ 0.05 .. 0.5 each is accepted
    about half the time where the joint block was accepted 5-10% of the time (galaxies,
    K = 4, 5), and the middle of the ladder mixes instead of freezing.

    Returns the new state, the log-sigma MH acceptance probabilities (K,) and the mean
    acceptance of the g-corrections (2,): (pi and the K means; the K standard deviations).
    """
    z, weights, means, stds, log_step, cols, lpx = state
    k = weights.shape[0]
    k_z, k_w, k_m, k_s, k_fix = jax.random.split(key, 5)
    k_fix = jax.random.split(k_fix, 2 * k + 1)
    z = sample_assignments(k_z, [beta * c for c in cols])
    counts = jax.ops.segment_sum(jnp.ones_like(x), z, num_segments=k)
    sums = jax.ops.segment_sum(x, z, num_segments=k)
    cur = (marginal_terms(cols, beta)[1], lpx, cols, (weights, means, stds))
    # pi: an exact draw from f's conditional Dirichlet(alpha + beta n_k).
    w_new = jax.random.dirichlet(k_w, prior.alpha + beta * counts)
    cur, ok_w = _g_corrected(k_fix[0], cur, _cols(x, w_new, means, stds), (w_new, means, stds), beta)
    # mu_k: exact draws from f's independent Normal conditionals, one component at a time.
    loc, var = mean_conditional(prior, beta * counts, beta * sums, stds)
    m_draw = loc + jax.random.normal(k_m, (k,)) * jnp.sqrt(var)
    ok_m = []
    for j in range(k):
        c, (w, m, s) = cur[2:]
        m = m.at[j].set(m_draw[j])
        cur, ok = _g_corrected(k_fix[1 + j], cur, c.at[j].set(component_log_prob(x, w, m, s, j)), (w, m, s), beta)
        ok_m.append(ok)
    cols, (weights, means, stds) = cur[2:]

    # sigma: n_mh random-walk MH steps on log sigma_k for f, all components at once (f's
    # sigma_k are independent given z, pi, mu: a power of a reversible kernel, reversible).
    def mh(carry, key_t):
        s, s_cols, target = carry
        k_prop, k_acc = jax.random.split(key_t)
        prop = s * jnp.exp(jnp.exp(log_step) * jax.random.normal(k_prop, (k,)))
        p_cols = _cols(x, weights, means, prop)
        new = _std_target(p_cols, z, prop, prior, beta)
        log_ratio = jnp.where(jnp.isnan(new), -jnp.inf, new - target)
        accept = jnp.log(jax.random.uniform(k_acc, (k,))) < log_ratio
        s_cols = jnp.where(accept[:, None], p_cols, s_cols)  # column k depends on sigma_k only
        carry = (jnp.where(accept, prop, s), s_cols, jnp.where(accept, new, target))
        return carry, jnp.minimum(1.0, jnp.exp(log_ratio))

    target = _std_target(cols, z, stds, prior, beta)
    (s_prop, cols_prop, _), acc_prob = jax.lax.scan(mh, (stds, cols, target), jax.random.split(k_s, n_mh))
    # ... then g's correction for each sigma_k in turn (its proposal does not depend on the others).
    ok_s = []
    for j in range(k):
        c, (w, m, s) = cur[2:]
        cur, ok = _g_corrected(k_fix[1 + k + j], cur, c.at[j].set(cols_prop[j]), (w, m, s.at[j].set(s_prop[j])), beta)
        ok_s.append(ok)
    _, lpx, cols, (weights, means, stds) = cur
    acc = acc_prob.mean(axis=0)
    log_step = log_step + adapt_rate * (acc - target_accept)
    fixed = jnp.stack([jnp.mean(jnp.stack([ok_w, *ok_m]).astype(x.dtype)), jnp.mean(jnp.stack(ok_s).astype(x.dtype))])
    return (z, weights, means, stds, log_step, cols, lpx), acc, fixed


def swap_log_ratio(betas: jax.Array, lpx: jax.Array) -> jax.Array:
    """log acceptance ratio of exchanging the states of each adjacent pair (r, r + 1), shape (R - 1,).

    Rung r targets prior x exp(beta_r l); exchanging states with l_r and l_{r+1} multiplies the
    product of the two targets by exp((beta_r - beta_{r+1})(l_{r+1} - l_r)), the prior terms
    cancelling. ``betas`` (R,), ``lpx`` (R,) the log-likelihood term of each rung's current
    state. A NaN ratio (a state with no finite likelihood) is -inf: never accepted.
    """
    log_ratio = (betas[:-1] - betas[1:]) * (lpx[1:] - lpx[:-1])
    return jnp.where(jnp.isnan(log_ratio), -jnp.inf, log_ratio)


def swap(key, configs, lpx, betas, parity):
    """Replica-exchange moves between adjacent rungs (r, r + 1), r = parity (mod 2).

    Exchanging the configurations of rungs i and j is accepted with probability
    min(1, exp((beta_i - beta_j)(l_j - l_i))), l = log p(x | theta) (:func:`swap_log_ratio`).
    The adapted MH steps stay with their rungs. Returns the new configurations, each pair's
    acceptance probability (R-1,) and whether it was proposed (R-1,).
    """
    r = jnp.arange(betas.shape[0] - 1)
    proposed = r % 2 == parity
    log_ratio = swap_log_ratio(betas, lpx)
    accept = proposed & (jnp.log(jax.random.uniform(key, r.shape)) < log_ratio)
    no = jnp.zeros(1, bool)
    up, down = jnp.concatenate([accept, no]), jnp.concatenate([no, accept])
    src = jnp.arange(betas.shape[0]) + up.astype(jnp.int32) - down.astype(jnp.int32)
    configs = jax.tree_util.tree_map(lambda a: a[src], configs)
    return configs, jnp.minimum(1.0, jnp.exp(log_ratio)), proposed


def _init_chain(centres, x, init_step):
    """Start from given means (sorted), equal weights, every sd the data's sd / K; z is
    drawn in the first sweep."""
    k = centres.shape[0]
    sd = jnp.std(x)
    sd = jnp.where(sd > 0, sd / k, 1.0)
    return (
        jnp.zeros(x.shape[0], jnp.int32),
        jnp.full(k, 1.0 / k, x.dtype),
        jnp.sort(centres),
        jnp.full(k, sd, x.dtype),
        jnp.full(k, jnp.log(init_step), x.dtype),
    )


_FIRST_ADAPT = 32  # sweeps before the ladder is first re-placed


def equalised_ladder(betas: jax.Array, accept: jax.Array) -> jax.Array:
    """A ladder with the same ends whose adjacent pairs have equal estimated rejection rates.

    The cumulative rejection Lambda(beta_r) = sum_{j < r} (1 - accept_j) (Syed et al. 2021,
    "non-reversible parallel tempering"), interpolated linearly in log beta, is cut into
    R - 1 equal parts. ``betas`` (R,) decreasing from 1; ``accept`` (R - 1,) the mean swap
    acceptance probability of each pair. Rejections are floored at 1e-3 so Lambda increases.
    """
    rej = jnp.maximum(1.0 - accept, 1e-3)
    cum = jnp.concatenate([jnp.zeros(1, rej.dtype), jnp.cumsum(rej)])
    log_b = jnp.interp(jnp.linspace(0.0, 1.0, betas.shape[0]) * cum[-1], cum, jnp.log(betas))
    return jnp.exp(log_b).at[0].set(1.0).at[-1].set(betas[-1])


def adapts_ladder_at(t: jax.Array, n_warmup: int) -> jax.Array:
    """Whether the ladder is re-placed after sweep t (0-based): when t + 1 = 32, 64, 128, ...
    and t + 1 <= n_warmup / 2, so the last ladder has at least half the warmup to settle in."""
    n = t.astype(jnp.int32) + 1
    return (n >= _FIRST_ADAPT) & ((n & (n - 1)) == 0) & (2 * n <= n_warmup)


def init_exchange_stats(n_chains: int, n_rungs: int, dtype) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The running sums :func:`exchange` keeps: (pooled swap acceptance since the ladder was
    last placed (R - 1,), kept sweeps' accepted swap probability and proposals, each (C, R - 1))."""
    return (jnp.zeros(n_rungs - 1, dtype), jnp.zeros((n_chains, n_rungs - 1), dtype),
            jnp.zeros((n_chains, n_rungs - 1), dtype))


def exchange(keys, configs, log_lik, betas, stats, t, n_warmup: int, adapt):
    """After sweep t (0-based, traced) of every chain: replica-exchange moves (:func:`swap`,
    even pairs on even sweeps, odd pairs on odd ones), the swap rates of the kept sweeps and,
    with ``adapt``, during warmup the ladder re-placed by :func:`equalised_ladder` from the swap
    acceptance probabilities of all pairs and chains since the last re-placement (at sweeps 32,
    64, ... up to half the warmup; :func:`adapts_ladder_at`).

    ``keys`` (C,); ``configs`` a pytree whose leaves have leading axes (C, R), what swaps;
    ``log_lik`` (C, R), the log-likelihood term the rungs' targets raise to beta; ``betas``
    (R,); ``stats`` from :func:`init_exchange_stats`. Returns (configs, betas, stats).
    """
    pool, swap_sum, swap_n = stats
    parity = t.astype(jnp.int32) % 2
    configs, swap_p, proposed = jax.vmap(swap, in_axes=(0, 0, 0, None, None))(keys, configs, log_lik, betas, parity)
    keep = jnp.where(t < n_warmup, 0.0, 1.0)
    swap_sum = swap_sum + keep * jnp.where(proposed, swap_p, 0.0)
    swap_n = swap_n + keep * proposed
    # The acceptance probability of every pair, proposed or not, estimates its rate.
    pool = pool + swap_p.mean(axis=0)
    since = jnp.where(t.astype(jnp.int32) + 1 == _FIRST_ADAPT, _FIRST_ADAPT, (t.astype(jnp.int32) + 1) // 2)
    new_ladder = adapt & adapts_ladder_at(t, n_warmup)
    betas = jnp.where(new_ladder, equalised_ladder(betas, pool / since.astype(pool.dtype)), betas)
    return configs, betas, (jnp.where(new_ladder, 0.0, pool), swap_sum, swap_n)


@partial(jax.jit, static_argnames=("n_samples", "n_warmup", "n_mh"))
def run(key, x, prior, init_step, centres, betas, n_samples: int, n_warmup: int, n_mh: int,
        relabel: jax.Array | bool = True, adapt: jax.Array | bool = True):
    """All chains, all sweeps of parallel tempering: one ``lax.scan`` over warmup + kept
    sweeps, each a vmap over chains and rungs.

    ``x`` (N,); ``centres`` (n_chains, R, K), R >= 2 rungs; ``betas`` (R,), betas[0] = 1, the
    starting ladder. Every sweep updates all rungs (vmap, :func:`tempered_sweep`) and then
    proposes swaps between adjacent rungs, even pairs on even sweeps and odd pairs on odd
    ones. With ``adapt``, during warmup the ladder is re-placed by :func:`equalised_ladder`
    from the swap acceptance probabilities of all pairs and chains since the last
    re-placement (at sweeps 32, 64, ... up to half the warmup); it is fixed afterwards, so the
    kept sweeps are those of one fixed Markov chain. Only rung 0 (beta = 1) is recorded.
    Returns the kept draws (weights, means, stds), each (n_chains, n_samples, K), the MH
    acceptance (n_chains, K), the adapted step (n_chains, K), the mean over chains and kept
    draws of the responsibilities (K, N), the swap acceptance rates (n_chains, R - 1), the
    g-correction acceptance rates (n_chains, R, 2) and the ladder used after warmup (R,).
    """
    n_total = n_warmup + n_samples
    n_chains, n_rungs, k = centres.shape

    def init_rung(c):
        return init_rung_state(*_init_chain(c, x, init_step), x)

    sweep = jax.vmap(
        jax.vmap(tempered_sweep, in_axes=(0, 0, None, None, None, None, 0, None)),
        in_axes=(0, 0, None, None, None, None, None, None),
    )

    def step(carry, inp):
        state, betas, stats, resp_sum, fix_sum = carry
        t, key_t = inp  # key_t: (n_chains,) keys
        warm = t < n_warmup
        rate = jnp.where(warm, 1.0 / (t + 1.0) ** 0.6, 0.0)
        keep = jnp.where(warm, 0.0, 1.0)
        k_sweep, k_swap = jax.vmap(jax.random.split, out_axes=1)(key_t)
        state, acc, fixed = sweep(
            jax.vmap(lambda kc: jax.random.split(kc, n_rungs))(k_sweep), state, x, prior, n_mh, rate, betas,
            TARGET_ACCEPT,
        )
        # Everything but the adapted MH steps (state[4]) travels with a swap.
        configs, betas, stats = exchange(k_swap, state[:4] + state[5:], state[6], betas, stats, t, n_warmup, adapt)
        state = (*configs[:4], state[4], *configs[4:])
        fix_sum = fix_sum + keep * fixed
        cold = jax.tree_util.tree_map(lambda a: a[:, 0], state)
        # A traced switch, so sorted and raw runs share one compiled program.
        w, m, s = jax.tree_util.tree_map(
            lambda a, b: jnp.where(relabel, a, b), jax.vmap(sort_by_mean)(*cold[1:4]), tuple(cold[1:4])
        )
        # Components on the leading axis: each row is one fused pass over the data.
        resp_sum = resp_sum + keep * jax.vmap(lambda *p: jnp.stack(responsibilities(x, *p)))(w, m, s).sum(axis=0)
        return (state, betas, stats, resp_sum, fix_sum), (w, m, s, acc[:, 0])

    state = jax.vmap(jax.vmap(init_rung))(centres)
    keys = jax.vmap(lambda kc: jax.random.split(kc, n_total), out_axes=1)(jax.random.split(key, n_chains))
    carry = (
        state,
        betas,
        init_exchange_stats(n_chains, n_rungs, x.dtype),
        jnp.zeros((k, x.shape[0]), x.dtype),
        jnp.zeros((n_chains, n_rungs, 2), x.dtype),
    )
    (state, betas, (_, swap_sum, swap_n), resp_sum, fix_sum), (w, m, s, acc) = jax.lax.scan(
        step, carry, (jnp.arange(n_total, dtype=x.dtype), keys)
    )
    kept = slice(n_warmup, None)
    w, m, s, acc = (jnp.swapaxes(a[kept], 0, 1) for a in (w, m, s, acc))
    return (w, m, s, acc.mean(axis=1), jnp.exp(state[4][:, 0]), resp_sum / (n_chains * n_samples),
            swap_sum / jnp.maximum(swap_n, 1.0), fix_sum / n_samples, betas)
