"""Synthetic validation (tests and tools only: no analysis rule reads the planted truth)."""

from __future__ import annotations

import polars as pl

from socflow.survival.settings import GROUP, NON_SOC_LABEL, SOC_LABEL, Settings, str_col


def truth_follow_up(
    crown: pl.DataFrame, mags: pl.DataFrame, truth_rows: pl.DataFrame, s: Settings
) -> pl.DataFrame:
    """The follow-up the planted history implies, for comparison with `follow_up`.

    Persons are the generator's true persons (no linkage error); the index case is each true
    person's first Crown Court case meeting the same cohort definition; SOC status is the
    generator's own; time at risk starts at the true release date; the event is the true
    person's next offence in either court (offence date after the start, up to the censoring
    date). Columns: person, soc_status, offence_group, case_id (of the index case), start_date,
    time, event.
    """
    truth = truth_rows.select(
        pl.col("row_id_hash").alias("row_id"),
        "source_dataset",
        pl.col("true_person_id").cast(pl.Int64),
        "soc_case_truth",
        "start_risk_date",
    )
    censor = s.censor_date
    index = (
        crown.filter(
            pl.col("disposal_date").is_between(s.first_disposal_date, s.last_disposal_date)
            & str_col("receipt_type").is_in(list(s.receipt_types))
        )
        .join(truth.filter(pl.col("source_dataset") == "crown_xhibit"), on="row_id")
        .sort(["true_person_id", "disposal_date", "receipt_date", "defendant_on_case_id"])
        .group_by("true_person_id", maintain_order=True)
        .first()
        .filter(pl.col("start_risk_date") < censor)
        .select(
            pl.col("true_person_id").alias("person"),
            pl.when(pl.col("soc_case_truth"))
            .then(pl.lit(SOC_LABEL))
            .otherwise(pl.lit(NON_SOC_LABEL))
            .alias(GROUP),
            "offence_group",
            "case_id",
            pl.col("start_risk_date").alias("start_date"),
        )
    )
    offences = pl.concat(
        [
            mags.filter(~str_col("proceeding_type").is_in(list(s.excluded_proceeding_types)))
            .join(truth.filter(pl.col("source_dataset") == "mags_hocas"), on="row_id")
            .select(pl.col("true_person_id").alias("person"), "offence_date"),
            crown.join(
                truth.filter(pl.col("source_dataset") == "crown_xhibit"), on="row_id"
            ).select(pl.col("true_person_id").alias("person"), "offence_date"),
        ]
    )
    first = (
        offences.join(index.select("person", "start_date"), on="person")
        .filter(
            (pl.col("offence_date") > pl.col("start_date")) & (pl.col("offence_date") <= censor)
        )
        .group_by("person")
        .agg(pl.col("offence_date").min().alias("event_date"))
    )
    return (
        index.join(first, on="person", how="left")
        .with_columns(
            pl.col("event_date").is_not_null().alias("event"),
            (pl.coalesce("event_date", pl.lit(censor)) - pl.col("start_date"))
            .dt.total_days()
            .alias("time"),
        )
        .drop("event_date")
        .sort("person")
    )
