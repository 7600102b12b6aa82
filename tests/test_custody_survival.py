"""Re-appearance timed from the actual release: the survival stage with prison journeys."""

from __future__ import annotations

import polars as pl

from socflow import schema
from socflow import survival as sv
from socflow.survival.prepare import prison_releases
from socflow.survival.run import analyse

from .survival_helpers import D, make_settings
from .test_survival_cohort import _history


def _prison(release: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """P's journey: remanded 2014-03-01 (before the index disposal of 2014-06-01), released on
    `release`; Q has no journey."""
    canon = schema.polars_schema("prison_journeys")
    row = {"row_id": "j1", "reception_date": D("2014-03-01"),
           "release_date": D(release) if release else None, "reception_reason": "remand",
           "release_reason": "automatic_release"}  # fmt: skip
    journeys = pl.DataFrame([{c: row.get(c) for c in canon}], schema=canon)
    link = pl.DataFrame(
        {"source_dataset": ["prison"], "row_id": ["j1"], "person_id": ["P"]},
        schema=schema.polars_schema("xjs_link"),
    )
    return journeys, link


def _setup(release: str | None):
    s = make_settings()
    crown, mags, link, journey, flags = _history()
    journeys, prison_link = _prison(release)
    as_text = pl.col("source_dataset").cast(pl.String)
    link = pl.concat([link.with_columns(as_text), prison_link.with_columns(as_text)])
    crown_p = sv.attach_person_ids(crown, sv.resolve_person_ids(link, "crown"))
    mags_p = sv.attach_person_ids(mags, sv.resolve_person_ids(link, "mags"))
    index, _ = sv.index_events(crown_p, flags, s)
    tables = sv.court_rows(crown_p, mags_p, journey, index, s)
    cases = sv.new_cases(tables, s)
    return s, index, cases, journeys, link, (crown, mags, journey, flags)


def test_time_at_risk_starts_at_the_prison_release():
    s, index, cases, journeys, link, _ = _setup("2015-07-01")
    releases = prison_releases(index, journeys, _prison_ids(link, s), s)
    assert releases.to_dicts() == [{"person": "P", "release_date": D("2015-07-01")}]
    follow, _ = sv.follow_up(index, cases, s, releases=releases)
    p = follow.filter(pl.col("person") == "P").row(0, named=True)
    # Released later than the estimate (2014-09-09): the case of 2015-06-01 was committed in
    # custody; the first event is now the offence of 2016-03-01.
    assert p["start_date"] == D("2015-07-01")
    assert p["event_date"] == D("2016-03-01")
    # Q (no custody) is unchanged
    q = follow.filter(pl.col("person") == "Q").row(0, named=True)
    assert q["start_date"] == D("2019-06-01")


def test_still_in_custody_has_no_time_at_risk_and_unmatched_keep_the_estimate():
    s, index, cases, journeys, link, _ = _setup(None)
    releases = prison_releases(index, journeys, _prison_ids(link, s), s)
    follow, no_time = sv.follow_up(index, cases, s, releases=releases)
    assert "P" not in follow["person"].to_list()
    assert sum(no_time.values()) == 1
    follow, _ = sv.follow_up(index, cases, s, releases=releases.clear())
    assert follow.filter(pl.col("person") == "P")["start_date"].item() == D("2014-09-09")


def _journeys_at_the_estimate(crown: pl.DataFrame, link: pl.DataFrame, fraction: float):
    """A prison journey for every immediate-custody Crown row, received at disposal and
    released exactly at the estimated release date, linked to the row's person."""
    custodial = crown.filter(
        (pl.col("sentence_type").cast(pl.String) == "immediate_custody")
        & (pl.col("custody_days") > 0)
    )
    canon = schema.polars_schema("prison_journeys")
    journeys = custodial.select(
        (pl.lit("j") + pl.col("row_id")).alias("row_id"),
        pl.col("disposal_date").alias("reception_date"),
        (
            pl.col("disposal_date")
            + pl.duration(days=(pl.col("custody_days") * fraction).floor().cast(pl.Int64))
        ).alias("release_date"),
        pl.lit("sentenced").alias("reception_reason"),
        pl.lit("automatic_release").alias("release_reason"),
    )
    journeys = journeys.with_columns(
        pl.lit(None).alias(c) for c in canon if c not in journeys.columns
    ).select([pl.col(c).cast(d) for c, d in canon.items()])
    crown_link = link.filter(pl.col("source_dataset").cast(pl.String) == "crown")
    prison_link = crown_link.join(custodial.select("row_id"), on="row_id").with_columns(
        pl.lit("prison").cast(link.schema["source_dataset"]).alias("source_dataset"),
        (pl.lit("j") + pl.col("row_id")).alias("row_id"),
    )
    return journeys, pl.concat([link, prison_link])


def test_release_at_the_estimate_reproduces_the_estimated_follow_up(tiny_canonical):
    """Journeys released exactly at the estimated date give the same follow-up as the
    estimate; the sensitivity table gains the estimated-release rows and Cox ratio."""
    t = tiny_canonical
    s = make_settings()
    journeys, link = _journeys_at_the_estimate(t["crown_defendant_cases"], t["xjs_link"], 0.5)
    args = (t["crown_defendant_cases"], t["mags_defendant_cases"], link,
            t["mags_crown_journey"], t["flags"], s)  # fmt: skip
    with_prison = analyse(*args, prison_journeys=journeys)
    estimate = analyse(*args, fit_model=False)
    cols = ["person", "start_date", "event", "time"]
    assert with_prison.follow.select(cols).equals(estimate.follow.select(cols))
    extra = with_prison.sensitivity.filter(pl.col("statistic").str.starts_with("estimated"))
    assert extra.height == 3 * len(s.horizons_days) + 1
    cox = extra.filter(pl.col("statistic").str.ends_with("Cox hazard ratio, SOC vs non-SOC"))
    soc = with_prison.cox.coefficients.filter(pl.col("term") == sv.GROUP)
    assert cox["value"].item() == soc["hazard_ratio"].item()
    assert not estimate.sensitivity["statistic"].str.starts_with("estimated").any()


def _prison_ids(link: pl.DataFrame, s: sv.Settings) -> pl.DataFrame:
    return sv.resolve_person_ids(link, "prison", s.fanout_rule)
