"""The Examples in gmm's docstrings run and print what they say (doctest), so a reader who
copies one gets the documented result."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gmm

MODULES = sorted(m.name for m in pkgutil.walk_packages(gmm.__path__, "gmm."))


def _examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    return [t for t in doctest.DocTestFinder().find(module, name) if t.examples]


WITH_EXAMPLES = [name for name in MODULES if _examples(name)]


def test_the_public_entry_points_have_examples():
    assert {"gmm.estimation.em", "gmm.model_choice.evidence", "gmm.model_choice.selection",
            "gmm.inference.dpmm", "gmm.models.mixture", "gmm.datasets"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_examples_run_as_documented(name):
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    for test in _examples(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
