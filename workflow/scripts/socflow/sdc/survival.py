"""Survival (Kaplan-Meier) curves: aggregate steps so that each shows enough exits.

Each step of a survival curve reveals how many people left the risk set at one time. The
steps shown are therefore built by merging consecutive event times until every displayed
step holds at least `survival_min_exits` exits (events plus censorings), and the curve
stops before the number at risk falls below `survival_min_at_risk`. Each displayed step
is reported by the time that ends it and the number at risk at its start; the caller
draws the curve from these aggregated steps. Survival outputs always go to manual review.
"""

from __future__ import annotations

import polars as pl

from .thresholds import SdcThresholds

SURVIVAL_STATUS = "review"
_COLUMNS = ("time", "at_risk", "events", "censored")


def survival_status() -> str:
    """Status of every survival output: always flagged for manual review."""
    return SURVIVAL_STATUS


def aggregate_survival_steps(times: pl.DataFrame, thr: SdcThresholds) -> pl.DataFrame:
    """Merge consecutive steps of a survival table and cut its tail.

    `times` has one row per distinct time, sorted by time, with columns time, at_risk
    (number at risk just before that time), events and censored. Rows from the first one
    with fewer than `survival_min_at_risk` at risk onwards are dropped. The rest are
    grouped, in time order, into runs that each hold at least `survival_min_exits` exits;
    a final run short of that is merged into the run before it (or dropped when there is
    none). Returns columns time_start, time (end of the run), at_risk (at the start of the
    run), events, censored and exits.
    """
    missing = [c for c in _COLUMNS if c not in times.columns]
    if missing:
        raise ValueError(f"missing column(s): {', '.join(missing)}")
    df = times.select(
        pl.col("time"),
        *[pl.col(c).cast(pl.Int64) for c in _COLUMNS[1:]],
    )
    if df.null_count().sum_horizontal().item():
        raise ValueError("survival table has nulls")
    if df.height and not df["time"].is_sorted():
        raise ValueError("survival table must be sorted by time")
    if df["time"].is_duplicated().any():
        raise ValueError("survival table must have one row per distinct time")
    if df.height and bool((df.select(pl.min_horizontal(_COLUMNS[1:])) < 0).to_series().any()):
        raise ValueError("counts must be non-negative")

    # Cut the tail: the number at risk never rises, so everything after the first row
    # below the minimum is below it too.
    below = (df["at_risk"] < thr.survival_min_at_risk).arg_true()
    if below.len():
        df = df.head(int(below[0]))

    groups: list[list[int]] = []
    current: list[int] = []
    exits = 0
    row_exits = (df["events"] + df["censored"]).to_list()
    for i, e in enumerate(row_exits):
        current.append(i)
        exits += e
        if exits >= thr.survival_min_exits:
            groups.append(current)
            current, exits = [], 0
    if current:
        if groups:
            groups[-1].extend(current)
        # With no complete run before it, a short run cannot be shown at all.

    group_id = [0] * df.height
    kept = [False] * df.height
    for g, rows in enumerate(groups):
        for i in rows:
            group_id[i] = g
            kept[i] = True
    schema = {
        "time_start": df.schema["time"],
        "time": df.schema["time"],
        "at_risk": pl.Int64,
        "events": pl.Int64,
        "censored": pl.Int64,
        "exits": pl.Int64,
    }
    if not groups:
        return pl.DataFrame(schema=schema)
    return (
        df.with_columns(
            pl.Series("_group", group_id, dtype=pl.Int64),
            pl.Series("_kept", kept, dtype=pl.Boolean),
        )
        .filter(pl.col("_kept"))
        .group_by("_group", maintain_order=True)
        .agg(
            pl.col("time").first().alias("time_start"),
            pl.col("time").last().alias("time"),
            pl.col("at_risk").first(),
            pl.col("events").sum(),
            pl.col("censored").sum(),
        )
        .with_columns((pl.col("events") + pl.col("censored")).alias("exits"))
        .select(list(schema))
    )
