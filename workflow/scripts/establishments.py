"""Rule establishments: incident rates against the SOC-prisoner share of establishments."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.establishments import EstablishmentsConfigError, run_establishments  # noqa: E402

try:
    candidates = run_establishments(
        paths={
            "establishment_months": snakemake.input.establishment_months,
            "prisoners": snakemake.input.prisoners,
            "prisoner_months": snakemake.input.prisoner_months,
            "cohort": snakemake.input.cohort,
        },
        cfg=snakemake.params.establishments,
        out_panel=snakemake.output.panel,
        out_summary=snakemake.output.summary,
        out_candidates=snakemake.output.candidates,
    )
except EstablishmentsConfigError as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule establishments): {exc}")
log.info("wrote %d establishments outputs", len(candidates))
