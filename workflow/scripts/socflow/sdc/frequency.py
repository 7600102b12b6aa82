"""Frequency tables of distinct persons: primary and secondary suppression, or rounding.

A table is a long frame of cells with one or two categorical dimensions and a count of
distinct persons per cell. Categories are mutually exclusive, so each margin is the sum of
its cells and the grand total is the sum of either set of margins. The published table is
the cells, the margins and the grand total.

Suppression ("suppress") works on the table augmented with its margins, seen as a set of
linear relations ("lines"): every row, every column, the row of column margins and the
column of row margins, each saying that its parts add up to its whole. Cells and margins
below the threshold, and zeros that are not structural, are primary suppressions.
Complementary (secondary) suppressions are then added until a fixed point where

1. every line that holds a suppressed entry holds at least two, and, where the whole of
   the line is published, its suppressed parts add up to at least the threshold (their
   sum is derivable by subtraction, so it must not be a small count itself), and
2. a linear programme (`suppression_intervals`) finds, for every suppressed entry, a range
   of values consistent with everything published and with non-negativity that is at
   least one person wide; where it does not, a further complement is suppressed in a line
   of the entry that is recoverable, and step 1 runs again.

Step 2 closes the gaps of the line rule on its own: a suppressed entry on a "bridge" of
the suppression pattern, and suppressed entries pinned by suppressed zeros, are exactly
recoverable even though every line holds two suppressions.

Rounding ("round") rounds every cell to the nearest multiple of the base (halves up),
withholds rounded values below the threshold and non-structural zeros, and computes every
margin from the published rounded cells, so that no withheld cell enters any published
sum.

The `sdc` column of the result says why each entry is withheld. It is evidence for the
output checker; the released table shows every withheld entry with one marker, so that a
reader cannot tell primary from secondary suppressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from .thresholds import SdcThresholds

OK = "ok"
PRIMARY = "primary"
ZERO = "zero"
SECONDARY = "secondary"
ROUNDED = "rounded"
OUTCOMES: tuple[str, ...] = (OK, PRIMARY, ZERO, SECONDARY, ROUNDED)
SUPPRESSED_OUTCOMES: frozenset[str] = frozenset({PRIMARY, ZERO, SECONDARY})

TOTAL_LABEL = "Total"
SDC_COLUMN = "sdc"

_CELL, _MARGIN, _TOTAL = 0, 1, 2
# Floating tolerance for LP bounds; the relations are integral, so true widths are integers.
_LP_TOL = 1e-6


@dataclass(frozen=True)
class _Layout:
    """Entries (cells, margins, total) of a table and the linear relations between them.

    Entry order: the cells row-major, then the row margins, then the column margins, then
    the grand total. Each line is (parts, whole): the parts add up to the whole.
    """

    n_rows: int
    n_cols: int | None
    kinds: np.ndarray
    lines: tuple[tuple[tuple[int, ...], int], ...]

    @property
    def n_entries(self) -> int:
        return len(self.kinds)

    @property
    def total_index(self) -> int:
        return self.n_entries - 1

    def entry_lines(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in range(self.n_entries)]
        for k, (parts, whole) in enumerate(self.lines):
            for e in (*parts, whole):
                out[e].append(k)
        return out


def _layout(n_rows: int, n_cols: int | None) -> _Layout:
    if n_cols is None:
        kinds = np.array([_CELL] * n_rows + [_TOTAL])
        lines = ((tuple(range(n_rows)), n_rows),)
        return _Layout(n_rows, None, kinds, lines)
    r, c = n_rows, n_cols
    row_margin = r * c
    col_margin = r * c + r
    total = r * c + r + c
    kinds = np.array([_CELL] * (r * c) + [_MARGIN] * (r + c) + [_TOTAL])
    rows = [(tuple(i * c + j for j in range(c)), row_margin + i) for i in range(r)]
    cols = [(tuple(i * c + j for i in range(r)), col_margin + j) for j in range(c)]
    margin_row = (tuple(col_margin + j for j in range(c)), total)
    margin_col = (tuple(row_margin + i for i in range(r)), total)
    return _Layout(r, c, kinds, (*rows, *cols, margin_row, margin_col))


def _entry_values(counts: np.ndarray, structural: np.ndarray, lay: _Layout):
    """True values and structural flags of every entry, margins included."""
    if lay.n_cols is None:
        values = np.append(counts, counts.sum())
        struct = np.append(structural, structural.all())
        return values, struct
    grid = counts.reshape(lay.n_rows, lay.n_cols)
    sgrid = structural.reshape(lay.n_rows, lay.n_cols)
    values = np.concatenate([counts, grid.sum(axis=1), grid.sum(axis=0), [grid.sum()]])
    struct = np.concatenate([structural, sgrid.all(axis=1), sgrid.all(axis=0), [sgrid.all()]])
    return values, struct


def _intervals(
    lay: _Layout, published: list[int | None], relations: bool = True
) -> dict[int, tuple[float, float]]:
    """Feasible [min, max] of each withheld entry given the published entries.

    Solves two linear programmes per withheld entry over the system "parts add up to the
    whole" with every value non-negative. Every entry lies in one row-type line (a row,
    or the row of column margins) and one column-type line; after flipping the signs of
    the two margin lines and of the margin and total variables, the constraint matrix is
    the incidence matrix of a bipartite graph, hence totally unimodular. With integer
    published values the LP optima are therefore integers, and the LP bounds equal the
    bounds an intruder could derive for integer counts.
    """
    unknown = [e for e, v in enumerate(published) if v is None]
    if not unknown:
        return {}
    position = {e: k for k, e in enumerate(unknown)}
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    if relations:
        for parts, whole in lay.lines:
            coef = np.zeros(len(unknown))
            b = 0.0
            for p in parts:
                if published[p] is None:
                    coef[position[p]] += 1.0
                else:
                    b -= float(published[p])  # type: ignore[arg-type]
            if published[whole] is None:
                coef[position[whole]] -= 1.0
            else:
                b += float(published[whole])  # type: ignore[arg-type]
            if coef.any():
                rows.append(coef)
                rhs.append(b)
            elif abs(b) > _LP_TOL:
                raise ValueError("published table is inconsistent: a line does not add up")
    out: dict[int, tuple[float, float]] = {}
    if not rows:
        return {e: (0.0, float("inf")) for e in unknown}
    a_eq = np.vstack(rows)
    b_eq = np.array(rhs)
    constrained = a_eq.any(axis=0)
    # Imported here: scipy.optimize costs every rule that checks tables ~0.3 s to import,
    # and only tables with withheld cells get this far.
    from scipy.optimize import linprog  # noqa: PLC0415

    for e in unknown:
        k = position[e]
        if not constrained[k]:
            out[e] = (0.0, float("inf"))
            continue
        bounds: list[float] = []
        for sign in (1.0, -1.0):
            objective = np.zeros(len(unknown))
            objective[k] = sign
            res = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if res.status == 3:
                bounds.append(float("inf"))
            elif res.status == 0:
                bounds.append(sign * float(res.fun))
            elif res.status == 2:
                raise ValueError("published table is inconsistent: no non-negative solution")
            else:  # pragma: no cover - solver failure is not expected on these small systems
                raise RuntimeError(f"linprog failed: {res.message}")
        out[e] = (bounds[0], bounds[1])
    return out


def _unsafe(intervals: dict[int, tuple[float, float]], min_width: float) -> list[int]:
    return sorted(e for e, (lo, hi) in intervals.items() if hi - lo < min_width - _LP_TOL)


def _needy_lines(
    lay: _Layout, values: np.ndarray, suppressed: np.ndarray, threshold: int
) -> list[bool]:
    """Lines that still need a complement.

    A line needs one if it holds exactly one withheld entry (recoverable by subtraction),
    or if its whole is published and its withheld parts add up to less than the threshold
    (their sum is then a derivable count of fewer persons than the threshold).
    """
    needy: list[bool] = []
    for parts, whole in lay.lines:
        members = [*parts, whole]
        n_sup = int(suppressed[members].sum())
        hidden = [p for p in parts if suppressed[p]]
        small_group = (
            not suppressed[whole] and bool(hidden) and int(values[hidden].sum()) < threshold
        )
        needy.append(n_sup == 1 or small_group)
    return needy


def _line_rule(
    lay: _Layout,
    values: np.ndarray,
    structural: np.ndarray,
    suppressed: np.ndarray,
    entry_lines: list[list[int]],
    *,
    threshold: int,
) -> bool:
    """Add complements until no line needs one (see `_needy_lines`).

    Needy lines are served in a fixed order (rows, columns, then the margin lines). The
    complement is the eligible entry of the line that ranks first on: cell before margin
    before grand total (margins and total are the most useful figures to keep); then one
    whose other line is also needy, which closes a cycle of suppressions instead of
    opening a new chain; then the smallest value (least information lost); then position.
    Returns False if a needy line has no eligible entry left.
    """
    while True:
        needy = _needy_lines(lay, values, suppressed, threshold)
        if not any(needy):
            return True
        line = needy.index(True)
        parts, whole = lay.lines[line]
        candidates = [e for e in (*parts, whole) if not suppressed[e] and not structural[e]]
        if not candidates:
            return False

        def rank(e: int, line: int = line, needy: list[bool] = needy) -> tuple:
            closes = any(needy[k] for k in entry_lines[e] if k != line)
            return (int(lay.kinds[e]), 0 if closes else 1, int(values[e]), e)

        suppressed[min(candidates, key=rank)] = True


def _suppress(
    lay: _Layout, values: np.ndarray, structural: np.ndarray, thr: SdcThresholds
) -> tuple[list[str], str]:
    """Outcome per entry and table status under primary and secondary suppression."""
    n = lay.n_entries
    outcome = [OK] * n
    for e in range(n):
        if structural[e]:
            continue
        if values[e] == 0:
            if thr.zeros_disclosive:
                outcome[e] = ZERO
        elif values[e] < thr.min_cell_count:
            outcome[e] = PRIMARY
    total = lay.total_index
    if values[total] < thr.min_cell_count:
        # Nothing can be published once the grand total itself is disclosive.
        return [o if o != OK else SECONDARY for o in outcome], "fail"
    suppressed = np.array([o != OK for o in outcome])
    if not suppressed.any():
        return outcome, "pass"
    entry_lines = lay.entry_lines()
    status = "fail"
    while _line_rule(
        lay, values, structural, suppressed, entry_lines, threshold=thr.min_cell_count
    ):
        published = [None if suppressed[e] else int(values[e]) for e in range(n)]
        unsafe = _unsafe(_intervals(lay, published), 1.0)
        if not unsafe:
            status = "review"
            break
        # Escalate: withhold one more entry next to the first recoverable one, preferring
        # its own lines, then anywhere; cells before margins before the total, smallest.
        target = unsafe[0]
        near = {m for k in entry_lines[target] for m in (*lay.lines[k][0], lay.lines[k][1])}
        pool = [e for e in sorted(near) if not suppressed[e] and not structural[e]]
        if not pool:
            pool = [e for e in range(n) if not suppressed[e] and not structural[e]]
        if not pool:
            break
        suppressed[min(pool, key=lambda e: (int(lay.kinds[e]), int(values[e]), e))] = True
    if status == "fail":
        return [o if o != OK else SECONDARY for o in outcome], "fail"
    for e in range(n):
        if suppressed[e] and outcome[e] == OK:
            outcome[e] = SECONDARY
    return outcome, status


def _round(
    lay: _Layout, counts: np.ndarray, structural: np.ndarray, thr: SdcThresholds
) -> tuple[np.ndarray, list[str], str]:
    """Published values, outcomes and status under rounding."""
    base = thr.rounding_base
    # Round half up; counts are non-negative integers, so integer arithmetic is exact.
    rounded = (counts + base // 2) // base * base
    n_cells = len(counts)
    cell_out: list[str] = []
    cell_val = np.zeros(n_cells, dtype=np.int64)
    for e in range(n_cells):
        if structural[e]:
            cell_out.append(OK)
        elif counts[e] == 0 and thr.zeros_disclosive:
            cell_out.append(ZERO)
        elif rounded[e] < thr.min_cell_count:
            cell_out.append(PRIMARY)
        else:
            cell_out.append(ROUNDED)
            cell_val[e] = rounded[e]
    # Margins from the published rounded cells: withheld cells enter no published sum.
    values, struct = _entry_values(cell_val, structural, lay)
    outcome = cell_out + [ROUNDED] * (lay.n_entries - n_cells)
    for e in range(n_cells, lay.n_entries):
        if struct[e]:
            outcome[e] = OK
        elif values[e] < thr.min_cell_count:
            outcome[e] = PRIMARY
    true_total = int(counts.sum())
    if true_total < thr.min_cell_count or outcome[lay.total_index] != ROUNDED:
        return values, [o if o in SUPPRESSED_OUTCOMES else SECONDARY for o in outcome], "fail"
    return values, outcome, "review"


@dataclass(frozen=True)
class ProtectedTable:
    """A frequency table after disclosure control.

    `cells`, `row_margins` and `col_margins` hold the dimension column(s), the published
    value (column named as the input count, Int64, null when withheld) and `sdc`, the
    outcome: "ok", "primary", "zero", "secondary" or "rounded". `total` is one row with the
    value and `sdc`. One-dimensional tables have no row or column margins (None).
    `status` is "pass" (nothing withheld or rounded), "review" (protected by suppression
    or rounding) or "fail" (cannot be protected; nothing is published).
    """

    cells: pl.DataFrame
    row_margins: pl.DataFrame | None
    col_margins: pl.DataFrame | None
    total: pl.DataFrame
    status: str
    row: str
    col: str | None
    value: str
    method: str
    threshold: int

    def entries(self) -> pl.DataFrame:
        """Every published entry in one frame: kind, row label, column label, value, sdc."""
        return _entries_frame(self, [self.value])

    def outcome_counts(self) -> dict[str, int]:
        """Number of entries (cells, margins, total) with each outcome."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for o in self.entries()[SDC_COLUMN].to_list():
            counts[o] += 1
        return counts

    @property
    def suppressed(self) -> bool:
        """Whether any entry is withheld."""
        return any(self.outcome_counts()[o] for o in SUPPRESSED_OUTCOMES)

    def to_display(self, total_label: str = TOTAL_LABEL) -> pl.DataFrame:
        """Wide table with a total row (and column), withheld entries null."""
        return _display(self, self.value, total_label)

    def outcome_grid(self, total_label: str = TOTAL_LABEL) -> tuple[list[str], list[str], list]:
        """Row labels, column labels and outcomes laid out as in `to_display`."""
        return _outcome_grid(self, total_label, self.value)


def _label(value: Any) -> str:
    return str(value)


def _entries_frame(table: Any, value_columns: list[str]) -> pl.DataFrame:
    """Long frame of all entries of a table-like result, with string labels."""
    parts: list[pl.DataFrame] = []
    keep = [*value_columns, SDC_COLUMN]

    def tag(df: pl.DataFrame, kind: str, row: pl.Expr, col: pl.Expr) -> pl.DataFrame:
        return df.select(
            pl.lit(kind).alias("kind"),
            row.alias("row_label"),
            col.alias("col_label"),
            *[pl.col(c) for c in keep],
        )

    null = pl.lit(None, dtype=pl.String)
    row_lab = pl.col(table.row).cast(pl.String)
    if table.col is None:
        parts.append(tag(table.cells, "cell", row_lab, null))
    else:
        col_lab = pl.col(table.col).cast(pl.String)
        parts.append(tag(table.cells, "cell", row_lab, col_lab))
        parts.append(tag(table.row_margins, "row_margin", row_lab, null))
        parts.append(tag(table.col_margins, "col_margin", null, col_lab))
    parts.append(tag(table.total, "total", null, null))
    return pl.concat(parts, how="vertical_relaxed")


def _categories(table: Any) -> tuple[list[str], list[str] | None]:
    rows = [_label(v) for v in table.cells[table.row].unique(maintain_order=True).to_list()]
    if table.col is None:
        return rows, None
    cols = [_label(v) for v in table.cells[table.col].unique(maintain_order=True).to_list()]
    return rows, cols


def _grid(
    table: Any, column: str, total_label: str, label_1d: str
) -> tuple[list[str], list[str], list]:
    """Row labels, column labels and a row-major list of lists of `column` values.

    A one-dimensional table has a single column, labelled `label_1d`.
    """
    rows, cols = _categories(table)
    if total_label in rows or (cols is not None and total_label in cols):
        raise ValueError(f"a category is labelled {total_label!r}; pass another total_label")
    total_value = table.total[column][0]
    if cols is None:
        values = table.cells[column].to_list()
        grid = [[v] for v in values] + [[total_value]]
        return [*rows, total_label], [label_1d], grid
    cells = table.cells[column].to_list()
    rm = table.row_margins[column].to_list()
    cm = table.col_margins[column].to_list()
    c = len(cols)
    grid = [[*cells[i * c : (i + 1) * c], rm[i]] for i in range(len(rows))]
    grid.append([*cm, total_value])
    return [*rows, total_label], [*cols, total_label], grid


def _display(table: Any, column: str, total_label: str) -> pl.DataFrame:
    rows, cols, grid = _grid(table, column, total_label, column)
    dtype = table.cells.schema[column]
    data: dict[str, pl.Series] = {table.row: pl.Series(table.row, rows, dtype=pl.String)}
    for j, name in enumerate(cols):
        if name in data:
            raise ValueError(f"column label {name!r} clashes with the row dimension name")
        data[name] = pl.Series(name, [r[j] for r in grid], dtype=dtype)
    return pl.DataFrame(data)


def _outcome_grid(table: Any, total_label: str, label_1d: str) -> tuple[list[str], list[str], list]:
    return _grid(table, SDC_COLUMN, total_label, label_1d)


def _validate_long(
    table: pl.DataFrame, dims: list[str], count: str, structural_zero: str | None
) -> None:
    needed = [*dims, count] + ([structural_zero] if structural_zero else [])
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"missing column(s): {', '.join(missing)}")
    if len(set(dims)) != len(dims):
        raise ValueError("row and col must be different columns")
    if count in dims or SDC_COLUMN in dims:
        raise ValueError("dimension columns must differ from the count and 'sdc' columns")
    if not table.schema[count].is_integer():
        raise ValueError(f"count column {count!r} must be integer, got {table.schema[count]}")
    if table.height == 0:
        raise ValueError("table has no cells")
    if table[count].null_count():
        raise ValueError(f"count column {count!r} has nulls")
    if (table[count] < 0).any():
        raise ValueError(f"count column {count!r} has negative values")
    for d in dims:
        if table[d].null_count():
            raise ValueError(f"dimension {d!r} has nulls; label missing categories explicitly")
    if table.select(dims).is_duplicated().any():
        raise ValueError(f"duplicate cells for dimensions {dims}")
    if structural_zero is not None:
        if table.schema[structural_zero] != pl.Boolean:
            raise ValueError(f"structural_zero column {structural_zero!r} must be Boolean")
        bad = table.filter(pl.col(structural_zero).fill_null(False) & (pl.col(count) != 0))
        if bad.height:
            raise ValueError("cells flagged as structural zeros have non-zero counts")


def protect_frequency_table(
    table: pl.DataFrame,
    row: str,
    col: str | None,
    count: str,
    thr: SdcThresholds,
    *,
    structural_zero: str | None = None,
) -> ProtectedTable:
    """Apply disclosure control to a frequency table of distinct persons.

    `table` is long: one row per cell, dimension column(s) `row` (and `col`), an integer
    count of distinct persons `count`, and optionally a Boolean column `structural_zero`
    marking cells that are zero by definition (published as 0). Combinations of categories
    absent from the input are cells with a count of zero. Category order is the order of
    first appearance. The method (suppression or rounding) is `thr.table_method`.
    """
    dims = [row] if col is None else [row, col]
    _validate_long(table, dims, count, structural_zero)
    sz = "__structural__"
    base = table.select(
        *dims,
        pl.col(count).cast(pl.Int64),
        (pl.col(structural_zero).fill_null(False) if structural_zero else pl.lit(False)).alias(sz),
    )
    frame = base.select(pl.col(row).unique(maintain_order=True))
    if col is not None:
        frame = frame.join(base.select(pl.col(col).unique(maintain_order=True)), how="cross")
    frame = frame.join(base, on=dims, how="left", maintain_order="left").with_columns(
        pl.col(count).fill_null(0), pl.col(sz).fill_null(False)
    )
    n_rows = frame[row].n_unique()
    n_cols = None if col is None else frame[col].n_unique()
    lay = _layout(n_rows, n_cols)
    counts = frame[count].to_numpy().astype(np.int64)
    structural = frame[sz].to_numpy().astype(bool)
    true_values, struct = _entry_values(counts, structural, lay)

    if thr.table_method == "round":
        values, outcome, status = _round(lay, counts, structural, thr)
    else:
        values = true_values
        outcome, status = _suppress(lay, true_values, struct, thr)
    if status == "fail":
        published: list[int | None] = [None] * lay.n_entries
    else:
        published = [
            None if outcome[e] in SUPPRESSED_OUTCOMES else int(values[e])
            for e in range(lay.n_entries)
        ]
    return _assemble(
        frame,
        lay,
        row=row,
        col=col,
        count=count,
        published=published,
        outcome=outcome,
        status=status,
        thr=thr,
    )


def _assemble(
    frame: pl.DataFrame,
    lay: _Layout,
    *,
    row: str,
    col: str | None,
    count: str,
    published: list[int | None],
    outcome: list[str],
    status: str,
    thr: SdcThresholds,
) -> ProtectedTable:
    n_cells = frame.height

    def block(start: int, stop: int) -> dict[str, pl.Series]:
        return {
            count: pl.Series(count, published[start:stop], dtype=pl.Int64),
            SDC_COLUMN: pl.Series(SDC_COLUMN, outcome[start:stop], dtype=pl.String),
        }

    dims = [row] if col is None else [row, col]
    cells = frame.select(dims).with_columns(**block(0, n_cells))
    row_margins = col_margins = None
    if col is not None:
        r, c = lay.n_rows, lay.n_cols or 0
        row_margins = (
            frame.select(pl.col(row).unique(maintain_order=True))
            .with_columns(**block(r * c, r * c + r))
            .select(row, count, SDC_COLUMN)
        )
        col_margins = (
            frame.select(pl.col(col).unique(maintain_order=True))
            .with_columns(**block(r * c + r, r * c + r + c))
            .select(col, count, SDC_COLUMN)
        )
    t = lay.total_index
    total = pl.DataFrame(block(t, t + 1))
    return ProtectedTable(
        cells=cells.select(*dims, count, SDC_COLUMN),
        row_margins=row_margins,
        col_margins=col_margins,
        total=total,
        status=status,
        row=row,
        col=col,
        value=count,
        method=thr.table_method,
        threshold=thr.min_cell_count,
    )


def _published_entries(published: ProtectedTable) -> tuple[_Layout, list[int | None]]:
    rows, cols = _categories(published)
    lay = _layout(len(rows), None if cols is None else len(cols))
    values = published.cells[published.value].to_list()
    if published.col is not None:
        assert published.row_margins is not None and published.col_margins is not None
        values += published.row_margins[published.value].to_list()
        values += published.col_margins[published.value].to_list()
    values += published.total[published.value].to_list()
    return lay, values


def suppression_intervals(published: ProtectedTable) -> pl.DataFrame:
    """Range of values an intruder can derive for each withheld entry.

    Uses only what is published (values and which entries are withheld), non-negativity
    and the additivity of the table. Under rounding no withheld cell enters a published
    sum, so every withheld entry is unbounded above. Columns: kind, row_label, col_label,
    lower, upper (inf when unbounded), width.
    """
    lay, values = _published_entries(published)
    intervals = _intervals(lay, values, relations=published.method != "round")
    entries = published.entries().with_row_index("_e")
    order = sorted(intervals)
    bounds = pl.DataFrame(
        {
            "_e": pl.Series(order, dtype=pl.UInt32),
            "lower": [intervals[e][0] for e in order],
            "upper": [intervals[e][1] for e in order],
        },
        schema={"_e": pl.UInt32, "lower": pl.Float64, "upper": pl.Float64},
    )
    return (
        entries.join(bounds, on="_e", how="inner", maintain_order="left")
        .with_columns((pl.col("upper") - pl.col("lower")).alias("width"))
        .select("kind", "row_label", "col_label", "lower", "upper", "width")
    )


def _small_groups(lay: _Layout, published: list[int | None], threshold: int) -> list[int]:
    """Lines whose published whole minus published parts gives a count below threshold."""
    out: list[int] = []
    for k, (parts, whole) in enumerate(lay.lines):
        hidden = [p for p in parts if published[p] is None]
        if published[whole] is None or not hidden:
            continue
        derivable = published[whole] - sum(published[p] or 0 for p in parts)
        if derivable < threshold:
            out.append(k)
    return out


def suppression_is_safe(
    published: ProtectedTable, min_width: float = 1.0, check_groups: bool = True
) -> bool:
    """True if no withheld entry, nor any derivable group of them, is disclosed.

    Unsafe if a withheld entry's feasible range (`suppression_intervals`) is narrower than
    `min_width`: with the default of 1 the entry is exactly recoverable (counts are
    integers). With `check_groups`, also unsafe if a line with a published whole has
    withheld parts whose sum (the whole minus the published parts) is below the table's
    threshold: that sum is itself a count of fewer persons than the threshold.
    """
    iv = suppression_intervals(published)
    if not bool((iv["width"] >= min_width - _LP_TOL).all()):
        return False
    if check_groups and published.method != "round":
        lay, values = _published_entries(published)
        if _small_groups(lay, values, published.threshold):
            return False
    return True
