"""The linked cohort: one row per linked person, indexed at the first SOC case, else the first."""

from datetime import date

import polars as pl
import pytest

from socflow.linkage import COHORT_SCHEMA, LinkageConfigError, Settings, build_cohort
from socflow.mapping import LinkError


def crown_frame() -> pl.DataFrame:
    rows = [
        # person P1: a non-SOC case first, then a SOC case: indexed at the SOC case.
        ("r1", "d1", "trial", date(2014, 1, 5), date(2014, 3, 1), 30, "M", "Drugs",
         "community_sentence", 0),
        ("r2", "d2", "trial", date(2015, 1, 5), date(2015, 6, 1), 31, "M", "Drugs",
         "immediate_custody", 900),
        # person P2: two non-SOC cases: indexed at the first.
        ("r3", "d3", "sentence", date(2016, 1, 5), date(2016, 2, 1), 45, "F", "Fraud", "fine", 0),
        ("r4", "d4", "trial", date(2017, 1, 5), date(2017, 2, 1), 46, "F", "Fraud",
         "immediate_custody", 200),
        # person P3: an appeal (not an index case) and a case before the window.
        ("r5", "d5", "appeal", date(2016, 1, 5), date(2016, 2, 1), 20, "M", "Theft", "fine", 0),
        ("r6", "d6", "trial", date(2011, 1, 5), date(2012, 2, 1), 19, "M", "Theft", "fine", 0),
        # no cross-justice ID: left out.
        ("r7", "d7", "trial", date(2016, 1, 5), date(2016, 2, 1), 50, "M", "Theft", "fine", 0),
        # person P4: fanned out to P4 and P9; takes the smallest ID (P4). Unknown age and sex.
        ("r8", "d8", "trial", date(2018, 1, 5), date(2018, 2, 1), None, None, "Robbery",
         "immediate_custody", None),
    ]  # fmt: skip
    schema = {
        "row_id": pl.String, "defendant_on_case_id": pl.String, "receipt_type": pl.String,
        "receipt_date": pl.Date, "disposal_date": pl.Date, "age_at_offence": pl.Int16,
        "sex": pl.String, "offence_group": pl.String, "sentence_type": pl.String,
        "custody_days": pl.Int32,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        pl.col("sex").cast(pl.Enum(["M", "F", "U"]))
    )


def link_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_dataset": ["crown"] * 7 + ["prison"],
            "row_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r8", "r8"],
            "person_id": ["P1", "P1", "P2", "P2", "P3", "P3", "P4", "P4"],
        }
    ).vstack(pl.DataFrame({"source_dataset": ["crown"], "row_id": ["r8"], "person_id": ["P9"]}))


def flags_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "defendant_on_case_id": [f"d{i}" for i in range(1, 9)],
            "soc": [False, True, False, False, False, False, False, True],
        }
    )


def test_cohort_has_the_contract_columns_and_one_row_per_person():
    cohort, _ = build_cohort(crown_frame(), link_frame(), flags_frame(), Settings())
    assert cohort.schema == pl.Schema(COHORT_SCHEMA)
    assert cohort["person_id"].to_list() == ["P1", "P2", "P4"]


def test_index_case_is_first_soc_case_else_first_case():
    cohort, _ = build_cohort(crown_frame(), link_frame(), flags_frame(), Settings())
    by_person = {r["person_id"]: r for r in cohort.iter_rows(named=True)}
    assert by_person["P1"]["index_defendant_on_case_id"] == "d2"
    assert by_person["P1"]["soc"] is True
    assert by_person["P1"]["custodial"] is True
    assert by_person["P1"]["custody_days"] == 900
    assert by_person["P1"]["index_year"] == 2015
    assert by_person["P2"]["index_defendant_on_case_id"] == "d3"
    assert by_person["P2"]["soc"] is False
    assert by_person["P2"]["custodial"] is False
    assert by_person["P2"]["sex"] == "F"
    assert by_person["P4"]["age_at_offence"] is None
    assert by_person["P4"]["sex"] is None
    assert by_person["P4"]["custodial"] is True


def test_window_and_receipt_types_decide_who_is_in():
    # P3's only in-window case is an appeal; with appeals admitted P3 is in, at that case.
    s = Settings(receipt_types=("trial", "sentence", "appeal"))
    cohort, _ = build_cohort(crown_frame(), link_frame(), flags_frame(), s)
    assert cohort.filter(pl.col("person_id") == "P3")["index_defendant_on_case_id"].to_list() == [
        "d5"
    ]
    s = Settings(first_disposal_date=date(2012, 1, 1), last_disposal_date=date(2014, 12, 31))
    cohort, _ = build_cohort(crown_frame(), link_frame(), flags_frame(), s)
    assert cohort["person_id"].to_list() == ["P1", "P3"]
    assert cohort["index_defendant_on_case_id"].to_list() == ["d1", "d6"]


def test_flow_counts_each_step():
    _, flow = build_cohort(crown_frame(), link_frame(), flags_frame(), Settings())
    cases = dict(zip(flow["step"], flow["defendant_cases"], strict=True))
    assert cases["Crown Court defendant-cases"] == 8
    assert cases["disposed in the study window"] == 7
    assert cases["receipt type in the cohort"] == 6
    assert cases["with a cross-justice person ID"] == 5
    assert flow["persons"][-1] == 3


def test_output_is_deterministic_whatever_the_row_order():
    a, _ = build_cohort(crown_frame(), link_frame(), flags_frame(), Settings())
    b, _ = build_cohort(
        crown_frame().reverse(), link_frame().reverse(), flags_frame().reverse(), Settings()
    )
    assert a.equals(b)


def test_missing_optional_columns_are_nulls_and_missing_flags_stop():
    crown = crown_frame().drop("age_at_offence", "sex", "receipt_date")
    cohort, _ = build_cohort(crown, link_frame(), flags_frame(), Settings())
    assert cohort["age_at_offence"].null_count() == cohort.height
    assert cohort.schema == pl.Schema(COHORT_SCHEMA)
    with pytest.raises(LinkageConfigError, match="'soc'"):
        build_cohort(crown_frame(), link_frame(), flags_frame().drop("soc"), Settings())


def test_link_matching_no_crown_row_is_a_mapping_error():
    link = link_frame().with_columns(pl.concat_str(pl.lit("x"), "row_id").alias("row_id"))
    with pytest.raises(LinkError, match="crown_defendant_cases"):
        build_cohort(crown_frame(), link, flags_frame(), Settings())


def test_settings_from_config_and_bad_values():
    s = Settings.from_config(
        {"cohort": {"first_disposal_date": "2014-01-01"}, "oasys_window_days": 365}
    )
    assert s.first_disposal_date == date(2014, 1, 1)
    assert s.oasys_window_days == 365
    with pytest.raises(LinkageConfigError, match="fanout_rule"):
        Settings(fanout_rule="largest")
    with pytest.raises(LinkageConfigError, match="adjust_for"):
        Settings(adjust_for=("region",))
