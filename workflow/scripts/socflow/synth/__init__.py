"""Synthetic Data First court extracts with a planted truth (the workflow's default input)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from socflow.synth.extracts import Extracts, QuirkRates, build_extracts
from socflow.synth.simulate import SimulationParams, simulate

__all__ = ["Extracts", "QuirkRates", "SimulationParams", "generate", "write_extracts"]


def generate(params: SimulationParams, quirks: QuirkRates | None = None) -> Extracts:
    """Simulate a world and lay it out as extracts."""
    return build_extracts(simulate(params), quirks)


def _write_shards(df: pl.DataFrame, folder: Path, n_shards: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-df.height // n_shards)
    for i in range(n_shards):
        df.slice(i * size, size).write_parquet(folder / f"part-{i:03d}.parquet")


def write_extracts(ex: Extracts, data_dir: Path, truth_dir: Path, n_shards: int = 4) -> None:
    """Write the extracts in the mixed formats real deliveries come in, and the truth apart.

    Crown Court and magistrates' defendant-case tables as sharded Parquet folders, the Crown
    offence table and the journey table as CSV, the linking table as one Parquet file.
    """
    data_dir = Path(data_dir)
    truth_dir = Path(truth_dir)
    _write_shards(ex.crown_defendant_cases, data_dir / "crown_defendant_cases", n_shards)
    _write_shards(ex.mags_defendant_cases, data_dir / "mags_defendant_cases", n_shards)
    ex.crown_offences.write_csv(data_dir / "crown_offences.csv")
    ex.xjs_link.write_parquet(data_dir / "xjs_link.parquet")
    ex.mags_crown_journey.write_csv(data_dir / "mags_crown_journey.csv")
    truth_dir.mkdir(parents=True, exist_ok=True)
    ex.truth_rows.write_parquet(truth_dir / "truth_rows.parquet")
    (truth_dir / "planted.json").write_text(json.dumps(ex.truth_summary, indent=2, sort_keys=True))
