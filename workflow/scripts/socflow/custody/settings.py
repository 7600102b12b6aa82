"""Settings of the `custody` stage (config section `custody`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

FANOUT_RULES = ("smallest", "most_linked")
SOC_LABEL = "SOC"
NON_SOC_LABEL = "Non-SOC"
ALL_LABEL = "All"


class CustodyConfigError(ValueError):
    """The `custody` configuration or the inputs it names cannot be used."""


@dataclass(frozen=True)
class MatchSettings:
    """How a custodial index case is matched to its prison journey (socflow.custody.matching)."""

    window_days: int = 14
    fanout_rule: str = "smallest"

    def __post_init__(self) -> None:
        if self.window_days < 0:
            raise CustodyConfigError("custody.match.window_days must be 0 or more")
        if self.fanout_rule not in FANOUT_RULES:
            raise CustodyConfigError(f"custody.match.fanout_rule must be one of {FANOUT_RULES}")

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> MatchSettings:
        return cls(
            window_days=int(cfg.get("window_days", 14)),
            fanout_rule=str(cfg.get("fanout_rule", "smallest")),
        )


@dataclass(frozen=True)
class CustodySettings:
    """Every analysis setting of the stage."""

    match: MatchSettings = MatchSettings()
    horizons_days: tuple[int, ...] = (365, 730)
    competing_release_reasons: tuple[str, ...] = ("died", "deported")
    follow_up_end_date: date = date(2021, 12, 31)
    confidence_level: float = 0.95

    def __post_init__(self) -> None:
        if not self.horizons_days or min(self.horizons_days) <= 0:
            raise CustodyConfigError("custody.recall.horizons_days must be positive days")
        if not 0.5 <= self.confidence_level < 1:
            raise CustodyConfigError("custody.confidence_level must lie in [0.5, 1)")

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> CustodySettings:
        recall = cfg.get("recall", {})
        kw: dict[str, Any] = {
            "match": MatchSettings.from_config(cfg.get("match", {})),
            "confidence_level": float(cfg.get("confidence_level", 0.95)),
        }
        if "horizons_days" in recall:
            kw["horizons_days"] = tuple(int(v) for v in recall["horizons_days"])
        if "competing_release_reasons" in recall:
            kw["competing_release_reasons"] = tuple(recall["competing_release_reasons"])
        if "follow_up_end_date" in recall:
            kw["follow_up_end_date"] = date.fromisoformat(str(recall["follow_up_end_date"]))
        return cls(**kw)
