"""The flag-dependent part of the stage (rule survival): SOC status, estimates, tables."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import polars as pl

from socflow.mapping import check_link_matches
from socflow.outputs import write_candidates
from socflow.parquet import write_parquet
from socflow.survival.candidates import build_candidates, sensitivity_candidate
from socflow.survival.cohort import check_flags_cover, flagged_cases, with_soc_status_each
from socflow.survival.cox import cox_analysis
from socflow.survival.kaplan_meier import at_risk_table, kaplan_meier, logrank
from socflow.survival.linking import attach_person_ids, resolve_person_ids
from socflow.survival.prepare import (
    ESTIMATED_RELEASE,
    PRIMARY,
    Cohort,
    build_cohort,
    read_cohort,
)
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
    """The whole stage in one call: link (from the linking table `link`), build the cohort
    (`socflow.survival.prepare.build_cohort`) and analyse it with the flags (`analyse_cohort`).

    With `prison_journeys` (and `survival.time_at_risk.release_from_prison_journey`), time at
    risk after immediate custody starts at the release date of the index case's prison
    journey; the estimated release is the fallback for unmatched persons, and the model and
    curves refitted with it alone are added to the sensitivity table.
    """
    ids = {src: resolve_person_ids(link, src, s.fanout_rule) for src in ("crown", "mags")}
    check_link_matches(ids["crown"], crown, "crown", "crown_defendant_cases")
    check_link_matches(ids["mags"], mags, "mags", "mags_defendant_cases")
    crown = attach_person_ids(crown, ids["crown"])
    mags = attach_person_ids(mags, ids["mags"])
    prison_ids = None
    if prison_journeys is not None and prison_journeys.height:
        prison_ids = resolve_person_ids(link, "prison", s.fanout_rule)
    cohort = build_cohort(
        crown, mags, journey, s, prison_journeys, prison_ids, flagged_cases(flags, s)
    )
    return analyse_cohort(cohort, flags, s, fit_model)


def analyse_cohort(
    cohort: Cohort,
    flags: pl.DataFrame,
    s: Settings,
    fit_model: bool = True,
    sensitivity: bool = True,
) -> Results:
    """SOC status of every index person from `flags`, then the curves, tests, tables and the
    Cox model of the primary follow-up, and (with `sensitivity`) the sensitivity table from
    the other variants. Rule survival leaves the sensitivity table to rule
    survival_sensitivity (`sensitivity_rows`), which runs beside it."""
    check_flags_cover(cohort.coverage_rows, flags, s)
    timings = dict(cohort.timings)
    status = with_soc_status_each(
        {"index": cohort.index, "follow": cohort.follow_ups[PRIMARY]}, flags, s
    )
    index, follow = status["index"], status["follow"]
    flow = pl.concat(
        [
            cohort.flow,
            pl.DataFrame(
                {
                    "step": ["with time at risk before the censoring date"],
                    "defendant_cases": [follow.height],
                    "persons": [follow.height],
                }
            ),
        ]
    )
    km = kaplan_meier(follow, GROUP, s.confidence_level)
    test = logrank(follow, GROUP)
    props = proportions(follow, s)
    t1 = time.perf_counter()
    cox = design = None
    error = ""
    if fit_model:
        try:
            cox, design, _ = cox_analysis(follow, s)
        except Exception as exc:  # a failed fit is reported, never fatal
            error = f"{type(exc).__name__}: {exc}"
            log.error("Cox model not fitted: %s", error)
    timings["cox"] = time.perf_counter() - t1
    table = None
    if sensitivity:
        others = {v: f for v, f in cohort.follow_ups.items() if v != PRIMARY}
        table = sensitivity_rows(others, flags, s, fit_model and cox is not None)
    coverage_rows = cohort.coverage_rows
    return Results(
        settings=s,
        flow=flow,
        excluded=cohort.excluded,
        diagnostics=cohort.diagnostics,
        index=index,
        follow=follow,
        km=km,
        logrank=test,
        proportions=props,
        at_risk=at_risk_table(follow, s.at_risk_times_days),
        counts=count_frequency(follow, s),
        status=status_frequency(follow, index, s, cohort.no_time),
        follow_up=follow_up_frequency(follow, s),
        coverage=coverage_frequency(coverage_rows, flags, s),
        sensitivity=table,
        cox=cox,
        design=design,
        cox_error=error,
        timings=timings,
    )


def sensitivity_rows(
    follow_ups: dict[str, pl.DataFrame], flags: pl.DataFrame, s: Settings, fit_model: bool
) -> pl.DataFrame:
    """The sensitivity table from the follow-ups other than the primary one (without SOC
    status): re-appearance rates by release fraction and journey match score, then those with
    the estimated release for every custodial person and (with `fit_model`) its Cox hazard
    ratio of SOC status."""
    with_status = with_soc_status_each(follow_ups, flags, s)
    rows = sensitivity_table([(v, f) for v, f in with_status.items() if v != ESTIMATED_RELEASE], s)
    estimated = with_status.get(ESTIMATED_RELEASE)
    if estimated is None:
        return rows
    return pl.concat([rows, estimated_release_rows(estimated, s, fit_model)])


def estimated_release_rows(estimated: pl.DataFrame, s: Settings, fit: bool) -> pl.DataFrame:
    """Sensitivity rows: the Kaplan-Meier rates at every horizon and the Cox hazard ratio of
    SOC status with time at risk from the estimated release for every custodial person."""
    label = f"estimated release (fraction {s.release_fraction:g}) for every person: "
    rows = proportions(estimated, s, prefix=label)
    if fit:
        try:
            cox, _, _ = cox_analysis(estimated, s, concordance=False)
            soc = cox.coefficients.filter(pl.col("term") == GROUP).row(0, named=True)
            rows = pl.concat([rows, pl.DataFrame({
                "statistic": [f"{label}Cox hazard ratio, SOC vs non-SOC"],
                "value": [float(soc["hazard_ratio"])], "ci_lower": [float(soc["ci_lower"])],
                "ci_upper": [float(soc["ci_upper"])], "n_persons": [cox.n_persons],
            }, schema=rows.schema)])  # fmt: skip
            log.info("Cox fit with the estimated release: %.1f s on %s persons; %s Newton "
                     "steps", cox.seconds, cox.n_persons, cox.iterations)  # fmt: skip
        except Exception as exc:  # a failed fit is reported, never fatal
            log.error("Cox model with the estimated release not fitted: %s", exc)
    return rows


def settings_for(cfg: dict[str, Any], sdc: dict[str, Any]) -> Settings:
    """The stage's settings from its config section, with the model's levels pooled to the
    disclosure thresholds, so that the model can be published."""
    merged = dict(cfg)
    cox = dict(merged.get("cox", {}))
    cox["min_level_persons"] = int(sdc.get("min_level_persons", 10))
    cox["min_level_events"] = int(sdc.get("min_level_events", 10))
    merged["cox"] = cox
    return Settings.from_config(merged)


def run_survival(
    paths: dict[str, str],
    cfg: dict[str, Any],
    sdc: dict[str, Any],
    out_follow_up: str | Path,
    out_summary: str | Path,
    out_candidates: str | Path,
) -> Results:
    """The rule's work: read inputs, analyse, write the person-level table and candidates."""
    s = settings_for(cfg, sdc)
    cohort = read_cohort(paths["cohort"], variants=lambda v: v == PRIMARY)
    flags = pl.read_parquet(paths["flags"])
    r = analyse_cohort(cohort, flags, s, sensitivity=False)
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
    write_parquet(r.follow.select(keep), out_follow_up)
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


def run_survival_sensitivity(
    paths: dict[str, str], cfg: dict[str, Any], sdc: dict[str, Any], out_candidates: str | Path
) -> pl.DataFrame:
    """Rule survival_sensitivity: the sensitivity table from the cohort's other follow-ups
    and the flags, written as the stage's further candidates folder."""
    s = settings_for(cfg, sdc)
    cohort = read_cohort(paths["cohort"], variants=lambda v: v != PRIMARY)
    flags = pl.read_parquet(paths["flags"])
    check_flags_cover(cohort.coverage_rows, flags, s)
    rows = sensitivity_rows(cohort.follow_ups, flags, s, fit_model=True)
    for variant, f in cohort.follow_ups.items():
        log.info("sensitivity variant %s: %s persons", variant, f.height)
    write_candidates([sensitivity_candidate(rows, s)], out_candidates, stage="survival")
    return rows
