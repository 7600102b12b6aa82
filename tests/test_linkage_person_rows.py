"""The linkage stage split in two rules: the rows of every dataset resolved to persons
(`linkage_person_rows`, independent of the SOC flags) and the analyses of the cohort
(`linkage`). The two rules, through their files, give what the whole analysis gives."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from socflow.linkage import Settings, analyse, run_linkage, run_person_rows
from socflow.linkage.balance import BINARY, CONTINUOUS, COUNT, standardised_differences
from socflow.linkage.candidates import build_candidates
from socflow.linkage.history import court_rows
from socflow.linkage.linked import person_ids
from socflow.linkage.person_rows import COURT, MANIFEST, prepare_person_rows, read_manifest
from socflow.linkage.run import read_person_rows
from socflow.linkage.settings import LinkageConfigError
from socflow.outputs import write_candidates
from socflow.persons import write_person_lookup
from socflow.sdc.thresholds import SdcThresholds
from socflow.survival import resolve_person_ids

from .linkage_helpers import world

LINKED = ("prison_journeys", "oasys_assessments", "probation_starts", "pnc_events")
CFG = {"fanout_rule": "smallest"}


def _files(w: dict, tmp_path, with_mags: bool = True) -> dict[str, str]:
    paths = {}
    for name in ("crown", "link", "cohort", *LINKED, *(("mags",) if with_mags else ())):
        paths[name] = str(tmp_path / f"{name}.parquet")
        w[name].write_parquet(paths[name])
    paths["cohort_flow"] = str(tmp_path / "cohort_flow.csv")
    w["cohort_flow"].write_csv(paths["cohort_flow"])
    return paths


def _candidates(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("with_mags", [True, False])
def test_the_two_rules_give_what_the_whole_analysis_gives(tmp_path, with_mags):
    w = world(n_persons=1500, seed=11)
    paths = _files(w, tmp_path, with_mags)
    paths["person_ids"] = str(tmp_path / "person_ids.parquet")
    write_person_lookup(paths["link"], paths["person_ids"])
    run_person_rows(paths, CFG, tmp_path / "person_rows")
    paths["person_rows"] = str(tmp_path / "person_rows")
    split = run_linkage(paths, CFG, {}, tmp_path / "summary.json", tmp_path / "split")
    whole = analyse(w["cohort"], w["cohort_flow"], w["crown"], w["mags"] if with_mags else None,
                    w["link"], {t: w[t] for t in LINKED}, Settings(), SdcThresholds())  # fmt: skip
    write_candidates(build_candidates(whole), tmp_path / "whole", stage="linkage")
    assert _candidates(tmp_path / "split") == _candidates(tmp_path / "whole")
    assert split.with_mags is with_mags and whole.with_mags is with_mags
    assert read_manifest(tmp_path / "person_rows") == {
        "tables": sorted([COURT, *LINKED]),
        "with_mags": with_mags,
    }


@pytest.mark.parametrize("rule", ["smallest", "most_linked"])
def test_person_rows_keep_rows_only_where_they_are_analysed(rule):
    w = world(n_persons=400, seed=12)
    # A person seen only in the magistrates' court.
    extra = w["mags"].head(2).with_columns(pl.Series("row_id", ["M-only-1", "M-only-2"]))
    w["mags"] = pl.concat([w["mags"], extra])
    # A magistrates' row of a Crown Court person fanned out to a second ID seen nowhere else:
    # the smallest, so that rule "smallest" gives the row to a person without a Crown Court row.
    fanned = w["link"].filter(pl.col("source_dataset") == "mags").row(0, named=True)["row_id"]
    w["link"] = pl.concat([w["link"], pl.DataFrame({
        "source_dataset": ["mags", "mags", "mags"],
        "row_id": ["M-only-1", "M-only-2", fanned],
        "person_id": ["P99999", "P99999", "P-0"],
    }).cast(w["link"].schema)], how="diagonal_relaxed")  # fmt: skip
    s = Settings(fanout_rule=rule)
    rows = prepare_person_rows(w["crown"], w["mags"], w["link"], {t: w[t] for t in LINKED}, s)
    # Of the prison and probation tables only who is in them is read (persons_found).
    for table in ("prison_journeys", "probation_starts"):
        assert rows[table].columns == ["person_id"]
        assert rows[table]["person_id"].is_unique().all()
        assert rows[table]["person_id"].is_sorted()
    assert {"assessment_date", "person_id"} <= set(rows["oasys_assessments"].columns)
    assert {"event_date", "event_type", "person_id"} <= set(rows["pnc_events"].columns)
    court = rows[COURT]
    assert court.columns == ["person_id", "source", "case_id", "disposal_date",
                             "age_at_offence", "convicted", "custody"]  # fmt: skip
    assert set(court["source"].unique()) == {"crown", "mags"}
    # Only persons with a Crown Court row (the cohort's persons are among them); the world has
    # magistrates'-only persons, whose rows are left out, and the others' rows are all kept.
    every = court_rows(w["crown"], w["mags"], w["link"], s)
    crown_persons = set(every.filter(pl.col("source") == "crown")["person_id"])
    only_mags = {"P99999", "P-0"} if rule == "smallest" else {"P99999"}
    assert set(every["person_id"]) - crown_persons == only_mags
    assert set(court["person_id"]) == crown_persons
    assert court.equals(every.filter(pl.col("person_id").is_in(list(crown_persons))))
    assert set(w["cohort"]["person_id"]) <= crown_persons


def test_the_cohort_reads_only_its_persons_rows(tmp_path):
    w = world(n_persons=300, seed=13)
    rows = prepare_person_rows(w["crown"], w["mags"], w["link"], {}, Settings())
    rows[COURT].write_parquet(tmp_path / "court.parquet")
    (tmp_path / MANIFEST).write_text(json.dumps({"tables": [COURT], "with_mags": True}))
    cohort = w["cohort"].head(10)
    read = read_person_rows(tmp_path, cohort)[COURT]
    assert set(read["person_id"].unique()) <= set(cohort["person_id"])
    assert read.equals(rows[COURT].filter(pl.col("person_id").is_in(cohort["person_id"].implode())))


def test_a_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(LinkageConfigError, match="linkage_person_rows"):
        read_manifest(tmp_path)


@pytest.mark.parametrize("rule", ["smallest", "most_linked"])
def test_person_ids_from_the_lookup_equal_those_of_the_linking_table(tmp_path, rule):
    link = world(n_persons=300, seed=14)["link"]
    # A fan-out row: one Crown row carrying a second person ID.
    link = pl.concat([link, link.filter(pl.col("source_dataset") == "crown").head(1)
                      .with_columns(pl.lit("P99999").alias("person_id"))])  # fmt: skip
    link.write_parquet(tmp_path / "link.parquet")
    write_person_lookup(tmp_path / "link.parquet", tmp_path / "ids.parquet")
    lookup = pl.scan_parquet(tmp_path / "ids.parquet")
    for source in ("crown", "mags", "oasys"):
        expected = resolve_person_ids(link, source, rule).sort("row_id")
        assert person_ids(lookup, source, rule).sort("row_id").equals(expected)
        assert person_ids(link, source, rule).sort("row_id").equals(expected)


def test_standardised_differences_match_direct_moments_with_nulls():
    rng = np.random.default_rng(3)
    n = 5000
    g = rng.random(n) < 0.3
    x = rng.normal(40, 12, n)
    x[rng.random(n) < 0.2] = np.nan
    y = (rng.random(n) < 0.4).astype(float)
    c = rng.poisson(1.5, n).astype(float)
    frame = pl.DataFrame({"g": g, "x": x, "y": y, "c": c}).with_columns(pl.col("x").fill_nan(None))
    d = standardised_differences(frame, "g", {"x": CONTINUOUS, "y": BINARY, "c": COUNT})
    for row, values in zip(d.iter_rows(named=True), (x, y, c), strict=True):
        for flag, sfx in ((True, "1"), (False, "0")):
            v = values[(g == flag) & ~np.isnan(values)]
            assert row[f"n{sfx}"] == v.size and row[f"k{sfx}"] == int((v != 0).sum())
            assert row[f"mean{sfx}"] == pytest.approx(v.mean(), rel=1e-12)
            if row["kind"] != BINARY:
                assert row[f"var{sfx}"] == pytest.approx(v.var(ddof=1), rel=1e-12)
    # A characteristic with no value in one group has no difference, and counts 0.
    empty = frame.with_columns(pl.when(pl.col("g")).then(None).otherwise(pl.col("c")).alias("c"))
    row = standardised_differences(empty, "g", {"c": COUNT}).row(0, named=True)
    assert row["n1"] == 0 and row["smd"] is None and row["n_persons"] == 0
