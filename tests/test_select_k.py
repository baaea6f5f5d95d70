"""select_k: choosing K on rounded data, the naive density-BIC trap, and input checks.

Fits are padded to shared sizes so that one XLA compilation serves many data sets; the
module-scoped fixtures reuse the bento and coffee selections.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats
from sklearn.mixture import GaussianMixture

import gmm
from gmm.model_choice.binned import binned_log_likelihood, binned_log_prob, data_resolution, log_normal_interval
from gmm.model_choice.selection import SelectionResult, local_spacing, naive_select_k, select_k

KEY = jax.random.key(0)
KS = range(1, 7)

# Known mixtures with well-separated components (weights, means, sds, N).
SPECS = {
    1: ([1.0], [50.0], [3.0], 60),
    2: ([0.5, 0.5], [20.0, 45.0], [3.0, 4.0], 100),
    3: ([0.3, 0.4, 0.3], [10.0, 40.0, 70.0], [2.5, 4.0, 3.0], 150),
    4: ([0.25, 0.25, 0.25, 0.25], [0.0, 30.0, 60.0, 90.0], [3.0, 2.0, 4.0, 3.0], 200),
}


def draw(k: int, resolution: float, seed: int) -> np.ndarray:
    """N values from the K-component mixture of SPECS, rounded to the resolution."""
    w, m, s, n = SPECS[k]
    rng = np.random.default_rng(seed)
    z = rng.choice(len(w), size=n, p=w)
    x = rng.normal(np.asarray(m)[z], np.asarray(s)[z])
    return np.round(x / resolution) * resolution


@pytest.fixture(scope="module")
def bento_sel():
    return select_k(KEY, gmm.datasets.bento(), KS)


@pytest.fixture(scope="module")
def coffee_sel():
    return select_k(KEY, gmm.datasets.coffee(), KS)


@pytest.fixture(scope="module")
def bento_naive():
    return naive_select_k(KEY, gmm.datasets.bento(), KS)


# --- the chapter's data ------------------------------------------------------


def test_bento_two_kinds(bento_sel):
    r = bento_sel
    assert isinstance(r, SelectionResult)
    assert r.best_k == 2
    assert r.ks == tuple(KS) and set(r.scores) == set(KS) and set(r.mixtures) == set(KS)
    assert r.likelihood == "binned" and r.resolution == 1.0
    assert r.min_std == pytest.approx(1.0 / np.sqrt(12.0))
    means = np.asarray(r.best_mixture.means)
    np.testing.assert_allclose(means, [350.2, 500.0], atol=0.5)
    # K = 2 wins by a clear margin, not by a rounding error.
    assert min(r.scores[k] for k in KS if k != 2) - r.scores[2] > 5.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.best_k = 3


def test_coffee_three_blends(coffee_sel):
    r = coffee_sel
    assert r.best_k == 3
    np.testing.assert_allclose(np.asarray(r.best_mixture.means), [81.0, 118.6, 156.9], atol=0.5)
    assert min(r.scores[k] for k in KS if k != 3) - r.scores[3] > 5.0


def test_scores_are_the_criterion_of_the_recorded_likelihood(bento_sel):
    r = bento_sel
    x = gmm.datasets.bento()
    for k in KS:
        # The reported log-likelihood is the binned likelihood of the returned mixture
        # (up to the float32 storage of its parameters) ...
        assert binned_log_likelihood(x, r.mixtures[k], 1.0) == pytest.approx(r.log_likelihoods[k], abs=1e-3)
        # ... it is a log-probability, so at most 0 ...
        assert r.log_likelihoods[k] <= 0.0
        # ... and the score is BIC = -2 log L + (3K - 1) log N.
        assert r.scores[k] == pytest.approx(-2 * r.log_likelihoods[k] + (3 * k - 1) * np.log(20))
    # Without the spacing floor, more components never lower the maximised likelihood by
    # much (EM optima); the floor is a constraint, so it may.
    free = select_k(KEY, x, KS, spacing_span=None)
    lls = [free.log_likelihoods[k] for k in KS]
    assert all(b >= a - 0.05 for a, b in zip(lls, lls[1:]))


def test_aic_uses_the_same_fits(bento_sel):
    r = select_k(KEY, gmm.datasets.bento(), KS, criterion="aic")
    assert r.criterion == "aic" and r.best_k == 2
    for k in KS:
        assert r.log_likelihoods[k] == pytest.approx(bento_sel.log_likelihoods[k], abs=1e-9)
        assert r.scores[k] == pytest.approx(-2 * r.log_likelihoods[k] + 2 * (3 * k - 1))


# --- known truth -------------------------------------------------------------


@pytest.mark.parametrize("resolution", [1.0, 0.1])
@pytest.mark.parametrize("true_k", [1, 2, 3, 4])
def test_recovers_true_k_on_rounded_data(true_k, resolution):
    x = draw(true_k, resolution, seed=1000 * true_k)
    assert data_resolution(x) == pytest.approx(resolution)
    r = select_k(KEY, x, KS)
    assert r.resolution == pytest.approx(resolution)
    assert r.best_k == true_k, {k: round(v, 1) for k, v in r.scores.items()}


def test_continuous_data_use_the_density():
    x = draw(2, 1.0, seed=7) + np.random.default_rng(8).uniform(-0.5, 0.5, 100)  # undo the rounding
    assert data_resolution(x) is None
    r = select_k(KEY, x, [1, 2, 3])
    assert r.likelihood == "density" and r.resolution is None and r.best_k == 2


# --- the trap ----------------------------------------------------------------


def test_local_spacing_matches_a_direct_count():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(0, 1, 60), 1)
    values, counts = np.unique(x, return_counts=True)
    span = 4
    got = local_spacing(values, counts.astype(float), span)
    obs = np.sort(x)
    for v, g in zip(values, got):
        ranks = np.flatnonzero(obs == v)
        r = np.clip(ranks.mean(), span / 2, obs.size - 1 - span / 2)
        lo, hi = np.interp([r - span / 2, r + span / 2], np.arange(obs.size), obs)
        assert g == pytest.approx((hi - lo) / span)


@pytest.fixture(scope="module")
def galaxy_sel():
    return select_k(KEY, gmm.datasets.galaxies(), range(1, 8))


def test_galaxies_no_components_pinned_by_two_points(galaxy_sel):
    x = gmm.datasets.galaxies()
    # Without the spacing floor, components on pairs of close velocities win (the trap) ...
    free = select_k(KEY, x, range(1, 8), spacing_span=None)
    m = free.best_mixture
    assert free.best_k >= 6
    assert np.any((m.weights * x.size < 2.5) & (m.stds < 0.05))
    # ... with it, BIC picks three groups, as Roeder and Wasserman (1997) found, and no
    # fitted component at any K is narrower than the gaps around the few points it holds.
    assert galaxy_sel.best_k == 3 and galaxy_sel.spacing_span == 4
    for k, mix in galaxy_sel.mixtures.items():
        small = mix.weights * x.size < 4
        assert np.all(mix.stds[small] > 0.2), (k, mix.stds, mix.weights * x.size)


def test_spacing_floor_leaves_a_tight_cluster_alone():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0.0, 0.01, 50), rng.uniform(5.0, 100.0, 50)]
    with_floor = select_k(KEY, x, [2], resolution=None).mixtures[2]
    without = select_k(KEY, x, [2], resolution=None, spacing_span=None).mixtures[2]
    assert with_floor.stds[0] == pytest.approx(without.stds[0], rel=1e-3)
    assert with_floor.stds[0] == pytest.approx(np.std(x[:50]), rel=0.1)


def test_naive_bic_collapses_on_the_bentos(bento_naive, bento_sel):
    r = bento_naive
    assert r.likelihood == "density"
    assert r.best_k > 2, r.scores
    # The winner has a component collapsed onto a repeated weight (sd ~ sqrt(1e-6) g) ...
    assert float(np.min(np.asarray(r.best_mixture.stds))) < 0.01
    # ... and its density "likelihood" beats every likelihood of the data as recorded.
    assert r.log_likelihoods[r.best_k] > max(bento_sel.log_likelihoods.values())
    # Same K, same data: only the likelihood differs (K = 1, 2 have no repeats to exploit).
    for k in (1, 2):
        assert abs(r.scores[k] - bento_sel.scores[k]) < 1.0


def test_scikit_learn_falls_into_the_same_trap():
    x = np.asarray(gmm.datasets.bento(), np.float64)[:, None]
    bics = [GaussianMixture(k, n_init=5, random_state=0).fit(x).bic(x) for k in KS]
    assert int(np.argmin(bics)) + 1 > 2


# --- resolution and the binned likelihood -----------------------------------


@pytest.mark.parametrize(
    "x, expected",
    [
        ([498, 352, 501], 1.0),
        ([10, 20, 350], 10.0),
        (jnp.asarray([12.3, 45.6, 7.1], dtype=jnp.float32), 0.1),
        (np.array([0.25, 1.5, 3.0]), 0.01),  # 0.25 needs hundredths
        ([0.0, 0.0], None),
    ],
)
def test_data_resolution(x, expected):
    got = data_resolution(x)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_data_resolution_of_continuous_data_is_none():
    assert data_resolution(np.random.default_rng(0).normal(size=50)) is None
    assert data_resolution(jnp.asarray(np.random.default_rng(1).normal(size=50), jnp.float32)) is None


def _reference_log_bin(x, w, mu, sd, h):
    """log sum_k w_k (Phi(b) - Phi(a)) with SciPy's log_ndtr, lower or reflected upper tail."""
    a = (x[:, None] - h / 2 - mu) / sd
    b = (x[:, None] + h / 2 - mu) / sd
    # Both tails are computed for every point and np.where keeps the stable one; the
    # other may be log(0) far out in its tail, which is expected and discarded.
    with np.errstate(divide="ignore"):
        lower = special.log_ndtr(b) + np.log1p(-np.exp(special.log_ndtr(a) - special.log_ndtr(b)))
        upper = special.log_ndtr(-a) + np.log1p(-np.exp(special.log_ndtr(-b) - special.log_ndtr(-a)))
    per = np.where(a + b > 0, upper, lower)
    return special.logsumexp(np.log(w) + per, axis=1)


def test_binned_log_prob_matches_scipy_and_is_stable_in_the_tails():
    m = gmm.Mixture([0.3, 0.7], [350.0, 500.0], [2.0, 1.5])
    w, mu, sd = (np.asarray(a, np.float64) for a in (m.weights, m.means, m.stds))
    x = np.array([340.0, 350.0, 353.0, 425.0, 499.0, 500.0, 510.0, 600.0, 100.0])
    got = binned_log_prob(x, m, 1.0)
    np.testing.assert_allclose(got, _reference_log_bin(x, w, mu, sd, 1.0), rtol=1e-10, atol=1e-12)
    assert np.all(np.isfinite(got)) and np.all(got <= 0.0)
    # Far tails (60 and 125 sds away) stay finite and agree with the Mills-ratio asymptote.
    z_hi = (599.5 - 500.0) / 1.5
    assert got[-2] == pytest.approx(np.log(0.7) + stats.norm.logpdf(z_hi) - np.log(z_hi), rel=1e-4)
    z_lo = (350.0 - 100.5) / 2.0
    assert got[-1] == pytest.approx(np.log(0.3) + stats.norm.logpdf(z_lo) - np.log(z_lo), rel=1e-4)
    # Narrow bins: P ~ h p(x).
    narrow = binned_log_prob(x[:7], m, 1e-4)
    np.testing.assert_allclose(narrow, np.log(1e-4) + np.asarray(m.log_prob(x[:7]), np.float64), atol=2e-3)


def test_log_normal_interval_symmetry():
    lo = jnp.asarray([-3.0, -40.0, 5.0, 30.0])
    hi = jnp.asarray([-2.0, -39.0, 6.0, 31.0])
    with jax.enable_x64(True):
        a = np.asarray(log_normal_interval(jnp.asarray(lo, jnp.float64), jnp.asarray(hi, jnp.float64)))
        b = np.asarray(log_normal_interval(-jnp.asarray(hi, jnp.float64), -jnp.asarray(lo, jnp.float64)))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert np.all(np.isfinite(a))


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ks": []}, "ks is empty"),
        ({"ks": 3}, "ks must be an iterable of integers"),
        ({"ks": "123"}, "ks must be an iterable of integers"),
        ({"ks": [0, 1]}, "at least 1"),
        ({"ks": [2, 25]}, "exceeds the number of data points"),
        ({"ks": [1.5]}, "integer"),
        ({"criterion": "dic"}, "criterion must be 'bic' or 'aic'"),
        ({"resolution": "fine"}, "resolution must be 'auto'"),
        ({"resolution": -1.0}, "resolution must be a finite number > 0"),
        ({"resolution": 0.0}, "resolution must be a finite number > 0"),
        ({"min_std": -0.1}, "min_std must be a finite number > 0"),
        ({"spacing_span": 0}, "spacing_span must be an integer >= 1"),
        ({"spacing_span": 2.5}, "spacing_span must be an integer >= 1"),
        ({"n_init": 0}, "n_init must be an integer >= 1"),
        ({"key": 0}, "key must be a single jax.random key"),
        ({"x": [1.0, np.nan, 2.0]}, "finite"),
        ({"x": np.zeros((2, 2, 2))}, "shape"),
        ({"x": []}, "empty"),
    ],
)
def test_select_k_rejects_bad_input(kwargs, match):
    args = {"x": gmm.datasets.bento(), "ks": [1, 2], "key": KEY, **kwargs}
    key, x, ks = args.pop("key"), args.pop("x"), args.pop("ks")
    with pytest.raises(ValueError, match=match):
        select_k(key, x, ks, **args)


def test_other_bad_input():
    x = gmm.datasets.bento()
    with pytest.raises(ValueError, match="reg_covar must be a finite number > 0"):
        naive_select_k(KEY, x, [1], reg_covar=0.0)
    with pytest.raises(ValueError, match="mixture must be a gmm.Mixture"):
        binned_log_prob(x, "two bumps", 1.0)
    with pytest.raises(ValueError, match="resolution must be a finite number > 0"):
        binned_log_likelihood(x, gmm.Mixture([1.0], [400.0], [70.0]), None)
    with pytest.raises(ValueError, match="must contain real numbers"):
        data_resolution(["a", "b"])


def test_continuous_data_choose_the_same_k_in_any_units():
    """Without a resolution the variances are regularised relative to the values' spacing, so
    rescaling the data (grams to tonnes) changes neither the chosen K nor the fit's shape."""
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0.0, 1.0, 50), rng.normal(10.0, 1.0, 50)]
    a = gmm.select_k(KEY, x, range(1, 4), resolution=None)
    b = gmm.select_k(KEY, x * 1e-6, range(1, 4), resolution=None)
    assert a.best_k == b.best_k == 2
    np.testing.assert_allclose(b.mixtures[2].means * 1e6, a.mixtures[2].means, rtol=1e-6)
