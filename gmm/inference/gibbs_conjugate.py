"""The conjugate Gibbs sampler of :func:`gmm.gibbs` for data in D dimensions, with parallel tempering.

The model is ``gmm.bayesian_gmm_full`` (Normal-Inverse-Wishart prior on each
(mu_k, Sigma_k), :class:`gmm.models.niw.NIWPrior`). Rung r of the ladder 1 = beta_0 > beta_1 > ...
targets the complete-data tempered law

    pi_beta(z, theta) ∝ p(theta) p(z | pi) p(x | z, theta)^beta,

which stays conjugate: z_i | theta ∝ pi_k N(x_i | mu_k, Sigma_k)^beta; pi | z ~ Dirichlet(alpha + n_k)
(p(z | pi) is not tempered); (mu_k, Sigma_k) | z is Normal-Inverse-Wishart with the
beta-weighted statistics (beta n_k, beta sum x_i, beta sum x_i x_i^T), since
prod_i N(x_i | mu, Sigma)^beta has the Gaussian form of beta n_k points with those sums. Every
rung's sweep is therefore an exact Gibbs sweep of its own target, and swapping the states of
rungs i, j is accepted with probability min(1, exp((beta_i - beta_j)(l_j - l_i))),
l = log p(x | z, theta) (:func:`gmm.inference.tempering.exchange`, which also adapts the ladder during
warmup). At beta = 1 the sweep is the plain conjugate sampler.

Tempering the complete-data likelihood flattens the assignments as well as the parameters, so
hot rungs move whole clusters between components, which the cold chain, moving one point at a
time against sharp components, cannot. (The 1-D sampler tempers p(x | theta) instead, with
Metropolis-Hastings corrections, :mod:`gmm.inference.tempering`.)

Everything runs on the data standardised per column (robust location and scale, float64; the
NIW prior maps exactly) in float32. All densities are GenJAX scores of
:func:`gmm.models.full_covariance.assigned_point_full`. Psi_n is factored from each component's
scatter about its mean plus a rank-one term (:func:`posterior_tril`) and Sigma's factor comes
straight from Bartlett's construction (:func:`inverse_wishart_factor`), never by factoring a
matrix formed from huge raw moments: a far outlier in a component of its own (Psi_n nearly rank
one) gives finite draws. Runs are bounded by ``MAX_WORK`` (:func:`check_run_size`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from gmm.inference import tempering
from gmm.models import niw
from gmm._util.numerics import robust_scale_columns
from gmm.estimation.kmeans import kmeans_pp_points
from gmm.models.full_covariance import assigned_point_full
from gmm.models.niw import NIWPrior

# Most elementary updates a run may take (the samplers' units: point x component x D^2 here,
# point x slot in the DP samplers), a few hours on a CPU core at the 1e7 to 3e7 per second measured.
MAX_WORK = 2e11


def component_columns(y: jax.Array, weights: jax.Array, means: jax.Array, cov_trils: jax.Array) -> jax.Array:
    """log pi_k + log N(y_i | mu_k, L_k L_k^T) for points y (N, D), shape (N, K): the GenJAX
    scores ``assigned_point_full.assess({"z": k, "x": y_i}, pi, mu, L)``."""

    def column(k: int) -> jax.Array:
        zk = jnp.asarray(k, jnp.int32)
        return jax.vmap(lambda yi: assigned_point_full.assess({"z": zk, "x": yi}, weights, means, cov_trils)[0])(y)

    return jnp.stack([column(k) for k in range(weights.shape[0])], axis=1)


def inverse_wishart_tril(chi2: jax.Array, normals: jax.Array, psi: jax.Array) -> jax.Array:
    """The Cholesky factor of Sigma ~ Inverse-Wishart(dof, Psi) by Bartlett's construction of
    its precision: with A lower triangular, A_ii^2 = chi2_i ~ chi2(dof - i) and A_ij = normals_ij
    ~ N(0, 1) below the diagonal, W = A A^T ~ Wishart(dof, I); then Sigma^{-1} = C^{-T} W C^{-1}
    ~ Wishart(dof, Psi^{-1}) (the model's prior, :func:`gmm.models.full_covariance.niw_component`)
    for Psi = C C^T. Takes the variates, shapes (D,) and (D, D), and Psi (D, D)."""
    return inverse_wishart_factor(chi2, normals, jnp.linalg.cholesky(psi))


def inverse_wishart_factor(chi2: jax.Array, normals: jax.Array, psi_tril: jax.Array) -> jax.Array:
    """:func:`inverse_wishart_tril` from C = chol(Psi) (D, D) itself.

    W is written U U^T with U = J A J (J reverses the order; U is upper triangular, and J W J has
    W's law), so Sigma = (C U^{-T})(C U^{-T})^T, whose factor C U^{-T} is already lower triangular
    with a positive diagonal: no Sigma is formed and factored again, which would square the
    condition number and lose the narrow directions of a cluster of one far outlier (a
    nearly rank-one Psi).
    """
    d = psi_tril.shape[-1]
    a = jnp.tril(normals, -1) + jnp.diag(jnp.sqrt(chi2))
    u_t = a[::-1, ::-1].T  # U^T, lower triangular
    return psi_tril @ jax.scipy.linalg.solve_triangular(u_t, jnp.eye(d, dtype=psi_tril.dtype), lower=True)


def cholesky_rank1_update(tril: jax.Array, v: jax.Array) -> jax.Array:
    """chol(L L^T + v v^T) from L (D, D) lower with a positive diagonal and v (D,), by Givens
    rotations of [L | v] (stable: no entry is found by subtracting two large ones, so a huge v
    leaves the small directions of L intact, which forming the sum and factoring it would not)."""
    d = tril.shape[-1]
    idx = jnp.arange(d)

    def body(k, carry):
        tril, v = carry
        col, lkk, vk = tril[:, k], tril[k, k], v[k]
        r = jnp.hypot(lkk, vk)
        c, s = lkk / r, vk / r
        below = idx > k
        tril = tril.at[:, k].set(jnp.where(below, c * col + s * v, jnp.where(idx == k, r, col)))
        return tril, jnp.where(below, c * v - s * col, v)

    return jax.lax.fori_loop(0, d, body, (tril, v))[0]


def pivot_floor(psi0: jax.Array) -> jax.Array:
    """Half of 1 / trace(Psi_0^{-1}), below Psi_0's smallest eigenvalue: the least pivot^2 that a
    factor of Psi_0 + S (S a scatter) can have (:func:`safe_cholesky`)."""
    eye = jnp.eye(psi0.shape[-1], dtype=psi0.dtype)
    return 0.5 / jnp.sum(jax.scipy.linalg.solve_triangular(jnp.linalg.cholesky(psi0), eye, lower=True) ** 2)


def small_cholesky(a: jax.Array) -> jax.Array:
    """chol(a) for symmetric a (..., D, D), NaN where a is not positive definite, as
    ``jnp.linalg.cholesky``; for D <= 8 unrolled over the entries (Cholesky-Banachiewicz), which
    inside the samplers' loops is several times faster than LAPACK's call per matrix."""
    d = a.shape[-1]
    if d > 8:
        return jnp.linalg.cholesky(a)
    low = {}
    for i in range(d):
        for j in range(i + 1):
            acc = a[..., i, j]
            for k in range(j):
                acc = acc - low[i, k] * low[j, k]
            low[i, j] = jnp.sqrt(acc) if i == j else acc / low[j, j]
    zero = jnp.zeros_like(a[..., 0, 0])
    return jnp.stack([jnp.stack([low[i, j] if j <= i else zero for j in range(d)], -1) for i in range(d)], -2)


def safe_cholesky(a: jax.Array, scatter: jax.Array, psi0: jax.Array, noise: jax.Array | float = 0.0,
                  floor: jax.Array | None = None) -> jax.Array:
    """chol(a) for a = Psi_0 + S (..., D, D) with S a scatter (positive semi-definite), Psi_0 (D, D).

    Every pivot L_kk^2 of a is at least its smallest eigenvalue, so at least Psi_0's, which is at
    least 1 / trace(Psi_0^{-1}). A factor with a smaller (or NaN) pivot, or one below ``noise``
    (the rounding error of S, shape (...)), is rounding noise: S dominated by one far point,
    whose narrow directions float arithmetic cannot keep. Such a factor is replaced by the
    diagonal one of Psi_0's diagonal plus twice S's absolute row sums, finite and wide, so the
    state gets a tiny density (not NaN) and is left at once. ``floor``: :func:`pivot_floor` of
    Psi_0, when the caller has it.
    """
    eye = jnp.eye(a.shape[-1], dtype=a.dtype)
    floor = pivot_floor(psi0) if floor is None else floor
    tril = small_cholesky(a)
    pivots = jnp.diagonal(tril, axis1=-2, axis2=-1)
    ok = jnp.all(pivots**2 >= jnp.maximum(floor, noise)[..., None], axis=-1)  # False for NaN
    wide = jnp.diagonal(psi0) + 2.0 * jnp.sum(jnp.abs(scatter), axis=-1)
    return jnp.where(ok[..., None, None], tril, jnp.sqrt(wide)[..., :, None] * eye)


def posterior_parts(prior: NIWPrior, n: jax.Array, s1: jax.Array, scatter: jax.Array, noise: jax.Array | float = 0.0,
                    floor: jax.Array | None = None):
    """The NIW posterior's (kappa_n, m_n, dof_n, C, w) with Psi_n = C C^T + w w^T, from a count n (K,),
    sum s1 (K, D) and scatter about the points' mean S (K, D, D) (counts and sums may be weighted,
    e.g. by beta): C = chol(Psi_0 + S) (:func:`safe_cholesky`; ``noise`` (K,) bounds S's rounding
    error, ``floor`` is :func:`pivot_floor` of Psi_0 or None) and w = sqrt(kappa n / (kappa + n)) (xbar - m_0).

    Kept apart because the raw-moment form Psi_0 + sum x x^T + kappa m_0 m_0^T - kappa_n m_n m_n^T
    cancels two huge numbers when a cluster sits far from m_0 (one far outlier), which leaves
    noise larger than Psi_0 and a NaN factor.
    """
    kappa_n = prior.kappa + n
    m0 = prior.mean_loc
    m_n = (prior.kappa * m0 + s1) / kappa_n[..., None]
    xbar = s1 / jnp.where(n > 0, n, 1.0)[..., None]
    w = jnp.where((n > 0)[..., None], xbar - m0, 0.0) * jnp.sqrt(prior.kappa * n / kappa_n)[..., None]
    scatter = 0.5 * (scatter + jnp.swapaxes(scatter, -1, -2))
    tril = safe_cholesky(prior.scale_matrix + scatter, scatter, prior.scale_matrix, noise, floor)
    return kappa_n, m_n, prior.dof + n, tril, w


def forward_solve(tril: jax.Array, b: jax.Array) -> jax.Array:
    """L^{-1} b for lower-triangular L (..., D, D) and b (..., D), by forward substitution unrolled
    over D: for the small matrices here, inside the samplers' loops, several times faster than
    ``solve_triangular``."""
    xs = []
    for k in range(b.shape[-1]):
        acc = b[..., k]
        for j in range(k):
            acc = acc - tril[..., k, j] * xs[j]
        xs.append(acc / tril[..., k, k])
    return jnp.stack(xs, axis=-1)


def posterior_tril(prior: NIWPrior, n: jax.Array, s1: jax.Array, scatter: jax.Array, noise: jax.Array | float = 0.0):
    """NIW posterior (kappa_n, m_n, dof_n, chol Psi_n), arguments as :func:`posterior_parts`, whose
    factor is updated by the rank-one term (:func:`cholesky_rank1_update`)."""
    kappa_n, m_n, dof_n, tril, w = posterior_parts(prior, n, s1, scatter, noise)
    update = cholesky_rank1_update
    for _ in range(w.ndim - 1):
        update = jax.vmap(update)
    return kappa_n, m_n, dof_n, update(tril, w)


def _log_lik(cols: jax.Array, z: jax.Array, weights: jax.Array) -> jax.Array:
    """log p(x | z, theta) = sum_i (cols_{i z_i} - log pi_{z_i})."""
    return jnp.sum(jnp.take_along_axis(cols, z[:, None], axis=1)[:, 0] - jnp.log(weights)[z])


def tempered_sweep(key, state, y, prior: NIWPrior, beta):
    """One exact Gibbs sweep at inverse temperature ``beta`` (module docstring): z | theta, then
    pi | z and each (mu_k, Sigma_k) | z (Sigma_k ~ IW(dof_n, Psi_n), mu_k ~ N(m_n, Sigma_k / kappa_n)).

    ``state`` = (z (N,), pi (K,), mu (K, D), chol Sigma (K, D, D), columns (N, K) of the
    current theta (:func:`component_columns`), log p(x | z, theta)); returns the new state.
    """
    z, weights, means, cov_trils, cols, _ = state
    k, d = means.shape
    k_z, k_g, k_s, k_m = jax.random.split(key, 4)
    log_w = jnp.log(weights)
    logits = log_w + beta * (cols - log_w)
    z = jax.random.categorical(k_z, jnp.where(jnp.isnan(logits), -jnp.inf, logits), axis=1)
    onehot = jax.nn.one_hot(z, k, dtype=y.dtype)
    n, s1, _ = niw.sufficient_stats(y, onehot)
    # The scatter about each component's mean in a second pass, not sum y y^T - n ybar ybar^T.
    centred = y[:, None, :] - (s1 / jnp.maximum(n, 1.0)[:, None])[None]  # (N, K, D)
    scatter = jnp.einsum("nk,nkd,nke->kde", onehot, centred, centred)
    kappa_n, m_n, dof_n, psi_tril = posterior_tril(prior, beta * n, beta * s1, beta * scatter)
    # One call to the gamma sampler for the Dirichlet (K variates) and the Bartlett chi-squares
    # (K x D): each call of it adds seconds of compilation.
    shapes = jnp.concatenate([prior.alpha + n, ((dof_n[:, None] - jnp.arange(d, dtype=y.dtype)) / 2.0).ravel()])
    g = jax.random.gamma(k_g, shapes)
    # Floor the weights: a component that lost every point can get pi_k = 0 in float32.
    weights = jnp.maximum(g[:k] / g[:k].sum(), jnp.finfo(y.dtype).tiny)
    weights = weights / weights.sum()
    normals = jax.random.normal(k_s, (k, d, d), y.dtype)
    cov_trils = jax.vmap(inverse_wishart_factor)(2.0 * g[k:].reshape(k, d), normals, psi_tril)
    eps = jax.random.normal(k_m, m_n.shape, y.dtype)
    means = m_n + jnp.einsum("kde,ke->kd", cov_trils, eps) / jnp.sqrt(kappa_n)[:, None]
    cols = component_columns(y, weights, means, cov_trils)
    return z, weights, means, cov_trils, cols, _log_lik(cols, z, weights)


def _init_state(key, y, k: int):
    """Means at K points picked with k-means++ (D^2) weighting, equal weights, covariances I / K
    (standardised units); z is drawn in the first sweep."""
    d = y.shape[1]
    weights = jnp.full(k, 1.0 / k, y.dtype)
    means = kmeans_pp_points(key, y, k)
    trils = jnp.broadcast_to(jnp.eye(d, dtype=y.dtype) / jnp.sqrt(k), (k, d, d))
    cols = component_columns(y, weights, means, trils)
    z = jnp.zeros(y.shape[0], jnp.int32)
    return z, weights, means, trils, cols, _log_lik(cols, z, weights)


@partial(jax.jit, static_argnames=("k", "n_samples", "n_warmup", "n_chains"))
def run(key, y, prior, betas, k: int, n_samples: int, n_warmup: int, n_chains: int, relabel, adapt):
    """All chains and sweeps: one ``lax.scan`` over warmup + kept sweeps.

    ``y`` (N, D) standardised; ``betas`` (R,), betas[0] = 1, the starting ladder. A sweep updates
    the C x R rung states one after another (``lax.map``: batching the Cholesky factors,
    triangular solves and gamma sampler under ``vmap`` doubles the compilation time, and the
    data are small), then, with R > 1, proposes swaps (:func:`gmm.inference.tempering.exchange`, which
    adapts the ladder during warmup when ``adapt``). Only rung 0 is recorded, its components
    ordered by the first coordinate of the means when ``relabel`` (traced).

    Returns the kept draws (pi (C, S, K), mu (C, S, K, D), chol Sigma (C, S, K, D, D)), the
    mean over chains and kept draws of the responsibilities (N, K), the swap acceptance rates
    (C, R - 1) and the ladder used after warmup (R,).
    """
    n_rungs = betas.shape[0]
    n_total = n_warmup + n_samples
    flat = lambda a: a.reshape(n_chains * n_rungs, *a.shape[2:])  # noqa: E731
    unflat = lambda a: a.reshape(n_chains, n_rungs, *a.shape[1:])  # noqa: E731

    def relabelled(w, m, l, cols):
        order = jnp.where(relabel, jnp.argsort(m[:, 0]), jnp.arange(k))
        return w[order], m[order], l[order], cols[:, order]

    def step(carry, inp):
        state, betas, stats, resp_sum = carry
        t, key_t = inp  # key_t: (n_chains,) keys
        keys = jax.vmap(lambda kc: jax.random.split(kc, n_rungs + 1))(key_t)
        sweep_in = (flat(keys[:, :n_rungs]), jax.tree_util.tree_map(flat, state), jnp.tile(betas, n_chains))
        swept = jax.lax.map(lambda a: tempered_sweep(a[0], a[1], y, prior, a[2]), sweep_in)
        state = jax.tree_util.tree_map(unflat, swept)
        if n_rungs > 1:
            state, betas, stats = tempering.exchange(keys[:, n_rungs], state, state[5], betas, stats, t, n_warmup,
                                                     adapt)
        w, m, l, cols = jax.vmap(relabelled)(*(a[:, 0] for a in state[1:5]))
        resp_sum = resp_sum + jnp.where(t < n_warmup, 0.0, 1.0) * jax.nn.softmax(cols, axis=-1).sum(axis=0)
        return (state, betas, stats, resp_sum), (w, m, l)

    init_keys = jax.random.split(jax.random.fold_in(key, 1), n_chains * n_rungs)
    state = jax.tree_util.tree_map(unflat, jax.lax.map(lambda kc: _init_state(kc, y, k), init_keys))
    keys = jax.vmap(lambda kc: jax.random.split(kc, n_total), out_axes=1)(jax.random.split(key, n_chains))
    carry = (state, betas, tempering.init_exchange_stats(n_chains, n_rungs, y.dtype),
             jnp.zeros((y.shape[0], k), y.dtype))
    (_, betas, (_, swap_sum, swap_n), resp_sum), (w, m, l) = jax.lax.scan(
        step, carry, (jnp.arange(n_total, dtype=y.dtype), keys)
    )
    w, m, l = (jnp.swapaxes(a[n_warmup:], 0, 1) for a in (w, m, l))
    return w, m, l, resp_sum / (n_chains * n_samples), swap_sum / jnp.maximum(swap_n, 1.0), betas


def check_run_size(n: int, d: int, k: int, n_samples: int, n_warmup: int, n_chains: int, n_rungs: int) -> None:
    """Refuse a run of more than ``MAX_WORK`` updates: each sweep of each rung of each chain scores
    every point under every component, about D^2 operations."""
    work = float(n_chains) * n_rungs * (n_warmup + n_samples) * n * k * d * d
    if work > MAX_WORK:
        most = int(MAX_WORK // (n_chains * n_rungs * n * k * d * d))
        raise ValueError(
            f"n_chains x n_temperatures x (n_warmup + n_samples) x N x K x D^2 = {n_chains} x {n_rungs} x "
            f"({n_warmup} + {n_samples}) x {n} x {k} x {d * d} = {work:.3g} updates would take hours or days; "
            f"allowed: at most {MAX_WORK:.0e}: use fewer sweeps, chains or temperatures (with these, "
            f"n_warmup + n_samples <= {most}).")


def check_spread(data: np.ndarray, loc: np.ndarray, scale: np.ndarray, limit: float = 1e15,
                 arithmetic: str = "float32") -> None:
    """Refuse data (N, D) with a point more than ``limit`` robust scales (IQR / 1.349 of its column)
    from the column's median: the sampler's sums of squares of such standardised values would
    overflow its ``arithmetic`` (1e15 for float32, 1e150 for float64)."""
    far = np.abs(data - loc) / scale
    if not np.all(far <= limit):
        i, j = np.unravel_index(int(np.argmax(np.where(np.isnan(far), np.inf, far))), far.shape)
        where = f"x[{i}]" if data.shape[1] == 1 else f"x[{i}, {j}]"
        raise ValueError(
            f"{where} = {float(data[i, j])!r} lies {far[i, j]:.3g} robust scales (IQR / 1.349 = {scale[j]:.3g}) "
            f"from the median {loc[j]:.6g}; allowed: at most {limit:.0e}, whose squares {arithmetic} arithmetic can "
            "sum. Rescale the data or remove such points.")


def sample(key, data: np.ndarray, k: int, prior: NIWPrior, n_samples: int, n_warmup: int, n_chains: int,
           betas: np.ndarray, relabel: bool, adapt: bool) -> dict[str, np.ndarray]:
    """Run :func:`run` on data (N, D) (checked) with ``prior`` in data units; returns float64 NumPy
    in data units: ``weights`` (C, S, K), ``means`` (C, S, K, D), ``covariances`` (C, S, K, D, D),
    ``assignment_probs`` (N, K) (rows sum to 1), ``swap_acceptance_rate`` (C, R - 1) and
    ``inverse_temperatures`` (R,). Refuses runs beyond ``MAX_WORK`` (:func:`check_run_size`) and data
    too spread out for float32 (:func:`check_spread`)."""
    n, d = data.shape
    check_run_size(n, d, k, n_samples, n_warmup, n_chains, betas.size)
    loc, scale = robust_scale_columns(data)
    check_spread(data, loc, scale)
    prior_std = jax.tree_util.tree_map(lambda v: np.asarray(v, np.float32), prior.standardised(loc, scale))
    if not all(np.all(np.isfinite(v)) for v in jax.tree_util.tree_leaves(prior_std)):
        raise ValueError(f"prior {prior!r} cannot be represented in float32 on the data's scale {scale.tolist()}; "
                         "allowed: hyperparameters within about 1e30 of the data's scale.")
    y = jnp.asarray((data - loc) / scale, jnp.float32)
    w, m, l, resp, swap, ladder = run(
        key, y, jax.tree_util.tree_map(jnp.asarray, prior_std), jnp.asarray(betas, jnp.float32), k, n_samples,
        n_warmup, n_chains, jnp.asarray(relabel), jnp.asarray(adapt),
    )
    l = np.asarray(l, np.float64)
    resp = np.asarray(resp, np.float64)
    return {
        "weights": np.asarray(w, np.float64),
        "means": loc + scale * np.asarray(m, np.float64),
        "covariances": (l @ np.swapaxes(l, -1, -2)) * np.outer(scale, scale),
        "assignment_probs": resp / resp.sum(axis=1, keepdims=True),
        "swap_acceptance_rate": np.asarray(swap, np.float64),
        "inverse_temperatures": np.asarray(ladder, np.float64),
    }


# ---------------------------------------------------------------------------
# Posterior summaries at new points (float32, standardised units)
# ---------------------------------------------------------------------------


@jax.jit
def _draw_log_densities(points, weights, means, cov_trils):
    """log sum_k pi_k N(point | mu_k, Sigma_k) of each draw (leading axis of the parameters), (S, M)."""
    return jax.lax.map(lambda th: logsumexp(component_columns(points, *th), axis=1), (weights, means, cov_trils))


@jax.jit
def _mean_responsibilities(points, weights, means, cov_trils):
    """Average over draws (leading axis) of P(z = k | point, theta), shape (M, K)."""

    def add(total, th):
        return total + jax.nn.softmax(component_columns(points, *th), axis=1), None

    zero = jnp.zeros((points.shape[0], weights.shape[1]), points.dtype)
    total, _ = jax.lax.scan(add, zero, (weights, means, cov_trils))
    return total / weights.shape[0]


def _factor(covs: np.ndarray) -> np.ndarray:
    """Cholesky factors of covariances (..., D, D), float64. A sampled Sigma is positive definite,
    but one of a far outlier's component is so nearly rank one (condition number beyond 1e16)
    that rounding leaves it indefinite: each gets a jitter of 16 D eps times its largest variance,
    far below float32's resolution, where the densities are computed; one still indefinite
    (never seen) gets its eigenvalues floored there instead."""
    d = covs.shape[-1]
    jitter = 16 * d * np.finfo(np.float64).eps * np.max(np.diagonal(covs, axis1=-2, axis2=-1), axis=-1)
    covs = 0.5 * (covs + np.swapaxes(covs, -1, -2)) + jitter[..., None, None] * np.eye(d)
    try:
        return np.linalg.cholesky(covs)
    except np.linalg.LinAlgError:
        lam, vec = np.linalg.eigh(covs)
        lam = np.maximum(lam, jitter[..., None])
        floored = (vec * lam[..., None, :]) @ np.swapaxes(vec, -1, -2)
        return np.linalg.cholesky(floored + jitter[..., None, None] * np.eye(d))


def _standardised_draws(data, points, weights, means, covariances):
    """Points (M, D) and draws (S, K, ...) in the units of the data standardised as in :func:`sample`,
    float32, and the Jacobian prod_d scale_d."""
    loc, scale = robust_scale_columns(data)
    args = ((points - loc) / scale, weights, (means - loc) / scale, _factor(covariances / np.outer(scale, scale)))
    return tuple(jnp.asarray(a, jnp.float32) for a in args), float(np.prod(scale))


def draw_densities(data, points, weights, means, covariances) -> np.ndarray:
    """The mixture density of each draw (weights (S, K), means (S, K, D), covariances (S, K, D, D),
    data units) at points (M, D), per unit of the data, float64, shape (S, M); the data (N, D)
    set the standardisation."""
    args, jac = _standardised_draws(data, points, weights, means, covariances)
    return np.exp(np.asarray(_draw_log_densities(*args), np.float64)) / jac


def mean_responsibilities(data, points, weights, means, covariances) -> np.ndarray:
    """P(z_new = k | point, x) averaged over the draws (as :func:`draw_densities`), shape (M, K)."""
    args, _ = _standardised_draws(data, points, weights, means, covariances)
    return np.asarray(_mean_responsibilities(*args), np.float64)


__all__ = ["MAX_WORK", "check_run_size", "check_spread", "cholesky_rank1_update", "component_columns",
           "draw_densities", "forward_solve", "inverse_wishart_factor", "inverse_wishart_tril", "mean_responsibilities",
           "pivot_floor", "posterior_parts", "posterior_tril", "run", "safe_cholesky", "sample", "small_cholesky",
           "tempered_sweep"]
