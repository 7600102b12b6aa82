"""Headline measures on hand-made tables with known answers."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from socflow import headline as hl


def _crown_and_flags() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Three cases in the study years (one SOC with two defendants), one row disposed later."""
    crown = pl.DataFrame(
        {
            "defendant_on_case_id": ["1", "2", "3", "4", "5", "6"],
            "case_id": ["A", "A", "B", "C", "C", "D"],
            "disposal_year": [2015, 2015, 2016, 2017, 2017, 2021],
            "disposal_date": [date(y, 6, 1) for y in (2015, 2015, 2016, 2017, 2017, 2021)],
            "offence_group": ["Drug offences", "Drug offences", "Theft offences",
                              "Violence against the person", "Violence against the person",
                              "Drug offences"],
            "plea": ["guilty", "guilty", "not_guilty", "guilty", "not_guilty", "guilty"],
            "outcome_group": ["convicted", "convicted", "acquitted", "convicted", "acquitted",
                              "convicted"],
            "sex": ["M", "M", "F", "M", "F", "M"],
            "ethnic_group": ["White", "Black", "White", "White", "Asian", "White"],
            "age_at_offence": [30, 40, 20, 25, 35, 50],
            "region": ["London"] * 6,
            "sentence_type": ["immediate_custody", "fine", "none", "fine", "none", "fine"],
            "custody_days": [400, 0, 0, 0, 0, 0],
            "court_name": ["X"] * 6,
            "court_id": ["1"] * 6,
        }
    )  # fmt: skip
    flags = pl.DataFrame(
        {
            "defendant_on_case_id": ["1", "2", "3", "4", "5", "6"],
            "person": ["p1", "p2", "p3", "p4", "p5", "p6"],
            "soc": [True, True, False, False, False, True],
            "soc_case": [True, True, False, False, False, True],
            "soc_category": ["drugs", "drugs", None, None, None, "drugs"],
        }
    )
    return crown, flags


def _follow_up() -> pl.DataFrame:
    """SOC: events at 100 and 400 days among 4 persons (KM 0.5 at 730); non-SOC: 1 of 2."""
    return pl.DataFrame(
        {
            "person": ["a", "b", "c", "d", "e", "f"],
            "soc_status": ["SOC", "SOC", "SOC", "SOC", "Non-SOC", "Non-SOC"],
            "time": [100, 800, 900, 400, 200, 1000],
            "event": [True, False, False, True, True, False],
        }
    )


def _inputs(follow_up: pl.DataFrame | None = None) -> hl.HeadlineInputs:
    crown, flags = _crown_and_flags()
    return hl.HeadlineInputs(crown, flags, follow_up, first_year=2013, last_year=2020)


def _value(df: pl.DataFrame, measure: str, population: str, column: str = "value"):
    row = df.filter((pl.col("measure") == measure) & (pl.col("population") == population))
    assert row.height == 1, (measure, population)
    return row[column][0]


def test_known_answers():
    df = hl.headline_measures(_inputs(_follow_up()))
    expected = {
        ("soc_share_appearances", "all"): (2, 5),
        ("soc_share_cases", "all"): (1, 3),
        ("drug_offence_share", "SOC"): (2, 2),
        ("drug_offence_share", "non-SOC"): (0, 3),
        ("guilty_plea_rate", "SOC"): (2, 2),
        ("guilty_plea_rate", "non-SOC"): (1, 3),
        ("conviction_rate", "non-SOC"): (1, 3),
        ("conviction_rate", "all"): (3, 5),
        ("male_share", "SOC"): (2, 2),
        ("male_share", "all"): (3, 5),
        ("white_share", "SOC"): (1, 2),
        ("white_share", "non-SOC"): (2, 3),
    }
    for (measure, population), (k, n) in expected.items():
        assert _value(df, measure, population, "numerator") == k, measure
        assert _value(df, measure, population, "base") == n, measure
        assert _value(df, measure, population) == pytest.approx(k / n), measure
    assert _value(df, "mean_age", "SOC") == pytest.approx(35.0)
    assert _value(df, "mean_age", "non-SOC") == pytest.approx(80 / 3)
    assert _value(df, "mean_age", "all") == pytest.approx(30.0)
    assert _value(df, "mean_age", "all", "ci_lower") is None  # a mean is a magnitude
    assert _value(df, "back_in_court_2y", "SOC") == pytest.approx(0.5)
    assert _value(df, "back_in_court_2y", "SOC", "base") == 4
    assert _value(df, "back_in_court_2y", "non-SOC") == pytest.approx(0.5)
    assert _value(df, "back_in_court_2y", "all") == pytest.approx(1 - 5 / 6 * 4 / 5 * 3 / 4)


def test_mean_age_counts_each_person_once_at_the_index_appearance():
    crown, flags = _crown_and_flags()
    # p3 appears again in 2018, older and in a SOC case: their index becomes that appearance.
    again = crown.filter(pl.col("defendant_on_case_id") == "3").with_columns(
        pl.lit("7").alias("defendant_on_case_id"),
        pl.lit("E").alias("case_id"),
        pl.lit(2018).alias("disposal_year"),
        pl.lit(date(2018, 6, 1)).alias("disposal_date"),
        pl.lit(60).alias("age_at_offence"),
    )
    crown = pl.concat([crown, again], how="vertical_relaxed")
    flags = pl.concat([flags, pl.DataFrame({"defendant_on_case_id": ["7"], "person": ["p3"],
                       "soc": [True], "soc_case": [True], "soc_category": ["drugs"]})])  # fmt: skip
    df = hl.headline_measures(hl.HeadlineInputs(crown, flags, None, 2013, 2020))
    assert _value(df, "mean_age", "SOC") == pytest.approx((30 + 40 + 60) / 3)
    assert _value(df, "mean_age", "SOC", "base") == 3
    assert _value(df, "mean_age", "non-SOC") == pytest.approx((25 + 35) / 2)
    assert _value(df, "mean_age", "all", "base") == 5


def test_every_measure_present_in_order_and_recall_needs_prison_data():
    df = hl.headline_measures(_inputs(_follow_up()))
    assert list(dict.fromkeys(df["measure"])) == list(hl.MEASURES)
    recall = df.filter(pl.col("measure") == "recall_to_prison_2y")
    assert recall["population"].to_list() == ["SOC", "non-SOC"]
    assert recall["note"].to_list() == [hl.NEEDS_PRISON_DATA] * 2
    assert recall["value"].null_count() == 2
    # Without the re-appearance stage its rows say so rather than vanish.
    df = hl.headline_measures(_inputs(None))
    back = df.filter(pl.col("measure") == "back_in_court_2y")
    assert back.height == 3 and back["value"].null_count() == 3
    assert back["note"].str.contains("re-appearance").all()


@pytest.mark.parametrize(("k", "n"), [(0, 5), (1, 3), (2, 2), (37, 120), (2665, 45720)])
def test_wilson_interval_equals_statsmodels(k, n):
    lo, hi = hl.wilson_interval(pl.col("k"), pl.col("n"), 0.95)
    got = pl.DataFrame({"k": [k], "n": [n]}).select(lo, hi).row(0)
    want = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert got == pytest.approx(want, abs=1e-12)


def test_empty_population_has_base_zero_and_no_value():
    crown, flags = _crown_and_flags()
    inputs = hl.HeadlineInputs(
        crown, flags.with_columns(pl.lit(False).alias("soc"), pl.lit(False).alias("soc_case")),
        None, 2013, 2020,
    )  # fmt: skip
    df = hl.headline_measures(inputs)
    assert _value(df, "guilty_plea_rate", "SOC", "base") == 0
    assert _value(df, "guilty_plea_rate", "SOC") is None
    assert _value(df, "guilty_plea_rate", "SOC", "ci_lower") is None
    assert _value(df, "soc_share_appearances", "all") == 0.0
    assert not math.isnan(_value(df, "soc_share_appearances", "all", "ci_upper"))


def test_rule_writes_the_measures_and_candidates_of_the_functions(tmp_path):
    """run_headline derives the appearances and ages once and shares them: its measures table
    and candidates equal those of `headline_measures` and `headline_candidates` computed
    apart, and measures given the shared frames equal those computed from the inputs."""
    inputs = _inputs(_follow_up())
    crown, flags = tmp_path / "crown.parquet", tmp_path / "flags.parquet"
    fu = tmp_path / "follow_up.parquet"
    inputs.crown.write_parquet(crown)
    inputs.flags.write_parquet(flags)
    inputs.follow_up.write_parquet(fu)
    out = tmp_path / "measures.parquet"
    written = hl.run_headline(
        str(crown), str(flags), str(fu), 2013, 2020, 0.95, ["male_share"],
        str(tmp_path / "candidates"), out_measures=out,
    )  # fmt: skip
    measures = hl.headline_measures(inputs)
    assert pl.read_parquet(out).equals(measures)
    rows = hl.appearances(inputs)
    assert hl.headline_measures(inputs, rows, hl.persons_with_age(rows)).equals(measures)
    apart = hl.headline_candidates(inputs, ["male_share"])
    assert [c.output_id for c in written] == [c.output_id for c in apart]
    for got, want in zip(written, apart, strict=True):
        assert got.data.equals(want.data)
    assert hl.MEASURES["male_share"] not in written[0].data["measure"].to_list()
    assert hl.MEASURES["conviction_rate"] in written[0].data["measure"].to_list()
