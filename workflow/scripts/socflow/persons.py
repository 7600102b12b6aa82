"""One cross-justice person ID per row of every linked dataset, resolved once after ingest.

The linking table (`xjs_link`) has one row per (dataset row, person ID): a dataset row linked to
several IDs fans out. Every stage that follows persons needs one ID per row, under one of two
rules (`FANOUT_RULES`):

- "smallest": the smallest ID (as the SOC flags' person key does);
- "most_linked": the ID carried by the most rows of the whole linking table, ties to the
  smallest (a spurious extra ID is usually seen on one row only).

Rule `person_ids` writes both, with the number of IDs the row carried, dataset by dataset, so
that a stage reads only its datasets' rows (`read_person_ids`) instead of grouping the whole
linking table again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from socflow.mapping import read_ingested
from socflow.parquet import ZSTD_LEVEL, write_parquet

FANOUT_RULES = ("smallest", "most_linked")

LOOKUP_COLUMNS = ("source_dataset", "row_id", "person_id", "person_id_most_linked", "n_ids")


def person_lookup(link: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """One row per (source_dataset, row_id): the smallest person ID, the most-linked one where
    it differs (null elsewhere) and n_ids, dataset by dataset (`lookup_parts`)."""
    link = _read_link(link)
    parts = list(lookup_parts(link))
    if not parts:
        return _resolve(link, None)
    return pl.concat(parts)


def lookup_parts(link: pl.LazyFrame | pl.DataFrame) -> Iterator[pl.DataFrame]:
    """The lookup of each dataset in turn, in the order of `source_dataset`'s categories (or
    sorted values), each dataset's rows in their first appearance in the linking table: a fixed
    order without sorting 26M strings.

    The linking table is read once: its datasets' rows are interleaved in the file, so a scan
    filtered to one dataset decodes the whole file, and the row counts of the fanned rows' IDs
    read it all again (at `full`, 18 reads of 26M rows, 3.7M page faults).
    """
    link = _read_link(link)
    dtype = link.schema["source_dataset"]
    if isinstance(dtype, pl.Enum):
        sources = dtype.categories.to_list()
    else:
        sources = link.get_column("source_dataset").drop_nulls().unique().sort().to_list()
    for source in sources:
        part = _resolve(link, source)
        if part.height:
            yield part
        del part  # not kept while the next dataset is resolved


def _read_link(link: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    return link.lazy().select("source_dataset", "row_id", "person_id").collect()


def _resolve(link: pl.DataFrame, source: str | None) -> pl.DataFrame:
    """The lookup of the linking table's rows of dataset `source` (None: none), in the order
    of each dataset row's first appearance.

    Almost every row_id occurs once (at `full`, 41k of 13.6M magistrates' rows do not): those
    are found by sorting 64-bit hashes and keep their one ID as it is; only the rows whose key
    repeats are grouped, on the key itself. Grouping all 13.6M string keys cost over twice as
    much CPU, most of it in making one group for each row.
    """
    dataset = pl.lit(source, dtype=link.schema["source_dataset"]).alias("source_dataset")
    rows = link.filter(pl.col("source_dataset") == source) if source is not None else link.clear()
    rows = rows.select("row_id", "person_id").with_row_index("at")
    repeated = _repeated(rows.get_column("row_id"))
    once = rows.filter(~repeated).with_columns(
        pl.lit(None, pl.String).alias("most_linked"), pl.lit(1, pl.UInt32).alias("n_ids")
    )
    twice = rows.filter(repeated)
    del rows, repeated  # copied into `once` and `twice`
    grouped = twice.group_by("row_id", maintain_order=True).agg(
        pl.col("at").first(),
        pl.col("person_id").min(),
        pl.col("person_id").n_unique().cast(pl.UInt32).alias("n_ids"),
    )
    fanned = grouped.filter(pl.col("n_ids") > 1).select("row_id")
    grouped = grouped.join(
        _most_linked(fanned, twice, link), on="row_id", how="left", maintain_order="left"
    )
    resolved = pl.concat([once, grouped.select(once.columns)]).sort("at")
    return resolved.select(
        dataset,
        "row_id",
        "person_id",
        pl.when(pl.col("most_linked") != pl.col("person_id"))
        .then("most_linked")
        .alias("person_id_most_linked"),
        "n_ids",
    )


def _repeated(keys: pl.Series) -> pl.Series:
    """Whether each key may occur more than once: true for every key whose 64-bit hash does. A
    hash collision only sends a key that occurs once to the exact grouping."""
    hashes = keys.hash()
    order = hashes.arg_sort()
    ranked = hashes.gather(order)
    tied = ((ranked == ranked.shift(1)) | (ranked == ranked.shift(-1))).fill_null(False)
    return pl.repeat(False, keys.len(), dtype=pl.Boolean, eager=True).scatter(
        order.filter(tied), True
    )


def _most_linked(fanned: pl.DataFrame, rows: pl.DataFrame, link: pl.DataFrame) -> pl.DataFrame:
    """row_id and most_linked of the `fanned` rows (linked to several IDs; their links among
    `rows`): the ID carried by the most rows of the whole linking table, ties to the smallest."""
    if fanned.height == 0:
        return pl.DataFrame(schema={"row_id": rows.schema["row_id"], "most_linked": pl.String})
    candidates = rows.join(fanned, on="row_id", how="semi").select("row_id", "person_id")
    # Row counts over the whole linking table, of the IDs the fanned rows carry only.
    carried = candidates.get_column("person_id").unique()
    weight = (
        link.lazy()
        .select("person_id")
        .filter(pl.col("person_id").is_in(carried.implode()))
        .group_by("person_id")
        .agg(pl.len().alias("n_rows"))
    )
    return (
        candidates.lazy()
        .join(weight, on="person_id", how="left")
        .group_by("row_id")
        .agg(
            pl.col("person_id")
            .sort_by(["n_rows", "person_id"], descending=[True, False])
            .first()
            .alias("most_linked")
        )
        .collect()
    )


def write_person_lookup(link_path: str | Path, out: str | Path) -> dict[str, int]:
    """Rule person_ids: resolve the ingested linking table and write the lookup, one dataset at
    a time (the linking table and the magistrates' lookup bound the memory). Returns rows per
    dataset."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    writer: pq.ParquetWriter | None = None
    try:
        for part in lookup_parts(pl.scan_parquet(link_path)):
            table = part.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(
                    out, table.schema, compression="zstd", compression_level=ZSTD_LEVEL
                )
            # Row groups never span two datasets, and carry min/max statistics of
            # source_dataset: a reader of one dataset skips the others'.
            writer.write_table(table, row_group_size=1 << 20)
            counts[str(part["source_dataset"][0])] = part.height
            del part, table  # not kept while the next dataset is resolved
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        empty = person_lookup(pl.scan_parquet(link_path))
        write_parquet(empty, out)
    return counts


def _column(fanout_rule: str) -> str:
    if fanout_rule not in FANOUT_RULES:
        raise ValueError(f"fan-out rule must be one of {FANOUT_RULES}, got {fanout_rule!r}")
    return "person_id" if fanout_rule == "smallest" else "person_id_most_linked"


def resolved_person(fanout_rule: str = "smallest") -> pl.Expr:
    """The lookup's person ID of a row under `fanout_rule`, named person_id."""
    if _column(fanout_rule) == "person_id":
        return pl.col("person_id")
    return pl.coalesce("person_id_most_linked", "person_id").alias("person_id")


def person_ids_of(
    lookup: pl.LazyFrame | pl.DataFrame, dataset: str, fanout_rule: str = "smallest"
) -> pl.DataFrame:
    """row_id, person_id and n_ids of `dataset`'s rows under `fanout_rule`."""
    return (
        lookup.lazy()
        .filter(pl.col("source_dataset") == dataset)
        .select("row_id", resolved_person(fanout_rule), "n_ids")
        .collect()
    )


def read_person_ids(path: str | Path, dataset: str, fanout_rule: str = "smallest") -> pl.DataFrame:
    """`person_ids_of` the lookup file written by rule person_ids (reading only `dataset`'s rows
    and the one person ID column the rule needs)."""
    return person_ids_of(pl.scan_parquet(path), dataset, fanout_rule)


def read_link_rows(path: str | Path | None, *datasets: str) -> pl.DataFrame:
    """The lookup's rows of `datasets` in the linking table's shape (source_dataset, row_id,
    person_id: the smallest ID, one row per dataset row); an empty linking table without `path`
    (an extract without one)."""
    if not path:
        return read_ingested(None, "xjs_link")
    return (
        pl.scan_parquet(path)
        .filter(pl.col("source_dataset").cast(pl.String).is_in(list(datasets)))
        .select("source_dataset", "row_id", "person_id")
        .collect()
    )
