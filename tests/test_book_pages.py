"""The copy-paste test's rule for hidden cells: only pure glue plumbing may be hidden."""

import book_pages


def test_glue_only_cells_recognised():
    assert book_pages.is_glue_only('from myst_nb import glue\n\nglue("a", f"{x:.1f}", display=False)\n')
    assert book_pages.is_glue_only('glue("a", 1, display=False)\nglue("b", y[0], display=False)')


def test_cells_that_do_work_are_not_glue_only():
    assert not book_pages.is_glue_only("x = 1\nglue('a', x, display=False)")
    assert not book_pages.is_glue_only("import gmm\nglue('a', 1)")
    assert not book_pages.is_glue_only("glue('a', (y := 2))")
    assert not book_pages.is_glue_only("print(1)")
    assert not book_pages.is_glue_only("")
    assert not book_pages.is_glue_only("from myst_nb import glue as g")


# --- what every page's source must respect --------------------------------------------------

import re  # noqa: E402

import pytest  # noqa: E402

PAGES = book_pages.toc_docnames()
MAX_CODE_LINE = 90  # characters: wider lines wrap in the PDF and scroll on the site


def prose(docname: str) -> str:
    """The page's text outside code fences (MyST directives with ``` or ~~~ fences)."""
    out, fence = [], None
    for line in book_pages.source_path(docname).read_text().splitlines():
        stripped = line.lstrip()
        if fence is None and stripped.startswith("```{code-cell}"):
            fence = stripped[: len(stripped) - len(stripped.lstrip("`"))]
            continue
        if fence is not None:
            if stripped.startswith(fence) and stripped.strip("`") == "":
                fence = None
            continue
        out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize("docname", PAGES)
def test_visible_code_lines_fit(docname):
    long = [f"cell {i + 1}: {len(line)} characters: {line[:50]}..."
            for i, cell in enumerate(book_pages.code_cells(docname)) if not cell.hidden
            for line in cell.source.splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, f"{docname}: code lines over {MAX_CODE_LINE} characters:\n" + "\n".join(long)


@pytest.mark.parametrize("docname", PAGES)
def test_cross_references_are_generated(docname):
    """A chapter is named by {numref}`Chapter %s <ch-...>` (a bare {numref}`ch-...` prints
    "Section 6"), and no chapter or section number is typed by hand: it goes stale when the
    book is reordered."""
    text = prose(docname)
    bare = re.findall(r"\{numref\}`ch-[^`]*`", text)
    # A chapter of a cited book ("{cite:t}`bishop2006`, Chapters 1 and 2") is not ours.
    typed = [m.group() for m in re.finditer(r"\b(?:[Ss]ection|[Cc]hapter)s? \d+(?:\.\d+)*", text)
             if "{cite" not in text[max(0, m.start() - 40):m.start()]]
    assert not bare, f"{docname}: chapter references without 'Chapter %s <...>': {bare}"
    assert not typed, f"{docname}: section or chapter numbers typed by hand: {typed}"


def test_prose_excludes_code_cells():
    text = prose("book/01_mystery")
    assert "import gmm" not in text and "average" in text
