#!/usr/bin/env bash
# Run the tests: pytest on the gmm package, then the full book build.
source "$(dirname "$0")/env.sh"
python -m pytest tests "$@"
bash "$ROOT/scripts/build_book.sh"
