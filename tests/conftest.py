"""Shared fixtures: a tiny synthetic world, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from socflow.synth import SimulationParams, generate

REPO = Path(__file__).resolve().parents[1]
HO_CODES = REPO / "resources" / "offence_codes" / "ho_offence_codes.csv"
TINY = SimulationParams(seed=7, n_entrants=12_000, n_groups=90)


@pytest.fixture(scope="session")
def tiny_extracts():
    return generate(TINY)


@pytest.fixture(scope="session")
def config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())
