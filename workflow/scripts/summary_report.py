"""Rule summary_report: render the summary pages from disclosure-checked outputs only, with the
figures that rule `figures` drew from them."""

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

import polars as pl  # noqa: E402

from socflow.checked import read_checked  # noqa: E402
from socflow.labels import CALIBRATION_MEASURES  # noqa: E402
from socflow.report import render_summary  # noqa: E402

checked = []
for path, tables in zip(snakemake.input.checked, snakemake.input.tables, strict=True):
    checked += read_checked(path, tables)
context = dict(snakemake.params.context)
context["code_list"] = json.loads(Path(snakemake.input.code_list).read_text())
context["sdc"] = dict(snakemake.params.sdc)
validation = snakemake.input.validation
context["validation"] = json.loads(Path(validation[0]).read_text()) if validation else None
# Synthetic runs: the calibration against published figures (synthetic data, not disclosive).
calibration = [p for p in validation if str(p).endswith("calibration.csv")]
context["calibration"] = (
    [
        {**r, "label": CALIBRATION_MEASURES.get(r["measure"], r["measure"])}
        for r in pl.read_csv(calibration[0], infer_schema=False).to_dicts()
    ]
    if calibration
    else None
)
views = render_summary(
    checked,
    context,
    snakemake.params.stage_config,
    html_path=Path(snakemake.output.html),
    md_path=Path(snakemake.output.md),
    figures_dir=Path(snakemake.output.figures),
    drawn_dirs=[Path(p) for p in snakemake.input.drawn],
)
Path(snakemake.output.figures).mkdir(parents=True, exist_ok=True)
log.info("rendered %d outputs", len(views))
