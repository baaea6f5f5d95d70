"""Execute one or more pages of the book, each in a fresh kernel, and report (for authors).

Usage: python scripts/run_page.py book/07_galaxies.md [more pages ...]

Each page runs as the book build runs it (scripts/execute_pages.py: same reader, same
kernel, same folder). Printed per page: the cells that ran longer than a second, any cell
error with its traceback, and every problem that the build's output check
(tests/book_pages.output_problems) would fail on: stderr output, warnings, machine paths.
The executed notebook is written to _build/pages/<name>.ipynb for inspection. The exit
status is 1 if any page failed or showed a problem. Pages run one after another; run it
with several pages only on a quiet machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from execute_pages import execute

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import book_pages  # noqa: E402

OUT = ROOT / "_build" / "pages"


def main(paths: list[str]) -> int:
    status = 0
    for arg in paths:
        path = (Path.cwd() / arg).resolve()
        _, nb_json, seconds, tb, times = execute(str(path))
        print(f"== {path.relative_to(ROOT)}: {seconds:.1f} s")
        for index, t in sorted(times.items(), key=lambda kv: -kv[1]):
            if t > 1.0:
                print(f"  cell {index}: {t:.1f} s")
        if tb is not None:
            print(tb)
            status = 1
            continue
        nb = nbformat.reads(nb_json, as_version=4)
        OUT.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, OUT / f"{path.stem}.ipynb")
        problems = book_pages.output_problems(nb)
        for p in problems:
            print("  PROBLEM", p)
        if problems:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
