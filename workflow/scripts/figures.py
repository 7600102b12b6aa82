"""Rule figures: draw one stage's figures from its disclosure-checked outputs only."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.checked import has_figures, read_checked  # noqa: E402

checked = read_checked(snakemake.input.checked, snakemake.input.tables)
out_dir = Path(snakemake.output.figures)
if has_figures(checked):
    # matplotlib takes a second or more to load: only a stage with figures pays for it.
    from socflow.figures import draw_stage

    written = draw_stage(checked, out_dir)
else:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
log.info(
    "stage %s: drew %d figure(s) for %d checked output(s)",
    snakemake.wildcards.stage,
    len(written),
    len(checked),
)
