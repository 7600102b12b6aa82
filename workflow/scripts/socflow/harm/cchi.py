"""The Cambridge Crime Harm Index, read from a table the user supplies."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from socflow.harm.common import HO_CODE, HarmInputError


def _normalise_header(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def _cchi_rows(path: Path, sheet: str | None) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl  # noqa: PLC0415 - only needed when a spreadsheet is supplied

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            if sheet and sheet not in book.sheetnames:
                raise HarmInputError(f"{path}: no sheet {sheet!r} (sheets: {book.sheetnames})")
            ws = book[sheet] if sheet else book.worksheets[0]
            return [list(row) for row in ws.iter_rows(values_only=True)]
        finally:
            book.close()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [list(row) for row in csv.reader(handle)]
    raise HarmInputError(f"{path}: the Cambridge Crime Harm Index must be .xlsx or .csv")


def _cell_text(row: Sequence[Any], i: int) -> str:
    return str(row[i]).strip() if i < len(row) and row[i] is not None else ""


def read_cchi(
    path: str | Path, code_column: str, score_column: str, sheet: str | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Read a user-supplied Cambridge Crime Harm Index table (xlsx via openpyxl, or CSV).

    The header row is the first of the first 50 rows naming both columns (matched ignoring
    case and runs of whitespace). Codes are HO classifications `NNN/NN` (also `N/N`, `NN/NN`,
    zero-padded) or `NNNNN`. Returns (`ho_offence_code`, `w_cchi`) and a count of problems:
    rows read, rows with an unreadable code or score (left out), and codes given more than
    once (the largest score is kept).
    """
    path = Path(path)
    rows = _cchi_rows(path, sheet)
    want = (_normalise_header(code_column), _normalise_header(score_column))
    header_at = next(
        (i for i, row in enumerate(rows[:50])
         if all(w in [_normalise_header(c) for c in row] for w in want)),
        None,
    )  # fmt: skip
    if header_at is None:
        raise HarmInputError(
            f"{path}: no header row with columns {code_column!r} and {score_column!r} "
            "in the first 50 rows"
        )
    header = [_normalise_header(c) for c in rows[header_at]]
    ci, si = header.index(want[0]), header.index(want[1])
    body = [r for r in rows[header_at + 1 :] if any(c not in (None, "") for c in r)]
    raw = pl.DataFrame(
        {
            "code": [_cell_text(r, ci) for r in body],
            "score": [_cell_text(r, si) for r in body],
        },
        schema={"code": pl.String, "score": pl.String},
    )  # fmt: skip
    parts = raw["code"].str.extract_groups(HO_CODE.pattern)
    code = (
        pl.when(raw["code"].str.contains(r"^\d{5}$").to_frame().to_series())
        .then(raw["code"])
        .otherwise(pl.concat_str(parts.struct.field("1").str.zfill(3),
                                 parts.struct.field("2").str.zfill(2)))
    )  # fmt: skip
    frame = raw.with_columns(
        pl.select(code).to_series().alias("ho_offence_code"),
        pl.col("score").str.replace_all(",", "").cast(pl.Float64, strict=False).alias("w_cchi"),
    )
    bad_code = frame.filter(pl.col("ho_offence_code").is_null()).height
    bad_score = frame.filter(
        pl.col("ho_offence_code").is_not_null()
        & (pl.col("w_cchi").is_null() | (pl.col("w_cchi") < 0))
    ).height
    good = frame.filter(pl.col("ho_offence_code").is_not_null() & (pl.col("w_cchi") >= 0))
    duplicated = good.filter(pl.col("ho_offence_code").is_duplicated())["ho_offence_code"]
    out = good.group_by("ho_offence_code").agg(pl.col("w_cchi").max()).sort("ho_offence_code")
    problems = {
        "rows": raw.height,
        "unreadable_code": bad_code,
        "unreadable_or_negative_score": bad_score,
        "duplicated_codes": duplicated.n_unique(),
    }
    return out, problems
