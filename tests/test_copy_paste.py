"""Copy and paste: every page's code, as a reader copies it, runs on its own.

For each page of the book, the code cells a reader can see (in order, as the copy buttons
copy them) must run as one script in a fresh Python interpreter, outside the book build:
no kernel state, no hidden set-up cell, no file next to the page.

The book build has already run that code, in a fresh kernel, in order. What it adds to
the pasted script is decided from the page and the notebook the build executed:

* the hidden cells feed nothing into the visible ones: they hold only ``glue(...)`` calls
  and ``assert`` statements (``test_no_hidden_cells``, always run, fast), and no visible
  cell names ``glue``;
* the visible code is plain Python: every cell parses with ``ast`` (no ``%magic``, no
  ``!shell``, no top-level ``await``) and names nothing that only a kernel provides
  (``get_ipython``, ``display``, the last result ``_``);
* the code does not read files next to the page (no ``open``, ``Path``, ``__file__``,
  ``np.load``, ``read_csv``...), whose paths would differ in the reader's folder;
* the notebook the build executed (the site's download, ``_build/html/_sources``) holds
  exactly these code cells, each with its outputs and no error.

A page for which all of this holds is proved by the build. Any other page is written
into one script and run for real in a fresh interpreter (the same .venv python,
MPLBACKEND=Agg, an empty working directory), as every page used to be; so is every page
with GMM_COPY_PASTE_RUN_ALL=1. Both need the built book, so a plain ``pytest`` skips
them unless this file is named (``pytest tests/test_copy_paste.py``) or GMM_BOOK_TESTS=1
is set; ``bash scripts/test.sh`` runs them after the build.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

import book_pages

THIS = Path(__file__).resolve()
PAGES = [d for d in book_pages.toc_docnames() if book_pages.code_cells(d)]
TIMEOUT_S = 900  # the book build's per-cell limit (_config.yml)


@pytest.fixture
def slow_requested(request):
    if not book_pages.requested(request.config, THIS):
        pytest.skip(
            "executes every page (slow): run `pytest tests/test_copy_paste.py`, "
            "set GMM_BOOK_TESTS=1, or run `bash scripts/test.sh`"
        )


def test_pages_with_code_found():
    assert PAGES, "no page with code cells found through _toc.yml"


@pytest.mark.parametrize("docname", PAGES)
def test_no_hidden_cells(docname):
    """A reader (and the PDF) sees every cell that does work: only cells of pure glue
    plumbing (``glue(...)`` calls that hand computed numbers to the prose) may be hidden."""
    hidden = [
        f"cell {i + 1} tags {list(c.tags)}: {c.source.splitlines()[0] if c.source else ''}"
        for i, c in enumerate(book_pages.code_cells(docname))
        if c.hidden and not c.glue_only
    ]
    assert not hidden, f"{docname}: hidden code cells a reader would need:\n" + "\n".join(hidden)


def script_for(docname: str) -> str:
    parts = [f"# Code cells of {docname}.md, in order, as a reader copies them.\n"]
    for i, cell in enumerate(book_pages.code_cells(docname)):
        if cell.hidden:
            continue
        parts.append(f"\n# --- cell {i + 1} ---\n{cell.source.rstrip()}\n")
    return "".join(parts)


def run_page(docname: str, workdir: Path) -> tuple[int, str, float]:
    """Run the page's pasted code in a fresh interpreter: (exit code, stderr, seconds)."""
    script = workdir / f"{Path(docname).name}.py"
    script.write_text(script_for(docname))
    cwd = workdir / "cwd"
    cwd.mkdir()
    env = dict(os.environ, MPLBACKEND="Agg")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    return proc.returncode, proc.stderr, time.perf_counter() - t0


# Names whose presence means the page may depend on the kernel or on its folder.
KERNEL_NAMES = frozenset({"glue", "get_ipython", "display", "In", "Out", "_", "__", "___"})
FILE_NAMES = frozenset({"open", "Path", "__file__", "load", "loadtxt", "genfromtxt", "read_csv",
                        "read_parquet", "imread", "savefig", "chdir", "getcwd"})
SITE_SOURCES = book_pages.ROOT / "_build" / "html" / "_sources"


def needs_real_run(docname: str) -> str | None:
    """Why the build's execution does not prove that the page's pasted code runs on its
    own, or None when it does (module docstring)."""
    if os.environ.get("GMM_COPY_PASTE_RUN_ALL") == "1":
        return "GMM_COPY_PASTE_RUN_ALL=1"
    cells = book_pages.code_cells(docname)
    if any(c.hidden and not c.glue_only for c in cells):
        return "a hidden cell does work"
    trees = {}
    for i, cell in enumerate(cells):
        if not cell.hidden:
            try:  # compile, not only parse: a top-level ``await`` parses but does not compile
                compile(cell.source, f"<cell {i + 1}>", "exec")
                trees[i] = ast.parse(cell.source)
            except SyntaxError:
                return f"cell {i + 1} is not plain Python"
    # Names the page binds itself (``for _ in ...``) are its own, not the kernel's.
    bound = set()
    for tree in trees.values():
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                bound.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                bound.add(n.name)
            elif isinstance(n, ast.arg):
                bound.add(n.arg)
            elif isinstance(n, ast.alias):
                bound.add((n.asname or n.name).split(".")[0])
    for i, tree in trees.items():
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        names = loaded | {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        if found := sorted((loaded - bound) & KERNEL_NAMES):
            return f"cell {i + 1} names {found}, which only the kernel provides"
        if found := sorted(names & FILE_NAMES):
            return f"cell {i + 1} names {found}: it may read or write files next to the page"
    executed = SITE_SOURCES / f"{docname}.ipynb"
    if not executed.is_file():
        return f"no executed notebook at {executed}"
    nb = nbformat.read(executed, as_version=4)
    built = [c for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in built] != [c.source for c in cells]:
        return "the executed notebook's code differs from the page's: the build is stale"
    if any(o.get("output_type") == "error" for c in built for o in c.get("outputs", [])):
        return "a cell of the executed notebook shows an error"
    if not any(c.get("outputs") for c in built):
        return "the executed notebook has no outputs"
    return None


def test_a_page_that_reads_files_or_uses_the_kernel_is_run_for_real(monkeypatch):
    cell = book_pages.Cell
    cases = {"data = open('weights.csv').read()": "open", "display(fig)": "display",
             "%timeit f()": "plain Python", "x = np.load('a.npy')": "load",
             "y = _ + 1": "'_'", "await f()": "plain Python"}
    for source, reason in cases.items():
        monkeypatch.setattr(book_pages, "code_cells", lambda d, s=source: [cell(s, ())])
        assert reason in (needs_real_run("book/x") or ""), source


@pytest.fixture(scope="module")
def page_runs(request, tmp_path_factory):
    """Start every selected page at once, JOBS at a time (one per core by default)."""
    selected = [
        item.callspec.params["docname"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_page_code_runs_on_its_own"
    ]
    jobs = int(os.environ.get("GMM_COPY_PASTE_JOBS", os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    runs = {d: pool.submit(run_page, d, tmp_path_factory.mktemp(Path(d).name))
            for d in selected if needs_real_run(d) is not None}
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("docname", PAGES)
def test_page_code_runs_on_its_own(docname, slow_requested, page_runs):
    if docname not in page_runs:  # proved by the build's execution (needs_real_run)
        assert needs_real_run(docname) is None
        return
    returncode, stderr, elapsed = page_runs[docname].result()
    assert returncode == 0, (
        f"{docname}: its code cells, pasted into one script, fail outside the book "
        f"(exit {returncode}, {elapsed:.1f} s):\n{stderr[-4000:]}"
    )
