"""Incident rates of SOC against non-SOC prisoners (person level).

Per incident type: involvements (rows of prison_incidents, one per prisoner per incident) per
1,000 prisoner-days of SOC and of non-SOC prisoners, and their rate ratio from a Poisson GLM
of each prisoner's count on SOC status with the log of their prisoner-days as offset and
robust (HC0 sandwich) standard errors, one row per prisoner: the interval allows for
overdispersion between prisoners. Rates carry Wald intervals on the log scale from the same
robust variance.
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
