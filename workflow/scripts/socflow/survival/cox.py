"""Fitting the Cox model of SOC status, with the proportional-hazards check and stratification."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from socflow.distributions import normal_quantile, normal_sf
from socflow.survival.concordance import concordance_index
from socflow.survival.cox_design import Design, cox_design
from socflow.survival.efron import (
    CoxSolution,
    RiskSets,
    RowPatterns,
    column_patterns,
    newton_raphson,
    risk_sets,
    score_residuals_from,
    sparse_design,
)
from socflow.survival.ph_test import ph_test
from socflow.survival.robust import sandwich
from socflow.survival.settings import GROUP, Settings

if TYPE_CHECKING:  # pandas is imported only where a pandas table is made (not by the rules)
    import pandas as pd


@dataclass
class CoxFit:
    """A fitted Cox model with robust errors and its proportional-hazards check."""

    coefficients: pl.DataFrame  # term, level, coef, se, ci_lower, ci_upper, p_value, hr
    ph_test: pl.DataFrame  # term, chi2, df, p_value (before stratification)
    ph_test_final: pl.DataFrame  # the same for the model reported
    strata: list[str]
    n_persons: int
    n_events: int
    n_params: int
    n_clusters: int
    log_likelihood: float
    concordance: float
    iterations: int
    scaled_gradient: float
    seconds: float
    sampled: bool
    notes: list[str]


@dataclass
class CoxModel:
    """One fitted Cox model: the solution and what the PH test needs to reuse."""

    columns: list[str]
    solution: CoxSolution
    risk_sets: RiskSets
    x: np.ndarray  # the design, centred at its column means
    time: np.ndarray

    @property
    def beta(self) -> np.ndarray:
        return self.solution.beta

    def concordance(self) -> float:
        """Harrell's C over all comparable pairs, as lifelines counts them."""
        return float(concordance_index(self.time, -(self.x @ self.beta), self.risk_sets.events))


def fit_cox(
    frame: pd.DataFrame | pl.DataFrame,
    duration: str,
    event: str,
    columns: list[str],
    strata: list[str] | None = None,
    cluster: str | None = None,
    robust: bool = True,
    confidence_level: float = 0.95,
    initial: dict[str, float] | None = None,
    ties: str = "efron",
    tolerance: float = 1e-9,
    values: np.ndarray | None = None,
    patterns: RowPatterns | str | None = "find",
) -> tuple[CoxModel, pd.DataFrame, np.ndarray]:
    """Fit a Cox model by Newton-Raphson (Efron ties by default) with robust standard errors.

    Coefficients are iterated until the largest Newton step is at most `tolerance` relative to
    1 + |coefficient| (`efron.newton_raphson`), whatever the start; `initial` (column ->
    coefficient) only saves steps. `values` are `frame[columns]` as an array, when the caller
    holds them already: a float row-major array is handed over (centred in place and kept by
    the model, not copied), any other is copied; `patterns` those of the centred design, when
    known (`efron.newton_raphson`). The sandwich variance is clustered by the column `cluster`
    (else per row), from Efron-consistent score residuals, as R's `coxph(..., cluster=)`.
    Returns the model, a coefficient table (coef, se, se_model, z, p_value, coef_lower,
    coef_upper, hazard_ratio) indexed by column, and the covariance used for `se`. `frame` is
    a pandas or a Polars frame (the same fit from either).
    """
    model = fit_cox_model(
        frame, duration, event, columns, strata, confidence_level, initial, ties, tolerance,
        values, patterns,
    )  # fmt: skip
    clusters = np.asarray(frame[cluster].to_numpy()) if robust and cluster else None
    table, covariance = coefficient_table(model, robust, clusters, confidence_level)
    return model, table, covariance


def fit_cox_model(
    frame: pd.DataFrame | pl.DataFrame,
    duration: str,
    event: str,
    columns: list[str],
    strata: list[str] | None = None,
    confidence_level: float = 0.95,
    initial: dict[str, float] | None = None,
    ties: str = "efron",
    tolerance: float = 1e-9,
    values: np.ndarray | None = None,
    patterns: RowPatterns | str | None = "find",
) -> CoxModel:
    """The model of `fit_cox` (same arguments) without its coefficient table."""
    strata = strata or []
    times = _floats(frame[duration])
    events = _floats(frame[event])
    if values is None:
        x = np.array(frame[columns].to_numpy(), dtype=float, order="C")
    else:
        x = np.asarray(values, dtype=float, order="C")
    centre = x.mean(0)
    rs = risk_sets(times, events, strata_codes(frame, strata), ties)
    design = sparse_design(rs, x, centre)
    x -= centre  # centred in place: one n x p array held, not two
    start = None if initial is None else np.array([initial.get(c, 0.0) for c in columns])
    solution = newton_raphson(rs, x, start, tolerance, design=design, patterns=patterns)
    return CoxModel(columns, solution, rs, x, times)


def coefficient_table(
    model: CoxModel,
    robust: bool = True,
    clusters: np.ndarray | None = None,
    confidence_level: float = 0.95,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The coefficient table of a fitted model (see `fit_cox`) and the covariance used for its
    standard errors: the sandwich clustered by `clusters` (else per row) when `robust`."""
    import pandas as pd  # noqa: PLC0415 (a pandas table for callers that want one)

    columns, covariance = coefficient_columns(model, robust, clusters, confidence_level)
    return pd.DataFrame(columns, index=model.columns), covariance


def coefficient_columns(
    model: CoxModel,
    robust: bool = True,
    clusters: np.ndarray | None = None,
    confidence_level: float = 0.95,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The columns of `coefficient_table` as arrays (one entry per model column), and the
    covariance used for the standard errors."""
    solution = model.solution
    beta = solution.beta
    variance = solution.variance
    if robust:
        residuals = score_residuals_from(model.risk_sets, model.x, solution.evaluation)
        covariance = sandwich(residuals, variance, clusters)
    else:
        covariance = variance
    se = np.sqrt(np.diag(covariance))
    z = beta / se
    q = normal_quantile(0.5 + confidence_level / 2)
    columns = {
        "coef": beta,
        "se": se,
        "se_model": np.sqrt(np.diag(variance)),
        "z": z,
        "p_value": 2 * normal_sf(np.abs(z)),
        "coef_lower": beta - q * se,
        "coef_upper": beta + q * se,
        "hazard_ratio": np.exp(beta),
    }
    return columns, covariance


def cox_ph_test(model: CoxModel, term_of: dict[str, str], transform: str = "km") -> pl.DataFrame:
    """`cox.zph` of a fitted model, per term (joint over its dummies) and globally."""
    blocks: dict[str, list[int]] = {}
    for i, col in enumerate(model.columns):
        blocks.setdefault(term_of[col], []).append(i)
    return ph_test(
        model.risk_sets, model.x, model.solution.evaluation, model.time, blocks, transform
    )


def cox_analysis(
    follow: pl.DataFrame, s: Settings, concordance: bool = True
) -> tuple[CoxFit, Design, list[str]]:
    """SOC status adjusted for the configured covariates, with the PH check and stratification.

    Fits on every person unless `cox.max_persons` caps it (a seeded random sample of persons).
    Terms other than SOC status whose PH test (`cox.zph`, transform `cox.ph_transform`) p-value
    falls below `ph_alpha` are moved into strata, worst first, up to `max_strata_terms`; each
    move is followed by a refit and retest. A SOC term that fails is reported, not stratified
    (it is the effect of interest). Without `concordance` Harrell's C is not counted (NaN).
    """
    c = s.cox
    notes: list[str] = []
    data = follow
    sampled = False
    if c.max_persons is not None and follow.height > c.max_persons:
        data = follow.sample(n=c.max_persons, seed=c.seed, shuffle=False).sort("person")
        sampled = True
        notes.append(
            f"fitted on a seeded random sample of {c.max_persons:,} of {follow.height:,} persons"
        )
    design, skipped = cox_design(data, c.covariates, c, s.cluster)
    if skipped:
        notes.append("covariates not used (missing or constant): " + ", ".join(skipped))
    for term, levels in design.pooled.items():
        notes.append(
            f"{term}: levels too small to publish ({', '.join(levels)}) merged into "
            f"{design.pooled_into[term]!r}"
        )
    # Each refit takes its columns of the design straight from the frame as the row-major
    # array the fit works on; the distinct rows of a subset of columns follow from those of
    # the whole (`efron.column_patterns`). Time, event, cluster and strata stay in Polars.
    dummies = design.frame.select(pl.col(c).cast(pl.Float64) for c in design.columns)
    frame = design.frame.drop(design.columns)
    all_patterns: RowPatterns | str = "find"
    strata: list[str] = []
    start = time.perf_counter()
    first_test: pl.DataFrame | None = None
    initial: dict[str, float] | None = None
    while True:
        kept = [i for i, col in enumerate(design.columns) if design.term_of[col] not in strata]
        columns = [design.columns[i] for i in kept]
        patterns = all_patterns
        if isinstance(all_patterns, RowPatterns):
            patterns = column_patterns(all_patterns, np.array(kept))
        # Only the model kept at the end needs the robust variance: the others give starting
        # values and the PH test, which use the coefficients alone.
        values = dummies.select(columns).to_numpy(order="c")
        model = fit_cox_model(
            frame, "time", "event", columns, strata, s.confidence_level, initial,
            tolerance=c.tolerance, values=values, patterns=patterns,
        )  # fmt: skip
        del values  # handed over: the model holds it, centred
        if not strata and model.solution.evaluation.patterns is not None:
            all_patterns = model.solution.evaluation.patterns
        initial = dict(zip(columns, model.beta, strict=True))
        test = cox_ph_test(model, design.term_of, c.ph_transform)
        if first_test is None:
            first_test = test
        failing = test.filter(
            (pl.col("p_value") < c.ph_alpha) & ~pl.col("term").is_in(["GLOBAL", GROUP])
        ).sort("chi2", descending=True)
        if failing.height == 0 or len(strata) >= c.max_strata_terms:
            break
        term = failing["term"][0]
        strata.append(term)
        notes.append(f"PH test failed for {term} (p < {c.ph_alpha}): stratified on it")
    clusters = cluster_codes(frame["cluster"])
    table, _ = coefficient_columns(model, True, clusters, s.confidence_level)
    seconds = time.perf_counter() - start
    soc_test = test.filter(pl.col("term") == GROUP)
    if soc_test.height and soc_test["p_value"][0] < c.ph_alpha:
        notes.append("PH test failed for SOC status: its hazard ratio is an average over follow-up")
    coefficients = pl.DataFrame(
        {
            "term": [design.term_of[col] for col in columns],
            "level": [design.level_of[col] for col in columns],
            "coef": table["coef"],
            "se": table["se"],
            "ci_lower": np.exp(table["coef_lower"]),
            "ci_upper": np.exp(table["coef_upper"]),
            "p_value": table["p_value"],
            "hazard_ratio": table["hazard_ratio"],
        }
    )
    fit = CoxFit(
        coefficients=coefficients,
        ph_test=first_test,
        ph_test_final=test,
        strata=strata,
        n_persons=frame.height,
        n_events=int(frame["event"].sum()),
        n_params=len(columns),
        n_clusters=int(clusters.max()) + 1 if len(clusters) else 0,
        log_likelihood=model.solution.log_likelihood,
        concordance=model.concordance() if concordance else float("nan"),
        iterations=model.solution.iterations,
        scaled_gradient=model.solution.scaled_gradient,
        seconds=seconds,
        sampled=sampled,
        notes=notes,
    )
    return fit, design, skipped


def strata_codes(frame: pd.DataFrame | pl.DataFrame, strata: list[str]) -> np.ndarray | None:
    """One integer code per combination of the strata columns (None without strata), numbered
    in the sorted order of the combinations, missing values last (pandas' `groupby(sort=True,
    dropna=False).ngroup()`, whose numbering orders the risk sets and so reaches the fit's
    last bits)."""
    if not strata:
        return None
    if isinstance(frame, pl.DataFrame):
        keys = frame.select(strata)
        combos = keys.unique().sort(strata, nulls_last=True).with_row_index("stratum_code")
        coded = keys.join(combos, on=strata, how="left", nulls_equal=True, maintain_order="left")
        return coded["stratum_code"].cast(pl.Int64).to_numpy()
    return frame.groupby(strata, sort=True, dropna=False, observed=True).ngroup().to_numpy()


def cluster_codes(cluster: pl.Series) -> np.ndarray:
    """One integer code per cluster, numbered by first appearance (as `pandas.factorize`,
    whose numbering orders the clusters' sums in the sandwich variance)."""
    rows = cluster.to_frame("cluster").with_row_index("row")
    first_row = pl.col("row").first().over("cluster")
    code = (first_row.rank("dense") - 1).cast(pl.Int64).alias("code")
    return rows.select(code)["code"].to_numpy()


def _floats(column: pd.Series | pl.Series) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=float)
