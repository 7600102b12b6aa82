"""Names of the outcomes, specifications and SOC levels, and the `model` configuration."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from socflow.schema import OUTCOMES as CANONICAL_OUTCOMES
from socflow.schema import RECEIPT_TYPES
from socflow.sdc import SdcThresholds

STAGE = "model"
OUTCOME_KEYS = ("discontinued", "dismissed", "either")
OUTCOME_LABELS = {
    "discontinued": "Discontinued",
    "dismissed": "Dismissed",
    "either": "Discontinued or dismissed",
}
SPECS = ("unadjusted", "adjusted", "court_fe")
SPEC_LABELS = {
    "unadjusted": "unadjusted",
    "adjusted": "adjusted",
    "court_fe": "adjusted, court fixed effects",
}
SOC_TERM = "soc"
SOC_YES, SOC_NO = "SOC", "non-SOC"
PRIMARY = "primary"
INTERCEPT = "Intercept"
DEFENDANTS_BAND = "defendants_band"
REFERENCE_NOTE = "reference"
AME_STATISTIC = "SOC minus non-SOC predicted probability, percentage points"


_TERM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ModelConfigError(ValueError):
    """The `model` configuration cannot be used; the message names the key."""


def parse_formula(formula: str) -> tuple[str, ...]:
    """Terms of a main-effects formula `outcome ~ a + b + c` (the left side must be `outcome`:
    the same right side serves each of the three outcomes)."""
    if formula.count("~") != 1:
        raise ModelConfigError(f"formula {formula!r}: needs exactly one '~'")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if lhs != "outcome":
        raise ModelConfigError(f"formula {formula!r}: left side must be 'outcome', got {lhs!r}")
    terms = tuple(t.strip() for t in rhs.split("+"))
    bad = [t for t in terms if not _TERM_NAME.match(t)]
    if bad:
        raise ModelConfigError(
            f"formula {formula!r}: terms must be column names joined by '+' (main effects "
            f"only); cannot read {bad}"
        )
    if len(set(terms)) != len(terms):
        raise ModelConfigError(f"formula {formula!r}: a term appears twice")
    if SOC_TERM not in terms:
        raise ModelConfigError(f"formula {formula!r}: must contain the term 'soc'")
    return terms


@dataclass(frozen=True)
class ModelSettings:
    """Everything that shapes the models (config section `model` plus the SDC thresholds)."""

    discontinued: tuple[str, ...]
    dismissed: tuple[str, ...]
    neither: tuple[str, ...]
    receipt_types: tuple[str, ...]
    exclude_outcomes: tuple[str, ...]
    soc_flag: str
    formulas: dict[str, str]
    unadjusted: tuple[str, ...]
    adjusted: tuple[str, ...]
    ordered_terms: tuple[str, ...]
    numeric_terms: tuple[str, ...]
    reference_levels: dict[str, str]
    defendants_bands: tuple[int, ...]
    fixed_effects: str
    cluster: str
    sensitivity_outcomes: tuple[str, ...]
    thresholds: SdcThresholds
    min_level_non_events: int
    other_label: str
    confidence_level: float
    max_iterations: int

    @property
    def min_level_persons(self) -> int:
        return self.thresholds.min_level_persons

    @property
    def min_level_events(self) -> int:
        return self.thresholds.min_level_events

    def outcome_sets(self) -> dict[str, tuple[str, ...]]:
        """Canonical outcomes that make each modelled outcome."""
        return {
            "discontinued": self.discontinued,
            "dismissed": self.dismissed,
            "either": self.discontinued + self.dismissed,
        }

    @classmethod
    def from_config(cls, cfg: dict[str, Any], sdc: dict[str, Any] | None = None) -> ModelSettings:
        """Read and check the `model` config section; `sdc` is the `sdc` section."""
        outcomes = cfg.get("outcomes", {})
        lists = {k: tuple(outcomes.get(k, ())) for k in ("discontinued", "dismissed", "neither")}
        for key, values in lists.items():
            unknown = sorted(set(values) - set(CANONICAL_OUTCOMES))
            if unknown:
                raise ModelConfigError(f"model.outcomes.{key}: not canonical outcomes {unknown}")
        for a, b in (
            ("discontinued", "dismissed"),
            ("discontinued", "neither"),
            ("dismissed", "neither"),
        ):
            both = sorted(set(lists[a]) & set(lists[b]))
            if both:
                raise ModelConfigError(f"model.outcomes: {both} in both {a} and {b}")
        if not lists["discontinued"] or not lists["dismissed"]:
            raise ModelConfigError("model.outcomes: discontinued and dismissed need outcomes")
        population = cfg.get("population", {})
        receipt_types = tuple(population.get("receipt_types", ("trial",)))
        if not receipt_types or set(receipt_types) - set(RECEIPT_TYPES):
            raise ModelConfigError(
                f"model.population.receipt_types: choose from {RECEIPT_TYPES}, got {receipt_types}"
            )
        formulas = dict(cfg.get("formulas", {}))
        formulas.setdefault("unadjusted", "outcome ~ soc")
        if "adjusted" not in formulas:
            raise ModelConfigError("model.formulas.adjusted is required")
        sens = tuple(cfg.get("sensitivity_outcomes", OUTCOME_KEYS))
        if set(sens) - set(OUTCOME_KEYS):
            raise ModelConfigError(f"model.sensitivity_outcomes: choose from {OUTCOME_KEYS}")
        soc_flag = cfg.get("soc_flag", "soc")
        if soc_flag not in ("soc", "soc_case"):
            raise ModelConfigError("model.soc_flag: 'soc' (defendant) or 'soc_case' (case)")
        bands = tuple(int(b) for b in cfg.get("defendants_bands", (1, 2, 3, 5, 10)))
        if list(bands) != sorted(set(bands)) or bands[0] < 1:
            raise ModelConfigError("model.defendants_bands: increasing lower edges from 1")
        level = float(cfg.get("confidence_level", 0.95))
        if not 0.5 < level < 1:
            raise ModelConfigError("model.confidence_level must lie between 0.5 and 1")
        return cls(
            discontinued=lists["discontinued"],
            dismissed=lists["dismissed"],
            neither=lists["neither"],
            receipt_types=receipt_types,
            exclude_outcomes=tuple(population.get("exclude_outcomes", ())),
            soc_flag=soc_flag,
            formulas={k: formulas[k] for k in ("unadjusted", "adjusted")},
            unadjusted=parse_formula(formulas["unadjusted"]),
            adjusted=parse_formula(formulas["adjusted"]),
            ordered_terms=tuple(cfg.get("ordered_terms", ())),
            numeric_terms=tuple(cfg.get("numeric_terms", ())),
            reference_levels={k: str(v) for k, v in cfg.get("reference_levels", {}).items()},
            defendants_bands=bands,
            fixed_effects=cfg.get("fixed_effects", "court_id"),
            cluster=cfg.get("cluster", "court_id"),
            sensitivity_outcomes=sens,
            thresholds=SdcThresholds.from_config(sdc),
            min_level_non_events=int(cfg.get("min_level_non_events", 10)),
            other_label=str(cfg.get("other_label", "Other")),
            confidence_level=level,
            max_iterations=int(cfg.get("max_iterations", 100)),
        )

    def model_terms(self) -> list[str]:
        """Every column a model uses (formula terms, fixed effects), in first-use order."""
        seen: dict[str, None] = {}
        for t in (*self.unadjusted, *self.adjusted, self.fixed_effects):
            seen.setdefault(t, None)
        return list(seen)
