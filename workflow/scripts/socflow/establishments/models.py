"""Incident rates of establishments against their SOC-prisoner share (panel models).

Per incident type, the count of incidents in an establishment-month is modelled with the
log of its prisoner-days as offset, the SOC-prisoner share (in steps of
`share_step_points` percentage points) as the covariate of interest, and fixed effects for
establishment and period (month, or quarter or year: `period_effects`):

* **Poisson** GLM (statsmodels), standard errors clustered by establishment (the sandwich
  with the expected information as bread and the small-sample factor of R's
  `sandwich::vcovCL`, type HC1; checked against R to 1e-6), so that overdispersion and
  correlation within an establishment over time do not narrow the interval;
* **negative binomial** (NB2) GLM with the same design and clustering; its dispersion alpha is
  estimated from the Poisson fit by the Cameron-Trivedi auxiliary regression
  ((y - mu)^2 - y) / mu = alpha mu, and reported.

The coefficient is published as a rate ratio per step of share: exp(step * beta) with a Wald
interval. Fixed-effect coefficients describe single establishments and are never published.
Establishment-months with no prisoner-days are left out (no exposure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import stats

from socflow.establishments.settings import EstablishmentSettings

FAMILIES = ("Poisson", "negative binomial")


@dataclass(frozen=True)
class PanelFit:
    """One incident type's model: the SOC-share rate ratio per step and fit facts."""

    incident_type: str
    family: str
    rate_ratio: float | None
    ci_lower: float | None
    ci_upper: float | None
    coef: float | None
    se: float | None
    alpha: float | None
    n_rows: int
    n_clusters: int
    incidents: int
    converged: bool
    error: str = ""


def period_expr(period: str) -> pl.Expr:
    month = pl.col("month")
    if period == "month":
        return month.dt.strftime("%Y-%m")
    if period == "quarter":
        return month.dt.year().cast(pl.String) + "Q" + month.dt.quarter().cast(pl.String)
    return month.dt.year().cast(pl.String)


def design(panel: pl.DataFrame, s: EstablishmentSettings) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix (share in steps, then establishment and period dummies, then the
    constant) and the establishment codes (clusters), for rows with prisoner-days."""
    rows = panel.filter(pl.col("prisoner_days") > 0).with_columns(
        period_expr(s.period_effects).alias("_period")
    )
    share = (rows["soc_share"].to_numpy() * 100.0 / s.share_step_points)[:, None]
    est = rows["establishment_id"].to_numpy()
    per = rows["_period"].to_numpy()
    est_levels, est_codes = np.unique(est, return_inverse=True)
    per_levels, per_codes = np.unique(per, return_inverse=True)
    # Dummies dropping the first level of each (the constant carries it).
    est_dum = (est_codes[:, None] == np.arange(1, len(est_levels))[None, :]).astype(float)
    per_dum = (per_codes[:, None] == np.arange(1, len(per_levels))[None, :]).astype(float)
    x = np.hstack([share, est_dum, per_dum, np.ones((rows.height, 1))])
    return x, est_codes


def _wald(coef: float, se: float, level: float) -> tuple[float, float, float]:
    z = float(stats.norm.ppf(0.5 + level / 2))
    return float(np.exp(coef)), float(np.exp(coef - z * se)), float(np.exp(coef + z * se))


def moment_alpha(y: np.ndarray, mu: np.ndarray) -> float:
    """NB2 dispersion by the Cameron-Trivedi auxiliary regression (no constant), at least 1e-8."""
    aux = ((y - mu) ** 2 - y) / mu
    return float(max(np.sum(mu * aux) / np.sum(mu**2), 1e-8))


def fit_panel(panel: pl.DataFrame, incident_type: str, s: EstablishmentSettings) -> list[PanelFit]:
    """Poisson and negative-binomial fits of one incident type (FAMILIES order)."""
    rows = panel.filter(pl.col("prisoner_days") > 0)
    y = rows[f"n_{incident_type}"].to_numpy().astype(float)
    offset = np.log(rows["prisoner_days"].to_numpy().astype(float))
    x, clusters = design(panel, s)
    base = {
        "incident_type": incident_type,
        "n_rows": int(rows.height),
        "n_clusters": len(np.unique(clusters)),
        "incidents": int(y.sum()),
    }

    def failed(family: str, error: str, alpha: float | None = None) -> PanelFit:
        return PanelFit(family=family, rate_ratio=None, ci_lower=None, ci_upper=None,
                        coef=None, se=None, alpha=alpha, converged=False, error=error,
                        **base)  # fmt: skip

    if rows.height == 0 or y.sum() == 0 or np.ptp(x[:, 0]) == 0:
        return [failed(f, "no incidents or no variation in SOC share") for f in FAMILIES]
    out = []
    mu = None
    for family in FAMILIES:
        alpha = None
        if family == "Poisson":
            fam = sm.families.Poisson()
        elif mu is None:
            out.append(failed(family, "no Poisson fit to estimate the dispersion from"))
            continue
        else:
            alpha = moment_alpha(y, mu)
            fam = sm.families.NegativeBinomial(alpha=alpha)
        try:
            res = sm.GLM(y, x, family=fam, offset=offset).fit(scale=1.0, maxiter=200, tol=1e-12)
            cov = clustered_covariance(x, y, np.asarray(res.fittedvalues), clusters, alpha or 0.0)
        except Exception as exc:  # a failed fit is reported, never fatal
            out.append(failed(family, f"{type(exc).__name__}: {exc}", alpha))
            continue
        if family == "Poisson":
            mu = np.asarray(res.fittedvalues)
        coef, se = float(res.params[0]), float(np.sqrt(cov[0, 0]))
        rr, lo, hi = _wald(coef, se, s.confidence_level)
        out.append(PanelFit(family=family, rate_ratio=rr, ci_lower=lo, ci_upper=hi, coef=coef,
                            se=se, alpha=alpha, converged=bool(getattr(res, "converged", True)),
                            **base))  # fmt: skip
    return out


def clustered_covariance(
    x: np.ndarray, y: np.ndarray, mu: np.ndarray, clusters: np.ndarray, alpha: float = 0.0
) -> np.ndarray:
    """Cluster-robust covariance of a log-link Poisson (alpha 0) or NB2 GLM: the expected
    information as bread (as R's sandwich::vcovCL uses; statsmodels' own cluster option uses
    the observed one, which differs for NB2, a non-canonical link) and the cluster sums of the
    scores as meat, with the small-sample factor G/(G-1) (N-1)/(N-K) (vcovCL type HC1)."""
    n, k = x.shape
    weight = mu / (1.0 + alpha * mu)
    bread = np.linalg.inv((x.T * weight) @ x)
    scores = x * ((y - mu) / (1.0 + alpha * mu))[:, None]
    codes, inverse = np.unique(clusters, return_inverse=True)
    sums = np.zeros((len(codes), k))
    np.add.at(sums, inverse, scores)
    g = len(codes)
    factor = g / (g - 1) * (n - 1) / (n - k) if g > 1 and n > k else 1.0
    return factor * bread @ (sums.T @ sums) @ bread


def fit_all(panel: pl.DataFrame, s: EstablishmentSettings) -> list[PanelFit]:
    return [f for t in s.incident_types for f in fit_panel(panel, t, s)]
