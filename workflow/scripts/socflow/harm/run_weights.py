"""Entry point of the rule harm_weights: every weight per HO code, and how each was made.

Apart from the rule harm's entry point (`run`), so that the weights rule does not import the
estimation and its libraries (scipy.stats).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import polars as pl

from socflow.harm.cchi import read_cchi
from socflow.harm.common import w_col
from socflow.harm.weights import (
    available_weights,
    build_weights,
    data_derived_weights,
    load_ons_weights,
    sentences,
)
from socflow.parquet import write_parquet

log = logging.getLogger(__name__)


def run_harm_weights(
    *,
    crown_path: str | Path,
    mags_path: str | Path | None,
    ho_codes_path: str | Path,
    ons_weights_path: str | Path,
    ons_mapping_path: str | Path,
    cchi: dict[str, Any] | None,
    equivalents: dict[str, float],
    min_sentences: int,
    out_weights: str | Path,
    out_report: str | Path,
) -> pl.DataFrame:
    """Rule harm_weights: every weight per HO code, and a report of how each was made."""
    import json  # noqa: PLC0415

    from socflow.ingest import load_ho_codes  # noqa: PLC0415

    ho = load_ho_codes(ho_codes_path)
    ons = load_ons_weights(ons_weights_path, ons_mapping_path, ho)
    crown = pl.scan_parquet(crown_path)
    mags = pl.scan_parquet(mags_path) if mags_path else None
    used, excluded = sentences(crown, mags, equivalents)
    derived = data_derived_weights(used, ho, min_sentences)
    cchi_frame, cchi_problems = None, None
    if cchi:
        cchi_frame, cchi_problems = read_cchi(
            cchi["path"], cchi["code_column"], cchi["score_column"], cchi.get("sheet") or None
        )
        log.info("CCHI %s: %s", cchi["path"], cchi_problems)
    weights = build_weights(ho, ons, derived, cchi_frame)
    Path(out_weights).parent.mkdir(parents=True, exist_ok=True)
    write_parquet(weights, out_weights)
    report = {
        "ho_codes": weights.height,
        "weights": {
            w: int(weights[w_col(w)].is_not_null().sum()) for w in available_weights(weights)
        },
        "ons_mapping_methods": dict(sorted(weights.group_by("ons_method").len().iter_rows())),
        "data_derived": {
            "min_sentences": min_sentences,
            "equivalent_days": dict(sorted(equivalents.items())),
            "sentences_used": dict(sorted(used.group_by("source").len().iter_rows())),
            "rows_left_out": [
                {"source": r[0], "reason": r[1], "rows": r[2]} for r in excluded.iter_rows()
            ],
            "codes_by_basis": dict(sorted(weights.group_by("dd_basis").len().iter_rows())),
        },
        "cchi": {"path": str(cchi["path"]), **(cchi_problems or {})} if cchi else None,
    }
    Path(out_report).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    log.info("weights: %s", report["weights"])
    for r in excluded.iter_rows(named=True):
        log.info("sentences left out: %s, %s: %d", r["source"], r["excluded"], r["rows"])
    return weights
