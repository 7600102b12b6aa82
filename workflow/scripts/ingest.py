"""Rule ingest: map one extract onto the canonical schema, validate, quarantine, reconcile."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.ingest import IngestError, Limits, run_ingest  # noqa: E402

spec = dict(snakemake.params.spec)
spec["path"] = snakemake.input.data
try:
    run_ingest(
        table=snakemake.wildcards.table,
        spec=spec,
        ho_codes_path=snakemake.input.ho_codes,
        limits=Limits.from_config(snakemake.params.limits),
        outcome_groups=snakemake.params.outcome_groups,
        age_bands=snakemake.params.age_bands,
        out_clean=snakemake.output.clean,
        out_quarantine=snakemake.output.quarantine,
        out_reconciliation=snakemake.output.reconciliation,
        rule=f"ingest ({snakemake.wildcards.table})",
        out_unmapped=snakemake.output.unmapped,
        parents_path=snakemake.input.get("parents"),
    )
except IngestError as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR: {exc}")
