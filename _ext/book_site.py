"""Sphinx extension for the book's HTML site (loaded from _config.yml).

It does two things the stock Jupyter Book 1 stack does not:

* Serves MathJax 3 from the site itself. Sphinx points ``mathjax_path`` at a
  CDN by default, so the maths stays raw TeX offline (and in the sandbox the
  tests run in). ``_config.yml`` sets ``mathjax_path: mathjax/tex-mml-chtml.js``
  and this extension copies MathJax 3.2.2 from the pinned ``django-static-mathjax``
  package (``pip install .[test]``) into ``_build/html/_static/mathjax``.

* Offers every executed chapter as a notebook. sphinx-book-theme adds the
  ``.ipynb`` entry of its download button only when a launch service (Binder,
  Colab, ...) is configured, which this book has none of. For every page that
  is a notebook (its front matter has a kernelspec), this copies the notebook
  myst-nb executed (``_build/jupyter_execute/<page>.ipynb``, outputs included)
  next to the page's source in ``_sources/`` and sets ``ipynb_source`` so that
  the theme's download button offers both ``.md`` and ``.ipynb``.

It also removes duplicated inline scripts from every page. Sphinx 7.4 adds
the scripts an extension registers after the builder started twice (once as
given, once re-read from the registry with ``None`` turned into ``''``), so
sphinx-thebe's ``const THEBE_JS_URL = ...`` ran twice and every page threw
"Identifier 'THEBE_JS_URL' has already been declared".
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

# Parts of MathJax's es5 distribution the site needs: the combined TeX/MathML
# + CommonHTML component that mathjax_path names, the TeX extensions it may
# autoload, the CommonHTML fonts, and the lazily loaded menu/accessibility code.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "sre")


def mathjax_source() -> Path:
    try:
        import mathjax  # the django-static-mathjax distribution
    except ImportError as exc:  # pragma: no cover - install problem
        raise ExtensionError(
            "MathJax is served from the site itself: install the pinned "
            "'django-static-mathjax' package (pip install -e '.[book,test]', "
            "which scripts/env.sh does)"
        ) from exc
    root = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (root / "tex-mml-chtml.js").is_file():  # pragma: no cover
        raise ExtensionError(f"no MathJax 3 es5 build found under {root}")
    return root


def _is_html(app: Sphinx) -> bool:
    return getattr(app.builder, "format", "") == "html"


def check_mathjax(app: Sphinx) -> None:
    """Fail early (not after executing every cell) if MathJax is missing."""
    if _is_html(app):
        mathjax_source()


def copy_mathjax(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or not _is_html(app):
        return
    src = mathjax_source()
    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        s, d = src / part, dest / part
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            shutil.copy2(s, d)


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

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = drop_merged_streams(cell.get("outputs", []))
    nbformat.write(nb, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


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
    app.connect("build-finished", copy_mathjax)
    # sphinx-book-theme builds its header buttons at priority 501: run before.
    app.connect("html-page-context", offer_notebook, priority=400)
    # Last, once every extension has added its per-page scripts.
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
