"""The logistic fit: Newton's method (statsmodels' Newton optimiser, step for step) on
covariate patterns, with court-clustered standard errors from the sparse design, and the
average marginal effect of SOC status."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse._sparsetools import csr_matmat, csr_matmat_maxnnz

from socflow.distributions import normal_quantile, normal_sf
from socflow.model.cluster import cluster_codes, cluster_covariance
from socflow.model.design import PatternDesign, collapse_patterns, independent_columns
from socflow.model.settings import ModelSettings

# A log odds ratio beyond this (an odds ratio above about 22,000) does not come from data that
# overlap: it is the signature of (quasi-)complete separation, so the fit is flagged.
SEPARATION_LOG_ODDS = 10.0
# Fewer clusters than this make cluster-robust standard errors unreliable (too small).
MIN_CLUSTERS = 20
# statsmodels' Newton defaults: the largest change of a coefficient that stops the iterations,
# and the ridge added to the diagonal of the (scaled) Hessian before each step.
NEWTON_TOL = 1e-8
NEWTON_RIDGE = 1e-10


class ConvergenceWarning(UserWarning):
    """The Newton iterations stopped at the maximum (statsmodels' warning of that name: the
    diagnostics quote it by name)."""


class PerfectSeparationWarning(UserWarning):
    """Every row's fitted probability equals its outcome (statsmodels' warning of that name)."""


@dataclass(frozen=True)
class NewtonFit:
    """The result of `SparseLogit.fit_newton`: the estimate, the number of Newton steps, whether
    they stopped before the maximum, and the log-likelihood's Hessian at the estimate."""

    params: np.ndarray
    iterations: int
    converged: bool
    hessian: np.ndarray


class SparseLogit:
    """The logistic log-likelihood, score, Hessian and perfect-prediction check of a sparse
    design, computed on its distinct rows ("covariate patterns"), and statsmodels' Newton
    optimiser on them (`fit_newton`: the same steps, tolerance, ridge, convergence rule and
    warnings as statsmodels' `Logit.fit(method="newton")`, bit for bit; importing statsmodels
    for it cost the rule about 1.3 s of CPU).

    Rows with the same covariates share their predicted probability, so the likelihood and its
    derivatives are exact sums over patterns weighted by their rows and events: with categorical
    terms there are far fewer patterns than rows, and the products are sparse. No dense copy of
    the design is made (statsmodels' `Logit` would hold one, rows x columns).
    """

    def __init__(self, endog, design: PatternDesign):
        self.endog = np.asarray(endog, dtype=float)
        self._xu, self._rows, self._events = design.matrix, design.rows, design.events
        self._xut = self._xu.T.tocsr()
        # Pattern of every stored value: weighting patterns is one multiplication of `data`.
        self._pattern_of_value = np.repeat(np.arange(self._xu.shape[0]), np.diff(self._xu.indptr))
        self._product = _GramProduct(self._xut, self._xu)

    def _linear(self, params: np.ndarray) -> np.ndarray:
        return self._xu @ params

    def pattern_probabilities(self, params: np.ndarray) -> np.ndarray:
        """Fitted probability of each covariate pattern."""
        return _expit(self._linear(params))

    def loglike(self, params) -> float:
        eta = self._linear(params)
        log_p = -np.logaddexp(0.0, -eta)
        log_q = -np.logaddexp(0.0, eta)
        return float(self._events @ log_p + (self._rows - self._events) @ log_q)

    def score(self, params):
        return self._score_at(self.pattern_probabilities(params))

    def hessian(self, params):
        return self._hessian_at(self.pattern_probabilities(params))

    def _score_at(self, p: np.ndarray) -> np.ndarray:
        return self._xut @ (self._events - self._rows * p)

    def _hessian_at(self, p: np.ndarray) -> np.ndarray:
        w = (self._rows * p * (1 - p))[self._pattern_of_value]
        return -self._product.dense(self._xu.data * w)

    def _check_perfect_pred(self, params) -> None:
        self._check_perfect_at(self.pattern_probabilities(params))

    def _check_perfect_at(self, p: np.ndarray) -> None:
        # statsmodels' `Logit` warns when every row's prediction equals its outcome. On patterns
        # that means every pattern is pure (all or none of its rows have the event) and
        # predicted as such; equal expected and observed counts alone hold at any saturated fit.
        pure = (self._events == 0) | (self._events == self._rows)
        if pure.all() and np.allclose(p, self._events / self._rows):
            warnings.warn(
                "Perfect separation or prediction detected", PerfectSeparationWarning, stacklevel=2
            )

    def fit_newton(self, start_params: np.ndarray, maxiter: int) -> NewtonFit:
        """statsmodels' Newton fit (`LikelihoodModel.fit(method="newton")`): the same scaled
        Hessian and score, ridge and stopping rule, and the perfect-prediction check after every
        step as its `Logit.fit` does. The fitted probabilities of each estimate are computed
        once (statsmodels computes them for the check, the Hessian and the score in turn), and
        the Hessian at the estimate is returned for the covariance."""
        nobs = self.endog.shape[0]
        iterations = 0
        oldparams: np.ndarray | float = np.inf
        newparams = np.asarray(start_params)
        p = self.pattern_probabilities(newparams)
        while iterations < maxiter and np.any(np.abs(newparams - oldparams) > NEWTON_TOL):
            scaled = np.asarray(-self._hessian_at(p) / nobs)
            scaled[np.diag_indices(scaled.shape[0])] += NEWTON_RIDGE
            oldparams = newparams
            newparams = oldparams - np.linalg.solve(scaled, -self._score_at(p) / nobs)
            p = self.pattern_probabilities(newparams)
            self._check_perfect_at(p)
            iterations += 1
        hessian = self._hessian_at(p)
        # statsmodels inverts the scaled Hessian at the estimate for its (unused here)
        # non-robust covariance: a singular one fails the fit there, and so here.
        np.linalg.inv(-hessian / nobs)
        converged = iterations != maxiter
        if not converged:
            warnings.warn(
                "Maximum Likelihood optimization failed to converge. Check mle_retvals",
                ConvergenceWarning,
                stacklevel=2,
            )
        return NewtonFit(newparams, iterations, converged, hessian)


class _GramProduct:
    """`(xut @ csr_matrix((values, x.indices, x.indptr))).toarray()` for many `values` of one
    sparse structure: scipy's own sparse product (`csr_matmat`, the same sums in the same order,
    so the same bits), with the size of the product counted once (scipy counts it again for
    every product, a pass as long as the product itself) and no sparse matrix objects built
    around it. The Newton steps evaluate the Hessian this way a few times per fit."""

    def __init__(self, xut: sp.csr_matrix, x: sp.csr_matrix):
        self.shape = (xut.shape[0], x.shape[1])
        index = np.result_type(xut.indptr, xut.indices, x.indptr, x.indices)
        self._left = (xut.indptr.astype(index), xut.indices.astype(index), xut.data)
        self._right = (x.indptr.astype(index), x.indices.astype(index))
        self._nnz = csr_matmat_maxnnz(*self.shape, *self._left[:2], *self._right)
        self._index = index

    def dense(self, values: np.ndarray) -> np.ndarray:
        n_rows, n_cols = self.shape
        indptr = np.empty(n_rows + 1, dtype=self._index)
        indices = np.empty(self._nnz, dtype=self._index)
        data = np.empty(self._nnz, dtype=np.result_type(self._left[2], values))
        csr_matmat(n_rows, n_cols, *self._left, *self._right, values, indptr, indices, data)
        out = np.zeros(self.shape, dtype=data.dtype)
        stored = indptr[-1]
        rows = np.repeat(np.arange(n_rows), np.diff(indptr))
        # Each (row, column) is stored once: placing the sums is `toarray`'s adding to zeros.
        out[rows, indices[:stored]] = data[:stored]
        return out


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class Fit:
    """A fitted logistic regression (or why it was not fitted: `ok` False, `messages`)."""

    ok: bool
    names: list[tuple[str, str]] = field(default_factory=list)
    params: np.ndarray | None = None
    bse: np.ndarray | None = None
    pvalues: np.ndarray | None = None
    conf: np.ndarray | None = None  # (k, 2), log-odds scale
    converged: bool = False
    iterations: int = 0
    llf: float = math.nan
    llnull: float = math.nan
    prsquared: float = math.nan
    aic: float = math.nan
    nobs: int = 0
    df_resid: int = 0
    n_clusters: int = 0
    ame: tuple[float, float, float] | None = None  # SOC minus non-SOC, probability scale
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)


def fit_logit(
    y: np.ndarray,
    x: sp.csr_matrix,
    names: list[tuple[str, str]],
    clusters: np.ndarray,
    soc_term: str,
    settings: ModelSettings,
    start: dict[tuple[str, str], float] | None = None,
    patterns: np.ndarray | None = None,
) -> Fit:
    """Fit `y ~ x` by maximum likelihood with standard errors clustered by `clusters`
    (`patterns`: each row's covariate pattern, see `pattern_index`, to speed the fit up).
    See `fit_patterns`."""
    design = collapse_patterns(x, y, patterns)
    return fit_patterns(y, design, names, clusters, soc_term, settings, start)


def fit_patterns(
    y: np.ndarray,
    design: PatternDesign,
    names: list[tuple[str, str]],
    clusters: np.ndarray,
    soc_term: str,
    settings: ModelSettings,
    start: dict[tuple[str, str], float] | None = None,
) -> Fit:
    """Fit `y` on a design reduced to its covariate patterns, by maximum likelihood, with
    standard errors clustered by `clusters` (one per row).

    Reports, and never raises on: collinear columns (dropped), perfect separation on a level
    (not fitted), non-convergence, implausibly large coefficients, numerical failure.
    """
    t0 = time.perf_counter()
    messages: list[str] = []
    xu, rows, events = design.matrix, design.rows, design.events
    gram = (xu.T @ xu.multiply(rows[:, None]).tocsr()).toarray()
    keep = independent_columns(gram)
    dropped = [names[j] for j in np.flatnonzero(~keep)]
    soc_cols = [j for j, (t, _) in enumerate(names) if t == soc_term]
    if not soc_cols or not keep[soc_cols].all():
        return Fit(False, names, messages=[f"{soc_term} is constant or collinear: not fitted"])
    if dropped:
        messages.append("collinear columns dropped: " + ", ".join(f"{t}={lv}" for t, lv in dropped))
    design = design.columns(np.flatnonzero(keep))
    xu = design.matrix
    names = [nm for nm, k in zip(names, keep, strict=True) if k]
    # A dummy whose rows all have, or all lack, the event has no finite maximum likelihood
    # estimate (perfect separation): report instead of fitting.
    n_col = xu.T @ rows
    ev_col = xu.T @ events
    separated = [
        names[j]
        for j in range(1, len(names))
        if names[j][0] not in settings.numeric_terms and (ev_col[j] == 0 or ev_col[j] == n_col[j])
    ]
    if y.sum() == 0 or y.sum() == len(y):
        return Fit(False, names, messages=[*messages, "outcome does not vary: not fitted"])
    if separated:
        return Fit(
            False,
            names,
            messages=[
                *messages,
                "perfect separation (no events, or only events) at "
                + ", ".join(f"{t}={lv}" for t, lv in separated)
                + ": not fitted",
            ],
        )
    p0 = float(y.mean())
    start_params = np.zeros(len(names))
    start_params[0] = math.log(p0 / (1 - p0))
    if start:
        start_params = np.array(
            [start.get(nm, s) for nm, s in zip(names, start_params, strict=True)]
        )
    groups = cluster_codes(clusters)
    n_clusters = int(groups.max()) + 1
    if n_clusters < 2:
        return Fit(
            False,
            names,
            messages=[*messages, "fewer than two clusters: clustered errors undefined"],
        )
    if n_clusters < MIN_CLUSTERS:
        messages.append(f"only {n_clusters} clusters: clustered standard errors may be too small")
    # Null model (intercept only) in closed form: statsmodels would refit it by BFGS.
    llnull = len(y) * (p0 * math.log(p0) + (1 - p0) * math.log(1 - p0))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = SparseLogit(y, design)
            res = model.fit_newton(start_params, settings.max_iterations)
            params = res.params
            # Clustered covariance and normal-theory inference as statsmodels' `Logit` with
            # cov_type="cluster" computes them (its `cov_cluster`, `bse`, `pvalues`,
            # `conf_int`), on the sparse design.
            resid = y - model.pattern_probabilities(params)[design.of_row]
            cov = cluster_covariance(xu, resid, groups, res.hessian, of_row=design.of_row)
            # A negative variance (a singular Hessian, rounding) gives NaN silently, as in
            # statsmodels' `bse`; the fit is then reported for its undefined coefficient.
            with np.errstate(invalid="ignore"):
                bse = np.sqrt(np.diag(cov))
            alpha = 1 - settings.confidence_level
            q = normal_quantile(1 - alpha / 2)
            llf = model.loglike(params)
            k = len(names)
            fit = Fit(
                ok=True,
                names=names,
                params=params,
                bse=bse,
                pvalues=normal_sf(np.abs(params / bse)) * 2,
                conf=np.column_stack([params - q * bse, params + q * bse]),
                converged=res.converged,
                iterations=res.iterations,
                llf=llf,
                llnull=llnull,
                prsquared=1.0 - llf / llnull,
                # statsmodels' Logit: -2 (llf - (df_model + 1)), df_model = K - 1.
                aic=-2.0 * (llf - (float(k - 1) + 1)),
                nobs=len(y),
                df_resid=len(y) - k,
                n_clusters=n_clusters,
            )
            fit.ame = average_marginal_effect(design, fit.params, cov, soc_cols[0], alpha)
    except Exception as exc:  # one model's numerical failure must not stop the run
        return Fit(False, names, messages=[*messages, f"fit failed: {type(exc).__name__}: {exc}"])
    for w in caught:
        text = str(w.message).splitlines()[0]
        if issubclass(w.category, DeprecationWarning):
            continue
        # Worded as when statsmodels ran the optimiser, so that the diagnostics stay the same.
        messages.append(f"statsmodels warning: {w.category.__name__}: {text}")
    if not fit.converged:
        messages.append(f"did not converge within {settings.max_iterations} Newton iterations")
    large = [
        names[j]
        for j in range(1, len(names))
        if abs(fit.params[j]) > SEPARATION_LOG_ODDS or not np.isfinite(fit.bse[j])
    ]
    if large:
        messages.append(
            "possible quasi-separation (implausibly large or undefined coefficient) at "
            + ", ".join(f"{t}={lv}" for t, lv in large)
        )
    fit.messages = messages
    fit.seconds = time.perf_counter() - t0
    return fit


def average_marginal_effect(
    design: PatternDesign, params: np.ndarray, cov: np.ndarray, soc_col: int, alpha: float
) -> tuple[float, float, float]:
    """Average difference in predicted probability, everyone as SOC minus everyone as non-SOC,
    with a delta-method interval from the (cluster-robust) covariance (averages over rows are
    sums over patterns weighted by their rows)."""
    xu, weight = design.matrix, design.rows
    n = float(len(design.of_row))
    eta = xu @ params
    soc = xu[:, soc_col].toarray().ravel()
    eta1 = eta + (1 - soc) * params[soc_col]
    eta0 = eta - soc * params[soc_col]
    p1, p0 = _expit(eta1), _expit(eta0)
    ame = float(weight @ (p1 - p0)) / n
    w1, w0 = p1 * (1 - p1), p0 * (1 - p0)
    # d AME / d beta: the SOC column is 1 in the first scenario and 0 in the second.
    grad = (xu.T @ (weight * (w1 - w0))) / n
    grad[soc_col] = float(weight @ w1) / n
    se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    z = float(normal_quantile(1 - alpha / 2))
    return ame, ame - z * se, ame + z * se
