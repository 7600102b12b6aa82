"""Candidate outputs: what an analysis stage hands to the disclosure stage.

No analysis rule writes to `reports/`. Each writes its would-be outputs as *candidates* into
a folder of its own (`results/<stage>/candidates/`): one Parquet file per frame and an
`index.json` that says, per output, what kind of disclosure check applies and how the report
shows it. The disclosure stage (`socflow.disclose`) reads the folder, checks every candidate
and writes only what passes (or its protected version) to `reports/`.

Kinds and the frames they carry (`data` is the main frame; `extra` holds named side frames):

* ``frequency``: long table of distinct persons (or cases) per cell. ``spec``: ``row``,
  optional ``col``, ``count`` (the integer column), optional ``structural_zero``. Shares
  and rates are recomputed by the disclosure stage from the published counts only.
* ``magnitude``: one row per contribution (e.g. per case) with the dimension column(s)
  ``by`` (one or two), the numeric ``value`` and the ``person`` identifier; ``margins``
  says whether totals are published. Published: n, total, mean per cell.
* ``statistics``: one row per statistic, with columns ``statistic``, ``value``, optional
  ``ci_lower``/``ci_upper``, and ``n_persons``, the number of distinct persons the
  statistic rests on (rows resting on fewer than the threshold are withheld). Optional
  ``spec["person_shares"]``: true, or a list of statistic labels, for statistics that are
  shares of their ``n_persons`` persons; such a share is withheld when its count or its
  complement is below the threshold (a share of 0 or 1 states a zero).
* ``model``: coefficient table (``term``, ``level``, ``coef``, ``se``, ``ci_lower``,
  ``ci_upper``, ``p_value`` and ``odds_ratio`` or ``hazard_ratio``), ``extra["levels"]``
  with ``term``, ``level``, ``persons``, ``events`` for every categorical level, and
  ``spec["residual_df"]``. Optional ``extra["fit"]``: a ``statistics`` frame of fit measures.
* ``survival``: long Kaplan-Meier table with ``spec["group"]`` (the curve), ``time``,
  ``at_risk``, ``events``, ``censored``, ``estimate``, ``ci_lower``, ``ci_upper``; one row
  per distinct time per curve, sorted by time within curve. Steps are aggregated and the
  tail cut by the disclosure stage; status is always "review".

``figure`` (optional) tells the report how to draw the checked output: ``{"type": "bar" |
"line" | "lorenz" | "forest" | "km", ...}`` with the column names it needs; figures are drawn
from checked data only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from socflow.parquet import write_parquet

KINDS = ("frequency", "magnitude", "statistics", "model", "survival")
INDEX = "index.json"
# Columns and dtypes of a `statistics` candidate (extra identifying columns may come first).
STATISTICS_SCHEMA: dict[str, pl.DataType] = {
    "statistic": pl.String(),
    "value": pl.Float64(),
    "ci_lower": pl.Float64(),
    "ci_upper": pl.Float64(),
    "n_persons": pl.Int64(),
}


@dataclass
class Candidate:
    """One would-be output, before disclosure control."""

    output_id: str
    kind: str
    title: str
    data: pl.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: str = ""
    figure: dict[str, Any] | None = None
    order: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.output_id}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.output_id.replace("_", "").isalnum():
            raise ValueError(f"output id {self.output_id!r}: letters, digits and _ only")


def write_candidates(candidates: list[Candidate], folder: str | Path, stage: str) -> Path:
    """Write candidates as Parquet frames plus `index.json` (deterministic)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ids = [c.output_id for c in candidates]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate output id(s): {', '.join(dupes)}")
    index: dict[str, Any] = {"stage": stage, "outputs": {}}
    for i, c in enumerate(candidates):
        files = {"data": f"{c.output_id}.parquet"}
        write_parquet(c.data, out / files["data"])
        for name, frame in sorted(c.extra.items()):
            files[name] = f"{c.output_id}.{name}.parquet"
            write_parquet(frame, out / files[name])
        index["outputs"][c.output_id] = {
            "kind": c.kind,
            "title": c.title,
            "spec": c.spec,
            "notes": c.notes,
            "figure": c.figure,
            "order": c.order or i,
            "files": files,
        }
    (out / INDEX).write_text(json.dumps(index, indent=2, sort_keys=True, default=str) + "\n")
    return out


def read_stage_candidates(
    folders: Sequence[str | Path], rules: Sequence[str]
) -> tuple[str, list[tuple[Candidate, str]]]:
    """A stage's candidates written by more than one rule (one folder each, `rules` naming
    the rule of each folder): (stage, [(candidate, its rule)] in the stage's order).

    The folders must belong to one stage, and output ids and order numbers must be unique
    across them: the order of the stage's outputs is then what one rule would have written.
    """
    if len(folders) != len(rules):
        raise ValueError(f"{len(folders)} candidate folders but {len(rules)} producing rules")
    stages, pairs = set(), []
    for folder, rule in zip(folders, rules, strict=True):
        stage, candidates = read_candidates(folder)
        stages.add(stage)
        pairs += [(c, rule) for c in candidates]
    if len(stages) != 1:
        raise ValueError(
            f"candidate folders {', '.join(map(str, folders))} belong to different stages: "
            f"{', '.join(sorted(stages))}"
        )
    for what, key in (("output id", lambda c: c.output_id), ("order number", lambda c: c.order)):
        values = [key(c) for c, _ in pairs]
        clashes = sorted({str(v) for v in values if values.count(v) > 1})
        if clashes:
            raise ValueError(
                f"candidate folders {', '.join(map(str, folders))}: {what} used twice: "
                f"{', '.join(clashes)}"
            )
    return stages.pop(), sorted(pairs, key=lambda pair: pair[0].order)


def read_candidates(folder: str | Path) -> tuple[str, list[Candidate]]:
    """Read a candidates folder back: (stage, candidates in their order)."""
    folder = Path(folder)
    index = json.loads((folder / INDEX).read_text())
    out = []
    for oid, meta in sorted(index["outputs"].items(), key=lambda kv: kv[1]["order"]):
        files = dict(meta["files"])
        data = pl.read_parquet(folder / files.pop("data"))
        extra = {k: pl.read_parquet(folder / v) for k, v in files.items()}
        out.append(
            Candidate(
                output_id=oid,
                kind=meta["kind"],
                title=meta["title"],
                data=data,
                spec=meta["spec"],
                extra=extra,
                notes=meta["notes"],
                figure=meta["figure"],
                order=meta["order"],
            )
        )
    return index["stage"], out
