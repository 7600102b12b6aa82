"""Rule custody: recall to prison after release from the index case's custody."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.custody import CustodyConfigError, run_custody  # noqa: E402
from socflow.mapping import LinkError  # noqa: E402

try:
    candidates = run_custody(
        paths={
            "cohort": snakemake.input.cohort,
            "journeys": snakemake.input.journeys,
            "person_ids": snakemake.input.person_ids,
        },
        cfg=snakemake.params.custody,
        out_recall=snakemake.output.recall,
        out_summary=snakemake.output.summary,
        out_candidates=snakemake.output.candidates,
    )
except (CustodyConfigError, LinkError) as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule custody): {exc}")
log.info("wrote %d custody outputs", len(candidates))
