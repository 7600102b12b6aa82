"""The SACRO viewer (output checkers' tool) opening a checker folder, from the tests.

The viewer (Django) lives in a virtualenv of its own (`make sacro-viewer`), named by
SOCFLOW_SACRO_PYTHON, which `make test` sets: then a missing viewer fails the test;
without the variable the test is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CHECK = Path(__file__).with_name("sacro_check.py")
ENV = "SOCFLOW_SACRO_PYTHON"


def open_with_sacro_viewer(folder: str | Path) -> dict[str, Any]:
    """Load `folder` with the viewer's ACROOutputs; its report (outputs, invalid checksums).

    The viewer writes into the folder it opens (an empty `checksums/` at least), so it opens
    a copy.
    """
    python = os.environ.get(ENV)
    if not python:
        pytest.skip(f"{ENV} not set: run `make sacro-viewer` and set it (make test does)")
    python = str(Path(python).absolute())  # not resolve(): a venv python is a symlink
    if not Path(python).exists():
        pytest.fail(f"{ENV}={python} does not exist: run `make sacro-viewer`")
    copy = Path(folder).parent / f"{Path(folder).name}-sacro-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy)
    try:
        proc = subprocess.run(
            [python, str(CHECK), str(copy)], capture_output=True, text=True, timeout=300,
            check=False, cwd=copy,
        )  # fmt: skip
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-3000:]
    report = json.loads(lines[-1])
    report["returncode"] = proc.returncode
    return report
