"""The population readied for the models of one outcome (levels merged once per outcome)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from socflow.model.design import Block, Patterns, design_block
from socflow.model.levels import (
    _as_level_stats,
    _reference,
    model_levels,
    nested_terms,
    plan_levels,
)
from socflow.model.settings import OUTCOME_LABELS, SOC_TERM, ModelSettings

log = logging.getLogger(__name__)


@dataclass
class PreparedOutcome:
    """The population readied for every model of one outcome. Small levels are merged once per
    outcome (merging depends on the outcome, not on the specification or the SOC definition),
    and each covariate's level counts, reference level and design columns are kept for re-use.
    """

    outcome: str
    frame: pl.DataFrame
    y: np.ndarray
    clusters: np.ndarray
    n_persons: int
    messages: dict[str, list[str]]
    references: dict[str, str]
    level_stats: dict[str, pl.DataFrame]
    blocks: dict[str, Block]
    nested: list[str]
    # Covariate patterns of each set of covariate terms (see `models.fit_model`).
    covariate_patterns: dict[tuple[str, ...], Patterns] = field(default_factory=dict)


def prepare_outcome(
    population: pl.DataFrame, outcome: str, settings: ModelSettings
) -> PreparedOutcome:
    """Merge the too-small levels of every covariate for `outcome` (see the module docstring)."""
    covariates = [t for t in settings.model_terms() if t != SOC_TERM]
    categorical = [t for t in covariates if t not in settings.numeric_terms]
    frame = population
    messages: dict[str, list[str]] = {t: [] for t in covariates}
    level_stats: dict[str, pl.DataFrame] = {}
    for term in categorical:
        plan = plan_levels(frame, term, outcome, settings, term in settings.ordered_terms)
        messages[term] = plan.messages
        if plan.changes:
            frame = frame.with_columns(
                pl.col(term).replace_strict(plan.mapping, return_dtype=pl.String)
            )
            level_stats[term] = model_levels(frame, [term], outcome)
        else:
            level_stats[term] = _as_level_stats(term, plan.counts)
    references = {t: _reference(frame, t, settings) for t in categorical}
    for t in categorical:
        if frame[t].n_unique() < 2:
            messages[t].append(f"{t}: a single level remains; left out of the model")
    for t in covariates:
        for m in messages[t]:
            log.info("%s: %s", OUTCOME_LABELS[outcome], m)
    fe = settings.fixed_effects
    return PreparedOutcome(
        outcome=outcome,
        frame=frame,
        y=frame[outcome].cast(pl.Float64).to_numpy(),
        clusters=frame["cluster"].rank("dense").to_numpy(),
        n_persons=frame["person"].n_unique(),
        messages=messages,
        references=references,
        level_stats=level_stats,
        blocks={
            t: design_block(frame, t, references.get(t), t in settings.numeric_terms)
            for t in covariates
        },
        nested=nested_terms(frame, [t for t in covariates if t != fe], fe),
    )
