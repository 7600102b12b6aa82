"""Aim 3 models: known answers, parameter recovery, small levels, separation, candidates."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
from statsmodels.base.model import LikelihoodModel
from statsmodels.tools.sm_exceptions import ConvergenceWarning as SmConvergenceWarning

from socflow import model as M
from socflow.disclose import check_candidate, disclose_stage, read_checked
from socflow.figures import draw_stage
from socflow.outputs import read_candidates, write_candidates
from socflow.report import OutputView, _env, _fmt, build_views
from socflow.sdc import check_model


@pytest.fixture(scope="module")
def settings(config) -> M.ModelSettings:
    return M.ModelSettings.from_config(config["model"], config["sdc"])


@pytest.fixture(scope="module")
def tiny_run(tiny_canonical, settings) -> M.ModelRun:
    return M.run_models(tiny_canonical["crown_defendant_cases"], tiny_canonical["flags"], settings)


# ---------------------------------------------------------------------------------------------
# Configuration


def test_formula_parsing():
    assert M.parse_formula("outcome ~ soc + age_band + region") == ("soc", "age_band", "region")
    for bad in ("soc + region", "y ~ soc", "outcome ~ soc * region", "outcome ~ region",
                "outcome ~ soc + soc", "outcome ~ C(soc)"):  # fmt: skip
        with pytest.raises(M.ModelConfigError):
            M.parse_formula(bad)


def test_settings_refuse_overlapping_or_unknown_outcomes(config):
    cfg = config["model"]
    overlap = {**cfg, "outcomes": {**cfg["outcomes"], "dismissed": ["dismissed", "withdrawn"]}}
    with pytest.raises(M.ModelConfigError, match="withdrawn"):
        M.ModelSettings.from_config(overlap, config["sdc"])
    unknown = {**cfg, "outcomes": {**cfg["outcomes"], "neither": ["lie_on_the_file"]}}
    with pytest.raises(M.ModelConfigError, match="lie_on_the_file"):
        M.ModelSettings.from_config(unknown, config["sdc"])
    with pytest.raises(ValueError):  # the SDC minimum cannot be loosened through the model
        M.ModelSettings.from_config(cfg, {**config["sdc"], "min_level_events": 5})


def test_default_outcome_sets_match_the_planted_outcome(settings, tiny_canonical):
    truth = tiny_canonical["truth_summary"]
    assert set(settings.outcome_sets()["either"]) == set(
        truth["discontinued_or_dismissed_outcomes"]
    )
    assert "lie_on_file" in settings.neither


# ---------------------------------------------------------------------------------------------
# Population


def test_population_is_trial_defendant_cases_and_every_row_is_accounted_for(
    tiny_canonical, settings, tiny_run
):
    crown = tiny_canonical["crown_defendant_cases"]
    pop, excl = tiny_run.population, tiny_run.exclusions
    assert pop.height + excl["defendant_cases"].sum() == crown.height
    assert pop["defendant_on_case_id"].is_unique().all()
    trial = crown.filter(pl.col("receipt_type") == "trial")
    assert set(pop["defendant_on_case_id"]) == set(trial["defendant_on_case_id"])
    by_reason = dict(zip(excl["reason"], excl["defendant_cases"], strict=True))
    assert by_reason == {
        "receipt type outside the population: sentence": int(
            (crown["receipt_type"] == "sentence").sum()
        ),
        "receipt type outside the population: appeal": int(
            (crown["receipt_type"] == "appeal").sum()
        ),
    }
    sets = settings.outcome_sets()
    for key in M.OUTCOME_KEYS:
        assert (pop[key] == pop["outcome"].is_in(list(sets[key]))).all()
    assert (pop["either"] == (pop["discontinued"] | pop["dismissed"])).all()
    assert not pop.filter(pl.col("outcome") == "lie_on_file")["either"].any()
    assert set(pop["soc"]) == {M.SOC_YES, M.SOC_NO}
    assert {"soc__offence_only", "soc__likely_tier"} <= set(pop.columns)


def test_population_from_the_columns_read_equals_the_whole_tables(
    tiny_canonical, settings, tmp_path
):
    crown, flags = tiny_canonical["crown_defendant_cases"], tiny_canonical["flags"]
    crown.write_parquet(tmp_path / "crown.parquet")
    flags.write_parquet(tmp_path / "flags.parquet")
    some_crown, some_flags = M.read_inputs(
        tmp_path / "crown.parquet", tmp_path / "flags.parquet", settings
    )
    assert some_crown.width < crown.width
    whole = M.build_population(crown, flags, settings)
    read = M.build_population(some_crown, some_flags, settings)
    assert whole[0].equals(read[0]) and whole[1].equals(read[1])


def test_excluded_outcomes_and_missing_values_are_counted(tiny_canonical, config):
    cfg = {**config["model"], "population": {"receipt_types": ["trial"],
                                             "exclude_outcomes": ["admin_finalised"]}}  # fmt: skip
    settings = M.ModelSettings.from_config(cfg, config["sdc"])
    crown = tiny_canonical["crown_defendant_cases"]
    flags = tiny_canonical["flags"]
    first = crown.filter(pl.col("receipt_type") == "trial")["defendant_on_case_id"][0]
    crown = crown.with_columns(
        pl.when(pl.col("defendant_on_case_id") == first).then(None).otherwise(pl.col("age_band"))
        .alias("age_band")
    )  # fmt: skip
    pop, excl = M.build_population(crown, flags, settings)
    reasons = dict(zip(excl["reason"], excl["defendant_cases"], strict=True))
    admin = crown.filter(
        (pl.col("receipt_type") == "trial") & (pl.col("outcome") == "admin_finalised")
    )
    assert reasons["outcome excluded by configuration: admin_finalised"] == admin.height > 0
    assert reasons["missing value: age_band"] == 1
    assert pop.height + sum(reasons.values()) == crown.height
    assert first not in set(pop["defendant_on_case_id"])


# ---------------------------------------------------------------------------------------------
# Known answer: Spector & Mazzeo (1980), Greene's published logit


def _spector(settings):
    data = sm.datasets.spector.load_pandas()
    x = sp.csr_matrix(sm.add_constant(data.exog[["GPA", "TUCE", "PSI"]]).to_numpy())
    names = [(M.INTERCEPT, ""), ("GPA", ""), ("TUCE", ""), ("PSI", "1")]
    s = dataclasses.replace(settings, numeric_terms=("GPA", "TUCE"))
    return data, x, names, s


def test_spector_known_answer(settings):
    data, x, names, s = _spector(settings)
    y = data.endog.to_numpy()
    clusters = np.arange(len(y))  # every student a cluster: heteroskedasticity-robust
    fit = M.fit_logit(y, x, names, clusters, "PSI", s)
    assert fit.ok and fit.converged, fit.messages
    # Greene, Econometric Analysis, table 21.1: logit coefficients.
    np.testing.assert_allclose(fit.params, [-13.0213, 2.82611, 0.0951577, 2.37869], rtol=1e-4)
    np.testing.assert_allclose(fit.llf, -12.8896, rtol=1e-4)
    assert fit.prsquared == pytest.approx(0.374, abs=1e-3)
    # Standard errors and marginal effect: statsmodels' own dense Logit, same clusters.
    ref = sm.Logit(y, x.toarray()).fit(
        disp=False, cov_type="cluster", cov_kwds={"groups": clusters}
    )
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-6)
    np.testing.assert_allclose(fit.aic, ref.aic, rtol=1e-9)
    margeff = ref.get_margeff(at="overall", dummy=True)
    ame, lo, hi = fit.ame
    assert ame == pytest.approx(margeff.margeff[2], rel=1e-6)
    assert (hi - lo) / (2 * 1.959964) == pytest.approx(margeff.margeff_se[2], rel=1e-4)


def test_patterns_give_the_same_fit_as_rows(settings):
    rng = np.random.default_rng(3)
    frame = pl.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], 3000),
            "b": rng.choice(["p", "q"], 3000),
            "soc": rng.choice([M.SOC_YES, M.SOC_NO], 3000),
        }
    )
    blocks = [
        M.design_block(frame, "soc", M.SOC_NO),
        M.design_block(frame, "a", "x"),
        M.design_block(frame, "b", "p"),
    ]
    x, names = M.stack_blocks(frame.height, blocks)
    eta = -1.0 + x @ np.array([0.0, 0.5, 0.3, -0.2, 0.4])
    y = (rng.random(frame.height) < 1 / (1 + np.exp(-eta))).astype(float)
    clusters = rng.integers(0, 30, frame.height)
    patterns = M.pattern_index(blocks)
    assert patterns.max() + 1 == 12  # 2 x 3 x 2 covariate patterns
    by_rows = M.fit_logit(y, x, names, clusters, "soc", settings)
    by_patterns = M.fit_logit(y, x, names, clusters, "soc", settings, patterns=patterns)
    np.testing.assert_allclose(by_patterns.params, by_rows.params, rtol=1e-8)
    np.testing.assert_allclose(by_patterns.bse, by_rows.bse, rtol=1e-8)
    assert by_patterns.llf == pytest.approx(by_rows.llf, rel=1e-10)


def _clustered_problem(seed: int = 11, n: int = 4000):
    """A design with categorical terms, an outcome drawn from it and 40 clusters."""
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "soc": rng.choice([M.SOC_YES, M.SOC_NO], n, p=[0.3, 0.7]),
            "a": rng.choice(["x", "y", "z", "w"], n),
            "b": rng.choice(["p", "q"], n),
        }
    )
    blocks = [
        M.design_block(frame, "soc", M.SOC_NO),
        M.design_block(frame, "a", "x"),
        M.design_block(frame, "b", "p"),
    ]
    x, names = M.stack_blocks(n, blocks)
    eta = -1.2 + x @ np.array([0.0, 0.6, 0.3, -0.2, 0.5, 0.25])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return x, names, y, rng.integers(0, 40, n), M.pattern_index(blocks)


def test_fit_matches_statsmodels_dense_clustered_logit(settings):
    """Newton steps, clustered covariance, inference and AIC from the sparse design agree with
    statsmodels' own `Logit` on the dense design to 1e-12 relative (only the order of the
    floating-point sums differs)."""
    x, names, y, clusters, patterns = _clustered_problem()
    fit = M.fit_logit(y, x, names, clusters, "soc", settings, patterns=patterns)
    assert fit.ok and fit.converged, fit.messages
    p0 = y.mean()
    start = np.r_[math.log(p0 / (1 - p0)), np.zeros(x.shape[1] - 1)]
    ref = sm.Logit(y, x.toarray()).fit(
        start_params=start, disp=False, cov_type="cluster", cov_kwds={"groups": clusters}
    )
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-12)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-12)
    np.testing.assert_allclose(fit.pvalues, ref.pvalues, rtol=1e-10)
    alpha = 1 - settings.confidence_level
    np.testing.assert_allclose(fit.conf, ref.conf_int(alpha=alpha), rtol=1e-12, atol=1e-14)
    assert fit.llf == pytest.approx(ref.llf, rel=1e-13)
    assert fit.aic == pytest.approx(ref.aic, rel=1e-13)
    assert (fit.df_resid, fit.nobs, fit.iterations) == (
        ref.df_resid,
        ref.nobs,
        ref.mle_retvals["iterations"],
    )


def test_cluster_covariance_matches_statsmodels_sandwich():
    x, _, y, clusters, _ = _clustered_problem(seed=12)
    ref = sm.Logit(y, x.toarray()).fit(
        disp=False, cov_type="cluster", cov_kwds={"groups": clusters}
    )
    p = 1 / (1 + np.exp(-(x @ ref.params)))
    hessian = sm.Logit(y, x.toarray()).hessian(ref.params)
    cov = M.cluster_covariance(x, y - p, clusters, hessian)
    np.testing.assert_allclose(cov, ref.cov_params(), rtol=1e-11, atol=1e-16)
    # The per-cluster score sums, against a plain loop over clusters.
    sums = M.cluster_score_sums(x, y - p, clusters)
    dense = x.toarray() * (y - p)[:, None]
    expected = np.array([dense[clusters == g].sum(axis=0) for g in range(40)])
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)


def test_cluster_codes_number_clusters_as_np_unique_does():
    rng = np.random.default_rng(14)
    for clusters in (
        rng.integers(1, 60, 5000).astype(np.uint32),  # dense ranks, as the stage passes them
        rng.integers(-5, 5, 5000),
        rng.choice(["c01", "c10", "c02"], 5000),
        np.array([10**12, 3, 3, 10**12]),
    ):
        expected = np.unique(clusters, return_inverse=True)[1].ravel()
        np.testing.assert_array_equal(M.cluster_codes(clusters), expected)


def test_sparse_logit_keeps_no_dense_design():
    x, _, y, _, patterns = _clustered_problem(seed=13)
    model = M.SparseLogit(y, M.collapse_patterns(x, y, patterns))
    assert sp.issparse(model._xu) and sp.issparse(model._xut)
    assert model._xu.shape == (patterns.max() + 1, x.shape[1])
    dense = [v for v in vars(model).values() if isinstance(v, np.ndarray) and v.ndim > 1]
    assert not dense


class _StatsmodelsSparseLogit(LikelihoodModel):
    """The sparse logit's likelihood and derivatives handed to statsmodels' own optimiser."""

    def __init__(self, sparse: M.SparseLogit):
        super().__init__(sparse.endog)
        self.sparse = sparse

    def loglike(self, params):
        return self.sparse.loglike(params)

    def score(self, params):
        return self.sparse.score(params)

    def hessian(self, params):
        return self.sparse.hessian(params)


@pytest.mark.parametrize(
    ("seed", "maxiter", "start"), [(13, 100, None), (14, 100, "near"), (15, 2, None)]
)
def test_newton_equals_statsmodels_optimiser_bit_for_bit(seed, maxiter, start):
    """`fit_newton` is statsmodels' `fit(method="newton")`: the same estimate to the bit, the
    same number of steps and convergence flag, and its warning when the steps run out."""
    x, _, y, _, patterns = _clustered_problem(seed=seed)
    model = M.SparseLogit(y, M.collapse_patterns(x, y, patterns))
    start_params = np.zeros(x.shape[1])
    start_params[0] = math.log(y.mean() / (1 - y.mean()))
    if start == "near":
        start_params = np.array([-1.1, 0.5, 0.3, -0.1, 0.4, 0.2])
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        fit = model.fit_newton(start_params, maxiter)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        ref = _StatsmodelsSparseLogit(model).fit(
            start_params=start_params, method="newton", maxiter=maxiter, disp=False
        )
    np.testing.assert_array_equal(fit.params, ref.params)
    assert fit.iterations == ref.mle_retvals["iterations"]
    assert fit.converged == ref.mle_retvals["converged"] == (maxiter == 100)
    np.testing.assert_array_equal(fit.hessian, model.hessian(ref.params))
    assert [(w.category.__name__, str(w.message)) for w in ours] == [
        (w.category.__name__, str(w.message))
        for w in theirs
        if issubclass(w.category, SmConvergenceWarning)
    ]


def _blocks(seed: int, n: int = 3000) -> tuple[list, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "soc": rng.choice([M.SOC_YES, M.SOC_NO], n),
            "a": rng.choice(["x", "y", "z"], n),
            "b": rng.choice(["p", "q", "r", "s"], n),
        }
    )
    blocks = [
        M.design_block(frame, "soc", M.SOC_NO),
        M.design_block(frame, "a", "x"),
        M.design_block(frame, "b", "p"),
    ]
    return blocks, (rng.random(n) < 0.3).astype(float)


def test_patterns_extended_by_the_soc_block_match_patterns_of_all_blocks():
    blocks, _ = _blocks(21)
    n = len(blocks[0].codes)
    for rest in (blocks[1:], blocks[2:], []):
        shared = M.covariate_patterns(rest, n)
        np.testing.assert_array_equal(
            M.with_leading_block(blocks[0], shared), M.pattern_index([blocks[0], *rest])
        )
    numeric = M.Block(sp.csr_matrix(np.ones((n, 1))), [("v", "")], None)
    assert M.with_leading_block(blocks[0], M.covariate_patterns([numeric], n)) is None


def test_design_from_pattern_rows_equals_the_collapsed_full_design(settings):
    """The pieces (patterns shared across SOC definitions, one row per pattern stacked) give
    the same design, and the same fit bit for bit, as stacking every row and collapsing."""
    blocks, y = _blocks(22)
    patterns = M.pattern_index(blocks)
    x, names = M.stack_blocks(len(y), blocks)
    whole = M.collapse_patterns(x, y, patterns)
    pieces, piece_names = M.blocks_pattern_design(blocks, y, patterns)
    assert piece_names == names
    assert (whole.matrix != pieces.matrix).nnz == 0
    np.testing.assert_array_equal(whole.rows, pieces.rows)
    np.testing.assert_array_equal(whole.events, pieces.events)
    clusters = np.arange(len(y)) % 25
    a = M.fit_logit(y, x, names, clusters, "soc", settings, patterns=patterns)
    b = M.fit_patterns(y, pieces, names, clusters, "soc", settings)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.bse, b.bse)
    # Every row its own pattern: the same estimates to rounding.
    by_rows = M.fit_logit(y, x, names, clusters, "soc", settings)
    np.testing.assert_allclose(by_rows.params, a.params, rtol=1e-10)
    np.testing.assert_allclose(by_rows.bse, a.bse, rtol=1e-10)
    np.testing.assert_allclose(by_rows.ame, a.ame, rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# Parameter recovery on data with a known logistic model


def _simulated_population(seed: int, n: int, n_courts: int, odds_ratio: float) -> pl.DataFrame:
    """Defendant-cases with a planted logistic model: SOC, an unordered and an ordered term,
    and court-level random intercepts (what the clustered standard errors are for)."""
    rng = np.random.default_rng(seed)
    court = rng.integers(0, n_courts, n)
    group = rng.choice(["theft", "drugs", "violence"], n, p=[0.5, 0.3, 0.2])
    year = rng.choice(["2014", "2015", "2016", "2017"], n)
    soc = rng.random(n) < np.where(group == "drugs", 0.45, 0.15)  # SOC confounded with group
    eta = (
        -2.0
        + math.log(odds_ratio) * soc
        + np.select([group == "drugs", group == "violence"], [-0.3, 0.4], 0.0)
        + 0.1 * (year.astype(int) - 2014)
        + rng.normal(0, 0.2, n_courts)[court]
    )
    event = rng.random(n) < 1 / (1 + np.exp(-eta))
    return pl.DataFrame(
        {
            "defendant_on_case_id": np.arange(n).astype(str),
            "person": np.arange(n).astype(np.uint32),
            "cluster": court.astype(str),
            "court_id": court.astype(str),
            "outcome": np.where(event, "discontinued", "guilty_plea"),
            "either": event,
            "soc": np.where(soc, M.SOC_YES, M.SOC_NO),
            "offence_group": group,
            "receipt_year": year,
        }
    )


@pytest.fixture(scope="module")
def sim_settings(settings) -> M.ModelSettings:
    return dataclasses.replace(
        settings,
        adjusted=("soc", "offence_group", "receipt_year"),
        ordered_terms=("receipt_year",),
    )


def test_recovers_a_planted_odds_ratio(sim_settings):
    pop = _simulated_population(seed=11, n=60_000, n_courts=60, odds_ratio=1.6)
    prepared = M.prepare_outcome(pop, "either", sim_settings)
    adjusted = M.fit_model(prepared, "adjusted", sim_settings)
    unadjusted = M.fit_model(prepared, "unadjusted", sim_settings)
    soc = adjusted.soc_row().row(0, named=True)
    assert soc["ci_lower"] < 1.6 < soc["ci_upper"]
    assert abs(math.log(soc["odds_ratio"]) - math.log(1.6)) < 0.08
    # SOC is more common among drug cases, which are less often discontinued: the unadjusted
    # odds ratio is confounded downwards, and adjustment removes the bias.
    assert unadjusted.soc_row()["odds_ratio"][0] < soc["odds_ratio"]
    fe = M.fit_model(prepared, "court_fe", sim_settings, start=M._start(adjusted))
    assert fe.fit.ok and fe.soc_row()["ci_lower"][0] < 1.6 < fe.soc_row()["ci_upper"][0]


def test_term_order_of_the_formula_does_not_matter(sim_settings):
    pop = _simulated_population(seed=12, n=5000, n_courts=25, odds_ratio=1.6)
    first = M.fit_model(M.prepare_outcome(pop, "either", sim_settings), "adjusted", sim_settings)
    s = dataclasses.replace(sim_settings, adjusted=("offence_group", "soc", "receipt_year"))
    later = M.fit_model(M.prepare_outcome(pop, "either", s), "adjusted", s)
    assert later.soc_row()["odds_ratio"][0] == pytest.approx(first.soc_row()["odds_ratio"][0])


def test_clustered_intervals_have_their_nominal_coverage(sim_settings):
    covered = []
    for seed in range(40):
        pop = _simulated_population(seed=100 + seed, n=3000, n_courts=40, odds_ratio=1.6)
        r = M.fit_model(M.prepare_outcome(pop, "either", sim_settings), "adjusted", sim_settings)
        row = r.soc_row().row(0, named=True)
        covered.append(row["ci_lower"] < 1.6 < row["ci_upper"])
    assert 0.85 <= np.mean(covered) <= 1.0


def test_tiny_world_recovers_the_planted_odds_ratio(tiny_run, tiny_canonical):
    """The tiny world has about 150 events: the interval is wide, but it must cover the truth."""
    planted = tiny_canonical["truth_summary"]["planted_odds_ratio_soc_discontinued_or_dismissed"]
    r = tiny_run.get("either", "adjusted")
    assert r.fit.ok and r.fit.converged
    row = r.soc_row().row(0, named=True)
    assert row["ci_lower"] < planted < row["ci_upper"]
    assert math.log(row["ci_upper"] / row["ci_lower"]) < 3.5  # finite, not a separated fit


# ---------------------------------------------------------------------------------------------
# Small levels, separation, convergence, collinearity


def _levels_frame(spec: dict[str, tuple[int, int]]) -> pl.DataFrame:
    """One row per person: `spec` maps level -> (persons, of whom with the event)."""
    rows = []
    for level, (persons, events) in spec.items():
        rows += [(level, i < events) for i in range(persons)]
    return pl.DataFrame(rows, schema={"term": pl.String, "event": pl.Boolean}, orient="row")\
        .with_row_index("person")  # fmt: skip


def test_small_unordered_levels_are_pooled(settings):
    frame = _levels_frame({"A": (200, 50), "B": (100, 30), "C": (12, 6), "D": (12, 6)})
    plan = M.plan_levels(frame, "term", "event", settings, ordered=False)
    assert plan.mapping == {"A": "A", "B": "B", "C": "Other", "D": "Other"}
    # A pool still too small takes in the next-smallest level (never the largest).
    frame = _levels_frame({"A": (200, 50), "B": (100, 30), "C": (12, 6)})
    plan = M.plan_levels(frame, "term", "event", settings, ordered=False)
    assert plan.mapping == {"A": "A", "B": "Other", "C": "Other"}
    # Counted, not named: a note must not say which levels (courts, offences) were small.
    assert "1 too-small level(s)" in plan.messages[0] and "together with 1 more" in plan.messages[0]
    assert "B" not in plan.messages[0] and "C" not in plan.messages[0]


def test_small_ordered_levels_merge_with_neighbours(settings):
    frame = _levels_frame(
        {"2010": (5, 2), "2011": (100, 30), "2012": (100, 30), "2013": (100, 30), "2014": (8, 1)}
    )
    plan = M.plan_levels(frame, "term", "event", settings, ordered=True)
    assert plan.mapping == {
        "2010": "2010 to 2011", "2011": "2010 to 2011", "2012": "2012",
        "2013": "2013 to 2014", "2014": "2013 to 2014",
    }  # fmt: skip


def test_every_published_level_passes_the_disclosure_minimums(tiny_run, settings):
    """The merging rule's promise: covariate levels never stop a model from being published."""
    for r in tiny_run.results:
        if not r.fit.ok:
            continue
        cov = r.level_stats.filter(~pl.col("term").str.starts_with("soc"))
        assert (cov["persons"] >= settings.min_level_persons).all(), r.label
        assert (cov["events"] >= settings.min_level_events).all(), r.label
        assert (cov["non_events"] >= settings.min_level_non_events).all(), r.label
        soc = r.levels.filter(pl.col("term").str.starts_with("soc"))
        soc_ok = bool((soc["events"] >= settings.min_level_events).all())
        status = check_model(r.fit.df_resid, r.levels, settings.thresholds).status
        assert status == ("pass" if soc_ok else "fail"), r.label


def test_term_with_one_level_left_is_left_out(sim_settings):
    pop = _simulated_population(seed=4, n=5000, n_courts=20, odds_ratio=1.6).with_columns(
        pl.when(pl.col("person") < 5).then(pl.lit("F")).otherwise(pl.lit("M")).alias("sex")
    )
    s = dataclasses.replace(sim_settings, adjusted=(*sim_settings.adjusted, "sex"))
    r = M.fit_model(M.prepare_outcome(pop, "either", s), "adjusted", s)
    assert r.fit.ok and "sex" not in r.terms
    assert any("sex: a single level remains" in m for m in r.messages)


def test_perfect_separation_is_reported_not_fitted(tiny_canonical, settings):
    flags = tiny_canonical["flags"]
    crown = tiny_canonical["crown_defendant_cases"]
    either = set(settings.outcome_sets()["either"])
    no_events = crown.select(
        "defendant_on_case_id", (~pl.col("outcome").cast(pl.String).is_in(list(either))
                                 & (pl.col("n_offences").fill_null(1) > 1)).alias("soc__never")
    )  # fmt: skip
    flags = flags.join(no_events, on="defendant_on_case_id")
    run = M.run_models(crown, flags, settings)
    r = run.get("either", "adjusted", "never")
    assert not r.fit.ok
    assert any("perfect separation" in m and "soc__never=SOC" in m for m in r.messages)
    candidates = {c.output_id: c for c in M.build_candidates(run, settings)}
    sens = candidates["model_soc_sensitivity"]
    assert "never" not in set(sens.data["definition"])
    assert "Discontinued or dismissed: never" in sens.notes


def test_non_convergence_is_reported(tiny_canonical, settings):
    s = dataclasses.replace(settings, max_iterations=1)
    pop, _ = M.build_population(tiny_canonical["crown_defendant_cases"], tiny_canonical["flags"], s)
    r = M.fit_model(M.prepare_outcome(pop, "either", s), "adjusted", s)
    assert any("did not converge" in m for m in r.messages)


def test_collinear_columns_are_dropped(settings):
    rng = np.random.default_rng(5)
    n = 2000
    soc = (rng.random(n) < 0.3).astype(float)
    a = (rng.random(n) < 0.5).astype(float)
    x = sp.csr_matrix(np.column_stack([np.ones(n), soc, a, a]))
    y = (rng.random(n) < 1 / (1 + np.exp(1.5 - 0.5 * soc))).astype(float)
    names = [(M.INTERCEPT, ""), ("soc", "SOC"), ("a", "1"), ("a_copy", "1")]
    fit = M.fit_logit(y, x, names, rng.integers(0, 20, n), "soc", settings)
    assert fit.ok and ("a_copy", "1") not in fit.names
    assert any("collinear" in m and "a_copy" in m for m in fit.messages)
    assert list(M.independent_columns(np.ones((2, 2)))) == [True, False]


def test_court_fixed_effects_absorb_region(sim_settings):
    pop = _simulated_population(seed=8, n=20_000, n_courts=30, odds_ratio=1.6)
    pop = pop.with_columns((pl.col("court_id").cast(pl.Int64) % 4).cast(pl.String).alias("region"))
    s = dataclasses.replace(sim_settings, adjusted=(*sim_settings.adjusted, "region"))
    prepared = M.prepare_outcome(pop, "either", s)
    assert "region" in M.fit_model(prepared, "adjusted", s).terms
    r = M.fit_model(prepared, "court_fe", s)
    assert r.fit.ok and "region" not in r.terms and "court_id" in r.terms
    assert any("region constant within court_id" in m for m in r.messages)
    published = M.model_candidate(r, s)
    assert set(published.data["term"]) == {"soc"}  # court coefficients are not published...
    assert "court_id" in set(published.extra["levels"]["term"])  # ...but their levels checked
    # Too few events per court: the courts pool into one level and the fixed effects drop out
    # (region then stays in).
    few = M.prepare_outcome(
        _simulated_population(seed=8, n=300, n_courts=30, odds_ratio=1.6).with_columns(
            (pl.col("court_id").cast(pl.Int64) % 4).cast(pl.String).alias("region")
        ),
        "either",
        s,
    )
    small = M.fit_model(few, "court_fe", s)
    assert "court_id" not in small.terms and "region" in small.terms
    assert any("court_id: a single level remains" in m for m in small.messages)


# ---------------------------------------------------------------------------------------------
# Candidates


def test_candidates_follow_the_contract(tiny_run, settings, tmp_path):
    candidates = M.build_candidates(tiny_run, settings)
    by_id = {c.output_id: c for c in candidates}
    for outcome in M.OUTCOME_KEYS:
        for spec in M.SPECS:
            assert f"model_{outcome}_{spec}" in by_id
    for oid in ("model_population", "model_exclusions", "model_fit", "model_soc_sensitivity",
                "model_soc_odds_ratios", "model_n_age_band"):  # fmt: skip
        assert oid in by_id
    for c in candidates:
        if c.kind == "model":
            assert isinstance(c.spec["residual_df"], int)
            levels = c.extra["levels"]
            assert levels.columns == ["term", "level", "persons", "events"]
            assert set(c.data.columns) >= {"term", "level", "coef", "se", "ci_lower",
                                           "ci_upper", "p_value", "odds_ratio"}  # fmt: skip
            assert (c.data["ci_lower"] <= c.data["odds_ratio"]).all()
            assert (c.data["odds_ratio"] <= c.data["ci_upper"]).all()
        if c.kind == "frequency":
            assert c.data[c.spec["count"]].dtype == pl.Int64
        if c.kind == "statistics":
            assert set(c.data.columns) == {"statistic", "value", "ci_lower", "ci_upper",
                                           "n_persons"}  # fmt: skip
    fe = by_id["model_either_court_fe"]
    assert set(fe.data["term"]) == {"soc"}  # court coefficients are not published
    pop = by_id["model_population"].data
    assert set(pop["outcome_class"]) == {"Discontinued", "Dismissed", "Neither"}
    write_candidates(candidates, tmp_path / "cands", stage=M.STAGE)
    stage, back = read_candidates(tmp_path / "cands")
    assert stage == "model" and [c.output_id for c in back] == [c.output_id for c in candidates]
    for c in back:
        published = check_candidate(c, stage, settings.thresholds, tmp_path / f"{c.output_id}.csv")
        assert published.status in ("pass", "review", "fail")


def test_sensitivity_forest_rows(tiny_run, settings):
    c = {c.output_id: c for c in M.build_candidates(tiny_run, settings)}["model_soc_sensitivity"]
    assert c.figure["type"] == "forest" and c.figure["label"] == "label"
    assert c.data["label"].is_unique().all()
    fitted = [r for r in tiny_run.results
              if r.spec == "adjusted" and r.publishable(settings.thresholds)]  # fmt: skip
    assert c.data.height == len(fitted)
    for outcome in settings.sensitivity_outcomes:
        primary = c.data.filter(
            (pl.col("outcome") == M.OUTCOME_LABELS[outcome]) & (pl.col("definition") == "primary")
        )
        if primary.height:
            expected = tiny_run.get(outcome, "adjusted").soc_row()["odds_ratio"][0]
            assert primary["odds_ratio"][0] == pytest.approx(expected)
    definitions = set(c.data["definition"])
    assert definitions <= {"primary", "offence_only", "likely_tier"}
    assert "primary" in definitions


def test_fit_statistics_have_marginal_differences(tiny_run):
    stats = M.fit_statistics([r for r in tiny_run.results if r.definition == "primary"])
    ame = stats.filter(pl.col("statistic").str.ends_with(M.AME_STATISTIC))
    assert ame.height == sum(r.fit.ok for r in tiny_run.results if r.definition == "primary")
    assert ((ame["ci_lower"] <= ame["value"]) & (ame["value"] <= ame["ci_upper"])).all()
    r2 = stats.filter(pl.col("statistic").str.contains("pseudo-R-squared"))["value"]
    assert ((r2 >= 0) & (r2 < 1)).all()


# ---------------------------------------------------------------------------------------------
# Report section


def test_report_section_renders_published_numbers(tiny_run, settings, config, tmp_path):
    write_candidates(M.build_candidates(tiny_run, settings), tmp_path / "c", stage=M.STAGE)
    disclose_stage(tmp_path / "c", tmp_path / "t", tmp_path / "checked.json", settings.thresholds)
    checked = read_checked(tmp_path / "checked.json", tmp_path / "t")
    draw_stage(checked, tmp_path / "drawn")
    views = build_views(checked, tmp_path / "fig", tmp_path, [tmp_path / "drawn"])
    env = _env()
    ctx = {"synthetic": True, "run_name": "test", "sdc": config["sdc"]}
    summary = views["model_soc_odds_ratios"].rows
    adjusted = [
        r
        for r in summary
        if r["outcome"] == M.OUTCOME_LABELS["either"] and r["model"] == "adjusted"
    ]
    for suffix in ("html", "md"):
        tmpl = env.get_template(f"sections/model.{suffix}.j2")
        text = tmpl.render(out=lambda i: views.get(i, OutputView(i)), cfg=config["model"], ctx=ctx)
        assert "Discontinuance and dismissal" in text
        assert "no_evidence_offered" in text and "judge_directed_acquittal" in text
        if adjusted and adjusted[0]["odds_ratio"] is not None:
            assert f"had {_fmt(adjusted[0]['odds_ratio'])} times the odds" in text
        # Nothing published at all: the section still renders, saying so.
        empty = tmpl.render(out=OutputView, cfg=config["model"], ctx=ctx)
        assert "the adjusted odds ratio is not published" in empty


def _sparse_logit(x_rows: list[list[float]], y: list[float], patterns: list[int]):
    x = sp.csr_matrix(np.asarray(x_rows, dtype=float))
    y = np.asarray(y, dtype=float)
    return M.SparseLogit(y, M.collapse_patterns(x, y, np.asarray(patterns)))


def test_saturated_fit_is_not_called_perfect_prediction():
    """Expected equals observed per pattern at any saturated fit: not a separation."""
    x = [[1, 0]] * 4 + [[1, 1]] * 4
    y = [1, 0, 0, 1, 1, 1, 0, 1]
    fit_model = _sparse_logit(x, y, [0] * 4 + [1] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", M.PerfectSeparationWarning)
        res = fit_model.fit_newton(np.zeros(2), maxiter=35)
    np.testing.assert_allclose(fit_model.pattern_probabilities(res.params), [0.5, 0.75], rtol=1e-6)


def test_perfect_prediction_is_still_detected():
    x = [[1, 0]] * 3 + [[1, 1]] * 3
    y = [0, 0, 0, 1, 1, 1]
    model = _sparse_logit(x, y, [0] * 3 + [1] * 3)
    with pytest.warns(M.PerfectSeparationWarning):
        model._check_perfect_pred(np.array([-40.0, 80.0]))


def test_hessian_is_scipys_sparse_product_bit_for_bit():
    """The Hessian from the product planned once equals scipy's public sparse product, for a
    design with a numeric column and patterns of zero weight."""
    rng = np.random.default_rng(21)
    x, _, y, _, _ = _clustered_problem(seed=21)
    x = sp.hstack([x, sp.csr_matrix(rng.normal(size=(x.shape[0], 1)))], format="csr")
    model = M.SparseLogit(y, M.collapse_patterns(x, y, None))
    for params in (rng.normal(size=x.shape[1]), np.r_[40.0, np.zeros(x.shape[1] - 1)]):
        p = model.pattern_probabilities(params)
        w = (model._rows * p * (1 - p))[model._pattern_of_value]
        weighted = sp.csr_matrix((model._xu.data * w, model._xu.indices, model._xu.indptr))
        np.testing.assert_array_equal(model.hessian(params), -(model._xut @ weighted).toarray())
