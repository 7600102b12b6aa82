"""The extract mapping: which tables and columns an extract has, and where they come from.

A mapping file (config key `mapping`) is complete in itself: it lists every canonical table,
and names, for every table the extract has, its path and format and, for every canonical column
of that table, the source column, a constant (`{value: ...}`) or `null` (absent). A table the
extract lacks is listed as `null`: leaving a table out is an error, so that an absent table is
always a decision written down, never an oversight (a mapping written before a table was added to
the canonical schema stops with a message naming it). Nothing is filled in from another mapping,
so a mapping written for a real extract can never inherit a column of the synthetic one.

The checks here run when the workflow starts (workflow/rules/common.smk), before any job.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import yaml

from socflow import schema

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "mapping.schema.yaml"
ALWAYS_REQUIRED = ("crown_defendant_cases",)
UNMAPPED_POLICIES = ("quarantine", "stop")


class LinkError(ValueError):
    """A linking table that joins no row of the table it links: its keys do not match."""


class MappingError(ValueError):
    """A mapping that cannot describe an extract: the message names the file and the key."""


def _fill_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec.setdefault("format", "auto")
    spec.setdefault("date_format", "%Y-%m-%d")
    spec.setdefault("recode", {})
    spec.setdefault("unmapped", {})
    return spec


def check_mapping(
    datasets: dict[str, Any], source: str = "mapping", complete: bool = False
) -> dict[str, dict | None]:
    """Validate a `datasets` block; return every canonical table, `None` where absent.

    Every non-derived canonical column of a present table must be listed (a source column, a
    constant or `null`), required columns must not be `null`, and recodes and unmapped-value
    policies may only name enum columns of the table. With `complete` (a mapping file), every
    canonical table must be listed too, `null` when the extract lacks it; without it (a block
    drafted for one table), an unlisted table is absent.
    """
    try:
        jsonschema.validate({"datasets": datasets}, yaml.safe_load(SCHEMA_PATH.read_text()))
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise MappingError(f"{source}: {where}: {exc.message}") from None
    out: dict[str, dict | None] = {}
    problems: list[str] = []
    unlisted_tables = [t for t in schema.TABLES if t not in datasets]
    if complete and unlisted_tables:
        problems.append(
            f"datasets does not list {', '.join(unlisted_tables)}: a mapping file lists every "
            "canonical table, with `null` for a table the extract lacks (e.g. "
            f"`{unlisted_tables[0]}: null`)"
        )
    for table in schema.TABLES:
        spec = datasets.get(table)
        if spec is None:
            out[table] = None
            continue
        spec = _fill_defaults(spec)
        cols = {c.name: c for c in schema.source_columns(table)}
        listed = spec["columns"]
        unknown = sorted(set(listed) - set(cols))
        if unknown:
            problems.append(
                f"datasets.{table}.columns names no canonical column {', '.join(unknown)} "
                f"(canonical: {', '.join(cols)})"
            )
        unlisted = [n for n in cols if n not in listed]
        if unlisted:
            problems.append(
                f"datasets.{table}.columns does not list {', '.join(unlisted)}: give each the "
                "extract's column name, a constant {value: ...}, or null if the extract lacks it"
            )
        absent_required = [n for n, c in cols.items() if c.required and listed.get(n, "") is None]
        if absent_required:
            problems.append(
                f"datasets.{table}.columns: {', '.join(absent_required)} cannot be null "
                f"(required: {', '.join(n for n, c in cols.items() if c.required)})"
            )
        for name, entry in listed.items():
            if isinstance(entry, dict) and name in cols:
                bad = _bad_constant(entry["value"], cols[name])
                if bad:
                    problems.append(f"datasets.{table}.columns.{name}: constant {bad}")
        enums = {n for n, c in cols.items() if c.kind == "enum"}
        for key in ("recode", "unmapped"):
            wrong = sorted(set(spec[key]) - enums)
            if wrong:
                problems.append(
                    f"datasets.{table}.{key} names {', '.join(wrong)}, which are not coded "
                    f"columns of {table} (coded: {', '.join(sorted(enums))})"
                )
        for name, policy in spec["unmapped"].items():
            if isinstance(policy, dict) and name in cols:
                levels = cols[name].dtype.categories.to_list()
                if policy["level"] not in levels:
                    problems.append(
                        f"datasets.{table}.unmapped.{name}.level {policy['level']!r} is not a "
                        f"canonical level of {name} ({', '.join(levels)})"
                    )
        out[table] = spec
    for table in ALWAYS_REQUIRED:
        if out.get(table) is None:
            problems.append(
                f"datasets.{table} is required (the Crown Court table is always needed)"
            )
    if problems:
        raise MappingError(f"{source}:\n  - " + "\n  - ".join(problems))
    return out


def _bad_constant(value: Any, col: schema.Column) -> str:
    """Why a constant cannot stand for a canonical column ("" when it can)."""
    if col.kind == "enum" and str(value) not in col.dtype.categories.to_list():
        return f"{value!r} is not a canonical level ({', '.join(col.dtype.categories)})"
    if col.kind == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            return f"{value!r} is not a date in ISO form (YYYY-MM-DD)"
    if col.kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        return f"{value!r} is not a whole number"
    if col.kind == "float" and not isinstance(value, int | float):
        return f"{value!r} is not a number"
    return ""


def load_mapping(path: str | Path) -> dict[str, dict | None]:
    """Read and check a mapping file (see `check_mapping`)."""
    p = Path(path)
    if not p.is_file():
        raise MappingError(f"config key `mapping`: mapping file not found: {p}")
    doc = yaml.safe_load(p.read_text()) or {}
    if not isinstance(doc, dict) or set(doc) != {"datasets"}:
        raise MappingError(f"{p}: a mapping file has exactly one top-level key, `datasets`")
    return check_mapping(doc["datasets"] or {}, source=str(p), complete=True)


def source_of(entry: Any) -> str | None:
    """The source column a mapping entry names, or None (constant or absent)."""
    return entry if isinstance(entry, str) else None


def is_present(spec: dict | None, column: str) -> bool:
    """Whether a mapping supplies a canonical column (from a source column or a constant)."""
    return spec is not None and spec["columns"].get(column) is not None


def present_columns(datasets: dict[str, dict | None]) -> dict[str, list[str]]:
    """For every canonical table, the canonical columns the extract supplies (derived columns
    included where what they are derived from is supplied); [] for an absent table."""
    out = {}
    for table, cols in schema.TABLES.items():
        spec = datasets.get(table)
        if spec is None:
            out[table] = []
            continue
        have = [c.name for c in cols if c.kind != "derived" and is_present(spec, c.name)]
        have += [
            c.name
            for c in cols
            if c.kind == "derived" and all(s in have for s in schema.DERIVED_FROM[c.name])
        ]
        out[table] = [c.name for c in cols if c.name in have]
    return out


def empty_table(table: str) -> pl.DataFrame:
    """A canonical table with no rows, for a stage given an absent table."""
    return pl.DataFrame(schema=schema.polars_schema(table))


def read_ingested(path: str | Path | None, table: str, columns: list[str] | None = None):
    """An ingested table, or an empty canonical one when the extract lacks the table (`path`
    None or empty): a stage reads an absent optional table as one with no rows, and the
    coverage notes (socflow.coverage) say what it did without it."""
    if not path:
        frame = empty_table(table)
        return frame.select(columns) if columns is not None else frame
    return pl.read_parquet(path, columns=columns)


def check_link_matches(ids: pl.DataFrame, rows: pl.DataFrame, source: str, table: str) -> None:
    """Stop when the linking table has rows for `source` but none joins a row of `table`
    (`row_id` on both sides): the mapping of one of the two row keys is wrong."""
    if ids.height == 0 or rows.height == 0:
        return
    # A right mapping matches almost every key, so a few thousand of the link's keys settle it
    # without hashing all of them; only a mapping that matches few needs the full search.
    row_ids = rows.get_column("row_id")
    if row_ids.is_in(ids.get_column("row_id").head(4096).implode()).any():
        return
    if not ids.get_column("row_id").is_in(row_ids.implode()).any():
        raise LinkError(
            f"the linking table xjs_link (source_dataset {source}, {ids.height} rows) matches "
            f"no row of {table} ({rows.height} rows) on row_id: check "
            f"`datasets.xjs_link.columns.row_id` and `datasets.{table}.columns.row_id` in the "
            "mapping (they must hold the same key)"
        )
