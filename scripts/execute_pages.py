"""Execute every page of the book, side by side, into a fresh jupyter-cache (run by build_book.sh).

Sphinx executes notebooks one at a time; on a machine with several cores most of the
build's time is then one busy core. This script executes every page in _toc.yml in its
own fresh kernel, ``--jobs`` at a time (one per core by default), longest pages first, and
stores the executed notebooks in a new, empty jupyter-cache. The build that follows runs
in myst-nb's cache mode on that cache: each page's code cells hash to the notebook just
executed, so Sphinx renders those outputs and executes nothing itself. Every cell still
runs from scratch in every build: the cache is created empty here and deleted by the next
build. A page whose execution fails stops the build with its traceback, and so does a page that
shows a reader what it should not (tests/book_pages.output_problems: stderr output such
as a warning, in a cell not tagged ``shows-warning``, or a path of the build machine).

It also records how long each code cell ran (nbclient's timestamps) in
``_build/.build/cell_times.json`` ({docname: {cell index: seconds}}), from which the
book's Sphinx extension (_ext/book_site.py) notes under every slow cell how long it
took when the book was built.

Usage: python scripts/execute_pages.py CACHE_DIR --config-out CONFIG [--jobs N]
(CONFIG: the book's _config.yml in cache mode on CACHE_DIR, for ``jupyter-book build --config``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import book_pages  # noqa: E402  (the table of contents, read as the tests read it)

TIMEOUT_S = 900  # the per-cell limit of _config.yml's `execute.timeout`
CELL_TIMES = ROOT / "_build" / ".build" / "cell_times.json"


def toc_pages() -> list[Path]:
    """Every page of _toc.yml, root first, as paths to its .md source."""
    return [book_pages.source_path(d) for d in book_pages.toc_docnames()]


def cache_config(cache: Path) -> dict:
    """The book's _config.yml with myst-nb in cache mode on ``cache`` (paths made absolute, so
    the file can live anywhere)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {})
    config["execute"]["execute_notebooks"] = "cache"
    config["execute"]["cache"] = str(cache.resolve())
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in local.items():  # relative to the config file
        local[name] = str((ROOT / path).resolve())
    return config


def read_page(path: Path) -> nbformat.NotebookNode | None:
    """The page as myst-nb reads it (same cells and metadata, hence the same cache hash),
    or None for a page that is not a notebook."""
    from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook

    text = path.read_text("utf8")
    if not is_myst_markdown_notebook(text):
        return None
    return read_myst_markdown_notebook(text, add_source_map=True, path=str(path))


def cell_seconds(nb: nbformat.NotebookNode) -> dict[int, float]:
    """Each executed code cell's run time, by its index in ``nb.cells`` (myst-nb's
    ``cell_index``), and the timing metadata removed: the cache hashes cell metadata."""
    times = {}
    for i, cell in enumerate(nb.cells):
        stamps = cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type == "code" and stamps and "shell.execute_reply" in stamps:
            start = datetime.fromisoformat(stamps["iopub.execute_input"])
            times[i] = (datetime.fromisoformat(stamps["shell.execute_reply"]) - start).total_seconds()
    return times


def execute(path: str) -> tuple[str, str | None, float, str | None, dict[int, float]]:
    """Execute one page in a fresh kernel, in the page's folder (as myst-nb does):
    (path, executed notebook as JSON or None, seconds, traceback or None, cell seconds)."""
    from jupyter_cache.executors.utils import single_nb_execution

    nb = read_page(Path(path))
    result = single_nb_execution(
        nb, cwd=str(Path(path).parent), timeout=TIMEOUT_S, allow_errors=False, record_timing=True
    )
    times = cell_seconds(nb)
    if result.err is not None:
        return path, None, result.time, result.exc_string, times
    problems = book_pages.output_problems(nb)
    if problems:  # a warning, stderr or a machine path that the page would show
        return path, None, result.time, "output a reader should not see:\n" + "\n".join(problems), times
    return path, nbformat.writes(nb), result.time, None, times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path, help="jupyter-cache folder to create (must not exist)")
    parser.add_argument("--config-out", type=Path, required=True, help="where to write the cache-mode config")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    if args.cache.exists():
        parser.error(f"{args.cache} exists: the cache must start empty")
    CELL_TIMES.unlink(missing_ok=True)
    notebooks = {p: nb for p in toc_pages() if (nb := read_page(p)) is not None}
    # Longest first (by the length of their code), so no long page starts last.
    pages = sorted(notebooks, key=lambda p: -sum(len(c.source) for c in notebooks[p].cells if c.cell_type == "code"))
    cache = get_cache(str(args.cache))
    args.config_out.parent.mkdir(parents=True, exist_ok=True)
    args.config_out.write_text(yaml.safe_dump(cache_config(args.cache), sort_keys=False))
    t0 = time.perf_counter()
    failed, cell_times = [], {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(execute, str(p)) for p in pages]
        for future in as_completed(futures):
            path, nb_json, seconds, tb, times = future.result()
            name = Path(path).relative_to(ROOT)
            cell_times[name.with_suffix("").as_posix()] = times
            if tb is not None:
                failed.append(name)
                print(f"{name}: execution FAILED after {seconds:.1f} s\n{tb}", file=sys.stderr, flush=True)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nbformat.reads(nb_json, as_version=4), path, data={"execution_seconds": seconds}),
                check_validity=False,
                overwrite=True,
            )
            print(f"{name}: executed in {seconds:.1f} s", flush=True)
    CELL_TIMES.parent.mkdir(parents=True, exist_ok=True)
    CELL_TIMES.write_text(json.dumps(cell_times, indent=1, sort_keys=True))
    print(f"executed {len(pages) - len(failed)} of {len(pages)} pages in {time.perf_counter() - t0:.0f} s "
          f"({args.jobs} at a time)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
