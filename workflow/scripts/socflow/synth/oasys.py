"""OASys assessments: after reception into custody and at the start of probation supervision.

Opportunities: a sentenced journey with a term of a year or more (an assessment some weeks after
reception, before release) and every probation start (within two months of the start). Whether
an opportunity gives an assessment in the extract depends on the person, the region and the
period: each person has a fixed propensity u, and an assessment is there when u is below the
coverage of its region and date (former CRC areas such as London used other tools before
probation reunification on 26 June 2021), and then with probability `P_RECORDED`. Most are full
(layer 3) assessments; the others carry risk scores but no section scores or needs.

Needs follow the planted model and nothing else the generator varies:
logit P(need in section s) = NEED_INTERCEPT[s] + need_log_odds[s] * soc, drawn afresh at each
assessment; the section score is drawn within the band its need flag implies (the need is
"score at or above the section's threshold"). OGRS and OVP rise with the number of needs and fall
with age.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socflow import schema
from socflow.synth.custody import KIND_SENTENCED, Journeys
from socflow.synth.probation import Starts
from socflow.synth.simulate import _day

REUNIFICATION_DAY = _day(2021, 6, 26)
COVERAGE = 0.84  # share of persons whose assessments reach the extract, outside the gap
COVERAGE_GAP = {0: 0.20}  # region index (London) -> coverage before reunification
P_RECORDED = 0.92
P_FULL = 0.85
PRISON_MIN_TERM_DAYS = 365
FIRST_YEAR, LAST_YEAR = 2011, 2021

# Per section: (log-odds of the need for a non-SOC person, maximum score, need threshold).
SECTIONS: dict[str, tuple[float, int, int]] = {
    "accommodation": (-0.3, 6, 2),
    "education_training_employability": (0.3, 8, 3),
    "finance": (-0.4, 4, 2),
    "relationships": (0.1, 6, 2),
    "lifestyle_associates": (0.0, 6, 3),
    "drug_misuse": (0.2, 10, 3),
    "alcohol_misuse": (-0.8, 8, 3),
    "emotional_wellbeing": (-0.2, 6, 2),
    "thinking_behaviour": (0.9, 10, 4),
    "attitudes": (-0.1, 10, 3),
}
assert tuple(SECTIONS) == schema.OASYS_SECTIONS


@dataclass
class Assessments:
    """One entry per assessment; `scores` and `needs` are (n, sections), -1 where absent."""

    person: np.ndarray
    day: np.ndarray
    full: np.ndarray
    scores: np.ndarray
    needs: np.ndarray
    ogrs: np.ndarray
    ovp: np.ndarray
    region: np.ndarray
    setting: np.ndarray  # 0 custody, 1 probation (truth only)

    def __len__(self) -> int:
        return len(self.person)


def coverage(region: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Probability that a person's assessments of this region and date are in the extract."""
    cov = np.full(len(region), COVERAGE)
    for r, c in COVERAGE_GAP.items():
        cov = np.where((region == r) & (day < REUNIFICATION_DAY), c, cov)
    return cov


def build_assessments(
    rng: np.random.Generator,
    j: Journeys,
    starts: Starts,
    age_of: np.ndarray,
    soc_person: np.ndarray,
    n_persons: int,
    need_log_odds: dict[str, float],
) -> Assessments:
    """Assessments at custody and probation opportunities (see the module docstring).

    `age_of` gives each probation start's age (aligned with `starts`).
    """
    prison = np.flatnonzero((j.kind == KIND_SENTENCED) & (j.sentence_days >= PRISON_MIN_TERM_DAYS))
    p_day = j.reception[prison] + rng.integers(14, 121, len(prison))
    p_ok = (j.release[prison] < 0) | (p_day < j.release[prison])
    prison, p_day = prison[p_ok], p_day[p_ok]
    s_day = starts.start + rng.integers(0, 61, len(starts))
    person = np.concatenate([j.person[prison], starts.person])
    day = np.concatenate([p_day, s_day])
    region = np.concatenate([j.region[prison], starts.region])
    age = np.concatenate([j.age[prison] + (p_day - j.reception[prison]) // 365, age_of])
    setting = np.concatenate([np.zeros(len(prison), np.int8), np.ones(len(starts), np.int8)])
    propensity = rng.random(n_persons)
    keep = (
        (propensity[person] < coverage(region, day))
        & (rng.random(len(person)) < P_RECORDED)
        & (day >= _day(FIRST_YEAR))
        & (day <= _day(LAST_YEAR, 12, 31))
    )
    person, day, region, age, setting = (a[keep] for a in (person, day, region, age, setting))
    order = np.lexsort((setting, day, person))
    person, day, region, age, setting = (a[order] for a in (person, day, region, age, setting))
    n = len(person)
    soc = soc_person[person]
    full = rng.random(n) < P_FULL
    n_sec = len(SECTIONS)
    scores = np.full((n, n_sec), -1, dtype=np.int64)
    needs = np.full((n, n_sec), -1, dtype=np.int64)
    for s, (name, (intercept, max_score, threshold)) in enumerate(SECTIONS.items()):
        eta = intercept + need_log_odds.get(name, 0.0) * soc
        need = rng.random(n) < 1.0 / (1.0 + np.exp(-eta))
        # Within the band: need -> threshold..max, no need -> 0..threshold-1.
        hi_score = threshold + rng.binomial(max_score - threshold, 0.4, n)
        lo_score = rng.binomial(threshold - 1, 0.5, n)
        scores[:, s] = np.where(full, np.where(need, hi_score, lo_score), -1)
        needs[:, s] = np.where(full, need.astype(np.int64), -1)
    n_needs = np.where(full, needs.clip(0).sum(axis=1), 4)
    eta_g = -0.2 + 0.28 * (n_needs - 4) - 0.045 * (age - 30) + rng.normal(0, 0.5, n)
    eta_v = -1.6 + 0.22 * (n_needs - 4) - 0.04 * (age - 30) + rng.normal(0, 0.5, n)
    ogrs = np.round(100.0 / (1.0 + np.exp(-eta_g)), 1)
    ovp = np.round(100.0 / (1.0 + np.exp(-eta_v)), 1)
    return Assessments(person, day, full, scores, needs, ogrs, ovp, region, setting)
