"""The whole stage and the entry point of rule `establishments` (SOC status, models,
person-level rates and the candidates). Rule `establishment_panel` (the flag-independent parts
of the panel) starts from socflow.establishments.panel, which needs none of the models'
libraries."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from socflow.establishments.candidates import build_candidates
from socflow.establishments.models import PanelFit, fit_all
from socflow.establishments.panel import CODE, PanelParts
from socflow.establishments.persons import PersonRates, person_rates, within_rate_ratio
from socflow.establishments.settings import EstablishmentSettings
from socflow.establishments.soc_share import build_panel, prisoner_exposure, soc_strata, with_soc
from socflow.outputs import write_candidates
from socflow.parquet import write_parquet

log = logging.getLogger(__name__)


def analyse(
    parts: PanelParts, cohort: pl.DataFrame, s: EstablishmentSettings
) -> tuple[pl.DataFrame, pl.DataFrame, list[PanelFit], list[PersonRates]]:
    """Panel, per-prisoner exposure, panel model fits and person-level rates."""
    soc_prisoners = with_soc(parts.prisoners, cohort)
    panel = build_panel(parts, soc_prisoners, s)
    exposure = prisoner_exposure(soc_prisoners, s)
    fits = fit_all(panel, s)
    strata = soc_strata(parts, soc_prisoners, s)
    rates = []
    for t in s.incident_types:
        ratio, ci, n = within_rate_ratio(strata, t, s)
        rates.append(
            replace(
                person_rates(exposure, t, s),
                within_rate_ratio=ratio,
                within_rate_ratio_ci=ci,
                within_strata=n,
            )
        )
    return panel, exposure, fits, rates


def run_establishments(
    paths: dict[str, str],
    cfg: dict[str, Any],
    out_panel: str | Path,
    out_summary: str | Path,
    out_candidates: str | Path,
) -> list:
    """Rule `establishments`: the panel stays in results/ (it names establishments); pooled
    statistics and model rate ratios go to the disclosure stage."""
    s = EstablishmentSettings.from_config(cfg)
    t0 = time.perf_counter()
    cohort = pl.read_parquet(paths["cohort"], columns=["person_id", "soc"])
    soc_codes = (
        with_soc(pl.read_parquet(paths["prisoners"], columns=[CODE, "person_id"]), cohort)
        .filter(pl.col("soc"))
        .get_column(CODE)
    )
    parts = PanelParts.read(paths, prisoner_codes=soc_codes)
    panel, exposure, fits, rates = analyse(parts, cohort, s)
    for f in fits:
        log.info("%s %s: rate ratio %s (%s, %s)%s", f.incident_type, f.family, f.rate_ratio,
                 f.ci_lower, f.ci_upper, f" error: {f.error}" if f.error else "")  # fmt: skip
    Path(out_panel).parent.mkdir(parents=True, exist_ok=True)
    write_parquet(panel, out_panel)
    summary = {
        "establishment_months": panel.height,
        "prisoners": exposure.height,
        "fits": [f.__dict__ for f in fits],
        "person_rates": [r.__dict__ for r in rates],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    Path(out_summary).write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    candidates = build_candidates(panel, exposure, fits, rates, s)
    write_candidates(candidates, out_candidates, stage="establishments")
    return candidates
