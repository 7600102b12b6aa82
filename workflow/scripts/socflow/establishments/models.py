"""Incident rates of establishments against their SOC-prisoner share (panel models).

Per incident type, the count of incidents in an establishment-month is modelled with the
log of its prisoner-days as offset, the SOC-prisoner share (in steps of
`share_step_points` percentage points) as the covariate of interest, and fixed effects for
establishment and period (month, or quarter or year: `period_effects`):

* **Poisson** GLM, standard errors clustered by establishment (the sandwich with the expected
  information as bread and the small-sample factor of R's `sandwich::vcovCL`, type HC1;
  checked against R to 1e-6), so that overdispersion and correlation within an establishment
  over time do not narrow the interval;
* **negative binomial** (NB2) GLM with the same design and clustering; its dispersion alpha is
  estimated from the Poisson fit by the Cameron-Trivedi auxiliary regression
  ((y - mu)^2 - y) / mu = alpha mu, and reported.

The coefficient is published as a rate ratio per step of share: exp(step * beta) with a Wald
interval. Fixed-effect coefficients describe single establishments and are never published.
Establishment-months with no prisoner-days are left out (no exposure).

The design is sparse (a row holds the share, one establishment dummy, one period dummy and the
constant) and never made dense: the fits are statsmodels' IRLS iterations (its start, its
deviance criterion), each step a Fisher-scoring increment solved from the small information
matrix X'WX built by sparse products; the cluster sums of the scores are one sparse product.
The estimates equal statsmodels' GLM on the dense design to rounding (about 1e-13 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy import linalg, special

from socflow.establishments.settings import EstablishmentSettings

FAMILIES = ("Poisson", "negative binomial")
MAX_ITERATIONS = 200
DEVIANCE_TOL = 1e-12  # absolute change of the deviance between iterations (statsmodels' atol)


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


@dataclass(frozen=True)
class LogLinearFit:
    """A log-link GLM's estimate: coefficients, fitted means, whether the deviance settled."""

    params: np.ndarray
    mu: np.ndarray
    converged: bool
    iterations: int


def period_expr(period: str) -> pl.Expr:
    month = pl.col("month")
    if period == "month":
        return month.dt.strftime("%Y-%m")
    if period == "quarter":
        return month.dt.year().cast(pl.String) + "Q" + month.dt.quarter().cast(pl.String)
    return month.dt.year().cast(pl.String)


def design(panel: pl.DataFrame, s: EstablishmentSettings) -> tuple[sp.csr_array, np.ndarray]:
    """Sparse design matrix (share in steps, then establishment and period dummies, then the
    constant) and the establishment codes (clusters), for rows with prisoner-days."""
    rows = panel.filter(pl.col("prisoner_days") > 0).with_columns(
        period_expr(s.period_effects).alias("_period")
    )
    n = rows.height
    share = rows["soc_share"].to_numpy() * 100.0 / s.share_step_points
    est_levels, est_codes = np.unique(rows["establishment_id"].to_numpy(), return_inverse=True)
    per_levels, per_codes = np.unique(rows["_period"].to_numpy(), return_inverse=True)
    n_est, n_per = len(est_levels), len(per_levels)
    k = 1 + (n_est - 1) + (n_per - 1) + 1
    # Dummies drop the first level of each (the constant carries it): a row of the first
    # establishment or period has no entry there.
    row = np.arange(n)
    est_rows, per_rows = est_codes > 0, per_codes > 0
    rows_idx = np.concatenate([row, row[est_rows], row[per_rows], row])
    cols_idx = np.concatenate([
        np.zeros(n, dtype=np.int64),
        est_codes[est_rows],
        n_est - 1 + per_codes[per_rows],
        np.full(n, k - 1, dtype=np.int64),
    ])  # fmt: skip
    values = np.concatenate([share, np.ones(int(est_rows.sum()) + int(per_rows.sum()) + n)])
    x = sp.csr_array((values, (rows_idx, cols_idx)), shape=(n, k))
    x.sum_duplicates()
    x.sort_indices()
    return x, est_codes


def _wald(coef: float, se: float, level: float) -> tuple[float, float, float]:
    z = float(special.ndtri(0.5 + level / 2))  # what scipy.stats.norm.ppf computes
    return float(np.exp(coef)), float(np.exp(coef - z * se)), float(np.exp(coef + z * se))


def moment_alpha(y: np.ndarray, mu: np.ndarray) -> float:
    """NB2 dispersion by the Cameron-Trivedi auxiliary regression (no constant), at least 1e-8."""
    aux = ((y - mu) ** 2 - y) / mu
    return float(max(np.sum(mu * aux) / np.sum(mu**2), 1e-8))


def deviance(y: np.ndarray, mu: np.ndarray, alpha: float = 0.0) -> float:
    """Poisson (alpha 0) or NB2 deviance, as statsmodels' families compute it."""
    ratio = np.clip(y / mu, np.finfo(float).eps, np.inf)
    if alpha == 0.0:
        return float(2 * np.sum(y * np.log(ratio) - (y - mu)))
    y_alpha, mu_alpha = y + 1 / alpha, mu + 1 / alpha
    return float(2 * np.sum(y * np.log(ratio) - y_alpha * np.log(y_alpha / mu_alpha)))


def information(x: sp.csr_array, weight: np.ndarray) -> np.ndarray:
    """X'WX as a dense (columns x columns) matrix, from sparse products."""
    return np.asarray((x.T @ (x * weight[:, None])).toarray())


def fit_log_linear(
    x: sp.csr_array, y: np.ndarray, offset: np.ndarray, alpha: float = 0.0
) -> LogLinearFit:
    """Poisson (alpha 0) or NB2 GLM with log link and offset by statsmodels' IRLS: its start
    (mu = (y + mean y) / 2), its criterion (the deviance changes by at most DEVIANCE_TOL), at
    most MAX_ITERATIONS. After the first weighted least-squares step every step is a Newton
    increment H^-1 X'(y - mu)/(1 + alpha mu), H the observed information (X'WX with W =
    mu (1 + alpha y) / (1 + alpha mu)^2; for Poisson the expected one): the estimate is where
    the score vanishes, whatever the conditioning of H, and NB2 converges quadratically, where
    statsmodels' Fisher scoring converges linearly and stops, once the deviance no longer
    changes in floating point, about 1e-9 relative from the maximum. A singular H raises
    LinAlgError."""
    mu = (y + y.mean()) / 2.0
    eta = np.log(mu)
    dev = deviance(y, mu, alpha)
    params = None
    converged = False
    iterations = 0
    while iterations < MAX_ITERATIONS:
        iterations += 1
        if params is None:
            weight = mu / (1.0 + alpha * mu)
            working = eta + (y - mu) / mu - offset
            factor = linalg.cho_factor(information(x, weight))
            params = linalg.cho_solve(factor, x.T @ (weight * working))
        else:
            weight = mu * (1.0 + alpha * y) / (1.0 + alpha * mu) ** 2
            factor = linalg.cho_factor(information(x, weight))
            params = params + linalg.cho_solve(factor, x.T @ ((y - mu) / (1.0 + alpha * mu)))
        eta = x @ params + offset
        mu = np.exp(eta)
        previous, dev = dev, deviance(y, mu, alpha)
        if abs(dev - previous) <= DEVIANCE_TOL:
            converged = True
            break
    return LogLinearFit(params=params, mu=mu, converged=converged, iterations=iterations)


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

    share = x[:, [0]].toarray().ravel() if rows.height else np.zeros(0)
    if rows.height == 0 or y.sum() == 0 or np.ptp(share) == 0:
        return [failed(f, "no incidents or no variation in SOC share") for f in FAMILIES]
    out = []
    mu = None
    for family in FAMILIES:
        alpha = None
        if family == "negative binomial":
            if mu is None:
                out.append(failed(family, "no Poisson fit to estimate the dispersion from"))
                continue
            alpha = moment_alpha(y, mu)
        try:
            res = fit_log_linear(x, y, offset, alpha or 0.0)
            cov = clustered_covariance(x, y, res.mu, clusters, alpha or 0.0)
        except Exception as exc:  # a failed fit is reported, never fatal
            out.append(failed(family, f"{type(exc).__name__}: {exc}", alpha))
            continue
        if family == "Poisson":
            mu = res.mu
        coef, se = float(res.params[0]), float(np.sqrt(cov[0, 0]))
        rr, lo, hi = _wald(coef, se, s.confidence_level)
        out.append(PanelFit(family=family, rate_ratio=rr, ci_lower=lo, ci_upper=hi, coef=coef,
                            se=se, alpha=alpha, converged=res.converged, **base))  # fmt: skip
    return out


def clustered_covariance(
    x: sp.csr_array | np.ndarray,
    y: np.ndarray,
    mu: np.ndarray,
    clusters: np.ndarray,
    alpha: float = 0.0,
) -> np.ndarray:
    """Cluster-robust covariance of a log-link Poisson (alpha 0) or NB2 GLM: the expected
    information as bread (as R's sandwich::vcovCL uses; statsmodels' own cluster option uses
    the observed one, which differs for NB2, a non-canonical link) and the cluster sums of the
    scores as meat, with the small-sample factor G/(G-1) (N-1)/(N-K) (vcovCL type HC1). The
    cluster sums are one sparse (clusters x rows) product with the design."""
    x = sp.csr_array(x)
    n, k = x.shape
    bread = np.linalg.inv(information(x, mu / (1.0 + alpha * mu)))
    codes, inverse = np.unique(clusters, return_inverse=True)
    g = len(codes)
    residual = (y - mu) / (1.0 + alpha * mu)
    by_cluster = sp.csr_array((residual, (inverse.ravel(), np.arange(n))), shape=(g, n))
    sums = np.asarray((by_cluster @ x).toarray())
    factor = g / (g - 1) * (n - 1) / (n - k) if g > 1 and n > k else 1.0
    return factor * bread @ (sums.T @ sums) @ bread


def fit_all(panel: pl.DataFrame, s: EstablishmentSettings) -> list[PanelFit]:
    return [f for t in s.incident_types for f in fit_panel(panel, t, s)]
