"""EM on data read in chunks, sharded over devices and processes: :func:`gmm.fit_em` with a
file, an array-like, a function returning chunks, or ``chunk_size``.

1. One pass checks every chunk and draws a sample of at most 16,384 distinct rows: those
   whose hash (of their float64 bits, seeded by the key) is smallest, a *bottom-k* sample,
   each with the number of times it occurs in the data (equal rows hash alike, so a
   repeated value enters with all its copies). It depends on the data and the key only, not
   on how the data are split into chunks, devices or processes, so every split starts from
   the same point; the samples of several processes merge exactly.
2. The starts (k-means++ and ``n_init`` restarts, as :func:`gmm.fit_em` runs them in memory)
   run on the sample, each row repeated its count times (scaled down to at most 2**20
   points); the best fit is where EM on all the data begins.
3. Each EM iteration is one pass: every chunk, standardised in float64 by the sample's
   median and IQR, gives its sums (:func:`gmm.estimation.distributed.chunk_statistics`:
   the log-likelihood, N_k, and the first and second moments about the current means),
   added in float64 over chunks, devices and processes; the M step uses only these sums.
   Memory is bounded by the chunk size, not by N. Every process learns of an error in any
   other (``guarded``), so none waits for one that stopped.

A run stops by :func:`gmm.fit_em`'s rule on the line (the log-likelihood within ``tol`` per
point of the limit its rate of convergence predicts), in every dimension, and is accelerated
as the fit on the line is, by SQUAREM (``gmm.estimation.driver.squarem_loop``, driven
pass by pass from Python). It returns the most likely parameters whose log-likelihood a pass
computed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from gmm._util.numerics import bucket
from gmm._util.validation import check_n_components, check_positive_int
from gmm.estimation.distributed import agree, chunk_statistics, local_mesh, process_gather, process_sum
from gmm.estimation.driver import MAX_RATE, EMResult, squarem_machine
from gmm.estimation.em_multivariate import column_scales, in_data_units, regularisation
from gmm.estimation.sources import open_source

SAMPLE_SIZE = 16_384  # distinct rows in the sample the starts run on
MAX_CHUNK = 1 << 22  # rows per chunk at most
_FIRST_PASS_CHUNK = 1 << 16  # rows per block of the sampling pass when no chunk_size is given
_CHUNK_FLOATS = 1 << 22  # default chunk: about this many floats in its (rows, K, D) temporary
# beyond this the E step's temporaries leave the cache (measured: 2**20 rows made a pass 2x slower)
_CHUNK_MAX_DEFAULT = 1 << 18
_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def default_chunk_size(n_components: int, dim: int) -> int:
    """Rows per chunk: a power of two in [4,096, 2**18] keeping the (rows, K, D) temporary of
    the E step below 2**22 floats (32 MiB)."""
    return int(np.clip(1 << max((_CHUNK_FLOATS // max(n_components * dim, 1)).bit_length() - 1, 0), 4096,
                       _CHUNK_MAX_DEFAULT))


def row_hashes(rows: np.ndarray, seed: np.uint64) -> np.ndarray:
    """A 64-bit hash of each row's float64 bits (splitmix64, seeded): equal rows hash alike,
    and -0.0 as 0.0. rows (n, D) float64 -> (n,) uint64."""
    return _hash_words(np.ascontiguousarray(rows + 0.0).view(np.uint64), seed)


def key_seed(key: jax.Array) -> np.uint64:
    """The hash seed of a key, read from its bits (no JAX computation: nothing compiles
    before the data are checked)."""
    return _hash_words(np.asarray(jax.random.key_data(key)).astype(np.uint64).reshape(1, -1), np.uint64(0))[0]


def _hash_words(words: np.ndarray, seed: np.uint64) -> np.ndarray:
    """splitmix64 folded over the columns of words (n, W) uint64 -> (n,) uint64."""
    h = np.full(words.shape[0], seed, np.uint64)
    with np.errstate(over="ignore"):
        for d in range(words.shape[1]):
            z = h ^ (words[:, d] + _GOLDEN)
            z = (z ^ (z >> np.uint64(30))) * _M1
            z = (z ^ (z >> np.uint64(27))) * _M2
            h = z ^ (z >> np.uint64(31))
    return h


def smallest(h: np.ndarray, rows: np.ndarray, counts: np.ndarray, m: int) -> tuple[np.ndarray, ...]:
    """Equal rows merged (their counts added), then the m distinct rows with the smallest
    (hash, row values): a choice that does not depend on the rows' order or split.
    h (n,) uint64, rows (n, D), counts (n,) -> the same, at most m long."""
    if h.size == 0:
        return h, rows, counts
    order = np.lexsort((*rows.T[::-1], h))
    h, rows, counts = h[order], rows[order], counts[order]
    starts = np.flatnonzero(np.r_[True, (h[1:] != h[:-1]) | np.any(rows[1:] != rows[:-1], axis=1)])
    keep = starts[:m]
    return h[keep], rows[keep], np.add.reduceat(counts, starts)[:m]


def sample_points(rows: np.ndarray, counts: np.ndarray, size: int = 1 << 20) -> np.ndarray:
    """The sample as points for the in-memory fit of the starts: each distinct row repeated
    its count times, the counts scaled down (at least 1 each) when they add to more than
    ``size``."""
    total = counts.sum()
    reps = counts if total <= size else np.maximum(1, np.rint(counts * (size / total)))
    return np.repeat(rows, reps.astype(np.int64), axis=0)


def fit_stream(key: jax.Array, x: Any, n_components: int, fit_sample: Callable[[jax.Array, np.ndarray, int], EMResult],
               *, covariance_type: str, max_iter: int, tol: float, reg_covar: float | None, chunk_size: int | None,
               progress: bool | None) -> EMResult:
    """:func:`gmm.fit_em` on data read in chunks (arguments checked there, except x and
    ``chunk_size``); x is this process's part of the data when there are several.
    ``fit_sample(key, sample (m, D), K)`` is the in-memory fit whose mixture starts EM."""
    if chunk_size is not None:
        chunk_size = check_positive_int(chunk_size, "chunk_size", maximum=MAX_CHUNK)
    source = guarded(lambda: open_source(x, chunk_size or _FIRST_PASS_CHUNK))
    distinct, counts, n, dim, local_n = _sample(source, key_seed(key))
    k = check_n_components(n_components, n)
    key_fit = jax.random.fold_in(key, 1)
    if chunk_size is None:
        source = open_source(x, default_chunk_size(k, dim))
    sample = sample_points(distinct, counts)
    loc, scale = column_scales(sample, covariance_type)
    start = fit_sample(key_fit, sample, k).mixture
    reg = regularisation((sample - loc) / scale, scale, covariance_type, reg_covar)
    cov = start.covariances.reshape(k, dim, dim) / np.outer(scale, scale)
    params = (np.log(start.weights), (start.means.reshape(k, dim) - loc) / scale, cov)
    mesh = local_mesh()
    passes = iter(range(max_iter + 2))

    def step(p):
        p = tuple(np.asarray(a) for a in p)
        ll, nk, s1, s2 = _data_pass(source, mesh, loc, scale, p, progress, next(passes), local_n, dim)
        return tuple(jnp.asarray(a) for a in m_step(nk, s1, s2, p, reg, covariance_type, n)), jnp.asarray(ll)

    # SQUAREM, as on the line in memory: every few passes a jump along EM's path, kept only
    # where it raises the likelihood; where EM crawls (overlapping clusters) it saves passes.
    with jax.enable_x64(True):
        body, state = squarem_machine(step, tuple(jnp.asarray(a) for a in params), max_iter,
                                      jnp.float64(tol), jnp.float64(n), MAX_RATE, (_to_free, _from_free))
        while int(state["it"]) <= max_iter and not bool(state["stop"]):
            state = body(state)
        logw, mu, cov = (np.asarray(a) for a in state["scored"])
        n_iter, done = int(state["it"]) - 1, bool(state["converged"])
        hist = np.asarray(state["history"])[: n_iter + 1] - n * float(np.sum(np.log(scale)))
    on_line = dim == 1 and covariance_type != "tied"
    mixture = in_data_units(logw, mu, cov, loc, scale, covariance_type, on_line=on_line)
    return EMResult(mixture=mixture, log_likelihood=float(hist[-1]), history=hist, n_iter=n_iter,
                    converged=done)


def _to_free(p):
    """(log pi, mu, Sigma) -> (log pi, mu, Cholesky factor with its diagonal's log): SQUAREM
    extrapolates there, so that any point maps back to covariances that are positive definite
    (and keep a diagonal, spherical or tied structure, whose zeros and ties stay as they are)."""
    chol = jnp.linalg.cholesky(p[2])
    diag = jnp.diagonal(chol, axis1=1, axis2=2)
    return p[0], p[1], chol + jnp.eye(chol.shape[-1]) * (jnp.log(diag) - diag)[:, None, :]


def _from_free(q):
    diag = jnp.exp(jnp.diagonal(q[2], axis1=1, axis2=2))
    chol = jnp.tril(q[2], -1) + jnp.eye(q[2].shape[-1]) * diag[:, None, :]
    return q[0] - logsumexp(q[0]), q[1], chol @ jnp.swapaxes(chol, 1, 2)


def m_step(nk: np.ndarray, s1: np.ndarray, s2: np.ndarray, prev: tuple, reg: np.ndarray, covariance_type: str,
           n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New (log pi, mu, Sigma) from a pass's sums about the previous means m (``prev[1]``):
    mu_k = m_k + s_k / N_k and the scatter about mu_k, S_k - N_k d_k d_k^T with d_k = s_k / N_k,
    shaped by ``covariance_type`` as :func:`gmm.estimation.em_multivariate.m_step` does; a
    component with no points keeps its mean and covariance. float64, numpy."""
    alive = nk > 1e-12
    safe = np.where(alive, nk, 1.0)
    d = s1 / safe[:, None]
    mu = np.where(alive[:, None], prev[1] + d, prev[1])
    scatter = s2 - nk[:, None, None] * d[:, :, None] * d[:, None, :]
    if covariance_type == "full":
        cov = scatter / safe[:, None, None] + np.diag(reg)
    elif covariance_type == "tied":
        cov = np.broadcast_to(scatter.sum(axis=0) / n + np.diag(reg), scatter.shape)
    else:
        var = np.diagonal(scatter, axis1=1, axis2=2) / safe[:, None] + reg
        if covariance_type == "spherical":
            var = np.broadcast_to(var.mean(axis=1, keepdims=True), var.shape)
        cov = var[:, :, None] * np.eye(var.shape[1])
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    if covariance_type != "tied":
        cov = np.where(alive[:, None, None], cov, prev[2])
    with np.errstate(divide="ignore"):
        return np.log(nk / n), mu, cov


def guarded(fn: Callable):
    """``fn()``, with every process told when any one failed (:func:`agree`), so that no
    process waits in a collective for one that stopped; the error itself is re-raised."""
    try:
        out = fn()
    except Exception:
        agree(True)
        raise
    agree(False)
    return out


def _sample(source, seed: np.uint64) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """The first pass: every chunk checked; the bottom-k sample of distinct rows (at most
    SAMPLE_SIZE, each with how often it occurs), the number of points and D, merged over
    the processes; and this process's number of points."""

    def read():
        h, rows, counts, n, dim = np.empty(0, np.uint64), None, np.empty(0), 0, 0
        for chunk in source.chunks():
            n += chunk.shape[0]
            ch = row_hashes(chunk, seed)
            if rows is None:
                rows, dim = np.empty((0, chunk.shape[1])), chunk.shape[1]
            if h.size == SAMPLE_SIZE:  # only rows that can enter the sample
                keep = ch <= h[-1]
                ch, chunk = ch[keep], chunk[keep]
            h, rows, counts = smallest(np.concatenate([h, ch]), np.concatenate([rows, chunk]),
                                       np.concatenate([counts, np.ones(ch.size)]), SAMPLE_SIZE)
        return h, rows, counts, n, dim

    h, rows, counts, n, dim = guarded(read)
    return (*_merge(h, rows, counts, n, dim), n)


def _merge(h, rows, counts, n, dim):
    """The processes' samples merged (the same on each), the total count and D."""
    if jax.process_count() == 1:
        return rows, counts, n, dim
    dims = process_gather(np.array([dim]))
    if np.any(dims != dims[0]):
        raise ValueError(f"the processes' data have different dimensions {dims.ravel().tolist()}: each process "
                         "must hold points of the same D.")
    pad = SAMPLE_SIZE - h.size
    hs, rs, cs, sizes = process_gather((np.r_[h, np.full(pad, np.iinfo(np.uint64).max, np.uint64)],
                                        np.concatenate([rows, np.zeros((pad, dim))]), np.r_[counts, np.zeros(pad)],
                                        np.array([n, h.size])))
    valid = np.arange(SAMPLE_SIZE) < sizes[:, 1, None]
    _, merged, merged_counts = smallest(hs[valid], rs[valid], cs[valid], SAMPLE_SIZE)
    return merged, merged_counts, int(sizes[:, 0].sum()), dim


def _data_pass(source, mesh, loc, scale, params, progress, t, local_n, dim):
    """One pass (EM's E step): the sums (ll, N_k, s_k, S_k) over every chunk, device and
    process. Each chunk is standardised into a buffer padded with zero-weight rows to a
    power of two (at least 256, a multiple of the mesh's size), so that a few programs
    serve every chunk. The data were checked by the first pass; a pass that reads another
    number of rows or columns, or whose sums are not finite, means they changed since."""
    from tqdm import tqdm  # the console bar: tqdm.auto wants ipywidgets in a notebook

    shown = sys.stderr.isatty() if progress is None else bool(progress)
    n_dev = mesh.devices.size
    changed = f"{source.name}: EM pass {t} read %s; did the data change while being fitted?"

    def run():
        totals, read = None, 0
        with tqdm(desc=f"EM pass {t}", unit="rows", disable=not shown, leave=False) as bar:
            for chunk in source.chunks(check=False):
                rows = chunk.shape[0]
                read += rows
                if chunk.shape[1] != dim:
                    raise ValueError(changed % f"a chunk of {chunk.shape[1]} column(s) where the first pass read {dim}")
                size = -(-bucket(rows, 256) // n_dev) * n_dev
                y = np.zeros((size, chunk.shape[1]))
                np.subtract(chunk, loc, out=y[:rows])
                y[:rows] /= scale
                c = np.zeros(size)
                c[:rows] = 1.0
                stats = chunk_statistics(mesh, y, c, params)
                totals = stats if totals is None else tuple(a + b for a, b in zip(totals, stats))
                bar.update(rows)
        if read != local_n:
            raise ValueError(changed % f"{read:,} rows where the first pass read {local_n:,}")
        if not all(np.all(np.isfinite(a)) for a in totals):
            raise ValueError(changed % "values that are not finite, which the first pass did not see")
        return totals

    return process_sum(guarded(run))


__all__ = ["SAMPLE_SIZE", "default_chunk_size", "fit_stream", "guarded", "key_seed", "m_step", "row_hashes",
           "sample_points", "smallest"]
