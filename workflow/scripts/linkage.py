"""Rule linkage: who is found in the linked datasets, OASys profiles and criminal histories."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.linkage import LinkageConfigError, run_linkage  # noqa: E402
from socflow.mapping import LinkError  # noqa: E402

try:
    run_linkage(
        paths={
            "cohort": snakemake.input.cohort,
            "cohort_flow": snakemake.input.cohort_flow,
            "crown": snakemake.input.crown,
            "person_rows": snakemake.input.person_rows,
        },
        cfg=snakemake.params.linkage,
        sdc=snakemake.params.sdc,
        out_summary=snakemake.output.summary,
        out_candidates=snakemake.output.candidates,
    )
except (LinkageConfigError, LinkError) as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule linkage): {exc}")
