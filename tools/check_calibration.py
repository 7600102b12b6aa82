"""Check the synthetic extracts of a workflow run against the published figures they are tuned to.

Computes the calibration table (socflow.calibration, the code of rule `calibration`) from the
outputs of a synthetic run (results/ingest, results/soc, results/survival) and prints it with
each measure's count base and interval. A developer tool: the rule writes the same table to
results/validation/calibration.csv.

    snakemake --cores 2                        # at the `small` scale (the default)
    python tools/check_calibration.py [--results results] [--config config/config.yaml]

Exit status 1 if any measure with a tolerance lies outside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from socflow import calibration as cal  # noqa: E402
from socflow.headline import HeadlineInputs  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="results", help="folder holding ingest/, soc/, survival/")
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    args = ap.parse_args()
    results = Path(args.results)
    config = yaml.safe_load(Path(args.config).read_text())
    targets_path = Path(config["synthetic"]["calibration_targets"])
    if not targets_path.is_absolute():
        targets_path = REPO / targets_path
    inputs = HeadlineInputs(
        crown=pl.read_parquet(results / "ingest/crown_defendant_cases.parquet"),
        flags=pl.read_parquet(results / "soc/defendant_cases.parquet"),
        follow_up=pl.read_parquet(results / "survival/follow_up.parquet"),
        first_year=config["describe"]["first_year"],
        last_year=config["describe"]["last_year"],
    )
    mags = pl.read_parquet(
        results / "ingest/mags_defendant_cases.parquet",
        columns=["row_id", "case_id", "proceeding_type", "disposal_date"],
    )
    link = pl.read_parquet(results / "ingest/xjs_link.parquet")
    measures = cal.calibration_measures(inputs, mags, link)
    table = cal.calibration_table(measures, cal.load_targets(targets_path)).join(
        measures.select("measure", "population", "base", "ci_lower", "ci_upper"),
        on=["measure", "population"],
        how="left",
        maintain_order="left",
    )
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=250,
        float_precision=4,
        tbl_hide_dataframe_shape=True,
    ):
        print(table)
    outside = table.filter(pl.col("within") == "no")
    print(f"{table.height} targets, {outside.height} outside tolerance")
    return 1 if outside.height else 0


if __name__ == "__main__":
    sys.exit(main())
