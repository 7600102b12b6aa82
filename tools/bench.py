"""Time the synthesis and the ingest at a given synthetic scale (default `full`).

Runs the workflow up to the ingest in a scratch folder `--repeats` times, forcing those jobs each
time, and prints the median, minimum and maximum wall time, CPU time and peak memory (max RSS) of
every job from Snakemake's own benchmark files, and the wall time of the whole Snakemake run (what
`make run` spends on these stages). On a shared machine wall times are noisy; CPU time and peak
memory are the steadier figures.

    python tools/bench.py [--scale full] [--repeats 3] [--workdir bench]
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
TABLES = ["crown_defendant_cases", "crown_offences", "mags_defendant_cases", "xjs_link",
          "mags_crown_journey"]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="full")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=str(REPO / "bench"))
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(exist_ok=True)
    if not (work / "resources").exists():
        shutil.copytree(REPO / "resources", work / "resources")
    overlay = work / "scale.yaml"
    overlay.write_text(f"synthetic:\n  scale: {args.scale}\n")
    targets = [f"results/ingest/{t}.parquet" for t in TABLES]
    rows = []
    totals = []
    for i in range(args.repeats):
        cmd = [
            str(Path(sys.executable).parent / "snakemake"), *targets,
            "--snakefile", str(REPO / "Snakefile"), "--directory", str(work), "--cores", "2",
            "--quiet", "all", "--configfile", str(REPO / "config/config.yaml"), str(overlay),
            "--forcerun", "synthesize", "ingest",
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        totals.append(time.perf_counter() - start)
        for tsv in sorted((work / "benchmarks").rglob("*.tsv")):
            b = pl.read_csv(tsv, separator="\t")
            job = str(tsv.relative_to(work / "benchmarks")).removesuffix(".tsv")
            if job != "synthesize" and not job.startswith("ingest/"):
                continue
            rows.append(
                {"run": i, "job": job, "s": b["s"][0], "cpu_s": b["cpu_time"][0],
                 "max_rss_mb": b["max_rss"][0]}
            )  # fmt: skip
    df = pl.DataFrame(rows)
    print(f"scale {args.scale}, {args.repeats} runs (wall and CPU seconds, peak RSS MB):")
    for job, g in df.group_by("job", maintain_order=True):
        s, c, m = g["s"].to_list(), g["cpu_s"].to_list(), g["max_rss_mb"].to_list()
        print(
            f"  {job[0]:40s} time median {statistics.median(s):7.1f} "
            f"[{min(s):.1f}-{max(s):.1f}]  cpu median {statistics.median(c):7.1f}  "
            f"peak RSS median {statistics.median(m):8.0f} [{min(m):.0f}-{max(m):.0f}]"
        )
    print(
        f"  {'whole run (snakemake, 2 cores)':40s} time median {statistics.median(totals):7.1f} "
        f"[{min(totals):.1f}-{max(totals):.1f}]"
    )


if __name__ == "__main__":
    main()
