"""The pieces of the "em" importance proposal against independent references: the Student-t
density (SciPy), its NumPy draws (moments), the relabelling map and the Jacobian of the
coordinates (finite differences)."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from gmm.inference.em_proposal import draw_em, from_sorted_coordinates, _relabel, sorted_coordinates, em_proposal
from gmm.models.generative import Prior


def random_piece(rng, d):
    a = rng.normal(size=(d, d))
    return rng.normal(size=d), np.linalg.cholesky(a @ a.T + d * np.eye(d))


def test_piece_density_is_scipys_multivariate_t():
    rng = np.random.default_rng(0)
    loc, tril = random_piece(rng, 5)
    z = rng.normal(size=(4, 5)) * 3
    ours = [float(em_proposal.assess({"z": jnp.asarray(v, jnp.float32)}, 3.0, jnp.asarray(loc, jnp.float32),
                                     jnp.asarray(tril, jnp.float32))[0]) for v in z]
    ref = stats.multivariate_t(loc=loc, shape=tril @ tril.T, df=3.0).logpdf(z)
    np.testing.assert_allclose(ours, ref, atol=2e-4)


def test_numpy_draws_follow_the_piece():
    rng = np.random.default_rng(1)
    loc, tril = random_piece(rng, 5)
    pieces = (loc[None], tril[None], np.ones(1))
    draws = draw_em(rng, pieces, 6.0, 0.0, Prior(), 200_000)
    assert not draws[0].any()  # no defensive draws with defensive = 0
    z = draws[1]
    cov = tril @ tril.T * 6.0 / 4.0  # Student-t covariance: scale df / (df - 2)
    se = np.sqrt(np.diag(cov) / z.shape[0])
    assert np.all(np.abs(z.mean(axis=0) - loc) < 5 * se), (z.mean(axis=0), loc, se)
    np.testing.assert_allclose(np.cov(z.T), cov, rtol=0.05, atol=0.05 * np.abs(cov).max())


def test_relabelling_map_and_jacobian():
    rng = np.random.default_rng(2)
    k = 4
    w, m, s = rng.dirichlet(np.ones(k)), np.sort(rng.normal(size=k)), rng.gamma(2.0, 1.0, k)
    z = np.asarray(sorted_coordinates(*(jnp.asarray(a, jnp.float32) for a in (w, m, s))), np.float64)
    for perm in ([1, 0, 2, 3], [0, 1, 3, 2], [3, 2, 1, 0]):
        p = np.array(perm)
        expected = np.r_[np.log(w[p][:-1] / w[p][-1]), m[p], np.log(s[p])]
        np.testing.assert_allclose(_relabel(p) @ z, expected, atol=1e-5)
    # log |d theta / d z| with theta = (pi_1 .. pi_(K-1), mu, sigma), by jax.jacfwd
    def theta(zz):
        (pi, mu, sd), _ = from_sorted_coordinates(zz)
        return jnp.concatenate([pi[:-1], mu, sd])

    jac = np.asarray(jax.jacfwd(theta)(jnp.asarray(z, jnp.float32)), np.float64)
    _, log_det = from_sorted_coordinates(jnp.asarray(z, jnp.float32))
    np.testing.assert_allclose(float(log_det), np.linalg.slogdet(jac)[1], atol=1e-3)
