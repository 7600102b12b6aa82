"""Shared helpers of the harm tables: labels, rounding, intervals, the statistics schema."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from socflow.harm.bootstrap import percentile_interval
from socflow.harm.common import WEIGHT_LABELS
from socflow.harm.estimation import Estimates
from socflow.outputs import STATISTICS_SCHEMA

STAT_SCHEMA = STATISTICS_SCHEMA


def _label(weight: str) -> str:
    return WEIGHT_LABELS[weight]


def _round_to(value: float | None, base: float) -> float | None:
    """Round half up to a multiple of `base` (medians are single-person values)."""
    if value is None or not math.isfinite(value):
        return None
    return math.floor(value / base + 0.5) * base


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _interval(est: Estimates, dim: str, key: str, conf: float) -> tuple[Any, Any]:
    lo, hi = percentile_interval(est.boot[dim][key], conf)
    return lo, hi


def _frame(rows: list[dict[str, Any]], extra: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={**extra, **STAT_SCHEMA}, orient="row")


def _persons(frame: pl.DataFrame) -> int:
    # The dense person number, where present, counts faster than the string ID.
    column = "person_code" if "person_code" in frame.columns else "person"
    return int(frame[column].n_unique())
