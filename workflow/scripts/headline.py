"""Rule headline: the headline measures of the field as candidates for the disclosure stage."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.headline import run_headline  # noqa: E402

candidates = run_headline(
    crown_path=snakemake.input.crown,
    flags_path=snakemake.input.flags,
    follow_up_path=snakemake.input.get("follow_up"),
    first_year=snakemake.params.first_year,
    last_year=snakemake.params.last_year,
    confidence_level=snakemake.params.confidence_level,
    skipped=snakemake.params.skipped,
    out_candidates=snakemake.output.candidates,
    recall_path=snakemake.input.get("recall"),
    out_measures=snakemake.output.measures,
)
log.info("wrote %d headline outputs", len(candidates))
