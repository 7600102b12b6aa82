"""The resampling design: cases collapsed into types of identical contributions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp


@dataclass
class Tabulation:
    """Per-type contributions to the units of one dimension."""

    name: str
    units: list[str]
    columns: list[str]  # value columns, in the order of `matrix` blocks
    matrix: sp.csr_matrix  # types x (len(columns) * len(units)), column-major by value column

    _subsets: dict[tuple[str, ...], sp.csr_matrix] = field(default_factory=dict, repr=False)

    def totals(
        self, type_counts: np.ndarray, columns: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Replicate totals (replicates x units) of every value column, or of `columns` only.

        Each total is a sum over types in type order whatever the columns asked for, so a
        subset's totals are the same numbers as the full set's.
        """
        cols = list(self.columns) if columns is None else list(columns)
        u = len(self.units)
        if cols == list(self.columns):
            matrix = self.matrix
        else:
            key = tuple(cols)
            if key not in self._subsets:
                at = [self.columns.index(c) for c in cols]
                picked = np.concatenate([np.arange(i * u, (i + 1) * u) for i in at])
                self._subsets[key] = self.matrix[:, picked].tocsr()
            matrix = self._subsets[key]
        prod = np.asarray((matrix.T @ type_counts.T).T)
        return {c: prod[:, i * u : (i + 1) * u] for i, c in enumerate(cols)}


@dataclass
class Design:
    """Cases grouped into types of identical contributions, for resampling."""

    type_of_case: np.ndarray  # (cases,) type index of each case
    cases_per_type: np.ndarray  # (types,)
    court_of_type: np.ndarray  # (types,) court index
    n_courts: int
    tabulations: dict[str, Tabulation] = field(default_factory=dict)

    @property
    def n_types(self) -> int:
        return len(self.cases_per_type)


def build_design(
    dc: pl.DataFrame,
    contributions: dict[str, pl.DataFrame],
    value_columns: Sequence[str],
    case_key: Sequence[str],
    row_key: Sequence[str],
) -> Design:
    """Collapse cases into types and tabulate each dimension's contributions per type.

    `contributions[name]` has one row per (case_id, unit) with the `value_columns` (summed
    over the case's defendant-cases in that unit); they must be functions of the case's
    `case_key` columns and of the multiset of its defendant-cases' `row_key` values. Cases
    agreeing on both (and on the court, which the court resampling needs) are one type.
    """
    cols = list(value_columns)
    keys = list(dict.fromkeys(["court_id", *case_key]))
    content = dc.select(row_key).unique().sort(pl.all(), nulls_last=True)
    content = content.with_row_index("content_id")
    with_id = dc.select("case_id", *keys, *row_key).join(
        content, on=list(row_key), how="left", nulls_equal=True, maintain_order="left"
    )
    # Cases numbered in order of their identifiers. The defendant-cases come sorted by case
    # (sorted here when not): a case's rows are contiguous, so its number is a run number,
    # and its contents are listed in order after one sort of (case number, content) integers
    # (grouping by the identifier and sorting every case's list cost ten times more).
    if not with_id["case_id"].is_sorted():
        with_id = with_id.sort("case_id", maintain_order=True)
    cases = (
        with_id.with_columns(pl.col("case_id").rle_id().alias("case_index"))
        .sort("case_index", "content_id", nulls_last=False)
        .group_by("case_index", maintain_order=True)
        .agg(pl.col("case_id").first(), *[pl.col(k).first() for k in keys], pl.col("content_id"))
    )
    courts = cases["court_id"].unique().sort()
    cases = cases.join(courts.to_frame().with_row_index("court_index"), on="court_id")
    types = (
        cases.group_by(*keys, "content_id")
        .agg(pl.col("case_index").min().alias("first_case"), pl.len().alias("n"),
             pl.col("court_index").first())
        .sort("first_case")
        .with_row_index("type_index")
    )  # fmt: skip
    cases = cases.join(
        types.select(*keys, "content_id", "type_index"),
        on=[*keys, "content_id"],
        how="left",
        nulls_equal=True,
    ).sort("case_index")
    design = Design(
        type_of_case=cases["type_index"].to_numpy().astype(np.int32),
        cases_per_type=types["n"].to_numpy().astype(np.int64),
        court_of_type=types["court_index"].to_numpy().astype(np.int64),
        n_courts=courts.len(),
    )
    reps = types.select("type_index", "first_case").join(
        cases.select("case_index", "case_id"), left_on="first_case", right_on="case_index"
    )
    for name, frame in sorted(contributions.items()):
        units = frame["unit"].cast(pl.String).unique().sort().to_list()
        unit_index = pl.DataFrame({"unit": units}).with_row_index("unit_index")
        rows = (
            frame.with_columns(pl.col("unit").cast(pl.String))
            .join(reps.select("type_index", "case_id"), on="case_id", how="inner")
            .join(unit_index, on="unit")
        )
        t = rows["type_index"].to_numpy().astype(np.int64)
        u = rows["unit_index"].to_numpy().astype(np.int64)
        blocks = []
        for i, c in enumerate(cols):
            blocks.append(
                sp.csr_matrix(
                    (rows[c].fill_null(0.0).to_numpy().astype(np.float64), (t, u + i * len(units))),
                    shape=(design.n_types, len(cols) * len(units)),
                )
            )
        design.tabulations[name] = Tabulation(name, units, cols, sum(blocks[1:], blocks[0]))
    return design
