"""The disclosure stage end to end on hand-made candidates: what is published, what is not."""

from __future__ import annotations

import json

import openpyxl
import polars as pl
import pytest

from socflow.disclose import disclose_stage, read_checked, write_output_request
from socflow.outputs import Candidate, read_candidates, write_candidates
from socflow.sdc import SdcThresholds

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
def checked(tmp_path):
    cands = [_freq(), _stats(), _model(500), _model(5), _survival()]
    write_candidates(cands, tmp_path / "cand", "demo")
    stage, back = read_candidates(tmp_path / "cand")
    assert stage == "demo" and [c.output_id for c in back] == [c.output_id for c in cands]
    disclose_stage(tmp_path / "cand", tmp_path / "tables", tmp_path / "checked.json", THR)
    return {o["output_id"]: o for o in read_checked(tmp_path / "checked.json", tmp_path / "tables")}


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


def test_output_request_pack_lists_every_output(tmp_path, checked):
    write_output_request(
        [str(tmp_path / "checked.json")], [str(tmp_path / "tables")],
        tmp_path / "results.json", tmp_path / "pack.xlsx", title="t",
    )  # fmt: skip
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    assert set(results) == {"f", "s", "m500", "m5", "k"}
    assert results["k"]["type"] == "survival" and results["m5"]["status"] == "fail"
    wb = openpyxl.load_workbook(tmp_path / "pack.xlsx")
    assert wb.sheetnames[0] == "Cover" and len(wb.sheetnames) == 6


def test_candidate_ids_are_checked():
    with pytest.raises(ValueError, match="kind"):
        Candidate("x", "histogram", "X", pl.DataFrame())
    with pytest.raises(ValueError, match="letters"):
        Candidate("x y", "frequency", "X", pl.DataFrame())
