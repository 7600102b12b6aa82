"""The summary report: built from checked outputs only, self-contained, withheld cells marked."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from socflow import figures
from socflow.checked import MARKER as CHECKED_MARKER
from socflow.checked import read_checked
from socflow.report import MARKER, build_views, render_summary
from socflow.sdc import MARKER as SDC_MARKER

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"

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
    figures.draw_stage(_checked(), tmp_path / "drawn")
    views = render_summary(
        _checked(), CONTEXT, {}, html, md, tmp_path / "figures", [tmp_path / "drawn"]
    )
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


def test_draw_stage_writes_a_file_exactly_where_draw_draws(tmp_path):
    checked = _checked()
    # A figure spec with nothing published to draw: no file.
    checked.append(
        {**checked[0], "output_id": "describe_empty", "table": checked[0]["table"].clear()}
    )
    written = figures.draw_stage(checked, tmp_path / "stage")
    assert written == [tmp_path / "stage" / "describe_sex.png"]
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == ["describe_sex.png"]
    direct = figures.draw(checked[0], tmp_path / "direct.png")
    assert written[0].read_bytes() == direct.read_bytes()
    # A stage without figures still has its (empty) folder, the rule's output.
    assert figures.draw_stage(checked[1:], tmp_path / "none") == []
    assert (tmp_path / "none").is_dir()


def test_views_point_at_copies_of_the_drawn_figures(tmp_path):
    figures.draw_stage(_checked(), tmp_path / "drawn" / "describe")
    views = build_views(
        _checked(), tmp_path / "report" / "figures", tmp_path / "report",
        [tmp_path / "drawn" / "describe", tmp_path / "drawn" / "empty"],
    )  # fmt: skip
    view = views["describe_sex"]
    assert view.figure_path == tmp_path / "report" / "figures" / "describe_sex.png"
    assert view.figure_rel == "figures/describe_sex.png"
    drawn = tmp_path / "drawn" / "describe" / "describe_sex.png"
    assert view.figure_path.read_bytes() == drawn.read_bytes()
    assert views["describe_court"].figure_path is None
    assert [p.name for p in (tmp_path / "report" / "figures").iterdir()] == ["describe_sex.png"]


def test_a_figure_of_an_unpublished_or_unknown_output_is_refused(tmp_path):
    figures.draw_stage(_checked(), tmp_path / "drawn")
    withheld = [{**_checked()[0], "status": "fail", "table": None}, _checked()[1]]
    with pytest.raises(ValueError, match="describe_sex, which is not published"):
        build_views(withheld, tmp_path / "figures", tmp_path, [tmp_path / "drawn"])
    with pytest.raises(ValueError, match="figures of no checked output"):
        build_views(_checked()[1:], tmp_path / "figures", tmp_path, [tmp_path / "drawn"])
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "describe_sex.png").write_bytes(b"png")
    with pytest.raises(ValueError, match=r"describe_sex\.png drawn twice"):
        build_views(_checked(), tmp_path / "figures", tmp_path,
                    [tmp_path / "drawn", tmp_path / "again"])  # fmt: skip


def _loads_matplotlib(imports: list[str]) -> bool:
    code = "\n".join([*imports, "import sys", "print('matplotlib' in sys.modules)"])
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=REPO / "workflow" / "scripts",
    )  # fmt: skip
    return proc.stdout.strip() == "True"


def test_summary_report_script_does_not_load_matplotlib():
    """Rule summary_report only copies figures: every module its script imports, run in a
    fresh interpreter, leaves matplotlib unloaded (the drawing is rule `figures`' job)."""
    tree = ast.parse((REPO / "workflow" / "scripts" / "summary_report.py").read_text())
    imports = [
        ast.unparse(node)
        for node in tree.body  # top level only: the TYPE_CHECKING import never runs
        if isinstance(node, ast.Import)
        or (isinstance(node, ast.ImportFrom) and node.module != "_bootstrap")
    ]
    assert "from socflow.report import render_summary" in imports
    assert not _loads_matplotlib(imports)
    # The control: the figures script's imports do load it.
    assert _loads_matplotlib(["from socflow.figures import draw_stage"])


def _write_checked(folder: Path, outputs: list[dict]) -> tuple[Path, Path]:
    """A stage's checked index and released tables on disk, as rule disclosure_check writes
    them (withheld values as [c])."""
    tables = folder / "tables"
    tables.mkdir(parents=True)
    index = {"stage": "describe", "outputs": []}
    for o in outputs:
        table = o["table"]
        csv = tables / f"{o['output_id']}.csv"
        if table is None:
            csv.write_text("")
        else:
            table.write_csv(csv, null_value=MARKER)
        entry = {k: v for k, v in o.items() if k not in ("table", "stage")}
        index["outputs"].append({**entry, "csv": csv.name})
    index_path = folder / "describe.json"
    index_path.write_text(json.dumps(index))
    return index_path, tables


def _run_figures_script(tmp_path: Path, outputs: list[dict]) -> tuple[Path, bool]:
    """Rule figures' script, run in a fresh interpreter as Snakemake runs it; returns its
    output folder and whether it loaded matplotlib."""
    index, tables = _write_checked(tmp_path / "in", outputs)
    out = tmp_path / "out"
    fake = (
        "import runpy, sys\nfrom types import SimpleNamespace as NS\n"
        f"sm = NS(scriptdir={str(SCRIPTS)!r}, threads=1, rule='figures',"
        f" log=[{str(tmp_path / 'figures.log')!r}], wildcards=NS(stage='describe'),"
        f" input=NS(checked={str(index)!r}, tables={str(tables)!r}),"
        f" output=NS(figures={str(out)!r}))\n"
        f"runpy.run_path({str(SCRIPTS / 'figures.py')!r}, init_globals={{'snakemake': sm}})\n"
        "print('matplotlib' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", fake], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout.strip() == "True"


def test_figures_script_draws_the_checked_stage(tmp_path):
    out, loaded = _run_figures_script(tmp_path, _checked())
    assert loaded
    assert sorted(p.name for p in out.iterdir()) == ["describe_sex.png"]
    # The same bytes as drawing the outputs read back directly.
    expect = figures.draw_stage(
        read_checked(tmp_path / "in" / "describe.json", tmp_path / "in" / "tables"),
        tmp_path / "direct",
    )
    assert (out / "describe_sex.png").read_bytes() == expect[0].read_bytes()
    assert "drew 1 figure(s) for 2 checked output(s)" in (tmp_path / "figures.log").read_text()


def test_figures_script_leaves_matplotlib_unloaded_for_a_stage_without_figures(tmp_path):
    out, loaded = _run_figures_script(tmp_path, [{**o, "figure": None} for o in _checked()])
    assert not loaded
    assert out.is_dir() and list(out.iterdir()) == []


def test_checked_tables_are_read_with_the_marker_the_disclosure_stage_writes():
    assert CHECKED_MARKER == SDC_MARKER
