"""`make bench`: where the time and the memory go, per job, and how they grow with the data.

For each synthetic scale (`--scales`, default tiny, small and full), in a scratch folder
bench/<scale>/ (a copy of the resources; results are never committed):

1. the whole workflow once (synthesis included), then every job on its own `--repeats` times
   (tools/bench_stages.py): median wall time, peak memory from /usr/bin/time, Snakemake's
   sampled peak RSS;
2. the whole workflow after the synthesis, forced, `--repeats` times (wall clock, 2 cores);
3. the re-run after a one-line edit of the SOC code list, `--repeats` times: a copy of the list
   in the scratch folder, named by a config overlay (the committed list is never touched), with
   one offence's tier switched between `possible` and `likely` before each run;

then the scaling line of every job and of the whole workflow between the two largest scales:
seconds per million input rows and fixed seconds, and whether the cost is linear in rows (the
smallest scale's time within `--tolerance` of the line's prediction, or within a second).
The table is printed and written to results/bench/bench.md (or `--out`).

    python tools/bench.py [--scales tiny,small,full] [--repeats 3] [--out results/bench/bench.md]

A run at `full` needs about 6 GB of memory free and, on 2 cores, an hour or more.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_stages import REPO, Workspace, measure_jobs, snakemake_floor

CODE_LIST = "resources/offence_codes/soc_offence_codes.csv"
TIERS = ("possible", "likely")


def input_rows(ws: Workspace) -> int:
    """Rows of the extracts as read by the ingest (clean plus quarantined), over every table."""
    files = [p for p in (ws.dir / "results/ingest").glob("*.parquet")]
    return sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in files)


def whole_after_generation(ws: Workspace, repeats: int, rules: list[str]) -> list[float]:
    """Wall times of the whole workflow with every rule but the synthesis forced."""
    forced = [r for r in rules if r != "synthesize"]
    return [ws.run("--forcerun", *forced) for _ in range(repeats)]


def code_list_edit_reruns(ws: Workspace, repeats: int) -> list[float]:
    """Wall times of the re-run after a one-line edit of a copy of the code list: the first
    offence's tier switched between `possible` and `likely`, then back, and so on."""
    copy = ws.dir / "bench_code_list.csv"
    lines = (REPO / CODE_LIST).read_text().splitlines(keepends=True)
    fields = lines[1].split(",")
    tier = next(i for i, f in enumerate(fields) if f in TIERS)
    fields[tier] = TIERS[1 - TIERS.index(fields[tier])]
    versions = ["".join([*lines[:1], ",".join(fields), *lines[2:]]), "".join(lines)]
    copy.write_text(versions[1])
    overlay = ws.dir / "code_list.yaml"
    overlay.write_text(f"soc:\n  code_list: {copy.name}\n")
    ws.run(configfiles=(overlay,))  # the copy in place: what it feeds re-run once, untimed
    times = []
    for i in range(repeats):
        copy.write_text(versions[i % 2])
        times.append(ws.run(configfiles=(overlay,)))
    return times


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f} [{min(xs):.1f}-{max(xs):.1f}]"


def scaling(per_scale: dict[str, dict], tolerance: float) -> pl.DataFrame:
    """Per job: the line through the two largest scales (s per million rows, fixed s), and
    whether the smallest scale lies on it."""
    scales = sorted(per_scale, key=lambda s: per_scale[s]["rows"])
    hi, mid = scales[-1], scales[-2]
    lo = scales[0] if len(scales) > 2 else None
    tables = {s: per_scale[s]["jobs"].select("job", "wall_s", "peak_mb") for s in scales}
    tables = {s: t.with_columns(pl.lit("job").alias("kind")) for s, t in tables.items()}
    for s in scales:
        whole = pl.DataFrame({
            "job": ["whole workflow after synthesis"],
            "wall_s": [statistics.median(per_scale[s]["whole"])], "peak_mb": [None],
            "kind": ["whole"],
        }, schema=tables[s].schema)  # fmt: skip
        tables[s] = pl.concat([tables[s], whole])
    rows = []
    for job in tables[hi]["job"]:
        t = {s: tables[s].filter(pl.col("job") == job)["wall_s"] for s in scales}
        if any(v.is_empty() for v in t.values()):
            continue
        t = {s: float(v[0]) for s, v in t.items()}
        n = {s: per_scale[s]["rows"] for s in scales}
        per_row = (t[hi] - t[mid]) / (n[hi] - n[mid])
        fixed = t[mid] - per_row * n[mid]
        linear = None
        if lo is not None:
            predicted = fixed + per_row * n[lo]
            linear = abs(t[lo] - predicted) <= max(1.0, tolerance * t[lo])
        rows.append({
            "job": job, **{f"{s} s": t[s] for s in scales},
            "s per M rows": per_row * 1e6, "fixed s": fixed,
            "linear": "—" if linear is None else ("yes" if linear else "no"),
        })  # fmt: skip
    return pl.DataFrame(rows)


def markdown(df: pl.DataFrame) -> str:
    cols = df.columns
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.iter_rows():
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="tiny,small,full")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=str(REPO / "bench"))
    ap.add_argument("--out", default=str(REPO / "results/bench/bench.md"))
    ap.add_argument("--tolerance", type=float, default=0.25)
    args = ap.parse_args()
    per_scale: dict[str, dict] = {}
    report = [
        "# socflow benchmark",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{len(os.sched_getaffinity(0))} cores; medians of {args.repeats} runs "
        "[min-max]. Wall: the job's own time (Snakemake benchmark file). Peak: the largest "
        "resident set of any process of a Snakemake run of that job alone, from /usr/bin/time "
        "(Snakemake's own process included: the floor is given per scale). Sampled: Snakemake's "
        "sampled peak RSS of the job.",
    ]
    for scale in args.scales.split(","):
        print(f"== scale {scale}", file=sys.stderr)
        ws = Workspace(Path(args.workdir) / scale, scale)
        ws.run()
        # Measured first, while every output is up to date by every rerun trigger: each job run
        # alone below leaves what follows it older than its outputs, and the code-list edits
        # leave the committed list differing from the edited copy, so a plain run after either
        # would re-run jobs and report a job's peak instead of Snakemake's.
        floor = snakemake_floor(ws)
        jobs = measure_jobs(ws, args.repeats)
        rules = sorted(set(jobs["rule"]))
        whole = whole_after_generation(ws, args.repeats, rules)
        edits = code_list_edit_reruns(ws, args.repeats)
        per_scale[scale] = {
            "jobs": jobs, "whole": whole, "edits": edits, "rows": input_rows(ws),
            "floor": floor,
        }  # fmt: skip
        table = jobs.select(
            "job",
            pl.format(
                "{} [{}-{}]", *(pl.col(c).round(2) for c in ("wall_s", "wall_min_s", "wall_max_s"))
            ).alias("wall s"),
            pl.col("peak_mb").round(0).cast(pl.Int64).alias("peak MB (/usr/bin/time)"),
            pl.col("sampled_rss_mb").round(0).cast(pl.Int64).alias("sampled RSS MB"),
        )
        report += [
            "",
            f"## Scale `{scale}`: {per_scale[scale]['rows']:,} input rows",
            "",
            f"- whole workflow after the synthesis (2 cores, wall clock): {_spread(whole)} s",
            f"- re-run after a one-line edit of the SOC code list: {_spread(edits)} s",
            f"- Snakemake's own peak (a run with nothing to do): "
            f"{per_scale[scale]['floor']:.0f} MB",
            "",
            markdown(table),
        ]
        # Written after every scale, so that a long run at `full` leaves the smaller ones.
        if scale != args.scales.split(",")[-1]:
            write(report, per_scale, args)
    write(report, per_scale, args)


def write(report: list[str], per_scale: dict[str, dict], args: argparse.Namespace) -> None:
    """The report so far (the scaling once two scales are in): written, and printed."""
    lines = list(report)
    if len(per_scale) >= 2:
        lines += [
            "",
            "## Scaling with input rows",
            "",
            "The line through the two largest scales: wall time = fixed + rows x cost per row. "
            f"Linear: the smallest scale within {args.tolerance:.0%} (or 1 s) of the line.",
            "",
            markdown(scaling(per_scale, args.tolerance)),
        ]
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
