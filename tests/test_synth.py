"""The synthetic generator: planted truth present, marginals in range, determinism."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from socflow.synth import SimulationParams, generate, write_extracts
from socflow.synth import catalogue as cat

from .conftest import TINY

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_extracts():
    # Large enough for marginals to settle (about 100k magistrates' rows), a second or two.
    return generate(SimulationParams(seed=11, n_entrants=40_000, n_groups=120))


def test_same_seed_same_extracts(tiny_extracts):
    again = generate(TINY)
    assert again.crown_defendant_cases.equals(tiny_extracts.crown_defendant_cases)
    assert again.mags_defendant_cases.equals(tiny_extracts.mags_defendant_cases)
    assert again.xjs_link.equals(tiny_extracts.xjs_link)
    other = generate(replace(TINY, seed=8))
    assert not other.crown_defendant_cases.equals(tiny_extracts.crown_defendant_cases)


def test_truth_is_planted_and_kept_apart(tiny_extracts):
    s = tiny_extracts.truth_summary
    assert s["planted_odds_ratio_soc_discontinued_or_dismissed"] == 1.6
    assert s["planted_hazard_ratio_soc_reappearance"] == 0.7
    truth = tiny_extracts.truth_rows
    crown_truth = truth.filter(pl.col("source_dataset") == "crown_xhibit")
    # Organised crime groups appear in the Crown Court, and co-offend across several cases.
    members = crown_truth.filter(pl.col("ocg_group_id").is_not_null())
    assert members["ocg_group_id"].n_unique() >= 20
    per_group_cases = (
        tiny_extracts.crown_defendant_cases.join(crown_truth, on="row_id_hash")
        .filter(pl.col("ocg_group_id").is_not_null())
        .group_by("ocg_group_id")
        .agg(pl.col("case_number").n_unique())
    )
    assert per_group_cases["case_number"].max() >= 2
    assert crown_truth["soc_case_truth"].sum() > 0
    # No extract column gives the truth away.
    for df in (tiny_extracts.crown_defendant_cases, tiny_extracts.mags_defendant_cases):
        assert not {"ocg_group_id", "soc_case_truth", "true_person_id"} & set(df.columns)


def test_marginals_in_range(small_extracts):
    crown = small_extracts.crown_defendant_cases
    mags = small_extracts.mags_defendant_cases
    assert 0.05 < crown.height / mags.height < 0.11  # ~1.0M vs ~13.4M in the real extracts
    assert crown["court_id"].n_unique() <= cat.N_CROWN_CENTRES
    assert crown["court_id"].n_unique() >= 60
    assert mags["court_code"].n_unique() >= 140
    assert set(crown["hmcts_region"].unique()) == set(cat.REGIONS)
    trial = crown.filter(pl.col("receipt_type_desc") == "Trial")
    # Calibrated to the published Crown Court picture (tests/test_calibration.py): fewer than
    # half of trial cases end in a guilty plea, SOC ones far more often than others.
    guilty_plea = (trial["result_desc"] == "Guilty plea").mean()
    assert 0.25 < guilty_plea < 0.6
    sexes = crown["gender"].value_counts(normalize=True)
    male = sexes.filter(pl.col("gender") == "M")["proportion"][0]
    assert 0.75 < male < 0.92
    blank_eth = (crown["ethnic"] == "").mean()
    assert 0.05 < blank_eth < 0.25
    custody = crown.filter(pl.col("sentence_type_desc") == "Immediate custody")
    assert custody["custodial_period_days"].median() > 90
    # Motoring is a large share of magistrates' cases and a small one of Crown Court cases.
    motoring = mags["offence_code"].str.starts_with("8").mean()
    assert 0.1 < motoring < 0.35
    assert crown["ho_offence_code"].str.starts_with("8").mean() < 0.05
    # Breaches and civil applications are present in the magistrates' data.
    kinds = set(mags["proceedings_type_desc"].unique())
    assert {"Breach", "Civil application", "Criminal"} <= kinds
    # Co-defendants: a minority of Crown cases have several defendants.
    per_case = crown.group_by("case_number").len()
    multi = (per_case["len"] >= 2).mean()
    assert 0.05 < multi < 0.4


def test_quirks_present(small_extracts):
    crown = small_extracts.crown_defendant_cases
    assert crown.is_duplicated().sum() > 0
    mags = small_extracts.mags_defendant_cases
    assert (mags["offence_code"] == "9Z9X9").sum() > 0
    assert (mags["gender"] == "Q").sum() > 0
    assert (mags["age_at_offence"] < 0).sum() > 0
    link = small_extracts.xjs_link
    # Fan-out: some rows link to more than one person ID.
    assert link.group_by("row_id_hash").len()["len"].max() >= 2
    # Split IDs: a true person seen under more than one cross-justice ID.
    truth = small_extracts.truth_rows.join(link, on="row_id_hash")
    ids_per_person = truth.group_by("true_person_id").agg(pl.col("estimated_xjs_id").n_unique())
    assert (ids_per_person["estimated_xjs_id"] >= 2).sum() > 0
    # Both HO code spellings occur across the datasets.
    assert crown["ho_offence_code"].str.contains(r"^\d{5}$").mean() > 0.99
    assert mags["offence_code"].str.contains(r"^\d{3}/\d{2}$").mean() > 0.99


def test_returning_defendants_realistic(small_extracts):
    """About half of a 2011 magistrates' cohort is back in court by 2019."""
    mags = small_extracts.mags_defendant_cases.filter(pl.col("proceedings_type_desc") == "Criminal")
    truth = small_extracts.truth_rows.select("row_id_hash", "true_person_id")
    m = mags.join(truth, on="row_id_hash").with_columns(
        pl.col("disposal_date").str.to_date("%d/%m/%Y", strict=False).alias("d")
    )
    first = m.group_by("true_person_id").agg(pl.col("d").min().alias("first"))
    cohort = first.filter(pl.col("first").dt.year() == 2011)
    later = (
        m.join(cohort, on="true_person_id")
        .filter((pl.col("d") > pl.col("first")) & (pl.col("d").dt.year() <= 2019))
        .select("true_person_id")
        .unique()
    )
    share = later.height / cohort.height
    assert 0.35 < share < 0.75


def test_catalogue_codes_in_ho_table():
    ho = pl.read_csv(REPO / "resources/offence_codes/ho_offence_codes.csv", infer_schema=False)
    known = set(ho["ho_code"])
    for o in cat.OFFENCES:
        assert o.ho_code in known, o.ho_code
    groups = dict(zip(ho["ho_code"], ho["offence_group"], strict=True))
    mismatched = {o.ho_code: (o.offence_group, groups[o.ho_code]) for o in cat.OFFENCES
                  if groups[o.ho_code] != o.offence_group}  # fmt: skip
    # The planted effects are keyed by offence group: the generator and the shipped HO table
    # must agree on the group of every code it draws.
    assert not mismatched


def test_written_files_hold_the_tables(tiny_extracts, tmp_path):
    """Tables are spelled out shard by shard when written: the files hold the same rows."""
    write_extracts(tiny_extracts, tmp_path / "data", tmp_path / "truth", n_shards=3)
    data = tmp_path / "data"
    for name in ("crown_defendant_cases", "mags_defendant_cases"):
        shards = sorted((data / name).glob("*.parquet"))
        assert len(shards) == 3
        assert pl.concat([pl.read_parquet(f) for f in shards]).equals(getattr(tiny_extracts, name))
    assert pl.read_parquet(data / "xjs_link.parquet").equals(tiny_extracts.xjs_link)
    assert pl.read_parquet(tmp_path / "truth/truth_rows.parquet").equals(tiny_extracts.truth_rows)
    offences = pl.read_csv(data / "crown_offences.csv", infer_schema=False)
    assert offences.equals(tiny_extracts.crown_offences.cast(pl.String))
    s = tiny_extracts.truth_summary["rows"]
    assert s["mags_defendant_cases"] == tiny_extracts.mags_defendant_cases.height
    assert s["xjs_link"] == tiny_extracts.xjs_link.height
