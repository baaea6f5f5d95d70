"""Helpers shared by every part of gmm: input checks (:mod:`gmm._util.validation`), the
defaults and limits every public routine reads (``gmm._util.defaults``), float64 scaling,
grouping and padding (:mod:`gmm._util.numerics`), and lazy submodules."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable


def lazy_submodules(package: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``package.<name>`` on first access, so that
    ``gmm.inference.gibbs`` works after ``import gmm`` without importing every engine."""

    def __getattr__(name: str) -> Any:
        if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
