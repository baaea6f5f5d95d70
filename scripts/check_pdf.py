"""Check the built PDF: page count, every chapter title in its text, LaTeX log clean.

    python scripts/check_pdf.py [_build/latex/gmm-book.pdf] [--min-pages N] [--max-pages N]

Uses pdfinfo and pdftotext (Debian's poppler-utils). Fails (exit 1) when the
page count is outside the bounds, when a title of a page in _toc.yml is not in
the PDF's text, or when the LaTeX log next to the PDF reports a missing glyph
("Missing character") or an undefined reference. It prints the page count.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import book_pages  # noqa: E402


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)  # ligatures (ﬁ) -> letters
    text = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                                         "\u2013": "-", "\u2014": "-", "\u00ad": ""}))
    text = re.sub(r"-\s*\n\s*", "-", text)  # a title broken after a hyphen
    return re.sub(r"\s+", " ", text).strip().lower()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("pdf", nargs="?", default=str(ROOT / "_build/latex/gmm-book.pdf"))
    ap.add_argument("--min-pages", type=int, default=20)
    ap.add_argument("--max-pages", type=int, default=400)
    args = ap.parse_args()
    pdf = Path(args.pdf)
    if not pdf.is_file():
        print(f"check_pdf: no PDF at {pdf}: run `bash scripts/build_pdf.sh`", file=sys.stderr)
        return 1

    problems = []
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    print(f"check_pdf: {pdf.name}: {pages} pages")
    if not args.min_pages <= pages <= args.max_pages:
        problems.append(f"{pages} pages, expected between {args.min_pages} and {args.max_pages}")

    text = normalise(subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
                                    capture_output=True, text=True, check=True).stdout)
    for docname in book_pages.toc_docnames():
        title = book_pages.chapter_title(docname)
        found = normalise(title) in text
        print(f"check_pdf:   {'ok ' if found else 'MISSING'} {title}")
        if not found:
            problems.append(f"chapter title not in the PDF's text: {title!r} ({docname}.md)")

    log = pdf.with_suffix(".log")
    if log.is_file():
        log_text = log.read_text(errors="replace")
        missing = sorted(set(re.findall(r"Missing character: .*", log_text)))
        if missing:
            problems.append("glyphs missing from the fonts:\n    " + "\n    ".join(missing))
        undefined = sorted(set(re.findall(r"LaTeX Warning: (?:Reference|Citation) .* undefined.*", log_text)))
        if undefined:
            problems.append("undefined references:\n    " + "\n    ".join(undefined))
    else:
        problems.append(f"no LaTeX log at {log}")

    for p in problems:
        print(f"check_pdf: error: {p}", file=sys.stderr)
    if not problems:
        print("check_pdf: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
