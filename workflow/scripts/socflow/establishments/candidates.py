"""The stage's outputs for the disclosure stage: pooled panel facts, model rate ratios and
person-level rates. Establishments are identifiable: no output names one, tabulates one or
carries a fixed-effect coefficient; every row pools all establishments."""

from __future__ import annotations

import polars as pl

from socflow.establishments.models import PanelFit
from socflow.establishments.persons import PersonRates
from socflow.establishments.settings import EstablishmentSettings
from socflow.outputs import Candidate

TYPE_LABELS = {
    "assault": "assaults",
    "self_harm": "self-harm",
    "drugs_find": "finds of drugs",
    "contraband_find": "finds of other contraband",
    "other": "other incidents",
}
_STATS = {
    "statistic": pl.String,
    "value": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "n_persons": pl.Int64,
}


def _row(statistic: str, value, lower=None, upper=None, n: int = 0) -> dict:
    return {"statistic": statistic, "value": value, "ci_lower": lower, "ci_upper": upper,
            "n_persons": int(n)}  # fmt: skip


def panel_statistics(
    panel: pl.DataFrame, exposure: pl.DataFrame, s: EstablishmentSettings
) -> pl.DataFrame:
    """Pooled facts of the panel (all establishments together)."""
    n = exposure.height
    with_days = panel.filter(pl.col("prisoner_days") > 0)
    days = int(with_days["prisoner_days"].sum())
    soc_days = int(with_days["soc_prisoner_days"].sum())
    shares = with_days["soc_share"]
    rows = [
        _row("establishment-months with prisoners", float(with_days.height), n=n),
        _row("prisoners", float(n), n=n),
        _row("SOC prisoners", float(exposure["soc"].sum()), n=int(exposure["soc"].sum())),
        _row("prisoner-days", float(days), n=n),
        _row("SOC-prisoner share of prisoner-days (pooled)", soc_days / days if days else None,
             n=n),
        _row("SOC-prisoner share of an establishment-month: 10th percentile",
             shares.quantile(0.1, "nearest") if with_days.height else None, n=n),
        _row("SOC-prisoner share of an establishment-month: median",
             shares.quantile(0.5, "nearest") if with_days.height else None, n=n),
        _row("SOC-prisoner share of an establishment-month: 90th percentile",
             shares.quantile(0.9, "nearest") if with_days.height else None, n=n),
    ]  # fmt: skip
    for t in s.incident_types:
        involved = int((exposure[f"n_{t}"] > 0).sum())
        rows.append(
            _row(
                f"{TYPE_LABELS[t]} per 1,000 prisoner-days (pooled)",
                1000 * float(with_days[f"n_{t}"].sum()) / days if days else None,
                n=min(involved, n - involved),
            )
        )
    return pl.DataFrame(rows, schema=_STATS)


def model_statistics(
    fits: list[PanelFit], s: EstablishmentSettings, n_prisoners: int
) -> pl.DataFrame:
    """Per type and family: the rate ratio per step of SOC share, and the NB dispersion; each
    rests on every prisoner of the panel."""
    rows = []
    step = f"{s.share_step_points:g}"
    for f in fits:
        label = f"{TYPE_LABELS[f.incident_type]}, {f.family}"
        rows.append(
            _row(
                f"{label}: rate ratio per {step} percentage points of SOC-prisoner share",
                f.rate_ratio,
                f.ci_lower,
                f.ci_upper,
                n=n_prisoners,
            )
        )
        if f.alpha is not None:
            rows.append(_row(f"{label}: dispersion (alpha)", f.alpha, n=n_prisoners))
    return pl.DataFrame(rows, schema=_STATS)


def person_statistics(rates: list[PersonRates]) -> pl.DataFrame:
    """Per type: involvements per 1,000 prisoner-days of SOC and non-SOC prisoners, and
    their rate ratio; each rests on the fewer of the prisoners involved and not involved."""
    rows = []
    for r in rates:
        label = TYPE_LABELS[r.incident_type]
        n_soc = min(r.involved_soc, r.prisoners_soc - r.involved_soc)
        n_non = min(r.involved_non_soc, r.prisoners_non_soc - r.involved_non_soc)
        rows += [
            _row(f"{label} per 1,000 prisoner-days: SOC prisoners", r.rate_soc, *r.rate_soc_ci,
                 n=n_soc),
            _row(f"{label} per 1,000 prisoner-days: non-SOC prisoners", r.rate_non_soc,
                 *r.rate_non_soc_ci, n=n_non),
            _row(f"{label}: rate ratio, SOC vs non-SOC prisoners (crude)", r.rate_ratio,
                 *r.rate_ratio_ci, n=min(n_soc, n_non)),
            _row(f"{label}: rate ratio, SOC vs non-SOC prisoners in the same establishment "
                 "and month", r.within_rate_ratio, *r.within_rate_ratio_ci,
                 n=min(n_soc, n_non)),
        ]  # fmt: skip
    return pl.DataFrame(rows, schema=_STATS)


def build_candidates(
    panel: pl.DataFrame,
    exposure: pl.DataFrame,
    fits: list[PanelFit],
    rates: list[PersonRates],
    s: EstablishmentSettings,
) -> list[Candidate]:
    level = round(100 * s.confidence_level)
    return [
        Candidate(
            "establishments_panel",
            "statistics",
            "Establishment panel: pooled facts",
            panel_statistics(panel, exposure, s),
            notes=f"All establishments pooled, {s.first_date.isoformat()} to "
            f"{s.last_date.isoformat()}. SOC prisoners: persons whose index Crown Court case "
            "is SOC; prisoners with no Crown Court case in the study window, or no "
            "cross-justice ID, count as non-SOC. Incidents: distinct incidents per type.",
            order=1,
        ),
        Candidate(
            "establishments_models",
            "statistics",
            "Incident rates and the SOC-prisoner share of establishments",
            model_statistics(fits, s, exposure.height),
            notes=f"Per incident type: Poisson and negative-binomial (NB2) GLMs of the "
            f"incidents of an establishment-month, offset log(prisoner-days), with "
            f"establishment and {s.period_effects} fixed effects (not published: they describe "
            f"single establishments) and standard errors clustered by establishment; rate "
            f"ratio per {s.share_step_points:g} percentage points of SOC-prisoner share with "
            f"{level}% Wald intervals.",
            order=2,
        ),
        Candidate(
            "establishments_person_rates",
            "statistics",
            "Incident involvement of SOC and non-SOC prisoners",
            person_statistics(rates),
            notes=f"Involvements (one per prisoner per incident) per 1,000 prisoner-days, all "
            f"establishments pooled; crude rate ratio from a Poisson GLM per prisoner with "
            f"log(prisoner-days) offset and robust (HC0) standard errors; rate ratio within "
            f"the same establishment and month by conditional Poisson (a logistic GLM of SOC "
            f"involvements over establishment-months, offset log(SOC days / other days)), "
            f"errors clustered by establishment; {level}% intervals.",
            order=3,
        ),
    ]
