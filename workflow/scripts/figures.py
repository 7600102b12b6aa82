"""Rule figures: draw one stage's figures from its disclosure-checked outputs only."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.disclose import read_checked  # noqa: E402
from socflow.figures import draw_stage  # noqa: E402

checked = read_checked(snakemake.input.checked, snakemake.input.tables)
written = draw_stage(checked, Path(snakemake.output.figures))
log.info(
    "stage %s: drew %d figure(s) for %d checked output(s)",
    snakemake.wildcards.stage,
    len(written),
    len(checked),
)
