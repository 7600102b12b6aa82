"""Follow-up: time at risk, the first re-appearance and counts per person; band labels."""

from __future__ import annotations

import polars as pl

from socflow.survival.cohort import start_of_risk
from socflow.survival.settings import Settings


def follow_up(
    index: pl.DataFrame,
    cases: pl.DataFrame,
    s: Settings,
    release_fraction: float | None = None,
    releases: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """One row per index person with time at risk, the first re-appearance and counts.

    Columns added to the index: start_date, censor_date, potential_days (follow-up available),
    event (bool), event_date, time (days from start to event or censoring), n_window (new cases
    within `count_window_days`, for persons whose follow-up covers the window, else null),
    status (at the last horizon). Persons whose time at risk would start on or after the
    censoring date have no follow-up: they are returned apart as counts by reason.

    `releases` (person, release_date: socflow.custody.matching, one row per custodial index
    person matched to a prison journey) gives the actual release: time at risk of a matched
    person starts there (a null release, still in custody, gives no time at risk); unmatched
    persons keep the estimate from `release_fraction`.
    """
    fraction = s.release_fraction if release_fraction is None else release_fraction
    censor = s.censor_date
    start = start_of_risk(index, fraction)
    if releases is not None:
        index = index.join(
            releases.select("person", pl.lit(True).alias("_matched"), "release_date"),
            on="person",
            how="left",
        )
        matched = pl.col("custody") & pl.col("_matched").fill_null(False)
        start = pl.when(matched).then(pl.col("release_date").fill_null(censor)).otherwise(start)
    people = index.with_columns(
        start.alias("start_date"), pl.lit(censor).alias("censor_date")
    ).drop("_matched", "release_date", strict=False)
    no_time = pl.col("start_date") >= pl.col("censor_date")
    excluded = {
        "disposed on or after the censoring date": people.filter(
            no_time & (pl.col("disposal_date") >= pl.col("censor_date"))
        ).height,
        "estimated release on or after the censoring date": people.filter(
            no_time & (pl.col("disposal_date") < pl.col("censor_date"))
        ).height,
    }
    people = people.filter(~no_time)
    window = s.count_window_days
    eligible = cases.join(people.select("person", "start_date"), on="person", how="inner").filter(
        pl.col("counts")
        & ~pl.col("index_case")
        & (pl.col("offence_date") > pl.col("start_date"))
        & (pl.col("event_date") > pl.col("start_date"))
        & (pl.col("event_date") <= censor)
    )
    deadline = pl.col("offence_date") + pl.duration(days=s.waiting_period_days)
    if s.convicted_only:
        eligible = eligible.filter(
            pl.col("convicted") & (pl.col("conviction_date") <= deadline)
        ).with_columns(pl.col("conviction_date").alias("recorded_date"))
    else:
        eligible = eligible.filter(pl.col("recorded_date") <= deadline)
    per_person = eligible.group_by("person").agg(
        pl.col("event_date").min().alias("event_date"),
        ((pl.col("event_date") - pl.col("start_date")).dt.total_days() <= window)
        .sum()
        .alias("n_in_window"),
    )
    last = max(s.horizons_days)
    out = (
        people.join(per_person, on="person", how="left")
        .with_columns(
            (pl.col("censor_date") - pl.col("start_date")).dt.total_days().alias("potential_days"),
            pl.col("event_date").is_not_null().alias("event"),
        )
        .with_columns(
            pl.when(pl.col("event"))
            .then((pl.col("event_date") - pl.col("start_date")).dt.total_days())
            .otherwise(pl.col("potential_days"))
            .alias("time"),
            pl.when(pl.col("potential_days") >= window)
            .then(pl.col("n_in_window").fill_null(0))
            .alias("n_window"),
        )
        .with_columns(
            pl.when(pl.col("event") & (pl.col("time") <= last))
            .then(pl.lit(f"re-appeared within {days_label(last)}"))
            .when(pl.col("potential_days") >= last)
            .then(pl.lit(f"followed {days_label(last)} without re-appearance"))
            .otherwise(pl.lit(f"censored before {days_label(last)}: {s.censor_reason}"))
            .alias("status")
        )
        .drop("n_in_window")
        .sort("person")
    )
    return out, excluded


def days_label(days: int) -> str:
    """365 -> "1 year", 730 -> "2 years", 182 -> "6 months", other -> "N days"."""
    if days == 0:
        return "0"
    years = round(days / 365.25)
    if years and abs(years * 365.25 - days) <= 1.0:
        return f"{years} year" + ("s" if years > 1 else "")
    months = round(days / 30.4375)
    if months and abs(months * 30.4375 - days) <= 1.0:
        return f"{months} months"
    return f"{days} days"


def band_labels(edges: tuple[int, ...], unit: str = "") -> list[str]:
    """Labels of bands with lower edges `edges` (last open): "0", "1", "3-4", "5+"."""
    labels = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else None
        if hi is None:
            labels.append(f"{lo}+{unit}")
        elif hi == lo:
            labels.append(f"{lo}{unit}")
        else:
            labels.append(f"{lo}-{hi}{unit}")
    return labels


def band(column: str, edges: tuple[int, ...], labels: list[str]) -> pl.Expr:
    """Band a numeric column by lower edges (values below the first edge get the first band)."""
    expr = pl.lit(labels[0])
    for lo, label in zip(edges[1:], labels[1:], strict=True):
        expr = pl.when(pl.col(column) >= lo).then(pl.lit(label)).otherwise(expr)
    return expr


def follow_up_band_labels(edges: tuple[int, ...]) -> list[str]:
    """Readable labels of follow-up bands in days: "under 6 months", "1 year to 2 years"..."""
    labels = []
    for i, lo in enumerate(edges):
        if i + 1 == len(edges):
            labels.append(f"{days_label(lo)} or more")
        elif lo == 0:
            labels.append(f"under {days_label(edges[i + 1])}")
        else:
            labels.append(f"{days_label(lo)} to under {days_label(edges[i + 1])}")
    return labels
