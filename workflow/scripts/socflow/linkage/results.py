"""What the stage computed, for its candidates and summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from socflow.linkage.need_models import NeedModels
from socflow.linkage.settings import Settings


@dataclass
class Results:
    """Every table of the stage; None where the analysis was skipped (see `skipped`)."""

    settings: Settings
    cohort_flow: pl.DataFrame
    found: pl.DataFrame | None = None  # socflow.linkage.diagnostics.found_shares
    balance: pl.DataFrame | None = None  # linked_balance
    oasys_flow: pl.DataFrame | None = None
    needs: pl.DataFrame | None = None
    scores: pl.DataFrame | None = None
    profile_differences: pl.DataFrame | None = None
    need_models: NeedModels | None = None
    history_coverage: pl.DataFrame | None = None
    court_history: pl.DataFrame | None = None  # history_summary of the courts data
    pnc_history: pl.DataFrame | None = None  # history_summary of the PNC extract
    datasets: list[str] = field(default_factory=list)  # linked tables read (labels)
    skipped: dict[str, str] = field(default_factory=dict)  # analysis -> why
    with_mags: bool = True
