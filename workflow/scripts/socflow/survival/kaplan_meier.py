"""Kaplan-Meier cumulative re-appearance, numbers at risk and the log-rank test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from socflow.distributions import chi2_sf, normal_quantile
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
    z = normal_quantile(0.5 + confidence_level / 2)
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
        p_value=float(chi2_sf(chi2, k - 1)) if k > 1 else 1.0,
        observed=dict(zip(levels, d.sum(0).tolist(), strict=True)),
        expected=dict(zip(levels, expected.sum(0).tolist(), strict=True)),
    )


def km_at_clustered(
    follow: pl.DataFrame,
    horizon: int,
    group: str = GROUP,
    cluster: str = "cluster",
    confidence_level: float = 0.95,
) -> pl.DataFrame:
    """Cumulative re-appearance at `horizon` per group with a cluster-robust log-log interval.

    The variance of the Kaplan-Meier estimate S(h) is the infinitesimal-jackknife (robust)
    variance, clustered by the column `cluster`, as R's `survfit(..., cluster=)` computes it:
    the sum over clusters of the squared sum of their members' influences
        -S(h) [delta_i 1(t_i <= h) / (n_i - d_i) - sum_{t_k <= min(h, t_i)} d_k / (n_k (n_k - d_k))]
    (n_i, d_i: at risk and events at t_i).
    With every person a cluster of one it equals Greenwood's variance. The interval is log-log
    on the survival scale (se of log S = se(S) / S), then turned into re-appearance (1 - S).
    Columns: group, estimate, ci_lower, ci_upper, se (of the estimate); all null where no one in
    the group is followed to the horizon, intervals null where S(h) is 0 or 1.
    """
    return km_at_horizons(follow, [horizon], group, cluster, confidence_level)[0]


@dataclass(frozen=True)
class _GroupSteps:
    """One group's distinct times, events and numbers at risk, and each row's cluster code."""

    time: np.ndarray
    event: np.ndarray
    distinct: np.ndarray
    inverse: np.ndarray
    deaths: np.ndarray
    at_risk: np.ndarray
    cluster_code: np.ndarray


def unique_integers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_inverse=True)` for integer-valued `values` (days, ranks),
    found by marking the values present rather than sorting; np.unique itself when they are
    not whole numbers or spread far wider than their count."""
    values = np.asarray(values)
    if len(values) == 0 or not np.array_equal(values, np.floor(values)):
        return np.unique(values, return_inverse=True)
    low = values.min()
    offset = (values - low).astype(np.int64)
    span = int(offset.max()) + 1
    if span > 4 * len(values) + 1024:
        return np.unique(values, return_inverse=True)
    present = np.zeros(span, dtype=bool)
    present[offset] = True
    code = np.cumsum(present) - 1
    distinct = (np.flatnonzero(present) + low).astype(values.dtype)
    return distinct, code[offset]


def _group_steps(part: pl.DataFrame, cluster_rank: str) -> _GroupSteps:
    t = part["time"].to_numpy().astype(float)
    e = part["event"].to_numpy().astype(float)
    distinct, inverse = unique_integers(t)
    deaths = np.bincount(inverse, weights=e, minlength=len(distinct))
    at_risk = np.cumsum(np.bincount(inverse, minlength=len(distinct))[::-1])[::-1]
    # The ranks keep the clusters' sorted order, so these are the codes np.unique would give
    # the cluster values themselves.
    _, codes = unique_integers(part[cluster_rank].to_numpy())
    return _GroupSteps(t, e, distinct, inverse, deaths, at_risk.astype(float), codes)


def km_at_horizons(
    follow: pl.DataFrame,
    horizons: list[int],
    group: str = GROUP,
    cluster: str = "cluster",
    confidence_level: float = 0.95,
) -> list[pl.DataFrame]:
    """`km_at_clustered` at each of `horizons`, with each group's risk sets built once."""
    z = normal_quantile(0.5 + confidence_level / 2)
    levels = sorted(follow[group].unique().to_list())
    # Clusters as integer ranks, found once: sorting text per group is the slow part. Numbers
    # (ranks already, as `tables.proportions` gives them) keep their order: each group's codes
    # are the same from them as from their ranks.
    code = pl.col(cluster)
    if not follow.schema[cluster].is_numeric():
        code = code.rank("dense")
    ranked = follow.select(group, "time", "event", code.alias("_rank"))
    steps = {lv: _group_steps(ranked.filter(pl.col(group) == lv), "_rank") for lv in levels}
    return [
        pl.DataFrame(
            [_km_row(level, steps[level], horizon, z) for level in levels],
            schema={
                group: pl.String,
                "estimate": pl.Float64,
                "ci_lower": pl.Float64,
                "ci_upper": pl.Float64,
                "se": pl.Float64,
            },
            orient="row",
        )
        for horizon in horizons
    ]


def _km_row(level: str, g: _GroupSteps, horizon: int, z: float) -> tuple:
    """One group's estimate, interval and standard error at `horizon`."""
    if len(g.time) == 0 or g.time.max() < horizon:
        return (level, None, None, None, None)
    k = int(np.searchsorted(g.distinct, horizon, side="right")) - 1
    if k < 0:
        return (level, 0.0, None, None, 0.0)
    deaths, at_risk = g.deaths[: k + 1], g.at_risk[: k + 1]
    survival = float(np.prod(1.0 - deaths / at_risk))
    if not 0.0 < survival < 1.0:
        return (level, 1.0 - survival, None, None, None)
    # Up to the horizon n_k > d_k, else S(h) would be 0.
    left = at_risk - deaths
    greenwood = np.cumsum(deaths / (at_risk * left))
    last = np.minimum(g.inverse, k)
    own = np.where((g.event > 0) & (g.inverse <= k), 1.0 / left[last], 0.0)
    influence = -survival * (own - greenwood[last])
    variance = float((np.bincount(g.cluster_code, weights=influence) ** 2).sum())
    se_log = np.sqrt(variance) / survival
    log_s = np.log(survival)
    half = z * se_log / log_s
    s_a = np.exp(-np.exp(np.log(-log_s) - half))
    s_b = np.exp(-np.exp(np.log(-log_s) + half))
    return (level, 1.0 - survival, 1.0 - max(s_a, s_b), 1.0 - min(s_a, s_b), np.sqrt(variance))
