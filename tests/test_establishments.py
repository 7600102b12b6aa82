"""The establishments stage: panel construction, panel models, person-level rates."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
import statsmodels.api as sm

from socflow import schema
from socflow.establishments import (
    EstablishmentsConfigError,
    EstablishmentSettings,
    analyse,
    build_panel,
    fit_panel,
    person_rates,
    prepare_panel,
    prisoners,
    spell_months,
    with_soc,
    within_rate_ratio,
)
from socflow.establishments import models as M
from socflow.establishments.candidates import build_candidates
from socflow.survival.linking import resolve_person_ids

S = EstablishmentSettings(first_date=date(2016, 1, 1), last_date=date(2016, 12, 31))


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    canon = schema.polars_schema(table)
    return pl.DataFrame([{c: r.get(c) for c in canon} for r in rows], schema=canon)


NO_IDS = pl.DataFrame(schema={"row_id": pl.String, "person_id": pl.String})


def prison_ids(link: pl.DataFrame) -> pl.DataFrame:
    return resolve_person_ids(link, "prison")


def test_spell_months_split_days_by_month():
    spells = frame(
        "prison_establishment_spells",
        [
            # 20 Jan (incl.) to 10 Mar (excl.): 12 + 29 + 9 days (2016 is a leap year)
            {"journey_row_id": "j1", "establishment_id": "E1", "start_date": date(2016, 1, 20),
             "end_date": date(2016, 3, 10)},
            # open spell from before the panel: cut to the panel's dates
            {"journey_row_id": "j2", "establishment_id": "E2", "start_date": date(2015, 6, 1),
             "end_date": None},
        ],
    )  # fmt: skip
    got = spell_months(spells, S)
    j1 = got.filter(pl.col("journey_row_id") == "j1").sort("month")["days"].to_list()
    assert j1 == [12, 29, 9]
    j2 = got.filter(pl.col("journey_row_id") == "j2")
    assert j2.height == 12 and j2["days"].sum() == 366


def test_spells_without_an_end_stop_at_the_next_spell_or_the_release():
    spells = frame(
        "prison_establishment_spells",
        [
            # transferred on 1 Mar without a recorded end: ends where the next spell starts
            {"journey_row_id": "j1", "establishment_id": "E1", "start_date": date(2016, 1, 1)},
            {"journey_row_id": "j1", "establishment_id": "E2", "start_date": date(2016, 3, 1)},
            # no end, journey released on 11 Jun
            {"journey_row_id": "j2", "establishment_id": "E1", "start_date": date(2016, 6, 1)},
        ],
    )  # fmt: skip
    journeys = frame("prison_journeys", [
        {"row_id": "j1", "reception_date": date(2016, 1, 1), "release_date": date(2016, 4, 1)},
        {"row_id": "j2", "reception_date": date(2016, 6, 1), "release_date": date(2016, 6, 11)},
    ])  # fmt: skip
    who = prisoners(journeys, NO_IDS)
    got = (
        spell_months(spells, S, who)
        .group_by("journey_row_id", "establishment_id")
        .agg(pl.col("days").sum())
    )
    days = {(r["journey_row_id"], r["establishment_id"]): r["days"] for r in got.to_dicts()}
    assert days == {("j1", "E1"): 31 + 29, ("j1", "E2"): 31, ("j2", "E1"): 10}


def test_panel_shares_and_counts():
    spells = frame(
        "prison_establishment_spells",
        [
            {"journey_row_id": "j1", "establishment_id": "E1", "start_date": date(2016, 1, 1),
             "end_date": date(2016, 2, 1)},
            {"journey_row_id": "j2", "establishment_id": "E1", "start_date": date(2016, 1, 1),
             "end_date": date(2016, 1, 11)},
            {"journey_row_id": "j3", "establishment_id": "E1", "start_date": date(2016, 1, 1),
             "end_date": date(2016, 1, 21)},
        ],
    )  # fmt: skip
    journeys = frame("prison_journeys", [{"row_id": j, "reception_date": date(2016, 1, 1)}
                                         for j in ("j1", "j2", "j3")])  # fmt: skip
    link = frame(
        "xjs_link",
        [{"source_dataset": "prison", "row_id": j, "person_id": p} for j, p in (("j1", "p1"),
                                                                                ("j2", "p2"))],
    )  # fmt: skip
    cohort = pl.DataFrame({"person_id": ["p1", "p2"], "soc": [True, False]})
    incidents = frame(
        "prison_incidents",
        [
            # one incident with two prisoners counts once at the establishment
            {"incident_id": "i1", "journey_row_id": "j1", "establishment_id": "E1",
             "incident_date": date(2016, 1, 5), "incident_type": "assault"},
            {"incident_id": "i1", "journey_row_id": "j2", "establishment_id": "E1",
             "incident_date": date(2016, 1, 5), "incident_type": "assault"},
            {"incident_id": "i2", "journey_row_id": "j3", "establishment_id": "E1",
             "incident_date": date(2016, 1, 7), "incident_type": "drugs_find"},
            {"incident_id": "i3", "journey_row_id": "j3", "establishment_id": "E1",
             "incident_date": date(2017, 1, 7), "incident_type": "drugs_find"},
        ],
    )  # fmt: skip
    parts = prepare_panel(spells, incidents, journeys, prison_ids(link), S)
    soc_prisoners = with_soc(parts.prisoners, cohort)
    # j3 has no person ID: a prisoner of its own, non-SOC
    j3 = soc_prisoners.filter(pl.col("prisoner") == "journey:j3")
    assert j3["soc"].to_list() == [False] and j3["person_id"].to_list() == [None]
    panel = build_panel(parts, soc_prisoners, S)
    row = panel.row(0, named=True)
    assert row["prisoner_days"] == 31 + 10 + 20
    assert row["soc_share"] == pytest.approx(31 / 61)
    assert (row["n_assault"], row["n_drugs_find"], row["n_self_harm"]) == (1, 1, 0)


def simulate_panel(seed: int, rr10: float, n_est: int = 40, n_months: int = 72) -> pl.DataFrame:
    """Establishment-months with NB2 counts: rate = FE_est * FE_month * rr10^(share/10pp)."""
    rng = np.random.default_rng(seed)
    est = np.repeat(np.arange(n_est), n_months)
    month = np.tile(np.arange(n_months), n_est)
    base_share = rng.uniform(0.02, 0.25, n_est)
    share = np.clip(base_share[est] + rng.normal(0, 0.04, est.size), 0, 1)
    days = rng.integers(8_000, 30_000, est.size)
    est_fe = rng.normal(0, 0.4, n_est)[est] + 10 * base_share[est]  # share confounded by FE
    month_fe = np.sin(month / 6.0)[month] * 0.2
    mu = days / 1000 * 0.8 * np.exp(est_fe + month_fe) * rr10 ** (share * 10)
    alpha = 0.15
    y = rng.poisson(rng.gamma(1 / alpha, alpha * mu))
    months = [date(2015 + m // 12, m % 12 + 1, 1) for m in month]
    return pl.DataFrame({
        "establishment_id": [f"E{e:02d}" for e in est], "month": months,
        "prisoner_days": days, "soc_share": share, "n_drugs_find": y,
    })  # fmt: skip


@pytest.mark.parametrize("planted", [1.15, 1.0])
def test_panel_models_recover_planted_rate_ratio(planted):
    panel = simulate_panel(5, planted)
    poisson, nb = fit_panel(panel, "drugs_find", S)
    for f in (poisson, nb):
        assert f.error == ""
        assert f.ci_lower < planted < f.ci_upper, f
        assert f.n_clusters == 40
    assert nb.alpha == pytest.approx(0.15, rel=0.3)


def test_person_rates_recover_rate_ratio():
    rng = np.random.default_rng(9)
    n = 20_000
    soc = rng.random(n) < 0.1
    days = rng.integers(30, 2_000, n)
    rate = np.where(soc, 1.8, 1.0) * 2.0 / 1000 * rng.gamma(2.0, 0.5, n)
    exposure = pl.DataFrame({"prisoner": [str(i) for i in range(n)], "prisoner_days": days,
                             "soc": soc, "n_assault": rng.poisson(rate * days)})  # fmt: skip
    r = person_rates(exposure, "assault", S)
    assert r.rate_ratio_ci[0] < 1.8 < r.rate_ratio_ci[1]
    assert r.rate_non_soc_ci[0] < 2.0 < r.rate_non_soc_ci[1]


def test_no_prison_tables_no_error():
    """Absent spells and incidents read as empty tables: an empty panel, unfitted models,
    and outputs that say nothing about any establishment."""
    empty = {t: frame(t, []) for t in ("prison_establishment_spells", "prison_incidents",
                                       "prison_journeys", "xjs_link")}  # fmt: skip
    cohort = pl.DataFrame({"person_id": ["p1"], "soc": [True]})
    parts = prepare_panel(
        empty["prison_establishment_spells"], empty["prison_incidents"],
        empty["prison_journeys"], prison_ids(empty["xjs_link"]), S,
    )  # fmt: skip
    panel, exposure, fits, rates = analyse(parts, cohort, S)
    assert panel.height == 0 and exposure.height == 0
    assert all(f.rate_ratio is None and f.error for f in fits)
    cands = build_candidates(panel, exposure, fits, rates, S)
    assert [c.output_id for c in cands] == [
        "establishments_panel", "establishments_models", "establishments_person_rates",
    ]  # fmt: skip


def test_unknown_incident_type_is_refused():
    with pytest.raises(EstablishmentsConfigError, match="riot"):
        EstablishmentSettings(incident_types=("assault", "riot"))


def test_within_establishment_month_ratio_sets_aside_where_soc_prisoners_are_held():
    """SOC prisoners held where incidents are frequent: the crude ratio is inflated, the ratio
    within establishment-months recovers the planted one."""
    rng = np.random.default_rng(4)
    n_est, n_month = 30, 48
    est = np.repeat(np.arange(n_est), n_month)
    level = rng.normal(0, 0.6, n_est)
    share = 1 / (1 + np.exp(-(level - 1.5)))  # more SOC prisoners where rates are high
    days = rng.integers(5_000, 15_000, est.size)
    days_soc = (days * share[est]).astype(int)
    days_other = days - days_soc
    base = 2e-3 * np.exp(level[est]) * rng.gamma(5, 0.2, est.size)
    planted = 1.6
    strata = pl.DataFrame({
        "establishment_id": [f"E{e}" for e in est], "month": np.arange(est.size),
        "days_soc": days_soc, "days_other": days_other,
        "n_drugs_find_soc": rng.poisson(base * planted * days_soc),
        "n_drugs_find_other": rng.poisson(base * days_other),
    })  # fmt: skip
    _, (lo, hi), n = within_rate_ratio(strata, "drugs_find", S)
    assert lo < planted < hi and n > 1000
    crude = (strata["n_drugs_find_soc"].sum() / strata["days_soc"].sum()) / (
        strata["n_drugs_find_other"].sum() / strata["days_other"].sum()
    )
    assert crude > hi  # confounded by where SOC prisoners are held


def _dense_reference(panel: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The dense design as the models built it before: share, dummies, constant."""
    rows = panel.filter(pl.col("prisoner_days") > 0)
    share = (rows["soc_share"].to_numpy() * 100.0 / S.share_step_points)[:, None]
    est = np.unique(rows["establishment_id"].to_numpy(), return_inverse=True)
    per = np.unique(rows["month"].dt.strftime("%Y-%m").to_numpy(), return_inverse=True)
    est_dum = (est[1][:, None] == np.arange(1, len(est[0]))[None, :]).astype(float)
    per_dum = (per[1][:, None] == np.arange(1, len(per[0]))[None, :]).astype(float)
    return np.hstack([share, est_dum, per_dum, np.ones((rows.height, 1))]), est[1]


def test_sparse_design_equals_the_dense_one():
    panel = simulate_panel(3, 1.1)
    x, clusters = M.design(panel, S)
    dense, est = _dense_reference(panel)
    assert isinstance(x, sp.csr_array)
    np.testing.assert_array_equal(x.toarray(), dense)
    np.testing.assert_array_equal(clusters, est)


@pytest.mark.parametrize("alpha", [0.0, 0.15])
def test_fit_equals_statsmodels_glm(alpha):
    """Poisson: statsmodels' estimate to 1e-10 relative (both at the maximum). NB2: statsmodels'
    Fisher scoring stops about 1e-9 from the maximum, the Newton steps at it: 1e-7 relative on
    the coefficients, and the score at least as small as statsmodels'."""
    panel = simulate_panel(4, 1.15)
    x, clusters = M.design(panel, S)
    rows = panel.filter(pl.col("prisoner_days") > 0)
    y = rows["n_drugs_find"].to_numpy().astype(float)
    offset = np.log(rows["prisoner_days"].to_numpy().astype(float))
    family = sm.families.NegativeBinomial(alpha=alpha) if alpha else sm.families.Poisson()
    ref = sm.GLM(y, x.toarray(), family=family, offset=offset).fit(
        scale=1.0, maxiter=200, tol=1e-12
    )
    fit = M.fit_log_linear(x, y, offset, alpha)
    assert fit.converged
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-10 if not alpha else 1e-7)

    def score(mu: np.ndarray) -> float:
        return float(np.abs(x.T @ ((y - mu) / (1 + alpha * mu))).max())

    assert score(fit.mu) <= max(score(np.asarray(ref.fittedvalues)), 1e-9)
    # The clustered covariance from sparse products equals the dense formula.
    mu = fit.mu
    xd = x.toarray()
    bread = np.linalg.inv((xd.T * (mu / (1 + alpha * mu))) @ xd)
    scores = xd * ((y - mu) / (1 + alpha * mu))[:, None]
    sums = np.zeros((clusters.max() + 1, xd.shape[1]))
    np.add.at(sums, clusters, scores)
    n, k, g = xd.shape[0], xd.shape[1], sums.shape[0]
    dense = g / (g - 1) * (n - 1) / (n - k) * bread @ (sums.T @ sums) @ bread
    np.testing.assert_allclose(M.clustered_covariance(x, y, mu, clusters, alpha), dense,
                               rtol=1e-9, atol=1e-14)  # fmt: skip


def test_singular_design_is_a_reported_failure():
    """Share collinear with the period effects (one establishment): the fit fails, reported."""
    panel = simulate_panel(2, 1.0).filter(pl.col("establishment_id") == "E00")
    fits = M.fit_panel(panel, "drugs_find", S)
    assert all(f.rate_ratio is None for f in fits)
    assert "LinAlgError" in fits[0].error


def test_person_rates_closed_form_equals_statsmodels_glm():
    """The closed form equals the Poisson GLM with HC0 errors it replaces, to 1e-10."""
    rng = np.random.default_rng(3)
    n = 5_000
    soc = rng.random(n) < 0.2
    days = rng.integers(30, 2_000, n)
    y = rng.poisson(np.where(soc, 1.5, 1.0) * 2.0 / 1000 * days * rng.gamma(2.0, 0.5, n))
    exposure = pl.DataFrame({"prisoner": [str(i) for i in range(n)], "prisoner_days": days,
                             "soc": soc, "n_assault": y})  # fmt: skip
    r = person_rates(exposure, "assault", S)
    x = np.column_stack([np.ones(n), soc.astype(float)])
    ref = sm.GLM(y.astype(float), x, family=sm.families.Poisson(), offset=np.log(days)).fit(
        cov_type="HC0", tol=1e-10
    )
    b, v = ref.params, ref.cov_params()
    z = 1.959963984540054
    rel = 1e-10
    assert r.rate_ratio == pytest.approx(np.exp(b[1]), rel=rel)
    assert r.rate_ratio_ci[0] == pytest.approx(np.exp(b[1] - z * np.sqrt(v[1, 1])), rel=rel)
    assert r.rate_non_soc == pytest.approx(1000 * np.exp(b[0]), rel=rel)
    assert r.rate_non_soc_ci[1] == pytest.approx(
        1000 * np.exp(b[0] + z * np.sqrt(v[0, 0])), rel=rel
    )
    var_soc = v[0, 0] + v[1, 1] + 2 * v[0, 1]
    assert r.rate_soc == pytest.approx(1000 * np.exp(b[0] + b[1]), rel=rel)
    assert r.rate_soc_ci[0] == pytest.approx(
        1000 * np.exp(b[0] + b[1] - z * np.sqrt(var_soc)), rel=rel
    )


def test_within_rate_ratio_equals_statsmodels_clustered_logit():
    """The intercept-only logit by Newton steps equals statsmodels' GLM with cluster errors."""
    rng = np.random.default_rng(4)
    n = 600
    est = [f"E{e:02d}" for e in rng.integers(0, 30, n)]
    days_soc, days_other = rng.integers(50, 900, n), rng.integers(2_000, 9_000, n)
    rate = 3.0 / 1000 * rng.gamma(3.0, 1 / 3.0, n)
    strata = pl.DataFrame({
        "establishment_id": est, "days_soc": days_soc, "days_other": days_other,
        "n_assault_soc": rng.poisson(1.4 * rate * days_soc),
        "n_assault_other": rng.poisson(rate * days_other),
    })  # fmt: skip
    ratio, (lo, hi), used = within_rate_ratio(strata, "assault", S)
    rows = strata.filter(pl.col("n_assault_soc") + pl.col("n_assault_other") > 0)
    s_, o_ = rows["n_assault_soc"].to_numpy(), rows["n_assault_other"].to_numpy()
    ref = sm.GLM(np.column_stack([s_, o_]).astype(float), np.ones((rows.height, 1)),
                 family=sm.families.Binomial(),
                 offset=np.log(rows["days_soc"].to_numpy() / rows["days_other"].to_numpy()),
                 ).fit(cov_type="cluster", tol=1e-10, cov_kwds={
                     "groups": np.unique(rows["establishment_id"].to_numpy(),
                                         return_inverse=True)[1]})  # fmt: skip
    b, se = ref.params[0], ref.bse[0]
    assert used == rows.height
    assert ratio == pytest.approx(np.exp(b), rel=1e-10)
    assert lo == pytest.approx(np.exp(b - 1.959963984540054 * se), rel=1e-10)
    assert hi == pytest.approx(np.exp(b + 1.959963984540054 * se), rel=1e-10)
