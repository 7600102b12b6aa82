"""The workflow as a user runs it: the Snakemake CLI on the tiny synthetic scale."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from socflow.schema import schema_markdown

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", "--configfile", str(REPO / "config/config.yaml"),
        str(REPO / "tests/data/tiny.yaml"), *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A copy of the resources in a scratch folder, and a full run of the workflow there."""
    work = tmp_path_factory.mktemp("run")
    shutil.copytree(REPO / "resources", work / "resources")
    proc = _snakemake(work)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work


@pytest.mark.e2e
def test_tiny_run_produces_reports(tiny_run):
    html = (tiny_run / "reports/data_quality.html").read_text()
    assert "SYNTHETIC DATA" in html
    assert "Reconciliation" in html
    rec = pl.read_csv(tiny_run / "results/data_quality/reconciliation.csv")
    assert (rec["rows_read"] == rec["rows_kept"] + rec["rows_quarantined"]).all()
    assert set(rec["table"]) == {
        "crown_defendant_cases", "crown_offences", "mags_defendant_cases", "xjs_link",
        "mags_crown_journey",
    }  # fmt: skip
    for rule in ("synthesize", "data_quality_report"):
        assert (tiny_run / f"benchmarks/{rule}.tsv").exists()
        assert (tiny_run / f"logs/{rule}.log").exists()


@pytest.mark.e2e
def test_rerun_is_a_no_op(tiny_run):
    proc = _snakemake(tiny_run, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_missing_extract_stops_with_the_file_named(tmp_path):
    shutil.copytree(REPO / "resources", tmp_path / "resources")
    overlay = tmp_path / "extract.yaml"
    overlay.write_text(
        "data_source: extract\n"
        "datasets:\n  crown_offences:\n    path: /nonexistent/crown_offences.csv\n"
    )
    proc = _snakemake(tmp_path, "-n", "--configfile", str(REPO / "config/config.yaml"),
                      str(REPO / "tests/data/tiny.yaml"), str(overlay))  # fmt: skip
    assert proc.returncode != 0
    assert "/nonexistent/crown_offences.csv" in proc.stdout + proc.stderr


def test_config_schema_refuses_bad_values(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data_source: somewhere_else\n")
    proc = _snakemake(tmp_path, "-n", "--configfile", str(REPO / "config/config.yaml"), str(bad))
    assert proc.returncode != 0
    assert "somewhere_else" in proc.stdout + proc.stderr


def test_schema_doc_is_current():
    doc = (REPO / "docs/canonical_schema.md").read_text()
    assert doc.strip() == schema_markdown().strip()
