"""The book renders without Sphinx warnings, checked in seconds and without executing a cell.

The full build (``scripts/build_book.sh``) executes every page and fails on any warning,
but only after minutes. Most warnings do not depend on execution: a docstring that
cross-references an undocumented function (Sphinx runs nitpicky), a broken ``{ref}``, a
bad directive, a docstring that RST misreads (``|x - m|`` is a substitution). This test renders the book with execution off and fails on every warning
except the two kinds that only execution can satisfy: glue keys (``[mystnb.glue]``) and
references to figures, which code cells create (labels ``fig-...``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import execute_pages  # noqa: E402

NEEDS_EXECUTION = re.compile(r"\[mystnb\.glue\]|undefined label: 'fig-")


def test_book_renders_without_warnings_before_execution(tmp_path: Path):
    config = execute_pages.cache_config(tmp_path / "cache")
    config["execute"]["execute_notebooks"] = "off"
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--config", str(tmp_path / "_config.yml"),
         "--path-output", str(tmp_path / "out"), "-n", "--keep-going"],
        capture_output=True, text=True, timeout=600,
    )
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    warnings = [line for line in log.splitlines()
                if ("WARNING" in line or "ERROR" in line or "CRITICAL" in line) and "IPKernelApp" not in line]
    assert (tmp_path / "out" / "_build" / "html" / "index.html").exists(), log[-3000:]
    bad = [line for line in warnings if not NEEDS_EXECUTION.search(line)]
    assert not bad, "Sphinx warnings that do not depend on execution:\n" + "\n".join(bad)
