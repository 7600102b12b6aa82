"""Calibration measures of the linked synthetic data: incident rates and OASys coverage.

Computed from the ingested tables as an analysis would see them (no truth): incidents per 1,000
prisoners in a calendar year, prisoners counted as prisoner-days of the establishment spells in
that year over its days; and the share of persons with a Crown Court immediate custodial
sentence who have an OASys assessment. Rows are in the headline schema (socflow.headline), so
that the calibration table treats them like every other measure. Recall to prison within two
years is a headline measure of the custody stage, not computed here.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from socflow.headline import ALL, SCHEMA

# The calendar year the incident rates are measured in: the last full year before the pandemic
# inside the Crown Court window, nearest the published twelve months (to March 2019).
INCIDENT_YEAR = 2018
INCIDENT_MEASURES = {
    "assaults_per_1000_prisoners": "assault",
    "self_harm_per_1000_prisoners": "self_harm",
    "drug_finds_per_1000_prisoners": "drugs_find",
}


def _row(measure: str, numerator: float, base: float, unit: str, kind: str, value: float | None):
    return pl.DataFrame(
        {"measure": [measure], "population": [ALL], "unit": [unit], "kind": [kind],
         "numerator": [round(numerator)], "base": [round(base)], "value": [value]}
    ).select([pl.col(k).cast(v) if k in ("measure", "population", "unit", "kind", "numerator",
                                            "base", "value")
              else pl.lit(None, dtype=v).alias(k) for k, v in SCHEMA.items()])  # fmt: skip


def prisoner_days(spells: pl.DataFrame, year: int) -> float:
    """Days spent in custody in `year`, summed over the spells (an open spell runs to the year's
    end)."""
    lo, hi = date(year, 1, 1), date(year + 1, 1, 1)
    days = spells.select(
        (
            pl.min_horizontal(pl.col("end_date").fill_null(hi), pl.lit(hi))
            - pl.max_horizontal(pl.col("start_date"), pl.lit(lo))
        )
        .dt.total_days()
        .clip(lower_bound=0)
        .sum()
    ).item()
    return float(days or 0)


def incident_rates(
    incidents: pl.DataFrame, spells: pl.DataFrame, year: int = INCIDENT_YEAR
) -> pl.DataFrame:
    """Incidents of each calibrated type in `year` per 1,000 prisoners (mean prisoners of the
    year = prisoner-days / days of the year)."""
    days_in_year = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    prisoners = prisoner_days(spells, year) / days_in_year
    in_year = incidents.filter(pl.col("incident_date").dt.year() == year)
    rows = []
    for measure, kind in INCIDENT_MEASURES.items():
        n = in_year.filter(pl.col("incident_type").cast(pl.String) == kind).height
        value = 1000 * n / prisoners if prisoners else None
        rows.append(_row(measure, n, prisoners, "per 1,000 prisoners", "rate", value))
    return pl.concat(rows)


def oasys_match(
    crown: pl.DataFrame,
    link: pl.DataFrame,
    oasys: pl.DataFrame,
    first_year: int,
    last_year: int,
) -> pl.DataFrame:
    """Share of persons (cross-justice IDs) with a Crown Court immediate custodial sentence
    disposed of in the study years who have at least one OASys assessment."""
    ids = link.select("source_dataset", "row_id", "person_id")
    custodial = (
        crown.filter(
            (pl.col("sentence_type").cast(pl.String) == "immediate_custody")
            & pl.col("disposal_date").dt.year().is_between(first_year, last_year)
        )
        .select("row_id")
        .join(ids.filter(pl.col("source_dataset") == "crown"), on="row_id")
        .select("person_id")
        .unique()
    )
    assessed = (
        oasys.select("row_id")
        .join(ids.filter(pl.col("source_dataset") == "oasys"), on="row_id")
        .select("person_id")
        .unique()
    )
    n = custodial.join(assessed, on="person_id").height
    base = custodial.height
    return _row("oasys_match_crown_custody", n, base, "persons", "proportion",
                n / base if base else None)  # fmt: skip
