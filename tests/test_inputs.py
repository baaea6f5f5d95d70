"""Every public entry point against the same bad inputs; same key, same result; inputs
never changed; and the float32 and outlier cases that once gave silently wrong answers.

The table feeds each function's data, key and K arguments the same list of bad values.
Each must raise a ValueError (or TypeError) whose message names the argument: checks
run before any computation, so these cases cost no compilation.
"""

from __future__ import annotations

import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

import gmm

KEY = jax.random.key(0)
X = np.asarray(gmm.datasets.bento(), np.float64)
SMALL = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
PRIOR = gmm.Prior()

BAD_DATA = {
    "nan": [1.0, np.nan, 3.0],
    "inf": [1.0, np.inf, 3.0],
    "empty": [],
    "3-D": np.ones((4, 5, 2)),
    "0-D": 3.0,
    "strings": ["a", "b"],
    "string": "1,2,3",
    "None": None,
    "bool": [True, False, True],
    "complex": np.array([1 + 1j, 2.0]),
    "object": np.array([1.0, "x"], dtype=object),
    "ragged": [[1.0, 2.0], [3.0]],
    "masked": np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False]),
    "huge spread": [0.0, 1e300, 2.0],  # squared deviations overflow float64
    "tiny spread": [0.0, 1e-200, 2e-200],  # and underflow to 0
}
BAD_KEYS = {
    "int": 0,
    "None": None,
    "string": "key",
    "batch": jax.random.split(KEY, 3),
    "float array": jnp.zeros(2),
    "uint32 triple": jnp.zeros(3, jnp.uint32),
}
BAD_K = {"zero": 0, "negative": -1, "float": 2.5, "float-int": 2.0, "bool": True, "string": "2", "None": None,
         "too many": 10_000}

# name -> (call(key, x, k), data argument's name)
ENTRY_POINTS = {
    "fit_em": lambda key, x, k: gmm.fit_em(key, x, k),
    "fit_em streamed": lambda key, x, k: gmm.fit_em(key, x, k, chunk_size=3),
    "select_k": lambda key, x, k: gmm.select_k(key, x, [k]),
    "naive_select_k": lambda key, x, k: gmm.naive_select_k(key, x, [k]),
    "gibbs": lambda key, x, k: gmm.gibbs(key, x, k, prior=PRIOR),
    "importance_sampling": lambda key, x, k: gmm.importance_sampling(key, x, k, prior=PRIOR),
    "log_marginal_likelihood": lambda key, x, k: gmm.log_marginal_likelihood(key, x, k, prior=PRIOR),
    "posterior_over_k": lambda key, x, k: gmm.posterior_over_k(key, x, [k], prior=PRIOR),
}
NO_KEY = {
    "exact_log_marginal_likelihood": lambda x, k: gmm.exact_log_marginal_likelihood(x, k, prior=PRIOR),
    "bic": lambda x, k: gmm.bic(x, gmm.Mixture([1.0], [400.0], [50.0])),
    "aic": lambda x, k: gmm.aic(x, gmm.Mixture([1.0], [400.0], [50.0])),
    "data_resolution": lambda x, k: gmm.data_resolution(x),
    "binned_log_likelihood": lambda x, k: gmm.binned_log_likelihood(x, gmm.Mixture([1.0], [400.0], [50.0]), 1.0),
    "Mixture.log_prob": lambda x, k: gmm.Mixture([1.0], [400.0], [50.0]).log_prob(x),
    "observations": lambda x, k: gmm.observations(x),
    "plotting.grid_for": lambda x, k: gmm.plotting.grid_for(x),
    "Prior.from_data": lambda x, k: gmm.Prior.from_data(x),
}


_COMPILES: list[str] = []  # JAX's compile events (jaxpr traces, XLA compilations), in order
jax.monitoring.register_event_duration_secs_listener(
    lambda event, _seconds, **_: _COMPILES.append(event) if event.startswith("/jax/core/compile/") else None)


def _raises_naming(call, *names):
    """call() raises a ValueError or TypeError whose message names one of ``names`` as a
    word of its own ("x must ...", not the x of "exceeds"), before JAX traced or compiled
    anything: input checks come first, so a refusal is immediate."""
    before = len(_COMPILES)
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    msg = str(info.value)
    assert any(re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", msg) for n in names), msg
    assert len(_COMPILES) == before, f"compiled before refusing ({_COMPILES[before:]}): {msg}"


@pytest.mark.parametrize("bad", list(BAD_DATA), ids=list(BAD_DATA))
@pytest.mark.parametrize("fn", list(NO_KEY), ids=list(NO_KEY))
def test_bad_data_without_key(fn, bad):
    _raises_naming(lambda: NO_KEY[fn](BAD_DATA[bad], 2), "x")


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: gmm.Mixture([1.0], [0.0], [1.0]).sample(KEY, 2**40), "n must be at most"),
        (lambda: gmm.fit_em(KEY, X, 2, max_iter=10**9), "max_iter must be at most"),
        (lambda: gmm.gibbs(KEY, X, 2, prior=PRIOR, n_samples=10**9), "n_samples must be at most"),
        (lambda: gmm.importance_sampling(KEY, X, 2, prior=PRIOR, n_particles=10**12), "n_particles must be at most"),
        (lambda: gmm.n_parameters(-1), "n_components"),
        (lambda: gmm.Prior(alpha="2"), "alpha"),
        (lambda: gmm.Prior(mean_scale=True), "mean_scale"),
        (lambda: gmm.plotting.grid_for(X, n=0), "n must be"),
        (lambda: gmm.count_modes(gmm.Mixture([1.0], [0.0], [1.0]), 0.0, float("nan")), "hi"),
    ],
)
def test_sizes_and_helpers_are_checked(call, name):
    _raises_naming(call, name)


def test_fit_em_takes_points_in_d_dimensions():
    x = np.r_[np.zeros((20, 2)), np.ones((20, 2)) * 5.0] + np.random.default_rng(0).normal(size=(40, 2))
    fit = gmm.fit_em(KEY, x, 2, covariance_type="diag")
    assert isinstance(fit, gmm.EMResult) and fit.mixture.dim == 2
    assert fit.log_likelihood == fit.mixture.log_likelihood(x)
    assert np.all(fit.mixture.covariances * (1 - np.eye(2)) == 0)


def test_mixture_cannot_be_changed_after_construction():
    m = gmm.Mixture([0.5, 0.5], [0.0, 5.0], [1.0, 1.0])
    with pytest.raises(AttributeError):
        m.stds = np.array([-1.0, 1.0])
    with pytest.raises(ValueError):
        m.stds[0] = -1.0  # read-only array
    assert m.stds[0] == 1.0


@pytest.mark.parametrize("k", [np.int64(2), jnp.int32(2), np.array(2)])
def test_any_integer_scalar_is_a_valid_k(k):
    assert gmm.fit_em(KEY, X, k).mixture.n_components == 2


@pytest.mark.parametrize(
    "key", [jax.random.PRNGKey(0), jax.random.key(0, impl="rbg"), jax.random.key(0, impl="unsafe_rbg")],
    ids=["legacy", "rbg", "unsafe_rbg"],
)
def test_every_key_kind_works_everywhere(key):
    r = gmm.importance_sampling(key, X, 2, prior=PRIOR, n_particles=64, proposal="em")
    assert np.isfinite(r.log_evidence)
    assert gmm.fit_em(key, X, 2).mixture.n_components == 2


# --- same key, same result; inputs unchanged ---------------------------------------

# Sizes shared with the other test files (bento data, 10,000 particles, 500 x 8 SMC), so
# that these runs reuse their compiled programs.
RANDOM_FUNCTIONS = {
    "fit_em": lambda key, x: gmm.fit_em(key, x, 2).mixture.means,
    "select_k": lambda key, x: gmm.select_k(key, x, [1, 2]).scores[2],
    "naive_select_k": lambda key, x: gmm.naive_select_k(key, x, [2]).scores[2],
    "gibbs": lambda key, x: gmm.gibbs(key, x, 2, prior=PRIOR, n_chains=1, n_samples=40, n_warmup=50).means,
    "importance_sampling": lambda key, x: gmm.importance_sampling(
        key, x, 2, prior=PRIOR, n_particles=10_000, proposal="prior").log_weights,
    "log_marginal_likelihood": lambda key, x: gmm.log_marginal_likelihood(
        key, x, 2, prior=PRIOR, n_particles=500, n_runs=8).log_evidence,
    "posterior_over_k": lambda key, x: gmm.posterior_over_k(
        key, x, [2, 3], prior=PRIOR, n_particles=500, n_runs=8).log_evidence[3],
    "Mixture.sample": lambda key, x: gmm.Mixture([0.5, 0.5], [350.0, 500.0], [2.0, 2.0]).sample(key, 50)[0],
}


@pytest.mark.parametrize("fn", list(RANDOM_FUNCTIONS), ids=list(RANDOM_FUNCTIONS))
def test_same_key_same_result_and_input_unchanged(fn):
    x = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains warn; not the point here
        first = np.asarray(RANDOM_FUNCTIONS[fn](jax.random.key(3), x))
        second = np.asarray(RANDOM_FUNCTIONS[fn](jax.random.key(3), x))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(x, X)


# --- regressions: float32 at the edges, outliers, resolution ------------------------


def _timestamps(n=20):
    rng = np.random.default_rng(0)
    z = rng.random(n) < 0.5
    return 1.7e9 + np.where(z, 20.0, 0.0) + rng.normal(0.0, 2.0, n)


def test_em_on_timestamps_reports_the_likelihood_of_what_it_returns():
    x = _timestamps(200)
    fit = gmm.fit_em(KEY, x, 2)
    assert fit.mixture.means.dtype == np.float64
    np.testing.assert_allclose(fit.mixture.means - 1.7e9, [0.0, 20.0], atol=1.0)
    assert fit.log_likelihood == pytest.approx(float(fit.mixture.log_likelihood(x)), abs=1e-6)
    assert float(np.sum(fit.mixture.log_prob(x))) == pytest.approx(fit.log_likelihood, abs=1e-6)
    sk = GaussianMixture(2, n_init=4, random_state=0, tol=1e-8).fit((x - 1.7e9)[:, None])
    assert fit.log_likelihood >= sk.score((x - 1.7e9)[:, None]) * x.size - 1e-6


def test_samplers_on_timestamps():
    x = _timestamps()  # 20 points: the bento tests' compiled shapes
    prior = gmm.Prior(mean_loc=1.7e9 + 10, mean_scale=20.0, std_shape=2.0, std_rate=1.0)
    post = gmm.gibbs(KEY, x, 2, prior=prior)
    np.testing.assert_allclose(post.means.mean(axis=(0, 1)) - 1.7e9, [0.0, 20.0], atol=2.0)
    r = gmm.importance_sampling(KEY, x, 2, prior=prior, n_particles=10_000, proposal="em")
    assert r.ess > 100
    # Translating data and prior together changes nothing: the evidence is that of x - 1.7e9.
    shifted = gmm.Prior(mean_loc=10.0, mean_scale=20.0, std_shape=2.0, std_rate=1.0)
    r0 = gmm.importance_sampling(KEY, x - 1.7e9, 2, prior=shifted, n_particles=10_000, proposal="em")
    assert r.log_evidence == pytest.approx(r0.log_evidence, abs=5 * r0.log_evidence_stderr + 0.05)


def test_one_outlier_does_not_wreck_the_fit():
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(0, 1, 100), rng.normal(10, 1, 100), 1e12]
    fit = gmm.fit_em(KEY, x, 3)
    assert fit.log_likelihood == pytest.approx(float(fit.mixture.log_likelihood(x)), rel=1e-9)
    sk = GaussianMixture(3, n_init=4, random_state=0).fit(x[:, None])
    assert fit.log_likelihood >= sk.score(x[:, None]) * x.size - 1e-3
    far = gmm.fit_em(KEY, [1e9, 1e9 + 1, 5.0, 6.0], 2)
    np.testing.assert_allclose(far.mixture.means, [5.5, 1e9 + 0.5])
    np.testing.assert_allclose(far.mixture.stds, 0.5, rtol=1e-4)


def test_data_in_any_units_select_the_same_k():
    x = X
    picks = {unit: gmm.naive_select_k(KEY, x * factor, [1, 2, 3]).best_k
             for unit, factor in {"g": 1.0, "mg": 1e3, "kg": 1e-3, "ug": 1e6}.items()}
    assert len(set(picks.values())) == 1, picks
    fits = [gmm.fit_em(KEY, x * f, 2) for f in (1e-30, 1.0, 1e30)]
    for f, fit in zip((1e-30, 1.0, 1e30), fits):
        np.testing.assert_allclose(fit.mixture.means / f, fits[1].mixture.means, rtol=1e-6)


def test_resolution_is_not_fooled_by_one_large_value():
    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(0, 1, 50), rng.normal(6, 1, 50), 1e12]
    assert gmm.data_resolution(x) is None
    assert gmm.data_resolution(np.r_[np.round(x[:-1]), 1e12]) == 1.0
    with pytest.raises(ValueError, match="resolution"):
        gmm.select_k(KEY, x[:-1], [1, 2], resolution=1.0)  # distinct values closer than h


def test_vague_priors_are_refused_not_answered_wrongly():
    prior = gmm.Prior(mean_loc=6.0, mean_scale=1e6)
    with pytest.raises(ValueError, match="mean_scale"):
        gmm.log_marginal_likelihood(KEY, SMALL, 2, prior=prior)
    for s in (1e10, 1e15, 1e20):
        value = gmm.exact_log_marginal_likelihood(SMALL, 2, prior=gmm.Prior(mean_loc=6.0, mean_scale=s))
        assert np.isfinite(value)


def _draws(s=40, k=2):
    rng = np.random.default_rng(0)
    return (rng.dirichlet(np.ones(k), s), rng.normal(size=(s, k)), np.exp(rng.normal(size=(s, k))))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(proposal="em", draws=_draws()), "draws is only used with proposal='allocations'"),
        (dict(proposal="allocations", draws=_draws()[:2]), "draws must be a tuple"),
        (dict(proposal="allocations", draws=(_draws()[0], _draws()[1], -_draws()[2])), "stds must be finite and positive"),
        (dict(proposal="allocations", draws=(_draws()[0], np.full((40, 2), np.nan), _draws()[2])), "means must be finite"),
        (dict(proposal="mcmc"), "proposal must be 'prior', 'em' or 'allocations'"),
        (dict(proposal="allocations"), "draws must be a tuple"),
        (dict(proposal="prior", draws=_draws()), "draws is only used with proposal='allocations'"),
        (dict(proposal="allocations", draws=_draws(s=10)), "S >= 20"),
        (dict(proposal="allocations", draws=_draws(k=3)), "shape \\(S, 2\\)"),
        (dict(proposal="allocations", draws=(-_draws()[0], _draws()[1], _draws()[2])), "weights must be finite and positive"),
        (dict(proposal="allocations", draws=_draws(), inflation=0.0), "inflation"),
        (dict(proposal="allocations", draws=_draws(), defensive=1.0), "defensive"),
        (dict(proposal="allocations", n_components=11, draws=_draws(s=200, k=11)), "up to 10, got 11"),
    ],
)
def test_importance_sampling_checks_its_draws(kwargs, name):
    with pytest.raises(ValueError, match=name):
        gmm.importance_sampling(KEY, X, kwargs.get("n_components", 2), prior=PRIOR, n_particles=64,
                                **{name: v for name, v in kwargs.items() if name != "n_components"})


def test_importance_sampling_from_allocations_runs_and_sorts():
    r = gmm.importance_sampling(KEY, X, 2, prior=PRIOR, n_particles=256, proposal="allocations", draws=_draws(s=200))
    assert r.proposal == "allocations" and r.means.shape == (256, 2) and np.isfinite(r.log_evidence)
    assert np.all(r.log_weights > -np.inf)  # the whole space, no sorted region
    assert np.all(np.diff(r.means, axis=1) >= 0) and r.modes == () and r.em is None


# --- issue 26: crashes and misleading errors ------------------------------------------


def _two_clusters(d=None):
    rng = np.random.default_rng(0)
    shape = (50,) if d is None else (50, d)
    return np.r_[rng.normal(0.0, 1.0, shape), rng.normal(10.0, 1.0, shape)]


def test_data_whose_spread_float64_cannot_square_is_refused_naming_x():
    from gmm._util.validation import check_representable

    x, xd = _two_clusters(), _two_clusters(2)
    for call in (lambda: gmm.select_k(KEY, x * 1e300, range(1, 3)),
                 lambda: gmm.bic(x * 1e300, gmm.Mixture([1.0], [0.0], [1.0])),
                 lambda: gmm.fit_em(KEY, xd * [1.0, 1e200], 2),
                 lambda: gmm.select_k(KEY, x * 1e-200, [1, 2]),
                 lambda: check_representable(np.array([-1e308, 1e308]), "x")):
        with pytest.raises(ValueError, match=r"^x spans .*(rescale it|too far apart)"):
            call()
    assert check_representable(np.full(3, 1e300)).shape == (3,)  # no spread: nothing to square
    # Inside the limits the fit is the same in any units.
    base = gmm.fit_em(KEY, X, 2).mixture.means
    for f in (1e140, 1e-140):
        np.testing.assert_allclose(gmm.fit_em(KEY, X * f, 2).mixture.means / f, base, rtol=1e-6)


def test_log_densities_of_very_narrow_or_wide_components_are_not_nan():
    # sigma^2 underflows (1e-320) or overflows (1e400): norm.logpdf gave NaN at both.
    for s, far in ((1e-160, -np.inf), (1e200, -np.log(1e200) - 0.5 * np.log(2 * np.pi))):
        m = gmm.Mixture([1.0], [0.0], [s])
        np.testing.assert_allclose(m.log_prob([0.0, 1.0]), [-np.log(s) - 0.5 * np.log(2 * np.pi), far], rtol=1e-12)
        assert not np.isnan(gmm.bic([0.0, 1.0, -1.0], m))


def test_sample_works_under_vmap_and_jit():
    # A traced key (vmap over keys, as in the issue; jit in D dimensions) gives the concrete draws.
    keys = jax.random.split(KEY, 3)
    line = gmm.Mixture([0.5, 0.5], [350.0, 500.0], [2.0, 2.0])  # RANDOM_FUNCTIONS' mixture and n
    plane = gmm.Mixture([0.3, 0.7], [[0.0, 0.0], [5.0, 5.0]], covariances=[np.eye(2), [[2.0, 0.5], [0.5, 1.0]]])
    xs, zs = jax.vmap(lambda k: line.sample(k, 50))(keys)
    for i, key in enumerate(keys):
        x, z = line.sample(key, 50)  # concrete: float64 NumPy
        np.testing.assert_array_equal(np.asarray(zs[i]), z)
        np.testing.assert_allclose(np.asarray(xs[i]), x, rtol=1e-6)
    jx, jz = jax.jit(lambda k: plane.sample(k, 50))(keys[1])
    x, z = plane.sample(keys[1], 50)
    np.testing.assert_array_equal(np.asarray(jz), z)
    np.testing.assert_allclose(np.asarray(jx), x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ks, match", [
    (2, "ks must be an iterable of integers"), ("12", "ks must be an iterable of integers"),
    ({1: 2}, "ks must be an iterable of integers"), (np.ones((2, 2), int), "ks must be an iterable of integers"),
    ([2, 1, 2], "ks must not repeat"), ([], "ks is empty"), ([1, 2.5], "ks entry"),
])
def test_ks_is_an_iterable_of_distinct_integers(ks, match):
    xd = _two_clusters(2)
    for call in (lambda: gmm.select_k(KEY, xd, ks), lambda: gmm.select_k(KEY, X, ks),
                 lambda: gmm.posterior_over_k(KEY, X, ks, prior=PRIOR)):
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize("call, name", [
    (lambda: gmm.Mixture([1.0], np.zeros((1, 0)), covariances=np.zeros((1, 0, 0))), "means"),
    (lambda: gmm.Mixture([True, False], [0.0, 1.0], [1.0, 1.0]), "weights"),
    (lambda: gmm.Mixture([0.5, 0.5], [1j, 1.0], [1.0, 1.0]), "means"),
    (lambda: gmm.Mixture([0.5, 0.5], [0.0, 1.0], [1.0 + 0j, 1.0]), "stds"),
    (lambda: gmm.Mixture([1.0], [[0.0, 1.0]], covariances=np.eye(2)[None] * (1 + 0j)), "covariances"),
    (lambda: gmm.Mixture(np.ones(2, bool), [[0.0], [1.0]], covariances=np.ones((2, 1, 1))), "weights"),
    (lambda: gmm.Mixture([0.5, 0.5], ["a", "b"], [1.0, 1.0]), "means"),
    (lambda: gmm.NIWPrior(1.0, [True, False], 1.0, 4.0, np.eye(2)), "prior.mean_loc"),
    (lambda: gmm.NIWPrior(1.0, [1j, 0.0], 1.0, 4.0, np.eye(2)), "prior.mean_loc"),
    (lambda: gmm.NIWPrior(1.0, "ab", 1.0, 4.0, np.eye(2)), "prior.mean_loc"),
    (lambda: gmm.NIWPrior(1.0, ["a", "b"], 1.0, 4.0, np.eye(2)), "prior.mean_loc"),
    (lambda: gmm.NIWPrior(1.0, [0.0, 0.0], 1.0, 4.0, np.eye(2) + 0j), "prior.scale_matrix"),
    (lambda: gmm.NIWPrior(True, [0.0, 0.0], 1.0, 4.0, np.eye(2)), "prior.alpha"),
    (lambda: gmm.fit_em(KEY, [[1, 2], [3]], 2), "x"),
    (lambda: gmm.fit_em(KEY, X, 2, covariance_type="banana"), "covariance_type"),
])
def test_parameters_that_are_not_real_numbers_are_refused_by_name(call, name):
    with pytest.raises(ValueError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(name) or f" {name} " in msg, msg
    assert "zero-size" not in msg and "inhomogeneous" not in msg  # not NumPy's words


def test_every_real_float_dtype_is_data_and_masked_values_are_refused():
    ref = gmm.fit_em(KEY, X, 2)
    for dtype in (jnp.bfloat16, np.float16, np.float32):
        x = np.asarray(jnp.asarray(X, dtype))
        fit = gmm.fit_em(KEY, jnp.asarray(X, dtype), 2)
        np.testing.assert_allclose(fit.mixture.means, gmm.fit_em(KEY, x.astype(np.float64), 2).mixture.means)
        np.testing.assert_allclose(fit.mixture.means, ref.mixture.means, rtol=0.01)
    masked = np.ma.masked_array(X, mask=X > 450)
    with pytest.raises(ValueError, match=r"x\.compressed\(\)"):
        gmm.fit_em(KEY, masked, 2)
    with pytest.raises(ValueError, match=r"filled"):
        gmm.bic(np.ma.masked_array(_two_clusters(2), mask=np.eye(100, 2, dtype=bool)),
                gmm.Mixture([1.0], [[0.0, 0.0]], covariances=[np.eye(2)]))
    unmasked = np.ma.masked_array(X, mask=np.zeros(X.size, bool))  # nothing hidden: plain data
    assert gmm.fit_em(KEY, unmasked, 2).log_likelihood == ref.log_likelihood
    assert gmm.fit_em(KEY, masked.compressed(), 2).mixture.n_components == 2


def test_predictive_density_is_computed_in_chunks(monkeypatch):
    import tracemalloc

    from gmm.inference import posterior_draws
    from test_inputs_entry_points import GIBBS1, GIBBS2

    grid1, grid2 = np.linspace(-4, 4, 301), np.stack(np.meshgrid(np.linspace(-3, 3, 9), [0.0, 1.0]), -1).reshape(-1, 2)
    whole = [post.predictive_density(g, quantiles=(0.1, 0.9)) for post, g in ((GIBBS1, grid1), (GIBBS2, grid2))]
    monkeypatch.setattr(posterior_draws, "_CHUNK_VALUES", 1000)  # chunks of 8 points (60 draws, K = 2)
    for post, g, ref in ((GIBBS1, grid1, whole[0]), (GIBBS2, grid2, whole[1])):
        for got, want in zip(post.predictive_density(g, quantiles=(0.1, 0.9)), ref):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    d = posterior_draws.mixture_densities(GIBBS1.weights, GIBBS1.means, GIBBS1.stds, grid1)
    np.testing.assert_allclose(d.mean(axis=0), whole[0][0], rtol=1e-12)
    # 10^5 grid points, 60 draws: unchunked, each temporary would hold 96 MB.
    monkeypatch.setattr(posterior_draws, "_CHUNK_VALUES", 12_000)
    tracemalloc.start()
    try:
        GIBBS1.predictive_density(np.linspace(-4, 4, 100_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8e6, peak
