"""Who was held where and involved in what: the parts of the establishment x month panel that
do not depend on the SOC flags (rule `establishment_panel`; `soc_share` adds SOC status).

* **Prisoner-days.** Each establishment spell counts the days from its start (inclusive) to
  its end (exclusive: the day of transfer or release is spent at the next place). A spell with
  no end (still there, or an extract without `end_date`) ends at the start of the journey's
  next spell, else at the journey's release, else (still in custody) at the last date of the
  panel. Days are split by calendar month and cut to the panel's dates (config
  `establishments.first_date` / `last_date`).
* **Prisoners.** A prisoner is a cross-justice person ID (xjs_link, source `prison`), or, for
  a journey that carries none, the journey itself (`journey:<row_id>`): such a prisoner can
  never be shown to be SOC.
* **Incidents.** Distinct incidents (`incident_id`) of each type per establishment and month
  of the incident date, and involvements (rows of prison_incidents: one per prisoner per
  incident); incidents outside the panel's dates are left out.

The parts (`PanelParts`) are per establishment-month totals, per prisoner totals, and per
prisoner x establishment x month days and involvements of the prisoners with a person ID (the
only ones who can be SOC). They name establishments and stay in results/.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from socflow.establishments.settings import EstablishmentSettings
from socflow.mapping import read_ingested
from socflow.parquet import write_parquet
from socflow.persons import read_person_ids

log = logging.getLogger(__name__)

PRISONER = "prisoner"
CODE = "prisoner_code"
PART_NAMES = ("establishment_months", "prisoners", "prisoner_months")


@dataclass(frozen=True)
class PanelParts:
    """The flag-independent parts of the panel.

    `establishment_months`: establishment_id, month, prisoner_days (null where no spell fell in
    the month), `n_<type>` distinct incidents and `involved_<type>` involvements, one row per
    establishment-month with spell-days or incidents; sorted.
    `prisoners`: prisoner_code (rank of the key among all prisoners), prisoner (null for spells
    of journeys missing from
    prison_journeys), person_id, prisoner_days and `n_<type>` involvements; sorted by prisoner.
    `prisoner_months`: prisoner_code, establishment_id, month, days and `n_<type>`
    involvements of prisoners with a person ID; sorted.
    """

    establishment_months: pl.DataFrame
    prisoners: pl.DataFrame
    prisoner_months: pl.DataFrame

    def write(self, paths: dict[str, str | Path]) -> None:
        """Each part to its file (`paths` keyed by PART_NAMES)."""
        for name in PART_NAMES:
            Path(paths[name]).parent.mkdir(parents=True, exist_ok=True)
            write_parquet(getattr(self, name), paths[name])

    @classmethod
    def read(
        cls, paths: dict[str, str | Path], prisoner_codes: pl.Series | None = None
    ) -> PanelParts:
        """The parts from their files (`paths` keyed by PART_NAMES); with `prisoner_codes`,
        only those prisoners' prisoner-months (the SOC status needs only the SOC prisoners':
        the file is filtered as it is read)."""
        months = pl.scan_parquet(paths["prisoner_months"])
        if prisoner_codes is not None:
            months = months.filter(pl.col(CODE).is_in(prisoner_codes.implode()))
        return cls(
            establishment_months=pl.read_parquet(paths["establishment_months"]),
            prisoners=pl.read_parquet(paths["prisoners"]),
            prisoner_months=months.collect(),
        )


def prisoners(journeys: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """journey row_id -> prisoner key (person ID, else `journey:<row_id>`), person_id and the
    journey's release_date (where a spell without an end stops). `ids` holds row_id and
    person_id of the prison journeys (socflow.survival.resolve_person_ids)."""
    release = (
        pl.col("release_date")
        if "release_date" in journeys.columns
        else pl.lit(None, dtype=pl.Date).alias("release_date")
    )
    return (
        journeys.select("row_id", release)
        .join(ids.select("row_id", "person_id"), on="row_id", how="left")
        .with_columns(
            pl.coalesce("person_id", pl.lit("journey:") + pl.col("row_id")).alias(PRISONER)
        )
        .select(pl.col("row_id").alias("journey_row_id"), PRISONER, "person_id", "release_date")
    )


def spell_months(
    spells: pl.DataFrame,
    s: EstablishmentSettings,
    who: pl.DataFrame | None = None,
    carry: tuple[str, ...] = (),
) -> pl.DataFrame:
    """One row per spell x calendar month: journey_row_id, establishment_id, month, days, and
    the spells' `carry` columns.

    `who` (`prisoners`) gives the journeys' release dates for spells without an end; without
    it, a `release_date` column of `spells` does, else none."""
    first = s.first_date
    stop = s.last_date + timedelta(days=1)  # exclusive
    if who is not None:
        spells = spells.join(
            who.select("journey_row_id", "release_date"), on="journey_row_id", how="left"
        )
    elif "release_date" not in spells.columns:
        spells = spells.with_columns(pl.lit(None, dtype=pl.Date).alias("release_date"))
    # The journey's next spell in order of start and end: one sort, no window over strings.
    spells = spells.sort("journey_row_id", "start_date", "end_date", maintain_order=True)
    same_journey = pl.col("journey_row_id").shift(-1).eq_missing(pl.col("journey_row_id"))
    next_start = pl.when(same_journey).then(pl.col("start_date").shift(-1))
    end = pl.coalesce("end_date", next_start, "release_date", pl.lit(stop))
    cut = spells.select(
        "journey_row_id",
        "establishment_id",
        *carry,
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
    return months.select("journey_row_id", "establishment_id", "month", "days", *carry)


def _involvement_counts(incident_types: tuple[str, ...], prefix: str = "n_") -> list[pl.Expr]:
    return [
        (pl.col("incident_type") == t).sum().cast(pl.Int64).alias(f"{prefix}{t}")
        for t in incident_types
    ]


def prepare_panel(
    spells: pl.DataFrame,
    incidents: pl.DataFrame,
    journeys: pl.DataFrame,
    ids: pl.DataFrame,
    s: EstablishmentSettings,
) -> PanelParts:
    """The flag-independent parts of the panel from the prison tables and the journeys'
    person IDs (`ids`: row_id, person_id)."""
    types = s.incident_types
    counts = [f"n_{t}" for t in types]
    # Establishments as an Enum of their sorted IDs: grouped and sorted as integers, in the
    # order of the IDs; plain strings again in the parts.
    places = pl.Enum(
        pl.concat([spells["establishment_id"], incidents["establishment_id"]])
        .drop_nulls()
        .unique()
        .sort()
    )
    spells = spells.with_columns(pl.col("establishment_id").cast(places))
    incidents = incidents.with_columns(pl.col("establishment_id").cast(places))
    who = prisoners(journeys, ids)
    # Prisoners numbered in the order of their key: the work below groups integers, not
    # strings, and the order by code is the order by key.
    keys = who.select(PRISONER, "person_id").unique(PRISONER).sort(PRISONER).with_row_index(CODE)
    journey_code = who.join(keys.select(PRISONER, CODE), on=PRISONER, how="left").select(
        "journey_row_id", CODE, "release_date"
    )
    # Spells of journeys missing from prison_journeys keep a null code (no prisoner).
    days = spell_months(
        spells.select("journey_row_id", "establishment_id", "start_date", "end_date").join(
            journey_code, on="journey_row_id", how="left"
        ),
        s,
        carry=(CODE,),
    ).drop("journey_row_id")
    in_dates = (
        incidents.filter(pl.col("incident_date").is_between(s.first_date, s.last_date))
        .with_columns(
            pl.col("incident_date").dt.month_start().alias("month"),
            pl.col("incident_type").cast(pl.String),
        )
        .select("incident_id", "journey_row_id", "establishment_id", "month", "incident_type")
    )
    # Involvements of journeys known to prison_journeys: the only ones a prisoner is known for.
    involved = in_dates.join(
        journey_code.select("journey_row_id", CODE), on="journey_row_id", how="inner"
    ).select(CODE, "establishment_id", "month", "incident_type")

    month_key = ["establishment_id", "month"]
    establishment_months = (
        days.group_by(month_key)
        .agg(pl.col("days").sum().cast(pl.Int64).alias("prisoner_days"))
        .join(
            in_dates.group_by(month_key).agg(
                *[
                    pl.col("incident_id")
                    .filter(pl.col("incident_type") == t)
                    .n_unique()
                    .cast(pl.Int64)
                    .alias(f"n_{t}")
                    for t in types
                ],
                *_involvement_counts(types, "involved_"),
            ),
            on=month_key,
            how="full",
            coalesce=True,
        )
        .with_columns(pl.col(f"{p}{t}").fill_null(0) for p in ("n_", "involved_") for t in types)
        .sort(month_key)
        .with_columns(pl.col("establishment_id").cast(pl.String))
    )

    totals = (
        days.group_by(CODE)
        .agg(pl.col("days").sum().cast(pl.Int64).alias("prisoner_days"))
        .join(
            involved.group_by(CODE).agg(_involvement_counts(types)),
            on=CODE,
            how="full",
            coalesce=True,
        )
        .join(keys, on=CODE, how="left")
        .with_columns(
            pl.col("prisoner_days").fill_null(0), *[pl.col(c).fill_null(0) for c in counts]
        )
        .select(CODE, PRISONER, "person_id", "prisoner_days", *counts)
        .sort(CODE, nulls_last=False)
    )

    with_person = keys.drop_nulls("person_id").select(CODE)
    cells = PrisonerMonthCells(places, s)
    # Days and involvements stacked and summed in one pass over the cells: no join.
    one_hot = [
        (pl.col("incident_type") == t).cast(pl.Int64).alias(c)
        for t, c in zip(types, counts, strict=True)
    ]
    zeros = [pl.lit(0, dtype=pl.Int64).alias(c) for c in counts]
    prisoner_months = (
        pl.concat(
            [
                cells.of(days.join(with_person, on=CODE, how="semi")).select(
                    CELL, pl.col("days").cast(pl.Int64), *zeros
                ),
                cells.of(involved.join(with_person, on=CODE, how="semi")).select(
                    CELL, pl.lit(0, dtype=pl.Int64).alias("days"), *one_hot
                ),
            ]
        )
        .group_by(CELL)
        .agg(pl.col("days", *counts).sum())
        .sort(CELL)
    )
    prisoner_months = cells.unpack(prisoner_months).select(CODE, *month_key, "days", *counts)
    return PanelParts(establishment_months, totals, prisoner_months)


CELL = "_cell"


class PrisonerMonthCells:
    """A prisoner x establishment x month as one integer (the cell), in the order of
    (prisoner_code, establishment ID, month): the ~1e7 prisoner-months are grouped, joined and
    sorted on one integer column instead of three. A null establishment (cell position 0)
    sorts first, as a null does."""

    def __init__(self, places: pl.Enum, s: EstablishmentSettings) -> None:
        self.places = places.categories
        self.n_places = self.places.len() + 1
        # The panel's months; a month is numbered by its place here (a binary search, not a
        # calendar conversion of every row).
        self.months = pl.date_range(
            s.first_date.replace(day=1), s.last_date.replace(day=1), interval="1mo", eager=True
        )
        self.n_months = self.months.len()

    def of(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` (prisoner_code, establishment_id as the Enum of places, month within the
        panel's dates) with the cell instead of those three columns."""
        place = pl.col("establishment_id").to_physical().cast(pl.UInt64).add(1).fill_null(0)
        month = pl.lit(self.months).search_sorted(pl.col("month")).cast(pl.UInt64)
        cell = (
            pl.col(CODE).cast(pl.UInt64) * (self.n_places * self.n_months)
            + place * self.n_months
            + month
        )
        return frame.with_columns(cell.alias(CELL)).drop(CODE, "establishment_id", "month")

    def unpack(self, frame: pl.DataFrame) -> pl.DataFrame:
        """prisoner_code, establishment_id (the ID as a string) and month back from the cell."""
        cell = frame[CELL]
        place = (cell // self.n_months) % self.n_places
        return frame.with_columns(
            (cell // (self.n_places * self.n_months)).cast(pl.UInt32).alias(CODE),
            self.places.gather((place.cast(pl.Int64) - 1).set(place == 0, None)).alias(
                "establishment_id"
            ),
            self.months.gather(cell % self.n_months).alias("month"),
        ).drop(CELL)


SPELL_COLUMNS = ["journey_row_id", "establishment_id", "start_date", "end_date"]
INCIDENT_COLUMNS = [
    "incident_id", "journey_row_id", "establishment_id", "incident_date", "incident_type",
]  # fmt: skip


def run_establishment_panel(
    paths: dict[str, str], cfg: dict[str, Any], out_parts: dict[str, str | Path]
) -> PanelParts:
    """Rule `establishment_panel`: the flag-independent parts of the panel (they name
    establishments and stay in results/)."""
    s = EstablishmentSettings.from_config(cfg)
    spells = read_ingested(paths["spells"], "prison_establishment_spells", SPELL_COLUMNS)
    incidents = read_ingested(paths["incidents"], "prison_incidents", INCIDENT_COLUMNS)
    journeys = read_ingested(paths["journeys"], "prison_journeys", ["row_id", "release_date"])
    ids = read_person_ids(paths["person_ids"], "prison", s.fanout_rule)
    parts = prepare_panel(spells, incidents, journeys, ids, s)
    parts.write(out_parts)
    log.info(
        "%d establishment-months, %d prisoners, %d prisoner-months of persons",
        parts.establishment_months.height, parts.prisoners.height, parts.prisoner_months.height,
    )  # fmt: skip
    return parts
