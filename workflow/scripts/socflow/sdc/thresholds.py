"""Statistical disclosure control thresholds and their validation.

The values follow the ONS minimum frequency (10) and the ACRO defaults used in UK trusted
research environments. Configuration may make a rule stricter, never looser: every bound
in `MINIMUMS` (larger is stricter) and `MAXIMUMS` (smaller is stricter) is enforced when an
`SdcThresholds` is constructed, so no code path can hold a looser set of thresholds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

TABLE_METHODS: tuple[str, ...] = ("suppress", "round")

# Lower bounds: a configured value below one of these is looser than the rules allow.
MINIMUMS: dict[str, int | float] = {
    "min_cell_count": 10,
    "dominance_n": 2,
    "p_ratio": 0.10,
    "min_residual_df": 10,
    "min_level_persons": 10,
    "min_level_events": 10,
    "survival_min_exits": 10,
    "survival_min_at_risk": 10,
    "rounding_base": 5,
}

# Upper bounds: the dominance share K is looser the larger it is.
MAXIMUMS: dict[str, int | float] = {
    "dominance_k": 0.90,
}

_INT_KEYS: frozenset[str] = frozenset(
    {
        "min_cell_count",
        "dominance_n",
        "min_residual_df",
        "min_level_persons",
        "min_level_events",
        "survival_min_exits",
        "survival_min_at_risk",
        "rounding_base",
    }
)
_FLOAT_KEYS: frozenset[str] = frozenset({"dominance_k", "p_ratio"})


@dataclass(frozen=True)
class SdcThresholds:
    """Thresholds applied to every output; validated on construction."""

    min_cell_count: int = 10
    dominance_n: int = 2
    dominance_k: float = 0.90
    p_ratio: float = 0.10
    min_residual_df: int = 10
    min_level_persons: int = 10
    min_level_events: int = 10
    survival_min_exits: int = 10
    survival_min_at_risk: int = 10
    table_method: str = "suppress"
    rounding_base: int = 5
    zeros_disclosive: bool = True

    def __post_init__(self) -> None:
        validate_thresholds(self)

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> SdcThresholds:
        """Build thresholds from a config mapping; absent keys take the defaults.

        Unknown keys are refused so that a misspelt key cannot silently leave a default
        in force while the author believes a stricter value applies.
        """
        config = dict(config or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"unknown SDC threshold key(s): {', '.join(unknown)}")
        return cls(**config)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping of every threshold, for audit records."""
        return asdict(self)


def _is_number(value: Any) -> bool:
    # bool is an int subclass; True must not pass as a count of 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_thresholds(thr: SdcThresholds) -> None:
    """Raise ValueError naming the key of any value that is ill-typed or too loose."""
    for key in sorted(_INT_KEYS):
        value = getattr(thr, key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{key} must be an integer, got {value!r}")
    for key in sorted(_FLOAT_KEYS):
        value = getattr(thr, key)
        if not _is_number(value) or not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, got {value!r}")
    for key, bound in MINIMUMS.items():
        value = getattr(thr, key)
        if value < bound:
            raise ValueError(f"{key}={value!r} is looser than the minimum {bound!r}")
    for key, bound in MAXIMUMS.items():
        value = getattr(thr, key)
        if value > bound:
            raise ValueError(f"{key}={value!r} is looser than the maximum {bound!r}")
    if thr.dominance_k <= 0:
        raise ValueError(f"dominance_k must be positive, got {thr.dominance_k!r}")
    if thr.table_method not in TABLE_METHODS:
        raise ValueError(f"table_method must be one of {TABLE_METHODS}, got {thr.table_method!r}")
    if not isinstance(thr.zeros_disclosive, bool):
        raise ValueError(f"zeros_disclosive must be a boolean, got {thr.zeros_disclosive!r}")
    if not thr.zeros_disclosive:
        # Zeros are disclosive unless structural; structural zeros are declared per cell,
        # so switching the rule off globally would be looser than the minimum.
        raise ValueError("zeros_disclosive=False is looser than the minimum (True)")


def config_json_schema() -> dict[str, Any]:
    """JSON Schema fragment for the thresholds mapping, generated from the bounds above."""
    defaults = SdcThresholds()
    properties: dict[str, Any] = {}
    for f in fields(SdcThresholds):
        default = getattr(defaults, f.name)
        if f.name in _INT_KEYS:
            prop: dict[str, Any] = {"type": "integer", "minimum": MINIMUMS[f.name]}
        elif f.name in _FLOAT_KEYS:
            prop = {"type": "number"}
            if f.name in MINIMUMS:
                prop["minimum"] = MINIMUMS[f.name]
            if f.name in MAXIMUMS:
                prop["maximum"] = MAXIMUMS[f.name]
                prop["exclusiveMinimum"] = 0
        elif f.name == "table_method":
            prop = {"type": "string", "enum": list(TABLE_METHODS)}
        else:
            prop = {"type": "boolean", "const": True}
        prop["default"] = default
        properties[f.name] = prop
    return {"type": "object", "additionalProperties": False, "properties": properties}
