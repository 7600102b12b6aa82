"""Counts per level from integer codes (`socflow.model.counts`) and the preparation built on
them: exactly what the group-bys over the population's string columns give."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from socflow import model as M
from socflow.model.counts import PopulationCodes
from socflow.model.prepare import nested_codes, soc_block, soc_level_stats


def _population(seed: int, n: int = 4000) -> pl.DataFrame:
    """Rows of persons with one or several defendant-cases (a third of persons have several,
    in different levels), an event with missing values, and terms of few and many levels."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, int(n * 0.7), n)
    court = rng.integers(0, 40, n)
    event = rng.random(n) < 0.2
    years = ["2010", "2011", "2012", "2013", "2014"]
    return pl.DataFrame(
        {
            "person": person.astype(np.uint32),
            "court_id": np.char.add("c", court.astype(str)),
            "region": np.char.add("r", (court // 8).astype(str)),
            "year": rng.choice(years, n, p=[0.002, 0.2, 0.3, 0.3, 0.198]),
            "group": rng.choice(["a", "b", "c", "d", "e"], n, p=[0.6, 0.3, 0.06, 0.035, 0.005]),
            "event": pl.Series(event).set(pl.Series(rng.random(n) < 0.02), None),
            "soc": rng.choice([M.SOC_NO, M.SOC_YES], n, p=[0.9, 0.1]),
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("term", ["court_id", "year", "group", "soc"])
def test_counts_equal_the_group_by_under_any_merging(seed, term):
    frame = _population(seed)
    counter = PopulationCodes(frame).counter(term, "event")
    assert_frame_equal(counter.counts(), M.level_counts(frame, term, "event"))
    rng = np.random.default_rng(seed)
    levels = counter.levels
    for n_groups in (1, 2, len(levels) // 2 + 1):
        mapping = {lv: f"m{rng.integers(0, n_groups)}" for lv in levels}
        merged = frame.with_columns(pl.col(term).replace_strict(mapping))
        assert_frame_equal(counter.counts(mapping), M.level_counts(merged, term, "event"))


def test_a_person_counts_once_per_merged_level():
    frame = pl.DataFrame(
        {
            "person": [1, 1, 1, 2, 2, 3],
            "t": ["a", "b", "b", "a", "c", "c"],
            "event": [True, False, True, None, False, True],
        },
        schema_overrides={"person": pl.UInt32},
    )
    counts = PopulationCodes(frame).counter("t", "event").counts({"a": "x", "b": "x", "c": "c"})
    assert counts.rows() == [("c", 2, 2, 1, 1), ("x", 4, 2, 1, 1)]


@pytest.mark.parametrize("seed", [4, 5])
def test_nested_terms_from_codes_equal_the_group_by(seed):
    frame = _population(seed)
    codes = PopulationCodes(frame)
    row_codes = {t: codes.term(t).codes for t in ("court_id", "region", "year", "group")}
    terms = ["region", "year", "group"]
    assert nested_codes(row_codes, terms, "court_id") == M.nested_terms(frame, terms, "court_id")
    assert nested_codes(row_codes, terms, "court_id") == ["region"]


def _prepared_population(seed: int) -> pl.DataFrame:
    return (
        _population(seed, n=6000)
        .rename({"event": "either", "year": "receipt_year", "group": "offence_group"})
        .with_columns(
            pl.col("either").fill_null(False),
            pl.col("court_id").alias("cluster"),
            pl.col("soc").alias("soc__other"),
        )
        .with_columns(
            (pl.col("either") & (pl.col("person") % 3 == 0)).alias("discontinued"),
            (pl.col("either") & (pl.col("person") % 3 != 0)).alias("dismissed"),
        )
    )


@pytest.mark.parametrize("seed", [6, 7])
def test_prepared_outcome_equals_the_frame_built_one(seed, config):
    """Level counts, references, design blocks and nested terms from codes are those built
    from the merged frame (`model_levels`, `_reference`, `design_block`, `nested_terms`)."""
    settings = dataclasses.replace(
        M.ModelSettings.from_config(config["model"], config["sdc"]),
        unadjusted=("soc",),
        adjusted=("soc", "offence_group", "receipt_year", "region"),
        ordered_terms=("receipt_year",),
    )
    pop = _prepared_population(seed)
    codes = PopulationCodes(pop)
    prepared = M.prepare_outcome(pop, "either", settings, codes)
    frame = prepared.frame
    assert any(prepared.messages.values())  # some levels were merged
    fe = settings.fixed_effects
    for t in ["offence_group", "receipt_year", "region", fe]:
        assert_frame_equal(prepared.level_stats[t], M.model_levels(frame, [t], "either"))
        reference = M.levels._reference(frame, t, settings)
        assert prepared.references[t] == reference
        block = M.design_block(frame, t, reference)
        assert prepared.blocks[t].names == block.names
        np.testing.assert_array_equal(prepared.blocks[t].codes, block.codes)
        assert (prepared.blocks[t].matrix != block.matrix).nnz == 0
    terms = ["offence_group", "receipt_year", "region"]
    assert prepared.nested == M.nested_terms(frame, terms, fe)
    assert prepared.n_persons == frame["person"].n_unique()
    np.testing.assert_array_equal(prepared.clusters, frame["cluster"].rank("dense").to_numpy())
    for t in ["offence_group", "receipt_year", "region"]:
        classes = [M.OUTCOME_LABELS["discontinued"], M.OUTCOME_LABELS["dismissed"], "Neither"]
        assert_frame_equal(
            M.levels_candidate(prepared, t).data,
            M.candidates._levels_by_class(frame, t, classes),
        )
    for column in ("soc", "soc__other"):
        block = M.design_block(frame, column, M.SOC_NO)
        np.testing.assert_array_equal(soc_block(prepared, column).codes, block.codes)
        assert_frame_equal(
            soc_level_stats(prepared, column), M.model_levels(frame, [column], "either")
        )


def test_pattern_rows_stacked_directly_equal_the_stacked_blocks():
    rng = np.random.default_rng(8)
    n = 3000
    frame = pl.DataFrame(
        {
            "soc": rng.choice([M.SOC_NO, M.SOC_YES], n),
            "a": rng.choice(["x", "y", "z"], n),
            "v": np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n)),
        }
    )
    blocks = [
        M.design_block(frame, "soc", M.SOC_NO),
        M.design_block(frame, "a", "y"),
        M.design_block(frame, "v", None, numeric=True),
    ]
    rows = rng.choice(n, 500, replace=False)
    direct, names = M.stack_block_rows(rows, blocks)
    stacked, stacked_names = M.stack_blocks(len(rows), [b.take(rows) for b in blocks])
    assert names == stacked_names
    for part in ("data", "indices", "indptr"):
        a, b = getattr(direct, part), getattr(stacked, part)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("max_marked", [1 << 24, 8])
def test_pattern_index_numbers_patterns_in_key_order(monkeypatch, max_marked):
    """Patterns numbered block by block are `np.unique`'s numbering of the whole mixed-radix
    key (marking keys, or sorting where the keys would be too many to mark)."""
    monkeypatch.setattr(M.design, "MAX_MARKED_KEYS", max_marked)
    rng = np.random.default_rng(9)
    n = 5000
    frame = pl.DataFrame(
        {
            t: rng.choice([f"{t}{i}" for i in range(k)], n)
            for t, k in [("a", 3), ("b", 7), ("c", 40)]
        }
    )
    blocks = [M.design_block(frame, t, f"{t}0") for t in ("a", "b", "c")]
    key = np.zeros(n, dtype=np.int64)
    for b in blocks:
        key = key * (b.width + 1) + (b.codes + 1)
    expected = np.unique(key, return_inverse=True)[1]
    got = M.pattern_index(blocks)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
