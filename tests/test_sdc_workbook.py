"""Output request pack workbook."""

import openpyxl
import polars as pl
import pytest

from socflow.sdc import MARKER, PackOutput, sheet_names, write_output_request_pack


def test_sheet_names_are_short_unique_and_valid():
    long_id = "persons_by_offence_group_and_sentence_outcome_2019"
    names = sheet_names([long_id, long_id + "_b", "a/b:c", "Cover", "COVER"])
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names} | {"cover"}) == len(names) + 1
    assert names[2] == "a_b_c"
    assert names[0] == long_id[:31]


def test_pack_contents(tmp_path):
    table = pl.DataFrame({"offence": ["A", "B", "Total"], "persons": [None, 25, 40]})
    outputs = [
        ("persons_by_offence", "review", table, "1 cell suppressed"),
        PackOutput(
            "model",
            "pass",
            pl.DataFrame({"term": ["x"], "coef": [0.5]}),
            "",
            "regression",
            "fit_model",
        ),
    ]
    path = write_output_request_pack(outputs, tmp_path / "pack.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Cover", "persons_by_offence", "model"]
    cover = [r for r in wb["Cover"].iter_rows(values_only=True) if any(r)]
    assert [r[0] for r in cover[1:5]] == ["researcher", "project", "date", "justification"]
    assert cover[5] == ("output_id", "sheet", "status", "type", "producing rule", "summary",
                        "exception", "notes")  # fmt: skip
    assert cover[6] == (
        "persons_by_offence", "persons_by_offence", "review", "table", None, None, None,
        "1 cell suppressed",
    )  # fmt: skip
    assert cover[7][:5] == ("model", "model", "pass", "regression", "fit_model")
    sheet = [r for r in wb["persons_by_offence"].iter_rows(values_only=True) if any(r)]
    assert ("offence", "persons") in sheet
    assert ("A", MARKER) in sheet
    assert ("B", 25) in sheet
    assert any(r[0] and r[0].startswith(MARKER) for r in sheet)


def test_pack_is_deterministic(tmp_path):
    outputs = [("t", "pass", pl.DataFrame({"a": [1, 2]}), "")]
    a = write_output_request_pack(outputs, tmp_path / "a.xlsx").read_bytes()
    b = write_output_request_pack(outputs, tmp_path / "b.xlsx").read_bytes()
    assert a == b


def test_duplicate_ids_raise(tmp_path):
    t = pl.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match="duplicate"):
        write_output_request_pack([("x", "pass", t, ""), ("x", "pass", t, "")], tmp_path / "p.xlsx")
