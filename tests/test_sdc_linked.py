"""Run-level checks across the outputs of one stage, tested by solving.

The example is the one an output checker found: a frequency table of person-ID coverage
whose cells are all withheld (one row is zero), beside a share of 1.0 and a cohort-flow
count that restate the withheld row total. The attacker's system is the table's own
additivity plus the equations those statements give; before the checks it solves the
withheld cells exactly, after them it cannot.
"""

from __future__ import annotations

import polars as pl

from socflow.sdc import SdcThresholds, protect_frequency_table
from socflow.sdc.frequency import _intervals, _layout, _published_entries
from socflow.sdc.linked import StageOutput, check_stage, statistic_counts

THR = SdcThresholds()


def _coverage():
    data = pl.DataFrame(
        {
            "id_status": ["usable", "usable", "none", "none"],
            "group": ["SOC", "Non-SOC", "SOC", "Non-SOC"],
            "persons": [259, 1235, 0, 0],
        }
    )
    return protect_frequency_table(data, "id_status", "group", "persons", THR)


def _linkage() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "statistic": ["share with a usable ID", "share of rows linked twice",
                          "share of rows with a region", "share of a big group"],
            "value": [1.0, 3 / 1000, 0.5, 0.25],
            "n_persons": [1494, 1000, 1000, 1000],
        }
    )  # fmt: skip


def _flow() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "statistic": ["cases", "with a usable ID", "with time at risk"],
            "value": [1588.0, 1494.0, 1182.0],
            "n_persons": [1588, 1494, 1182],
        }
    )


def _recoverable(table, equations: dict[int, int]) -> int:
    """Withheld entries an attacker solves exactly from the table plus `equations`
    (entry index -> value stated elsewhere)."""
    lay, values = _published_entries(table)
    lay = _layout(lay.n_rows, lay.n_cols)
    withheld = [e for e, v in enumerate(values) if v is None]
    known = list(values)
    for e, v in equations.items():
        known[e] = v
    iv = _intervals(lay, known)
    return sum(1 for e in withheld if e not in equations and iv[e][1] - iv[e][0] < 1 - 1e-6) + sum(
        1 for e in withheld if e in equations
    )


def _usable_row_total(table) -> int:
    """Index of the "usable" row margin: row margins follow the cells, in display order."""
    lay, _ = _published_entries(table)
    rows = table.to_display()["id_status"].to_list()
    return lay.n_rows * lay.n_cols + rows.index("usable")


def _stage():
    table = _coverage()
    return table, [
        StageOutput("survival_id_coverage", "frequency", table.to_display(), table),
        StageOutput("survival_linkage", "statistics", _linkage(), person_shares=True),
        StageOutput("survival_cohort_flow", "statistics", _flow()),
    ]


def _statements(outputs: list[StageOutput]) -> list[int]:
    """Counts the released statistics still state about the usable-ID row total."""
    out = []
    for o, label in ((outputs[1], "share with a usable ID"), (outputs[2], "with a usable ID")):
        for i, row in enumerate(o.table.iter_rows(named=True)):
            if row["statistic"] == label and i not in o.linked_rows and i not in o.withheld_rows:
                out.append(statistic_counts(row)[0])
    return out


def test_every_withheld_cell_is_solvable_before_and_none_after():
    table, outputs = _stage()
    shown = table.to_display().select(pl.exclude("id_status")).head(2)
    assert shown.null_count().sum_horizontal().item() == 6
    usable = _usable_row_total(table)
    before = _statements(outputs)
    assert before == [1494, 1494]
    n_withheld = sum(v is None for v in _published_entries(table)[1])
    assert _recoverable(table, {usable: before[0]}) == n_withheld  # all of them
    check_stage(outputs, THR)
    after = _statements(outputs)
    assert after == []
    assert _recoverable(table, {}) == 0


def test_derived_shares_inherit_their_counts():
    _, outputs = _stage()
    check_stage(outputs, THR)
    linkage = outputs[1]
    withheld = {linkage.table["statistic"][i] for i in linkage.linked_rows}
    # 1.0 of 1494: its complement is a zero; 3 of 1000 is a small count. 500 and 250 are
    # counts of at least 10 persons either way and stay.
    assert withheld == {"share with a usable ID", "share of rows linked twice"}
    assert "with time at risk" not in {outputs[2].table["statistic"][i]
                                       for i in outputs[2].linked_rows}  # fmt: skip


def test_totals_differing_by_a_few_persons_go_to_review():
    a = protect_frequency_table(
        pl.DataFrame({"r": ["x", "y"], "c": ["SOC", "SOC"], "n": [120, 139]}), "r", "c", "n", THR
    )
    b = protect_frequency_table(
        pl.DataFrame({"r": ["u", "v"], "c": ["SOC", "SOC"], "n": [100, 157]}), "r", "c", "n", THR
    )
    outputs = [StageOutput("a", "frequency", a.to_display(), a),
               StageOutput("b", "frequency", b.to_display(), b)]  # fmt: skip
    check_stage(outputs, THR)
    assert any("differ by 2 persons" in f for f in outputs[0].findings)
    assert any("differ by 2 persons" in f for f in outputs[1].findings)
    same = [StageOutput("a", "frequency", a.to_display(), a),
            StageOutput("c", "frequency", a.to_display(), a)]  # fmt: skip
    check_stage(same, THR)
    assert not same[0].findings


def test_undeclared_statistics_are_withheld_only_when_they_pin_a_withheld_entry():
    table, outputs = _stage()
    outputs[1] = StageOutput("survival_linkage", "statistics", pl.concat([
        _linkage(),
        pl.DataFrame({"statistic": ["log-rank p-value"], "value": [0.0], "n_persons": [1182]}),
    ]))  # fmt: skip
    check_stage(outputs, THR)
    withheld = {outputs[1].table["statistic"][i] for i in outputs[1].linked_rows}
    # The share of 1.0 restates the withheld row total (1494 = its upper bound); a p-value of
    # 0 and shares that state no bound of a withheld entry stay.
    assert withheld == {"share with a usable ID"}
    assert _recoverable(table, {}) == 0
