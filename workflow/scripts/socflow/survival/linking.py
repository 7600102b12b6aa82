"""Linking court rows to persons through the cross-justice person ID."""

from __future__ import annotations

import polars as pl

from socflow.survival.settings import FANOUT_RULES, str_col


def resolve_person_ids(link: pl.DataFrame, dataset: str, rule: str = "smallest") -> pl.DataFrame:
    """One cross-justice person ID per row of `dataset` (crown or mags).

    A row linked to several IDs (fan-out) takes the smallest ID ("smallest", as
    socflow.soc.person_keys does) or the ID carried by the most rows of the whole linking table
    ("most_linked", ties to the smallest): a spurious extra ID is usually seen on one row only.
    Returns row_id, person_id and n_ids (how many IDs the row carried).
    """
    if rule not in FANOUT_RULES:
        raise ValueError(f"fan-out rule must be one of {FANOUT_RULES}, got {rule!r}")
    rows = link.filter(str_col("source_dataset") == dataset).select("row_id", "person_id")
    if rule == "most_linked":
        weight = link.group_by("person_id").agg(pl.len().alias("n_rows"))
        chosen = (
            pl.col("person_id").sort_by(["n_rows", "person_id"], descending=[True, False]).first()
        )
        rows = rows.join(weight, on="person_id", how="left")
    else:
        chosen = pl.col("person_id").min()
    return rows.group_by("row_id").agg(
        chosen.alias("person_id"), pl.col("person_id").n_unique().alias("n_ids")
    )


def attach_person_ids(rows: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """Rows of a court table with their resolved person_id and n_ids (null if unlinked)."""
    return rows.join(ids.select("row_id", "person_id", "n_ids"), on="row_id", how="left")


def linkage_diagnostics(crown: pl.DataFrame, mags: pl.DataFrame) -> dict[str, float | int]:
    """How usable the cross-justice ID is: coverage, fan-out, signs of split and merged IDs.

    `crown` and `mags` carry person_id and n_ids (`attach_person_ids`). A court-system defendant
    ID carrying two or more person IDs suggests a split person; a person ID whose rows imply
    birth years more than two years apart suggests two persons merged.
    """
    out: dict[str, float | int] = {}
    for name, rows in (("crown", crown), ("mags", mags)):
        counts = rows.select(
            pl.len().alias("rows"),
            pl.col("person_id").is_not_null().sum().alias("linked"),
            (pl.col("n_ids").fill_null(0) > 1).sum().alias("fanout"),
        ).row(0, named=True)
        out[f"{name}_rows"] = int(counts["rows"])
        out[f"{name}_rows_linked"] = int(counts["linked"])
        out[f"{name}_rows_fanout"] = int(counts["fanout"])
        # Only the counts are needed: the streaming engine aggregates the ~1e7 groups of
        # string keys at about half the CPU of the in-memory group-by.
        per_def = (
            rows.lazy()
            .drop_nulls("person_id")
            .group_by("defendant_id")
            .agg(pl.col("person_id").n_unique().alias("n"))
            .select(pl.len().alias("ids"), (pl.col("n") > 1).sum().alias("split"))
            .collect(engine="streaming")
            .row(0, named=True)
        )
        out[f"{name}_defendant_ids"] = int(per_def["ids"])
        out[f"{name}_defendant_ids_with_2plus_person_ids"] = int(per_def["split"])
    birth_year = pl.col("offence_date").dt.year() - pl.col("age_at_offence").cast(pl.Int32)
    years = [rows.lazy().select("person_id", birth_year.alias("by")) for rows in (crown, mags)]
    spread = (
        pl.concat(years)
        .drop_nulls("person_id")
        .group_by("person_id")
        .agg((pl.col("by").max() - pl.col("by").min()).alias("s"))
        .select(pl.len().alias("ids"), (pl.col("s") > 2).sum().alias("inconsistent"))
        .collect(engine="streaming")
        .row(0, named=True)
    )
    out["person_ids"] = int(spread["ids"])
    out["person_ids_inconsistent_birth_year"] = int(spread["inconsistent"])
    return out
