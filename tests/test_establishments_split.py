"""The establishment panel in two rules: the flag-independent parts (`prepare_panel`, rule
establishment_panel) and SOC status on them (`soc_share`, rule establishments) give exactly
what the stage computed in one pass before the split (the reference below, kept as it was)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from socflow import schema
from socflow.establishments import (
    EstablishmentSettings,
    PanelParts,
    build_panel,
    prepare_panel,
    prisoner_exposure,
    soc_strata,
    with_soc,
)
from socflow.survival.linking import resolve_person_ids

S = EstablishmentSettings(first_date=date(2016, 1, 1), last_date=date(2017, 6, 30))
PRISONER = "prisoner"


# --- The one-pass computation before the split (reference) ---------------------------------
def ref_prisoners(journeys, link, cohort):
    ids = resolve_person_ids(link, "prison").select("row_id", "person_id")
    soc_persons = cohort.filter(pl.col("soc").fill_null(False)).select("person_id").unique()
    return (
        journeys.select("row_id", "release_date")
        .join(ids, on="row_id", how="left")
        .with_columns(
            pl.coalesce("person_id", pl.lit("journey:") + pl.col("row_id")).alias(PRISONER),
            pl.col("person_id")
            .is_in(soc_persons["person_id"].implode())
            .fill_null(False)
            .alias("soc"),
        )
        .select(pl.col("row_id").alias("journey_row_id"), PRISONER, "soc", "release_date")
    )


def ref_spell_months(spells, s, who):
    first, stop = s.first_date, s.last_date + timedelta(days=1)
    spells = spells.join(
        who.select("journey_row_id", "release_date"), on="journey_row_id", how="left"
    )
    next_start = (
        pl.col("start_date").shift(-1).over("journey_row_id", order_by=["start_date", "end_date"])
    )
    end = pl.coalesce("end_date", next_start, "release_date", pl.lit(stop))
    cut = spells.select(
        "journey_row_id",
        "establishment_id",
        pl.max_horizontal(pl.col("start_date"), pl.lit(first)).alias("_from"),
        pl.min_horizontal(end, pl.lit(stop)).alias("_to"),
    ).filter(pl.col("_to") > pl.col("_from"))
    return (
        cut.with_columns(
            pl.date_ranges(
                pl.col("_from").dt.month_start(),
                (pl.col("_to") - pl.duration(days=1)).dt.month_start(),
                interval="1mo",
            ).alias("month")
        )
        .explode("month", empty_as_null=False)
        .with_columns(
            (
                pl.min_horizontal("_to", pl.col("month").dt.offset_by("1mo"))
                - pl.max_horizontal("_from", "month")
            )
            .dt.total_days()
            .alias("days")
        )
        .select("journey_row_id", "establishment_id", "month", "days")
    )


def ref_panel(spells, incidents, who, s):
    days = ref_spell_months(spells, s, who).join(who, on="journey_row_id", how="left")
    exposure = days.group_by("establishment_id", "month").agg(
        pl.col("days").sum().alias("prisoner_days"),
        pl.col("days").filter(pl.col("soc").fill_null(False)).sum().alias("soc_prisoner_days"),
    )
    counts = (
        incidents.filter(pl.col("incident_date").is_between(s.first_date, s.last_date))
        .with_columns(
            pl.col("incident_date").dt.month_start().alias("month"),
            pl.col("incident_type").cast(pl.String),
        )
        .group_by("establishment_id", "month")
        .agg(
            pl.col("incident_id").filter(pl.col("incident_type") == t).n_unique()
            .cast(pl.Int64).alias(f"n_{t}")
            for t in s.incident_types
        )
    )  # fmt: skip
    return (
        exposure.join(counts, on=["establishment_id", "month"], how="full", coalesce=True)
        .with_columns(
            pl.col("prisoner_days").fill_null(0).cast(pl.Int64),
            pl.col("soc_prisoner_days").fill_null(0).cast(pl.Int64),
            *[pl.col(f"n_{t}").fill_null(0) for t in s.incident_types],
        )
        .with_columns(
            pl.when(pl.col("prisoner_days") > 0)
            .then(pl.col("soc_prisoner_days") / pl.col("prisoner_days"))
            .alias("soc_share")
        )
        .sort("establishment_id", "month")
    )


def ref_exposure(spells, incidents, who, s):
    days = (
        ref_spell_months(spells, s, who)
        .join(who, on="journey_row_id", how="left")
        .group_by(PRISONER)
        .agg(pl.col("days").sum().alias("prisoner_days"), pl.col("soc").first())
    )
    involved = (
        incidents.filter(pl.col("incident_date").is_between(s.first_date, s.last_date))
        .join(who, on="journey_row_id", how="inner")
        .with_columns(pl.col("incident_type").cast(pl.String))
        .group_by(PRISONER)
        .agg(
            (pl.col("incident_type") == t).sum().cast(pl.Int64).alias(f"n_{t}")
            for t in s.incident_types
        )
    )
    return (
        days.join(involved, on=PRISONER, how="left")
        .with_columns(pl.col(f"n_{t}").fill_null(0) for t in s.incident_types)
        .with_columns(pl.col("soc").fill_null(False))
        .filter(pl.col("prisoner_days") > 0)
        .sort(PRISONER)
    )


def ref_strata(spells, incidents, who, s):
    days = (
        ref_spell_months(spells, s, who)
        .join(who, on="journey_row_id", how="left")
        .group_by("establishment_id", "month")
        .agg(
            pl.col("days").filter(pl.col("soc").fill_null(False)).sum().alias("days_soc"),
            pl.col("days").filter(~pl.col("soc").fill_null(False)).sum().alias("days_other"),
        )
    )
    soc = pl.col("soc").fill_null(False)
    involved = (
        incidents.filter(pl.col("incident_date").is_between(s.first_date, s.last_date))
        .join(who, on="journey_row_id", how="left")
        .with_columns(
            pl.col("incident_date").dt.month_start().alias("month"),
            pl.col("incident_type").cast(pl.String),
        )
        .group_by("establishment_id", "month")
        .agg(
            *[((pl.col("incident_type") == t) & soc).sum().alias(f"n_{t}_soc")
              for t in s.incident_types],
            *[((pl.col("incident_type") == t) & ~soc).sum().alias(f"n_{t}_other")
              for t in s.incident_types],
        )
    )  # fmt: skip
    counts = [c for c in involved.columns if c.startswith("n_")]
    return (
        days.join(involved, on=["establishment_id", "month"], how="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)
        .with_columns(pl.col("days_soc").cast(pl.Int64), pl.col("days_other").cast(pl.Int64))
        .sort("establishment_id", "month")
    )


# --- A random prison world with the awkward cases -----------------------------------------
def frame(table: str, columns: dict) -> pl.DataFrame:
    canon = schema.polars_schema(table)
    n = len(next(iter(columns.values())))
    return pl.DataFrame({c: columns.get(c, [None] * n) for c in canon}, schema=canon, strict=False)


def random_world(seed: int):
    """Journeys of persons (some without a person ID, some persons on several journeys),
    spells with and without an end (some of journeys missing from prison_journeys, some
    starting the same day), incidents of every type in and out of the panel's dates (some of
    unknown journeys, some with several prisoners), and a cohort with SOC persons."""
    rng = np.random.default_rng(seed)
    n_j, n_p = 300, 180
    journeys_ids = [f"j{i:04d}" for i in range(n_j)]
    reception = [date(2015, 6, 1) + timedelta(days=int(d)) for d in rng.integers(0, 800, n_j)]
    release = [
        None if rng.random() < 0.2 else r + timedelta(days=int(rng.integers(5, 500)))
        for r in reception
    ]
    journeys = frame("prison_journeys", {"row_id": journeys_ids, "reception_date": reception,
                                         "release_date": release})  # fmt: skip
    linked = [j for j in journeys_ids if rng.random() < 0.85]
    link = frame("xjs_link", {
        "source_dataset": ["prison"] * len(linked),
        "row_id": linked,
        "person_id": [f"p{int(rng.integers(0, n_p)):03d}" for _ in linked],
    })  # fmt: skip
    places = [f"E{k}" for k in range(7)]
    spell_rows = {"journey_row_id": [], "establishment_id": [], "start_date": [], "end_date": []}
    # two spells of journeys missing from prison_journeys ("ghost")
    starts = [*reception, date(2016, 3, 1), date(2016, 3, 1)]
    ends = [*release, None, date(2016, 9, 9)]
    for j, start, end in zip([*journeys_ids, "ghost1", "ghost2"], starts, ends, strict=True):
        day = start
        for _ in range(int(rng.integers(1, 4))):
            stay = timedelta(days=int(rng.integers(0, 200)))
            closed = rng.random() < 0.7
            spell_rows["journey_row_id"].append(j)
            spell_rows["establishment_id"].append(places[int(rng.integers(0, len(places)))])
            spell_rows["start_date"].append(day)
            spell_rows["end_date"].append(day + stay if closed else None)
            day = day + stay
        if end is not None and rng.random() < 0.5:
            spell_rows["end_date"][-1] = None  # ends at the journey's release
    spells = frame("prison_establishment_spells", spell_rows)
    n_i = 900
    who = rng.choice(np.array([*journeys_ids, "ghost1", "nowhere"]), n_i)
    incidents = frame("prison_incidents", {
        "incident_id": [f"i{int(k)}" for k in rng.integers(0, 600, n_i)],  # shared incidents
        "journey_row_id": list(who),
        "establishment_id": [places[int(k)] for k in rng.integers(0, len(places), n_i)],
        "incident_date": [date(2015, 10, 1) + timedelta(days=int(d))
                          for d in rng.integers(0, 800, n_i)],
        "incident_type": list(rng.choice(np.array(schema.INCIDENT_TYPES), n_i)),
    })  # fmt: skip
    persons = [f"p{k:03d}" for k in range(n_p)]
    cohort = pl.DataFrame({"person_id": persons[:150],
                           "soc": [bool(v) for v in rng.random(150) < 0.3]})  # fmt: skip
    return spells, incidents, journeys, link, cohort


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_split_panel_equals_the_one_pass_panel(seed, tmp_path):
    spells, incidents, journeys, link, cohort = random_world(seed)
    who = ref_prisoners(journeys, link, cohort)
    parts = prepare_panel(spells, incidents, journeys, resolve_person_ids(link, "prison"), S)
    # through their files, as the second rule reads them
    paths = {n: tmp_path / f"{n}.parquet" for n in ("establishment_months", "prisoners",
                                                    "prisoner_months")}  # fmt: skip
    parts.write(paths)
    soc_codes = with_soc(parts.prisoners, cohort).filter("soc")["prisoner_code"]
    assert 0 < soc_codes.len() < parts.prisoners.height
    soc_only = PanelParts.read(paths, prisoner_codes=soc_codes)
    assert soc_only.prisoner_months.height < parts.prisoner_months.height
    parts = PanelParts.read(paths)
    soc_prisoners = with_soc(parts.prisoners, cohort)
    # the SOC prisoners' months alone give the same SOC status
    assert build_panel(soc_only, soc_prisoners, S).equals(build_panel(parts, soc_prisoners, S))
    assert soc_strata(soc_only, soc_prisoners, S).equals(soc_strata(parts, soc_prisoners, S))
    expected_panel = ref_panel(spells, incidents, who, S)
    assert expected_panel.height > 50 and expected_panel["soc_prisoner_days"].sum() > 0
    assert build_panel(parts, soc_prisoners, S).equals(expected_panel)
    assert prisoner_exposure(soc_prisoners, S).equals(ref_exposure(spells, incidents, who, S))
    strata = ref_strata(spells, incidents, who, S)
    assert strata["n_assault_soc"].sum() > 0
    assert soc_strata(parts, soc_prisoners, S).equals(strata)


def test_parts_carry_no_soc_status_and_only_persons_month_by_month():
    """The first rule's parts do not depend on the cohort; the per-month part holds only
    prisoners with a person ID (the only ones who can be SOC), keyed by their code."""
    spells, incidents, journeys, link, _ = random_world(4)
    parts = prepare_panel(spells, incidents, journeys, resolve_person_ids(link, "prison"), S)
    for part in (parts.establishment_months, parts.prisoners, parts.prisoner_months):
        assert "soc" not in part.columns
    persons = parts.prisoners.drop_nulls("person_id")["prisoner_code"]
    assert parts.prisoner_months["prisoner_code"].is_in(persons.implode()).all()
    assert parts.prisoners["prisoner"].drop_nulls().str.starts_with("journey:").any()
    # the codes follow the prisoner keys
    coded = parts.prisoners.drop_nulls("prisoner")
    assert coded["prisoner"].is_sorted() and coded["prisoner_code"].is_sorted()
    # spells of journeys missing from prison_journeys: days without a prisoner
    assert parts.prisoners.filter(pl.col("prisoner").is_null())["prisoner_days"].sum() > 0


def test_with_soc_marks_persons_of_soc_index_cases():
    prisoners = pl.DataFrame({"prisoner_code": [0, 1, 2, 3], "prisoner": ["journey:j9", "p1",
                              "p2", "p3"], "person_id": [None, "p1", "p2", "p3"]})  # fmt: skip
    cohort = pl.DataFrame({"person_id": ["p1", "p2", "p9"], "soc": [True, None, True]})
    assert with_soc(prisoners, cohort)["soc"].to_list() == [False, True, False, False]
