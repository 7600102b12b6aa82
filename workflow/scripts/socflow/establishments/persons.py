"""Incident rates of SOC against non-SOC prisoners (person level).

Per incident type: involvements (rows of prison_incidents, one per prisoner per incident) per
1,000 prisoner-days of SOC and of non-SOC prisoners, and two rate ratios:

* **crude**: from a Poisson GLM of each prisoner's count on SOC status with the log of their
  prisoner-days as offset and robust (HC0 sandwich) standard errors, one row per prisoner (the
  interval allows for overdispersion between prisoners); computed in its closed form (group
  rates and sums of squared residuals), equal to statsmodels' fit to rounding. It mixes who
  the prisoners are with where they are held: SOC prisoners are concentrated in some establishments.
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
from scipy import special

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
    # The Poisson GLM of count on SOC status with log-days offset has a closed form: each
    # group's maximum-likelihood rate is its involvements over its days, and the HC0 sandwich
    # (information diag(mu) summed per group, scores y - mu) gives each group's log rate the
    # variance sum (y - mu)^2 / (sum y)^2 over its prisoners, the two groups independent.
    z = float(special.ndtri(0.5 + s.confidence_level / 2))  # scipy.stats.norm.ppf

    def log_rate(group: np.ndarray) -> tuple[float, float] | None:
        involvements, group_days = float(y[group].sum()), float(days[group].sum())
        if involvements == 0:
            return None
        rate = involvements / group_days
        resid = y[group] - days[group] * rate
        return float(np.log(rate)), float(np.sum(resid * resid)) / involvements**2

    def ci(est: float, var: float) -> tuple[float, float]:
        se = float(np.sqrt(var))
        return float(np.exp(est - z * se)), float(np.exp(est + z * se))

    non, with_soc = log_rate(soc == 0), log_rate(soc == 1)
    per_1000 = np.log(1000.0)
    rates: dict[str, tuple] = {}
    for name, group in (("soc", with_soc), ("non_soc", non)):
        if group is None:  # no involvements: rate 0, no interval
            rates[name] = (0.0, none)
        else:
            rates[name] = (float(np.exp(group[0] + per_1000)), ci(group[0] + per_1000, group[1]))
    if with_soc is None or non is None:
        rr, rr_ci = None, none
    else:
        log_ratio = with_soc[0] - non[0]
        rr, rr_ci = float(np.exp(log_ratio)), ci(log_ratio, with_soc[1] + non[1])
    return PersonRates(
        incident_type, rates["soc"][0], rates["soc"][1], rates["non_soc"][0],
        rates["non_soc"][1], rr, rr_ci, **counts,
    )  # fmt: skip


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
    groups = np.unique(rows["establishment_id"].to_numpy(), return_inverse=True)[1].ravel()
    z = float(special.ndtri(0.5 + s.confidence_level / 2))  # scipy.stats.norm.ppf
    b = intercept_logit(successes, trials, offset)
    if b is None:  # no maximum found: the ratio is not published, the stage goes on
        return None, none, rows.height
    p = special.expit(b + offset)
    # Cluster-robust variance of the intercept as statsmodels' GLM cov_type "cluster": the
    # inverse information as bread, cluster sums of the scores, G/(G-1) (N-1)/(N-K), K = 1.
    info = float(np.sum(trials * p * (1 - p)))
    sums = np.bincount(groups, weights=successes - trials * p)
    g = len(sums)
    factor = g / (g - 1) if g > 1 else 1.0
    se = float(np.sqrt(factor * np.sum(sums * sums) / info**2))
    return float(np.exp(b)), (float(np.exp(b - z * se)), float(np.exp(b + z * se))), rows.height


def intercept_logit(
    successes: np.ndarray, trials: np.ndarray, offset: np.ndarray, max_steps: int = 100
) -> float | None:
    """Maximum-likelihood intercept of a logistic GLM with only an intercept and an offset
    (binomial counts), by Newton steps until a step no longer moves it; None without one."""
    b = float(np.log(successes.sum() / (trials - successes).sum()) - np.mean(offset))
    for _ in range(max_steps):
        p = special.expit(b + offset)
        step = float(np.sum(successes - trials * p) / np.sum(trials * p * (1 - p)))
        if not np.isfinite(step):
            return None
        b += step
        if abs(step) <= 1e-15 * max(1.0, abs(b)):
            return b
    return None
