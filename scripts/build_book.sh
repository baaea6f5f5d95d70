#!/usr/bin/env bash
# Build the HTML book: set up .venv, execute every cell of every page (from scratch, into a
# new, empty jupyter-cache, the pages side by side, one per core: scripts/execute_pages.py),
# then render with Sphinx from those outputs; fail on any cell error or any warning.
source "$(dirname "$0")/env.sh"
cache=_build/.jupyter_cache
rm -rf "$cache"
python scripts/execute_pages.py "$cache" --config-out _build/.build/_config.yml ${GMM_BOOK_JOBS:+--jobs "$GMM_BOOK_JOBS"}
jupyter-book build . --config _build/.build/_config.yml --all -W -n --keep-going "$@"
echo "book: $ROOT/_build/html/index.html"
