#!/usr/bin/env bash
# Build the HTML book: set up .venv, execute every cell (no cache), fail on any warning.
source "$(dirname "$0")/env.sh"
rm -rf _build/.jupyter_cache
jupyter-book build . --all -W -n --keep-going "$@"
echo "book: $ROOT/_build/html/index.html"
