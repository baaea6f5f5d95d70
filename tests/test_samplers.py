"""Tests for gmm.gibbs and gmm.inference.importance: Gibbs against NumPyro NUTS, importance sampling
against exact values, diagnostics against ArviZ's and NumPyro's.

Reference values come from engines that share no code with the samplers:
NumPyro's NUTS on the model with the assignments summed out, NumPyro's ESS, and a
brute-force log marginal likelihood (sum over assignments, Gaussian integral over
the means, quadrature over the standard deviations) in float64 NumPy/SciPy.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import gammaln, logsumexp
from scipy.stats import norm

import gmm
from gmm import datasets
from gmm.inference.sweep import run as _gibbs_run
from gmm.inference.gibbs import GibbsPosterior, gibbs
from gmm.inference.importance import ImportanceResult, _is_em, importance_sampling
from gmm.models.generative import Prior

numpyro = pytest.importorskip("numpyro")
import numpyro.distributions as dist  # noqa: E402
from numpyro.diagnostics import effective_sample_size  # noqa: E402
from numpyro.infer import MCMC, NUTS  # noqa: E402

PARAMS = ("weights", "means", "stds")
OVERLAP_PRIOR = Prior(alpha=1.0, mean_loc=1.25, mean_scale=3.0, std_shape=2.0, std_rate=2.0)
N_SIGMA = 4.0  # "a few" combined Monte Carlo standard errors


def overlap_data() -> np.ndarray:
    """40 points from 0.5 N(0, 1) + 0.5 N(2.5, 1): assignments genuinely uncertain."""
    rng = np.random.default_rng(0)
    z = rng.random(40) < 0.5
    return np.where(z, rng.normal(2.5, 1.0, 40), rng.normal(0.0, 1.0, 40))


# ---------------------------------------------------------------------------
# Independent references
# ---------------------------------------------------------------------------


def _nuts_model(x, k, prior):
    pi = numpyro.sample("weights", dist.Dirichlet(jnp.full(k, prior.alpha)))
    mu = numpyro.sample("means", dist.Normal(prior.mean_loc, prior.mean_scale).expand([k]).to_event(1))
    sd = numpyro.sample("stds", dist.Gamma(prior.std_shape, prior.std_rate).expand([k]).to_event(1))
    numpyro.sample("x", dist.MixtureSameFamily(dist.Categorical(probs=pi), dist.Normal(mu, sd)), obs=x)


def draw_probs(x: np.ndarray, weights: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """P(z_i = k | theta_s, x_i) for every draw, shape (C, S, N, K), from (C, S, K) draws (SciPy)."""
    lp = np.log(weights)[..., None, :] + norm.logpdf(
        np.asarray(x)[:, None], means[..., None, :], stds[..., None, :]
    )
    return np.exp(lp - logsumexp(lp, axis=-1, keepdims=True))


def run_nuts(x: np.ndarray, k: int, prior: Prior, seed: int) -> dict:
    """NUTS draws (4 chains x 2000) sorted by mean like gibbs, and P(z_i = k | theta) per draw."""
    mcmc = MCMC(
        NUTS(_nuts_model),
        num_warmup=500,
        num_samples=2000,
        num_chains=4,
        chain_method="vectorized",
        progress_bar=False,
    )
    p = Prior(*(float(getattr(prior, f)) for f in Prior._FIELDS))
    mcmc.run(jax.random.key(seed), jnp.asarray(x, jnp.float32), k, p)
    s = mcmc.get_samples(group_by_chain=True)
    order = np.argsort(np.asarray(s["means"]), axis=-1)
    out = {name: np.take_along_axis(np.asarray(s[name], np.float64), order, axis=-1) for name in PARAMS}
    out["draw_probs"] = draw_probs(x, *(out[name] for name in PARAMS))
    return out


def _log_component_evidence(xs: np.ndarray, prior: Prior, log_sd_grid: np.ndarray) -> float:
    """log int Gamma(s; a, b) int N(mu; m0, s0) prod_i N(x_i; mu, s) dmu ds, for one component.

    The mu integral is Gaussian: x_S ~ N(m0 1, s^2 I + s0^2 1 1^T); the s integral is a
    trapezoid rule in log s.
    """
    if xs.size == 0:
        return 0.0
    a, b = float(prior.std_shape), float(prior.std_rate)
    m0, s0 = float(prior.mean_loc), float(prior.mean_scale)
    n, xbar = xs.size, xs.mean()
    ss = ((xs - xbar) ** 2).sum()
    s = np.exp(log_sd_grid)
    log_lik = (
        -0.5 * n * np.log(2 * np.pi)
        - (n - 1) * np.log(s)
        - 0.5 * np.log(s**2 + n * s0**2)
        - ss / (2 * s**2)
        - n * (xbar - m0) ** 2 / (2 * (s**2 + n * s0**2))
    )
    log_gamma = a * np.log(b) - gammaln(a) + (a - 1) * np.log(s) - b * s
    du = log_sd_grid[1] - log_sd_grid[0]
    trap = np.full(s.size, np.log(du))
    trap[[0, -1]] -= np.log(2)
    return float(logsumexp(log_lik + log_gamma + log_sd_grid + trap))


def exact_log_ml_k2(x: np.ndarray, prior: Prior, subsets=None) -> float:
    """log p(x) for K = 2: sum over assignments (subset S in component 0) of
    p(z) p(x_S) p(x_not S), p(z) the Dirichlet-multinomial; all subsets unless given."""
    x = np.asarray(x, np.float64)
    n = x.size
    alpha = float(prior.alpha)
    grid = np.linspace(np.log(1e-3), np.log(1e3), 8001)
    terms = []
    for subset in range(2**n) if subsets is None else subsets:
        mask = (subset >> np.arange(n)) & 1 == 1
        n0 = int(mask.sum())
        log_pz = (
            gammaln(2 * alpha) - gammaln(n + 2 * alpha)
            + gammaln(n0 + alpha) + gammaln(n - n0 + alpha) - 2 * gammaln(alpha)
        )
        terms.append(
            log_pz
            + _log_component_evidence(x[mask], prior, grid)
            + _log_component_evidence(x[~mask], prior, grid)
        )
    return float(logsumexp(terms))


def bento_exact_log_ml(x: np.ndarray, prior: Prior) -> float:
    """Bento: every assignment that mixes the ~350 g and ~500 g groups in one component has a
    posterior weight below e^-60 relative, so the two clean splits give log p(x) (a full
    enumeration of all 2^20 assignments agrees to 1e-12); checked here on the 40 one-point moves."""
    low = sum(1 << i for i in range(x.size) if x[i] < 425)
    high = (2**x.size - 1) ^ low
    two = exact_log_ml_k2(x, prior, [low, high])
    moves = [low ^ (1 << i) for i in range(x.size)] + [high ^ (1 << i) for i in range(x.size)]
    assert abs(exact_log_ml_k2(x, prior, [low, high, *moves]) - two) < 1e-9
    return two


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bento() -> np.ndarray:
    return np.asarray(datasets.bento(), np.float64)


@pytest.fixture(scope="module")
def gibbs_bento(bento) -> GibbsPosterior:
    """The book's defaults: n_samples=2000, n_warmup=500, n_chains=4."""
    return gibbs(jax.random.key(0), bento, 2, prior=Prior())


@pytest.fixture(scope="module")
def gibbs_overlap() -> GibbsPosterior:
    return gibbs(jax.random.key(1), overlap_data(), 2, prior=OVERLAP_PRIOR, n_samples=4000, n_warmup=1000)


@pytest.fixture(scope="module")
def nuts_bento(bento) -> dict:
    return run_nuts(bento, 2, Prior(), seed=10)


@pytest.fixture(scope="module")
def nuts_overlap() -> dict:
    return run_nuts(overlap_data(), 2, OVERLAP_PRIOR, seed=11)


@pytest.fixture(scope="module")
def is_prior_bento(bento) -> ImportanceResult:
    return importance_sampling(jax.random.key(2), bento, 2, prior=Prior(), n_particles=10_000, proposal="prior")


@pytest.fixture(scope="module")
def is_em_bento(bento) -> ImportanceResult:
    return importance_sampling(jax.random.key(3), bento, 2, prior=Prior(), n_particles=10_000, proposal="em")


# ---------------------------------------------------------------------------
# Gibbs
# ---------------------------------------------------------------------------


def _mcse(draws: np.ndarray) -> float:
    """sd / sqrt(ESS) of (C, S) draws, ESS by NumPyro (0 for constant draws)."""
    sd = float(draws.std())
    if sd < 1e-12:
        return 0.0
    ess = float(effective_sample_size(draws))
    return sd / np.sqrt(ess if np.isfinite(ess) and ess > 0 else 1.0)


@pytest.mark.parametrize("case", ["bento", "overlap"])
def test_gibbs_agrees_with_nuts(case, request):
    g = request.getfixturevalue(f"gibbs_{case}")
    ref = request.getfixturevalue(f"nuts_{case}")
    x = np.asarray(datasets.bento()) if case == "bento" else overlap_data()
    for name in PARAMS:
        a, b = getattr(g, name), ref[name]
        for j in range(g.n_components):
            mcse = np.hypot(_mcse(a[:, :, j]), _mcse(b[:, :, j]))
            diff = a[:, :, j].mean() - b[:, :, j].mean()
            assert abs(diff) < N_SIGMA * mcse, f"{case} {name}[{j}]: diff {diff:.4g}, combined MCSE {mcse:.3g}"
    # Rao-Blackwellised probabilities are exactly the average of P(z_i = k | theta_s) over the draws.
    gp = draw_probs(x, g.weights, g.means, g.stds)
    np.testing.assert_allclose(g.assignment_probs, gp.mean(axis=(0, 1)), atol=1e-4)
    # Within 0.02 of NUTS's, or N_SIGMA combined MCSEs where Monte Carlo error is larger than
    # that (the overlapping clusters: per-point MCSE ~ 0.01-0.02 at these run lengths).
    diff = np.abs(g.assignment_probs - ref["draw_probs"].mean(axis=(0, 1)))[:, 0]
    se = np.array([np.hypot(_mcse(gp[:, :, i, 0]), _mcse(ref["draw_probs"][:, :, i, 0])) for i in range(x.size)])
    assert np.all(diff < np.maximum(0.02, N_SIGMA * se)), (diff.max(), se[np.argmax(diff)])
    if case == "bento":
        assert diff.max() < 0.02


def test_gibbs_convergence_with_book_defaults(gibbs_bento):
    g = gibbs_bento
    assert (g.n_chains, g.n_samples) == (4, 2000)
    assert np.all(g.rhat["means"] < 1.01)
    assert np.all(g.ess["means"] > 1000)
    assert np.all(g.ess_tail["means"] > 500)
    for name in PARAMS:
        assert np.all(g.rhat[name] < 1.01), (name, g.rhat[name])
    assert np.all((g.acceptance_rate > 0.2) & (g.acceptance_rate < 0.7))


def test_gibbs_shapes_order_and_probabilities(gibbs_bento, bento):
    g = gibbs_bento
    for name in PARAMS:
        assert getattr(g, name).shape == (4, 2000, 2)
        assert np.all(np.isfinite(getattr(g, name)))
    assert np.all(np.diff(g.means, axis=-1) >= 0)
    assert np.all(g.stds > 0)
    np.testing.assert_allclose(g.weights.sum(axis=-1), 1.0, atol=1e-5)
    p = g.assignment_probs
    assert p.shape == (bento.size, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    # Well-separated clusters: the ~350 g bentos are in component 0 with certainty.
    np.testing.assert_allclose(p[:, 0], (bento < 425).astype(float), atol=1e-3)
    rows = g.summary()
    assert [r["parameter"] for r in rows] == [f"{n}[{j}]" for n in PARAMS for j in range(2)]
    assert {"mean", "sd", "mcse", "rhat", "ess", "ess_tail"} <= set(rows[0])


def test_gibbs_reproducible_and_compiled_once(gibbs_bento, bento):
    n_compiled = _gibbs_run._cache_size()
    again = gibbs(jax.random.key(0), bento, 2, prior=Prior())
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(again, name), getattr(gibbs_bento, name))
    np.testing.assert_array_equal(again.assignment_probs, gibbs_bento.assignment_probs)
    other = gibbs(jax.random.key(5), bento + 1.0, 2, prior=Prior(mean_loc=410.0, std_rate=0.5))
    assert not np.array_equal(other.means, gibbs_bento.means)
    assert _gibbs_run._cache_size() == n_compiled  # new key, data values, prior: no retrace


def test_gibbs_single_chain_has_nan_rhat_and_finite_ess(bento):
    with pytest.warns(RuntimeWarning, match="ESS"):  # 40 draws: a bulk ESS below 100
        post = gibbs(jax.random.key(2), bento, 2, prior=Prior(), n_chains=1, n_samples=40, n_warmup=50)
    assert post.means.shape == (1, 40, 2)
    for name in PARAMS:
        assert np.isnan(post.rhat[name]).all()
        assert np.isfinite(post.ess[name]).all() and (post.ess[name] > 0).all()
    np.testing.assert_allclose(post.assignment_probs.sum(axis=1), 1.0, rtol=1e-6)


def bulk_ess_reference(draws: np.ndarray) -> float:
    """Bulk ESS (Vehtari et al. 2021) from its definition: NumPyro's ESS of the split chains
    of the rank-normalised draws."""
    from scipy.stats import norm as normal, rankdata

    ranks = rankdata(draws, method="average").reshape(draws.shape)
    z = normal.ppf((ranks - 0.375) / (draws.size + 0.25))
    half = draws.shape[1] // 2
    return float(effective_sample_size(np.concatenate([z[:, :half], z[:, -half:]])))


def test_diagnostics_match_numpyro_on_mixing_and_stuck_chains(gibbs_overlap):
    from numpyro.diagnostics import split_gelman_rubin

    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 1000))
    for offset in (0.0, 0.3, 0.5):  # two chains shifted: from mixing to stuck
        draws = base + np.array([0.0, 0.0, offset, offset])[:, None]
        assert gmm.diagnostics.rhat(draws) == pytest.approx(float(split_gelman_rubin(draws)), abs=2e-3)
    # Chains stuck in two modes are caught.
    stuck = base + np.array([0.0, 0.0, 3.0, 3.0])[:, None]
    assert gmm.diagnostics.rhat(stuck) > 1.5 and float(split_gelman_rubin(stuck)) > 1.5
    for name in PARAMS:
        d = getattr(gibbs_overlap, name)
        for j in range(2):
            assert gibbs_overlap.ess[name][j] == pytest.approx(bulk_ess_reference(d[:, :, j]), rel=0.02)
    ar = np.zeros((4, 5000))  # AR(1) with rho = 0.9: ESS ~ 4 * 5000 * (1 - rho) / (1 + rho) ~ 1050
    for t in range(1, 5000):
        ar[:, t] = 0.9 * ar[:, t - 1] + rng.normal(size=4)
    assert 700 < gmm.diagnostics.ess(ar) < 1500


def test_warning_names_the_parameter_and_what_to_try():
    rng = np.random.default_rng(0)
    stuck = rng.normal(size=(4, 500, 2)) + np.array([0.0, 0.0, 4.0, 4.0])[:, None, None]
    with pytest.warns(RuntimeWarning, match=r"means\[0\]: R-hat .*try this"):
        problems = gmm.diagnostics.warn_if_unconverged(
            {"means": gmm.diagnostics.rhat(stuck)}, {"means": gmm.diagnostics.ess(stuck)},
            sampler="test", advice="try this",
        )
    assert len(problems) >= 2


def test_step_size_is_frozen_after_warmup(bento):
    short = gibbs(jax.random.key(4), bento, 2, prior=Prior(), n_samples=400, n_warmup=100)
    long = gibbs(jax.random.key(4), bento, 2, prior=Prior(), n_samples=800, n_warmup=100)
    np.testing.assert_array_equal(short.step_size, long.step_size)
    np.testing.assert_array_equal(short.means, long.means[:, :400])


# ---------------------------------------------------------------------------
# Importance sampling
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["is_prior_bento", "is_em_bento"])
def test_importance_summaries_match_numpy(which, request):
    r = request.getfixturevalue(which)
    s = r.n_particles
    assert r.log_weights.shape == (s,) and s == 10_000
    for name in PARAMS:
        assert getattr(r, name).shape == (s, 2)
    assert np.all(np.diff(r.means, axis=-1) >= 0)
    w = np.exp(r.log_weights - r.log_weights.max())
    np.testing.assert_allclose(r.ess, w.sum() ** 2 / (w**2).sum(), rtol=1e-3)
    np.testing.assert_allclose(r.log_evidence, logsumexp(r.log_weights) - np.log(s), atol=1e-3)
    if r.ess >= 50:  # below, the error bar is not supported by the weights and is NaN
        np.testing.assert_allclose(r.log_evidence_stderr, np.sqrt(w.var(ddof=1) / s) / w.mean(), rtol=1e-3)
    else:
        assert np.isnan(r.log_evidence_stderr)
    np.testing.assert_allclose(r.normalized_weights.sum(), 1.0)


def test_prior_proposal_collapses_em_proposal_does_not(is_prior_bento, is_em_bento):
    assert is_prior_bento.ess < 5
    assert is_em_bento.ess > 0.1 * is_em_bento.n_particles
    assert is_em_bento.em is not None and is_prior_bento.em is None


def test_em_log_marginal_likelihood_matches_exact(is_em_bento, bento):
    exact = bento_exact_log_ml(bento, Prior())
    r = is_em_bento
    assert abs(r.log_evidence - exact) < N_SIGMA * r.log_evidence_stderr + 2e-3, (
        r.log_evidence, r.log_evidence_stderr, exact,
    )
    assert r.log_evidence_stderr < 0.05


def test_prior_proposal_is_exact_where_the_prior_works(seed):
    x = np.array([-0.4, 0.3, 2.2, 2.9, 3.1])
    exact = exact_log_ml_k2(x, OVERLAP_PRIOR)
    r = importance_sampling(jax.random.key(4 + 100 * seed), x, 2, prior=OVERLAP_PRIOR, n_particles=100_000)
    assert r.ess > 100
    assert abs(r.log_evidence - exact) < N_SIGMA * r.log_evidence_stderr, (
        r.log_evidence, r.log_evidence_stderr, exact,
    )


def test_em_particles_agree_with_gibbs(is_em_bento, gibbs_bento):
    post = is_em_bento.posterior_mean()
    w = is_em_bento.normalized_weights
    for name in PARAMS:
        g = getattr(gibbs_bento, name)
        for j in range(2):
            sd = g[:, :, j].std()
            mcse = np.hypot(sd / np.sqrt(is_em_bento.ess), sd / np.sqrt(gibbs_bento.ess[name][j]))
            assert abs(post[name][j] - g[:, :, j].mean()) < N_SIGMA * mcse, (name, j)
    assert np.isclose(w.sum(), 1.0)


def test_importance_reproducible_and_compiled_once(is_em_bento, bento):
    n_compiled = _is_em._cache_size()
    again = importance_sampling(jax.random.key(3), bento, 2, prior=Prior(), n_particles=10_000, proposal="em")
    np.testing.assert_array_equal(again.log_weights, is_em_bento.log_weights)
    other = importance_sampling(jax.random.key(6), bento, 2, prior=Prior(), n_particles=10_000, proposal="em")
    assert not np.array_equal(other.log_weights, is_em_bento.log_weights)
    assert _is_em._cache_size() == n_compiled


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------

KEY = jax.random.key(0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"proposal": "nuts"}, "proposal"),
        ({"proposal": "em", "n_starts": 0}, "n_starts"),
        ({"n_particles": 0}, "n_particles"),
        ({"n_particles": 2.5}, "n_particles"),
        ({"x": [1.0, np.nan, 3.0]}, "finite"),
        ({"x": [[1.0, 2.0], [3.0, 4.0]]}, "1-D"),
        ({"x": []}, "empty"),
        ({"n_components": 1}, "at least 2 for importance_sampling.*no mixing proportions.*exact_log_marginal"),
        ({"n_components": 0}, "n_components"),
        ({"n_components": 21}, "n_components"),
        ({"prior": "default"}, "prior"),
        ({"key": 0}, "key"),
        ({"proposal": "em", "defensive": 1.0}, "defensive"),
        ({"proposal": "em", "df": -1.0}, "df"),
    ],
)
def test_importance_sampling_rejects_bad_input(kwargs, match):
    args = {"key": KEY, "x": datasets.bento(), "n_components": 2}
    args.update(kwargs)
    key, x, k = args.pop("key"), args.pop("x"), args.pop("n_components")
    with pytest.raises(ValueError, match=match):
        importance_sampling(key, x, k, **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 3}, "n_samples"),
        ({"n_warmup": 0}, "n_warmup"),
        ({"n_chains": 0}, "n_chains"),
        ({"n_mh_steps": 0}, "n_mh_steps"),
        ({"init_step_size": -0.1}, "init_step_size"),
        ({"x": [1.0, np.inf]}, "finite"),
        ({"x": "bento"}, "string"),
        ({"n_components": 0}, "at least 1"),
        ({"n_components": 2.0}, "n_components"),
        ({"prior": "bento"}, "prior"),
        ({"n_samples": 10**9}, "memory|at most"),
        ({"n_temperatures": 0}, "n_temperatures"),
        ({"n_temperatures": 65}, "n_temperatures"),
        ({"n_temperatures": 4, "min_inverse_temperature": 1.0}, "min_inverse_temperature"),
        ({"n_temperatures": 4, "min_inverse_temperature": 0.0}, "min_inverse_temperature"),
        ({"n_temperatures": 4, "adapt_ladder": "yes"}, "adapt_ladder must be True or False"),
    ],
)
def test_gibbs_rejects_bad_input(kwargs, match):
    args = {"key": KEY, "x": datasets.bento(), "n_components": 2}
    args.update(kwargs)
    key, x, k = args.pop("key"), args.pop("x"), args.pop("n_components")
    with pytest.raises(ValueError, match=match):
        gibbs(key, x, k, **args)


def test_exported_from_package():
    assert gmm.gibbs is gibbs and gmm.importance_sampling is importance_sampling
    assert {"gibbs", "importance_sampling", "GibbsPosterior", "ImportanceResult"} <= set(gmm.__all__)


def test_assignment_draws_follow_their_probabilities():
    """The sampler's inverse-CDF draw of z_i has frequencies softmax_k(log pi_k + log N(x_i | mu_k, sigma_k))."""
    from gmm.inference.scoring import component_log_probs, sample_assignments

    x = jnp.asarray([-1.0, 0.4, 1.0, 2.5], jnp.float32)
    theta = (jnp.asarray([0.2, 0.5, 0.3]), jnp.asarray([-1.0, 0.5, 2.0]), jnp.asarray([1.0, 0.7, 1.5]))
    cols = component_log_probs(x, *theta)
    draws = jax.vmap(lambda key: sample_assignments(key, cols))(jax.random.split(jax.random.key(0), 40_000))
    freq = np.stack([(np.asarray(draws) == j).mean(axis=0) for j in range(3)], axis=1)
    expected = draw_probs(np.asarray(x), *(np.asarray(a)[None] for a in theta))[0]
    np.testing.assert_allclose(freq, expected, atol=0.01)  # 4 binomial sd at n = 40,000


def test_predictive_assignment_probs_average_the_draws(gibbs_bento, bento):
    post = gibbs_bento
    new = np.array([350.0, 425.0, 505.0])
    got = post.predictive_assignment_probs(new)
    k = post.n_components
    flat = [getattr(post, name).reshape(-1, k) for name in PARAMS]
    np.testing.assert_allclose(got, draw_probs(new, *flat).mean(axis=0), atol=1e-5)
    # On the data themselves it is the sampler's Rao-Blackwellised assignment_probs.
    np.testing.assert_allclose(post.predictive_assignment_probs(bento), post.assignment_probs, atol=1e-4)


def test_relabel_false_keeps_the_samplers_labels_and_shares_the_compiled_program():
    from gmm.inference.sweep import run as _gibbs_run

    x = gmm.datasets.galaxies()
    kw = dict(n_samples=50, n_warmup=20, n_chains=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sorted_ = gmm.gibbs(jax.random.key(3), x, 3, **kw)
        before = _gibbs_run._cache_size()
        raw = gmm.gibbs(jax.random.key(3), x, 3, relabel=False, **kw)
    assert _gibbs_run._cache_size() == before
    order = np.argsort(raw.means, axis=-1)
    for name in ("weights", "means", "stds"):
        np.testing.assert_allclose(np.take_along_axis(getattr(raw, name), order, axis=-1), getattr(sorted_, name))
    with pytest.raises(ValueError, match="relabel must be True or False"):
        gmm.gibbs(jax.random.key(3), x, 3, relabel="no", **kw)
