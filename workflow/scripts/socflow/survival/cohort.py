"""The index event: each person's first Crown Court case in the cohort; start of time at risk."""

from __future__ import annotations

import polars as pl

from socflow.soc import person_key_expr
from socflow.survival.settings import (
    GROUP,
    NON_SOC_LABEL,
    SOC_LABEL,
    Settings,
    SurvivalConfigError,
    str_col,
)

INDEX_COLUMNS = (
    "row_id",
    "defendant_on_case_id",
    "case_id",
    "defendant_id",
    "receipt_type",
    "receipt_date",
    "disposal_date",
    "outcome_group",
    "sentence_type",
    "custody_days",
    "age_band",
    "sex",
    "ethnic_group",
    "offence_group",
    "receipt_year",
    "region",
)


def index_events(
    crown: pl.DataFrame, flags: pl.DataFrame, s: Settings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each person's index Crown Court defendant-case, and the cohort flow.

    `crown` carries person_id (`attach_person_ids`). The index case is the person's first
    defendant-case (by disposal date, then receipt date, then defendant-case ID) disposed in the
    study window that meets the cohort definition. The flow counts defendant-cases and distinct
    persons (the linked ID, else the court defendant ID) left after each step.
    """
    if s.soc_column not in flags.columns:
        raise SurvivalConfigError(
            f"results/soc/defendant_cases.parquet has no column {s.soc_column!r} "
            "(config survival.soc_column)"
        )
    rows = (
        crown.select(*INDEX_COLUMNS, "person_id", "n_ids")
        .join(
            flags.select("defendant_on_case_id", pl.col(s.soc_column).alias("soc")),
            on="defendant_on_case_id",
            how="left",
        )
        .with_columns(person_key_expr().alias("person_key"))
    )
    steps: list[tuple[str, pl.Expr | None]] = [
        ("Crown Court defendant-cases", None),
        (
            "disposed in the study window",
            pl.col("disposal_date").is_between(s.first_disposal_date, s.last_disposal_date),
        ),
        ("receipt type in the cohort", str_col("receipt_type").is_in(list(s.receipt_types))),
    ]
    if s.outcome_groups:
        steps.append(("outcome in the cohort", pl.col("outcome_group").is_in(s.outcome_groups)))
    steps += [
        ("with a SOC flag", pl.col("soc").is_not_null()),
        ("with a usable cross-justice person ID", pl.col("person_id").is_not_null()),
    ]
    rows, flow = filter_with_flow(rows, steps, pl.col("person_key").n_unique())
    index = (
        rows.sort(["person_id", "disposal_date", "receipt_date", "defendant_on_case_id"])
        .group_by("person_id", maintain_order=True)
        .first()
        .rename({"person_id": "person"})
        .with_columns(
            (
                (str_col("sentence_type") == "immediate_custody") & (pl.col("custody_days") > 0)
            ).alias("custody"),
            pl.when(pl.col("soc"))
            .then(pl.lit(SOC_LABEL))
            .otherwise(pl.lit(NON_SOC_LABEL))
            .alias(GROUP),
        )
        .drop("person_key", "n_ids")
    )
    flow.append(
        {
            "step": "first such case per person (index event)",
            "defendant_cases": index.height,
            "persons": index.height,
        }
    )
    return index, pl.DataFrame(flow)


def filter_with_flow(
    rows: pl.DataFrame, steps: list[tuple[str, pl.Expr | None]], persons: pl.Expr
) -> tuple[pl.DataFrame, list[dict]]:
    """Apply the cohort's steps in order (a `None` condition keeps every row) and count, after
    each, the defendant-cases left and the persons (`persons`, an aggregate expression)."""
    flow = []
    for label, condition in steps:
        if condition is not None:
            rows = rows.filter(condition)
        flow.append(
            {
                "step": label,
                "defendant_cases": rows.height,
                "persons": rows.select(persons).item(),
            }
        )
    return rows, flow


def start_of_risk(index: pl.DataFrame, release_fraction: float) -> pl.Expr:
    """Disposal date, or for immediate custody the estimated release date."""
    served = (pl.col("custody_days").cast(pl.Float64) * release_fraction).floor().cast(pl.Int64)
    return pl.col("disposal_date") + pl.duration(
        days=pl.when(pl.col("custody")).then(served).otherwise(0)
    )
