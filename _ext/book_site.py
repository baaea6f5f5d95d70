"""Sphinx extension for the book's HTML site (loaded from _config.yml).

MathJax is served from the site itself by the ``sphinx-mathjax-offline``
extension (listed in ``_config.yml``), which copies the MathJax 3 build it ships
into ``_build/html/_static/mathjax``; this extension only checks, before any cell
runs, that the script ``mathjax_path`` names is there.

It offers every executed chapter as a notebook. sphinx-book-theme adds the
  ``.ipynb`` entry of its download button only when a launch service (Binder,
  Colab, ...) is configured, which this book has none of. For every page that
  is a notebook (its front matter has a kernelspec), this copies the notebook
  myst-nb executed (``_build/jupyter_execute/<page>.ipynb``, with the outputs of its
  execution merged in from the jupyter-cache in cache mode) next to the page's source
  in ``_sources/`` and sets ``ipynb_source`` so that
  the theme's download button offers both ``.md`` and ``.ipynb``.

Under every code cell that ran longer than ``SLOW_CELL_S`` seconds when the book was
built it adds a line saying so, with the time measured then (recorded by
``scripts/execute_pages.py`` in ``_build/.build/cell_times.json``): a reader who runs
the cell knows what wait to expect.

It also removes duplicated inline scripts from every page. Sphinx 7.4 adds
the scripts an extension registers after the builder started twice (once as
given, once re-read from the registry with ``None`` turned into ``''``), so
sphinx-thebe's ``const THEBE_JS_URL = ...`` ran twice and every page threw
"Identifier 'THEBE_JS_URL' has already been declared".
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

SLOW_CELL_S = 5.0
CELL_TIMES = Path("_build") / ".build" / "cell_times.json"  # relative to the book's root


def mathjax_source() -> Path:
    """The MathJax 3 directory that sphinx-mathjax-offline copies into the site."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:  # pragma: no cover - install problem
        raise ExtensionError(
            "MathJax is served from the site itself: install the pinned 'sphinx-mathjax-offline' "
            "package (pip install -e '.[book,test]', which scripts/env.sh does)"
        )
    return Path(spec.origin).parent / "static" / "mathjax"


def _is_html(app: Sphinx) -> bool:
    return getattr(app.builder, "format", "") == "html"


def check_mathjax(app: Sphinx) -> None:
    """Fail early (not after executing every cell) if the MathJax script is missing."""
    if _is_html(app):
        script = mathjax_source() / Path(app.config.mathjax_path).relative_to("mathjax")
        if not script.is_file():  # pragma: no cover
            raise ExtensionError(f"mathjax_path names {script}, which sphinx-mathjax-offline does not ship")


def load_cell_times(app: Sphinx) -> None:
    path = Path(app.srcdir) / CELL_TIMES
    app.env.gmm_cell_times = json.loads(path.read_text()) if path.is_file() else {}


def note_slow_cells(app: Sphinx, doctree: nodes.document) -> None:
    """After each cell that ran for more than SLOW_CELL_S seconds at build, a line with its time."""
    times = getattr(app.env, "gmm_cell_times", {}).get(app.env.docname, {})
    for cell in list(doctree.findall(nodes.container)):
        if cell.get("nb_element") != "cell_code":
            continue
        seconds = times.get(str(cell.get("cell_index")))
        if seconds is None or seconds <= SLOW_CELL_S:
            continue
        note = nodes.paragraph(classes=["cell-time"])
        note += nodes.emphasis(text=f"This cell took {seconds:.0f} s when the book was built.")
        cell.parent.insert(cell.parent.index(cell) + 1, note)


def offer_notebook(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not _is_html(app) or doctree is None:
        return
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    import nbformat

    nb = with_cached_outputs(app, nbformat.read(executed, as_version=4))
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = drop_merged_streams(cell.get("outputs", []))
    nbformat.write(nb, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def with_cached_outputs(app: Sphinx, nb):
    """The notebook with the outputs of its execution.

    In cache mode (how scripts/build_book.sh builds) myst-nb renders the page from the
    executed notebook in the jupyter-cache but writes the notebook *as read*, without
    outputs, to ``jupyter_execute``; the outputs are merged in here from the same cache,
    matched by the same hash of the code cells."""
    if app.config.nb_execution_mode != "cache" or not app.config.nb_execution_cache_path:
        return nb
    from jupyter_cache import get_cache

    try:
        _, merged = get_cache(app.config.nb_execution_cache_path).merge_match_into_notebook(nb)
    except KeyError:  # not in the cache: myst-nb executed it itself, outputs included
        return nb
    return merged


def drop_merged_streams(outputs: list) -> list:
    """Undo the duplication that ``nb_merge_streams`` leaves in the executed notebook.

    myst-nb merges a cell's stream outputs for the page by appending every later
    stdout (or stderr) chunk to the first chunk *in place*, yet keeps the later chunks
    in the notebook it writes out: a cell whose output arrived in two chunks showed the
    second chunk twice in the downloaded notebook. A later chunk whose text the first
    chunk of its stream already contains is such a copy and is dropped.
    """
    first: dict[str, dict] = {}
    kept = []
    for out in outputs:
        if out.get("output_type") == "stream":
            name = out.get("name")
            if name in first:
                text = "".join(out.get("text", "")).strip()
                if text and text in "".join(first[name].get("text", "")):
                    continue
            else:
                first[name] = out
        kept.append(out)
    return kept


def dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for js in scripts:
        filename = getattr(js, "filename", js) or ""
        attributes = getattr(js, "attributes", {})
        key = (filename, getattr(js, "priority", 0), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", check_mathjax)
    app.connect("builder-inited", load_cell_times)
    app.connect("doctree-read", note_slow_cells)
    # sphinx-book-theme builds its header buttons at priority 501: run before.
    app.connect("html-page-context", offer_notebook, priority=400)
    # Last, once every extension has added its per-page scripts.
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
