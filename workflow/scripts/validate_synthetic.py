"""Rule validate_synthetic: how well the proxy and the groups recover the planted truth.

Synthetic runs only: it is the one rule that reads the planted truth, and no analysis rule
reads its output; the report shows it as synthetic-data validation.
"""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.soc import run_validate_synthetic  # noqa: E402

metrics = run_validate_synthetic(
    flags_path=snakemake.input.flags,
    person_groups_path=snakemake.input.person_groups,
    crown_path=snakemake.input.crown,
    truth_path=snakemake.input.truth,
    out_metrics=snakemake.output.metrics,
)
log.info("recovery: %s", metrics)
