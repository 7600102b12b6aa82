"""Everything the stage computes, before it becomes candidates."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from socflow.survival.cox import CoxFit
from socflow.survival.cox_design import Design
from socflow.survival.kaplan_meier import LogRank
from socflow.survival.settings import Settings


@dataclass
class Results:
    """Everything the stage computes, before it becomes candidates."""

    settings: Settings
    flow: pl.DataFrame
    excluded: dict[str, int]
    diagnostics: dict[str, float | int]
    index: pl.DataFrame
    follow: pl.DataFrame
    km: pl.DataFrame
    logrank: LogRank
    proportions: pl.DataFrame
    at_risk: pl.DataFrame
    counts: pl.DataFrame
    status: pl.DataFrame
    follow_up: pl.DataFrame
    coverage: pl.DataFrame
    sensitivity: pl.DataFrame | None  # None: written by the rule survival_sensitivity
    cox: CoxFit | None
    design: Design | None
    cox_error: str = ""
    timings: dict[str, float] = field(default_factory=dict)
