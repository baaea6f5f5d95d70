"""The GenJAX models: addresses, shapes, reproducibility, and densities checked with scipy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from genjax import const, seed
from scipy import stats
from scipy.special import gammaln, logsumexp

import gmm
from gmm import Prior, bayesian_gmm, bayesian_gmm_marginal, bento_mixture, observations

N, K = 20, 2
X = np.asarray(gmm.datasets.bento(), dtype=np.float64)

# A non-default prior, so that every hyperparameter actually enters the density.
PRIOR = Prior(alpha=2.5, mean_loc=420.0, mean_scale=60.0, std_shape=3.0, std_rate=0.5)
PI = np.array([0.25, 0.75])  # exactly representable, sums to 1 in float32
MU = np.array([352.0, 499.0])
SIGMA = np.array([2.5, 1.5])
Z = (X > 425).astype(np.int32)  # bentos above 425 g from component 1


def log_prior(prior, pi, mu, sigma):
    k = pi.size
    a = prior.alpha
    dirichlet = gammaln(k * a) - k * gammaln(a) + np.sum((a - 1) * np.log(pi))
    assert np.isclose(dirichlet, stats.dirichlet.logpdf(pi, np.full(k, a)))
    normal = stats.norm.logpdf(mu, prior.mean_loc, prior.mean_scale).sum()
    # Gamma in shape-rate form: scipy's scale is 1 / rate.
    gamma = stats.gamma.logpdf(sigma, a=prior.std_shape, scale=1.0 / prior.std_rate).sum()
    return dirichlet + normal + gamma


# jit: one XLA compilation per model instead of dozens of eager ones (keeps the tests fast).
assess_gmm = jax.jit(bayesian_gmm.assess)
assess_marginal = jax.jit(bayesian_gmm_marginal.assess)


def bento_args(n=N):
    return const(n), jnp.array([0.4, 0.6]), jnp.array([350.0, 500.0]), jnp.array([2.0, 2.0])


@pytest.fixture(scope="module")
def bento_traces():
    sim = jax.jit(seed(bento_mixture.simulate))  # one compilation instead of many eager ones
    return [sim(jax.random.key(s), *bento_args()) for s in (0, 0, 1)]


def test_bento_mixture_addresses_and_shapes(bento_traces):
    tr = bento_traces[0]
    ch = tr.get_choices()
    assert set(ch) == {"bentos"}
    assert set(ch["bentos"]) == {"component", "weight"}
    z, x = np.asarray(ch["bentos"]["component"]), np.asarray(ch["bentos"]["weight"])
    assert z.shape == (N,) and x.shape == (N,)
    assert np.issubdtype(z.dtype, np.integer) and np.issubdtype(x.dtype, np.floating)
    assert set(np.unique(z)) <= {0, 1}
    np.testing.assert_array_equal(np.asarray(tr.get_retval()), x)
    # Every weight sits within 6 sd of its own component's mean.
    assert np.all(np.abs(x - np.array([350.0, 500.0])[z]) < 12.0)


def test_bento_mixture_score_is_minus_log_joint(bento_traces):
    tr = bento_traces[0]
    ch = tr.get_choices()["bentos"]
    z, x = np.asarray(ch["component"]), np.asarray(ch["weight"], dtype=np.float64)
    w, mu, sd = np.array([0.4, 0.6]), np.array([350.0, 500.0]), np.array([2.0, 2.0])
    log_joint = np.sum(np.log(w[z]) + stats.norm.logpdf(x, mu[z], sd[z]))
    assert float(tr.get_score()) == pytest.approx(-log_joint, rel=1e-5)


def test_bento_mixture_reproducible(bento_traces):
    a, b, c = (t.get_choices()["bentos"] for t in bento_traces)
    np.testing.assert_array_equal(np.asarray(a["weight"]), np.asarray(b["weight"]))
    np.testing.assert_array_equal(np.asarray(a["component"]), np.asarray(b["component"]))
    assert not np.array_equal(np.asarray(a["weight"]), np.asarray(c["weight"]))


def _full_choices(pi=PI, mu=MU, sigma=SIGMA, z=Z, x=X):
    f32 = lambda a: jnp.asarray(a, dtype=jnp.float32)  # noqa: E731
    return {
        "weights": f32(pi),
        "means": f32(mu),
        "stds": f32(sigma),
        "obs": {"z": jnp.asarray(z, dtype=jnp.int32), "x": f32(x)},
    }


def test_bayesian_gmm_assess_matches_scipy():
    density, retval = assess_gmm(_full_choices(), const(N), const(K), PRIOR)
    expected = (
        log_prior(PRIOR, PI, MU, SIGMA)
        + np.sum(np.log(PI[Z]))  # categorical assignments
        + np.sum(stats.norm.logpdf(X, MU[Z], SIGMA[Z]))  # observations given assignments
    )
    assert float(density) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(np.asarray(retval[1]), MU)


def test_bayesian_gmm_assess_penalises_wrong_assignments():
    wrong = 1 - Z
    good, _ = assess_gmm(_full_choices(), const(N), const(K), PRIOR)
    bad, _ = assess_gmm(_full_choices(z=wrong), const(N), const(K), PRIOR)
    expected_bad = log_prior(PRIOR, PI, MU, SIGMA) + np.sum(np.log(PI[wrong])) + np.sum(
        stats.norm.logpdf(X, MU[wrong], SIGMA[wrong])
    )
    assert float(bad) == pytest.approx(expected_bad, rel=1e-5)
    assert float(bad) < float(good)


@pytest.fixture(scope="module")
def generated():
    gen = jax.jit(seed(bayesian_gmm.generate))
    return [gen(jax.random.key(s), observations(X), const(N), const(K), PRIOR) for s in (3, 3)]


def test_bayesian_gmm_generate_keeps_observations(generated):
    tr, _ = generated[0]
    ch = tr.get_choices()
    assert set(ch) == {"weights", "means", "stds", "obs"}
    assert set(ch["obs"]) == {"z", "x"}
    np.testing.assert_array_equal(np.asarray(ch["obs"]["x"]), X.astype(np.float32))
    assert ch["weights"].shape == (K,) and ch["means"].shape == (K,) and ch["stds"].shape == (K,)
    assert ch["obs"]["z"].shape == (N,)
    assert float(jnp.sum(ch["weights"])) == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.asarray(ch["stds"]) > 0)
    assert set(np.unique(np.asarray(ch["obs"]["z"]))) <= {0, 1}


def test_bayesian_gmm_generate_weight_and_score(generated):
    tr, weight = generated[0]
    ch = tr.get_choices()
    pi = np.asarray(ch["weights"], np.float64)
    pi = pi / pi.sum()
    mu = np.asarray(ch["means"], np.float64)
    sigma = np.asarray(ch["stds"], np.float64)
    z = np.asarray(ch["obs"]["z"])
    loglik = stats.norm.logpdf(X, mu[z], sigma[z])
    # Unconstrained choices come from the prior, so the importance weight is the likelihood
    # of the constrained observations.
    assert float(weight) == pytest.approx(loglik.sum(), rel=1e-4, abs=1e-2)
    log_joint = log_prior(PRIOR, pi, mu, sigma) + np.sum(np.log(pi[z])) + loglik.sum()
    assert float(-tr.get_score()) == pytest.approx(log_joint, rel=1e-4, abs=1e-2)


def test_bayesian_gmm_generate_reproducible(generated):
    (a, wa), (b, wb) = generated
    for addr in ("weights", "means", "stds"):
        np.testing.assert_array_equal(np.asarray(a.get_choices()[addr]), np.asarray(b.get_choices()[addr]))
    assert float(wa) == float(wb)


def test_bayesian_gmm_marginal_assess_matches_scipy():
    choices = {
        "weights": jnp.asarray(PI, jnp.float32),
        "means": jnp.asarray(MU, jnp.float32),
        "stds": jnp.asarray(SIGMA, jnp.float32),
        "x": jnp.asarray(X, jnp.float32),
    }
    density, _ = assess_marginal(choices, const(N), const(K), PRIOR)
    mixture_ll = logsumexp(np.log(PI) + stats.norm.logpdf(X[:, None], MU, SIGMA), axis=1).sum()
    expected = log_prior(PRIOR, PI, MU, SIGMA) + mixture_ll
    assert float(density) == pytest.approx(expected, rel=1e-5)
    # Summing out z: the marginal equals log sum_z p(params, z, x) computed from the explicit model.
    per_point = logsumexp(np.log(PI) + stats.norm.logpdf(X[:, None], MU, SIGMA), axis=1)
    np.testing.assert_allclose(per_point.sum(), mixture_ll)


def test_observations_structure():
    c = observations([1, 2, 3])
    assert set(c) == {"obs"} and set(c["obs"]) == {"x"}
    assert c["obs"]["x"].dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(c["obs"]["x"]), [1.0, 2.0, 3.0])


def test_prior_defaults():
    p = Prior()
    assert (p.alpha, p.mean_loc, p.mean_scale, p.std_shape, p.std_rate) == (1.0, 400.0, 50.0, 2.0, 1.0)


def test_prior_is_a_pytree():
    leaves = jax.tree_util.tree_leaves(PRIOR)
    assert [float(v) for v in leaves] == [2.5, 420.0, 60.0, 3.0, 0.5]


@pytest.mark.parametrize("field", ["alpha", "mean_scale", "std_shape", "std_rate"])
@pytest.mark.parametrize("value", [0.0, -1.0, np.nan, np.inf, "abc", None])
def test_prior_rejects_non_positive(field, value):
    with pytest.raises(ValueError, match=field):
        Prior(**{field: value})


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, "abc", None])
def test_prior_rejects_non_finite_mean_loc(value):
    with pytest.raises(ValueError, match="mean_loc"):
        Prior(mean_loc=value)


def test_prior_accepts_negative_mean_loc():
    assert Prior(mean_loc=-5.0).mean_loc == -5.0


def test_mean_conditional_matches_normalised_grid():
    """mu | sigma, z: the prior N(m0, s0^2) times the points' likelihood, normalised on a grid."""
    from gmm.models.generative import mean_conditional

    pts = X[Z == 1]
    grid = np.linspace(480.0, 520.0, 400_001)
    log_post = stats.norm.logpdf(grid, PRIOR.mean_loc, PRIOR.mean_scale)
    log_post = log_post + stats.norm.logpdf(pts[:, None], grid, SIGMA[1]).sum(axis=0)
    p = np.exp(log_post - log_post.max())
    p /= p.sum()
    grid_mean = np.sum(p * grid)
    grid_var = np.sum(p * (grid - grid_mean) ** 2)
    loc, var = mean_conditional(PRIOR, float(pts.size), float(pts.sum()), SIGMA[1])
    np.testing.assert_allclose([loc, var], [grid_mean, grid_var], rtol=1e-6)
    # Tempered and weighted: count and total scale together, beta = 0 gives the prior back.
    loc0, var0 = mean_conditional(PRIOR, 0.0 * pts.size, 0.0 * pts.sum(), SIGMA[1])
    np.testing.assert_allclose([loc0, var0], [PRIOR.mean_loc, PRIOR.mean_scale**2])
