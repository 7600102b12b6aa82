"""The part of the stage that does not depend on the SOC flags (rule survival_cohort).

Persons, index cases, new cases and every follow-up (the primary one and the sensitivity
variants) depend on the court data and the settings only: SOC status is the index case's flag,
joined afterwards (`socflow.survival.run`). Written once, they are not rebuilt when the code
list or the SOC definition changes; the rule survival then only joins the flags, estimates and
tabulates.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from socflow.mapping import check_link_matches, read_ingested
from socflow.parquet import write_parquet
from socflow.persons import read_person_ids
from socflow.survival.cases import CaseGraph, court_rows
from socflow.survival.cohort import INDEX_COLUMNS, cohort_index
from socflow.survival.followup import follow_up
from socflow.survival.linking import attach_person_ids, linkage_diagnostics
from socflow.survival.settings import Settings

log = logging.getLogger(__name__)

PRIMARY = "primary"
# Time at risk from the estimated release for every custodial person (when prison journeys
# give the actual release of the others).
ESTIMATED_RELEASE = "estimated release"

# The Crown Court columns the coverage table needs (socflow.survival.tables.coverage_frequency).
COVERAGE_COLUMNS = (
    "defendant_on_case_id", "defendant_id", "person_id", "disposal_date", "receipt_type",
)  # fmt: skip


def release_fraction_variant(fraction: float) -> str:
    return f"release fraction {fraction:g}"


def journey_score_variant(score: float) -> str:
    return f"journey match score >= {score:g}, no same-date merging"


@dataclass
class Cohort:
    """Everything before SOC status: the cohort flow up to the index event, the index persons
    (without SOC status), their follow-ups by variant, and the linkage diagnostics."""

    flow: pl.DataFrame
    excluded: dict[str, int]
    diagnostics: dict[str, float | int]
    index: pl.DataFrame
    # Variant -> one row per person with time at risk; PRIMARY first, then ESTIMATED_RELEASE
    # (with prison releases), the release fractions and the journey scores, in settings order.
    follow_ups: dict[str, pl.DataFrame]
    no_time: dict[str, int]  # index persons without time at risk (primary follow-up), by reason
    coverage_rows: pl.DataFrame  # Crown rows with their person IDs (COVERAGE_COLUMNS)
    timings: dict[str, float] = field(default_factory=dict)


def build_cohort(
    crown: pl.DataFrame,
    mags: pl.DataFrame,
    journey: pl.DataFrame,
    s: Settings,
    prison_journeys: pl.DataFrame | None = None,
    prison_ids: pl.DataFrame | None = None,
    flagged: pl.DataFrame | None = None,
) -> Cohort:
    """Index events, new cases and every follow-up of persons whose court rows carry person_id
    and n_ids (`attach_person_ids`).

    With `prison_journeys` (and the prison rows' person IDs `prison_ids`), time at risk after
    immediate custody starts at the release date of the index case's prison journey
    (`prison_releases`); the estimated release is the fallback for unmatched persons and the
    variant ESTIMATED_RELEASE applies it to every custodial person. `flagged` restricts the
    cohort to defendant-cases with a SOC flag (`cohort.cohort_index`).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    diagnostics = linkage_diagnostics(crown, mags)
    index, flow = cohort_index(crown, s, flagged)
    tables = court_rows(crown, mags, journey, index, s)
    # Persons numbered in their sorted order: the cases and follow-ups of every variant are
    # grouped, joined and sorted on these integers, and the person IDs put back at the end.
    codes = person_codes(index)
    coded_index = encode_persons(index, codes)
    graph = CaseGraph(replace(tables, rows=encode_persons(tables.rows, codes)))
    cases = graph.cases(s.merge_same_offence_date, s.journey_min_match_score)
    timings["link_and_cases"] = time.perf_counter() - t0
    releases = None
    if prison_journeys is not None and prison_journeys.height:
        releases = prison_releases(index, prison_journeys, prison_ids, s)
        log.info("custodial index persons released per their prison journey: %s of %s",
                 releases.height, index.filter(pl.col("custody")).height)  # fmt: skip
        releases = encode_persons(releases, codes)

    def follow(cases: pl.DataFrame, s: Settings, **kwargs: Any) -> tuple[pl.DataFrame, dict]:
        coded, no_time = follow_up(coded_index, cases, s, **kwargs)
        return decode_persons(coded, codes), no_time

    primary, no_time = follow(cases, s, releases=releases)
    follow_ups = {PRIMARY: primary}
    if releases is not None:
        follow_ups[ESTIMATED_RELEASE] = follow(cases, s)[0]
    for fraction in s.sensitivity_release_fractions:
        follow_ups[release_fraction_variant(fraction)] = follow(
            cases, s, release_fraction=fraction
        )[0]
    unmerged = replace(s, merge_same_offence_date=False)
    for score in s.sensitivity_journey_scores:
        follow_ups[journey_score_variant(score)] = follow(graph.cases(False, score), unmerged)[0]
    timings["follow_ups"] = time.perf_counter() - t0 - timings["link_and_cases"]
    excluded = {**tables.excluded, **{f"index persons: {k}": v for k, v in no_time.items()}}
    return Cohort(
        flow=flow,
        excluded=excluded,
        diagnostics=diagnostics,
        index=index,
        follow_ups=follow_ups,
        no_time=no_time,
        coverage_rows=crown.select(COVERAGE_COLUMNS),
        timings=timings,
    )


def person_codes(index: pl.DataFrame) -> pl.DataFrame:
    """person and code: the index persons numbered in sorted order, so that an order by code
    is the order by person."""
    persons = index.select("person")
    if not persons["person"].is_sorted():
        persons = persons.sort("person")
    return persons.with_row_index("code")


def encode_persons(frame: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
    """`frame` with its person IDs replaced by their codes (`person_codes`)."""
    return (
        frame.join(codes, on="person", how="left", maintain_order="left")
        .with_columns(pl.col("code").alias("person"))
        .drop("code")
    )


def decode_persons(frame: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
    """`frame` with the person codes of `encode_persons` turned back into person IDs."""
    return frame.with_columns(codes["person"].gather(frame["person"]).alias("person"))


def prison_releases(
    index: pl.DataFrame, prison_journeys: pl.DataFrame, prison_ids: pl.DataFrame, s: Settings
) -> pl.DataFrame:
    """person, release_date of each custodial index person matched to a prison journey
    (socflow.custody.matching; its `custody.match` rule)."""
    # Imported here: socflow.custody builds on socflow.survival's person linking.
    from socflow.custody.matching import (  # noqa: PLC0415
        NEAR,
        SPANS,
        journeys_with_person_ids,
        match_journeys,
    )
    from socflow.custody.settings import MatchSettings  # noqa: PLC0415

    prison = journeys_with_person_ids(prison_journeys, prison_ids)
    rule = MatchSettings(window_days=s.release_match_window_days, fanout_rule=s.fanout_rule)
    matched = match_journeys(
        index, prison, rule, person="person", case="defendant_on_case_id",
        disposal="disposal_date", custodial="custody",
    )  # fmt: skip
    return matched.filter(pl.col("match_type").is_in([SPANS, NEAR])).select(
        "person", "release_date"
    )


# Files of the cohort folder (rule survival_cohort's output).
INDEX_FILE = "index.parquet"
FOLLOW_UPS_FILE = "follow_ups.parquet"
SENSITIVITY_FILE = "sensitivity_follow_ups.parquet"
COVERAGE_FILE = "coverage_rows.parquet"
SUMMARY_FILE = "cohort.json"
# The variants fitted and tabulated in full; the others give only rates and counts
# (socflow.survival.tables.sensitivity_table), from these columns.
FULL_VARIANTS = (PRIMARY, ESTIMATED_RELEASE)
SENSITIVITY_COLUMNS = (
    "person", "defendant_on_case_id", "case_id", "custody", "time", "event", "n_window",
)  # fmt: skip


def write_cohort(c: Cohort, out_dir: str | Path) -> None:
    """The cohort folder: index persons, the primary (and estimated-release) follow-up, the
    sensitivity variants' follow-ups in the columns their rows need, stacked with the variant,
    the Crown rows for the coverage table, and the flow, exclusions and diagnostics."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(c.index, out / INDEX_FILE)
    full = [v for v in c.follow_ups if v in FULL_VARIANTS]
    other = [v for v in c.follow_ups if v not in FULL_VARIANTS]
    write_parquet(_stack({v: c.follow_ups[v] for v in full}), out / FOLLOW_UPS_FILE)
    write_parquet(
        _stack({v: c.follow_ups[v].select(SENSITIVITY_COLUMNS) for v in other}),
        out / SENSITIVITY_FILE,
    )
    write_parquet(c.coverage_rows, out / COVERAGE_FILE)
    summary = {
        "flow": c.flow.to_dicts(),
        "excluded": c.excluded,
        "no_time": c.no_time,
        "diagnostics": c.diagnostics,
        "variants": list(c.follow_ups),
        "timings_seconds": {k: round(v, 2) for k, v in c.timings.items()},
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")


def _stack(follow_ups: dict[str, pl.DataFrame]) -> pl.DataFrame:
    if not follow_ups:
        return pl.DataFrame({"variant": []}, schema={"variant": pl.String})
    return pl.concat([f.with_columns(pl.lit(v).alias("variant")) for v, f in follow_ups.items()])


def read_cohort(in_dir: str | Path, variants: Callable[[str], bool] | None = None) -> Cohort:
    """The cohort folder `write_cohort` wrote; with `variants`, only the follow-ups it accepts
    (a rule reads what it analyses: the primary follow-up, or the sensitivity variants)."""
    d = Path(in_dir)
    summary = json.loads((d / SUMMARY_FILE).read_text())
    follow_ups = {}
    for v in summary["variants"]:
        if variants is not None and not variants(v):
            continue
        file = FOLLOW_UPS_FILE if v in FULL_VARIANTS else SENSITIVITY_FILE
        follow_ups[v] = (
            pl.scan_parquet(d / file).filter(pl.col("variant") == v).drop("variant").collect()
        )
    return Cohort(
        flow=pl.DataFrame(summary["flow"]),
        excluded=summary["excluded"],
        diagnostics=summary["diagnostics"],
        index=pl.read_parquet(d / INDEX_FILE),
        follow_ups=follow_ups,
        no_time=summary["no_time"],
        coverage_rows=pl.read_parquet(d / COVERAGE_FILE),
        timings=summary["timings_seconds"],
    )


COURT_SOURCES = ("crown", "mags")


def read_court_inputs(paths: dict[str, Any], s: Settings) -> dict[str, pl.DataFrame | None]:
    """Read only the columns the cohort uses (the magistrates' table is large), with each court
    row's person ID from the person lookup (rule person_ids)."""
    mags_cols = [
        "row_id", "case_id", "defendant_id", "proceeding_type", "offence_date",
        "first_hearing_date", "disposal_date", "outcome_group", "age_at_offence",
    ]  # fmt: skip
    crown_cols = [*INDEX_COLUMNS, "offence_date", "age_at_offence"]
    # Without the magistrates' table (or the journey table) they are read as empty tables:
    # re-appearances are then Crown Court ones only (socflow.coverage notes it).
    crown = pl.read_parquet(paths["crown"], columns=crown_cols)
    mags = read_ingested(paths.get("mags"), "mags_defendant_cases", mags_cols)
    ids = {src: read_person_ids(paths["person_ids"], src, s.fanout_rule) for src in COURT_SOURCES}
    # A link whose keys match no court row is a mapping error, not a cohort without persons.
    check_link_matches(ids["crown"], crown, "crown", "crown_defendant_cases")
    check_link_matches(ids["mags"], mags, "mags", "mags_defendant_cases")
    prison_journeys = read_ingested(paths.get("prison_journeys"), "prison_journeys")
    return {
        "crown": attach_person_ids(crown, ids["crown"]),
        "mags": attach_person_ids(mags, ids["mags"]),
        "journey": read_ingested(paths.get("journey"), "mags_crown_journey"),
        "prison_journeys": prison_journeys,
        # Persons are followed through the court rows, and the prison rows when release dates
        # come from the prison journeys: the other linked datasets' rows stay unread.
        "prison_ids": read_person_ids(paths["person_ids"], "prison", s.fanout_rule)
        if prison_journeys.height
        else None,
    }


def run_survival_cohort(paths: dict[str, Any], cfg: dict[str, Any], out_dir: str | Path) -> Cohort:
    """Rule survival_cohort: read the court data and person IDs, build and write the cohort."""
    s = Settings.from_config(cfg)
    data = read_court_inputs(paths, s)
    log.info("inputs: %s", {k: v.height for k, v in data.items() if v is not None})
    cohort = build_cohort(data["crown"], data["mags"], data["journey"], s,
                          data["prison_journeys"], data["prison_ids"])  # fmt: skip
    for variant, f in cohort.follow_ups.items():
        log.info("follow-up %s: %s persons with time at risk", variant, f.height)
    write_cohort(cohort, out_dir)
    return cohort
