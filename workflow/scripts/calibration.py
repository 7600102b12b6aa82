"""Rule calibration: the synthetic extracts against the published figures they are tuned to."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.calibration import run_calibration  # noqa: E402

table = run_calibration(paths=dict(snakemake.input), out=snakemake.output.table)
outside = table.filter(table["within"] == "no")
log.info("calibration: %d targets, %d outside tolerance", table.height, outside.height)
for row in outside.iter_rows(named=True):
    log.warning("outside tolerance: %s", row)
