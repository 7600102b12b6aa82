"""Re-appearance before the courts after a Crown Court case: SOC against non-SOC (aim 4).

Court data hold no PNC record and no cautions, so the study measures *re-appearance*: a new case,
in either court, for an offence committed after the start of time at risk, found through the
cross-justice person ID of the linking table.

* **Persons.** Every Crown Court and magistrates' row is given one person ID from `xjs_link`: a
  row linked to two or more IDs takes one deterministically (the smallest, as
  `socflow.soc.person_keys` does, or the ID with the most linked rows). Rows with no ID cannot be
  followed and are counted, not used.
* **Index event.** Per person, the first Crown Court defendant-case disposed in the study window
  that meets the cohort definition; SOC status is that defendant-case's flag. Time at risk starts
  at disposal or, for immediate custody, at the estimated release date (disposal plus
  `release_fraction` of the custodial term): time in custody is not time at risk.
* **New cases.** Magistrates' criminal rows (breaches and civil applications are not new
  offences) and Crown Court rows are grouped into cases: rows of one case ID, rows joined by the
  magistrates'-to-Crown journey table (a case sent to the Crown Court is one case, not two), and
  optionally rows of one person with the same offence date, are the same case (connected
  components). A case reached twice, through both courts or through a fanned-out link, counts
  once; the index case itself never counts.
* **Event.** The first new case whose offence date falls after the start of time at risk, timed
  by its offence date or first hearing, recorded (disposed; optionally convicted) within the
  waiting period after the offence. Follow-up is censored `waiting_period_days` before the end of
  the data or of coverage, so that every person's follow-up could have shown a recorded event.

Analyses: Kaplan-Meier cumulative re-appearance with log-log (exponential Greenwood) bands,
numbers at risk, the log-rank test, proportions at fixed horizons, re-appearance counts, and a
Cox model fitted with lifelines (Efron ties) whose robust (sandwich) variance and scaled
Schoenfeld test are computed here in vectorised form, since lifelines' own loops are quadratic
in the number of persons.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from lifelines import CoxPHFitter
from scipy import stats
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from socflow.mapping import read_ingested
from socflow.outputs import STATISTICS_SCHEMA, Candidate, write_candidates
from socflow.soc import person_key_expr

log = logging.getLogger(__name__)

SOC_LABEL = "SOC"
NON_SOC_LABEL = "Non-SOC"
ALL_LABEL = "All"
GROUP = "soc_status"
FANOUT_RULES = ("smallest", "most_linked")
TIMINGS = ("offence_date", "first_hearing")
CLUSTERS = ("person", "case")


# --------------------------------------------------------------------------------------------
# Settings


class SurvivalConfigError(ValueError):
    """The `survival` configuration or the inputs it names cannot be used."""


@dataclass(frozen=True)
class CoxSettings:
    """How the Cox model is specified and fitted."""

    covariates: tuple[str, ...] = (
        "age_band",
        "sex",
        "ethnic_group",
        "offence_group",
        "receipt_year",
        "region",
    )
    cluster: str = "person"
    ph_alpha: float = 0.05
    max_strata_terms: int = 2
    min_level_persons: int = 10
    min_level_events: int = 10
    max_persons: int | None = None
    seed: int = 20130101


@dataclass(frozen=True)
class Settings:
    """Every analysis setting of the stage (config section `survival`)."""

    soc_column: str = "soc"
    first_disposal_date: date = date(2013, 1, 1)
    last_disposal_date: date = date(2020, 12, 31)
    receipt_types: tuple[str, ...] = ("trial", "sentence")
    outcome_groups: tuple[str, ...] = ()
    fanout_rule: str = "smallest"
    release_fraction: float = 0.5
    timing: str = "offence_date"
    convicted_only: bool = False
    convicted_outcome_groups: tuple[str, ...] = ("convicted",)
    waiting_period_days: int = 365
    excluded_proceeding_types: tuple[str, ...] = ("breach", "civil")
    event_crown_receipt_types: tuple[str, ...] = ("trial", "sentence")
    journey_min_match_score: float = 0.0
    merge_same_offence_date: bool = True
    data_end_date: date = date(2020, 12, 31)
    coverage_end_date: date | None = None
    horizons_days: tuple[int, ...] = (365, 730)
    count_window_days: int = 730
    count_bands: tuple[int, ...] = (0, 1, 2, 3, 5)
    follow_up_bands_days: tuple[int, ...] = (0, 182, 365, 730, 1095, 1826)
    at_risk_times_days: tuple[int, ...] = (0, 182, 365, 547, 730, 1095, 1461)
    confidence_level: float = 0.95
    cox: CoxSettings = field(default_factory=CoxSettings)
    sensitivity_release_fractions: tuple[float, ...] = (0.0, 0.5, 1.0)
    sensitivity_journey_scores: tuple[float, ...] = (0.0, 0.5, 0.8, 0.9)

    def __post_init__(self) -> None:
        if self.fanout_rule not in FANOUT_RULES:
            raise SurvivalConfigError(f"survival.fanout_rule must be one of {FANOUT_RULES}")
        if self.timing not in TIMINGS:
            raise SurvivalConfigError(f"survival.event.timing must be one of {TIMINGS}")
        if self.cox.cluster not in CLUSTERS:
            raise SurvivalConfigError(f"survival.cox.cluster must be one of {CLUSTERS}")
        if not 0.0 <= self.release_fraction <= 1.0:
            raise SurvivalConfigError("survival.time_at_risk.release_fraction must lie in [0, 1]")

    @property
    def censor_date(self) -> date:
        """Last date of follow-up: end of data or coverage, less the waiting period."""
        end = self.data_end_date
        if self.coverage_end_date is not None:
            end = min(end, self.coverage_end_date)
        return date.fromordinal(end.toordinal() - self.waiting_period_days)

    @property
    def censor_reason(self) -> str:
        """Why follow-up stops where it does."""
        if self.coverage_end_date is not None and self.coverage_end_date < self.data_end_date:
            return "coverage falls away"
        return "end of data"

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Settings:
        """Build settings from the config section `survival` (defaults already filled)."""
        cohort = cfg.get("cohort", {})
        event = cfg.get("event", {})
        cens = cfg.get("censoring", {})
        cox = cfg.get("cox", {})
        sens = cfg.get("sensitivity", {})
        kw: dict[str, Any] = {
            "soc_column": cfg.get("soc_column", "soc"),
            "fanout_rule": cfg.get("fanout_rule", "smallest"),
            "release_fraction": float(cfg.get("time_at_risk", {}).get("release_fraction", 0.5)),
            "confidence_level": float(cfg.get("confidence_level", 0.95)),
        }
        if "first_disposal_date" in cohort:
            kw["first_disposal_date"] = _date(cohort["first_disposal_date"])
        if "last_disposal_date" in cohort:
            kw["last_disposal_date"] = _date(cohort["last_disposal_date"])
        for key in ("receipt_types", "outcome_groups"):
            if key in cohort:
                kw[key] = tuple(cohort[key])
        for key in ("timing", "convicted_only", "waiting_period_days", "journey_min_match_score",
                    "merge_same_offence_date"):  # fmt: skip
            if key in event:
                kw[key] = event[key]
        for key, name in (
            ("convicted_outcome_groups", "convicted_outcome_groups"),
            ("excluded_proceeding_types", "excluded_proceeding_types"),
            ("crown_receipt_types", "event_crown_receipt_types"),
        ):
            if key in event:
                kw[name] = tuple(event[key])
        if "data_end_date" in cens:
            kw["data_end_date"] = _date(cens["data_end_date"])
        if cens.get("coverage_end_date"):
            kw["coverage_end_date"] = _date(cens["coverage_end_date"])
        for key in ("horizons_days", "count_bands", "follow_up_bands_days", "at_risk_times_days"):
            if key in cfg:
                kw[key] = tuple(int(v) for v in cfg[key])
        if "count_window_days" in cfg:
            kw["count_window_days"] = int(cfg["count_window_days"])
        cox_kw = {k: v for k, v in cox.items() if k in CoxSettings.__dataclass_fields__}
        if "covariates" in cox_kw:
            cox_kw["covariates"] = tuple(cox_kw["covariates"])
        kw["cox"] = CoxSettings(**cox_kw)
        if "release_fractions" in sens:
            kw["sensitivity_release_fractions"] = tuple(float(v) for v in sens["release_fractions"])
        if "journey_min_match_scores" in sens:
            kw["sensitivity_journey_scores"] = tuple(
                float(v) for v in sens["journey_min_match_scores"]
            )
        return cls(**kw)


def _date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _str(column: str) -> pl.Expr:
    """An Enum/categorical column as plain strings, for comparisons with config values."""
    return pl.col(column).cast(pl.String)


# --------------------------------------------------------------------------------------------
# Linking


def resolve_person_ids(link: pl.DataFrame, dataset: str, rule: str = "smallest") -> pl.DataFrame:
    """One cross-justice person ID per row of `dataset` (crown or mags).

    A row linked to several IDs (fan-out) takes the smallest ID ("smallest", as
    socflow.soc.person_keys does) or the ID carried by the most rows of the whole linking table
    ("most_linked", ties to the smallest): a spurious extra ID is usually seen on one row only.
    Returns row_id, person_id and n_ids (how many IDs the row carried).
    """
    if rule not in FANOUT_RULES:
        raise ValueError(f"fan-out rule must be one of {FANOUT_RULES}, got {rule!r}")
    rows = link.filter(_str("source_dataset") == dataset).select("row_id", "person_id")
    if rule == "most_linked":
        weight = link.group_by("person_id").agg(pl.len().alias("n_rows"))
        chosen = (
            pl.col("person_id").sort_by(["n_rows", "person_id"], descending=[True, False]).first()
        )
        rows = rows.join(weight, on="person_id", how="left")
    else:
        chosen = pl.col("person_id").min()
    return rows.group_by("row_id").agg(
        chosen.alias("person_id"), pl.col("person_id").n_unique().alias("n_ids")
    )


def attach_person_ids(rows: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """Rows of a court table with their resolved person_id and n_ids (null if unlinked)."""
    return rows.join(ids.select("row_id", "person_id", "n_ids"), on="row_id", how="left")


def linkage_diagnostics(crown: pl.DataFrame, mags: pl.DataFrame) -> dict[str, float | int]:
    """How usable the cross-justice ID is: coverage, fan-out, signs of split and merged IDs.

    `crown` and `mags` carry person_id and n_ids (`attach_person_ids`). A court-system defendant
    ID carrying two or more person IDs suggests a split person; a person ID whose rows imply
    birth years more than two years apart suggests two persons merged.
    """
    out: dict[str, float | int] = {}
    for name, rows in (("crown", crown), ("mags", mags)):
        counts = rows.select(
            pl.len().alias("rows"),
            pl.col("person_id").is_not_null().sum().alias("linked"),
            (pl.col("n_ids").fill_null(0) > 1).sum().alias("fanout"),
        ).row(0, named=True)
        out[f"{name}_rows"] = int(counts["rows"])
        out[f"{name}_rows_linked"] = int(counts["linked"])
        out[f"{name}_rows_fanout"] = int(counts["fanout"])
        per_def = (
            rows.drop_nulls("person_id")
            .group_by("defendant_id")
            .agg(pl.col("person_id").n_unique().alias("n"))
        )
        out[f"{name}_defendant_ids"] = per_def.height
        out[f"{name}_defendant_ids_with_2plus_person_ids"] = int((per_def["n"] > 1).sum())
    birth_year = pl.col("offence_date").dt.year() - pl.col("age_at_offence").cast(pl.Int32)
    spread = (
        pl.concat([rows.select("person_id", birth_year.alias("by")) for rows in (crown, mags)])
        .drop_nulls("person_id")
        .group_by("person_id")
        .agg((pl.col("by").max() - pl.col("by").min()).alias("s"))
    )
    out["person_ids"] = spread.height
    out["person_ids_inconsistent_birth_year"] = int((spread["s"] > 2).sum())
    return out


# --------------------------------------------------------------------------------------------
# Index events


INDEX_COLUMNS = (
    "row_id",
    "defendant_on_case_id",
    "case_id",
    "defendant_id",
    "receipt_type",
    "receipt_date",
    "disposal_date",
    "outcome_group",
    "sentence_type",
    "custody_days",
    "age_band",
    "sex",
    "ethnic_group",
    "offence_group",
    "receipt_year",
    "region",
)


def index_events(
    crown: pl.DataFrame, flags: pl.DataFrame, s: Settings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each person's index Crown Court defendant-case, and the cohort flow.

    `crown` carries person_id (`attach_person_ids`). The index case is the person's first
    defendant-case (by disposal date, then receipt date, then defendant-case ID) disposed in the
    study window that meets the cohort definition. The flow counts defendant-cases and distinct
    persons (the linked ID, else the court defendant ID) left after each step.
    """
    if s.soc_column not in flags.columns:
        raise SurvivalConfigError(
            f"results/soc/defendant_cases.parquet has no column {s.soc_column!r} "
            "(config survival.soc_column)"
        )
    rows = (
        crown.select(*INDEX_COLUMNS, "person_id", "n_ids")
        .join(
            flags.select("defendant_on_case_id", pl.col(s.soc_column).alias("soc")),
            on="defendant_on_case_id",
            how="left",
        )
        .with_columns(person_key_expr().alias("person_key"))
    )
    steps: list[tuple[str, pl.Expr | None]] = [
        ("Crown Court defendant-cases", None),
        (
            "disposed in the study window",
            pl.col("disposal_date").is_between(s.first_disposal_date, s.last_disposal_date),
        ),
        ("receipt type in the cohort", _str("receipt_type").is_in(list(s.receipt_types))),
    ]
    if s.outcome_groups:
        steps.append(("outcome in the cohort", pl.col("outcome_group").is_in(s.outcome_groups)))
    steps += [
        ("with a SOC flag", pl.col("soc").is_not_null()),
        ("with a usable cross-justice person ID", pl.col("person_id").is_not_null()),
    ]
    flow = []
    for label, condition in steps:
        if condition is not None:
            rows = rows.filter(condition)
        flow.append(
            {
                "step": label,
                "defendant_cases": rows.height,
                "persons": rows["person_key"].n_unique(),
            }
        )
    index = (
        rows.sort(["person_id", "disposal_date", "receipt_date", "defendant_on_case_id"])
        .group_by("person_id", maintain_order=True)
        .first()
        .rename({"person_id": "person"})
        .with_columns(
            ((_str("sentence_type") == "immediate_custody") & (pl.col("custody_days") > 0)).alias(
                "custody"
            ),
            pl.when(pl.col("soc"))
            .then(pl.lit(SOC_LABEL))
            .otherwise(pl.lit(NON_SOC_LABEL))
            .alias(GROUP),
        )
        .drop("person_key", "n_ids")
    )
    flow.append(
        {
            "step": "first such case per person (index event)",
            "defendant_cases": index.height,
            "persons": index.height,
        }
    )
    return index, pl.DataFrame(flow)


def start_of_risk(index: pl.DataFrame, release_fraction: float) -> pl.Expr:
    """Disposal date, or for immediate custody the estimated release date."""
    served = (pl.col("custody_days").cast(pl.Float64) * release_fraction).floor().cast(pl.Int64)
    return pl.col("disposal_date") + pl.duration(
        days=pl.when(pl.col("custody")).then(served).otherwise(0)
    )


# --------------------------------------------------------------------------------------------
# New cases


@dataclass(frozen=True)
class CaseTables:
    """Rows of both courts for the index persons, and the counts of rows left out."""

    rows: pl.DataFrame
    journey_edges: pl.DataFrame  # node_a, node_b, match_score
    excluded: dict[str, int]


def court_rows(
    crown: pl.DataFrame,
    mags: pl.DataFrame,
    journey: pl.DataFrame,
    persons: pl.DataFrame,
    s: Settings,
) -> CaseTables:
    """Every court row of the index persons, as nodes of the case graph.

    `crown` and `mags` carry person_id (`attach_person_ids`). Columns: node, person, source,
    case_id, defendant_on_case_id (Crown rows), offence_date, event_date (offence date or first
    hearing / Crown receipt), recorded_date (disposal), convicted, counts (whether the row can
    make an event: magistrates' criminal rows and Crown rows of the event receipt types).
    Breaches and civil applications are left out entirely.
    """
    excluded_types = list(s.excluded_proceeding_types)
    convicted = pl.col("outcome_group").is_in(list(s.convicted_outcome_groups))
    is_excluded = _str("proceeding_type").is_in(excluded_types)
    mags_counts = mags.select(
        is_excluded.sum().alias("excluded"),
        (~is_excluded & pl.col("person_id").is_null()).sum().alias("unlinked"),
    ).row(0, named=True)
    excluded = {
        "mags rows: breach or civil application": int(mags_counts["excluded"]),
        "mags rows: no cross-justice person ID": int(mags_counts["unlinked"]),
        "crown rows: no cross-justice person ID": int(crown["person_id"].null_count()),
    }
    first_hearing_missing = pl.col("first_hearing_date").is_null()
    mags_timing = (
        pl.col("offence_date")
        if s.timing == "offence_date"
        else pl.coalesce("first_hearing_date", "disposal_date")
    )
    mags_rows = (
        mags.join(persons, left_on="person_id", right_on="person", how="semi")
        .filter(~is_excluded)
        .select(
            pl.col("person_id").alias("person"),
            pl.lit("mags").alias("source"),
            "case_id",
            "defendant_id",
            pl.lit(None, dtype=pl.String).alias("defendant_on_case_id"),
            "offence_date",
            mags_timing.alias("event_date"),
            pl.col("disposal_date").alias("recorded_date"),
            convicted.alias("convicted"),
            pl.lit(True).alias("counts"),
            first_hearing_missing.alias("first_hearing_missing"),
        )
    )
    crown_timing = pl.col("offence_date") if s.timing == "offence_date" else pl.col("receipt_date")
    crown_rows_ = crown.join(persons, left_on="person_id", right_on="person", how="semi").select(
        pl.col("person_id").alias("person"),
        pl.lit("crown").alias("source"),
        "case_id",
        "defendant_id",
        "defendant_on_case_id",
        "offence_date",
        crown_timing.alias("event_date"),
        pl.col("disposal_date").alias("recorded_date"),
        convicted.alias("convicted"),
        _str("receipt_type").is_in(list(s.event_crown_receipt_types)).alias("counts"),
        pl.lit(False).alias("first_hearing_missing"),
    )
    rows = pl.concat([mags_rows, crown_rows_]).with_row_index("node")
    excluded["mags rows: first hearing date missing, timed by disposal"] = (
        int(mags_rows["first_hearing_missing"].sum()) if s.timing == "first_hearing" else 0
    )
    # Journey: the magistrates' row (case, defendant) and the Crown row it went on to.
    mags_nodes = rows.filter(pl.col("source") == "mags").select(
        "node", "case_id", "defendant_id", "person"
    )
    crown_nodes = rows.filter(pl.col("source") == "crown").select(
        "node", "defendant_on_case_id", "person"
    )
    edges = (
        journey.join(
            mags_nodes,
            left_on=["mags_case_id", "mags_defendant_id"],
            right_on=["case_id", "defendant_id"],
            how="inner",
        )
        .join(
            crown_nodes,
            left_on="crown_defendant_on_case_id",
            right_on="defendant_on_case_id",
            how="inner",
            suffix="_crown",
        )
        .select(
            pl.col("node").alias("node_a"),
            pl.col("node_crown").alias("node_b"),
            "match_score",
            (pl.col("person") != pl.col("person_crown")).alias("cross_person"),
        )
    )
    excluded["journey links joining rows of two different person IDs (ignored)"] = int(
        edges["cross_person"].sum()
    )
    edges = edges.filter(~pl.col("cross_person")).drop("cross_person")
    return CaseTables(rows.drop("first_hearing_missing"), edges, excluded)


def new_cases(
    tables: CaseTables, s: Settings, min_match_score: float | None = None
) -> pl.DataFrame:
    """Group court rows into cases (connected components) per person.

    Rows are one case when they share (person, source, case ID), when the journey table joins
    them with a match score of at least `min_match_score` (unknown scores count as matches), or,
    with `merge_same_offence_date`, when one person has them on the same offence date. Returns
    one row per (person, case) with the case's earliest offence, event and recorded dates,
    whether it was convicted (and first conviction date), whether it can count as an event, and
    the defendant-case IDs of its Crown rows (to recognise the index case).
    """
    threshold = s.journey_min_match_score if min_match_score is None else min_match_score
    rows = tables.rows
    n = rows.height
    if n == 0:
        return pl.DataFrame(
            schema={
                "person": pl.String,
                "offence_date": pl.Date,
                "event_date": pl.Date,
                "recorded_date": pl.Date,
                "convicted": pl.Boolean,
                "conviction_date": pl.Date,
                "counts": pl.Boolean,
                "crown_doc_ids": pl.List(pl.String),
            }
        )
    same_case = ["person", "source", "case_id"]
    anchors = [pl.col("node").min().over(same_case).alias("anchor_case")]
    if s.merge_same_offence_date:
        anchors.append(pl.col("node").min().over(["person", "offence_date"]).alias("anchor_date"))
    linked = rows.select("node", *anchors)
    pairs = [linked.select(pl.col("node").alias("a"), pl.col("anchor_case").alias("b"))]
    if s.merge_same_offence_date:
        pairs.append(linked.select(pl.col("node").alias("a"), pl.col("anchor_date").alias("b")))
    journey = tables.journey_edges.filter(
        pl.col("match_score").is_null() | (pl.col("match_score") >= threshold)
    )
    pairs.append(journey.select(pl.col("node_a").alias("a"), pl.col("node_b").alias("b")))
    edges = pl.concat([p.cast(pl.Int64) for p in pairs])
    graph = coo_matrix(
        (np.ones(edges.height, dtype=np.int8), (edges["a"].to_numpy(), edges["b"].to_numpy())),
        shape=(n, n),
    )
    _, label = connected_components(graph, directed=False)
    rows = rows.with_columns(pl.Series("component", label, dtype=pl.Int64))
    return (
        rows.group_by("person", "component")
        .agg(
            pl.col("offence_date").min(),
            pl.col("event_date").min(),
            pl.col("recorded_date").min(),
            pl.col("convicted").any(),
            pl.col("recorded_date").filter(pl.col("convicted")).min().alias("conviction_date"),
            pl.col("counts").any(),
            pl.col("defendant_on_case_id").drop_nulls().alias("crown_doc_ids"),
        )
        .drop("component")
        .sort("person", "offence_date", "event_date")
    )


# --------------------------------------------------------------------------------------------
# Follow-up


def follow_up(
    index: pl.DataFrame, cases: pl.DataFrame, s: Settings, release_fraction: float | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """One row per index person with time at risk, the first re-appearance and counts.

    Columns added to the index: start_date, censor_date, potential_days (follow-up available),
    event (bool), event_date, time (days from start to event or censoring), n_window (new cases
    within `count_window_days`, for persons whose follow-up covers the window, else null),
    status (at the last horizon). Persons whose time at risk would start on or after the
    censoring date have no follow-up: they are returned apart as counts by reason.
    """
    fraction = s.release_fraction if release_fraction is None else release_fraction
    censor = s.censor_date
    people = index.with_columns(
        start_of_risk(index, fraction).alias("start_date"),
        pl.lit(censor).alias("censor_date"),
    )
    no_time = pl.col("start_date") >= pl.col("censor_date")
    excluded = {
        "disposed on or after the censoring date": people.filter(
            no_time & (pl.col("disposal_date") >= pl.col("censor_date"))
        ).height,
        "estimated release on or after the censoring date": people.filter(
            no_time & (pl.col("disposal_date") < pl.col("censor_date"))
        ).height,
    }
    people = people.filter(~no_time)
    window = s.count_window_days
    eligible = cases.join(
        people.select("person", "start_date", "defendant_on_case_id"), on="person", how="inner"
    ).filter(
        pl.col("counts")
        & ~pl.col("crown_doc_ids").list.contains(pl.col("defendant_on_case_id"))
        & (pl.col("offence_date") > pl.col("start_date"))
        & (pl.col("event_date") > pl.col("start_date"))
        & (pl.col("event_date") <= censor)
    )
    deadline = pl.col("offence_date") + pl.duration(days=s.waiting_period_days)
    if s.convicted_only:
        eligible = eligible.filter(
            pl.col("convicted") & (pl.col("conviction_date") <= deadline)
        ).with_columns(pl.col("conviction_date").alias("recorded_date"))
    else:
        eligible = eligible.filter(pl.col("recorded_date") <= deadline)
    per_person = eligible.group_by("person").agg(
        pl.col("event_date").min().alias("event_date"),
        ((pl.col("event_date") - pl.col("start_date")).dt.total_days() <= window)
        .sum()
        .alias("n_in_window"),
    )
    last = max(s.horizons_days)
    out = (
        people.join(per_person, on="person", how="left")
        .with_columns(
            (pl.col("censor_date") - pl.col("start_date")).dt.total_days().alias("potential_days"),
            pl.col("event_date").is_not_null().alias("event"),
        )
        .with_columns(
            pl.when(pl.col("event"))
            .then((pl.col("event_date") - pl.col("start_date")).dt.total_days())
            .otherwise(pl.col("potential_days"))
            .alias("time"),
            pl.when(pl.col("potential_days") >= window)
            .then(pl.col("n_in_window").fill_null(0))
            .alias("n_window"),
        )
        .with_columns(
            pl.when(pl.col("event") & (pl.col("time") <= last))
            .then(pl.lit(f"re-appeared within {_days_label(last)}"))
            .when(pl.col("potential_days") >= last)
            .then(pl.lit(f"followed {_days_label(last)} without re-appearance"))
            .otherwise(pl.lit(f"censored before {_days_label(last)}: {s.censor_reason}"))
            .alias("status")
        )
        .drop("n_in_window")
        .sort("person")
    )
    return out, excluded


def _days_label(days: int) -> str:
    """365 -> "1 year", 730 -> "2 years", 182 -> "6 months", other -> "N days"."""
    if days == 0:
        return "0"
    years = round(days / 365.25)
    if years and abs(years * 365.25 - days) <= 1.0:
        return f"{years} year" + ("s" if years > 1 else "")
    months = round(days / 30.4375)
    if months and abs(months * 30.4375 - days) <= 1.0:
        return f"{months} months"
    return f"{days} days"


def band_labels(edges: tuple[int, ...], unit: str = "") -> list[str]:
    """Labels of bands with lower edges `edges` (last open): "0", "1", "3-4", "5+"."""
    labels = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else None
        if hi is None:
            labels.append(f"{lo}+{unit}")
        elif hi == lo:
            labels.append(f"{lo}{unit}")
        else:
            labels.append(f"{lo}-{hi}{unit}")
    return labels


def band(column: str, edges: tuple[int, ...], labels: list[str]) -> pl.Expr:
    """Band a numeric column by lower edges (values below the first edge get the first band)."""
    expr = pl.lit(labels[0])
    for lo, label in zip(edges[1:], labels[1:], strict=True):
        expr = pl.when(pl.col(column) >= lo).then(pl.lit(label)).otherwise(expr)
    return expr


def follow_up_band_labels(edges: tuple[int, ...]) -> list[str]:
    """Readable labels of follow-up bands in days: "under 6 months", "1 year to 2 years"..."""
    labels = []
    for i, lo in enumerate(edges):
        if i + 1 == len(edges):
            labels.append(f"{_days_label(lo)} or more")
        elif lo == 0:
            labels.append(f"under {_days_label(edges[i + 1])}")
        else:
            labels.append(f"{_days_label(lo)} to under {_days_label(edges[i + 1])}")
    return labels


# --------------------------------------------------------------------------------------------
# Kaplan-Meier and log-rank


def kaplan_meier(
    follow: pl.DataFrame, group: str = GROUP, confidence_level: float = 0.95
) -> pl.DataFrame:
    """Long Kaplan-Meier table: one row per distinct time per group.

    Columns: group, time, at_risk (just before time), events, censored, survival, estimate
    (cumulative re-appearance, 1 - survival) and its log-log (exponential Greenwood) band
    ci_lower, ci_upper, as lifelines' KaplanMeierFitter computes them.
    """
    z = stats.norm.ppf(0.5 + confidence_level / 2)
    steps = (
        follow.group_by(group, "time")
        .agg(
            pl.col("event").sum().cast(pl.Int64).alias("events"),
            (~pl.col("event")).sum().cast(pl.Int64).alias("censored"),
        )
        .sort(group, "time")
        .with_columns(
            (pl.col("events") + pl.col("censored"))
            .cum_sum(reverse=True)
            .over(group)
            .alias("at_risk")
        )
        .with_columns(
            (1.0 - pl.col("events") / pl.col("at_risk")).cum_prod().over(group).alias("survival"),
            (pl.col("events") / (pl.col("at_risk") * (pl.col("at_risk") - pl.col("events"))))
            .cum_sum()
            .over(group)
            .alias("greenwood"),
        )
    )
    log_s = pl.col("survival").log()
    half = z * pl.col("greenwood").sqrt() / log_s
    s_a = (-((-log_s).log() - half).exp()).exp()
    s_b = (-((-log_s).log() + half).exp()).exp()
    defined = (pl.col("survival") > 0) & (pl.col("survival") < 1)
    return steps.with_columns(
        (1.0 - pl.col("survival")).alias("estimate"),
        pl.when(defined).then(1.0 - pl.max_horizontal(s_a, s_b)).alias("ci_lower"),
        pl.when(defined).then(1.0 - pl.min_horizontal(s_a, s_b)).alias("ci_upper"),
    ).select(group, "time", "at_risk", "events", "censored", "survival", "estimate",
             "ci_lower", "ci_upper")  # fmt: skip


def km_at(km: pl.DataFrame, horizon: int, group: str = GROUP) -> pl.DataFrame:
    """Cumulative re-appearance at `horizon` per group (last step at or before it).

    Null where no one in the group is still followed at the horizon.
    """
    reach = km.group_by(group).agg(pl.col("time").max().alias("max_time"))
    before = (
        km.filter(pl.col("time") <= horizon)
        .sort(group, "time")
        .group_by(group, maintain_order=True)
        .last()
        .select(group, "estimate", "ci_lower", "ci_upper")
    )
    return (
        reach.join(before, on=group, how="left")
        .with_columns(
            pl.when(pl.col("max_time") >= horizon).then(pl.col(c)).alias(c)
            for c in ("estimate", "ci_lower", "ci_upper")
        )
        .with_columns(pl.col("estimate").fill_null(0.0).alias("estimate"))
        .with_columns(
            pl.when(pl.col("max_time") >= horizon).then(pl.col("estimate")).alias("estimate")
        )
        .drop("max_time")
        .sort(group)
    )


def at_risk_table(follow: pl.DataFrame, times: tuple[int, ...], group: str = GROUP) -> pl.DataFrame:
    """Numbers at risk (distinct persons still followed, event-free) at fixed times per group."""
    grid = pl.DataFrame({"t": list(times)}, schema={"t": pl.Int64})
    return (
        follow.select(group, "person", pl.col("time").cast(pl.Int64))
        .join(grid, how="cross")
        .group_by(group, "t")
        .agg((pl.col("time") >= pl.col("t")).sum().cast(pl.Int64).alias("persons"))
        .sort("t", group)
        .with_columns(
            pl.col("t").map_elements(_days_label, return_dtype=pl.String).alias("time_since_start")
        )
        .select("time_since_start", group, "persons", pl.col("t").alias("days"))
    )


@dataclass(frozen=True)
class LogRank:
    chi2: float
    df: int
    p_value: float
    observed: dict[str, float]
    expected: dict[str, float]


def logrank(follow: pl.DataFrame, group: str = GROUP) -> LogRank:
    """Log-rank test of equal re-appearance across groups (k-sample, chi-square on k-1 df)."""
    levels = sorted(follow[group].unique().to_list())
    table = (
        follow.group_by("time", group)
        .agg(pl.col("event").sum().alias("d"), pl.len().alias("exits"))
        .pivot(on=group, index="time", values=["d", "exits"])
        .fill_null(0)
        .sort("time")
    )
    d = np.column_stack([table[f"d_{g}"].to_numpy().astype(float) for g in levels])
    exits = np.column_stack([table[f"exits_{g}"].to_numpy().astype(float) for g in levels])
    at_risk = np.flip(np.cumsum(np.flip(exits, 0), 0), 0)
    n = at_risk.sum(1)
    d_all = d.sum(1)
    expected = at_risk * (d_all / n)[:, None]
    frac = np.where(n > 1, d_all * (n - d_all) / (n * n * np.maximum(n - 1, 1)), 0.0)
    k = len(levels)
    # Covariance of (O - E) over the first k-1 groups (hypergeometric).
    v = np.zeros((k - 1, k - 1))
    for i in range(k - 1):
        for j in range(k - 1):
            term = at_risk[:, i] * ((i == j) * n - at_risk[:, j])
            v[i, j] = float((frac * term).sum())
    o_e = (d - expected).sum(0)[: k - 1]
    chi2 = float(o_e @ np.linalg.solve(v, o_e)) if k > 1 else 0.0
    return LogRank(
        chi2=chi2,
        df=k - 1,
        p_value=float(stats.chi2.sf(chi2, k - 1)) if k > 1 else 1.0,
        observed=dict(zip(levels, d.sum(0).tolist(), strict=True)),
        expected=dict(zip(levels, expected.sum(0).tolist(), strict=True)),
    )


# --------------------------------------------------------------------------------------------
# Cox model


@dataclass
class Design:
    """Dummy-coded covariates for the Cox model."""

    frame: pl.DataFrame  # duration, event, cluster, strata columns and dummies
    columns: list[str]  # dummy column names, in order
    term_of: dict[str, str]  # dummy column -> term
    level_of: dict[str, str]  # dummy column -> level
    reference: dict[str, str]  # term -> reference level
    levels: pl.DataFrame  # term, level, persons, events (every level, after pooling)
    pooled: dict[str, list[str]]  # term -> levels pooled (see pooled_level)


def pooled_level(term: str) -> str:
    """Name of the level that small levels of `term` are pooled into (unique across terms)."""
    return f"other {term.replace('_', ' ')} (pooled)"


def pool_small_levels(
    follow: pl.DataFrame, term: str, min_persons: int, min_events: int
) -> tuple[pl.Expr, list[str]]:
    """An expression giving `term` with levels too small to publish pooled.

    Levels with fewer than `min_persons` persons or `min_events` events go into one level
    "other <term> (pooled)"; if that pool is itself too small, its members join the largest
    level.
    """
    counts = (
        follow.group_by(pl.col(term).cast(pl.String).alias("level"))
        .agg(pl.len().alias("persons"), pl.col("event").sum().alias("events"))
        .sort("persons", "level", descending=[True, False])
    )
    small = counts.filter((pl.col("persons") < min_persons) | (pl.col("events") < min_events))[
        "level"
    ].to_list()
    if not small:
        return pl.col(term).cast(pl.String).alias(term), []
    pooled = counts.filter(pl.col("level").is_in(small))
    target = pooled_level(term)
    if (
        int(pooled["persons"].sum()) < min_persons
        or int(pooled["events"].sum()) < min_events
        or len(small) == counts.height
    ):
        target = counts["level"][0]
    expr = (
        pl.when(pl.col(term).cast(pl.String).is_in(small))
        .then(pl.lit(target))
        .otherwise(pl.col(term).cast(pl.String))
        .alias(term)
    )
    return expr, small


def cox_design(
    follow: pl.DataFrame, covariates: tuple[str, ...], c: CoxSettings
) -> tuple[Design, list[str]]:
    """Dummy-code SOC status and the covariates available in `follow`.

    The reference level of each term is its largest level (SOC's is non-SOC). Returns the
    design and the covariates that were asked for but are missing or constant.
    """
    skipped = [v for v in covariates if v not in follow.columns]
    terms = [v for v in covariates if v in follow.columns]
    pooled: dict[str, list[str]] = {}
    exprs = []
    for term in terms:
        expr, small = pool_small_levels(follow, term, c.min_level_persons, c.min_level_events)
        exprs.append(expr)
        if small:
            pooled[term] = small
    cluster = "person" if c.cluster == "person" else "case_id"
    base = (
        follow.select("person", cluster, "time", "event", pl.col(GROUP), *exprs)
        if cluster != "person"
        else follow.select("person", "time", "event", pl.col(GROUP), *exprs)
    )
    keep = []
    for term in terms:
        if base[term].n_unique() < 2:
            skipped.append(term)
        else:
            keep.append(term)
    columns: list[str] = []
    term_of: dict[str, str] = {}
    level_of: dict[str, str] = {}
    reference: dict[str, str] = {GROUP: NON_SOC_LABEL}
    dummies: list[pl.Expr] = []
    level_rows = []
    for term in [GROUP, *keep]:
        counts = (
            base.group_by(pl.col(term).alias("level"))
            .agg(pl.len().alias("persons"), pl.col("event").sum().alias("events"))
            .sort("persons", "level", descending=[True, False])
        )
        ref = reference.get(term, counts["level"][0])
        reference[term] = ref
        for level, persons, events in counts.iter_rows():
            level_rows.append((term, level, persons, events))
        for level in sorted(counts["level"].to_list()):
            if level == ref:
                continue
            name = f"{term}[{level}]"
            columns.append(name)
            term_of[name] = term
            level_of[name] = level
            dummies.append((pl.col(term) == level).cast(pl.Float64).alias(name))
    frame = base.with_columns(dummies)
    levels = pl.DataFrame(
        level_rows,
        schema={"term": pl.String, "level": pl.String, "persons": pl.Int64, "events": pl.Int64},
        orient="row",
    )
    return Design(frame, columns, term_of, level_of, reference, levels, pooled), skipped


def _sorted_blocks(
    time: np.ndarray, strata: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sort rows by stratum then descending time; label (stratum, time) blocks.

    Returns order, block id per sorted row, the index of each block's last row, and the stratum
    of each block.
    """
    order = np.lexsort((-time, strata))
    t = time[order]
    st = strata[order]
    new_block = np.r_[True, (t[1:] != t[:-1]) | (st[1:] != st[:-1])]
    block = np.cumsum(new_block) - 1
    last = np.r_[np.flatnonzero(new_block[1:]), len(t) - 1]
    return order, block, last, st[last]


def _within_stratum_cumsum(values: np.ndarray, strata_of_row: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 0 restarting at each new stratum (rows grouped by stratum)."""
    csum = np.cumsum(values, axis=0)
    start = np.r_[True, strata_of_row[1:] != strata_of_row[:-1]]
    first = np.flatnonzero(start)
    offset_idx = np.repeat(first, np.diff(np.r_[first, len(strata_of_row)]))
    before = np.where(
        (offset_idx > 0)[:, None] if values.ndim == 2 else offset_idx > 0,
        csum[np.maximum(offset_idx - 1, 0)],
        0.0,
    )
    return csum - before


def breslow_terms(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, strata: np.ndarray
) -> dict[str, np.ndarray]:
    """Risk-set means and cumulative hazard terms at each row's time (Breslow, tie-aware).

    Returns, per row in the original order: mean (weighted covariate mean of the risk set at the
    row's time), a (sum over event times up to the row's time of d/S0) and b (same sum of
    d * mean / S0), plus risk (exp of the linear predictor).
    """
    risk = np.exp(x @ beta)
    order, block, last, block_stratum = _sorted_blocks(time, strata)
    xs, rs, es = x[order], risk[order], event[order].astype(float)
    st_sorted = strata[order]
    s0 = _within_stratum_cumsum(rs, st_sorted)[last]
    s1 = _within_stratum_cumsum(xs * rs[:, None], st_sorted)[last]
    mean_block = s1 / s0[:, None]
    d_block = np.bincount(block, weights=es, minlength=len(last))
    # Blocks are in descending time within stratum; "up to this time" sums the stratum's blocks
    # from this one to its last (earliest time), i.e. a reverse cumulative sum.
    inc_a = d_block / s0
    inc_b = mean_block * inc_a[:, None]
    rev = np.arange(len(last))[::-1]
    a_block = _within_stratum_cumsum(inc_a[rev], block_stratum[rev])[rev]
    b_block = _within_stratum_cumsum(inc_b[rev], block_stratum[rev])[rev]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    row_block = block[inverse]
    return {
        "mean": mean_block[row_block],
        "a": a_block[row_block],
        "b": b_block[row_block],
        "risk": risk,
    }


def score_residuals(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, strata: np.ndarray
) -> np.ndarray:
    """Cox score residuals (Breslow form), one row per observation, vectorised.

    r_i = delta_i (x_i - mean(t_i)) - exp(eta_i) (x_i A(t_i) - B(t_i)) with A, B the cumulative
    sums of d/S0 and d*mean/S0 over event times up to t_i in the row's stratum. Matches
    lifelines' (quadratic) score residuals when times are untied.
    """
    t = breslow_terms(time, event, x, beta, strata)
    e = event.astype(float)[:, None]
    return e * (x - t["mean"]) - t["risk"][:, None] * (x * t["a"][:, None] - t["b"])


def robust_covariance(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    strata: np.ndarray,
    variance: np.ndarray,
    cluster: np.ndarray | None = None,
) -> np.ndarray:
    """Sandwich variance V (sum over clusters of U_c U_c') V, U the score residuals."""
    u = score_residuals(time, event, x, beta, strata)
    if cluster is not None:
        _, codes = np.unique(cluster, return_inverse=True)
        summed = np.zeros((codes.max() + 1, u.shape[1]))
        np.add.at(summed, codes, u)
        u = summed
    dfbeta = u @ variance
    return dfbeta.T @ dfbeta


def schoenfeld_test(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    strata: np.ndarray,
    variance: np.ndarray,
    blocks: dict[str, list[int]],
) -> pl.DataFrame:
    """Proportional-hazards test on scaled Schoenfeld residuals against rank of event time.

    The Grambsch-Therneau approximate test as lifelines' proportional_hazard_test (rank
    transform) computes it, per term (joint over a term's dummies) and globally. Returns term,
    chi2, df, p_value.
    """
    t = breslow_terms(time, event, x, beta, strata)
    ev = event.astype(bool)
    resid = (x - t["mean"])[ev]
    n_events = int(ev.sum())
    scaled = n_events * resid @ variance
    # Rank of event time: position in time order among the events (ties broken by row order).
    g = np.empty(n_events)
    g[np.argsort(time[ev], kind="stable")] = np.arange(1, n_events + 1)
    gc = g - g.mean()
    u = gc @ scaled
    ssq = float((gc**2).sum())
    out = []
    for term, cols in [*blocks.items(), ("GLOBAL", list(range(x.shape[1])))]:
        idx = np.asarray(cols)
        cov = n_events * variance[np.ix_(idx, idx)] * ssq
        chi2 = float(u[idx] @ np.linalg.solve(cov, u[idx]))
        out.append((term, chi2, len(idx), float(stats.chi2.sf(chi2, len(idx)))))
    return pl.DataFrame(
        out,
        schema={"term": pl.String, "chi2": pl.Float64, "df": pl.Int64, "p_value": pl.Float64},
        orient="row",
    )


@dataclass
class CoxFit:
    """A fitted Cox model with robust errors and its proportional-hazards check."""

    coefficients: pl.DataFrame  # term, level, coef, se, ci_lower, ci_upper, p_value, hr
    ph_test: pl.DataFrame  # term, chi2, df, p_value (before stratification)
    ph_test_final: pl.DataFrame  # the same for the model reported
    strata: list[str]
    n_persons: int
    n_events: int
    n_params: int
    log_likelihood: float
    concordance: float
    seconds: float
    sampled: bool
    notes: list[str]


def fit_cox(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    columns: list[str],
    strata: list[str] | None = None,
    cluster: str | None = None,
    robust: bool = True,
    confidence_level: float = 0.95,
    initial: dict[str, float] | None = None,
) -> tuple[Any, pd.DataFrame, np.ndarray]:
    """Fit a Cox model with lifelines (Efron ties) and add robust standard errors.

    lifelines computes the coefficients and the model-based variance; the sandwich variance
    (clustered by `cluster`, else per row) comes from `robust_covariance`. Returns the fitted
    lifelines model, a coefficient table (coef, se, se_model, z, p, ci on the coefficient scale,
    hazard_ratio) indexed by column, and the covariance used. `initial` (column -> coefficient)
    starts Newton-Raphson from an earlier fit, which saves iterations on refits.
    """
    strata = strata or []
    data = frame[[duration, event, *columns, *strata]]
    model = CoxPHFitter(alpha=1 - confidence_level)
    start = None
    if initial is not None:
        # lifelines iterates on standardised covariates, so the start is scaled by their SDs.
        sd = data[columns].std().to_numpy()
        start = np.array([initial.get(c, 0.0) for c in columns]) * sd
    model.fit(
        data, duration_col=duration, event_col=event, strata=strata or None, initial_point=start
    )
    beta = model.params_[columns].to_numpy()
    variance = model.variance_matrix_.loc[columns, columns].to_numpy()
    if robust:
        strata_codes = (
            frame[strata].astype(str).agg("|".join, axis=1).to_numpy()
            if strata
            else np.zeros(len(frame), dtype=np.int64)
        )
        _, strata_codes = np.unique(strata_codes, return_inverse=True)
        covariance = robust_covariance(
            frame[duration].to_numpy(dtype=float),
            frame[event].to_numpy(dtype=bool),
            frame[columns].to_numpy(dtype=float),
            beta,
            strata_codes,
            variance,
            frame[cluster].to_numpy() if cluster else None,
        )
    else:
        covariance = variance
    se = np.sqrt(np.diag(covariance))
    z = beta / se
    q = stats.norm.ppf(0.5 + confidence_level / 2)
    table = pd.DataFrame(
        {
            "coef": beta,
            "se": se,
            "se_model": np.sqrt(np.diag(variance)),
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "coef_lower": beta - q * se,
            "coef_upper": beta + q * se,
            "hazard_ratio": np.exp(beta),
        },
        index=columns,
    )
    return model, table, covariance


def cox_analysis(follow: pl.DataFrame, s: Settings) -> tuple[CoxFit, Design, list[str]]:
    """SOC status adjusted for the configured covariates, with the PH check and stratification.

    Fits on every person unless `cox.max_persons` caps it (a seeded random sample of persons).
    Terms other than SOC status whose PH test p-value falls below `ph_alpha` are moved into
    strata, worst first, up to `max_strata_terms`; each move is followed by a refit and retest.
    A SOC term that fails is reported, not stratified (it is the effect of interest).
    """
    c = s.cox
    notes: list[str] = []
    data = follow
    sampled = False
    if c.max_persons is not None and follow.height > c.max_persons:
        data = follow.sample(n=c.max_persons, seed=c.seed, shuffle=False).sort("person")
        sampled = True
        notes.append(
            f"fitted on a seeded random sample of {c.max_persons:,} of {follow.height:,} persons"
        )
    design, skipped = cox_design(data, c.covariates, c)
    if skipped:
        notes.append("covariates not used (missing or constant): " + ", ".join(skipped))
    for term, levels in design.pooled.items():
        notes.append(f"{term}: levels too small to publish, pooled: {', '.join(levels)}")
    pdf = design.frame.to_pandas()
    cluster = "person" if c.cluster == "person" else "case_id"
    strata: list[str] = []
    start = time.perf_counter()
    first_test: pl.DataFrame | None = None
    initial: dict[str, float] | None = None
    while True:
        columns = [col for col in design.columns if design.term_of[col] not in strata]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, table, _ = fit_cox(
                pdf, "time", "event", columns, strata, cluster, True, s.confidence_level, initial
            )
        initial = dict(zip(columns, table["coef"].to_numpy(), strict=True))
        for w in caught:
            notes.append(f"lifelines: {str(w.message).splitlines()[0]}")
        blocks: dict[str, list[int]] = {}
        for i, col in enumerate(columns):
            blocks.setdefault(design.term_of[col], []).append(i)
        strata_codes = _strata_codes(pdf, strata)
        variance = model.variance_matrix_.loc[columns, columns].to_numpy()
        test = schoenfeld_test(
            pdf["time"].to_numpy(dtype=float),
            pdf["event"].to_numpy(dtype=bool),
            pdf[columns].to_numpy(dtype=float),
            table["coef"].to_numpy(),
            strata_codes,
            variance,
            blocks,
        )
        if first_test is None:
            first_test = test
        failing = test.filter(
            (pl.col("p_value") < c.ph_alpha) & ~pl.col("term").is_in(["GLOBAL", GROUP])
        ).sort("chi2", descending=True)
        if failing.height == 0 or len(strata) >= c.max_strata_terms:
            break
        term = failing["term"][0]
        strata.append(term)
        notes.append(f"PH test failed for {term} (p < {c.ph_alpha}): stratified on it")
    seconds = time.perf_counter() - start
    soc_test = test.filter(pl.col("term") == GROUP)
    if soc_test.height and soc_test["p_value"][0] < c.ph_alpha:
        notes.append("PH test failed for SOC status: its hazard ratio is an average over follow-up")
    coefficients = pl.DataFrame(
        {
            "term": [design.term_of[col] for col in columns],
            "level": [design.level_of[col] for col in columns],
            "coef": table["coef"].to_numpy(),
            "se": table["se"].to_numpy(),
            "ci_lower": np.exp(table["coef_lower"].to_numpy()),
            "ci_upper": np.exp(table["coef_upper"].to_numpy()),
            "p_value": table["p_value"].to_numpy(),
            "hazard_ratio": table["hazard_ratio"].to_numpy(),
        }
    )
    fit = CoxFit(
        coefficients=coefficients,
        ph_test=first_test,
        ph_test_final=test,
        strata=strata,
        n_persons=len(pdf),
        n_events=int(pdf["event"].sum()),
        n_params=len(columns),
        log_likelihood=float(model.log_likelihood_),
        concordance=float(model.concordance_index_),
        seconds=seconds,
        sampled=sampled,
        notes=notes,
    )
    return fit, design, skipped


def _strata_codes(pdf: pd.DataFrame, strata: list[str]) -> np.ndarray:
    if not strata:
        return np.zeros(len(pdf), dtype=np.int64)
    keys = pdf[strata].astype(str).agg("|".join, axis=1).to_numpy()
    return np.unique(keys, return_inverse=True)[1]


# --------------------------------------------------------------------------------------------
# Summaries


def proportions(
    follow: pl.DataFrame, km: pl.DataFrame, s: Settings, prefix: str = ""
) -> pl.DataFrame:
    """Statistics rows: cumulative re-appearance at each horizon for SOC, non-SOC and all."""
    all_km = kaplan_meier(
        follow.with_columns(pl.lit(ALL_LABEL).alias(GROUP)), GROUP, s.confidence_level
    )
    both = pl.concat([km, all_km])
    persons = pl.concat(
        [
            follow.group_by(GROUP).agg(
                pl.col("person").n_unique().cast(pl.Int64).alias("n_persons")
            ),
            pl.DataFrame(
                {GROUP: [ALL_LABEL], "n_persons": [follow["person"].n_unique()]},
                schema={GROUP: pl.String, "n_persons": pl.Int64},
            ),
        ]
    )
    order = pl.DataFrame({GROUP: [SOC_LABEL, NON_SOC_LABEL, ALL_LABEL], "_o": [0, 1, 2]})
    rows = []
    for h in s.horizons_days:
        at = km_at(both, h).join(persons, on=GROUP, how="left").join(order, on=GROUP)
        rows.append(
            at.sort("_o").select(
                (pl.lit(f"{prefix}re-appeared within {_days_label(h)}: ") + pl.col(GROUP)).alias(
                    "statistic"
                ),
                pl.col("estimate").alias("value"),
                "ci_lower",
                "ci_upper",
                "n_persons",
            )
        )
    return pl.concat(rows)


def count_frequency(follow: pl.DataFrame, s: Settings) -> pl.DataFrame:
    """Persons by number of new cases within the count window x SOC status.

    Only persons whose follow-up covers the whole window are counted.
    """
    labels = band_labels(s.count_bands)
    full = follow.filter(pl.col("n_window").is_not_null())
    return _person_table(
        full.with_columns(band("n_window", s.count_bands, labels).alias("new_cases")),
        "new_cases",
        labels,
    )


def _person_table(frame: pl.DataFrame, row: str, order: list[str]) -> pl.DataFrame:
    """Distinct persons per (row, SOC status) cell, every cell present (zeros included)."""
    grid = pl.DataFrame({row: order}).join(
        pl.DataFrame({GROUP: [SOC_LABEL, NON_SOC_LABEL]}), how="cross"
    )
    counts = frame.group_by(row, GROUP).agg(pl.col("person").n_unique().alias("persons"))
    return (
        grid.join(counts, on=[row, GROUP], how="left")
        .with_columns(pl.col("persons").fill_null(0).cast(pl.Int64))
        .with_columns(pl.col(row).replace_strict(order, list(range(len(order)))).alias("_o"))
        .sort("_o", GROUP, descending=[False, True])
        .drop("_o")
    )


def follow_up_frequency(follow: pl.DataFrame, s: Settings) -> pl.DataFrame:
    """Persons by follow-up available (banded) x SOC status."""
    labels = follow_up_band_labels(s.follow_up_bands_days)
    return _person_table(
        follow.with_columns(
            band("potential_days", s.follow_up_bands_days, labels).alias("follow_up_available")
        ),
        "follow_up_available",
        labels,
    )


def status_frequency(
    follow: pl.DataFrame, index: pl.DataFrame, s: Settings, no_time: dict[str, int]
) -> pl.DataFrame:
    """Persons by what happened by the last horizon x SOC status, with those never at risk."""
    last = max(s.horizons_days)
    order = [
        f"re-appeared within {_days_label(last)}",
        f"followed {_days_label(last)} without re-appearance",
        f"censored before {_days_label(last)}: {s.censor_reason}",
        "no time at risk before the censoring date",
    ]
    never = index.join(follow.select("person"), on="person", how="anti").with_columns(
        pl.lit(order[-1]).alias("status")
    )
    frame = pl.concat([follow.select("person", GROUP, "status"),
                       never.select("person", GROUP, "status")])  # fmt: skip
    return _person_table(frame, "status", order)


def coverage_frequency(crown: pl.DataFrame, flags: pl.DataFrame, s: Settings) -> pl.DataFrame:
    """Crown Court defendants in the study window by whether they carry a person ID x SOC.

    Persons are the linked ID or, without one, the court defendant ID; a person is SOC if any of
    their defendant-cases in the window is.
    """
    rows = (
        crown.filter(
            pl.col("disposal_date").is_between(s.first_disposal_date, s.last_disposal_date)
            & _str("receipt_type").is_in(list(s.receipt_types))
        )
        .select("defendant_on_case_id", "defendant_id", "person_id")
        .join(
            flags.select("defendant_on_case_id", pl.col(s.soc_column).alias("soc")),
            on="defendant_on_case_id",
            how="left",
        )
        .with_columns(
            person_key_expr().alias("person"),
            pl.when(pl.col("person_id").is_not_null())
            .then(pl.lit("usable person ID"))
            .otherwise(pl.lit("no person ID"))
            .alias("person_id_status"),
        )
        .with_columns(
            pl.when(pl.col("soc").fill_null(False).any().over("person"))
            .then(pl.lit(SOC_LABEL))
            .otherwise(pl.lit(NON_SOC_LABEL))
            .alias(GROUP)
        )
    )
    return _person_table(rows, "person_id_status", ["usable person ID", "no person ID"])


# --------------------------------------------------------------------------------------------
# The whole stage


@dataclass
class Results:
    """Everything the stage computes, before it becomes candidates."""

    settings: Settings
    flow: pl.DataFrame
    excluded: dict[str, int]
    diagnostics: dict[str, float | int]
    index: pl.DataFrame
    follow: pl.DataFrame
    km: pl.DataFrame
    logrank: LogRank
    proportions: pl.DataFrame
    at_risk: pl.DataFrame
    counts: pl.DataFrame
    status: pl.DataFrame
    follow_up: pl.DataFrame
    coverage: pl.DataFrame
    sensitivity: pl.DataFrame
    cox: CoxFit | None
    design: Design | None
    cox_error: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def analyse(
    crown: pl.DataFrame,
    mags: pl.DataFrame,
    link: pl.DataFrame,
    journey: pl.DataFrame,
    flags: pl.DataFrame,
    s: Settings,
    fit_model: bool = True,
) -> Results:
    """Run the stage: link, index events, new cases, follow-up, curves, tests, model."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    crown = attach_person_ids(crown, resolve_person_ids(link, "crown", s.fanout_rule))
    mags = attach_person_ids(mags, resolve_person_ids(link, "mags", s.fanout_rule))
    diagnostics = linkage_diagnostics(crown, mags)
    index, flow = index_events(crown, flags, s)
    tables = court_rows(crown, mags, journey, index.select("person"), s)
    cases = new_cases(tables, s)
    timings["link_and_cases"] = time.perf_counter() - t0
    follow, no_time = follow_up(index, cases, s)
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
    props = proportions(follow, km, s)
    sensitivity = sensitivity_table(index, tables, s)
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


def sensitivity_table(index: pl.DataFrame, tables: CaseTables, s: Settings) -> pl.DataFrame:
    """The last-horizon rate and the count of new cases under other settings.

    The release fraction moves the start of time at risk for immediate custody. The journey
    match-score threshold decides which magistrates' and Crown Court rows are one case; it is
    varied with same-offence-date merging switched off, which would otherwise join the two rows
    of a case sent to the Crown Court whatever the journey table says. It changes the count of
    new cases, hardly the first re-appearance (both rows carry the same offence date).
    """
    last = max(s.horizons_days)
    rows = []
    base_cases = new_cases(tables, s)
    for fraction in s.sensitivity_release_fractions:
        follow, _ = follow_up(index, base_cases, s, release_fraction=fraction)
        rows.append(_sensitivity_rows(follow, s, last, f"release fraction {fraction:g}"))
    unmerged = replace(s, merge_same_offence_date=False)
    for score in s.sensitivity_journey_scores:
        cases = new_cases(tables, unmerged, min_match_score=score)
        follow, _ = follow_up(index, cases, unmerged)
        rows.append(
            _sensitivity_rows(
                follow, s, last, f"journey match score >= {score:g}, no same-date merging"
            )
        )
    return pl.concat(rows)


def _sensitivity_rows(follow: pl.DataFrame, s: Settings, last: int, label: str) -> pl.DataFrame:
    km = kaplan_meier(follow, GROUP, s.confidence_level)
    rate = (
        proportions(follow, km, s)
        .filter(pl.col("statistic").str.starts_with(f"re-appeared within {_days_label(last)}"))
        .with_columns((pl.lit(f"{label}: ") + pl.col("statistic")).alias("statistic"))
    )
    full = follow.filter(pl.col("n_window").is_not_null())
    z = stats.norm.ppf(0.5 + s.confidence_level / 2)
    means = (
        full.group_by(GROUP)
        .agg(
            pl.col("n_window").mean().alias("value"),
            (z * pl.col("n_window").std() / pl.len().sqrt()).alias("half"),
            pl.len().cast(pl.Int64).alias("n_persons"),
        )
        .sort(GROUP, descending=True)
        .select(
            (
                pl.lit(f"{label}: new cases per person within {_days_label(s.count_window_days)}: ")
                + pl.col(GROUP)
            ).alias("statistic"),
            "value",
            (pl.col("value") - pl.col("half")).alias("ci_lower"),
            (pl.col("value") + pl.col("half")).alias("ci_upper"),
            "n_persons",
        )
    )
    return pl.concat([rate, means])


# --------------------------------------------------------------------------------------------
# Candidates and the rule's entry point


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


def cox_candidates(r: Results) -> list[Candidate]:
    """The Cox model (coefficients, levels, fit) and its proportional-hazards tests."""
    s = r.settings
    if r.cox is None or r.design is None:
        return []
    fit, design = r.cox, r.design
    level_rows = design.levels.filter(~pl.col("term").is_in(fit.strata))
    notes = [
        "Cox proportional hazards (lifelines, Efron ties) of time to first re-appearance; "
        "reference levels: "
        + "; ".join(f"{t} = {lvl}" for t, lvl in design.reference.items() if t not in fit.strata),
        f"robust (sandwich) standard errors clustered by {s.cox.cluster}",
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
            "cluster": s.cox.cluster,
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
        title="Proportional-hazards check: scaled Schoenfeld residuals against rank of time",
        data=_statistics(ph_rows),
        notes=(
            "Grambsch-Therneau test per term (joint over its levels) and for all terms; "
            f"a term other than SOC status with p < {s.cox.ph_alpha} is moved into strata, "
            f"worst first, up to {s.cox.max_strata_terms} terms. With hundreds of thousands of "
            "persons the test detects departures too small to matter."
        ),
    )
    return [model, ph]


def build_candidates(r: Results) -> list[Candidate]:
    """Every would-be output of the stage, for the disclosure stage."""
    s = r.settings
    last = _days_label(max(s.horizons_days))
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
    out = [
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
            data=linkage_statistics(r),
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
            title=f"New cases per person within {_days_label(s.count_window_days)}",
            data=r.counts,
            spec={"row": "new_cases", "col": GROUP, "count": "persons"},
            notes=f"Persons whose follow-up covers the whole {_days_label(s.count_window_days)}; "
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
        Candidate(
            output_id="survival_sensitivity",
            kind="statistics",
            title=f"Re-appearance within {last}: sensitivity to custody and journey linkage",
            data=r.sensitivity,
            notes="Release fraction: share of an immediate custodial term assumed served before "
            "release (0: time at risk starts at disposal). Journey match score: the minimum "
            "score at which a magistrates' case and a Crown Court case count as one case.",
        ),
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
        c.order = i
    return out


def read_inputs(paths: dict[str, str | None]) -> dict[str, pl.DataFrame]:
    """Read only the columns the stage uses (the magistrates' table is large)."""
    mags_cols = [
        "row_id", "case_id", "defendant_id", "proceeding_type", "offence_date",
        "first_hearing_date", "disposal_date", "outcome_group", "age_at_offence",
    ]  # fmt: skip
    crown_cols = [*INDEX_COLUMNS, "offence_date", "age_at_offence"]
    # Without the magistrates' table (or the journey table) they are read as empty tables:
    # re-appearances are then Crown Court ones only (socflow.coverage notes it).
    return {
        "crown": pl.read_parquet(paths["crown"], columns=crown_cols),
        "mags": read_ingested(paths.get("mags"), "mags_defendant_cases", mags_cols),
        "link": pl.read_parquet(paths["link"]),
        "journey": read_ingested(paths.get("journey"), "mags_crown_journey"),
        "flags": pl.read_parquet(paths["flags"]),
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
    r = analyse(data["crown"], data["mags"], data["link"], data["journey"], data["flags"], s)
    for step in r.flow.iter_rows(named=True):
        log.info("cohort: %s: %s persons", step["step"], step["persons"])
    for reason, n in r.excluded.items():
        log.info("left out: %s: %s", reason, n)
    if r.cox is not None:
        log.info("Cox fit %.1f s on %s persons; notes: %s", r.cox.seconds, r.cox.n_persons,
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
        "cox_error": r.cox_error,
        "diagnostics": r.diagnostics,
        "excluded": r.excluded,
    }
    Path(out_summary).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_candidates(build_candidates(r), out_candidates, stage="survival")
    return r


# --------------------------------------------------------------------------------------------
# Synthetic validation (tests and tools only: no analysis rule reads the planted truth)


def truth_follow_up(
    crown: pl.DataFrame, mags: pl.DataFrame, truth_rows: pl.DataFrame, s: Settings
) -> pl.DataFrame:
    """The follow-up the planted history implies, for comparison with `follow_up`.

    Persons are the generator's true persons (no linkage error); the index case is each true
    person's first Crown Court case meeting the same cohort definition; SOC status is the
    generator's own; time at risk starts at the true release date; the event is the true
    person's next offence in either court (offence date after the start, up to the censoring
    date). Columns: person, soc_status, offence_group, start_date, time, event.
    """
    truth = truth_rows.select(
        pl.col("row_id_hash").alias("row_id"),
        "source_dataset",
        pl.col("true_person_id").cast(pl.Int64),
        "soc_case_truth",
        "start_risk_date",
    )
    censor = s.censor_date
    index = (
        crown.filter(
            pl.col("disposal_date").is_between(s.first_disposal_date, s.last_disposal_date)
            & _str("receipt_type").is_in(list(s.receipt_types))
        )
        .join(truth.filter(pl.col("source_dataset") == "crown_xhibit"), on="row_id")
        .sort(["true_person_id", "disposal_date", "receipt_date", "defendant_on_case_id"])
        .group_by("true_person_id", maintain_order=True)
        .first()
        .filter(pl.col("start_risk_date") < censor)
        .select(
            pl.col("true_person_id").alias("person"),
            pl.when(pl.col("soc_case_truth"))
            .then(pl.lit(SOC_LABEL))
            .otherwise(pl.lit(NON_SOC_LABEL))
            .alias(GROUP),
            "offence_group",
            pl.col("start_risk_date").alias("start_date"),
        )
    )
    offences = pl.concat(
        [
            mags.filter(~_str("proceeding_type").is_in(list(s.excluded_proceeding_types)))
            .join(truth.filter(pl.col("source_dataset") == "mags_hocas"), on="row_id")
            .select(pl.col("true_person_id").alias("person"), "offence_date"),
            crown.join(
                truth.filter(pl.col("source_dataset") == "crown_xhibit"), on="row_id"
            ).select(pl.col("true_person_id").alias("person"), "offence_date"),
        ]
    )
    first = (
        offences.join(index.select("person", "start_date"), on="person")
        .filter(
            (pl.col("offence_date") > pl.col("start_date")) & (pl.col("offence_date") <= censor)
        )
        .group_by("person")
        .agg(pl.col("offence_date").min().alias("event_date"))
    )
    return (
        index.join(first, on="person", how="left")
        .with_columns(
            pl.col("event_date").is_not_null().alias("event"),
            (pl.coalesce("event_date", pl.lit(censor)) - pl.col("start_date"))
            .dt.total_days()
            .alias("time"),
        )
        .drop("event_date")
        .sort("person")
    )
