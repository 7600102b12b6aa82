"""Rule harm: harm per defendant-case and case, SOC against non-SOC, concentration."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.harm import HarmInputError, HarmSettings, run_harm  # noqa: E402
from socflow.sdc import SdcThresholds  # noqa: E402

inputs = snakemake.input
try:
    run_harm(
        crown_path=inputs.crown,
        flags_path=inputs.flags,
        person_groups_path=inputs.person_groups,
        groups_path=inputs.groups,
        weights_path=inputs.weights,
        offences_path=inputs.get("offences"),
        settings=HarmSettings.from_config(snakemake.params.settings),
        thresholds=SdcThresholds.from_config(snakemake.params.sdc),
        out_candidates=snakemake.output.candidates,
        out_defendant_cases=snakemake.output.defendant_cases,
        out_cases=snakemake.output.cases,
        out_unweighted=snakemake.output.unweighted,
        definition_labels=snakemake.params.definition_labels,
    )
except HarmInputError as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule harm): {exc}")
