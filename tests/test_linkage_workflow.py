"""The linkage stage as a user runs it (Snakemake CLI): recovery of the planted need profile at
the `small` scale, and a run whose mapping declares OASys absent and maps the PNC extract in."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from scipy import stats

from socflow.linkage.profiles import section_label
from socflow.schema import OASYS_SECTIONS

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def _run(work: Path, overlay: dict, *targets: str) -> None:
    shutil.copytree(REPO / "resources", work / "resources")
    (work / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    cmd = [
        SNAKEMAKE, *targets, "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
        "--cores", "2", "--configfile", str(REPO / "config/config.yaml"),
        str(work / "overlay.yaml"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.mark.e2e
def test_need_models_recover_the_planted_need_profile_at_small(tmp_path):
    """Each section's adjusted log-odds difference, SOC against non-SOC, against the planted
    one (truth folder, read here only). Ten sections are checked at once, so the check that
    every planted value is covered uses simultaneous (Bonferroni) 95% intervals; at least
    eight of the ten plain 95% intervals must cover (expected 9.5; eight or more with
    probability 0.99), and every non-zero planted effect must be told apart from zero."""
    _run(tmp_path, {"synthetic": {"scale": "small"}}, "results/linkage/candidates")
    planted = json.loads((tmp_path / "results/synthetic/truth/planted.json").read_text())
    truth = planted["linked"]["need_profile"]
    models = pl.read_parquet(tmp_path / "results/linkage/candidates/linkage_need_models.parquet")
    fitted = {r["need"]: r for r in models.iter_rows(named=True)}
    assert set(fitted) == {section_label(s) for s in OASYS_SECTIONS}
    z95 = float(stats.norm.ppf(0.975))
    z_joint = float(stats.norm.ppf(1 - 0.025 / len(OASYS_SECTIONS)))
    covered = 0
    for section in OASYS_SECTIONS:
        row, value = fitted[section_label(section)], truth[section]
        assert abs(row["coef"] - value) <= z_joint * row["se"], (section, row, value)
        covered += abs(row["coef"] - value) <= z95 * row["se"]
        if value != 0:
            assert abs(row["coef"]) > z95 * row["se"] and math.copysign(1, row["coef"]) == (
                math.copysign(1, value)
            ), section
        assert row["odds_ratio"] == pytest.approx(math.exp(row["coef"]))
    assert covered >= 8


@pytest.mark.e2e
def test_without_oasys_and_with_pnc_mapped_each_analysis_follows_the_mapping(tmp_path):
    mapping = yaml.safe_load((REPO / "config/mappings/synthetic.yaml").read_text())
    mapping["datasets"]["oasys_assessments"] = None
    # The synthetic PNC extract mapped in as a researcher holding one would map theirs.
    pnc = yaml.safe_load((REPO / "tests/data/pnc_mapping.yaml").read_text())
    mapping["datasets"]["pnc_events"] = pnc["datasets"]["pnc_events"]
    (tmp_path / "mapping.yaml").write_text(yaml.safe_dump(mapping))
    overlay = {"synthetic": {"scale": "tiny"}, "mapping": str(tmp_path / "mapping.yaml")}
    _run(tmp_path, overlay, "reports/release/summary.md")
    checked = json.loads((tmp_path / "results/disclosure/linkage.json").read_text())
    ids = {o["output_id"] for o in checked["outputs"]}
    assert {"linkage_found", "linkage_balance", "linkage_history_pnc"} <= ids
    assert not ids & {"linkage_oasys_flow", "linkage_needs", "linkage_need_models"}
    pnc = pl.read_csv(tmp_path / "reports/release/tables/linkage/linkage_history_pnc.csv")
    assert "PNC convictions before the index case" in pnc["measure_name"].to_list()
    report = (tmp_path / "reports/release/summary.md").read_text()
    section = report[report.index("## Linked data: who is linked and their profiles") :]
    assert "OASys profiles: not produced (the extract has no oasys_assessments table)" in section
    assert "Police National Computer histories: not produced" not in section
    assert "OASys, probation and Police National Computer data" in section
    found = pl.read_csv(tmp_path / "reports/release/tables/linkage/linkage_found.csv")
    assert "Police National Computer events" in found["dataset"].to_list()
