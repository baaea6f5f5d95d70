"""_ext/book_site.py: the downloadable notebook shows each output once."""

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
