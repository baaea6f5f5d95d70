"""Fast, honest rebuild of the HTML book for authors (run by scripts/rebuild_book.sh).

scripts/build_book.sh is the reference build: it executes every cell (force
mode) every time. This one reuses work where that cannot hide a change:

* Every page is re-read and re-rendered (a fresh Sphinx environment, so
  cross-references, numbering and the API page's docstrings are always
  current), but myst-nb's jupyter-cache mode re-executes a page only if its
  code cells changed; a page whose code did not change gets the outputs of
  its last execution.
* The cache is keyed on everything the cells run besides their own code: the
  `gmm` package (every file under gmm/), pyproject.toml (the pinned versions)
  and the Python version. When any of these changes, the rebuild starts a new,
  empty cache, so every cell runs again. Caches for other keys are deleted.

Output goes to the same _build/html. The generated configuration (the book's
_config.yml with `execute_notebooks: cache`) is _build/.rebuild/_config.yml.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from execute_pages import CELL_TIMES, cache_config

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / "_build" / ".rebuild"


def code_key() -> str:
    h = hashlib.sha256(sys.version.encode())
    files = [ROOT / "pyproject.toml"] + sorted(
        p for p in (ROOT / "gmm").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    for p in files:
        h.update(p.relative_to(ROOT).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def main(argv: list[str]) -> int:
    key = code_key()
    cache = STATE / f"cache-{key}"
    STATE.mkdir(parents=True, exist_ok=True)
    for old in STATE.glob("cache-*"):
        if old != cache:
            shutil.rmtree(old)

    CELL_TIMES.unlink(missing_ok=True)  # the notes on slow cells come from full builds only
    cfg = STATE / "_config.yml"
    cfg.write_text(yaml.safe_dump(cache_config(cache), sort_keys=False))

    if cache.exists():
        print(f"rebuild: gmm/ unchanged (cache {cache.name}): only pages whose code changed are executed")
    else:
        print(f"rebuild: new cache {cache.name} (first rebuild, or gmm/, pyproject.toml or Python changed): "
              "every page is executed")
    cmd = ["jupyter-book", "build", str(ROOT), "--config", str(cfg), "--all", "-W", "-n", "--keep-going"]
    t0 = time.perf_counter()
    rc = subprocess.call(cmd + argv, cwd=ROOT)
    if rc == 0:
        print(f"rebuild: done in {time.perf_counter() - t0:.0f} s; book: {ROOT / '_build/html/index.html'}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
