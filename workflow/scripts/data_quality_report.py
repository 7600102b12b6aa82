"""Rule data_quality_report: summarise the ingest, render the internal data-quality page and
hand the data-quality tables to the disclosure stage."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

import polars as pl  # noqa: E402

from socflow.outputs import write_candidates  # noqa: E402
from socflow.quality import quality_candidates, summarise, write_report  # noqa: E402

tables = snakemake.params.tables
inp = snakemake.input
summary = summarise(
    # Scanned, not read: only counts are computed, table by table.
    clean={t: pl.scan_parquet(p) for t, p in zip(tables, inp.clean, strict=True)},
    quarantine={t: pl.read_parquet(p) for t, p in zip(tables, inp.quarantine, strict=True)},
    reconciliation={t: pl.read_csv(p) for t, p in zip(tables, inp.reconciliation, strict=True)},
    unmapped={
        t: pl.read_csv(p, schema_overrides={"raw_value": pl.String})
        for t, p in zip(tables, inp.unmapped, strict=True)
    },
    present=snakemake.params.present,
)
write_report(
    summary,
    snakemake.params.context,
    out_dir=Path(snakemake.output.tables),
    html_path=Path(snakemake.output.html),
    md_path=Path(snakemake.output.md),
)
write_candidates(quality_candidates(summary), snakemake.output.candidates, stage="quality")
