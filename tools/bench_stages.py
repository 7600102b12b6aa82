"""Time the analysis stages (everything after the ingest) at a synthetic scale.

Runs the whole workflow once in a scratch folder at `--scale` (synthesis and ingest only the
first time), then re-runs every rule after the ingest `--repeats` times, forcing them, and
prints the median, minimum and maximum wall time and peak memory (max RSS) of every job from
Snakemake's own benchmark files, and the wall time of the whole re-run.

    python tools/bench_stages.py [--scale small] [--repeats 3] [--workdir bench/stages-small]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = ("synthesize", "ingest")


def rules_in_dag(base: list[str]) -> list[str]:
    """Rules with jobs in this run's DAG, after the ingest (from a forced dry run's job list)."""
    dry = subprocess.run(
        [*base, "-n", "--forceall", "--quiet", "rules"], check=True, capture_output=True, text=True
    )
    table = (dry.stdout + dry.stderr).split("Job stats:")[1].split("total")[0]
    rules = [line.split()[0] for line in table.splitlines()[3:] if line.strip()]
    return [r for r in dict.fromkeys(rules) if r not in (*UPSTREAM, "all")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="small")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--cores", default="2")
    args = ap.parse_args()
    work = Path(args.workdir or REPO / "bench" / f"stages-{args.scale}")
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "resources").exists():
        shutil.copytree(REPO / "resources", work / "resources")
    overlay = work / "scale.yaml"
    overlay.write_text(f"synthetic:\n  scale: {args.scale}\n")
    base = [
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
        "--cores", args.cores, "--quiet", "all",
        "--configfile", str(REPO / "config/config.yaml"), str(overlay),
    ]  # fmt: skip
    subprocess.run(base, check=True)
    rules = rules_in_dag(base)
    rows, totals = [], []
    for i in range(args.repeats):
        start = time.perf_counter()
        subprocess.run([*base, "--forcerun", *rules], check=True)
        totals.append(time.perf_counter() - start)
        for tsv in sorted((work / "benchmarks").rglob("*.tsv")):
            job = str(tsv.relative_to(work / "benchmarks")).removesuffix(".tsv")
            if job.split("/")[0] in UPSTREAM or job.startswith("ingest"):
                continue
            b = pl.read_csv(tsv, separator="\t")
            rows.append({"run": i, "job": job, "s": b["s"][0], "max_rss_mb": b["max_rss"][0]})
    df = pl.DataFrame(rows).sort("job")
    print(f"scale {args.scale}, {args.repeats} forced re-runs of the stages after the ingest "
          "(wall seconds, peak RSS MB):")  # fmt: skip
    for (job,), g in df.group_by("job", maintain_order=True):
        s, m = g["s"].to_list(), g["max_rss_mb"].to_list()
        print(
            f"  {job:40s} time median {statistics.median(s):7.1f} "
            f"[{min(s):.1f}-{max(s):.1f}]  peak RSS median {statistics.median(m):8.0f} "
            f"[{min(m):.0f}-{max(m):.0f}]"
        )
    print(
        f"  {'whole re-run (wall clock)':40s} time median {statistics.median(totals):7.1f} "
        f"[{min(totals):.1f}-{max(totals):.1f}]"
    )


if __name__ == "__main__":
    main()
