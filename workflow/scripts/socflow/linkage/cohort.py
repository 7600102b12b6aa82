"""The linked cohort: one row per person with a Crown Court case disposed in the study window.

The person is the cross-justice person ID of the linking table (source `crown`); Crown rows
without one cannot be followed into the other datasets and are left out (counted in the flow).
The index case is the person's first SOC case in the window when they have one, else their
first case (by disposal date, then receipt date, then defendant-case ID): a person who is ever
SOC in the window is described at a SOC case, so SOC status is a property of the person.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from socflow.linkage.linked import person_ids
from socflow.linkage.settings import LinkageConfigError, Settings
from socflow.mapping import check_link_matches
from socflow.parquet import write_parquet
from socflow.survival.cohort import filter_with_flow
from socflow.survival.linking import attach_person_ids
from socflow.survival.settings import str_col

log = logging.getLogger(__name__)

# The cohort's columns and dtypes (the contract other stages read).
COHORT_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "index_defendant_on_case_id": pl.String(),
    "index_disposal_date": pl.Date(),
    "index_year": pl.Int16(),
    "soc": pl.Boolean(),
    "age_at_offence": pl.Int16(),
    "sex": pl.String(),
    "offence_group": pl.String(),
    "sentence_type": pl.String(),
    "custody_days": pl.Int32(),
    "custodial": pl.Boolean(),
}
# Crown columns the cohort reads; those the extract lacks are read as nulls.
CROWN_COLUMNS = (
    "row_id",
    "defendant_on_case_id",
    "receipt_type",
    "receipt_date",
    "disposal_date",
    "age_at_offence",
    "sex",
    "offence_group",
    "sentence_type",
    "custody_days",
)


def build_cohort(
    crown: pl.DataFrame, ids: pl.DataFrame | pl.LazyFrame, flags: pl.DataFrame, s: Settings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The linked cohort (columns `COHORT_SCHEMA`, sorted by person_id) and its flow.

    `crown` is the ingested Crown Court table, `ids` the person lookup of rule person_ids (or a
    linking table: `socflow.linkage.linked.person_ids`), `flags` the SOC stage's flags (`soc`:
    the primary definition). The flow counts defendant-cases and linked
    persons (distinct cross-justice IDs) left after each step.
    """
    if "soc" not in flags.columns:
        raise LinkageConfigError(
            "results/soc/defendant_cases.parquet has no column 'soc' (the primary definition)"
        )
    resolved = person_ids(ids, "crown", s.fanout_rule)
    check_link_matches(resolved, crown, "crown", "crown_defendant_cases")
    rows = attach_person_ids(_with_columns(crown), resolved).join(
        flags.select("defendant_on_case_id", "soc"), on="defendant_on_case_id", how="left"
    )
    steps: list[tuple[str, pl.Expr | None]] = [
        ("Crown Court defendant-cases", None),
        (
            "disposed in the study window",
            pl.col("disposal_date").is_between(s.first_disposal_date, s.last_disposal_date),
        ),
    ]
    if s.receipt_types:
        # An extract without receipt types keeps every row (coverage notes it).
        steps.append(
            (
                "receipt type in the cohort",
                str_col("receipt_type").is_in(list(s.receipt_types))
                | pl.col("receipt_type").is_null(),
            )
        )
    steps += [
        ("with a SOC flag", pl.col("soc").is_not_null()),
        ("with a cross-justice person ID", pl.col("person_id").is_not_null()),
    ]
    rows, flow = filter_with_flow(rows, steps, pl.col("person_id").drop_nulls().n_unique())
    cohort = (
        rows.sort(
            ["person_id", "soc", "disposal_date", "receipt_date", "defendant_on_case_id"],
            descending=[False, True, False, False, False],
            nulls_last=True,
        )
        .group_by("person_id", maintain_order=True)
        .first()
        .select(
            pl.col("person_id").cast(pl.String),
            pl.col("defendant_on_case_id").cast(pl.String).alias("index_defendant_on_case_id"),
            pl.col("disposal_date").alias("index_disposal_date"),
            pl.col("disposal_date").dt.year().cast(pl.Int16).alias("index_year"),
            pl.col("soc").cast(pl.Boolean),
            pl.col("age_at_offence").cast(pl.Int16),
            str_col("sex").alias("sex"),
            str_col("offence_group").fill_null("Not known").alias("offence_group"),
            str_col("sentence_type").alias("sentence_type"),
            pl.col("custody_days").cast(pl.Int32),
            (str_col("sentence_type") == "immediate_custody").fill_null(False).alias("custodial"),
        )
    )
    flow.append(
        {
            "step": "index case per person (first SOC case, else first case)",
            "defendant_cases": cohort.height,
            "persons": cohort.height,
        }
    )
    flow_schema = {"step": pl.String, "defendant_cases": pl.Int64, "persons": pl.Int64}
    return cohort, pl.DataFrame(flow, schema=flow_schema)


def _with_columns(crown: pl.DataFrame) -> pl.DataFrame:
    """The Crown columns the cohort reads; optional ones the extract lacks as typed nulls."""
    dtypes = {
        "row_id": pl.String(),
        "receipt_type": pl.String(),
        "receipt_date": pl.Date(),
        "age_at_offence": pl.Int16(),
        "sex": pl.String(),
        "offence_group": pl.String(),
        "sentence_type": pl.String(),
        "custody_days": pl.Int32(),
    }
    for required in ("defendant_on_case_id", "disposal_date"):
        if required not in crown.columns:
            raise LinkageConfigError(
                f"results/ingest/crown_defendant_cases.parquet has no column {required!r} "
                "(rule linkage_cohort)"
            )
    return crown.with_columns(
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in dtypes.items()
        if name not in crown.columns
    ).select(CROWN_COLUMNS)


def run_cohort(
    paths: dict[str, str], cfg: dict, out_cohort: str | Path, out_flow: str | Path
) -> pl.DataFrame:
    """Rule linkage_cohort: read the Crown table, person IDs and flags; write cohort and flow."""
    s = Settings.from_config(cfg)
    crown = pl.read_parquet(paths["crown"])
    crown = crown.select([c for c in CROWN_COLUMNS if c in crown.columns])
    cohort, flow = build_cohort(
        crown,
        pl.scan_parquet(paths["person_ids"]),
        pl.read_parquet(paths["flags"], columns=["defendant_on_case_id", "soc"]),
        s,
    )
    for step in flow.iter_rows(named=True):
        log.info(
            "cohort: %s: %s defendant-cases, %s persons",
            step["step"],
            step["defendant_cases"],
            step["persons"],
        )
    Path(out_cohort).parent.mkdir(parents=True, exist_ok=True)
    write_parquet(cohort, out_cohort)
    flow.write_csv(out_flow)
    return cohort
