"""The whole stage: analyse the inputs, and the rule's entry point."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import polars as pl

from socflow.linkage.candidates import build_candidates
from socflow.linkage.diagnostics import OASYS_WINDOW_LABEL, found_shares, linked_balance
from socflow.linkage.history import (
    COURT_MEASURES,
    PNC_MEASURES,
    court_history,
    court_rows,
    history_summary,
    index_start,
    pnc_history,
)
from socflow.linkage.linked import DATASET_OF, LINKED_DATASETS, person_rows, persons_found
from socflow.linkage.need_models import fit_need_models
from socflow.linkage.profiles import (
    nearest_assessment,
    need_shares,
    profile_differences,
    score_means,
)
from socflow.linkage.results import Results
from socflow.linkage.settings import Settings
from socflow.mapping import read_ingested
from socflow.outputs import write_candidates
from socflow.sdc.thresholds import SdcThresholds

log = logging.getLogger(__name__)
CROWN_HISTORY_COLUMNS = ["row_id", "defendant_on_case_id", "case_id", "offence_date",
                         "receipt_date", "disposal_date", "age_at_offence", "outcome_group",
                         "sentence_type"]  # fmt: skip
MAGS_HISTORY_COLUMNS = ["row_id", "case_id", "proceeding_type", "disposal_date",
                        "age_at_offence", "outcome_group", "sentence_type"]  # fmt: skip


def analyse(
    cohort: pl.DataFrame,
    cohort_flow: pl.DataFrame,
    crown: pl.DataFrame,
    mags: pl.DataFrame | None,
    link: pl.DataFrame,
    linked_tables: dict[str, pl.DataFrame],
    s: Settings,
    thr: SdcThresholds,
) -> Results:
    """Run every analysis the inputs allow. `linked_tables` holds the linked tables the extract
    has (absent ones are left out); `mags` is None without the magistrates' table."""
    t0 = time.perf_counter()
    r = Results(settings=s, cohort_flow=cohort_flow, with_mags=mags is not None)
    linked = {
        t: person_rows(rows, link, DATASET_OF[t], s.fanout_rule)
        for t, rows in linked_tables.items()
    }
    found = persons_found(cohort, linked)
    datasets = {f"found_{d.table}": d.label for d in LINKED_DATASETS if d.table in linked}
    if "oasys_assessments" in linked:
        profiled, r.oasys_flow = nearest_assessment(cohort, linked["oasys_assessments"], s)
        found = found.join(
            profiled.select("person_id", pl.lit(True).alias("found_oasys_window")),
            on="person_id",
            how="left",
        ).with_columns(pl.col("found_oasys_window").fill_null(False))
        datasets["found_oasys_window"] = OASYS_WINDOW_LABEL
        r.needs = need_shares(profiled, s.confidence_level)
        r.scores = score_means(profiled, s.confidence_level)
        r.profile_differences = profile_differences(profiled, s.confidence_level)
        r.need_models = fit_need_models(profiled, s, thr)
    r.datasets = list(datasets.values())
    if datasets:
        r.found = found_shares(found, datasets, s.confidence_level)
        r.balance = linked_balance(found, datasets, s.confidence_level)
    with_start = index_start(cohort, crown)
    rows = court_rows(crown, mags if mags is not None else crown.clear(), link, s)
    history, r.history_coverage = court_history(with_start, rows, s, with_mags=mags is not None)
    r.court_history = history_summary(history, COURT_MEASURES, s.confidence_level)
    if "pnc_events" in linked:
        pnc = pnc_history(with_start, linked["pnc_events"])
        r.pnc_history = history_summary(pnc, PNC_MEASURES, s.confidence_level)
    log.info("analyses took %.1f s", time.perf_counter() - t0)
    return r


def summary(r: Results, cohort: pl.DataFrame) -> dict[str, Any]:
    """Exact figures of the run for its log and the internal summary (not for release)."""
    out: dict[str, Any] = {"cohort_persons": cohort.height, "datasets": r.datasets}
    if r.found is not None:
        rates = r.found.filter(pl.col("index_year") == "all years")
        out["found"] = {
            f"{x['dataset']} | {x['population']} | {x['soc_status']}": round(x["share"], 4)
            for x in rates.iter_rows(named=True)
        }
    if r.oasys_flow is not None:
        out["oasys_flow"] = {
            f"{x['step']} | {x['soc_status']}": x["persons"]
            for x in r.oasys_flow.iter_rows(named=True)
        }
    if r.need_models is not None:
        out["need_models"] = {
            x["need"]: {k: round(x[k], 4) for k in ("coef", "se", "odds_ratio")}
            for x in r.need_models.coefficients.iter_rows(named=True)
        }
        out["need_model_notes"] = r.need_models.notes
    return out


def read_inputs(
    paths: dict[str, str | None], present: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """The stage's inputs; the linked tables and the magistrates' table only where given, and
    of a linked table only the columns the extract has (`present`; all when not given)."""
    crown = pl.read_parquet(paths["crown"])
    crown = crown.select([c for c in CROWN_HISTORY_COLUMNS if c in crown.columns])
    mags = None
    if paths.get("mags"):
        mags = read_ingested(paths["mags"], "mags_defendant_cases", MAGS_HISTORY_COLUMNS)
    linked = {}
    for d in LINKED_DATASETS:
        if paths.get(d.table):
            columns = None if present is None else list(present.get(d.table, [])) or None
            linked[d.table] = pl.read_parquet(paths[d.table], columns=columns)
    return {
        "cohort": pl.read_parquet(paths["cohort"]),
        "cohort_flow": pl.read_csv(paths["cohort_flow"]),
        "crown": crown,
        "mags": mags,
        "link": pl.read_parquet(paths["link"]),
        "linked": linked,
    }


def run_linkage(
    paths: dict[str, str | None],
    cfg: dict[str, Any],
    sdc: dict[str, Any],
    out_summary: str | Path,
    out_candidates: str | Path,
    present: dict[str, list[str]] | None = None,
) -> Results:
    """Rule linkage: read the inputs, analyse, write the summary and the candidates."""
    s = Settings.from_config(cfg)
    thr = SdcThresholds.from_config(sdc)
    data = read_inputs(paths, present)
    log.info("linked tables read: %s", ", ".join(data["linked"]) or "none")
    r = analyse(data["cohort"], data["cohort_flow"], data["crown"], data["mags"], data["link"],
                data["linked"], s, thr)  # fmt: skip
    info = summary(r, data["cohort"])
    for key, value in info.items():
        log.info("%s: %s", key, value)
    Path(out_summary).parent.mkdir(parents=True, exist_ok=True)
    Path(out_summary).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_candidates(build_candidates(r), out_candidates, stage="linkage")
    return r
