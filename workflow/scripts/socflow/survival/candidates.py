"""The stage's would-be outputs (candidates) for the disclosure stage."""

from __future__ import annotations

from typing import Any

import polars as pl

from socflow.outputs import STATISTICS_SCHEMA, Candidate
from socflow.survival.clusters import CLUSTER_LABELS
from socflow.survival.followup import days_label
from socflow.survival.results import Results
from socflow.survival.settings import GROUP, SOC_LABEL, Settings


def _statistics(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=STATISTICS_SCHEMA)


def linkage_statistics(r: Results) -> pl.DataFrame:
    """Shares describing the usability of the person ID, and counts of rows left out.

    Shares rest on the persons (or rows) of their denominator; counts of rows left out rest on
    themselves, so that a small count is withheld by the disclosure stage.
    """
    d = r.diagnostics
    cov = r.coverage
    usable = int(cov.filter(pl.col("person_id_status") == "usable person ID")["persons"].sum())
    total = int(cov["persons"].sum())
    rows: list[dict[str, Any]] = [
        {
            "statistic": "share of Crown Court defendants (study window) with a usable person ID",
            "value": usable / total if total else None,
            "n_persons": total,
        },
        {
            "statistic": "share of Crown Court rows linked to a person ID",
            "value": d["crown_rows_linked"] / d["crown_rows"] if d["crown_rows"] else None,
            "n_persons": d["crown_defendant_ids"],
        },
        {
            "statistic": "share of magistrates' rows linked to a person ID",
            "value": d["mags_rows_linked"] / d["mags_rows"] if d["mags_rows"] else None,
            "n_persons": d["mags_defendant_ids"],
        },
        {
            "statistic": "share of linked Crown Court rows carrying two or more person IDs",
            "value": d["crown_rows_fanout"] / max(d["crown_rows_linked"], 1),
            "n_persons": d["crown_defendant_ids"],
        },
        {
            "statistic": "share of linked magistrates' rows carrying two or more person IDs",
            "value": d["mags_rows_fanout"] / max(d["mags_rows_linked"], 1),
            "n_persons": d["mags_defendant_ids"],
        },
        {
            "statistic": "share of Crown Court defendant IDs with two or more person IDs "
            "(possible split persons)",
            "value": d["crown_defendant_ids_with_2plus_person_ids"]
            / max(d["crown_defendant_ids"], 1),
            "n_persons": d["crown_defendant_ids"],
        },
        {
            "statistic": "share of person IDs whose rows imply birth years more than 2 years apart "
            "(possible merged persons)",
            "value": d["person_ids_inconsistent_birth_year"] / max(d["person_ids"], 1),
            "n_persons": d["person_ids"],
        },
    ]
    for reason, n in r.excluded.items():
        rows.append({"statistic": f"left out: {reason}", "value": float(n), "n_persons": n})
    return _statistics(rows)


PH_TRANSFORM_LABELS = {
    "km": "km: one minus the Kaplan-Meier estimate",
    "rank": "rank of time",
    "identity": "time",
    "log": "log of time",
}


def cox_candidates(r: Results) -> list[Candidate]:
    """The Cox model (coefficients, levels, fit) and its proportional-hazards tests."""
    s = r.settings
    if r.cox is None or r.design is None:
        return []
    fit, design = r.cox, r.design
    level_rows = design.levels.filter(~pl.col("term").is_in(fit.strata))
    notes = [
        "Cox proportional hazards (Efron ties) of time to first re-appearance; "
        "reference levels: "
        + "; ".join(f"{t} = {lvl}" for t, lvl in design.reference.items() if t not in fit.strata),
        f"robust (sandwich) standard errors clustered by {CLUSTER_LABELS[s.cluster]} "
        f"({fit.n_clusters:,} clusters)",
        f"{round(100 * s.confidence_level)}% intervals on the hazard-ratio scale",
    ]
    if fit.strata:
        notes.append("stratified on " + ", ".join(fit.strata) + " (proportional hazards failed)")
    notes += fit.notes
    fit_stats = _statistics(
        [
            {"statistic": "persons", "value": float(fit.n_persons), "n_persons": fit.n_persons},
            {
                "statistic": "re-appearances (events)",
                "value": float(fit.n_events),
                "n_persons": fit.n_events,
            },
            {"statistic": "parameters", "value": float(fit.n_params), "n_persons": fit.n_persons},
            {
                "statistic": f"clusters ({CLUSTER_LABELS[s.cluster]})",
                "value": float(fit.n_clusters),
                "n_persons": fit.n_persons,
            },
            {
                "statistic": "partial log-likelihood",
                "value": fit.log_likelihood,
                "n_persons": fit.n_persons,
            },
            {
                "statistic": "concordance (C-index)",
                "value": fit.concordance,
                "n_persons": fit.n_persons,
            },
        ]
    )
    model = Candidate(
        output_id="survival_cox",
        kind="model",
        title="Hazard of re-appearance: Cox model of SOC status with covariates",
        data=fit.coefficients,
        spec={
            "residual_df": int(fit.n_persons - fit.n_params),
            "estimate": "hazard_ratio",
            "ci_scale": "hazard_ratio",
            "strata": fit.strata,
            "cluster": s.cluster,
            "sampled": fit.sampled,
        },
        extra={"levels": level_rows, "fit": fit_stats},
        notes="; ".join(notes),
        figure={
            "type": "forest",
            "label": "level",
            "estimate": "hazard_ratio",
            "lower": "ci_lower",
            "upper": "ci_upper",
            "ref": 1.0,
            "log": True,
        },
    )
    ph_rows = []
    for which, table in (
        ("before stratification", fit.ph_test),
        ("final model", fit.ph_test_final),
    ):
        if which == "final model" and not fit.strata:
            continue
        for term, chi2, df, p in table.iter_rows():
            name = "all terms" if term == "GLOBAL" else term
            ph_rows.append(
                {
                    "statistic": f"PH test, {which}: {name}: chi-square ({df} df)",
                    "value": chi2,
                    "n_persons": fit.n_persons,
                }
            )
            ph_rows.append({"statistic": f"PH test, {which}: {name}: p-value", "value": p,
                            "n_persons": fit.n_persons})  # fmt: skip
    ph = Candidate(
        output_id="survival_ph_test",
        kind="statistics",
        title="Proportional-hazards check: does each hazard ratio drift over follow-up?",
        data=_statistics(ph_rows),
        notes=(
            "Score test of each term times a transform of time (R's cox.zph, transform "
            f"{PH_TRANSFORM_LABELS[s.cox.ph_transform]}) per term (joint over its levels) and "
            "for all terms; "
            f"a term other than SOC status with p < {s.cox.ph_alpha} is moved into strata, "
            f"worst first, up to {s.cox.max_strata_terms} terms. With hundreds of thousands of "
            "persons the test detects departures too small to matter."
        ),
    )
    return [model, ph]


def build_candidates(r: Results) -> list[Candidate]:
    """Every would-be output of the stage, for the disclosure stage."""
    s = r.settings
    last = days_label(max(s.horizons_days))
    linkage = linkage_statistics(r)
    start_rule = (
        "disposal date"
        if s.release_fraction == 0
        else f"disposal date, or for immediate custody disposal plus {s.release_fraction:g} of "
        "the custodial term (estimated release)"
    )
    definitions = (
        f"Index: first Crown Court case disposed {s.first_disposal_date} to "
        f"{s.last_disposal_date}; time at risk starts at the {start_rule}; event: first new case "
        f"for an offence after that, timed by {s.timing.replace('_', ' ')}; censored at "
        f"{s.censor_date} ({s.censor_reason}, less a {s.waiting_period_days}-day waiting period)."
    )
    # SOC first, as in every other table, so that figures use the same colours.
    km = r.km.sort(pl.col(GROUP) != SOC_LABEL, GROUP, "time").select(
        GROUP, "time", "at_risk", "events", "censored", "estimate", "ci_lower", "ci_upper"
    )
    lr = r.logrank
    n_all = r.follow.height
    out: list[Candidate | None] = [
        Candidate(
            output_id="survival_cohort_flow",
            kind="statistics",
            title="Who is followed: Crown Court defendants from the extract to the index events",
            data=r.flow.select(
                pl.col("step").alias("statistic"),
                pl.col("persons").cast(pl.Float64).alias("value"),
                pl.lit(None, dtype=pl.Float64).alias("ci_lower"),
                pl.lit(None, dtype=pl.Float64).alias("ci_upper"),
                pl.col("persons").cast(pl.Int64).alias("n_persons"),
            ),
            notes="Distinct persons left after each step (the person ID, else the Crown Court "
            "defendant ID). " + definitions,
        ),
        Candidate(
            output_id="survival_id_coverage",
            kind="frequency",
            title="Crown Court defendants in the study window by cross-justice person ID",
            data=r.coverage,
            spec={"row": "person_id_status", "col": GROUP, "count": "persons"},
            notes="A defendant without a person ID cannot be followed into the magistrates' "
            "courts and is left out of the re-appearance analysis.",
        ),
        Candidate(
            output_id="survival_linkage",
            kind="statistics",
            title="Linkage: coverage and quality of the cross-justice person ID",
            data=linkage,
            # Shares of persons state two counts each: the disclosure stage withholds a share
            # whose count, or complement, is below the threshold.
            spec={"person_shares": [x for x in linkage["statistic"] if x.startswith("share of")]},
            notes=f"Rows linked to two or more IDs take the {s.fanout_rule.replace('_', ' ')} "
            "one. The linking table carries no match score, so no linkage threshold can be "
            "varied for persons; the journey table's match score is varied below.",
        ),
        Candidate(
            output_id="survival_km",
            kind="survival",
            title="Cumulative re-appearance after a Crown Court case, SOC and non-SOC",
            data=km,
            spec={
                "group": GROUP,
                "time_unit": "days",
                "estimate": "cumulative re-appearance (1 - Kaplan-Meier survival)",
                "confidence_level": s.confidence_level,
            },
            notes=definitions + " Bands: log-log (exponential Greenwood).",
            figure={"type": "km", "group": GROUP},
        ),
        Candidate(
            output_id="survival_at_risk",
            kind="frequency",
            title="Numbers at risk: persons still followed and not yet re-appeared",
            data=r.at_risk.sort("days", pl.col(GROUP) != SOC_LABEL).select(
                "time_since_start", GROUP, "persons"
            ),
            spec={"row": "time_since_start", "col": GROUP, "count": "persons"},
            notes="Persons at risk at each time since the start of time at risk; the Total row "
            "adds persons over times and has no meaning of its own.",
        ),
        Candidate(
            output_id="survival_logrank",
            kind="statistics",
            title="Log-rank test: SOC against non-SOC",
            data=_statistics(
                [
                    {
                        "statistic": f"log-rank chi-square ({lr.df} df)",
                        "value": lr.chi2,
                        "n_persons": n_all,
                    },
                    {"statistic": "log-rank p-value", "value": lr.p_value, "n_persons": n_all},
                ]
            ),
        ),
        Candidate(
            output_id="survival_proportions",
            kind="statistics",
            title="Re-appearance within 1 and 2 years (Kaplan-Meier), with intervals",
            data=r.proportions,
            notes=f"{round(100 * s.confidence_level)}% log-log intervals; n_persons: "
            "persons followed from the start of time at risk.",
        ),
        Candidate(
            output_id="survival_reappearance_counts",
            kind="frequency",
            title=f"New cases per person within {days_label(s.count_window_days)}",
            data=r.counts,
            spec={"row": "new_cases", "col": GROUP, "count": "persons"},
            notes=f"Persons whose follow-up covers the whole {days_label(s.count_window_days)}; "
            "distinct new cases (a case in both courts counts once).",
            figure={
                "type": "bar",
                "x": "new_cases",
                "y": "persons",
                "group": GROUP,
                "share_within": GROUP,
                "horizontal": False,
            },
        ),
        Candidate(
            output_id="survival_status",
            kind="frequency",
            title=f"What happened by {last}: re-appearance and censoring",
            data=r.status,
            spec={"row": "status", "col": GROUP, "count": "persons"},
            notes="Competing events (death, deportation, emigration) are not in court data and "
            "count as continued follow-up.",
        ),
        Candidate(
            output_id="survival_follow_up",
            kind="frequency",
            title="Follow-up available per person (start of time at risk to censoring)",
            data=r.follow_up,
            spec={"row": "follow_up_available", "col": GROUP, "count": "persons"},
            figure={
                "type": "bar",
                "x": "follow_up_available",
                "y": "persons",
                "group": GROUP,
                "share_within": GROUP,
                "horizontal": True,
            },
        ),
        # The sensitivity table comes from its own rule (survival_sensitivity) when `r` has none:
        # its place in the stage's order is kept.
        sensitivity_candidate(r.sensitivity, s) if r.sensitivity is not None else None,
    ]
    out += cox_candidates(r)
    if r.cox_error:
        out.append(
            Candidate(
                output_id="survival_cox_not_fitted",
                kind="statistics",
                title="Cox model not fitted",
                data=_statistics(
                    [{"statistic": "persons", "value": float(n_all), "n_persons": n_all}]
                ),
                notes=r.cox_error,
            )
        )
    for i, c in enumerate(out, start=1):
        if c is not None:
            c.order = i
    return [c for c in out if c is not None]


# The sensitivity table's place among the stage's outputs (`build_candidates`).
SENSITIVITY_ORDER = 11


def sensitivity_candidate(sensitivity: pl.DataFrame, s: Settings) -> Candidate:
    """The sensitivity table (`socflow.survival.run.sensitivity_rows`) as a candidate, in its
    place in the stage's order."""
    last = days_label(max(s.horizons_days))
    return Candidate(
        output_id="survival_sensitivity",
        kind="statistics",
        title=f"Re-appearance within {last}: sensitivity to custody and journey linkage",
        data=sensitivity,
        notes="Release fraction: share of an immediate custodial term assumed served before "
        "release (0: time at risk starts at disposal). Journey match score: the minimum "
        "score at which a magistrates' case and a Crown Court case count as one case.",
        order=SENSITIVITY_ORDER,
    )
