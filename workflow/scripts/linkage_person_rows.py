"""Rule linkage_person_rows: every court and linked row the linkage stage reads, with its person
(independent of the SOC flags, so an edit of the code list does not re-run it)."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.linkage import LinkageConfigError, run_person_rows  # noqa: E402
from socflow.mapping import LinkError  # noqa: E402

TABLES = ("prison_journeys", "oasys_assessments", "probation_starts", "pnc_events")
try:
    run_person_rows(
        paths={
            "crown": snakemake.input.crown,
            "person_ids": snakemake.input.person_ids,
            "mags": snakemake.input.get("mags"),
            **{t: snakemake.input.get(t) for t in TABLES},
        },
        cfg=snakemake.params.linkage,
        present=snakemake.params.present,
        out_dir=snakemake.output.rows,
    )
except (LinkageConfigError, LinkError) as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule linkage_person_rows): {exc}")
