"""The pins: the runtime stack (environment.yml), the development tools (environment.dev.yml)
and test-only tools kept apart from both."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("reqs", REPO / "tools/requirements_from_env.py")
reqs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reqs)


def test_sacro_viewer_is_pinned_apart_from_the_stack():
    runtime = reqs.requirements((REPO / "environment.yml").read_text())
    dev_text = (REPO / "environment.dev.yml").read_text()
    dev = reqs.requirements(dev_text)
    assert "acro==1.0.2" in dev
    for stack in (runtime, dev):
        assert not any(r.lower().startswith(("sacroviewer", "django")) for r in stack)
    assert reqs.extra_requirements(dev_text, "sacro-viewer") == ["sacroviewer==0.2.1"]


def test_the_runtime_stack_holds_no_development_tool():
    runtime = {r.split("==")[0] for r in reqs.requirements((REPO / "environment.yml").read_text())}
    assert {"snakemake", "polars", "statsmodels", "lifelines"} <= runtime
    assert not runtime & {"pytest", "ruff", "snakefmt", "hypothesis", "acro"}


def test_extra_pins_must_be_exact():
    with pytest.raises(ValueError, match="not pinned"):
        reqs.extra_requirements("# extra x: sacroviewer>=0.2\n", "x")
    with pytest.raises(ValueError, match="no '# extra y:'"):
        reqs.extra_requirements("# extra x: a==1\n", "y")
