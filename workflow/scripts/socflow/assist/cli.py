"""Command line of the mapping assistant (scripts/draft_mapping.py, `make draft-mapping`).

Runs offline and without Snakemake: it reads the extract and the HO code table, nothing else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from socflow import schema
from socflow.assist import AssistError, draft_mapping, write_outputs
from socflow.ingest import load_ho_codes

REPO = Path(__file__).resolve().parents[4]
HO_CODES = REPO / "resources" / "offence_codes" / "ho_offence_codes.csv"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="draft_mapping.py",
        description="Propose a mapping of one extract (file or folder of shards) onto one "
        "canonical table: a draft mapping YAML, value tables of coded columns and an "
        "internal HTML page, under --out.",
    )
    p.add_argument("extract", help="the extract: a CSV or Parquet file, or a folder of shards")
    p.add_argument("--table", required=True, choices=list(schema.TABLES),
                   help="the canonical table the extract holds")  # fmt: skip
    p.add_argument("--format", default="auto", choices=["auto", "csv", "parquet"],
                   help="format of a single file whose name does not say it, and the draft's "
                   "`format` (default: auto; a folder's files are read by suffix)")  # fmt: skip
    p.add_argument("--out", help="output folder (default: results/mapping/<table>)")
    p.add_argument("--ho-codes", default=str(HO_CODES), help="the HO offence code table (CSV)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Path(args.out or Path("results") / "mapping" / args.table)
    try:
        draft = draft_mapping(args.table, args.extract, load_ho_codes(args.ho_codes)["ho_code"],
                              args.format)  # fmt: skip
    except AssistError as exc:
        print(f"draft_mapping: {exc}", file=sys.stderr)
        return 2
    paths = write_outputs(draft, out)
    found = sum(m.source is not None for m in draft.matches.values())
    print(f"{args.table}: {found} of {len(draft.matches)} columns matched; "
          f"date format {draft.date_format or '(none)'}")  # fmt: skip
    for m in draft.matches.values():
        print(f"  {m.column.name:28} <- {m.source or '(absent)':28} {m.confidence} {m.score:.2f}")
    for key, path in paths.items():
        print(f"wrote {key}: {path}")
    return 0
