"""One name and one rule for one thing: the shared defaults of gmm._util.defaults, EM's
convergence warning in every EM routine, K = 1 in the samplers, and summary() / to_arviz()
on every posterior result (ImportanceResult's weighted ones against exact references)."""

from __future__ import annotations

import inspect
import warnings

import jax
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import gamma, norm

import gmm
from gmm import diagnostics
from gmm._util import defaults

COLUMNS = ["parameter", "mean", "sd", "q2.5", "q97.5", "mcse", "rhat", "ess", "ess_tail"]


def _default(fn, name):
    return inspect.signature(fn).parameters[name].default


def test_every_routine_reads_the_shared_defaults():
    for fn in (gmm.fit_em, gmm.select_k, gmm.naive_select_k):
        assert _default(fn, "tol") == defaults.TOL == 1e-7
        assert _default(fn, "max_iter") == defaults.MAX_ITER
    assert _default(gmm.fit_em, "n_init") is None  # defaults.n_init_line on the line, N_INIT_FIT in D dimensions
    assert _default(gmm.select_k, "n_init") == _default(gmm.naive_select_k, "n_init") == defaults.N_INIT_SELECT
    for fn in (gmm.gibbs, gmm.nuts, gmm.dp_gibbs):
        assert (_default(fn, "n_samples"), _default(fn, "n_warmup"), _default(fn, "n_chains")) == (
            defaults.N_SAMPLES, defaults.N_WARMUP, defaults.N_CHAINS)


@pytest.mark.parametrize("bad, match", [({"n_init": 1001}, "n_init must be at most 1000"),
                                        ({"max_iter": 100_001}, "max_iter must be at most 100000"),
                                        ({"tol": 0.0}, "tol must be a finite number > 0")])
def test_em_routines_check_their_settings_alike(bad, match):
    x = gmm.datasets.bento()
    for call in (lambda: gmm.fit_em(jax.random.key(0), x, 2, **bad),
                 lambda: gmm.select_k(jax.random.key(0), x, [1, 2], **bad),
                 lambda: gmm.naive_select_k(jax.random.key(0), x, [1, 2], **bad)):
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize("call", [
    lambda: gmm.select_k(jax.random.key(0), gmm.datasets.galaxies(), [2, 3], max_iter=2),
    lambda: gmm.naive_select_k(jax.random.key(0), gmm.datasets.galaxies(), [2, 3], max_iter=2),
    lambda: gmm.select_k(jax.random.key(0), gmm.datasets.faithful(), [2, 3], max_iter=2),
    lambda: gmm.fit_em(jax.random.key(0), gmm.datasets.galaxies(), 3, max_iter=2, n_init=4),
], ids=["select_k", "naive_select_k", "select_k_2d", "fit_em"])
def test_em_that_stops_at_max_iter_warns(call):
    with pytest.warns(gmm.ConvergenceWarning, match="max_iter=2"):
        call()


def test_select_k_with_the_defaults_converges_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error", gmm.ConvergenceWarning)
        gmm.select_k(jax.random.key(0), gmm.datasets.galaxies(), range(1, 5))


def _one_component_posterior_means(x: np.ndarray, prior: gmm.Prior) -> tuple[float, float]:
    """E[mu | x] and E[sigma | x] for K = 1 (Normal mean, Gamma sd) by quadrature on a fine grid."""
    centre, spread = float(np.mean(x)), float(np.std(x))
    mu = np.linspace(centre - 2 * spread, centre + 2 * spread, 801)
    sigma = np.linspace(0.2 * spread, 3.0 * spread, 801)
    m, s = np.meshgrid(mu, sigma, indexing="ij")
    log_post = (norm.logpdf(m, prior.mean_loc, prior.mean_scale)
                + gamma.logpdf(s, prior.std_shape, scale=1.0 / prior.std_rate)
                + norm.logpdf(x[:, None, None], m[None], s[None]).sum(axis=0))
    p = np.exp(log_post - logsumexp(log_post))
    return float((p * m).sum()), float((p * s).sum())


@pytest.mark.parametrize("sampler", ["gibbs", "nuts"])
def test_samplers_take_one_component(sampler, seed):
    x = np.random.default_rng(seed).normal(3.0, 2.0, 40)
    prior = gmm.Prior.from_data(x)
    mu_ref, sigma_ref = _one_component_posterior_means(x, prior)
    run = getattr(gmm, sampler)
    post = run(jax.random.key(seed), x, 1, prior=prior, n_samples=1000, n_warmup=300)
    assert np.all(post.weights == 1.0)
    for name, ref in (("means", mu_ref), ("stds", sigma_ref)):
        draws = getattr(post, name)[..., 0]
        mcse = draws.std() / np.sqrt(post.ess[name][0])
        assert abs(draws.mean() - ref) < 4 * mcse + 1e-3 * abs(ref), (name, draws.mean(), ref, mcse)


@pytest.fixture(scope="module")
def is_em():
    return gmm.importance_sampling(jax.random.key(0), gmm.datasets.bento(), 2, proposal="em", n_particles=4000)


def test_importance_summary_is_the_weighted_posterior(is_em):
    rows = {r["parameter"]: r for r in is_em.summary()}
    assert list(next(iter(rows.values()))) == COLUMNS
    w = is_em.normalized_weights
    for name, mean in is_em.posterior_mean().items():
        for k in range(2):
            r, d = rows[f"{name}[{k}]"], getattr(is_em, name)[:, k]
            assert r["mean"] == pytest.approx(mean[k], rel=1e-12)
            assert r["sd"] == pytest.approx(np.sqrt(w @ (d - mean[k]) ** 2), rel=1e-12)
            assert np.isnan(r["rhat"]) and r["ess"] == pytest.approx(is_em.ess)
            # the weighted quantiles: the cdf of the weights crosses 2.5% and 97.5% there
            cdf = lambda v: w[d <= v].sum()  # noqa: E731
            assert cdf(r["q2.5"]) == pytest.approx(0.025, abs=2 * w.max() + 1e-3)
            assert cdf(r["q97.5"]) == pytest.approx(0.975, abs=2 * w.max() + 1e-3)


def test_weighted_summary_equals_the_repeated_draws():
    rng = np.random.default_rng(1)
    d, counts = rng.normal(size=200), rng.integers(1, 20, 200)
    rows = diagnostics.summary({"means": d[None, :, None]}, {"means": [np.nan]}, {"means": [50.0]},
                               {"means": [50.0]}, weights=(counts / counts.sum())[None])
    rep = np.repeat(d, counts)
    assert rows[0]["mean"] == pytest.approx(rep.mean(), rel=1e-12)
    assert rows[0]["sd"] == pytest.approx(rep.std(), rel=1e-12)
    spacing = np.diff(np.sort(d)).max()
    assert abs(rows[0]["q2.5"] - np.quantile(rep, 0.025)) < spacing
    assert abs(rows[0]["q97.5"] - np.quantile(rep, 0.975)) < spacing


def test_importance_to_arviz_resamples_by_the_weights(is_em):
    tree = is_em.to_arviz(jax.random.key(5))
    post = tree["posterior"]
    assert post["means"].shape == (1, is_em.n_particles, 2)
    idx = np.asarray(tree["sample_stats"]["particle"])[0]
    np.testing.assert_array_equal(np.asarray(post["means"])[0], is_em.means[idx])
    np.testing.assert_array_equal(np.asarray(tree["observed_data"]["x"]), np.asarray(gmm.datasets.bento()))
    assert tree.attrs["resampling_key"] == np.asarray(jax.random.key_data(jax.random.key(5))).tolist()
    # systematic resampling: particle s appears floor or ceil of S w_s times
    copies = np.bincount(idx, minlength=is_em.n_particles)
    expected = is_em.n_particles * is_em.normalized_weights
    assert np.all(np.abs(copies - expected) < 1.0 + 1e-6)
    for name, mean in is_em.posterior_mean().items():
        mcse = np.array([r["mcse"] for r in is_em.summary() if r["parameter"].startswith(name)])
        assert np.all(np.abs(np.asarray(post[name]).mean(axis=(0, 1)) - mean) < 4 * mcse)
    again = is_em.to_arviz(jax.random.key(5))
    np.testing.assert_array_equal(np.asarray(again["posterior"]["means"]), np.asarray(post["means"]))
    other = np.asarray(is_em.to_arviz(jax.random.key(6))["sample_stats"]["particle"])
    assert not np.array_equal(other[0], idx)


def test_every_posterior_result_has_summary_and_to_arviz(is_em):
    x = gmm.datasets.bento()
    posts = {
        "gibbs": gmm.gibbs(jax.random.key(0), x, 2, n_samples=200, n_warmup=100),
        "nuts": gmm.nuts(jax.random.key(0), x, 2, n_samples=100, n_warmup=100),
        "importance": is_em,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains
        posts["dp"] = gmm.dp_gibbs(jax.random.key(0), x, n_samples=100, n_warmup=50)
    for name, post in posts.items():
        rows = post.summary()
        assert rows and all(np.isfinite(r["mean"]) for r in rows), name
        assert post.to_arviz()["posterior"] is not None
        np.testing.assert_array_equal(np.asarray(post.to_arviz()["observed_data"]["x"]), np.asarray(x))
        if name != "dp":  # the DP reports its cluster count and concentration, with 90% intervals
            assert list(rows[0]) == COLUMNS, name
            assert [r["parameter"] for r in rows] == [f"{p}[{k}]" for p in ("weights", "means", "stds")
                                                      for k in range(2)]
    nuts = posts["nuts"]
    assert nuts.summary()[2]["mean"] == pytest.approx(nuts.means[..., 0].mean(), rel=1e-12)
    assert posts["gibbs"].data.shape == nuts.data.shape == x.shape


def test_nuts_warns_when_its_chains_disagree():
    """NUTS, like every sampler here, names the parameters whose R-hat or ESS fails."""
    x = gmm.datasets.bento()
    with pytest.warns(RuntimeWarning, match="nuts: the chains may not have converged"):
        gmm.nuts(jax.random.key(0), x, 2, n_samples=10, n_warmup=5, n_chains=2)
