"""New cases: court rows of the index persons grouped into cases."""

from __future__ import annotations

from dataclasses import dataclass

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
    persons: pl.DataFrame,
    s: Settings,
) -> CaseTables:
    """Every court row of the index persons, as nodes of the case graph.

    `crown` and `mags` carry person_id (`attach_person_ids`). Columns: node, person, source,
    case_id, defendant_on_case_id (Crown rows), offence_date, event_date (offence date or first
    hearing / Crown receipt), recorded_date (disposal), convicted, counts (whether the row can
    make an event: magistrates' criminal rows and Crown rows of the event receipt types).
    Breaches and civil applications are left out entirely.
    """
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
    rows = pl.concat([mags_rows, crown_rows_]).with_row_index("node")
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


def new_cases(
    tables: CaseTables, s: Settings, min_match_score: float | None = None
) -> pl.DataFrame:
    """Group court rows into cases (connected components) per person.

    Rows are one case when they share (person, source, case ID), when the journey table joins
    them with a match score of at least `min_match_score` (unknown scores count as matches), or,
    with `merge_same_offence_date`, when one person has them on the same offence date. Returns
    one row per (person, case) with the case's earliest offence, event and recorded dates,
    whether it was convicted (and first conviction date), whether it can count as an event, and
    the defendant-case IDs of its Crown rows (to recognise the index case).
    """
    threshold = s.journey_min_match_score if min_match_score is None else min_match_score
    rows = tables.rows
    n = rows.height
    if n == 0:
        return pl.DataFrame(
            schema={
                "person": pl.String,
                "offence_date": pl.Date,
                "event_date": pl.Date,
                "recorded_date": pl.Date,
                "convicted": pl.Boolean,
                "conviction_date": pl.Date,
                "counts": pl.Boolean,
                "crown_doc_ids": pl.List(pl.String),
            }
        )
    same_case = ["person", "source", "case_id"]
    anchors = [pl.col("node").min().over(same_case).alias("anchor_case")]
    if s.merge_same_offence_date:
        anchors.append(pl.col("node").min().over(["person", "offence_date"]).alias("anchor_date"))
    linked = rows.select("node", *anchors)
    pairs = [linked.select(pl.col("node").alias("a"), pl.col("anchor_case").alias("b"))]
    if s.merge_same_offence_date:
        pairs.append(linked.select(pl.col("node").alias("a"), pl.col("anchor_date").alias("b")))
    journey = tables.journey_edges.filter(
        pl.col("match_score").is_null() | (pl.col("match_score") >= threshold)
    )
    pairs.append(journey.select(pl.col("node_a").alias("a"), pl.col("node_b").alias("b")))
    edges = pl.concat([p.cast(pl.Int64) for p in pairs])
    graph = coo_matrix(
        (np.ones(edges.height, dtype=np.int8), (edges["a"].to_numpy(), edges["b"].to_numpy())),
        shape=(n, n),
    )
    _, label = connected_components(graph, directed=False)
    rows = rows.with_columns(pl.Series("component", label, dtype=pl.Int64))
    return (
        rows.group_by("person", "component")
        .agg(
            pl.col("offence_date").min(),
            pl.col("event_date").min(),
            pl.col("recorded_date").min(),
            pl.col("convicted").any(),
            pl.col("recorded_date").filter(pl.col("convicted")).min().alias("conviction_date"),
            pl.col("counts").any(),
            pl.col("defendant_on_case_id").drop_nulls().alias("crown_doc_ids"),
        )
        .drop("component")
        .sort("person", "offence_date", "event_date")
    )
