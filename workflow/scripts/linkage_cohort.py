"""Rule linkage_cohort: one row per linked person with a Crown Court case in the study window."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.linkage import LinkageConfigError, run_cohort  # noqa: E402
from socflow.mapping import LinkError  # noqa: E402

try:
    run_cohort(
        paths={
            "crown": snakemake.input.crown,
            "person_ids": snakemake.input.person_ids,
            "flags": snakemake.input.flags,
        },
        cfg=snakemake.params.linkage,
        out_cohort=snakemake.output.cohort,
        out_flow=snakemake.output.flow,
    )
except (LinkageConfigError, LinkError) as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule linkage_cohort): {exc}")
