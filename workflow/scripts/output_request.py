"""Rule output_request: the output checker's folder (results.json, checksums, workbook)."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.disclose import assemble_checker_folder, request_cover  # noqa: E402
from socflow.sdc import SdcThresholds  # noqa: E402

n = assemble_checker_folder(
    checked_paths=list(snakemake.input.checked),
    tables_dirs=list(snakemake.input.tables),
    release=Path(snakemake.input.html).parent,  # the release folder holds the summary
    checker=snakemake.output.checker,
    thr=SdcThresholds.from_config(snakemake.params.thresholds),
    request=request_cover(snakemake.params.request),
    title=f"socflow output request: {snakemake.params.run_name}",
)
log.info("%d outputs in the output checker's folder", n)
