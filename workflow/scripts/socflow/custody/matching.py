"""Which prison journey a custodial index case led to.

The prison data hold no court case key: a journey is tied to a Crown Court case only through
the person (the cross-justice person ID of `xjs_link`, source `prison`) and dates. The rule:

1. Only journeys of the same person that are not recalls count (a recall starts a new journey
   without a new court case, so it cannot be the index case's custody).
2. A journey *spans the disposal* when it began on remand (or with no recorded reason) on or
   before the disposal date and had not ended before it (release on or after the disposal, or
   still in custody): a remanded defendant sentenced to custody stays on the same journey.
3. A journey is *received near the disposal* when it began as a sentenced reception (or with
   no recorded reason) within `window_days` of the disposal date, either side.
4. A spanning journey is preferred to a near one; among several, the one whose reception is
   closest to the disposal, then the smallest journey row key (deterministic).

Index cases that are not immediate custody are not matched. A custodial index case with no
such journey is unmatched: its release is unknown (the survival stage falls back on the
estimated release date).
"""

from __future__ import annotations

import polars as pl

from socflow.custody.settings import MatchSettings

SPANS = "journey spans the disposal"
NEAR = "sentenced reception near the disposal"
UNMATCHED = "no matching journey"
NOT_CUSTODIAL = "not immediate custody"
MATCH_TYPES = (SPANS, NEAR, UNMATCHED, NOT_CUSTODIAL)

MATCH_COLUMNS = (
    "journey_row_id",
    "reception_date",
    "release_date",
    "reception_reason",
    "release_reason",
    "match_type",
)


def journeys_with_person_ids(journeys: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """Journeys with the person ID of their prisoner from the prison rows' resolved IDs `ids`
    (row_id, person_id: `socflow.persons.read_person_ids`); reasons as plain strings."""
    return journeys.join(ids.select("row_id", "person_id"), on="row_id", how="left").with_columns(
        pl.col("reception_reason").cast(pl.String),
        pl.col("release_reason").cast(pl.String),
    )


def match_journeys(
    index: pl.DataFrame,
    journeys: pl.DataFrame,
    s: MatchSettings,
    *,
    person: str = "person_id",
    case: str = "index_defendant_on_case_id",
    disposal: str = "index_disposal_date",
    custodial: str = "custodial",
) -> pl.DataFrame:
    """`index` with the matched journey's columns (MATCH_COLUMNS) added, one row per row.

    `journeys` carries person_id (`journeys_with_person_ids`). Column names of `index`
    are arguments so that the survival stage's index (person, defendant_on_case_id,
    disposal_date, custody) can be matched by the same rule.
    """
    reason = pl.col("reception_reason")
    gap = (pl.col("reception_date") - pl.col(disposal)).dt.total_days()
    spans = (
        (reason.is_null() | (reason == "remand"))
        & (pl.col("reception_date") <= pl.col(disposal))
        & (pl.col("release_date").is_null() | (pl.col("release_date") >= pl.col(disposal)))
    )
    near = (reason.is_null() | (reason == "sentenced")) & (gap.abs() <= s.window_days)
    candidates = (
        index.filter(pl.col(custodial).fill_null(False))
        .select(person, case, disposal)
        .join(
            journeys.drop_nulls("person_id")
            .filter(reason.is_null() | (reason != "recall"))
            .select(
                pl.col("person_id").alias(person),
                pl.col("row_id").alias("journey_row_id"),
                "reception_date",
                "release_date",
                "reception_reason",
                "release_reason",
            ),
            on=person,
            how="inner",
        )
        .with_columns(
            pl.when(spans).then(pl.lit(SPANS)).when(near).then(pl.lit(NEAR)).alias("match_type"),
            gap.abs().alias("_gap"),
        )
        .filter(pl.col("match_type").is_not_null())
        .sort(
            case,
            pl.col("match_type") != SPANS,
            "_gap",
            "journey_row_id",
        )
        .group_by(case, maintain_order=True)
        .first()
        .select(case, *MATCH_COLUMNS)
    )
    return (
        index.join(candidates, on=case, how="left")
        .with_columns(
            pl.when(~pl.col(custodial).fill_null(False))
            .then(pl.lit(NOT_CUSTODIAL))
            .otherwise(pl.col("match_type").fill_null(UNMATCHED))
            .alias("match_type")
        )
        .with_columns(
            [
                pl.when(pl.col("match_type") == NOT_CUSTODIAL)
                .then(None)
                .otherwise(pl.col(c))
                .alias(c)
                for c in MATCH_COLUMNS[:-1]
            ]
        )
    )


def match_rates(matched: pl.DataFrame, group: str = "soc_status") -> pl.DataFrame:
    """Custodial index persons by match type x group (persons; every cell present)."""
    custodial = matched.filter(pl.col("match_type") != NOT_CUSTODIAL)
    grid = pl.DataFrame({"match_type": list(MATCH_TYPES[:3])}).join(
        matched.select(group).unique().sort(group, descending=True), how="cross"
    )
    counts = custodial.group_by("match_type", group).agg(pl.len().cast(pl.Int64).alias("persons"))
    return (
        grid.join(counts, on=["match_type", group], how="left")
        .with_columns(pl.col("persons").fill_null(0))
        .with_columns((pl.col("persons") / pl.col("persons").sum().over(group)).alias("share"))
    )
