"""Reading a stage's disclosure-checked outputs back: the index `results/disclosure/<stage>.json`
and the released tables beside it.

Apart from `socflow.disclose` (which imports the whole disclosure machinery, scipy among it) so
that the rules that only read checked outputs (figures, summary_report) start quickly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

MARKER = "[c]"  # a withheld value in a released table (as socflow.sdc writes it)


def read_checked(checked_json: str | Path, tables_dir: str | Path) -> list[dict[str, Any]]:
    """A stage's checked outputs, each with its released table loaded as `table`.

    Withheld values ([c]) are read as nulls; `withheld_cells` tells them apart from
    values that do not apply.
    """
    index = json.loads(Path(checked_json).read_text())
    out = []
    for o in index["outputs"]:
        path = Path(tables_dir) / o["csv"]
        table = (
            pl.read_csv(path, infer_schema_length=None, null_values=[MARKER])
            if path.stat().st_size
            else None
        )
        out.append({**o, "stage": index["stage"], "table": table})
    return out


def has_figures(checked: list[dict[str, Any]]) -> bool:
    """Whether any of a stage's checked outputs has a figure spec (else there is nothing to
    draw, and no need to load matplotlib)."""
    return any(o.get("figure") for o in checked)
