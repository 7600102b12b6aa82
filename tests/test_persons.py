"""The person-ID lookup (socflow.persons) against resolving the linking table directly."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from socflow import persons
from socflow.persons import (
    person_ids_of,
    person_lookup,
    read_link_rows,
    read_person_ids,
    write_person_lookup,
)
from socflow.survival.linking import resolve_person_ids

SOURCES = pl.Enum(["crown", "mags", "prison", "oasys", "probation", "pnc"])


def _link(seed: int = 7, n: int = 4000) -> pl.DataFrame:
    """A linking table with fan-out: some rows carry two or three person IDs, and some IDs are
    carried by many rows (so the two fan-out rules disagree on some rows)."""
    rng = np.random.default_rng(seed)
    source = rng.choice(["crown", "mags", "prison", "pnc"], size=n, p=[0.2, 0.5, 0.2, 0.1])
    row = rng.integers(0, n // 3, size=n)
    person = rng.zipf(1.6, size=n) % 500
    return (
        pl.DataFrame(
            {
                "source_dataset": source,
                "row_id": [f"r{r:05d}" for r in row],
                "person_id": [f"p{p:04d}" for p in person],
            }
        )
        .with_columns(pl.col("source_dataset").cast(SOURCES))
        .unique(maintain_order=True)
    )


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("row_id", "person_id", "n_ids").sort("row_id")


@pytest.mark.parametrize("rule", ["smallest", "most_linked"])
@pytest.mark.parametrize("dataset", ["crown", "mags", "prison", "pnc"])
def test_lookup_equals_direct_resolution(rule, dataset):
    link = _link()
    lookup = person_lookup(link)
    got = _sorted(person_ids_of(lookup, dataset, rule))
    want = _sorted(resolve_person_ids(link, dataset, rule))
    assert got.height > 100
    assert (want["n_ids"] > 1).sum() > 10  # the data do fan out
    assert got.equals(want)


def test_the_rules_differ_somewhere_and_most_linked_is_stored_only_where_they_do():
    lookup = person_lookup(_link())
    differs = lookup.filter(pl.col("person_id_most_linked").is_not_null())
    assert differs.height > 0
    assert (differs["person_id_most_linked"] != differs["person_id"]).all()
    assert (differs["n_ids"] > 1).all()


def test_one_row_per_dataset_row_in_a_fixed_order():
    link = _link()
    lookup = person_lookup(link)
    assert lookup.height == link.select("source_dataset", "row_id").unique().height
    assert lookup["source_dataset"].to_physical().is_sorted()
    assert person_lookup(link).equals(lookup)


def test_written_lookup_reads_back_per_dataset(tmp_path):
    link = _link()
    link.write_parquet(tmp_path / "link.parquet")
    counts = write_person_lookup(tmp_path / "link.parquet", tmp_path / "ids.parquet")
    lookup = person_lookup(link)
    assert counts == {
        s: lookup.filter(pl.col("source_dataset") == s).height
        for s in ("crown", "mags", "prison", "pnc")
    }
    for rule in ("smallest", "most_linked"):
        assert read_person_ids(tmp_path / "ids.parquet", "mags", rule).equals(
            person_ids_of(lookup, "mags", rule)
        )
    rows = read_link_rows(tmp_path / "ids.parquet", "crown")
    assert rows.columns == ["source_dataset", "row_id", "person_id"]
    assert rows["source_dataset"].cast(pl.String).unique().to_list() == ["crown"]


def test_empty_link_writes_an_empty_lookup(tmp_path):
    _link().head(0).write_parquet(tmp_path / "link.parquet")
    assert write_person_lookup(tmp_path / "link.parquet", tmp_path / "ids.parquet") == {}
    assert read_person_ids(tmp_path / "ids.parquet", "crown").height == 0
    assert read_link_rows(None, "crown").height == 0


def test_unknown_fanout_rule_is_refused():
    with pytest.raises(ValueError, match="fan-out rule"):
        person_ids_of(person_lookup(_link()), "crown", "largest")


def test_keys_flagged_as_repeated_include_every_repeated_key():
    keys = _link(seed=3)["row_id"]
    flagged = persons._repeated(keys)
    assert (flagged | ~keys.is_duplicated()).all()
    assert flagged.sum() == keys.is_duplicated().sum()  # no collision among so few hashes


def test_keys_flagged_wrongly_as_repeated_change_nothing(monkeypatch):
    # A hash collision flags keys that occur once: they are grouped with the repeated ones.
    link = _link(seed=5)
    expected = person_lookup(link)
    monkeypatch.setattr(persons, "_repeated", lambda keys: pl.repeat(True, keys.len(), eager=True))
    assert person_lookup(link).equals(expected)
