"""Rule survival_sensitivity: re-appearance by release fraction, journey match score and with
the estimated release for every custodial person (the survival stage's sensitivity table)."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.survival import SurvivalConfigError, run_survival_sensitivity  # noqa: E402

try:
    run_survival_sensitivity(
        paths={"cohort": snakemake.input.cohort, "flags": snakemake.input.flags},
        cfg=snakemake.params.survival,
        sdc=snakemake.params.sdc,
        out_candidates=snakemake.output.candidates,
    )
except SurvivalConfigError as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule survival_sensitivity): {exc}")
