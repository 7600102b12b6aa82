"""SOC status on the panel (rule `establishments`): the SOC-prisoner share of each
establishment-month, the per-prisoner exposure and the SOC / other split within each
establishment-month, from the flag-independent `panel.PanelParts`.

A prisoner is SOC when their person ID belongs to a person of the linked cohort whose index
Crown Court case is SOC. Prisoners with no Crown Court case in the study window (not in the
cohort) and prisoners whose journey carries no person ID count as non-SOC: the data cannot
show them to be SOC. The status is the person's, whatever the date of the spell.
"""

from __future__ import annotations

import polars as pl

from socflow.establishments.panel import CODE, PRISONER, PanelParts
from socflow.establishments.settings import EstablishmentSettings

MONTH_KEY = ["establishment_id", "month"]


def with_soc(prisoners: pl.DataFrame, cohort: pl.DataFrame) -> pl.DataFrame:
    """`prisoners` (PanelParts.prisoners) with `soc`: the person is SOC in the cohort."""
    soc_persons = cohort.filter(pl.col("soc").fill_null(False)).get_column("person_id").unique()
    return prisoners.with_columns(
        pl.col("person_id").is_in(soc_persons.implode()).fill_null(False).alias("soc")
    )


def soc_months(parts: PanelParts, soc_prisoners: pl.DataFrame, s: EstablishmentSettings):
    """Per establishment-month: days (`days_soc`) and `n_<type>_soc` involvements of the SOC
    prisoners (`soc_prisoners`: `with_soc` rows), establishment-months without any left out."""
    codes = soc_prisoners.filter(pl.col("soc")).get_column(CODE)
    return (
        parts.prisoner_months.filter(pl.col(CODE).is_in(codes.implode()))
        .group_by(MONTH_KEY)
        .agg(
            pl.col("days").sum().alias("days_soc"),
            *[pl.col(f"n_{t}").sum().alias(f"n_{t}_soc") for t in s.incident_types],
        )
    )


def build_panel(
    parts: PanelParts, soc_prisoners: pl.DataFrame, s: EstablishmentSettings
) -> pl.DataFrame:
    """Establishment x month rows with prisoner_days, soc_prisoner_days, one `n_<type>` count
    of distinct incidents per incident type and soc_share (null without prisoner-days);
    sorted."""
    soc = soc_months(parts, soc_prisoners, s).select(
        *MONTH_KEY, pl.col("days_soc").alias("soc_prisoner_days")
    )
    return (
        parts.establishment_months.join(soc, on=MONTH_KEY, how="left")
        .select(
            *MONTH_KEY,
            pl.col("prisoner_days").fill_null(0).cast(pl.Int64),
            pl.col("soc_prisoner_days").fill_null(0).cast(pl.Int64),
            *[f"n_{t}" for t in s.incident_types],
        )
        .with_columns(
            pl.when(pl.col("prisoner_days") > 0)
            .then(pl.col("soc_prisoner_days") / pl.col("prisoner_days"))
            .alias("soc_share")
        )
        .sort(MONTH_KEY)
    )


def prisoner_exposure(soc_prisoners: pl.DataFrame, s: EstablishmentSettings) -> pl.DataFrame:
    """One row per prisoner with prisoner-days in the panel's dates: prisoner, prisoner_days,
    soc and `n_<type>` incident involvements; sorted by prisoner."""
    return soc_prisoners.filter(pl.col("prisoner_days") > 0).select(
        PRISONER, "prisoner_days", "soc", *[f"n_{t}" for t in s.incident_types]
    )


def soc_strata(
    parts: PanelParts, soc_prisoners: pl.DataFrame, s: EstablishmentSettings
) -> pl.DataFrame:
    """Per establishment x month with prisoner-days: prisoner-days of SOC (`days_soc`) and
    other prisoners (`days_other`) and, per incident type, involvements of each
    (`n_<type>_soc`, `n_<type>_other`; an involvement of a journey without a prisoner counts
    as other): what the within-establishment-month rate ratio conditions on."""
    types = s.incident_types
    soc = soc_months(parts, soc_prisoners, s)
    return (
        parts.establishment_months.filter(pl.col("prisoner_days").is_not_null())
        .join(soc, on=MONTH_KEY, how="left")
        .with_columns(
            pl.col("days_soc").fill_null(0), *[pl.col(f"n_{t}_soc").fill_null(0) for t in types]
        )
        .select(
            *MONTH_KEY,
            pl.col("days_soc").cast(pl.Int64),
            (pl.col("prisoner_days") - pl.col("days_soc")).cast(pl.Int64).alias("days_other"),
            *[pl.col(f"n_{t}_soc").cast(pl.Int64) for t in types],
            *[
                (pl.col(f"involved_{t}") - pl.col(f"n_{t}_soc"))
                .cast(pl.Int64)
                .alias(f"n_{t}_other")
                for t in types
            ],
        )
        .sort(MONTH_KEY)
    )
