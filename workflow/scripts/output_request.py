"""Rule output_request: every audit record in one results.json, and the output request pack."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.disclose import write_output_request  # noqa: E402

n = write_output_request(
    checked_paths=list(snakemake.input.checked),
    tables_dirs=list(snakemake.input.tables),
    results_json=snakemake.output.results_json,
    workbook=snakemake.output.workbook,
    title=f"socflow output request: {snakemake.params.run_name}",
)
log.info("%d outputs in the request pack", n)
