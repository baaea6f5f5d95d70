"""Every cell a reader waits for says so: each visible cell that ran longer than
_ext/book_site.py's threshold during the build (scripts/execute_pages.py records the
times) is followed on its page by a note with that time, and no other cell is."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_ext"))
import book_pages  # noqa: E402
import book_site  # noqa: E402

TIMES = book_pages.ROOT / book_site.CELL_TIMES
NOTE = re.compile(r'<p class="cell-time"><em>This cell took (\d+) s when the book was built\.</em></p>')


def _removed(cell) -> bool:
    tags = set(cell.metadata.get("tags", []))
    return "remove-cell" in tags or {"remove-input", "remove-output"} <= tags


def test_every_slow_cell_has_a_note(site: Path):
    from myst_nb.core.read import read_myst_markdown_notebook

    if not TIMES.is_file():
        pytest.fail(f"no {TIMES}: build the book with scripts/build_book.sh")
    times = json.loads(TIMES.read_text())
    assert set(times) >= {d for d in book_pages.toc_docnames() if book_pages.code_cells(d)}
    slow_pages = 0
    for docname, cells in times.items():
        nb = read_myst_markdown_notebook(book_pages.source_path(docname).read_text())
        expected = sorted(
            f"{s:.0f}" for i, s in cells.items() if s > book_site.SLOW_CELL_S and not _removed(nb.cells[int(i)])
        )
        shown = sorted(NOTE.findall((site / f"{docname}.html").read_text()))
        assert shown == expected, (docname, shown, expected)
        slow_pages += bool(expected)
    assert slow_pages > 0  # the build of this book has slow cells: the check saw some
