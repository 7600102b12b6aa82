"""The mapping assistant: a draft mapping of one extract onto one canonical table.

`draft_mapping` reads an extract (a file or a folder of shards, CSV and Parquet mixed, offline),
profiles its columns (extract.py), matches canonical columns to source columns by name and
content (names.py, dates.py, codes.py, levels.py, match.py) and returns a `Draft`;
`write_outputs` writes the draft mapping YAML, one value table per coded column and an internal
HTML page. The outputs hold exact small counts and raw values: they stay in `results/`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from socflow import schema
from socflow.assist.draft import Draft, build_draft
from socflow.assist.extract import AssistError, open_extract, profile_columns
from socflow.assist.match import assign, candidates, evidence
from socflow.assist.page import render_page

__all__ = ["AssistError", "Draft", "draft_mapping", "write_outputs"]

DRAFT_FILE = "draft_mapping.yaml"
PAGE_FILE = "mapping_assistant.html"


def draft_mapping(
    table: str,
    extract_path: str | Path,
    known_codes: pl.Series,
    fmt: str = "auto",
    data_first: bool = True,
) -> Draft:
    """Propose a mapping of the extract at `extract_path` onto canonical `table`.

    `known_codes`: the HO code table's codes as NNNNN (`ingest.load_ho_codes(...)["ho_code"]`).
    `data_first=False` ignores Data First's own column names and matches on plain-English
    spellings and content alone (to measure what those names contribute).
    """
    if table not in schema.TABLES:
        raise AssistError(f"unknown table {table!r}; one of {', '.join(schema.TABLES)}")
    extract = open_extract(extract_path, fmt)
    profiles = profile_columns(extract)
    ev = {name: evidence(p, known_codes) for name, p in profiles.items()}
    matches = assign(table, candidates(table, ev, data_first))
    return build_draft(table, extract, ev, matches)


def write_outputs(draft: Draft, out_dir: str | Path) -> dict[str, Path]:
    """Write the draft YAML, `values_<column>.csv` per coded column, and the HTML page."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"draft": out / DRAFT_FILE, "page": out / PAGE_FILE}
    paths["draft"].write_text(draft.yaml_text())
    for name, vt in draft.value_tables.items():
        paths[f"values_{name}"] = out / f"values_{name}.csv"
        vt.write_csv(paths[f"values_{name}"])
    paths["page"].write_text(render_page(draft))
    return paths
