#!/usr/bin/env bash
# Run the tests: pytest on the gmm package, the full book build (every cell executed),
# then the tests of the built book: every page in headless Chromium (skipped, saying so,
# where no Chromium is installed), every page's visible code shown to run on its own
# (tests/test_copy_paste.py),
# and every internal link and anchor. Arguments go to the unit-test pytest run.
source "$(dirname "$0")/env.sh"
start=$SECONDS
lap=$SECONDS
took() { echo "time: $1 took $((SECONDS - lap)) s"; lap=$SECONDS; }

echo "== unit tests"
# One worker per core (pytest-xdist); JAX's compilation cache is shared between them. Each
# test file runs on one worker (loadscope), so a module's expensive fixtures (reference
# posteriors) are computed once, not once per worker.
python -m pytest tests -n auto --dist loadscope --ignore=tests/browser --ignore=tests/test_copy_paste.py "$@"
took "unit tests"

echo "== book build"
bash "$ROOT/scripts/build_book.sh"
took "book build (clean, every cell executed)"

echo "== the built book: browser test, copy-paste test"
GMM_BOOK_TESTS=1 python -m pytest tests/browser tests/test_copy_paste.py -rs
took "built-book tests"

echo "== internal links"
python "$ROOT/scripts/check_links.py" "$ROOT/_build/html"
took "link check"
lap=$start
took "the test command"
