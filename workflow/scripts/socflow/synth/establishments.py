"""Prison establishments, and each journey's spells in them (transfers with their category).

Establishments have a security category and a region. A journey starts in a local (remand)
prison of its court's region, or in a women's or young offenders' establishment; a sentenced
journey long enough is transferred to a training prison (category C, or B for long terms and
more often for SOC prisoners, a few to category A), may be moved once more between training
prisons, and may end its term in open conditions (category D). Recalls and remand-only journeys
stay in the local prison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socflow import schema
from socflow.synth import catalogue as cat
from socflow.synth.custody import KIND_SENTENCED, Journeys

CATEGORY = {c: i for i, c in enumerate(schema.SECURITY_CATEGORIES)}
# Share of establishments of each kind (about the estate of England and Wales).
ESTATE_SHARES: dict[str, float] = {
    "remand": 0.30,
    "C": 0.33,
    "B": 0.09,
    "A": 0.04,
    "D": 0.10,
    "female_closed": 0.07,
    "female_open": 0.02,
    "yoi": 0.05,
}
YOUNG_ADULT_AGE = 21
MIN_TERM_TRANSFER_DAYS = 180  # shorter terms are served in the reception prison
P_TRAINING_B = 0.15
P_TRAINING_B_SOC = 0.45
LONG_TERM_DAYS = 4 * 365
P_CATEGORY_A = 0.04  # of long-term prisoners
P_SECOND_TRANSFER = 0.35  # training prison to training prison, terms over two years
P_OPEN_END = 0.30  # last months in open conditions, terms over a year
OPEN_DAYS = 180


@dataclass
class Estate:
    """One entry per establishment."""

    category: np.ndarray  # index into schema.SECURITY_CATEGORIES
    region: np.ndarray
    size: np.ndarray  # relative capacity

    def __len__(self) -> int:
        return len(self.category)


@dataclass
class Spells:
    """One entry per spell: a journey's stay in one establishment."""

    journey: np.ndarray
    establishment: np.ndarray
    start: np.ndarray
    end: np.ndarray  # -1 while still there at the extract's end

    def __len__(self) -> int:
        return len(self.journey)


def make_estate(rng: np.random.Generator, n: int) -> Estate:
    """`n` establishments: every kind present, a local prison in every region."""
    n_regions = len(cat.REGIONS)
    counts = {k: max(1, round(s * n)) for k, s in ESTATE_SHARES.items()}
    counts["remand"] = max(counts["remand"], n_regions)
    counts["C"] += n - sum(counts.values())
    if counts["C"] < 1:
        raise ValueError(f"too few establishments ({n}) for every kind and region")
    category = np.concatenate([np.full(c, CATEGORY[k]) for k, c in counts.items()])
    region_cum = np.cumsum(cat.REGION_WEIGHTS) / np.sum(cat.REGION_WEIGHTS)
    region = np.minimum(np.searchsorted(region_cum, rng.random(n), side="right"), n_regions - 1)
    local = np.flatnonzero(category == CATEGORY["remand"])
    region[local[:n_regions]] = np.arange(n_regions)
    size = rng.lognormal(0.0, 0.45, n)
    return Estate(category, region, size)


def _pick(rng: np.random.Generator, estate: Estate, category: int, region: np.ndarray | None,
          n: int) -> np.ndarray:  # fmt: skip
    """Establishments of a category for n prisoners, by size (within the region if given)."""
    out = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    cand = estate.category == category
    groups = [(np.ones(n, dtype=bool), cand)] if region is None else [
        (region == r, cand & (estate.region == r)) for r in range(len(cat.REGIONS))
    ]  # fmt: skip
    for rows, members in groups:
        if not rows.any():
            continue
        idx = np.flatnonzero(members)
        w = estate.size[idx]
        cum = np.cumsum(w) / w.sum()
        out[rows] = idx[np.minimum(np.searchsorted(cum, u[rows], side="right"), len(idx) - 1)]
    return out


def build_spells(rng: np.random.Generator, j: Journeys, estate: Estate, extract_end: int) -> Spells:
    """Up to four spells per journey: reception prison, training prison(s), open prison."""
    n = len(j)
    end = np.where(j.release >= 0, j.release, extract_end)
    female = j.sex == 1
    young = (j.age < YOUNG_ADULT_AGE) & ~female
    first_cat = np.where(
        female, CATEGORY["female_closed"], np.where(young, CATEGORY["yoi"], CATEGORY["remand"])
    )
    first = np.empty(n, dtype=np.int64)
    local = first_cat == CATEGORY["remand"]
    first[local] = _pick(rng, estate, CATEGORY["remand"], j.region[local], int(local.sum()))
    for c in (CATEGORY["female_closed"], CATEGORY["yoi"]):
        m = first_cat == c
        first[m] = _pick(rng, estate, c, None, int(m.sum()))

    # Transfer to a training prison some weeks after sentence (adult men, sentenced journeys).
    length = end - j.reception
    sentenced = j.kind == KIND_SENTENCED
    t1 = j.reception + rng.integers(20, 91, n)
    moves = sentenced & local & (j.sentence_days >= MIN_TERM_TRANSFER_DAYS) & (t1 < end - 14)
    long_term = j.sentence_days >= LONG_TERM_DAYS
    p_b = np.where(j.soc, P_TRAINING_B_SOC, P_TRAINING_B)
    train_cat = np.where(
        long_term & (rng.random(n) < P_CATEGORY_A),
        CATEGORY["A"],
        np.where(long_term | (rng.random(n) < p_b), CATEGORY["B"], CATEGORY["C"]),
    )
    train = np.full(n, -1, dtype=np.int64)
    for c in (CATEGORY["A"], CATEGORY["B"], CATEGORY["C"]):
        m = moves & (train_cat == c)
        train[m] = _pick(rng, estate, c, None, int(m.sum()))
    # A second training prison half-way, for terms over two years.
    t2 = (t1 + end) // 2
    moves2 = moves & (length > 730) & (rng.random(n) < P_SECOND_TRANSFER) & (t2 > t1 + 7)
    train2 = np.full(n, -1, dtype=np.int64)
    m = moves2
    train2[m] = _pick(rng, estate, CATEGORY["C"], None, int(m.sum()))
    # Open conditions for the last months (men from C or B; women to the open estate).
    t3 = j.release - OPEN_DAYS
    open_ok = (j.release >= 0) & (length > 365) & (rng.random(n) < P_OPEN_END) & sentenced
    to_open = open_ok & (
        (moves & (train_cat != CATEGORY["A"]) & (t3 > np.where(moves2, t2, t1) + 7))
        | (female & (t3 > j.reception + 30))
    )
    open_est = np.full(n, -1, dtype=np.int64)
    m = to_open & ~female
    open_est[m] = _pick(rng, estate, CATEGORY["D"], None, int(m.sum()))
    m = to_open & female
    open_est[m] = _pick(rng, estate, CATEGORY["female_open"], None, int(m.sum()))

    # Lay out the spells: the stops each journey makes, with the day each begins.
    stops = np.stack([first, train, train2, open_est], axis=1)
    starts = np.stack([j.reception, t1, t2, t3], axis=1)
    present = np.stack([np.ones(n, dtype=bool), moves, moves2, to_open], axis=1)
    rows, cols = np.nonzero(present)
    start = starts[rows, cols]
    # A spell ends where the journey's next spell starts, or at the journey's release.
    nxt = np.empty(len(rows), dtype=np.int64)
    nxt[:-1] = start[1:]
    same = np.zeros(len(rows), dtype=bool)
    same[:-1] = rows[1:] == rows[:-1]
    spell_end = np.where(same, nxt, j.release[rows])
    return Spells(rows, stops[rows, cols], start, spell_end)
