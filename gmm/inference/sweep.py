"""The untempered Metropolis-within-Gibbs sampler of :func:`gmm.gibbs`, in chunks of the data.

A sweep makes one pass over the data. For each chunk of points and each chain it scores
every point under every component with GenJAX (``assigned_point.assess``, through
:func:`gmm.inference.scoring.component_log_probs`), draws the assignments z from those scores, adds
each component's sufficient statistics (n_k, sum and sum of squares of its points) to running
totals, and adds the points' responsibilities to the running sum that becomes
``assignment_probs``. Everything after the pass (pi, mu, and the Metropolis steps on sigma)
needs only the K sufficient statistics, since given z the Gaussian likelihood of a component
depends on its points through them alone. So z is never stored, and a pass's temporaries are a
few chunk-sized arrays: memory is the data, the (N, K) sum of responsibilities and O(chunk),
whatever N (``MAX_CHUNK`` points per chunk; data of at most that size are one chunk, with no
loop). All chains share that one running sum, updated in place.

The responsibilities added in sweep t are those of the parameters at its start, i.e. of draw
t - 1, in the labelling sorted by mean; one pass after the last sweep adds the last draw's.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gmm.inference.scoring import assignments_from, component_log_probs, normalised_columns, sort_by_mean
from gmm.models.generative import Prior, log_std_prior, mean_conditional

MAX_CHUNK = 1 << 15  # points x chains per chunk: a pass's temporaries are a few chunk x K x chains floats
WHOLE = 1 << 17  # points x chains up to which the data are one chunk: no loop, whose ops run slower
_MIN_CHUNK = 1 << 10  # below this, the loop over chunks costs more than their temporaries save
TARGET_ACCEPT = 0.44  # optimal acceptance rate of a 1-D random-walk Metropolis step
_ALIGN = 128  # chunk lengths are rounded up to a multiple of this (vector-friendly), when chunked


def chunk_plan(n: int, n_chains: int = 1, max_chunk: int | None = None) -> tuple[int, int]:
    """(n_chunks, chunk): the fewest chunks of at most ``max_chunk`` points that cover n points.

    By default one chunk while n x n_chains <= ``WHOLE`` (small data: fastest), else
    max_chunk = max(``MAX_CHUNK`` / n_chains, 1024), so a pass's temporaries stay bounded.
    One chunk of exactly n points when n <= max_chunk; otherwise equal chunks, rounded up to a
    multiple of 128 when max_chunk allows, so the padding is under n_chunks x 128 points.
    """
    if max_chunk is None:
        whole = n * n_chains <= WHOLE
        max_chunk = n if whole else max(MAX_CHUNK // n_chains, min(MAX_CHUNK, _MIN_CHUNK))
    if n <= max_chunk:
        return 1, n
    n_chunks = -(-n // max_chunk)
    chunk = -(-n // n_chunks)
    if max_chunk >= _ALIGN:
        chunk = min(max_chunk, -(-chunk // _ALIGN) * _ALIGN)
    return -(-n // chunk), chunk


def to_chunks(y: jax.Array, n_chunks: int, chunk: int) -> jax.Array:
    """``y`` (N,) padded with zeros to n_chunks x chunk points, shape (n_chunks, chunk)."""
    pad = n_chunks * chunk - y.shape[0]
    return jnp.pad(y, (0, pad)).reshape(n_chunks, chunk) if pad else y.reshape(n_chunks, chunk)


def from_chunks(resp_sum: jax.Array, n: int) -> np.ndarray:
    """The running sum (n_chunks, K, chunk) as float64 NumPy of shape (N, K), padding dropped and
    every row divided by its sum (so the rows are probabilities). One float32 and one float64
    copy of the (N, K) values on the host, no more."""
    r = np.asarray(resp_sum)
    r = r.transpose(0, 2, 1).reshape(-1, r.shape[1])[:n].astype(np.float64)
    r /= r.sum(axis=1, keepdims=True)
    return r


def _chunk_terms(key, x, valid, params, shift, draw: bool):
    """One chunk x (B,) for every chain c: z_i ~ P(z_i | theta_c, x_i) and its statistics per
    component, (n_k int32, sum (x_i - shift_k), sum (x_i - shift_k)^2), each (C, K), over
    the points with ``valid`` (B,) True; and the responsibilities, shape (C, K, B).

    ``params`` = (weights, means, stds), each (C, K); ``shift`` (C, K) (the current means, so
    the float32 sums of squares stay well conditioned). With ``draw=False`` only the
    responsibilities are computed (the statistics are zeros).
    """

    def one_chain(key_c, w, m, s, c):
        ps, total = normalised_columns(component_log_probs(x, w, m, s))
        resp = jnp.stack([p / total for p in ps])
        k = w.shape[0]
        if not draw:
            zero = jnp.zeros(k, x.dtype)
            return (zero.astype(jnp.int32), zero, zero), resp
        z = assignments_from(key_c, ps, total)
        stats = [], [], []
        for j in range(k):
            mine = valid & (z == j)
            d = jnp.where(mine, x - c[j], 0.0)
            stats[0].append(jnp.sum(mine, dtype=jnp.int32))
            stats[1].append(jnp.sum(d))
            stats[2].append(jnp.sum(d * d))
        return tuple(jnp.stack(a) for a in stats), resp

    keys = jax.random.split(key, shift.shape[0])
    return jax.vmap(one_chain)(keys, *params, shift)


def data_pass(key, xs, n_valid, params, resp_sum, weight, relabel, draw: bool = True):
    """One pass over the chunks ``xs`` (n_chunks, B) of which the first ``n_valid`` points are data.

    Draws z for every chain from ``params`` = (weights, means, stds), each (C, K), and returns
    the statistics of :func:`_chunk_terms` summed over chunks ((C, K) each: counts, sums and
    sums of squares about the current means) and ``resp_sum`` (n_chunks, K, B) plus ``weight``
    times the responsibilities summed over chains, in each chain's labelling sorted by mean when
    ``relabel`` (a traced bool) is true.
    """
    n_chunks, b = xs.shape
    k = params[0].shape[1]
    order = jnp.where(relabel, jnp.argsort(params[1], axis=1), jnp.arange(k))
    # perm[c, j, l] = weight if chain c's sorted component j is its component l: a product summed
    # over (c, l) sorts the K rows of every chain and adds up the chains, elementwise per point.
    perm = weight * (order[:, :, None] == jnp.arange(k)).astype(xs.dtype)

    def body(i, carry):
        stats, resp_sum = carry
        valid = i * b + jnp.arange(b) < n_valid
        st, resp = _chunk_terms(jax.random.fold_in(key, i), xs[i], valid, params, params[1], draw)
        add = jnp.sum(perm[:, :, :, None] * resp[:, None], axis=(0, 2))
        if n_chunks == 1:  # an elementwise update, which XLA does in place
            resp_sum = resp_sum + add[None]
        else:
            resp_sum = jax.lax.dynamic_update_index_in_dim(resp_sum, resp_sum[i] + add, i, 0)
        return jax.tree_util.tree_map(jnp.add, stats, st), resp_sum

    zero = jnp.zeros_like(params[0])
    init = ((zero.astype(jnp.int32), zero, zero), resp_sum)
    if n_chunks == 1:  # small data: no loop at all
        return body(0, init)
    return jax.lax.fori_loop(0, n_chunks, body, init)


def log_std_target(stds, counts, sq_resid, prior: Prior):
    """log p(sigma_k) + sum_{z_i = k} log N(x_i | mu_k, sigma_k) + log sigma_k, up to a constant
    in sigma, from the statistics: n_k and sq_resid_k = sum_{z_i = k} (x_i - mu_k)^2; shape (K,).

    Equals the sum of the points' ``assigned_point.assess`` scores plus the prior and the
    Jacobian, less n_k (log pi_k - log sqrt(2 pi)), which does not depend on sigma.
    """
    return log_std_prior(stds, prior) - (counts - 1.0) * jnp.log(stds) - 0.5 * sq_resid / stds**2


def update_parameters(key, stats, state, prior: Prior, n_mh: int, adapt_rate):
    """pi | z, mu | z, sigma and sigma | z, mu (``n_mh`` random-walk MH steps on log sigma) for
    one chain from its statistics (counts, sums, sums of squares about the old means; (K,) each).

    ``state`` = (weights, means, stds, log MH step), each (K,). Returns the new state and the
    mean MH acceptance probability per component (K,).
    """
    weights, shift, stds, log_step = state
    counts, s1, s2 = stats
    counts = counts.astype(shift.dtype)
    k = weights.shape[0]
    k_w, k_m, k_s = jax.random.split(key, 3)
    weights = jax.random.dirichlet(k_w, prior.alpha + counts)
    loc, var = mean_conditional(prior, counts, s1 + counts * shift, stds)
    means = loc + jax.random.normal(k_m, (k,)) * jnp.sqrt(var)
    d = means - shift
    sq_resid = jnp.maximum(s2 - 2.0 * d * s1 + counts * d * d, 0.0)

    def mh(carry, key_t):
        stds, cur = carry
        k_prop, k_acc = jax.random.split(key_t)
        prop = stds * jnp.exp(jnp.exp(log_step) * jax.random.normal(k_prop, (k,)))
        new = log_std_target(prop, counts, sq_resid, prior)
        log_ratio = jnp.where(jnp.isnan(new), -jnp.inf, new - cur)
        accept = jnp.log(jax.random.uniform(k_acc, (k,))) < log_ratio
        return (jnp.where(accept, prop, stds), jnp.where(accept, new, cur)), jnp.minimum(1.0, jnp.exp(log_ratio))

    cur = log_std_target(stds, counts, sq_resid, prior)
    (stds, _), acc_prob = jax.lax.scan(mh, (stds, cur), jax.random.split(k_s, n_mh))
    acc = acc_prob.mean(axis=0)
    log_step = log_step + adapt_rate * (acc - TARGET_ACCEPT)
    return (weights, means, stds, log_step), acc


def initial_state(centres, xs, n_valid, init_step):
    """Every chain's start: the given means (sorted), equal weights, every sd the data's sd / K,
    and the log MH step; (weights, means, stds, log step), each (C, K) for ``centres`` (C, K)."""
    c, k = centres.shape
    # The padding is zeros: it adds nothing to the sum and mean^2 per padded point to the squares
    # (a mask here would cost a data-sized temporary).
    mean = jnp.sum(xs) / n_valid
    sq = jnp.sum((xs - mean) ** 2) - (xs.size - n_valid) * mean**2
    sd = jnp.sqrt(jnp.maximum(sq, 0.0) / n_valid)
    sd = jnp.where(sd > 0, sd / k, 1.0)
    full = partial(jnp.full, (c, k), dtype=xs.dtype)
    return full(1.0 / k), jnp.sort(centres, axis=1), full(sd), full(jnp.log(init_step))


@partial(jax.jit, static_argnames=("n_samples", "n_warmup", "n_mh"))
def run(key, xs, n_valid, prior, init_step, centres, n_samples: int, n_warmup: int, n_mh: int,
        relabel: jax.Array | bool = True):
    """All chains, all sweeps: one ``lax.scan`` over warmup + kept sweeps, the chains side by side.

    ``xs`` (n_chunks, B): the data in chunks (:func:`to_chunks`), ``n_valid`` of them real;
    ``centres`` (C, K): each chain's initial means. Returns the kept draws of (weights, means,
    stds), each (C, n_samples, K) (sorted by mean when ``relabel``), the mean MH acceptance (C, K),
    the adapted step exp(log step) (C, K), and the sum over chains and kept draws of the
    responsibilities, (n_chunks, K, B) (:func:`from_chunks`; divide by C x n_samples).
    Warmup sweeps adapt the MH step and are dropped.
    """
    n_total = n_warmup + n_samples
    n_chains, k = centres.shape
    n_chunks, b = xs.shape
    n_valid = jnp.asarray(n_valid, jnp.int32)
    update = jax.vmap(update_parameters, in_axes=(0, 0, 0, None, None, None))

    def sweep(carry, inp):
        state, resp_sum = carry
        t, key_t = inp
        k_pass, k_upd = jax.random.split(key_t)
        warm = t < n_warmup
        rate = jnp.where(warm, 1.0 / (t + 1.0) ** 0.6, 0.0)
        kept = jnp.where(t > n_warmup, 1.0, 0.0)  # this pass scores draw t - 1
        stats, resp_sum = data_pass(k_pass, xs, n_valid, state[:3], resp_sum, kept, relabel)
        state, acc = update(jax.random.split(k_upd, n_chains), stats, state, prior, n_mh, rate)
        # A traced switch, so sorted and raw runs share one compiled program.
        draw = jax.vmap(sort_by_mean)(*state[:3])
        draw = jax.tree_util.tree_map(lambda a, b: jnp.where(relabel, a, b), draw, tuple(state[:3]))
        return (state, resp_sum), (*draw, acc)

    state = initial_state(centres, xs, n_valid, init_step)
    resp0 = jnp.zeros((n_chunks, k, b), xs.dtype)
    (state, resp_sum), (w, m, s, acc) = jax.lax.scan(
        sweep, (state, resp0), (jnp.arange(n_total, dtype=xs.dtype), jax.random.split(key, n_total))
    )
    _, resp_sum = data_pass(key, xs, n_valid, state[:3], resp_sum, 1.0, relabel, draw=False)
    draws = (jnp.swapaxes(a[n_warmup:], 0, 1) for a in (w, m, s))
    return (*draws, acc[n_warmup:].mean(axis=0), jnp.exp(state[3]), resp_sum)


__all__ = ["MAX_CHUNK", "chunk_plan", "data_pass", "from_chunks", "log_std_target", "run", "to_chunks"]
