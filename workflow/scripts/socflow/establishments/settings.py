"""Settings of the `establishments` stage (config section `establishments`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from socflow import schema

PERIODS = ("month", "quarter", "year")
FANOUT_RULES = ("smallest", "most_linked")


class EstablishmentsConfigError(ValueError):
    """The `establishments` configuration cannot be used."""


@dataclass(frozen=True)
class EstablishmentSettings:
    """Every analysis setting of the stage."""

    first_date: date = date(2013, 1, 1)
    last_date: date = date(2021, 12, 31)
    incident_types: tuple[str, ...] = ("assault", "self_harm", "drugs_find", "contraband_find")
    share_step_points: float = 10.0
    period_effects: str = "month"
    fanout_rule: str = "smallest"
    confidence_level: float = 0.95

    def __post_init__(self) -> None:
        unknown = sorted(set(self.incident_types) - set(schema.INCIDENT_TYPES))
        if unknown:
            raise EstablishmentsConfigError(
                f"establishments.incident_types: unknown type(s) {', '.join(unknown)} "
                f"(known: {', '.join(schema.INCIDENT_TYPES)})"
            )
        if self.period_effects not in PERIODS:
            raise EstablishmentsConfigError(
                f"establishments.period_effects must be one of {PERIODS}"
            )
        if self.fanout_rule not in FANOUT_RULES:
            raise EstablishmentsConfigError(
                f"establishments.fanout_rule must be one of {FANOUT_RULES}"
            )
        if self.last_date < self.first_date:
            raise EstablishmentsConfigError("establishments.last_date is before first_date")
        if self.share_step_points <= 0:
            raise EstablishmentsConfigError("establishments.share_step_points must be positive")

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> EstablishmentSettings:
        kw: dict[str, Any] = {}
        for key in ("first_date", "last_date"):
            if key in cfg:
                kw[key] = date.fromisoformat(str(cfg[key]))
        if "incident_types" in cfg:
            kw["incident_types"] = tuple(cfg["incident_types"])
        for key, cast in (("share_step_points", float), ("period_effects", str),
                          ("fanout_rule", str), ("confidence_level", float)):  # fmt: skip
            if key in cfg:
                kw[key] = cast(cfg[key])
        return cls(**kw)
