"""Summary tables: proportions at horizons, frequency tables and the sensitivity table."""

from __future__ import annotations

import polars as pl

from socflow.distributions import normal_quantile
from socflow.soc import person_key_expr
from socflow.survival.clusters import cluster_expr
from socflow.survival.followup import band, band_labels, days_label, follow_up_band_labels
from socflow.survival.kaplan_meier import km_at_horizons
from socflow.survival.settings import ALL_LABEL, GROUP, NON_SOC_LABEL, SOC_LABEL, Settings, str_col


def proportions(
    follow: pl.DataFrame,
    s: Settings,
    prefix: str = "",
    horizons: tuple[int, ...] | None = None,
) -> pl.DataFrame:
    """Statistics rows: cumulative re-appearance at each horizon (`horizons`, else those of the
    settings) for SOC, non-SOC and all.

    Kaplan-Meier estimates with log-log intervals whose variance is clustered by `s.cluster`
    (`kaplan_meier.km_at_clustered`; by person it is Greenwood's), each group's risk sets built
    once for every horizon.
    """
    # Clusters as integer ranks in their sorted order, found once for both copies of the rows
    # (the groups and "all"): the estimates only need the order, and ranking text is slow.
    clustered = follow.select(
        GROUP, "time", "event", cluster_expr(s.cluster).rank("dense").alias("cluster")
    )
    both = pl.concat(
        [clustered, clustered.with_columns(pl.lit(ALL_LABEL).alias(GROUP))], how="vertical"
    )
    n_persons = pl.col("person").n_unique().cast(pl.Int64).alias("n_persons")
    persons = pl.concat(
        [
            follow.group_by(GROUP).agg(n_persons),
            follow.select(pl.lit(ALL_LABEL).alias(GROUP), n_persons),
        ]
    )
    order = pl.DataFrame({GROUP: [SOC_LABEL, NON_SOC_LABEL, ALL_LABEL], "_o": [0, 1, 2]})
    rows = []
    horizons = s.horizons_days if horizons is None else horizons
    estimates = km_at_horizons(both, list(horizons), GROUP, "cluster", s.confidence_level)
    for h, at_h in zip(horizons, estimates, strict=True):
        at = at_h.join(persons, on=GROUP, how="left").join(order, on=GROUP)
        rows.append(
            at.sort("_o").select(
                (pl.lit(f"{prefix}re-appeared within {days_label(h)}: ") + pl.col(GROUP)).alias(
                    "statistic"
                ),
                pl.col("estimate").alias("value"),
                "ci_lower",
                "ci_upper",
                "n_persons",
            )
        )
    return pl.concat(rows)


def count_frequency(follow: pl.DataFrame, s: Settings) -> pl.DataFrame:
    """Persons by number of new cases within the count window x SOC status.

    Only persons whose follow-up covers the whole window are counted.
    """
    labels = band_labels(s.count_bands)
    full = follow.filter(pl.col("n_window").is_not_null())
    return _person_table(
        full.with_columns(band("n_window", s.count_bands, labels).alias("new_cases")),
        "new_cases",
        labels,
    )


def _person_table(frame: pl.DataFrame, row: str, order: list[str]) -> pl.DataFrame:
    """Distinct persons per (row, SOC status) cell, every cell present (zeros included)."""
    grid = pl.DataFrame({row: order}).join(
        pl.DataFrame({GROUP: [SOC_LABEL, NON_SOC_LABEL]}), how="cross"
    )
    counts = frame.group_by(row, GROUP).agg(pl.col("person").n_unique().alias("persons"))
    return (
        grid.join(counts, on=[row, GROUP], how="left")
        .with_columns(pl.col("persons").fill_null(0).cast(pl.Int64))
        .with_columns(pl.col(row).replace_strict(order, list(range(len(order)))).alias("_o"))
        .sort("_o", GROUP, descending=[False, True])
        .drop("_o")
    )


def follow_up_frequency(follow: pl.DataFrame, s: Settings) -> pl.DataFrame:
    """Persons by follow-up available (banded) x SOC status."""
    labels = follow_up_band_labels(s.follow_up_bands_days)
    return _person_table(
        follow.with_columns(
            band("potential_days", s.follow_up_bands_days, labels).alias("follow_up_available")
        ),
        "follow_up_available",
        labels,
    )


def status_frequency(
    follow: pl.DataFrame, index: pl.DataFrame, s: Settings, no_time: dict[str, int]
) -> pl.DataFrame:
    """Persons by what happened by the last horizon x SOC status, with those never at risk."""
    last = max(s.horizons_days)
    order = [
        f"re-appeared within {days_label(last)}",
        f"followed {days_label(last)} without re-appearance",
        f"censored before {days_label(last)}: {s.censor_reason}",
        "no time at risk before the censoring date",
    ]
    never = index.join(follow.select("person"), on="person", how="anti").with_columns(
        pl.lit(order[-1]).alias("status")
    )
    frame = pl.concat([follow.select("person", GROUP, "status"),
                       never.select("person", GROUP, "status")])  # fmt: skip
    return _person_table(frame, "status", order)


def coverage_frequency(crown: pl.DataFrame, flags: pl.DataFrame, s: Settings) -> pl.DataFrame:
    """Crown Court defendants in the study window by whether they carry a person ID x SOC.

    Persons are the linked ID or, without one, the court defendant ID; a person is SOC if any of
    their defendant-cases in the window is.
    """
    rows = (
        crown.filter(
            pl.col("disposal_date").is_between(s.first_disposal_date, s.last_disposal_date)
            & str_col("receipt_type").is_in(list(s.receipt_types))
        )
        .select("defendant_on_case_id", "defendant_id", "person_id")
        .join(
            flags.select("defendant_on_case_id", pl.col(s.soc_column).alias("soc")),
            on="defendant_on_case_id",
            how="left",
        )
        .with_columns(
            person_key_expr().alias("person"),
            pl.when(pl.col("person_id").is_not_null())
            .then(pl.lit("usable person ID"))
            .otherwise(pl.lit("no person ID"))
            .alias("person_id_status"),
        )
        .with_columns(
            pl.when(pl.col("soc").fill_null(False).any().over("person"))
            .then(pl.lit(SOC_LABEL))
            .otherwise(pl.lit(NON_SOC_LABEL))
            .alias(GROUP)
        )
    )
    return _person_table(rows, "person_id_status", ["usable person ID", "no person ID"])


def sensitivity_table(variants: list[tuple[str, pl.DataFrame]], s: Settings) -> pl.DataFrame:
    """The last-horizon rate and the count of new cases under other settings: one block of
    rows per (label, follow-up) of `variants` (socflow.survival.prepare.build_cohort).

    The release fraction moves the start of time at risk for immediate custody. The journey
    match-score threshold decides which magistrates' and Crown Court rows are one case; it is
    varied with same-offence-date merging switched off, which would otherwise join the two rows
    of a case sent to the Crown Court whatever the journey table says. It changes the count of
    new cases, hardly the first re-appearance (both rows carry the same offence date).
    """
    last = max(s.horizons_days)
    return pl.concat([_sensitivity_rows(follow, s, last, label) for label, follow in variants])


def _sensitivity_rows(follow: pl.DataFrame, s: Settings, last: int, label: str) -> pl.DataFrame:
    rate = proportions(follow, s, horizons=(last,)).with_columns(
        (pl.lit(f"{label}: ") + pl.col("statistic")).alias("statistic")
    )
    full = follow.filter(pl.col("n_window").is_not_null())
    z = normal_quantile(0.5 + s.confidence_level / 2)
    means = (
        full.group_by(GROUP)
        .agg(
            pl.col("n_window").mean().alias("value"),
            (z * pl.col("n_window").std() / pl.len().sqrt()).alias("half"),
            pl.len().cast(pl.Int64).alias("n_persons"),
        )
        .sort(GROUP, descending=True)
        .select(
            (
                pl.lit(f"{label}: new cases per person within {days_label(s.count_window_days)}: ")
                + pl.col(GROUP)
            ).alias("statistic"),
            "value",
            (pl.col("value") - pl.col("half")).alias("ci_lower"),
            (pl.col("value") + pl.col("half")).alias("ci_upper"),
            "n_persons",
        )
    )
    return pl.concat([rate, means])
