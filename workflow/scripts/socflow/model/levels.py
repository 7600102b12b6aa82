"""Levels of the categorical terms: counts per level, merging of too-small levels, reference
levels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from socflow.model.counts import LevelCounter, PopulationCodes
from socflow.model.settings import SOC_NO, SOC_TERM, SOC_YES, ModelSettings

_LEADING_NUMBER = re.compile(r"^\s*(\d+)")


def level_counts(frame: pl.DataFrame, term: str, event: str) -> pl.DataFrame:
    """Per level of `term`: defendant-cases, distinct persons, persons with and without the
    event."""
    return (
        frame.group_by(pl.col(term).alias("level"))
        .agg(
            pl.len().alias("rows"),
            pl.col("person").n_unique().alias("persons"),
            pl.col("person").filter(pl.col(event)).n_unique().alias("events"),
            pl.col("person").filter(~pl.col(event)).n_unique().alias("non_events"),
        )
        .sort("level")
    )


def _too_small(settings: ModelSettings) -> pl.Expr:
    return (
        (pl.col("persons") < settings.min_level_persons)
        | (pl.col("events") < settings.min_level_events)
        | (pl.col("non_events") < settings.min_level_non_events)
    )


def _order_key(level: str) -> tuple[int, str]:
    m = _LEADING_NUMBER.match(level)
    return (int(m.group(1)) if m else 10**9, level)


@dataclass
class LevelPlan:
    """How one categorical term's levels enter a model."""

    term: str
    mapping: dict[str, str]  # level in -> level in the model
    messages: list[str] = field(default_factory=list)
    counts: pl.DataFrame | None = None  # `level_counts` of the levels as they are

    @property
    def changes(self) -> bool:
        return any(k != v for k, v in self.mapping.items())


def plan_levels(
    frame: pl.DataFrame, term: str, event: str, settings: ModelSettings, ordered: bool
) -> LevelPlan:
    """Merge the too-small levels of `term` (see the module docstring for the rule)."""
    counter = PopulationCodes(frame).counter(term, event)
    return plan_merges(counter, term, settings, ordered)


def plan_merges(
    counter: LevelCounter, term: str, settings: ModelSettings, ordered: bool
) -> LevelPlan:
    """`plan_levels` from the term's level counter (every candidate merging is counted from
    its codes, see `counts`)."""
    stats = counter.counts()
    levels = stats["level"].to_list()
    mapping: dict[str, str] = {lv: lv for lv in levels}
    failing = stats.filter(_too_small(settings))["level"].to_list()
    plan = LevelPlan(term, mapping, counts=stats)
    if not failing:
        return plan
    if ordered:
        groups = [[lv] for lv in sorted(levels, key=_order_key)]
        # Levels, not rows: a term has tens of levels at most.
        while len(groups) > 1:
            labels = {lv: _merged_label(g) for g in groups for lv in g}
            merged = counter.counts(labels)
            small = dict(
                zip(merged["level"], merged.select(_too_small(settings)).to_series(), strict=True)
            )
            persons = dict(zip(merged["level"], merged["persons"], strict=True))
            bad = [i for i, g in enumerate(groups) if small[_merged_label(g)]]
            if not bad:
                break
            i = min(bad, key=lambda j: (persons[_merged_label(groups[j])], j))
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(groups)]
            j = min(neighbours, key=lambda k: (persons[_merged_label(groups[k])], k))
            lo, hi = sorted((i, j))
            groups[lo : hi + 1] = [groups[lo] + groups[hi]]
        for g in groups:
            for lv in g:
                mapping[lv] = _merged_label(g)
        merged_groups = [_merged_label(g) for g in groups if len(g) > 1]
        if merged_groups:
            plan.messages.append(
                f"{term}: too-small levels merged with their neighbours into "
                f"{', '.join(merged_groups)}"
            )
        return plan
    # Unordered: pool the too-small levels; while the pool is still too small, add the smallest
    # other level except the largest. If only the largest is left outside, the term has one
    # level and is left out of the model (rows are never left out).
    largest = stats.sort(["rows", "level"], descending=[True, False])["level"][0]
    by_size = stats.sort(["persons", "level"])["level"].to_list()
    pool = list(failing)
    while True:
        in_pool = set(pool)
        pooled = counter.counts(
            {lv: settings.other_label if lv in in_pool else lv for lv in levels}
        ).filter(pl.col("level") == settings.other_label)
        if not pooled.select(_too_small(settings)).to_series().any():
            break
        more = [lv for lv in by_size if lv not in pool and lv != largest]
        if not more:
            pool = levels
            break
        pool.append(more[0])
    for lv in pool:
        mapping[lv] = settings.other_label
    added = sorted(set(pool) - set(failing))
    # Counted, not named: a note must not say which units (courts, offences) are small.
    plan.messages.append(
        f"{term}: {len(failing)} too-small level(s) pooled into '{settings.other_label}'"
        + (f" together with {len(added)} more" if added else "")
    )
    return plan


def _merged_label(group: list[str]) -> str:
    """`a to b` for a run of ordered levels (already merged labels keep their outer ends)."""
    if len(group) == 1:
        return group[0]
    return f"{group[0].split(' to ')[0]} to {group[-1].split(' to ')[-1]}"


def nested_terms(frame: pl.DataFrame, terms: list[str], within: str) -> list[str]:
    """Terms constant within every level of `within` (absorbed by its fixed effects)."""
    if not terms:
        return []
    per = frame.group_by(within).agg([pl.col(t).n_unique() for t in terms])
    return [t for t in terms if per[t].max() == 1]


def _display_levels(frame: pl.DataFrame, term: str) -> list[str]:
    return display_order(term, frame[term].unique().to_list())


def display_order(term: str, levels: list[str]) -> list[str]:
    """A term's levels in display (and design) order."""
    if term == SOC_TERM or term.startswith(f"{SOC_TERM}__"):
        return [lv for lv in (SOC_NO, SOC_YES) if lv in levels]
    return sorted(levels, key=_order_key)


def _reference(frame: pl.DataFrame, term: str, settings: ModelSettings) -> str:
    """The configured reference level if it is (part of) a model level, else the largest level
    that is not the pooled "Other" (a mixed bag makes a poor baseline)."""
    return reference_level(frame.group_by(pl.col(term).alias("level")).len("rows"), term, settings)


def reference_level(sizes: pl.DataFrame, term: str, settings: ModelSettings) -> str:
    """`_reference` from the term's defendant-cases per level (`level`, `rows`)."""
    wanted = settings.reference_levels.get(term)
    if wanted is not None:
        for lv in sizes["level"].sort().to_list():
            if lv == wanted or (" to " in lv and wanted in lv.split(" to ")):
                return lv
    ordered = sizes.sort(
        [pl.col("level") == settings.other_label, "rows", "level"], descending=[False, True, False]
    )
    return ordered["level"][0]


def model_levels(frame: pl.DataFrame, terms: list[str], event: str) -> pl.DataFrame:
    """Defendant-cases, distinct persons, and persons with and without the event, per level of
    every categorical term (display order: levels as in the design, reference included)."""
    parts = [_as_level_stats(t, level_counts(frame, t, event)) for t in terms]
    return pl.concat(parts) if parts else pl.DataFrame()


def _as_level_stats(term: str, counts: pl.DataFrame) -> pl.DataFrame:
    return counts.select(
        pl.lit(term).alias("term"),
        "level",
        "rows",
        pl.col("persons").cast(pl.Int64),
        pl.col("events").cast(pl.Int64),
        pl.col("non_events").cast(pl.Int64),
    )
