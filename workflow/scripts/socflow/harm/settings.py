"""Analysis settings of the harm stage (config `harm`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HarmSettings:
    """Analysis settings (config `harm`)."""

    primary: str = "data_derived"
    first_year: int = 2013
    last_year: int = 2020
    offence_scope: str = "principal"
    soc_groups_only: bool = True
    replicates: int = 1000
    resample: str = "cases"
    seed: int = 20130101
    confidence: float = 0.95
    permutations: int = 199
    lorenz_step: float = 0.05
    min_units_per_point: int = 2
    power_few: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20)
    median_rounding: float = 10.0
    weights_table_top: int = 25

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> HarmSettings:
        """Settings from the `harm` config section (absent keys take the defaults)."""
        boot = cfg.get("bootstrap", {})
        d = cls()
        return cls(
            primary=cfg.get("primary_weight", d.primary),
            first_year=int(cfg.get("first_year", d.first_year)),
            last_year=int(cfg.get("last_year", d.last_year)),
            offence_scope=cfg.get("offence_scope", d.offence_scope),
            soc_groups_only=cfg.get("soc_groups", "soc_only") == "soc_only",
            replicates=int(boot.get("replicates", d.replicates)),
            resample=boot.get("resample", d.resample),
            seed=int(boot.get("seed", d.seed)),
            confidence=float(boot.get("confidence", d.confidence)),
            permutations=int(cfg.get("permutations", d.permutations)),
            lorenz_step=float(cfg.get("lorenz_step", d.lorenz_step)),
            min_units_per_point=int(cfg.get("min_units_per_point", d.min_units_per_point)),
            power_few=tuple(float(x) for x in cfg.get("power_few", d.power_few)),
            median_rounding=float(cfg.get("median_rounding", d.median_rounding)),
            weights_table_top=int(cfg.get("weights_table_top", d.weights_table_top)),
        )
