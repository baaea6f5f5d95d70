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
