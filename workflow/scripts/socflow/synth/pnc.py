"""A Police National Computer extract for the Crown Court cohort (not part of Data First).

A researcher who obtains PNC histories by another route gets them for the persons they study:
here, every person with a Crown Court case in the Crown window. Their events are

* a conviction for each of their convictions in the court data (both courts), and a custody
  event beside it for an immediate custodial sentence;
* the history the court data cannot see: convictions before the magistrates' data begin
  (2011), from age 16 onwards, more of them the older the person was when first seen, a fifth
  with custody; and cautions, which never reach a court.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from socflow import schema
from socflow.synth import catalogue as cat
from socflow.synth.simulate import SEN, _day

EVENT = {e: i for i, e in enumerate(schema.PNC_EVENT_TYPES)}
HISTORY_PER_YEAR = 0.35  # convictions per year of adult life before the courts data begin
P_HISTORY_CUSTODY = 0.2
CAUTIONS_MEAN = 0.6
HISTORY_FROM_AGE = 16
LAST_YEAR = 2020


@dataclass
class Events:
    """One entry per PNC event."""

    person: np.ndarray
    day: np.ndarray
    kind: np.ndarray  # index into schema.PNC_EVENT_TYPES
    offence: np.ndarray  # catalogue index

    def __len__(self) -> int:
        return len(self.person)


def build_events(
    rng: np.random.Generator,
    cr: dict[str, np.ndarray],
    mg: dict[str, np.ndarray],
    birth_day: np.ndarray,
    n_persons: int,
) -> Events:
    cohort = np.zeros(n_persons, dtype=bool)
    cohort[cr["person"]] = True
    n_offences = len(cat.OFFENCES)
    parts = []
    for rows, criminal in (
        (cr, np.ones(len(cr["person"]), dtype=bool)),
        (mg, mg["proceeding"] == 0),
    ):
        m = criminal & cohort[rows["person"]] & (rows["sentence"] != SEN["none"])
        m &= rows["offence"] < n_offences
        cust = m & (rows["sentence"] == SEN["immediate_custody"])
        for mask, kind in ((m, "conviction"), (cust, "custody")):
            parts.append(
                (
                    rows["person"][mask].astype(np.int64),
                    rows["disposal_day"][mask].astype(np.int64),
                    np.full(int(mask.sum()), EVENT[kind]),
                    rows["offence"][mask].astype(np.int64),
                )
            )
    # History before the magistrates' data: from age 16 to the start of 2011.
    members = np.flatnonzero(cohort)
    data_start = _day(2011)
    from_day = birth_day[members] + int(HISTORY_FROM_AGE * 365.25)
    years = np.clip((data_start - from_day) / 365.25, 0, None)
    n_hist = rng.poisson(HISTORY_PER_YEAR * years)
    who = np.repeat(members, n_hist)
    lo = np.repeat(from_day, n_hist)
    span = np.maximum(data_start - lo, 1)
    h_day = lo + np.floor(rng.random(len(who)) * span).astype(np.int64)
    w = np.array([o.weight for o in cat.OFFENCES])
    cum = np.cumsum(w) / w.sum()
    h_off = np.minimum(np.searchsorted(cum, rng.random(len(who)), side="right"), n_offences - 1)
    h_cust = rng.random(len(who)) < P_HISTORY_CUSTODY
    parts.append((who, h_day, np.full(len(who), EVENT["conviction"]), h_off))
    parts.append((who[h_cust], h_day[h_cust], np.full(int(h_cust.sum()), EVENT["custody"]),
                  h_off[h_cust]))  # fmt: skip
    # Cautions: at any time from age 16 to the end of the data.
    n_caut = rng.poisson(CAUTIONS_MEAN, len(members))
    who = np.repeat(members, n_caut)
    lo = np.repeat(from_day, n_caut)
    span = np.maximum(_day(LAST_YEAR, 12, 31) - lo, 1)
    c_day = lo + np.floor(rng.random(len(who)) * span).astype(np.int64)
    c_off = np.minimum(np.searchsorted(cum, rng.random(len(who)), side="right"), n_offences - 1)
    parts.append((who, c_day, np.full(len(who), EVENT["caution"]), c_off))
    person, day, kind, offence = (np.concatenate([p[i] for p in parts]) for i in range(4))
    keep = day <= _day(LAST_YEAR, 12, 31)
    frame = pl.DataFrame(
        {"person": person[keep], "day": day[keep], "kind": kind[keep], "offence": offence[keep]}
    ).sort("person", "day", "kind", "offence")
    return Events(*(frame.get_column(c).to_numpy() for c in frame.columns))
