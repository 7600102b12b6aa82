"""Settings of the stage (config section `survival`) and shared labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from socflow.survival.clusters import CLUSTER_LABELS

SOC_LABEL = "SOC"
NON_SOC_LABEL = "Non-SOC"
ALL_LABEL = "All"
GROUP = "soc_status"
FANOUT_RULES = ("smallest", "most_linked")
TIMINGS = ("offence_date", "first_hearing")
CLUSTERS = tuple(CLUSTER_LABELS)
PH_TRANSFORMS = ("km", "rank", "identity", "log")


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
    ph_transform: str = "km"
    ph_alpha: float = 0.05
    tolerance: float = 1e-9
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
    release_match_window_days: int = 14  # custody.match.window_days (prison releases)
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
    cluster: str = "index_case"
    cox: CoxSettings = field(default_factory=CoxSettings)
    sensitivity_release_fractions: tuple[float, ...] = (0.0, 0.5, 1.0)
    sensitivity_journey_scores: tuple[float, ...] = (0.0, 0.5, 0.8, 0.9)

    def __post_init__(self) -> None:
        if self.fanout_rule not in FANOUT_RULES:
            raise SurvivalConfigError(f"survival.fanout_rule must be one of {FANOUT_RULES}")
        if self.timing not in TIMINGS:
            raise SurvivalConfigError(f"survival.event.timing must be one of {TIMINGS}")
        if self.cluster not in CLUSTERS:
            raise SurvivalConfigError(f"survival.cluster must be one of {CLUSTERS}")
        if self.cox.ph_transform not in PH_TRANSFORMS:
            raise SurvivalConfigError(f"survival.cox.ph_transform must be one of {PH_TRANSFORMS}")
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
            "release_match_window_days": int(cfg.get("release_match", {}).get("window_days", 14)),
            "confidence_level": float(cfg.get("confidence_level", 0.95)),
            "cluster": cfg.get("cluster", "index_case"),
        }
        if "first_disposal_date" in cohort:
            kw["first_disposal_date"] = parse_date(cohort["first_disposal_date"])
        if "last_disposal_date" in cohort:
            kw["last_disposal_date"] = parse_date(cohort["last_disposal_date"])
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
            kw["data_end_date"] = parse_date(cens["data_end_date"])
        if cens.get("coverage_end_date"):
            kw["coverage_end_date"] = parse_date(cens["coverage_end_date"])
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


def parse_date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def str_col(column: str) -> pl.Expr:
    """An Enum/categorical column as plain strings, for comparisons with config values."""
    return pl.col(column).cast(pl.String)
