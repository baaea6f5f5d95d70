#!/usr/bin/env bash
# Run the tests: pytest on the gmm package, the full book build (every cell executed),
# then the tests of the built book: every page in headless Chromium (skipped, saying so,
# where no Chromium is installed), every page's code pasted into a fresh interpreter,
# and every internal link and anchor. Arguments go to the unit-test pytest run.
source "$(dirname "$0")/env.sh"

echo "== unit tests"
# One worker per core (pytest-xdist); JAX's compilation cache is shared between them.
python -m pytest tests -n auto --ignore=tests/browser --ignore=tests/test_copy_paste.py "$@"

echo "== book build"
start=$SECONDS
bash "$ROOT/scripts/build_book.sh"
echo "book build: clean, every cell executed, in $((SECONDS - start)) s"

echo "== the built book: browser test, copy-paste test"
GMM_BOOK_TESTS=1 python -m pytest tests/browser tests/test_copy_paste.py -rs

echo "== internal links"
python "$ROOT/scripts/check_links.py" "$ROOT/_build/html"
