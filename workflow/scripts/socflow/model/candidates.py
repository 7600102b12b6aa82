"""The stage's would-be outputs for the disclosure stage (see `socflow.outputs`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from socflow.model.counts import distinct_persons
from socflow.model.levels import _display_levels
from socflow.model.models import COEFFICIENT_SCHEMA, ModelResult
from socflow.model.prepare import PreparedOutcome
from socflow.model.settings import (
    AME_STATISTIC,
    OUTCOME_LABELS,
    PRIMARY,
    REFERENCE_NOTE,
    SOC_NO,
    SOC_TERM,
    SOC_YES,
    SPEC_LABELS,
    ModelSettings,
)
from socflow.outputs import STATISTICS_SCHEMA, Candidate

if TYPE_CHECKING:
    from socflow.model.run import ModelRun


def _outcome_class() -> pl.Expr:
    return (
        pl.when(pl.col("discontinued"))
        .then(pl.lit(OUTCOME_LABELS["discontinued"]))
        .when(pl.col("dismissed"))
        .then(pl.lit(OUTCOME_LABELS["dismissed"]))
        .otherwise(pl.lit("Neither"))
    )


def population_table(population: pl.DataFrame) -> pl.DataFrame:
    """Distinct persons by outcome class (discontinued, dismissed, neither) x SOC status."""
    classes = [OUTCOME_LABELS["discontinued"], OUTCOME_LABELS["dismissed"], "Neither"]
    return (
        population.group_by(
            _outcome_class().alias("outcome_class"), pl.col(SOC_TERM).alias("soc_status")
        )
        .agg(pl.col("person").n_unique().alias("persons"))
        .with_columns(
            pl.col("outcome_class")
            .replace_strict({c: i for i, c in enumerate(classes)})
            .alias("_o"),
            (pl.col("soc_status") == SOC_NO).alias("_s"),
        )
        .sort("_o", "_s")
        .drop("_o", "_s")
    )


def exclusions_table(
    population: pl.DataFrame, exclusions: pl.DataFrame, settings: ModelSettings
) -> pl.DataFrame:
    """Persons in the population and excluded from it, by reason."""
    included = pl.DataFrame(
        {
            "reason": [
                "in the population (receipt type " + ", ".join(settings.receipt_types) + ")"
            ],
            "defendant_cases": [population.height],
            "persons": [population["person"].n_unique()],
        },
        schema={"reason": pl.String, "defendant_cases": pl.Int64, "persons": pl.Int64},
    )
    return pl.concat(
        [included, exclusions.cast({"defendant_cases": pl.Int64, "persons": pl.Int64})]
    )


def _combine_levels(results: list[ModelResult]) -> pl.DataFrame:
    """Levels of several models in one candidate: the smallest count of each (term, level)."""
    return (
        pl.concat([r.levels for r in results])
        .group_by("term", "level", maintain_order=True)
        .agg(pl.col("persons").min(), pl.col("events").min())
    )


FOREST = {
    "type": "forest",
    "label": "label",
    "estimate": "odds_ratio",
    "lower": "ci_lower",
    "upper": "ci_upper",
    "ref": 1.0,
    "log": True,
}


def _soc_rows(
    results: list[ModelResult],
    labels: list[str],
    by: str,
    definition_labels: dict[str, str] | None = None,
) -> pl.DataFrame:
    """The SOC odds ratio of each model, one row per model, labelled for a forest plot; `by`
    is "model" (specifications side by side) or "definition" (SOC definitions, named by
    `definition_labels` where given)."""
    names = definition_labels or {}
    parts = [
        r.soc_row().select(
            pl.lit(OUTCOME_LABELS[r.outcome]).alias("outcome"),
            pl.lit(
                SPEC_LABELS[r.spec] if by == "model" else names.get(r.definition, r.definition)
            ).alias(by),
            pl.lit(label).alias("label"),
            pl.lit(SOC_TERM).alias("term"),
            pl.lit(f"{SOC_YES} vs {SOC_NO}").alias("level"),
            *[c for c in COEFFICIENT_SCHEMA if c not in ("term", "level", "note")],
        )
        for r, label in zip(results, labels, strict=True)
    ]
    return pl.concat(parts)


def _model_spec(residual_df: int, settings: ModelSettings, **more: Any) -> dict[str, Any]:
    return {
        "residual_df": int(residual_df),
        "effect": "odds_ratio",
        "ci_scale": "odds_ratio",
        "confidence_level": settings.confidence_level,
        "cluster": settings.cluster,
        **more,
    }


def model_candidate(r: ModelResult, settings: ModelSettings) -> Candidate:
    """One fitted model; with court fixed effects, only the SOC rows are published (the levels
    still list every court level for the check)."""
    ci = f"{round(100 * settings.confidence_level)}%"
    # Reference levels have no estimate of their own: named in the notes, not shown as rows
    # of empty cells (which would read as withheld values).
    references = r.coefficients.filter(pl.col("note") == REFERENCE_NOTE)
    data = r.coefficients.filter(pl.col("note") != REFERENCE_NOTE).drop("note")
    if r.spec == "court_fe":
        data = data.filter(pl.col("term") == r.soc_term)
        references = references.filter(pl.col("term") == r.soc_term)
    reference_text = ", ".join(
        f"{t} = {lv}" for t, lv in zip(references["term"], references["level"], strict=True)
    )
    notes = [
        f"Logistic regression of {OUTCOME_LABELS[r.outcome].lower()} on {' + '.join(r.terms)}; "
        f"standard errors clustered by {settings.cluster} ({r.fit.n_clusters} clusters); "
        f"coef and se on the log-odds scale, ci_lower and ci_upper the {ci} interval of the "
        f"odds ratio. Reference levels: {reference_text}."
    ]
    if r.spec == "court_fe":
        notes.append("Only SOC status is shown; the court coefficients are not published.")
    notes.extend(f"{m}." for m in r.messages)
    return Candidate(
        f"model_{r.outcome}_{r.spec}",
        "model",
        f"{r.label}: odds ratios",
        data,
        spec=_model_spec(
            r.fit.df_resid,
            settings,
            outcome=r.outcome,
            model=r.spec,
            formula="outcome ~ " + " + ".join(r.terms),
            n_clusters=r.fit.n_clusters,
        ),
        extra={"levels": r.levels},
        notes=" ".join(notes),
    )


def levels_candidate(prepared: PreparedOutcome, term: str) -> Candidate:
    """Persons per level of one covariate (as merged for the model of `prepared`) by outcome
    class: N and events per level, for every modelled outcome at once."""
    classes = [OUTCOME_LABELS["discontinued"], OUTCOME_LABELS["dismissed"], "Neither"]
    frame = prepared.frame
    if prepared.codes is None or term not in prepared.row_levels:
        table = _levels_by_class(frame, term, classes)
    else:
        # Cells level x outcome class in display order, from the codes kept by the
        # preparation (the same table as `_levels_by_class`, without grouping strings).
        levels = prepared.display_levels[term]
        outcome_class = (
            frame.select(
                pl.when(pl.col("discontinued"))
                .then(0)
                .when(pl.col("dismissed"))
                .then(1)
                .otherwise(2)
                .cast(pl.Int64)
            )
            .to_series()
            .to_numpy()
        )
        cell = prepared.row_levels[term] * len(classes) + outcome_class
        n_cells = len(levels) * len(classes)
        present = np.flatnonzero(np.bincount(cell, minlength=n_cells))
        persons = distinct_persons(cell, prepared.codes.persons, n_cells)[present]
        table = pl.DataFrame(
            {
                "level": [levels[c // len(classes)] for c in present],
                "outcome": [classes[c % len(classes)] for c in present],
                "persons": persons.astype(np.int64),
            },
            schema={"level": pl.String, "outcome": pl.String, "persons": pl.Int64},
        )
    return Candidate(
        f"model_n_{term}",
        "frequency",
        f"Persons by {term} and outcome (levels as in the adjusted models)",
        table,
        spec={"row": "level", "col": "outcome", "count": "persons"},
        notes=(
            f"Levels of {term} after merging too-small levels for the "
            f"{OUTCOME_LABELS[prepared.outcome].lower()} model; the models of the other outcomes "
            "may merge more (see their notes). Distinct persons per cell."
        ),
    )


def _levels_by_class(frame: pl.DataFrame, term: str, classes: list[str]) -> pl.DataFrame:
    """Distinct persons per level of `term` x outcome class (display order)."""
    levels = _display_levels(frame, term)
    return (
        frame.group_by(pl.col(term).alias("level"), _outcome_class().alias("outcome"))
        .agg(pl.col("person").n_unique().cast(pl.Int64).alias("persons"))
        .with_columns(
            pl.col("level").replace_strict({lv: i for i, lv in enumerate(levels)}).alias("_l"),
            pl.col("outcome").replace_strict({c: i for i, c in enumerate(classes)}).alias("_o"),
        )
        .sort("_l", "_o")
        .drop("_l", "_o")
    )


def build_candidates(
    run: ModelRun, settings: ModelSettings, definition_labels: dict[str, str] | None = None
) -> list[Candidate]:
    """The stage's would-be outputs (see the contract in `socflow.outputs`)."""
    thr = settings.thresholds
    ci = f"{round(100 * settings.confidence_level)}%"
    pop = run.population
    out: list[Candidate] = [
        Candidate(
            "model_population",
            "frequency",
            "Modelling population: persons by outcome and SOC status",
            population_table(pop).cast({"persons": pl.Int64}),
            spec={"row": "outcome_class", "col": "soc_status", "count": "persons"},
            notes=(
                f"Crown Court defendant-cases received for {' or '.join(settings.receipt_types)}"
                "; distinct persons per cell (a person with cases in two cells counts in both). "
                f"Discontinued: {', '.join(settings.discontinued)}. Dismissed: "
                f"{', '.join(settings.dismissed)}. Neither: every other outcome (including "
                f"{', '.join(settings.neither)})."
            ),
        ),
        Candidate(
            "model_exclusions",
            "frequency",
            "Crown Court defendant-cases in and out of the modelling population (persons)",
            exclusions_table(pop, run.exclusions, settings).select("reason", "persons"),
            spec={"row": "reason", "col": None, "count": "persons"},
            notes="Each excluded defendant-case is counted under the first reason that applies.",
        ),
    ]
    main = [r for r in run.results if r.definition == PRIMARY]
    out += [model_candidate(r, settings) for r in main if r.fit.ok]
    either = run.prepared["either"]
    out += [
        levels_candidate(either, t)
        for t in settings.adjusted
        if t != SOC_TERM and t not in settings.numeric_terms and either.blocks[t].width > 0
    ]
    # Forests of the SOC odds ratio: only models that pass the model check go in, so that one
    # model too small to publish does not withhold the others.
    summary = [r for r in main if r.publishable(thr)]
    left_out = [r.label for r in main if not r.publishable(thr)]
    if summary:
        out.append(
            Candidate(
                "model_soc_odds_ratios",
                "model",
                "SOC odds ratios by outcome and model",
                _soc_rows(
                    summary,
                    [f"{OUTCOME_LABELS[r.outcome]}: {SPEC_LABELS[r.spec]}" for r in summary],
                    by="model",
                ),
                spec=_model_spec(min(r.fit.df_resid for r in summary), settings),
                extra={"levels": _combine_levels(summary)},
                notes=f"SOC vs non-SOC defendant-cases, {ci} intervals."
                + (
                    f" Not shown (not fitted, or too small to publish): {'; '.join(left_out)}."
                    if left_out
                    else ""
                ),
                figure=FOREST,
            )
        )
    sens = [
        r
        for r in run.results
        if r.spec == "adjusted" and r.outcome in settings.sensitivity_outcomes
    ]
    sens_ok = [r for r in sens if r.publishable(thr)]
    names = definition_labels or {}

    def sens_label(r: ModelResult) -> str:
        return f"{OUTCOME_LABELS[r.outcome]}: {names.get(r.definition, r.definition)}"

    sens_out = [sens_label(r) for r in sens if not r.publishable(thr)]
    if sens_ok:
        out.append(
            Candidate(
                "model_soc_sensitivity",
                "model",
                "SOC odds ratios under every SOC definition",
                _soc_rows(
                    sens_ok,
                    [sens_label(r) for r in sens_ok],
                    by="definition",
                    definition_labels=names,
                ),
                spec=_model_spec(min(r.fit.df_resid for r in sens_ok), settings),
                extra={"levels": _combine_levels(sens_ok)},
                notes="The adjusted model refitted with SOC status under each definition of the "
                "flagging stage (the primary definition is the main one)."
                + (
                    " Not shown (SOC level too small to publish, or not fitted): "
                    f"{'; '.join(sens_out)}."
                    if sens_out
                    else ""
                ),
                figure=FOREST,
            )
        )
    problems = [f"{r.label}: {'; '.join(r.messages)}" for r in main if not r.fit.ok]
    out.append(
        Candidate(
            "model_fit",
            "statistics",
            "Model fit and the SOC difference in predicted probability",
            fit_statistics(main),
            notes=(
                "Pseudo-R-squared is McFadden's (1 - log-likelihood / null log-likelihood). The "
                "SOC minus non-SOC difference is the average, over the model's defendant-cases, "
                "of the predicted probability as SOC minus that as non-SOC (average marginal "
                f"effect), with a delta-method {ci} interval from the clustered covariance."
                + (f" Not fitted: {' | '.join(problems)}." if problems else "")
            ),
        )
    )
    for i, c in enumerate(out, start=1):
        c.order = i
    return out


def fit_statistics(results: list[ModelResult]) -> pl.DataFrame:
    """statistic, value, ci_lower, ci_upper, n_persons for every fitted main model."""
    rows: list[tuple] = []
    for r in results:
        if not r.fit.ok:
            continue
        ame, lo, hi = r.fit.ame or (math.nan, math.nan, math.nan)
        rows += [
            (f"{r.label}: McFadden pseudo-R-squared", r.fit.prsquared, None, None, r.n_persons),
            (f"{r.label}: AIC", r.fit.aic, None, None, r.n_persons),
            (
                f"{r.label}: {AME_STATISTIC}",
                100 * ame,
                100 * lo,
                100 * hi,
                r.n_persons,
            ),
        ]
    return pl.DataFrame(rows, schema=STATISTICS_SCHEMA, orient="row")
