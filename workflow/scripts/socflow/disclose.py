"""The disclosure stage: check every candidate output and release only what passes.

Reads a stage's candidates (`socflow.outputs`), applies the check of its kind
(`socflow.sdc`), then the run-level checks across the stage's outputs
(`socflow.sdc.linked`), and writes the released table of each output as CSV into the
release folder (`reports/release/tables/<stage>/`), a withheld value shown only as `[c]`
and a value that does not apply left blank. It returns one ACRO-format audit record per
output plus a small index the report reads (title, status, notes, figure, footnote and
which cells are withheld). The report draws its tables and figures from these files only.

`assemble_checker_folder` then builds the output checker's folder: results.json in ACRO
1.0's format listing every released file (tables, figures, the summary pages), copies of
those files under the same names, `checksums/`, ACRO's `config.json` and the output
request workbook. The per-cell outcomes (which withheld cell is a zero) live only there.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from socflow.checked import read_checked  # also read from here by the tests and tools
from socflow.outputs import Candidate, read_candidates, read_stage_candidates
from socflow.sdc import (
    MARKER,
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
from socflow.sdc.audit import (
    DOF_CHECK,
    LINKED_CHECK,
    STATBARN_CHECK,
    THRESHOLD_CHECK,
    acro_config,
    fair_block,
    grid_outcome,
    grid_sdc,
    run_timestamp,
    summarise,
    write_checksums,
)
from socflow.sdc.linked import StageOutput, check_stage

STAT_COLUMNS = ("statistic", "value", "ci_lower", "ci_upper")
SURVIVAL_COLUMNS = ("time", "at_risk", "events", "censored", "estimate", "ci_lower", "ci_upper")
CHECKER_RULE = "disclosure_check"


@dataclass
class Published:
    """One checked output: the released table and what the report needs to show it."""

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
    # Withheld cells by column: row indices shown as [c] (blanks elsewhere do not apply).
    withheld_cells: dict[str, list[int]] = field(default_factory=dict)


def _footnote(withheld: int, extra: str = "") -> str:
    parts = []
    if withheld:
        parts.append(
            f"{withheld} value(s) withheld for statistical disclosure control (shown as [c])."
        )
    if extra:
        parts.append(extra)
    return " ".join(parts)


def withheld_mask(table: pl.DataFrame, columns: list[str], rows: set[int] | None = None):
    """{column: [row index]} of the null values of `columns` (in `rows` when given)."""
    mask: dict[str, list[int]] = {}
    for col in columns:
        if col not in table.columns:
            continue
        idx = [i for i, v in enumerate(table[col].to_list())
               if v is None and (rows is None or i in rows)]  # fmt: skip
        if idx:
            mask[col] = idx
    return mask


def write_release_csv(table: pl.DataFrame, mask: dict[str, list[int]], path: Path) -> None:
    """Write a released table: withheld cells as [c], values that do not apply blank."""
    out = table
    for col, rows in mask.items():
        marks = pl.Series([i in set(rows) for i in range(table.height)], dtype=pl.Boolean)
        out = out.with_columns(
            pl.when(marks).then(pl.lit(MARKER)).otherwise(pl.col(col).cast(pl.String)).alias(col)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(path)


@dataclass
class _Checked:
    """A candidate after its own check, before the run-level checks and writing."""

    candidate: Candidate
    table: pl.DataFrame
    status: str
    obj: Any = None
    withheld_rows: set[int] = field(default_factory=set)
    value_columns: list[str] = field(default_factory=list)


def _frequency(c: Candidate, thr: SdcThresholds) -> _Checked:
    s = c.spec
    table = protect_frequency_table(
        c.data, s["row"], s.get("col"), s["count"], thr, structural_zero=s.get("structural_zero")
    )
    display = table.to_display()
    return _Checked(c, display, table.status, table, value_columns=display.columns[1:])


def _magnitude(c: Candidate, thr: SdcThresholds) -> _Checked:
    s = c.spec
    table = check_magnitude_table(
        c.data, s["by"], s["value"], s["person"], thr, margins=s.get("margins", True)
    )
    entries = table.entries().drop("sdc")
    if "kind" in entries.columns and not s.get("margins", True):
        entries = entries.drop("kind")
    rows = {i for i, v in enumerate(entries["total"].to_list()) if v is None}
    return _Checked(c, entries, table.status, table, rows, ["n", "total", "mean"])


def _statistics(c: Candidate, thr: SdcThresholds) -> _Checked:
    # Intervals a statistic never had are dropped; per row, an interval that does not
    # apply stays blank and only a withheld value is marked.
    df = c.data.drop([x for x in ("ci_lower", "ci_upper") if x in c.data.columns
                      and c.data[x].null_count() == c.data.height])  # fmt: skip
    small = (pl.col("n_persons").is_null() | (pl.col("n_persons") < thr.min_cell_count)).fill_null(
        True
    )
    rows = set(df.with_row_index("_i").filter(small)["_i"].to_list())
    values = [col for col in (*STAT_COLUMNS[1:], "n_persons") if col in df.columns]
    return _Checked(c, df, "review" if rows else "pass", None, rows, values)


def _model(c: Candidate, thr: SdcThresholds) -> _Checked:
    no_levels = pl.DataFrame(
        schema={"term": pl.String, "level": pl.String, "persons": pl.Int64, "events": pl.Int64}
    )
    levels = c.extra.get("levels", no_levels)
    check = check_model(int(c.spec["residual_df"]), levels, thr)
    ids = [col for col in c.data.columns if c.data.schema[col] == pl.String]
    coefs = strip_disallowed(c.data, id_columns=ids)
    if check.status != "pass":
        coefs = coefs.clear()
    return _Checked(c, coefs, check.status, check)


def _survival(c: Candidate, thr: SdcThresholds) -> _Checked:
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
    return _Checked(c, published, survival_status())


_CHECKS = {"frequency": _frequency, "magnitude": _magnitude, "statistics": _statistics,
           "model": _model, "survival": _survival}  # fmt: skip


def _command(producing_rule: str) -> str:
    return f"rule {producing_rule}; checked by rule {CHECKER_RULE}"


def _statistics_record(
    ch: _Checked, linked_rows: dict[int, str], findings: list[str], status: str, **common: Any
) -> dict[str, Any]:
    labels = [str(x) for x in ch.table[ch.table.columns[0]].to_list()] if ch.table.width else []
    cols = ch.value_columns or ["value"]
    grid = []
    for i in range(len(labels)):
        reasons = []
        if i in ch.withheld_rows:
            reasons.append(THRESHOLD_CHECK)
        if i in linked_rows:
            reasons.append(LINKED_CHECK)
        grid.append([reasons] * len(cols))
    checks = [THRESHOLD_CHECK, LINKED_CHECK]
    sdc = grid_sdc(grid, checks)
    extra = [f"{LINKED_CHECK}: {labels[i]}: {why}" for i, why in sorted(linked_rows.items())]
    extra += [f"{LINKED_CHECK}: {f}" for f in findings]
    fair = fair_block(
        "LinearAggregations",
        {THRESHOLD_CHECK: "fail" if ch.withheld_rows else "pass",
         LINKED_CHECK: "review" if linked_rows or findings else "pass"},
        dependent="value", independent=[ch.table.columns[0]] if ch.table.width else [],
    )  # fmt: skip
    return build_record(
        ch.candidate.output_id, status=status, output_type="table", sdc=sdc,
        outcome=grid_outcome(labels, cols, grid), summary=summarise(status, sdc, extra),
        properties={"method": "statistics resting on at least min_cell_count persons",
                    "mitigation": "suppress"},
        fair=fair, **common,
    )  # fmt: skip


def _exception(kind: str, status: str, thr: SdcThresholds, linked: bool) -> str:
    """Why an output marked review (or fail) is put forward, as ACRO asks the researcher."""
    if status == "pass":
        return ""
    if status == "fail":
        return "Not put forward for release: it failed its checks and its table is released empty."
    if kind == "survival":
        return (
            "Survival tables are always reviewed: steps aggregated to at least "
            f"{thr.survival_min_exits} exits, curves cut where fewer than "
            f"{thr.survival_min_at_risk} remain at risk."
        )
    text = (
        "Suppression applied automatically where needed: every withheld value is shown as "
        "[c], and no withheld value can be solved from the table's margins."
    )
    if linked:
        text += (
            " Checked against the other outputs of its stage: values that would give back a "
            "withheld value there are withheld; remaining findings are listed in the summary."
        )
    return text


def _record(
    ch: _Checked, so: StageOutput, thr: SdcThresholds, status: str, **common: Any
) -> dict[str, Any]:
    c = ch.candidate
    linked = bool(so.findings or so.linked_rows)
    common["exception"] = _exception(c.kind, status, thr, linked)
    if c.kind in ("frequency", "magnitude"):
        return build_table_record(
            c.output_id, ch.obj, linked=[f"{LINKED_CHECK}: {f}" for f in so.findings], **common
        )
    if c.kind == "statistics":
        return _statistics_record(ch, so.linked_rows, so.findings, status, **common)
    if c.kind == "model":
        check = ch.obj
        fair = fair_block(
            "CorrelationCoefficients",
            {DOF_CHECK: "pass" if check.residual_df_ok else "fail",
             THRESHOLD_CHECK: "pass" if check.status == "pass" or not check.residual_df_ok
             else "fail"},
            dependent=str(c.spec.get("outcome", "unknown")),
            independent=sorted({str(t) for t in check.levels["term"].to_list()}),
        )  # fmt: skip
        return build_record(
            c.output_id, status=status, output_type="regression", outcome=model_outcome(check),
            summary=check.summary(), properties={"method": "regression", "dof": check.residual_df},
            fair=fair, **common,
        )  # fmt: skip
    fair = fair_block(
        "HazardSurvivalTables", {STATBARN_CHECK: "review", THRESHOLD_CHECK: "pass"},
        dependent="estimate", independent=[str(c.spec.get("group", ""))],
    )  # fmt: skip
    return build_record(
        c.output_id, status=status, output_type="table",
        summary=f"review; {STATBARN_CHECK}: survival tables are always reviewed; steps "
        f"aggregated to >= {thr.survival_min_exits} exits, tail cut below "
        f"{thr.survival_min_at_risk} at risk; ",
        properties={"method": "surv func", "mitigation": "aggregate steps"}, fair=fair, **common,
    )  # fmt: skip


def _stage_output(ch: _Checked) -> StageOutput:
    """What the run-level checks across the stage see of one checked output."""
    c = ch.candidate
    total = None
    if c.kind == "magnitude" and ch.obj.total is not None:
        n = ch.obj.total["n"][0]
        total = None if n is None or ch.obj.total["total"][0] is None else int(n)
    return StageOutput(
        c.output_id, c.kind, ch.table, ch.obj if c.kind == "frequency" else None,
        set(ch.withheld_rows), person_shares=c.spec.get("person_shares", False),
        magnitude_total=total,
    )  # fmt: skip


def _publish(
    ch: _Checked, so: StageOutput, stage: str, thr: SdcThresholds, csv_path: Path,
    release: Path, *, command: str, timestamp: str,
) -> Published:  # fmt: skip
    """Apply the run-level findings to one checked output, write its CSV, build its record."""
    c = ch.candidate
    table, status = ch.table, ch.status
    rows = set(so.linked_rows) | (ch.withheld_rows if c.kind == "statistics" else set())
    if rows:
        marks = pl.Series([i in rows for i in range(table.height)], dtype=pl.Boolean)
        table = table.with_columns(
            [pl.when(marks).then(None).otherwise(pl.col(v)).alias(v)
             for v in ch.value_columns if v in table.columns]
        )  # fmt: skip
    if (so.linked_rows or so.findings) and status == "pass":
        status = "review"
    if c.kind == "frequency":
        mask = withheld_mask(table, ch.value_columns)
    elif c.kind in ("statistics", "magnitude"):
        mask = withheld_mask(table, ch.value_columns, ch.withheld_rows | set(so.linked_rows))
    else:
        mask = {}
    write_release_csv(table, mask, csv_path)
    record = _record(
        ch, so, thr, status, command=command, timestamp=timestamp, thresholds=thr,
        files=[csv_path], base_dir=release, comments=[c.title],
    )  # fmt: skip
    withheld = sum(len(v) for v in mask.values())
    extra = ""
    if c.kind == "survival":
        extra = (
            f"Steps aggregated to at least {thr.survival_min_exits} exits; curves stop "
            f"where fewer than {thr.survival_min_at_risk} remain at risk."
        )
    if c.kind == "model" and status != "pass":
        extra = "Model withheld: it did not pass the disclosure checks for models."
    return Published(
        output_id=c.output_id, stage=stage, kind=c.kind, title=c.title, status=status,
        table=table, notes=c.notes, figure=c.figure, footnote=_footnote(withheld, extra),
        withheld=withheld, record=record, withheld_cells=mask,
    )  # fmt: skip


def check_candidate(
    c: Candidate, stage: str, thr: SdcThresholds, csv_path: str | Path, producing_rule: str = ""
) -> Published:
    """Check one candidate on its own (no run-level checks across the stage); write its CSV.

    File names in its record are relative to the folder two levels above the CSV (the
    release folder, for `<release>/tables/<stage>/<id>.csv`).
    """
    csv_path = Path(csv_path)
    ch = _CHECKS[c.kind](c, thr)
    return _publish(
        ch, _stage_output(ch), stage, thr, csv_path, csv_path.parent.parent,
        command=_command(producing_rule or stage), timestamp=run_timestamp(),
    )  # fmt: skip


def disclose_stage(
    candidates_dir: str | Path | Sequence[str | Path],
    tables_dir: str | Path,
    checked_json: str | Path,
    thr: SdcThresholds,
    producing_rule: str | Sequence[str] = "",
) -> list[Published]:
    """Check every candidate of a stage; write the released CSVs and the stage's index.

    `tables_dir` is `<release>/tables/<stage>`: file names in the audit records are
    relative to the release folder, whose copy sits beside results.json. A stage written by
    more than one rule passes its folders as a list, with the rule of each folder in
    `producing_rule`; each output's record names the rule that wrote it.
    """
    if isinstance(candidates_dir, (str, Path)):
        stage, candidates = read_candidates(candidates_dir)
        stage_rule = str(producing_rule) or stage
        rules = [stage_rule] * len(candidates)
    else:
        stage, pairs = read_stage_candidates(candidates_dir, producing_rule)
        candidates, rules = [c for c, _ in pairs], [r for _, r in pairs]
        stage_rule = producing_rule[0]  # the stage's own rule; the others add to it
    tables_dir = Path(tables_dir)
    release = tables_dir.parent.parent
    tables_dir.mkdir(parents=True, exist_ok=True)
    checked = [_CHECKS[c.kind](c, thr) for c in candidates]
    stage_outputs = [_stage_output(ch) for ch in checked]
    check_stage(stage_outputs, thr)
    timestamp = run_timestamp()
    published = [
        _publish(ch, so, stage, thr, tables_dir / f"{ch.candidate.output_id}.csv", release,
                 command=_command(rule), timestamp=timestamp)
        for ch, so, rule in zip(checked, stage_outputs, rules, strict=True)
    ]  # fmt: skip
    index = {
        "stage": stage,
        "producing_rule": stage_rule,
        "outputs": [
            {
                "output_id": p.output_id, "kind": p.kind, "title": p.title, "status": p.status,
                "notes": p.notes, "figure": p.figure, "footnote": p.footnote,
                "withheld": p.withheld, "withheld_cells": p.withheld_cells,
                "csv": f"{p.output_id}.csv", "record": p.record,
            }
            for p in published
        ],
    }  # fmt: skip
    Path(checked_json).parent.mkdir(parents=True, exist_ok=True)
    Path(checked_json).write_text(json.dumps(index, indent=2, sort_keys=True, default=str) + "\n")
    return published


def _custom_record(
    uid: str, path: Path, release: Path, thr: SdcThresholds, *, command: str, comment: str,
    exception: str, timestamp: str,
) -> dict[str, Any]:  # fmt: skip
    return build_record(
        uid, status="review", output_type="custom", command=command, timestamp=timestamp,
        thresholds=thr, files=[path], base_dir=release, summary="review",
        comments=[comment], exception=exception,
    )  # fmt: skip


def assemble_checker_folder(
    checked_paths: list[str],
    tables_dirs: list[str],
    release: str | Path,
    checker: str | Path,
    thr: SdcThresholds,
    request: dict[str, Any],
    title: str,
) -> int:
    """Build the output checker's folder from the release folder and the stage indexes.

    Every file of the release folder becomes an output of results.json (a table with its
    own record; a figure or a summary page as a custom output) and is copied under the
    same relative name beside results.json, so that ACRO's reader and the SACRO viewer
    find it and its checksum. A file in the release folder that no record covers stops
    the rule: nothing leaves unlisted.
    """
    release, checker = Path(release), Path(checker)
    if checker.exists():
        shutil.rmtree(checker)
    checker.mkdir(parents=True)
    timestamp = run_timestamp()
    records: list[dict[str, Any]] = []
    pack: list[PackOutput] = []
    figure_of: dict[str, str] = {}
    for path, tables in zip(checked_paths, tables_dirs, strict=True):
        for o in read_checked(path, tables):
            records.append(o["record"])
            figure_of[o["output_id"]] = o["record"]["command"]
            table = o["table"] if o["table"] is not None else pl.DataFrame()
            notes = " ".join(x for x in (o["footnote"], o["notes"]) if x)
            pack.append(
                PackOutput(
                    output_id=o["output_id"], status=o["status"], table=table, notes=notes,
                    output_type=o["record"]["type"], command=o["record"]["command"],
                    withheld_cells=o.get("withheld_cells", {}),
                    summary=o["record"]["summary"], exception=o["record"]["exception"],
                )
            )  # fmt: skip
    for png in sorted((release / "figures").glob("*.png")):
        source = png.stem
        command = figure_of.get(source, "rule summary_report").split(";")[0]
        records.append(
            _custom_record(
                f"{source}_figure", png, release, thr, command=f"{command}; drawn by rule "
                "figures", comment=f"figure drawn from the checked table {source}",
                exception="Drawn only from the checked table it names; a withheld value is "
                "shown as a [c] marker, never as a bar or point.", timestamp=timestamp,
            )
        )  # fmt: skip
    for page in ("summary.html", "summary.md"):
        if (release / page).exists():
            records.append(
                _custom_record(
                    page.replace(".", "_"), release / page, release, thr,
                    command="rule summary_report", comment=f"report page {page}",
                    exception="Built only from the checked tables and figures listed here; "
                    "withheld values are shown as [c].", timestamp=timestamp,
                )
            )  # fmt: skip
    names = [f["name"] for r in records for f in r["files"]]
    on_disk = sorted(
        p.relative_to(release).as_posix()
        for p in release.rglob("*")
        if p.is_file() and p.name != ".snakemake_timestamp"
    )
    unlisted = sorted(set(on_disk) - set(names))
    if unlisted:
        raise ValueError(
            f"rule output_request: files in {release} that no audit record lists: "
            + ", ".join(unlisted)
        )
    for name in names:
        target = checker / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(release / name, target)
    write_results_json(records, checker / "results.json")
    (checker / "config.json").write_text(json.dumps(acro_config(thr), indent=4) + "\n")
    write_output_request_pack(pack, checker / "output_request.xlsx", title=title, cover=request)
    write_checksums(checker, [*names, "results.json", "config.json", "output_request.xlsx"])
    return len(records)


def request_cover(request: dict[str, Any]) -> dict[str, str]:
    """The workbook's cover fields from config `output_request`; an empty date is the run's."""
    cover = {k: str(v) for k, v in (request or {}).items()}
    if not cover.get("date"):
        cover["date"] = run_timestamp()[:10]
    return cover
