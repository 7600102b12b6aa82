"""The index event: each person's first Crown Court case in the cohort; start of time at risk."""

from __future__ import annotations

from collections.abc import Mapping

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
    """Each person's index Crown Court defendant-case with its SOC status, and the cohort flow
    (`cohort_index` over the defendant-cases carrying a flag, then `with_soc_status`)."""
    index, flow = cohort_index(crown, s, flagged_cases(flags, s))
    return with_soc_status(index, flags, s), flow


def cohort_index(
    crown: pl.DataFrame, s: Settings, flagged: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each person's index Crown Court defendant-case, without SOC status, and the cohort flow.

    `crown` carries person_id (`attach_person_ids`). The index case is the person's first
    defendant-case (by disposal date, then receipt date, then defendant-case ID) disposed in the
    study window that meets the cohort definition and carries a SOC flag (`flagged`: their
    defendant_on_case_id). Without `flagged` (rule survival_cohort, before the flags exist) the
    flag step keeps every row, and `check_flags_cover` must confirm that this is so. The flow
    counts defendant-cases and distinct persons (the linked ID, else the court defendant ID)
    left after each step.
    """
    rows = crown.select(*INDEX_COLUMNS, "person_id", "n_ids").with_columns(
        person_key_expr().alias("person_key")
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
    has_flag = (
        None
        if flagged is None
        else pl.col("defendant_on_case_id").is_in(flagged["defendant_on_case_id"].implode())
    )
    steps += [
        (SOC_FLAG_STEP, has_flag),
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


SOC_FLAG_STEP = "with a SOC flag"


def flagged_cases(flags: pl.DataFrame, s: Settings) -> pl.DataFrame:
    """defendant_on_case_id of the defendant-cases with a SOC flag (`s.soc_column`)."""
    check_soc_column(flags, s)
    return flags.filter(pl.col(s.soc_column).is_not_null()).select("defendant_on_case_id")


def check_soc_column(flags: pl.DataFrame, s: Settings) -> None:
    if s.soc_column not in flags.columns:
        raise SurvivalConfigError(
            f"results/soc/defendant_cases.parquet has no column {s.soc_column!r} "
            "(config survival.soc_column)"
        )


def check_flags_cover(rows: pl.DataFrame, flags: pl.DataFrame, s: Settings) -> None:
    """Stop unless every Crown defendant-case of the study window with a cohort receipt type
    (`rows`) carries a SOC flag: the cohort was built before the flags on that premise
    (`cohort_index` without `flagged`). Rule flag_soc flags every defendant-case."""
    check_soc_column(flags, s)
    in_window = rows.filter(
        pl.col("disposal_date").is_between(s.first_disposal_date, s.last_disposal_date)
        & str_col("receipt_type").is_in(list(s.receipt_types))
    )
    flagged = flags.filter(pl.col(s.soc_column).is_not_null())
    missing = in_window.join(flagged, on="defendant_on_case_id", how="anti").height
    if missing:
        raise SurvivalConfigError(
            f"results/soc/defendant_cases.parquet: {missing} Crown Court defendant-cases of the "
            f"study window have no value in column {s.soc_column!r} (rule flag_soc flags every "
            "defendant-case: re-run it)"
        )


def with_soc_status(frame: pl.DataFrame, flags: pl.DataFrame, s: Settings) -> pl.DataFrame:
    """Index persons (or their follow-up) with the SOC flag of their index defendant-case,
    `soc` before `custody` and the group label after it, rows in their order."""
    return with_soc_status_each({"": frame}, flags, s)[""]


def with_soc_status_each(
    frames: Mapping[str, pl.DataFrame], flags: pl.DataFrame, s: Settings
) -> dict[str, pl.DataFrame]:
    """`with_soc_status` of each frame, from one join of all their defendant-cases with the
    flags (the follow-ups of the sensitivity variants are the same persons again and again:
    one lookup, not one per variant)."""
    check_soc_column(flags, s)
    if not frames:
        return {}
    keys = pl.concat([f.select("defendant_on_case_id") for f in frames.values()])
    status = flags.select("defendant_on_case_id", pl.col(s.soc_column).alias("soc"))
    soc = keys.join(status, on="defendant_on_case_id", how="left", maintain_order="left")
    if soc.height != keys.height:
        raise SurvivalConfigError(
            "results/soc/defendant_cases.parquet: column defendant_on_case_id has repeated "
            "values (rule flag_soc writes one row per defendant-case: re-run it)"
        )
    out, at = {}, 0
    for name, frame in frames.items():
        columns = frame.columns
        custody = columns.index("custody")
        out[name] = (
            frame.with_columns(soc.get_column("soc").slice(at, frame.height))
            .with_columns(
                pl.when(pl.col("soc"))
                .then(pl.lit(SOC_LABEL))
                .otherwise(pl.lit(NON_SOC_LABEL))
                .alias(GROUP)
            )
            .select(*columns[:custody], "soc", "custody", GROUP, *columns[custody + 1 :])
        )
        at += frame.height
    return out


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
