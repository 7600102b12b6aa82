"""Tests of socflow.survival: re-appearance before the courts, SOC against non-SOC."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
import yaml
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_rossi
from lifelines.statistics import logrank_test

from socflow import survival as sv
from socflow.disclose import check_candidate, disclose_stage, read_checked
from socflow.outputs import read_candidates, write_candidates
from socflow.report import OutputView, _env, build_views
from socflow.sdc import SdcThresholds, aggregate_survival_steps

REPO = Path(__file__).resolve().parents[1]
D = date.fromisoformat


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


# ---------------------------------------------------------------------------------------------
# Linking, cases and follow-up on a hand-made history


def test_fanout_rows_take_one_id_deterministically():
    link = pl.DataFrame(
        {
            "source_dataset": ["crown", "crown", "mags", "mags", "mags"],
            "row_id": ["r1", "r1", "m1", "m2", "m3"],
            "person_id": ["XJS9", "XJS10", "XJS9", "XJS9", "XJS10"],
        }
    )
    smallest = sv.resolve_person_ids(link, "crown", "smallest")
    most = sv.resolve_person_ids(link, "crown", "most_linked")
    assert smallest.row(0, named=True) == {"row_id": "r1", "person_id": "XJS10", "n_ids": 2}
    assert most["person_id"][0] == "XJS9"  # carried by three rows, XJS10 by two
    assert sv.resolve_person_ids(link, "mags").height == 3


def _history():
    """One person P (index case C1) and one person Q; every rule of what counts is exercised."""
    crown = pl.DataFrame(
        {
            "row_id": ["c1", "c2", "c3", "q1"],
            "defendant_on_case_id": ["d1", "d2", "d3", "dq"],
            "case_id": ["C1", "C2", "C3", "CQ"],
            "defendant_id": ["p", "p", "p", "q"],
            "receipt_type": ["trial", "trial", "appeal", "trial"],
            "offence_date": [D("2014-01-01"), D("2015-06-01"), D("2015-09-01"), D("2014-01-01")],
            "receipt_date": [D("2014-03-01"), D("2015-07-01"), D("2015-10-01"), D("2014-03-01")],
            "disposal_date": [D("2014-06-01"), D("2016-01-01"), D("2015-11-01"), D("2019-06-01")],
            "outcome_group": ["convicted"] * 4,
            "sentence_type": ["immediate_custody", "fine", "fine", "fine"],
            "custody_days": [200, 0, 0, 0],
            "age_band": ["30-39"] * 4,
            "sex": ["M"] * 4,
            "ethnic_group": ["White"] * 4,
            "offence_group": ["Drug offences"] * 4,
            "receipt_year": [2014, 2015, 2015, 2014],
            "region": ["London"] * 4,
            "age_at_offence": [30, 31, 31, 40],
        }
    )
    mags = pl.DataFrame(
        {
            "row_id": ["m1", "m2", "m3", "m4", "m5", "m6", "m7"],
            "case_id": ["M1", "M2", "M3", "M4", "M5", "M6", "M7"],
            "defendant_id": ["mp"] * 7,
            # m1: the index case's own magistrates' record; m2: sent on to C2 (journey);
            # m3: a breach; m4: offence while in custody; m5: same offence date as m6;
            # m7: recorded more than the waiting period after its offence.
            "proceeding_type": ["criminal", "criminal", "breach", "criminal", "criminal",
                                "criminal", "criminal"],
            "offence_date": [D("2014-01-01"), D("2015-06-01"), D("2015-02-01"), D("2014-07-01"),
                             D("2016-03-01"), D("2016-03-01"), D("2015-04-01")],
            "first_hearing_date": [D("2014-02-01"), D("2015-06-20"), D("2015-02-10"),
                                   D("2014-08-01"), D("2016-03-20"), D("2016-03-21"),
                                   D("2016-06-01")],
            "disposal_date": [D("2014-02-01"), D("2015-06-20"), D("2015-02-10"), D("2014-08-01"),
                              D("2016-04-01"), D("2016-04-02"), D("2016-06-01")],
            "outcome_group": ["other", "other", "other", "convicted", "convicted", "convicted",
                              "convicted"],
            "age_at_offence": [30, 31, 31, 30, 32, 32, 31],
        }
    )  # fmt: skip
    link = pl.DataFrame(
        {
            "source_dataset": ["crown"] * 4 + ["mags"] * 7,
            "row_id": ["c1", "c2", "c3", "q1", "m1", "m2", "m3", "m4", "m5", "m6", "m7"],
            "person_id": ["P", "P", "P", "Q", "P", "P", "P", "P", "P", "P", "P"],
        }
    )
    journey = pl.DataFrame(
        {
            "mags_case_id": ["M1", "M2"],
            "mags_defendant_id": ["mp", "mp"],
            "crown_defendant_on_case_id": ["d1", "d2"],
            "match_score": [0.99, 0.6],
        }
    )
    flags = pl.DataFrame(
        {"defendant_on_case_id": ["d1", "d2", "d3", "dq"], "soc": [True, False, False, False]}
    )
    return crown, mags, link, journey, flags


def _settings(**kw) -> sv.Settings:
    base = sv.Settings(
        first_disposal_date=D("2013-01-01"), last_disposal_date=D("2020-12-31"),
        data_end_date=D("2020-12-31"), waiting_period_days=365, count_window_days=730,
    )  # fmt: skip
    return dataclasses.replace(base, **kw)


def _follow(s: sv.Settings, min_score: float | None = None):
    crown, mags, link, journey, flags = _history()
    crown = sv.attach_person_ids(crown, sv.resolve_person_ids(link, "crown"))
    mags = sv.attach_person_ids(mags, sv.resolve_person_ids(link, "mags"))
    index, flow = sv.index_events(crown, flags, s)
    tables = sv.court_rows(crown, mags, journey, index.select("person"), s)
    cases = sv.new_cases(tables, s, min_match_score=min_score)
    follow, no_time = sv.follow_up(index, cases, s)
    return index, flow, tables, cases, follow, no_time


def test_index_event_start_of_risk_and_first_event():
    s = _settings()
    index, flow, tables, _, follow, no_time = _follow(s)
    assert index["person"].to_list() == ["P", "Q"]
    p = follow.filter(pl.col("person") == "P").row(0, named=True)
    assert p["soc_status"] == sv.SOC_LABEL
    # Released after half of 200 days: time in custody is not at risk, so the offence of
    # 2014-07-01 (m4) does not count.
    assert p["start_date"] == D("2014-09-09")
    # m7 (2015-04-01) was recorded after the waiting period; the first counting offence is
    # the case sent to the Crown Court (m2 + C2), on 2015-06-01.
    assert p["event"] and p["event_date"] == D("2015-06-01")
    assert p["time"] == (D("2015-06-01") - D("2014-09-09")).days
    # Within 2 years of the start: m2+C2 (one case, not two), m5+m6 (same offence date); the
    # appeal C3 does not count (its receipt type is not an event type).
    assert p["n_window"] == 2
    # Q was disposed 2019-06-01, before the censoring date (2020-01-01), with no new case.
    assert no_time == {
        "disposed on or after the censoring date": 0,
        "estimated release on or after the censoring date": 0,
    }
    q = follow.filter(pl.col("person") == "Q").row(0, named=True)
    assert not q["event"] and q["time"] == (D("2020-01-01") - D("2019-06-01")).days
    assert q["n_window"] is None  # followed for less than the 2-year window
    assert tables.excluded["mags rows: breach or civil application"] == 1
    assert flow["persons"].to_list()[-1] == 2


def test_journey_threshold_and_same_date_merging_decide_what_is_one_case():
    # Without same-date merging, the journey link (score 0.6) joins m2 and C2 only when the
    # threshold allows it; m5 and m6 then count as two cases.
    s = _settings(merge_same_offence_date=False)
    *_, joined, _ = _follow(s, min_score=0.5)
    *_, split, _ = _follow(s, min_score=0.9)
    p_joined = joined.filter(pl.col("person") == "P")["n_window"][0]
    p_split = split.filter(pl.col("person") == "P")["n_window"][0]
    assert (p_joined, p_split) == (3, 4)


def test_timing_convicted_only_and_release_fraction():
    s = _settings(timing="first_hearing")
    p = _follow(s)[4].filter(pl.col("person") == "P").row(0, named=True)
    assert p["event_date"] == D("2015-06-20")  # first hearing of m2
    s = _settings(convicted_only=True)
    p = _follow(s)[4].filter(pl.col("person") == "P").row(0, named=True)
    # m2 was sent for trial (not a conviction) but C2 convicted within the waiting period.
    assert p["event_date"] == D("2015-06-01")
    s = _settings(release_fraction=0.0)
    p = _follow(s)[4].filter(pl.col("person") == "P").row(0, named=True)
    assert p["start_date"] == D("2014-06-01")
    assert p["event_date"] == D("2014-07-01")  # the offence in custody now counts


def test_censoring_before_end_of_data_and_coverage():
    s = _settings(coverage_end_date=D("2019-06-30"))
    assert s.censor_date == D("2018-06-30")
    assert s.censor_reason == "coverage falls away"
    _, _, _, _, follow, no_time = _follow(s)
    assert follow["person"].to_list() == ["P"]
    assert no_time["disposed on or after the censoring date"] == 1
    assert (follow["time"] <= (D("2018-06-30") - follow["start_date"][0]).days).all()


# ---------------------------------------------------------------------------------------------
# Cox model: pooling, stratification, sampling


def _simulated(n: int = 4000, seed: int = 11, hr: float = 0.7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    soc = rng.random(n) < 0.25
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    rate = np.where(soc, hr, 1.0) * np.select([group == "a", group == "b"], [1.0, 1.8], 0.6)
    t = rng.exponential(300 / rate)
    c = rng.uniform(100, 1500, n)
    return pl.DataFrame(
        {
            "person": [f"p{i}" for i in range(n)],
            "case_id": [f"c{i // 2}" for i in range(n)],
            sv.GROUP: np.where(soc, sv.SOC_LABEL, sv.NON_SOC_LABEL),
            "offence_group": group,
            "region": np.where(np.arange(n) < 5, "tiny", "big"),
            "time": np.maximum(np.minimum(t, c).round(), 1).astype(int),
            "event": t <= c,
        }
    )


def test_cox_recovers_hazard_ratio_and_pools_small_levels():
    follow = _simulated()
    s = _settings(cox=sv.CoxSettings(covariates=("offence_group", "region", "missing_term")))
    fit, design, skipped = sv.cox_analysis(follow, s)
    soc = fit.coefficients.filter(pl.col("term") == sv.GROUP).row(0, named=True)
    assert soc["ci_lower"] < 0.7 < soc["ci_upper"]
    assert 0.6 < soc["hazard_ratio"] < 0.8
    # "tiny" has too few persons: pooled into the only other level, so region is constant.
    assert "missing_term" in skipped and "region" in skipped
    assert (design.levels["persons"] >= 10).all()
    assert set(design.levels["term"]) == {sv.GROUP, "offence_group"}


def test_failing_proportional_hazards_term_is_stratified():
    follow = _simulated(n=6000).with_columns(
        # An effect that switches sign half-way: grossly non-proportional.
        pl.when(pl.col("time") > 300).then(pl.lit("late")).otherwise(pl.lit("early"))
        .alias("phase_marker")
    )  # fmt: skip
    rng = np.random.default_rng(2)
    # Shuffle the marker within early/late so it is a covariate, not the outcome itself.
    flipped = (
        pl.when(pl.col("phase_marker") == "late").then(pl.lit("early")).otherwise(pl.lit("late"))
    )
    follow = follow.with_columns(
        pl.when(pl.Series(rng.random(follow.height) < 0.7))
        .then(pl.col("phase_marker"))
        .otherwise(flipped)
        .alias("phase_marker")
    )
    s = _settings(cox=sv.CoxSettings(covariates=("offence_group", "phase_marker")))
    fit, _, _ = sv.cox_analysis(follow, s)
    first = dict(zip(fit.ph_test["term"], fit.ph_test["p_value"], strict=True))
    assert first["phase_marker"] < 0.05
    assert "phase_marker" in fit.strata
    assert "phase_marker" not in set(fit.coefficients["term"])
    assert sv.GROUP in set(fit.coefficients["term"])


def test_sampled_fit_uses_the_configured_number_of_persons_deterministically():
    follow = _simulated()
    s = _settings(cox=sv.CoxSettings(covariates=("offence_group",), max_persons=1500, seed=4))
    a, _, _ = sv.cox_analysis(follow, s)
    b, _, _ = sv.cox_analysis(follow, s)
    assert a.sampled and a.n_persons == 1500
    assert a.coefficients["coef"].to_list() == b.coefficients["coef"].to_list()
    full, _, _ = sv.cox_analysis(follow, dataclasses.replace(s, cox=sv.CoxSettings(
        covariates=("offence_group",))))  # fmt: skip
    assert not full.sampled and full.n_persons == follow.height


def test_clustering_by_index_case_changes_only_the_errors():
    follow = _simulated()
    by_person = _settings(cluster="person", cox=sv.CoxSettings(covariates=("offence_group",)))
    by_case = _settings(cluster="index_case", cox=sv.CoxSettings(covariates=("offence_group",)))
    a, _, _ = sv.cox_analysis(follow, by_person)
    b, design_b, _ = sv.cox_analysis(follow, by_case)
    np.testing.assert_allclose(a.coefficients["coef"], b.coefficients["coef"], rtol=1e-12)
    assert a.coefficients["se"].to_list() != b.coefficients["se"].to_list()
    # Two persons per index case in _simulated: half as many clusters as persons.
    assert a.n_clusters == follow.height and b.n_clusters == follow.height // 2
    assert design_b.frame["cluster"].n_unique() == follow.height // 2


def test_clustered_proportion_intervals_reduce_to_greenwood_by_person():
    """With each person a cluster the infinitesimal-jackknife variance is Greenwood's."""
    follow = _simulated()
    by_person = sv.proportions(follow, _settings(cluster="person"))
    km = sv.kaplan_meier(follow)
    for h in (365, 730):
        greenwood = sv.km_at(km, h).sort(sv.GROUP)
        ours = by_person.filter(pl.col("statistic").str.contains(sv.days_label(h))).filter(
            ~pl.col("statistic").str.ends_with(sv.ALL_LABEL)
        )
        for row in greenwood.iter_rows(named=True):
            mine = ours.filter(pl.col("statistic").str.ends_with(": " + row[sv.GROUP])).row(
                0, named=True
            )
            assert mine["value"] == pytest.approx(row["estimate"], rel=1e-12)
            assert mine["ci_lower"] == pytest.approx(row["ci_lower"], rel=1e-10)
            assert mine["ci_upper"] == pytest.approx(row["ci_upper"], rel=1e-10)
    by_case = sv.proportions(follow, _settings(cluster="index_case"))
    assert by_case["value"].to_list() == by_person["value"].to_list()
    assert by_case["ci_lower"].to_list() != by_person["ci_lower"].to_list()


def test_pooling_notes_name_the_level_merged_into():
    follow = _simulated().with_columns(
        pl.when(pl.arange(0, pl.len()) < 6).then(pl.lit("rare1"))
        .when(pl.arange(0, pl.len()) < 12).then(pl.lit("rare2"))
        .otherwise(pl.col("offence_group")).alias("offence_group")
    )  # fmt: skip
    fit, design, _ = sv.cox_analysis(follow, _settings(cox=sv.CoxSettings(
        covariates=("offence_group", "region"))))  # fmt: skip
    assert design.pooled_into["offence_group"] == sv.pooled_level("offence_group")
    assert design.pooled_into["region"] == "big"
    assert any("(rare1, rare2) merged into 'other offence group (pooled)'" in n for n in fit.notes)
    assert any("region" in n and "merged into 'big'" in n for n in fit.notes)


# ---------------------------------------------------------------------------------------------
# The tiny synthetic world: recovery of the planted truth, candidates, report


@pytest.fixture(scope="module")
def tiny_results(tiny_canonical):
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    s = sv.Settings.from_config(cfg["survival"])
    t = tiny_canonical
    r = sv.analyse(
        t["crown_defendant_cases"], t["mags_defendant_cases"], t["xjs_link"],
        t["mags_crown_journey"], t["flags"], s,
    )  # fmt: skip
    return r, s


def test_tiny_world_cox_interval_covers_planted_hazard_ratio(tiny_results, tiny_canonical):
    r, _ = tiny_results
    planted = tiny_canonical["truth_summary"]["planted_hazard_ratio_soc_reappearance"]
    assert tiny_canonical["truth_summary"]["hazard_model_covariates"] == ["soc", "offence_group"]
    assert r.cox is not None, r.cox_error
    soc = r.cox.coefficients.filter(pl.col("term") == sv.GROUP).row(0, named=True)
    assert soc["ci_lower"] < planted < soc["ci_upper"]
    assert soc["hazard_ratio"] < 1.0


def test_tiny_world_two_year_rates_match_the_planted_history(tiny_results, tiny_canonical):
    r, s = tiny_results
    t = tiny_canonical
    truth = sv.truth_follow_up(
        t["crown_defendant_cases"], t["mags_defendant_cases"], t["truth_rows"], s
    )
    assert abs(truth.height - r.follow.height) <= 0.02 * truth.height
    truth_km = sv.kaplan_meier(truth)
    for h in s.horizons_days:
        ours = dict(sv.km_at(r.km, h).select(sv.GROUP, "estimate").iter_rows())
        true = dict(sv.km_at(truth_km, h).select(sv.GROUP, "estimate").iter_rows())
        for g in (sv.SOC_LABEL, sv.NON_SOC_LABEL):
            assert abs(ours[g] - true[g]) < 0.02, (h, g, ours[g], true[g])
    # The planted history itself carries the planted hazard ratio.
    fit, _, _ = sv.cox_analysis(
        truth, dataclasses.replace(s, cox=sv.CoxSettings(covariates=("offence_group",)))
    )
    soc = fit.coefficients.filter(pl.col("term") == sv.GROUP).row(0, named=True)
    assert soc["ci_lower"] < 0.7 < soc["ci_upper"]


def test_tiny_world_ignoring_custody_lowers_the_two_year_rate(tiny_results):
    r, _ = tiny_results
    rows = dict(r.sensitivity.select("statistic", "value").iter_rows())
    at_zero = rows["release fraction 0: re-appeared within 2 years: All"]
    at_half = rows["release fraction 0.5: re-appeared within 2 years: All"]
    assert at_zero < at_half


def test_tiny_world_cohort_flow_and_tables_are_consistent(tiny_results):
    r, _ = tiny_results
    assert r.flow["persons"][-1] == r.follow.height
    assert r.follow["person"].is_unique().all()
    status_total = int(r.status["persons"].sum())
    assert status_total == r.index.height
    at_zero = r.at_risk.filter(pl.col("days") == 0)
    assert int(at_zero["persons"].sum()) == r.follow.height
    assert r.diagnostics["crown_rows_linked"] == r.diagnostics["crown_rows"]


def test_candidates_round_trip_and_pass_their_checks(tiny_results, tmp_path):
    r, _ = tiny_results
    candidates = sv.build_candidates(r)
    ids = [c.output_id for c in candidates]
    assert {"survival_km", "survival_cox", "survival_proportions", "survival_logrank",
            "survival_at_risk", "survival_reappearance_counts", "survival_follow_up",
            "survival_status", "survival_sensitivity", "survival_id_coverage",
            "survival_linkage", "survival_ph_test", "survival_cohort_flow"} <= set(ids)  # fmt: skip
    write_candidates(candidates, tmp_path / "c", stage="survival")
    stage, back = read_candidates(tmp_path / "c")
    assert stage == "survival" and [c.output_id for c in back] == ids
    kinds = {c.output_id: c.kind for c in back}
    assert kinds["survival_km"] == "survival" and kinds["survival_cox"] == "model"
    thr = SdcThresholds()
    model = next(c for c in back if c.output_id == "survival_cox")
    assert model.spec["residual_df"] > 10
    assert set(model.extra["levels"].columns) >= {"term", "level", "persons", "events"}
    published = check_candidate(model, "survival", thr, tmp_path / "cox.csv")
    assert published.status == "pass"  # small levels were pooled before fitting
    for c in back:
        if c.kind == "statistics":
            assert c.data.columns == ["statistic", "value", "ci_lower", "ci_upper", "n_persons"]
        if c.kind == "frequency":
            assert c.data[c.spec["count"]].dtype == pl.Int64


def test_report_sections_render_with_published_and_with_missing_outputs(tiny_results, tmp_path):
    r, _ = tiny_results
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["survival"]
    write_candidates(sv.build_candidates(r), tmp_path / "c", stage="survival")
    disclose_stage(tmp_path / "c", tmp_path / "tables", tmp_path / "checked.json", SdcThresholds())
    views = build_views(
        read_checked(tmp_path / "checked.json", tmp_path / "tables"), tmp_path / "fig", tmp_path
    )
    env = _env()
    for suffix in ("html", "md"):
        tmpl = env.get_template(f"sections/survival.{suffix}.j2")
        page = tmpl.render(
            out=lambda i: views.get(i, OutputView(i)), cfg=cfg, ctx={"synthetic": True}
        )
        assert "Re-appearance before the courts" in page
        assert "times the rate of comparable non-SOC defendants" in page
        assert "SYNTHETIC DATA" in page
        empty = tmpl.render(out=OutputView, cfg=cfg, ctx={"synthetic": False})
        assert "The Cox model is not published" in empty
        assert "re-appearance proportions are not published" in empty


def test_config_section_builds_settings_and_rejects_bad_values():
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["survival"]
    s = sv.Settings.from_config(cfg)
    assert s.release_fraction == 0.5 and s.timing == "offence_date"
    assert s.censor_date == D("2020-01-01")
    assert s.cox.covariates == ("age_band", "sex", "ethnic_group", "offence_group",
                                "receipt_year", "region")  # fmt: skip
    with pytest.raises(sv.SurvivalConfigError):
        sv.Settings.from_config({**cfg, "fanout_rule": "largest"})
    with pytest.raises(sv.SurvivalConfigError):
        sv.Settings.from_config({**cfg, "time_at_risk": {"release_fraction": 1.5}})
    assert s.cluster == "index_case" and s.cox.ph_transform == "km" and s.cox.tolerance == 1e-9
    with pytest.raises(sv.SurvivalConfigError, match=r"survival\.cluster"):
        sv.Settings.from_config({**cfg, "cluster": "court"})
    with pytest.raises(sv.SurvivalConfigError, match="ph_transform"):
        sv.Settings.from_config({**cfg, "cox": {**cfg["cox"], "ph_transform": "sqrt"}})
