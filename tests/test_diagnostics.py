"""gmm.diagnostics.rank_counts: the counts behind a rank plot (Vehtari et al. 2021)."""

import numpy as np
import pytest

from gmm import diagnostics


def test_mixed_chains_give_near_uniform_counts():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4, 2000))  # four chains of the same distribution
    counts = diagnostics.rank_counts(draws, n_bins=20)
    assert counts.shape == (4, 20)
    assert np.all(counts.sum(axis=1) == 2000)
    expected = 2000 / 20
    # Binomial(2000, 1/20) counts: sd about 9.7; 4 sd is never reached with this seed.
    assert np.max(np.abs(counts - expected)) < 40


def test_stuck_chains_pile_their_ranks_at_the_ends():
    rng = np.random.default_rng(1)
    offsets = np.array([0.0, 0.0, 0.0, 10.0])[:, None]  # chain 3 sits in its own mode
    draws = rng.normal(size=(4, 1000)) + offsets
    counts = diagnostics.rank_counts(draws, n_bins=8)
    # The pooled ranking has 4000 places; chain 3 owns the top quarter: bins 6 and 7.
    assert counts[3, 6:].sum() == 1000
    assert counts[:3, 6:].sum() == 0
    assert np.max(counts) > 3 * counts.mean()


def test_trailing_parameter_axes_are_ranked_separately():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 50))
    b = rng.normal(size=(3, 50)) * 100.0 + 7.0
    counts = diagnostics.rank_counts(np.stack([a, b], axis=-1), n_bins=5)
    assert counts.shape == (3, 5, 2)
    np.testing.assert_array_equal(counts[..., 0], diagnostics.rank_counts(a, n_bins=5))
    np.testing.assert_array_equal(counts[..., 1], diagnostics.rank_counts(b, n_bins=5))


def test_ranks_are_binned_exactly():
    # Pooled values 0..7 (ranks 1..8) in two chains; 4 bins of two ranks each.
    draws = np.array([[0.0, 1.0, 2.0, 7.0], [3.0, 4.0, 5.0, 6.0]])
    counts = diagnostics.rank_counts(draws, n_bins=4)
    np.testing.assert_array_equal(counts, [[2, 1, 0, 1], [0, 1, 2, 1]])


@pytest.mark.parametrize(
    "draws, n_bins",
    [(np.zeros(10), 2), (np.zeros((2, 5)), 0), (np.zeros((2, 5)), 11), (np.zeros((2, 5)), 2.5),
     (np.full((2, 5), np.nan), 2)],
)
def test_bad_input_is_refused(draws, n_bins):
    with pytest.raises(ValueError):
        diagnostics.rank_counts(draws, n_bins=n_bins)
