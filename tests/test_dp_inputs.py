"""Issue 26 in the Dirichlet process samplers (gmm.dp_gibbs, Algorithms 8 and 3) and the
D-dimensional conjugate Gibbs sampler (gmm.gibbs on (N, D) data): a far outlier neither merges
the real clusters nor turns the draws into NaN; counts given as NumPy or JAX integers and flags
as NumPy bools are taken, as every other sampler takes them; runs that would need more than
10^8 float64 numbers (gmm._util.validation.check_memory's one limit) or hours are refused by a
ValueError naming the arguments, their values and the limit.

The runs share shapes (81 points, n_samples=100, n_chains=2; warmup is traced), so each
sampler compiles once for the file.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gmm

_rng = np.random.default_rng(0)
# two clusters of 40 points at 0 and 10 (sd 1), in 1-D and 2-D; the outlier is point 80
X1 = np.r_[_rng.normal(0.0, 1.0, 40), _rng.normal(10.0, 1.0, 40)]
X2 = np.c_[X1, np.r_[_rng.normal(0.0, 1.0, 40), _rng.normal(10.0, 1.0, 40)]]
OUT1 = np.r_[X1, 1e12]
OUT2 = np.r_[X2, [[1e12, 1e12]]]
RUN = dict(n_samples=100, n_chains=2)
KEY = jax.random.key(0)


def _quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains may warn about convergence
        return f(*args, **kwargs)


def _assert_outlier_alone_and_clusters_found(post):
    """Co-clustering: the outlier (point 80) shares a cluster with no real point, each real group
    mostly with itself, the two groups never; at least three clusters in most draws."""
    co = post.coclustering
    assert co[80, :80].max() < 0.05, co[80, :80].max()
    assert co[:40, :40].mean() > 0.8 and co[40:80, 40:80].mean() > 0.8, (co[:40, :40].mean(), co[40:80, 40:80].mean())
    assert co[:40, 40:80].max() < 0.05, co[:40, 40:80].max()
    assert np.mean(post.n_clusters >= 3) > 0.9, np.bincount(post.n_clusters.ravel())


def _robust_prior(x):
    loc = np.median(x)
    scale = np.subtract(*np.quantile(x, [0.75, 0.25])) / 1.349
    return gmm.Prior(alpha=1.0, mean_loc=loc, mean_scale=scale, std_shape=2.0, std_rate=4.0 / scale)


@pytest.mark.parametrize("robust", [False, True], ids=["default_prior", "robust_prior"])
def test_dp_gibbs_1d_far_outlier_does_not_merge_the_clusters(robust):
    """Algorithm 8 on standardised data: with the mean and sd as the unit, an outlier at 1e12
    squeezed both real clusters into one float32 value and every draw merged them. Under the
    default base measure and under one centred and scaled by the median and IQR."""
    prior = _robust_prior(OUT1) if robust else None
    post = _quiet(gmm.dp_gibbs, KEY, OUT1, prior=prior, n_warmup=100, **RUN)
    _assert_outlier_alone_and_clusters_found(post)
    occupied = post.sizes > 0
    assert np.all(np.isfinite(post.means[occupied])) and np.all(post.stds[occupied] > 0)
    # the clusters holding the real points sit on them, in data units (a group may split in two)
    big = post.means[post.sizes >= 5]
    assert np.all(np.min(np.abs(big[:, None] - np.array([0.0, 10.0])), axis=-1) < 2.0)


def test_dp_gibbs_2d_far_outlier_gives_finite_draws_and_finds_the_clusters():
    """Algorithm 3: the log marginal of a cluster far from the prior mean is computed from its
    scatter (no NaN); every draw's components are finite and the real ones sit on (0, 0), (10, 10)."""
    post = _quiet(gmm.dp_gibbs, KEY, OUT2, n_warmup=100, **RUN)
    _assert_outlier_alone_and_clusters_found(post)
    occupied = post.sizes > 0
    assert np.all(np.isfinite(post.means[occupied])) and np.all(np.isfinite(post.covariances[occupied]))
    assert np.all(np.linalg.eigvalsh(post.covariances[occupied]) > 0)
    three = post.n_clusters == 3
    means = post.means[three][:, :3]  # (draws, 3 clusters, D), largest first: the real ones, then the outlier
    real = np.sort(means[:, :2, 0], axis=1)
    np.testing.assert_allclose(np.median(real, axis=0), [0.0, 10.0], atol=1.0)
    np.testing.assert_allclose(np.median(means[:, 2], axis=0), [1e12, 1e12], rtol=0.1)


def test_gibbs_2d_far_outlier_gives_finite_draws_and_the_three_means():
    """The conjugate sampler: Psi_n factored from the scatter plus a rank-one update, Sigma's
    factor by Bartlett's construction without refactoring, so no draw is NaN; the posterior
    medians of the means are near (0, 0), (10, 10) and (1e12, 1e12); densities and assignment
    probabilities at new points are finite."""
    post = _quiet(gmm.gibbs, KEY, OUT2, 3, n_samples=200, n_warmup=200, n_chains=2)
    for name in ("weights", "means", "covariances", "assignment_probs"):
        assert np.all(np.isfinite(getattr(post, name))), name
    med = np.median(post.means.reshape(-1, 3, 2), axis=0)  # relabelled by the first coordinate
    np.testing.assert_allclose(med[:2], [[0.0, 0.0], [10.0, 10.0]], atol=1.0)
    np.testing.assert_allclose(med[2], [1e12, 1e12], rtol=0.1)
    assert np.all(post.assignment_probs[80] > [-1.0, -1.0, 0.99])  # the outlier is its own component
    # summaries at new points factor each drawn covariance again: the outlier's is nearly rank one
    grid = np.array([[0.0, 0.0], [10.0, 10.0], [1e12, 1e12]])
    dens = post.predictive_density(grid, max_draws=100)
    assert np.all(np.isfinite(dens)) and np.all(dens[:2] > 1e-3)
    probs = post.predictive_assignment_probs(grid)
    np.testing.assert_allclose(np.diag(probs), 1.0, atol=1e-6)


def test_niw_prior_from_data_is_robust_to_the_outlier():
    prior = gmm.NIWPrior.from_data(OUT2)
    np.testing.assert_allclose(prior.mean_loc, np.median(OUT2, axis=0))
    assert np.all(np.diag(prior.scale_matrix) < 100.0)  # the IQR, not the sd of 1e12 / 9


@pytest.mark.parametrize("data", [X1, X2], ids=["alg8", "alg3"])
def test_numpy_and_jax_counts_and_numpy_bool_flags_are_taken(data):
    """The same draws as with Python ints and bools (same shapes: no new compilation)."""
    plain = _quiet(gmm.dp_gibbs, KEY, data, n_samples=100, n_warmup=10, n_chains=2, prior_only=False)
    typed = _quiet(gmm.dp_gibbs, KEY, data, n_samples=jnp.int32(100), n_warmup=np.int64(10), n_chains=np.int8(2),
                   prior_only=np.bool_(False),
                   **({"n_aux": np.uint16(3)} if data.ndim == 1 else {"max_clusters": jnp.int32(32)}))
    np.testing.assert_array_equal(plain.n_clusters, typed.n_clusters)
    np.testing.assert_array_equal(plain.coclustering, typed.coclustering)


X1_SMALL, X2_SMALL = X1[:20], X2[:20]
REFUSED = [
    # (call, words the message must hold: the argument, its value, the limit)
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, n_aux=10**7), ["n_aux=10000000", "at most 100,000,000", "n_aux <= 6556"]),
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, n_aux=10**7, n_samples=4, n_warmup=0, n_chains=1),
     ["n_aux=10000000", "at most 100,000,000", "n_aux <= 129192"]),
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, n_aux=10**5, n_samples=4, n_chains=1, n_warmup=10**6),
     ["n_aux", "100000", "n_warmup", "1000000", "at most 2e+11"]),
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, n_warmup=10**9), ["n_warmup", "1000000000", "10000000"]),
    (lambda: gmm.dp_gibbs(KEY, X2_SMALL, n_warmup=10**9), ["n_warmup", "1000000000", "10000000"]),
    (lambda: gmm.dp_gibbs(KEY, X1, n_warmup=10**7), ["n_warmup", "10000000", "at most 2e+11"]),
    (lambda: gmm.dp_gibbs(KEY, X2, n_warmup=10**7), ["n_warmup", "10000000", "max_clusters", "at most 2e+11"]),
    (lambda: gmm.dp_gibbs(KEY, X2_SMALL, max_clusters=10**7, n_samples=4, n_chains=1),
     ["max_clusters", "10000000", "at most"]),
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, n_chains=10**4), ["n_chains", "10000", "1024"]),
    (lambda: gmm.dp_gibbs(KEY, X2_SMALL, n_chains=10**4), ["n_chains", "10000", "1024"]),
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, n_samples=10**8, n_chains=1), ["n_samples=100000000", "at most 100,000,000"]),
    (lambda: gmm.gibbs(KEY, X2_SMALL, 2, n_warmup=10**9), ["n_warmup", "1000000000", "10000000"]),
    (lambda: gmm.gibbs(KEY, X2_SMALL, 2, n_warmup=10**7, n_temperatures=64),
     ["n_temperatures", "64", "n_warmup", "10000000", "at most 2e+11"]),
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, n_samples=True), ["n_samples", "True"]),
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, n_warmup=5.0), ["n_warmup", "5.0"]),
    (lambda: gmm.dp_gibbs(KEY, X2_SMALL, n_chains=jnp.float32(2.0)), ["n_chains"]),
    (lambda: gmm.dp_gibbs(KEY, X1_SMALL, prior_only=1), ["prior_only", "1"]),
    (lambda: gmm.dp_gibbs(KEY, X2_SMALL, prior_only=jnp.bool_(True)), ["prior_only"]),
    (lambda: gmm.dp_gibbs(KEY, X2_SMALL, max_clusters=np.bool_(True)), ["max_clusters", "True"]),
    (lambda: gmm.dp_gibbs(KEY, np.r_[X1_SMALL, 1e20], n_samples=4, n_warmup=0, n_chains=1),
     ["x[20]", "1e+20", "at most 1e+15"]),
    (lambda: gmm.gibbs(KEY, np.r_[X2_SMALL, [[0.0, 1e20]]], 2), ["x[20, 1]", "1e+20", "at most 1e+15"]),
]


@pytest.mark.parametrize("call,words", REFUSED, ids=[f"refused-{i}" for i in range(len(REFUSED))])
def test_oversized_or_mistyped_runs_are_refused_before_any_work(call, words):
    with pytest.raises(ValueError) as err:
        call()
    for word in words:
        assert word in str(err.value), (word, str(err.value))
