"""Recovery of the planted linked-data truths at the `small` synthetic scale (fixed seed).

The workflow runs (Snakemake CLI, default config: scale small) as far as the custody and
establishments stages; each planted effect must lie inside its estimated 95% interval:
the SOC / non-SOC risk ratio of recall within 2 years, the establishment-month incident rate
ratio per 10 percentage points of SOC-prisoner share (Poisson and negative binomial, every
incident type), and the person-level SOC / non-SOC incident rate ratio within the same
establishment and month (every incident type).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from socflow.establishments.candidates import TYPE_LABELS

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("small")
    shutil.copytree(REPO / "resources", work / "resources")
    cmd = [
        SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
        "--cores", "2", "--configfile", str(REPO / "config/config.yaml"),
        "--config", "synthetic={'scale': 'small'}", "--",
        "results/custody/candidates", "results/establishments/candidates",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work


def _planted(run: Path) -> dict:
    return json.loads((run / "results/synthetic/truth/planted.json").read_text())["linked"]


def _stats(run: Path, stage: str, output: str) -> dict[str, dict]:
    frame = pl.read_parquet(run / f"results/{stage}/candidates/{output}.parquet")
    return {r["statistic"]: r for r in frame.iter_rows(named=True)}


def _covers(row: dict, truth: float) -> bool:
    return row["ci_lower"] is not None and row["ci_lower"] < truth < row["ci_upper"]


@pytest.mark.e2e
def test_recall_risk_ratio_covers_the_planted_one(small_run):
    truth = _planted(small_run)["rate_ratio_soc_recall"]
    recall = _stats(small_run, "custody", "custody_recall")
    row = recall["risk ratio of recall within 2 years, SOC vs non-SOC"]
    assert _covers(row, truth), (row, truth)
    non_soc = recall["recalled within 2 years of release: Non-SOC"]
    assert 0.05 < non_soc["value"] < 0.11  # planted near 8%, less competing exits
    match = _stats(small_run, "custody", "custody_match")
    assert match["custodial index persons matched to a prison journey: All"]["value"] > 0.9


@pytest.mark.e2e
def test_establishment_share_rate_ratios_cover_the_planted_ones(small_run):
    planted = _planted(small_run)["rate_ratio_incidents_per_soc_share"]
    models = _stats(small_run, "establishments", "establishments_models")
    checked = 0
    for kind, label in TYPE_LABELS.items():
        for family in ("Poisson", "negative binomial"):
            key = f"{label}, {family}: rate ratio per 10 percentage points of SOC-prisoner share"
            if key in models:
                assert _covers(models[key], planted[kind]), (key, models[key], planted[kind])
                checked += 1
    assert checked == 8


@pytest.mark.e2e
def test_person_level_rate_ratios_cover_the_planted_ones(small_run):
    planted = _planted(small_run)["rate_ratio_incidents_soc_person"]
    rates = _stats(small_run, "establishments", "establishments_person_rates")
    checked = 0
    for kind, label in TYPE_LABELS.items():
        key = f"{label}: rate ratio, SOC vs non-SOC prisoners in the same establishment and month"
        if key in rates:
            assert _covers(rates[key], planted[kind]), (key, rates[key], planted[kind])
            checked += 1
    assert checked == 4
