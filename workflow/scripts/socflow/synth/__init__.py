"""Synthetic Data First court extracts with a planted truth (the workflow's default input)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from socflow.synth.extracts import Extracts, QuirkRates, build_extracts
from socflow.synth.simulate import SimulationParams, simulate

__all__ = ["Extracts", "QuirkRates", "SimulationParams", "generate", "write_extracts"]


def generate(params: SimulationParams, quirks: QuirkRates | None = None) -> Extracts:
    """Simulate a world and lay it out as extracts."""
    return build_extracts(simulate(params), quirks)


def _write_shards(
    rows: Callable[[int, int], pl.DataFrame], height: int, folder: Path, n_shards: int
) -> None:
    """Write a table as `n_shards` Parquet files of equal row counts, spelling out one at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-height // n_shards)
    for i in range(n_shards):
        lo = i * size
        rows(lo, min(lo + size, height)).write_parquet(folder / f"part-{i:03d}.parquet")


def write_extracts(ex: Extracts, data_dir: Path, truth_dir: Path, n_shards: int = 4) -> None:
    """Write the extracts in the mixed formats real deliveries come in, and the truth apart.

    Crown Court and magistrates' defendant-case tables as sharded Parquet folders, the Crown
    offence table and the journey table as CSV, the linking table as one Parquet file. Each table
    is spelled out from the layout as it is written (a shard at a time) and dropped after.
    """
    data_dir = Path(data_dir)
    truth_dir = Path(truth_dir)
    lay = ex.layout
    _write_shards(lay.crown_rows, lay.n_crown_rows, data_dir / "crown_defendant_cases", n_shards)
    _write_shards(lay.mags_rows, lay.n_mags_rows, data_dir / "mags_defendant_cases", n_shards)
    lay.offences().write_csv(data_dir / "crown_offences.csv")
    lay.link().write_parquet(data_dir / "xjs_link.parquet")
    lay.journey().write_csv(data_dir / "mags_crown_journey.csv")
    truth_dir.mkdir(parents=True, exist_ok=True)
    lay.truth().write_parquet(truth_dir / "truth_rows.parquet")
    (truth_dir / "planted.json").write_text(json.dumps(ex.truth_summary, indent=2, sort_keys=True))
