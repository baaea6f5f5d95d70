"""Shared pytest options.

``--seeds N`` sweeps the statistical tests (those that take the ``seed`` fixture) over
N keys instead of one, as scikit-learn's ``global_random_seed`` does: a test that passes
for key 0 only by luck fails for some other key.
"""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--seeds", type=int, default=1,
        help="run every test that takes the `seed` fixture for seeds 0 .. N-1 (default 1)",
    )


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", range(metafunc.config.getoption("seeds")))
