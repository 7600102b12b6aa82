"""Rows of the linked datasets (prison, OASys, probation, PNC) with their cross-justice person."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from socflow.mapping import check_link_matches
from socflow.persons import person_ids_of, person_lookup


@dataclass(frozen=True)
class LinkedDataset:
    """A linked table: its `xjs_link` source label, its dated column and its name in words."""

    table: str
    source: str
    date_column: str
    label: str


LINKED_DATASETS: tuple[LinkedDataset, ...] = (
    LinkedDataset("prison_journeys", "prison", "reception_date", "prison custodial journeys"),
    LinkedDataset("oasys_assessments", "oasys", "assessment_date", "OASys assessments"),
    LinkedDataset("probation_starts", "probation", "start_date", "probation starts"),
    LinkedDataset("pnc_events", "pnc", "event_date", "Police National Computer events"),
)
DATASET_OF = {d.table: d for d in LINKED_DATASETS}


def person_ids(ids: pl.DataFrame | pl.LazyFrame, source: str, fanout_rule: str) -> pl.DataFrame:
    """row_id, person_id and n_ids of the rows of `source`: from the person lookup that rule
    person_ids writes (`socflow.persons`; lazy, only that source's rows are read), or from a
    linking table (source_dataset, row_id, person_id), resolved here as that rule does."""
    schema = ids.collect_schema() if isinstance(ids, pl.LazyFrame) else ids.schema
    lookup = ids if "n_ids" in schema else person_lookup(ids)
    return person_ids_of(lookup, source, fanout_rule)


def person_rows(
    rows: pl.DataFrame,
    ids: pl.DataFrame | pl.LazyFrame,
    dataset: LinkedDataset,
    fanout_rule: str,
) -> pl.DataFrame:
    """The rows of a linked table that carry a cross-justice person ID, with `person_id`.

    A row linked to several IDs takes one, as Crown Court rows do (`fanout_rule`); rows the
    linking table does not reach cannot be attributed to anyone and are dropped. A linking table
    whose rows of this source match no row of the table is a mapping error.
    """
    resolved = person_ids(ids, dataset.source, fanout_rule)
    check_link_matches(resolved, rows, dataset.source, dataset.table)
    return rows.join(
        resolved.select("row_id", "person_id"), on="row_id", how="inner", maintain_order="left"
    )


def persons_found(cohort: pl.DataFrame, linked: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The cohort with one boolean column `found_<table>` per linked table present: whether the
    person has any row in that table (at any date in the extract)."""
    out = cohort
    for table, rows in linked.items():
        found = rows.select("person_id").unique().with_columns(pl.lit(True).alias("_found"))
        out = (
            out.join(found, on="person_id", how="left")
            .with_columns(pl.col("_found").fill_null(False).alias(f"found_{table}"))
            .drop("_found")
        )
    return out
