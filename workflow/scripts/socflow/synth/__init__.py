"""Synthetic Data First court extracts with a planted truth (the workflow's default input),
and the linked prison, OASys, probation and PNC extracts of the same world."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from socflow.parquet import write_parquet
from socflow.synth.extracts import Extracts, QuirkRates, build_extracts, link_table
from socflow.synth.linked import Linked, LinkedParams
from socflow.synth.simulate import SimulationParams, simulate

__all__ = [
    "LINKED_FILES",
    "Extracts",
    "LinkedParams",
    "QuirkRates",
    "SimulationParams",
    "generate",
    "write_extracts",
]

# Where each linked extract is written under the data folder (formats as deliveries vary).
LINKED_FILES: dict[str, str] = {
    "prison_journeys": "prison_journeys.csv",
    "prison_establishment_spells": "prison_establishment_spells.csv",
    "prison_incidents": "prison_incidents.csv",
    "oasys_assessments": "oasys_assessments.parquet",
    "probation_starts": "probation_starts.csv",
    "pnc_events": "pnc_events.csv",
}


def generate(
    params: SimulationParams,
    quirks: QuirkRates | None = None,
    linked: LinkedParams | None = LinkedParams(),  # noqa: B008 (frozen)
) -> Extracts:
    """Simulate a world and lay it out as extracts; with `linked` (None: courts only), the linked
    extracts of the same world too."""
    ex = build_extracts(simulate(params), quirks)
    if linked is None:
        return ex
    return Extracts(ex.layout, Linked(ex.layout, linked))


def _write_shards(
    rows: Callable[[int, int], pl.DataFrame], height: int, folder: Path, n_shards: int
) -> None:
    """Write a table as `n_shards` Parquet files of equal row counts, spelling out one at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-height // n_shards)
    for i in range(n_shards):
        lo = i * size
        write_parquet(rows(lo, min(lo + size, height)), folder / f"part-{i:03d}.parquet")


def write_extracts(ex: Extracts, data_dir: Path, truth_dir: Path, n_shards: int = 4) -> None:
    """Write the extracts in the mixed formats real deliveries come in, and the truth apart.

    Crown Court and magistrates' defendant-case tables as sharded Parquet folders, the Crown
    offence table and the journey table as CSV, the linking table as one Parquet file; the
    linked extracts as `LINKED_FILES` says. Each table is spelled out from the layout as it is
    written (a shard at a time) and dropped after.
    """
    data_dir = Path(data_dir)
    truth_dir = Path(truth_dir)
    lay = ex.layout
    _write_shards(lay.crown_rows, lay.n_crown_rows, data_dir / "crown_defendant_cases", n_shards)
    _write_shards(lay.mags_rows, lay.n_mags_rows, data_dir / "mags_defendant_cases", n_shards)
    lay.offences().write_csv(data_dir / "crown_offences.csv")
    write_parquet(link_table(lay, ex.linked), data_dir / "xjs_link.parquet")
    lay.journey().write_csv(data_dir / "mags_crown_journey.csv")
    truth_dir.mkdir(parents=True, exist_ok=True)
    write_parquet(lay.truth(), truth_dir / "truth_rows.parquet")
    if ex.linked is not None:
        for table, name in LINKED_FILES.items():
            frame = getattr(ex.linked, table)()
            if name.endswith(".csv"):
                frame.write_csv(data_dir / name)
            else:
                write_parquet(frame, data_dir / name)
            del frame
        write_parquet(ex.linked.truth(), truth_dir / "linked_truth_rows.parquet")
    (truth_dir / "planted.json").write_text(json.dumps(ex.truth_summary, indent=2, sort_keys=True))
