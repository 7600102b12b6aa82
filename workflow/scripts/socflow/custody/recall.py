"""Recall to prison after release from the index case's custody.

Per custodial index person matched to a journey (socflow.custody.matching) and released before
the end of follow-up: time runs from the journey's release date. The event is recall: the
person's first later journey whose reception reason is `recall` (a recall needs no new court
case), received after the release and on or before the end of follow-up. Release by death or
deportation (the journey's release reason, config `custody.recall.competing_release_reasons`)
is a competing event at release: such a person cannot be recalled. Everyone else is censored
at the end of follow-up (`custody.recall.follow_up_end_date`). Persons still in custody at the
end, or released on or after it, are counted apart.
"""

from __future__ import annotations

import polars as pl

from socflow.custody.incidence import CENSORED, COMPETING, EVENT
from socflow.custody.matching import NEAR, SPANS
from socflow.custody.settings import CustodySettings

STILL_IN_CUSTODY = "still in custody at the end of follow-up"
RELEASED_LATE = "released on or after the end of follow-up"


def recall_follow_up(
    matched: pl.DataFrame, journeys: pl.DataFrame, s: CustodySettings
) -> tuple[pl.DataFrame, dict[str, int]]:
    """One row per released matched person: person_id, soc_status, release_date, status
    (0 censored, 1 recalled, 2 competing), time (days from release), recall_date; and counts
    of matched persons left out, by reason.

    `matched` is `match_journeys` output with a soc_status column; `journeys` carries person_id.
    """
    end = s.follow_up_end_date
    found = matched.filter(pl.col("match_type").is_in([SPANS, NEAR]))
    excluded = {
        STILL_IN_CUSTODY: found.filter(pl.col("release_date").is_null()).height,
        RELEASED_LATE: found.filter(pl.col("release_date") >= end).height,
    }
    released = found.filter(pl.col("release_date") < end)
    recalls = (
        journeys.filter(pl.col("reception_reason") == "recall")
        .drop_nulls("person_id")
        .select("person_id", pl.col("reception_date").alias("recall_date"))
        .join(released.select("person_id", "release_date"), on="person_id", how="inner")
        .filter((pl.col("recall_date") > pl.col("release_date")) & (pl.col("recall_date") <= end))
        .group_by("person_id")
        .agg(pl.col("recall_date").min())
    )
    competing = pl.col("release_reason").is_in(list(s.competing_release_reasons)).fill_null(False)
    out = (
        released.join(recalls, on="person_id", how="left")
        .with_columns(
            pl.when(competing)
            .then(pl.lit(COMPETING))
            .when(pl.col("recall_date").is_not_null())
            .then(pl.lit(EVENT))
            .otherwise(pl.lit(CENSORED))
            .cast(pl.Int8)
            .alias("status")
        )
        .with_columns(
            pl.when(pl.col("status") == COMPETING)
            .then(None)
            .otherwise(pl.col("recall_date"))
            .alias("recall_date")
        )
        .with_columns(
            pl.when(pl.col("status") == COMPETING)
            .then(0)
            .when(pl.col("status") == EVENT)
            .then((pl.col("recall_date") - pl.col("release_date")).dt.total_days())
            .otherwise((pl.lit(end) - pl.col("release_date")).dt.total_days())
            .cast(pl.Int32)
            .alias("time")
        )
        .sort("person_id")
    )
    return out, excluded
