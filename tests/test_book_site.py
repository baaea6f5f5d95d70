"""_ext/book_site.py and scripts/execute_pages.py: the downloadable notebook shows each
output once; slow cells get a note with their build time, and recording it does not
change the jupyter-cache hash that the build's cache mode matches pages by."""

import sys
from pathlib import Path

from myst_nb.core.utils import coalesce_streams
from nbformat import NotebookNode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
import book_site  # noqa: E402


def _stream(text, name="stdout"):
    return NotebookNode(output_type="stream", name=name, text=text)


def test_merged_streams_are_not_shown_twice():
    # What myst-nb does to the executed notebook: merge in place, keep the later chunk.
    outputs = [_stream("first line\n"), _stream("second line\n"), _stream("warn\n", "stderr")]
    coalesce_streams(outputs)
    kept = book_site.drop_merged_streams(outputs)
    texts = [o["text"] for o in kept]
    assert texts == ["first line\nsecond line\n", "warn\n"]
    assert sum(t.count("second line") for t in texts) == 1


def test_distinct_chunks_are_kept():
    outputs = [_stream("a\n"), _stream("b\n")]
    assert len(book_site.drop_merged_streams(outputs)) == 2


# --- notes under slow cells ---------------------------------------------------------

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import execute_pages  # noqa: E402


def _executed_notebook():
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("slow()", metadata={"tags": ["x"]}),
        nbformat.v4.new_code_cell("fast()"),
    ]
    unexecuted = nbformat.reads(nbformat.writes(nb), 4)
    nb.cells[1].metadata["execution"] = {
        "iopub.execute_input": "2026-11-25T10:00:00.000000Z",
        "shell.execute_reply": "2026-11-25T10:00:12.500000Z",
    }
    nb.cells[2].metadata["execution"] = {
        "iopub.execute_input": "2026-11-25T10:00:12.600000Z",
        "shell.execute_reply": "2026-11-25T10:00:12.850000Z",
    }
    return nb, unexecuted


def test_cell_seconds_reads_nbclient_timing_and_leaves_the_cache_hash_unchanged(tmp_path):
    from jupyter_cache import get_cache

    nb, unexecuted = _executed_notebook()
    times = execute_pages.cell_seconds(nb)
    assert times == {1: 12.5, 2: 0.25}  # by index in nb.cells; the markdown cell has none
    assert all("execution" not in c.metadata for c in nb.cells)
    assert nb.cells[1].metadata == {"tags": ["x"]}
    cache = get_cache(str(tmp_path / "cache"))
    assert cache.create_hashed_notebook(nb)[1] == cache.create_hashed_notebook(unexecuted)[1]


def test_only_cells_slower_than_the_threshold_get_a_note():
    from types import SimpleNamespace

    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    doc = new_document("page", get_default_settings(Parser))
    for index in (1, 2, 4):
        doc += nodes.container(nb_element="cell_code", cell_index=index)
        doc += nodes.paragraph(text=f"prose after cell {index}")
    times = {"1": book_site.SLOW_CELL_S + 7.4, "2": book_site.SLOW_CELL_S - 0.1}
    app = SimpleNamespace(env=SimpleNamespace(docname="book/page", gmm_cell_times={"book/page": times}))
    book_site.note_slow_cells(app, doc)
    notes = [n for n in doc.findall(nodes.paragraph) if "cell-time" in n["classes"]]
    assert [n.astext() for n in notes] == [f"This cell took {times['1']:.0f} s when the book was built."]
    assert doc.index(notes[0]) == 1  # right after its cell, before the prose that follows


# --- the downloadable notebook carries the outputs of the build's execution ---------------


def test_notebook_download_gets_its_outputs_from_the_cache(tmp_path):
    from types import SimpleNamespace

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("print(6 * 7)")]
    as_read = nbformat.reads(nbformat.writes(nb), 4)  # what myst-nb writes to jupyter_execute
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    cache_dir = tmp_path / "cache"
    get_cache(str(cache_dir)).cache_notebook_bundle(
        CacheBundleIn(nb, str(tmp_path / "page.md")), check_validity=False)

    app = SimpleNamespace(config=SimpleNamespace(nb_execution_mode="cache",
                                                 nb_execution_cache_path=str(cache_dir)))
    merged = book_site.with_cached_outputs(app, as_read)
    assert merged.cells[1].outputs[0]["text"] == "42\n"
    # Force mode (or a page not in the cache): the notebook as myst-nb wrote it.
    forced = SimpleNamespace(config=SimpleNamespace(nb_execution_mode="force", nb_execution_cache_path=""))
    assert book_site.with_cached_outputs(forced, as_read) is as_read
