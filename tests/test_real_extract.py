"""An extract unlike the synthetic one, mapped by configuration alone and run to the report.

The extract is made from the tiny synthetic world but differs as real deliveries do: other
column names, CSV shards, `%d/%m/%Y` dates, `NNN/NN` offence codes, free-text outcomes in
capitals, no offence-level table, no journey table, no plea or defendant ID in the Crown Court
table, and a magistrates' table without region, disposal date, sentence or custody.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from socflow.synth import write_extracts

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

CROWN_NAMES = {
    "row_id_hash": "ROW_KEY",
    "defendant_on_case_id": "DEF_CASE_ID",
    "case_number": "CASE_REF",
    "court_id": "CROWN_COURT_CODE",
    "court_name": "CROWN_COURT",
    "hmcts_region": "REGION_NAME",
    "receipt_type_desc": "RECEIPT",
    "offence_date": "OFF_DT",
    "receipt_date": "REC_DT",
    "disposal_date": "DISP_DT",
    "ho_offence_code": "HO_CODE",
    "age_at_offence": "AGE",
    "gender": "SEX",
    "ethnic": "ETHNICITY",
    "result_desc": "CASE_RESULT",
    "sentence_type_desc": "SENTENCE",
    "custodial_period_days": "CUSTODY_DAYS",
    "number_of_offences": "N_OFFS",
}
CROWN_DROPPED = ["plea_final_desc", "defendant_id"]
MAGS_DROPPED = ["region", "disposal_date", "sentence_desc", "custodial_period_days"]


def _slashed(col: str) -> pl.Expr:
    c = pl.col(col)
    return (
        pl.when(c.str.contains(r"^\d{5}$"))
        .then(pl.concat_str(c.str.slice(0, 3), pl.lit("/"), c.str.slice(3)))
        .otherwise(c)
    )


def _day_first(col: str) -> pl.Expr:
    parsed = pl.col(col).cast(pl.String).str.to_date("%Y-%m-%d", strict=False)
    return (
        pl.when(parsed.is_not_null())
        .then(parsed.dt.strftime("%d/%m/%Y"))
        .otherwise(pl.col(col).cast(pl.String))
    )


def make_extract(tiny_extracts, root: Path) -> tuple[Path, dict]:
    """Write the differing extract under root/extract; return it and its mapping."""
    synth = root / "synth"
    write_extracts(tiny_extracts, synth / "data", synth / "truth", n_shards=2)
    data = synth / "data"
    out = root / "extract"
    (out / "crown").mkdir(parents=True)
    crown = pl.read_parquet(data / "crown_defendant_cases" / "*.parquet")
    crown = (
        crown.drop(CROWN_DROPPED)
        .with_columns(
            *[_day_first(c) for c in ("offence_date", "receipt_date", "disposal_date")],
            _slashed("ho_offence_code"),
            pl.col("result_desc").str.to_uppercase(),
        )
        .rename(CROWN_NAMES)
    )
    third = crown.height // 3 + 1
    for i in range(3):
        crown.slice(i * third, third).write_csv(out / "crown" / f"crown_{i}.csv")
    mags = pl.read_parquet(data / "mags_defendant_cases" / "*.parquet").drop(MAGS_DROPPED)
    mags.write_parquet(out / "mags.parquet")
    shutil.copy(data / "xjs_link.parquet", out / "link.parquet")

    shipped = yaml.safe_load((REPO / "config/mappings/synthetic.yaml").read_text())["datasets"]
    crown_spec = shipped["crown_defendant_cases"]
    columns = {
        canonical: (None if source in CROWN_DROPPED else CROWN_NAMES[source])
        for canonical, source in crown_spec["columns"].items()
    }
    recode = {k: v for k, v in crown_spec["recode"].items() if k != "plea"}
    recode["outcome"] = {k.upper(): v for k, v in recode["outcome"].items()}
    mags_spec = shipped["mags_defendant_cases"]
    mags_columns = {
        canonical: (None if source in MAGS_DROPPED else source)
        for canonical, source in mags_spec["columns"].items()
    }
    mapping = {
        "datasets": {
            "crown_defendant_cases": {
                "path": str(out / "crown"),
                "format": "csv",
                "date_format": "%d/%m/%Y",
                "columns": columns,
                "recode": recode,
                # Codes this extract may add are kept under a named level, not quarantined.
                "unmapped": {"receipt_type": "quarantine"},
            },
            "crown_offences": None,
            "mags_defendant_cases": {
                "path": str(out / "mags.parquet"),
                "format": "parquet",
                "date_format": mags_spec["date_format"],
                "columns": mags_columns,
                "recode": {k: v for k, v in mags_spec["recode"].items() if k != "sentence_type"},
            },
            "xjs_link": {**shipped["xjs_link"], "path": str(out / "link.parquet")},
            "mags_crown_journey": None,
            # This extract has no linked prison, OASys, probation or PNC data (its linking
            # table still holds rows of those sources, which join nothing).
            **dict.fromkeys(
                (
                    "prison_journeys",
                    "prison_establishment_spells",
                    "prison_incidents",
                    "oasys_assessments",
                    "probation_starts",
                    "pnc_events",
                ),
                None,
            ),
        }
    }
    return out, mapping


def _snakemake(work: Path, overlay: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
        "--cores", "2", "--configfile", str(REPO / "config/config.yaml"),
        str(REPO / "tests/data/tiny.yaml"), str(overlay), *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def extract_run(tiny_extracts, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    _, mapping = make_extract(tiny_extracts, root)
    (root / "mapping.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    overlay = root / "overlay.yaml"
    overlay.write_text(
        f"run_name: differing extract\ndata_source: extract\nmapping: {root / 'mapping.yaml'}\n"
    )
    work = root / "work"
    work.mkdir()
    shutil.copytree(REPO / "resources", work / "resources")
    dry = _snakemake(work, overlay, "-n")
    proc = _snakemake(work, overlay)
    return work, dry, proc


@pytest.mark.e2e
def test_differing_extract_runs_to_the_report(extract_run):
    work, dry, proc = extract_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    # Extract mode: nothing is synthesised, and the absent tables are not ingested.
    assert "synthesize" not in dry.stdout
    assert not (work / "results/synthetic").exists()
    assert not (work / "results/ingest/crown_offences.parquet").exists()
    assert not (work / "results/ingest/mags_crown_journey.parquet").exists()
    crown = pl.read_parquet(work / "results/ingest/crown_defendant_cases.parquet")
    assert crown["plea"].null_count() == crown.height  # absent: typed null, not made up
    assert crown["defendant_id"].null_count() == crown.height
    assert crown["ho_offence_code"].str.contains(r"^\d{5}$").all()  # NNN/NN read as NNNNN
    assert crown["disposal_date"].dt.year().is_between(2011, 2021).all()  # %d/%m/%Y parsed
    rec = pl.read_csv(work / "results/ingest/crown_defendant_cases.reconciliation.csv")
    assert rec.height == 3  # three CSV shards, each accounted for
    assert (rec["rows_read"] == rec["rows_kept"] + rec["rows_quarantined"]).all()
    assert rec["rows_kept"].sum() / rec["rows_read"].sum() > 0.95


@pytest.mark.e2e
def test_report_says_what_was_skipped_and_reduced(extract_run):
    work, _, proc = extract_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    html = (work / "reports/release/summary.html").read_text()
    md = (work / "reports/release/summary.md").read_text()
    for page in (html, md):
        assert "What this extract allowed" in page
        assert "crown_offences" in page and "mags_crown_journey" in page
        assert "needs plea (Crown Court table)" in page
        assert "weights from Crown Court sentences only" in page
        assert "no journey table" in page
        assert "sensitivity definition: Any offence in the case" in page
        assert "any_offence_in_case" not in page  # words, not config keys
    assert not (work / "reports/release/tables/describe/describe_plea.csv").exists()
    assert (work / "reports/release/tables/describe/describe_sex.csv").exists()
    quality = (work / "results/quality/data_quality.html").read_text()
    assert "Columns the extract does not have" in quality and "defendant_id" in quality


@pytest.mark.e2e
def test_synthetic_mapping_does_not_leak_into_an_extract_mapping(extract_run):
    """The extract's mapping is complete in itself: a column the shipped mapping names (plea)
    stays absent, and the shipped paths are never read."""
    work, _, proc = extract_run
    assert proc.returncode == 0
    log = (work / "logs/ingest/crown_defendant_cases.log").read_text()
    assert "results/synthetic" not in log
    manifest = (work / "reports/provenance/manifest.json").read_text()
    assert '"absent": true' in manifest
