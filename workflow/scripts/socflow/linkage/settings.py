"""Settings of the stage (config section `linkage`) and shared labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from socflow.survival.settings import FANOUT_RULES, parse_date

SOC_LABEL = "SOC"
NON_SOC_LABEL = "Non-SOC"
# Covariates an adjusted comparison may use: cohort columns.
ADJUSTMENT_TERMS = ("age_at_offence", "sex", "offence_group")


class LinkageConfigError(ValueError):
    """The `linkage` configuration or the inputs it names cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Every analysis setting of the stage (config section `linkage`)."""

    first_disposal_date: date = date(2013, 1, 1)
    last_disposal_date: date = date(2020, 12, 31)
    receipt_types: tuple[str, ...] = ("trial", "sentence")
    fanout_rule: str = "smallest"
    oasys_window_days: int = 730
    full_assessments_only: bool = True
    adjust_for: tuple[str, ...] = ADJUSTMENT_TERMS
    confidence_level: float = 0.95

    def __post_init__(self) -> None:
        if self.fanout_rule not in FANOUT_RULES:
            raise LinkageConfigError(f"linkage.fanout_rule must be one of {FANOUT_RULES}")
        if self.first_disposal_date > self.last_disposal_date:
            raise LinkageConfigError(
                "linkage.cohort.first_disposal_date falls after linkage.cohort.last_disposal_date"
            )
        unknown = sorted(set(self.adjust_for) - set(ADJUSTMENT_TERMS))
        if unknown:
            raise LinkageConfigError(
                f"linkage.adjust_for: {', '.join(unknown)} not among {ADJUSTMENT_TERMS}"
            )
        if self.oasys_window_days < 0:
            raise LinkageConfigError("linkage.oasys_window_days must be 0 or more")

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Settings:
        """Build settings from the config section `linkage` (defaults already filled)."""
        cohort = cfg.get("cohort", {})
        kw: dict[str, Any] = {}
        for key in ("first_disposal_date", "last_disposal_date"):
            if key in cohort:
                kw[key] = parse_date(cohort[key])
        if "receipt_types" in cohort:
            kw["receipt_types"] = tuple(cohort["receipt_types"])
        for key in ("fanout_rule", "full_assessments_only"):
            if key in cfg:
                kw[key] = cfg[key]
        if "oasys_window_days" in cfg:
            kw["oasys_window_days"] = int(cfg["oasys_window_days"])
        if "adjust_for" in cfg:
            kw["adjust_for"] = tuple(cfg["adjust_for"])
        if "confidence_level" in cfg:
            kw["confidence_level"] = float(cfg["confidence_level"])
        return cls(**kw)
