"""Shared start of every rule script: make `socflow` importable and send logging to the log."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


def setup(snakemake) -> logging.Logger:
    # BLAS uses every core by default: beside other jobs that oversubscribes the machine and
    # slows the linear algebra many times over. A job uses the threads its rule declares.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(max(1, int(snakemake.threads))))
    scripts = str(Path(__file__).resolve().parent)
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    logging.basicConfig(
        filename=str(snakemake.log[0]),
        filemode="w",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    log = logging.getLogger(snakemake.rule)

    def log_uncaught(kind, value, tb) -> None:
        # An unexpected error goes to the rule's log as well as to the terminal, so that a
        # failed job never leaves an empty log behind.
        log.error("rule %s failed", snakemake.rule, exc_info=(kind, value, tb))
        sys.__excepthook__(kind, value, tb)

    sys.excepthook = log_uncaught
    return log


def in_repo(snakemake, path: str) -> str:
    """A path a rule's params give relative to the project folder (so that moving the folder
    changes no param and re-runs nothing), made usable from the working directory."""
    repo = Path(snakemake.scriptdir).resolve().parents[1]
    return str(path) if Path(path).is_absolute() else str(repo / path)
