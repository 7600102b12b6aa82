"""Cross-check socflow's disclosure-control verdicts against ACRO's on the same outputs.

ACRO (the SACRO project's output checker, pinned in environment.dev.yml) is the reference
that UK trusted research environments run. Every test builds one seeded person-level
data set, hands it to both checkers, and compares their verdicts entry by entry.

What is compared, and why only that:

* ACRO counts rows; socflow counts distinct persons (frequency tables) or adds each
  person's contributions up before checking (magnitude tables). The data therefore have
  one row per person, where both definitions coincide.
* ACRO 1.0.2 reports per-entry outcomes as the names of its ontology checks
  ("MinimumThresholdCheck", "NKCheck", "PPercentCheck", "PresenceOfZeroCheck"), joined
  by "; " in the outcome frame of the last record (``acro.results.get_index(-1).outcome``).
  `ACRO_TO_SOCFLOW` maps them onto socflow's reasons; an unknown name fails the test.
* ACRO only flags; it has no secondary (complementary) suppression, and socflow's
  secondary outcomes are therefore left out of every comparison.
* With ``margins=True`` ACRO checks the margins and the grand total too (its count and
  evidence tables are built with the margins), so margins are compared as well.
* ACRO's thresholds are read from its own default config and asserted equal to
  socflow's defaults, so a drift in either is caught here first.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from socflow.sdc import (
    SdcThresholds,
    check_magnitude_table,
    check_model,
    protect_frequency_table,
    table_outcome,
)

# ACRO's import calls warnings.simplefilter("ignore", FutureWarning) (and logging.basicConfig):
# keep the warning filters of the rest of the test session as they were.
with warnings.catch_warnings():
    from acro import ACRO

# ACRO 1.0.2 hands numpy callables to pandas, which warns about it on every table.
pytestmark = pytest.mark.filterwarnings("ignore:The provided callable:FutureWarning")

THR = SdcThresholds()
MARGIN = "All"  # ACRO's (pandas') label of the margins
ACRO_TO_SOCFLOW = {
    "MinimumThresholdCheck": "threshold",
    "NKCheck": "nk-rule",
    "PPercentCheck": "p-ratio",
    "PresenceOfZeroCheck": "zero",
}
MAGNITUDE_REASONS = frozenset({"threshold", "nk-rule", "p-ratio"})

Key = tuple[str, str]


@pytest.fixture
def acro(tmp_path, monkeypatch, caplog):
    """A fresh ACRO session that neither chatters nor writes into the repository.

    No mitigation (suppress=False): ACRO's per-cell outcome is computed before any
    suppression, so the verdicts compared are the same either way.
    """
    monkeypatch.chdir(tmp_path)  # ACRO writes only on finalise(), and then only here
    caplog.set_level(logging.WARNING, logger="acro")
    session = ACRO(suppress=False)
    return session


def _acro_flags(session: ACRO) -> dict[Key, set[str]]:
    """Outcome of the last ACRO output: (row label, column label) -> socflow reasons."""
    outcome = session.results.get_index(-1).outcome
    flags: dict[Key, set[str]] = {}
    for row_label, line in outcome.iterrows():
        for col_label, text in line.items():
            names = [] if text == "ok" else [n.strip() for n in text.split(";") if n.strip()]
            unknown = [n for n in names if n not in ACRO_TO_SOCFLOW]
            assert not unknown, f"ACRO check not mapped to a socflow reason: {unknown}"
            flags[(str(row_label), str(col_label))] = {ACRO_TO_SOCFLOW[n] for n in names}
    return flags


def _socflow_keys(entries: pl.DataFrame) -> list[Key]:
    """(row label, column label) of socflow entries, margins labelled as ACRO labels them."""
    return [
        (r if r is not None else MARGIN, c if c is not None else MARGIN)
        for r, c in entries.select("row_label", "col_label").iter_rows()
    ]


def _person_frame(cell_sizes: dict[Key, int]) -> pl.DataFrame:
    """One row per person, `cell_sizes[(r, c)]` persons in each cell."""
    rows, cols, pids = [], [], []
    for (r, c), size in cell_sizes.items():
        for _ in range(size):
            rows.append(r)
            cols.append(c)
            pids.append(f"p{len(pids)}")
    return pl.DataFrame(
        {"r": rows, "c": cols, "pid": pids}, schema=dict.fromkeys(("r", "c", "pid"), pl.String)
    )


def _categorical(frame: pl.DataFrame, name: str, categories: list[str]) -> pd.Series:
    """A dimension for ACRO: categorical, so that empty categories still make cells."""
    values = pd.Categorical(frame[name].to_list(), categories=categories)
    return pd.Series(values, name=name)


def _labels(n_rows: int, n_cols: int) -> tuple[list[str], list[str]]:
    return [f"r{i}" for i in range(n_rows)], [f"c{j}" for j in range(n_cols)]


def test_thresholds_match_acro_defaults(acro):
    """ACRO's default risk appetite is socflow's default thresholds."""
    config = acro.config
    assert config["safe_threshold"] == THR.min_cell_count == 10
    assert config["safe_dof_threshold"] == THR.min_residual_df == 10
    assert config["safe_nk_n"] == THR.dominance_n == 2
    assert config["safe_nk_k"] == THR.dominance_k == 0.9
    assert config["safe_pratio_p"] == THR.p_ratio == 0.1
    assert config["zeros_are_disclosive"] is THR.zeros_disclosive is True


# --------------------------------------------------------------------------- frequency

FREQ_SHAPES = [(11, 2, 2), (12, 3, 4), (13, 5, 3), (14, 1, 6), (15, 6, 6), (16, 4, 5)]


def _frequency_sizes(rng: np.random.Generator, n_rows: int, n_cols: int) -> dict[Key, int]:
    """Cell sizes with a zero, a 9 and a 10 (the threshold) planted in every table.

    The other cells are zero, small (1-9) or safe (10-39) at random. With more than two
    rows the last row is empty, so a zero margin occurs as well.
    """
    rows, cols = _labels(n_rows, n_cols)
    filled = rows[:-1] if n_rows > 2 else rows
    keys = [(r, c) for r in filled for c in cols]
    more = rng.choice(["zero", "small", "safe"], size=len(keys) - 3, p=[0.15, 0.35, 0.5])
    kinds = ["zero", "nine", "ten", *more]
    rng.shuffle(kinds)
    draw = {
        "zero": lambda: 0,
        "nine": lambda: 9,
        "ten": lambda: 10,
        "small": lambda: int(rng.integers(1, 10)),
        "safe": lambda: int(rng.integers(10, 40)),
    }
    sizes = {(r, c): 0 for r in rows for c in cols}
    sizes.update({key: draw[kind]() for key, kind in zip(keys, kinds, strict=True)})
    return sizes


@pytest.mark.parametrize(("seed", "n_rows", "n_cols"), FREQ_SHAPES)
def test_frequency_threshold_cells_agree(acro, seed, n_rows, n_cols):
    """ACRO's threshold cells are exactly socflow's primary and zero suppressions.

    ACRO flags a zero count twice, as "MinimumThresholdCheck" (0 < 10) and as
    "PresenceOfZeroCheck"; socflow calls it "zero" rather than "primary". So the cells
    ACRO flags "threshold" must be socflow's primary plus zero cells, and ACRO's zero
    cells socflow's zero cells. Cells, margins and grand total are all compared. socflow's
    secondary suppressions have no counterpart in ACRO and are not compared; counts of
    distinct persons equal ACRO's row counts because each person is one row.
    """
    rng = np.random.default_rng(seed)
    rows, cols = _labels(n_rows, n_cols)
    people = _person_frame(_frequency_sizes(rng, n_rows, n_cols))

    acro.crosstab(_categorical(people, "r", rows), _categorical(people, "c", cols), margins=True)
    acro_flags = _acro_flags(acro)
    acro_table = acro.results.get_index(-1).output[0]

    counts = people.group_by("r", "c").agg(pl.col("pid").n_unique().alias("n"))
    grid = pl.DataFrame({"r": rows}).join(pl.DataFrame({"c": cols}), how="cross")
    long = grid.join(counts, on=["r", "c"], how="left").with_columns(pl.col("n").fill_null(0))
    entries = protect_frequency_table(long, "r", "c", "n", THR).entries()
    keys = _socflow_keys(entries)
    outcomes = dict(zip(keys, entries["sdc"].to_list(), strict=True))

    assert set(acro_flags) == set(keys), "ACRO and socflow tabulate different entries"
    acro_threshold = {k for k, f in acro_flags.items() if "threshold" in f}
    acro_zero = {k for k, f in acro_flags.items() if "zero" in f}
    socflow_primary_or_zero = {k for k, o in outcomes.items() if o in ("primary", "zero")}
    socflow_zero = {k for k, o in outcomes.items() if o == "zero"}
    assert acro_threshold == socflow_primary_or_zero
    assert acro_zero == socflow_zero
    # Not vacuous: every table has flagged and unflagged cells, zeros and small counts.
    assert socflow_zero and socflow_primary_or_zero - socflow_zero
    assert set(keys) - socflow_primary_or_zero
    # Both tabulate the same numbers: every published socflow value is ACRO's count.
    for key, value in zip(keys, entries["n"].to_list(), strict=True):
        if value is not None:
            assert acro_table.loc[key[0], key[1]] == value, key


# --------------------------------------------------------------------------- magnitude

MAG_SHAPES = [(21, 2, 3), (22, 3, 3), (23, 4, 2), (24, 1, 5), (25, 5, 4), (26, 3, 6)]
CELL_KINDS = ("empty", "small", "even", "one_dominant", "two_dominant")


def _cell_values(rng: np.random.Generator, kind: str) -> list[float]:
    """Per-person values of one cell of a given kind.

    "one_dominant": one person holds about 30 times the rest (fails the p-ratio and the
    N-K rule); "two_dominant": two persons hold about 5 times the rest each (N-K share
    above 0.9, p-ratio about 0.2: fails the N-K rule only); "even": gamma values, which
    pass both unless the cell is small.
    """
    if kind == "empty":
        return []
    if kind == "small":
        return list(rng.gamma(2.0, 10.0, size=int(rng.integers(1, 10))))
    rest = list(rng.gamma(2.0, 10.0, size=int(rng.integers(10, 30))))
    if kind == "one_dominant":
        return [*rest, 30.0 * sum(rest) * rng.uniform(1.0, 1.5)]
    if kind == "two_dominant":
        return [*rest, *(5.0 * sum(rest) * rng.uniform(0.95, 1.2, size=2))]
    return rest


def _magnitude_people(
    rng: np.random.Generator, n_rows: int, n_cols: int
) -> tuple[pl.DataFrame, dict[Key, str]]:
    rows, cols = _labels(n_rows, n_cols)
    keys = [(r, c) for r in rows for c in cols]
    kinds = [*CELL_KINDS, *rng.choice(CELL_KINDS, size=max(0, len(keys) - len(CELL_KINDS)))]
    rng.shuffle(kinds)
    kinds = kinds[: len(keys)]
    records = [
        {"r": r, "c": c, "v": float(v)}
        for (r, c), kind in zip(keys, kinds, strict=True)
        for v in _cell_values(rng, kind)
    ]
    people = pl.DataFrame(records, schema={"r": pl.String, "c": pl.String, "v": pl.Float64})
    people = people.with_columns(pl.format("p{}", pl.int_range(pl.len())).alias("pid"))
    return people, dict(zip(keys, kinds, strict=True))


def _compare_magnitude(acro, people: pl.DataFrame, rows, cols, aggfunc: str) -> dict:
    """Run both checkers; return socflow's reasons per entry after asserting agreement."""
    acro.crosstab(
        _categorical(people, "r", rows),
        _categorical(people, "c", cols),
        values=people["v"].to_pandas(),
        aggfunc=aggfunc,
        margins=True,
    )
    acro_flags = _acro_flags(acro)
    table = check_magnitude_table(
        people, ["r", "c"], "v", "pid", THR, margins=True, categories={"r": rows, "c": cols}
    )
    entries = table.entries()
    keys = _socflow_keys(entries)
    reasons = {
        k: set() if o == "ok" else set(o.split("; "))
        for k, o in zip(keys, entries["sdc"].to_list(), strict=True)
    }
    assert set(acro_flags) == set(keys), "ACRO and socflow tabulate different entries"
    for key in keys:
        assert acro_flags[key] == reasons[key] & MAGNITUDE_REASONS, key
    return reasons


@pytest.mark.parametrize("aggfunc", ["sum", "mean"])
@pytest.mark.parametrize(("seed", "n_rows", "n_cols"), MAG_SHAPES)
def test_magnitude_reasons_agree(acro, seed, n_rows, n_cols, aggfunc):
    """Per entry, ACRO's threshold / nk-rule / p-ratio flags are socflow's.

    ACRO checks a sum and a mean with the same rules (on the underlying values), so both
    are compared with the one socflow verdict. Compared on cells, margins and the grand
    total, restricted to the three shared reasons: ACRO 1.0.2 does not run its
    all-values-the-same check on sums or means, and has no secondary suppression. Values
    are positive: with a negative value anywhere ACRO stops assessing dominance at all,
    where socflow assesses it on absolute values.
    """
    rng = np.random.default_rng(seed)
    rows, cols = _labels(n_rows, n_cols)
    people, kinds = _magnitude_people(rng, n_rows, n_cols)
    reasons = _compare_magnitude(acro, people, rows, cols, aggfunc)
    # Not vacuous: the planted cells fail the rules they were built to fail.
    for key, kind in kinds.items():
        if kind in ("empty", "small"):
            assert "threshold" in reasons[key], key
        elif kind == "one_dominant":
            assert {"nk-rule", "p-ratio"} <= reasons[key], key
        elif kind == "two_dominant":
            assert reasons[key] & MAGNITUDE_REASONS == {"nk-rule"}, key


def test_magnitude_rule_boundaries_agree(acro):
    """Both apply K as "share >= 0.9 fails" and p as "ratio < 0.1 fails", and n < 10.

    Integer values keep the shares exact in floating point: a cell whose two largest hold
    exactly 90% fails the N-K rule in both; a cell whose remainder is exactly 10% of the
    largest passes the p-ratio in both; nine contributors fail the threshold, ten pass.
    """
    cells = {
        ("r0", "c0"): [80.0, 10.0] + [1.0] * 10,  # share 90/100: nk-rule
        ("r0", "c1"): [70.0, 10.0] + [2.0] * 10,  # share 80/100: (100-80)/70 > 0.1: ok
        ("r1", "c0"): [100.0, 1.0] + [1.0] * 10,  # p = 10/100 exactly: nk-rule only
        ("r1", "c1"): [100.0, 1.0] + [1.0] * 9 + [0.5],  # p = 9.5/100 < 0.1: both
        ("r2", "c0"): [5.0 + i for i in range(9)],  # nine contributors: threshold
        ("r2", "c1"): [5.0 + i for i in range(10)],  # ten: ok
    }
    records = [{"r": r, "c": c, "v": v} for (r, c), vs in cells.items() for v in vs]
    people = pl.DataFrame(records).with_columns(
        pl.format("p{}", pl.int_range(pl.len())).alias("pid")
    )
    reasons = _compare_magnitude(acro, people, ["r0", "r1", "r2"], ["c0", "c1"], "sum")
    shared = {k: reasons[k] & MAGNITUDE_REASONS for k in cells}
    assert shared == {
        ("r0", "c0"): {"nk-rule"},
        ("r0", "c1"): set(),
        ("r1", "c0"): {"nk-rule"},
        ("r1", "c1"): {"nk-rule", "p-ratio"},
        ("r2", "c0"): {"threshold"},
        ("r2", "c1"): set(),
    }


def test_all_zero_cell_is_withheld_by_both(acro):
    """A sum of zeros over many persons is withheld by both, for different reasons.

    It tells every contributor's value. socflow flags "all-values-are-same"; ACRO 1.0.2
    runs no such check on sums, but its p-ratio check scores a cell whose largest value
    is 0 as 0 (below p) and flags it. Only the withholding verdict is compared.
    """
    cells = {("r0", "c0"): [0.0] * 12, ("r0", "c1"): [3.0 + i for i in range(12)]}
    records = [{"r": r, "c": c, "v": v} for (r, c), vs in cells.items() for v in vs]
    people = pl.DataFrame(records).with_columns(
        pl.format("p{}", pl.int_range(pl.len())).alias("pid")
    )
    acro.crosstab(
        people["r"].to_pandas(),
        people["c"].to_pandas(),
        values=people["v"].to_pandas(),
        aggfunc="sum",
    )
    flags = _acro_flags(acro)
    table = check_magnitude_table(people, ["r", "c"], "v", "pid", THR, margins=False)
    withheld = dict(
        zip(_socflow_keys(table.entries()), table.cells["total"].is_null(), strict=True)
    )
    assert bool(flags[("r0", "c0")]) and withheld[("r0", "c0")]
    assert not flags[("r0", "c1")] and not withheld[("r0", "c1")]


# --------------------------------------------------------------------------- models

NO_LEVELS = pl.DataFrame(
    schema={"term": pl.String, "level": pl.String, "persons": pl.Int64, "events": pl.Int64}
)


@pytest.mark.parametrize("n_obs", [12, 13, 14, 40])
def test_logit_dof_verdict_agrees(acro, n_obs):
    """ACRO's degrees-of-freedom verdict on a logit is check_model's residual_df verdict.

    Three parameters (constant and two covariates), so the residual df is n_obs - 3:
    9 (fails), 10 (the threshold: passes), 11 and 37. socflow is given the df computed
    here from the design, not ACRO's, and ACRO's own df must equal it too. Only the df
    rule is compared: ACRO runs no per-level count check on regressions.
    """
    rng = np.random.default_rng(100 + n_obs)
    x = rng.normal(size=(n_obs, 2))
    # Labels that are not separable by the covariates, so that the fit converges.
    y = (x[:, 0] + rng.normal(scale=2.0, size=n_obs) > 0).astype(float)
    y[:2] = [0.0, 1.0]
    exog = np.column_stack([np.ones(n_obs), x])
    with contextlib.redirect_stdout(io.StringIO()):
        acro.logit(y, exog)
    record = acro.results.get_index(-1)

    df = n_obs - exog.shape[1]
    check = check_model(df, NO_LEVELS, THR)
    assert record.properties["dof"] == df
    assert (record.status == "pass") == check.residual_df_ok == (check.status == "pass")
    assert check.residual_df_ok == (df >= 10)


@pytest.mark.parametrize(("seed", "n_rows", "n_cols"), FREQ_SHAPES)
def test_record_outcome_uses_acro_check_names(acro, seed, n_rows, n_cols):
    """The outcome socflow writes into results.json is ACRO's, cell by cell, in ACRO's names.

    Compared on ACRO's own checks (MinimumThresholdCheck, PresenceOfZeroCheck); socflow's
    SecondarySuppression has no ACRO counterpart. Margins: ACRO's "All" is socflow's "Total".
    """
    rng = np.random.default_rng(seed)
    rows, cols = _labels(n_rows, n_cols)
    people = _person_frame(_frequency_sizes(rng, n_rows, n_cols))
    acro.crosstab(_categorical(people, "r", rows), _categorical(people, "c", cols), margins=True)
    acro_outcome = acro.results.get_index(-1).outcome
    counts = people.group_by("r", "c").agg(pl.col("pid").n_unique().alias("n"))
    grid = pl.DataFrame({"r": rows}).join(pl.DataFrame({"c": cols}), how="cross")
    long = grid.join(counts, on=["r", "c"], how="left").with_columns(pl.col("n").fill_null(0))
    ours = table_outcome(protect_frequency_table(long, "r", "c", "n", THR))
    shared = {"MinimumThresholdCheck", "PresenceOfZeroCheck"}
    compared = 0
    for row_label, line in acro_outcome.iterrows():
        for col_label, text in line.items():
            theirs = {n.strip() for n in text.split(";") if n.strip()} - {"ok"}
            mine = ours["Total" if col_label == MARGIN else str(col_label)][
                "Total" if row_label == MARGIN else str(row_label)
            ]
            assert {n.strip() for n in mine.split(";") if n.strip()} & shared == theirs
            compared += bool(theirs)
    assert compared  # not vacuous: flagged cells were compared
