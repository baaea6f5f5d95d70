"""The README's example of gmm on its own runs as pasted, in a fresh interpreter."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_runs():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using `gmm` on its own"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "gmm.fit_em" in code and "gmm.dp_gibbs" in code
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
