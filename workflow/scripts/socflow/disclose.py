"""The disclosure stage: check every candidate output and publish only what passes.

Reads a stage's candidates (`socflow.outputs`), applies the check of its kind
(`socflow.sdc`), writes the published table of each output as CSV into `reports/tables/`
(withheld values empty), and returns one ACRO-format audit record per output plus a small
index the report reads (title, status, notes, figure, footnote). Nothing else reaches
`reports/`: the report draws its tables and figures from these files only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from socflow.outputs import Candidate, read_candidates
from socflow.sdc import (
    PackOutput,
    SdcThresholds,
    aggregate_survival_steps,
    build_record,
    build_table_record,
    check_magnitude_table,
    check_model,
    model_outcome,
    protect_frequency_table,
    strip_disallowed,
    survival_status,
    write_output_request_pack,
    write_results_json,
)
from socflow.sdc.audit import summarise

# Timestamps make records differ between identical runs; the run date lives in the manifest.
TIMESTAMP = "1970-01-01T00:00:00"
STAT_COLUMNS = ("statistic", "value", "ci_lower", "ci_upper")
SURVIVAL_COLUMNS = ("time", "at_risk", "events", "censored", "estimate", "ci_lower", "ci_upper")


@dataclass
class Published:
    """One checked output: the published table and what the report needs to show it."""

    output_id: str
    stage: str
    kind: str
    title: str
    status: str
    table: pl.DataFrame
    notes: str
    figure: dict[str, Any] | None
    footnote: str
    withheld: int
    record: dict[str, Any]


def _footnote(withheld: int, extra: str = "") -> str:
    parts = []
    if withheld:
        parts.append(
            f"{withheld} value(s) withheld for statistical disclosure control (shown as [c])."
        )
    if extra:
        parts.append(extra)
    return " ".join(parts)


def _frequency(c: Candidate, thr: SdcThresholds) -> tuple[pl.DataFrame, str, int, Any]:
    s = c.spec
    table = protect_frequency_table(
        c.data, s["row"], s.get("col"), s["count"], thr, structural_zero=s.get("structural_zero")
    )
    display = table.to_display()
    counts = table.outcome_counts()
    withheld = counts["primary"] + counts["zero"] + counts["secondary"]
    return display, table.status, withheld, table


def _magnitude(c: Candidate, thr: SdcThresholds) -> tuple[pl.DataFrame, str, int, Any]:
    s = c.spec
    table = check_magnitude_table(
        c.data, s["by"], s["value"], s["person"], thr, margins=s.get("margins", True)
    )
    entries = table.entries().drop("sdc")
    if "kind" in entries.columns and not s.get("margins", True):
        entries = entries.drop("kind")
    withheld = int(entries["total"].null_count())
    return entries, table.status, withheld, table


def _statistics(c: Candidate, thr: SdcThresholds) -> tuple[pl.DataFrame, str, int]:
    # Intervals a statistic never had are dropped, so that a withheld value is the only blank.
    df = c.data.drop([x for x in ("ci_lower", "ci_upper") if x in c.data.columns
                      and c.data[x].null_count() == c.data.height])  # fmt: skip
    small = pl.col("n_persons").is_null() | (pl.col("n_persons") < thr.min_cell_count)
    values = [col for col in (*STAT_COLUMNS[1:], "n_persons") if col in df.columns]
    published = df.with_columns(
        [pl.when(small).then(None).otherwise(pl.col(v)).alias(v) for v in values]
    )
    withheld = int(df.select(small.sum()).item())
    return published, ("review" if withheld else "pass"), withheld


def _model(c: Candidate, thr: SdcThresholds) -> tuple[pl.DataFrame, str, int, Any]:
    no_levels = pl.DataFrame(
        schema={"term": pl.String, "level": pl.String, "persons": pl.Int64, "events": pl.Int64}
    )
    levels = c.extra.get("levels", no_levels)
    check = check_model(int(c.spec["residual_df"]), levels, thr)
    ids = [col for col in c.data.columns if c.data.schema[col] == pl.String]
    coefs = strip_disallowed(c.data, id_columns=ids)
    if check.status != "pass":
        coefs = coefs.clear()
    return coefs, check.status, 0, check


def _survival(c: Candidate, thr: SdcThresholds) -> tuple[pl.DataFrame, str, int]:
    group = c.spec["group"]
    parts = []
    for key in c.data[group].unique(maintain_order=True).to_list():
        curve = c.data.filter(pl.col(group) == key).sort("time")
        steps = aggregate_survival_steps(curve.select("time", "at_risk", "events", "censored"), thr)
        estimates = curve.select("time", *[x for x in SURVIVAL_COLUMNS[4:] if x in curve.columns])
        parts.append(
            steps.join(estimates, on="time", how="left").select(
                pl.lit(key).cast(c.data.schema[group]).alias(group), pl.all()
            )
        )
    published = pl.concat(parts, how="vertical_relaxed") if parts else c.data.clear()
    return published, survival_status(), 0


def check_candidate(c: Candidate, stage: str, thr: SdcThresholds, csv_path: Path) -> Published:
    """Check one candidate, write its published CSV, and build its audit record."""
    command = f"rule {stage} -> disclosure"
    obj: Any = None
    if c.kind == "frequency":
        table, status, withheld, obj = _frequency(c, thr)
    elif c.kind == "magnitude":
        table, status, withheld, obj = _magnitude(c, thr)
    elif c.kind == "statistics":
        table, status, withheld = _statistics(c, thr)
    elif c.kind == "model":
        table, status, withheld, obj = _model(c, thr)
    else:
        table, status, withheld = _survival(c, thr)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    table.write_csv(csv_path)
    base = csv_path.parent.parent
    if c.kind in ("frequency", "magnitude"):
        record = build_table_record(
            c.output_id, obj, command=command, timestamp=TIMESTAMP, thresholds=thr,
            files=[csv_path], base_dir=base, comments=[c.title],
        )  # fmt: skip
    elif c.kind == "model":
        record = build_record(
            c.output_id, status=status, output_type="regression", command=command,
            timestamp=TIMESTAMP, thresholds=thr, files=[csv_path], base_dir=base,
            outcome=model_outcome(obj), summary=obj.summary(),
            properties={"residual_df": obj.residual_df}, comments=[c.title],
        )  # fmt: skip
    elif c.kind == "statistics":
        record = build_record(
            c.output_id, status=status, output_type="custom", command=command,
            timestamp=TIMESTAMP, thresholds=thr, files=[csv_path], base_dir=base,
            summary=summarise(status, {}, [f"threshold: {withheld} statistics withheld"]
                              if withheld else []),
            properties={"method": "statistics resting on at least min_cell_count persons"},
            comments=[c.title],
        )  # fmt: skip
    else:
        record = build_record(
            c.output_id, status=status, output_type="survival", command=command,
            timestamp=TIMESTAMP, thresholds=thr, files=[csv_path], base_dir=base,
            summary="review; survival curves are always reviewed; steps aggregated to "
            f">= {thr.survival_min_exits} exits, tail cut below {thr.survival_min_at_risk} "
            "at risk; ",
            comments=[c.title],
        )  # fmt: skip
    extra = ""
    if c.kind == "survival":
        extra = (
            f"Steps aggregated to at least {thr.survival_min_exits} exits; curves stop where "
            f"fewer than {thr.survival_min_at_risk} remain at risk."
        )
    if c.kind == "model" and status != "pass":
        extra = f"Model withheld: {obj.summary()}"
    return Published(
        output_id=c.output_id, stage=stage, kind=c.kind, title=c.title, status=status,
        table=table, notes=c.notes, figure=c.figure, footnote=_footnote(withheld, extra),
        withheld=withheld, record=record,
    )  # fmt: skip


def disclose_stage(
    candidates_dir: str | Path, tables_dir: str | Path, checked_json: str | Path, thr: SdcThresholds
) -> list[Published]:
    """Check every candidate of a stage; write the published CSVs and the stage's index."""
    stage, candidates = read_candidates(candidates_dir)
    tables_dir = Path(tables_dir)
    tables_dir.mkdir(parents=True, exist_ok=True)
    published = [check_candidate(c, stage, thr, tables_dir / f"{c.output_id}.csv")
                 for c in candidates]  # fmt: skip
    index = {
        "stage": stage,
        "outputs": [
            {
                "output_id": p.output_id, "kind": p.kind, "title": p.title, "status": p.status,
                "notes": p.notes, "figure": p.figure, "footnote": p.footnote,
                "withheld": p.withheld, "csv": f"{p.output_id}.csv", "record": p.record,
            }
            for p in published
        ],
    }  # fmt: skip
    Path(checked_json).parent.mkdir(parents=True, exist_ok=True)
    Path(checked_json).write_text(json.dumps(index, indent=2, sort_keys=True, default=str) + "\n")
    return published


def read_checked(checked_json: str | Path, tables_dir: str | Path) -> list[dict[str, Any]]:
    """A stage's checked outputs, each with its published table loaded as `table`."""
    index = json.loads(Path(checked_json).read_text())
    out = []
    for o in index["outputs"]:
        path = Path(tables_dir) / o["csv"]
        table = pl.read_csv(path, infer_schema_length=None) if path.stat().st_size else None
        out.append({**o, "stage": index["stage"], "table": table})
    return out


def write_output_request(
    checked_paths: list[str],
    tables_dirs: list[str],
    results_json: str | Path,
    workbook: str | Path,
    title: str,
) -> int:
    """Merge every stage's audit records into one `results.json` and write the workbook."""
    records = []
    pack = []
    for path, tables in zip(checked_paths, tables_dirs, strict=True):
        for o in read_checked(path, tables):
            records.append(o["record"])
            table = o["table"] if o["table"] is not None else pl.DataFrame()
            notes = " ".join(x for x in (o["footnote"], o["notes"]) if x)
            pack.append(
                PackOutput(
                    output_id=o["output_id"],
                    status=o["status"],
                    table=table,
                    notes=notes,
                    output_type=o["record"]["type"],
                    command=o["record"]["command"],
                )
            )
    write_results_json(records, results_json)
    write_output_request_pack(pack, workbook, title=title)
    return len(records)
