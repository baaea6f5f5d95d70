# Sourced by the other scripts: make .venv (Python >= 3.12) with the pinned dependencies.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
    local cand v
    for cand in python3.13 python3.12 python3; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            echo "$cand"; return 0
        fi
    done
    # pyenv installs interpreters it does not activate by default.
    if command -v pyenv >/dev/null 2>&1; then
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])' | sort -V -r); do
            if PYENV_VERSION="$v" pyenv exec python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
                echo "$(PYENV_VERSION="$v" pyenv which python)"; return 0
            fi
        done
    fi
    return 1
}

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    PY="$(find_python)" || { echo "error: Python >= 3.12 is needed (genjax 1.x requires it); none found" >&2; exit 1; }
    echo "creating $VENV with $PY"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    echo "installing the pinned dependencies into $VENV"
    log="$(mktemp)"
    if ! "$VENV/bin/python" -m pip install --quiet -e "$ROOT[book,test]" >"$log" 2>&1; then
        grep -v '^WARNING: Location' "$log" >&2; echo "error: pip install failed" >&2; exit 1
    fi
    rm -f "$log"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
export PYTHONHASHSEED=0
# JAX's persistent compilation cache, shared by the unit tests, every chapter's kernel
# and the copy-paste run: each jitted function is compiled once per machine, not once per
# process. Results do not depend on it (a cache hit runs the same XLA program).
export JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-$ROOT/.cache/jax}"
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="${JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS:-0.2}"
cd "$ROOT"

# Execute every cell of every page from scratch (a new, empty jupyter-cache; the pages side
# by side, one per core: scripts/execute_pages.py), then render from those outputs with
# Sphinx, failing on any warning. Arguments go to jupyter-book (e.g. --builder pdflatex).
# GMM_REUSE_EXECUTION=1 (.ci/run's PDF, right after the test command built the HTML from
# the same tree) renders from the notebooks that build executed instead of executing again;
# a page whose code no longer matches the cache is executed by myst-nb as usual.
execute_and_build() {
    local cache=_build/.jupyter_cache
    if [ "${GMM_REUSE_EXECUTION:-0}" = 1 ] && [ -d "$cache" ] && [ -f _build/.build/_config.yml ]; then
        echo "reusing the executed pages in $cache"
    else
        rm -rf "$cache"
        python scripts/execute_pages.py "$cache" --config-out _build/.build/_config.yml \
            ${GMM_BOOK_JOBS:+--jobs "$GMM_BOOK_JOBS"}
    fi
    jupyter-book build . --config _build/.build/_config.yml --all -W -n --keep-going "$@"
}
