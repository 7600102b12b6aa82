"""Rule establishment_panel: who was held where and involved in what (no SOC status)."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.establishments import EstablishmentsConfigError, run_establishment_panel  # noqa: E402

try:
    parts = run_establishment_panel(
        paths={
            "spells": snakemake.input.spells,
            "incidents": snakemake.input.incidents,
            "journeys": snakemake.input.journeys,
            "person_ids": snakemake.input.person_ids,
        },
        cfg=snakemake.params.establishments,
        out_parts={
            "establishment_months": snakemake.output.establishment_months,
            "prisoners": snakemake.output.prisoners,
            "prisoner_months": snakemake.output.prisoner_months,
        },
    )
except EstablishmentsConfigError as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule establishment_panel): {exc}")
log.info("wrote the panel's parts")
