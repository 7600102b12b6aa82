"""The summary report: one self-contained HTML page and its Markdown twin.

Built from disclosure-checked outputs only (`socflow.disclose.read_checked`): every table
shows its disclosure status and a footnote for withheld cells, and every figure is drawn
from a checked table (by rule `figures`, one job a stage: `socflow.figures.draw_stage`), copied
as PNG into `reports/release/figures/` and embedded in the HTML as a data URI, so that the page
works offline with nothing fetched. Nothing here imports matplotlib. Stage sections live in
`templates/sections/<stage>.{html,md}.j2`; each reads its outputs through `out(id)`.
"""

from __future__ import annotations

import base64
import math
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
from markupsafe import Markup, escape

from socflow import render
from socflow.labels import HEADLINE_MEASURES

MARKER = "[c]"
NOT_APPLICABLE = "\u2013"  # en dash: a value that does not apply
SECTION_ORDER = (
    "headline", "quality", "soc", "describe", "harm", "model", "survival", "linkage", "custody",
    "establishments",
)  # fmt: skip
SECTION_TITLES = {
    "headline": "Headline measures",
    "quality": "Data quality",
    "soc": "SOC flags",
    "soc_groups": "Co-offending groups",
    "describe": "Nature, extent and outcomes",
    "harm": "Crime harm",
    "model": "Discontinuance and dismissal",
    "survival": "Re-appearance",
    "custody": "After custody: recall and re-appearance",
    "establishments": "Establishments",
    "linked_data": "Linked prison, OASys, probation and PNC data",
    "linkage": "Linked data: who is linked and their profiles",
}
STATUS_TEXT = {
    "skipped": "not produced: the extract lacks what it needs",
    "pass": "passed disclosure checks",
    "review": "protected; for output-checker review",
    "fail": "withheld: failed disclosure checks",
}


def _fmt(v: Any, column: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MARKER
    if isinstance(v, bool):
        return str(v)
    plain = "year" in column or "time" in column
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        v = int(v)
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.3g}" if abs(v) < 1 else f"{v:,.2f}"
    if isinstance(v, int) and not plain:
        return f"{v:,}"
    return str(v)


@dataclass
class OutputView:
    """What a template sees of one checked output."""

    output_id: str
    title: str = ""
    status: str = "fail"
    notes: str = ""
    footnote: str = ""
    table: pl.DataFrame | None = None
    figure_path: Path | None = None
    figure_rel: str = ""
    available: bool = False
    rows: list[dict[str, Any]] = field(default_factory=list)
    # {column: [row index]}: the withheld values, shown as [c]; other blanks do not apply.
    withheld_cells: dict[str, list[int]] = field(default_factory=dict)
    kind: str = ""
    csv_rel: str = ""  # the published table, relative to the report

    def _grid(self) -> tuple[list[str], list[list[tuple[str, bool]]]]:
        """The table as shown: column percentages beside the counts of a frequency table;
        a statistics table of definitions x measures pivoted; every cell (text, withheld)."""
        df = self.table
        cells = [
            [self._show(i, v, c) for v, c in zip(row, df.columns, strict=True)]
            for i, row in enumerate(df.iter_rows())
        ]
        if self.kind == "statistics" and {"definition", "measure", "value"} <= set(df.columns):
            return _pivot(df, cells)
        if self.kind == "frequency" and df.height and df.width > 1:
            return _with_column_shares(df, cells)
        return list(df.columns), cells

    def _show(self, i: int, v: Any, column: str) -> tuple[str, bool]:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            withheld = i in self.withheld_cells.get(column, ())
            return (MARKER if withheld else NOT_APPLICABLE), withheld
        return _fmt(v, column), False

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)

    def _foot(self, cells: list[list[tuple[str, bool]]] | None = None) -> str:
        """Footnote and notes; the count of withheld values is of the marks shown (shares
        withheld with their counts included)."""
        foot = self.footnote
        if cells is not None and WITHHELD_FOOT.search(foot):
            marks = sum(w for line in cells for _, w in line)
            foot = WITHHELD_FOOT.sub(f"{marks} value(s) withheld", foot)
        return " ".join(x for x in (foot, self.notes) if x)

    @property
    def html(self) -> Markup:
        if not self.available or self.table is None:
            why = f": {self.notes}" if self.status == "skipped" else ""
            return Markup(
                f'<p class="withheld">{escape(self.title or self.output_id)}: not published '
                f"({escape(self.status_text)}{escape(why)}).</p>"
            )
        columns, cells = self._grid()
        head = "".join(f"<th>{escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>"
            + "".join(f'<td class="{"c" if w else ""}">{escape(text)}</td>' for text, w in line)
            + "</tr>"
            for line in cells
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if len(cells) > LONG_TABLE_ROWS:
            # Long tables fold away behind their size; the full table is also a CSV.
            where = f" (also <code>{escape(self.csv_rel)}</code>)" if self.csv_rel else ""
            table = (
                f"<details><summary>{len(cells)} rows: show the table{where}</summary>"
                f"{table}</details>"
            )
        return Markup(
            f'<figure class="table"><figcaption>{escape(self.title)} '
            f'<span class="status {escape(self.status)}">{escape(self.status_text)}</span>'
            f"</figcaption>{table}"
            f'<p class="foot">{escape(self._foot(cells))}</p></figure>'
        )

    @property
    def md(self) -> str:
        if not self.available or self.table is None:
            why = f": {self.notes}" if self.status == "skipped" else ""
            return f"_{self.title or self.output_id}: not published ({self.status_text}{why})._"
        columns, cells = self._grid()
        lines = [
            f"**{self.title}** ({self.status_text})",
            "",
            "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(columns),
        ]
        shown = cells[:MD_SHOWN_ROWS] if len(cells) > LONG_TABLE_ROWS else cells
        lines += ["| " + " | ".join(text for text, _ in line) + " |" for line in shown]
        if len(shown) < len(cells):
            where = f" in `{self.csv_rel}`" if self.csv_rel else ""
            lines += ["", f"_The first {len(shown)} of {len(cells)} rows; the full table{where}._"]
        foot = self._foot(shown)
        if foot:
            lines += ["", f"_{foot}_"]
        return "\n".join(lines)

    @property
    def figure_html(self) -> Markup:
        if self.figure_path is None:
            return Markup("")
        data = base64.b64encode(self.figure_path.read_bytes()).decode("ascii")
        caption = escape(self.caption.replace("`", ""))
        return Markup(
            f'<figure class="chart"><img alt="{escape(self.title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{caption}</figcaption></figure>'
        )

    @property
    def caption(self) -> str:
        """What the figure shows and its base: the checked table it is drawn from."""
        base = f" Its base is the table `{self.csv_rel}`." if self.csv_rel else ""
        return (
            f"{self.title}. Drawn from the checked table below; a withheld value is a cross "
            f"labelled [c].{base}"
        )

    @property
    def figure_md(self) -> str:
        if self.figure_path is None:
            return ""
        return f"![{self.title}]({self.figure_rel})\n\n_{self.caption}_"


WITHHELD_FOOT = re.compile(r"\d+ value\(s\) withheld")
LONG_TABLE_ROWS = 15  # longer tables fold away (HTML) or are cut with a link (Markdown)
MD_SHOWN_ROWS = 10
TOTAL_LABEL = "Total"


def _pivot(
    df: pl.DataFrame, cells: list[list[tuple[str, bool]]]
) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """definition x measure -> one row per definition, one column per measure (values)."""
    value_at = df.columns.index("value")
    defs = list(dict.fromkeys(df["definition"].to_list()))
    measures = list(dict.fromkeys(df["measure"].to_list()))
    grid = {(d, m): cells[i][value_at] for i, (d, m) in
            enumerate(zip(df["definition"], df["measure"], strict=True))}  # fmt: skip
    rows = [[(d, False)] + [grid.get((d, m), (NOT_APPLICABLE, False)) for m in measures]
            for d in defs]  # fmt: skip
    return ["definition", *measures], rows


def _with_column_shares(
    df: pl.DataFrame, cells: list[list[tuple[str, bool]]]
) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Each count column followed by its column percentages (of the column's Total row), from
    the published counts only: a withheld count, or a withheld total, withholds the share."""
    labels = df[df.columns[0]].cast(pl.String).to_list()
    if TOTAL_LABEL not in labels:
        return list(df.columns), cells
    total_at = labels.index(TOTAL_LABEL)
    counts = [c for c in df.columns[1:] if df.schema[c].is_numeric()]
    columns = [df.columns[0]]
    for c in df.columns[1:]:
        columns += [c, f"{c} %"] if c in counts else [c]
    out = []
    for i, line in enumerate(cells):
        row = [line[0]]
        for j, c in enumerate(df.columns[1:], start=1):
            row.append(line[j])
            if c not in counts:
                continue
            value, total = df[c][i], df[c][total_at]
            withheld = line[j][1] or cells[total_at][j][1]
            if withheld:
                row.append((MARKER, True))
            elif value is None or total in (None, 0):
                row.append((NOT_APPLICABLE, False))
            else:
                row.append((f"{100 * value / total:.1f}%", False))
        out.append(row)
    return columns, out


def drawn_figures(drawn_dirs: Sequence[Path]) -> dict[str, Path]:
    """The PNG files drawn by rule `figures` (one folder a stage), by output id."""
    found: dict[str, Path] = {}
    for folder in drawn_dirs:
        for png in sorted(Path(folder).glob("*.png")):
            if png.stem in found:
                raise ValueError(
                    f"rule summary_report: figure {png.stem}.png drawn twice, in "
                    f"{found[png.stem].parent} and {png.parent}"
                )
            found[png.stem] = png
    return found


def build_views(
    checked: list[dict[str, Any]],
    figures_dir: Path,
    report_dir: Path,
    drawn_dirs: Sequence[Path],
) -> dict[str, OutputView]:
    """One view per checked output; its figure, drawn by rule `figures` into one of
    `drawn_dirs`, copied into `figures_dir` as `<output_id>.png`."""
    drawn = drawn_figures(drawn_dirs)
    views: dict[str, OutputView] = {}
    for o in checked:
        table = o.get("table")
        available = o["status"] != "fail" and table is not None and table.height > 0
        view = OutputView(
            output_id=o["output_id"], title=o["title"], status=o["status"], notes=o["notes"],
            footnote=o["footnote"], table=table, available=available,
            rows=table.to_dicts() if available else [],
            withheld_cells=o.get("withheld_cells", {}), kind=o.get("kind", ""),
            csv_rel=f"tables/{o['stage']}/{o['output_id']}.csv" if o.get("stage") else "",
        )  # fmt: skip
        source = drawn.pop(o["output_id"], None)
        if source is not None:
            if not available:
                # Only a published table has a figure; a drawing of any other never leaves.
                raise ValueError(
                    f"rule summary_report: {source} is a figure of output {o['output_id']}, "
                    f"which is not published ({o['status']})"
                )
            path = Path(figures_dir) / source.name
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, path)
            view.figure_path = path
            view.figure_rel = path.relative_to(report_dir).as_posix()
        views[o["output_id"]] = view
    if drawn:
        raise ValueError(
            "rule summary_report: figures of no checked output: "
            + ", ".join(str(p) for p in drawn.values())
        )
    return views


HEADLINE_POPULATIONS = ("SOC", "non-SOC", "all")
EN_DASH = "\u2013"


def headline_table(
    stats: OutputView, ages: OutputView, notes: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """The headline measures as rows of SOC | non-SOC | all cells, from the checked outputs.

    A cell is the published value with its interval and base, `[c]` where withheld, or a note
    (e.g. "needs prison data", or the column the extract lacks).
    """
    published = {(r["measure"], r["population"]): r for r in stats.rows}
    skipped = {n["analysis"]: n["reason"] for n in notes
               if n["section"] == "headline" and n["status"] == "skipped"}  # fmt: skip
    age_rows = {(r.get("row_label") or "all") if r.get("kind") == "cell" or r.get("kind") is None
                else "all": r for r in ages.rows}  # fmt: skip
    out = []
    for measure_id, label in HEADLINE_MEASURES.items():
        cells = {}
        for pop in HEADLINE_POPULATIONS:
            no_prison = not any((label, p) in published for p in HEADLINE_POPULATIONS)
            if measure_id == "recall_to_prison_2y" and no_prison:
                text, base = ("needs prison data", "") if pop != "all" else ("", "")
            elif label in skipped:
                text, base = skipped[label], ""
            elif measure_id == "mean_age":
                r = age_rows.get(pop)
                text = "" if r is None else MARKER if r.get("mean") is None else f"{r['mean']:.1f}"
                base = "" if r is None or r.get("n") is None else f"{r['n']:,} persons"
            else:
                r = published.get((label, pop))
                if r is None:
                    text, base = "", ""
                elif r.get("value") is None:
                    text, base = MARKER, ""
                else:
                    text = f"{100 * r['value']:.1f}%"
                    if r.get("ci_lower") is not None and r.get("ci_upper") is not None:
                        text += f" ({100 * r['ci_lower']:.1f}{EN_DASH}{100 * r['ci_upper']:.1f})"
                    base = f"{r['base']:,} {r['base_unit']}" if r.get("base") is not None else ""
            cells[pop] = {"text": text, "base": base}
        out.append({"measure": label, "cells": cells})
    return out


def _env() -> jinja2.Environment:
    env = render.environment()
    env.filters["fmt"] = _fmt
    env.filters["pct"] = lambda v, d=1: MARKER if v is None else f"{100 * v:.{d}f}%"
    return env


def render_summary(
    checked: list[dict[str, Any]],
    context: dict[str, Any],
    stage_config: dict[str, Any],
    html_path: Path,
    md_path: Path,
    figures_dir: Path,
    drawn_dirs: Sequence[Path],
) -> dict[str, OutputView]:
    """Render the summary report pages, with the figures drawn into `drawn_dirs` (rule
    `figures`) copied into `figures_dir`; returns the views (for tests and captions)."""
    report_dir = Path(html_path).parent
    views = build_views(checked, Path(figures_dir), report_dir, drawn_dirs)

    skipped = {
        n["analysis"]: n["reason"] for n in context.get("coverage", []) if n["status"] == "skipped"
    }

    def out(output_id: str) -> OutputView:
        if output_id not in views and output_id in skipped:
            return OutputView(output_id, status="skipped", notes=skipped[output_id])
        return views.get(output_id, OutputView(output_id))

    stages = {o["stage"] for o in checked}
    sections = [s for s in SECTION_ORDER if s in stages or f"{s}_groups" in stages]
    env = _env()
    for suffix, path in (("html", html_path), ("md", md_path)):
        rendered = []
        for s in sections:
            name = f"sections/{s}.{suffix}.j2"
            try:
                tmpl = env.get_template(name)
            except jinja2.TemplateNotFound:
                continue
            extra = {}
            if s == "headline":
                extra["headline"] = headline_table(
                    out("headline_measures"), out("headline_mean_age"), context.get("coverage", [])
                )
            rendered.append(tmpl.render(out=out, cfg=stage_config.get(s, {}), ctx=context, **extra))
        # The headline table leads the page; the other sections follow the run's description.
        lead = [Markup(r) for s, r in zip(sections, rendered, strict=False) if s == "headline"]
        rest = [Markup(r) for s, r in zip(sections, rendered, strict=False) if s != "headline"]
        page = env.get_template(f"summary.{suffix}.j2").render(
            ctx=context,
            lead=lead,
            sections=rest,
            outputs=list(views.values()),
            section_titles=SECTION_TITLES,
        )
        page = with_contents_html(page) if suffix == "html" else with_contents_md(page)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(page)
    return views


HEADING = re.compile(r"<(h[23])(\s[^>]*)?>(.*?)</\1>", re.S)


def slug(text: str) -> str:
    """An anchor from a heading, as GitHub makes them: lower case, punctuation dropped,
    spaces as hyphens."""
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def with_contents_html(page: str) -> str:
    """Every h2 and h3 gets an anchor; a table of contents of them follows the title."""
    entries: list[tuple[str, str, str]] = []
    used: set[str] = set()

    def anchor(m: re.Match) -> str:
        if m.group(1) == "h3" and not entries:
            return m.group(0)  # a box before the first section is not a section
        tag, attrs, inner = m.group(1), m.group(2) or "", m.group(3)
        found = re.search(r'id="([^"]+)"', attrs)
        ident = found.group(1) if found else slug(inner)
        base, n = ident, 1
        while ident in used:
            n += 1
            ident = f"{base}-{n}"
        used.add(ident)
        entries.append((tag, ident, re.sub(r"<[^>]+>", "", inner).strip()))
        attrs = attrs if found else f'{attrs} id="{ident}"'
        return f"<{tag}{attrs}>{inner}</{tag}>"

    page = HEADING.sub(anchor, page)
    items, open_sub = [], False
    for tag, ident, text in entries:
        if tag == "h3" and not open_sub:
            items.append("<ol>")
            open_sub = True
        elif tag == "h2" and open_sub:
            items.append("</ol></li>")
            open_sub = False
        elif tag == "h2" and items:
            items.append("</li>")
        items.append(
            f'<li><a href="#{ident}">{escape(text)}</a>' + ("</li>" if tag == "h3" else "")
        )
    items.append("</ol></li>" if open_sub else "</li>" if items else "")
    nav = f'<nav class="toc"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'
    at = page.index("</h1>") + len("</h1>")
    return page[:at] + "\n" + nav + page[at:]


def with_contents_md(page: str) -> str:
    """A list of the `## ` sections, linked, after the title."""
    lines = page.split("\n")
    heads = [ln[3:].strip() for ln in lines if ln.startswith("## ")]
    toc = ["## Contents", ""] + [f"- [{h}](#{slug(h)})" for h in heads] + [""]
    at = next(i for i, ln in enumerate(lines) if ln.startswith("# ")) + 1
    return "\n".join([*lines[:at], "", *toc, *lines[at:]])
