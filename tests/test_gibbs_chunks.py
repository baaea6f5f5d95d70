"""The chunked sweep of ``gmm.gibbs`` (``gmm.inference.sweep``): per-chunk statistics and responsibilities
against NumPy/SciPy, the sigma target against GenJAX's per-point scores, and a run in tiny chunks
(N not a multiple of the chunk, so padding is present) against the same run on the whole data.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

import gmm
from gmm.inference import sweep as _sweep
from gmm.inference.scoring import component_log_probs
from gmm.models.generative import Prior, log_std_prior


def test_chunk_plan_covers_the_data_with_little_padding():
    assert _sweep.chunk_plan(20, max_chunk=7) == (3, 7)
    assert _sweep.chunk_plan(21, max_chunk=7) == (3, 7)
    assert _sweep.chunk_plan(5, max_chunk=7) == (1, 5)
    for n, chains in [(1_000_000, 1), (1_000_000, 4), (300_001, 2), (10**7, 1)]:
        n_chunks, chunk = _sweep.chunk_plan(n, chains)
        assert n_chunks * chunk >= n > (n_chunks - 1) * chunk
        assert chunk * chains <= _sweep.MAX_CHUNK and chunk % 128 == 0
        assert n_chunks * chunk - n < 128 * n_chunks
    assert _sweep.chunk_plan(1000, 4) == (1, 1000)  # small data: one chunk, no loop


def _sorted_resp(x, w, m, s):
    """sum over chains of P(z_i = k | theta_c) (NumPy/SciPy), components sorted by mean: (N, K)."""
    total = 0.0
    for wc, mc, sc in zip(w, m, s):
        o = np.argsort(mc)
        dens = wc[o] * norm.pdf(x[:, None], mc[o], sc[o])
        total = total + dens / dens.sum(axis=1, keepdims=True)
    return total


@pytest.mark.parametrize("n", [23, 25])  # 23: two padded points (zeros) in the last chunk of 5
def test_chunked_pass_matches_numpy(n):
    rng = np.random.default_rng(0)
    # Three far-apart clusters: every z is certain, so the statistics are exact. The padding
    # value 0 sits on the middle cluster: a padded point that slipped through would be counted.
    truth = rng.integers(0, 3, n)
    x = np.array([-6.0, 0.0, 6.0])[truth] + 0.1 * rng.standard_normal(n)
    xs = _sweep.to_chunks(jnp.asarray(x, jnp.float32), *_sweep.chunk_plan(n, max_chunk=5))
    assert xs.shape == (5, 5)
    # Two chains, the second with its components in another order (relabelling).
    w = np.array([[0.2, 0.5, 0.3], [0.5, 0.3, 0.2]])
    m = np.array([[-6.0, 0.0, 6.0], [0.0, 6.0, -6.0]])
    s = np.full((2, 3), 0.5)
    params = tuple(jnp.asarray(a, jnp.float32) for a in (w, m, s))
    resp0 = jnp.zeros((5, 3, 5), jnp.float32)
    (counts, s1, s2), resp = _sweep.data_pass(jax.random.key(1), xs, n, params, resp0, 0.5, jnp.asarray(True))
    for c in range(2):
        z = np.argmin(np.abs(x[:, None] - m[c]), axis=1)  # the chain's own labels
        for k in range(3):
            d = x[z == k] - m[c, k]
            assert int(counts[c, k]) == d.size
            np.testing.assert_allclose(float(s1[c, k]), d.sum(), atol=1e-4)
            np.testing.assert_allclose(float(s2[c, k]), (d**2).sum(), rtol=1e-4, atol=1e-5)
    summed = np.asarray(resp).transpose(0, 2, 1).reshape(-1, 3)  # weight 0.5 x (sum over the chains)
    np.testing.assert_allclose(summed[:n], 0.5 * _sorted_resp(x, w, m, s), atol=1e-5)
    np.testing.assert_allclose(_sweep.from_chunks(resp, n), _sorted_resp(x, w, m, s) / 2, atol=1e-5)
    # Overlapping components: responsibilities strictly between 0 and 1, in each chain's own
    # labels when relabel is off.
    s_wide = jnp.full((2, 3), 4.0, jnp.float32)
    _, resp = _sweep.data_pass(jax.random.key(2), xs, n, (params[0], params[1], s_wide), resp0, 1.0,
                               jnp.asarray(False), draw=False)
    raw = sum(wc * norm.pdf(x[:, None], mc, 4.0) / (wc * norm.pdf(x[:, None], mc, 4.0)).sum(1, keepdims=True)
              for wc, mc in zip(w, m))
    np.testing.assert_allclose(_sweep.from_chunks(resp, n), raw / 2, atol=1e-5)  # rows normalised


def test_std_target_matches_genjax_scores():
    """The sigma target from (n_k, sum of squared residuals) against the sum of the points'
    ``assigned_point.assess`` scores: equal up to a constant in sigma."""
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(0.0, 1.5, 40), jnp.float32)
    z = jnp.asarray(rng.integers(0, 3, 40), jnp.int32)
    w, m = jnp.array([0.3, 0.3, 0.4]), jnp.array([-1.0, 0.2, 1.5])
    prior = Prior(alpha=1.0, mean_loc=0.0, mean_scale=3.0, std_shape=2.0, std_rate=2.0)

    def genjax_target(s):
        cols = component_log_probs(x, w, m, s)
        lik = jnp.stack([jnp.sum(jnp.where(z == j, c, 0.0)) for j, c in enumerate(cols)])
        return log_std_prior(s, prior) + lik + jnp.log(s)

    counts = jnp.stack([jnp.sum(z == j) for j in range(3)]).astype(jnp.float32)
    sq = jnp.stack([jnp.sum(jnp.where(z == j, (x - m[j]) ** 2, 0.0)) for j in range(3)])
    s_a, s_b = jnp.array([0.4, 1.0, 2.5]), jnp.array([0.9, 0.7, 1.3])
    ours = _sweep.log_std_target(s_a, counts, sq, prior) - _sweep.log_std_target(s_b, counts, sq, prior)
    np.testing.assert_allclose(ours, genjax_target(s_a) - genjax_target(s_b), rtol=1e-5, atol=1e-3)


def test_run_in_tiny_chunks_matches_the_whole_data_run(monkeypatch):
    """Bento data (N = 20) in chunks of 7 (one padded point): its clusters are far apart, so every
    z is certain and the random stream of the assignments does not matter; the chunked run must
    reproduce the whole-data run's draws (same key) up to float32 summation order. A padded
    point counted in any statistic would change a count and so every draw after it."""
    x = np.asarray(gmm.datasets.bento(), np.float64)
    kw = dict(prior=Prior(), n_samples=60, n_warmup=20, n_chains=2)
    with pytest.warns(RuntimeWarning, match="ESS"):  # few draws
        whole = gmm.gibbs(jax.random.key(4), x, 2, **kw)
    monkeypatch.setattr(_sweep, "WHOLE", 0)
    monkeypatch.setattr(_sweep, "MAX_CHUNK", 7)
    assert _sweep.chunk_plan(x.size, 2) == (3, 7)
    with pytest.warns(RuntimeWarning, match="ESS"):
        chunked = gmm.gibbs(jax.random.key(4), x, 2, **kw)
    np.testing.assert_allclose(chunked.weights, whole.weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(chunked.means, whole.means, rtol=1e-5)
    np.testing.assert_allclose(chunked.stds, whole.stds, rtol=1e-3)
    np.testing.assert_allclose(chunked.assignment_probs, whole.assignment_probs, atol=1e-6)
    assert chunked.assignment_probs.shape == (20, 2)
