"""Probation starts (nDelius events): licences at release, community and suspended orders.

* a licence at every release on licence from a sentenced journey (start: the release date);
* post-sentence supervision after the licence of a term under two years (start: the end of
  the term);
* a community order or suspended sentence order for each such court sentence (start: the
  disposal).

The probation extract holds referrals from 2014 to 2020 (starts outside are not in it); the
region is the region of the court case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socflow import schema
from socflow.synth.custody import Journeys
from socflow.synth.simulate import SEN, _day

DISPOSAL = {d: i for i, d in enumerate(schema.PROBATION_DISPOSALS)}
FIRST_YEAR, LAST_YEAR = 2014, 2020
PSS_MAX_TERM_DAYS = 730


@dataclass
class Starts:
    """One entry per probation start."""

    person: np.ndarray
    start: np.ndarray
    disposal: np.ndarray  # index into schema.PROBATION_DISPOSALS
    region: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


def build_starts(j: Journeys, cr: dict[str, np.ndarray], mg: dict[str, np.ndarray]) -> Starts:
    lic = np.flatnonzero(j.licence)
    pss = lic[j.sentence_days[lic] < PSS_MAX_TERM_DAYS]
    pss_start = j.release[pss] + np.maximum(
        j.sentence_days[pss] - (j.release[pss] - j.reception[pss]), 1
    )
    court = []
    for rows, criminal in (
        (cr, np.ones(len(cr["person"]), dtype=bool)),
        (mg, mg["proceeding"] == 0),
    ):
        for sentence, disposal in (
            ("community_sentence", "community_order"),
            ("suspended_sentence", "suspended_sentence_order"),
        ):
            m = criminal & (rows["sentence"] == SEN[sentence])
            court.append(
                (
                    rows["person"][m].astype(np.int64),
                    rows["disposal_day"][m].astype(np.int64),
                    np.full(int(m.sum()), DISPOSAL[disposal]),
                    rows["region"][m].astype(np.int64),
                )
            )
    person = np.concatenate([j.person[lic], j.person[pss], *[c[0] for c in court]])
    start = np.concatenate([j.release[lic], pss_start, *[c[1] for c in court]])
    disposal = np.concatenate(
        [
            np.full(len(lic), DISPOSAL["licence"]),
            np.full(len(pss), DISPOSAL["post_sentence_supervision"]),
            *[c[2] for c in court],
        ]
    )
    region = np.concatenate([j.region[lic], j.region[pss], *[c[3] for c in court]])
    keep = (start >= _day(FIRST_YEAR)) & (start <= _day(LAST_YEAR, 12, 31))
    order = np.lexsort((disposal[keep], start[keep], person[keep]))
    return Starts(
        person[keep][order], start[keep][order], disposal[keep][order], region[keep][order]
    )
