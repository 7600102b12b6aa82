"""Packages that load a name's module on first use (`socflow.lazy`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from socflow.lazy import lazy_exports
from socflow.parquet import write_parquet

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def test_a_name_is_loaded_from_its_module_and_kept():
    namespace: dict = {}
    getattr_, dir_ = lazy_exports("socflow", {"write_parquet": "parquet"}, namespace)
    assert getattr_("write_parquet") is write_parquet
    assert namespace["write_parquet"] is write_parquet
    assert dir_() == ["write_parquet"]
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        getattr_("missing")


def test_importing_a_name_of_a_stage_loads_only_its_module():
    code = (
        "import sys; from socflow.establishments import with_soc; "
        "print(sorted(m for m in sys.modules if m.startswith('socflow.establishments.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(SCRIPTS)},
    ).stdout  # fmt: skip
    assert "socflow.establishments.models" not in out
    assert "socflow.establishments.run" not in out
