"""Audit records in ACRO's results.json layout."""

import hashlib
import json

import polars as pl
import pytest

from socflow.sdc import (
    ACRO_FORMAT_VERSION,
    SdcThresholds,
    build_record,
    build_table_record,
    check_magnitude_table,
    check_model,
    model_outcome,
    protect_frequency_table,
    summarise,
    write_results_json,
)

THR = SdcThresholds()
TIMESTAMP = "2025-01-01T00:00:00"
# Keys of a record as written by ACRO's Records.finalise_json.
ACRO_RECORD_KEYS = {
    "uid",
    "status",
    "type",
    "properties",
    "files",
    "outcome",
    "command",
    "summary",
    "timestamp",
    "comments",
    "exception",
    "fair",
}


def example_table():
    grid = {"X": [4, 20, 30], "Y": [15, 25, 12], "Z": [40, 11, 50]}
    recs = [
        {"r": r, "c": c, "n": v}
        for r, vals in grid.items()
        for c, v in zip("ABC", vals, strict=True)
    ]
    return protect_frequency_table(pl.DataFrame(recs), "r", "c", "n", THR)


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "table.csv"
    example_table().to_display().write_csv(path)
    return path


def test_frequency_record(csv_file):
    rec = build_table_record(
        "persons_by_offence",
        example_table(),
        command="table_persons_by_offence",
        timestamp=TIMESTAMP,
        thresholds=THR,
        files=[csv_file],
    )
    assert set(rec) == ACRO_RECORD_KEYS
    assert rec["uid"] == "persons_by_offence"
    assert rec["status"] == "review"
    assert rec["type"] == "table"
    assert rec["command"] == "table_persons_by_offence"
    assert rec["timestamp"] == TIMESTAMP
    assert rec["comments"] == []
    assert rec["exception"] == ""
    assert rec["summary"] == (
        "review; MinimumThresholdCheck: 1 cells suppressed; "
        "SecondarySuppression: 3 cells suppressed; "
    )
    [file] = rec["files"]
    assert file["name"] == "table.csv"
    assert file["sdc"]["summary"]["MinimumThresholdCheck"] == 1
    assert file["sdc"]["summary"]["SecondarySuppression"] == 3
    assert file["sdc"]["summary"]["PresenceOfZeroCheck"] == 0
    assert file["sdc"]["cells"]["MinimumThresholdCheck"] == [[0, 0]]
    assert rec["outcome"]["A"] == {
        "X": "MinimumThresholdCheck; ", "Y": "SecondarySuppression; ", "Z": "ok", "Total": "ok"
    }  # fmt: skip
    assert rec["outcome"]["B"]["Y"] == "SecondarySuppression; "
    assert rec["outcome"]["Total"] == {"X": "ok", "Y": "ok", "Z": "ok", "Total": "ok"}
    fair = rec["fair"]
    assert fair["statbarn"] == "Frequencies"
    assert fair["check_status"]["MinimumThresholdCheck"] == "fail"
    assert fair["check_status"]["PresenceOfLinkedTableCheck"] == "pass"
    assert fair["independent"] == ["r", "c"]
    props = rec["properties"]
    assert props["method"] == "suppress"
    assert props["thresholds"]["min_cell_count"] == 10
    assert props["sha256"] == {"table.csv": hashlib.sha256(csv_file.read_bytes()).hexdigest()}


def test_magnitude_record():
    recs = [{"g": "A", "p": f"a{i}", "v": v} for i, v in enumerate([95.0, 3.0, 2.0] + [1.0] * 7)]
    recs += [{"g": "B", "p": f"b{i}", "v": 10.0 + i} for i in range(12)]
    table = check_magnitude_table(pl.DataFrame(recs), ["g"], "v", "p", THR, margins=False)
    rec = build_table_record(
        "days", table, command="table_days", timestamp=TIMESTAMP, thresholds=THR
    )
    assert rec["status"] == "review"
    assert rec["files"] == []
    assert rec["outcome"] == {"v": {"A": "PPercentCheck; NKCheck; ", "B": "ok"}}
    assert rec["summary"] == (
        "review; NKCheck: 1 cells suppressed; PPercentCheck: 1 cells suppressed; "
    )
    assert rec["fair"]["statbarn"] == "LinearAggregations"


def test_model_and_survival_records(tmp_path):
    check = check_model(
        200,
        pl.DataFrame({"term": ["sex"], "level": ["M"], "persons": [50], "events": [9]}),
        THR,
    )
    rec = build_record(
        "cox",
        status=check.status,
        output_type="regression",
        command="fit_cox",
        timestamp=TIMESTAMP,
        thresholds=THR,
        outcome=model_outcome(check),
        summary=check.summary(),
        properties={"method": "coxph", "dof": 200},
    )
    assert rec["status"] == "fail"
    assert rec["outcome"] == {"outcome": {"residual_df": "ok", "sex[M]": "MinimumThresholdCheck; "}}
    assert rec["properties"]["dof"] == 200
    surv = build_record(
        "km",
        status="review",
        output_type="table",
        command="km",
        timestamp=TIMESTAMP,
        thresholds=THR,
    )
    assert surv["summary"] == "review"


def test_summarise_matches_acro_style():
    sdc = {"summary": {"MinimumThresholdCheck": 2, "NKCheck": 0}}
    assert summarise("fail", sdc) == "fail; MinimumThresholdCheck: 2 cells may need suppressing; "
    assert summarise("pass", {"summary": {}}) == "pass"


def test_invalid_status_and_type():
    with pytest.raises(ValueError, match="status"):
        build_record(
            "x", status="ok", output_type="table", command="c", timestamp=TIMESTAMP, thresholds=THR
        )
    with pytest.raises(ValueError, match="type"):
        build_record(
            "x", status="pass", output_type="plot", command="c", timestamp=TIMESTAMP, thresholds=THR
        )


def test_write_results_json(tmp_path, csv_file):
    a = build_table_record(
        "b_table",
        example_table(),
        command="r",
        timestamp=TIMESTAMP,
        thresholds=THR,
        files=[csv_file],
    )
    b = build_record(
        "a_custom",
        status="review",
        output_type="custom",
        command="r2",
        timestamp=TIMESTAMP,
        thresholds=THR,
    )
    path = write_results_json([a, b], tmp_path / "out" / "results.json")
    text = path.read_text()
    data = json.loads(text)
    assert set(data) == {"version", "tool", "results"}
    assert data["version"] == ACRO_FORMAT_VERSION == "1.0.2"
    assert list(data["results"]) == ["b_table", "a_custom"]  # in the order given
    assert text == json.dumps(data, indent=4) + "\n"
    again = write_results_json({"b_table": a, "a_custom": b}, tmp_path / "again.json")
    assert again.read_text() == text
    with pytest.raises(ValueError, match="duplicate"):
        write_results_json([a, a], tmp_path / "dup.json")
