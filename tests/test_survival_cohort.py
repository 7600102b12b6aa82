"""Settings, linking, index events, new cases and follow-up of the survival stage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from socflow import survival as sv
from socflow.survival.prepare import (
    decode_persons,
    encode_persons,
    journey_score_variant,
    person_codes,
)

from .survival_helpers import D, make_settings

REPO = Path(__file__).resolve().parents[1]


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


def _follow(s: sv.Settings, min_score: float | None = None):
    crown, mags, link, journey, flags = _history()
    crown = sv.attach_person_ids(crown, sv.resolve_person_ids(link, "crown"))
    mags = sv.attach_person_ids(mags, sv.resolve_person_ids(link, "mags"))
    index, flow = sv.index_events(crown, flags, s)
    tables = sv.court_rows(crown, mags, journey, index, s)
    cases = sv.new_cases(tables, s, min_match_score=min_score)
    follow, no_time = sv.follow_up(index, cases, s)
    return index, flow, tables, cases, follow, no_time


def test_index_event_start_of_risk_and_first_event():
    s = make_settings()
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
    s = make_settings(merge_same_offence_date=False)
    *_, joined, _ = _follow(s, min_score=0.5)
    *_, split, _ = _follow(s, min_score=0.9)
    p_joined = joined.filter(pl.col("person") == "P")["n_window"][0]
    p_split = split.filter(pl.col("person") == "P")["n_window"][0]
    assert (p_joined, p_split) == (3, 4)


def test_timing_convicted_only_and_release_fraction():
    s = make_settings(timing="first_hearing")
    p = _follow(s)[4].filter(pl.col("person") == "P").row(0, named=True)
    assert p["event_date"] == D("2015-06-20")  # first hearing of m2
    s = make_settings(convicted_only=True)
    p = _follow(s)[4].filter(pl.col("person") == "P").row(0, named=True)
    # m2 was sent for trial (not a conviction) but C2 convicted within the waiting period.
    assert p["event_date"] == D("2015-06-01")
    s = make_settings(release_fraction=0.0)
    p = _follow(s)[4].filter(pl.col("person") == "P").row(0, named=True)
    assert p["start_date"] == D("2014-06-01")
    assert p["event_date"] == D("2014-07-01")  # the offence in custody now counts


def test_censoring_before_end_of_data_and_coverage():
    s = make_settings(coverage_end_date=D("2019-06-30"))
    assert s.censor_date == D("2018-06-30")
    assert s.censor_reason == "coverage falls away"
    _, _, _, _, follow, no_time = _follow(s)
    assert follow["person"].to_list() == ["P"]
    assert no_time["disposed on or after the censoring date"] == 1
    assert (follow["time"] <= (D("2018-06-30") - follow["start_date"][0]).days).all()


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


# ---------------------------------------------------------------------------------------------
# The case graph built once for every variant, and follow-ups on integer person codes


def _tiny_tables(tiny_canonical, s: sv.Settings):
    t = tiny_canonical
    link = t["xjs_link"].with_columns(pl.col("source_dataset").cast(pl.String))
    crown = sv.attach_person_ids(t["crown_defendant_cases"], sv.resolve_person_ids(link, "crown"))
    mags = sv.attach_person_ids(t["mags_defendant_cases"], sv.resolve_person_ids(link, "mags"))
    index, _ = sv.cohort_index(crown, s)
    tables = sv.court_rows(crown, mags, t["mags_crown_journey"], index, s)
    return crown, mags, index, tables


def _components_over_every_row(tables: sv.CaseTables, merge: bool, min_score: float):
    """The grouping as first written: every row joined to the first row of its case ID (and of
    its offence date), the journey links above the score, components over all rows."""
    rows = tables.rows
    anchors = [pl.col("node").min().over("person", "source", "case_id")]
    if merge:
        anchors.append(pl.col("node").min().over("person", "offence_date"))
    pairs = [rows.select(pl.col("node").alias("a"), anchor.alias("b")) for anchor in anchors]
    journey = tables.journey_edges.filter(
        pl.col("match_score").is_null() | (pl.col("match_score") >= min_score)
    )
    pairs.append(journey.select(pl.col("node_a").alias("a"), pl.col("node_b").alias("b")))
    edges = pl.concat([p.cast(pl.Int64) for p in pairs])
    n = rows.height
    graph = coo_matrix(
        (np.ones(edges.height), (edges["a"].to_numpy(), edges["b"].to_numpy())), shape=(n, n)
    )
    return connected_components(graph, directed=False)[1]


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = pl.DataFrame({"a": a, "b": b})
    return pairs.unique().height == pairs["a"].n_unique() == pairs["b"].n_unique()


def test_case_graph_groups_every_variant_as_the_graph_over_every_row(tiny_canonical):
    s = make_settings()
    *_, tables = _tiny_tables(tiny_canonical, s)
    graph = sv.CaseGraph(tables)
    sizes = set()
    for merge in (True, False):
        for score in (0.0, 0.5, 0.9, 2.0):
            label = graph.components(merge, score)
            assert _same_partition(label, _components_over_every_row(tables, merge, score))
            sizes.add(len(set(label.tolist())))
    # The variants group differently: the comparison covers same-date and journey links.
    assert len(sizes) >= 3


def test_index_case_marks_the_rows_of_the_persons_own_index_case(tiny_canonical):
    s = make_settings()
    *_, index, tables = _tiny_tables(tiny_canonical, s)
    marked = tables.rows.filter(pl.col("index_case")).select("person", "defendant_on_case_id")
    assert marked.sort("person").equals(index.select("person", "defendant_on_case_id"))


def test_person_codes_follow_the_sorted_persons_and_decode_back():
    index = pl.DataFrame({"person": ["XJS9", "XJS10", "XJS2"], "x": [1, 2, 3]})
    codes = person_codes(index)
    assert codes.to_dicts() == [
        {"code": 0, "person": "XJS10"},
        {"code": 1, "person": "XJS2"},
        {"code": 2, "person": "XJS9"},
    ]
    coded = encode_persons(index, codes)
    assert coded["person"].to_list() == [2, 0, 1]
    assert decode_persons(coded, codes).equals(index)


def test_cohort_follow_ups_equal_the_follow_up_of_each_variant_built_alone(tiny_canonical):
    """build_cohort groups on one graph and person codes; each variant built on its own from
    person IDs (court_rows, new_cases, follow_up) gives the same frame."""
    s = make_settings(sensitivity_journey_scores=(0.0, 0.5, 0.9))
    crown, mags, index, tables = _tiny_tables(tiny_canonical, s)
    cohort = sv.build_cohort(crown, mags, tiny_canonical["mags_crown_journey"], s)
    primary, no_time = sv.follow_up(index, sv.new_cases(tables, s), s)
    assert cohort.follow_ups[sv.PRIMARY].equals(primary)
    assert cohort.no_time == no_time
    unmerged = replace(s, merge_same_offence_date=False)
    for score in s.sensitivity_journey_scores:
        alone, _ = sv.follow_up(index, sv.new_cases(tables, unmerged, score), unmerged)
        assert cohort.follow_ups[journey_score_variant(score)].equals(alone)


def _status_frames() -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Two follow-ups of overlapping defendant-cases with different columns, and flags in
    another order (one defendant-case with a null flag)."""
    a = pl.DataFrame(
        {"person": ["p1", "p2", "p3"], "defendant_on_case_id": ["d3", "d1", "d2"],
         "custody": [True, False, False], "time": [10, 20, 30]}
    )  # fmt: skip
    b = pl.DataFrame(
        {"person": ["p2", "p4"], "defendant_on_case_id": ["d1", "d4"],
         "custody": [False, True], "event": [True, False]}
    )  # fmt: skip
    flags = pl.DataFrame(
        {"defendant_on_case_id": ["d4", "d2", "d1", "d3"], "soc": [True, None, False, True]}
    )
    return {"a": a, "b": b}, flags


def test_soc_status_of_several_frames_from_one_join_equals_each_frame_alone():
    frames, flags = _status_frames()
    s = make_settings()
    each = sv.with_soc_status_each(frames, flags, s)
    assert list(each) == ["a", "b"]
    for name, frame in frames.items():
        alone = sv.with_soc_status(frame, flags, s)
        assert each[name].equals(alone)
        assert each[name].columns[: frame.columns.index("custody") + 3][-3:] == [
            "soc", "custody", sv.GROUP,
        ]  # fmt: skip
    assert each["a"]["soc"].to_list() == [True, False, None]
    assert each["a"][sv.GROUP].to_list() == [sv.SOC_LABEL, sv.NON_SOC_LABEL, sv.NON_SOC_LABEL]
    assert each["b"]["soc"].to_list() == [False, True]
    assert sv.with_soc_status_each({}, flags, s) == {}


def test_soc_status_refuses_flags_with_a_repeated_defendant_case():
    frames, flags = _status_frames()
    repeated = pl.concat([flags, flags.head(1)])
    with pytest.raises(sv.SurvivalConfigError, match="defendant_on_case_id has repeated"):
        sv.with_soc_status_each(frames, repeated, make_settings())
