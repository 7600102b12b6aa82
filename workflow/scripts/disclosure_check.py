"""Rule disclosure_check: check one stage's candidate outputs; publish what passes."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.disclose import disclose_stage  # noqa: E402
from socflow.sdc import SdcThresholds  # noqa: E402

# One candidates folder per rule that writes the stage's outputs (usually one).
folders = snakemake.input.candidates
published = disclose_stage(
    [folders] if isinstance(folders, str) else list(folders),
    snakemake.output.tables,
    snakemake.output.checked,
    SdcThresholds.from_config(snakemake.params.thresholds),
    producing_rule=snakemake.params.producing_rule,
)
for p in published:
    log.info("%s: %s (%d withheld)", p.output_id, p.status, p.withheld)
