"""The package's layout: no import cycles between gmm's modules, none over 500 lines, and
no private name imported from another module."""

import ast
import pkgutil
from pathlib import Path

import gmm

ROOT = Path(gmm.__file__).parent
MODULES = {m.name: m for m in pkgutil.walk_packages(gmm.__path__, "gmm.")}


def _path(name: str) -> Path:
    rel = name.split(".")[1:]
    pkg = ROOT.joinpath(*rel, "__init__.py")
    return pkg if pkg.exists() else ROOT.joinpath(*rel[:-1], rel[-1] + ".py")


def _imports(name: str) -> list[tuple[str, list[str]]]:
    """(module imported, names imported from it) for every gmm import in the module, at any depth."""
    out = []
    for node in ast.walk(ast.parse(_path(name).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gmm"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.append((sub, []) if sub in MODULES else (node.module, [alias.name]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("gmm.")]
    return out


def test_no_import_cycles():
    graph = {m: {t for t, _ in _imports(m) if t in MODULES and t != m and not MODULES[t].ispkg}
             for m in MODULES if not MODULES[m].ispkg}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for t in graph.get(m, ()):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_no_module_over_500_lines():
    long = {m: n for m in MODULES if (n := len(_path(m).read_text().splitlines())) > 500}
    assert not long, long


def test_no_private_name_crosses_a_module():
    crossing = [(m, t, n) for m in MODULES for t, names in _imports(m) for n in names
                if n.startswith("_") and t != m]
    assert not crossing, crossing
