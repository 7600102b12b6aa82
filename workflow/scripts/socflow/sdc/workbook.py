"""Output request pack: one Excel workbook listing every output for the output checker.

The cover sheet lists each output (id, sheet, status, type, producing rule, notes); each
output then has its own sheet with a short header and its table. Withheld values (nulls)
are written as one marker, explained in a footnote on the sheet. The file is
deterministic: fixed document properties and no timestamps, so a rerun on the same
inputs gives the same bytes.
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


def _write_value(ws: Any, r: int, c: int, value: Any, *, marker: str, fmt: Any) -> bool:
    """Write one value; True if it was withheld and written as the marker."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        ws.write_string(r, c, marker, fmt)
        return True
    if isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        ws.write_number(r, c, value)
    else:
        ws.write_string(r, c, str(value))
    return False


def write_output_request_pack(
    outputs: Sequence[PackOutput | Sequence[Any]],
    path: str | Path,
    *,
    marker: str = MARKER,
    title: str = "Output request",
) -> Path:
    """Write the output request pack workbook.

    `outputs` are `PackOutput`s or tuples (output_id, status, table, notes[, output_type
    [, command]]). Output ids must be unique.
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

    cover = wb.add_worksheet(COVER_SHEET)
    cover.write_string(0, 0, title, bold)
    headers = ["output_id", "sheet", "status", "type", "producing rule", "notes"]
    for c, h in enumerate(headers):
        cover.write_string(2, c, h, bold)
    for r, (item, name) in enumerate(zip(items, names, strict=True), start=3):
        row = [item.output_id, name, item.status, item.output_type, item.command, item.notes]
        for c, v in enumerate(row):
            if v:  # leave empty fields blank rather than writing empty strings
                cover.write_string(r, c, v)
    cover.write_string(len(items) + 4, 0, f"{marker} = withheld for statistical disclosure control")
    cover.set_column(0, 1, 28)
    cover.set_column(2, 4, 14)
    cover.set_column(5, 5, 60)

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
        for r, rec in enumerate(item.table.iter_rows(), start=start + 1):
            for c, value in enumerate(rec):
                withheld |= _write_value(ws, r, c, value, marker=marker, fmt=right)
        foot = start + item.table.height + 2
        if withheld:
            ws.write_string(foot, 0, f"{marker} = withheld for statistical disclosure control")
        ws.set_column(0, max(item.table.width - 1, 1), 16)
    wb.close()
    return out
