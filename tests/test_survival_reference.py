"""socflow.survival against R's survival package (fixtures in tests/data/survival_r/).

The fixtures were made by tests/fixtures/r/survival_reference.R (`make fixtures`) with R 4.2.2,
survival 3.5-3 and sandwich 3.0-2 on simulated data with many tied times, three strata and 700
clusters; these tests need no R. Tolerances: 1e-6 relative is what the issue asks; the
estimates agree far closer (about 1e-12), and each test states the tolerance it uses.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from socflow import survival as sv
from socflow.survival import efron

FIXTURES = Path(__file__).resolve().parent / "data" / "survival_r"
COLUMNS = ["x1", "x2", "fb", "fc"]
TERMS = {"x1": ["x1"], "x2": ["x2"], "f": ["fb", "fc"]}
RTOL = 1e-6  # the required agreement with R
TIGHT = 1e-9  # what the implementation achieves on these data (about 1e-12 in fact)

MODELS = {
    # fixture model name: (ties, strata, cluster column)
    "efron_robust": ("efron", [], None),
    "efron_cluster": ("efron", [], "cluster"),
    "efron_strata_cluster": ("efron", ["stratum"], "cluster"),
    "breslow_cluster": ("breslow", [], "cluster"),
}


def _read(name: str) -> pd.DataFrame:
    path = FIXTURES / name
    assert path.read_text().startswith("# made by tests/fixtures/r/survival_reference.R with R")
    return pd.read_csv(path, comment="#")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _read("data.csv")


def _fit(data: pd.DataFrame, model: str, initial=None):
    ties, strata, cluster = MODELS[model]
    return sv.fit_cox(
        data, "time", "status", COLUMNS, strata, cluster, True, 0.95, initial, ties=ties
    )


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


@pytest.mark.parametrize("model", list(MODELS))
def test_cox_coefficients_and_variances_equal_r(data, model):
    ref = _read("cox_coefficients.csv").query("model == @model").set_index("term").loc[COLUMNS]
    vcov = _read("cox_vcov.csv").query("model == @model")
    fit = _read("cox_fit.csv").query("model == @model").iloc[0]
    cox, table, covariance = _fit(data, model)
    assert _rel(table["coef"], ref["coef"]) < TIGHT
    assert _rel(table["se_model"], ref["se_naive"]) < TIGHT
    assert _rel(table["se"], ref["se_robust"]) < TIGHT
    naive = vcov.pivot(index="row", columns="col", values="naive").loc[COLUMNS, COLUMNS]
    robust = vcov.pivot(index="row", columns="col", values="robust").loc[COLUMNS, COLUMNS]
    assert _rel(cox.solution.variance, naive.to_numpy()) < TIGHT
    assert _rel(covariance, robust.to_numpy()) < TIGHT
    assert cox.solution.log_likelihood == pytest.approx(fit["loglik"], rel=1e-12)
    assert cox.solution.log_likelihood_null == pytest.approx(fit["loglik_null"], rel=1e-12)


def test_breslow_score_residuals_would_fail_the_efron_reference(data):
    """The check has teeth: Breslow-form residuals at the Efron fit miss R by far more than 1e-6."""
    ref = _read("cox_vcov.csv").query("model == 'efron_cluster'")
    robust = ref.pivot(index="row", columns="col", values="robust").loc[COLUMNS, COLUMNS]
    cox, _, _ = _fit(data, "efron_cluster")
    breslow = sv.robust_covariance(
        data["time"].to_numpy(), data["status"].to_numpy(), data[COLUMNS].to_numpy(),
        cox.beta, None, cox.solution.variance, data["cluster"].to_numpy(), ties="breslow",
    )  # fmt: skip
    efron_form = sv.robust_covariance(
        data["time"].to_numpy(), data["status"].to_numpy(), data[COLUMNS].to_numpy(),
        cox.beta, None, cox.solution.variance, data["cluster"].to_numpy(),
    )  # fmt: skip
    assert _rel(np.diag(efron_form), np.diag(robust)) < TIGHT
    assert _rel(np.diag(breslow), np.diag(robust)) > 100 * RTOL


def test_score_residuals_sum_to_zero_and_cluster_sums_give_the_sandwich(data):
    cox, _, covariance = _fit(data, "efron_strata_cluster")
    codes = sv.strata_codes(data, ["stratum"])
    u = sv.score_residuals(
        data["time"].to_numpy(), data["status"].to_numpy(), data[COLUMNS].to_numpy(),
        cox.beta, codes,
    )  # fmt: skip
    assert np.abs(u.sum(0)).max() < 1e-8
    d = sv.cluster_sums(u, data["cluster"].to_numpy()) @ cox.solution.variance
    np.testing.assert_allclose(d.T @ d, covariance, rtol=1e-12)


@pytest.mark.parametrize("start", [None, "far", "previous"])
def test_convergence_to_the_optimum_from_any_start(data, start):
    ref = _read("cox_coefficients.csv").query("model == 'efron_strata_cluster'")
    ref = ref.set_index("term").loc[COLUMNS, "coef"]
    initial = {
        None: None,
        "far": dict.fromkeys(COLUMNS, 2.0),
        "previous": dict(zip(COLUMNS, ref.to_numpy() + 1e-3, strict=True)),
    }[start]
    cox, table, _ = _fit(data, "efron_strata_cluster", initial)
    assert _rel(table["coef"], ref) < TIGHT
    assert cox.solution.max_step <= 1e-9
    assert cox.solution.scaled_gradient < 1e-9


def test_non_convergence_raises_a_clear_error(data):
    rs = efron.risk_sets(data["time"].to_numpy(), data["status"].to_numpy())
    x = data[COLUMNS].to_numpy(dtype=float)
    with pytest.raises(efron.CoxConvergenceError, match="did not converge in 1 Newton steps"):
        efron.newton_raphson(rs, x - x.mean(0), max_iterations=1)


@pytest.mark.parametrize("model", ["efron_cluster", "efron_strata_cluster", "breslow_cluster"])
@pytest.mark.parametrize("transform", sv.PH_TRANSFORMS)
def test_ph_test_equals_cox_zph(data, model, transform):
    ref = _read("cox_zph.csv")
    ref = ref[(ref["model"] == model) & (ref["transform"] == transform)].set_index("term")
    cox, _, _ = _fit(data, model)
    term_of = {col: term for term, cols in TERMS.items() for col in cols}
    ours = sv.cox_ph_test(cox, term_of, transform).to_pandas().set_index("term")
    assert list(ours.index) == ["x1", "x2", "f", "GLOBAL"]
    ref = ref.loc[ours.index]
    assert (ours["df"].to_numpy() == ref["df"].to_numpy()).all()
    assert _rel(ours["chi2"], ref["chisq"]) < TIGHT
    assert _rel(ours["p_value"], ref["p"]) < TIGHT


def test_ph_test_rejects_unknown_transform():
    with pytest.raises(ValueError, match="transform"):
        sv.transformed_time(np.array([1.0, 2.0]), np.array([True, False]), "sqrt")


def _follow(data: pd.DataFrame) -> pl.DataFrame:
    return pl.from_pandas(data).select(
        pl.col("id").cast(pl.String).alias("person"),
        pl.col("grp").alias(sv.GROUP),
        "time",
        (pl.col("status") == 1).alias("event"),
        pl.col("cluster").cast(pl.String),
    )


def test_kaplan_meier_and_log_log_bands_equal_survfit(data):
    ref = _read("km.csv")
    ours = sv.kaplan_meier(_follow(data)).to_pandas()
    merged = ours.merge(ref, left_on=[sv.GROUP, "time"], right_on=["grp", "time"], how="right")
    assert len(merged) == len(ref) == len(ours)
    assert (merged["at_risk"] == merged["n_risk"]).all()
    assert (merged["events"] == merged["n_event"]).all()
    assert (merged["censored"] == merged["n_censor"]).all()
    assert _rel(merged["survival"], merged["surv"]) < 1e-12
    defined = merged["upper"] < 1  # survfit's band at S = 1 is (1, 1); ours is left undefined
    assert _rel(1 - merged["ci_upper"][defined], merged["lower"][defined]) < 1e-10
    assert _rel(1 - merged["ci_lower"][defined], merged["upper"][defined]) < 1e-10


def test_numbers_at_risk_equal_survfit(data):
    ref = _read("km_at_times.csv")
    ours = sv.at_risk_table(_follow(data), tuple(int(t) for t in sorted(ref["time"].unique())))
    merged = ours.to_pandas().merge(
        ref, left_on=[sv.GROUP, "days"], right_on=["grp", "time"], how="right"
    )
    assert (merged["persons"] == merged["n_risk"]).all()
    km = sv.kaplan_meier(_follow(data))
    for row in ref.itertuples():
        at = sv.km_at(km, int(row.time)).to_pandas().set_index(sv.GROUP)
        assert 1 - at.loc[row.grp, "estimate"] == pytest.approx(row.surv, rel=1e-12)


def test_clustered_kaplan_meier_intervals_equal_survfit_robust(data):
    ref = _read("km_cluster.csv")
    follow = _follow(data)
    for horizon in sorted(ref["time"].unique()):
        ours = sv.km_at_clustered(follow, int(horizon)).to_pandas().set_index(sv.GROUP)
        r = ref[ref["time"] == horizon].set_index("grp").loc[ours.index]
        assert _rel(1 - ours["estimate"], r["surv"]) < 1e-12
        assert _rel(ours["se"], r["std_err"]) < TIGHT
        assert _rel(1 - ours["ci_upper"], r["lower"]) < TIGHT
        assert _rel(1 - ours["ci_lower"], r["upper"]) < TIGHT


def test_logrank_equals_survdiff(data):
    ref = _read("logrank.csv").set_index("grp")
    ours = sv.logrank(_follow(data))
    assert ours.df == int(ref["df"].iloc[0])
    assert ours.chi2 == pytest.approx(ref["chisq"].iloc[0], rel=1e-10)
    assert ours.p_value == pytest.approx(ref["p"].iloc[0], rel=1e-8)
    for grp, row in ref.iterrows():
        assert ours.observed[grp] == row["observed"]
        assert ours.expected[grp] == pytest.approx(row["expected"], rel=1e-12)


def test_fit_robust_variance_and_ph_test_stay_fast_and_linear():
    """No quadratic step: 8x the rows costs well under 8^2 = 64x the time."""

    def seconds(n: int) -> float:
        rng = np.random.default_rng(5)
        frame = pd.DataFrame(
            {
                "time": rng.integers(1, 400, n),
                "event": rng.random(n) < 0.4,
                "x": rng.normal(size=n),
                "g": (rng.random(n) < 0.3).astype(float),
                "cluster": rng.integers(0, n // 2, n),
            }
        )
        start = time.process_time()  # CPU time: steadier than wall time on a shared machine
        cox, _, _ = sv.fit_cox(frame, "time", "event", ["x", "g"], cluster="cluster")
        sv.cox_ph_test(cox, {"x": "x", "g": "g"})
        return time.process_time() - start

    small = min(seconds(10_000) for _ in range(3))
    large = min(seconds(80_000) for _ in range(3))
    assert large < 24 * max(small, 1e-3), (small, large)
