"""Posterior sampling for the Dirichlet process mixture of Gaussians, data (N,) or (N, D).

:func:`gmm.dp_gibbs` picks the sampler from the base measure: the collapsed Algorithm 3
(``gmm.inference.dp_collapsed``) under the conjugate Normal-Inverse-Wishart (any D), and, under
the 1-D :class:`~gmm.models.generative.Prior`, Neal's (2000) Algorithm 8 on ``gmm.models.crp.dp_mixture``:

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
from genjax import seed

from gmm._util import defaults
from gmm._util.numerics import robust_scale
from gmm.inference.dp_collapsed import INITS, check_algorithm8_size, check_count, check_niw_options, check_run_options
from gmm.inference.dp_collapsed import initial_labels, record, run_collapsed, update_concentration
from gmm._util.validation import as_data, check_key, check_positive_int
from gmm.models.crp import cluster_params, dp_point
from gmm.diagnostics import ess as _ess, rhat as _rhat, to_datatree, warn_if_unconverged
from gmm.inference.gibbs_conjugate import check_spread
from gmm.inference.posterior_draws import MAX_DRAWS, check_quantiles, grid_step, mixture_densities
from gmm.inference.scoring import quiet_tfp as _quiet_tfp, standardised_prior
from gmm.models.generative import Prior, mean_conditional, resolve_prior, std_quantile
from gmm.models.niw import NIWPrior

_N_MH = 3  # random-walk steps on each log sigma per sweep
_SD_FLOOR = 1e-6  # smallest cluster sd, in units of the data's robust scale (IQR / 1.349)


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


def _init_state(key, x, n_valid, alpha, n_aux: int, init):
    """Assignments from ``init`` (0: one cluster, 1: singletons, 2: a CRP draw), a traced code so
    that every start shares one compiled sampler; padding points go to the sink (last slot).
    Occupied clusters start with sd 1 (the data's robust scale); their means are drawn by
    a cluster update before any point moves."""
    n = x.shape[0]
    slots = n + n_aux + 1
    k_crp, k_upd = jax.random.split(key)
    z = jnp.where(jnp.arange(n) < n_valid, initial_labels(k_crp, n, alpha, init), slots - 1)
    counts = jax.ops.segment_sum(jnp.ones(n, jnp.int32), z, num_segments=slots)
    return z, counts, jnp.zeros(slots, x.dtype), jnp.ones(slots, x.dtype), alpha, k_upd


def _bucket(n: int) -> int:
    """Data are padded to at least 96 points, beyond that to a multiple of 32: similar sizes share one
    compiled sampler (compiling takes longer than a run on data this small; padding costs no moves)."""
    return max(96, 32 * -(-n // 32))


@partial(jax.jit, static_argnames=("n_aux", "n_samples", "n_chains"))
def _dp_run(key, x, n_valid, prior, alpha0, alpha_ab, init, n_warmup, learn_alpha, use_lik, *, n_aux: int,
            n_samples: int, n_chains: int):
    """All chains and sweeps. Per kept sweep: the number of clusters, alpha, and the slots
    sorted by size (count, mean, sd, shape (M,)); each chain's co-clustering counts, (n_chains, N, N).

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
        # per kept sweep: k, then the slots' counts, means and sds, then alpha
        buffers = (jnp.zeros(n_samples, jnp.int32), jnp.zeros((n_samples, slots), jnp.int32),
                   jnp.zeros((n_samples, slots), x.dtype), jnp.zeros((n_samples, slots), x.dtype),
                   jnp.zeros(n_samples, x.dtype))

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
            alpha = jnp.where(learn_alpha, update_concentration(k_a, alpha, k.astype(x.dtype), nv, a, b), alpha)
            order = jnp.argsort(-sizes)
            co, bufs = record(t, n_warmup, z, co, bufs, (k.astype(jnp.int32), sizes[order], means[order],
                                                          stds[order], alpha))
            return (z, counts, means, stds, alpha), co, bufs

        co0 = jnp.zeros((n, n), x.dtype)
        _, co, bufs = jax.lax.fori_loop(0, n_warmup + n_samples, sweep, (state, co0, buffers))
        return bufs, co

    (ks, counts, means, stds, alphas), co = jax.vmap(chain)(jax.random.split(key, n_chains))
    return ks, counts, means, stds, alphas, co


def _prior_predictive(grid: np.ndarray, prior: Prior, n_nodes: int = 200) -> np.ndarray:
    """int N(y | mu, sigma) G0(dmu, dsigma) on ``grid`` (data units), shape (G,).

    mu integrates analytically (y ~ Normal(m0, sqrt(s0^2 + sigma^2))); sigma by the midpoint
    rule in the quantiles of sigma's prior.
    """
    q = (np.arange(n_nodes) + 0.5) / n_nodes
    sig = std_quantile(q, prior)
    sd = np.sqrt(prior.mean_scale**2 + sig**2)
    return (np.exp(-0.5 * ((grid[:, None] - prior.mean_loc) / sd) ** 2) / (sd * np.sqrt(2.0 * np.pi))).mean(axis=1)


@dataclass(frozen=True)
class DPPosterior:
    """Outcome of :func:`dp_gibbs`. Clusters in each draw are sorted by size, largest first.
    Algorithm 8 (1-D, a :class:`~gmm.models.generative.Prior`) fills ``means`` and ``stds``; Algorithm 3
    (a :class:`~gmm.models.niw.NIWPrior`) fills ``means`` (..., L, D) and ``covariances``.

    Attributes:
        n_clusters: occupied clusters of each draw, shape (n_chains, n_samples), int.
        concentration: alpha of each draw, shape (n_chains, n_samples) (constant when fixed).
        sizes: points in each cluster, shape (n_chains, n_samples, L), int, 0 for padding;
            L is the most clusters any draw had.
        means: cluster means, shape (n_chains, n_samples, L), or (n_chains, n_samples, L, D)
            under a NIWPrior; data units, NaN for padding.
        stds: cluster standard deviations, shape (n_chains, n_samples, L), data units, NaN for
            padding; None when D >= 2 (see ``covariances``).
        coclustering: P(z_i = z_j | x), shape (N, N), the fraction of draws (all chains) in which i and j
            share a cluster, 1 on the diagonal; per chain, (n_chains, N, N), in ``chain_coclustering`` (Algorithm 8).
        data: the observations, shape (N,), or (N, D) under a NIWPrior, data units.
        prior: the base measure, a :class:`~gmm.models.generative.Prior` or :class:`~gmm.models.niw.NIWPrior`, data units.
        concentration_prior: (a, b) of alpha's Gamma(a, b) prior (shape-rate), or None.
        rhat: R-hat of ``{"n_clusters": (), "concentration": ()}`` (NaN for constant draws).
        ess: bulk ESS, same layout.
        init: how the chains started, ``"one"``, ``"singletons"`` or ``"prior"``.
        covariances: cluster covariance matrices, shape (n_chains, n_samples, L, D, D), squared
            data units, NaN for padding, drawn from the NIW posterior given the draw's
            partition; None for Algorithm 8.
    """

    n_clusters: np.ndarray
    concentration: np.ndarray
    sizes: np.ndarray
    means: np.ndarray
    stds: np.ndarray | None
    coclustering: np.ndarray
    data: np.ndarray
    prior: Prior | NIWPrior
    concentration_prior: tuple[float, float] | None
    rhat: dict[str, float]
    ess: dict[str, float]
    init: str
    covariances: np.ndarray | None = None
    chain_coclustering: np.ndarray | None = None

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
        return self.sizes / (self.data.shape[0] + self.concentration[..., None])

    @property
    def dim(self) -> int:
        """D, the dimension of a point (1 for data of shape (N,))."""
        return 1 if self.data.ndim == 1 else int(self.data.shape[1])

    def components(self, chain: int, draw: int) -> dict[str, np.ndarray]:
        """The occupied clusters of one draw, as keyword arguments of :class:`gmm.Mixture`:
        ``weights`` n_c / N (K,) and ``means`` and ``stds`` (K,) (Algorithm 8) or ``means``
        (K, D) and ``covariances`` (K, D, D) (NIWPrior); data units, largest cluster first.
        (The posterior predictive also gives alpha / (N + alpha) to a new cluster; see ``weights``.)"""
        c, s = check_count(chain, "chain", 0, self.n_chains - 1), check_count(draw, "draw", 0, self.n_samples - 1)
        k = int(self.n_clusters[c, s])
        spread = {"stds": self.stds} if self.covariances is None else {"covariances": self.covariances}
        return {"weights": self.sizes[c, s, :k] / self.data.shape[0], "means": self.means[c, s, :k],
                **{name: v[c, s, :k] for name, v in spread.items()}}

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

    def predictive_density(self, grid: Any, quantiles: tuple[float, float] | None = None, max_draws: int = 4000):
        """Posterior predictive density p(y | x) on ``grid`` (data units), shape (G,).

        Per draw, p(y | state) = sum_c n_c / (N + alpha) N(y | mu_c, sigma_c)
        + alpha / (N + alpha) p0(y), with p0 the base measure's predictive; averaged over
        (at most ``max_draws`` evenly spaced, an integer in [1, 100,000]) draws. With
        ``quantiles=(lo, hi)``, also the pointwise lo and hi quantiles of the per-draw
        densities (a credible band): returns (mean, lower, upper), as
        :meth:`gmm.GibbsPosterior.predictive_density` does.
        The grid is taken in chunks (``gmm.inference.posterior_draws.grid_step``), so the
        temporaries stay near 32 MiB whatever G.
        """
        if self.covariances is not None:
            raise ValueError("predictive_density is for Algorithm 8 (1-D data under a gmm.Prior); under a NIWPrior "
                             "average the mixtures of components(chain, draw) over draws.")
        g = as_data(grid, "grid")
        if quantiles is not None:
            quantiles = check_quantiles(quantiles)
        max_draws = check_positive_int(max_draws, "max_draws", maximum=MAX_DRAWS)
        total = self.n_clusters.size
        pick = np.unique(np.linspace(0, total - 1, min(max_draws, total)).round().astype(int))
        w = self.weights.reshape(total, -1)[pick]
        m = np.nan_to_num(self.means.reshape(total, -1)[pick])
        s = np.nan_to_num(self.stds.reshape(total, -1)[pick], nan=1.0)
        new = self.concentration.reshape(-1)[pick] / (self.data.size + self.concentration.reshape(-1)[pick])
        out = np.empty((1 + len(quantiles or ()), g.size))
        step = grid_step(max(pick.size, 200))  # (draws, points) and p0's (points, 200 nodes) per chunk
        for start in range(0, g.size, step):
            chunk = g[start:start + step]
            dens = mixture_densities(w, m, s, chunk, pick.size) + new[:, None] * _prior_predictive(chunk, self.prior)
            out[0, start:start + chunk.size] = dens.mean(axis=0)
            if quantiles is not None:
                out[1:, start:start + chunk.size] = np.quantile(dens, quantiles, axis=0)
        return out[0] if quantiles is None else tuple(out)

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
        sizes, means and stds (dimension ``cluster``) or, under a NIWPrior, means (``cluster``,
        ``dim``) and covariances (``cluster``, ``dim``, ``dim_b``); observed data ``x``."""
        coords = {"cluster": np.arange(self.sizes.shape[2])}
        if self.covariances is None:
            comp, dims = {"means": self.means, "stds": self.stds}, {"means": ["cluster"], "stds": ["cluster"]}
        else:
            comp = {"means": self.means, "covariances": self.covariances}
            dims = {"means": ["cluster", "dim"], "covariances": ["cluster", "dim", "dim_b"]}
            coords.update(dim=np.arange(self.dim), dim_b=np.arange(self.dim))
        return to_datatree(
            {"n_clusters": self.n_clusters, "concentration": self.concentration, "sizes": self.sizes, **comp},
            dims={"sizes": ["cluster"], **dims}, coords=coords, observed_data={"x": self.data},
        )


def _run_algorithm8(key, data: np.ndarray, prior: Prior, *, alpha: float, concentration_prior, n_samples: int,
                    n_warmup: int, n_chains: int, n_aux: int, init: str, prior_only: bool) -> dict[str, np.ndarray]:
    """Algorithm 8 on checked 1-D data; the fields of :class:`DPPosterior` that it fills (data units)."""
    n, n_pad = data.size, _bucket(data.size)
    check_algorithm8_size(n, n_pad, n_aux, n_samples, n_warmup, n_chains)
    # Median and IQR, not mean and sd: one far outlier would otherwise set the unit and squeeze
    # every other cluster into a sliver that float32 cannot resolve.
    centre, scale = robust_scale(data)
    check_spread(data[:, None], np.array([centre]), np.array([scale]))
    x_pad = np.pad((data - centre) / scale, (0, n_pad - n))
    ab = concentration_prior
    with _quiet_tfp(), warnings.catch_warnings():
        # TFP's samplers pass shape=None to jax.random while tracing (a JAX deprecation note)
        warnings.filterwarnings("ignore", message="shape requires ndarray", category=DeprecationWarning)
        ks, counts, means, stds, alphas, co = _dp_run(
            key, jnp.asarray(x_pad, jnp.float32), jnp.int32(n), standardised_prior(prior, centre, scale),
            jnp.float32(alpha), tuple(jnp.float32(v) for v in (ab or (1.0, 1.0))),
            jnp.int32(INITS.index(init)), jnp.int32(n_warmup), jnp.asarray(ab is not None),
            jnp.asarray(not prior_only), n_aux=n_aux, n_samples=n_samples, n_chains=n_chains,
        )
    ks = np.asarray(ks, np.int64)
    width = max(int(ks.max()), 1)
    sizes = np.asarray(counts[..., :width], np.int64)
    occupied = sizes > 0
    return {
        "n_clusters": ks, "concentration": np.asarray(alphas, np.float64), "sizes": sizes,
        "means": np.where(occupied, np.asarray(means[..., :width], np.float64) * scale + centre, np.nan),
        "stds": np.where(occupied, np.asarray(stds[..., :width], np.float64) * scale, np.nan),
        "coclustering": (co := np.asarray(co[:, :n, :n], np.float64) / n_samples).mean(axis=0), "chain_coclustering": co,
    }


def dp_gibbs(
    key: Any,
    x: Any,
    *,
    prior: Prior | NIWPrior | None = None,
    concentration: float = 1.0,
    concentration_prior: tuple[float, float] | None = None,
    n_samples: int = defaults.N_SAMPLES,
    n_warmup: int = defaults.N_WARMUP,
    n_chains: int = defaults.N_CHAINS,
    n_aux: int | None = None,
    max_clusters: int | None = None,
    init: str = "prior",
    prior_only: bool = False,
) -> DPPosterior:
    """Sample the posterior of a Dirichlet process mixture of Gaussians, for data (N,) or (N, D).

    Model: a partition from the CRP with concentration alpha; each cluster's parameters from
    the base measure G0; x_i ~ Normal(mu_{z_i}, Sigma_{z_i}). ``prior`` picks G0 and the sampler:

    - 1-D data (N,) or (N, 1), ``prior`` a :class:`~gmm.models.generative.Prior` or None (which gives
      ``Prior.from_data(x)``; ``gmm.models.crp.dp_mixture``): mu ~ Normal(mean_loc, mean_scale), sigma ~
      Gamma(std_shape, std_rate) or sigma^2 ~ InverseGamma(var_shape, var_scale); not conjugate, so
      Neal's Algorithm 8 (module docstring), in float32 on data centred and scaled in float64 (median,
      IQR / 1.349).
    - D >= 2, or ``prior`` a :class:`~gmm.models.niw.NIWPrior` (None gives ``NIWPrior.from_data(x)``):
      (mu, Sigma) ~ Normal-Inverse-Wishart, conjugate, so the collapsed Algorithm 3 moves the
      partition alone (``gmm.inference.dp_collapsed``), in float64 on data scaled per column
      (median, IQR / 1.349); each draw's (mu_c, Sigma_c) come from their NIW posterior given
      its partition.

    The prior's own ``alpha`` is not used. Every result is in data units.

    Args:
        key: ``jax.random`` key; the same key gives the same draws.
        x: observations, shape (N,) or (N, D) (N > D), finite numbers.
        prior: base measure, as above.
        concentration: alpha (> 0), fixed, or the starting value when it has a prior.
        concentration_prior: (a, b) for alpha ~ Gamma(a, b) (shape-rate), updated every sweep
            by Escobar and West's auxiliary-variable step; None keeps alpha fixed.
        n_samples: kept sweeps per chain (>= 4). Counts are integers (Python, NumPy or 0-d JAX).
        n_warmup: discarded sweeps per chain, 0 to 10^7.
        n_chains: independent chains, 1 to 1024 (R-hat needs 2).
        n_aux: m, the auxiliary clusters of Algorithm 8 (>= 1; None: 3); not for a NIWPrior.
        max_clusters: cluster slots of Algorithm 3 (>= 1; None: 32). When the other points fill
            them all, no new cluster opens, so the draws follow the posterior restricted to at
            most this many clusters; a ``RuntimeWarning`` says when a draw reached the capacity
            (never when max_clusters >= N). Not for Algorithm 8.
        init: ``"one"`` (all points in one cluster), ``"singletons"`` (each point alone; under
            Algorithm 3 points past ``max_clusters - 1`` share the last slot) or ``"prior"``
            (a CRP draw per chain).
        prior_only: drop the likelihood, so the draws are from the prior (for checks); a bool.

    Returns:
        A :class:`DPPosterior`; a ``RuntimeWarning`` if R-hat > 1.01 or ESS < 100 for the
        number of clusters or alpha.

    Raises:
        ValueError: naming the bad argument, an option of the other sampler, the arguments of a run that
            would need over 10^8 float64 numbers (0.75 GiB) or hours (the limit is in the message), or a
            point more than 1e15 robust scales from the median (1e150 under a NIWPrior).

    Example:
        >>> import jax, gmm
        >>> post = gmm.dp_gibbs(jax.random.key(0), gmm.datasets.bento(), n_samples=500, n_warmup=200)
        >>> probs = post.n_clusters_probs()
        >>> max(probs, key=probs.get)  # the most probable number of occupied clusters
        2
    """
    key = check_key(key)
    data = as_data(x, ndim=None)
    collapsed = isinstance(prior, NIWPrior) or (data.ndim == 2 and data.shape[1] > 1)
    data = (data if data.ndim == 2 else data[:, None]) if collapsed else data.reshape(-1)  # (N, 1) is (N,)
    run = check_run_options(concentration, concentration_prior, n_samples, n_warmup, n_chains, init, prior_only)
    if collapsed:
        prior, cap = check_niw_options(data, prior, n_aux, max_clusters)
        out = run_collapsed(key, data, prior, max_clusters=cap, **run)
        advice = "Run more sweeps (n_samples, n_warmup)."
    else:
        prior = resolve_prior(prior, data)
        if max_clusters is not None:
            raise ValueError(f"max_clusters={max_clusters!r} is for the NIW base measure (Algorithm 3); Algorithm 8 "
                             "(1-D data, a gmm.Prior) has a slot for every point: leave max_clusters out.")
        out = _run_algorithm8(key, data, prior, n_aux=check_count(3 if n_aux is None else n_aux, "n_aux", 1), **run)
        advice = "Run more sweeps (n_samples, n_warmup) or more auxiliary clusters (n_aux)."
    rhats = {name: float(_rhat(out[name][..., None])[0]) for name in ("n_clusters", "concentration")}
    esses = {name: float(_ess(out[name][..., None])[0]) for name in rhats}
    watched = ("n_clusters",) if run["concentration_prior"] is None else tuple(rhats)  # a fixed alpha is constant
    warn_if_unconverged({k: rhats[k] for k in watched}, {k: esses[k] for k in watched}, sampler="dp_gibbs",
                        advice=advice)
    return DPPosterior(data=data, prior=prior, concentration_prior=run["concentration_prior"], rhat=rhats, ess=esses,
                       init=init, **{"stds": None, **out})


__all__ = ["DPPosterior", "dp_gibbs"]
