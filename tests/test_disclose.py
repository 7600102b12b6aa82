"""The disclosure stage end to end on hand-made candidates: what is published, what is not."""

from __future__ import annotations

import hashlib
import json
import os

import openpyxl
import pandas as pd
import polars as pl
import pytest

from socflow.disclose import assemble_checker_folder, disclose_stage, read_checked
from socflow.outputs import Candidate, read_candidates, read_stage_candidates, write_candidates
from socflow.sdc import SdcThresholds
from socflow.sdc.audit import run_timestamp
from socflow.sdc.workbook import number_format

from .sacro_viewer import open_with_sacro_viewer

THR = SdcThresholds()


def _freq() -> Candidate:
    data = pl.DataFrame(
        {
            "region": ["A", "A", "B", "B", "C", "C"],
            "status": ["SOC", "non-SOC"] * 3,
            "persons": [3, 40, 25, 60, 30, 55],
        }
    )
    return Candidate("f", "frequency", "F", data, spec={"row": "region", "col": "status",
                                                          "count": "persons"})  # fmt: skip


def _stats() -> Candidate:
    data = pl.DataFrame({"statistic": ["gini", "tiny"], "value": [0.4, 0.9], "n_persons": [500, 4]})
    return Candidate("s", "statistics", "S", data)


def _model(residual_df: int) -> Candidate:
    coefs = pl.DataFrame(
        {"term": ["soc"], "level": ["True"], "coef": [0.47], "se": [0.1], "ci_lower": [0.27],
         "ci_upper": [0.67], "p_value": [0.001], "odds_ratio": [1.6]}
    )  # fmt: skip
    levels = pl.DataFrame(
        {"term": ["soc", "soc"], "level": ["True", "False"], "persons": [200, 900],
         "events": [30, 60]}
    )  # fmt: skip
    return Candidate(f"m{residual_df}", "model", "M", coefs, spec={"residual_df": residual_df},
                     extra={"levels": levels})  # fmt: skip


def _survival() -> Candidate:
    n = 60
    data = pl.DataFrame(
        {
            "group": ["SOC"] * n,
            "time": list(range(1, n + 1)),
            "at_risk": list(range(n + 20, 20, -1)),
            "events": [1] * n,
            "censored": [0] * n,
            "estimate": [i / 100 for i in range(1, n + 1)],
            "ci_lower": [i / 120 for i in range(1, n + 1)],
            "ci_upper": [i / 90 for i in range(1, n + 1)],
        }
    )
    return Candidate("k", "survival", "K", data, spec={"group": "group"})


@pytest.fixture
def checked(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    cands = [_freq(), _stats(), _model(500), _model(5), _survival()]
    write_candidates(cands, tmp_path / "cand", "demo")
    stage, back = read_candidates(tmp_path / "cand")
    assert stage == "demo" and [c.output_id for c in back] == [c.output_id for c in cands]
    tables = tmp_path / "release" / "tables" / "demo"
    disclose_stage(tmp_path / "cand", tables, tmp_path / "checked.json", THR, "describe")
    return {o["output_id"]: o for o in read_checked(tmp_path / "checked.json", tables)}


def test_frequency_small_cell_and_its_complements_are_withheld(checked):
    f = checked["f"]
    assert f["status"] == "review"
    table = f["table"]
    a = table.filter(pl.col("region") == "A")
    assert a["SOC"].item() is None  # 3 persons
    assert table.select(pl.exclude("region")).null_count().sum_horizontal().item() >= 2
    assert "withheld" in f["footnote"]


def test_statistics_resting_on_few_persons_are_withheld(checked):
    s = checked["s"]["table"]
    assert s.filter(pl.col("statistic") == "tiny")["value"].item() is None
    assert s.filter(pl.col("statistic") == "gini")["value"].item() == 0.4


def test_models_need_residual_df(checked):
    assert checked["m500"]["status"] == "pass"
    assert checked["m500"]["table"]["odds_ratio"].item() == 1.6
    assert checked["m5"]["status"] == "fail"
    assert checked["m5"]["table"] is None or checked["m5"]["table"].height == 0


def test_survival_steps_aggregated_and_reviewed(checked):
    k = checked["k"]
    assert k["status"] == "review"
    t = k["table"]
    assert (t["exits"] >= THR.survival_min_exits).all()
    assert (t["at_risk"] >= THR.survival_min_at_risk).all()
    assert t.height < 60 and t["estimate"].null_count() == 0


def _checker(tmp_path, monkeypatch) -> tuple:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    release = tmp_path / "release"
    (release / "figures").mkdir(parents=True, exist_ok=True)
    (release / "figures" / "f.png").write_bytes(b"\x89PNG figure bytes")
    (release / "summary.html").write_text("<p>summary</p>")
    (release / "summary.md").write_text("summary")
    checker = tmp_path / "checker"
    cover = {"researcher": "A. Researcher", "project": "P-1", "date": "2026-01-02",
             "justification": "Tables for the paper."}  # fmt: skip
    n = assemble_checker_folder([str(tmp_path / "checked.json")],
                                [str(release / "tables" / "demo")], release, checker, THR,
                                cover, title="t")  # fmt: skip
    return release, checker, n


def test_checker_folder_loads_in_acro_with_every_file_listed(tmp_path, checked, monkeypatch):
    acro_record = pytest.importorskip("acro.record")
    release, checker, n = _checker(tmp_path, monkeypatch)
    data = json.loads((checker / "results.json").read_text())
    assert data["version"] == "1.0.2" and data["tool"]["name"] == "socflow"
    results = data["results"]
    assert set(results) == {"f", "s", "m500", "m5", "k", "f_figure", "summary_html", "summary_md"}
    assert n == len(results)
    assert results["k"]["type"] == "table" and results["m5"]["status"] == "fail"
    assert results["f_figure"]["type"] == "custom"
    for rec in results.values():
        assert rec["timestamp"] == "2023-11-14T22:13:20"
        assert rec["status"] == "pass" or rec["exception"], rec["uid"]
        assert "rule" in rec["command"]
    assert results["f"]["fair"]["statbarn"] == "Frequencies"
    assert "MinimumThresholdCheck" in results["f"]["files"][0]["sdc"]["summary"]
    # Every released file is listed, named relative to results.json, copied and checksummed.
    released = sorted(p.relative_to(release).as_posix() for p in release.rglob("*")
                      if p.is_file())  # fmt: skip
    listed = sorted(f["name"] for r in results.values() for f in r["files"])
    assert released == listed
    for name in listed:
        assert (checker / name).read_bytes() == (release / name).read_bytes()
        digest = hashlib.sha256((checker / name).read_bytes()).hexdigest()
        assert (checker / "checksums" / f"{name}.txt").read_text() == digest
    assert json.loads((checker / "config.json").read_text())["safe_threshold"] == 10
    # ACRO's own reader loads the folder, and every table round-trips.
    records = acro_record.load_records(str(checker))
    assert set(records.get_keys()) == set(results)
    for uid in ("f", "s", "m500", "k"):
        [frame] = records.get(uid).output
        name = results[uid]["files"][0]["name"]
        assert frame.equals(pd.read_csv(release / name)), uid
    assert records.get("f").exception == results["f"]["exception"]


def test_checker_folder_opens_in_the_sacro_viewer(tmp_path, checked, monkeypatch):
    _, checker, n = _checker(tmp_path, monkeypatch)
    report = open_with_sacro_viewer(checker)
    assert report["metadata"] == "results.json" and report["version"] == "1.0.2"
    assert report["outputs"] == n and report["files"] == n
    assert report["invalid_checksums"] == [] and report["returncode"] == 0


def test_release_shows_only_c_and_no_reasons(tmp_path, checked, monkeypatch):
    release, _, _ = _checker(tmp_path, monkeypatch)
    for csv in (release / "tables").rglob("*.csv"):
        text = csv.read_text()
        for reason in ("zero", "threshold", "primary", "secondary", "Check"):
            assert reason not in text, (csv.name, reason)
    # Footnote counts equal the [c] marks shown.
    for oid, o in checked.items():
        csv = release / "tables" / "demo" / f"{oid}.csv"
        assert csv.read_text().count("[c]") == o["withheld"], oid
        if o["withheld"]:
            assert f"{o['withheld']} value(s) withheld" in o["footnote"]
    assert checked["s"]["withheld"] == 2  # value and n_persons of the row on 4 persons


def test_workbook_cover_and_rounding(tmp_path, checked, monkeypatch):
    _, checker, _ = _checker(tmp_path, monkeypatch)
    wb = openpyxl.load_workbook(checker / "output_request.xlsx")
    cover = wb["Cover"]
    fields = {cover.cell(r, 1).value: cover.cell(r, 2).value for r in range(3, 7)}
    assert fields == {"researcher": "A. Researcher", "project": "P-1", "date": "2026-01-02",
                      "justification": "Tables for the paper."}  # fmt: skip
    rules = {cover.cell(r, 5).value for r in range(9, 9 + 5)}
    assert rules == {"rule describe; checked by rule disclosure_check"}
    s = wb["s"]
    formats = {s.cell(r, c).number_format for r in range(7, 9) for c in range(2, 4)
               if isinstance(s.cell(r, c).value, float)}  # fmt: skip
    assert formats and formats <= {"0.000", "#,##0.00", "#,##0"}
    assert number_format(2013, "year") == "0" and number_format(2013, "persons") == "#,##0"
    assert number_format(721506.6767126324) == "#,##0" and number_format(0.1234) == "0.000"


def test_timestamps_follow_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert run_timestamp() == "1970-01-01T00:00:00"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert run_timestamp() != "1970-01-01T00:00:00"
    assert "SOURCE_DATE_EPOCH" not in os.environ


def test_candidate_ids_are_checked():
    with pytest.raises(ValueError, match="kind"):
        Candidate("x", "histogram", "X", pl.DataFrame())
    with pytest.raises(ValueError, match="letters"):
        Candidate("x y", "frequency", "X", pl.DataFrame())


def test_a_stage_in_two_folders_is_read_in_its_order_and_refused_when_they_clash(tmp_path):
    """Candidates of one stage written by two rules come back in the stage's order, each with
    its rule; folders of different stages, or reusing an output id or an order number, stop
    the check."""
    first, second = _freq(), _stats()
    first.order, second.order = 2, 1
    write_candidates([first], tmp_path / "a", "demo")
    write_candidates([second], tmp_path / "b", "demo")
    stage, pairs = read_stage_candidates([tmp_path / "a", tmp_path / "b"], ["rule_a", "rule_b"])
    assert stage == "demo"
    assert [(c.output_id, rule) for c, rule in pairs] == [("s", "rule_b"), ("f", "rule_a")]
    write_candidates([second], tmp_path / "other", "elsewhere")
    with pytest.raises(ValueError, match="different stages: demo, elsewhere"):
        read_stage_candidates([tmp_path / "a", tmp_path / "other"], ["rule_a", "rule_b"])
    with pytest.raises(ValueError, match="output id used twice: s"):
        read_stage_candidates([tmp_path / "b", tmp_path / "b"], ["rule_b", "rule_b"])
    clash = _model(500)
    clash.order = 2
    write_candidates([clash], tmp_path / "c", "demo")
    with pytest.raises(ValueError, match="order number used twice: 2"):
        read_stage_candidates([tmp_path / "a", tmp_path / "c"], ["rule_a", "rule_c"])
    with pytest.raises(ValueError, match="2 candidate folders but 1 producing rules"):
        read_stage_candidates([tmp_path / "a", tmp_path / "b"], ["rule_a"])
