"""Fixtures for the tests of the built site (tests/browser).

These tests read ``_build/html``, so they need the book built first
(``bash scripts/build_book.sh``). ``bash scripts/test.sh`` builds it and then
runs them. A plain ``pytest`` (the unit tests) skips them unless they are named
on the command line (``pytest tests/browser``) or GMM_BOOK_TESTS=1 is set, so
that a stale or missing build never fails the unit-test run.

The browser is Debian's Chromium (``apt-get install -y chromium``; CHROMIUM
overrides the path) driven by PyPI's ``playwright`` with its
``executable_path``: ``playwright install`` is never needed nor used.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
HERE = Path(__file__).resolve().parent

sys.path.insert(0, str(ROOT / "tests"))
from book_pages import requested  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if requested(config, HERE):
        return
    skip = pytest.mark.skip(
        reason="tests of the built site: run `bash scripts/test.sh`, or "
        "`pytest tests/browser` after `bash scripts/build_book.sh`"
    )
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(skip)


_SUMMARY: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _SUMMARY.extend(v for k, v in report.user_properties if k == "site")


def pytest_terminal_summary(terminalreporter) -> None:
    if _SUMMARY:
        terminalreporter.section("built site in Chromium")
        for line in _SUMMARY:
            terminalreporter.write_line(line)


def chromium_path() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.skip(f"no built book at {SITE}: run `bash scripts/build_book.sh` first")
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="session")
def server(site: Path):
    """Serve the built site on 127.0.0.1 (a secure context, as a real host would be)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip(
            "no Chromium found (looked for CHROMIUM, chromium, /usr/bin/chromium): "
            "install it with `apt-get install -y chromium` (.ci/run does) to run the browser tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
