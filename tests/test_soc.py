"""SOC proxy: criteria on hand-made cases, code-list checks, groups, recovery of planted OCGs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from socflow import soc
from socflow.ingest import Limits, ingest_table, load_ho_codes

from .conftest import HO_CODES, REPO

SOC_LIST = REPO / "resources/offence_codes/soc_offence_codes.csv"


@pytest.fixture(scope="module")
def codes():
    return soc.load_code_list(SOC_LIST, "test")


def _crown(rows):
    base = {"defendant_on_case_id": "", "case_id": "", "ho_offence_code": "", "custody_days": 0}
    return pl.DataFrame([{**base, **r} for r in rows])


CASES = _crown(
    [
        # Case A: two defendants, class A supply (life): SOC under the default definition.
        {"defendant_on_case_id": "a1", "case_id": "A", "ho_offence_code": "09230"},
        {"defendant_on_case_id": "a2", "case_id": "A", "ho_offence_code": "10501"},
        # Case B: one defendant on class A supply: fails the co-defendant criterion.
        {"defendant_on_case_id": "b1", "case_id": "B", "ho_offence_code": "09230",
         "custody_days": 2000},
        # Case C: two defendants, computer misuse s.1 (2 years): fails seriousness.
        {"defendant_on_case_id": "c1", "case_id": "C", "ho_offence_code": "05354"},
        {"defendant_on_case_id": "c2", "case_id": "C", "ho_offence_code": "05354"},
        # Case D: two defendants, common assault: not on the list.
        {"defendant_on_case_id": "d1", "case_id": "D", "ho_offence_code": "10501"},
        {"defendant_on_case_id": "d2", "case_id": "D", "ho_offence_code": "10501"},
    ]
)  # fmt: skip
NO_OFFENCES = pl.DataFrame(schema={"defendant_on_case_id": pl.String, "ho_offence_code": pl.String})


def _soc(d: soc.Definition, codes, offences=NO_OFFENCES) -> dict[str, bool]:
    f = soc.flag_defendant_cases(CASES, offences, codes, d)
    return dict(zip(f["defendant_on_case_id"], f["soc"], strict=True))


def test_default_definition_needs_all_three(codes):
    flags = _soc(soc.Definition("primary"), codes)
    assert {k for k, v in flags.items() if v} == {"a1"}
    f = soc.flag_defendant_cases(CASES, NO_OFFENCES, codes, soc.Definition("primary"))
    case_flag = dict(zip(f["defendant_on_case_id"], f["soc_case"], strict=True))
    assert case_flag["a2"] and not case_flag["b1"]  # the case is SOC; a2 is not, as a defendant


def test_variants(codes):
    base = soc.Definition("primary")
    offence_only = soc.Definition.from_config("o", {"require": ["offence"]}, base)
    assert {k for k, v in _soc(offence_only, codes).items() if v} == {"a1", "b1", "c1", "c2"}
    imposed = soc.Definition.from_config("i", {"seriousness_mode": "imposed"}, base)
    assert not any(_soc(imposed, codes).values())  # a1 was not sentenced to custody
    both_meet = soc.Definition.from_config("m", {"codefendants_must_meet_offence": True}, base)
    assert not any(_soc(both_meet, codes).values())  # a2's common assault is not listed
    off = soc.Definition.from_config("s", {"seriousness_mode": "off"}, base)
    assert {k for k, v in _soc(off, codes).items() if v} == {"a1", "c1", "c2"}
    three = soc.Definition.from_config("t", {"min_defendants": 3}, base)
    assert not any(_soc(three, codes).values())


def test_any_offence_scope(codes):
    offences = pl.DataFrame(
        {"defendant_on_case_id": ["a2", "a2"], "ho_offence_code": ["10501", "09231"]}
    )
    any_scope = soc.Definition.from_config("a", {"offence_scope": "any"}, soc.Definition("p"))
    assert {k for k, v in _soc(any_scope, codes, offences).items() if v} == {"a1", "a2"}


def test_code_list_checks(tmp_path: Path):
    bad = tmp_path / "list.csv"
    bad.write_text(
        "ho_code,description,soc_category,tier,max_custody,statute\n"
        "092/30,x,drug supply,likely,life,MDA\n092/30,x,drug supply,likely,life,MDA\n"
    )
    with pytest.raises(soc.CodeListError, match="ho_code repeats"):
        soc.load_code_list(bad, "v")
    bad.write_text("ho_code,description,soc_category,tier,max_custody,statute\n"
                   "092/30,x,drug supply,sometimes,life,MDA\n")  # fmt: skip
    with pytest.raises(soc.CodeListError, match="tier"):
        soc.load_code_list(bad, "v")


def test_hash_changes_with_content(codes, tmp_path):
    copy = tmp_path / "copy.csv"
    copy.write_bytes(SOC_LIST.read_bytes())
    assert soc.load_code_list(copy, "x").sha256 == codes.sha256
    copy.write_bytes(SOC_LIST.read_bytes().replace(b"Theft Act 1968 s.8", b"Theft Act 1968 s 8"))
    assert soc.load_code_list(copy, "x").sha256 != codes.sha256


def test_groups_are_connected_components():
    membership = pl.DataFrame(
        {
            "person": ["p1", "p2", "p2", "p3", "p4", "p5"],
            "case_id": ["A", "A", "B", "B", "C", "D"],
            "year": [2014, 2014, 2016, 2016, 2015, 2015],
        }
    )
    flags = pl.DataFrame(
        {"case_id": ["A", "B", "C", "D"], "soc_case": [True, False, False, False],
         "soc_category": ["drug supply", None, None, None]}
    )  # fmt: skip
    person_group, groups = soc.co_offending_groups(membership, flags)
    assert groups.height == 1  # p4 and p5 are alone in their cases
    g = groups.row(0, named=True)
    assert (g["n_persons"], g["n_cases"], g["years_active"]) == (3, 2, 3)
    assert g["share_cases_soc"] == 0.5 and g["dominant_category"] == "drug supply"
    assert set(person_group["person"]) == {"p1", "p2", "p3"}


def test_recovers_planted_groups(tiny_extracts, config, codes):
    ho = load_ho_codes(HO_CODES)

    def ing(table, df):
        df = df.with_columns(
            pl.lit("x").alias("_source_file"), pl.int_range(1, pl.len() + 1).alias("_source_row")
        )
        return ingest_table(table, df, config["datasets"][table], ho, Limits(),
                            config["outcome_groups"], config["age_bands"]).clean  # fmt: skip

    crown = ing("crown_defendant_cases", tiny_extracts.crown_defendant_cases)
    offences = ing("crown_offences", tiny_extracts.crown_offences)
    link = ing("xjs_link", tiny_extracts.xjs_link)
    flags, counts = soc.flag_all(crown, offences, link, codes, soc.Definition("primary"), [])
    assert counts["soc_defendant_cases"][0] == flags["soc"].sum() > 0
    membership = flags.join(crown.select("defendant_on_case_id", "disposal_year"),
                            on="defendant_on_case_id").select(
        "person", "case_id", pl.col("disposal_year").alias("year"))  # fmt: skip
    person_group, _ = soc.co_offending_groups(membership, flags)
    m = soc.recovery_metrics(flags, person_group, tiny_extracts.truth_rows, crown)
    # The generator's SOC truth is the default proxy itself; planted groups are about half of
    # the persons it flags (the rest are co-defendants on listed offences), and nearly all
    # planted members appear in a flagged case.
    assert m["recall"] > 0.9
    assert m["precision"] > 0.3
    assert m["group_purity"] > 0.9
    truth = tiny_extracts.truth_rows.filter(pl.col("source_dataset") == "crown_xhibit").select(
        pl.col("row_id_hash").alias("row_id"), "soc_case_truth"
    )
    both = (
        crown.select("row_id", "defendant_on_case_id")
        .join(truth, on="row_id")
        .join(flags.select("defendant_on_case_id", "soc_case"), on="defendant_on_case_id")
    )
    assert (both["soc_case"] == both["soc_case_truth"]).all()


def test_code_list_changes_and_status_changes(codes, tiny_canonical, tmp_path):
    text = SOC_LIST.read_text().splitlines()
    kept = [line for line in text if "drug production" not in line]
    baseline_path = tmp_path / "baseline.csv"
    baseline_path.write_text("\n".join(kept) + "\n")
    baseline = soc.load_code_list(baseline_path, "baseline")
    changes = soc.code_list_changes(codes, baseline)
    n_production = len(text) - len(kept)
    assert changes.height == n_production
    assert set(changes["change"]) == {"added"}
    assert set(changes["soc_category"]) == {"drug production"}

    t = tiny_canonical
    before, _ = soc.flag_all(
        t["crown_defendant_cases"], t["crown_offences"], t["xjs_link"], baseline,
        soc.Definition("primary"), [],
    )  # fmt: skip
    persons = soc.status_changes(t["flags"], before, "person")
    by_change = dict(persons.group_by("change").agg(pl.col("persons").sum()).iter_rows())
    # Adding codes can only make persons SOC, never remove them.
    assert by_change["no longer SOC"] == 0
    assert by_change["became SOC"] > 0
    assert (
        by_change["became SOC"] + by_change["SOC under both"]
        == t["flags"].filter(pl.col("soc"))["person"].n_unique()
    )
    became = persons.filter(pl.col("change") == "became SOC", pl.col("persons") > 0)
    assert set(became["soc_category"]) == {"drug production"}


def test_code_list_changes_list_edited_codes(codes, tmp_path):
    """A code on both lists whose tier, category or maximum custody was edited is listed, with
    what changed; the same maximum custody written differently, or an edited description, is
    not a change of who is SOC."""
    edits = {
        "034/01": lambda f: {**f, "tier": "likely"},
        "035/00": lambda f: {**f, "soc_category": "drug supply", "max_custody": "10"},
        "036/01": lambda f: {**f, "description": "Kidnap"},
    }
    table = pl.read_csv(SOC_LIST, infer_schema=False)
    assert table.filter(pl.col("ho_code") == "035/00")["max_custody"].item() == "14"
    edited = pl.DataFrame(
        [edits.get(r["ho_code"], lambda f: f)(r) for r in table.iter_rows(named=True)]
    ).with_columns(
        pl.when(pl.col("max_custody") == "14").then(pl.lit("14.0")).otherwise("max_custody")
        .alias("max_custody")
    )  # fmt: skip
    baseline_path = tmp_path / "baseline.csv"
    edited.write_csv(baseline_path)
    changes = soc.code_list_changes(codes, soc.load_code_list(baseline_path, "baseline"))
    assert changes.columns == ["ho_code", "description", "soc_category", "tier", "change", "detail"]
    assert changes.select("ho_code", "change", "detail").rows() == [
        ("03401", "changed", "tier: likely to possible"),
        ("03500", "changed", "soc_category: drug supply to kidnap, blackmail and extortion; "
                             "max_custody: 10 to 14"),
    ]  # fmt: skip


def test_code_not_in_ho_table_is_named(codes):
    ho = pl.DataFrame({"ho_code": ["092/30"], "offence_group": ["Drug offences"]})
    missing = soc.unknown_codes(codes, ho)
    assert "09230" not in missing and len(missing) == codes.table.height - 1


def test_sensitivity_statistics_rest_on_persons():
    counts = pl.DataFrame(
        {"definition": ["primary"], "soc_defendant_cases": [30], "soc_persons": [25],
         "soc_cases": [12], "all_defendant_cases": [300], "all_cases": [200],
         "share_of_appearances": [0.1], "share_of_cases": [0.06]}
    )  # fmt: skip
    stats = soc.sensitivity_statistics(counts)
    assert stats.height == len(soc.COUNT_MEASURES)
    assert (stats["n_persons"] == 25).all()
    assert stats.filter(pl.col("measure") == "SOC cases")["value"].item() == 12


def test_variants_sharing_criteria_flag_as_each_definition_alone(tiny_canonical):
    """flag_all computes the criterion columns once for definitions that differ only in the
    criteria they require; every variant's flags and counts are still those of its definition
    flagged on its own."""
    t = tiny_canonical
    codes = soc.load_code_list(REPO / "resources/offence_codes/soc_offence_codes.csv", "test")
    primary = soc.Definition("primary")
    variants = [
        soc.Definition.from_config("offence_only", {"require": ["offence"]}, primary),
        soc.Definition.from_config(
            "codefendants", {"require": ["offence", "codefendants"]}, primary
        ),
        soc.Definition.from_config("likely_tier", {"tier": "likely"}, primary),
        soc.Definition.from_config("any_offence", {"offence_scope": "any"}, primary),
    ]
    crown, offences = t["crown_defendant_cases"], t["crown_offences"]
    flags, counts = soc.flag_all(crown, offences, t["xjs_link"], codes, primary, variants)
    assert soc.criteria_key(variants[0]) == soc.criteria_key(primary)
    assert soc.criteria_key(variants[2]) != soc.criteria_key(primary)
    for d in variants:
        alone = soc.flag_defendant_cases(crown, offences, codes, d)
        both = flags.select("defendant_on_case_id", f"soc__{d.name}", f"soc_case__{d.name}").join(
            alone, on="defendant_on_case_id", how="full", coalesce=True
        )
        assert both.height == alone.height == flags.height
        assert (both[f"soc__{d.name}"] == both["soc"]).all(), d.name
        assert (both[f"soc_case__{d.name}"] == both["soc_case"]).all(), d.name
        row = counts.filter(pl.col("definition") == d.name).row(0, named=True)
        assert row["soc_defendant_cases"] == int(alone["soc"].sum())
        assert row["soc_cases"] == alone.filter("soc_case")["case_id"].n_unique()
        assert row["all_cases"] == alone["case_id"].n_unique()
