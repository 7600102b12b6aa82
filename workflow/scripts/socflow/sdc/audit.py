"""Audit records in the format of ACRO's `results.json`, read by the SACRO viewer.

The layout follows ACRO's `Records.finalise_json` (0.4 series): a top-level `version` and
`results`, one record per output with uid, status, type, properties, files (each with
its `sdc` summary and cell positions), outcome, command, summary, timestamp, comments and
exception. The `sdc` keys are ACRO's: "negative", "missing", "threshold", "p-ratio",
"nk-rule", "all-values-are-same" (counts in `summary`, [row, col] positions in `cells`).
The outcome is ACRO's `DataFrame.to_json()` layout: {column label: {row label: outcome}},
with "ok" or reasons such as "threshold; " per cell.

Everything here is deterministic: the caller gives the timestamp, keys are sorted on
writing, and the thresholds and a SHA-256 checksum of every file are recorded in
`properties`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .frequency import PRIMARY, ROUNDED, SECONDARY, ZERO, ProtectedTable
from .magnitude import MagnitudeTable
from .model import ModelCheck
from .thresholds import SdcThresholds

ACRO_FORMAT_VERSION = "0.4.11"
OUTPUT_TYPES: tuple[str, ...] = ("table", "regression", "survival", "custom")
STATUSES: tuple[str, ...] = ("pass", "fail", "review")
ACRO_CHECKS: tuple[str, ...] = (
    "negative",
    "missing",
    "threshold",
    "p-ratio",
    "nk-rule",
    "all-values-are-same",
)

# Frequency outcomes in ACRO's vocabulary; secondary suppression and rounding have no
# ACRO check of their own, so they are reported under their own names.
_FREQUENCY_REASONS: dict[str, list[str]] = {
    "ok": [],
    PRIMARY: ["threshold"],
    ZERO: ["threshold", "zero"],
    SECONDARY: ["secondary"],
    ROUNDED: ["rounded"],
}


class _TableResult(Protocol):
    status: str

    def outcome_grid(self, total_label: str = ...) -> tuple[list[str], list[str], list]: ...


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _reasons(table: _TableResult, outcome: str) -> list[str]:
    if isinstance(table, ProtectedTable):
        return list(_FREQUENCY_REASONS[outcome])
    return [] if outcome == "ok" else [r for r in outcome.split("; ") if r]


def table_outcome(table: ProtectedTable | MagnitudeTable) -> dict[str, dict[str, str]]:
    """Per-cell outcome in ACRO's layout: {column label: {row label: "ok" | "a; b; "}}."""
    rows, cols, grid = table.outcome_grid()
    out: dict[str, dict[str, str]] = {}
    for j, col in enumerate(cols):
        out[col] = {}
        for i, row in enumerate(rows):
            reasons = _reasons(table, grid[i][j])
            out[col][row] = "".join(f"{r}; " for r in reasons) if reasons else "ok"
    return out


def table_sdc(table: ProtectedTable | MagnitudeTable) -> dict[str, Any]:
    """ACRO `sdc` block: counts per check and [row, col] positions in the displayed table.

    Positions index the table as displayed (`to_display`), margins included.
    `suppressed` is True when any entry is withheld, as ACRO sets it when suppression
    was applied.
    """
    rows, cols, grid = table.outcome_grid()
    cells: dict[str, list[list[int]]] = {name: [] for name in ACRO_CHECKS}
    for i in range(len(rows)):
        for j in range(len(cols)):
            for reason in _reasons(table, grid[i][j]):
                if reason in cells:
                    cells[reason].append([i, j])
    summary: dict[str, Any] = {"suppressed": bool(table.suppressed)}
    for name in ACRO_CHECKS:
        summary[name] = len(cells[name])
    return {"summary": summary, "cells": cells}


def empty_sdc() -> dict[str, Any]:
    """ACRO `sdc` block with nothing flagged (for outputs without cells)."""
    summary: dict[str, Any] = {"suppressed": False}
    summary.update(dict.fromkeys(ACRO_CHECKS, 0))
    return {"summary": summary, "cells": {name: [] for name in ACRO_CHECKS}}


def model_outcome(check: ModelCheck) -> dict[str, dict[str, str]]:
    """Outcome of a model check: residual df and every categorical level."""
    column: dict[str, str] = {
        "residual_df": "ok" if check.residual_df_ok else "dof; ",
    }
    for rec in check.levels.iter_rows(named=True):
        key = f"{rec['term']}[{rec['level']}]"
        reasons = [] if rec["sdc"] == "ok" else rec["sdc"].split("; ")
        column[key] = "".join(f"{r}; " for r in reasons) if reasons else "ok"
    return {"outcome": column}


def summarise(status: str, sdc: Mapping[str, Any], extra: Iterable[str] = ()) -> str:
    """ACRO-style summary: "pass", or "review; threshold: 2 cells suppressed; " etc."""
    s = sdc.get("summary", {})
    verb = "suppressed" if s.get("suppressed") else "may need suppressing"
    parts: list[str] = []
    if s.get("negative", 0):
        parts.append("negative values found")
    if s.get("missing", 0):
        parts.append("missing values found")
    for name in ("threshold", "p-ratio", "nk-rule", "all-values-are-same"):
        if s.get(name, 0):
            parts.append(f"{name}: {s[name]} cells {verb}")
    parts.extend(extra)
    if not parts:
        return status
    return f"{status}; " + "".join(f"{p}; " for p in parts)


def build_record(
    output_id: str,
    *,
    status: str,
    output_type: str,
    command: str,
    timestamp: str,
    thresholds: SdcThresholds,
    files: Sequence[str | Path] = (),
    sdc: Mapping[str, Any] | None = None,
    outcome: Mapping[str, Mapping[str, str]] | None = None,
    summary: str | None = None,
    properties: Mapping[str, Any] | None = None,
    comments: Sequence[str] = (),
    exception: str = "",
    base_dir: str | Path | None = None,
) -> dict[str, Any]:
    """One ACRO-compatible record.

    `files` are read to record their SHA-256; each file's `name` is its path relative to
    `base_dir` (its file name when no base_dir is given). `sdc` is shared by every file,
    as in ACRO. `summary` defaults to the ACRO-style summary of `status` and `sdc`.
    `command` names what produced the output (the workflow rule).
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"type must be one of {OUTPUT_TYPES}, got {output_type!r}")
    sdc_block = dict(sdc) if sdc is not None else empty_sdc()
    names: list[str] = []
    checksums: dict[str, str] = {}
    for f in files:
        path = Path(f)
        name = path.relative_to(base_dir).as_posix() if base_dir else path.name
        if name in checksums:
            raise ValueError(f"file name {name!r} appears twice in output {output_id!r}")
        names.append(name)
        checksums[name] = sha256_file(path)
    props: dict[str, Any] = dict(properties or {})
    props["thresholds"] = thresholds.to_dict()
    props["sha256"] = checksums
    return {
        "uid": output_id,
        "status": status,
        "type": output_type,
        "properties": props,
        "files": [{"name": n, "sdc": sdc_block} for n in names],
        "outcome": {k: dict(v) for k, v in (outcome or {}).items()},
        "command": command,
        "summary": summary if summary is not None else summarise(status, sdc_block),
        "timestamp": timestamp,
        "comments": list(comments),
        "exception": exception,
    }


def build_table_record(
    output_id: str,
    table: ProtectedTable | MagnitudeTable,
    *,
    command: str,
    timestamp: str,
    thresholds: SdcThresholds,
    files: Sequence[str | Path] = (),
    comments: Sequence[str] = (),
    exception: str = "",
    base_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Record for a protected frequency or magnitude table."""
    sdc = table_sdc(table)
    extra: list[str] = []
    if isinstance(table, ProtectedTable):
        counts = table.outcome_counts()
        method = table.method
        if counts[SECONDARY]:
            extra.append(f"secondary: {counts[SECONDARY]} cells suppressed")
        if counts[ROUNDED]:
            extra.append(f"rounded: base {thresholds.rounding_base}")
    else:
        method = "magnitude"
        secondary = table.reason_counts()["secondary"]
        if secondary:
            extra.append(f"secondary: {secondary} cells suppressed")
    return build_record(
        output_id,
        status=table.status,
        output_type="table",
        command=command,
        timestamp=timestamp,
        thresholds=thresholds,
        files=files,
        sdc=sdc,
        outcome=table_outcome(table),
        summary=summarise(table.status, sdc, extra),
        properties={"method": method},
        comments=comments,
        exception=exception,
        base_dir=base_dir,
    )


def write_results_json(
    records: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
    path: str | Path,
    version: str = ACRO_FORMAT_VERSION,
) -> Path:
    """Write records as `results.json` (sorted keys, indent 2, trailing newline).

    `records` is a sequence of records (keyed by their uid) or a mapping uid -> record.
    """
    items = list(records.values()) if isinstance(records, Mapping) else list(records)
    results: dict[str, Any] = {}
    for rec in items:
        uid = rec["uid"]
        if uid in results:
            raise ValueError(f"duplicate output id {uid!r}")
        results[uid] = rec
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": version, "results": results}, indent=2, sort_keys=True)
    out.write_text(text + "\n", encoding="utf-8")
    return out
