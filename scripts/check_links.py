"""Check every internal link and anchor of the built site (no network needed).

    python scripts/check_links.py [_build/html]

For every HTML page under the site: each href/src that stays inside the site
must name a file that exists, and its #fragment an id (or name) on the target
page. Every resource a page loads (scripts, styles, images, fonts named in
<link>) must come from the site itself, not from another host. Links to
other sites (<a href="https://...">) are listed, not fetched. Exit 1 on any
problem.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]

# Attributes that make the browser fetch something (as opposed to <a href>).
LOADS = {("script", "src"), ("link", "href"), ("img", "src"), ("source", "src"),
         ("iframe", "src"), ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")}
NOT_FETCHED_LINK_RELS = {"canonical", "alternate", "author", "license", "next", "prev", "index", "search",
                         "top", "up", "copyright", "help", "home"}


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (tag, attr, url)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name") if tag in ("a", "map") else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        for attr in ("href", "src", "data"):
            if a.get(attr) is not None:
                kind = "load" if (tag, attr) in LOADS else "link"
                if tag == "link" and set((a.get("rel") or "").split()) & NOT_FETCHED_LINK_RELS:
                    kind = "link"
                self.links.append((tag, kind, a[attr]))
        if tag == "img" and a.get("srcset"):
            for part in a["srcset"].split(","):
                if part.strip():
                    self.links.append((tag, "load", part.split()[0]))


def main() -> int:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "html"
    if not (site / "index.html").is_file():
        print(f"check_links: no built site at {site}: run `bash scripts/build_book.sh`", file=sys.stderr)
        return 1
    pages: dict[Path, Page] = {}
    for path in sorted(site.rglob("*.html")):
        if path.relative_to(site).parts[0] in ("_static", "_sources"):
            continue  # theme template fragments and downloads, not pages
        parser = Page()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        pages[path.resolve()] = parser

    problems: list[str] = []
    external = defaultdict(set)
    n_links = n_anchors = 0
    for path, page in pages.items():
        rel = path.relative_to(site.resolve())
        for tag, kind, url in page.links:
            url = url.strip()
            if not url or url.startswith(("javascript:", "mailto:", "data:", "tel:")):
                continue
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                if kind == "load":
                    problems.append(f"{rel}: <{tag}> loads {url} from outside the site")
                else:
                    external[url].add(str(rel))
                continue
            n_links += 1
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if site.resolve() not in target.parents and target != site.resolve():
                problems.append(f"{rel}: {url} points outside the site")
                continue
            if not target.exists():
                problems.append(f"{rel}: broken link {url} (no {target.relative_to(site.resolve())})")
                continue
            frag = unquote(parts.fragment)
            if frag and target.suffix == ".html":
                n_anchors += 1
                if frag not in pages[target].ids:
                    problems.append(f"{rel}: broken anchor {url} (no id {frag!r} in {target.name})")

    for p in sorted(set(problems)):
        print(f"check_links: error: {p}", file=sys.stderr)
    print(f"check_links: {len(pages)} pages, {n_links} internal links ({n_anchors} with anchors), "
          f"{len(problems)} broken; {len(external)} links to other sites (not fetched)")
    for url in sorted(external):
        print(f"check_links:   external {url}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
