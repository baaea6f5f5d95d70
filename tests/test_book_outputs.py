"""What the executed book shows, and that its claims are checked.

* The output check (book_pages.output_problems, which scripts/execute_pages.py applies to
  every page, failing the build): stderr, errors and machine paths are caught, and a cell
  tagged ``shows-warning`` may show a warning.
* The claims check: a page whose computation is changed so that a conclusion in its prose
  no longer holds fails to execute, at the hidden assertion that backs the claim (a
  planted change on chapter 1, executed as the build executes pages).
* On the built site (GMM_BOOK_TESTS=1, after scripts/build_book.sh): every chapter's
  downloadable notebook carries its outputs and none of them shows a problem, and no page
  shows a path of the machine that built it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

import book_pages

ROOT = book_pages.ROOT
HTML = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "scripts"))


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _code(source="x = 1", outputs=(), tags=()):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def test_clean_outputs_pass():
    nb = _nb(_code(outputs=[_stream("mean weight: 421.30 g\n")]),
             _code(outputs=[{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                             "data": {"text/plain": "Mixture(K=2)"}}]))
    assert book_pages.output_problems(nb) == []


def test_stderr_error_and_paths_are_problems():
    warn = _stream("gmm/inference/gibbs.py:300: RuntimeWarning: R-hat 1.17\n", "stderr")
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}
    path = _stream(f"saved to {ROOT}/_build/x.png\n")
    tmp = _stream("kernel file /tmp/tmpab12/kernel.json\n")
    problems = book_pages.output_problems(
        _nb(_code("a()", [warn]), _code("b()", [error]), _code("c()", [path]), _code("d()", [tmp])))
    assert len(problems) == 4, problems
    assert "stderr" in problems[0] and "code cell 1" in problems[0]
    assert "ValueError" in problems[1]
    assert all("path of the build machine" in p for p in problems[2:])


def test_a_cell_tagged_shows_warning_may_warn_but_not_leak_paths():
    warn = _stream("RuntimeWarning: R-hat 1.55 for means[0]\n", "stderr")
    assert book_pages.output_problems(_nb(_code("g()", [warn], tags=["shows-warning"]))) == []
    leak = _stream(f"{ROOT}/gmm/inference/gibbs.py:12: RuntimeWarning\n", "stderr")
    assert len(book_pages.output_problems(_nb(_code("g()", [leak], tags=["shows-warning"])))) == 1


# --- claims ------------------------------------------------------------------------------

CLAIM_PAGE = "book/01_mystery"
# The planted change: one more bento, at exactly the average weight. Chapter 1 concludes
# that no bento is anywhere near the average; that conclusion's assertion must now fail.
PLANT_BEFORE = "mean = float(jnp.mean(x))"
PLANT = "x = jnp.append(x, jnp.mean(x))  # planted by tests/test_book_outputs.py\n"


def test_every_chapter_checks_claims():
    """Each chapter (a page whose prose uses glued numbers) backs its conclusions with
    assertions in hidden cells."""
    unchecked = []
    for docname in book_pages.toc_docnames():
        cells = book_pages.code_cells(docname)
        if not any("glue(" in c.source for c in cells):
            continue
        if sum(c.claims for c in cells if c.hidden) == 0:
            unchecked.append(docname)
    assert not unchecked, f"pages with glued numbers but no checked claim: {unchecked}"


def test_a_planted_change_fails_the_page_at_a_claim(tmp_path):
    import execute_pages

    source = book_pages.source_path(CLAIM_PAGE).read_text()
    assert source.count(PLANT_BEFORE) == 1, f"{CLAIM_PAGE}: the planted change no longer applies"
    planted = tmp_path / "planted.md"
    planted.write_text(source.replace(PLANT_BEFORE, PLANT + PLANT_BEFORE))
    _, nb_json, _, traceback, _ = execute_pages.execute(str(planted))
    assert nb_json is None and traceback is not None, "the planted change did not fail the page"
    assert "AssertionError" in traceback, f"the page failed, but not at a claim:\n{traceback[-2000:]}"


# --- the built site ------------------------------------------------------------------------

built = pytest.mark.skipif(
    os.environ.get("GMM_BOOK_TESTS") != "1" or not HTML.is_dir(),
    reason="tests the built book: GMM_BOOK_TESTS=1 after scripts/build_book.sh (scripts/test.sh)",
)
CHAPTERS = [d for d in book_pages.toc_docnames() if book_pages.code_cells(d)]


@built
@pytest.mark.parametrize("docname", CHAPTERS)
def test_downloaded_notebook_has_outputs_and_shows_no_problem(docname):
    path = HTML / "_sources" / f"{docname}.ipynb"
    assert path.is_file(), f"{path} is not offered for download"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    with_outputs = [c for c in code if c.get("outputs")]
    assert len(with_outputs) >= len(code) // 3, (
        f"{docname}.ipynb: only {len(with_outputs)} of {len(code)} code cells have outputs")
    assert book_pages.output_problems(nb) == []


@built
def test_no_page_shows_a_path_of_the_build_machine():
    leaks = []
    for page in HTML.rglob("*.html"):
        text = page.read_text(errors="replace")
        if str(ROOT) in text or "site-packages" in text:
            leaks.append(str(page.relative_to(HTML)))
    assert not leaks, f"pages that show a path of the build machine: {leaks}"
