"""Fitting the Cox model of SOC status, with the proportional-hazards check and stratification."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from lifelines import CoxPHFitter
from scipy import stats

from socflow.survival.cox_design import Design, cox_design
from socflow.survival.ph_test import schoenfeld_test
from socflow.survival.robust import robust_covariance
from socflow.survival.settings import GROUP, Settings


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
    log_likelihood: float
    concordance: float
    seconds: float
    sampled: bool
    notes: list[str]


def fit_cox(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    columns: list[str],
    strata: list[str] | None = None,
    cluster: str | None = None,
    robust: bool = True,
    confidence_level: float = 0.95,
    initial: dict[str, float] | None = None,
) -> tuple[Any, pd.DataFrame, np.ndarray]:
    """Fit a Cox model with lifelines (Efron ties) and add robust standard errors.

    lifelines computes the coefficients and the model-based variance; the sandwich variance
    (clustered by `cluster`, else per row) comes from `robust_covariance`. Returns the fitted
    lifelines model, a coefficient table (coef, se, se_model, z, p, ci on the coefficient scale,
    hazard_ratio) indexed by column, and the covariance used. `initial` (column -> coefficient)
    starts Newton-Raphson from an earlier fit, which saves iterations on refits.
    """
    strata = strata or []
    data = frame[[duration, event, *columns, *strata]]
    model = CoxPHFitter(alpha=1 - confidence_level)
    start = None
    if initial is not None:
        # lifelines iterates on standardised covariates, so the start is scaled by their SDs.
        sd = data[columns].std().to_numpy()
        start = np.array([initial.get(c, 0.0) for c in columns]) * sd
    model.fit(
        data, duration_col=duration, event_col=event, strata=strata or None, initial_point=start
    )
    beta = model.params_[columns].to_numpy()
    variance = model.variance_matrix_.loc[columns, columns].to_numpy()
    if robust:
        strata_codes = (
            frame[strata].astype(str).agg("|".join, axis=1).to_numpy()
            if strata
            else np.zeros(len(frame), dtype=np.int64)
        )
        _, strata_codes = np.unique(strata_codes, return_inverse=True)
        covariance = robust_covariance(
            frame[duration].to_numpy(dtype=float),
            frame[event].to_numpy(dtype=bool),
            frame[columns].to_numpy(dtype=float),
            beta,
            strata_codes,
            variance,
            frame[cluster].to_numpy() if cluster else None,
        )
    else:
        covariance = variance
    se = np.sqrt(np.diag(covariance))
    z = beta / se
    q = stats.norm.ppf(0.5 + confidence_level / 2)
    table = pd.DataFrame(
        {
            "coef": beta,
            "se": se,
            "se_model": np.sqrt(np.diag(variance)),
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "coef_lower": beta - q * se,
            "coef_upper": beta + q * se,
            "hazard_ratio": np.exp(beta),
        },
        index=columns,
    )
    return model, table, covariance


def cox_analysis(follow: pl.DataFrame, s: Settings) -> tuple[CoxFit, Design, list[str]]:
    """SOC status adjusted for the configured covariates, with the PH check and stratification.

    Fits on every person unless `cox.max_persons` caps it (a seeded random sample of persons).
    Terms other than SOC status whose PH test p-value falls below `ph_alpha` are moved into
    strata, worst first, up to `max_strata_terms`; each move is followed by a refit and retest.
    A SOC term that fails is reported, not stratified (it is the effect of interest).
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
    design, skipped = cox_design(data, c.covariates, c)
    if skipped:
        notes.append("covariates not used (missing or constant): " + ", ".join(skipped))
    for term, levels in design.pooled.items():
        notes.append(f"{term}: levels too small to publish, pooled: {', '.join(levels)}")
    pdf = design.frame.to_pandas()
    cluster = "person" if c.cluster == "person" else "case_id"
    strata: list[str] = []
    start = time.perf_counter()
    first_test: pl.DataFrame | None = None
    initial: dict[str, float] | None = None
    while True:
        columns = [col for col in design.columns if design.term_of[col] not in strata]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, table, _ = fit_cox(
                pdf, "time", "event", columns, strata, cluster, True, s.confidence_level, initial
            )
        initial = dict(zip(columns, table["coef"].to_numpy(), strict=True))
        for w in caught:
            notes.append(f"lifelines: {str(w.message).splitlines()[0]}")
        blocks: dict[str, list[int]] = {}
        for i, col in enumerate(columns):
            blocks.setdefault(design.term_of[col], []).append(i)
        strata_codes = _strata_codes(pdf, strata)
        variance = model.variance_matrix_.loc[columns, columns].to_numpy()
        test = schoenfeld_test(
            pdf["time"].to_numpy(dtype=float),
            pdf["event"].to_numpy(dtype=bool),
            pdf[columns].to_numpy(dtype=float),
            table["coef"].to_numpy(),
            strata_codes,
            variance,
            blocks,
        )
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
    seconds = time.perf_counter() - start
    soc_test = test.filter(pl.col("term") == GROUP)
    if soc_test.height and soc_test["p_value"][0] < c.ph_alpha:
        notes.append("PH test failed for SOC status: its hazard ratio is an average over follow-up")
    coefficients = pl.DataFrame(
        {
            "term": [design.term_of[col] for col in columns],
            "level": [design.level_of[col] for col in columns],
            "coef": table["coef"].to_numpy(),
            "se": table["se"].to_numpy(),
            "ci_lower": np.exp(table["coef_lower"].to_numpy()),
            "ci_upper": np.exp(table["coef_upper"].to_numpy()),
            "p_value": table["p_value"].to_numpy(),
            "hazard_ratio": table["hazard_ratio"].to_numpy(),
        }
    )
    fit = CoxFit(
        coefficients=coefficients,
        ph_test=first_test,
        ph_test_final=test,
        strata=strata,
        n_persons=len(pdf),
        n_events=int(pdf["event"].sum()),
        n_params=len(columns),
        log_likelihood=float(model.log_likelihood_),
        concordance=float(model.concordance_index_),
        seconds=seconds,
        sampled=sampled,
        notes=notes,
    )
    return fit, design, skipped


def _strata_codes(pdf: pd.DataFrame, strata: list[str]) -> np.ndarray:
    if not strata:
        return np.zeros(len(pdf), dtype=np.int64)
    keys = pdf[strata].astype(str).agg("|".join, axis=1).to_numpy()
    return np.unique(keys, return_inverse=True)[1]
