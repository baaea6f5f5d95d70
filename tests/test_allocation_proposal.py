"""The "allocations" importance proposal against independent references: permanents by brute
force over every permutation, the symmetrised density against an explicit sum over pieces and
permutations of SciPy densities, the NumPy draws against SciPy's laws (Kolmogorov-Smirnov), and
the whole estimator against the exact evidence of tiny data sets (which it can only match when
q_sym is a normalised density: an error factor c in q shifts the estimate by -log c)."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import gmm
from gmm.inference.allocation_proposal import (
    Pieces,
    allocation_stats,
    draw_pieces,
    log_permanent,
    log_symmetrised_density,
    piece_parameters,
)
from gmm.models.generative import Prior, draw_stds_numpy

PRIOR = Prior(alpha=1.0, mean_loc=0.0, mean_scale=3.0, std_shape=2.0, std_rate=2.0)
CHIB_LIKE = Prior.inverse_gamma_variance(1.0, 0.0, 3.0, 3.0, 2.0)


def brute_log_permanent(log_a: np.ndarray) -> float:
    k = log_a.shape[0]
    return float(logsumexp([sum(log_a[r, p[r]] for r in range(k)) for p in itertools.permutations(range(k))]))


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7])
def test_permanent_matches_brute_force(k):
    rng = np.random.default_rng(k)
    # entries spread over e^-15 .. e^15, rows offset by up to e^+-200 (beyond float32 unless scaled)
    log_a = rng.normal(0.0, 5.0, (6, k, k)) + rng.uniform(-200.0, 200.0, (6, k, 1))
    log_a[0, :, 0] -= 60.0  # a column of tiny entries: the big row maxima cannot all be matched
    ours = np.asarray(log_permanent(jnp.asarray(log_a, jnp.float32)), np.float64)
    ref = np.array([brute_log_permanent(a) for a in log_a])
    np.testing.assert_allclose(ours, ref, rtol=2e-6, atol=1e-4)  # float32 on logs up to ~1400


def test_permanent_of_a_row_of_zeros_is_zero():
    log_a = np.zeros((3, 3))
    log_a[1] = -np.inf
    assert float(log_permanent(jnp.asarray(log_a, jnp.float32))) == -np.inf


def random_pieces(rng, prior, s, k, spread=1.2):
    n = rng.integers(0, 6, (s, k)).astype(float)
    xbar = np.where(n > 0, rng.normal(0.0, 2.0, (s, k)), 0.0)
    ss = np.where(n > 1, rng.gamma(2.0, 1.0, (s, k)) * (n - 1), 0.0)
    return piece_parameters((n, xbar, ss), prior, spread)


def scipy_log_piece(piece: Pieces, df, w, m, sd, prior) -> float:
    """log q_s(theta) for one piece (arrays (K,)) from SciPy's densities."""
    conc, loc, scale, count, centre = (np.asarray(a, np.float64) for a in piece)
    m0, s0 = float(prior.mean_loc), float(prior.mean_scale)
    v = 1.0 / (1.0 / s0**2 + count / sd**2)
    mean = v * (m0 / s0**2 + count * centre / sd**2)
    return (
        stats.dirichlet.logpdf(w, conc)
        + np.sum(stats.t.logpdf(np.log(sd), df, loc, scale) - np.log(sd))
        + np.sum(stats.norm.logpdf(m, mean, np.sqrt(v)))
    )


@pytest.mark.parametrize("prior", [PRIOR, CHIB_LIKE], ids=["gamma_std", "inverse_gamma_var"])
def test_symmetrised_density_is_the_explicit_sum_over_pieces_and_labellings(prior):
    rng = np.random.default_rng(3)
    s, k, df = 4, 3, 4.0
    pieces = random_pieces(rng, prior, s, k)
    theta = (rng.dirichlet(np.ones(k), 5), rng.normal(0.0, 2.0, (5, k)), np.exp(rng.normal(0.0, 0.7, (5, k))))
    prior32 = Prior.tree_unflatten(prior.family, [jnp.float32(v) for v in prior.tree_flatten()[0]])
    ours = log_symmetrised_density(
        Pieces(*(jnp.asarray(a, jnp.float32) for a in pieces)), jnp.float32(df),
        *(jnp.asarray(a, jnp.float32) for a in theta), prior32,
    )
    for i in range(5):
        w, m, sd = (a[i] for a in theta)
        terms = [
            scipy_log_piece(Pieces(*(a[j] for a in pieces)), df, w[list(p)], m[list(p)], sd[list(p)], prior)
            for j in range(s)
            for p in itertools.permutations(range(k))
        ]
        ref = logsumexp(terms) - math.log(s) - math.lgamma(k + 1)
        assert abs(float(ours[i]) - ref) < 2e-3, (i, float(ours[i]), ref)


def test_draws_follow_the_pieces_and_the_prior():
    rng = np.random.default_rng(4)
    k, df, size = 3, 4.0, 40_000
    pieces = random_pieces(rng, PRIOR, 1, k)
    w, m, sd = draw_pieces(rng, pieces, df, 0.0, PRIOR, size)
    conc, loc, scale, count, centre = (np.asarray(a, np.float64)[0] for a in pieces)
    v = 1.0 / (1.0 / PRIOR.mean_scale**2 + count / sd**2)
    mean = v * (PRIOR.mean_loc / PRIOR.mean_scale**2 + count * centre / sd**2)
    for j in range(k):
        assert stats.kstest(w[:, j], stats.beta(conc[j], conc.sum() - conc[j]).cdf).pvalue > 1e-3
        assert stats.kstest(np.log(sd[:, j]), stats.t(df, loc[j], scale[j]).cdf).pvalue > 1e-3
        assert stats.kstest((m[:, j] - mean[:, j]) / np.sqrt(v[:, j]), "norm").pvalue > 1e-3
    w, m, sd = draw_pieces(rng, pieces, df, 1.0, PRIOR, size)  # defensive = 1: the prior alone
    assert stats.kstest(m.ravel(), stats.norm(PRIOR.mean_loc, PRIOR.mean_scale).cdf).pvalue > 1e-3
    assert stats.kstest(sd.ravel(), stats.gamma(PRIOR.std_shape, scale=1.0 / PRIOR.std_rate).cdf).pvalue > 1e-3
    assert stats.kstest(w[:, 0], stats.beta(1.0, k - 1.0).cdf).pvalue > 1e-3


def test_allocation_statistics_are_those_of_the_drawn_allocation():
    """With well-separated components every allocation is certain, so the counts, means and
    scatters are those of the two groups (in the draws' labelling)."""
    y = np.r_[-5.1, -5.0, -4.8, 5.0, 5.3]
    stds = np.tile([0.3, 0.3], (30, 1)) + 1e-3 * np.arange(30)[:, None]  # 30 distinct draws
    draws = (np.tile([0.5, 0.5], (30, 1)), np.tile([-5.0, 5.0], (30, 1)), stds)
    n, xbar, ss = allocation_stats(np.random.default_rng(0), y, draws, 8)
    assert n.shape == (8, 2)
    np.testing.assert_array_equal(n, np.tile([3.0, 2.0], (8, 1)))
    np.testing.assert_allclose(xbar, np.tile([np.mean(y[:3]), np.mean(y[3:])], (8, 1)))
    np.testing.assert_allclose(ss, np.tile([np.var(y[:3]) * 3, np.var(y[3:]) * 2], (8, 1)))


def resampled_prior_draws(rng, x, k, prior, n=100_000, m=500):
    """m rough posterior draws (weights, means, stds), each (m, K): prior draws resampled in
    proportion to their likelihood (NumPy; fine for 9 points)."""
    w = rng.dirichlet(np.full(k, prior.alpha), n)
    mu = rng.normal(prior.mean_loc, prior.mean_scale, (n, k))
    sd = draw_stds_numpy(rng, (n, k), prior)
    comp = np.log(w)[:, None] + stats.norm.logpdf(x[None, :, None], mu[:, None], sd[:, None])
    log_lik = logsumexp(comp, axis=2).sum(axis=1)
    p = np.exp(log_lik - log_lik.max())
    pick = rng.choice(n, m, p=p / p.sum())
    return w[pick], mu[pick], sd[pick]


TINY = np.array([-2.3, -1.9, -1.6, -1.2, 0.4, 1.1, 1.5, 1.8, 2.6])


@pytest.mark.parametrize(
    "k, prior", [(2, PRIOR), (3, PRIOR), (2, CHIB_LIKE)], ids=["k2", "k3", "k2-inverse-gamma"]
)
def test_evidence_matches_exact_enumeration(k, prior):
    """On 9 points the exact evidence sums the K^N assignments; the allocation-proposal estimate
    (pieces from rough posterior draws) agrees within 4 standard errors plus 0.01 nats."""
    exact = gmm.exact_log_marginal_likelihood(TINY, k, prior=prior)
    draws = resampled_prior_draws(np.random.default_rng(k), TINY, k, prior)
    r = gmm.importance_sampling(
        jax.random.key(10 + k), TINY, k, prior=prior, n_particles=8192, proposal="allocations", draws=draws
    )
    assert r.ess > 2000, r.ess
    assert abs(r.log_evidence - exact) < 4 * r.log_evidence_stderr + 0.01, (r.log_evidence, r.ess, exact)
    assert r.proposal == "allocations" and r.weights.shape == (8192, k)
    assert np.all(np.diff(r.means, axis=1) >= 0) and np.allclose(r.weights.sum(axis=1), 1.0, atol=1e-5)
