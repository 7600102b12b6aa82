"""The whole stage: analyse the inputs, and the rule's entry point."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import polars as pl

from socflow.mapping import check_link_matches, read_ingested
from socflow.outputs import write_candidates
from socflow.survival.candidates import build_candidates
from socflow.survival.cases import court_rows, new_cases
from socflow.survival.cohort import INDEX_COLUMNS, index_events
from socflow.survival.cox import cox_analysis
from socflow.survival.followup import follow_up
from socflow.survival.kaplan_meier import at_risk_table, kaplan_meier, logrank
from socflow.survival.linking import attach_person_ids, linkage_diagnostics, resolve_person_ids
from socflow.survival.results import Results
from socflow.survival.settings import GROUP, Settings
from socflow.survival.tables import (
    count_frequency,
    coverage_frequency,
    follow_up_frequency,
    proportions,
    sensitivity_table,
    status_frequency,
)

log = logging.getLogger(__name__)


def analyse(
    crown: pl.DataFrame,
    mags: pl.DataFrame,
    link: pl.DataFrame,
    journey: pl.DataFrame,
    flags: pl.DataFrame,
    s: Settings,
    fit_model: bool = True,
    prison_journeys: pl.DataFrame | None = None,
) -> Results:
    """Run the stage: link, index events, new cases, follow-up, curves, tests, model.

    With `prison_journeys` (and `survival.time_at_risk.release_from_prison_journey`), time at
    risk after immediate custody starts at the release date of the index case's prison
    journey (`prison_releases`); the estimated release is the fallback for unmatched persons,
    and the model and curves refitted with it alone are added to the sensitivity table.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    crown_ids = resolve_person_ids(link, "crown", s.fanout_rule)
    mags_ids = resolve_person_ids(link, "mags", s.fanout_rule)
    # A link whose keys match no court row is a mapping error, not a cohort without persons.
    check_link_matches(crown_ids, crown, "crown", "crown_defendant_cases")
    check_link_matches(mags_ids, mags, "mags", "mags_defendant_cases")
    crown = attach_person_ids(crown, crown_ids)
    mags = attach_person_ids(mags, mags_ids)
    diagnostics = linkage_diagnostics(crown, mags)
    index, flow = index_events(crown, flags, s)
    tables = court_rows(crown, mags, journey, index.select("person"), s)
    cases = new_cases(tables, s)
    timings["link_and_cases"] = time.perf_counter() - t0
    releases = None
    if prison_journeys is not None and prison_journeys.height:
        releases = prison_releases(index, prison_journeys, link, s)
        log.info("custodial index persons released per their prison journey: %s of %s",
                 releases.height, index.filter(pl.col("custody")).height)  # fmt: skip
    follow, no_time = follow_up(index, cases, s, releases=releases)
    flow = pl.concat(
        [
            flow,
            pl.DataFrame(
                {
                    "step": ["with time at risk before the censoring date"],
                    "defendant_cases": [follow.height],
                    "persons": [follow.height],
                }
            ),
        ]
    )
    excluded = {**tables.excluded, **{f"index persons: {k}": v for k, v in no_time.items()}}
    km = kaplan_meier(follow, GROUP, s.confidence_level)
    test = logrank(follow, GROUP)
    props = proportions(follow, s)
    sensitivity = sensitivity_table(index, tables, s, cases)
    t1 = time.perf_counter()
    cox = design = None
    error = ""
    if fit_model:
        try:
            cox, design, _ = cox_analysis(follow, s)
        except Exception as exc:  # a failed fit is reported, never fatal
            error = f"{type(exc).__name__}: {exc}"
            log.error("Cox model not fitted: %s", error)
    if releases is not None:
        estimated, _ = follow_up(index, cases, s)
        sensitivity = pl.concat(
            [sensitivity, estimated_release_rows(estimated, s, fit_model and cox is not None)]
        )
    timings["cox"] = time.perf_counter() - t1
    return Results(
        settings=s,
        flow=flow,
        excluded=excluded,
        diagnostics=diagnostics,
        index=index,
        follow=follow,
        km=km,
        logrank=test,
        proportions=props,
        at_risk=at_risk_table(follow, s.at_risk_times_days),
        counts=count_frequency(follow, s),
        status=status_frequency(follow, index, s, no_time),
        follow_up=follow_up_frequency(follow, s),
        coverage=coverage_frequency(crown, flags, s),
        sensitivity=sensitivity,
        cox=cox,
        design=design,
        cox_error=error,
        timings=timings,
    )


def prison_releases(
    index: pl.DataFrame, prison_journeys: pl.DataFrame, link: pl.DataFrame, s: Settings
) -> pl.DataFrame:
    """person, release_date of each custodial index person matched to a prison journey
    (socflow.custody.matching; its `custody.match` rule)."""
    # Imported here: socflow.custody builds on socflow.survival's person linking.
    from socflow.custody.matching import (  # noqa: PLC0415
        NEAR,
        SPANS,
        match_journeys,
        prison_journeys_with_persons,
    )
    from socflow.custody.settings import MatchSettings  # noqa: PLC0415

    prison = prison_journeys_with_persons(prison_journeys, link, s.fanout_rule)
    rule = MatchSettings(window_days=s.release_match_window_days, fanout_rule=s.fanout_rule)
    matched = match_journeys(
        index, prison, rule, person="person", case="defendant_on_case_id",
        disposal="disposal_date", custodial="custody",
    )  # fmt: skip
    return matched.filter(pl.col("match_type").is_in([SPANS, NEAR])).select(
        "person", "release_date"
    )


def estimated_release_rows(estimated: pl.DataFrame, s: Settings, fit: bool) -> pl.DataFrame:
    """Sensitivity rows: the Kaplan-Meier rates at every horizon and the Cox hazard ratio of
    SOC status with time at risk from the estimated release for every custodial person."""
    label = f"estimated release (fraction {s.release_fraction:g}) for every person: "
    rows = proportions(estimated, s, prefix=label)
    if fit:
        try:
            cox, _, _ = cox_analysis(estimated, s)
            soc = cox.coefficients.filter(pl.col("term") == GROUP).row(0, named=True)
            rows = pl.concat([rows, pl.DataFrame({
                "statistic": [f"{label}Cox hazard ratio, SOC vs non-SOC"],
                "value": [float(soc["hazard_ratio"])], "ci_lower": [float(soc["ci_lower"])],
                "ci_upper": [float(soc["ci_upper"])], "n_persons": [cox.n_persons],
            }, schema=rows.schema)])  # fmt: skip
        except Exception as exc:  # a failed fit is reported, never fatal
            log.error("Cox model with the estimated release not fitted: %s", exc)
    return rows


COURT_SOURCES = ("crown", "mags")


def read_inputs(paths: dict[str, str | None]) -> dict[str, pl.DataFrame]:
    """Read only the columns the stage uses (the magistrates' table is large)."""
    mags_cols = [
        "row_id", "case_id", "defendant_id", "proceeding_type", "offence_date",
        "first_hearing_date", "disposal_date", "outcome_group", "age_at_offence",
    ]  # fmt: skip
    crown_cols = [*INDEX_COLUMNS, "offence_date", "age_at_offence"]
    # Without the magistrates' table (or the journey table) they are read as empty tables:
    # re-appearances are then Crown Court ones only (socflow.coverage notes it).
    sources = [*COURT_SOURCES, *(["prison"] if paths.get("prison_journeys") else [])]
    return {
        "crown": pl.read_parquet(paths["crown"], columns=crown_cols),
        "mags": read_ingested(paths.get("mags"), "mags_defendant_cases", mags_cols),
        # Persons are followed through the court rows, and the prison rows when release dates
        # come from the prison journeys: the other linked datasets' rows of the linking table
        # (OASys, probation, PNC: as many again at full size) stay unread.
        "link": pl.scan_parquet(paths["link"])
        .filter(pl.col("source_dataset").cast(pl.String).is_in(sources))
        .collect(),
        "journey": read_ingested(paths.get("journey"), "mags_crown_journey"),
        "flags": pl.read_parquet(paths["flags"]),
        "prison_journeys": read_ingested(paths.get("prison_journeys"), "prison_journeys"),
    }


def run_survival(
    paths: dict[str, str],
    cfg: dict[str, Any],
    sdc: dict[str, Any],
    out_follow_up: str | Path,
    out_summary: str | Path,
    out_candidates: str | Path,
) -> Results:
    """The rule's work: read inputs, analyse, write the person-level table and candidates."""
    merged = dict(cfg)
    cox = dict(merged.get("cox", {}))
    # Levels are pooled to the disclosure thresholds, so that the model can be published.
    cox["min_level_persons"] = int(sdc.get("min_level_persons", 10))
    cox["min_level_events"] = int(sdc.get("min_level_events", 10))
    merged["cox"] = cox
    s = Settings.from_config(merged)
    data = read_inputs(paths)
    log.info("inputs: %s", {k: v.height for k, v in data.items()})
    r = analyse(data["crown"], data["mags"], data["link"], data["journey"], data["flags"], s,
                prison_journeys=data["prison_journeys"])  # fmt: skip
    for step in r.flow.iter_rows(named=True):
        log.info("cohort: %s: %s persons", step["step"], step["persons"])
    for reason, n in r.excluded.items():
        log.info("left out: %s: %s", reason, n)
    if r.cox is not None:
        log.info("Cox fit %.1f s on %s persons in %s clusters (%s); %s Newton steps, scaled "
                 "gradient %.1e; notes: %s", r.cox.seconds, r.cox.n_persons, r.cox.n_clusters,
                 s.cluster, r.cox.iterations, r.cox.scaled_gradient,
                 "; ".join(r.cox.notes) or "none")  # fmt: skip
    keep = [c for c in r.follow.columns if c not in ("row_id",)]
    Path(out_follow_up).parent.mkdir(parents=True, exist_ok=True)
    r.follow.select(keep).write_parquet(out_follow_up)
    summary = {
        "censor_date": str(s.censor_date),
        "censor_reason": s.censor_reason,
        "release_fraction": s.release_fraction,
        "timing": s.timing,
        "timings_seconds": {k: round(v, 2) for k, v in r.timings.items()},
        "cox_seconds": round(r.cox.seconds, 2) if r.cox else None,
        "cox_strata": r.cox.strata if r.cox else None,
        "cox_cluster": s.cluster,
        "cox_clusters": r.cox.n_clusters if r.cox else None,
        "cox_newton_steps": r.cox.iterations if r.cox else None,
        "cox_scaled_gradient": r.cox.scaled_gradient if r.cox else None,
        "cox_error": r.cox_error,
        "diagnostics": r.diagnostics,
        "excluded": r.excluded,
    }
    Path(out_summary).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_candidates(build_candidates(r), out_candidates, stage="survival")
    return r
