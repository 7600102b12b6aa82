"""Audit records in the format of ACRO 1.0's `results.json`, read by the SACRO viewer.

The layout follows ACRO 1.0.2's `Records.finalise_json`: a top-level `version` (the ACRO
version whose reader the file is written for: `acro.record.load_records` refuses any
other), `tool` (who wrote the file) and `results`, one record per output with uid,
status, type, properties, files (each with its `sdc` block), outcome, command, summary,
timestamp, comments, exception and `fair` (the statbarn, risks, checks needed and each
check's status, as ACRO's ontology describes the output).

Check names are ACRO's ("MinimumThresholdCheck", "PresenceOfZeroCheck", "NKCheck",
"PPercentCheck", "MinimumDoFCheck", "MissingCheck", "AllSameValuesCheck",
"PresenceOfLinkedTableCheck", "StatbarnDataCheck"); what ACRO has no check for is named
in the same style ("SecondarySuppression", "Rounding", "NegativeValueCheck"). The `sdc`
block holds, per check, the number of flagged cells (`summary`) and their [row, col]
positions in the table as displayed (`cells`). The outcome is ACRO's
`DataFrame.to_json()` layout: {column label: {row label: "ok" | "Check; Check; "}}.

The per-cell outcome tells which withheld cell is a zero: it is evidence for the output
checker and must never sit among the released files.

Everything here is deterministic: the caller gives the timestamp (see `run_timestamp`,
which honours SOURCE_DATE_EPOCH) and a SHA-256 checksum of every file is recorded in
`properties`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .frequency import PRIMARY, ROUNDED, SECONDARY, ZERO, ProtectedTable
from .magnitude import MagnitudeTable
from .model import ModelCheck
from .thresholds import SdcThresholds

ACRO_FORMAT_VERSION = "1.0.2"
OUTPUT_TYPES: tuple[str, ...] = ("table", "regression", "custom")
STATUSES: tuple[str, ...] = ("pass", "fail", "review")

THRESHOLD_CHECK = "MinimumThresholdCheck"
ZERO_CHECK = "PresenceOfZeroCheck"
REQUIRED_ZERO_CHECK = "RequiredZeroCheck"
NK_CHECK = "NKCheck"
P_CHECK = "PPercentCheck"
DOF_CHECK = "MinimumDoFCheck"
MISSING_CHECK = "MissingCheck"
ALL_SAME_CHECK = "AllSameValuesCheck"
LINKED_CHECK = "PresenceOfLinkedTableCheck"
STATBARN_CHECK = "StatbarnDataCheck"
SECONDARY_CHECK = "SecondarySuppression"
ROUNDING_CHECK = "Rounding"
NEGATIVE_CHECK = "NegativeValueCheck"

# Checks run on every output of a kind, in ACRO's order of `checks_needed`.
FREQUENCY_CHECKS = (REQUIRED_ZERO_CHECK, ZERO_CHECK, LINKED_CHECK, THRESHOLD_CHECK,
                    SECONDARY_CHECK, ROUNDING_CHECK)  # fmt: skip
MAGNITUDE_CHECKS = (NK_CHECK, P_CHECK, LINKED_CHECK, THRESHOLD_CHECK, ALL_SAME_CHECK,
                    NEGATIVE_CHECK, MISSING_CHECK, SECONDARY_CHECK)  # fmt: skip
ACRO_CHECKS: tuple[str, ...] = tuple(dict.fromkeys(FREQUENCY_CHECKS + MAGNITUDE_CHECKS))

# Internal reasons (socflow.sdc.frequency / magnitude) in ACRO's vocabulary.
_FREQUENCY_REASONS: dict[str, list[str]] = {
    "ok": [],
    PRIMARY: [THRESHOLD_CHECK],
    ZERO: [THRESHOLD_CHECK, ZERO_CHECK],
    SECONDARY: [SECONDARY_CHECK],
    ROUNDED: [ROUNDING_CHECK],
}
_MAGNITUDE_REASONS: dict[str, str] = {
    "threshold": THRESHOLD_CHECK,
    "p-ratio": P_CHECK,
    "nk-rule": NK_CHECK,
    "all-values-are-same": ALL_SAME_CHECK,
    "negative": NEGATIVE_CHECK,
    "missing": MISSING_CHECK,
    "secondary": SECONDARY_CHECK,
    "linked": LINKED_CHECK,
    "dof": DOF_CHECK,
    "persons": THRESHOLD_CHECK,
    "events": THRESHOLD_CHECK,
}

# ACRO's statbarns (its `statbarns.json`) with their risks and the mitigations common to
# them, for the `fair` block.
FAIR_CONTEXT = "https://w3id.org/statbarnsdc#"
STATBARNS: dict[str, dict[str, list[str]]] = {
    "Frequencies": {"risks": ["ClassDisclosure", "Differencing", "LowCount"],
                    "common_mitigations": ["Noise", "Suppression"]},
    "LinearAggregations": {"risks": ["Dominance", "Differencing", "LowCount"],
                           "common_mitigations": ["Noise", "Suppression"]},
    "CorrelationCoefficients": {"risks": ["LowDOF"], "common_mitigations": [
        "Aggregation", "Noise", "OutlierRemoval", "Suppression"]},
    "HazardSurvivalTables": {"risks": ["ImplicitTables", "LowDOF"], "common_mitigations": []},
}  # fmt: skip


def _tool_version() -> str:
    pyproject = Path(__file__).resolve().parents[4] / "pyproject.toml"
    if pyproject.exists():
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    return "unknown"


TOOL: dict[str, str] = {
    "@type": "SoftwareApplication",
    "name": "socflow",
    "description": f"socflow disclosure stage, writing ACRO {ACRO_FORMAT_VERSION} results.json",
    "version": _tool_version(),
}


def run_timestamp(now: dt.datetime | None = None) -> str:
    """ISO timestamp of the records: SOURCE_DATE_EPOCH (UTC) when set, else now.

    ACRO writes naive local `datetime.now().isoformat()`; with SOURCE_DATE_EPOCH set,
    identical runs write identical records.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            seconds = int(epoch)
        except ValueError as err:
            raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds, got {epoch!r}") from err
        moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).replace(tzinfo=None)
    else:
        moment = now or dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def fair_block(
    statbarn: str,
    check_status: Mapping[str, str],
    *,
    dependent: str = "unknown",
    independent: Sequence[str] = (),
) -> dict[str, Any]:
    """ACRO's `fair` block: statbarn, risks, checks needed and each check's status."""
    barn = STATBARNS[statbarn]
    return {
        "context": FAIR_CONTEXT,
        "statbarn": statbarn,
        "risks": list(barn["risks"]),
        "checks_needed": list(check_status),
        "common_mitigations": list(barn["common_mitigations"]),
        "check_status": dict(check_status),
        "dependent": dependent,
        "independent": list(independent),
    }


def check_status_of(sdc: Mapping[str, Any], checks: Sequence[str], linked: str = "pass") -> dict:
    """Each check's status from the `sdc` counts: "fail" where any cell was flagged."""
    counts = sdc.get("summary", {})
    status = {c: ("fail" if counts.get(c, 0) else "pass") for c in checks}
    if LINKED_CHECK in status:
        status[LINKED_CHECK] = linked
    return status


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
    if outcome in ("ok", "not published"):
        return []
    return list(dict.fromkeys(_MAGNITUDE_REASONS[r] for r in outcome.split("; ") if r))


def outcome_text(reasons: Sequence[str]) -> str:
    """One cell's outcome as ACRO writes it: "ok" or "Check; Check; "."""
    return "".join(f"{r}; " for r in reasons) if reasons else "ok"


def grid_outcome(
    rows: Sequence[str], cols: Sequence[str], grid: Sequence[Sequence[Sequence[str]]]
) -> dict[str, dict[str, str]]:
    """ACRO's outcome layout from a grid of check names per cell."""
    return {
        col: {row: outcome_text(grid[i][j]) for i, row in enumerate(rows)}
        for j, col in enumerate(cols)
    }


def grid_sdc(grid: Sequence[Sequence[Sequence[str]]], checks: Sequence[str]) -> dict[str, Any]:
    """ACRO `sdc` block: flagged-cell counts per check and their [row, col] positions."""
    cells: dict[str, list[list[int]]] = {name: [] for name in checks}
    for i, line in enumerate(grid):
        for j, reasons in enumerate(line):
            for reason in reasons:
                cells.setdefault(reason, []).append([i, j])
    return {"summary": {k: len(v) for k, v in cells.items()}, "cells": cells}


def _table_grid(table: ProtectedTable | MagnitudeTable):
    rows, cols, grid = table.outcome_grid()
    return rows, cols, [[_reasons(table, grid[i][j]) for j in range(len(cols))]
                        for i in range(len(rows))]  # fmt: skip


def table_outcome(table: ProtectedTable | MagnitudeTable) -> dict[str, dict[str, str]]:
    """Per-cell outcome in ACRO's layout: {column label: {row label: "ok" | "A; B; "}}."""
    return grid_outcome(*_table_grid(table))


def table_sdc(table: ProtectedTable | MagnitudeTable) -> dict[str, Any]:
    """ACRO `sdc` block of a table; positions index the table as displayed, margins included."""
    checks = FREQUENCY_CHECKS if isinstance(table, ProtectedTable) else MAGNITUDE_CHECKS
    return grid_sdc(_table_grid(table)[2], checks)


def empty_sdc(checks: Sequence[str] = ()) -> dict[str, Any]:
    """ACRO `sdc` block with nothing flagged."""
    return {"summary": dict.fromkeys(checks, 0), "cells": {c: [] for c in checks}}


def model_outcome(check: ModelCheck) -> dict[str, dict[str, str]]:
    """Outcome of a model check: residual df and every categorical level."""
    column: dict[str, str] = {
        "residual_df": "ok" if check.residual_df_ok else outcome_text([DOF_CHECK]),
    }
    for rec in check.levels.iter_rows(named=True):
        key = f"{rec['term']}[{rec['level']}]"
        reasons = [] if rec["sdc"] == "ok" else [THRESHOLD_CHECK]
        column[key] = outcome_text(reasons)
    return {"outcome": column}


def summarise(status: str, sdc: Mapping[str, Any], extra: Iterable[str] = ()) -> str:
    """ACRO-style summary: "pass", or "review; MinimumThresholdCheck: 2 cells suppressed; "."""
    counts = sdc.get("summary", {})
    verb = "suppressed" if status != "fail" else "may need suppressing"
    parts = [f"{name}: {n} cells {verb}" for name, n in counts.items() if n]
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
    fair: Mapping[str, Any] | None = None,
    base_dir: str | Path | None = None,
) -> dict[str, Any]:
    """One record in ACRO 1.0's layout.

    `files` are read to record their SHA-256; each file's `name` is its path relative to
    `base_dir` (the folder that holds results.json, or a copy of it; the file name when no
    base_dir is given). `sdc` is shared by every file, as in ACRO. `summary` defaults to
    the ACRO-style summary of `status` and `sdc`. `command` names the workflow rule that
    produced the output. `exception` explains why an output marked review or fail should
    be released: ACRO asks the researcher for it, and the SACRO viewer shows it.
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"type must be one of {OUTPUT_TYPES}, got {output_type!r}")
    sdc_block = dict(sdc) if sdc is not None else {}
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
        "fair": dict(fair or {}),
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
    linked: Sequence[str] = (),
) -> dict[str, Any]:
    """Record for a protected frequency or magnitude table.

    `linked` lists what the run-level differencing check found against other outputs of
    the stage (ACRO's PresenceOfLinkedTableCheck): each finding sets the check to review.
    """
    sdc = table_sdc(table)
    frequency = isinstance(table, ProtectedTable)
    extra = list(linked)
    if frequency and table.method == "round":
        extra.append(f"{ROUNDING_CHECK}: base {thresholds.rounding_base}")
    fair = fair_block(
        "Frequencies" if frequency else "LinearAggregations",
        check_status_of(sdc, FREQUENCY_CHECKS if frequency else MAGNITUDE_CHECKS,
                        "review" if linked else "pass"),
        dependent=table.value,
        independent=[d for d in (table.row, table.col) if d],
    )  # fmt: skip
    status = table.status
    if linked and status == "pass":
        status = "review"
    return build_record(
        output_id,
        status=status,
        output_type="table",
        command=command,
        timestamp=timestamp,
        thresholds=thresholds,
        files=files,
        sdc=sdc,
        outcome=table_outcome(table),
        summary=summarise(status, sdc, extra),
        properties={"method": table.method if frequency else "magnitude",
                    "mitigation": "suppress" if not frequency or table.method != "round"
                    else "round"},
        comments=comments,
        exception=exception,
        fair=fair,
        base_dir=base_dir,
    )  # fmt: skip


def write_results_json(
    records: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
    path: str | Path,
    version: str = ACRO_FORMAT_VERSION,
) -> Path:
    """Write records as `results.json` in ACRO 1.0's layout (indent 4, trailing newline).

    `records` is a sequence of records (keyed by their uid, in the order given) or a
    mapping uid -> record.
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
    text = json.dumps({"version": version, "tool": TOOL, "results": results}, indent=4)
    out.write_text(text + "\n", encoding="utf-8")
    return out


def acro_config(thresholds: SdcThresholds) -> dict[str, Any]:
    """The `config.json` ACRO writes beside results.json, from socflow's thresholds."""
    return {
        "safe_threshold": thresholds.min_cell_count,
        "safe_dof_threshold": thresholds.min_residual_df,
        "safe_nk_n": thresholds.dominance_n,
        "safe_nk_k": thresholds.dominance_k,
        "safe_pratio_p": thresholds.p_ratio,
        "check_missing_values": True,
        "survival_safe_threshold": thresholds.survival_min_exits,
        "zeros_are_disclosive": thresholds.zeros_disclosive,
        "safe_round_base": thresholds.rounding_base,
        "federated": False,
        "blocked_extensions": [".svg", ".gph"],
        "suppress": thresholds.table_method == "suppress",
    }


def write_checksums(folder: str | Path, names: Iterable[str]) -> list[Path]:
    """`checksums/<name>.txt` (hex SHA-256, no newline) for each file, as ACRO writes them.

    Names may hold sub-folders (`tables/x.csv` -> `checksums/tables/x.csv.txt`), which is
    where the SACRO viewer looks for them.
    """
    folder = Path(folder)
    written = []
    for name in names:
        target = folder / "checksums" / f"{name}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(sha256_file(folder / name), encoding="utf-8")
        written.append(target)
    return written
