"""One model (outcome x specification x SOC definition): its design, fit and coefficient table."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl

from socflow.model.design import (
    blocks_pattern_design,
    covariate_patterns,
    with_leading_block,
)
from socflow.model.logit import Fit, fit_patterns
from socflow.model.population import soc_column
from socflow.model.prepare import PreparedOutcome, soc_block, soc_level_stats
from socflow.model.settings import (
    OUTCOME_LABELS,
    PRIMARY,
    REFERENCE_NOTE,
    SOC_NO,
    SOC_TERM,
    SOC_YES,
    SPEC_LABELS,
    ModelSettings,
)
from socflow.sdc import SdcThresholds, check_model

log = logging.getLogger(__name__)


@dataclass
class ModelResult:
    """One model: outcome x specification x SOC definition."""

    outcome: str
    spec: str
    definition: str
    soc_term: str
    terms: list[str]
    n_rows: int
    n_persons: int
    fit: Fit
    coefficients: pl.DataFrame
    level_stats: pl.DataFrame  # term, level, rows, persons, events, non_events
    messages: list[str]

    @property
    def levels(self) -> pl.DataFrame:
        """What the model disclosure check reads: term, level, persons, events."""
        return self.level_stats.select("term", "level", "persons", "events")

    @property
    def label(self) -> str:
        return f"{OUTCOME_LABELS[self.outcome]}, {SPEC_LABELS[self.spec]}"

    def publishable(self, thresholds: SdcThresholds) -> bool:
        """Fitted, and passes the model disclosure check (residual df, level counts)."""
        if not self.fit.ok:
            return False
        return check_model(self.fit.df_resid, self.levels, thresholds).status == "pass"

    def soc_row(self) -> pl.DataFrame:
        return self.coefficients.filter(
            (pl.col("term") == self.soc_term) & (pl.col("level") == SOC_YES)
        )


def model_terms(spec: str, soc_col: str, settings: ModelSettings) -> list[str]:
    """Formula terms of a specification, with SOC status from `soc_col`."""
    base = settings.unadjusted if spec == "unadjusted" else settings.adjusted
    terms = [soc_col if t == SOC_TERM else t for t in base]
    if spec == "court_fe":
        terms = [t for t in terms if t != settings.fixed_effects] + [settings.fixed_effects]
    return terms


def fit_model(
    prepared: PreparedOutcome,
    spec: str,
    settings: ModelSettings,
    definition: str = PRIMARY,
    start: dict[tuple[str, str], float] | None = None,
) -> ModelResult:
    """Build the design of one model from the prepared outcome, fit, and tabulate."""
    outcome = prepared.outcome
    soc_col = soc_column(definition)
    terms = model_terms(spec, soc_col, settings)
    messages: list[str] = []
    if spec == "court_fe":
        nested = [t for t in terms if t in prepared.nested]
        if nested:
            messages.append(
                f"{', '.join(nested)} constant within {settings.fixed_effects}: absorbed by the "
                "fixed effects and left out"
            )
            terms = [t for t in terms if t not in nested]
    covariates = [t for t in terms if t != soc_col]
    for t in covariates:
        messages.extend(prepared.messages[t])
    # SOC status first, then the covariates that still have columns, in formula order.
    terms = [soc_col, *[t for t in covariates if prepared.blocks[t].width > 0]]
    categorical = [t for t in terms[1:] if t not in settings.numeric_terms]
    frame = prepared.frame
    if soc_col not in prepared.level_stats:
        prepared.level_stats[soc_col] = soc_level_stats(prepared, soc_col)
    levels = pl.concat([prepared.level_stats[t] for t in [soc_col, *categorical]])
    references = {soc_col: SOC_NO, **{t: prepared.references[t] for t in categorical}}
    # The covariates' blocks and patterns are shared by every SOC definition: built once.
    covariate_blocks = [prepared.blocks[t] for t in terms[1:]]
    key = tuple(terms[1:])
    if key not in prepared.covariate_patterns:
        prepared.covariate_patterns[key] = covariate_patterns(covariate_blocks, frame.height)
    shared = prepared.covariate_patterns[key]
    soc_design = soc_block(prepared, soc_col)
    design, names = blocks_pattern_design(
        [soc_design, *covariate_blocks], prepared.y, with_leading_block(soc_design, shared)
    )
    fit = fit_patterns(prepared.y, design, names, prepared.clusters, soc_col, settings, start)
    messages.extend(fit.messages)
    result = ModelResult(
        outcome=outcome,
        spec=spec,
        definition=definition,
        soc_term=soc_col,
        terms=terms,
        n_rows=frame.height,
        n_persons=prepared.n_persons,
        fit=fit,
        coefficients=coefficient_table(fit, references),
        level_stats=levels,
        messages=messages,
    )
    # Merges were logged once per outcome by `prepare_outcome`; log what is this model's own.
    merges = {m for t in covariates for m in prepared.messages[t]}
    for m in messages:
        if m not in merges:
            log.info("%s (%s): %s", result.label, definition, m)
    if fit.ok:
        log.info(
            "%s (%s): %d columns, %s iterations, %.1fs",
            result.label,
            definition,
            len(fit.names),
            fit.iterations,
            fit.seconds,
        )
    return result


COEFFICIENT_SCHEMA = {
    "term": pl.String,
    "level": pl.String,
    "note": pl.String,
    "coef": pl.Float64,
    "se": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "p_value": pl.Float64,
    "odds_ratio": pl.Float64,
}


def coefficient_table(fit: Fit, references: dict[str, str]) -> pl.DataFrame:
    """term, level, note, coef, se, ci_lower, ci_upper (odds-ratio scale), p_value, odds_ratio,
    term by term in model order, each categorical term's reference level first (odds ratio 1).
    """
    if not fit.ok:
        return pl.DataFrame(schema=COEFFICIENT_SCHEMA)
    rows: list[tuple] = []
    seen: set[str] = set()
    # One row per coefficient (tens), not per observation.
    for j, (term, level) in enumerate(fit.names):
        if term not in seen and term in references:
            rows.append((term, references[term], REFERENCE_NOTE, 0.0, None, None, None, None, 1.0))
        seen.add(term)
        rows.append(
            (
                term,
                level,
                "",
                float(fit.params[j]),
                float(fit.bse[j]),
                float(np.exp(fit.conf[j, 0])),
                float(np.exp(fit.conf[j, 1])),
                float(fit.pvalues[j]),
                float(np.exp(fit.params[j])),
            )
        )
    return pl.DataFrame(rows, schema=COEFFICIENT_SCHEMA, orient="row")
