"""Rule describe: the nature/extent/outcome tables of SOC vs non-SOC, as candidates."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

import polars as pl  # noqa: E402

from socflow.describe import describe_candidates  # noqa: E402
from socflow.outputs import write_candidates  # noqa: E402

candidates = describe_candidates(
    pl.read_parquet(snakemake.input.crown),
    pl.read_parquet(snakemake.input.flags),
    first_year=snakemake.params.first_year,
    last_year=snakemake.params.last_year,
    min_soc_defendants=snakemake.params.min_soc_defendants,
    skipped_outputs=snakemake.params.skipped_outputs,
)
write_candidates(candidates, snakemake.output.candidates, stage="describe")
log.info("wrote %d candidate tables", len(candidates))
