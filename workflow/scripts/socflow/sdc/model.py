"""Disclosure checks for fitted models (regressions, Cox models).

A model may be released when its residual degrees of freedom reach `min_residual_df` and
every level of every categorical term covers at least `min_level_persons` distinct persons
and, for event models, `min_level_events` events: a coefficient for a level with few
persons or events is close to a statement about those persons. Only summary statistics
of the coefficients are released; residuals, fitted values, leverage and other
per-observation quantities are row-level data and are refused outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from .thresholds import SdcThresholds

ALLOWED_STATISTICS: tuple[str, ...] = (
    "coef",
    "se",
    "ci_lower",
    "ci_upper",
    "p_value",
    "odds_ratio",
    "hazard_ratio",
)
DEFAULT_ID_COLUMNS: tuple[str, ...] = ("term", "level")

# Column names that carry per-observation values. Matched as whole words of the column
# name (split on non-alphanumerics) so that e.g. "coef" never matches but "resid_dev",
# "fitted_values" and "cooks_d" do.
_DISALLOWED = re.compile(
    r"(^|_)(resid\w*|fitted\w*|predicted\w*|predictions?|yhat|leverage\w*|hat|hat_\w+|"
    r"influence\w*|cooks?(_d|_distance)?|dfbetas?|dffits|martingale\w*|schoenfeld\w*|"
    r"linear_predictor|row_id|person_id|record_id)($|_)",
    re.IGNORECASE,
)

OK = "ok"
PERSONS = "persons"
EVENTS = "events"


@dataclass(frozen=True)
class ModelCheck:
    """Outcome of the model checks.

    `levels` has one row per (term, level) with persons, events and `sdc`: "ok" or the
    failed counts ("persons", "events", "persons; events"). `status` is "pass" or "fail".
    """

    residual_df: int
    residual_df_ok: bool
    levels: pl.DataFrame
    status: str
    allowed_statistics: tuple[str, ...] = ALLOWED_STATISTICS

    @property
    def failing_levels(self) -> pl.DataFrame:
        """Levels that fail a count check."""
        return self.levels.filter(pl.col("sdc") != OK)

    def summary(self) -> str:
        """ACRO-style summary, e.g. "fail; dof: 8 below threshold; levels: 1 failing; "."""
        parts: list[str] = []
        if not self.residual_df_ok:
            parts.append(f"dof: {self.residual_df} below threshold")
        n_fail = self.failing_levels.height
        if n_fail:
            parts.append(f"levels: {n_fail} failing")
        if not parts:
            return self.status
        return f"{self.status}; " + "".join(f"{p}; " for p in parts)


def check_model(residual_df: int, level_counts: pl.DataFrame, thr: SdcThresholds) -> ModelCheck:
    """Check a fitted model's residual degrees of freedom and categorical level counts.

    `level_counts` has columns term, level, persons and events (events null for models
    without events, such as linear regression, where only persons are checked).
    """
    if isinstance(residual_df, bool) or not isinstance(residual_df, int):
        raise ValueError(f"residual_df must be an integer, got {residual_df!r}")
    needed = ["term", "level", "persons", "events"]
    missing = [c for c in needed if c not in level_counts.columns]
    if missing:
        raise ValueError(f"level_counts is missing column(s): {', '.join(missing)}")
    if level_counts["persons"].null_count():
        raise ValueError("persons must be known for every level")
    levels = level_counts.select(
        pl.col("term").cast(pl.String),
        pl.col("level").cast(pl.String),
        pl.col("persons").cast(pl.Int64),
        pl.col("events").cast(pl.Int64),
    )
    low_persons = pl.col("persons") < thr.min_level_persons
    low_events = pl.col("events").is_not_null() & (pl.col("events") < thr.min_level_events)
    levels = levels.with_columns(
        pl.when(low_persons & low_events)
        .then(pl.lit(f"{PERSONS}; {EVENTS}"))
        .when(low_persons)
        .then(pl.lit(PERSONS))
        .when(low_events)
        .then(pl.lit(EVENTS))
        .otherwise(pl.lit(OK))
        .alias("sdc")
    )
    df_ok = residual_df >= thr.min_residual_df
    status = "pass" if df_ok and bool((levels["sdc"] == OK).all()) else "fail"
    return ModelCheck(residual_df=residual_df, residual_df_ok=df_ok, levels=levels, status=status)


def disallowed_columns(df: pl.DataFrame) -> list[str]:
    """Columns whose names mark per-observation quantities (residuals, fitted, ...)."""
    return [c for c in df.columns if _DISALLOWED.search(c.strip())]


def strip_disallowed(
    df: pl.DataFrame, id_columns: tuple[str, ...] | list[str] = DEFAULT_ID_COLUMNS
) -> pl.DataFrame:
    """Keep only the identifier columns and the allowed statistics of a model table.

    Raises ValueError if the frame carries per-observation columns (residuals, fitted
    values, leverage, ...): such a frame is row-level data, and silently dropping the
    columns would hide a mistake upstream. Any other column that is neither an
    identifier nor an allowed statistic is dropped.
    """
    bad = disallowed_columns(df)
    if bad:
        raise ValueError(f"per-observation columns may not be released: {', '.join(bad)}")
    keep = [c for c in df.columns if c in id_columns or c in ALLOWED_STATISTICS]
    if not any(c in ALLOWED_STATISTICS for c in keep):
        raise ValueError(f"no allowed statistic among the columns; allowed: {ALLOWED_STATISTICS}")
    return df.select(keep)
