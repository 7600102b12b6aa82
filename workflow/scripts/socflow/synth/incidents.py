"""Safety in Custody incidents: one row per prisoner per incident, with two planted effects.

Each spell is cut into calendar months. In establishment e and month t, incidents of type k
happen to a prisoner at the rate (per prisoner-day)

    base[k] * exp(a[e,k] + g[t,k]) * G[e,t,k] * beta[k] ** (10 * share[e,t])
        * rr[k] ** soc / (1 + (rr[k] - 1) * share[e,t])

where share[e,t] is the SOC share of the establishment-month's prisoner-days, a and g are
establishment and period effects, G is Gamma noise with mean 1 (overdispersion), beta[k] the
planted rate ratio per 10 percentage points of SOC share and rr[k] the planted person-level rate
ratio of SOC against other prisoners. The establishment-month factors are scaled by one constant
per type so that they average 1 over the extract's prisoner-days: base[k] is the extract's mean
rate. The last factor's denominator makes the
establishment-month's expected count exactly prisoner-days x base x exp(a + g) x G x
beta ** (10 share): the person-level ratio holds within each establishment-month and the
establishment-level effect is the planted one, not a mix of the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socflow import schema
from socflow.synth.custody import Journeys
from socflow.synth.establishments import Spells
from socflow.synth.simulate import DAY0

# Mean incidents per prisoner-year over the extract (2011-2021): with the period trends, 2018
# meets the published rates of resources/synthetic/calibration_targets.csv.
BASE_PER_YEAR: dict[str, float] = {
    "assault": 0.41,
    "self_harm": 0.66,
    "drugs_find": 0.23,
    "contraband_find": 0.15,
    "other": 0.10,
}
ESTABLISHMENT_SD = 0.35  # establishment effects (log scale), shared in part across types
TYPE_SD = 0.15  # type-specific part of the establishment effect
TREND_PER_YEAR = {"assault": 0.06, "self_harm": 0.08, "drugs_find": 0.04}
OVERDISPERSION = 0.15  # variance of the Gamma noise G (NB2 alpha)
TREND_ORIGIN_YEAR = 2016


@dataclass
class Incidents:
    """One entry per incident row (prisoner x incident)."""

    journey: np.ndarray
    establishment: np.ndarray
    day: np.ndarray
    kind: np.ndarray  # index into schema.INCIDENT_TYPES

    def __len__(self) -> int:
        return len(self.journey)


@dataclass
class Panel:
    """Prisoner-days and SOC prisoner-days per establishment x month (truth only)."""

    n_establishments: int
    first_month: int  # months since 1970-01
    days: np.ndarray  # flat, establishment-major: index e * n_months + month
    soc_days: np.ndarray


def _months(days: np.ndarray) -> np.ndarray:
    return (DAY0 + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)


def _month_start(months: np.ndarray) -> np.ndarray:
    return (months.astype("datetime64[M]").astype("datetime64[D]") - DAY0).astype(np.int64)


def month_segments(spells: Spells, soc: np.ndarray, extract_end: int) -> dict[str, np.ndarray]:
    """Each spell cut into calendar months: spell index, month, first and last+1 day."""
    end = np.where(spells.end >= 0, spells.end, extract_end + 1)
    keep = end > spells.start
    idx = np.flatnonzero(keep)
    m0 = _months(spells.start[idx])
    m1 = _months(end[idx] - 1)
    n_seg = m1 - m0 + 1
    rep = np.repeat(idx, n_seg)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(n_seg) - n_seg, n_seg)
    month = np.repeat(m0, n_seg) + offset
    lo = np.maximum(spells.start[rep], _month_start(month))
    hi = np.minimum(end[rep], _month_start(month + 1))
    return {"spell": rep, "month": month, "lo": lo, "hi": hi, "soc": soc[spells.journey[rep]]}


def build_panel(seg: dict[str, np.ndarray], spells: Spells, n_est: int) -> Panel:
    first, last = int(seg["month"].min()), int(seg["month"].max())
    n_months = last - first + 1
    cell = spells.establishment[seg["spell"]] * n_months + (seg["month"] - first)
    days = seg["hi"] - seg["lo"]
    size = n_est * n_months
    return Panel(
        n_est,
        first,
        np.bincount(cell, weights=days, minlength=size),
        np.bincount(cell, weights=days * seg["soc"], minlength=size),
    )


def build_incidents(
    rng: np.random.Generator,
    j: Journeys,
    spells: Spells,
    n_est: int,
    extract_end: int,
    share_rate_ratio: dict[str, float],
    person_rate_ratio: dict[str, float],
) -> tuple[Incidents, Panel]:
    """Incidents of every type drawn per spell-month from the model in the module docstring."""
    seg = month_segments(spells, j.soc, extract_end)
    panel = build_panel(seg, spells, n_est)
    n_months = len(panel.days) // n_est
    share = np.divide(
        panel.soc_days, panel.days, out=np.zeros_like(panel.days), where=panel.days > 0
    )
    est_common = rng.normal(0.0, ESTABLISHMENT_SD, n_est)
    month_idx = np.arange(n_months) + panel.first_month
    year = month_idx // 12 + 1970
    season = 0.05 * np.sin(2 * np.pi * (month_idx % 12) / 12)
    cell = spells.establishment[seg["spell"]] * n_months + (seg["month"] - panel.first_month)
    days = (seg["hi"] - seg["lo"]).astype(np.float64)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for k, kind in enumerate(schema.INCIDENT_TYPES):
        a = est_common + rng.normal(0.0, TYPE_SD, n_est)
        g = TREND_PER_YEAR.get(kind, 0.0) * (year - TREND_ORIGIN_YEAR) + season
        noise = rng.gamma(1.0 / OVERDISPERSION, OVERDISPERSION, n_est * n_months)
        beta = share_rate_ratio.get(kind, 1.0)
        rr = person_rate_ratio.get(kind, 1.0)
        level = np.exp(np.repeat(a, n_months) + np.tile(g, n_est)) * noise * beta ** (10 * share)
        # One constant for the whole extract (absorbed by any intercept): the level averages 1
        # over its prisoner-days, so that BASE_PER_YEAR is the extract's mean rate whatever the
        # draws of establishment effects and the SOC share at a given scale.
        level /= (panel.days * level).sum() / panel.days.sum()
        cell_rate = BASE_PER_YEAR[kind] / 365.25 * level / (1.0 + (rr - 1.0) * share)
        mu = days * cell_rate[cell] * np.where(seg["soc"], rr, 1.0)
        count = rng.poisson(mu)
        parts.append((np.repeat(np.arange(len(mu)), count), np.full(int(count.sum()), k)))
    which = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts])
    lo, hi = seg["lo"][which], seg["hi"][which]
    day = lo + np.floor(rng.random(len(which)) * (hi - lo)).astype(np.int64)
    sp = seg["spell"][which]
    order = np.lexsort((kind, day, sp))
    out = Incidents(
        spells.journey[sp][order], spells.establishment[sp][order], day[order], kind[order]
    )
    return out, panel
