"""Tests of the Dirichlet process mixture in D dimensions (Neal's Algorithm 3 under the
Normal-Inverse-Wishart base measure, ``gmm.dp_gibbs`` on (N, D) data).

The reference is exact: every set partition of 8 points in 2-D (Bell(8) = 4140), weighted by
the CRP's probability alpha^b Gamma(alpha) / Gamma(alpha + N) prod_blocks Gamma(n_b) (with
alpha integrated over its Gamma prior by quadrature when it has one) times each block's
closed-form NIW marginal likelihood (gmm.models.niw.log_marginal). Nothing here depends on the
sampler's code or mixing.

Every run uses the same n_samples, n_chains and max_clusters and at most 32 points, so the
whole file compiles the sampler once.
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import gammaln

import gmm
from gmm.models import niw
from gmm._util.numerics import set_partitions
from gmm.models.crp import crp_n_clusters_pmf
from gmm.models.niw import NIWPrior

RUN = dict(n_samples=5000, n_warmup=200, n_chains=4, max_clusters=8)
X8 = np.array([[-1.2, -0.4], [-0.7, -1.1], [-1.5, -0.9], [-0.4, -0.3], [1.1, 0.8], [0.6, 1.4], [1.6, 1.0],
               [0.2, 0.5]])
PRIOR8 = NIWPrior(alpha=1.0, mean_loc=np.array([0.3, -0.2]), kappa=0.1, dof=5.0,
                  scale_matrix=np.array([[0.8, 0.2], [0.2, 0.5]]))


def exact_posterior(x: np.ndarray, prior: NIWPrior, alpha: float, alpha_prior=None):
    """P(K = k | x) (N + 1,), P(z_i = z_j | x) (N, N) and E[alpha | x] by enumeration."""
    n_pts = x.shape[0]
    parts = set_partitions(n_pts)
    onehot = np.eye(n_pts)[parts]  # (P, N, blocks)
    n = onehot.sum(axis=1)
    s1 = np.einsum("pnk,nd->pkd", onehot, x)
    s2 = np.einsum("pnk,nd,ne->pkde", onehot, x, x)
    with jax.enable_x64(True):
        pj = jax.tree_util.tree_map(jnp.asarray, prior)
        log_lik = np.asarray(niw.log_marginal(pj, jnp.asarray(n), jnp.asarray(s1), jnp.asarray(s2))).sum(axis=1)
    b = (n > 0).sum(axis=1)
    ks = np.arange(n_pts + 1)

    def log_crp_alpha(t, k):  # the part of the CRP probability that depends on alpha
        return k * math.log(t) + gammaln(t) - gammaln(t + n_pts)

    if alpha_prior is None:
        log_w_k, mean_alpha_k = log_crp_alpha(alpha, ks), np.full(ks.size, alpha)
    else:
        a, rate = alpha_prior

        def dens(t, k):
            return np.exp(log_crp_alpha(t, k) + stats.gamma.logpdf(t, a, scale=1 / rate))

        w = np.array([integrate.quad(dens, 0, np.inf, args=(k,))[0] if k else 1.0 for k in ks])
        mean_alpha_k = np.array([integrate.quad(lambda t: t * dens(t, k), 0, np.inf)[0] if k else 1.0
                                 for k in ks]) / w
        log_w_k = np.log(w)
    log_post = log_w_k[b] + gammaln(np.maximum(n, 1)).sum(axis=1) + log_lik
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    pk = np.bincount(b, weights=w, minlength=n_pts + 1)
    co = np.einsum("p,pij->ij", w, (parts[:, :, None] == parts[:, None, :]).astype(float))
    return pk, co, float(pk @ mean_alpha_k)


@pytest.mark.parametrize("alpha_prior", [None, (2.0, 1.5)], ids=["fixed_alpha", "gamma_alpha"])
def test_matches_exact_enumeration_of_partitions(seed, alpha_prior):
    alpha = 1.0
    pk, co, mean_alpha = exact_posterior(X8, PRIOR8, alpha, alpha_prior)
    post = gmm.dp_gibbs(jax.random.key(seed), X8, prior=PRIOR8, concentration=alpha,
                        concentration_prior=alpha_prior, **RUN)
    freq = np.bincount(post.n_clusters.ravel(), minlength=9) / post.n_clusters.size
    assert np.max(np.abs(freq - pk)) < 0.03, (freq.round(3), pk.round(3))
    assert np.max(np.abs(post.coclustering - co)) < 0.03
    if alpha_prior is not None:  # Escobar and West's update, against the exact E[alpha | x]
        mcse = post.concentration.std() / math.sqrt(post.ess["concentration"])
        assert abs(post.concentration.mean() - mean_alpha) < max(4 * mcse, 0.02 * mean_alpha)


def test_prior_only_follows_the_crp_and_the_capacity_truncates_it(seed):
    """Without the likelihood K follows the CRP law; with 16 points and max_clusters = 8 the
    sampler draws from that law restricted to K <= 8, and warns that the capacity was hit."""
    alpha = 1.7
    post = gmm.dp_gibbs(jax.random.key(seed), X8, concentration=alpha, prior_only=True, **RUN)
    freq = np.bincount(post.n_clusters.ravel(), minlength=9) / post.n_clusters.size
    assert np.max(np.abs(freq - crp_n_clusters_pmf(8, alpha))) < 0.02
    off = post.coclustering[~np.eye(8, dtype=bool)]
    assert np.max(np.abs(off - 1 / (1 + alpha))) < 0.03  # P(i, j share a table) = 1 / (1 + alpha)
    x16, alpha = np.vstack([X8, X8 + 3.0]), 5.0
    with pytest.warns(RuntimeWarning, match="max_clusters=8"):
        post = gmm.dp_gibbs(jax.random.key(seed), x16, concentration=alpha, prior_only=True, **RUN)
    law = crp_n_clusters_pmf(16, alpha)[:9]
    assert law[8] > 0.1  # the capacity binds
    freq = np.bincount(post.n_clusters.ravel(), minlength=9) / post.n_clusters.size
    assert np.max(np.abs(freq - law / law.sum())) < 0.03


CENTRES = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])


def test_three_separated_clusters(seed):
    rng = np.random.default_rng(seed)
    x = np.concatenate([c + 0.6 * rng.standard_normal((8, 2)) for c in CENTRES])
    truth = np.repeat(np.arange(3), 8)
    post = gmm.dp_gibbs(jax.random.key(seed), x, **RUN)
    assert post.n_clusters_probs().get(3, 0.0) > 0.9
    same = truth[:, None] == truth[None, :]
    assert post.coclustering[same].min() > 0.9 and post.coclustering[~same].max() < 0.1
    # shapes and consistency of the draws
    assert post.dim == 2 and post.stds is None and post.data.shape == (24, 2)
    assert np.all(post.sizes.sum(axis=2) == 24)
    assert np.all((post.sizes > 0).sum(axis=2) == post.n_clusters)
    width = post.sizes.shape[2]
    assert post.means.shape == (4, 5000, width, 2) and post.covariances.shape == (4, 5000, width, 2, 2)
    np.testing.assert_allclose(np.diag(post.coclustering), 1.0)
    np.testing.assert_allclose(post.coclustering, post.coclustering.T)
    # a draw with three clusters: its components sit on the true centres, with SPD covariances
    c, s = np.argwhere(post.n_clusters == 3)[0]
    comp = post.components(int(c), int(s))
    assert comp["weights"].sum() == pytest.approx(1.0) and comp["covariances"].shape == (3, 2, 2)
    dist = np.linalg.norm(comp["means"][:, None, :] - CENTRES[None], axis=2).min(axis=1)
    assert np.all(dist < 1.5), comp["means"]
    assert np.all(np.linalg.eigvalsh(comp["covariances"]) > 0)
    assert gmm.Mixture(**comp).dim == 2
    tree = post.to_arviz()
    assert tree.posterior["covariances"].shape == (4, 5000, width, 2, 2)
    assert {r["parameter"] for r in post.summary()} == {"n_clusters", "concentration"}


def test_component_draws_follow_the_niw_posterior():
    """With one cluster (alpha tiny, points close), every draw's (mu, Sigma) is from the NIW
    posterior of all the points: E[Sigma] = Psi_n / (dof_n - D - 1), E[mu] = m_n."""
    x = X8 * 0.05
    prior = NIWPrior(alpha=1.0, mean_loc=np.zeros(2), kappa=0.5, dof=6.0, scale_matrix=np.eye(2))
    post = gmm.dp_gibbs(jax.random.key(3), x, prior=prior, concentration=1e-6, **RUN)
    assert np.all(post.n_clusters == 1)
    with jax.enable_x64(True):
        kappa_n, m_n, dof_n, psi_n = (np.asarray(v) for v in niw.posterior(
            jax.tree_util.tree_map(jnp.asarray, prior), jnp.float64(8), jnp.asarray(x.sum(0)), jnp.asarray(x.T @ x)))
    cov = post.covariances[..., 0, :, :].reshape(-1, 2, 2)
    mean = post.means[..., 0, :].reshape(-1, 2)
    expected_cov = psi_n / (dof_n - 3)
    # Monte Carlo error of 20000 independent draws: well under 5% of the entries
    np.testing.assert_allclose(cov.mean(axis=0), expected_cov, atol=0.05 * np.abs(expected_cov).max())
    np.testing.assert_allclose(mean.mean(axis=0), m_n, atol=0.05 * math.sqrt(np.diag(expected_cov).max() / kappa_n))


def test_same_key_same_draws_and_units():
    x = np.vstack([X8, X8 + [4.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p1 = gmm.dp_gibbs(jax.random.key(7), x, **RUN)
        p2 = gmm.dp_gibbs(jax.random.key(7), x, **RUN)
        p3 = gmm.dp_gibbs(jax.random.key(8), x, **RUN)
        # other units and origin: the default prior (NIWPrior.from_data) moves with the data
        pk = gmm.dp_gibbs(jax.random.key(7), x * [1000.0, 0.01] + [300.0, -5.0], **RUN)
    for field in ("n_clusters", "sizes", "means", "covariances", "coclustering"):
        np.testing.assert_array_equal(getattr(p1, field), getattr(p2, field))
    assert not np.array_equal(p1.n_clusters, p3.n_clusters)
    assert p1.means.dtype == np.float64 and p1.coclustering.dtype == np.float64
    np.testing.assert_array_equal(p1.n_clusters, pk.n_clusters)
    np.testing.assert_allclose((pk.means - [300.0, -5.0]) / [1000.0, 0.01], p1.means, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(pk.covariances / np.outer([1000.0, 0.01], [1000.0, 0.01]), p1.covariances,
                               rtol=1e-6, atol=1e-10)
    with pytest.raises(ValueError, match="chain"):
        p1.components(4, 0)
    with pytest.raises(ValueError, match="predictive_density"):
        p1.predictive_density(np.zeros(3))


GOOD = dict(n_samples=4, n_warmup=0, n_chains=1)
X2 = np.arange(20.0).reshape(10, 2)
BAD = [
    ({"x": np.zeros((4, 2, 2))}, "x"),
    ({"x": [[1.0, 2.0], [3.0, np.nan], [0.0, 1.0]]}, "x"),
    ({"x": np.ones((3, 5))}, "x"),  # N <= D: a transposed array
    ({"prior": gmm.Prior()}, "prior"),
    ({"prior": NIWPrior.from_data(np.ones((5, 3)) + np.arange(15).reshape(5, 3))}, "prior"),
    ({"prior": "niw"}, "prior"),
    ({"n_aux": 3}, "n_aux"),
    ({"max_clusters": 0}, "max_clusters"),
    ({"max_clusters": 2.5}, "max_clusters"),
    ({"max_clusters": True}, "max_clusters"),
    ({"x": np.arange(5.0), "max_clusters": 4}, "max_clusters"),  # Algorithm 8 has no capacity
    ({"concentration": 0.0}, "concentration"),
    ({"concentration_prior": (1.0, 0.0)}, "concentration_prior"),
    ({"n_samples": 3}, "n_samples"),
    ({"init": "kmeans"}, "init"),
    ({"prior_only": "yes"}, "prior_only"),
    ({"key": 3}, "key"),
    ({"x": np.zeros((20_000, 2)), "n_chains": 4}, "n_chains"),  # 32 GiB of co-clustering counts
]


@pytest.mark.parametrize("change,name", BAD, ids=[f"{n}-{i}" for i, (_, n) in enumerate(BAD)])
def test_bad_input_names_argument(change, name):
    args = {"key": jax.random.key(0), "x": X2, **GOOD, **change}
    key, x = args.pop("key"), args.pop("x")
    with pytest.raises(ValueError, match=name):
        gmm.dp_gibbs(key, x, **args)
