"""Rule survival: re-appearance before the courts after a Crown Court case, SOC vs non-SOC."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.mapping import LinkError  # noqa: E402
from socflow.survival import SurvivalConfigError, run_survival  # noqa: E402

try:
    run_survival(
        paths={
            "crown": snakemake.input.crown,
            "mags": snakemake.input.get("mags"),
            "link": snakemake.input.link,
            "journey": snakemake.input.get("journey"),
            "flags": snakemake.input.flags,
            "prison_journeys": snakemake.input.get("prison_journeys"),
        },
        cfg=snakemake.params.survival,
        sdc=snakemake.params.sdc,
        out_follow_up=snakemake.output.follow_up,
        out_summary=snakemake.output.summary,
        out_candidates=snakemake.output.candidates,
    )
except (SurvivalConfigError, LinkError) as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule survival): {exc}")
