"""The workflow on a SLURM cluster, through Snakemake's executor plugin and profiles/slurm/.

`make test-slurm` (part of `make test`) starts a single-node cluster on this machine
(tools/slurm_local.sh: munged, slurmdbd, slurmctld and slurmd from Debian's packages), runs
this module against it with SLURM_CONF and the cluster's account and partition in the
environment, and stops the daemons. Without a cluster (a bare `pytest`) the test is skipped:
it says how to run it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CLUSTER = os.environ.get("SLURM_CONF")
ACCOUNT = os.environ.get("SOCFLOW_SLURM_ACCOUNT", "")
PARTITION = os.environ.get("SOCFLOW_SLURM_PARTITION", "")

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        not CLUSTER or not ACCOUNT or not PARTITION,
        reason="needs a SLURM cluster: `make test-slurm` starts one and runs this test",
    ),
]


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(REPO / "config/config.yaml"), str(REPO / "tests/data/tiny.yaml"),
        *args,
    ]  # fmt: skip
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)


def _digests(work: Path) -> dict[str, str]:
    return {
        p.relative_to(work).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in ("reports/release", "checker")
        for p in sorted((work / folder).rglob("*"))
        if p.is_file()
    }


def test_tiny_run_through_slurm_equals_a_local_run(tmp_path):
    """Every job goes through sbatch (sacct lists each as COMPLETED, under the account and
    partition given) and the release and checker folders equal a local run's byte for byte."""
    local, cluster = tmp_path / "local", tmp_path / "slurm"
    for work in (local, cluster):
        shutil.copytree(REPO / "resources", work / "resources")
    proc = _snakemake(local, "--cores", "2")
    assert proc.returncode == 0, proc.stderr[-4000:]

    since = (datetime.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    start = time.perf_counter()
    proc = _snakemake(
        cluster, "--profile", str(REPO / "profiles/slurm"),
        "--default-resources", f"slurm_account={ACCOUNT}", f"slurm_partition={PARTITION}",
        # A small cluster answers at once: check job states every few seconds, not every 40.
        "--slurm-init-seconds-before-status-checks", "3",
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-6000:]

    # Every job of the local run (one benchmark file each) ran as one SLURM job.
    n_jobs = len(list((local / "benchmarks").rglob("*.tsv")))
    sacct = subprocess.run(
        ["sacct", "-X", "--parsable2", "--noheader", "--starttime", since,
         "--format=JobIDRaw,Comment%200,State,Account,Partition,WorkDir%300"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    jobs = [line.split("|") for line in sacct.splitlines() if line.strip()]
    ours = [j for j in jobs if j[5] == str(cluster)]
    print(f"{len(ours)} SLURM jobs in {elapsed:.0f} s:\n{sacct}")
    assert len(ours) == n_jobs, sacct
    assert {j[2] for j in ours} == {"COMPLETED"}, sacct
    assert {(j[3], j[4]) for j in ours} == {(ACCOUNT, PARTITION)}, sacct
    # The plugin's job comment: rule_<rule>, then _wildcards_<values> for a rule with some.
    rules_run = {j[1].removeprefix("rule_").split("_wildcards_")[0] for j in ours}
    assert {"synthesize", "survival", "summary_report", "output_request"} <= rules_run, sacct

    a, b = _digests(local), _digests(cluster)
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
    differing = sorted(k for k in a if a[k] != b[k])
    assert differing == [], differing
