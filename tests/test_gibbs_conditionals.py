"""Each block of the 1-D Gibbs sweep against its exact full conditional, untempered and tempered.

For a fixed state (data, assignments z, weights pi, means mu, standard deviations sigma) the
sampler's own update of one block is run many times with independent keys and the draws'
mean AND spread (and, for the weights, the label-free E[min pi]) are compared with the
exact conditional's, computed in float64 NumPy/SciPy from closed forms or quadrature that
share no code with the sampler. A comparison of means alone misses a wrong concentration or
temperature: on symmetric counts E[pi_1] = 1/2 whatever alpha is.

Untempered (``gmm.inference.sweep``, the sampler of ``gmm.gibbs`` with one rung):
pi | z ~ Dirichlet(alpha + n_k); mu_k | z, sigma ~ Normal with precision 1/s0^2 + n_k / sigma_k^2;
sigma_k | z, mu (the Metropolis steps; with the inverse-gamma prior of sigma^2 the conditional
is sigma_k^2 ~ InvGamma(a + n_k / 2, b + SS_k / 2)); z_i | theta ~ softmax_k(log pi_k N_ik).

Tempered rung beta (``gmm.inference.tempering.tempered_sweep``), whose target is
pi_beta(z, theta) ∝ p(theta) p(x | theta)^beta q_beta(z | theta): z_i | theta ~
softmax_k(beta log pi_k N_ik); given z, theta's conditional is f g with f the complete-data
tempered conditional (Dirichlet(alpha + beta n_k), precision 1/s0^2 + beta n_k / sigma_k^2,
InvGamma(a + beta n_k / 2, b + beta SS_k / 2)) and g a correction that is exactly 1 when every
point belongs to one component beyond doubt. So on two far-apart clusters the sweep's draws
are checked against f's closed forms; on overlapping data, where g matters, each block is
started from its exact tempered law (1-D or 2-D quadrature) and one sweep must keep that law.

Tolerance: 4 Monte Carlo standard errors of the statistic (over 10 keys, 1086 statistics of
correct code reached at most 3.3), with enough draws that each planted bug moves some
statistic by many more. Measured, largest |z| of the tests that fail:
    sweep: Dirichlet(1 + n_k)                     weights 54 (var), 46 (E[min pi]); 118, 163 (other counts)
    sweep: the means' sd drawn as their variance  means 1048
    sweep: the Jacobian left out of sigma's MH    stds 49
    rung: Dirichlet(1 + beta n_k)                 far weights 37; kept law of weights 22, of means 7
    rung: beta dropped from pi | z                far weights 168; kept law of weights 35
    rung: beta dropped from mu | z, sigma         far means 236; kept law of means 25
    rung: beta dropped from sigma's MH target     far stds 122; kept law of stds 42
    rung: beta dropped from z | theta             assignments 78; kept law of means 15, of stds 11
    rung: no g-correction (every proposal kept)   kept law of weights 7, of means 71, of stds 35
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import betainc, logsumexp
from scipy.stats import invgamma, norm

from gmm.inference import sweep, tempering
from gmm.models.generative import Prior

N_SIGMA = 4.0
R = 20_000  # independent draws of one block from one fixed state
N_MH = 200  # Metropolis steps on log sigma per draw: from any start, a draw of that block's conditional
# sigma_k^2 ~ InvGamma(A_IG, scale B_IG) in every test: sigma's conditional has a closed form, and
# one prior family (with N_MH fixed) lets each sampler compile once per K.
A_IG, B_IG = 2.0, 1.0


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------


def mean_and_var_z(draws, mean, var) -> np.ndarray:
    """z-scores (2, ...) of the sample mean and of the sample variance about the exact mean,
    against the exact mean and variance; each standard error from the draws themselves."""
    d = np.asarray(draws, np.float64)
    n = d.shape[0]
    dev2 = (d - mean) ** 2
    z_mean = (d.mean(axis=0) - mean) / np.sqrt(var / n)
    z_var = (dev2.mean(axis=0) - var) / (dev2.std(axis=0, ddof=1) / np.sqrt(n))
    return np.stack([z_mean, z_var])


def expectation_z(values, expected) -> np.ndarray:
    """z-score of the sample mean of ``values`` (R, ...) against ``expected``."""
    v = np.asarray(values, np.float64)
    return (v.mean(axis=0) - expected) / (v.std(axis=0, ddof=1) / np.sqrt(v.shape[0]))


def beta_min_mean(a: float, b: float) -> float:
    """E[min(p, 1 - p)] for p ~ Beta(a, b): E[p; p < 1/2] + E[1 - p; p > 1/2]."""
    return a / (a + b) * betainc(a + 1, b, 0.5) + b / (a + b) * (1.0 - betainc(a, b + 1, 0.5))


def check_dirichlet(w, conc) -> np.ndarray:
    """|z| of every component's mean and variance and, for K = 2, of E[min pi], for draws
    ``w`` (R, K) against Dirichlet(conc); the marginals are Beta(conc_k, sum - conc_k)."""
    conc = np.asarray(conc, np.float64)
    a0 = conc.sum()
    mean = conc / a0
    var = conc * (a0 - conc) / (a0**2 * (a0 + 1.0))
    z = [mean_and_var_z(w, mean, var).ravel()]
    if conc.size == 2:
        z.append([expectation_z(np.min(w, axis=1), beta_min_mean(*conc))])
    return np.abs(np.concatenate(z))


# ---------------------------------------------------------------------------
# The untempered sweep (gmm.inference.sweep.update_parameters and data_pass)
# ---------------------------------------------------------------------------

# A fixed state: K = 3, component 1 empty (its conditionals are the prior's).
X3 = np.array([-2.3, -1.9, -1.5, -1.2, 1.7, 2.4])
Z3 = np.array([0, 0, 0, 0, 2, 2])
SHIFT3 = np.array([-1.5, 0.3, 2.0])  # the current means, about which the sweep's sums are taken
STDS3 = np.array([0.6, 1.0, 0.9])


def sweep_stats(x, z, shift, k):
    """(n_k int32, sum (x_i - shift_k), sum (x_i - shift_k)^2) as float32, as data_pass adds them up."""
    n = np.array([(z == j).sum() for j in range(k)])
    s1 = np.array([(x[z == j] - shift[j]).sum() for j in range(k)])
    s2 = np.array([((x[z == j] - shift[j]) ** 2).sum() for j in range(k)])
    return jnp.asarray(n, jnp.int32), jnp.asarray(s1, jnp.float32), jnp.asarray(s2, jnp.float32)


@partial(jax.jit, static_argnames="n_mh")
def _updates(keys, stats, state, prior, n_mh):
    return jax.vmap(lambda key: sweep.update_parameters(key, stats, state, prior, n_mh, 0.0)[0][:3])(keys)


def update_many(stats, state, prior, seed):
    """R independent draws of sweep.update_parameters from one state (weights, means, stds),
    N_MH Metropolis steps of size 0.5 on log sigma, no adaptation: the new (weights, means,
    stds), each (R, K)."""
    state = tuple(jnp.asarray(a, jnp.float32) for a in (*state, np.full(len(state[0]), np.log(0.5))))
    out = _updates(jax.random.split(jax.random.key(seed), R), stats, state, prior, N_MH)
    return tuple(np.asarray(a, np.float64) for a in out)


@pytest.mark.parametrize(("alpha", "counts"), [(0.3, (1, 1)), (0.3, (3, 0, 1)), (5.0, (6, 1))])
def test_sweep_weights_follow_dirichlet_alpha_plus_counts(alpha, counts, seed):
    """pi | z ~ Dirichlet(alpha + n_k). At alpha = 0.3 and n = (1, 1) the mean of pi_1 is 1/2
    for any alpha; the spread is not: sd(pi_1) = 0.264 for Beta(1.3, 1.3) against 0.224 for the
    Beta(2, 2) that Dirichlet(1 + n_k) would give, and E[min pi] 0.275 against 0.313. With
    R = 20,000 draws the standard errors are about 0.0004 on var(pi_1) (0.069 against 0.050)
    and 0.0008 on E[min pi]: that bug moved them by 54 and 46 standard errors (and E[pi_1] by
    0.8); in the other two cases it moved some statistic by 118 and 163."""
    k = len(counts)
    prior = Prior.inverse_gamma_variance(alpha, 0.0, 2.0, A_IG, B_IG)
    stats = (jnp.asarray(counts, jnp.int32), jnp.zeros(k, jnp.float32), jnp.zeros(k, jnp.float32))
    w, _, _ = update_many(stats, (np.full(k, 1.0 / k), np.linspace(-1.0, 1.0, k), np.ones(k)), prior, seed)
    z = check_dirichlet(w, alpha + np.asarray(counts, np.float64))
    assert np.all(z < N_SIGMA), z


def test_sweep_means_follow_their_normal_conditional(seed):
    """mu_k | z, sigma ~ Normal((m0/s0^2 + sum_{z_i=k} x_i / sigma_k^2) / prec, 1 / prec),
    prec = 1/s0^2 + n_k / sigma_k^2, from the sweep's sums about the old means."""
    prior = Prior.inverse_gamma_variance(1.0, 0.5, 2.0, A_IG, B_IG)
    stats = sweep_stats(X3, Z3, SHIFT3, 3)
    _, m, _ = update_many(stats, (np.full(3, 1 / 3), SHIFT3, STDS3), prior, seed)
    n = np.array([(Z3 == j).sum() for j in range(3)])
    total = np.array([X3[Z3 == j].sum() for j in range(3)])
    prec = 1.0 / 2.0**2 + n / STDS3**2
    z = np.abs(mean_and_var_z(m, (0.5 / 2.0**2 + total / STDS3**2) / prec, 1.0 / prec))
    assert np.all(z < N_SIGMA), z


def check_inverse_gamma_stds(s, m, x, z, a, b, beta) -> np.ndarray:
    """|z| of the mean and variance of the standardised precision t = (1/sigma_k^2 - E) / sd
    (E and sd per draw, of Gamma(a + beta n_k / 2, rate b + beta SS_k(mu) / 2), with SS_k about
    that draw's means ``m``): the exact conditional of sigma_k^2 under an InvGamma(a, b) prior
    and the likelihood^beta, given that draw's mu. t has mean 0 and variance 1."""
    k = m.shape[1]
    n = np.array([(z == j).sum() for j in range(k)])
    ss = np.stack([((x[z == j][None, :] - m[:, j : j + 1]) ** 2).sum(axis=1) for j in range(k)], axis=1)
    shape, rate = a + beta * n / 2.0, b + beta * ss / 2.0
    t = (1.0 / s**2 - shape / rate) / (np.sqrt(shape) / rate)
    return np.abs(mean_and_var_z(t, 0.0, 1.0)).ravel()


def test_sweep_stds_follow_their_conditional(seed):
    """sigma_k | z, mu: with sigma_k^2 ~ InvGamma(a, b) the conditional is InvGamma(a + n_k/2,
    b + SS_k/2), SS_k about the means drawn just before. N_MH Metropolis steps of a fixed size
    (no adaptation) from the same start make each draw independent of it. The Jacobian left
    out (shape + 1/2) moved the standardised precision by 49 standard errors."""
    prior = Prior.inverse_gamma_variance(1.0, 0.0, 2.0, A_IG, B_IG)
    stats = sweep_stats(X3, Z3, SHIFT3, 3)
    _, m, s = update_many(stats, (np.full(3, 1 / 3), SHIFT3, STDS3), prior, seed)
    z = check_inverse_gamma_stds(s, m, X3, Z3, A_IG, B_IG, 1.0)
    assert np.all(z < N_SIGMA), z


# Overlapping components: z_i genuinely uncertain.
X_OV = np.array([-1.6, -1.1, -0.7, -0.2, 0.1, 0.5, 0.9, 1.4, 1.8, 2.6])
THETA3 = (np.array([0.2, 0.5, 0.3]), np.array([-1.0, 0.5, 2.0]), np.array([1.0, 0.7, 1.5]))
THETA2 = (np.array([0.35, 0.65]), np.array([-0.6, 1.3]), np.array([0.8, 1.1]))


def assignment_probs(x, theta, beta=1.0) -> np.ndarray:
    """softmax_k(beta (log pi_k + log N(x_i | mu_k, sigma_k))), shape (N, K) (SciPy)."""
    w, m, s = theta
    c = beta * (np.log(w) + norm.logpdf(np.asarray(x)[:, None], m, s))
    return np.exp(c - logsumexp(c, axis=1, keepdims=True))


def test_sweep_assignments_follow_their_probabilities(seed):
    """z | theta through data_pass, in two chunks with padding: each chain's counts n_k and
    sums of x_i - mu_k are sums of independent Bernoulli terms, so their mean and variance are
    sum_i p_ik (x_i - mu_k)^j and sum_i p_ik (1 - p_ik) (x_i - mu_k)^2j, j = 0, 1."""
    x = jnp.asarray(X_OV, jnp.float32)
    n_chunks, chunk = 2, 6  # 12 slots for 10 points: the last two are padding
    xs = sweep.to_chunks(x, n_chunks, chunk)
    params = tuple(jnp.broadcast_to(jnp.asarray(a, jnp.float32), (R, 3)) for a in THETA3)
    resp0 = jnp.zeros((n_chunks, 3, chunk), jnp.float32)
    f = jax.jit(lambda key: sweep.data_pass(key, xs, 10, params, resp0, 1.0, jnp.asarray(False)))
    (counts, sums, _), resp_sum = f(jax.random.key(seed))
    p = assignment_probs(X_OV, THETA3)
    d = X_OV[:, None] - THETA3[1]
    z = [mean_and_var_z(np.asarray(counts, np.float64), p.sum(0), (p * (1 - p)).sum(0)),
         mean_and_var_z(np.asarray(sums, np.float64), (p * d).sum(0), (p * (1 - p) * d**2).sum(0))]
    z = np.abs(np.concatenate(z)).ravel()
    assert np.all(z < N_SIGMA), z
    np.testing.assert_allclose(sweep.from_chunks(resp_sum, 10), p, atol=1e-5)


# ---------------------------------------------------------------------------
# A tempered rung (gmm.inference.tempering.tempered_sweep)
# ---------------------------------------------------------------------------


@partial(jax.jit, static_argnames="n_mh")
def _rung_sweeps(keys, x, prior, beta, w, m, s, log_step, n_mh):
    def one(key, w, m, s):
        state = tempering.init_rung_state(jnp.zeros(x.shape[0], jnp.int32), w, m, s, log_step, x)
        new, _, fixed = tempering.tempered_sweep(key, state, x, prior, n_mh, 0.0, beta, 0.44)
        return new[0], new[1], new[2], new[3], fixed

    return jax.vmap(one)(keys, w, m, s)


def rung_sweeps(x, beta, starts, seed, prior):
    """One tempered_sweep at ``beta`` from each start (weights, means, stds), each (R, K) or (K,)
    (shared), N_MH Metropolis steps of size 0.5 on log sigma: the new (z (R, N), weights,
    means, stds (R, K), g-correction acceptances (R, 2)). Every test passes data of N = 10
    points, K = 2 and the inverse-gamma prior, so one compiled program serves them all."""
    k = np.shape(starts[0])[-1]
    w, m, s = (jnp.broadcast_to(jnp.asarray(a, jnp.float32), (R, k)) for a in starts)
    out = _rung_sweeps(jax.random.split(jax.random.key(seed), R), jnp.asarray(x, jnp.float32),
                       prior, jnp.float32(beta), w, m, s,
                       jnp.full(k, np.log(0.5), jnp.float32), N_MH)
    return (np.asarray(out[0]),) + tuple(np.asarray(a, np.float64) for a in out[1:])


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_rung_assignments_follow_the_tempered_probabilities(beta, seed):
    """z_i | theta at rung beta ~ softmax_k(beta log pi_k N(x_i | mu_k, sigma_k)): every point's
    frequency of each component (binomial standard error) and the spread of the counts. At
    beta = 0.3, z drawn with the untempered probabilities moved the frequencies by up to 78
    standard errors."""
    prior = Prior.inverse_gamma_variance(1.0, 0.5, 2.0, A_IG, B_IG)
    z_draws, *_ = rung_sweeps(X_OV, beta, THETA2, seed, prior)
    p = assignment_probs(X_OV, THETA2, beta)[:, 1]
    hit = (z_draws == 1).astype(np.float64)  # (R, N)
    z_freq = (hit.mean(axis=0) - p) / np.sqrt(p * (1 - p) / R)
    z_count = mean_and_var_z(hit.sum(axis=1), p.sum(), (p * (1 - p)).sum())
    z = np.abs(np.concatenate([z_freq, z_count]))
    assert np.all(z < N_SIGMA), z


# Two clusters 60 sds apart: at beta >= 0.3 and any plausible theta every point's tempered
# log-odds between the components exceed 20 nats, so z is certain and g = 1 in float32
# (the first test checks that every correction was accepted).
X_FAR = np.array([-31.0, -30.4, -29.7, -29.1, -28.2, -30.2, 28.6, 29.5, 30.3, 31.4])
Z_FAR = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
THETA_FAR = (np.array([0.5, 0.5]), np.array([-29.6, 30.1]), np.array([1.1, 0.9]))
ALPHA_FAR, S0_FAR = 0.3, 30.0  # the Dirichlet's alpha, the prior sd of the means


@pytest.fixture(scope="module", params=[1.0, 0.3], ids=["beta1", "beta0.3"])
def far_rung(request):
    """(beta, draws of one sweep from THETA_FAR), N_MH Metropolis steps on log sigma, so that
    block too is (to far below the tolerance) a draw from its conditional."""
    prior = Prior.inverse_gamma_variance(ALPHA_FAR, 0.0, S0_FAR, A_IG, B_IG)
    return request.param, rung_sweeps(X_FAR, request.param, THETA_FAR, 0, prior)


def test_rung_far_apart_is_the_complete_data_tempered_conditional(far_rung):
    """The premise of the closed forms below: z is the clusters and every g-correction accepted."""
    _, (z, *_, fixed) = far_rung
    assert np.all(z == Z_FAR)
    assert np.all(fixed == 1.0)


def test_rung_weights_follow_dirichlet_alpha_plus_beta_counts(far_rung):
    """pi | z ~ Dirichlet(alpha + beta n_k) = (2.1, 1.5) at beta = 0.3, alpha = 0.3, n = (6, 4):
    sd(pi_1) 0.230, E[min pi] 0.293. The untempered Dirichlet(6.3, 4.3) has 0.144 and 0.358,
    alpha -> 1's Dirichlet(2.8, 2.2) 0.203 and 0.324: those bugs moved var(pi_1) by 168 and 31
    standard errors, E[min pi] by 94 and 37."""
    beta, (_, w, _, _, _) = far_rung
    n = np.array([(Z_FAR == j).sum() for j in range(2)])
    z = check_dirichlet(w, ALPHA_FAR + beta * n)
    assert np.all(z < N_SIGMA), z


def test_rung_means_follow_their_tempered_normal(far_rung):
    """mu_k | z, sigma ~ Normal with precision 1/s0^2 + beta n_k / sigma_k^2 and mean
    (m0 / s0^2 + beta sum_{z_i=k} x_i / sigma_k^2) / precision (m0 = 0)."""
    beta, (_, _, m, _, _) = far_rung
    s0 = THETA_FAR[2]
    n = np.array([(Z_FAR == j).sum() for j in range(2)])
    total = np.array([X_FAR[Z_FAR == j].sum() for j in range(2)])
    prec = 1.0 / S0_FAR**2 + beta * n / s0**2
    z = np.abs(mean_and_var_z(m, (beta * total / s0**2) / prec, 1.0 / prec)).ravel()
    assert np.all(z < N_SIGMA), z


def test_rung_stds_follow_their_tempered_conditional(far_rung):
    """sigma_k^2 | z, mu ~ InvGamma(a + beta n_k / 2, b + beta SS_k / 2), SS_k about the means
    drawn in the same sweep."""
    beta, (_, _, m, s, _) = far_rung
    z = check_inverse_gamma_stds(s, m, X_FAR, Z_FAR, A_IG, B_IG, beta)
    assert np.all(z < N_SIGMA), z


# Where the components overlap g is not 1 and the rung's conditional of each block is f g,
# known only up to a constant. Each block's law given the other blocks, held fixed (by the
# start, or by a prior so tight that its draws barely move them), with z summed out, is
# tabulated on a grid. Starts drawn from it must keep it after one sweep: z | theta, then
# the block | z and the rest, each leave pi_beta(z, block | rest) invariant.
BETA_OV = 0.3


def mixture_log_lik(x, w1, m1, s1, m2, s2):
    """log p(x | theta) for K = 2 (float64), broadcasting over the parameters (points summed)."""
    ex = lambda a: np.asarray(a, np.float64)[..., None]  # noqa: E731
    c1 = np.log(ex(w1)) + norm.logpdf(x, ex(m1), ex(s1))
    c2 = np.log1p(-ex(w1)) + norm.logpdf(x, ex(m2), ex(s2))
    return np.logaddexp(c1, c2).sum(axis=-1)


def grid_draws(rng, log_density, axes, n):
    """n draws from the piecewise-constant law of ``log_density`` on the product of the equally
    spaced ``axes`` (cell midpoints), and the cell probabilities (same shape as log_density)."""
    p = np.exp(log_density - log_density.max())
    p /= p.sum()
    idx = np.unravel_index(rng.choice(p.size, n, p=p.ravel()), p.shape)
    draws = [a[i] + (a[1] - a[0]) * (rng.random(n) - 0.5) for a, i in zip(axes, idx)]
    return draws, p


def check_kept(draws, p, grid_values) -> np.ndarray:
    """|z| of the mean and variance of each statistic of ``draws`` (list of (R,)) against the
    grid law p over ``grid_values`` (same list, each of p's shape)."""
    z = []
    for d, g in zip(draws, grid_values):
        mean = (p * g).sum()
        z.append(mean_and_var_z(d, mean, (p * (g - mean) ** 2).sum()))
    return np.abs(np.concatenate(z)).ravel()


def test_rung_keeps_the_tempered_law_of_the_weights(seed):
    """pi_1 | mu, sigma at beta = 0.3 ∝ Beta(alpha, alpha) p(x | theta)^0.3 (z summed out): one
    sweep from exact draws keeps its mean, spread and E[min pi]."""
    alpha, mu0, s0 = 1.5, np.array([-0.8, 1.2]), np.array([0.7, 0.9])
    prior = Prior.inverse_gamma_variance(alpha, 0.5, 2.0, A_IG, B_IG)
    axis = (np.arange(20_000) + 0.5) / 20_000
    logd = (alpha - 1) * np.log(axis * (1 - axis)) + BETA_OV * mixture_log_lik(X_OV, axis, mu0[0], s0[0], mu0[1], s0[1])
    (w0,), p = grid_draws(np.random.default_rng(seed), logd, [axis], R)
    _, w, _, _, _ = rung_sweeps(X_OV, BETA_OV, (np.stack([w0, 1 - w0], 1), mu0, s0), seed, prior)
    z = check_kept([w[:, 0], w.min(axis=1)], p, [axis, np.minimum(axis, 1 - axis)])
    assert np.all(z < N_SIGMA), z


def test_rung_keeps_the_tempered_law_of_the_means(seed):
    """(mu_1, mu_2) | pi, sigma at beta = 0.3 ∝ N(mu_1) N(mu_2) p(x | theta)^0.3 on a 2-D grid;
    pi is held at 1/2 by alpha = 10^6 (its draws move it by about 4e-4)."""
    m0, sd_mu, s0 = 0.5, 1.5, np.array([0.6, 1.0])
    prior = Prior.inverse_gamma_variance(1e6, m0, sd_mu, A_IG, B_IG)
    axis = np.linspace(-4.5, 5.5, 401)
    m1, m2 = np.meshgrid(axis, axis, indexing="ij")
    logd = (norm.logpdf(m1, m0, sd_mu) + norm.logpdf(m2, m0, sd_mu)
            + BETA_OV * mixture_log_lik(X_OV, 0.5, m1, s0[0], m2, s0[1]))
    (a, b), p = grid_draws(np.random.default_rng(seed), logd, [axis, axis], R)
    _, _, m, _, _ = rung_sweeps(X_OV, BETA_OV, (np.array([0.5, 0.5]), np.stack([a, b], 1), s0), seed, prior)
    z = check_kept([m[:, 0], m[:, 1], m.min(axis=1)], p, [m1, m2, np.minimum(m1, m2)])
    assert np.all(z < N_SIGMA), z


def test_rung_keeps_the_tempered_law_of_the_stds(seed):
    """(sigma_1, sigma_2) | pi, mu at beta = 0.3 ∝ p(sigma_1) p(sigma_2) p(x | theta)^0.3 on a
    2-D grid in log sigma, sigma_k^2 ~ InvGamma(2, 1), with both means held at 0.3 by
    mean_scale = 10^-3 and pi at 1/2 by alpha = 10^6: the components differ only in their
    spread, so every point's assignment is uncertain and g far from 1."""
    prior = Prior.inverse_gamma_variance(1e6, 0.3, 1e-3, A_IG, B_IG)
    axis = np.linspace(np.log(0.1), np.log(12.0), 401)  # log sigma
    u1, u2 = np.meshgrid(axis, axis, indexing="ij")
    # density of u = log sigma: p_v(e^{2u}) |dv/du| with v = sigma^2 ~ InvGamma(a, scale b)
    log_prior = lambda u: invgamma.logpdf(np.exp(2 * u), A_IG, scale=B_IG) + np.log(2.0) + 2 * u  # noqa: E731
    logd = log_prior(u1) + log_prior(u2) + BETA_OV * mixture_log_lik(X_OV, 0.5, 0.3, np.exp(u1), 0.3, np.exp(u2))
    (a, b), p = grid_draws(np.random.default_rng(seed), logd, [axis, axis], R)
    starts = (np.array([0.5, 0.5]), np.array([0.3, 0.3]), np.exp(np.stack([a, b], 1)))
    _, _, _, s, fixed = rung_sweeps(X_OV, BETA_OV, starts, seed, prior)
    ls = np.log(s)
    z = check_kept([ls[:, 0], ls[:, 1], ls.min(axis=1)], p, [u1, u2, np.minimum(u1, u2)])
    assert np.all(z < N_SIGMA), (z, fixed.mean(axis=0))
