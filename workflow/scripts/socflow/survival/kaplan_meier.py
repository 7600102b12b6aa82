"""Kaplan-Meier cumulative re-appearance, numbers at risk and the log-rank test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from socflow.survival.followup import days_label
from socflow.survival.settings import GROUP


def kaplan_meier(
    follow: pl.DataFrame, group: str = GROUP, confidence_level: float = 0.95
) -> pl.DataFrame:
    """Long Kaplan-Meier table: one row per distinct time per group.

    Columns: group, time, at_risk (just before time), events, censored, survival, estimate
    (cumulative re-appearance, 1 - survival) and its log-log (exponential Greenwood) band
    ci_lower, ci_upper, as lifelines' KaplanMeierFitter computes them.
    """
    z = stats.norm.ppf(0.5 + confidence_level / 2)
    steps = (
        follow.group_by(group, "time")
        .agg(
            pl.col("event").sum().cast(pl.Int64).alias("events"),
            (~pl.col("event")).sum().cast(pl.Int64).alias("censored"),
        )
        .sort(group, "time")
        .with_columns(
            (pl.col("events") + pl.col("censored"))
            .cum_sum(reverse=True)
            .over(group)
            .alias("at_risk")
        )
        .with_columns(
            (1.0 - pl.col("events") / pl.col("at_risk")).cum_prod().over(group).alias("survival"),
            (pl.col("events") / (pl.col("at_risk") * (pl.col("at_risk") - pl.col("events"))))
            .cum_sum()
            .over(group)
            .alias("greenwood"),
        )
    )
    log_s = pl.col("survival").log()
    half = z * pl.col("greenwood").sqrt() / log_s
    s_a = (-((-log_s).log() - half).exp()).exp()
    s_b = (-((-log_s).log() + half).exp()).exp()
    defined = (pl.col("survival") > 0) & (pl.col("survival") < 1)
    return steps.with_columns(
        (1.0 - pl.col("survival")).alias("estimate"),
        pl.when(defined).then(1.0 - pl.max_horizontal(s_a, s_b)).alias("ci_lower"),
        pl.when(defined).then(1.0 - pl.min_horizontal(s_a, s_b)).alias("ci_upper"),
    ).select(group, "time", "at_risk", "events", "censored", "survival", "estimate",
             "ci_lower", "ci_upper")  # fmt: skip


def km_at(km: pl.DataFrame, horizon: int, group: str = GROUP) -> pl.DataFrame:
    """Cumulative re-appearance at `horizon` per group (last step at or before it).

    Null where no one in the group is still followed at the horizon.
    """
    reach = km.group_by(group).agg(pl.col("time").max().alias("max_time"))
    before = (
        km.filter(pl.col("time") <= horizon)
        .sort(group, "time")
        .group_by(group, maintain_order=True)
        .last()
        .select(group, "estimate", "ci_lower", "ci_upper")
    )
    return (
        reach.join(before, on=group, how="left")
        .with_columns(
            pl.when(pl.col("max_time") >= horizon).then(pl.col(c)).alias(c)
            for c in ("estimate", "ci_lower", "ci_upper")
        )
        .with_columns(pl.col("estimate").fill_null(0.0).alias("estimate"))
        .with_columns(
            pl.when(pl.col("max_time") >= horizon).then(pl.col("estimate")).alias("estimate")
        )
        .drop("max_time")
        .sort(group)
    )


def at_risk_table(follow: pl.DataFrame, times: tuple[int, ...], group: str = GROUP) -> pl.DataFrame:
    """Numbers at risk (distinct persons still followed, event-free) at fixed times per group."""
    grid = pl.DataFrame({"t": list(times)}, schema={"t": pl.Int64})
    return (
        follow.select(group, "person", pl.col("time").cast(pl.Int64))
        .join(grid, how="cross")
        .group_by(group, "t")
        .agg((pl.col("time") >= pl.col("t")).sum().cast(pl.Int64).alias("persons"))
        .sort("t", group)
        .with_columns(
            pl.col("t").map_elements(days_label, return_dtype=pl.String).alias("time_since_start")
        )
        .select("time_since_start", group, "persons", pl.col("t").alias("days"))
    )


@dataclass(frozen=True)
class LogRank:
    chi2: float
    df: int
    p_value: float
    observed: dict[str, float]
    expected: dict[str, float]


def logrank(follow: pl.DataFrame, group: str = GROUP) -> LogRank:
    """Log-rank test of equal re-appearance across groups (k-sample, chi-square on k-1 df)."""
    levels = sorted(follow[group].unique().to_list())
    table = (
        follow.group_by("time", group)
        .agg(pl.col("event").sum().alias("d"), pl.len().alias("exits"))
        .pivot(on=group, index="time", values=["d", "exits"])
        .fill_null(0)
        .sort("time")
    )
    d = np.column_stack([table[f"d_{g}"].to_numpy().astype(float) for g in levels])
    exits = np.column_stack([table[f"exits_{g}"].to_numpy().astype(float) for g in levels])
    at_risk = np.flip(np.cumsum(np.flip(exits, 0), 0), 0)
    n = at_risk.sum(1)
    d_all = d.sum(1)
    expected = at_risk * (d_all / n)[:, None]
    frac = np.where(n > 1, d_all * (n - d_all) / (n * n * np.maximum(n - 1, 1)), 0.0)
    k = len(levels)
    # Covariance of (O - E) over the first k-1 groups (hypergeometric).
    v = np.zeros((k - 1, k - 1))
    for i in range(k - 1):
        for j in range(k - 1):
            term = at_risk[:, i] * ((i == j) * n - at_risk[:, j])
            v[i, j] = float((frac * term).sum())
    o_e = (d - expected).sum(0)[: k - 1]
    chi2 = float(o_e @ np.linalg.solve(v, o_e)) if k > 1 else 0.0
    return LogRank(
        chi2=chi2,
        df=k - 1,
        p_value=float(stats.chi2.sf(chi2, k - 1)) if k > 1 else 1.0,
        observed=dict(zip(levels, d.sum(0).tolist(), strict=True)),
        expected=dict(zip(levels, expected.sum(0).tolist(), strict=True)),
    )
