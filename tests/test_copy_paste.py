"""Copy and paste: every page's code, as a reader copies it, runs on its own.

For each page of the book, the code cells a reader can see (in order, as the
copy buttons copy them) are written into one script that runs in a fresh
Python interpreter (the same .venv python, MPLBACKEND=Agg, an empty working
directory), outside the book build: no kernel state, no hidden set-up cell, no
file next to the page. The check that no cell is hidden is fast and always
runs; executing the pages is slow (it runs every page, about as long as the
book build; the pages run side by side, one per core, GMM_COPY_PASTE_JOBS
to change), so a plain ``pytest`` skips it unless this file is named
(``pytest tests/test_copy_paste.py``) or GMM_BOOK_TESTS=1 is set;
``bash scripts/test.sh`` runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
    runs = {d: pool.submit(run_page, d, tmp_path_factory.mktemp(Path(d).name)) for d in selected}
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("docname", PAGES)
def test_page_code_runs_on_its_own(docname, slow_requested, page_runs):
    returncode, stderr, elapsed = page_runs[docname].result()
    assert returncode == 0, (
        f"{docname}: its code cells, pasted into one script, fail outside the book "
        f"(exit {returncode}, {elapsed:.1f} s):\n{stderr[-4000:]}"
    )
