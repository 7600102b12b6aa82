"""Survival steps: aggregation to enough exits per step and the tail cut."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socflow.sdc import SURVIVAL_STATUS, SdcThresholds, aggregate_survival_steps

THR = SdcThresholds()


def table(rows):
    return pl.DataFrame(rows, schema=["time", "at_risk", "events", "censored"], orient="row")


def test_steps_are_merged_and_tail_cut():
    times = table(
        [
            (1, 100, 4, 1),  # 5 exits
            (2, 95, 3, 3),  # 11 cumulative -> first displayed step ends at 2
            (3, 89, 10, 0),  # 10 -> second step
            (5, 79, 2, 2),  # 4
            (8, 75, 20, 40),  # 64 -> third step (5..8)
            (9, 15, 2, 1),  # 3
            (10, 12, 1, 1),  # 2 -> short last run, merged into the one before
            (12, 9, 3, 0),  # fewer than 10 at risk: the tail is cut from here
            (14, 6, 6, 0),
        ]
    )
    out = aggregate_survival_steps(times, THR)
    assert out.columns == ["time_start", "time", "at_risk", "events", "censored", "exits"]
    assert out.rows() == [
        (1, 2, 100, 7, 4, 11),
        (3, 3, 89, 10, 0, 10),
        (5, 10, 79, 25, 44, 69),
    ]
    assert SURVIVAL_STATUS == "review"


def test_too_few_exits_shows_nothing():
    out = aggregate_survival_steps(table([(1, 30, 3, 0), (2, 27, 2, 1)]), THR)
    assert out.height == 0


def test_unsorted_input_raises():
    with pytest.raises(ValueError, match="sorted"):
        aggregate_survival_steps(table([(2, 30, 3, 0), (1, 27, 2, 1)]), THR)


@st.composite
def survival_tables(draw):
    n = draw(st.integers(0, 25))
    at_risk = draw(st.integers(0, 200))
    rows = []
    for t in range(n):
        events = draw(st.integers(0, min(at_risk, 15)))
        censored = draw(st.integers(0, min(at_risk - events, 10)))
        rows.append((t, at_risk, events, censored))
        at_risk -= events + censored
    return rows


@settings(max_examples=60, deadline=None)
@given(survival_tables())
def test_property_every_step_is_safe(rows):
    out = aggregate_survival_steps(table(rows) if rows else table([]).cast(pl.Int64), THR)
    assert all(e >= THR.survival_min_exits for e in out["exits"])
    assert all(a >= THR.survival_min_at_risk for a in out["at_risk"])
    # Steps are contiguous runs in time order and never use the cut tail.
    kept = [r for r in rows if r[1] >= THR.survival_min_at_risk]
    first_small = next((i for i, r in enumerate(rows) if r[1] < THR.survival_min_at_risk), None)
    if first_small is not None:
        kept = rows[:first_small]
    assert out["exits"].sum() <= sum(r[2] + r[3] for r in kept)
    starts = out["time_start"].to_list()
    ends = out["time"].to_list()
    assert all(s <= e for s, e in zip(starts, ends, strict=True))
    assert all(ends[i] < starts[i + 1] for i in range(len(starts) - 1))
