# What each job asks of the machine or the cluster: `threads:` and the `resources:` mem_mb
# (peak memory, MB) and runtime (minutes), used by Snakemake to fill the cores of one machine
# and by the SLURM executor as --cpus-per-task, --mem and --time (profiles/slurm/).
#
# Threads: 1 for every rule but the synthesis, so that `--cores 2` runs two independent jobs
# side by side (the five ingests, the analyses after flagging, the disclosure checks); a job's
# BLAS threads are capped to its rule's threads (workflow/scripts/_bootstrap.py). The BLAS
# thread count changes the order of floating-point sums: the Cox estimates differ in the last
# digits (relative 5e-14) between 1 and 2 threads. For given rule threads the outputs are
# byte-identical, on one machine or on a cluster (tests/test_slurm.py).
#
# Memory and time grow with the size of a job's input: a fixed part (Python, the libraries and
# the Snakemake process that runs the job: 200-500 MB at `tiny` and `small`, measured with
# /usr/bin/time by tools/bench_stages.py) plus so much per MB of input, set from the peaks at
# `full`. Snakemake's sampled RSS misses short peaks (data_quality_report: 3.5 GB sampled,
# 6.8 GB by /usr/bin/time), so a job asks for about twice its sampled peak at `full`, or a
# quarter more than its /usr/bin/time peak where known (e.g. ingest of the linking table 2.7 GB
# sampled from 185 MB of Parquet, flag_soc 0.9 GB from 340 MB, model_outcomes 1.4 GB by
# /usr/bin/time, the re-appearance cohort 5.0 GB from 825 MB, its estimates 3.0 GB from 146 MB).
# A `tiny` job asks for 500-600 MB. Snakemake
# evaluates these once a job's inputs exist; a retried job (profiles/slurm: `retries`) asks for
# twice as much.
import math

import snakemake.benchmark as snakemake_benchmark

# Snakemake's benchmark sampler reads every running job's /proc/<pid>/smaps_rollup (psutil's
# memory_full_info) every BENCHMARK_INTERVAL_SHORT seconds (0.5) for its first 30 samples, then
# every 30 s. Each read makes the kernel walk the job's page tables: 50-70 ms of system time on a
# 3-4 GB job on the 2-core reference machine. In a whole run at `full`, Snakemake's own process
# used 26 CPU s, 21 of them in the kernel, for this; sampling every 2 s, 12 CPU s. The wall times
# in benchmarks/ are not sampled and do not change; the sampled peak memory is coarser (it
# already misses short peaks, see above). tests/test_workflow.py checks that the sampler still
# reads this module attribute when it arms each sample.
BENCHMARK_SAMPLE_S = 2.0
snakemake_benchmark.BENCHMARK_INTERVAL_SHORT = BENCHMARK_SAMPLE_S

# Priorities: when more jobs are ready than there are cores, Snakemake starts those of higher
# `priority:` first, and does not pass a priority on to the jobs downstream. The longest chains
# of jobs after the SOC flags (the part of the workflow a code-list edit re-runs) are harm's
# (co_offending_groups, harm, its disclosure check and figures: about 34 s at `full`), then
# survival's and linkage's (about 15 s each); the rest are shorter. Each job on those chains
# carries its chain's priority, so that no long chain is left to end the run on one core.
# In a whole run, the jobs before them on those chains do too (person_ids, survival_cohort,
# linkage_person_rows), and two long jobs with short chains after them (calibration_marginals,
# establishment_panel) take LONG_JOB_PRIORITY, ahead of the short jobs.
# The rules of one stage each (harm, survival, linkage) take their chain's entry; the per-stage
# rules (disclosure_check, figures) take it from `stage_priority`.
CHAIN_PRIORITY = {"harm": 20, "survival": 10, "linkage": 10}
LONG_JOB_PRIORITY = 5


def stage_priority(wildcards):
    """The priority of a per-stage job: that of its stage's chain (0 off the long chains)."""
    return CHAIN_PRIORITY.get(wildcards.stage, 0)


def input_mb(input):
    """The size of a job's input in MB: files, and the files inside input folders (a sharded
    extract); an input not yet made counts 0 (Snakemake sizes the job again when it is).
    """
    total = 0
    for name in input:
        path = Path(name)
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.exists():
            total += path.stat().st_size
    return total / 1e6


def mem_mb(fixed, per_input_mb):
    """mem_mb: `fixed` MB plus `per_input_mb` MB per MB of input, in whole 100 MB."""

    def mem(wildcards, input, attempt):
        return attempt * 100 * math.ceil((fixed + per_input_mb * input_mb(input)) / 100)

    return mem


def runtime(fixed, per_input_gb):
    """runtime: `fixed` minutes plus `per_input_gb` minutes per GB of input (whole minutes)."""

    def minutes(wildcards, input, attempt):
        return attempt * math.ceil(fixed + per_input_gb * input_mb(input) / 1000)

    return minutes


# The synthesis has no input: its size is the scale's number of people entering the courts.
def synthesis_mem_mb(wildcards, attempt):
    return (
        attempt
        * 100
        * math.ceil((400 + 0.00095 * synthetic_scale()["n_entrants"]) / 100)
    )


def synthesis_runtime(wildcards, attempt):
    return attempt * math.ceil(5 + 0.000002 * synthetic_scale()["n_entrants"])
