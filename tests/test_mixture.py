"""Known-parameter mixtures: densities, responsibilities, sampling, boundaries, modes, checks.

Expected values come from scipy / numpy or closed-form algebra, never from gmm itself.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import gmm
from gmm import Mixture, count_modes, decision_boundaries

W = np.array([0.3, 0.5, 0.2])
MU = np.array([350.0, 500.0, 420.0])
SD = np.array([2.0, 3.0, 15.0])
X = np.array([348.0, 351.5, 420.0, 499.0, 505.0, 380.0, 460.0, -2000.0, 3000.0])  # last two far from all


@pytest.fixture(scope="module")
def mix():
    return Mixture(W, MU, SD)


def _component_logs(x, w, mu, sd):
    return np.log(w) + stats.norm.logpdf(np.asarray(x, float)[:, None], mu, sd)


# ---------------------------------------------------------------- densities

def test_log_prob_matches_scipy(mix):
    expected = logsumexp(_component_logs(X, W, MU, SD), axis=1)
    got = np.asarray(mix.log_prob(X))
    assert got.shape == (X.size,)
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-4)


def test_log_prob_far_from_every_component_is_finite(mix):
    # Direct evaluation of sum_k pi_k N(x | mu_k, sigma_k) underflows to 0 there; log space must not.
    with np.errstate(divide="ignore"):
        assert np.all(np.log((W * stats.norm.pdf(X[-2:, None], MU, SD)).sum(axis=1)) == -np.inf)
    got = np.asarray(mix.log_prob(X))[-2:]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, logsumexp(_component_logs(X[-2:], W, MU, SD), axis=1), rtol=1e-5)


def test_component_log_prob_and_log_likelihood(mix):
    comp = _component_logs(X, W, MU, SD)
    np.testing.assert_allclose(np.asarray(mix.component_log_prob(X)), comp, rtol=2e-6, atol=1e-4)
    ll = float(mix.log_likelihood(X))
    np.testing.assert_allclose(ll, logsumexp(comp, axis=1).sum(), rtol=1e-5)


def test_integer_lists_accepted(mix):
    x = [350, 500, 420, 0, 1, 2, 3, 4, 5]  # same length as X: no recompilation
    expected = logsumexp(_component_logs(x, W, MU, SD), axis=1)
    np.testing.assert_allclose(np.asarray(mix.log_prob(x)), expected, rtol=2e-6, atol=1e-4)


def test_responsibilities_bayes_rule(mix):
    joint = W * stats.norm.pdf(X[:, None], MU, SD)  # prior times likelihood, no logs
    with np.errstate(invalid="ignore", divide="ignore"):
        bayes = joint / joint.sum(axis=1, keepdims=True)
    r = np.asarray(mix.responsibilities(X), dtype=np.float64)
    assert r.shape == (X.size, 3)
    np.testing.assert_allclose(r.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(r >= 0)
    ok = np.isfinite(bayes).all(axis=1)  # rows where the direct formula does not underflow
    assert ok.sum() == 7
    np.testing.assert_allclose(r[ok], bayes[ok], atol=1e-5)


def test_responsibilities_rows_sum_to_one_far_away(mix):
    r = np.asarray(mix.responsibilities(X))[-2:]
    assert np.all(np.isfinite(r))
    np.testing.assert_allclose(r.sum(axis=1), 1.0, atol=1e-5)


def test_n_components_and_sorted(mix):
    assert mix.n_components == 3
    s = mix.sorted()
    order = np.argsort(MU)
    np.testing.assert_allclose(np.asarray(s.means), MU[order])
    np.testing.assert_allclose(np.asarray(s.weights), W[order], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(s.stds), SD[order], rtol=1e-6)
    # Sorting does not change the density.
    np.testing.assert_allclose(np.asarray(s.log_prob(X)), np.asarray(mix.log_prob(X)), rtol=1e-6)


# ---------------------------------------------------------------- sampling

# One sample size throughout: every new n is a new compilation.
N_SAMPLE = 30_000


def test_sample_reproducible_and_key_dependent(mix):
    x1, z1 = mix.sample(jax.random.key(7), N_SAMPLE)
    x2, z2 = mix.sample(jax.random.key(7), N_SAMPLE)
    x3, _ = mix.sample(jax.random.key(8), N_SAMPLE)
    assert x1.shape == (N_SAMPLE,) and z1.shape == (N_SAMPLE,)
    assert jnp.issubdtype(z1.dtype, jnp.integer)
    np.testing.assert_array_equal(np.asarray(x1), np.asarray(x2))
    np.testing.assert_array_equal(np.asarray(z1), np.asarray(z2))
    assert not np.allclose(np.asarray(x1), np.asarray(x3))


def test_sample_statistics_match_parameters(mix):
    n = N_SAMPLE
    x, z = mix.sample(jax.random.key(0), n)
    x, z = np.asarray(x, np.float64), np.asarray(z)
    assert set(np.unique(z)) <= {0, 1, 2}
    freq = np.bincount(z, minlength=3) / n
    se = np.sqrt(W * (1 - W) / n)
    np.testing.assert_array_less(np.abs(freq - W), 5 * se)
    for k in range(3):
        xk = x[z == k]
        assert abs(xk.mean() - MU[k]) < 5 * SD[k] / np.sqrt(xk.size)
        assert abs(xk.std() / SD[k] - 1) < 5 / np.sqrt(2 * xk.size)


# ---------------------------------------------------------------- JAX pytree

def test_pytree_roundtrip(mix):
    leaves, treedef = jax.tree_util.tree_flatten(mix)
    assert len(leaves) == 3
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(back, Mixture)
    np.testing.assert_array_equal(np.asarray(back.means), np.asarray(mix.means))


def test_jit(mix):
    f = jax.jit(lambda m, x: m.log_prob(x))
    np.testing.assert_allclose(np.asarray(f(mix, jnp.asarray(X))), np.asarray(mix.log_prob(X)), rtol=1e-6)
    g = jax.jit(lambda m, key: m.sample(key, N_SAMPLE))
    xj, zj = g(mix, jax.random.key(3))
    xe, ze = mix.sample(jax.random.key(3), N_SAMPLE)
    np.testing.assert_allclose(np.asarray(xj), np.asarray(xe), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(zj), np.asarray(ze))


def test_vmap_over_stacked_mixtures():
    a = Mixture([0.5, 0.5], [0.0, 4.0], [1.0, 1.0])
    b = Mixture([0.2, 0.8], [-1.0, 2.0], [0.5, 2.0])
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), a, b)
    x = jnp.array([-1.0, 0.0, 2.5])
    out = np.asarray(jax.vmap(lambda m: m.log_prob(x))(stacked))
    for row, (w, mu, sd) in zip(out, [([0.5, 0.5], [0, 4], [1, 1]), ([0.2, 0.8], [-1, 2], [0.5, 2])]):
        expected = logsumexp(_component_logs(np.asarray(x), np.array(w), np.array(mu), np.array(sd)), axis=1)
        np.testing.assert_allclose(row, expected, rtol=1e-5)


# ---------------------------------------------------------------- decision boundaries & modes

def test_boundary_equal_weights_equal_variances_is_midpoint():
    m = Mixture([0.5, 0.5], [350.0, 500.0], [20.0, 20.0])
    b = decision_boundaries(m, 300.0, 550.0)
    assert b.shape == (1,)
    assert b[0] == pytest.approx(425.0, abs=1e-3)


@pytest.mark.parametrize(("w1", "mu1", "mu2", "sigma"), [(0.3, 350.0, 500.0, 20.0), (0.8, 350.0, 500.0, 30.0), (0.6, 2.0, -1.0, 1.0)])
def test_boundary_unequal_weights_closed_form(w1, mu1, mu2, sigma):
    # Setting log w1 - (x-mu1)^2/(2s^2) = log w2 - (x-mu2)^2/(2s^2) gives
    # (mu1 - mu2)(2x - mu1 - mu2) = 2 s^2 log(w2/w1).
    w2 = 1 - w1
    expected = (mu1 + mu2) / 2 + sigma**2 * np.log(w2 / w1) / (mu1 - mu2)
    lo, hi = min(mu1, mu2) - 3 * sigma, max(mu1, mu2) + 3 * sigma
    b = decision_boundaries(Mixture([w1, w2], [mu1, mu2], [sigma, sigma]), lo, hi)
    assert b.shape == (1,)
    assert b[0] == pytest.approx(expected, abs=1e-4 * (hi - lo))
    # The larger weight wins more ground: the boundary moves toward the lighter component.
    lighter_mu = mu1 if w1 < w2 else mu2
    assert abs(b[0] - lighter_mu) < abs((mu1 + mu2) / 2 - lighter_mu)


def test_boundaries_unequal_variances_are_quadratic_roots():
    w, mu, sd = np.array([0.3, 0.7]), np.array([0.0, 1.0]), np.array([1.0, 2.0])
    # f(x) = [log w1 - log s1 - (x-m1)^2/(2 s1^2)] - [same for component 2] = a x^2 + b x + c
    a = -1 / (2 * sd[0] ** 2) + 1 / (2 * sd[1] ** 2)
    b = mu[0] / sd[0] ** 2 - mu[1] / sd[1] ** 2
    c = (np.log(w[0]) - np.log(sd[0]) - mu[0] ** 2 / (2 * sd[0] ** 2)) - (
        np.log(w[1]) - np.log(sd[1]) - mu[1] ** 2 / (2 * sd[1] ** 2)
    )
    roots = np.sort(np.roots([a, b, c]).real)
    got = np.sort(decision_boundaries(Mixture(w, mu, sd), -10.0, 10.0))
    assert got.shape == (2,)
    np.testing.assert_allclose(got, roots, atol=2e-3)


def test_boundaries_three_equal_components_are_midpoints():
    m = Mixture([1 / 3, 1 / 3, 1 - 2 / 3], [80.0, 120.0, 155.0], [3.0, 3.0, 3.0])
    b = np.sort(decision_boundaries(m, 60.0, 180.0))
    np.testing.assert_allclose(b, [100.0, 137.5], atol=1e-2)


@pytest.mark.parametrize(
    ("params", "lo", "hi", "modes"),
    [
        (([0.5, 0.5], [350.0, 500.0], [5.0, 5.0]), 300.0, 550.0, 2),
        (([0.4, 0.6], [0.0, 10.0], [1.0, 1.0]), -5.0, 15.0, 2),
        (([1 / 3, 1 / 3, 1 - 2 / 3], [80.0, 120.0, 155.0], [3.0, 3.0, 3.0]), 60.0, 180.0, 3),
        # Separation below 2 sigma with equal weights and sds: unimodal.
        (([0.5, 0.5], [400.0, 410.0], [20.0, 20.0]), 300.0, 500.0, 1),
        (([0.5, 0.5], [0.0, 1.0], [1.0, 1.0]), -6.0, 7.0, 1),
        (([0.3, 0.7], [0.0, 0.0], [1.0, 3.0]), -15.0, 15.0, 1),
    ],
)
def test_count_modes(params, lo, hi, modes):
    assert count_modes(Mixture(*params), lo, hi) == modes


# ---------------------------------------------------------------- bad inputs

GOOD = ([0.5, 0.5], [0.0, 1.0], [1.0, 1.0])


@pytest.mark.parametrize(
    ("weights", "means", "stds", "match"),
    [
        ([-0.5, 1.5], [0.0, 1.0], [1.0, 1.0], "non-negative"),
        ([0.3, 0.3], [0.0, 1.0], [1.0, 1.0], "sum to 1"),
        ([0.6, 0.6], [0.0, 1.0], [1.0, 1.0], "sum to 1"),
        ([0.5, 0.5], [0.0, 1.0, 2.0], [1.0, 1.0], "means"),
        ([0.5, 0.5], [0.0, 1.0], [1.0], "stds"),
        ([0.5, 0.5], [[0.0, 1.0]], [1.0, 1.0], "means"),
        ([[0.5, 0.5]], [0.0, 1.0], [1.0, 1.0], "weights"),
        ([0.5, 0.5], [0.0, 1.0], [1.0, 0.0], "stds"),
        ([0.5, 0.5], [0.0, 1.0], [1.0, -2.0], "stds"),
        ([0.5, 0.5], [0.0, np.nan], [1.0, 1.0], "means"),
        ([0.5, 0.5], [np.inf, 1.0], [1.0, 1.0], "means"),
        ([0.5, 0.5], [0.0, 1.0], [1.0, np.inf], "stds"),
        ([0.5, 0.5], [0.0, 1.0], [np.nan, 1.0], "stds"),
        ([np.nan, 0.5], [0.0, 1.0], [1.0, 1.0], "weights"),
        ([], [], [], "weights"),
        (0.5, 0.0, 1.0, "weights"),
        ("ab", [0.0, 1.0], [1.0, 1.0], "weights"),
        ([0.5, 0.5], "ab", [1.0, 1.0], "means"),
        ([0.5, 0.5], [0.0, 1.0], None, "stds"),
    ],
)
def test_bad_parameters_raise(weights, means, stds, match):
    with pytest.raises(ValueError, match=match):
        Mixture(weights, means, stds)


BAD_X = [
    pytest.param([], "empty", id="empty"),
    pytest.param(np.zeros((0,)), "empty", id="empty-array"),
    pytest.param([[1.0, 2.0]], "1-D", id="2-D"),
    pytest.param(np.ones((2, 2)), "1-D", id="2-D-array"),
    pytest.param(3.0, "1-D", id="scalar"),
    pytest.param("abc", "string", id="str"),
    pytest.param(["a", "b"], "real numbers", id="str-list"),
    pytest.param(np.array([1.0, 2.0], dtype=object), "real numbers", id="object"),
    pytest.param([True, False], "real numbers", id="bool"),
    pytest.param([1.0, np.nan], "finite", id="nan"),
    pytest.param([np.inf, 1.0], "finite", id="inf"),
    pytest.param([1.0, -np.inf], "finite", id="-inf"),
    pytest.param([[1.0], [1.0, 2.0]], "x", id="ragged"),
]


@pytest.mark.parametrize("method", ["log_prob", "responsibilities", "log_likelihood", "component_log_prob"])
@pytest.mark.parametrize(("x", "match"), BAD_X)
def test_bad_x_raises(method, x, match):
    m = Mixture(*GOOD)
    with pytest.raises(ValueError, match=match):
        getattr(m, method)(x)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(0, id="int"),
        pytest.param(None, id="none"),
        pytest.param("key", id="str"),
        pytest.param(np.array([0, 0], dtype=np.uint32), id="numpy-pair"),
        pytest.param(jnp.zeros(3, dtype=jnp.uint32), id="uint32-triple"),
        pytest.param(jnp.array([0.0, 1.0]), id="float-pair"),
        pytest.param(jax.random.split(jax.random.key(0), 2), id="batch-of-keys"),
    ],
)
def test_sample_bad_key_raises(key):
    with pytest.raises(ValueError, match="key"):
        Mixture(*GOOD).sample(key, 10)


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10", None])
def test_sample_bad_n_raises(n):
    with pytest.raises(ValueError, match="n must be"):
        Mixture(*GOOD).sample(jax.random.key(0), n)


def test_public_names_exported():
    assert gmm.Mixture is Mixture
    assert gmm.count_modes is count_modes
    assert gmm.decision_boundaries is decision_boundaries


@pytest.mark.parametrize(
    "args",
    [
        ("not a mixture", 0.0, 1.0),
        (None, 0.0, 1.0),
        ("MIX", 1.0, 0.0),
        ("MIX", 1.0, 1.0),
        ("MIX", float("nan"), 1.0),
        ("MIX", 0.0, float("inf")),
    ],
)
@pytest.mark.parametrize("fn", [gmm.decision_boundaries, gmm.count_modes])
def test_range_helpers_reject_bad_input(fn, args):
    mix = gmm.Mixture([0.5, 0.5], [0.0, 3.0], [1.0, 1.0])
    m, lo, hi = args
    with pytest.raises(ValueError):
        fn(mix if m == "MIX" else m, lo, hi)


@pytest.mark.parametrize("n_grid", [0, 2, 1.5, True])
def test_range_helpers_reject_bad_grid(n_grid):
    mix = gmm.Mixture([0.5, 0.5], [0.0, 3.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="n_grid"):
        gmm.decision_boundaries(mix, -5.0, 5.0, n_grid=n_grid)
