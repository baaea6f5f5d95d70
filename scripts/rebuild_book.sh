#!/usr/bin/env bash
# Fast rebuild for authors: re-executes only pages whose code changed (jupyter-cache),
# and every page whenever gmm/, pyproject.toml or Python changed. The reference build,
# which the tests use, is scripts/build_book.sh (executes every cell every time).
source "$(dirname "$0")/env.sh"
python "$ROOT/scripts/rebuild_book.py" "$@"
