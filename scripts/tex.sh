# Sourced by scripts/build_pdf.sh and .ci/run: the Debian packages the PDF needs, and a
# check that they are installed.
TEX_PACKAGES=(texlive-latex-extra texlive-xetex latexmk texlive-fonts-recommended
              texlive-fonts-extra texlive-science texlive-plain-generic fonts-freefont-otf
              xindy poppler-utils fontconfig make)

tex_ready() {
    local c f
    for c in xelatex latexmk xindy kpsewhich make fc-list pdftotext pdfinfo; do
        command -v "$c" >/dev/null 2>&1 || return 1
    done
    # LaTeX packages that Sphinx and sphinx-jupyterbook-latex load.
    for f in fvextra.sty ucharclasses.sty unicode-math.sty fncychap.sty wrapfig.sty \
             capt-of.sty needspace.sty upquote.sty xcolor.sty latinmodern-math.otf; do
        kpsewhich "$f" >/dev/null 2>&1 || return 1
    done
    # The text fonts of Sphinx's XeLaTeX set-up. (No grep -q: under pipefail,
    # fc-list would die of SIGPIPE and fail the check.)
    fc-list : family 2>/dev/null | grep FreeSerif >/dev/null || return 1
}
