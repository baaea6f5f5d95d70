"""The book's pages and their code cells, read from the sources.

Shared by tests/test_copy_paste.py and tests/browser/: the code cells are read
with myst-nb's own MyST-notebook reader, so a cell here is exactly a cell the
book build executes, in order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# Tags that take a cell's code out of the PDF (or out of the page altogether):
# a reader who copies the code they can see never gets it.
HIDING_TAGS = frozenset(
    {"remove-cell", "remove-input", "hide-cell", "hide-input", "remove_cell", "remove_input"}
)


@dataclass(frozen=True)
class Cell:
    source: str
    tags: tuple[str, ...]

    @property
    def hidden(self) -> bool:
        return bool(HIDING_TAGS.intersection(self.tags))

    @property
    def glue_only(self) -> bool:
        """True if the cell only hands numbers to the prose or checks claims:
        ``from myst_nb import glue``, ``glue(...)`` calls and ``assert`` statements,
        with nothing assigned (no walrus). A reader who skips it loses nothing, so it
        may be hidden."""
        return is_glue_only(self.source)

    @property
    def claims(self) -> int:
        """How many ``assert`` statements (checked claims) the cell holds."""
        return count_asserts(self.source)


def is_glue_only(source: str) -> bool:
    """True for a cell of pure plumbing: glue calls (numbers handed to the prose) and
    assertions (the prose's claims checked), assigning nothing."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    if not tree.body:
        return False
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "myst_nb":
            if [a.name for a in stmt.names] != ["glue"] or stmt.names[0].asname:
                return False
            continue
        is_glue = (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                   and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "glue")
        if not (is_glue or isinstance(stmt, ast.Assert)):
            return False
        if any(isinstance(node, ast.NamedExpr) for node in ast.walk(stmt)):
            return False
    return True


def count_asserts(source: str) -> int:
    import ast

    try:
        return sum(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(source)))
    except SyntaxError:
        return 0


# A cell tagged so may print a warning: the prose next to it discusses it.
SHOWS_WARNING_TAG = "shows-warning"


def output_problems(nb, root: Path = ROOT) -> list[str]:
    """What an executed notebook shows that a reader should not see: any stderr output
    (warnings, progress bars) in a cell not tagged ``shows-warning``, any error output,
    and any path of the machine that built the book (the repository, /tmp, a home or
    site-packages folder). One line per problem, naming the cell."""
    import re

    machine_path = re.compile(
        re.escape(str(root)) + r"|/tmp/|/root/|/home/\w+|site-packages|\.venv/|/var/folders/"
    )
    problems = []
    number = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        tags = cell.get("metadata", {}).get("tags", [])
        first = (cell.get("source") or "").strip().splitlines()[:1]
        where = f"code cell {number} ({first[0][:60] if first else ''!r})"
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                problems.append(f"{where}: raised {out.get('ename')}: {out.get('evalue')}")
                continue
            if kind == "stream":
                text = "".join(out.get("text", ""))
                if out.get("name") == "stderr" and SHOWS_WARNING_TAG not in tags:
                    problems.append(f"{where}: wrote to stderr: {text.strip()[:300]!r}")
            else:
                data = out.get("data", {})
                text = "".join(data.get("text/plain", "")) + "".join(data.get("text/html", ""))
            if (m := machine_path.search(text)) is not None:
                problems.append(f"{where}: shows a path of the build machine: {text[max(0, m.start() - 60):m.end() + 60]!r}")
    return problems


def toc_docnames() -> list[str]:
    """Every page in _toc.yml (root first), as docnames like 'book/01_mystery'."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []) or []:
        walk(part.get("chapters"))
    return [n.removesuffix(".md") for n in names]


def source_path(docname: str) -> Path:
    return ROOT / f"{docname}.md"


def code_cells(docname: str) -> list[Cell]:
    """The page's code cells in order (none for a page that is not a notebook)."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    extensions = config.get("parse", {}).get("myst_enable_extensions", [])
    text = source_path(docname).read_text()
    if "{code-cell}" not in text:
        return []
    nb = read_myst_markdown_notebook(text, MdParserConfig(enable_extensions=set(extensions)))
    return [
        Cell(cell.source, tuple(cell.metadata.get("tags", ())))
        for cell in nb.cells
        if cell.cell_type == "code"
    ]


def chapter_title(docname: str) -> str:
    """The page's first '# ' heading, with inline-code backticks removed."""
    text = source_path(docname).read_text()
    in_fence = False
    for line in text.splitlines():
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence and line.startswith("# "):
            return line[2:].strip().replace("`", "")
    raise ValueError(f"{docname}: no '# ' title")


def requested(config: pytest.Config, here: Path) -> bool:
    """True if the slow tests at ``here`` (a file or a folder) were asked for explicitly:
    GMM_BOOK_TESTS=1, or ``here`` (or a file under it) named on the pytest command line."""
    if os.environ.get("GMM_BOOK_TESTS") == "1":
        return True
    for arg in config.args:
        p = (Path(config.invocation_params.dir) / arg.split("::")[0]).resolve()
        if p == here or here in p.parents:
            return True
    return False
