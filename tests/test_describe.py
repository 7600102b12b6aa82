"""Nature/extent/outcome tables: persons counted once, margins consistent, structural zeros."""

from __future__ import annotations

import polars as pl

from socflow.describe import describe_candidates, index_appearances, study_rows


def _candidates(t, **kw):
    return {
        c.output_id: c
        for c in describe_candidates(t["crown_defendant_cases"], t["flags"], 2013, 2020, **kw)
    }


def test_person_tables_count_each_person_once(tiny_canonical):
    t = tiny_canonical
    rows = study_rows(t["crown_defendant_cases"], t["flags"], 2013, 2020)
    n_persons = rows["person"].n_unique()
    n_soc = rows.filter(pl.col("soc"))["person"].n_unique()
    for oid, c in _candidates(t).items():
        if c.spec.get("count") != "persons" or oid in ("describe_persons_by_year",):
            continue
        total = c.data["persons"].sum()
        if oid == "describe_custody":
            assert total < n_persons  # only those sentenced to immediate custody
        elif oid == "describe_soc_category":
            assert total == n_soc
        else:
            assert total == n_persons, oid
            soc_total = c.data.filter(pl.col("status") == "SOC")["persons"].sum()
            assert soc_total == n_soc, oid


def test_index_appearance_prefers_a_soc_case():
    rows = pl.DataFrame(
        {
            "person": ["p", "p", "q"],
            "defendant_on_case_id": ["1", "2", "3"],
            "disposal_date": [1, 2, 1],
            "soc": [False, True, False],
            "region": ["London", "Wales", "Wales"],
        }
    )
    idx = index_appearances(rows).sort("person")
    assert idx["defendant_on_case_id"].to_list() == ["2", "3"]
    assert idx["status"].to_list() == ["SOC", "non-SOC"]


def test_person_years_and_cases(tiny_canonical):
    t = tiny_canonical
    c = _candidates(t)
    rows = study_rows(t["crown_defendant_cases"], t["flags"], 2013, 2020)
    assert c["describe_cases_by_year"].data["cases"].sum() == rows["case_id"].n_unique()
    person_years = rows.select("person", "disposal_year").unique().height
    assert c["describe_persons_by_year"].data["persons"].sum() == person_years


def test_single_defendant_soc_cases_are_structural_zeros(tiny_canonical):
    size = _candidates(tiny_canonical, min_soc_defendants=2)["describe_defendants_per_case"].data
    one = size.filter(pl.col("defendants") == "1")
    assert one.filter(pl.col("status") == "SOC")["cases"].item() == 0
    assert one.filter(pl.col("status") == "SOC")["structural_zero"].item()
    assert not size.filter(pl.col("defendants") != "1")["structural_zero"].any()
