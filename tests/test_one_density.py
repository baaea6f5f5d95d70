"""One density: where a routine needs the mixture's density it computes what the GenJAX
model's ``assess`` gives, on the line and in D dimensions, and Mixture.sample draws what the
model simulates."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from genjax import Const, seed
from scipy import stats

import gmm
from gmm.models.full_covariance import assigned_point_full
from gmm.models.generative import bento_mixture, labelled_point, mixture_normal

W = np.array([0.2, 0.5, 0.3])
MU = np.array([-3.0, 0.5, 4.0])
SD = np.array([0.7, 1.5, 0.4])


def test_component_log_prob_is_the_models_assess_on_the_line():
    x = np.linspace(-6.0, 7.0, 9)
    lp = gmm.Mixture(W, MU, SD).component_log_prob(x)
    for i, xi in enumerate(x):
        for k in range(3):
            score, _ = labelled_point.assess({"component": jnp.asarray(k), "weight": jnp.float32(xi)},
                                             jnp.asarray(W, jnp.float32), jnp.asarray(MU, jnp.float32),
                                             jnp.asarray(SD, jnp.float32))
            assert float(score) == pytest.approx(lp[i, k], rel=1e-5, abs=1e-5)


def test_log_prob_is_the_marginal_models_assess():
    x = np.linspace(-6.0, 7.0, 9)
    lp = gmm.Mixture(W, MU, SD).log_prob(x)
    for i, xi in enumerate(x):
        score, _ = mixture_normal.assess(jnp.float32(xi), jnp.asarray(W, jnp.float32),
                                         jnp.asarray(MU, jnp.float32), jnp.asarray(SD, jnp.float32))
        assert float(score) == pytest.approx(lp[i], rel=1e-5, abs=1e-5)


def test_component_log_prob_is_the_models_assess_in_d_dimensions():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3, 3))
    cov = a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(3)
    means = rng.normal(size=(2, 3))
    m = gmm.Mixture([0.4, 0.6], means, covariances=cov)
    x = rng.normal(size=(5, 3)) * 2.0
    lp = m.component_log_prob(x)
    trils = jnp.asarray(np.linalg.cholesky(cov), jnp.float32)
    for i in range(5):
        for k in range(2):
            score, _ = assigned_point_full.assess({"z": jnp.asarray(k), "x": jnp.asarray(x[i], jnp.float32)},
                                                  jnp.asarray([0.4, 0.6], jnp.float32),
                                                  jnp.asarray(means, jnp.float32), trils)
            assert float(score) == pytest.approx(lp[i, k], rel=1e-4, abs=1e-4)


def test_mixture_sample_draws_what_the_model_simulates():
    n = 20_000
    ours, _ = gmm.Mixture(W, MU, SD).sample(jax.random.key(1), n)
    trace = seed(bento_mixture.simulate)(jax.random.key(2), Const(n),
                                         jnp.asarray(W, jnp.float32), jnp.asarray(MU, jnp.float32),
                                         jnp.asarray(SD, jnp.float32))
    model = np.asarray(trace.get_retval())
    assert stats.ks_2samp(ours, model).pvalue > 1e-3
    assert stats.ks_2samp(ours, model + 0.1).pvalue < 1e-3  # the test can tell a small shift
