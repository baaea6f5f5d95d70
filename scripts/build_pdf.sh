#!/usr/bin/env bash
# Build the book's PDF, _build/latex/gmm-book.pdf: Jupyter Book's pdflatex builder
# (LaTeX through XeLaTeX and latexmk), executing every cell (scripts/execute_pages.py), failing on any cell
# error or Sphinx warning, and on any glyph missing from the fonts (which LaTeX only
# logs). Installs TeX with apt-get when it is missing (as root; otherwise says what to run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

source "$ROOT/scripts/tex.sh"

if ! tex_ready; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "build_pdf: installing TeX with apt-get (a few minutes, once)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q "${TEX_PACKAGES[@]}" >/dev/null
        tex_ready || { echo "error: TeX still incomplete after apt-get install" >&2; exit 1; }
    else
        echo "error: XeLaTeX, latexmk or a LaTeX package is missing; install them with:" >&2
        echo "  sudo apt-get install -y ${TEX_PACKAGES[*]}" >&2
        exit 1
    fi
fi

source "$ROOT/scripts/env.sh"
rm -rf _build/latex
execute_and_build --builder pdflatex "$@"

pdf="_build/latex/gmm-book.pdf"
log="_build/latex/gmm-book.log"
[ -f "$pdf" ] || { echo "error: no $pdf" >&2; exit 1; }
# XeLaTeX only logs a glyph the font lacks ("Missing character: There is no ... in font ...").
if grep -q "Missing character" "$log"; then
    echo "error: glyphs missing from the PDF's fonts ($log):" >&2
    grep "Missing character" "$log" | sort | uniq -c >&2
    exit 1
fi
echo "pdf: $ROOT/$pdf"
