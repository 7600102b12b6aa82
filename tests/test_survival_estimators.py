"""Survival estimators against lifelines and published values: Cox (Rossi), score residuals,
Kaplan-Meier and log-rank (the R reference checks are in test_survival_reference.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_rossi
from lifelines.statistics import logrank_test

from socflow import survival as sv
from socflow.sdc import SdcThresholds, aggregate_survival_steps
from socflow.survival.kaplan_meier import unique_integers

# ---------------------------------------------------------------------------------------------
# Known answers


def test_rossi_cox_coefficients_match_published_efron_values():
    """Rossi et al. recidivism data: the published Cox fit (Efron ties; lifelines docs, R)."""
    rossi = load_rossi()
    cols = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    _, table, _ = sv.fit_cox(rossi, "week", "arrest", cols, robust=False)
    published = {"fin": -0.379, "age": -0.057, "race": 0.314, "wexp": -0.150, "mar": -0.434,
                 "paro": -0.085, "prio": 0.091}  # fmt: skip
    for col, coef in published.items():
        assert table.loc[col, "coef"] == pytest.approx(coef, abs=0.0006), col
    published_se = {"fin": 0.191, "age": 0.022, "prio": 0.029, "mar": 0.382}
    for col, se in published_se.items():
        assert table.loc[col, "se"] == pytest.approx(se, abs=0.0006), col
    assert table.loc["fin", "hazard_ratio"] == pytest.approx(0.68, abs=0.005)


def test_rossi_robust_errors_close_to_lifelines_sandwich():
    """On tied data the tie-aware score residuals differ slightly from lifelines' ordered ones."""
    rossi = load_rossi()
    cols = ["fin", "age", "prio"]
    _, ours, _ = sv.fit_cox(rossi, "week", "arrest", cols, robust=True)
    ref = CoxPHFitter().fit(rossi[["week", "arrest", *cols]], "week", "arrest", robust=True)
    np.testing.assert_allclose(ours.loc[cols, "se"], ref.standard_errors_[cols], rtol=0.03)


def _untied(n: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.4).astype(float)
    t = rng.exponential(1 / np.exp(0.5 * x1 - 0.4 * x2))
    c = rng.exponential(1.5, n)
    return pd.DataFrame(
        {
            "T": np.minimum(t, c),
            "E": (t <= c).astype(int),
            "x1": x1,
            "x2": x2,
            "stratum": rng.integers(0, 2, n),
            "cluster": rng.integers(0, 60, n),
        }
    )


def test_score_residuals_sum_to_zero_at_the_estimate():
    """The score is zero at the maximum partial likelihood (no ties: Breslow = Efron)."""
    df = _untied()
    for strata in ([], ["stratum"]):
        ref = CoxPHFitter().fit(
            df[["T", "E", "x1", "x2", *strata]], "T", "E", strata=strata or None
        )
        codes = df["stratum"].to_numpy() if strata else np.zeros(len(df), dtype=int)
        ours = sv.score_residuals(
            df["T"].to_numpy(), df["E"].to_numpy().astype(bool), df[["x1", "x2"]].to_numpy(),
            ref.params_[["x1", "x2"]].to_numpy(), codes,
        )  # fmt: skip
        np.testing.assert_allclose(ours.sum(0), 0.0, atol=1e-4)
        shifted = sv.score_residuals(
            df["T"].to_numpy(), df["E"].to_numpy().astype(bool), df[["x1", "x2"]].to_numpy(),
            ref.params_[["x1", "x2"]].to_numpy() + 0.2, codes,
        )  # fmt: skip
        assert np.abs(shifted.sum(0)).max() > 1.0


def test_clustered_robust_errors_equal_lifelines_without_ties():
    df = _untied()
    for strata in ([], ["stratum"]):
        cols = ["T", "E", "x1", "x2", "cluster", *strata]
        ref = CoxPHFitter().fit(df[cols], "T", "E", cluster_col="cluster", strata=strata or None)
        _, ours, _ = sv.fit_cox(df, "T", "E", ["x1", "x2"], strata=strata, cluster="cluster")
        np.testing.assert_allclose(ours["se"], ref.standard_errors_[["x1", "x2"]], rtol=1e-6)
        assert ours["se"].to_numpy() != pytest.approx(ours["se_model"].to_numpy(), rel=1e-3)


def test_kaplan_meier_and_bands_equal_lifelines_with_ties():
    rng = np.random.default_rng(5)
    n = 400
    follow = pl.DataFrame(
        {
            "person": [str(i) for i in range(n)],
            sv.GROUP: np.where(rng.random(n) < 0.3, sv.SOC_LABEL, sv.NON_SOC_LABEL),
            "time": rng.integers(1, 60, n),
            "event": rng.random(n) < 0.6,
        }
    )
    km = sv.kaplan_meier(follow)
    for g in (sv.SOC_LABEL, sv.NON_SOC_LABEL):
        part = follow.filter(pl.col(sv.GROUP) == g)
        ref = KaplanMeierFitter().fit(part["time"].to_numpy(), part["event"].to_numpy())
        mine = km.filter(pl.col(sv.GROUP) == g)
        times = mine["time"].to_numpy()
        np.testing.assert_allclose(
            mine["survival"].to_numpy(), ref.survival_function_.loc[times, "KM_estimate"].to_numpy()
        )
        band = ref.confidence_interval_survival_function_.loc[times]
        ok = mine["ci_lower"].is_not_null().to_numpy()
        np.testing.assert_allclose(
            mine["ci_lower"].to_numpy()[ok], 1 - band.iloc[:, 1].to_numpy()[ok], rtol=1e-9
        )
        np.testing.assert_allclose(
            mine["ci_upper"].to_numpy()[ok], 1 - band.iloc[:, 0].to_numpy()[ok], rtol=1e-9
        )
        assert (
            mine["at_risk"].to_numpy() == ref.event_table.loc[times, "at_risk"].to_numpy()
        ).all()
    # The table is what the disclosure stage aggregates.
    steps = aggregate_survival_steps(
        km.filter(pl.col(sv.GROUP) == sv.SOC_LABEL).select("time", "at_risk", "events", "censored"),
        SdcThresholds(),
    )
    assert steps.height > 0


def test_logrank_equals_lifelines():
    rng = np.random.default_rng(9)
    n = 500
    soc = rng.random(n) < 0.3
    t = rng.exponential(np.where(soc, 14.0, 10.0)).round() + 1
    follow = pl.DataFrame(
        {
            "person": [str(i) for i in range(n)],
            sv.GROUP: np.where(soc, sv.SOC_LABEL, sv.NON_SOC_LABEL),
            "time": t.astype(int),
            "event": rng.random(n) < 0.7,
        }
    )
    ours = sv.logrank(follow)
    a = follow.filter(pl.col(sv.GROUP) == sv.SOC_LABEL)
    b = follow.filter(pl.col(sv.GROUP) == sv.NON_SOC_LABEL)
    ref = logrank_test(a["time"], b["time"], a["event"], b["event"])
    assert ours.chi2 == pytest.approx(ref.test_statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.p_value, rel=1e-6)


def test_km_at_is_null_beyond_follow_up():
    follow = pl.DataFrame(
        {"person": ["a", "b", "c"], sv.GROUP: [sv.SOC_LABEL] * 3, "time": [10, 20, 30],
         "event": [True, False, False]}
    )  # fmt: skip
    km = sv.kaplan_meier(follow)
    assert sv.km_at(km, 25)["estimate"][0] == pytest.approx(1 / 3)
    assert sv.km_at(km, 31)["estimate"][0] is None


def test_unique_integers_is_np_unique():
    """Counting instead of sorting gives np.unique's values, codes and dtypes exactly, and
    falls back to np.unique for fractions, NaN, wide spreads and empty input."""
    rng = np.random.default_rng(0)
    cases = [
        rng.integers(0, 3000, 10_000).astype(float),  # days
        rng.integers(-5, 50, 1000),
        rng.integers(1, 100_000, 50_000).astype(np.uint32),  # ranks
        rng.integers(0, 10**9, 100),  # spread too wide: np.unique
        np.array([1.5, 2.0, 1.5]),
        np.array([np.nan, 1.0]),
        np.array([], dtype=float),
    ]
    for values in cases:
        ours, expected = unique_integers(values), np.unique(values, return_inverse=True)
        for a, b in zip(ours, expected, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
