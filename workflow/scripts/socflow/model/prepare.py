"""The population readied for the models of one outcome (levels merged once per outcome)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from socflow.model.counts import PopulationCodes
from socflow.model.design import Block, Patterns, design_block, dummies_block, first_rows
from socflow.model.levels import (
    _as_level_stats,
    display_order,
    model_levels,
    plan_merges,
    reference_level,
)
from socflow.model.settings import OUTCOME_LABELS, SOC_NO, SOC_TERM, ModelSettings

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
    # The population's codes, shared by every outcome (see `counts.PopulationCodes`).
    codes: PopulationCodes | None = None
    # Every categorical covariate's levels in the model (display order) and each row's level.
    display_levels: dict[str, list[str]] = field(default_factory=dict)
    row_levels: dict[str, np.ndarray] = field(default_factory=dict)


def prepare_outcome(
    population: pl.DataFrame,
    outcome: str,
    settings: ModelSettings,
    codes: PopulationCodes | None = None,
) -> PreparedOutcome:
    """Merge the too-small levels of every covariate for `outcome` (see the module docstring).
    `codes`: the population's codes, to share them between outcomes."""
    if codes is None:
        codes = PopulationCodes(population)
    covariates = [t for t in settings.model_terms() if t != SOC_TERM]
    categorical = [t for t in covariates if t not in settings.numeric_terms]
    frame = population
    messages: dict[str, list[str]] = {t: [] for t in covariates}
    level_stats: dict[str, pl.DataFrame] = {}
    references: dict[str, str] = {}
    blocks: dict[str, Block] = {}
    # Every row's level in the model, as a code per term (nested terms are found from these).
    row_codes: dict[str, np.ndarray] = {}
    display_levels: dict[str, list[str]] = {}
    for term in categorical:
        counter = codes.counter(term, outcome)
        plan = plan_merges(counter, term, settings, term in settings.ordered_terms)
        messages[term] = plan.messages
        if plan.changes:
            frame = frame.with_columns(
                pl.col(term).replace_strict(plan.mapping, return_dtype=pl.String)
            )
            stats = counter.counts(plan.mapping)
        else:
            stats = plan.counts
        level_stats[term] = _as_level_stats(term, stats)
        references[term] = reference_level(stats.select("level", "rows"), term, settings)
        if stats.height < 2:
            messages[term].append(f"{term}: a single level remains; left out of the model")
        # Design columns: one per level in display order but the reference (as `design_block`).
        display = display_order(term, stats["level"].to_list())
        columns = [lv for lv in display if lv != references[term]]
        column_of = {lv: j for j, lv in enumerate(columns)}
        model_level = [plan.mapping[lv] for lv in counter.levels]
        level_column = np.array([column_of.get(lv, -1) for lv in model_level], dtype=np.int64)
        level_index = {lv: i for i, lv in enumerate(display)}
        display_levels[term] = display
        term_codes = codes.term(term).codes
        # The outcomes often merge a term alike: its block is then built once.
        key = (term, tuple(columns), level_column.tobytes())
        if key not in codes.covariate_blocks:
            codes.covariate_blocks[key] = dummies_block(
                level_column[term_codes], [(term, lv) for lv in columns]
            )
        blocks[term] = codes.covariate_blocks[key]
        row_codes[term] = np.array([level_index[lv] for lv in model_level], dtype=np.int64)[
            term_codes
        ]
    for t in covariates:
        if t in settings.numeric_terms:
            blocks[t] = design_block(frame, t, None, True)
            row_codes[t] = frame[t].rank("dense").cast(pl.Int64).to_numpy()
    for t in covariates:
        for m in messages[t]:
            log.info("%s: %s", OUTCOME_LABELS[outcome], m)
    fe = settings.fixed_effects
    return PreparedOutcome(
        outcome=outcome,
        frame=frame,
        y=frame[outcome].cast(pl.Float64).to_numpy(),
        clusters=codes.clusters(),
        n_persons=codes.n_persons,
        messages=messages,
        references=references,
        level_stats=level_stats,
        blocks={t: blocks[t] for t in covariates},
        nested=nested_codes(row_codes, [t for t in covariates if t != fe], fe),
        codes=codes,
        display_levels=display_levels,
        row_levels={t: row_codes[t] for t in categorical},
    )


def soc_block(prepared: PreparedOutcome, column: str) -> Block:
    """SOC status's design column under one definition (`design_block(frame, column, SOC_NO)`),
    the same for every outcome: built once from the population's codes."""
    codes = prepared.codes
    if codes is None:
        return design_block(prepared.frame, column, SOC_NO)
    if column not in codes.soc_blocks:
        term = codes.term(column)
        columns = [lv for lv in display_order(column, term.levels) if lv != SOC_NO]
        column_of = np.array([columns.index(lv) if lv in columns else -1 for lv in term.levels])
        codes.soc_blocks[column] = dummies_block(
            column_of.astype(np.int64)[term.codes], [(column, lv) for lv in columns]
        )
    return codes.soc_blocks[column]


def soc_level_stats(prepared: PreparedOutcome, column: str) -> pl.DataFrame:
    """Counts per level of SOC status under one definition, for the prepared outcome."""
    if prepared.codes is None:
        return model_levels(prepared.frame, [column], prepared.outcome)
    return _as_level_stats(column, prepared.codes.counter(column, prepared.outcome).counts())


def nested_codes(row_codes: dict[str, np.ndarray], terms: list[str], within: str) -> list[str]:
    """Terms constant within every level of `within` (`levels.nested_terms` from every row's
    level codes): a term is nested when every row has the code of its `within` level's first
    row."""
    if not terms:
        return []
    group = row_codes[within]
    first = first_rows(group, int(group.max()) + 1)[group]
    return [t for t in terms if np.array_equal(row_codes[t][first], row_codes[t])]
