"""Open every built page in headless Chromium and check what a reader gets.

For each page of ``_build/html`` (served on 127.0.0.1): no console error, no
failed or outside request (everything, MathJax included, comes from the site
itself), the maths typeset by MathJax (every ``.math`` element rendered, no
MathJax error, no raw TeX left in the text), every image loaded, every figure
with alt text and a numbered caption, and every code cell with a copy button
that copies exactly the cell's source (read back from the clipboard), while
outputs get no copy button.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import book_pages  # noqa: E402

SITE = book_pages.ROOT / "_build" / "html"


def _pages() -> list[str]:
    if SITE.is_dir():
        pages = [
            p.relative_to(SITE).as_posix()
            for p in SITE.rglob("*.html")
            if not p.relative_to(SITE).parts[0].startswith("_")
        ]
        return sorted(pages)
    return [f"{d}.html" for d in book_pages.toc_docnames()]


PAGES = _pages()

# Raw TeX that MathJax should have replaced; looked for in the page's text
# outside code blocks.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac|\\mathcal|\\sum_")

WAIT_FOR_MATHJAX = """
async () => {
  const maths = document.querySelectorAll('.math');
  if (maths.length === 0) return {maths: 0};
  const t0 = Date.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - t0 > 20000) return {maths: maths.length, loaded: false};
    await new Promise(r => setTimeout(r, 50));
  }
  await MathJax.startup.promise;
  const unrendered = [...maths].filter(m => !m.querySelector('mjx-container'))
                               .map(m => m.textContent.slice(0, 80));
  return {
    maths: maths.length,
    loaded: true,
    containers: document.querySelectorAll('mjx-container').length,
    unrendered: unrendered,
    errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80)),
  };
}
"""

PROSE_TEXT = """
() => {
  const root = document.querySelector('main') || document.body;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  return clone.textContent;
}
"""

BROKEN_IMAGES = """
async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => i.complete ? null :
      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  return {
    count: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
  };
}
"""

FIGURES = """
() => [...document.querySelectorAll('main figure')].map(f => {
  const img = f.querySelector('img');
  const cap = f.querySelector('figcaption');
  return {
    id: f.id,
    alt: img ? (img.getAttribute('alt') || '').trim() : null,
    number: cap ? (cap.querySelector('.caption-number') || {}).textContent || '' : '',
    caption: cap ? (cap.querySelector('.caption-text') || {}).textContent || '' : '',
  };
})
"""


def _docname(page: str) -> str:
    return page.removesuffix(".html")


def _is_book_page(page: str) -> bool:
    return _docname(page) in book_pages.toc_docnames()


@pytest.fixture
def context(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    yield ctx
    ctx.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_page(context, server, page_path, record_property):
    problems: list[str] = []
    outside: list[str] = []

    def on_route(route):
        url = route.request.url
        if url.startswith(server) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", on_route)
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "requestfailed",
        lambda r: None if r.url in outside else problems.append(f"request failed: {r.url} ({r.failure})"),
    )
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    page.goto(f"{server}/{page_path}", wait_until="load")
    page.wait_for_load_state("networkidle")

    # Maths typeset.
    math = page.evaluate(WAIT_FOR_MATHJAX)
    if math["maths"]:
        assert math["loaded"], f"{page_path}: MathJax never loaded for {math['maths']} maths elements"
        assert not math["unrendered"], f"{page_path}: maths not typeset: {math['unrendered']}"
        assert not math["errors"], f"{page_path}: MathJax errors: {math['errors']}"
        assert math["containers"] >= math["maths"]
    raw = RAW_TEX.findall(page.evaluate(PROSE_TEXT))
    assert not raw, f"{page_path}: raw TeX left in the text: {raw[:10]}"

    # Images load; figures have alt text and a numbered caption.
    images = page.evaluate(BROKEN_IMAGES)
    assert not images["broken"], f"{page_path}: images that did not load: {images['broken']}"
    for fig in page.evaluate(FIGURES):
        if fig["alt"] is None:
            continue
        assert fig["alt"], f"{page_path}: figure {fig['id']!r} has no alt text"
        assert re.match(r"Fig\. \d+(\.\d+)?", fig["number"].strip()), (
            f"{page_path}: figure {fig['id']!r} caption is not numbered: {fig['number']!r}"
        )
        assert fig["caption"].strip(), f"{page_path}: figure {fig['id']!r} has an empty caption"

    # Copy buttons: one per code cell, none on outputs, copying the cell's source.
    assert page.locator(".cell_output .copybtn").count() == 0, f"{page_path}: an output has a copy button"
    # Open every folded exercise solution, as a reader would before copying its code.
    page.evaluate(
        """() => document.querySelectorAll('.toggle-hidden').forEach(el => {
            const b = el.querySelector('button.toggle-button'); if (b) b.click(); })"""
    )
    page.wait_for_function("() => document.querySelectorAll('.toggle-hidden').length === 0", timeout=5000)
    inputs = page.locator("div.cell_input div.highlight > pre")
    n = inputs.count()
    if _is_book_page(page_path):
        expected = [c.source for c in book_pages.code_cells(_docname(page_path)) if not c.hidden]
        assert n == len(expected), f"{page_path}: {n} code cells on the page, {len(expected)} in the source"
    else:
        expected = [None] * n
    for i in range(n):
        pre = inputs.nth(i)
        button = pre.locator("xpath=following-sibling::button[contains(@class, 'copybtn')]")
        assert button.count() == 1, f"{page_path}: code cell {i + 1} has no copy button"
        page.evaluate("() => navigator.clipboard.writeText('')")
        pre.scroll_into_view_if_needed()
        button.click()
        page.wait_for_function(
            "b => b.classList.contains('success') || b.getAttribute('data-tooltip') !== 'Copy'",
            arg=button.element_handle(),
            timeout=5000,
        )
        assert button.get_attribute("data-tooltip") == "Copied!", (
            f"{page_path}: code cell {i + 1}: copy button says {button.get_attribute('data-tooltip')!r}"
        )
        copied = page.evaluate("() => navigator.clipboard.readText()")
        want = expected[i] if expected[i] is not None else pre.inner_text()
        assert copied.rstrip("\n") == want.rstrip("\n"), (
            f"{page_path}: code cell {i + 1}: the clipboard holds\n{copied!r}\nnot the cell's source\n{want!r}"
        )

    # Site structure: numbered chapter, navigation to every page, downloads.
    if _is_book_page(page_path):
        toc = book_pages.toc_docnames()
        nav = page.locator("nav.bd-docs-nav a.reference.internal").count()
        assert nav >= len(toc) - 1, f"{page_path}: the sidebar links {nav} pages, the book has {len(toc)}"
        downloads = page.locator(".dropdown-download-buttons a").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
        assert any(d.endswith(".md") for d in downloads), f"{page_path}: no .md download: {downloads}"
        if expected:
            assert any(d.endswith(".ipynb") for d in downloads), f"{page_path}: no .ipynb download: {downloads}"
        if _docname(page_path) != toc[0]:
            title = page.locator("article section > h1").first.inner_text()
            assert re.match(r"\d+\. ", title), f"{page_path}: chapter title not numbered: {title!r}"
        for ref in page.locator("main a.reference[href*='#equation-']").evaluate_all(
            "els => els.map(e => [e.getAttribute('href'), e.textContent])"
        ):
            assert re.search(r"\d", ref[1]), f"{page_path}: equation reference without a number: {ref}"

    page.close()
    record_property(
        "site",
        f"{page_path}: {math['maths']} maths typeset, {images['count']} images loaded, "
        f"{n} code cells copied, {len(problems)} console errors",
    )
    assert not outside, f"{page_path}: requests to outside the site: {sorted(set(outside))}"
    assert not problems, f"{page_path}: " + "\n".join(problems)
