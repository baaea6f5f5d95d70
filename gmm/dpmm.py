"""Posterior sampling for the Dirichlet process mixture of 1-D Gaussians.

:func:`gmm.dp_gibbs` runs Neal's (2000) Algorithm 8 on the model ``gmm.crp.dp_mixture``:

- each point in turn leaves its cluster and picks a new one with probability
  proportional to n_c p(x_i | mu_c, sigma_c) for an occupied cluster c, or
  (alpha / m) p(x_i | phi_j) for each of m auxiliary clusters phi_j drawn fresh from
  the base measure G0 (if the point was alone, its old parameters are one of them);
- each occupied cluster's mean is drawn from its conjugate Normal given sigma, and its
  sd moves by random-walk Metropolis on log sigma;
- with a Gamma prior on alpha, alpha is drawn by Escobar and West's (1995)
  auxiliary-variable step.

Why Algorithm 8: the base measure has a Gamma prior on the sd, which is not conjugate
to the Normal likelihood, so the probability of a new cluster, int p(x_i | phi) G0(dphi),
has no closed form; the collapsed samplers (Neal's Algorithms 2 and 3) need it.
Algorithm 8 replaces that integral by m draws from G0, and remains exact for any m >= 1
(a larger m mixes better at a cost of m likelihood evaluations per point).

The state lives in fixed-size arrays: N + m cluster slots (plus a sink for padding)
with occupancy counts, so that every sweep is one ``fori_loop`` over points, the sweeps a
``fori_loop``, the chains a ``vmap``, and the whole run one ``jit``. The data are padded
to at least 96 points so that small data sets share one compiled program.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from genjax import const, seed
from scipy import stats

from gmm._validation import as_data, check_key, check_positive, check_positive_int
from gmm.crp import cluster_params, crp_process, dp_point
from gmm.diagnostics import ess as _ess
from gmm.diagnostics import rhat as _rhat
from gmm.diagnostics import to_datatree, warn_if_unconverged
from gmm._scoring import quiet_tfp as _quiet_tfp
from gmm._scoring import standardised_prior
from gmm.models import Prior, mean_conditional, resolve_prior, std_quantile

_N_MH = 3  # random-walk steps on each log sigma per sweep
_SD_FLOOR = 1e-6  # smallest cluster sd, in units of the data's sd
_MAX_BYTES = 2**30  # stored draws and co-clustering counts: refuse runs beyond 1 GiB
_INITS = ("one", "singletons", "prior")


def _point_log_liks(x_i, means, stds):
    """log N(x_i | mu_c, sigma_c) for every slot c, from ``dp_point.assess``, shape (M,)."""
    return jax.vmap(lambda m, s: dp_point.assess({"x": x_i}, m, s)[0])(means, stds)


def _move_point(i, state, u, fresh_mu, fresh_sd, x, n_aux: int, use_lik):
    """Algorithm 8 for point i: remove it, refresh m auxiliary slots from G0, reassign it.

    ``u`` (a uniform per point) and the G0 draws ``fresh_mu``, ``fresh_sd`` (m per point)
    are drawn for the whole sweep at once, so the sequential loop has no random-number code.
    The last slot is the sink that holds padding points; it is never chosen.
    """
    z, counts, means, stds, alpha = state
    slots = jnp.arange(counts.shape[0])
    sink = counts.shape[0] - 1
    c = z[i]
    counts = counts.at[c].add(-1)
    alone = counts[c] == 0
    # At most N - 1 other points occupy other slots, so N + m slots leave m free ones besides c.
    aux = jnp.nonzero((counts == 0) & (slots != c) & (slots != sink), size=n_aux, fill_value=0)[0]
    first = jnp.arange(n_aux) == 0
    aux = jnp.where(first & alone, c, aux)  # a point that was alone keeps its parameters as phi_1
    means = means.at[aux].set(jnp.where(first & alone, means[c], fresh_mu[i]))
    stds = stds.at[aux].set(jnp.where(first & alone, stds[c], fresh_sd[i]))
    is_aux = jnp.zeros(counts.shape, bool).at[aux].set(True)
    log_w = jnp.where(
        (counts > 0) & (slots != sink),
        jnp.log(jnp.maximum(counts, 1).astype(x.dtype)),
        jnp.where(is_aux, jnp.log(alpha / n_aux), -jnp.inf),
    )
    log_w = jnp.where(use_lik & (log_w > -jnp.inf), log_w + _point_log_liks(x[i], means, stds), log_w)
    # inverse CDF: the first slot whose cumulative weight exceeds u x total
    cum = jnp.cumsum(jnp.exp(log_w - jnp.max(log_w)))
    new = jnp.minimum(jnp.sum(cum <= u[i] * cum[-1]), sink - 1)
    return z.at[i].set(new), counts.at[new].add(1), means, stds, alpha


def _cluster_targets(x, z, counts, means, stds, prior, use_lik):
    """log p(mu_c, sigma_c) + sum_{z_i = c} log N(x_i | mu_c, sigma_c) + log sigma_c, shape (M,).

    The log sigma_c is the Jacobian of the move on log sigma. Densities from GenJAX:
    ``cluster_params.assess`` (G0) and ``dp_point.assess`` (points).
    """
    g0 = jax.vmap(lambda m, s: cluster_params.assess({"mean": m, "std": s}, prior)[0])(means, stds)
    ll = jax.vmap(lambda xi, m, s: dp_point.assess({"x": xi}, m, s)[0])(x, means[z], stds[z])
    ll = jnp.where(use_lik, ll, 0.0)
    return g0 + jnp.log(stds) + jax.ops.segment_sum(ll, z, num_segments=counts.shape[0])


def _update_clusters(key, state, x, prior, use_lik):
    """mu_c | sigma_c, x (conjugate Normal), then _N_MH random-walk steps on log sigma_c."""
    z, counts, means, stds, alpha = state
    k_mu, k_sd = jax.random.split(key)
    # The sink (last slot, padding points) is left alone: no data, no moves.
    live = (counts > 0) & (jnp.arange(counts.shape[0]) < counts.shape[0] - 1)
    n_eff = jnp.where(use_lik & live, counts.astype(x.dtype), 0.0)
    sums = jnp.where(use_lik & live, jax.ops.segment_sum(x, z, num_segments=counts.shape[0]), 0.0)
    loc, var = mean_conditional(prior, n_eff, sums, stds)
    means = jnp.where(live, loc + jax.random.normal(k_mu, n_eff.shape) * jnp.sqrt(var), means)
    # Log-sigma's posterior sd is about 1 / sqrt(2 n_c + a); 2.4 times it is the classic RW scale.
    # (the inverse-gamma prior on sigma^2 gives log sigma a prior sd of about 1 / sqrt(4a))
    a = prior.std_params[0] * (4.0 if prior.family == "inverse_gamma_var" else 1.0)
    step = 2.4 / jnp.sqrt(2.0 * n_eff + a)

    def mh(carry, key_t):
        stds, cur = carry
        k_prop, k_acc = jax.random.split(key_t)
        prop = stds * jnp.exp(step * jax.random.normal(k_prop, stds.shape))
        new = _cluster_targets(x, z, counts, means, prop, prior, use_lik)
        # sigma >= 1e-6 data sds: a cluster of repeated values (as many as the Gamma's shape + 1)
        # has a posterior for sigma piling up at 0, which float32 cannot follow
        log_ratio = jnp.where(jnp.isnan(new) | (prop < _SD_FLOOR), -jnp.inf, new - cur)
        accept = (jnp.log(jax.random.uniform(k_acc, stds.shape)) < log_ratio) & live
        return (jnp.where(accept, prop, stds), jnp.where(accept, new, cur)), None

    cur = _cluster_targets(x, z, counts, means, stds, prior, use_lik)
    (stds, _), _ = jax.lax.scan(mh, (stds, cur), jax.random.split(k_sd, _N_MH))
    return z, counts, means, stds, alpha


def _gamma_draw(key, shape, n_try: int = 8):
    """Gamma(shape, 1) draws (any array of shapes > 0) with a fixed amount of work.

    Marsaglia and Tsang (2000) for Gamma(shape + 1), whose acceptance rate is at least 0.95,
    with ``n_try`` proposals at once (all rejected with probability < 1e-10, when the last is
    kept), then Gamma(shape) = Gamma(shape + 1) U^(1 / shape). No rejection loop, which keeps
    the compiled sampler small (``jax.random.gamma``/``beta`` triple its compile time).
    """
    k_z, k_u, k_boost = jax.random.split(key, 3)
    size = jnp.shape(shape)
    d = shape + 1.0 - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    z = jax.random.normal(k_z, (n_try,) + size)
    u = jax.random.uniform(k_u, (n_try,) + size)
    v = (1.0 + c * z) ** 3
    ok = (v > 0) & (jnp.log(u) < 0.5 * z**2 + d - d * v + d * jnp.log(jnp.where(v > 0, v, 1.0)))
    first = jnp.where(ok.any(axis=0), jnp.argmax(ok, axis=0), n_try - 1)
    g = d * jnp.maximum(jnp.take_along_axis(v, first[None], axis=0)[0], 0.0)
    return g * jax.random.uniform(k_boost, size) ** (1.0 / shape)


def _update_concentration(key, alpha, k, n, a, b):
    """Escobar and West (1995): eta ~ Beta(alpha + 1, N); alpha | eta, k is the two-part mixture
    pi Gamma(a + k, b - log eta) + (1 - pi) Gamma(a + k - 1, b - log eta),
    pi / (1 - pi) = (a + k - 1) / (N (b - log eta)). Beta from two Gamma draws."""
    k_eta, k_mix, k_g = jax.random.split(key, 3)
    g = _gamma_draw(k_eta, jnp.stack([alpha + 1.0, jnp.asarray(n, alpha.dtype)]))
    log_eta = jnp.log(jnp.maximum(g[0], 1e-30)) - jnp.log(jnp.maximum(g[0] + g[1], 1e-30))
    rate = b - log_eta
    odds = (a + k - 1.0) / (n * rate)
    shape = jnp.where(jax.random.uniform(k_mix) < odds / (1.0 + odds), a + k, a + k - 1.0)
    return jnp.maximum(_gamma_draw(k_g, shape) / rate, 1e-30)


def _init_state(key, x, n_valid, alpha, n_aux: int, init):
    """Assignments from ``init`` (0: one cluster, 1: singletons, 2: a CRP draw), a traced code so
    that every start shares one compiled sampler; padding points go to the sink (last slot).
    Occupied clusters start with sd 1 (the data's, in scaled units); their means are drawn by
    a cluster update before any point moves."""
    n = x.shape[0]
    slots = n + n_aux + 1
    k_crp, k_upd = jax.random.split(key)
    # The CRP's first n_valid customers are a CRP of n_valid customers.
    crp = seed(crp_process.simulate)(k_crp, const(n), alpha).get_retval().astype(jnp.int32)
    z = jnp.select([init == 0, init == 1], [jnp.zeros(n, jnp.int32), jnp.arange(n, dtype=jnp.int32)], crp)
    z = jnp.where(jnp.arange(n) < n_valid, z, slots - 1)
    counts = jax.ops.segment_sum(jnp.ones(n, jnp.int32), z, num_segments=slots)
    return z, counts, jnp.zeros(slots, x.dtype), jnp.ones(slots, x.dtype), alpha, k_upd


def _bucket(n: int) -> int:
    """Data are padded to at least 96 points, beyond that to a multiple of 32, so that data
    sets of similar size share one compiled sampler (compiling takes far longer than a typical
    run on data this small; the padding points cost no moves)."""
    return max(96, 32 * -(-n // 32))


@partial(jax.jit, static_argnames=("n_aux", "n_samples", "n_chains"))
def _dp_run(key, x, n_valid, prior, alpha0, alpha_ab, init, n_warmup, learn_alpha, use_lik, *, n_aux: int,
            n_samples: int, n_chains: int):
    """All chains and sweeps. Per kept sweep: the number of clusters, alpha, and the slots
    sorted by size (count, mean, sd, shape (M,)); co-clustering counts summed in the loop.

    ``x`` is padded: its first ``n_valid`` entries are the data, the rest sit in a sink slot
    and never move. Only shapes are static (padded N, n_samples, n_chains, n_aux): the data
    size, warmup length, starting rule, whether alpha is learnt and whether the likelihood is
    on are traced values, so runs that differ only in those share one compiled program.
    """
    n = x.shape[0]
    a, b = alpha_ab
    nv = n_valid.astype(x.dtype)

    def chain(key_c):
        k_init, k_run = jax.random.split(key_c)
        z, counts, means, stds, alpha, k_upd = _init_state(k_init, x, n_valid, alpha0, n_aux, init)
        state = _update_clusters(k_upd, (z, counts, means, stds, alpha), x, prior, use_lik)
        slots = counts.shape[0]
        real = jnp.arange(slots) < slots - 1
        buffers = (
            jnp.zeros(n_samples, jnp.int32),
            jnp.zeros((n_samples, slots), jnp.int32),
            jnp.zeros((n_samples, slots), x.dtype),
            jnp.zeros((n_samples, slots), x.dtype),
            jnp.zeros(n_samples, x.dtype),
        )

        def sweep(t, carry):
            state, co, bufs = carry
            k_pick, k_aux, k_cl, k_a = jax.random.split(jax.random.fold_in(k_run, t), 4)
            # Every point's m auxiliary draws from G0 at once (a batched draw, not n small ones).
            fresh_mu, fresh_sd = seed(cluster_params.repeat(n=n * n_aux).simulate)(k_aux, prior).get_retval()
            move = partial(_move_point, u=jax.random.uniform(k_pick, (n,), x.dtype), fresh_mu=fresh_mu.reshape(n, n_aux),
                           fresh_sd=fresh_sd.reshape(n, n_aux), x=x, n_aux=n_aux, use_lik=use_lik)
            state = jax.lax.fori_loop(0, n_valid, move, state)
            z, counts, means, stds, alpha = _update_clusters(k_cl, state, x, prior, use_lik)
            sizes = jnp.where(real, counts, 0)
            k = jnp.sum(sizes > 0)
            alpha = jnp.where(learn_alpha, _update_concentration(k_a, alpha, k.astype(x.dtype), nv, a, b), alpha)
            keep = t >= n_warmup
            co = co + jnp.where(keep, (z[:, None] == z[None, :]).astype(co.dtype), 0.0)
            order = jnp.argsort(-sizes)
            row = jnp.maximum(t - n_warmup, 0)  # warmup sweeps write row 0, overwritten by the first kept one
            bufs = tuple(
                jax.lax.dynamic_update_index_in_dim(buf, val, row, 0)
                for buf, val in zip(bufs, (k.astype(jnp.int32), sizes[order], means[order], stds[order], alpha))
            )
            return (z, counts, means, stds, alpha), co, bufs

        co0 = jnp.zeros((n, n), x.dtype)
        _, co, bufs = jax.lax.fori_loop(0, n_warmup + n_samples, sweep, (state, co0, buffers))
        return bufs, co

    (ks, counts, means, stds, alphas), co = jax.vmap(chain)(jax.random.split(key, n_chains))
    return ks, counts, means, stds, alphas, co.sum(axis=0)


def _prior_predictive(grid: np.ndarray, prior: Prior, n_nodes: int = 200) -> np.ndarray:
    """int N(y | mu, sigma) G0(dmu, dsigma) on ``grid`` (data units), shape (G,).

    mu integrates analytically (y ~ Normal(m0, sqrt(s0^2 + sigma^2))); sigma by the midpoint
    rule in the quantiles of sigma's prior.
    """
    q = (np.arange(n_nodes) + 0.5) / n_nodes
    sig = std_quantile(q, prior)
    sd = np.sqrt(prior.mean_scale**2 + sig**2)
    return stats.norm.pdf(grid[:, None], prior.mean_loc, sd[None, :]).mean(axis=1)


@dataclass(frozen=True)
class DPPosterior:
    """Outcome of :func:`dp_gibbs`. Clusters in each draw are sorted by size, largest first.

    Attributes:
        n_clusters: occupied clusters of each draw, shape (n_chains, n_samples), int.
        concentration: alpha of each draw, shape (n_chains, n_samples) (constant when fixed).
        sizes: points in each cluster, shape (n_chains, n_samples, L), int, 0 for padding;
            L is the most clusters any draw had.
        means: cluster means, shape (n_chains, n_samples, L), data units, NaN for padding.
        stds: cluster standard deviations, same shape, data units, NaN for padding.
        coclustering: P(z_i = z_j | x), shape (N, N), the fraction of draws (all chains)
            in which points i and j share a cluster; 1 on the diagonal.
        data: the observations, shape (N,), data units.
        prior: the base measure's :class:`~gmm.models.Prior`, data units.
        concentration_prior: (a, b) of alpha's Gamma(a, b) prior (shape-rate), or None.
        rhat: R-hat of ``{"n_clusters": (), "concentration": ()}`` (NaN for constant draws).
        ess: bulk ESS, same layout.
        init: how the chains started, ``"one"``, ``"singletons"`` or ``"prior"``.
    """

    n_clusters: np.ndarray
    concentration: np.ndarray
    sizes: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    coclustering: np.ndarray
    data: np.ndarray
    prior: Prior
    concentration_prior: tuple[float, float] | None
    rhat: dict[str, float]
    ess: dict[str, float]
    init: str

    @property
    def n_chains(self) -> int:
        return int(self.n_clusters.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.n_clusters.shape[1])

    @property
    def weights(self) -> np.ndarray:
        """Posterior-predictive weight n_c / (N + alpha) of each cluster, shape (n_chains, n_samples, L);
        the rest, alpha / (N + alpha), goes to a new cluster drawn from G0."""
        return self.sizes / (self.data.size + self.concentration[..., None])

    def n_clusters_probs(self) -> dict[int, float]:
        """P(number of occupied clusters = k | x) for every k seen, pooled over chains."""
        ks, counts = np.unique(self.n_clusters, return_counts=True)
        return {int(k): float(c) / self.n_clusters.size for k, c in zip(ks, counts)}

    def n_clusters_stderr(self) -> dict[int, float]:
        """Monte Carlo standard error of each P(number of clusters = k | x), same keys as
        :meth:`n_clusters_probs`: sqrt(p (1 - p) / ESS), with p the pooled frequency of k
        and ESS the bulk effective sample size of the chains' indicators 1[K = k]."""
        out = {}
        for k, p in self.n_clusters_probs().items():
            ind = (self.n_clusters == k).astype(np.float64)[..., None]
            out[k] = float(np.sqrt(p * (1.0 - p) / _ess(ind)[0]))
        return out

    def predictive_density(self, grid: Any, quantiles: tuple[float, ...] | None = None, max_draws: int = 4000):
        """Posterior predictive density p(y | x) on ``grid`` (data units), shape (G,).

        Per draw, p(y | state) = sum_c n_c / (N + alpha) N(y | mu_c, sigma_c)
        + alpha / (N + alpha) p0(y), with p0 the base measure's predictive; averaged over
        (at most ``max_draws`` evenly spaced) draws. With ``quantiles``, also returns those
        pointwise quantiles of the per-draw density, shape (len(quantiles), G).
        """
        g = as_data(grid, "grid")
        if quantiles is not None:
            quantiles = tuple(float(q) for q in quantiles)
            if not all(0.0 <= q <= 1.0 for q in quantiles):
                raise ValueError(f"quantiles must lie in [0, 1], got {quantiles!r}.")
        max_draws = check_positive_int(max_draws, "max_draws")
        total = self.n_clusters.size
        pick = np.unique(np.linspace(0, total - 1, min(max_draws, total)).round().astype(int))
        w = self.weights.reshape(total, -1)[pick]
        m = np.nan_to_num(self.means.reshape(total, -1)[pick])
        s = np.nan_to_num(self.stds.reshape(total, -1)[pick], nan=1.0)
        new = self.concentration.reshape(-1)[pick] / (self.data.size + self.concentration.reshape(-1)[pick])
        p0 = _prior_predictive(g, self.prior)
        dens = np.empty((pick.size, g.size))
        for start in range(0, pick.size, 256):
            sl = slice(start, start + 256)
            comp = stats.norm.pdf(g[None, None, :], m[sl, :, None], s[sl, :, None])
            dens[sl] = np.einsum("sc,scg->sg", w[sl], comp) + new[sl, None] * p0[None, :]
        mean = dens.mean(axis=0)
        if quantiles is None:
            return mean
        return mean, np.quantile(dens, quantiles, axis=0)

    def summary(self) -> list[dict[str, Any]]:
        """One row each for n_clusters and concentration: mean, sd, 5% and 95% quantiles,
        mcse = sd / sqrt(ess), rhat, ess (pooled over chains)."""
        rows = []
        for name in ("n_clusters", "concentration"):
            d = np.asarray(getattr(self, name), np.float64).ravel()
            sd = float(d.std(ddof=1)) if d.size > 1 else float("nan")
            ess = float(self.ess[name])
            rows.append({"parameter": name, "mean": float(d.mean()), "sd": sd,
                         "q5": float(np.quantile(d, 0.05)), "q95": float(np.quantile(d, 0.95)),
                         "mcse": sd / np.sqrt(ess) if ess > 0 else float("nan"),
                         "rhat": float(self.rhat[name]), "ess": ess})
        return rows

    def to_arviz(self):
        """An ArviZ DataTree: posterior n_clusters, concentration and the size-sorted clusters'
        sizes, means, stds (dimension ``cluster``); observed data ``x``."""
        return to_datatree(
            {"n_clusters": self.n_clusters, "concentration": self.concentration, "sizes": self.sizes,
             "means": self.means, "stds": self.stds},
            dims={name: ["cluster"] for name in ("sizes", "means", "stds")},
            coords={"cluster": np.arange(self.sizes.shape[2])},
            observed_data={"x": self.data},
        )


def _check_concentration_prior(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"concentration_prior must be None or a pair (a, b) of numbers > 0, got {value!r}.") from None
    return (check_positive(a, "concentration_prior[0]"), check_positive(b, "concentration_prior[1]"))


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def dp_gibbs(
    key: Any,
    x: Any,
    *,
    prior: Prior | None = None,
    concentration: float = 1.0,
    concentration_prior: tuple[float, float] | None = None,
    n_samples: int = 1000,
    n_warmup: int = 500,
    n_chains: int = 4,
    n_aux: int = 3,
    init: str = "prior",
    prior_only: bool = False,
) -> DPPosterior:
    """Sample the posterior of a Dirichlet process mixture of 1-D Gaussians (Neal's Algorithm 8).

    Model (``gmm.crp.dp_mixture``): a partition from the CRP with concentration alpha;
    for each cluster (mu, sigma) ~ G0, mu ~ Normal(mean_loc, mean_scale), sigma ~
    Gamma(std_shape, std_rate) or sigma^2 ~ InverseGamma(var_shape, var_scale) (``prior``'s
    fields and family; its ``alpha`` is not used); x_i ~
    Normal(mu_{z_i}, sigma_{z_i}). Algorithm 8 because G0 is not conjugate (see the module
    docstring). The data are centred and scaled in float64 and the prior transformed with
    them; every result is in data units.

    Args:
        key: ``jax.random`` key; the same key gives the same draws.
        x: observations, shape (N,), finite numbers.
        prior: base measure; None gives ``Prior.from_data(x)``.
        concentration: alpha (> 0), fixed, or the starting value when it has a prior.
        concentration_prior: (a, b) for alpha ~ Gamma(a, b) (shape-rate), updated every sweep
            by Escobar and West's auxiliary-variable step; None keeps alpha fixed.
        n_samples: kept sweeps per chain (>= 4).
        n_warmup: discarded sweeps per chain (>= 0).
        n_chains: independent chains (>= 1; R-hat needs 2).
        n_aux: m, the auxiliary clusters of Algorithm 8 (>= 1).
        init: ``"one"`` (all points in one cluster), ``"singletons"`` (each point alone) or
            ``"prior"`` (a CRP draw per chain).
        prior_only: drop the likelihood, so the draws are from the prior (for checks).

    Returns:
        A :class:`DPPosterior`; a ``RuntimeWarning`` if R-hat > 1.01 or ESS < 100 for the
        number of clusters or alpha.

    Raises:
        ValueError: naming the bad argument.

    Example:
        >>> import jax, gmm
        >>> post = gmm.dp_gibbs(jax.random.key(0), gmm.datasets.bento(), n_samples=500, n_warmup=200)
        >>> probs = post.n_clusters_probs()
        >>> max(probs, key=probs.get)  # the most probable number of occupied clusters
        2
    """
    key = check_key(key)
    data = as_data(x)
    prior = resolve_prior(prior, data)
    alpha = check_positive(concentration, "concentration")
    ab = _check_concentration_prior(concentration_prior)
    n_samples = _check_count(n_samples, "n_samples", 4)
    n_warmup = _check_count(n_warmup, "n_warmup", 0)
    n_chains = _check_count(n_chains, "n_chains", 1)
    n_aux = _check_count(n_aux, "n_aux", 1)
    if not isinstance(init, str) or init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}, got {init!r}.")
    if not isinstance(prior_only, bool):
        raise ValueError(f"prior_only must be True or False, got {prior_only!r}.")
    n, n_pad = data.size, _bucket(data.size)
    need = n_chains * (n_samples * (n_pad + n_aux + 1) * 12 + n_pad * n_pad * 4)
    if need > _MAX_BYTES:
        raise ValueError(
            f"n_chains={n_chains}, n_samples={n_samples} and N={n} points need about {need / 2**30:.1f} GiB "
            f"of stored draws (n_chains x (n_samples x (N + n_aux) x 12 + N^2 x 4) bytes); at most 1 GiB: "
            "use fewer samples or chains."
        )
    centre = float(np.mean(data))
    scale = float(np.std(data)) or 1.0
    x_pad = np.zeros(n_pad)
    x_pad[:n] = (data - centre) / scale
    with _quiet_tfp(), warnings.catch_warnings():
        # TFP's samplers pass shape=None to jax.random while tracing (a JAX deprecation note)
        warnings.filterwarnings("ignore", message="shape requires ndarray", category=DeprecationWarning)
        ks, counts, means, stds, alphas, co = _dp_run(
            key, jnp.asarray(x_pad, jnp.float32), jnp.int32(n), standardised_prior(prior, centre, scale),
            jnp.float32(alpha), tuple(jnp.float32(v) for v in (ab or (1.0, 1.0))),
            jnp.int32(_INITS.index(init)), jnp.int32(n_warmup), jnp.asarray(ab is not None),
            jnp.asarray(not prior_only), n_aux=n_aux, n_samples=n_samples, n_chains=n_chains,
        )
    ks = np.asarray(ks, np.int64)
    width = max(int(ks.max()), 1)
    sizes = np.asarray(counts[..., :width], np.int64)
    occupied = sizes > 0
    means = np.where(occupied, np.asarray(means[..., :width], np.float64) * scale + centre, np.nan)
    stds = np.where(occupied, np.asarray(stds[..., :width], np.float64) * scale, np.nan)
    conc = np.asarray(alphas, np.float64)
    draws = {"n_clusters": ks, "concentration": conc}
    rhats = {name: float(_rhat(d[..., None])[0]) for name, d in draws.items()}
    esses = {name: float(_ess(d[..., None])[0]) for name, d in draws.items()}
    warn_if_unconverged(
        {k: v for k, v in rhats.items() if not (k == "concentration" and ab is None)},
        {k: v for k, v in esses.items() if not (k == "concentration" and ab is None)},
        sampler="dp_gibbs",
        advice="Run more sweeps (n_samples, n_warmup) or more auxiliary clusters (n_aux).",
    )
    return DPPosterior(
        n_clusters=ks,
        concentration=conc,
        sizes=sizes,
        means=means,
        stds=stds,
        coclustering=np.asarray(co[:n, :n], np.float64) / (n_chains * n_samples),
        data=data,
        prior=prior,
        concentration_prior=ab,
        rhat=rhats,
        ess=esses,
        init=init,
    )


__all__ = ["DPPosterior", "dp_gibbs"]
