"""The rows of every dataset the stage reads, each with its cross-justice person.

Nothing here depends on SOC status, so the rule `linkage_person_rows` writes these once and an
edit of the SOC code list re-runs only the joins to the cohort (rule `linkage`). Court rows are
those of the criminal histories (`socflow.linkage.history.court_rows`) of persons with a Crown
Court row (the cohort's persons are among them); of the OASys and PNC tables every row with a
person is kept (the profiles and PNC histories read the rows); of the other linked tables only
which persons they hold is needed (`persons_found`), so only the distinct persons are kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from socflow.linkage.history import court_rows
from socflow.linkage.linked import DATASET_OF, LINKED_DATASETS, person_rows
from socflow.linkage.settings import LinkageConfigError, Settings
from socflow.parquet import write_parquet
from socflow.persons import person_ids_of, person_lookup, resolved_person

COURT = "court"
# Linked tables whose rows are analysed; of the others only the distinct persons are kept.
ROWS_KEPT = ("oasys_assessments", "pnc_events")
MANIFEST = "manifest.json"


def prepare_person_rows(
    crown: pl.DataFrame,
    mags: pl.DataFrame | None,
    ids: pl.DataFrame | pl.LazyFrame,
    linked_tables: dict[str, pl.DataFrame],
    s: Settings,
) -> dict[str, pl.DataFrame]:
    """The court rows (key `COURT`) and each linked table's rows (or persons) with person_id.

    `linked_tables` holds the linked tables the extract has; `mags` is None without the
    magistrates' table; `ids` is the person lookup of rule person_ids (lazy: each source's rows
    are read on their own) or a linking table (`socflow.linkage.linked.person_ids`).
    """
    schema = ids.collect_schema() if isinstance(ids, pl.LazyFrame) else ids.schema
    # A linking table is resolved once here, not once for each source read below.
    lookup = (ids if "n_ids" in schema else person_lookup(ids)).lazy()
    court_ids = _court_lookup(crown, mags, lookup, s.fanout_rule)
    court = court_rows(crown, mags if mags is not None else crown.clear(), court_ids, s)
    out = {COURT: court}
    for d in LINKED_DATASETS:
        if d.table not in linked_tables:
            continue
        rows = linked_tables[d.table]
        if d.table not in ROWS_KEPT:
            # Only which persons the table holds is kept: its row keys are all that is read.
            rows = rows.select("row_id")
        rows = person_rows(rows, lookup, DATASET_OF[d.table], s.fanout_rule)
        if d.table not in ROWS_KEPT:
            rows = rows.select("person_id").unique().sort("person_id")
        out[d.table] = rows
    return out


def _court_lookup(
    crown: pl.DataFrame, mags: pl.DataFrame | None, lookup: pl.LazyFrame, fanout_rule: str
) -> pl.DataFrame:
    """The lookup's Crown Court rows, and its magistrates' rows of persons with a Crown Court
    row only.

    The cohort (rule linkage_cohort) is persons with a Crown Court case, found through the same
    lookup, so the magistrates' rows of anyone else are never joined to the magistrates' table
    (at `full`, 2.8M of 13.6M rows are the cohort's): the court rows are those of persons with
    a Crown Court row, as if all had been resolved and the others' dropped afterwards.
    """
    crown_lookup = lookup.filter(pl.col("source_dataset") == "crown").collect()
    if mags is None or mags.height == 0:
        return crown_lookup
    # As court_rows finds them: the persons of the Crown Court rows the lookup reaches.
    crown_persons = (
        crown.select("row_id")
        .join(
            person_ids_of(crown_lookup, "crown", fanout_rule).select("row_id", "person_id"),
            on="row_id",
            how="inner",
        )
        .select("person_id")
        .drop_nulls()
        .unique()
    )
    # A join, not `is_in` pushed into the scan: that builds its set of IDs again for every
    # batch of rows read (at `full`, 7 s of CPU against 3.6 s).
    mags_lookup = (
        lookup.filter(pl.col("source_dataset") == "mags")
        .with_columns(resolved_person(fanout_rule).alias("_resolved"))
        .join(
            crown_persons.lazy(),
            left_on="_resolved",
            right_on="person_id",
            how="semi",
            maintain_order="left",
        )
        .drop("_resolved")
        .collect()
    )
    return pl.concat([crown_lookup, mags_lookup])


def write_person_rows(rows: dict[str, pl.DataFrame], with_mags: bool, out_dir: str | Path) -> None:
    """One Parquet file per key of `rows`, and a manifest naming them (and whether the court
    rows include the magistrates' court)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in rows.items():
        # One chunk: the row groups follow from the row count alone, not from how the frame
        # was assembled (the court rows are joined source by source).
        write_parquet(frame.rechunk(), out / f"{name}.parquet")
    manifest = {"tables": sorted(rows), "with_mags": with_mags}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def read_manifest(out_dir: str | Path) -> dict:
    """The manifest `write_person_rows` wrote; a clear error when it is missing."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        raise LinkageConfigError(
            f"{path} is missing: the rule linkage_person_rows did not finish (rule linkage)"
        )
    return json.loads(path.read_text())
