"""Output request pack: one Excel workbook listing every output for the output checker.

The cover sheet holds the request (researcher, project, date, justification, from the
config's `output_request` block) and lists each output (id, sheet, status, type, the
workflow rule that produced it, the check summary, notes); each output then has its own
sheet with a short header and its table. Withheld values are written as one marker,
explained in a footnote on the sheet; values that do not apply stay blank. Numbers are
shown rounded (a number format, the stored value unchanged). The file is deterministic:
fixed document properties and no timestamps, so a rerun on the same inputs gives the same
bytes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

MARKER = "[c]"
COVER_SHEET = "Cover"
_MAX_SHEET = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_FIXED_TIME = dt.datetime(2000, 1, 1)


@dataclass(frozen=True)
class PackOutput:
    """One output of the pack."""

    output_id: str
    status: str
    table: pl.DataFrame
    notes: str = ""
    output_type: str = "table"
    command: str = ""
    # {column: [row index]} of withheld values; None: every null is withheld.
    withheld_cells: dict[str, list[int]] | None = None
    summary: str = ""
    exception: str = ""


def _coerce(item: PackOutput | Sequence[Any]) -> PackOutput:
    if isinstance(item, PackOutput):
        return item
    if not 4 <= len(item) <= 6:
        raise ValueError("an output is (output_id, status, table, notes[, output_type[, command]])")
    return PackOutput(*item)


def sheet_names(output_ids: Sequence[str]) -> list[str]:
    """Valid, unique Excel sheet names (at most 31 characters) for the output ids.

    Characters Excel refuses are replaced by "_"; clashes (case-insensitive, as Excel
    compares them, and with the cover sheet) get a numeric suffix within the limit.
    """
    taken = {COVER_SHEET.lower()}
    names: list[str] = []
    for oid in output_ids:
        base = _BAD_SHEET_CHARS.sub("_", oid).strip("'") or "output"
        name = base[:_MAX_SHEET]
        k = 1
        while name.lower() in taken:
            k += 1
            suffix = f"~{k}"
            name = base[: _MAX_SHEET - len(suffix)] + suffix
        taken.add(name.lower())
        names.append(name)
    return names


COVER_FIELDS: tuple[str, ...] = ("researcher", "project", "date", "justification")


def number_format(value: float, column: str = "") -> str:
    """Excel number format that shows a value rounded: whole numbers with separators (years
    and times plain), large values without decimals, small ones to three decimals."""
    if float(value).is_integer() and ("year" in column or "time" in column):
        return "0"
    if float(value).is_integer():
        return "#,##0"
    if abs(value) >= 100:
        return "#,##0"
    if abs(value) >= 1:
        return "#,##0.00"
    return "0.000"


def _write_value(
    ws: Any, r: int, c: int, value: Any, *, marker: str, fmt: Any, withheld: bool, formats: dict,
    column: str = "",
) -> bool:  # fmt: skip
    """Write one value; True if it was withheld and written as the marker."""
    missing = value is None or (isinstance(value, float) and not math.isfinite(value))
    if missing and withheld:
        ws.write_string(r, c, marker, fmt)
        return True
    if missing:
        return False
    if isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        ws.write_number(r, c, value, formats[number_format(value, column)])
    else:
        ws.write_string(r, c, str(value))
    return False


def write_output_request_pack(
    outputs: Sequence[PackOutput | Sequence[Any]],
    path: str | Path,
    *,
    marker: str = MARKER,
    title: str = "Output request",
    cover: dict[str, Any] | None = None,
) -> Path:
    """Write the output request pack workbook.

    `outputs` are `PackOutput`s or tuples (output_id, status, table, notes[, output_type
    [, command]]). Output ids must be unique. `cover` gives the request's researcher,
    project, date and justification (blank where not given).
    """
    items = [_coerce(o) for o in outputs]
    ids = [o.output_id for o in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate output id(s): {', '.join(dupes)}")
    names = sheet_names(ids)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(out))
    wb.set_properties({"title": title, "created": _FIXED_TIME})
    bold = wb.add_format({"bold": True})
    right = wb.add_format({"align": "right"})

    formats = {f: wb.add_format({"num_format": f}) for f in ("0", "#,##0", "#,##0.00", "0.000")}
    request = dict(cover or {})
    sheet = wb.add_worksheet(COVER_SHEET)
    sheet.write_string(0, 0, title, bold)
    for r, key in enumerate(COVER_FIELDS, start=2):
        sheet.write_string(r, 0, key, bold)
        if request.get(key):
            sheet.write_string(r, 1, str(request[key]))
    first = len(COVER_FIELDS) + 3
    headers = ["output_id", "sheet", "status", "type", "producing rule", "summary", "exception",
               "notes"]  # fmt: skip
    for c, h in enumerate(headers):
        sheet.write_string(first, c, h, bold)
    for r, (item, name) in enumerate(zip(items, names, strict=True), start=first + 1):
        row = [item.output_id, name, item.status, item.output_type, item.command, item.summary,
               item.exception, item.notes]  # fmt: skip
        for c, v in enumerate(row):
            if v:  # leave empty fields blank rather than writing empty strings
                sheet.write_string(r, c, v)
    sheet.write_string(
        first + len(items) + 2, 0, f"{marker} = withheld for statistical disclosure control"
    )
    sheet.set_column(0, 1, 28)
    sheet.set_column(2, 4, 14)
    sheet.set_column(5, 7, 60)

    for item, name in zip(items, names, strict=True):
        ws = wb.add_worksheet(name)
        ws.write_string(0, 0, item.output_id, bold)
        header = [("status", item.status), ("producing rule", item.command), ("notes", item.notes)]
        for r, (label, text) in enumerate(header, start=1):
            ws.write_string(r, 0, label)
            if text:
                ws.write_string(r, 1, text)
        start = 5
        for c, col in enumerate(item.table.columns):
            ws.write_string(start, c, col, bold)
        withheld = False
        mask = item.withheld_cells
        cols = item.table.columns
        for r, rec in enumerate(item.table.iter_rows()):
            for c, value in enumerate(rec):
                hidden = mask is None or r in mask.get(cols[c], ())
                withheld |= _write_value(ws, start + 1 + r, c, value, marker=marker, fmt=right,
                                         withheld=hidden, formats=formats,
                                         column=cols[c])  # fmt: skip
        foot = start + item.table.height + 2
        if withheld:
            ws.write_string(foot, 0, f"{marker} = withheld for statistical disclosure control")
        ws.set_column(0, max(item.table.width - 1, 1), 16)
    wb.close()
    return out
