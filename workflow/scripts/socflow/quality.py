"""Data-quality summary of the ingest: rows per dataset and year, quarantine, missingness."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from socflow import schema
from socflow.outputs import Candidate
from socflow.render import render_pair

YEAR_COLUMN = {
    "crown_defendant_cases": "disposal_year",
    "mags_defendant_cases": "disposal_year",
}


@dataclass
class QualitySummary:
    rows_by_year: pl.DataFrame
    reconciliation: pl.DataFrame
    reasons: pl.DataFrame
    missingness: pl.DataFrame
    unmapped: pl.DataFrame = field(default_factory=pl.DataFrame)
    notes: list[str] = field(default_factory=list)


def _collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """An aggregate of one table, streamed from its file so that the table is never whole in
    memory (the largest tables run to millions of rows)."""
    return frame.collect(engine="streaming")


def summarise(
    clean: dict[str, pl.DataFrame | pl.LazyFrame],
    quarantine: dict[str, pl.DataFrame],
    reconciliation: dict[str, pl.DataFrame],
    unmapped: dict[str, pl.DataFrame] | None = None,
    present: dict[str, list[str]] | None = None,
) -> QualitySummary:
    """Aggregate the ingest outputs of every table into the data-quality tables.

    `clean`: the ingested tables, in memory or as scans of their files (the rule scans them:
    only the counts below are computed, one table at a time).

    `unmapped`: per table, the raw codes no recode lists (socflow.ingest.UNMAPPED_SCHEMA plus
    `table`); `present`: per table, the canonical columns the mapping supplies (columns declared
    absent are marked so, rather than reported as missing values).
    """
    by_year = []
    for table, col in YEAR_COLUMN.items():
        if table in clean and (present is None or col in present.get(table, [])):
            by_year.append(
                _collect(
                    clean[table]
                    .lazy()
                    .group_by(pl.col(col).cast(pl.String).fill_null("not recorded").alias("year"))
                    .len("rows")
                    .with_columns(pl.lit(table).alias("table"))
                )
            )
    rows_by_year = (
        pl.concat(by_year).pivot(on="table", index="year", values="rows").sort("year")
        if by_year
        else pl.DataFrame()
    )
    rec = pl.concat(list(reconciliation.values())).sort("table", "source_file")
    reasons = (
        pl.concat(
            [
                q.select("table", pl.col("reason").str.split("; ")).explode(
                    "reason", empty_as_null=True
                )
                for q in quarantine.values()
            ]
        )
        .group_by("table", "reason")
        .len("rows")
        .sort("table", "rows", "reason", descending=[False, True, False])
    )
    miss = []
    for table, df in clean.items():
        cols = schema.TABLES[table]
        counts = _collect(
            df.lazy().select(
                pl.len().alias("__rows__"), *[pl.col(c.name).null_count() for c in cols]
            )
        ).row(0, named=True)
        height = counts["__rows__"]
        for c in cols:
            n_null = counts[c.name]
            miss.append(
                {
                    "table": table,
                    "column": c.name,
                    "missing": n_null,
                    "missing_pct": round(100 * n_null / max(height, 1), 2),
                    "absent_in_extract": present is not None
                    and c.name not in present.get(table, []),
                }
            )
    missingness = pl.DataFrame(miss)
    unmapped_all = (
        pl.concat(list(unmapped.values()), how="vertical_relaxed").sort(
            "table", "source_file", "column", "rows", "raw_value",
            descending=[False, False, False, True, False],
        )
        if unmapped
        else pl.DataFrame()
    )  # fmt: skip
    notes = []
    unbalanced = rec.filter(pl.col("rows_read") != pl.col("rows_kept") + pl.col("rows_quarantined"))
    if unbalanced.height:
        notes.append(f"Reconciliation does not balance for {unbalanced.height} file(s).")
    return QualitySummary(rows_by_year, rec, reasons, missingness, unmapped_all, notes)


def write_report(
    summary: QualitySummary,
    context: dict,
    out_dir: Path,
    html_path: Path,
    md_path: Path,
) -> None:
    """Write the tables as CSV and render the HTML and Markdown data-quality pages."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary.rows_by_year.write_csv(out_dir / "rows_by_year.csv")
    summary.reconciliation.write_csv(out_dir / "reconciliation.csv")
    summary.reasons.write_csv(out_dir / "quarantine_reasons.csv")
    summary.missingness.write_csv(out_dir / "missingness.csv")
    summary.unmapped.write_csv(out_dir / "unmapped_values.csv")
    miss = summary.missingness
    tables = {
        "rows_by_year": summary.rows_by_year,
        "reconciliation": summary.reconciliation,
        "reasons": summary.reasons,
        "missingness": miss.filter((pl.col("missing") > 0) & ~pl.col("absent_in_extract")).drop(
            "absent_in_extract"
        ),
        "absent": miss.filter(pl.col("absent_in_extract")).select("table", "column"),
        "unmapped": summary.unmapped,
    }
    render_pair("data_quality", {**context, "tables": tables, "notes": summary.notes},
                html_path, md_path)  # fmt: skip


def quality_candidates(summary: QualitySummary) -> list[Candidate]:
    """The data-quality tables as candidates: row counts, so disclosure rules apply."""
    rec = summary.reconciliation.unpivot(
        index=["table", "source_file"],
        on=["rows_kept", "rows_quarantined"],
        variable_name="status",
        value_name="rows",
    ).select(
        pl.concat_str("table", pl.lit(" / "), "source_file").alias("file"),
        pl.col("status").str.replace("rows_", ""),
        "rows",
    )
    by_year = summary.rows_by_year
    long_year = by_year.unpivot(index="year", variable_name="table", value_name="rows").select(
        pl.col("year").cast(pl.String), "table", pl.col("rows").fill_null(0)
    )
    reasons = summary.reasons.select("reason", "table", "rows")
    return [
        Candidate(
            "quality_reconciliation",
            "frequency",
            "Rows kept and quarantined per input file (the total column is rows read)",
            rec,
            spec={"row": "file", "col": "status", "count": "rows"},
        ),
        Candidate(
            "quality_rows_by_year",
            "frequency",
            "Rows kept per dataset and year of disposal",
            long_year,
            spec={"row": "year", "col": "table", "count": "rows"},
        ),
        Candidate(
            "quality_reasons",
            "frequency",
            "Quarantined rows by reason (a row failing several checks counts under each)",
            reasons,
            spec={"row": "reason", "col": "table", "count": "rows"},
            notes="A row may carry several reasons, so the margins count reasons, not rows.",
        ),
    ]
