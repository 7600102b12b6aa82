"""Counts per level of a categorical term from integer codes: defendant-cases, distinct
persons, and distinct persons with and without the event, for any merging of the levels.

Merging too-small levels counts every candidate merging again (an ordered term is merged step
by step), for every outcome. A group-by with `n_unique` of persons over the whole population's
string column does that in about 0.1 s a time. Here each term's levels are coded once as
integers (sorted level order) and the rows are split by person: a person with a single
defendant-case counts once, in the level of that row, however levels are merged, so those rows
(nearly all of them) are counted per level once; only the rows of persons with several
defendant-cases are looked at again for each merging, to count each person once per merged
level. The counts are exact integers, the same as `levels.level_counts` on the merged column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

# The dtypes `levels.level_counts` gives (pl.len and n_unique count as UInt32).
COUNT_SCHEMA = {
    "level": pl.String,
    "rows": pl.UInt32,
    "persons": pl.UInt32,
    "events": pl.UInt32,
    "non_events": pl.UInt32,
}


@dataclass(frozen=True)
class PersonRows:
    """The population's rows split by person: rows of persons with one defendant-case
    (`single`), and rows of persons with several (`multi`, ordered by person, with their
    person codes)."""

    single: np.ndarray
    multi: np.ndarray
    multi_person: np.ndarray  # int64 person code 0..n_persons-1 of each `multi` row
    n_persons: int


def person_rows(person: pl.Series) -> PersonRows:
    """Split rows by how many rows their person has (`person`: any dtype, e.g. integer codes)."""
    codes = person.rank("dense").cast(pl.Int64).to_numpy() - 1
    n_persons = int(codes.max()) + 1 if len(codes) else 0
    several = np.bincount(codes, minlength=n_persons)[codes] > 1
    multi = np.flatnonzero(several)
    multi = multi[np.argsort(codes[multi], kind="stable")]
    return PersonRows(np.flatnonzero(~several), multi, codes[multi], n_persons)


@dataclass(frozen=True)
class TermCodes:
    """One categorical term's distinct levels (sorted) and each row's level as an index, also
    split as `PersonRows` splits the rows."""

    term: str
    levels: list[str]
    codes: np.ndarray  # int64, one per row
    single: np.ndarray  # codes of the rows of persons with one row
    multi: np.ndarray  # codes of the rows of persons with several (`PersonRows.multi` order)
    rows: np.ndarray  # rows per level


def term_codes(frame: pl.DataFrame, term: str, persons: PersonRows) -> TermCodes:
    """The levels of `term` in `frame` and every row's level code."""
    column = frame[term]
    if column.null_count():
        raise ValueError(f"model: column {term!r} has missing values (not allowed in a term)")
    levels = column.unique().sort().to_list()
    if levels:
        codes = column.cast(pl.Enum(levels)).to_physical().cast(pl.Int64).to_numpy()
    else:
        codes = np.zeros(0, dtype=np.int64)
    return TermCodes(
        term,
        levels,
        codes,
        codes[persons.single],
        codes[persons.multi],
        np.bincount(codes, minlength=len(levels)),
    )


# Event states of a row: without the event, with it, missing (neither: as a filter on the
# Boolean column and on its negation treats it).
WITHOUT, WITH, MISSING = 0, 1, 2


@dataclass(frozen=True)
class EventRows:
    """Every row's event state, split as `PersonRows` splits the rows."""

    single: np.ndarray  # int64 state of the rows of persons with one row
    multi_with: np.ndarray  # masks of the other rows: with the event, without it
    multi_without: np.ndarray


def event_rows(frame: pl.DataFrame, event: str, persons: PersonRows) -> EventRows:
    column = frame[event]
    state = (
        pl.select(
            pl.when(column.is_null())
            .then(MISSING)
            .when(column)
            .then(WITH)
            .otherwise(WITHOUT)
            .cast(pl.Int64)
        )
        .to_series()
        .to_numpy()
    )
    multi = state[persons.multi]
    return EventRows(state[persons.single], multi == WITH, multi == WITHOUT)


class PopulationCodes:
    """What the models of every outcome share: the population's rows split by person, and each
    categorical term's level codes and each outcome's event rows (computed on first use)."""

    def __init__(self, population: pl.DataFrame) -> None:
        self.population = population
        self.persons = person_rows(population["person"])
        self._terms: dict[str, TermCodes] = {}
        self._events: dict[str, EventRows] = {}
        self._clusters: np.ndarray | None = None
        # SOC status's design block of each definition (see `prepare.soc_block`), and each
        # covariate's block by its levels in the model (see `prepare.prepare_outcome`).
        self.soc_blocks: dict[str, Any] = {}
        self.covariate_blocks: dict[tuple, Any] = {}

    @property
    def n_persons(self) -> int:
        return self.persons.n_persons

    def clusters(self) -> np.ndarray:
        """Every row's cluster as a dense rank (1..G) of the cluster labels."""
        if self._clusters is None:
            # `rank("dense")` of the labels (UInt32), from their codes without sorting rows.
            self._clusters = (self.term("cluster").codes + 1).astype(np.uint32)
        return self._clusters

    def term(self, term: str) -> TermCodes:
        if term not in self._terms:
            self._terms[term] = term_codes(self.population, term, self.persons)
        return self._terms[term]

    def counter(self, term: str, event: str) -> LevelCounter:
        """Counts per level of `term` for the outcome `event`."""
        if event not in self._events:
            self._events[event] = event_rows(self.population, event, self.persons)
        return LevelCounter(self.term(term), self.persons, self._events[event])


class LevelCounter:
    """Counts per level of one term for one event, under any merging of its levels (see the
    module docstring). Each count is what `levels.level_counts` gives on the merged column."""

    def __init__(self, codes: TermCodes, persons: PersonRows, events: EventRows) -> None:
        self.levels = codes.levels
        n_levels = len(codes.levels)
        self._rows = codes.rows
        # Persons, persons with the event, persons without it: the single-row persons counted
        # per level (one count of level x event state), and the (level, person) of the other
        # persons' rows.
        by_state = np.bincount(codes.single * 3 + events.single, minlength=3 * n_levels)
        by_state = by_state.reshape(n_levels, 3)
        self._single = [by_state.sum(axis=1), by_state[:, WITH], by_state[:, WITHOUT]]
        self._multi = [(codes.multi, persons.multi_person)] + [
            (codes.multi[m], persons.multi_person[m])
            for m in (events.multi_with, events.multi_without)
        ]

    def counts(self, mapping: dict[str, str] | None = None) -> pl.DataFrame:
        """level (as merged by `mapping`, level in -> level in the model; None: as they are),
        rows, persons, events, non_events, sorted by level."""
        labels = self.levels if mapping is None else [mapping[lv] for lv in self.levels]
        merged = sorted(set(labels))
        index = {lv: i for i, lv in enumerate(merged)}
        group = np.array([index[lv] for lv in labels], dtype=np.int64)
        n_groups = len(merged)
        columns = [_sum_by(group, self._rows, n_groups)]
        for single, (codes, person) in zip(self._single, self._multi, strict=True):
            distinct = _distinct(group[codes], person, n_groups)
            columns.append(_sum_by(group, single, n_groups) + distinct)
        return pl.DataFrame(
            dict(zip(COUNT_SCHEMA, [merged, *columns], strict=True)), schema=COUNT_SCHEMA
        ).sort("level")


def _sum_by(group: np.ndarray, per_level: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros(n_groups, dtype=np.int64)
    np.add.at(out, group, per_level)
    return out


def _distinct(group: np.ndarray, person: np.ndarray, n_groups: int) -> np.ndarray:
    """Distinct persons per group among rows ordered by person (a sort of the nearly sorted
    keys person x group, then one count per run)."""
    key = person * n_groups + group
    key.sort()
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return np.bincount(key[first] % n_groups, minlength=n_groups)


def distinct_persons(groups: np.ndarray, persons: PersonRows, n_groups: int) -> np.ndarray:
    """Distinct persons in each group 0..n_groups-1 (`groups`: every row's group)."""
    single = np.bincount(groups[persons.single], minlength=n_groups)
    return single + _distinct(groups[persons.multi], persons.multi_person, n_groups)
