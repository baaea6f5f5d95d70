"""Tests of the Dirichlet process mixture: the CRP's exact law, Neal's Algorithm 8 against
exact enumeration of set partitions, the prior alone, Escobar and West's alpha update, and
the sampler's independence from its starting point on the galaxies.

Every reference is computed here independently of gmm.inference.dpmm: brute-force enumeration of
set partitions (Bell numbers), 1-D cluster evidences from gmm.model_choice.evidence (mean integrated
analytically, sd by quadrature), and closed forms.
"""

from __future__ import annotations

import math
import warnings

import jax
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import gammaln

import gmm
from gmm.models.crp import crp_expected_clusters, crp_n_clusters_pmf, crp_sample, stick_weights
from gmm.inference.dpmm import dp_gibbs
from gmm.model_choice.exact import _log_sigma_grid, _subset_log_evidence


def set_partitions(n: int) -> np.ndarray:
    """Every partition of {0..n-1} as a restricted growth string, shape (Bell(n), n)."""
    out = [[0]]
    for _ in range(1, n):
        out = [p + [b] for p in out for b in range(max(p) + 2)]
    return np.array(out)


def crp_log_prior(parts: np.ndarray, alpha: float) -> np.ndarray:
    """log P(partition) = K log alpha + log Gamma(alpha) - log Gamma(alpha + N) + sum log (n_k - 1)!."""
    n = parts.shape[1]
    sizes = np.stack([(parts == k).sum(axis=1) for k in range(n)], axis=1)
    k = (sizes > 0).sum(axis=1)
    return k * math.log(alpha) + gammaln(alpha) - gammaln(alpha + n) + np.where(sizes > 0, gammaln(np.maximum(sizes, 1)), 0).sum(axis=1)


def exact_posterior(x: np.ndarray, prior: gmm.Prior, alpha: float):
    """P(K = k | x), shape (N+1,), and P(z_i = z_j | x), shape (N, N), by enumeration."""
    parts = set_partitions(x.size)
    m0, s0 = prior.mean_loc, prior.mean_scale
    pr = (1.0, m0, s0, *prior.std_params, prior.family)
    u, du = _log_sigma_grid(x, pr)
    log_post = crp_log_prior(parts, alpha)
    for k in range(x.size):
        member = parts == k
        n = member.sum(axis=1)
        nn = np.maximum(n, 1)
        xbar = (member * x).sum(axis=1) / nn
        ss = (member * (x - xbar[:, None]) ** 2).sum(axis=1)
        log_post = log_post + _subset_log_evidence(n, xbar, ss, np.zeros(n.size, bool), x.size,
                                                   pr, u, du)
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    n_k = parts.max(axis=1) + 1
    pk = np.bincount(n_k, weights=w, minlength=x.size + 1)
    same = (parts[:, :, None] == parts[:, None, :]).astype(float)
    return pk, np.einsum("p,pij->ij", w, same)


def test_set_partitions_are_bell_numbers():
    assert [len(set_partitions(n)) for n in range(1, 9)] == [1, 2, 5, 15, 52, 203, 877, 4140]


@pytest.mark.parametrize("alpha", [0.4, 1.0, 3.7])
def test_crp_pmf_matches_enumeration(alpha):
    for n in range(1, 8):
        parts = set_partitions(n)
        prob = np.exp(crp_log_prior(parts, alpha))
        brute = np.bincount(parts.max(axis=1) + 1, weights=prob, minlength=n + 1)
        pmf = crp_n_clusters_pmf(n, alpha)
        np.testing.assert_allclose(pmf, brute, atol=1e-12)
        assert np.isclose((np.arange(n + 1) * pmf).sum(), crp_expected_clusters(n, alpha))


def test_crp_pmf_large_n_is_finite_and_normalised():
    pmf = crp_n_clusters_pmf(500, 2.0)
    assert np.all(np.isfinite(pmf)) and np.isclose(pmf.sum(), 1.0)
    assert np.isclose((np.arange(501) * pmf).sum(), crp_expected_clusters(500, 2.0))
    # E[K] ~ alpha log(1 + n / alpha) for large n
    assert abs(crp_expected_clusters(500, 2.0) - 2.0 * math.log(1 + 500 / 2.0)) < 1.5


def test_crp_sample_matches_pmf():
    n, alpha, draws = 7, 1.6, 20_000
    tables = crp_sample(jax.random.key(3), n, alpha, n_draws=draws)
    assert tables.shape == (draws, n) and tables[:, 0].max() == 0
    # tables open in order: each label is at most one more than the largest before it
    assert np.all(tables[:, 1:] <= np.maximum.accumulate(tables, axis=1)[:, :-1] + 1)
    freq = np.bincount(tables.max(axis=1) + 1, minlength=n + 1) / draws
    pmf = crp_n_clusters_pmf(n, alpha)
    se = np.sqrt(pmf * (1 - pmf) / draws)
    assert np.all(np.abs(freq - pmf) <= 4.5 * se + 1e-9)


def test_stick_weights_first_stick_mean():
    alpha = 2.0
    w = stick_weights(jax.random.key(0), alpha, 30, n_draws=400)
    assert w.shape == (400, 30)
    assert np.all(w >= 0) and np.all(w.sum(axis=1) <= 1 + 1e-6)
    # E[pi_1] = 1 / (1 + alpha), sd sqrt(alpha / ((1 + alpha)^2 (2 + alpha))) / sqrt(400)
    assert abs(w[:, 0].mean() - 1 / 3) < 4 * math.sqrt(2 / (9 * 4)) / 20


TINY = {
    "two_groups": np.array([-1.9, -1.5, -1.2, -0.9, 1.0, 1.3, 1.8, 2.1]),
    "spread": np.array([0.0, 0.4, 1.1, 1.3, 2.6, 3.0, 4.4, 6.0]),
}
PRIORS = {
    "broad": gmm.Prior(mean_loc=0.0, mean_scale=3.0, std_shape=2.0, std_rate=2.0),
    "narrow_sd": gmm.Prior(mean_loc=1.0, mean_scale=2.0, std_shape=4.0, std_rate=8.0),
}


@pytest.mark.parametrize("data_name", list(TINY))
@pytest.mark.parametrize("prior_name", list(PRIORS))
def test_dp_gibbs_matches_exact_enumeration(data_name, prior_name):
    x, prior, alpha = TINY[data_name], PRIORS[prior_name], 0.8
    pk, co = exact_posterior(x, prior, alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        post = dp_gibbs(jax.random.key(1), x, prior=prior, concentration=alpha, **TINY_RUN)
    freq = np.bincount(post.n_clusters.ravel(), minlength=x.size + 1) / post.n_clusters.size
    assert np.max(np.abs(freq - pk)) < 0.03, (freq.round(3), pk.round(3))
    assert np.max(np.abs(post.coclustering - co)) < 0.03


# Runs share one compiled sampler when n_samples, n_chains and the padded size (96 for up to
# 96 points) agree: the small-data runs use TINY_RUN, the galaxies runs GALAXY_RUN.
TINY_RUN = dict(n_samples=5000, n_warmup=200)
GALAXY_RUN = dict(n_samples=600, n_chains=2)


def test_prior_only_matches_crp_law():
    x = np.linspace(0.0, 1.0, 8)
    alpha = 1.7
    post = dp_gibbs(jax.random.key(2), x, concentration=alpha, prior_only=True, **TINY_RUN)
    freq = np.bincount(post.n_clusters.ravel(), minlength=9) / post.n_clusters.size
    assert np.max(np.abs(freq - crp_n_clusters_pmf(8, alpha))) < 0.02
    # under the CRP, P(i and j share a table) = 1 / (1 + alpha) for every pair
    off = post.coclustering[~np.eye(8, dtype=bool)]
    assert np.max(np.abs(off - 1 / (1 + alpha))) < 0.03


def test_concentration_prior_alone_recovers_gamma_prior():
    """Prior only: alpha's draws must follow its Gamma(a, b) prior and K the Gamma-mixed CRP law."""
    x = np.linspace(0.0, 1.0, 8)
    a, b = 2.0, 1.5
    post = dp_gibbs(jax.random.key(4), x, concentration=1.0, concentration_prior=(a, b), prior_only=True,
                    **TINY_RUN)
    alpha = post.concentration.ravel()
    mcse = math.sqrt(a) / b / math.sqrt(post.ess["concentration"])
    assert abs(alpha.mean() - a / b) < 4 * mcse
    assert abs(np.median(alpha) - stats.gamma.median(a, scale=1 / b)) < 0.1
    ref = np.array([integrate.quad(lambda t: crp_n_clusters_pmf(8, t)[k] * stats.gamma.pdf(t, a, scale=1 / b),
                                   0, np.inf)[0] for k in range(9)])
    freq = np.bincount(post.n_clusters.ravel(), minlength=9) / post.n_clusters.size
    assert np.max(np.abs(freq - ref)) < 0.03


def test_concentration_given_k_matches_closed_form():
    """With data: p(alpha | K = k, x) = p(alpha | k) ∝ Gamma(alpha; a, b) alpha^k Gamma(alpha) / Gamma(alpha + N)."""
    x = np.asarray(gmm.datasets.bento(), np.float64)
    n, a, b = x.size, 1.0, 1.0
    post = dp_gibbs(jax.random.key(5), x, concentration=1.0, concentration_prior=(a, b), **TINY_RUN)
    ks, alpha = post.n_clusters.ravel(), post.concentration.ravel()
    k = int(np.bincount(ks).argmax())

    def dens(t):
        return np.exp(stats.gamma.logpdf(t, a, scale=1 / b) + k * np.log(t) + gammaln(t) - gammaln(t + n))

    z = integrate.quad(dens, 0, np.inf)[0]
    mean_ref = integrate.quad(lambda t: t * dens(t), 0, np.inf)[0] / z
    sd_ref = math.sqrt(integrate.quad(lambda t: t * t * dens(t), 0, np.inf)[0] / z - mean_ref**2)
    sel = alpha[ks == k]
    assert sel.size > 10_000
    assert abs(sel.mean() - mean_ref) < 0.05 * mean_ref
    assert abs(sel.std() - sd_ref) < 0.08 * sd_ref


def test_galaxies_posterior_does_not_depend_on_start():
    x = gmm.datasets.galaxies()
    runs = {}
    for init in ("one", "singletons"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            runs[init] = dp_gibbs(jax.random.key(6), x, init=init, n_warmup=200, **GALAXY_RUN)
    one, single = runs["one"], runs["singletons"]
    se = [np.std(r.n_clusters) / math.sqrt(r.ess["n_clusters"]) for r in (one, single)]
    diff = abs(one.n_clusters.mean() - single.n_clusters.mean())
    assert diff < 4 * math.hypot(*se), (one.n_clusters.mean(), single.n_clusters.mean(), se)
    # the whole law of K: each probability within 4 Monte Carlo standard errors (ESS-based)
    top = max(one.n_clusters.max(), single.n_clusters.max()) + 1
    p1, p2 = (np.bincount(r.n_clusters.ravel(), minlength=top) / r.n_clusters.size for r in (one, single))
    ess = min(one.ess["n_clusters"], single.ess["n_clusters"])
    se_p = np.sqrt(np.maximum(p1 * (1 - p1), 0.01) * 2 / ess)
    assert np.all(np.abs(p1 - p2) < 4 * se_p)


def test_same_key_same_draws_and_units():
    x = TINY["spread"] * 10 + 300
    kw = TINY_RUN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p1 = dp_gibbs(jax.random.key(7), x, **kw)
        p2 = dp_gibbs(jax.random.key(7), x, **kw)
        # the same data in kilograms, shifted: the default prior moves with the data
        pk = dp_gibbs(jax.random.key(7), (x - 300) / 1000 + 3, **kw)
    np.testing.assert_array_equal(p1.n_clusters, p2.n_clusters)
    np.testing.assert_array_equal(p1.means, p2.means)
    np.testing.assert_array_equal(p1.coclustering, p2.coclustering)
    assert p1.means.dtype == np.float64 and p1.coclustering.dtype == np.float64
    np.testing.assert_array_equal(p1.n_clusters, pk.n_clusters)
    np.testing.assert_allclose((pk.means - 3) * 1000 + 300, p1.means, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(pk.stds * 1000, p1.stds, rtol=1e-4)


def test_results_are_in_data_units_and_consistent():
    x = np.asarray(gmm.datasets.bento(), np.float64)
    post = dp_gibbs(jax.random.key(9), x, **TINY_RUN)
    assert post.n_clusters.shape == post.concentration.shape == (4, 5000)
    assert np.all(post.sizes.sum(axis=2) == x.size)
    assert np.all((post.sizes > 0).sum(axis=2) == post.n_clusters)
    big = post.means[..., :2]
    assert np.all((big > 300) & (big < 550))
    np.testing.assert_allclose(np.diag(post.coclustering), 1.0)
    np.testing.assert_allclose(post.coclustering, post.coclustering.T)
    # each chain's co-clustering: fractions of that chain's draws, averaging to the pooled one
    assert post.chain_coclustering.shape == (4, x.size, x.size)
    np.testing.assert_allclose(np.diagonal(post.chain_coclustering, axis1=1, axis2=2), 1.0)
    np.testing.assert_allclose(post.chain_coclustering.mean(axis=0), post.coclustering)
    grid = np.linspace(200, 650, 2000)
    dens, *band = post.predictive_density(grid, quantiles=(0.05, 0.95))
    band = np.asarray(band)
    assert dens.shape == (2000,) and band.shape == (2, 2000)
    assert abs(np.trapezoid(dens, grid) - 1) < 0.02
    assert np.all(band[0] <= band[1])
    centre = np.argmin(np.abs(grid - 500))  # where the density is high, its mean lies inside the band
    assert band[0, centre] < dens[centre] < band[1, centre]
    tree = post.to_arviz()
    assert "posterior" in tree.children and tree.posterior["n_clusters"].shape == (4, 5000)
    assert {r["parameter"] for r in post.summary()} == {"n_clusters", "concentration"}


def test_unconverged_run_warns():
    """No warmup, every galaxy alone and alpha started at 10^4: K and alpha drift down for
    hundreds of sweeps, which split R-hat sees as a trend."""
    with pytest.warns(RuntimeWarning, match="dp_gibbs.*n_clusters"):
        dp_gibbs(jax.random.key(6), gmm.datasets.galaxies(), init="singletons", concentration=1e4,
                 concentration_prior=(1.0, 1.0), n_warmup=0, **GALAXY_RUN)


GOOD = dict(n_samples=4, n_warmup=0, n_chains=1)
BAD = [
    ({"x": [1.0, np.nan, 2.0]}, "x"),
    ({"x": []}, "x"),
    ({"x": [[1.0, 2.0], [3.0, 4.0]]}, "x"),
    ({"x": "abc"}, "x"),
    ({"key": 0}, "key"),
    ({"concentration": -1.0}, "concentration"),
    ({"concentration": 0.0}, "concentration"),
    ({"concentration": float("nan")}, "concentration"),
    ({"concentration_prior": (1.0,)}, "concentration_prior"),
    ({"concentration_prior": (1.0, -2.0)}, "concentration_prior"),
    ({"n_samples": 3}, "n_samples"),
    ({"n_samples": 10.5}, "n_samples"),
    ({"n_warmup": -1}, "n_warmup"),
    ({"n_chains": 0}, "n_chains"),
    ({"n_aux": 0}, "n_aux"),
    ({"n_aux": True}, "n_aux"),
    ({"init": "random"}, "init"),
    ({"prior": (0, 1)}, "prior"),
    ({"prior_only": 1}, "prior_only"),
    ({"x": np.zeros(20_000), "n_chains": 4}, "n_chains"),
]


@pytest.mark.parametrize("change,name", BAD, ids=[f"{n}-{i}" for i, (_, n) in enumerate(BAD)])
def test_bad_input_names_argument(change, name):
    args = {"key": jax.random.key(0), "x": [1.0, 2.0, 3.0], **GOOD, **change}
    key, x = args.pop("key"), args.pop("x")
    with pytest.raises(ValueError, match=name):
        dp_gibbs(key, x, **args)


@pytest.mark.parametrize("call,name", [
    (lambda: crp_n_clusters_pmf(0, 1.0), "n"),
    (lambda: crp_n_clusters_pmf(5, -1.0), "concentration"),
    (lambda: crp_expected_clusters(5, [1.0, -1.0]), "concentration"),
    (lambda: crp_sample(jax.random.key(0), 5, 0.0), "concentration"),
    (lambda: crp_sample("key", 5, 1.0), "key"),
    (lambda: stick_weights(jax.random.key(0), 1.0, 0), "n_sticks"),
])
def test_crp_helpers_reject_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def _posterior_with_counts(n_clusters: np.ndarray):
    """A DPPosterior holding only the given numbers of clusters (the other fields are stubs)."""
    from gmm.inference.dpmm import DPPosterior

    shape = n_clusters.shape
    return DPPosterior(
        n_clusters=n_clusters, concentration=np.ones(shape), sizes=np.ones(shape + (1,), int),
        means=np.zeros(shape + (1,)), stds=np.ones(shape + (1,)), coclustering=np.ones((1, 1)),
        data=np.zeros(1), prior=gmm.Prior(), concentration_prior=None, rhat={}, ess={}, init="prior",
    )


def test_n_clusters_stderr_follows_the_effective_sample_size():
    rng = np.random.default_rng(0)
    iid = rng.choice([2, 3, 4], p=[0.6, 0.3, 0.1], size=(4, 5000))
    post = _posterior_with_counts(iid)
    probs, se = post.n_clusters_probs(), post.n_clusters_stderr()
    assert set(se) == set(probs) == {2, 3, 4}
    for k, p in probs.items():  # independent draws: the binomial standard error
        assert se[k] == pytest.approx(np.sqrt(p * (1 - p) / iid.size), rel=0.1)
    sticky = np.repeat(iid[:, :100], 50, axis=1)  # each value held for 50 sweeps
    se_sticky = _posterior_with_counts(sticky).n_clusters_stderr()
    p2 = np.mean(sticky == 2)
    assert se_sticky[2] > 4 * np.sqrt(p2 * (1 - p2) / sticky.size)


def _posterior_with_clusters(seed: int = 0):
    """A DPPosterior of 3 chains x 40 draws with 1 to 4 clusters each of N = 50 points (NaN padding
    past them)."""
    from gmm.inference.dpmm import DPPosterior

    rng = np.random.default_rng(seed)
    k = rng.integers(1, 5, size=(3, 40))
    sizes = np.zeros((3, 40, 4), int)  # k clusters sharing the N = 50 points, largest first
    for idx in np.ndindex(k.shape):
        sizes[idx][: k[idx]] = np.sort(1 + rng.multinomial(50 - k[idx], np.full(k[idx], 1.0 / k[idx])))[::-1]
    occupied = sizes > 0
    return DPPosterior(
        n_clusters=k, concentration=rng.gamma(2.0, 1.0, size=(3, 40)), sizes=sizes,
        means=np.where(occupied, rng.normal(0.0, 5.0, size=(3, 40, 4)), np.nan),
        stds=np.where(occupied, rng.gamma(3.0, 0.5, size=(3, 40, 4)), np.nan), coclustering=np.ones((50, 50)),
        data=np.zeros(50), prior=gmm.Prior(mean_loc=1.0, mean_scale=4.0), concentration_prior=None, rhat={}, ess={},
        init="prior",
    )


def test_predictive_density_in_chunks_is_the_whole_grid_formula(monkeypatch):
    """The grid is taken in chunks (gmm.inference.posterior_draws.grid_step): with chunks of one or
    two points the mean and band are the per-draw formula evaluated on the whole grid at once."""
    from gmm.inference import dpmm, posterior_draws

    post = _posterior_with_clusters()
    grid = np.linspace(-15.0, 15.0, 37)
    w, m, s = (a.reshape(120, 4) for a in (post.weights, post.means, post.stds))
    alpha = post.concentration.reshape(120)
    comp = np.nansum(w[:, :, None] * stats.norm.pdf(grid[None, None, :], m[:, :, None], s[:, :, None]), axis=1)
    dens = comp + (alpha / (50 + alpha))[:, None] * dpmm._prior_predictive(grid, post.prior)[None, :]
    mean, *band = post.predictive_density(grid, quantiles=(0.1, 0.9))
    np.testing.assert_allclose(mean, dens.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(band, np.quantile(dens, (0.1, 0.9), axis=0), rtol=1e-12)
    for values in (1, 300):  # one grid point per chunk, then two (200 values per point)
        monkeypatch.setattr(posterior_draws, "_CHUNK_VALUES", values)
        chunked, *chunked_band = post.predictive_density(grid, quantiles=(0.1, 0.9))
        np.testing.assert_allclose(chunked, mean, rtol=1e-12)
        np.testing.assert_allclose(chunked_band, band, rtol=1e-12)
    with pytest.raises(ValueError, match="max_draws"):
        post.predictive_density(grid, max_draws=10**6)


def test_predictive_density_on_a_million_points_stays_small():
    """10^6 grid points: formed at once, the per-draw densities and the base measure's predictive
    would take GiB (30 GiB at the default 4000 draws); here they take tens of MiB at a time."""
    import tracemalloc

    post = _posterior_with_clusters()
    grid = np.linspace(-20.0, 20.0, 10**6)
    tracemalloc.start()
    try:
        dens = post.predictive_density(grid, max_draws=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert dens.shape == (10**6,) and np.all(np.isfinite(dens)) and np.all(dens >= 0)
    assert np.sum(dens) * (grid[1] - grid[0]) == pytest.approx(1.0, abs=0.01)  # a density: mass 1 on [-20, 20]
    assert peak < 400 * 2**20, peak / 2**20
