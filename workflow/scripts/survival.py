"""Rule survival: re-appearance before the courts after a Crown Court case, SOC vs non-SOC.

The primary follow-up only: its sensitivity table is the rule survival_sensitivity's.
"""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.survival import SurvivalConfigError, run_survival  # noqa: E402

try:
    run_survival(
        paths={"cohort": snakemake.input.cohort, "flags": snakemake.input.flags},
        cfg=snakemake.params.survival,
        sdc=snakemake.params.sdc,
        out_follow_up=snakemake.output.follow_up,
        out_summary=snakemake.output.summary,
        out_candidates=snakemake.output.candidates,
    )
except SurvivalConfigError as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule survival): {exc}")
