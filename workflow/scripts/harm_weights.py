"""Rule harm_weights: every severity weight per HO offence code, and how each was made."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.harm import HarmInputError, run_harm_weights  # noqa: E402

inputs = snakemake.input
try:
    run_harm_weights(
        crown_path=inputs.crown,
        mags_path=inputs.get("mags"),
        ho_codes_path=inputs.ho_codes,
        ons_weights_path=inputs.ons_weights,
        ons_mapping_path=inputs.ons_mapping,
        cchi=snakemake.params.cchi,
        equivalents=dict(snakemake.params.equivalent_days),
        min_sentences=snakemake.params.min_sentences,
        out_weights=snakemake.output.weights,
        out_report=snakemake.output.report,
    )
except HarmInputError as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR (rule harm_weights): {exc}")
