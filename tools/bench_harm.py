"""Time the harm stage (rules harm_weights and harm) and measure its peak memory.

Runs the workflow in a scratch folder up to `results/harm/candidates` at a synthetic scale
(default `full`), then re-runs the two harm rules `--repeats` times (forced) and prints, per
rule, the median, minimum and maximum wall time, CPU time and peak memory (max RSS) from
Snakemake's own benchmark files, with the load average, since other jobs on the machine
lengthen wall times.

    python tools/bench_harm.py [--scale full] [--repeats 3] [--workdir bench/harm]
                               [--reuse DIR] [--replicates N]

`--reuse DIR` takes the ingested tables and SOC flags from an earlier run in DIR (its
`results/ingest/` and `results/soc/`), so that only the harm rules run: the ingest at `full`
needs about 12 GB of memory and several minutes. Without it the first run synthesises and
ingests the data too (check `free -g` first). `--replicates` overrides the bootstrap
replicates (default: the configured 1000).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
RULES = ("harm_weights", "harm")
REUSED = (
    "results/ingest/crown_defendant_cases.parquet",
    "results/ingest/crown_offences.parquet",
    "results/ingest/mags_defendant_cases.parquet",
    "results/soc/defendant_cases.parquet",
    "results/soc/person_groups.parquet",
    "results/soc/groups.parquet",
)


def snakemake(work: Path, overlay: Path, *extra: str) -> None:
    cmd = [
        str(Path(sys.executable).parent / "snakemake"), "results/harm/candidates",
        "--snakefile", str(REPO / "Snakefile"), "--directory", str(work), "--cores", "2",
        "--quiet", "all", "--configfile", str(REPO / "config/config.yaml"), str(overlay),
        *extra,
    ]  # fmt: skip
    subprocess.run(cmd, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=str(REPO / "bench" / "harm"))
    ap.add_argument("--reuse", help="folder of an earlier run whose results/ to reuse")
    ap.add_argument("--replicates", type=int, help="bootstrap replicates (default: config)")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "resources").exists():
        shutil.copytree(REPO / "resources", work / "resources")
    overlay = work / "bench.yaml"
    text = f"synthetic:\n  scale: {args.scale}\n"
    if args.replicates:
        text += f"harm:\n  bootstrap:\n    replicates: {args.replicates}\n"
    overlay.write_text(text)
    restrict: list[str] = []
    if args.reuse:
        for rel in REUSED:
            dest = work / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(args.reuse) / rel, dest)
        # Only the harm rules may run: the copied tables stand in for their upstream jobs.
        restrict = ["--allowed-rules", *RULES]
    snakemake(work, overlay, *restrict)
    rows = []
    for i in range(args.repeats):
        load = os.getloadavg()[0]
        snakemake(work, overlay, *restrict, "--forcerun", *RULES)
        for rule in RULES:
            b = pl.read_csv(work / "benchmarks" / "harm" / f"{rule}.tsv", separator="\t")
            rows.append({"run": i, "rule": rule, "s": b["s"][0], "cpu_s": b["cpu_time"][0],
                         "max_rss_mb": b["max_rss"][0], "load": load})  # fmt: skip
    df = pl.DataFrame(rows)
    print(f"scale {args.scale}, {args.repeats} runs (wall s, CPU s, peak RSS MB, load average):")
    for (rule,), g in df.group_by("rule", maintain_order=True):
        s, c, m = g["s"].to_list(), g["cpu_s"].to_list(), g["max_rss_mb"].to_list()
        print(
            f"  {rule:14s} wall median {statistics.median(s):6.1f} [{min(s):.1f}-{max(s):.1f}]"
            f"  CPU median {statistics.median(c):6.1f}"
            f"  peak RSS median {statistics.median(m):7.0f} [{min(m):.0f}-{max(m):.0f}]"
            f"  load {statistics.median(g['load'].to_list()):.1f}"
        )


if __name__ == "__main__":
    main()
