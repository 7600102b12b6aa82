"""The establishment x month panel: prisoner-days, SOC-prisoner share and incident counts.

* **Prisoner-days.** Each establishment spell counts the days from its start (inclusive) to
  its end (exclusive: the day of transfer or release is spent at the next place). A spell with
  no end (still there, or an extract without `end_date`) ends at the start of the journey's
  next spell, else at the journey's release, else (still in custody) at the last date of the
  panel. Days are split by calendar month and cut to the panel's dates (config
  `establishments.first_date` / `last_date`).
* **SOC prisoners.** A prisoner is SOC when their cross-justice person ID (xjs_link, source
  `prison`) belongs to a person of the linked cohort whose index Crown Court case is SOC.
  Prisoners with no Crown Court case in the study window (not in the cohort) and prisoners
  whose journey carries no person ID count as non-SOC: the data cannot show them to be SOC.
  The status is the person's, whatever the date of the spell.
* **Incidents.** Distinct incidents (`incident_id`) of each type per establishment and month
  of the incident date; incidents outside the panel's dates are left out.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from socflow.establishments.settings import EstablishmentSettings
from socflow.survival.linking import resolve_person_ids

PRISONER = "prisoner"


def prisoners(
    journeys: pl.DataFrame, link: pl.DataFrame, cohort: pl.DataFrame, rule: str = "smallest"
) -> pl.DataFrame:
    """journey row_id -> prisoner key (person ID, else `journey:<row_id>`), soc (bool) and the
    journey's release_date (where a spell without an end stops)."""
    ids = resolve_person_ids(link, "prison", rule).select("row_id", "person_id")
    soc_persons = cohort.filter(pl.col("soc").fill_null(False)).select("person_id").unique()
    release = (
        pl.col("release_date")
        if "release_date" in journeys.columns
        else pl.lit(None, dtype=pl.Date).alias("release_date")
    )
    return (
        journeys.select("row_id", release)
        .join(ids, on="row_id", how="left")
        .with_columns(
            pl.coalesce("person_id", pl.lit("journey:") + pl.col("row_id")).alias(PRISONER),
            pl.col("person_id")
            .is_in(soc_persons["person_id"].implode())
            .fill_null(False)
            .alias("soc"),
        )
        .select(pl.col("row_id").alias("journey_row_id"), PRISONER, "soc", "release_date")
    )


def spell_months(
    spells: pl.DataFrame, s: EstablishmentSettings, who: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per spell x calendar month: journey_row_id, establishment_id, month, days.

    `who` (`prisoners`) gives the journeys' release dates for spells without an end."""
    first = s.first_date
    stop = s.last_date + timedelta(days=1)  # exclusive
    if who is not None:
        spells = spells.join(
            who.select("journey_row_id", "release_date"), on="journey_row_id", how="left"
        )
    else:
        spells = spells.with_columns(pl.lit(None, dtype=pl.Date).alias("release_date"))
    next_start = (
        pl.col("start_date").shift(-1).over("journey_row_id", order_by=["start_date", "end_date"])
    )
    end = pl.coalesce("end_date", next_start, "release_date", pl.lit(stop))
    cut = spells.select(
        "journey_row_id",
        "establishment_id",
        pl.max_horizontal(pl.col("start_date"), pl.lit(first)).alias("_from"),
        pl.min_horizontal(end, pl.lit(stop)).alias("_to"),
    ).filter(pl.col("_to") > pl.col("_from"))
    months = (
        cut.with_columns(
            pl.date_ranges(
                pl.col("_from").dt.month_start(),
                (pl.col("_to") - pl.duration(days=1)).dt.month_start(),
                interval="1mo",
            ).alias("month")
        )
        .explode("month", empty_as_null=False)
        .with_columns(
            (
                pl.min_horizontal("_to", pl.col("month").dt.offset_by("1mo"))
                - pl.max_horizontal("_from", "month")
            )
            .dt.total_days()
            .alias("days")
        )
    )
    return months.select("journey_row_id", "establishment_id", "month", "days")


def build_panel(
    spells: pl.DataFrame,
    incidents: pl.DataFrame,
    who: pl.DataFrame,
    s: EstablishmentSettings,
) -> pl.DataFrame:
    """Establishment x month rows with prisoner_days, soc_prisoner_days, soc_share, the
    number of distinct prisoners and one `n_<type>` count per incident type; sorted."""
    days = spell_months(spells, s, who).join(who, on="journey_row_id", how="left")
    exposure = days.group_by("establishment_id", "month").agg(
        pl.col("days").sum().alias("prisoner_days"),
        pl.col("days").filter(pl.col("soc").fill_null(False)).sum().alias("soc_prisoner_days"),
    )
    counts = (
        incidents.filter(pl.col("incident_date").is_between(s.first_date, s.last_date))
        .with_columns(
            pl.col("incident_date").dt.month_start().alias("month"),
            pl.col("incident_type").cast(pl.String),
        )
        .group_by("establishment_id", "month")
        .agg(
            pl.col("incident_id")
            .filter(pl.col("incident_type") == t)
            .n_unique()
            .cast(pl.Int64)
            .alias(f"n_{t}")
            for t in s.incident_types
        )
    )
    return (
        exposure.join(counts, on=["establishment_id", "month"], how="full", coalesce=True)
        .with_columns(
            pl.col("prisoner_days").fill_null(0).cast(pl.Int64),
            pl.col("soc_prisoner_days").fill_null(0).cast(pl.Int64),
            *[pl.col(f"n_{t}").fill_null(0) for t in s.incident_types],
        )
        .with_columns(
            pl.when(pl.col("prisoner_days") > 0)
            .then(pl.col("soc_prisoner_days") / pl.col("prisoner_days"))
            .alias("soc_share")
        )
        .sort("establishment_id", "month")
    )


def prisoner_exposure(
    spells: pl.DataFrame, incidents: pl.DataFrame, who: pl.DataFrame, s: EstablishmentSettings
) -> pl.DataFrame:
    """One row per prisoner: soc, prisoner_days in the panel's dates and `n_<type>` incident
    involvements (rows of prison_incidents: one per prisoner per incident)."""
    days = (
        spell_months(spells, s, who)
        .join(who, on="journey_row_id", how="left")
        .group_by(PRISONER)
        .agg(pl.col("days").sum().alias("prisoner_days"), pl.col("soc").first())
    )
    involved = (
        incidents.filter(pl.col("incident_date").is_between(s.first_date, s.last_date))
        .join(who, on="journey_row_id", how="inner")
        .with_columns(pl.col("incident_type").cast(pl.String))
        .group_by(PRISONER)
        .agg(
            (pl.col("incident_type") == t).sum().cast(pl.Int64).alias(f"n_{t}")
            for t in s.incident_types
        )
    )
    return (
        days.join(involved, on=PRISONER, how="left")
        .with_columns(pl.col(f"n_{t}").fill_null(0) for t in s.incident_types)
        .with_columns(pl.col("soc").fill_null(False))
        .filter(pl.col("prisoner_days") > 0)
        .sort(PRISONER)
    )


def soc_strata(
    spells: pl.DataFrame, incidents: pl.DataFrame, who: pl.DataFrame, s: EstablishmentSettings
) -> pl.DataFrame:
    """Per establishment x month: prisoner-days of SOC (`days_soc`) and other prisoners
    (`days_other`) and, per incident type, involvements of each (`n_<type>_soc`,
    `n_<type>_other`): what the within-establishment-month rate ratio conditions on."""
    days = (
        spell_months(spells, s, who)
        .join(who, on="journey_row_id", how="left")
        .group_by("establishment_id", "month")
        .agg(
            pl.col("days").filter(pl.col("soc").fill_null(False)).sum().alias("days_soc"),
            pl.col("days").filter(~pl.col("soc").fill_null(False)).sum().alias("days_other"),
        )
    )
    soc = pl.col("soc").fill_null(False)
    involved = (
        incidents.filter(pl.col("incident_date").is_between(s.first_date, s.last_date))
        .join(who, on="journey_row_id", how="left")
        .with_columns(
            pl.col("incident_date").dt.month_start().alias("month"),
            pl.col("incident_type").cast(pl.String),
        )
        .group_by("establishment_id", "month")
        .agg(
            *[((pl.col("incident_type") == t) & soc).sum().alias(f"n_{t}_soc")
              for t in s.incident_types],
            *[((pl.col("incident_type") == t) & ~soc).sum().alias(f"n_{t}_other")
              for t in s.incident_types],
        )
    )  # fmt: skip
    counts = [c for c in involved.columns if c.startswith("n_")]
    return (
        days.join(involved, on=["establishment_id", "month"], how="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)
        .with_columns(pl.col("days_soc").cast(pl.Int64), pl.col("days_other").cast(pl.Int64))
        .sort("establishment_id", "month")
    )
