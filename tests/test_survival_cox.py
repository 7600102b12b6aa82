"""The Cox analysis of the survival stage: pooling, clustering, stratification, sampling."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from scipy import sparse

from socflow import survival as sv
from socflow.survival.efron import (
    column_patterns,
    evaluate,
    risk_sets,
    row_patterns,
    sparse_design,
)

from .survival_helpers import make_settings, simulated_follow_up

# ---------------------------------------------------------------------------------------------
# Cox model: pooling, stratification, sampling


def test_cox_recovers_hazard_ratio_and_pools_small_levels():
    follow = simulated_follow_up()
    s = make_settings(cox=sv.CoxSettings(covariates=("offence_group", "region", "missing_term")))
    fit, design, skipped = sv.cox_analysis(follow, s)
    soc = fit.coefficients.filter(pl.col("term") == sv.GROUP).row(0, named=True)
    assert soc["ci_lower"] < 0.7 < soc["ci_upper"]
    assert 0.6 < soc["hazard_ratio"] < 0.8
    # "tiny" has too few persons: pooled into the only other level, so region is constant.
    assert "missing_term" in skipped and "region" in skipped
    assert (design.levels["persons"] >= 10).all()
    assert set(design.levels["term"]) == {sv.GROUP, "offence_group"}


def test_failing_proportional_hazards_term_is_stratified():
    follow = simulated_follow_up(n=6000).with_columns(
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
    s = make_settings(cox=sv.CoxSettings(covariates=("offence_group", "phase_marker")))
    fit, _, _ = sv.cox_analysis(follow, s)
    first = dict(zip(fit.ph_test["term"], fit.ph_test["p_value"], strict=True))
    assert first["phase_marker"] < 0.05
    assert "phase_marker" in fit.strata
    assert "phase_marker" not in set(fit.coefficients["term"])
    assert sv.GROUP in set(fit.coefficients["term"])


def test_sampled_fit_uses_the_configured_number_of_persons_deterministically():
    follow = simulated_follow_up()
    s = make_settings(cox=sv.CoxSettings(covariates=("offence_group",), max_persons=1500, seed=4))
    a, _, _ = sv.cox_analysis(follow, s)
    b, _, _ = sv.cox_analysis(follow, s)
    assert a.sampled and a.n_persons == 1500
    assert a.coefficients["coef"].to_list() == b.coefficients["coef"].to_list()
    full, _, _ = sv.cox_analysis(follow, dataclasses.replace(s, cox=sv.CoxSettings(
        covariates=("offence_group",))))  # fmt: skip
    assert not full.sampled and full.n_persons == follow.height


def test_clustering_by_index_case_changes_only_the_errors():
    follow = simulated_follow_up()
    by_person = make_settings(cluster="person", cox=sv.CoxSettings(covariates=("offence_group",)))
    by_case = make_settings(cluster="index_case", cox=sv.CoxSettings(covariates=("offence_group",)))
    a, _, _ = sv.cox_analysis(follow, by_person)
    b, design_b, _ = sv.cox_analysis(follow, by_case)
    np.testing.assert_allclose(a.coefficients["coef"], b.coefficients["coef"], rtol=1e-12)
    assert a.coefficients["se"].to_list() != b.coefficients["se"].to_list()
    # Two persons per index case in _simulated: half as many clusters as persons.
    assert a.n_clusters == follow.height and b.n_clusters == follow.height // 2
    assert design_b.frame["cluster"].n_unique() == follow.height // 2


def test_clustered_proportion_intervals_reduce_to_greenwood_by_person():
    """With each person a cluster the infinitesimal-jackknife variance is Greenwood's."""
    follow = simulated_follow_up()
    by_person = sv.proportions(follow, make_settings(cluster="person"))
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
    by_case = sv.proportions(follow, make_settings(cluster="index_case"))
    assert by_case["value"].to_list() == by_person["value"].to_list()
    assert by_case["ci_lower"].to_list() != by_person["ci_lower"].to_list()


def test_proportions_at_chosen_horizons_are_the_rows_of_all_horizons_bit_for_bit():
    """The sensitivity table asks for its last horizon only: each horizon's estimate is
    computed on its own, so the rows are the same bits as those of every horizon."""
    follow = simulated_follow_up()
    s = make_settings(cluster="index_case")
    every = sv.proportions(follow, s, prefix="x: ")
    for h in s.horizons_days:
        alone = sv.proportions(follow, s, prefix="x: ", horizons=(h,))
        assert alone.height == 3
        assert alone.equals(every.filter(pl.col("statistic").str.contains(sv.days_label(h))))


def test_pooling_notes_name_the_level_merged_into():
    follow = simulated_follow_up().with_columns(
        pl.when(pl.arange(0, pl.len()) < 6).then(pl.lit("rare1"))
        .when(pl.arange(0, pl.len()) < 12).then(pl.lit("rare2"))
        .otherwise(pl.col("offence_group")).alias("offence_group")
    )  # fmt: skip
    fit, design, _ = sv.cox_analysis(follow, make_settings(cox=sv.CoxSettings(
        covariates=("offence_group", "region"))))  # fmt: skip
    assert design.pooled_into["offence_group"] == sv.pooled_level("offence_group")
    assert design.pooled_into["region"] == "big"
    assert any("(rare1, rare2) merged into 'other offence group (pooled)'" in n for n in fit.notes)
    assert any("region" in n and "merged into 'big'" in n for n in fit.notes)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_sparse_design_evaluation_equals_the_dense_one(ties):
    """The sparse path (uncentred non-zero entries, centred afterwards) gives the dense
    evaluation's likelihood, score and information to rounding (relative 1e-12)."""
    rng = np.random.default_rng(5)
    n = 4000
    levels = [rng.integers(0, 5, size=n) for _ in range(3)]
    raw = np.column_stack([(lv == k).astype(float) for lv in levels for k in range(1, 5)])
    time = rng.integers(1, 80, size=n).astype(float)
    event = (rng.random(n) < 0.4).astype(float)
    strata = rng.integers(0, 3, size=n)
    rs = risk_sets(time, event, strata, ties)
    centre = raw.mean(0)
    x = np.ascontiguousarray(raw - centre)
    design = sparse_design(rs, raw, centre)
    assert design is not None
    beta = rng.normal(scale=0.3, size=x.shape[1])
    dense = evaluate(rs, x, beta)
    fast = evaluate(rs, x, beta, design=design)
    assert fast.log_likelihood == pytest.approx(dense.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(fast.score, dense.score, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(fast.information, dense.information, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(fast.cum_a, dense.cum_a, rtol=1e-12)
    assert sparse_design(rs, np.ones((n, 3)), np.ones(3)) is None  # dense designs keep their path


def test_sparse_design_block_sums_equal_the_indicator_product_bit_for_bit():
    """The block sums counted over the non-zero entries are the product of the blocks x rows
    indicator matrix (weights in it) with the CSR design, bit for bit: each (block, column)
    cell adds its rows in ascending order, as scipy's sparse product does. Rows are shuffled
    across blocks and weights span many magnitudes, so another order would round differently."""
    rng = np.random.default_rng(11)
    n = 6000
    levels = [rng.integers(0, 6, size=n) for _ in range(3)]
    raw = np.column_stack([(lv == k).astype(float) for lv in levels for k in range(1, 6)])
    raw[:, 0] *= rng.normal(size=n)  # a non-dummy column: entries other than 1
    time = rng.integers(1, 40, size=n).astype(float)
    event = (rng.random(n) < 0.5).astype(float)
    rs = risk_sets(time, event, rng.integers(0, 4, size=n), "efron")
    design = sparse_design(rs, raw, raw.mean(0))
    assert design is not None
    weight = np.exp(rng.normal(scale=4.0, size=n))
    matrix = sparse.csr_matrix(raw)
    blocks = len(rs.block_end)
    rows = sparse.csr_matrix((weight, (rs.row_block, np.arange(n))), shape=(blocks, n))
    ev = rs.event_rows
    events = sparse.csr_matrix((weight[ev], (rs.event_block, ev)), shape=(blocks, n))
    assert np.array_equal(design.block_sums(weight), (rows @ matrix).toarray())
    assert np.array_equal(design.event_block_sums(weight), (events @ matrix).toarray())
    # Not the same numbers in another order: the rows' order within a cell reaches the bits.
    added = weight[design.entry_row] * design.matrix.data
    backwards = np.bincount(design.entry_cell[::-1], weights=added[::-1], minlength=blocks * 15)
    assert not np.array_equal(design.block_sums(weight).ravel(), backwards)


def test_column_patterns_are_the_row_patterns_of_the_column_subset():
    """Derived from the whole design's distinct rows, a subset's patterns are exactly what a
    pass over the subset's rows finds: same rows, same numbering."""
    rng = np.random.default_rng(8)
    n = 5000
    levels = [rng.integers(0, 4, size=n) for _ in range(3)]
    raw = np.column_stack([(lv == k).astype(float) for lv in levels for k in range(1, 4)])
    x = np.ascontiguousarray(raw - raw.mean(0))
    whole = row_patterns(x)
    assert whole is not None
    for kept in ([0, 1, 2, 6, 7, 8], [3, 4, 5], list(range(9))):
        sub = np.ascontiguousarray(x[:, kept])
        direct = row_patterns(sub)
        derived = column_patterns(whole, np.array(kept))
        assert np.array_equal(derived.index, direct.index)
        assert np.array_equal(derived.rows, direct.rows)
        np.testing.assert_array_equal(derived.rows[derived.index], sub)


def test_cox_analysis_refits_equal_fits_from_the_frame_and_concordance_is_optional():
    """cox_analysis takes the design as one array and derives each refit's row patterns; a
    stratified refit from the frame alone, from another start, reaches the same coefficients and
    clustered errors (relative 1e-9: Newton's tolerance squared, and the errors go through the
    information matrix the patterns give). Without concordance only Harrell's C is left out."""
    follow = simulated_follow_up(n=6000)
    s = make_settings(cox=sv.CoxSettings(covariates=("offence_group", "region"), ph_alpha=1.0))
    fit, design, _ = sv.cox_analysis(follow, s)
    assert fit.strata  # every PH p-value is below 1: the refit path is taken
    columns = [c for c in design.columns if design.term_of[c] not in fit.strata]
    model, _, _ = sv.fit_cox(
        design.frame.to_pandas(), "time", "event", columns, fit.strata, None, False,
        s.confidence_level, tolerance=s.cox.tolerance,
    )  # fmt: skip
    # Newton from another start ends within tolerance^2 of the same maximum.
    np.testing.assert_allclose(fit.coefficients["coef"].to_numpy(), model.beta, rtol=1e-9)
    clusters = design.frame["cluster"].to_numpy()
    table, _ = sv.cox.coefficient_table(model, True, clusters, s.confidence_level)
    np.testing.assert_allclose(fit.coefficients["se"].to_numpy(), table["se"], rtol=1e-9)
    quick, _, _ = sv.cox_analysis(follow, s, concordance=False)
    assert np.isnan(quick.concordance) and not np.isnan(fit.concordance)
    assert quick.coefficients.equals(fit.coefficients)
    assert quick.ph_test_final.equals(fit.ph_test_final)


def test_strata_and_cluster_codes_from_polars_number_as_pandas_does():
    """The codes that order the risk sets and the cluster sums, from a Polars frame, are
    pandas' numbering exactly: strata in sorted order with missing values last, clusters by
    first appearance."""
    import pandas as pd  # noqa: PLC0415

    rng = np.random.default_rng(3)
    n = 3000
    frame = pl.DataFrame(
        {
            "region": rng.choice(["b", "a", "c", ""], size=n).tolist(),
            "band": rng.choice(["18-20", "10-17", "60+"], size=n),
            "year": rng.choice([2014, 2009, 2011], size=n),
            "cluster": [f"case:{k}" for k in rng.integers(0, 700, size=n)],
        }
    ).with_columns(pl.col("region").replace("", None))
    pdf = frame.to_pandas()
    for strata in (["region"], ["band", "region"], ["year", "band"]):
        codes = sv.strata_codes(frame, strata)
        assert np.array_equal(codes, sv.strata_codes(pdf, strata))
    assert sv.strata_codes(frame, ["region"]).max() == 3  # the missing region: last code
    codes = sv.cluster_codes(frame["cluster"])
    assert np.array_equal(codes, pd.factorize(pdf["cluster"].to_numpy())[0])
    # Summed by cluster, the codes give the labels' sums, row for row; integer labels that are
    # not first-appearance codes are numbered first.
    values = rng.normal(size=(n, 3))
    values *= np.exp(rng.normal(scale=4.0, size=(n, 1)))  # magnitudes where order shows
    by_label = sv.cluster_sums(values, pdf["cluster"].to_numpy())
    per_column = [np.bincount(codes, weights=values[:, j]) for j in range(3)]
    assert np.array_equal(by_label, np.column_stack(per_column))  # same additions, same order
    assert np.array_equal(sv.cluster_sums(values, codes), by_label)
    shifted = sv.cluster_sums(values, codes + 5)
    assert np.array_equal(shifted, by_label)
    assert np.array_equal(
        sv.cluster_sums(values, codes[::-1]),
        sv.cluster_sums(values, pdf["cluster"].to_numpy()[::-1]),
    )


def test_risk_set_order_and_sparse_matrix_equal_their_scipy_and_lexsort_forms():
    """The one-key sort of whole-number times is np.lexsort's permutation (ties in row order),
    and the CSR matrix built from the non-zero positions is scipy's, array for array."""
    from socflow.survival.efron import _stratum_time_order  # noqa: PLC0415

    rng = np.random.default_rng(4)
    n = 5000
    days = rng.integers(-30, 400, size=n).astype(float)
    strata = rng.integers(3, 9, size=n)
    for time in (days, days + 0.5 * (rng.random(n) < 0.1)):  # whole days; then fractions
        assert np.array_equal(_stratum_time_order(time, strata), np.lexsort((-time, strata)))
    assert np.array_equal(
        _stratum_time_order(days, np.zeros(n, dtype=np.int64)), np.lexsort((-days, np.zeros(n)))
    )
    raw = (rng.random((n, 7)) < 0.2) * rng.normal(size=(n, 7))
    rs = risk_sets(days, (rng.random(n) < 0.3).astype(float), strata)
    matrix = sparse_design(rs, raw, raw.mean(0)).matrix
    expected = sparse.csr_matrix(raw)
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(matrix, part), getattr(expected, part))
