"""Incident rates of SOC against non-SOC prisoners (person level).

Per incident type: involvements (rows of prison_incidents, one per prisoner per incident) per
1,000 prisoner-days of SOC and of non-SOC prisoners, and two rate ratios:

* **crude**: from a Poisson GLM of each prisoner's count on SOC status with the log of their
  prisoner-days as offset and robust (HC0 sandwich) standard errors, one row per prisoner (the
  interval allows for overdispersion between prisoners). It mixes who the prisoners are with
  where they are held: SOC prisoners are concentrated in some establishments.
* **within establishment and month**: the rate ratio of SOC against other prisoners held in the
  same establishment in the same month (Poisson with a fixed effect per establishment-month).
  Conditioning on each establishment-month's total, its SOC involvements are binomial with
  log-odds beta + log(SOC days / other days), so beta is the intercept of a logistic GLM over
  establishment-months with that offset (no fixed effects to estimate), with standard errors
  clustered by establishment.

Rates carry Wald intervals on the log scale from the crude model's robust variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import stats

from socflow.establishments.settings import EstablishmentSettings


@dataclass(frozen=True)
class PersonRates:
    """One incident type's rates per 1,000 prisoner-days and the SOC / non-SOC rate ratio."""

    incident_type: str
    rate_soc: float | None
    rate_soc_ci: tuple[float | None, float | None]
    rate_non_soc: float | None
    rate_non_soc_ci: tuple[float | None, float | None]
    rate_ratio: float | None
    rate_ratio_ci: tuple[float | None, float | None]
    prisoners_soc: int
    prisoners_non_soc: int
    involved_soc: int  # prisoners with at least one involvement
    involved_non_soc: int
    error: str = ""
    within_rate_ratio: float | None = None
    within_rate_ratio_ci: tuple[float | None, float | None] = (None, None)
    within_strata: int = 0


def person_rates(
    exposure: pl.DataFrame, incident_type: str, s: EstablishmentSettings
) -> PersonRates:
    """Rates and the rate ratio of one type from `panel.prisoner_exposure` rows."""
    y = exposure[f"n_{incident_type}"].to_numpy().astype(float)
    soc = exposure["soc"].to_numpy().astype(float)
    days = exposure["prisoner_days"].to_numpy().astype(float)
    counts = {
        "prisoners_soc": int(soc.sum()),
        "prisoners_non_soc": int((1 - soc).sum()),
        "involved_soc": int(((y > 0) & (soc == 1)).sum()),
        "involved_non_soc": int(((y > 0) & (soc == 0)).sum()),
    }
    none = (None, None)
    if counts["prisoners_soc"] == 0 or counts["prisoners_non_soc"] == 0 or y.sum() == 0:
        return PersonRates(incident_type, None, none, None, none, None, none,
                           error="no incidents or no prisoners in a group", **counts)  # fmt: skip
    x = np.column_stack([np.ones_like(soc), soc])
    z = float(stats.norm.ppf(0.5 + s.confidence_level / 2))
    try:
        res = sm.GLM(y, x, family=sm.families.Poisson(), offset=np.log(days)).fit(
            cov_type="HC0", tol=1e-10
        )
    except Exception as exc:  # a failed fit is reported, never fatal
        return PersonRates(incident_type, None, none, None, none, None, none,
                           error=f"{type(exc).__name__}: {exc}", **counts)  # fmt: skip
    b, v = np.asarray(res.params), np.asarray(res.cov_params())

    def ci(est: float, var: float) -> tuple[float, float]:
        se = float(np.sqrt(var))
        return float(np.exp(est - z * se)), float(np.exp(est + z * se))

    log_non, log_soc = b[0], b[0] + b[1]
    var_soc = v[0, 0] + v[1, 1] + 2 * v[0, 1]
    per_1000 = np.log(1000.0)
    if counts["involved_soc"] == 0:
        rate_soc, rate_soc_ci, rr, rr_ci = 0.0, none, None, none
    else:
        rate_soc = float(np.exp(log_soc + per_1000))
        rate_soc_ci = ci(log_soc + per_1000, var_soc)
        rr, rr_ci = float(np.exp(b[1])), ci(b[1], v[1, 1])
    return PersonRates(
        incident_type,
        rate_soc,
        rate_soc_ci,
        float(np.exp(log_non + per_1000)),
        ci(log_non + per_1000, v[0, 0]),
        rr,
        rr_ci,
        **counts,
    )


def within_rate_ratio(
    strata: pl.DataFrame, incident_type: str, s: EstablishmentSettings
) -> tuple[float | None, tuple[float | None, float | None], int]:
    """SOC / other rate ratio within establishment-months (`panel.soc_strata` rows) and its
    interval, clustered by establishment; and the number of establishment-months it uses
    (those with SOC and other prisoners and at least one involvement)."""
    n_soc, n_other = f"n_{incident_type}_soc", f"n_{incident_type}_other"
    rows = strata.filter(
        (pl.col("days_soc") > 0)
        & (pl.col("days_other") > 0)
        & (pl.col(n_soc) + pl.col(n_other) > 0)
    )
    none = (None, None)
    if rows.height == 0 or rows[n_soc].sum() == 0 or rows[n_other].sum() == 0:
        return None, none, rows.height
    successes = rows[n_soc].to_numpy().astype(float)
    trials = successes + rows[n_other].to_numpy().astype(float)
    offset = np.log(rows["days_soc"].to_numpy() / rows["days_other"].to_numpy())
    groups = np.unique(rows["establishment_id"].to_numpy(), return_inverse=True)[1]
    z = float(stats.norm.ppf(0.5 + s.confidence_level / 2))
    try:
        res = sm.GLM(
            np.column_stack([successes, trials - successes]),
            np.ones((rows.height, 1)),
            family=sm.families.Binomial(),
            offset=offset,
        ).fit(cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-10)
    except Exception:  # a failed fit leaves the ratio unpublished, never stops the stage
        return None, none, rows.height
    b, se = float(res.params[0]), float(res.bse[0])
    return float(np.exp(b)), (float(np.exp(b - z * se)), float(np.exp(b + z * se))), rows.height
