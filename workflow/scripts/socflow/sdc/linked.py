"""Run-level checks across the outputs of one stage: what one output gives back of another.

Each output is protected on its own first (`frequency`, `magnitude`, ...). Outputs of one
stage describe the same persons, so a number published in one can undo a suppression in
another. Three rules, applied to every stage alike (no output is special-cased):

1. **Derived shares inherit their counts.** A statistic declared a share of persons (the
   candidate's ``spec["person_shares"]``: true, or the statistic labels) with value ``v``
   and ``n_persons`` ``N`` states two counts, ``k = v * N`` and ``N - k``. Where either is
   below the threshold (a zero included, zeros being disclosive) the statistic is
   withheld, as its counts would be in a table.
2. **No published count pins a withheld entry.** For every withheld entry of a
   frequency table, the range of values consistent with what the table publishes is
   found by linear programming (`suppression_intervals`). A count published by another
   output of the stage (a count statistic, whose value is its ``n_persons``, or the whole
   number ``v * N`` of a statistic between 0 and 1) that equals an end of such a range can
   be read as that entry, and with it the entries it completes: the statistic is withheld
   (suppression carried across the pair). A cell of another frequency table at such an
   end cannot be withheld without redoing that table's protection, so both tables go to
   review with the reason. Zero is left out: it is the lower end of almost every range
   (counts are not negative) and states nothing a reader did not know.
3. **Differencing.** Where the totals of two outputs of the stage (grand totals and
   same-labelled margins of frequency tables, the grand total of a magnitude table, the
   largest ``n_persons`` of a statistics table) differ by 1 to ``min_cell_count - 1``,
   their difference may isolate a small group: both outputs go to review with the reason,
   as ACRO's PresenceOfLinkedTableCheck recommends a manual review.

The findings are evidence for the output checker (the audit record) and never appear in
released files, which show a withheld value only as ``[c]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import polars as pl

from .frequency import SUPPRESSED_OUTCOMES, ProtectedTable, suppression_intervals
from .thresholds import SdcThresholds

_INT_TOL = 1e-6


@dataclass
class StageOutput:
    """What the run-level checks see of one checked output of a stage.

    `table` is the published frame (withheld values null); `withheld_rows` are the rows of
    a statistics table withheld so far; `protected` is the frequency table, if any.
    """

    output_id: str
    kind: str
    table: pl.DataFrame
    protected: ProtectedTable | None = None
    withheld_rows: set[int] = field(default_factory=set)
    # Statistics declared shares of persons: True (every row) or their labels.
    person_shares: bool | list[str] = False
    # Grand total of a magnitude table (persons), when its margins are published.
    magnitude_total: int | None = None
    findings: list[str] = field(default_factory=list)
    # Rows withheld by these checks, with the reason (evidence for the record).
    linked_rows: dict[int, str] = field(default_factory=dict)


def _whole(x: float | None) -> int | None:
    if x is None or not math.isfinite(x):
        return None
    k = round(x)
    return k if abs(x - k) < _INT_TOL else None


def statistic_counts(row: dict) -> list[int]:
    """The whole counts a statistics row states: a count statistic (value = n_persons), or
    the ``v * N`` of a value between 0 and 1 when that is a whole number."""
    value, n = row.get("value"), row.get("n_persons")
    if value is None or n is None:
        return []
    whole = _whole(value)
    if whole is not None and whole == n:
        return [whole]
    if 0.0 <= value <= 1.0:
        k = _whole(value * n)
        if k is not None:
            return [k]
    return []


def _declared_share(o: StageOutput, label: str) -> bool:
    shares = o.person_shares
    return shares is True or (isinstance(shares, list) and label in shares)


def _derived_shares(o: StageOutput, thr: SdcThresholds) -> None:
    if not o.person_shares or not {"n_persons", "value"} <= set(o.table.columns):
        return
    for i, row in enumerate(o.table.iter_rows(named=True)):
        label = str(row.get("statistic", row[o.table.columns[0]]))
        if i in o.withheld_rows or not _declared_share(o, label):
            continue
        value, n = row["value"], row["n_persons"]
        if value is None or n is None or not 0.0 <= value <= 1.0:
            continue
        k = round(value * n)
        if min(k, n - k) < thr.min_cell_count:
            o.linked_rows[i] = f"share of {n} persons states a count below {thr.min_cell_count}"


def _ranges(o: StageOutput) -> list[tuple[str, float, float]]:
    """(entry label, lower, upper) of every withheld entry of a frequency table."""
    assert o.protected is not None
    iv = suppression_intervals(o.protected)
    out = []
    for rec in iv.iter_rows(named=True):
        if rec["width"] < 1 - _INT_TOL:
            continue  # already unsafe within the table; reported by its own check
        label = f"{rec['row_label'] or 'Total'} / {rec['col_label'] or 'Total'}"
        out.append((label, rec["lower"], rec["upper"]))
    return out


def _published_counts(b: StageOutput) -> tuple[dict[int, list[int]], set[float]]:
    """Counts an output states: per statistics row, and the shown entries of a table."""
    rows: dict[int, list[int]] = {}
    shown: set[float] = set()
    if b.kind == "statistics" and "n_persons" in b.table.columns:
        for i, row in enumerate(b.table.iter_rows(named=True)):
            if i not in b.withheld_rows:
                rows[i] = [c for c in statistic_counts(row) if c > 0]
    elif b.protected is not None:
        ent = b.protected.entries()
        values = ent.filter(~pl.col("sdc").is_in(list(SUPPRESSED_OUTCOMES)))[b.protected.value]
        shown = {float(v) for v in values.to_list() if v is not None and v > 0}
    return rows, shown


def _pinning(outputs: list[StageOutput]) -> None:
    freq = [o for o in outputs if o.protected is not None and o.protected.suppressed]
    if not freq:
        return
    ranges = {o.output_id: _ranges(o) for o in freq}
    published = {o.output_id: _published_counts(o) for o in outputs}
    for a in freq:
        for label, lo, hi in ranges[a.output_id]:
            ends = {lo, hi} if math.isfinite(hi) else {lo}
            for b in outputs:
                if b is a:
                    continue
                rows, shown = published[b.output_id]
                for i, counts in rows.items():
                    if i not in b.linked_rows and any(c in ends for c in counts):
                        b.linked_rows[i] = (
                            f"states a count that pins the withheld entry {label} of {a.output_id}"
                        )
                        a.findings.append(
                            f"{b.output_id} states a count at the bound of withheld "
                            f"entry {label}; withheld there"
                        )
                if shown & ends:
                    note = (
                        f"{b.output_id} publishes a count at the bound of withheld entry "
                        f"{label} of {a.output_id}: review the pair for differencing"
                    )
                    a.findings.append(note)
                    b.findings.append(note)


def _totals(o: StageOutput) -> list[tuple[str, int]]:
    """Labelled totals of an output: grand total and margins, or persons behind statistics."""
    out: list[tuple[str, int]] = []
    if o.protected is not None:
        p = o.protected
        total = p.total[p.value][0]
        if total is not None:
            out.append(("Total", int(total)))
        for margins, dim in ((p.col_margins, p.col), (p.row_margins, p.row)):
            if margins is None or dim is None:
                continue
            for label, v in margins.select(pl.col(dim).cast(pl.String), p.value).iter_rows():
                if v is not None:
                    out.append((str(label), int(v)))
    elif o.magnitude_total is not None:
        out.append(("Total", o.magnitude_total))
    elif o.kind == "statistics" and "n_persons" in o.table.columns:
        shown = [row["n_persons"] for i, row in enumerate(o.table.iter_rows(named=True))
                 if i not in o.withheld_rows and i not in o.linked_rows
                 and row["n_persons"] is not None]  # fmt: skip
        if shown:
            out.append(("Total", int(max(shown))))
    return out


def _differencing(outputs: list[StageOutput], thr: SdcThresholds) -> None:
    totals = {o.output_id: sorted(set(_totals(o))) for o in outputs}
    for a, b in combinations(outputs, 2):
        pairs = sorted(
            {
                (la, x, y)
                for la, x in totals[a.output_id]
                for lb, y in totals[b.output_id]
                if la == lb and 0 < abs(x - y) < thr.min_cell_count
            }
        )
        for label, x, y in pairs:
            what = "totals" if label == "Total" else f"'{label}' totals"
            a.findings.append(
                f"{what} {x} here and {y} in {b.output_id} differ by {abs(x - y)} persons"
            )
            b.findings.append(
                f"{what} {y} here and {x} in {a.output_id} differ by {abs(x - y)} persons"
            )


def check_stage(outputs: list[StageOutput], thr: SdcThresholds) -> list[StageOutput]:
    """Apply the run-level rules to the checked outputs of one stage (in place)."""
    for o in outputs:
        if o.kind == "statistics":
            _derived_shares(o, thr)
    _pinning(outputs)
    _differencing(outputs, thr)
    for o in outputs:
        o.findings = list(dict.fromkeys(o.findings))
    return outputs
