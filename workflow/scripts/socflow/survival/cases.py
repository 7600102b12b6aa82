"""New cases: court rows of the index persons grouped into cases."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from socflow.survival.settings import Settings, str_col


@dataclass(frozen=True)
class CaseTables:
    """Rows of both courts for the index persons, and the counts of rows left out."""

    rows: pl.DataFrame
    journey_edges: pl.DataFrame  # node_a, node_b, match_score
    excluded: dict[str, int]


def court_rows(
    crown: pl.DataFrame,
    mags: pl.DataFrame,
    journey: pl.DataFrame,
    index: pl.DataFrame,
    s: Settings,
) -> CaseTables:
    """Every court row of the index persons, as nodes of the case graph.

    `crown` and `mags` carry person_id (`attach_person_ids`); `index` holds the index persons
    (person) and their index defendant-case (defendant_on_case_id). Columns: node, person,
    source, case_id, defendant_on_case_id (Crown rows), offence_date, event_date (offence date
    or first hearing / Crown receipt), recorded_date (disposal), convicted, counts (whether the
    row can make an event: magistrates' criminal rows and Crown rows of the event receipt
    types), index_case (the row is the person's index defendant-case, which never counts).
    Breaches and civil applications are left out entirely.
    """
    persons = index.select("person")
    excluded_types = list(s.excluded_proceeding_types)
    convicted = pl.col("outcome_group").is_in(list(s.convicted_outcome_groups))
    is_excluded = str_col("proceeding_type").is_in(excluded_types)
    mags_counts = mags.select(
        is_excluded.sum().alias("excluded"),
        (~is_excluded & pl.col("person_id").is_null()).sum().alias("unlinked"),
    ).row(0, named=True)
    excluded = {
        "mags rows: breach or civil application": int(mags_counts["excluded"]),
        "mags rows: no cross-justice person ID": int(mags_counts["unlinked"]),
        "crown rows: no cross-justice person ID": int(crown["person_id"].null_count()),
    }
    first_hearing_missing = pl.col("first_hearing_date").is_null()
    mags_timing = (
        pl.col("offence_date")
        if s.timing == "offence_date"
        else pl.coalesce("first_hearing_date", "disposal_date")
    )
    mags_rows = (
        mags.join(persons, left_on="person_id", right_on="person", how="semi")
        .filter(~is_excluded)
        .select(
            pl.col("person_id").alias("person"),
            pl.lit("mags").alias("source"),
            "case_id",
            "defendant_id",
            pl.lit(None, dtype=pl.String).alias("defendant_on_case_id"),
            "offence_date",
            mags_timing.alias("event_date"),
            pl.col("disposal_date").alias("recorded_date"),
            convicted.alias("convicted"),
            pl.lit(True).alias("counts"),
            first_hearing_missing.alias("first_hearing_missing"),
        )
    )
    crown_timing = pl.col("offence_date") if s.timing == "offence_date" else pl.col("receipt_date")
    crown_rows_ = crown.join(persons, left_on="person_id", right_on="person", how="semi").select(
        pl.col("person_id").alias("person"),
        pl.lit("crown").alias("source"),
        "case_id",
        "defendant_id",
        "defendant_on_case_id",
        "offence_date",
        crown_timing.alias("event_date"),
        pl.col("disposal_date").alias("recorded_date"),
        convicted.alias("convicted"),
        str_col("receipt_type").is_in(list(s.event_crown_receipt_types)).alias("counts"),
        pl.lit(False).alias("first_hearing_missing"),
    )
    index_cases = index.select("person", "defendant_on_case_id", pl.lit(True).alias("index_case"))
    rows = (
        pl.concat([mags_rows, crown_rows_])
        .join(index_cases, on=["person", "defendant_on_case_id"], how="left", maintain_order="left")
        .with_columns(pl.col("index_case").fill_null(False))
        .with_row_index("node")
    )
    excluded["mags rows: first hearing date missing, timed by disposal"] = (
        int(mags_rows["first_hearing_missing"].sum()) if s.timing == "first_hearing" else 0
    )
    # Journey: the magistrates' row (case, defendant) and the Crown row it went on to.
    mags_nodes = rows.filter(pl.col("source") == "mags").select(
        "node", "case_id", "defendant_id", "person"
    )
    crown_nodes = rows.filter(pl.col("source") == "crown").select(
        "node", "defendant_on_case_id", "person"
    )
    edges = (
        journey.join(
            mags_nodes,
            left_on=["mags_case_id", "mags_defendant_id"],
            right_on=["case_id", "defendant_id"],
            how="inner",
        )
        .join(
            crown_nodes,
            left_on="crown_defendant_on_case_id",
            right_on="defendant_on_case_id",
            how="inner",
            suffix="_crown",
        )
        .select(
            pl.col("node").alias("node_a"),
            pl.col("node_crown").alias("node_b"),
            "match_score",
            (pl.col("person") != pl.col("person_crown")).alias("cross_person"),
        )
    )
    excluded["journey links joining rows of two different person IDs (ignored)"] = int(
        edges["cross_person"].sum()
    )
    edges = edges.filter(~pl.col("cross_person")).drop("cross_person")
    return CaseTables(rows.drop("first_hearing_missing"), edges, excluded)


class CaseGraph:
    """The court rows as a graph, for one grouping into cases per variant.

    What every variant shares is built once: each row's anchor among the rows of its case ID
    (the first node of its person, source and case ID) and among the rows of its person and
    offence date. A variant then adds the journey links above its match score and finds the
    connected components, on integer node numbers only.
    """

    def __init__(self, tables: CaseTables) -> None:
        self.rows = tables.rows
        self.journey_edges = tables.journey_edges
        # node is the row number, so a row's anchor is read by position.
        self.case_anchor = self._anchor(["person", "source", "case_id"])
        self.case_rows = self.rows.select(
            "person", "offence_date", "event_date", "recorded_date", "convicted", "counts",
            "index_case",
        )  # fmt: skip

    def _anchor(self, keys: list[str]) -> np.ndarray:
        return (
            self.rows.select(pl.col("node").min().over(keys).cast(pl.Int64)).to_series().to_numpy()
        )

    @cached_property
    def date_anchor(self) -> np.ndarray:
        return self._anchor(["person", "offence_date"])

    def components(self, merge_same_offence_date: bool, min_match_score: float) -> np.ndarray:
        """The connected component of each row: rows of one case ID, rows of one offence
        date (with `merge_same_offence_date`) and rows joined by a journey link of score at
        least `min_match_score` (unknown scores count as matches) are one case."""
        n = self.rows.height
        journey = self.journey_edges.filter(
            pl.col("match_score").is_null() | (pl.col("match_score") >= min_match_score)
        )
        # Every row hangs on its case anchor, so the graph over anchors has the same
        # components: a row's component is its anchor's.
        a = [self.case_anchor[journey["node_a"].cast(pl.Int64).to_numpy()]]
        b = [self.case_anchor[journey["node_b"].cast(pl.Int64).to_numpy()]]
        if merge_same_offence_date:
            a.append(self.case_anchor)
            b.append(self.case_anchor[self.date_anchor])
        heads, tails = np.concatenate(a), np.concatenate(b)
        graph = coo_matrix((np.ones(heads.size, dtype=np.int8), (heads, tails)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        return label[self.case_anchor]

    def cases(self, merge_same_offence_date: bool, min_match_score: float) -> pl.DataFrame:
        """One row per (person, case) of the grouping (`new_cases`)."""
        if self.rows.height == 0:
            return pl.DataFrame(
                schema={
                    "person": self.rows.schema["person"],
                    "offence_date": pl.Date,
                    "event_date": pl.Date,
                    "recorded_date": pl.Date,
                    "convicted": pl.Boolean,
                    "conviction_date": pl.Date,
                    "counts": pl.Boolean,
                    "index_case": pl.Boolean,
                }
            )
        label = self.components(merge_same_offence_date, min_match_score)
        return (
            self.case_rows.with_columns(pl.Series("component", label, dtype=pl.Int64))
            # Sorted first, the high-cardinality grouping runs over contiguous slices.
            .sort("component")
            .group_by("component", maintain_order=True)
            .agg(
                # A case lies within one person: every link joins rows of one person.
                pl.col("person").first(),
                pl.col("offence_date").min(),
                pl.col("event_date").min(),
                pl.col("recorded_date").min(),
                pl.col("convicted").any(),
                pl.col("recorded_date").filter(pl.col("convicted")).min().alias("conviction_date"),
                pl.col("counts").any(),
                pl.col("index_case").any(),
            )
            .drop("component")
            .sort("person", "offence_date", "event_date")
        )


def new_cases(
    tables: CaseTables, s: Settings, min_match_score: float | None = None
) -> pl.DataFrame:
    """Group court rows into cases (connected components) per person.

    Rows are one case when they share (person, source, case ID), when the journey table joins
    them with a match score of at least `min_match_score` (unknown scores count as matches), or,
    with `merge_same_offence_date`, when one person has them on the same offence date. Returns
    one row per (person, case) with the case's earliest offence, event and recorded dates,
    whether it was convicted (and first conviction date), whether it can count as an event, and
    whether it holds the person's index case (index_case). Several variants of one set of rows
    are cheaper from one `CaseGraph`.
    """
    threshold = s.journey_min_match_score if min_match_score is None else min_match_score
    return CaseGraph(tables).cases(s.merge_same_offence_date, threshold)
