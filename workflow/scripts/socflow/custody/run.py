"""The whole stage: match, follow up recall, and the rule's entry point."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl

from socflow.custody.candidates import GROUP, build_candidates
from socflow.custody.matching import journeys_with_person_ids, match_journeys, match_rates
from socflow.custody.recall import recall_follow_up
from socflow.custody.settings import NON_SOC_LABEL, SOC_LABEL, CustodySettings
from socflow.mapping import check_link_matches, read_ingested
from socflow.outputs import write_candidates
from socflow.parquet import write_parquet
from socflow.persons import read_person_ids

log = logging.getLogger(__name__)

JOURNEY_COLUMNS = ["row_id", "reception_date", "release_date", "reception_reason", "release_reason"]
COHORT_COLUMNS = [
    "person_id",
    "index_defendant_on_case_id",
    "index_disposal_date",
    "soc",
    "custodial",
]


def with_soc_status(cohort: pl.DataFrame) -> pl.DataFrame:
    return cohort.with_columns(
        pl.when(pl.col("soc")).then(pl.lit(SOC_LABEL)).otherwise(pl.lit(NON_SOC_LABEL)).alias(GROUP)
    )


def analyse(
    cohort: pl.DataFrame, journeys: pl.DataFrame, ids: pl.DataFrame, s: CustodySettings
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Matched cohort (one row per person), recall follow-up, and persons left out. `ids`: the
    person IDs of the prison rows of the linking table under `s.match.fanout_rule` (row_id,
    person_id: socflow.persons.read_person_ids)."""
    check_link_matches(ids, journeys, "prison", "prison_journeys")
    prison = journeys_with_person_ids(journeys, ids)
    matched = match_journeys(with_soc_status(cohort), prison, s.match)
    follow, excluded = recall_follow_up(matched, prison, s)
    return matched, follow, excluded


def run_custody(
    paths: dict[str, str],
    cfg: dict[str, Any],
    out_recall: str | Path,
    out_summary: str | Path,
    out_candidates: str | Path,
) -> list:
    """Rule `custody`: read the cohort and the prison journeys, write the person-level recall
    follow-up (for the headline table), a summary and the candidates."""
    s = CustodySettings.from_config(cfg)
    cohort = pl.read_parquet(paths["cohort"], columns=COHORT_COLUMNS)
    journeys = read_ingested(paths["journeys"], "prison_journeys", JOURNEY_COLUMNS)
    ids = read_person_ids(paths["person_ids"], "prison", s.match.fanout_rule)
    matched, follow, excluded = analyse(cohort, journeys, ids, s)
    rates = match_rates(matched, GROUP)
    for r in rates.iter_rows(named=True):
        log.info("match: %s %s: %s persons", r[GROUP], r["match_type"], r["persons"])
    Path(out_recall).parent.mkdir(parents=True, exist_ok=True)
    write_parquet(
        follow.select(
            "person_id", GROUP, "release_date", "release_reason", "status", "time", "recall_date"
        ),
        out_recall,
    )
    summary = {
        "match_counts": rates.to_dicts(),
        "released_persons": follow.height,
        "left_out": excluded,
        "follow_up_end_date": s.follow_up_end_date.isoformat(),
    }
    Path(out_summary).write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    candidates = build_candidates(matched, follow, s)
    write_candidates(candidates, out_candidates, stage="custody")
    return candidates
