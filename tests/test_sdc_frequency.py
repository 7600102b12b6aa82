"""Frequency tables: primary and secondary suppression, rounding, and non-recoverability."""

import dataclasses

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socflow.sdc import (
    SdcThresholds,
    protect_frequency_table,
    suppression_intervals,
    suppression_is_safe,
)

THR = SdcThresholds()
ROUND = SdcThresholds(table_method="round")


def long_2d(grid, rows=None, cols=None, structural=None):
    rows = rows or [f"r{i}" for i in range(len(grid))]
    cols = cols or [f"c{j}" for j in range(len(grid[0]))]
    recs = []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            s = bool(structural[i][j]) if structural else False
            recs.append({"r": r, "c": c, "n": grid[i][j], "s": s})
    return pl.DataFrame(recs)


def long_1d(values, structural=None):
    return pl.DataFrame(
        {
            "r": [f"r{i}" for i in range(len(values))],
            "n": values,
            "s": structural or [False] * len(values),
        }
    )


def published(pt, frame="cells"):
    df = getattr(pt, frame)
    return df[pt.value].to_list()


# The worked example: one cell of 4 in a 3x3 table.
#        A   B   C
#   X    4  20  30
#   Y   15  25  12
#   Z   40  11  50
EXAMPLE = [[4, 20, 30], [15, 25, 12], [40, 11, 50]]


def example():
    return long_2d(EXAMPLE, rows=["X", "Y", "Z"], cols=["A", "B", "C"])


def test_primary_and_secondary_in_3x3():
    pt = protect_frequency_table(example(), "r", "c", "n", THR)
    assert pt.status == "review"
    outcome = {(r, c): o for r, c, o in pt.cells.select("r", "c", "sdc").iter_rows()}
    # Row X needs a complement: B (20) is its smallest other cell. Column A needs one:
    # Y (15) is its smallest. Row Y then holds one suppression and column B one, and
    # (Y, B) closes both, giving the classic rectangle.
    assert outcome == {
        ("X", "A"): "primary",
        ("X", "B"): "secondary",
        ("X", "C"): "ok",
        ("Y", "A"): "secondary",
        ("Y", "B"): "secondary",
        ("Y", "C"): "ok",
        ("Z", "A"): "ok",
        ("Z", "B"): "ok",
        ("Z", "C"): "ok",
    }
    assert published(pt) == [None, None, 30, None, None, 12, 40, 11, 50]
    # Margins and total are true sums and all published.
    assert published(pt, "row_margins") == [54, 52, 101]
    assert published(pt, "col_margins") == [59, 56, 92]
    assert pt.total[pt.value].to_list() == [207]
    assert pt.outcome_counts() == {
        "ok": 12,
        "primary": 1,
        "zero": 0,
        "secondary": 3,
        "rounded": 0,
    }


def test_lp_intervals_of_3x3():
    pt = protect_frequency_table(example(), "r", "c", "n", THR)
    iv = suppression_intervals(pt)
    got = {
        (r, c): (lo, hi)
        for r, c, lo, hi in iv.select("row_label", "col_label", "lower", "upper").iter_rows()
    }
    # x + b = 24 (row X), x + a = 19 (col A), b + y = 45 (col B), a + y = 40 (row Y).
    assert got == {
        ("X", "A"): (0.0, 19.0),
        ("X", "B"): (5.0, 24.0),
        ("Y", "A"): (0.0, 19.0),
        ("Y", "B"): (21.0, 40.0),
    }
    assert suppression_is_safe(pt)


def test_single_suppression_in_a_row_is_unsafe():
    pt = protect_frequency_table(example(), "r", "c", "n", THR)
    # Publish everything but the primary cell: it is the row margin minus the others.
    true = [v for row in EXAMPLE for v in row]
    naive = pt.cells.with_columns(pl.Series("n", [None, *true[1:]], dtype=pl.Int64))
    naive_pt = dataclasses.replace(pt, cells=naive)
    iv = suppression_intervals(naive_pt)
    assert iv.select("lower", "upper").row(0) == (4.0, 4.0)
    assert not suppression_is_safe(naive_pt)


def test_two_suppressions_per_line_can_still_be_unsafe():
    # Two 2x2 rectangles of suppressions joined by a "bridge" cell (r0, c2): every row
    # and column with a suppression has at least two, yet the bridge is recoverable.
    grid = [
        [20, 20, 20, 30],
        [20, 20, 30, 30],
        [30, 30, 20, 20],
        [30, 30, 20, 20],
    ]
    pt = protect_frequency_table(long_2d(grid), "r", "c", "n", THR)
    assert pt.status == "pass"
    hidden = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (0, 2)}
    values = [None if (i, j) in hidden else grid[i][j] for i in range(4) for j in range(4)]
    cells = pt.cells.with_columns(pl.Series("n", values, dtype=pl.Int64))
    crafted = dataclasses.replace(pt, cells=cells)
    iv = suppression_intervals(crafted)
    bridge = iv.filter((pl.col("row_label") == "r0") & (pl.col("col_label") == "c2"))
    assert bridge.select("lower", "upper").row(0) == (20.0, 20.0)
    assert not suppression_is_safe(crafted)


def test_lp_audit_escalates_where_the_line_rule_is_not_enough():
    # A block of four disclosive zeros. The line rule withholds the eight cells of rows
    # r0, r1 and columns c0, c1, but with all margins published rows r0 + r1 add up to
    # 45 and so does column c2's hidden part: the zero block is recoverable as 0.
    grid = [[0, 0, 18], [0, 0, 27], [27, 33, 18]]
    pt = protect_frequency_table(long_2d(grid), "r", "c", "n", THR)
    line_rule_only = [None] * 8 + [18]
    crafted = dataclasses.replace(
        pt,
        cells=pt.cells.with_columns(pl.Series("n", line_rule_only, dtype=pl.Int64)),
        row_margins=pt.row_margins.with_columns(pl.Series("n", [18, 27, 78])),
        col_margins=pt.col_margins.with_columns(pl.Series("n", [27, 33, 63])),
    )
    iv = suppression_intervals(crafted)
    assert iv.filter(pl.col("row_label") == "r0")["width"].to_list()[:2] == [0.0, 0.0]
    assert not suppression_is_safe(crafted)
    # The audit withholds margins until nothing is recoverable.
    assert pt.status == "review"
    assert suppression_is_safe(pt)
    assert pt.row_margins["sdc"].to_list()[:2] == ["secondary", "secondary"]


def test_one_dimensional_primary_forces_a_complement():
    pt = protect_frequency_table(long_1d([4, 30, 25, 40]), "r", None, "n", THR)
    assert pt.row_margins is None and pt.col_margins is None
    assert pt.cells["sdc"].to_list() == ["primary", "ok", "secondary", "ok"]
    assert published(pt) == [None, 30, None, 40]
    assert pt.total["n"].to_list() == [99]
    assert suppression_is_safe(pt)


def test_one_dimensional_small_hidden_group_gets_another_complement():
    # 4 and a disclosive zero: suppressing both still reveals "4 persons in r0 or r3",
    # so a third cell is withheld until the hidden group reaches the threshold.
    pt = protect_frequency_table(long_1d([4, 30, 25, 0]), "r", None, "n", THR)
    assert pt.cells["sdc"].to_list() == ["primary", "ok", "secondary", "zero"]
    assert suppression_is_safe(pt)
    naive = dataclasses.replace(
        pt, cells=pt.cells.with_columns(pl.Series("n", [None, 30, 25, None], dtype=pl.Int64))
    )
    assert suppression_is_safe(naive, check_groups=False)
    assert not suppression_is_safe(naive)


def test_structural_zeros_are_published_and_other_zeros_are_not():
    grid = [[0, 25, 30], [0, 40, 0], [12, 35, 44]]
    structural = [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
    df = long_2d(grid, structural=structural)
    pt = protect_frequency_table(df, "r", "c", "n", THR, structural_zero="s")
    sdc = pt.cells["sdc"].to_list()
    assert sdc[0] == "ok" and published(pt)[0] == 0
    assert sdc[3] == "zero" and sdc[5] == "zero"
    assert suppression_is_safe(pt)
    # Without the flag the first zero is disclosive too.
    pt2 = protect_frequency_table(df, "r", "c", "n", THR)
    assert pt2.cells["sdc"][0] == "zero"


def test_missing_combinations_are_zero_cells():
    df = pl.DataFrame({"r": ["a", "a", "b"], "c": ["x", "y", "x"], "n": [30, 40, 50]})
    pt = protect_frequency_table(df, "r", "c", "n", THR)
    assert pt.cells.height == 4
    assert pt.cells.filter((pl.col("r") == "b") & (pl.col("c") == "y"))["sdc"][0] == "zero"
    assert suppression_is_safe(pt)


def test_small_margin_is_primary():
    grid = [[2, 3, 1], [30, 40, 50], [25, 35, 45]]
    pt = protect_frequency_table(long_2d(grid), "r", "c", "n", THR)
    assert pt.row_margins["sdc"][0] == "primary"
    assert pt.row_margins["n"][0] is None
    assert pt.cells["sdc"].to_list()[:3] == ["primary"] * 3
    assert pt.status == "review"
    assert suppression_is_safe(pt)


def test_total_below_threshold_fails_and_publishes_nothing():
    pt = protect_frequency_table(long_2d([[1, 2], [3, 0]]), "r", "c", "n", THR)
    assert pt.status == "fail"
    assert pt.entries()["n"].null_count() == pt.entries().height
    assert pt.total["sdc"][0] == "primary"


def test_nothing_small_passes():
    pt = protect_frequency_table(long_2d([[10, 20], [30, 40]]), "r", "c", "n", THR)
    assert pt.status == "pass"
    assert set(pt.entries()["sdc"]) == {"ok"}
    assert not pt.suppressed


def test_display_layout():
    pt = protect_frequency_table(example(), "r", "c", "n", THR)
    wide = pt.to_display()
    assert wide.columns == ["r", "A", "B", "C", "Total"]
    assert wide["r"].to_list() == ["X", "Y", "Z", "Total"]
    assert wide.row(3) == ("Total", 59, 56, 92, 207)
    assert wide.row(0) == ("X", None, None, 30, 54)


def test_rounding_mode():
    pt = protect_frequency_table(example(), "r", "c", "n", ROUND)
    assert pt.status == "review"
    assert pt.method == "round"
    # 4 rounds to 5, below the threshold, so it is withheld; others round half up.
    assert published(pt) == [None, 20, 30, 15, 25, 10, 40, 10, 50]
    assert pt.cells["sdc"].to_list() == ["primary"] + ["rounded"] * 8
    # Margins are sums of the published rounded cells.
    assert published(pt, "row_margins") == [50, 50, 100]
    assert published(pt, "col_margins") == [55, 55, 90]
    assert pt.total["n"].to_list() == [200]
    assert suppression_is_safe(pt)


def test_rounding_keeps_structural_zero_and_marks_others():
    df = long_1d([0, 0, 23, 48], structural=[True, False, False, False])
    pt = protect_frequency_table(df, "r", None, "n", ROUND, structural_zero="s")
    assert published(pt) == [0, None, 25, 50]
    assert pt.cells["sdc"].to_list() == ["ok", "zero", "rounded", "rounded"]
    assert pt.total["n"].to_list() == [75]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"r": ["a", "a"], "n": [10, 20]}), "duplicate"),
        (pl.DataFrame({"r": ["a", "b"], "n": [10, -1]}), "negative"),
        (pl.DataFrame({"r": ["a", "b"], "n": [10.0, 2.0]}), "integer"),
        (pl.DataFrame({"r": ["a", None], "n": [10, 20]}), "nulls"),
        (pl.DataFrame({"r": ["a", "b"], "n": [10, None]}), "nulls"),
    ],
)
def test_invalid_input(frame, message):
    with pytest.raises(ValueError, match=message):
        protect_frequency_table(frame, "r", None, "n", THR)


def test_structural_flag_on_non_zero_raises():
    df = long_1d([5, 20], structural=[True, False])
    with pytest.raises(ValueError, match="structural"):
        protect_frequency_table(df, "r", None, "n", THR, structural_zero="s")


def test_deterministic():
    a = protect_frequency_table(example(), "r", "c", "n", THR)
    b = protect_frequency_table(example(), "r", "c", "n", THR)
    assert a.entries().equals(b.entries())


# ---------------------------------------------------------------- property-based tests

COUNT = st.one_of(st.just(0), st.integers(0, 9), st.integers(0, 60))


@st.composite
def tables_2d(draw):
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 6))
    grid = [[draw(COUNT) for _ in range(n_cols)] for _ in range(n_rows)]
    structural = [[v == 0 and draw(st.booleans()) for v in row] for row in grid]
    return grid, structural


@st.composite
def tables_1d(draw):
    values = draw(st.lists(COUNT, min_size=1, max_size=6))
    structural = [v == 0 and draw(st.booleans()) for v in values]
    return values, structural


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_published(pt, true_cells, structural, thr):
    """No published entry below the threshold unless a structural zero; values true."""
    entries = pt.entries()
    if pt.status == "fail":
        assert entries[pt.value].null_count() == entries.height
        return
    for kind, value in entries.select("kind", pt.value).iter_rows():
        if value is None:
            continue
        if kind == "cell":
            continue
        assert value >= thr.min_cell_count or value == 0
    for value, true, s in zip(pt.cells[pt.value].to_list(), true_cells, structural, strict=True):
        if value is None:
            assert not s
            continue
        assert value == true
        assert value >= thr.min_cell_count or (value == 0 and s)
    assert suppression_is_safe(pt)


@PROPERTY
@given(tables_2d())
def test_property_2d_suppression_is_protective(table):
    grid, structural = table
    pt = protect_frequency_table(
        long_2d(grid, structural=structural), "r", "c", "n", THR, structural_zero="s"
    )
    true = [v for row in grid for v in row]
    flat_s = [s for row in structural for s in row]
    _check_published(pt, true, flat_s, THR)
    if pt.status != "fail":
        # Published margins are the true sums.
        for i, v in enumerate(pt.row_margins["n"].to_list()):
            assert v is None or v == sum(grid[i])
        for j, v in enumerate(pt.col_margins["n"].to_list()):
            assert v is None or v == sum(row[j] for row in grid)
        # A published zero margin is structural: all its cells are structural zeros.
        for i, v in enumerate(pt.row_margins["n"].to_list()):
            assert v != 0 or all(structural[i])


@PROPERTY
@given(tables_1d())
def test_property_1d_suppression_is_protective(table):
    values, structural = table
    pt = protect_frequency_table(
        long_1d(values, structural), "r", None, "n", THR, structural_zero="s"
    )
    _check_published(pt, values, structural, THR)
    if sum(values) < THR.min_cell_count:
        assert pt.status == "fail"


@PROPERTY
@given(tables_2d())
def test_property_2d_rounding(table):
    grid, structural = table
    pt = protect_frequency_table(
        long_2d(grid, structural=structural), "r", "c", "n", ROUND, structural_zero="s"
    )
    base = ROUND.rounding_base
    entries = pt.entries()
    for value in entries["n"].to_list():
        assert value is None or value % base == 0
        assert value is None or value == 0 or value >= ROUND.min_cell_count
    if pt.status == "fail":
        assert entries["n"].null_count() == entries.height
        return
    n_cols = len(grid[0])
    cells = [v or 0 for v in pt.cells["n"].to_list()]
    rows = [cells[i * n_cols : (i + 1) * n_cols] for i in range(len(grid))]
    for i, v in enumerate(pt.row_margins["n"].to_list()):
        assert (v or 0) == sum(rows[i])
    for j, v in enumerate(pt.col_margins["n"].to_list()):
        assert (v or 0) == sum(r[j] for r in rows)
    assert pt.total["n"][0] == sum(cells)
    # Each published cell is its count rounded to the nearest multiple of the base.
    for v, true in zip(pt.cells["n"].to_list(), [x for r in grid for x in r], strict=True):
        assert v is None or abs(v - true) <= base // 2
    assert suppression_is_safe(pt)


@PROPERTY
@given(tables_1d())
def test_property_1d_rounding(table):
    values, structural = table
    pt = protect_frequency_table(
        long_1d(values, structural), "r", None, "n", ROUND, structural_zero="s"
    )
    cells = pt.cells["n"].to_list()
    assert all(v is None or v % ROUND.rounding_base == 0 for v in cells)
    if pt.status != "fail":
        assert pt.total["n"][0] == sum(v or 0 for v in cells)
