"""Metropolis-within-Gibbs posterior sampling for the Bayesian GMM of :mod:`gmm.models`.

:func:`gibbs` runs several chains over (z, pi, mu, sigma), relabels every draw by
increasing mean, and reports ArviZ's R-hat and ESS (:mod:`gmm.diagnostics`),
Rao-Blackwellised assignment probabilities, and a ``RuntimeWarning`` when the chains
disagree. All chains and sweeps are one jitted function (``lax.scan`` over sweeps) on
standardised float32 data; sizes are static and the jitted function is cached, so repeated
calls with the same shapes do not recompile. Without tempering a sweep is one pass over the
data, in chunks on large data (:mod:`gmm._sweep`), so memory is the data, the (N, K)
assignment probabilities and a bounded working set; parallel tempering is in
:mod:`gmm._tempering`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gmm import _sweep, diagnostics
from gmm import _tempering as tempering
from gmm._scoring import PARAMS, quiet_tfp, responsibilities, standardise
from gmm._validation import as_data, check_chain_sizes, check_key, check_n_components, check_positive, check_positive_int
from gmm._numerics import numpy_rng
from gmm.kmeans import kmeans_pp_centres
from gmm.models import Prior, resolve_prior

MAX_STORED = 50_000_000  # most numbers kept in memory: n_chains x n_samples x 3K

_MAX_TEMPERATURES = 64
_ADVICE = (
    "Run longer chains (n_samples, n_warmup). If R-hat stays high however long the chains run, "
    "they sit in different modes of a multimodal posterior, which untempered Gibbs does not "
    "cross: compare the chains (posterior.means[c] for each chain c) before trusting any average "
    "over them, or turn on parallel tempering (e.g. n_temperatures=12, min_inverse_temperature=0.003), "
    "whose hot copies cross between modes."
)
_ADVICE_TEMPERED = (
    "Run longer chains (n_samples, n_warmup >= 256, so the ladder adapts). If R-hat stays high, "
    "the tempering ladder may not reach hot enough or be too sparse: lower "
    "min_inverse_temperature or raise n_temperatures until every swap_acceptance_rate is about "
    "0.5 or more. Compare the chains (posterior.means[c]) before trusting any average over them."
)


@jax.jit
def _mean_responsibilities(x: jax.Array, weights: jax.Array, means: jax.Array, stds: jax.Array) -> jax.Array:
    """Average over draws (rows of the (S, K) parameters) of P(z = k | x_m, theta_s), shape (M, K).

    A scan over the draws, so memory is (M, K) whatever the number of draws.
    """

    def add(total, theta):
        return total + jnp.stack(responsibilities(x, *theta), axis=1), None

    total, _ = jax.lax.scan(add, jnp.zeros((x.shape[0], weights.shape[1]), x.dtype), (weights, means, stds))
    return total / weights.shape[0]


def mixture_densities(weights: Any, means: Any, stds: Any, grid: Any, max_draws: int = 2000) -> np.ndarray:
    """The mixture density of each draw on ``grid``, float64, shape (S', G).

    ``weights``, ``means``, ``stds`` hold draws with the components on the last axis (any
    leading shape); at most ``max_draws`` evenly spaced draws are used (S' of them).
    """
    w, m, s = (np.asarray(a, np.float64).reshape(-1, np.shape(a)[-1]) for a in (weights, means, stds))
    idx = np.linspace(0, w.shape[0] - 1, min(max_draws, w.shape[0])).astype(int)
    w, m, s = w[idx], m[idx], s[idx]
    g = np.asarray(grid, np.float64)[None, :, None]
    z = (g - m[:, None, :]) / s[:, None, :]
    return (w[:, None, :] * np.exp(-0.5 * z**2) / (s[:, None, :] * math.sqrt(2 * math.pi))).sum(axis=-1)


@dataclass(frozen=True)
class GibbsPosterior:
    """Outcome of :func:`gibbs`: draws relabelled by increasing mean in every sample.

    Attributes:
        weights: mixing proportions, shape (n_chains, n_samples, K).
        means: component means, shape (n_chains, n_samples, K), data units.
        stds: component standard deviations, shape (n_chains, n_samples, K), data units.
        assignment_probs: P(z_i = k | x), shape (N, K), rows sum to 1, Rao-Blackwellised:
            the average over all draws of P(z_i = k | theta_s, x_i), in the sorted labelling.
        rhat: rank-normalised split R-hat of every scalar parameter (ArviZ),
            ``{"weights": (K,), "means": (K,), "stds": (K,)}``; NaN with one chain.
        ess: bulk effective sample size of every scalar parameter (ArviZ), same layout;
            quote it for Monte Carlo standard errors, sd / sqrt(ess).
        acceptance_rate: mean acceptance probability of the log-sigma MH steps after
            warmup, shape (n_chains, K).
        step_size: the adapted random-walk step on log sigma, shape (n_chains, K), in
            log sigma (unitless).
        inverse_temperatures: the tempering ladder beta_0 = 1 > beta_1 > ... used after
            warmup (adapted during warmup unless ``adapt_ladder=False``), shape
            (n_temperatures,); ``[1.0]`` without tempering.
        swap_acceptance_rate: mean acceptance probability of the proposed swaps between
            rungs r and r + 1 after warmup, shape (n_chains, n_temperatures - 1) (empty
            without tempering). Rates near 0 for some pair mean the ladder is too sparse there.
        correction_acceptance_rate: acceptance rate after warmup of the g-corrections of
            each rung (``gmm._tempering``): [:, :, 0] over pi and the K means, [:, :, 1] over
            the K standard deviations, each corrected on its own; shape (n_chains,
            n_temperatures, 2); all 1 at beta = 1 and without tempering.
        x: the data, shape (N,), for :meth:`to_arviz`.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    assignment_probs: np.ndarray
    rhat: dict[str, np.ndarray]
    ess: dict[str, np.ndarray]
    acceptance_rate: np.ndarray
    step_size: np.ndarray
    inverse_temperatures: np.ndarray
    swap_acceptance_rate: np.ndarray
    correction_acceptance_rate: np.ndarray
    x: np.ndarray

    @functools.cached_property
    def ess_tail(self) -> dict[str, np.ndarray]:
        """Tail (5% and 95% quantile) ESS of every scalar parameter (ArviZ), same layout as
        ``ess``; computed on first use, since the sampler's own checks need only the bulk ESS."""
        return {name: diagnostics.ess(getattr(self, name), "tail") for name in PARAMS}

    @property
    def n_chains(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        return int(self.means.shape[2])

    def summary(self) -> list[dict[str, Any]]:
        """One row per scalar parameter: name, mean, sd, 2.5% and 97.5% quantiles,
        mcse = sd / sqrt(ess), rhat, ess, ess_tail (all pooled over chains)."""
        rows = []
        for name in PARAMS:
            draws = getattr(self, name)
            for j in range(self.n_components):
                d = draws[:, :, j].ravel()
                sd = float(d.std(ddof=1)) if d.size > 1 else float("nan")
                ess = float(self.ess[name][j])
                rows.append(
                    {
                        "parameter": f"{name}[{j}]",
                        "mean": float(d.mean()),
                        "sd": sd,
                        "q2.5": float(np.quantile(d, 0.025)),
                        "q97.5": float(np.quantile(d, 0.975)),
                        "mcse": sd / math.sqrt(ess) if ess > 0 else float("nan"),
                        "rhat": float(self.rhat[name][j]),
                        "ess": ess,
                        "ess_tail": float(self.ess_tail[name][j]),
                    }
                )
        return rows

    def predictive_density(
        self, grid: Any, quantiles: tuple[float, float] | None = None, max_draws: int = 2000
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior predictive density p(x_new | x) on ``grid``: the mixture density
        averaged over (at most ``max_draws`` evenly spaced) draws, shape (G,).

        With ``quantiles=(lo, hi)``, also the pointwise lo and hi quantiles of the
        per-draw densities (a credible band): returns (mean, lower, upper).
        """
        g = as_data(grid, "grid")
        max_draws = check_positive_int(max_draws, "max_draws", maximum=100_000)
        dens = mixture_densities(self.weights, self.means, self.stds, g, max_draws)
        if quantiles is None:
            return dens.mean(axis=0)
        lo, hi = (float(q) for q in quantiles)
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"quantiles must be (lo, hi) with 0 <= lo < hi <= 1, got {quantiles!r}.")
        return dens.mean(axis=0), np.quantile(dens, lo, axis=0), np.quantile(dens, hi, axis=0)

    def predictive_assignment_probs(self, x_new: Any) -> np.ndarray:
        """P(z_new = k | x_new, x) for new points, shape (M, K), in the sorted labelling.

        The responsibilities of each posterior draw, averaged over all draws, so
        the uncertainty about the parameters is carried into the classification.
        """
        data = as_data(x_new, "x_new")
        k = self.n_components
        with jax.enable_x64(True):
            w, m, s = (jnp.asarray(a.reshape(-1, k)) for a in (self.weights, self.means, self.stds))
            return np.asarray(_mean_responsibilities(jnp.asarray(data), w, m, s), dtype=np.float64)

    def to_arviz(self):
        """The draws as an ArviZ ``DataTree``: ``posterior`` (weights, means, stds with dims
        chain, draw, component), ``sample_stats`` (none per draw here) and ``observed_data`` (x)."""
        return diagnostics.to_datatree(
            {name: getattr(self, name) for name in PARAMS},
            dims={name: ["component"] for name in PARAMS},
            coords={"component": np.arange(self.n_components)},
            observed_data={"x": self.x},
        )


def gibbs(
    key: jax.Array,
    x: Any,
    n_components: int,
    *,
    prior: Prior | None = None,
    n_samples: int = 2000,
    n_warmup: int = 500,
    n_chains: int = 4,
    n_mh_steps: int = 3,
    init_step_size: float = 0.5,
    n_temperatures: int = 1,
    min_inverse_temperature: float = 0.1,
    adapt_ladder: bool = True,
    relabel: bool = True,
) -> GibbsPosterior:
    """Metropolis-within-Gibbs posterior sampling for the Bayesian GMM, several chains.

    Each sweep: (a) every z_i from P(z_i = k | theta, x_i) ∝ exp of
    ``assigned_point.assess({"z": k, "x": x_i}, pi, mu, sigma)`` (all i, k at once), adding up
    each component's n_k, sum and sum of squares of x_i in the same pass;
    (b) pi ~ Dirichlet(alpha + n_k); (c) mu_k ~ Normal(m_k, 1/sqrt(1/s0^2 + n_k/sigma_k^2)) with
    m_k = (m0/s0^2 + sum_{z_i=k} x_i / sigma_k^2) / (1/s0^2 + n_k/sigma_k^2); (d) ``n_mh_steps``
    random-walk Metropolis steps on every log sigma_k (the prior's density, the points' normal
    densities through those sums, Jacobian included, accepted per component). Large data are
    processed in chunks of the points within each sweep (``gmm._sweep``), so beyond the data
    and ``assignment_probs`` the memory used does not grow with N. The step size is adapted towards
    acceptance 0.44 during warmup only. Each chain starts from K data points picked with
    k-means++ (D^2) weighting (``gmm.kmeans.kmeans_pp_centres``). Draws are relabelled by increasing
    mean unless ``relabel=False``. The sampler runs on
    standardised data (robust location and scale, float64) with the prior mapped to the
    same units; draws come back in data units.

    With ``n_temperatures`` R > 1 each chain runs parallel tempering (replica exchange): R
    copies, rung r targeting a joint law of (z, theta) whose theta-marginal is
    p(theta) p(x | theta)^beta_r, on a ladder from beta_0 = 1 down to
    ``min_inverse_temperature``. It starts geometric, beta_r = ``min_inverse_temperature`` **
    (r / (R - 1)), and unless ``adapt_ladder=False`` is re-placed during warmup (after sweeps
    32, 64, ... up to n_warmup / 2) so that all adjacent pairs have the same estimated swap
    rejection rate (Syed et al. 2021); it is fixed for the kept sweeps, so they come from one
    fixed Markov chain. Each rung's updates are the ones above with beta multiplying every data
    term, pi, each mu_k and each sigma_k followed by its own Metropolis-Hastings correction
    that makes it exact for the tempered marginal (``gmm._tempering``; at beta = 1 the
    correction is 1).
    After every sweep adjacent rungs (r, r + 1), even r on even sweeps and odd r on odd ones,
    swap states with probability min(1, exp((beta_r - beta_{r+1})(l_{r+1} - l_r))),
    l = log p(x | theta) from the same GenJAX scores. Hot rungs cross between separated modes
    and the swaps carry those states down to beta = 1; only rung 0 is kept. On the galaxies,
    12 rungs down to beta = 0.003 give each mode its share of the draws from any key at
    K = 2 .. 5, and once adapted every adjacent pair swaps about 60% of the time. A sweep costs
    up to 2R untempered sweeps (less on small data, where the rungs and chains share
    vectorised work, so many short chains cost less per draw than a few long ones).

    A ``RuntimeWarning`` names every parameter whose R-hat exceeds 1.01 or whose bulk ESS
    is below 100 (:func:`gmm.diagnostics.warn_if_unconverged`).

    Args:
        key: ``jax.random`` key; the same key gives the same draws.
        x: observations, shape (N,), finite numbers.
        n_components: K, an integer in [2, N].
        prior: the model's :class:`~gmm.models.Prior`; None derives one from the data
            (:meth:`~gmm.Prior.from_data`).
        n_samples: kept sweeps per chain (>= 4).
        n_warmup: discarded sweeps per chain (>= 1), during which the MH step adapts.
        n_chains: independent chains (>= 1; R-hat needs >= 2).
        n_mh_steps: MH steps on log sigma per sweep (>= 1).
        init_step_size: initial random-walk step on log sigma (> 0).
        n_temperatures: R, rungs of the tempering ladder per chain, in [1, 64]; 1 is the
            plain sampler (no tempering, exactly its cost).
        min_inverse_temperature: beta of the hottest rung, in (0, 1); ignored when R = 1.
        adapt_ladder: re-place the ladder's inner rungs during warmup to equalise swap
            rates (default); False keeps the geometric ladder. Needs n_warmup >= 64 to act.
        relabel: sort every draw's components by increasing mean (default). False keeps the
            sampler's own labels, which switch whenever the chain moves between the K!
            labellings of a mode; ``assignment_probs`` then averages over those labels too.

    Returns:
        A :class:`GibbsPosterior`.

    Raises:
        ValueError: on bad data, K, prior, or counts, or when the draws would not fit in memory.
    """
    key = check_key(key)
    data = as_data(x)
    k = check_n_components(n_components, data.size, minimum=2)
    prior = resolve_prior(prior, data)
    n_samples, n_warmup, n_chains = check_chain_sizes(n_samples, n_warmup, n_chains, max_warmup=10_000_000,
                                                      max_chains=1024)
    n_mh_steps = check_positive_int(n_mh_steps, "n_mh_steps", maximum=1000)
    init_step_size = check_positive(init_step_size, "init_step_size")
    for name, flag in (("relabel", relabel), ("adapt_ladder", adapt_ladder)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}.")
    relabel, adapt_ladder = bool(relabel), bool(adapt_ladder)
    n_temps = check_positive_int(n_temperatures, "n_temperatures", maximum=_MAX_TEMPERATURES)
    beta_min = check_positive(min_inverse_temperature, "min_inverse_temperature")
    if not beta_min < 1.0:
        raise ValueError(f"min_inverse_temperature must be in (0, 1), got {min_inverse_temperature!r}.")
    betas = np.asarray(tempering.geometric_ladder(n_temps, beta_min), np.float64)
    stored = n_chains * n_samples * 3 * k
    if stored > MAX_STORED:
        raise ValueError(
            f"n_chains x n_samples x 3K = {stored:.3g} numbers would be kept (about {8 * stored / 1e9:.2g} GB); "
            f"allowed: at most {MAX_STORED:.0e}. Use fewer samples or chains."
        )
    y, pj, loc, scale = standardise(data, prior)
    k_init, k_run = jax.random.split(key)
    values, counts = np.unique(np.asarray(y, np.float64), return_counts=True)
    rng = numpy_rng(k_init)
    # Every rung of every chain starts from its own k-means++ draw (chain-major order).
    centres = np.stack(
        [np.sort(kmeans_pp_centres(rng, values, counts.astype(np.float64), k)) for _ in range(n_chains * n_temps)]
    ).reshape(n_chains, n_temps, k)
    n = data.size
    init_step = jnp.asarray(init_step_size, jnp.float32)
    with quiet_tfp():
        if n_temps == 1:
            xs = _sweep.to_chunks(y, *_sweep.chunk_plan(n, n_chains))
            w, m, s, acc, step, resp_sum = _sweep.run(
                k_run, xs, n, pj, init_step, jnp.asarray(centres[:, 0], jnp.float32), n_samples, n_warmup,
                n_mh_steps, jnp.asarray(relabel),
            )
            resp = _sweep.from_chunks(resp_sum, n)  # (N, K), rows normalised
            swap, fix = np.zeros((n_chains, 0)), np.ones((n_chains, 1, 2))
        else:
            w, m, s, acc, step, resp, swap, fix, ladder = tempering.run(
                k_run, y, pj, init_step, jnp.asarray(centres, jnp.float32), jnp.asarray(betas, jnp.float32),
                n_samples, n_warmup, n_mh_steps, jnp.asarray(relabel), jnp.asarray(adapt_ladder),
            )
            betas = np.asarray(ladder, np.float64)
            resp = np.asarray(resp, np.float64).T  # (K, N) -> (N, K)
            resp /= resp.sum(axis=1, keepdims=True)
    draws = {
        "weights": np.asarray(w, np.float64),
        "means": loc + scale * np.asarray(m, np.float64),
        "stds": scale * np.asarray(s, np.float64),
    }
    rhat = {name: diagnostics.rhat(d) for name, d in draws.items()}
    ess = {name: diagnostics.ess(d) for name, d in draws.items()}
    diagnostics.warn_if_unconverged(
        rhat, ess, sampler="gibbs",
        advice=_ADVICE if n_temps == 1 else _ADVICE_TEMPERED,
    )
    return GibbsPosterior(
        **draws,
        assignment_probs=resp,
        rhat=rhat,
        ess=ess,
        acceptance_rate=np.asarray(acc, np.float64),
        step_size=np.asarray(step, np.float64),
        inverse_temperatures=betas,
        swap_acceptance_rate=np.asarray(swap, np.float64),
        correction_acceptance_rate=np.asarray(fix, np.float64),
        x=data,
    )


__all__ = ["GibbsPosterior", "gibbs", "mixture_densities"]
