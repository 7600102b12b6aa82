"""Magnitude tables (sums and means, e.g. harm scores or custody days): dominance checks.

Every cell (and, when margins are published, every margin and the grand total) is checked
on the per-person totals of its contributors: contributions are first added up per person
within the cell, so one person with many records counts once and with their whole amount.

Checks, with their ACRO names:

* "threshold": fewer than `min_cell_count` distinct contributors;
* "nk-rule": the `dominance_n` largest contributors hold `dominance_k` or more of the cell
  total (the rule requires them to be under K);
* "p-ratio": (total - largest - second largest) / largest < `p_ratio`, i.e. the second
  largest contributor could estimate the largest to within p per cent;
* "all-values-are-same": every contributor has the same value, so the mean is each
  person's value;
* "negative", "missing": negative or missing contributions. These need manual review (the
  table status becomes "review") but do not by themselves withhold the cell. With
  negative values the dominance checks use absolute values, so that positive and
  negative amounts cannot offset each other and hide a dominant contributor.

Failing cells are withheld (n, total and mean all null). When margins are published, a
line (row, column, or the line of margins) with exactly one withheld entry gets a
secondary suppression: its smallest remaining cell by total, so that the withheld value
is not the published whole minus the published parts. This is the classic rule only; the
linear-programming audit used for frequency tables is not applied to magnitudes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from .frequency import (
    SDC_COLUMN,
    TOTAL_LABEL,
    _display,
    _entries_frame,
    _layout,
    _outcome_grid,
)
from .thresholds import SdcThresholds

THRESHOLD = "threshold"
NK_RULE = "nk-rule"
P_RATIO = "p-ratio"
ALL_SAME = "all-values-are-same"
NEGATIVE = "negative"
MISSING = "missing"
SECONDARY = "secondary"
OK = "ok"
# Reasons that withhold an entry, in the order they are reported.
WITHHOLDING: tuple[str, ...] = (THRESHOLD, P_RATIO, NK_RULE, ALL_SAME, SECONDARY)
# Reasons that only flag an entry for manual review.
REVIEW_ONLY: tuple[str, ...] = (NEGATIVE, MISSING)

PUBLISHED_STATS: tuple[str, ...] = ("n", "total", "mean")
_CHECK_COLUMNS: tuple[str, ...] = (
    "n",
    "total",
    "largest",
    "second",
    "top_n_share",
    "p_ratio",
    "negatives",
    "missing",
)


@dataclass(frozen=True)
class MagnitudeTable:
    """A magnitude table after disclosure control.

    `cells` (and `row_margins`, `col_margins`, `total` when margins are published) hold
    the dimension column(s), `n` (distinct contributors), `total`, `mean` (all null when
    withheld) and `sdc`: "ok" or the reasons, joined by "; ". `checks` holds the
    statistics behind the checks (largest and second largest contributions, shares): it
    is evidence for the output checker and must never be released. `status` is "pass",
    "review" (something withheld, or negative or missing values) or "fail".
    """

    cells: pl.DataFrame
    row_margins: pl.DataFrame | None
    col_margins: pl.DataFrame | None
    total: pl.DataFrame | None
    checks: pl.DataFrame
    status: str
    row: str
    col: str | None
    value: str

    def entries(self) -> pl.DataFrame:
        """Every entry in one frame: kind, row label, column label, n, total, mean, sdc."""
        if self.total is None:
            return _cells_only(self)
        return _entries_frame(self, list(PUBLISHED_STATS))

    def reason_counts(self) -> dict[str, int]:
        """Number of entries failing each check (an entry may fail several)."""
        counts = dict.fromkeys((*WITHHOLDING, *REVIEW_ONLY), 0)
        for outcome in self.entries()[SDC_COLUMN].to_list():
            for reason in _split(outcome):
                counts[reason] += 1
        return counts

    @property
    def suppressed(self) -> bool:
        """Whether any entry is withheld."""
        return self.entries()["total"].null_count() > 0

    def to_display(self, stat: str = "total", total_label: str = TOTAL_LABEL) -> pl.DataFrame:
        """Wide table of one published statistic, withheld entries null."""
        if stat not in PUBLISHED_STATS:
            raise ValueError(f"stat must be one of {PUBLISHED_STATS}")
        wide = _display(_with_total(self), stat, total_label)
        if self.total is None:
            # Margins are not published: drop the placeholder total row and column.
            wide = wide.head(wide.height - 1)
            if self.col is not None:
                wide = wide.drop(total_label)
        return wide

    def outcome_grid(self, total_label: str = TOTAL_LABEL) -> tuple[list[str], list[str], list]:
        """Row labels, column labels and outcomes laid out as in `to_display`."""
        rows, cols, grid = _outcome_grid(_with_total(self), total_label, self.value)
        if self.total is None:
            rows, grid = rows[:-1], grid[:-1]
            if self.col is not None:
                cols, grid = cols[:-1], [g[:-1] for g in grid]
        return rows, cols, grid


def _split(outcome: str) -> list[str]:
    return [] if outcome == OK else outcome.split("; ")


def _cells_only(table: MagnitudeTable) -> pl.DataFrame:
    col = pl.col(table.col).cast(pl.String) if table.col else pl.lit(None, dtype=pl.String)
    return table.cells.select(
        pl.lit("cell").alias("kind"),
        pl.col(table.row).cast(pl.String).alias("row_label"),
        col.alias("col_label"),
        *PUBLISHED_STATS,
        SDC_COLUMN,
    )


@dataclass(frozen=True)
class _Margined:
    """View of a table without published margins that shows blank margins for display."""

    cells: pl.DataFrame
    row_margins: pl.DataFrame | None
    col_margins: pl.DataFrame | None
    total: pl.DataFrame
    row: str
    col: str | None


def _with_total(table: MagnitudeTable) -> Any:
    if table.total is not None:
        return table

    def blank(df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns(
            pl.lit(None, dtype=pl.Int64).alias("n"),
            pl.lit(None, dtype=pl.Float64).alias("total"),
            pl.lit(None, dtype=pl.Float64).alias("mean"),
            pl.lit("not published").alias(SDC_COLUMN),
        )

    rows = blank(table.cells.select(pl.col(table.row).unique(maintain_order=True)))
    cols = None
    if table.col is not None:
        cols = blank(table.cells.select(pl.col(table.col).unique(maintain_order=True)))
    total = blank(pl.DataFrame({"_": [0]})).drop("_")
    return _Margined(table.cells, rows if table.col else None, cols, total, table.row, table.col)


def person_ordered(contrib: pl.DataFrame) -> pl.DataFrame:
    """The contributions (`__person__`, `__v__`, ...) sorted by person, then value, with
    `__pc__`, the person's rank (0, 1, ...), and `__shared__`, whether the person has more
    than one contribution. One sort serves every entry of a table (`per_person_sums`)."""
    ordered = contrib.sort(["__person__", "__v__"])
    pc = ordered["__person__"].rle_id().to_numpy().astype(np.int64)
    rows_of = np.bincount(pc) if len(pc) else np.zeros(0, dtype=np.int64)
    # Built from numpy: the columns carry no sorted flag (see `per_person_sums`).
    return ordered.with_columns(
        pl.Series("__pc__", pc, dtype=pl.Int64),
        pl.Series("__shared__", rows_of[pc] > 1, dtype=pl.Boolean),
    )


def per_person_sums(ordered: pl.DataFrame, key_cols: list[str]) -> pl.DataFrame:
    """Each person's sum of `__v__` (and count of `__neg__`) per entry of `key_cols`, from
    `person_ordered` contributions: the key columns, `__pc__`, `__v__` and `__neg__`, rows
    ordered by entry and person, the first key column flagged sorted.

    Sorted by person: a float total depends on the order of its terms, and identical runs
    must publish identical totals. A person's terms are added in ascending order: the rows are
    ordered by person and value, and an order-keeping group-by on (person, entry) adds each
    group's terms in row order, with the kernel of the former group-by on rows sorted per
    entry (same bits: tests/test_sdc_magnitude.py). A person with one contribution is its own
    sum (bit for bit, -0.0 included) and skips the group-by: most groups at `full`.
    """
    n_persons = int(ordered["__pc__"].max()) + 1 if ordered.height else 1
    entry = np.zeros(ordered.height, dtype=np.int64)
    levels = []
    for k in key_cols:
        # Codes in the order of the sorted values, so that integer order is entry order.
        values = ordered[k].unique().sort()
        code = ordered[k].replace_strict(
            values, pl.int_range(values.len(), eager=True), return_dtype=pl.Int64
        )
        entry = entry * values.len() + code.to_numpy()
        levels.append(values)
    frame = pl.DataFrame(
        [ordered["__pc__"], pl.Series("__e__", entry), ordered["__v__"], ordered["__neg__"]]
    )
    shared = ordered["__shared__"]
    # The rows are in person order: flagged so, the person key keeps polars on its default
    # group-by (a key without a sorted flag and few distinct values would be summed in
    # per-thread parts, whose float sums depend on the number of threads).
    summed = (
        frame.filter(shared)
        .with_columns(pl.col("__pc__").set_sorted())
        .group_by("__pc__", "__e__", maintain_order=True)
        .agg(pl.col("__v__").sum(), pl.col("__neg__").sum())
    )
    sums = (
        pl.concat([frame.filter(~shared), summed])
        .with_columns((pl.col("__e__") * n_persons + pl.col("__pc__")).alias("__g__"))
        .sort("__g__")
    )
    g = sums["__g__"].to_numpy()
    rest = g // n_persons
    keys: dict[str, pl.Series] = {}
    for k, values in reversed(list(zip(key_cols, levels, strict=True))):
        keys[k] = values.gather(rest % values.len())
        rest = rest // values.len()
    out = pl.DataFrame(
        [*[keys[k] for k in key_cols], pl.Series("__pc__", g % n_persons), sums["__v__"],
         sums["__neg__"]]
    )  # fmt: skip
    # The former sort by entry flagged the first key: the entry statistics' group-by takes
    # the same path (slices of sorted rows) and adds the persons' sums with the same kernel.
    return out.with_columns(pl.col(key_cols[0]).set_sorted())


def _entry_stats(
    contrib: pl.DataFrame, missing: pl.DataFrame, keys: list[str], thr: SdcThresholds
) -> pl.DataFrame:
    """Check statistics per entry, from person-level contributions of the given keys."""
    key_cols = keys or ["__all__"]
    if not keys:
        contrib = contrib.with_columns(pl.lit(0).alias("__all__"))
        missing = missing.with_columns(pl.lit(0).alias("__all__"))
    per_person = per_person_sums(contrib, key_cols)
    absv = pl.col("__v__").abs().sort(descending=True)
    stats = per_person.group_by(key_cols, maintain_order=True).agg(
        pl.len().alias("n"),
        pl.col("__v__").sum().alias("total"),
        pl.col("__v__").abs().sum().alias("abs_total"),
        absv.first().alias("largest"),
        absv.slice(1, 1).first().fill_null(0.0).alias("second"),
        absv.head(thr.dominance_n).sum().alias("top_n"),
        (pl.col("__v__").max() == pl.col("__v__").min()).alias("same"),
        pl.col("__neg__").sum().alias("negatives"),
    )
    miss = missing.group_by(key_cols).agg(pl.len().alias("missing"))
    out = stats.join(miss, on=key_cols, how="full", coalesce=True).with_columns(
        pl.col("n").fill_null(0).cast(pl.Int64),
        pl.col("missing").fill_null(0).cast(pl.Int64),
        pl.col("negatives").fill_null(0).cast(pl.Int64),
    )
    return out.with_columns(
        pl.when(pl.col("abs_total") > 0)
        .then(pl.col("top_n") / pl.col("abs_total"))
        .otherwise(None)
        .alias("top_n_share"),
        pl.when(pl.col("largest") > 0)
        .then((pl.col("abs_total") - pl.col("largest") - pl.col("second")) / pl.col("largest"))
        .otherwise(None)
        .alias("p_ratio"),
    )


def _reasons(row: dict[str, Any], thr: SdcThresholds) -> list[str]:
    reasons: list[str] = []
    n = row["n"] or 0
    if n < thr.min_cell_count:
        reasons.append(THRESHOLD)
    if n > 0:
        # Reported in ACRO's order: threshold, p-ratio, nk-rule.
        ratio = row["p_ratio"]
        if ratio is not None and ratio < thr.p_ratio:
            reasons.append(P_RATIO)
        share = row["top_n_share"]
        if share is not None and share >= thr.dominance_k:
            reasons.append(NK_RULE)
        # A lone contributor already fails the threshold; flagging it again adds nothing.
        if n > 1 and row["same"]:
            reasons.append(ALL_SAME)
    if row["negatives"]:
        reasons.append(NEGATIVE)
    if row["missing"]:
        reasons.append(MISSING)
    return reasons


def _validated(contributions: pl.DataFrame, by: Sequence[str], value: str, person: str) -> None:
    """Raise on contributions a magnitude check cannot use."""
    missing_cols = [c for c in [*by, value, person] if c not in contributions.columns]
    if missing_cols:
        raise ValueError(f"missing column(s): {', '.join(missing_cols)}")
    if not contributions.schema[value].is_numeric():
        raise ValueError(f"value column {value!r} must be numeric")
    for d in by:
        if contributions[d].null_count():
            raise ValueError(f"dimension {d!r} has nulls; label missing categories explicitly")
    if contributions[person].null_count():
        raise ValueError(f"person column {person!r} has nulls")
    if contributions.height == 0:
        raise ValueError("no contributions")


def _prepared(
    contributions: pl.DataFrame, by: Sequence[str], value: str, person: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The contributions with a value, in person order (`person_ordered`), and the records
    whose value is missing."""
    raw = contributions.select(
        *by,
        pl.col(person).alias("__person__"),
        pl.col(value).cast(pl.Float64).alias("__v__"),
    )
    contrib = person_ordered(
        raw.filter(pl.col("__v__").is_not_null()).with_columns(
            (pl.col("__v__") < 0).cast(pl.Int64).alias("__neg__")
        )
    )
    return contrib, raw.filter(pl.col("__v__").is_null())


def check_magnitude_table(
    contributions: pl.DataFrame,
    by: list[str],
    value: str,
    person: str,
    thr: SdcThresholds,
    *,
    margins: bool = True,
    categories: dict[str, Sequence[Any]] | None = None,
) -> MagnitudeTable:
    """Check and protect a table of sums and means built from per-record contributions.

    `contributions` has one row per record (e.g. per case) with the dimension column(s)
    `by` (one or two), the numeric `value` and the `person` identifier. `margins` says
    whether row/column margins and the grand total are published. `categories` fixes the
    order (and completes the set) of each dimension's categories; otherwise the order of
    first appearance is used. Cells without contributors are withheld ("threshold").
    """
    if len(by) not in (1, 2):
        raise ValueError("by must name one or two dimension columns")
    _validated(contributions, by, value, person)
    cats = _categories(contributions, by, categories)
    contrib, missing = _prepared(contributions, by, value, person)
    total = _entry_stats(contrib, missing, [], thr).drop("__all__") if margins else None
    return _protected(contrib, missing, by, cats, value, thr, total)


def check_one_way_tables(
    contributions: pl.DataFrame,
    by: Sequence[str],
    value: str,
    person: str,
    thr: SdcThresholds,
    *,
    margins: bool = True,
) -> dict[str, MagnitudeTable]:
    """The one-way tables of the same contributions by each column of `by`: for every d,
    what `check_magnitude_table(contributions, [d], value, person, thr, margins=margins)`
    returns. The contributions are put in person order once for all the tables, and their
    grand total (the same for every table) is checked once."""
    by = list(dict.fromkeys(by))
    if not by:
        raise ValueError("by must name at least one dimension column")
    _validated(contributions, by, value, person)
    cats = _categories(contributions, by, None)
    contrib, missing = _prepared(contributions, by, value, person)
    total = _entry_stats(contrib, missing, [], thr).drop("__all__") if margins else None
    return {d: _protected(contrib, missing, [d], cats, value, thr, total) for d in by}


def _categories(
    contributions: pl.DataFrame, by: Sequence[str], categories: dict[str, Sequence[Any]] | None
) -> dict[str, pl.Series]:
    """Each dimension's categories: `categories` where given (checked to cover the observed
    values), else the observed values in order of first appearance."""
    cats: dict[str, pl.Series] = {}
    for d in by:
        observed = contributions[d].unique(maintain_order=True)
        if categories and d in categories:
            given = pl.Series(d, list(categories[d]), dtype=contributions.schema[d])
            unknown = observed.filter(~observed.is_in(given.implode()))
            if unknown.len():
                raise ValueError(f"categories of {d!r} miss observed values {unknown.to_list()}")
            observed = given
        cats[d] = observed
    return cats


def _protected(
    contrib: pl.DataFrame,
    missing: pl.DataFrame,
    by: list[str],
    cats: dict[str, pl.Series],
    value: str,
    thr: SdcThresholds,
    total_stats: pl.DataFrame | None,
) -> MagnitudeTable:
    """The table by `by` from prepared contributions (`_prepared`), checked and protected.
    `total_stats` holds the grand total's check statistics when margins are published
    (None: they are not)."""
    margins = total_stats is not None
    row, col = by[0], (by[1] if len(by) == 2 else None)
    grid = pl.DataFrame(cats[row])
    if col is not None:
        grid = grid.join(pl.DataFrame(cats[col]), how="cross")
    n_rows = cats[row].len()
    n_cols = None if col is None else cats[col].len()
    lay = _layout(n_rows, n_cols)

    frames = [grid.join(_entry_stats(contrib, missing, by, thr), on=by, how="left")]
    kinds = ["cell"] * grid.height
    if total_stats is not None:
        if col is not None:
            for d in (row, col):
                keyed = pl.DataFrame(cats[d])
                stats = _entry_stats(contrib, missing, [d], thr)
                frames.append(keyed.join(stats, on=d, how="left"))
                kinds += ["row_margin" if d == row else "col_margin"] * keyed.height
        frames.append(total_stats)
        kinds.append("total")
    stats_cols = ["n", "total", "largest", "second", "top_n_share", "p_ratio", "same"]
    stats_cols += ["negatives", "missing"]
    entries = pl.concat(
        [f.select(*[c for c in by if c in f.columns], *stats_cols) for f in frames],
        how="diagonal_relaxed",
    ).with_columns(
        pl.col("n").fill_null(0),
        pl.col("negatives").fill_null(0),
        pl.col("missing").fill_null(0),
    )
    records = entries.to_dicts()
    reasons = [_reasons(r, thr) for r in records]
    withheld = np.array([any(x in WITHHOLDING for x in rs) for rs in reasons])
    totals = np.array([r["total"] if r["total"] is not None else 0.0 for r in records])

    status_fail = False
    if margins:
        _secondary(lay, totals, withheld, reasons)
        status_fail = bool(withheld[lay.total_index])
    else:
        status_fail = bool(withheld.all())

    if status_fail:
        for rs in reasons:
            if not any(x in WITHHOLDING for x in rs):
                rs.insert(0, SECONDARY)
        withheld[:] = True
    outcome = [_join(rs) for rs in reasons]
    review = any(reasons)
    status = "fail" if status_fail else ("review" if review else "pass")

    published = entries.with_columns(
        pl.Series(SDC_COLUMN, outcome, dtype=pl.String),
        pl.Series("__withheld__", withheld, dtype=pl.Boolean),
    ).with_columns(
        pl.when(~pl.col("__withheld__")).then(pl.col("n")).alias("n"),
        pl.when(~pl.col("__withheld__")).then(pl.col("total")).alias("total"),
        pl.when(~pl.col("__withheld__"))
        .then(pl.col("total") / pl.col("n"))
        .cast(pl.Float64)
        .alias("mean"),
    )
    published = published.with_columns(pl.col("n").cast(pl.Int64), pl.col("total").cast(pl.Float64))
    n_cells = grid.height
    cells = published.slice(0, n_cells).select(*by, *PUBLISHED_STATS, SDC_COLUMN)
    row_margins = col_margins = total = None
    if margins:
        offset = n_cells
        if col is not None:
            row_margins = published.slice(offset, n_rows).select(row, *PUBLISHED_STATS, SDC_COLUMN)
            offset += n_rows
            col_margins = published.slice(offset, n_cols).select(col, *PUBLISHED_STATS, SDC_COLUMN)
            offset += n_cols or 0
        total = published.slice(offset, 1).select(*PUBLISHED_STATS, SDC_COLUMN)

    labels_row = [str(v) if v is not None else None for v in entries[row].to_list()]
    labels_col = (
        [str(v) if v is not None else None for v in entries[col].to_list()]
        if col is not None
        else [None] * entries.height
    )
    checks = entries.select(*_CHECK_COLUMNS).with_columns(
        pl.Series("kind", kinds, dtype=pl.String),
        pl.Series("row_label", labels_row, dtype=pl.String),
        pl.Series("col_label", labels_col, dtype=pl.String),
        pl.Series(SDC_COLUMN, outcome, dtype=pl.String),
    )
    checks = checks.select("kind", "row_label", "col_label", *_CHECK_COLUMNS, SDC_COLUMN)
    return MagnitudeTable(
        cells=cells,
        row_margins=row_margins,
        col_margins=col_margins,
        total=total,
        checks=checks,
        status=status,
        row=row,
        col=col,
        value=value,
    )


def _join(reasons: list[str]) -> str:
    return "; ".join(reasons) if reasons else OK


def _secondary(
    lay: Any, totals: np.ndarray, withheld: np.ndarray, reasons: list[list[str]]
) -> None:
    """Withhold a further cell in every line that holds exactly one withheld entry.

    The complement is the line's smallest remaining cell (by absolute total, then
    position); margins are used only where a line has no cell left, as in the line of
    margins. Repeats until no line holds exactly one withheld entry.
    """
    changed = True
    while changed:
        changed = False
        for parts, whole in lay.lines:
            members = [*parts, whole]
            if int(withheld[members].sum()) != 1:
                continue
            pool = [p for p in parts if not withheld[p]]
            if not pool:
                pool = [whole] if not withheld[whole] else []
            if not pool:
                continue
            pick = min(pool, key=lambda e: (abs(float(totals[e])), e))
            withheld[pick] = True
            reasons[pick].insert(0, SECONDARY)
            changed = True
