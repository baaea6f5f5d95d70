"""scikit-learn's BIC choice of K over seeds and restarts (gmm.model_choice.restarts)."""

import numpy as np
import pytest

import gmm
from gmm.model_choice.restarts import bic_choice_table, sklearn_bic_choices


def test_continuous_well_separated_data_give_the_true_k():
    # No repeated values and two clumps 20 sd apart: every seed must pick K = 2.
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.0, 1.0, 60), rng.normal(20.0, 1.0, 60)])
    picks = sklearn_bic_choices(x, [1, 2, 3], n_init=2, seeds=range(3))
    assert picks.tolist() == [2, 2, 2]


def test_more_restarts_fall_into_the_collapse_trap_on_rounded_bentos():
    # Rounded to the gram, the bentos repeat values; with enough restarts scikit-learn finds
    # components collapsed onto them and BIC then prefers more components than 2.
    table = bic_choice_table(gmm.datasets.bento(), [1, 2, 6], n_inits=(1, 20), seeds=range(4))
    assert set(table) == {1, 20}
    assert all(sum(row.values()) == 4 for row in table.values())
    assert table[20][6] >= 1
    assert table[20][2] <= table[1][2]


def test_bad_arguments_are_refused():
    x = gmm.datasets.bento()
    with pytest.raises(ValueError, match="ks"):
        sklearn_bic_choices(x, [], n_init=1, seeds=[0])
    with pytest.raises(ValueError, match="n_init"):
        sklearn_bic_choices(x, [1, 2], n_init=0, seeds=[0])
    with pytest.raises(ValueError, match="seeds"):
        sklearn_bic_choices(x, [1, 2], n_init=1, seeds=[])
