"""The summary report: built from checked outputs only, self-contained, withheld cells marked."""

from __future__ import annotations

import polars as pl

from socflow import figures
from socflow.report import MARKER, render_summary

CONTEXT = {
    "run_name": "test", "data_source": "synthetic", "synthetic": True, "scale": "tiny",
    "seed": 1, "first_year": 2013, "last_year": 2020, "validation": None,
    "code_list": {"version": "v1", "n_codes": 3, "sha256": "ab" * 32,
                  "definition": {"require": ["offence"], "offence_scope": "principal",
                                 "tier": "any", "seriousness_mode": "off", "threshold_years": 3,
                                 "min_defendants": 2, "codefendants_must_meet_offence": False}},
    "sdc": {"min_cell_count": 10, "table_method": "suppress", "dominance_n": 2,
            "dominance_k": 0.9, "p_ratio": 0.1},
}  # fmt: skip


def _checked() -> list[dict]:
    table = pl.DataFrame(
        {"sex": ["F", "M", "Total"], "SOC": [None, 40, 52], "non-SOC": [None, 400, 480],
         "Total": [92, 440, 532]}
    )  # fmt: skip
    return [
        {
            "output_id": "describe_sex", "stage": "describe", "kind": "frequency",
            "title": "Persons by sex", "status": "review", "notes": "",
            "footnote": "2 value(s) withheld", "withheld": 2,
            "withheld_cells": {"SOC": [0], "non-SOC": [0]},
            "figure": {"type": "bar", "x": "sex", "y": "share", "group": "status",
                       "horizontal": True, "share_within": "status"},
            "table": table,
        },
        {
            "output_id": "describe_court", "stage": "describe", "kind": "frequency",
            "title": "Persons by court", "status": "fail", "notes": "", "footnote": "",
            "withheld": 0, "figure": None, "table": None,
        },
    ]  # fmt: skip


def test_summary_marks_withheld_cells_and_embeds_figures(tmp_path):
    html, md = tmp_path / "summary.html", tmp_path / "summary.md"
    views = render_summary(_checked(), CONTEXT, {}, html, md, tmp_path / "figures")
    page = html.read_text()
    assert "SYNTHETIC DATA" in page
    # Two withheld counts and, beside them, their two withheld column shares.
    assert MARKER in page and "4 value(s) withheld" in page
    assert page.count("data:image/png;base64,") == 1
    assert "not published" in page  # the failed output is named, not shown
    assert "<script" not in page
    assert views["describe_sex"].figure_path.exists()
    text = md.read_text()
    assert "| F | [c] | [c] | [c] | [c] | 92 | 17.3% |" in text
    assert "| M | 40 | 76.9% | 400 | 83.3% | 440 | 82.7% |" in text  # shares of published totals
    # Only withheld values are marked: a blank that does not apply is a dash.
    table_lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    assert sum(ln.count("[c]") for ln in table_lines) == 4
    assert "![Persons by sex](figures/describe_sex.png)" in text


def test_shares_come_from_published_counts():
    table = _checked()[0]["table"]
    long = figures.frequency_shares(table, {"share_within": "status"})
    soc = long.filter(pl.col("group") == "SOC")
    assert soc.filter(pl.col("category") == "M")["value"].item() == 40 / 52
    assert soc.filter(pl.col("category") == "F")["value"].item() is None


def test_figures_are_deterministic(tmp_path):
    long = pl.DataFrame({"category": ["a", "b"], "group": ["g", "g"], "value": [1.0, 2.0]})
    one = figures.bar(long, tmp_path / "1.png", title="t", ylabel="y", horizontal=False)
    two = figures.bar(long, tmp_path / "2.png", title="t", ylabel="y", horizontal=False)
    assert one.read_bytes() == two.read_bytes()
