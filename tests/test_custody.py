"""The custody stage: journey matching, recall follow-up, Aalen-Johansen incidence, recovery."""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from lifelines import AalenJohansenFitter

from socflow import schema
from socflow.custody import (
    CustodySettings,
    MatchSettings,
    analyse,
    cumulative_incidence,
    journeys_with_person_ids,
    match_journeys,
    risk_ratio,
)
from socflow.custody.candidates import build_candidates
from socflow.custody.matching import NEAR, NOT_CUSTODIAL, SPANS, UNMATCHED
from socflow.custody.run import with_soc_status
from socflow.disclose import disclose_stage, read_checked
from socflow.establishments import EstablishmentSettings, prepare_panel
from socflow.establishments import analyse as est_analyse
from socflow.establishments.candidates import build_candidates as est_candidates
from socflow.figures import draw_stage
from socflow.headline import NEEDS_PRISON_DATA, recall_to_prison
from socflow.outputs import write_candidates
from socflow.persons import person_ids_of, person_lookup
from socflow.report import OutputView, _env, build_views
from socflow.sdc import SdcThresholds
from socflow.survival.linking import resolve_person_ids

REPO = Path(__file__).resolve().parents[1]

COHORT_SCHEMA = {
    "person_id": pl.String,
    "index_defendant_on_case_id": pl.String,
    "index_disposal_date": pl.Date,
    "index_year": pl.Int16,
    "soc": pl.Boolean,
    "age_at_offence": pl.Int16,
    "sex": pl.String,
    "offence_group": pl.String,
    "sentence_type": pl.String,
    "custody_days": pl.Int32,
    "custodial": pl.Boolean,
}


def cohort_frame(rows: list[dict]) -> pl.DataFrame:
    """A linked cohort (results/linkage/cohort.parquet) with exactly the contract's columns."""
    full = [
        {
            "index_year": r["index_disposal_date"].year,
            "age_at_offence": 30,
            "sex": "M",
            "offence_group": "Drug offences",
            "sentence_type": "immediate_custody" if r["custodial"] else "fine",
            "custody_days": 400 if r["custodial"] else None,
            **r,
        }
        for r in rows
    ]
    return pl.DataFrame(full, schema=COHORT_SCHEMA)


def journeys_frame(rows: list[dict]) -> pl.DataFrame:
    canon = schema.polars_schema("prison_journeys")
    full = [{c: r.get(c) for c in canon} for r in rows]
    return pl.DataFrame(full, schema=canon)


def prison_ids(link: pl.DataFrame) -> pl.DataFrame:
    """The prison rows' person IDs as rule person_ids resolves them."""
    return person_ids_of(person_lookup(link), "prison")


def link_frame(pairs: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"source_dataset": [p[0] for p in pairs], "row_id": [p[1] for p in pairs],
         "person_id": [p[2] for p in pairs]},
        schema=schema.polars_schema("xjs_link"),
    )  # fmt: skip


D = date(2016, 6, 1)


@pytest.fixture
def small_world():
    cohort = cohort_frame(
        [
            # remanded before disposal, same journey continues: spans
            {"person_id": "p1", "index_defendant_on_case_id": "c1", "index_disposal_date": D,
             "soc": True, "custodial": True},
            # sentenced reception 3 days after disposal: near
            {"person_id": "p2", "index_defendant_on_case_id": "c2", "index_disposal_date": D,
             "soc": False, "custodial": True},
            # only a recall journey and a far sentenced journey: unmatched
            {"person_id": "p3", "index_defendant_on_case_id": "c3", "index_disposal_date": D,
             "soc": False, "custodial": True},
            # not custodial
            {"person_id": "p4", "index_defendant_on_case_id": "c4", "index_disposal_date": D,
             "soc": False, "custodial": False},
        ]
    )  # fmt: skip
    journeys = journeys_frame(
        [
            {"row_id": "j1", "reception_date": D - timedelta(days=90), "release_date": D +
             timedelta(days=200), "reception_reason": "remand", "release_reason":
             "automatic_release"},
            {"row_id": "j1r", "reception_date": D + timedelta(days=500), "release_date": None,
             "reception_reason": "recall"},
            {"row_id": "j2", "reception_date": D + timedelta(days=3), "release_date": D +
             timedelta(days=180), "reception_reason": "sentenced", "release_reason": "deported"},
            {"row_id": "j2b", "reception_date": D + timedelta(days=10), "release_date": D +
             timedelta(days=180), "reception_reason": "sentenced", "release_reason": "parole"},
            {"row_id": "j3", "reception_date": D + timedelta(days=2), "release_date": None,
             "reception_reason": "recall"},
            {"row_id": "j3b", "reception_date": D + timedelta(days=60), "release_date": None,
             "reception_reason": "sentenced"},
            {"row_id": "j4", "reception_date": D, "release_date": D + timedelta(days=10),
             "reception_reason": "sentenced"},
        ]
    )  # fmt: skip
    link = link_frame(
        [("prison", "j1", "p1"), ("prison", "j1r", "p1"), ("prison", "j2", "p2"),
         ("prison", "j2b", "p2"), ("prison", "j3", "p3"), ("prison", "j3b", "p3"),
         ("prison", "j4", "p4"), ("crown", "x", "p1")]
    )  # fmt: skip
    return cohort, journeys, link


def test_match_rule(small_world):
    cohort, journeys, link = small_world
    prison = journeys_with_person_ids(journeys, resolve_person_ids(link, "prison", "smallest"))
    m = match_journeys(with_soc_status(cohort), prison, MatchSettings(window_days=14))
    got = dict(zip(m["person_id"], zip(m["match_type"], m["journey_row_id"], strict=True),
                   strict=True))  # fmt: skip
    assert got == {
        "p1": (SPANS, "j1"),
        "p2": (NEAR, "j2"),  # closer of two sentenced receptions
        "p3": (UNMATCHED, None),  # recalls never match; 60 days is outside the window
        "p4": (NOT_CUSTODIAL, None),
    }
    wide = match_journeys(with_soc_status(cohort), prison, MatchSettings(window_days=60))
    assert wide.filter(pl.col("person_id") == "p3")["journey_row_id"].item() == "j3b"


def test_recall_follow_up(small_world):
    cohort, journeys, link = small_world
    s = CustodySettings(follow_up_end_date=date(2020, 12, 31))
    _matched, follow, excluded = analyse(cohort, journeys, prison_ids(link), s)
    by = {r["person_id"]: r for r in follow.iter_rows(named=True)}
    assert set(by) == {"p1", "p2"}
    assert by["p1"]["status"] == 1 and by["p1"]["time"] == 300  # recalled 300 days after
    assert by["p2"]["status"] == 2 and by["p2"]["time"] == 0  # deported: competing
    assert excluded == {
        "still in custody at the end of follow-up": 0,
        "released on or after the end of follow-up": 0,
    }
    # Follow-up ending before the recall: censored at the end
    early = CustodySettings(follow_up_end_date=D + timedelta(days=400))
    _, follow2, _ = analyse(cohort, journeys, prison_ids(link), early)
    p1 = follow2.filter(pl.col("person_id") == "p1").row(0, named=True)
    assert (p1["status"], p1["time"]) == (0, 200)


def test_aalen_johansen_matches_lifelines():
    """Estimate, variance and interval against lifelines on data without ties (lifelines
    jitters tied times of different event types; without ties the two are the same
    estimator), to 1e-10."""
    rng = np.random.default_rng(3)
    n = 400
    time = rng.exponential(500, n)
    status = rng.choice([0, 1, 2], size=n, p=[0.5, 0.3, 0.2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ajf = AalenJohansenFitter(calculate_variance=True).fit(time, status, event_of_interest=1)
    for at in (200.0, 365.0, 730.0):
        ours = cumulative_incidence(time, status, at)
        ref_t = ajf.cumulative_density_.index[ajf.cumulative_density_.index <= at].max()
        assert ours.estimate == pytest.approx(ajf.cumulative_density_.loc[ref_t].item(), abs=1e-10)
        assert ours.variance == pytest.approx(ajf.variance_.loc[ref_t].item(), abs=1e-10)
        ci = sorted(ajf.confidence_interval_.loc[ref_t].to_list())
        assert ours.ci_lower == pytest.approx(ci[0], abs=1e-10)
        assert ours.ci_upper == pytest.approx(ci[1], abs=1e-10)


def test_incidence_without_censoring_is_a_proportion():
    time = np.array([0, 10, 20, 30, 800, 900, 1000, 1000], dtype=float)
    status = np.array([2, 1, 1, 2, 1, 1, 1, 2])
    inc = cumulative_incidence(time, status, 730)
    assert inc.estimate == pytest.approx(2 / 8)
    assert inc.events == 2 and inc.persons == 8
    ratio, lo, hi = risk_ratio(inc, cumulative_incidence(time, status, 1000))
    assert ratio == pytest.approx((2 / 8) / (5 / 8))
    assert lo < ratio < hi


def simulate_recall(seed: int, n: int, soc_share: float, p_non: float, rr: float):
    """Released persons with 2-year recall probability p_non (non-SOC) and rr * p_non (SOC),
    recall times uniform over the two years, 3% deported at release, staggered releases."""
    rng = np.random.default_rng(seed)
    soc = rng.random(n) < soc_share
    p = np.where(soc, rr * p_non, p_non)
    recalled = rng.random(n) < p
    deported = rng.random(n) < 0.03
    release = rng.integers(0, 5 * 365, n)
    end = 6 * 365
    t_recall = rng.integers(1, 731, n)
    status = np.where(deported, 2, np.where(recalled & (release + t_recall <= end), 1, 0))
    time = np.where(status == 2, 0, np.where(status == 1, t_recall, end - release))
    return soc, time, status


def test_risk_ratio_recovers_planted_value():
    """A planted 2-year risk ratio of 0.25 (non-SOC 8%) lies inside the 95% interval."""
    soc, time, status = simulate_recall(11, 20_000, 0.3, 0.08, 0.25)
    a = cumulative_incidence(time[soc], status[soc], 730)
    b = cumulative_incidence(time[~soc], status[~soc], 730)
    _ratio, lo, hi = risk_ratio(a, b)
    assert lo < 0.25 < hi
    # the competing deportations lower every incidence by their share
    assert b.ci_lower < 0.08 * 0.97 < b.ci_upper


def test_candidates_rest_on_persons(small_world):
    cohort, journeys, link = small_world
    s = CustodySettings()
    matched, follow, _ = analyse(cohort, journeys, prison_ids(link), s)
    cands = {c.output_id: c for c in build_candidates(matched, follow, s)}
    assert set(cands) == {"custody_match", "custody_recall", "custody_outcomes"}
    match = cands["custody_match"].data
    row = match.filter(pl.col("statistic") == "custodial index persons matched to a prison "
                       "journey: All").row(0, named=True)  # fmt: skip
    assert row["value"] == pytest.approx(2 / 3) and row["n_persons"] == 3
    for c in cands.values():
        assert c.data["n_persons"].null_count() == 0


def test_empty_prison_data():
    """No prison journeys (absent table): nothing matched, no follow-up, no error."""
    cohort = cohort_frame(
        [{"person_id": "p1", "index_defendant_on_case_id": "c1", "index_disposal_date": D,
          "soc": True, "custodial": True}]
    )  # fmt: skip
    matched, follow, _ = analyse(
        cohort,
        journeys_frame([]),
        prison_ids(link_frame([("crown", "x", "p1")])),
        CustodySettings(),
    )
    assert matched["match_type"].to_list() == [UNMATCHED]
    assert follow.height == 0
    assert (
        build_candidates(matched, follow, CustodySettings())[1].data.height == 8
    )  # 2 horizons x (3 groups + ratio)


def test_headline_recall_row(small_world):
    """The headline's recall row: the custody stage's cumulative incidence at 2 years when
    prison data exist; "needs prison data" when they do not."""
    cohort, journeys, link = small_world
    _, follow, _ = analyse(cohort, journeys, prison_ids(link), CustodySettings())
    rows = {r["population"]: r for r in recall_to_prison(follow).iter_rows(named=True)}
    assert set(rows) == {"SOC", "non-SOC", "all"}
    assert rows["SOC"]["value"] == pytest.approx(1.0) and rows["SOC"]["base"] == 1
    assert rows["non-SOC"]["value"] == 0.0 and rows["all"]["numerator"] == 1
    absent = recall_to_prison(None)
    assert absent["note"].to_list() == [NEEDS_PRISON_DATA] * 2


@pytest.mark.parametrize("stage", ["custody", "establishments"])
def test_report_sections_render_with_and_without_outputs(stage, small_world, tmp_path):
    """The sections render from checked outputs, and without any (not run or withheld)."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())[stage]
    if stage == "custody":
        cohort, journeys, link = small_world
        matched, follow, _ = analyse(cohort, journeys, prison_ids(link), CustodySettings())
        cands = build_candidates(matched, follow, CustodySettings())
        title = "After custody: recall and re-appearance"
    else:
        s = EstablishmentSettings()
        tables = ("prison_establishment_spells", "prison_incidents", "prison_journeys")
        empty = {t: pl.DataFrame(schema=schema.polars_schema(t)) for t in tables}
        ids = pl.DataFrame(schema={"row_id": pl.String, "person_id": pl.String})
        panel_parts = prepare_panel(*empty.values(), ids, s)
        parts = est_analyse(panel_parts, pl.DataFrame({"person_id": ["p"], "soc": [True]}), s)
        cands = est_candidates(*parts, s)
        title = "Establishments"
    write_candidates(cands, tmp_path / "c", stage=stage)
    disclose_stage(tmp_path / "c", tmp_path / "tables", tmp_path / "checked.json", SdcThresholds())
    checked = read_checked(tmp_path / "checked.json", tmp_path / "tables")
    draw_stage(checked, tmp_path / "drawn")
    views = build_views(checked, tmp_path / "fig", tmp_path, [tmp_path / "drawn"])
    env = _env()
    for suffix in ("html", "md"):
        tmpl = env.get_template(f"sections/{stage}.{suffix}.j2")
        page = tmpl.render(out=lambda i: views.get(i, OutputView(i)), cfg=cfg,
                           ctx={"synthetic": True})  # fmt: skip
        assert title in page and "SYNTHETIC DATA" in page
        bare = tmpl.render(out=OutputView, cfg=cfg, ctx={"synthetic": False})
        assert title in bare and "SYNTHETIC DATA" not in bare
