"""The linkage stage's analyses on hand-built frames: standardised differences, who is found,
OASys profiles and need models, criminal histories, and its candidates through disclosure."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.discrete.discrete_model import Logit

from socflow.disclose import disclose_stage
from socflow.linkage import Settings, analyse
from socflow.linkage.balance import BINARY, CONTINUOUS, COUNT, standardised_differences
from socflow.linkage.candidates import build_candidates
from socflow.linkage.diagnostics import found_shares
from socflow.linkage.history import court_history, pnc_history
from socflow.linkage.linked import DATASET_OF, person_rows
from socflow.linkage.need_models import fit_need_models, newton_logit
from socflow.linkage.profiles import nearest_assessment, need_shares
from socflow.outputs import write_candidates
from socflow.sdc.thresholds import SdcThresholds

from .linkage_helpers import world

LINKED = ("prison_journeys", "oasys_assessments", "probation_starts", "pnc_events")


def test_standardised_differences_by_hand():
    frame = pl.DataFrame(
        {
            "g": [True] * 4 + [False] * 4,
            "a": [1.0, 0, 1, 1, 0, 0, 1, 0],
            "b": [1.0, 2, 3, 4, 2, 3, 4, 5],
            "c": [0.0, 2, 3, 0, 0, 0, 0, 1],
        }
    )
    d = standardised_differences(frame, "g", {"a": BINARY, "b": CONTINUOUS, "c": COUNT})
    a, b, c = d.iter_rows(named=True)
    # shares 0.75 and 0.25: pooled sd sqrt((0.1875 + 0.1875) / 2)
    assert a["smd"] == pytest.approx(0.5 / math.sqrt(0.1875))
    se = math.sqrt(8 / 16 + a["smd"] ** 2 / 16)
    assert a["ci_lower"] == pytest.approx(a["smd"] - 1.959964 * se, rel=1e-6)
    assert a["n_persons"] == 1  # one without in the first group, one with in the second
    # means 2.5 and 3.5, sample variances 5/3 each
    assert b["smd"] == pytest.approx(-1 / math.sqrt(5 / 3))
    assert b["n_persons"] == 4
    # a count: persons with any 2 of 4 and 1 of 4
    assert (c["k1"], c["k0"], c["n_persons"]) == (2, 1, 1)


def test_found_shares_count_persons_by_status_and_year():
    found = pl.DataFrame(
        {
            "person_id": ["a", "b", "c", "d", "e"],
            "soc": [True, True, False, False, False],
            "index_year": pl.Series([2015, 2016, 2015, 2015, 2016], dtype=pl.Int16),
            "custodial": [True, True, True, False, True],
            "found_x": [True, False, True, True, False],
        }
    )
    shares = found_shares(found, {"found_x": "X"})
    row = shares.filter(
        pl.col("population").str.starts_with("immediate"),
        pl.col("soc_status") == "Non-SOC",
        pl.col("index_year") == "all years",
    ).row(0, named=True)
    assert (row["found"], row["n_persons"]) == (1, 2)
    everyone = shares.filter(
        pl.col("population") == "all index cases", pl.col("soc_status") == "Non-SOC"
    )
    assert everyone["found"].to_list() == [2] and everyone["n_persons"].to_list() == [3]
    by_year = shares.filter(pl.col("soc_status") == "SOC", pl.col("index_year") == "2016")
    assert by_year["found"].to_list() == [0]


def _assessments(rows):
    return pl.DataFrame(
        rows,
        schema={"row_id": pl.String, "person_id": pl.String, "assessment_date": pl.Date,
                "full_assessment": pl.String, "attitudes_need": pl.String},
        orient="row",
    )  # fmt: skip


def test_nearest_assessment_after_the_index_case_within_the_window():
    cohort = pl.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "soc": [True, False, False],
            "index_disposal_date": [date(2016, 1, 1)] * 3,
        }
    )
    oasys = _assessments(
        [
            ("o1", "a", date(2015, 12, 1), "yes", "no"),  # before the index case
            ("o2", "a", date(2016, 3, 1), "yes", "yes"),  # nearest after: chosen
            ("o3", "a", date(2016, 6, 1), "yes", "no"),
            ("o4", "b", date(2016, 2, 1), "no", "yes"),  # not a full assessment
            ("o5", "b", date(2016, 5, 1), "yes", "no"),
            ("o6", "c", date(2019, 1, 1), "yes", "yes"),  # outside the window
        ]
    )
    profiled, flow = nearest_assessment(cohort, oasys, Settings(oasys_window_days=365))
    assert profiled.select("person_id", "row_id").rows() == [("a", "o2"), ("b", "o5")]
    assert profiled["days_to_assessment"].to_list() == [60, 121]
    last = flow.filter(pl.col("step").str.starts_with("with one within"))
    assert dict(last.select("soc_status", "persons").rows()) == {"SOC": 1, "Non-SOC": 1}
    any_layer, _ = nearest_assessment(
        cohort, oasys, Settings(oasys_window_days=365, full_assessments_only=False)
    )
    assert any_layer.select("person_id", "row_id").rows() == [("a", "o2"), ("b", "o4")]
    shares = need_shares(profiled)
    assert shares.select("soc_status", "with_need", "n_persons").rows() == [
        ("SOC", 1, 1),
        ("Non-SOC", 0, 1),
    ]


def test_need_models_recover_a_planted_log_odds_difference():
    planted = {"lifestyle_associates": 1.0, "attitudes": 0.6, "accommodation": -0.3}
    w = world(n_persons=4000, seed=11, need_log_odds=planted)
    profiled, _ = nearest_assessment(w["cohort"], _linked(w)["oasys_assessments"], Settings())
    models = fit_need_models(profiled, Settings(), SdcThresholds())
    coefs = {r["need"]: r for r in models.coefficients.iter_rows(named=True)}
    assert len(coefs) == 10
    for section, label in (("lifestyle_associates", "lifestyle and associates"),
                           ("attitudes", "attitudes"), ("accommodation", "accommodation"),
                           ("finance", "finance")):  # fmt: skip
        c = coefs[label]
        truth = planted.get(section, 0.0)
        assert c["coef"] - 1.96 * c["se"] <= truth <= c["coef"] + 1.96 * c["se"], label
        assert c["odds_ratio"] == pytest.approx(math.exp(c["coef"]))
    assert any(n.startswith("reference levels") for n in models.notes)
    assert models.residual_df > 10


def test_a_need_too_rare_to_publish_is_left_out_with_a_note():
    w = world(n_persons=600, seed=3)
    profiled, _ = nearest_assessment(w["cohort"], _linked(w)["oasys_assessments"], Settings())
    # Nine SOC persons have the finance need; no other persons do.
    soc_ids = profiled.filter(pl.col("soc"))["person_id"].head(9).to_list()
    profiled = profiled.with_columns(
        pl.when(pl.col("person_id").is_in(soc_ids)).then(pl.lit("yes")).otherwise(pl.lit("no"))
        .cast(profiled.schema["finance_need"]).alias("finance_need")
    )  # fmt: skip
    models = fit_need_models(profiled, Settings(), SdcThresholds())
    assert "finance" not in models.coefficients["need"].to_list()
    assert any("finance" in n and "not published" in n for n in models.notes)


def _linked(w):
    return {t: person_rows(w[t], w["link"], DATASET_OF[t], "smallest") for t in LINKED}


def test_court_history_counts_the_look_back_the_data_cover():
    cohort = pl.DataFrame(
        {
            "person_id": ["a", "b"],
            "soc": [True, False],
            "age_at_offence": pl.Series([30, 40], dtype=pl.Int16),
            "index_start": [date(2016, 6, 1), date(2013, 6, 1)],
        }
    )
    rows = pl.DataFrame(
        {
            "person_id": ["a", "a", "a", "a", "b"],
            "source": ["mags", "mags", "crown", "mags", "mags"],
            "case_id": ["m1", "m1", "c1", "m2", "m9"],
            "disposal_date": [
                date(2015, 1, 1),
                date(2015, 2, 1),
                date(2016, 1, 1),
                date(2013, 1, 1),
                date(2012, 1, 1),
            ],
            "age_at_offence": pl.Series([28, 28, 29, 25, 38], dtype=pl.Int16),
            "convicted": [True, False, True, True, True],
            "custody": [False, False, True, False, False],
        }
    )
    history, coverage = court_history(cohort, rows, Settings())
    a, b = history.iter_rows(named=True)
    # Two cases in the two years before 2016-06-01 (m1 twice is one case; m2 is too early).
    assert (a["prior_appearances"], a["prior_convictions"], a["prior_custody"]) == (2, 2, 1)
    assert a["any_prior_custody"] == 1.0
    assert a["age_first_seen"] == 25  # the early case still shows the age first seen
    # b's look-back starts in 2011, before the Crown Court data: no counts.
    assert b["covered"] is False and b["prior_appearances"] is None
    assert b["age_first_seen"] == 38
    assert coverage["covered"].to_list() == [1, 0]


def test_pnc_history_counts_events_before_the_index_case():
    cohort = pl.DataFrame(
        {"person_id": ["a", "b"], "soc": [True, False],
         "index_start": [date(2016, 1, 1), date(2016, 1, 1)]}
    )  # fmt: skip
    events = pl.DataFrame(
        {
            "person_id": ["a", "a", "a"],
            "event_date": [date(2010, 1, 1), date(2012, 1, 1), date(2017, 1, 1)],
            "event_type": ["caution", "conviction", "conviction"],
        }
    )
    pnc = pnc_history(cohort, events)
    a, b = pnc.iter_rows(named=True)
    assert (a["pnc_convictions"], a["pnc_cautions"], a["pnc_custody"]) == (1, 1, 0)
    assert a["pnc_years_since_first"] == pytest.approx(6.0, abs=0.01)
    assert (b["pnc_convictions"], b["pnc_any_caution"]) == (0, 0.0)


def test_the_stage_runs_every_analysis_and_its_outputs_pass_disclosure(tmp_path):
    w = world(n_persons=3000, seed=5, need_log_odds={"lifestyle_associates": 1.0})
    tables = {t: w[t] for t in LINKED}
    r = analyse(w["cohort"], w["cohort_flow"], w["crown"], w["mags"], w["link"], tables,
                Settings(), SdcThresholds())  # fmt: skip
    candidates = build_candidates(r)
    ids = [c.output_id for c in candidates]
    assert ids == [
        "linkage_cohort_flow", "linkage_found", "linkage_balance_figure", "linkage_balance",
        "linkage_oasys_flow",
        "linkage_needs", "linkage_scores", "linkage_profile_differences",
        "linkage_need_models", "linkage_history_coverage", "linkage_history_courts",
        "linkage_history_pnc",
    ]  # fmt: skip
    write_candidates(candidates, tmp_path / "candidates", stage="linkage")
    disclose_stage(tmp_path / "candidates", tmp_path / "release/tables/linkage",
                   tmp_path / "linkage.json", SdcThresholds(), "linkage")  # fmt: skip
    checked = json.loads((tmp_path / "linkage.json").read_text())
    status = {o["output_id"]: o["status"] for o in checked["outputs"]}
    assert "fail" not in status.values(), status
    assert status["linkage_need_models"] == "pass"


def test_without_oasys_and_pnc_their_outputs_are_not_made():
    w = world(n_persons=800, seed=2)
    tables = {"prison_journeys": w["prison_journeys"]}
    r = analyse(w["cohort"], w["cohort_flow"], w["crown"], None, w["link"], tables,
                Settings(), SdcThresholds())  # fmt: skip
    ids = {c.output_id for c in build_candidates(r)}
    assert {"linkage_found", "linkage_balance", "linkage_history_courts"} <= ids
    assert not ids & {"linkage_needs", "linkage_need_models", "linkage_history_pnc"}
    assert r.with_mags is False
    assert set(r.found["dataset"].unique()) == {"prison custodial journeys"}


def test_output_is_deterministic(tmp_path):
    w = world(n_persons=500, seed=4)
    tables = {t: w[t] for t in LINKED}
    runs = []
    for order in (False, True):
        tabs = {t: (f.reverse() if order else f) for t, f in tables.items()}
        r = analyse(w["cohort"], w["cohort_flow"], w["crown"], w["mags"], w["link"], tabs,
                    Settings(), SdcThresholds())  # fmt: skip
        out = tmp_path / f"c{order}"
        write_candidates(build_candidates(r), out, stage="linkage")
        runs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert runs[0] == runs[1]


def test_no_one_assessed_in_the_window_gives_empty_profiles_not_an_error():
    w = world(n_persons=300, seed=8)
    late = w["oasys_assessments"].with_columns(
        pl.col("assessment_date").dt.offset_by("10y").alias("assessment_date")
    )
    tables = {"oasys_assessments": late, "prison_journeys": w["prison_journeys"]}
    r = analyse(w["cohort"], w["cohort_flow"], w["crown"], w["mags"], w["link"], tables,
                Settings(), SdcThresholds())  # fmt: skip
    assert r.needs is not None and r.needs.height == 0
    assert r.need_models is not None and r.need_models.coefficients.height == 0
    assert any("no need model fitted" in n for n in r.need_models.notes)
    ids = {c.output_id for c in build_candidates(r)}
    assert "linkage_need_models" not in ids and "linkage_found" in ids


def test_newton_logit_equals_statsmodels_logit():
    """The need models' Newton steps give statsmodels `Logit`'s estimate, standard errors and
    p-values to 1e-10 relative (both stop at the maximum; only rounding differs)."""
    rng = np.random.default_rng(11)
    n = 3_000
    x = np.column_stack([np.ones(n), rng.random(n) < 0.3, rng.normal(0, 1, n),
                         rng.random(n) < 0.5])  # fmt: skip
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ np.array([-0.5, 0.7, 0.3, -0.2]))))).astype(float)
    params, cov = newton_logit(y, x)
    ref = Logit(y, x).fit(method="newton", maxiter=100, disp=0)
    np.testing.assert_allclose(params, ref.params, rtol=1e-10)
    se = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(se, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(2 * stats.norm.sf(np.abs(params / se)), ref.pvalues, rtol=1e-9)
