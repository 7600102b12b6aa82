"""The pins in environment.yml: socflow's stack, and test-only tools kept apart from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("reqs", REPO / "tools/requirements_from_env.py")
reqs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reqs)


def test_sacro_viewer_is_pinned_apart_from_the_stack():
    text = (REPO / "environment.yml").read_text()
    stack = reqs.requirements(text)
    assert "acro==1.0.2" in stack
    assert not any(r.lower().startswith(("sacroviewer", "django")) for r in stack)
    assert reqs.extra_requirements(text, "sacro-viewer") == ["sacroviewer==0.2.1"]


def test_extra_pins_must_be_exact():
    with pytest.raises(ValueError, match="not pinned"):
        reqs.extra_requirements("# extra x: sacroviewer>=0.2\n", "x")
    with pytest.raises(ValueError, match="no '# extra y:'"):
        reqs.extra_requirements("# extra x: a==1\n", "y")
