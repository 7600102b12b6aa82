"""Rule calibration_marginals: the calibration measures that do not read the SOC flags (Crown
rows per magistrates' row, returning defendants, incident rates, OASys coverage), written once
so that an edit of the code list does not re-compute them."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.calibration import run_marginals  # noqa: E402

measures = run_marginals(
    paths=dict(snakemake.input),
    first_year=snakemake.params.first_year,
    last_year=snakemake.params.last_year,
    out=snakemake.output.marginals,
)
log.info("calibration marginals: %d measures", measures.height)
