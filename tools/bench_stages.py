"""Time and measure every job of the workflow at one synthetic scale, one job at a time.

In a scratch folder, runs the whole workflow once at `--scale`, then re-runs each job on its own
`--repeats` times (`snakemake <one output of the job> --forcerun <its rule>`), each run under
`/usr/bin/time -v`. For every job it reports the median wall time of the job (Snakemake's
benchmark file), the peak memory of the job's processes as the kernel counted it (`/usr/bin/time`:
the largest resident set of any process of the run, Snakemake's own included, so a floor of a
few hundred MB), and Snakemake's sampled peak RSS for comparison.

    python tools/bench_stages.py [--scale small] [--repeats 3] [--workdir bench/small]

tools/bench.py builds `make bench`'s table from these measurements; the functions here are
shared with it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Job:
    """One job of the workflow: its rule, its name and an output that makes Snakemake run it."""

    rule: str
    # The path of its log (and benchmark) file under logs/ (benchmarks/), e.g. ingest/xjs_link.
    name: str
    target: str


class Workspace:
    """A scratch folder holding a copy of the resources and one scale's results."""

    def __init__(self, workdir: Path, scale: str, cores: str = "2") -> None:
        self.dir = workdir.resolve()
        self.scale = scale
        self.cores = cores
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "resources").exists():
            shutil.copytree(REPO / "resources", self.dir / "resources")
        self.overlay = self.dir / "scale.yaml"
        self.overlay.write_text(f"synthetic:\n  scale: {scale}\n")

    def command(self, *args: str, configfiles: tuple[Path, ...] = ()) -> list[str]:
        """The Snakemake command line: targets (the arguments before the first option) first,
        since --quiet and --configfile take every value that follows them."""
        n_targets = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
        return [
            SNAKEMAKE, *args[:n_targets],
            "--snakefile", str(REPO / "Snakefile"), "--directory", str(self.dir),
            "--cores", self.cores, "--quiet", "all",
            "--configfile", str(REPO / "config/config.yaml"), str(self.overlay),
            *map(str, configfiles), *args[n_targets:],
        ]  # fmt: skip

    def run(self, *args: str, configfiles: tuple[Path, ...] = ()) -> float:
        """Run Snakemake here; the wall time in seconds."""
        start = time.perf_counter()
        subprocess.run(self.command(*args, configfiles=configfiles), check=True)
        return time.perf_counter() - start

    def timed(self, *args: str) -> tuple[float, float]:
        """Run Snakemake under /usr/bin/time -v: (wall seconds, peak RSS in MB)."""
        proc = subprocess.run(
            [TIME, "-v", *self.command(*args)], check=False, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"snakemake {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        return _time_field(proc.stderr, "Elapsed (wall clock) time"), _time_field(
            proc.stderr, "Maximum resident set size (kbytes)"
        ) / 1024

    def jobs(self) -> list[Job]:
        """Every job of the workflow, from Snakemake's detailed summary (one row per output;
        a job is the set of outputs sharing a log file)."""
        proc = subprocess.run(
            self.command("--detailed-summary"), check=True, capture_output=True, text=True
        )
        summary = pl.read_csv(
            proc.stdout.encode(), separator="\t", infer_schema=False, quote_char=None
        )
        jobs: dict[str, Job] = {}
        for row in summary.iter_rows(named=True):
            log = row["log-file(s)"].split(",")[0].strip()
            if not log or log == "-" or log in jobs:
                continue
            name = log.removeprefix("logs/").removesuffix(".log")
            jobs[log] = Job(row["rule"], name, row["output_file"])
        return sorted(jobs.values(), key=lambda j: j.name)


def _time_field(stderr: str, label: str) -> float:
    m = re.search(rf"^\s*{re.escape(label)}.*: (\S+)$", stderr, re.MULTILINE)
    if m is None:
        raise RuntimeError(f"{TIME} -v printed no '{label}':\n{stderr[-2000:]}")
    value = m.group(1)
    if ":" in value:  # h:mm:ss or m:ss.ss
        seconds = 0.0
        for part in value.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds
    return float(value)


def benchmark_of(ws: Workspace, job: Job) -> dict:
    """The job's own benchmark file (wall seconds, sampled peak RSS in MB); every rule names
    its log and benchmark files alike (logs/<name>.log, benchmarks/<name>.tsv)."""
    path = ws.dir / "benchmarks" / f"{job.name}.tsv"
    if not path.exists():
        raise RuntimeError(f"rule {job.rule}: no benchmark file {path} beside logs/{job.name}.log")
    b = pl.read_csv(path, separator="\t")
    return {"s": float(b["s"][0]), "max_rss": float(b["max_rss"][0])}


def measure_jobs(ws: Workspace, repeats: int, skip: tuple[str, ...] = ()) -> pl.DataFrame:
    """Each job alone, `repeats` times: the medians of its wall time and both peak figures."""
    rows = []
    for job in ws.jobs():
        if job.rule in skip:
            continue
        walls, peaks, sampled = [], [], []
        for _ in range(repeats):
            # Only this job: forced, and nothing re-run for being older than a re-run upstream
            # output (every trigger but mtime).
            _, peak = ws.timed(
                job.target, "--forcerun", job.rule,
                "--rerun-triggers", "code", "input", "params", "software-env",
            )  # fmt: skip
            b = benchmark_of(ws, job)
            walls.append(b["s"])
            sampled.append(b["max_rss"])
            peaks.append(peak)
        rows.append({
            "job": job.name, "rule": job.rule, "wall_s": statistics.median(walls),
            "wall_min_s": min(walls), "wall_max_s": max(walls),
            "peak_mb": statistics.median(peaks), "peak_max_mb": max(peaks),
            "sampled_rss_mb": statistics.median(sampled),
        })  # fmt: skip
        last = rows[-1]
        print(f"  {job.name:36s} wall {last['wall_s']:7.2f} s  peak {last['peak_mb']:7.0f} MB",
              file=sys.stderr)  # fmt: skip
    return pl.DataFrame(rows)


def snakemake_floor(ws: Workspace) -> float:
    """Peak RSS (MB) of a Snakemake run with nothing to do: the floor under every job's peak."""
    return ws.timed()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="small")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--cores", default="2")
    args = ap.parse_args()
    ws = Workspace(Path(args.workdir or REPO / "bench" / args.scale), args.scale, args.cores)
    ws.run()
    table = measure_jobs(ws, args.repeats)
    print(f"scale {args.scale}, each job alone, medians of {args.repeats} runs "
          f"(Snakemake's own peak with nothing to do: {snakemake_floor(ws):.0f} MB):")  # fmt: skip
    with pl.Config(tbl_rows=-1, tbl_formatting="MARKDOWN", tbl_hide_dataframe_shape=True):
        print(table)


if __name__ == "__main__":
    main()
