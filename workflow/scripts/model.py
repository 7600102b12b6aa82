"""Rule model_outcomes: is SOC status associated with a case being discontinued or dismissed?
Logistic regressions (unadjusted, adjusted, court fixed effects, every SOC definition)."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.model import ModelConfigError, run_stage  # noqa: E402

try:
    run_stage(
        crown_path=snakemake.input.crown,
        flags_path=snakemake.input.flags,
        cfg=snakemake.params.model,
        sdc=snakemake.params.sdc,
        out_population=snakemake.output.population,
        out_estimates=snakemake.output.estimates,
        out_diagnostics=snakemake.output.diagnostics,
        out_exclusions=snakemake.output.exclusions,
        out_candidates=snakemake.output.candidates,
        definition_labels=snakemake.params.definition_labels,
    )
except ModelConfigError as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule model_outcomes): {exc}")
