"""fit_em: optimum compared with scikit-learn, EM's monotone climb, invariances, checks.

Every configuration (data length, K, init, max_iter) costs one XLA compilation, so
the tests share a handful of fits through module-scoped fixtures.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

import gmm
from gmm import EMResult, fit_em
from gmm._util import defaults
from gmm.estimation.driver import rule_holds_on_gains

KEY = jax.random.key(0)
DATA = {"bento": (gmm.datasets.bento, 2), "coffee": (gmm.datasets.coffee, 3)}


def _np(x):
    return np.asarray(x, dtype=np.float64)


def mixture_ll(x, w, mu, sd):
    """Total log-likelihood of a 1-D mixture in float64 with scipy."""
    return float(logsumexp(np.log(w) + stats.norm.logpdf(_np(x)[:, None], mu, sd), axis=1).sum())


@pytest.fixture(scope="module")
def fits():
    return {name: fit_em(KEY, load(), k) for name, (load, k) in DATA.items()}


@pytest.fixture(scope="module")
def sklearn_fits():
    out = {}
    for name, (load, k) in DATA.items():
        x = _np(load())[:, None]
        gm = GaussianMixture(k, tol=1e-10, max_iter=1000, n_init=8, random_state=0).fit(x)
        out[name] = (gm, float(gm.score(x)) * x.shape[0])
    return out


@pytest.fixture(scope="module")
def random_fit():
    return fit_em(KEY, gmm.datasets.coffee(), 3, init="random")


@pytest.mark.parametrize("name", list(DATA))
def test_reaches_sklearn_optimum(name, fits, sklearn_fits):
    res = fits[name]
    gm, sk_ll = sklearn_fits[name]
    assert isinstance(res, EMResult)
    assert res.log_likelihood == pytest.approx(sk_ll, rel=1e-4)
    assert res.converged
    order = np.argsort(gm.means_.ravel())
    np.testing.assert_allclose(_np(res.mixture.means), gm.means_.ravel()[order], atol=1e-2)
    np.testing.assert_allclose(_np(res.mixture.stds), np.sqrt(gm.covariances_.ravel()[order]), rtol=1e-3)
    np.testing.assert_allclose(_np(res.mixture.weights), gm.weights_[order], atol=1e-3)


@pytest.mark.parametrize("name", list(DATA))
def test_reported_log_likelihood_matches_recomputation(name, fits):
    res = fits[name]
    x = DATA[name][0]()
    m = res.mixture
    assert res.log_likelihood == pytest.approx(float(m.log_likelihood(x)), rel=1e-5)
    assert res.log_likelihood == pytest.approx(mixture_ll(x, _np(m.weights), _np(m.means), _np(m.stds)), rel=1e-5)


def _check_history(res):
    h = res.history
    assert h.ndim == 1 and h.size == res.n_iter + 1 >= 2
    assert np.all(np.isfinite(h))
    # EM never lowers the likelihood (float32 rounding aside).
    assert np.all(np.diff(h) >= -1e-6 * np.abs(h[1:]))
    assert h[-1] == pytest.approx(res.log_likelihood, rel=1e-6)
    assert h[0] <= res.log_likelihood + 1e-6 * abs(res.log_likelihood)


@pytest.mark.parametrize("name", list(DATA))
def test_history_never_decreases(name, fits):
    _check_history(fits[name])


def test_random_init_reaches_optimum_and_climbs(random_fit, sklearn_fits):
    _check_history(random_fit)
    # A visible climb from the random start, unlike the k-means start.
    assert random_fit.n_iter >= 2 and random_fit.history[-1] - random_fit.history[0] > 10.0
    assert random_fit.log_likelihood == pytest.approx(sklearn_fits["coffee"][1], rel=1e-4)


def test_history_complete_when_max_iter_reached():
    with pytest.warns(gmm.ConvergenceWarning):
        res = fit_em(KEY, gmm.datasets.coffee(), 3, init="random", max_iter=2, n_init=1)
    assert res.history.size == res.n_iter + 1
    assert res.history[-1] == pytest.approx(res.log_likelihood, rel=1e-6)
    assert np.all(np.diff(res.history) >= -1e-6 * np.abs(res.history[1:]))


def test_fitted_mixture_is_sorted_and_valid(fits):
    for res in fits.values():
        m = res.mixture
        assert np.all(np.diff(_np(m.means)) > 0)
        assert np.all(_np(m.stds) > 0)
        assert float(jnp.sum(m.weights)) == pytest.approx(1.0, abs=1e-5)
        assert isinstance(res.n_iter, int) and isinstance(res.converged, bool)


def test_same_key_same_result(fits):
    again = fit_em(KEY, gmm.datasets.bento(), 2)
    first = fits["bento"]
    assert again.log_likelihood == first.log_likelihood
    np.testing.assert_array_equal(_np(again.mixture.means), _np(first.mixture.means))
    np.testing.assert_array_equal(again.history, first.history)


def test_permutation_invariance(fits):
    x = _np(gmm.datasets.bento())
    perm = np.random.default_rng(0).permutation(x.size)
    res = fit_em(KEY, x[perm], 2)
    assert res.log_likelihood == pytest.approx(fits["bento"].log_likelihood, rel=1e-5)
    np.testing.assert_allclose(_np(res.mixture.means), _np(fits["bento"].mixture.means), rtol=1e-5)


def test_scale_equivariance(fits):
    x = _np(gmm.datasets.bento())
    base = fits["bento"]
    res = fit_em(KEY, x * 1000.0, 2)
    np.testing.assert_allclose(_np(res.mixture.means), 1000.0 * _np(base.mixture.means), rtol=1e-4)
    np.testing.assert_allclose(_np(res.mixture.stds), 1000.0 * _np(base.mixture.stds), rtol=1e-3)
    np.testing.assert_allclose(_np(res.mixture.weights), _np(base.mixture.weights), atol=1e-4)
    # Densities scale by 1/1000 per point.
    expected = base.log_likelihood - x.size * np.log(1000.0)
    assert res.log_likelihood == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("min_std", [0.5, 5.0, 30.0])
def test_min_std_respected(min_std, fits):
    res = fit_em(KEY, gmm.datasets.bento(), 2, min_std=min_std)
    sd = _np(res.mixture.stds)
    assert np.all(sd >= min_std * (1 - 1e-5))
    # A floor above the unconstrained sds costs likelihood; one below them costs little.
    free = fits["bento"]
    if min_std > _np(free.mixture.stds).max():
        assert res.log_likelihood < free.log_likelihood
    assert res.log_likelihood <= free.log_likelihood + 1e-5 * abs(free.log_likelihood)


def test_constant_data():
    # Identical observations are valid input: every init must give a finite fit.
    x = np.full(30, 81.0)
    for init in ("kmeans", "random"):
        res = fit_em(KEY, x, 3, init=init)
        assert np.isfinite(res.log_likelihood)
        np.testing.assert_allclose(_np(res.mixture.means), 81.0, atol=1e-3)


BAD = [
    pytest.param({"n_components": 0}, "n_components", id="k=0"),
    pytest.param({"n_components": -1}, "n_components", id="k<0"),
    pytest.param({"n_components": 21}, "n_components", id="k>N"),
    pytest.param({"n_components": 2.0}, "n_components", id="k-float"),
    pytest.param({"n_components": True}, "n_components", id="k-bool"),
    pytest.param({"n_components": "2"}, "n_components", id="k-str"),
    pytest.param({"n_components": None}, "n_components", id="k-none"),
    pytest.param({"x": [1.0, np.nan, 3.0]}, "x", id="x-nan"),
    pytest.param({"x": [1.0, np.inf, 3.0]}, "x", id="x-inf"),
    pytest.param({"x": []}, "x", id="x-empty"),
    pytest.param({"x": np.ones((4, 5, 2))}, "x", id="x-3d"),
    pytest.param({"x": ["a", "b", "c"]}, "x", id="x-str"),
    pytest.param({"x": [True, False, True]}, "x", id="x-bool"),
    pytest.param({"key": 0}, "key", id="key-int"),
    pytest.param({"key": None}, "key", id="key-none"),
    pytest.param({"key": jax.random.split(KEY, 3)}, "key", id="key-batch"),
    pytest.param({"init": "kmeans++"}, "init", id="init-unknown"),
    pytest.param({"init": None}, "init", id="init-none"),
    pytest.param({"tol": -1e-3}, "tol", id="tol-neg"),
    pytest.param({"tol": 0.0}, "tol", id="tol-zero"),
    pytest.param({"tol": np.nan}, "tol", id="tol-nan"),
    pytest.param({"min_std": -1.0}, "min_std", id="min_std-neg"),
    pytest.param({"min_std": 0.0}, "min_std", id="min_std-zero"),
    pytest.param({"min_std": np.inf}, "min_std", id="min_std-inf"),
    pytest.param({"reg_covar": -1.0}, "reg_covar", id="reg_covar-neg"),
    pytest.param({"max_iter": 0}, "max_iter", id="max_iter-0"),
    pytest.param({"max_iter": 10.5}, "max_iter", id="max_iter-float"),
    pytest.param({"n_init": 0}, "n_init", id="n_init-0"),
]


@pytest.mark.parametrize(("change", "match"), BAD)
def test_bad_inputs_raise(change, match):
    kwargs = {"x": gmm.datasets.bento(), "n_components": 2, "key": KEY} | change
    key, x, k = kwargs.pop("key"), kwargs.pop("x"), kwargs.pop("n_components")
    with pytest.raises(ValueError, match=match):
        fit_em(key, x, k, **kwargs)


def test_min_std_is_a_floor_and_keeps_em_monotone():
    x = gmm.datasets.bento()
    free = fit_em(KEY, x, 2)
    floored = fit_em(KEY, x, 2, min_std=0.5)
    # Both fitted widths (about 2 g) are above the floor, so the floor changes nothing.
    np.testing.assert_allclose(floored.mixture.stds, free.mixture.stds, rtol=1e-4)
    high = fit_em(KEY, x, 2, min_std=3.0, init="random", n_init=1)
    assert np.all(np.asarray(high.mixture.stds) >= 3.0 * (1 - 1e-5))
    assert np.all(np.diff(high.history) >= -1e-6 * np.abs(high.history[1:]))


_rule = rule_holds_on_gains  # driver.converged on the last three gains


def test_stopping_rule_is_per_point_and_looks_ahead():
    """EM stops at the first iteration where its log-likelihood is within tol per point of
    the limit its gains predict (driver.converged with budget tol x N), not before; and
    there the last gain is well below tol per point: the per-step rule would have stopped
    earlier, short of the limit."""
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(0.0, 1.0, 300), rng.normal(1.5, 1.0, 300)]  # overlapping: slow EM
    tol = 1e-5
    res = fit_em(KEY, x, 2, tol=tol, n_init=1)
    gains = np.diff(res.history)
    assert res.converged and res.n_iter > 5
    assert _rule(gains, tol * x.size) and not _rule(gains[:-1], tol * x.size)
    assert not _rule(gains, tol)  # per point: a rule on the total would run on
    first_small = int(np.argmax(gains <= tol * x.size))
    assert first_small < gains.size - 1  # the per-step rule would have stopped here
    assert res.history[-1] - res.history[first_small + 1] > 0.1 * tol * x.size


@pytest.mark.parametrize("gains, budget, expected", [
    ([8.0, 4.0, 2.0], 3.0, False),  # halving: 2 more to come, 4 > 3 (the per-step rule stops)
    ([8.0, 4.0, 2.0], 4.0, True),
    ([4.3e-4, 2.4e-4, 1.46e-4], 1e-3, False),  # decaying to a crawl of ~5e-5 per step
    ([4.3e-4, 2.15e-4, 1.075e-4], 1e-3, True),  # the same start, decaying geometrically
    ([1e-5, 1e-5, 1e-5], 1e-3, False),  # not shrinking: stops only below 1e-3 x budget
    ([1e-7, 1e-7, 1e-7], 1e-3, True),
    ([5.0, 1.0, -1e-12], 1e-9, True),  # a fall (round-off) counts as converged
])
def test_stopping_rule_on_given_gains(gains, budget, expected):
    assert _rule(gains, budget) is expected


def test_stopping_rule_assumes_the_given_rate_after_one_gain():
    assert _rule([2e-6], 1e-3, rate=0.5) and not _rule([2e-6], 1e-3)  # MAX_RATE: 2e-6 > 1e-3 x 1e-3
    assert _rule([1e-7], 1e-3)


def test_grouped_em_reaches_the_maximum_of_the_binned_likelihood():
    """On data rounded to a resolution close to the sd, the binned EM's fit is the maximum
    of the likelihood of the data as recorded, found independently by SciPy."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(4)
    x = np.round(np.r_[rng.normal(0.0, 0.8, 150), rng.normal(4.0, 1.2, 100)])  # h = 1 ~ sd
    sel = gmm.select_k(KEY, x, [2], resolution=1.0, min_std=1e-3, tol=1e-12, max_iter=20000)
    fit = sel.mixtures[2]

    def neg(theta):
        w = 1.0 / (1.0 + np.exp(-theta[0]))
        m = gmm.Mixture([w, 1 - w], theta[1:3], np.exp(theta[3:5]))
        return -gmm.binned_log_likelihood(x, m, 1.0)

    w0 = float(fit.weights[0])
    start = np.r_[np.log(w0 / (1 - w0)), fit.means, np.log(fit.stds)]
    best = minimize(neg, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    # SciPy cannot improve on the EM fit, and the EM fit's score is the binned likelihood.
    assert -best.fun <= sel.log_likelihoods[2] + 1e-6
    assert sel.log_likelihoods[2] == pytest.approx(-neg(start), abs=1e-9)
    # Dropping the within-bin variance moves the sds by far more than that.
    np.testing.assert_allclose(np.exp(best.x[3:5]), fit.stds, rtol=1e-3)


# ---------------------------------------------------------------------------
# The lower bound L(q, theta) and one exact EM step (chapter 4's derivation)
# ---------------------------------------------------------------------------

THETA_T = gmm.Mixture([0.3, 0.7], [420.0, 470.0], [40.0, 25.0])


def _random_q(rng, n, k):
    return rng.dirichlet(np.ones(k), size=n)


def test_lower_bound_is_below_the_log_likelihood_with_gap_kl():
    x = _np(gmm.datasets.bento())
    ll = float(THETA_T.log_likelihood(x))
    r = _np(THETA_T.responsibilities(x))
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = _random_q(rng, x.size, 2)
        bound = gmm.estimation.em.lower_bound(x, THETA_T, q)
        kl = float(np.sum(q * (np.log(q) - np.log(r))))
        assert bound < ll
        assert ll - bound == pytest.approx(kl, rel=1e-9, abs=1e-9)
    # Equality (the bound touches) at the responsibilities, the E step.
    assert gmm.estimation.em.lower_bound(x, THETA_T, r) == pytest.approx(ll, abs=1e-9)


def test_lower_bound_matches_its_formula_and_handles_zeros():
    x = np.array([0.0, 1.0, 5.0])
    m = gmm.Mixture([1.0, 0.0], [0.0, 5.0], [1.0, 2.0])  # component 1 has weight 0
    q = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    expected = float(np.sum(stats.norm.logpdf(x, 0.0, 1.0)))  # entropy 0, log pi_0 = 0
    assert gmm.estimation.em.lower_bound(x, m, q) == pytest.approx(expected, rel=1e-12)
    q_bad = np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 0.5]])  # mass on a weight-0 component
    assert gmm.estimation.em.lower_bound(x, m, q_bad) == -np.inf


@pytest.mark.parametrize(
    "resp",
    [np.full((20, 3), 1 / 3), np.full((19, 2), 0.5), np.full((20, 2), 0.6),
     np.tile([1.5, -0.5], (20, 1)), np.full((20, 2), np.nan)],
    ids=["k", "n", "rows", "negative", "nan"],
)
def test_lower_bound_rejects_bad_q(resp):
    with pytest.raises(ValueError, match="resp"):
        gmm.estimation.em.lower_bound(gmm.datasets.bento(), THETA_T, resp)


def test_em_step_is_the_hand_m_step_and_maximises_the_bound():
    x = _np(gmm.datasets.bento())
    r = _np(THETA_T.responsibilities(x))
    new = gmm.estimation.em.em_step(x, THETA_T)
    nk = r.sum(axis=0)
    mu = r.T @ x / nk
    sd = np.sqrt((r * (x[:, None] - mu) ** 2).sum(axis=0) / nk)
    np.testing.assert_allclose(_np(new.weights), nk / x.size, rtol=1e-12)
    np.testing.assert_allclose(_np(new.means), mu, rtol=1e-12)
    np.testing.assert_allclose(_np(new.stds), sd, rtol=1e-12)
    # The M step raises the bound built at theta_t, which raises the log-likelihood.
    at_new = gmm.estimation.em.lower_bound(x, new, r)
    assert at_new > gmm.estimation.em.lower_bound(x, THETA_T, r) + 1.0
    assert float(new.log_likelihood(x)) >= at_new
    # ... and no nearby parameters give a higher bound: it is the bound's maximum.
    rng = np.random.default_rng(1)
    for _ in range(20):
        w = np.clip(_np(new.weights) + rng.normal(0, 0.01, 2), 1e-3, None)
        moved = gmm.Mixture(w / w.sum(), _np(new.means) + rng.normal(0, 1.0, 2),
                            _np(new.stds) * np.exp(rng.normal(0, 0.05, 2)))
        assert gmm.estimation.em.lower_bound(x, moved, r) < at_new


def test_em_steps_follow_fit_em_from_the_same_start():
    """Iterating em_step climbs as fit_em does and reaches its optimum on the bentos."""
    x = _np(gmm.datasets.bento())
    m, lls = THETA_T, []
    for _ in range(60):
        lls.append(float(m.log_likelihood(x)))
        m = gmm.estimation.em.em_step(x, m)
    assert np.all(np.diff(lls) >= -1e-9)
    assert lls[-1] == pytest.approx(fit_em(KEY, x, 2).log_likelihood, abs=1e-4)


def test_em_step_rejects_a_non_mixture():
    with pytest.raises(ValueError, match="mixture"):
        gmm.estimation.em.em_step(gmm.datasets.bento(), (0.5, 0.5))


@pytest.mark.parametrize("key_seed", [1, 7, 11])
def test_random_start_is_fit_ems_random_start(key_seed):
    """random_start gives the start of fit_em(init="random", n_init=1): its log-likelihood is
    the run's history[0], its means are distinct data points, its sds the data's sd / K."""
    x = _np(gmm.datasets.bento())
    key = jax.random.key(key_seed)
    start = gmm.estimation.em.random_start(key, x, 2)
    run = fit_em(key, x, 2, init="random", n_init=1, max_iter=1)
    assert float(start.log_likelihood(x)) == pytest.approx(run.history[0], abs=1e-9)
    np.testing.assert_allclose(_np(start.weights), [0.5, 0.5])
    np.testing.assert_allclose(_np(start.stds), [x.std() / 2] * 2, rtol=1e-12)
    means = _np(start.means)
    assert all(np.sum(x == m) >= 1 for m in means)
    assert np.sum(x == means[0]) >= 2 or means[0] != means[1]  # two distinct points
    # One exact EM step from it is fit_em's first step (up to reg_covar, 1e-6 g^2 here).
    np.testing.assert_allclose(_np(gmm.estimation.em.em_step(x, start).means), _np(run.mixture.means), atol=1e-4)


def test_random_start_key_7_puts_both_means_on_a_repeated_weight():
    x = _np(gmm.datasets.bento())
    means = _np(gmm.estimation.em.random_start(jax.random.key(7), x, 2).means)
    assert means[0] == means[1] and np.sum(x == means[0]) >= 2


@pytest.mark.parametrize("n_per_clump, k", [(500, 2), (500, 3), (2000, 3)])
def test_converged_means_no_material_gain_left(n_per_clump, k):
    """A fit that reports converged is within a few tol per point of what a much longer run
    from the same starts reaches. On two clumps, K = 3 crawls (a redundant component): the
    per-step rule stopped there 1.2 nats (N = 1000) and 0.09 nats (N = 4000) short, and
    called it converged."""
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0.0, 1.0, n_per_clump), rng.normal(5.0, 1.0, n_per_clump)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmm.ConvergenceWarning)
        res = fit_em(KEY, x, k)
        if res.converged:
            longer = fit_em(KEY, x, k, tol=1e-9, max_iter=20_000)
            assert longer.log_likelihood - res.log_likelihood <= 10 * defaults.TOL * x.size


def test_more_components_never_fit_worse_on_large_data():
    """Nested models: a K = 3 mixture contains every K = 2 one, so its maximum is at least
    as high. On 40,000 points (a quantile sketch, then all the data) the per-step rule left
    K = 3 0.41 nats below K = 2."""
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0.0, 1.0, 20_000), rng.normal(5.0, 1.0, 20_000)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmm.ConvergenceWarning)
        two, three = (fit_em(KEY, x, k).log_likelihood for k in (2, 3))
    assert three >= two - 0.01


def test_default_starts_scale_with_the_data():
    """On the line the default number of starts keeps an iteration over all of them to
    N_INIT_WORK component-values: 64 on the 20 bentos, 4 on the 16,384-value sketch of any
    large data set (whose fits cost what they did)."""
    assert fit_em.__kwdefaults__["n_init"] is None
    assert defaults.n_init_line(20, 4) == defaults.N_INIT_MAX_AUTO == 64
    assert all(defaults.n_init_line(16_384, k) == defaults.N_INIT_FIT == 4 for k in range(1, 9))
    assert defaults.n_init_line(8_192, 2) == 4 and defaults.n_init_line(1_000, 2) == 32
    for n, k in [(20, 1), (300, 3), (1_000, 5), (5_000, 2)]:
        m = defaults.n_init_line(n, k)
        assert 4 <= m <= 64 and m & (m - 1) == 0
        assert m == 4 or m == 64 or m * 64 * k <= defaults.N_INIT_WORK < 2 * m * max(64, 1 << (n - 1).bit_length()) * k


def test_default_starts_find_the_best_bento_fit():
    """On the 20 bentos K = 4 has its best fit (found by 256 starts) at -35.47, with a
    component on a repeated weight; 4 starts ended at -52.39 for every key tried."""
    x = gmm.datasets.bento()
    best = fit_em(KEY, x, 4, n_init=256).log_likelihood
    assert fit_em(KEY, x, 4).log_likelihood >= best - 0.01


def test_means_are_right_next_to_values_near_2_to_62():
    """2**62 - 1 is 2**62 in float64; the fit of the float64 values puts one mean at 5.5
    and one at 2**62. After centring and scaling 5 and 6 are one number, and the mean used
    to come back as 0.0."""
    res = fit_em(KEY, [2**62, 2**62 - 1, 5, 6], 2)
    np.testing.assert_allclose(_np(res.mixture.means), [5.5, 2.0**62], rtol=1e-12)
    np.testing.assert_allclose(_np(res.mixture.weights), [0.5, 0.5])
    assert res.log_likelihood == pytest.approx(float(res.mixture.log_likelihood(np.array([2.0**62] * 2 + [5.0, 6.0]))),
                                               rel=1e-12)
