"""The built API page (book/api.md) documents every public name of `gmm`.

Every name in ``gmm.__all__`` must be an object documented from its docstring
on the page (an anchor ``gmm.<name>``, or for a module ``module-gmm.<name>`` or
one of its members), or, for the GenJAX generative functions (which autodoc
cannot document as functions), be named in the page's text (the
:mod:`gmm.models.generative` docstring describes them). A new export without a line in
book/api.md fails here.
"""

from __future__ import annotations

import inspect
import re
from html.parser import HTMLParser

import gmm


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == "id" and v:
                self.ids.add(v)

    def handle_data(self, data):
        self.text.append(data)


def test_api_page_documents_every_public_name(site):
    parser = _Ids()
    parser.feed((site / "book" / "api.html").read_text(encoding="utf-8"))
    text = " ".join(parser.text)
    missing = []
    for name in gmm.__all__:
        anchors = {f"gmm.{name}", f"module-gmm.{name}"}
        if anchors & parser.ids or any(i.startswith(f"gmm.{name}.") for i in parser.ids):
            continue
        obj = getattr(gmm, name)
        plain = inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj)
        if not plain and re.search(rf"\b{re.escape(name)}\b", text):
            continue  # a generative function, described in the gmm.models.generative docstring
        missing.append(name)
    assert not missing, f"public names of gmm not on the API page (book/api.md): {missing}"
