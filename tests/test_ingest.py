"""Ingest: mapping, recoding, both HO code formats, quarantine reasons, reconciliation, errors."""

from __future__ import annotations

import copy

import polars as pl
import pytest

from socflow import ingest
from socflow.ingest import (
    IngestError,
    Limits,
    ingest_table,
    list_source_files,
    load_ho_codes,
    read_source,
    run_ingest,
)
from socflow.synth import write_extracts

from .conftest import HO_CODES


@pytest.fixture(scope="module")
def ho_codes():
    return load_ho_codes(HO_CODES)


@pytest.fixture(scope="module")
def written(tiny_extracts, tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_extracts(tiny_extracts, root / "data", root / "truth", n_shards=3)
    return root / "data"


def _spec(config: dict, table: str, data_dir) -> dict:
    spec = copy.deepcopy(config["datasets"][table])
    spec["path"] = str(data_dir / spec["path"].rsplit("/", 1)[-1])
    return spec


def _raw(config, table, rows: list[dict]) -> pl.DataFrame:
    """A raw extract frame from dicts keyed by source column names."""
    cols = list(dict.fromkeys(config["datasets"][table]["columns"].values()))
    df = pl.DataFrame(rows, schema=dict.fromkeys(cols, pl.String))
    return df.with_columns(
        pl.lit("hand.csv").alias("_source_file"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_source_row"),
    )


GOOD_CROWN = {
    "row_id_hash": "r1",
    "defendant_on_case_id": "d1",
    "case_number": "T1",
    "defendant_id": "p1",
    "court_id": "401",
    "court_name": "Somewhere (London)",
    "hmcts_region": "London",
    "receipt_type_desc": "Trial",
    "offence_date": "2015-01-02",
    "receipt_date": "2015-03-02",
    "disposal_date": "2015-09-30",
    "ho_offence_code": "09230",
    "age_at_offence": "27",
    "gender": "M",
    "ethnic": "",
    "plea_final_desc": "Guilty",
    "result_desc": "Guilty plea",
    "sentence_type_desc": "Immediate custody",
    "custodial_period_days": "900",
    "number_of_offences": "2",
}


def _ingest(config, ho_codes, table, rows):
    spec = config["datasets"][table]
    return ingest_table(
        table, _raw(config, table, rows), spec, ho_codes, Limits(),
        config["outcome_groups"], config["age_bands"],
    )  # fmt: skip


def test_mapping_renames_recodes_and_derives(config, ho_codes):
    res = _ingest(config, ho_codes, "crown_defendant_cases", [GOOD_CROWN])
    assert res.quarantine.height == 0
    row = res.clean.row(0, named=True)
    assert row["case_id"] == "T1"
    assert row["receipt_type"] == "trial"
    assert row["outcome"] == "guilty_plea"
    assert row["outcome_group"] == "convicted"
    assert row["sentence_type"] == "immediate_custody"
    assert row["ethnicity"] is None and row["ethnic_group"] == "Not stated"
    assert row["age_band"] == "25-29"
    assert row["offence_group"] == "Drug offences"
    assert row["receipt_year"] == 2015
    assert res.clean.schema["offence_date"] == pl.Date
    assert res.clean.schema["custody_days"] == pl.Int32


@pytest.mark.parametrize("code", ["09230", "092/30", " 092/30 "])
def test_both_ho_code_formats(config, ho_codes, code):
    res = _ingest(
        config, ho_codes, "crown_defendant_cases", [{**GOOD_CROWN, "ho_offence_code": code}]
    )
    assert res.clean["ho_offence_code"].to_list() == ["09230"]


BAD_ROWS = [
    ({"ho_offence_code": "9Z9X9"}, "malformed HO offence code in ho_offence_code"),
    ({"ho_offence_code": "99999"}, "ho_offence_code not in HO code table"),
    ({"disposal_date": "2017-02-31"}, "unparseable date in disposal_date"),
    ({"disposal_date": ""}, "missing disposal_date"),
    ({"offence_date": "2016-01-01"}, "offence_date after receipt_date"),
    ({"receipt_date": "2015-12-01"}, "receipt_date after disposal_date"),
    ({"age_at_offence": "-4"}, "age_at_offence out of range"),
    ({"age_at_offence": "twenty"}, "non-integer age_at_offence"),
    ({"gender": "Q"}, "unmapped value in sex"),
    ({"result_desc": "Bound over"}, "unmapped value in outcome"),
    ({"hmcts_region": "Atlantis"}, "unmapped value in region"),
    ({"custodial_period_days": "99999999"}, "custody_days out of range"),
    ({"case_number": ""}, "missing case_id"),
]


@pytest.mark.parametrize(("change", "reason"), BAD_ROWS)
def test_each_bad_row_is_quarantined_with_its_reason(config, ho_codes, change, reason):
    good2 = {**GOOD_CROWN, "row_id_hash": "r2", "defendant_on_case_id": "d2"}
    res = _ingest(config, ho_codes, "crown_defendant_cases", [{**GOOD_CROWN, **change}, good2])
    assert res.clean["defendant_on_case_id"].to_list() == ["d2"]
    assert res.quarantine.height == 1
    assert reason in res.quarantine["reason"][0].split("; ")
    assert res.quarantine["_source_row"][0] == 1
    rec = res.reconciliation.row(0, named=True)
    assert (rec["rows_read"], rec["rows_kept"], rec["rows_quarantined"]) == (2, 1, 1)


def test_duplicates_keep_first(config, ho_codes):
    changed = {**GOOD_CROWN, "row_id_hash": "r9", "court_id": "402"}
    res = _ingest(config, ho_codes, "crown_defendant_cases", [GOOD_CROWN, GOOD_CROWN, changed])
    assert res.clean.height == 1
    assert sorted(res.quarantine["reason"].to_list()) == ["duplicate key", "duplicate row"]


def test_every_row_accounted_for_on_synthetic_extracts(config, ho_codes, written, tmp_path):
    for table, mapped in config["datasets"].items():
        if mapped is None:
            continue  # declared absent (the PNC extract)
        spec = _spec(config, table, written)
        res = run_ingest(
            table, spec, HO_CODES, Limits(), config["outcome_groups"], config["age_bands"],
            tmp_path / f"{table}.parquet", tmp_path / f"{table}.q.parquet",
            tmp_path / f"{table}.csv", "test",
        )  # fmt: skip
        rec = res.reconciliation
        assert (rec["rows_read"] == rec["rows_kept"] + rec["rows_quarantined"]).all()
        assert rec["rows_read"].sum() == res.clean.height + res.quarantine.height
        assert res.clean.height > 0
        back = pl.read_parquet(tmp_path / f"{table}.parquet")
        assert back.schema == res.clean.schema
    crown_q = pl.read_parquet(tmp_path / "crown_defendant_cases.q.parquet")
    mags_q = pl.read_parquet(tmp_path / "mags_defendant_cases.q.parquet")
    reasons = set(
        pl.concat([crown_q["reason"], mags_q["reason"]]).str.split("; ").explode(empty_as_null=True)
    )
    assert "duplicate row" in reasons
    # Sharded folders: one reconciliation row per shard.
    assert read_source(_spec(config, "mags_defendant_cases", written)["path"], "parquet",
                       ["row_id_hash"], "t")["_source_file"].n_unique() == 3  # fmt: skip


def test_csv_and_parquet_give_the_same_canonical_table(config, ho_codes, written, tmp_path):
    spec = _spec(config, "crown_offences", written)
    from_csv = run_ingest(
        "crown_offences",
        spec,
        HO_CODES,
        Limits(),
        {},
        [10],
        tmp_path / "a.parquet",
        tmp_path / "aq.parquet",
        tmp_path / "a.csv",
        "t",
    )
    pl.read_csv(spec["path"], infer_schema=False).write_parquet(tmp_path / "off.parquet")
    spec_pq = {**spec, "path": str(tmp_path / "off.parquet"), "format": "auto"}
    from_pq = run_ingest(
        "crown_offences",
        spec_pq,
        HO_CODES,
        Limits(),
        {},
        [10],
        tmp_path / "b.parquet",
        tmp_path / "bq.parquet",
        tmp_path / "b.csv",
        "t",
    )
    assert from_csv.clean.equals(from_pq.clean)  # fmt: skip


def test_missing_file_names_file_and_rule(tmp_path):
    with pytest.raises(IngestError, match=r"rule ingest \(x\).*not found: .*nowhere.csv"):
        list_source_files(tmp_path / "nowhere.csv", "csv", "ingest (x)")


def test_missing_column_names_file_column_and_rule(config, tmp_path):
    path = tmp_path / "crown.csv"
    pl.DataFrame({"row_id_hash": ["a"], "gender": ["M"]}).write_csv(path)
    cols = list(config["datasets"]["crown_defendant_cases"]["columns"].values())
    with pytest.raises(IngestError) as err:
        read_source(path, "csv", cols, "ingest (crown_defendant_cases)")
    msg = str(err.value)
    assert "crown.csv" in msg and "defendant_on_case_id" in msg and "ingest" in msg


def test_unreadable_file_names_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(IngestError, match=r"broken\.parquet"):
        read_source(path, "parquet", ["x"], "ingest (t)")


def _write_shards(tmp_path, rows: list[list[dict]]) -> str:
    folder = tmp_path / "shards"
    folder.mkdir()
    for i, shard in enumerate(rows):
        pl.DataFrame(shard).write_csv(folder / f"part-{i}.csv")
    return str(folder)


def test_duplicates_across_shards(config, ho_codes, tmp_path):
    """A row repeated in a later shard, a key reused in another: found across shards."""
    a = {**GOOD_CROWN, "row_id_hash": "a", "defendant_on_case_id": "d1"}
    b = {**GOOD_CROWN, "row_id_hash": "b", "defendant_on_case_id": "d2"}
    c = {**GOOD_CROWN, "row_id_hash": "c", "defendant_on_case_id": " d2 "}  # key d2 again
    bad = {**GOOD_CROWN, "row_id_hash": "x", "defendant_on_case_id": "d9", "gender": "Q"}
    spec = {**config["datasets"]["crown_defendant_cases"], "format": "csv"}
    spec["path"] = _write_shards(tmp_path, [[a, bad], [b], [c, a, bad]])
    res = run_ingest(
        "crown_defendant_cases", spec, HO_CODES, Limits(), config["outcome_groups"],
        config["age_bands"], tmp_path / "c.parquet", tmp_path / "q.parquet", tmp_path / "r.csv",
        "t",
    )  # fmt: skip
    assert res.clean["row_id"].to_list() == ["a", "b"]
    q = res.quarantine.select("_source_file", "_source_row", "reason").rows()
    assert q == [
        ("part-0.csv", 2, "unmapped value in sex"),
        ("part-2.csv", 1, "duplicate key"),
        ("part-2.csv", 2, "duplicate row"),
        ("part-2.csv", 3, "unmapped value in sex; duplicate row"),
    ]
    assert res.quarantine["src_defendant_on_case_id"][1] == " d2 "
    rec = res.reconciliation.select("source_file", "rows_read", "rows_kept", "rows_quarantined")
    assert rec.rows() == [("part-0.csv", 2, 1, 1), ("part-1.csv", 1, 1, 0), ("part-2.csv", 3, 0, 3)]


def test_hash_collisions_cannot_quarantine(config, ho_codes, written, tmp_path, monkeypatch):
    """Hashes only pick the rows to compare: with every hash equal, the result is the same."""
    spec = _spec(config, "mags_defendant_cases", written)

    def run(tag):
        return run_ingest(
            "mags_defendant_cases", spec, HO_CODES, Limits(), config["outcome_groups"],
            config["age_bands"], tmp_path / f"{tag}.parquet", tmp_path / f"{tag}q.parquet",
            tmp_path / f"{tag}.csv", "t",
        )  # fmt: skip

    plain = run("a")
    monkeypatch.setattr(ingest, "_hash_columns", lambda names: pl.lit(0, dtype=pl.UInt64))
    colliding = run("b")
    assert plain.clean.equals(colliding.clean)
    assert plain.quarantine.equals(colliding.quarantine)
    assert plain.reconciliation.equals(colliding.reconciliation)
    assert "duplicate row" in set(plain.quarantine["reason"])


def test_sharding_does_not_change_the_result(config, ho_codes, written, tmp_path):
    """The same rows in one file or in several give the same canonical rows and reasons."""
    spec = _spec(config, "mags_defendant_cases", written)
    cols = list(dict.fromkeys(spec["columns"].values()))
    raw = read_source(spec["path"], "parquet", cols, "t")
    whole = ingest_table(
        "mags_defendant_cases", raw, spec, ho_codes, Limits(), config["outcome_groups"],
        config["age_bands"],
    )  # fmt: skip
    sharded = run_ingest(
        "mags_defendant_cases", spec, HO_CODES, Limits(), config["outcome_groups"],
        config["age_bands"], tmp_path / "c.parquet", tmp_path / "q.parquet", tmp_path / "r.csv",
        "t",
    )  # fmt: skip
    assert whole.clean.equals(sharded.clean)
    assert whole.quarantine.equals(sharded.quarantine)
