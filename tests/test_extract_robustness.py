"""Bad and unusual extracts: each case is stopped with a message naming what to fix, or its rows
are accounted for with a reason; the mapping contract (absent, constant, complete in itself)."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import polars as pl
import pytest
import yaml

from socflow import coverage, mapping, quality, soc
from socflow.ingest import IngestError, Limits, ingest_table, load_ho_codes, run_ingest

from .conftest import HO_CODES, REPO
from .test_ingest import GOOD_CROWN

CONFIG_SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


@pytest.fixture(scope="module")
def ho_codes():
    return load_ho_codes(HO_CODES)


@pytest.fixture
def crown_spec(config):
    return copy.deepcopy(config["datasets"]["crown_defendant_cases"])


def _rows(n: int, **change) -> list[dict]:
    return [
        {**GOOD_CROWN, "row_id_hash": f"r{i}", "defendant_on_case_id": f"d{i}", **change}
        for i in range(n)
    ]


def _frame(rows: list[dict], file: str = "x.csv") -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)).with_columns(
        pl.lit(file).alias("_source_file"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_source_row"),
    )


def _ingest(spec, ho_codes, rows, limits=None, **kw):
    return ingest_table(
        "crown_defendant_cases", _frame(rows), spec, ho_codes, limits or Limits(), **kw
    )


def _run(spec, ho_codes, tmp_path, limits=None, table="crown_defendant_cases", **kw):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return run_ingest(
        table, spec, HO_CODES, limits or Limits(), {}, [10, 18],
        out / "c.parquet", out / "q.parquet", out / "r.csv", rule=f"ingest ({table})",
        out_unmapped=out / "u.csv", **kw,
    )  # fmt: skip


# --- shard folders ---------------------------------------------------------------------------


def test_mixed_csv_and_parquet_shards_are_all_read(crown_spec, ho_codes, tmp_path):
    folder = tmp_path / "crown"
    folder.mkdir()
    pl.DataFrame(_rows(3)).write_csv(folder / "a.csv")
    pl.DataFrame(_rows(6)[3:]).write_parquet(folder / "b.parquet")
    crown_spec.update(path=str(folder), format="csv")
    res = _run(crown_spec, ho_codes, tmp_path)
    assert res.clean.height == 6
    assert res.reconciliation["source_file"].to_list() == ["a.csv", "b.parquet"]


def test_a_file_of_another_kind_stops_the_run_and_is_named(crown_spec, ho_codes, tmp_path):
    folder = tmp_path / "crown"
    folder.mkdir()
    pl.DataFrame(_rows(3)).write_csv(folder / "a.csv")
    (folder / "b.txt").write_text("not data")
    crown_spec.update(path=str(folder), format="csv")
    with pytest.raises(IngestError, match=r"would not be read: b\.txt"):
        _run(crown_spec, ho_codes, tmp_path)


def test_header_only_shard_is_reconciled_as_zero_rows(crown_spec, ho_codes, tmp_path):
    folder = tmp_path / "crown"
    folder.mkdir()
    pl.DataFrame(_rows(3)).write_csv(folder / "a.csv")
    pl.DataFrame(_rows(1)).clear().write_csv(folder / "b.csv")
    crown_spec.update(path=str(folder), format="csv")
    res = _run(crown_spec, ho_codes, tmp_path)
    rec = {r["source_file"]: r for r in res.reconciliation.iter_rows(named=True)}
    assert (rec["b.csv"]["rows_read"], rec["b.csv"]["rows_kept"]) == (0, 0)
    summary = quality.summarise(
        {"crown_defendant_cases": res.clean},
        {"crown_defendant_cases": res.quarantine},
        {"crown_defendant_cases": res.reconciliation},
    )
    assert summary.reconciliation.height == 2


def test_a_table_of_headers_only_stops_with_advice(crown_spec, ho_codes, tmp_path):
    pl.DataFrame(_rows(1)).clear().write_csv(tmp_path / "a.csv")
    crown_spec.update(path=str(tmp_path / "a.csv"), format="csv")
    with pytest.raises(IngestError, match=r"no data rows.*declare it absent"):
        _run(crown_spec, ho_codes, tmp_path)


def test_integer_column_stored_as_float_in_one_shard(crown_spec, ho_codes, tmp_path):
    folder = tmp_path / "crown"
    folder.mkdir()
    ints = pl.DataFrame(_rows(2)).with_columns(pl.col("number_of_offences").cast(pl.Int64))
    floats = pl.DataFrame(_rows(5)[2:]).with_columns(
        pl.Series("number_of_offences", [2.0, 3.0, 2.5])
    )
    ints.write_parquet(folder / "a.parquet")
    floats.write_parquet(folder / "b.parquet")
    crown_spec.update(path=str(folder), format="parquet")
    res = _run(crown_spec, ho_codes, tmp_path)
    assert res.clean["n_offences"].to_list() == [2, 2, 2, 3]
    assert res.quarantine["reason"].to_list() == ["non-integer n_offences"]  # 2.5 not truncated


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"number_of_offences": "70000"}, "n_offences out of range for Int16"),
        ({"number_of_offences": "-2"}, "negative n_offences"),
        ({"custodial_period_days": "-5"}, "custody_days out of range"),
        ({"disposal_date": "0017-01-17"}, "implausible date in disposal_date"),
    ],
)
def test_out_of_range_values_are_quarantined(crown_spec, ho_codes, change, reason):
    res = _ingest(crown_spec, ho_codes, [*_rows(1, **change), *_rows(3)[1:]])
    assert res.clean.height == 2
    assert any(r.startswith(reason) for r in res.quarantine["reason"][0].split("; "))


def test_two_digit_years_are_not_year_17(crown_spec, ho_codes):
    crown_spec["date_format"] = "%d/%m/%Y"
    dates = {"offence_date": "02/01/15", "receipt_date": "02/03/15", "disposal_date": "30/09/15"}
    res = _ingest(crown_spec, ho_codes, _rows(2, **dates))
    assert res.clean.height == 0
    assert "implausible date in disposal_date" in res.quarantine["reason"][0]


def test_wrong_date_format_stops_naming_file_column_samples_and_key(crown_spec, ho_codes, tmp_path):
    pl.DataFrame(_rows(40)).write_csv(tmp_path / "crown.csv")
    crown_spec.update(path=str(tmp_path / "crown.csv"), format="csv", date_format="%d/%m/%Y")
    with pytest.raises(IngestError) as exc:
        _run(crown_spec, ho_codes, tmp_path, Limits(max_quarantine_share=0.05))
    msg = str(exc.value)
    expected = ["crown.csv", "40 of 40", "unparseable date", "column offence_date", "2015-01-02",
                "datasets.crown_defendant_cases.date_format", "%d/%m/%Y"]  # fmt: skip
    for part in expected:
        assert part in msg, part


def test_a_few_bad_rows_do_not_stop_the_run(crown_spec, ho_codes, tmp_path):
    rows = [*_rows(1, gender="Q"), *_rows(40)[1:]]
    pl.DataFrame(rows).write_csv(tmp_path / "crown.csv")
    crown_spec.update(path=str(tmp_path / "crown.csv"), format="csv")
    res = _run(crown_spec, ho_codes, tmp_path, Limits(max_quarantine_share=0.05))
    assert res.clean.height == 39


# --- recoding ---------------------------------------------------------------------------------


def test_unmapped_values_are_listed_with_counts_per_file(crown_spec, ho_codes):
    rows = [*_rows(3, gender="Q"), *_rows(5, result_desc="Bound over")[3:], *_rows(9)[5:]]
    res = _ingest(crown_spec, ho_codes, rows)
    got = res.unmapped.select("column", "raw_value", "rows", "policy").rows()
    assert got == [("outcome", "Bound over", 2, "quarantine"), ("sex", "Q", 3, "quarantine")]
    assert res.quarantine.height == 5


def test_unmapped_policy_level_keeps_rows_under_that_level(crown_spec, ho_codes):
    crown_spec["unmapped"] = {"outcome": {"level": "other"}}
    res = _ingest(crown_spec, ho_codes, [*_rows(2, result_desc="Bound over"), *_rows(3)[2:]])
    assert res.clean["outcome"].cast(pl.String).to_list() == ["other", "other", "guilty_plea"]
    assert res.unmapped["policy"].to_list() == ["level other"]


def test_unmapped_policy_stop_names_the_values(crown_spec, ho_codes):
    crown_spec["unmapped"] = {"outcome": "stop"}
    with pytest.raises(IngestError, match=r"outcome='Bound over' \(1 rows\)"):
        _ingest(crown_spec, ho_codes, [*_rows(1, result_desc="Bound over"), *_rows(2)[1:]])


# --- the mapping contract --------------------------------------------------------------------


def test_absent_and_constant_columns(crown_spec, ho_codes):
    crown_spec["columns"].update(
        plea=None, ethnicity=None, outcome=None, receipt_type={"value": "trial"}
    )
    rows = [{k: v for k, v in r.items() if k not in ("plea_final_desc", "ethnic")}
            for r in _rows(2, receipt_type_desc="nonsense")]  # fmt: skip
    res = _ingest(crown_spec, ho_codes, rows, outcome_groups={"convicted": ["guilty_plea"]})
    assert res.quarantine.height == 0
    clean = res.clean
    assert clean["receipt_type"].cast(pl.String).to_list() == ["trial", "trial"]
    for col in ("plea", "ethnicity", "outcome", "ethnic_group", "outcome_group"):
        assert clean[col].null_count() == 2, col  # never a made-up level
    assert isinstance(clean.schema["plea"], pl.Enum)  # typed like the column, not a string


def test_mapping_must_list_every_column_and_keep_required_ones(config):
    datasets = copy.deepcopy(config["datasets"])
    del datasets["crown_defendant_cases"]["columns"]["plea"]
    datasets["crown_defendant_cases"]["columns"]["case_id"] = None
    datasets["crown_defendant_cases"]["columns"]["pleas"] = "x"
    with pytest.raises(mapping.MappingError) as exc:
        mapping.check_mapping(datasets, "m.yaml")
    msg = str(exc.value)
    assert "does not list plea" in msg
    assert "case_id cannot be null" in msg
    assert "names no canonical column pleas" in msg


def test_only_the_crown_table_is_required(config):
    datasets = {t: None for t in config["datasets"]}
    with pytest.raises(mapping.MappingError, match="crown_defendant_cases"):
        mapping.check_mapping(datasets)
    datasets["crown_defendant_cases"] = config["datasets"]["crown_defendant_cases"]
    checked = mapping.check_mapping(datasets)
    assert [t for t, s in checked.items() if s is None] == [
        "crown_offences", "mags_defendant_cases", "xjs_link", "mags_crown_journey",
        "prison_journeys", "prison_establishment_spells", "prison_incidents",
        "oasys_assessments", "probation_starts", "pnc_events",
    ]  # fmt: skip


def test_a_mapping_file_lists_every_table(config, tmp_path):
    """An absent table is declared `null`; a mapping file that leaves one out stops, naming it
    (a block drafted for one table may leave the others out)."""
    datasets = {t: s for t, s in config["datasets"].items() if t != "oasys_assessments"}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"datasets": datasets}))
    with pytest.raises(mapping.MappingError, match=r"does not list oasys_assessments.*null"):
        mapping.load_mapping(tmp_path / "m.yaml")
    datasets["oasys_assessments"] = None
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"datasets": datasets}))
    assert mapping.load_mapping(tmp_path / "m.yaml")["oasys_assessments"] is None
    assert mapping.check_mapping({"crown_defendant_cases": datasets["crown_defendant_cases"]})


@pytest.mark.parametrize(
    "where",
    [(), ("synthetic",), ("synthetic", "planted"), ("synthetic", "scales", "tiny"),
     ("validation",), ("resources",), ("soc",), ("soc", "definition"), ("harm", "bootstrap"),
     ("survival", "cox"), ("sdc",), ("model",)],
)  # fmt: skip
def test_config_typos_are_refused_at_every_level(where):
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    node = cfg
    for key in where:
        node = node[key]
    node["tpyo"] = 1
    with pytest.raises(jsonschema.ValidationError, match="tpyo"):
        jsonschema.validate(cfg, yaml.safe_load(CONFIG_SCHEMA.read_text()))


def test_every_config_object_refuses_unknown_keys():
    def walk(node, path):
        if isinstance(node, dict):
            if node.get("type") == "object" and "additionalProperties" not in node:
                yield path
            for k, v in node.items():
                yield from walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{path}[{i}]")

    for schema_file in (CONFIG_SCHEMA, mapping.SCHEMA_PATH):
        assert list(walk(yaml.safe_load(Path(schema_file).read_text()), "")) == []


def test_mapping_typos_are_refused(config):
    datasets = copy.deepcopy(config["datasets"])
    datasets["crown_defendant_cases"]["date_fromat"] = "%Y"
    with pytest.raises(mapping.MappingError, match="date_fromat"):
        mapping.check_mapping(datasets)


# --- tables that do not join -----------------------------------------------------------------


def test_offences_without_a_defendant_case_are_orphans(config, ho_codes):
    spec = config["datasets"]["crown_offences"]
    raw = pl.DataFrame(
        {"defendant_on_case_id": ["d1", "d9"], "offence_number": ["1", "1"],
         "ho_offence_code": ["09230", "09230"], "offence_date": ["2015-01-01", "2015-01-01"],
         "custodial_period_days": ["0", "0"]}
    ).with_columns(pl.lit("o.csv").alias("_source_file"),
                   pl.int_range(1, 3, dtype=pl.Int64).alias("_source_row"))  # fmt: skip
    res = ingest_table("crown_offences", raw, spec, ho_codes, Limits(),
                       parents=pl.Series(["d1", "d2"]))  # fmt: skip
    assert res.clean["defendant_on_case_id"].to_list() == ["d1"]
    assert res.quarantine["reason"].to_list() == [
        "orphan: defendant_on_case_id not in crown_defendant_cases"
    ]


def test_a_link_that_matches_no_row_stops_naming_both_tables():
    crown = pl.DataFrame({"defendant_on_case_id": ["d1"], "row_id": ["r1"],
                          "defendant_id": ["p1"]})  # fmt: skip
    link = pl.DataFrame({"source_dataset": ["crown"], "row_id": ["other"], "person_id": ["P"]})
    with pytest.raises(mapping.LinkError) as exc:
        soc.person_keys(crown, link)
    msg = str(exc.value)
    assert "xjs_link" in msg and "crown_defendant_cases" in msg and "row_id" in msg


# --- what the analyses do without a table or column ------------------------------------------


def test_coverage_reduces_and_skips_from_one_decision(config):
    datasets = copy.deepcopy(config["datasets"])
    datasets["crown_offences"] = None
    datasets["xjs_link"] = None
    crown = datasets["crown_defendant_cases"]["columns"]
    crown.update(outcome=None, sex=None)
    p = coverage.plan(config, mapping.present_columns(datasets))
    assert "any_offence_in_case" not in p.config["soc"]["sensitivity"]
    assert "any_offence_in_case" in config["soc"]["sensitivity"]  # the config is not changed
    # Without the linking table nothing can follow persons into the linked data either.
    assert set(p.skipped_stages) == {"model", "survival", "linkage", "custody", "establishments"}
    assert set(p.skipped_outputs["describe"]) == {"describe_sex", "describe_outcome"}
    status = {n["analysis"]: n["status"] for n in p.notes}
    assert status["persons (person key)"] == "reduced"
    assert status["re-appearance (whole section)"] == "skipped"
    full = coverage.plan(config, mapping.present_columns(config["datasets"]))
    # The shipped mapping has every table but the PNC extract, which Data First does not offer.
    assert [(n["section"], n["analysis"]) for n in full.notes] == [
        ("linked_data", "Police National Computer histories (pnc_events)")
    ]
    assert full.config == config


def test_a_constant_must_be_a_canonical_value(config):
    datasets = copy.deepcopy(config["datasets"])
    datasets["crown_defendant_cases"]["columns"]["receipt_type"] = {"value": "Trial"}
    datasets["crown_defendant_cases"]["columns"]["receipt_date"] = {"value": "1/2/2015"}
    with pytest.raises(mapping.MappingError) as exc:
        mapping.check_mapping(datasets)
    assert "receipt_type" in str(exc.value) and "receipt_date" in str(exc.value)
