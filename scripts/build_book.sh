#!/usr/bin/env bash
# Build the HTML book: set up .venv, execute every cell of every page (from scratch, into a
# new, empty jupyter-cache, the pages side by side, one per core: scripts/execute_pages.py),
# then render with Sphinx from those outputs; fail on any cell error or any warning.
source "$(dirname "$0")/env.sh"
execute_and_build "$@"
echo "book: $ROOT/_build/html/index.html"
