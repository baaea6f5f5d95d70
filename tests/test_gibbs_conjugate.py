"""gmm.gibbs on (N, D) data (the conjugate sampler, gmm/inference/gibbs_conjugate.py): the GenJAX model's
density against SciPy, the sampler's covariance draw against the model's prior, the sampler
against the conjugate closed form, parallel tempering against exact enumeration of all K^N
labellings, the shared API of the two samplers, reproducibility and checks. (Against NumPyro's
NUTS: tests/test_gibbs_conjugate_numpyro.py.)

Every (N, K, n_samples, n_warmup, n_chains, n_temperatures) costs one XLA compilation, so the
runs share shapes: the sampler's data sets have N = 60 points in 2-D, or the 12 of ``X3``.
"""

import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from genjax import const, seed
from scipy import stats
from scipy.special import gammaln

import gmm
from gmm.inference import gibbs_conjugate as conjugate
from gmm._util.numerics import robust_scale_columns
from gmm.inference.gibbs import GibbsPosterior, gibbs
from gmm.models.generative import Prior
from gmm.models.full_covariance import bayesian_gmm_full, niw_component
from gmm.models.niw import NIWPrior, log_marginal

N = 60
PRIOR = NIWPrior(alpha=1.0, mean_loc=np.array([0.0, 0.0]), kappa=0.1, dof=5.0, scale_matrix=np.array([[1.0, 0.2], [0.2, 0.5]]))
RUN = dict(n_samples=1000, n_warmup=200, n_chains=4)

# Three tight clusters of 4 points; with K = 2 two of them must share a component, and the
# posterior puts 0.90 on merging A and C, 0.08 on A and B, 0.02 on B and C (exact enumeration).
_rng = np.random.default_rng(1)
X3 = np.concatenate([c + 0.3 * _rng.standard_normal((4, 2)) for c in ([0.0, 0.0], [4.0, 0.0], [1.5, 3.5])])
PRIOR3 = NIWPrior(alpha=1.0, mean_loc=X3.mean(axis=0), kappa=0.05, dof=4.0, scale_matrix=0.3 * np.eye(2))
PAIRS = ((0, 4), (0, 8), (4, 8))  # one point of A and B, of A and C, of B and C


def closed_form(x, prior):
    """NIW posterior mean of (mu, Sigma) given all points x belong to one component (textbook update)."""
    n, d = x.shape
    xbar = x.mean(axis=0)
    s = (x - xbar).T @ (x - xbar)
    m0, kappa, nu, psi = np.asarray(prior.mean_loc), prior.kappa, prior.dof, np.asarray(prior.scale_matrix)
    kappa_n, nu_n = kappa + n, nu + n
    m_n = (kappa * m0 + n * xbar) / kappa_n
    psi_n = psi + s + kappa * n / kappa_n * np.outer(xbar - m0, xbar - m0)
    return m_n, psi_n / (nu_n - d - 1)


def two_clusters(seed, separation):
    """N points from 0.4 N([-s/2, 0], S0) + 0.6 N([s/2, 1], S1) and their labels."""
    rng = np.random.default_rng(seed)
    means = np.array([[-separation / 2, 0.0], [separation / 2, 1.0]])
    covs = np.array([[[1.0, 0.5], [0.5, 1.0]], [[0.5, -0.2], [-0.2, 0.8]]])
    z = (rng.random(N) < 0.6).astype(int)
    x = means[z] + np.einsum("nde,ne->nd", np.linalg.cholesky(covs)[z], rng.standard_normal((N, 2)))
    return x, z


def assert_mc_close(draws, expected, n_se=5.0):
    """Posterior mean of draws (chains, samples, ...) equals expected within n_se Monte Carlo errors."""
    se = draws.std(axis=(0, 1)) / np.sqrt(gmm.diagnostics.ess(draws))
    assert np.all(np.abs(draws.mean(axis=(0, 1)) - expected) <= n_se * se + 1e-9), (draws.mean(axis=(0, 1)), expected, se)


def test_model_density_matches_scipy():
    ch = jax.jit(lambda key: seed(bayesian_gmm_full.simulate)(key, const(5), const(2), PRIOR).get_choices())(jax.random.key(0))
    w = np.asarray(ch["weights"], np.float64)
    lam = np.asarray(ch["components"]["precision"], np.float64)
    mu = np.asarray(ch["components"]["mean"], np.float64)
    z = np.asarray(ch["obs"]["z"])
    x = np.asarray(ch["obs"]["x"], np.float64)
    psi = np.asarray(PRIOR.scale_matrix)
    ref = stats.dirichlet.logpdf(w / w.sum(), [1.0, 1.0])
    for k in range(2):
        ref += stats.wishart.logpdf(lam[k], df=PRIOR.dof, scale=np.linalg.inv(psi))
        ref += stats.multivariate_normal.logpdf(mu[k], PRIOR.mean_loc, np.linalg.inv(lam[k]) / PRIOR.kappa)
    for i in range(5):
        ref += np.log(w[z[i]]) + stats.multivariate_normal.logpdf(x[i], mu[z[i]], np.linalg.inv(lam[z[i]]))
    score = jax.jit(lambda c: bayesian_gmm_full.assess(c, const(5), const(2), PRIOR)[0])(ch)
    assert float(score) == pytest.approx(ref, rel=1e-3)


def _bartlett_covariances(key, dof, psi, n, reverse=False):
    """n covariances from the sampler's construction (chi-squares as the sweep draws them)."""
    d = psi.shape[0]
    k_g, k_n = jax.random.split(key)
    shift = jnp.arange(d)[::-1] if reverse else jnp.arange(d)
    chi2 = 2.0 * jax.random.gamma(k_g, jnp.broadcast_to((dof - shift) / 2.0, (n, d)))
    trils = jax.vmap(conjugate.inverse_wishart_tril, in_axes=(0, 0, None))(
        chi2, jax.random.normal(k_n, (n, d, d)), jnp.asarray(psi, jnp.float32))
    trils = np.asarray(trils, np.float64)
    return trils @ np.swapaxes(trils, -1, -2)


def test_sampler_covariance_draw_is_the_models_prior():
    """The sweep's Bartlett draw of Sigma ~ IW(dof, Psi) has the law of the model's
    Wishart(dof, Psi^{-1}) precision, inverted (two-sample KS on every entry and log det);
    the same check rejects the construction with the chi-square degrees in reverse order."""
    prior = NIWPrior(alpha=1.0, mean_loc=np.zeros(3), kappa=1.0, dof=4.5,
                     scale_matrix=np.array([[1.0, 0.6, 0.1], [0.6, 2.0, -0.4], [0.1, -0.4, 0.7]]))
    n = 20_000
    keys = jax.random.split(jax.random.key(0), n)
    lam = jax.jit(jax.vmap(lambda k: seed(niw_component.simulate)(k, prior).get_choices()["precision"]))(keys)
    model = np.linalg.inv(np.asarray(lam, np.float64))
    psi = np.asarray(prior.scale_matrix)

    def min_p(cov):
        feats = lambda c: [c[:, i, j] for i in range(3) for j in range(i, 3)] + [np.linalg.slogdet(c)[1]]  # noqa: E731
        return min(stats.ks_2samp(a, b).pvalue for a, b in zip(feats(cov), feats(model)))

    assert min_p(_bartlett_covariances(jax.random.key(1), prior.dof, psi, n)) > 1e-3
    assert min_p(_bartlett_covariances(jax.random.key(1), prior.dof, psi, n, reverse=True)) < 1e-6


def test_bartlett_factor_follows_scipy_invwishart():
    """Sigma = (C U^{-T})(C U^{-T})^T from C = chol(Psi) (:func:`inverse_wishart_factor`) against
    SciPy's ``invwishart(dof, Psi)`` draws (two-sample KS on every entry and log det, and the mean
    Psi / (dof - D - 1)); each factor is lower triangular with a positive diagonal, and for fixed
    variates it is the factor of the inverse of C^{-T} U U^T C^{-1}, exactly."""
    dof, n = 6.5, 20_000
    psi = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])
    k_g, k_n = jax.random.split(jax.random.key(5))
    with jax.enable_x64(True):
        chi2 = 2.0 * jax.random.gamma(k_g, jnp.broadcast_to((dof - jnp.arange(3.0)) / 2.0, (n, 3)))
        normals = jax.random.normal(k_n, (n, 3, 3), jnp.float64)
        trils = np.asarray(jax.vmap(conjugate.inverse_wishart_factor, in_axes=(0, 0, None))(
            chi2, normals, jnp.asarray(np.linalg.cholesky(psi))))
    assert np.all(np.triu(trils, 1) == 0) and np.all(np.diagonal(trils, axis1=1, axis2=2) > 0)
    cov = trils @ np.swapaxes(trils, -1, -2)
    ref = stats.invwishart(df=dof, scale=psi).rvs(n, random_state=np.random.default_rng(0))
    feats = lambda c: [c[:, i, j] for i in range(3) for j in range(i, 3)] + [np.linalg.slogdet(c)[1]]  # noqa: E731
    assert min(stats.ks_2samp(a, b).pvalue for a, b in zip(feats(cov), feats(ref))) > 1e-3
    np.testing.assert_allclose(cov.mean(axis=0), psi / (dof - 3 - 1), atol=0.05)
    # one draw by hand: A lower (chi2 on the diagonal), U = J A J, precision C^{-T} U U^T C^{-1}
    a = np.tril(np.asarray(normals[0], np.float64), -1) + np.diag(np.sqrt(np.asarray(chi2[0], np.float64)))
    u = a[::-1, ::-1]
    c_inv = np.linalg.inv(np.linalg.cholesky(psi))
    np.testing.assert_allclose(cov[0], np.linalg.inv(c_inv.T @ u @ u.T @ c_inv), rtol=1e-10)


@pytest.mark.parametrize("d", [1, 2, 3, 8, 9])
def test_small_cholesky_is_lapacks(d):
    """The unrolled factor the samplers use (LAPACK's beyond D = 8): NumPy's to rounding, NaN
    where the matrix is not positive definite, as jnp.linalg.cholesky."""
    b = np.random.default_rng(d).normal(size=(5, d, d))
    a = b @ np.swapaxes(b, -1, -2) + 0.1 * np.eye(d)
    with jax.enable_x64(True):
        got = np.asarray(conjugate.small_cholesky(jnp.asarray(a)))
        bad = np.asarray(conjugate.small_cholesky(jnp.asarray(np.eye(d) - 2.0 * np.ones((d, d)))))
    np.testing.assert_allclose(got, np.linalg.cholesky(a), rtol=1e-12, atol=1e-12)
    assert np.any(np.isnan(np.diagonal(bad)))


def test_posterior_factor_is_the_textbook_update_and_survives_a_far_point():
    """posterior_tril's (kappa_n, m_n, dof_n, chol Psi_n) against the textbook NIW update (float64),
    for a cluster of points and an empty one; for one point 1e12 from m_0 (Psi_n nearly rank one,
    where factoring Psi_0 + kappa n / kappa_n (xbar - m_0)(xbar - m_0)^T loses Psi_0), log det Psi_n
    is still det(Psi_0) (1 + w^T Psi_0^{-1} w) by the matrix determinant lemma."""
    prior = NIWPrior(alpha=1.0, mean_loc=np.array([0.5, -1.0]), kappa=0.3, dof=4.0,
                     scale_matrix=np.array([[1.0, 0.3], [0.3, 0.4]]))
    x = np.random.default_rng(2).normal(size=(7, 2)) * [2.0, 0.5] + [3.0, 1.0]
    m_ref, _ = closed_form(x, prior)
    xbar = x.mean(axis=0)
    psi_ref = (prior.scale_matrix + (x - xbar).T @ (x - xbar)
               + prior.kappa * 7 / (prior.kappa + 7) * np.outer(xbar - prior.mean_loc, xbar - prior.mean_loc))
    far = np.array([1e12, -3e11])
    with jax.enable_x64(True):
        p64 = jax.tree_util.tree_map(jnp.asarray, prior)
        n = jnp.array([7.0, 0.0, 1.0])
        s1 = jnp.stack([jnp.asarray(x.sum(axis=0)), jnp.zeros(2), jnp.asarray(far)])
        scatter = jnp.stack([jnp.asarray((x - xbar).T @ (x - xbar)), jnp.zeros((2, 2)), jnp.zeros((2, 2))])
        kappa_n, m_n, dof_n, tril = (np.asarray(v) for v in conjugate.posterior_tril(p64, n, s1, scatter))
    np.testing.assert_allclose(kappa_n, prior.kappa + np.array([7.0, 0.0, 1.0]))
    np.testing.assert_allclose(dof_n, prior.dof + np.array([7.0, 0.0, 1.0]))
    np.testing.assert_allclose(m_n[0], m_ref, rtol=1e-12)
    np.testing.assert_allclose(m_n[1], prior.mean_loc)
    psi_n = tril @ np.swapaxes(tril, -1, -2)
    np.testing.assert_allclose(psi_n[0], psi_ref, rtol=1e-12)
    np.testing.assert_allclose(psi_n[1], prior.scale_matrix, rtol=1e-12)
    assert np.all(np.triu(tril, 1) == 0) and np.all(np.diagonal(tril, axis1=1, axis2=2) > 0)
    w = np.sqrt(prior.kappa / (prior.kappa + 1.0)) * (far - prior.mean_loc)
    log_det = np.linalg.slogdet(prior.scale_matrix)[1] + np.log1p(w @ np.linalg.solve(prior.scale_matrix, w))
    assert 2.0 * np.sum(np.log(np.diagonal(tril[2]))) == pytest.approx(log_det, rel=1e-12)


def test_single_component_is_the_exact_niw_posterior():
    x, _ = two_clusters(1, 0.0)
    post = gibbs(jax.random.key(2), x, 1, prior=PRIOR, **RUN)
    m_n, sigma_mean = closed_form(x, PRIOR)
    assert_mc_close(post.means[:, :, 0], m_n)
    assert_mc_close(post.covariances[:, :, 0], sigma_mean)
    np.testing.assert_array_equal(post.weights, 1.0)
    np.testing.assert_allclose(post.assignment_probs, 1.0)


@pytest.fixture(scope="module")
def separated():
    x, z = two_clusters(3, 12.0)
    return x, z, gibbs(jax.random.key(4), x, 2, prior=PRIOR, **RUN)


def test_fixed_assignments_give_the_closed_form(separated):
    """Clusters 12 sd apart: the assignments never change, so each component's posterior is conjugate."""
    x, z, post = separated
    np.testing.assert_allclose(post.assignment_probs, np.eye(2)[z], atol=1e-6)
    for k in range(2):
        m_n, sigma_mean = closed_form(x[z == k], PRIOR)
        assert_mc_close(post.means[:, :, k], m_n)
        assert_mc_close(post.covariances[:, :, k], sigma_mean)
    counts = np.bincount(z, minlength=2)
    assert_mc_close(post.weights, (1.0 + counts) / (2.0 + N))
    assert isinstance(post, GibbsPosterior) and post.weights.shape == (4, 1000, 2) and post.dim == 2
    assert post.means.shape == (4, 1000, 2, 2) and post.covariances.shape == (4, 1000, 2, 2, 2)
    assert post.stds is None and post.acceptance_rate is None and post.prior is PRIOR
    assert post.inverse_temperatures.tolist() == [1.0] and post.swap_acceptance_rate.shape == (4, 0)
    assert np.all(post.rhat["means"] < 1.01) and set(post.rhat) == {"weights", "means", "covariances"}
    assert post.to_arviz().posterior["covariances"].shape == (4, 1000, 2, 2, 2)
    rows = post.summary()
    assert [r["parameter"] for r in rows][:4] == ["weights[0]", "weights[1]", "means[0, 0]", "means[0, 1]"]
    assert len(rows) == 2 + 4 + 2 * 3  # weights, means, the covariances' upper triangles
    np.testing.assert_allclose(post.posterior_mean()["means"], post.means.mean(axis=(0, 1)))


def test_predictive_density_and_assignments_at_new_points(separated):
    """Against SciPy on the same evenly spaced draws: the standardisation is undone exactly."""
    x, _, post = separated
    pts = np.array([[-6.0, 0.0], [6.0, 1.0], [0.0, 0.5], [5.0, 2.0]])
    idx = np.linspace(0, 4 * 1000 - 1, 50).astype(int)
    w, m, c = post.weights.reshape(-1, 2)[idx], post.means.reshape(-1, 2, 2)[idx], post.covariances.reshape(-1, 2, 2, 2)[idx]
    dens = np.array([[sum(w[s, k] * stats.multivariate_normal.pdf(p, m[s, k], c[s, k]) for k in range(2)) for p in pts]
                     for s in range(50)])
    mean, lo, hi = post.predictive_density(pts, quantiles=(0.1, 0.9), max_draws=50)
    np.testing.assert_allclose(mean, dens.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(lo, np.quantile(dens, 0.1, axis=0), rtol=1e-4)
    np.testing.assert_allclose(post.predictive_assignment_probs(x), post.assignment_probs, atol=1e-4)
    with pytest.raises(ValueError, match="grid must have 2 columns"):
        post.predictive_density(np.zeros((3, 3)))


def test_same_key_same_result_and_warning():
    x, _ = two_clusters(8, 4.0)
    short = dict(n_samples=4, n_warmup=1, n_chains=2)
    with pytest.warns(RuntimeWarning, match="gibbs"):
        a = gibbs(jax.random.key(9), x, 2, **short)
    with pytest.warns(RuntimeWarning):
        b = gibbs(jax.random.key(9), x, 2, **short)
    np.testing.assert_array_equal(a.covariances, b.covariances)
    np.testing.assert_array_equal(a.assignment_probs, b.assignment_probs)


def test_one_column_is_one_dimension():
    """(N, 1) data give the (N,) posterior: the same draws with the 1-D model, the same
    one-dimensional shapes with a NIWPrior."""
    x = two_clusters(5, 6.0)[0][:20, 0]
    kw = dict(n_samples=20, n_warmup=10, n_chains=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains: only shapes and equality
        a, b = (gibbs(jax.random.key(1), v, 2, **kw) for v in (x, x[:, None]))
        prior = NIWPrior.from_data(x)
        c, d = (gibbs(jax.random.key(1), v, 2, prior=prior, **kw) for v in (x, x[:, None]))
    for name in ("weights", "means", "stds", "covariances", "assignment_probs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(getattr(c, name), getattr(d, name))
    assert a.means.shape == c.means.shape == c.stds.shape == (2, 20, 2) and c.covariances.shape == (2, 20, 2, 1, 1)
    assert a.dim == c.dim == 1 and a.step_size is not None and c.step_size is None
    np.testing.assert_allclose(c.stds**2, c.covariances[..., 0, 0])
    assert c.predictive_density(np.linspace(-5, 5, 7)).shape == (7,)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(x=np.zeros((10, 2, 2)), n_components=2), r"x must have shape \(N,\) or \(N, D\)"),
        (dict(x=np.zeros((10, 2)), n_components=0), "n_components"),
        (dict(x=np.zeros((10, 2)), n_components=2, n_samples=3), "n_samples"),
        (dict(x=np.zeros((10, 2)), n_components=2, n_chains=0), "n_chains"),
        (dict(x=np.zeros((10, 3)), n_components=2, prior=PRIOR), "prior.mean_loc has dimension 2"),
        (dict(x=np.zeros((10, 2)), n_components=2, prior="flat"), "prior must be"),
        (dict(x=np.zeros((10, 2)), n_components=2, prior=Prior()), "one-dimensional model's.*NIWPrior"),
        (dict(x=np.zeros((10, 2)), n_components=2, n_mh_steps=3), "n_mh_steps=3 applies only to the one-dim"),
        (dict(x=np.zeros(10), n_components=2, prior=NIWPrior.from_data(np.arange(10.0)), init_step_size=0.5),
         "init_step_size=0.5 applies only"),
        (dict(x=np.zeros((10, 2)), n_components=2, n_temperatures=4, min_inverse_temperature=1.5),
         "min_inverse_temperature"),
        (dict(x=np.zeros((10, 2)), n_components=2, n_samples=10**7), "n_samples must be at most .* numbers per draw"),
    ],
)
def test_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gibbs(jax.random.key(0), **kwargs)


@pytest.mark.parametrize(
    "field,value,match",
    [("alpha", 0.0, "prior.alpha"), ("kappa", -1.0, "prior.kappa"), ("dof", 0.5, "prior.dof"),
     ("scale_matrix", np.array([[1.0, 2.0], [2.0, 1.0]]), "positive definite"), ("mean_loc", [np.nan, 0.0], "mean_loc")],
)
def test_bad_prior(field, value, match):
    args = dict(alpha=1.0, mean_loc=np.zeros(2), kappa=1.0, dof=3.0, scale_matrix=np.eye(2))
    args[field] = value
    with pytest.raises(ValueError, match=match):
        NIWPrior(**args)


# ---------------------------------------------------------------------------
# Parallel tempering against exact enumeration
# ---------------------------------------------------------------------------


def exact_coclustering(x, prior, k, beta=1.0):
    """P(z_i = z_j | x) under p(z) prod_k int p(theta_k) prod_{z_i = k} N(x_i | theta_k)^beta,
    by enumerating all K^N labellings (float64; the NIW integral with beta-weighted statistics)."""
    z = np.array(list(itertools.product(range(k), repeat=len(x))))
    with jax.enable_x64(True):
        oh = jnp.asarray(np.eye(k)[z])
        n, s1, s2 = oh.sum(1), jnp.einsum("pnk,nd->pkd", oh, x), jnp.einsum("pnk,nd,ne->pkde", oh, x, x)
        p64 = jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float64), prior)
        lp = np.asarray(log_marginal(p64, beta * n, beta * s1, beta * s2)).sum(axis=1)
    lp += (gammaln(np.asarray(n) + prior.alpha) - gammaln(prior.alpha)).sum(axis=1)  # Dirichlet-multinomial
    p = np.exp(lp - lp.max())
    return np.einsum("p,pij->ij", p / p.sum(), z[:, :, None] == z[:, None, :])


def chain_coclustering(x, weights, means, covs, beta=1.0, max_draws=400):
    """Per chain, the average over draws of P(z_i = z_j | theta, x) = sum_k r_ik r_jk, a
    label-free statistic (r: responsibilities with the likelihood raised to beta); (C, N, N)."""
    c, s, k = weights.shape
    idx = np.linspace(0, s - 1, min(s, max_draws)).astype(int)
    out = []
    for ch in range(c):
        w, m, cov = weights[ch, idx], means[ch, idx], covs[ch, idx]
        lp = np.stack([np.log(w[:, j])[:, None] + beta * np.stack(
            [stats.multivariate_normal.logpdf(x, m[t, j], cov[t, j]) for t in range(len(idx))]) for j in range(k)], -1)
        r = np.exp(lp - lp.max(-1, keepdims=True))
        r /= r.sum(-1, keepdims=True)
        out.append(np.einsum("snk,smk->nm", r, r) / len(idx))
    return np.array(out)


def test_tempering_finds_the_modes_untempered_gibbs_misses():
    """Three tight clusters, K = 2: which two share a component is a separated mode of the
    posterior. Untempered chains keep the merge they start in; with 8 rungs down to
    beta = 0.01 the probability of each merge matches exact enumeration. A tempered chain's
    estimate still has sd about 0.05 (it visits the rarer merges in a few long stays), so 16
    chains: a standard error of about 0.013, a third of the tolerance."""
    ref = exact_coclustering(X3, PRIOR3, 2)
    expected = np.array([ref[i, j] for i, j in PAIRS])
    assert expected[1] > 0.85 and np.all(expected[[0, 2]] < 0.1)
    kw = dict(prior=PRIOR3, n_samples=1000, n_warmup=300, min_inverse_temperature=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the stuck run may or may not warn
        stuck = gibbs(jax.random.key(0), X3, 2, n_temperatures=1, **kw)
        tempered = gibbs(jax.random.key(0), X3, 2, n_temperatures=8, n_chains=16, **kw)
    co_stuck = chain_coclustering(X3, stuck.weights, stuck.means, stuck.covariances)
    co = chain_coclustering(X3, tempered.weights, tempered.means, tempered.covariances)
    got_stuck = np.array([co_stuck[:, i, j] for i, j in PAIRS])  # (3 pairs, chains)
    got = np.array([co.mean(axis=0)[i, j] for i, j in PAIRS])
    # Every untempered chain sits in one merge: its pair probabilities are 0 or 1.
    assert np.all(np.minimum(got_stuck, 1 - got_stuck) < 0.02), got_stuck
    assert np.max(np.abs(got_stuck.mean(axis=1) - expected)) > 0.05, (got_stuck, expected)
    np.testing.assert_allclose(got, expected, atol=0.04)
    assert tempered.inverse_temperatures.shape == (8,) and tempered.inverse_temperatures[-1] == pytest.approx(0.01)
    assert np.all(tempered.swap_acceptance_rate.mean(axis=0) > 0.1)


def test_each_rung_samples_its_tempered_target():
    """The sweep at a fixed beta (no swaps) against enumeration of p(z) p(x | z)^beta with
    theta integrated out. 64 chains, so that mixing within one is not needed; at beta = 0.1
    a chain's estimate has sd about 0.03, so the tolerance is about 6 standard errors."""
    beta = 0.1
    loc, scale = robust_scale_columns(X3)
    y64, prior64 = (X3 - loc) / scale, PRIOR3.standardised(loc, scale)
    y, prior = jnp.asarray(y64, jnp.float32), jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float32), prior64)
    w, m, l, *_ = conjugate.run(jax.random.key(3), y, prior, jnp.asarray([beta], jnp.float32), 2, 600, 200, 64,
                                jnp.asarray(False), jnp.asarray(False))
    l = np.asarray(l, np.float64)
    co = chain_coclustering(y64, np.asarray(w, np.float64), np.asarray(m, np.float64), l @ np.swapaxes(l, -1, -2),
                            beta=beta, max_draws=100).mean(axis=0)
    ref = exact_coclustering(y64, prior64, 2, beta)
    assert np.max(np.abs(ref - exact_coclustering(X3, PRIOR3, 2, beta))) < 1e-9  # standardising changes nothing
    off = ~np.eye(len(X3), dtype=bool)  # the diagonal of co is sum_k r_ik^2, not a probability
    np.testing.assert_allclose(co[off], ref[off], atol=0.025)
    assert abs(ref[0, 4] - exact_coclustering(X3, PRIOR3, 2)[0, 4]) > 0.5  # beta matters here
