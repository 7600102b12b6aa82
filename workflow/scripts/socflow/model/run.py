"""Every model of the stage, its row-level tables, and the rule's entry point."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from socflow.model.candidates import build_candidates, exclusions_table
from socflow.model.counts import PopulationCodes
from socflow.model.models import ModelResult, fit_model
from socflow.model.population import build_population, read_inputs, soc_column, soc_definitions
from socflow.model.prepare import PreparedOutcome, prepare_outcome
from socflow.model.settings import (
    OUTCOME_KEYS,
    OUTCOME_LABELS,
    PRIMARY,
    SOC_TERM,
    SPECS,
    STAGE,
    ModelSettings,
)
from socflow.outputs import write_candidates
from socflow.parquet import write_parquet

log = logging.getLogger(__name__)


@dataclass
class ModelRun:
    """Everything the stage computed."""

    population: pl.DataFrame
    exclusions: pl.DataFrame
    definitions: list[str]
    results: list[ModelResult]
    prepared: dict[str, PreparedOutcome]

    def get(self, outcome: str, spec: str, definition: str = PRIMARY) -> ModelResult:
        for r in self.results:
            if (r.outcome, r.spec, r.definition) == (outcome, spec, definition):
                return r
        raise KeyError((outcome, spec, definition))


def run_models(crown: pl.DataFrame, flags: pl.DataFrame, settings: ModelSettings) -> ModelRun:
    """Population, then every outcome x specification, then the sensitivity definitions."""
    population, exclusions = build_population(crown, flags, settings)
    definitions = list(soc_definitions(flags, settings.soc_flag))
    log.info(
        "population: %d defendant-cases, %d persons; %d SOC definitions",
        population.height,
        population["person"].n_unique(),
        len(definitions),
    )
    # Level codes of the population, shared by the preparation of every outcome.
    codes = PopulationCodes(population)
    results: list[ModelResult] = []
    prepared_all: dict[str, PreparedOutcome] = {}
    for outcome in OUTCOME_KEYS:
        t0 = time.perf_counter()
        prepared = prepare_outcome(population, outcome, settings, codes)
        prepared_all[outcome] = prepared
        log.info("%s: levels merged in %.1fs", OUTCOME_LABELS[outcome], time.perf_counter() - t0)
        adjusted: ModelResult | None = None
        for spec in SPECS:
            start = _start(adjusted) if spec == "court_fe" else None
            r = fit_model(prepared, spec, settings, start=start)
            results.append(r)
            if spec == "adjusted":
                adjusted = r
        if outcome not in settings.sensitivity_outcomes:
            continue
        for definition in definitions[1:]:
            start = _start(adjusted, rename={SOC_TERM: soc_column(definition)})
            results.append(fit_model(prepared, "adjusted", settings, definition, start=start))
    return ModelRun(population, exclusions, definitions, results, prepared_all)


def _start(
    r: ModelResult | None, rename: dict[str, str] | None = None
) -> dict[tuple[str, str], float] | None:
    """Starting values from a fitted model: a nearby model converges in fewer Newton steps."""
    if r is None or not r.fit.ok:
        return None
    rename = rename or {}
    return {
        (rename.get(t, t), lv): float(p)
        for (t, lv), p in zip(r.fit.names, r.fit.params, strict=True)
    }


def estimates_table(run: ModelRun) -> pl.DataFrame:
    """Every coefficient of every model (court coefficients too), for re-use in results/."""
    parts = [
        r.coefficients.select(
            pl.lit(r.outcome).alias("outcome"),
            pl.lit(r.spec).alias("model"),
            pl.lit(r.definition).alias("definition"),
            pl.all(),
        )
        for r in run.results
        if r.fit.ok
    ]
    return pl.concat(parts) if parts else pl.DataFrame()


def diagnostics_table(run: ModelRun) -> pl.DataFrame:
    """One row per model: fitted or not, convergence, sizes and every message (times are in the
    log: this table is deterministic)."""
    return pl.DataFrame(
        [
            {
                "outcome": r.outcome,
                "model": r.spec,
                "definition": r.definition,
                "fitted": r.fit.ok,
                "converged": r.fit.converged,
                "iterations": r.fit.iterations,
                "columns": len(r.fit.names),
                "defendant_cases": r.n_rows,
                "persons": r.n_persons,
                "residual_df": r.fit.df_resid,
                "messages": " | ".join(r.messages),
            }
            for r in run.results
        ]
    )


def run_stage(
    crown_path: str | Path,
    flags_path: str | Path,
    cfg: dict[str, Any],
    sdc: dict[str, Any],
    out_population: str | Path,
    out_estimates: str | Path,
    out_diagnostics: str | Path,
    out_exclusions: str | Path,
    out_candidates: str | Path,
    definition_labels: dict[str, str] | None = None,
) -> ModelRun:
    """Rule `model_outcomes`: read, fit every model, write intermediates and candidates.
    `definition_labels` names the SOC definitions in words in the published outputs."""
    t0 = time.perf_counter()
    settings = ModelSettings.from_config(cfg, sdc)
    crown, flags = read_inputs(crown_path, flags_path, settings)
    run = run_models(crown, flags, settings)
    write_parquet(run.population, out_population)
    write_parquet(estimates_table(run), out_estimates)
    write_parquet(diagnostics_table(run), out_diagnostics)
    exclusions_table(run.population, run.exclusions, settings).write_csv(out_exclusions)
    write_candidates(
        build_candidates(run, settings, definition_labels), out_candidates, stage=STAGE
    )
    log.info("model stage done in %.1fs", time.perf_counter() - t0)
    return run
