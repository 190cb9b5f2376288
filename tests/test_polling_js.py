"""The page's poll logic (``dashboard/assets/polling.js``) unit tested in Node: ``node --test tests/js/``.

The JavaScript tests need no browser and no app (see ``tests/js/polling.test.mjs``); this runs them and fails
with Node's own report when any of them fails. Node's built-in runner is all they use (no npm packages).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JS_TESTS = ROOT / "tests" / "js"


def test_the_poll_logic_passes_its_node_tests(processes):
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    result = processes.run(
        [node, "--test", str(JS_TESTS)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"node --test tests/js/ failed:\n{result.stdout}\n{result.stderr}"
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout, result.stdout
