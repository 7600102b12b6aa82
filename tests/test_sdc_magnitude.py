"""Magnitude tables: threshold, dominance (N, K), p-ratio, negatives and secondary cells."""

import numpy as np
import polars as pl
import pytest

from socflow.sdc import SdcThresholds, check_magnitude_table, check_one_way_tables
from socflow.sdc.magnitude import per_person_sums, person_ordered

THR = SdcThresholds()


def contributions(cells):
    """cells: {(group, person_prefix): [values]} -> one record per value."""
    recs = []
    for (group, prefix), values in cells.items():
        for i, v in enumerate(values):
            recs.append({"g": group, "person": f"{prefix}{i}", "days": v})
    return pl.DataFrame(recs, schema={"g": pl.String, "person": pl.String, "days": pl.Float64})


def outcome(table, group):
    return table.cells.filter(pl.col("g") == group)["sdc"][0]


EVEN = [10.0 + i for i in range(12)]


def test_dominated_cell_fails_nk_rule():
    # [95, 3, 2, 1, ...]: the two largest hold 98 of 107 (92%).
    df = contributions({("A", "a"): [95.0, 3.0, 2.0] + [1.0] * 7, ("B", "b"): EVEN})
    t = check_magnitude_table(df, ["g"], "days", "person", THR, margins=False)
    assert "nk-rule" in outcome(t, "A").split("; ")
    assert t.cells.filter(pl.col("g") == "A").select("n", "total", "mean").row(0) == (
        None,
        None,
        None,
    )
    assert outcome(t, "B") == "ok"
    assert t.status == "review"
    checks = t.checks.filter(pl.col("row_label") == "A")
    assert checks["largest"][0] == 95.0
    assert checks["second"][0] == 3.0
    assert checks["top_n_share"][0] == pytest.approx(98 / 107)


def test_nk_rule_without_p_ratio():
    df = contributions({("A", "a"): [50.0, 45.0] + [1.0] * 10, ("B", "b"): EVEN})
    t = check_magnitude_table(df, ["g"], "days", "person", THR, margins=False)
    # Top two hold 95 of 105 (90.5%); (105 - 50 - 45) / 50 = 0.2 passes the p-ratio.
    assert outcome(t, "A") == "nk-rule"


def test_p_ratio_case():
    # With the default N=2, K=0.9, p=0.1 a p-ratio failure implies an N-K failure for
    # non-negative values, so a stricter p shows the p-ratio rule on its own.
    thr = SdcThresholds(p_ratio=0.5)
    df = contributions({("A", "a"): [40.0, 30.0] + [1.0] * 10, ("B", "b"): EVEN})
    t = check_magnitude_table(df, ["g"], "days", "person", thr, margins=False)
    # Top two hold 70 of 80 (87.5%); (80 - 40 - 30) / 40 = 0.25 < 0.5.
    assert outcome(t, "A") == "p-ratio"
    assert t.checks.filter(pl.col("row_label") == "A")["p_ratio"][0] == pytest.approx(0.25)


def test_contributions_are_added_per_person_first():
    # Twelve records but one person holds ten of them: two contributors only.
    recs = [{"g": "A", "person": "p0", "days": 5.0} for _ in range(10)]
    recs += [{"g": "A", "person": "p1", "days": 6.0}, {"g": "A", "person": "p1", "days": 1.0}]
    df = pl.DataFrame(recs)
    t = check_magnitude_table(df, ["g"], "days", "person", THR, margins=False)
    reasons = outcome(t, "A").split("; ")
    assert "threshold" in reasons
    assert t.checks["n"][0] == 2
    assert t.checks["largest"][0] == 50.0
    assert t.status == "fail"


def test_too_few_contributors():
    df = contributions({("A", "a"): EVEN[:9], ("B", "b"): EVEN})
    t = check_magnitude_table(df, ["g"], "days", "person", THR, margins=False)
    assert outcome(t, "A") == "threshold"


def test_negative_values_need_review_but_are_published():
    values = [*EVEN[:11], -3.0]
    df = contributions({("A", "a"): values, ("B", "b"): EVEN})
    t = check_magnitude_table(df, ["g"], "days", "person", THR, margins=False)
    assert outcome(t, "A") == "negative"
    assert t.cells.filter(pl.col("g") == "A")["total"][0] == pytest.approx(sum(values))
    assert t.status == "review"
    assert not t.suppressed


def test_missing_values_need_review():
    df = contributions({("A", "a"): [*EVEN, None], ("B", "b"): EVEN})
    t = check_magnitude_table(df, ["g"], "days", "person", THR, margins=False)
    assert outcome(t, "A") == "missing"
    assert t.status == "review"


def test_all_values_the_same():
    df = contributions({("A", "a"): [7.0] * 12, ("B", "b"): EVEN})
    t = check_magnitude_table(df, ["g"], "days", "person", THR, margins=False)
    assert outcome(t, "A") == "all-values-are-same"


def test_clean_table_passes():
    df = contributions({("A", "a"): EVEN, ("B", "b"): [x + 1 for x in EVEN]})
    t = check_magnitude_table(df, ["g"], "days", "person", THR)
    assert t.status == "pass"
    assert t.cells["mean"].to_list() == pytest.approx([sum(EVEN) / 12, sum(EVEN) / 12 + 1])
    assert t.total["n"][0] == 24


def test_secondary_only_when_a_total_is_published():
    df = contributions(
        {
            ("A", "a"): [95.0, 3.0, 2.0] + [1.0] * 7,
            ("B", "b"): [x * 3 for x in EVEN],
            ("C", "c"): EVEN,
        }
    )
    with_total = check_magnitude_table(df, ["g"], "days", "person", THR)
    # The total would reveal A as total - B - C: the smallest other cell (C) goes too.
    assert outcome(with_total, "C") == "secondary"
    assert outcome(with_total, "B") == "ok"
    assert with_total.total["total"][0] is not None
    no_total = check_magnitude_table(df, ["g"], "days", "person", THR, margins=False)
    assert outcome(no_total, "C") == "ok"
    assert no_total.total is None


def test_two_dimensional_secondary():
    recs = []
    for g, h, values in [
        ("A", "x", [950.0, 30.0, 20.0] + [1.0] * 10),
        ("A", "y", [20.0 + i for i in range(12)]),
        ("B", "x", [10.0 + i for i in range(15)]),
        ("B", "y", [5.0 + i for i in range(12)]),
    ]:
        for i, v in enumerate(values):
            recs.append({"g": g, "h": h, "person": f"{g}{h}{i}", "days": v})
    t = check_magnitude_table(pl.DataFrame(recs), ["g", "h"], "days", "person", THR)
    sdc = dict(zip(zip(t.cells["g"], t.cells["h"], strict=True), t.cells["sdc"], strict=True))
    assert sdc[("A", "x")] == "p-ratio; nk-rule"
    # Row A and column x each hold one suppression; complements complete the rectangle.
    assert sdc[("A", "y")] == "secondary"
    assert sdc[("B", "x")] == "secondary"
    assert sdc[("B", "y")] == "secondary"
    assert t.row_margins["sdc"].to_list() == ["ok", "ok"]
    assert t.status == "review"
    wide = t.to_display("total")
    assert wide.columns == ["g", "x", "y", "Total"]


def test_grand_total_failing_fails_the_table():
    df = contributions({("A", "a"): [5.0, 6.0], ("B", "b"): [7.0, 8.0]})
    t = check_magnitude_table(df, ["g"], "days", "person", THR)
    assert t.status == "fail"
    assert t.total["total"][0] is None
    assert t.cells["total"].null_count() == 2


def test_categories_fix_order_and_complete_cells():
    df = contributions({("A", "a"): EVEN, ("B", "b"): EVEN})
    t = check_magnitude_table(
        df, ["g"], "days", "person", THR, margins=False, categories={"g": ["C", "B", "A"]}
    )
    assert t.cells["g"].to_list() == ["C", "B", "A"]
    assert t.cells["sdc"][0] == "threshold"
    with pytest.raises(ValueError, match="miss observed"):
        check_magnitude_table(df, ["g"], "days", "person", THR, categories={"g": ["A"]})


def test_invalid_input():
    df = contributions({("A", "a"): EVEN})
    with pytest.raises(ValueError, match="one or two"):
        check_magnitude_table(df, [], "days", "person", THR)
    with pytest.raises(ValueError, match="missing column"):
        check_magnitude_table(df, ["g"], "nope", "person", THR)


def _contributions_of(n_persons, max_terms, seed):
    # Terms from 1e-8 to 1e8, mixed signs, shuffled rows; persons with one term and with many.
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_terms, n_persons)
    person = np.repeat(np.arange(n_persons), sizes)
    v = rng.standard_normal(len(person)) * 10.0 ** rng.integers(-8, 9, len(person))
    return pl.DataFrame(
        {
            "k": rng.integers(0, 3, len(person)).astype(str),
            "y": rng.integers(2013, 2016, len(person)).astype(np.int32),
            "__person__": person.astype(str),
            "__v__": v,
            "__neg__": (v < 0).astype(np.int64),
        }
    ).sample(fraction=1.0, shuffle=True, seed=1)


def _bits(s: pl.Series) -> np.ndarray:
    return s.to_numpy().view(np.int64)


@pytest.mark.parametrize(("n_persons", "max_terms"), [(3000, 40), (40, 3000), (20000, 3)])
def test_per_person_sums_match_sorting_inside_each_group(n_persons, max_terms):
    # The per-person sums are added in ascending order of the terms, persons in order: the
    # same bits as the group-by that sorts inside each group, whatever the row order and the
    # spread of magnitudes.
    contrib = _contributions_of(n_persons, max_terms, n_persons)
    for keys in (["k"], [], ["k", "y"]):
        cols = keys or ["__all__"]
        frame = contrib.with_columns(pl.lit(0).alias("__all__")) if not keys else contrib
        reference = (
            frame.group_by([*cols, "__person__"])
            .agg(pl.col("__v__").sort().sum(), pl.col("__neg__").sum())
            .sort([*cols, "__person__"])
            .drop("__person__")
        )
        got = per_person_sums(person_ordered(frame), cols)
        assert got.drop("__pc__").equals(reference)
        assert (_bits(got["__v__"]) == _bits(reference["__v__"])).all()


def _former_per_person_sums(contrib: pl.DataFrame, key_cols: list[str]) -> pl.DataFrame:
    """The implementation before one sort served every entry: a sort per entry."""
    return (
        contrib.sort([*key_cols, "__person__", "__v__"])
        .group_by([*key_cols, "__person__"], maintain_order=True)
        .agg(pl.col("__v__").sum(), pl.col("__neg__").sum())
    )


@pytest.mark.parametrize(("n_persons", "max_terms"), [(3000, 40), (40, 3000), (20000, 3)])
@pytest.mark.parametrize("key_dtype", [pl.String, pl.Int32, pl.Boolean])
def test_per_person_sums_equal_the_former_sort_per_entry(n_persons, max_terms, key_dtype):
    # Same rows, order, bits and sorted flags as one sort per entry, so that the entry
    # statistics computed from them (a group-by whose path depends on the flags) keep theirs.
    # (Not with a Categorical key: its sort set no flag, and polars summed such a group-by in
    # per-thread parts, so the former bits depended on the number of threads.)
    contrib = _contributions_of(n_persons, max_terms, n_persons + 7)
    k = pl.col("k").cast(pl.Int32) > 0 if key_dtype == pl.Boolean else pl.col("k").cast(key_dtype)
    contrib = contrib.with_columns(k, pl.lit(0).alias("__all__"))
    ordered = person_ordered(contrib)
    for cols in (["k"], ["__all__"], ["k", "y"], ["y", "k"]):
        former = _former_per_person_sums(contrib, cols)
        got = per_person_sums(ordered, cols)
        assert got.drop("__pc__").equals(former.drop("__person__"))
        assert (_bits(got["__v__"]) == _bits(former["__v__"])).all()
        assert [got[c].flags for c in cols] == [former[c].flags for c in cols]
        # Person ranks follow the persons' sort order.
        ranks = former["__person__"].rank("dense").cast(pl.Int64) - 1
        assert got["__pc__"].to_list() == ranks.to_list()


@pytest.mark.parametrize("margins", [True, False])
def test_one_way_tables_together_equal_each_table_alone(margins):
    # Several one-way tables of the same contributions share the sort by person and the grand
    # total: every table is the one checked alone, bits of the totals included.
    rng = np.random.default_rng(3)
    n = 4000
    person = rng.integers(0, 600, n)
    value = np.round(rng.exponential(50.0, n) ** 1.5, 3)
    value[rng.integers(0, n, 5)] = 1e6  # dominant contributors withhold some cells
    df = pl.DataFrame(
        {
            "a": rng.integers(0, 40, n).astype(str),
            "b": rng.choice(["x", "y", "z"], n),
            "c": rng.integers(0, 90, n),
            "person": person.astype(str),
            "days": value,
            "gap": rng.random(n) < 0.01,
        }
    ).with_columns(pl.when(~pl.col("gap")).then(pl.col("days")).alias("days"))
    together = check_one_way_tables(df, ["a", "b", "c"], "days", "person", THR, margins=margins)
    assert list(together) == ["a", "b", "c"]
    withheld = 0
    for d, table in together.items():
        alone = check_magnitude_table(df, [d], "days", "person", THR, margins=margins)
        assert table.status == alone.status
        for part in ("cells", "total", "checks"):
            got, expected = getattr(table, part), getattr(alone, part)
            if expected is None:
                assert got is None
                continue
            assert got.equals(expected)
            for c in ("total", "mean", "largest", "p_ratio"):
                if c in expected.columns:
                    assert (_bits(got[c].fill_null(0.0)) == _bits(expected[c].fill_null(0.0))).all()
        withheld += table.cells["total"].null_count()
    assert withheld > 0
    with pytest.raises(ValueError, match="at least one"):
        check_one_way_tables(df, [], "days", "person", THR)
