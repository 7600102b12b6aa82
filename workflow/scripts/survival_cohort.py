"""Rule survival_cohort: index persons, new cases and every follow-up, before SOC status."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.mapping import LinkError  # noqa: E402
from socflow.survival import SurvivalConfigError, run_survival_cohort  # noqa: E402

try:
    run_survival_cohort(
        paths={
            "crown": snakemake.input.crown,
            "mags": snakemake.input.get("mags"),
            "person_ids": snakemake.input.person_ids,
            "journey": snakemake.input.get("journey"),
            "prison_journeys": snakemake.input.get("prison_journeys"),
        },
        cfg=snakemake.params.survival,
        out_dir=snakemake.output.cohort,
    )
except (SurvivalConfigError, LinkError) as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule survival_cohort): {exc}")
