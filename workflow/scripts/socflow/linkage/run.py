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
    history_summary,
    index_start,
    pnc_history,
)
from socflow.linkage.linked import LINKED_DATASETS, persons_found
from socflow.linkage.need_models import fit_need_models
from socflow.linkage.person_rows import (
    COURT,
    prepare_person_rows,
    read_manifest,
    write_person_rows,
)
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
from socflow.persons import person_lookup
from socflow.sdc.thresholds import SdcThresholds

log = logging.getLogger(__name__)
CROWN_HISTORY_COLUMNS = ["row_id", "defendant_on_case_id", "case_id", "offence_date",
                         "receipt_date", "disposal_date", "age_at_offence", "outcome_group",
                         "sentence_type"]  # fmt: skip
# The index case's dates (`index_start`).
INDEX_COLUMNS = ["defendant_on_case_id", "offence_date", "receipt_date", "disposal_date"]
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
    has (absent ones are left out); `mags` is None without the magistrates' table. The same as
    the two rules: `prepare_person_rows` (linkage_person_rows), then `analyse_persons`."""
    rows = prepare_person_rows(crown, mags, person_lookup(link), linked_tables, s)
    return analyse_persons(cohort, cohort_flow, crown, rows, s, thr, with_mags=mags is not None)


def analyse_persons(
    cohort: pl.DataFrame,
    cohort_flow: pl.DataFrame,
    crown: pl.DataFrame,
    rows: dict[str, pl.DataFrame],
    s: Settings,
    thr: SdcThresholds,
    with_mags: bool = True,
) -> Results:
    """Every analysis, from the rows already resolved to persons (`prepare_person_rows`: key
    `court` and one per linked table present). `crown` needs the index case's dates only."""
    t0 = time.perf_counter()
    r = Results(settings=s, cohort_flow=cohort_flow, with_mags=with_mags)
    linked = {t: frame for t, frame in rows.items() if t != COURT}
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
    history, r.history_coverage = court_history(with_start, rows[COURT], s, with_mags=with_mags)
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


def read_linked_tables(
    paths: dict[str, str | None], present: dict[str, list[str]] | None = None
) -> dict[str, pl.DataFrame]:
    """The linked tables given in `paths`, of each only the columns the extract has
    (`present`; all when not given)."""
    linked = {}
    for d in LINKED_DATASETS:
        if paths.get(d.table):
            columns = None if present is None else list(present.get(d.table, [])) or None
            linked[d.table] = pl.read_parquet(paths[d.table], columns=columns)
    return linked


def run_person_rows(
    paths: dict[str, str | None],
    cfg: dict[str, Any],
    out_dir: str | Path,
    present: dict[str, list[str]] | None = None,
) -> dict[str, pl.DataFrame]:
    """Rule linkage_person_rows: every dataset's rows with their person (flag-independent)."""
    s = Settings.from_config(cfg)
    crown = _read_columns(paths["crown"], CROWN_HISTORY_COLUMNS)
    mags = None
    if paths.get("mags"):
        mags = read_ingested(paths["mags"], "mags_defendant_cases", MAGS_HISTORY_COLUMNS)
    linked = read_linked_tables(paths, present)
    log.info("linked tables read: %s", ", ".join(linked) or "none")
    # Lazy: each source's person IDs are read when its rows are joined.
    rows = prepare_person_rows(crown, mags, pl.scan_parquet(paths["person_ids"]), linked, s)
    for name, frame in rows.items():
        log.info("%s: %d rows with a person", name, frame.height)
    write_person_rows(rows, mags is not None, out_dir)
    return rows


def read_person_rows(out_dir: str | Path, cohort: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The rows `run_person_rows` wrote, of the cohort's persons only."""
    persons = cohort.select("person_id").lazy()
    return {
        name: pl.scan_parquet(Path(out_dir) / f"{name}.parquet")
        .join(persons, on="person_id", how="semi", maintain_order="left")
        .collect()
        for name in read_manifest(out_dir)["tables"]
    }


def _read_columns(path: str | Path, columns: list[str]) -> pl.DataFrame:
    """The given columns of a Parquet file, those it has."""
    present = pl.read_parquet_schema(path)
    return pl.read_parquet(path, columns=[c for c in columns if c in present])


def run_linkage(
    paths: dict[str, str | None],
    cfg: dict[str, Any],
    sdc: dict[str, Any],
    out_summary: str | Path,
    out_candidates: str | Path,
) -> Results:
    """Rule linkage: the cohort joined to the rows `run_person_rows` wrote; every analysis,
    the summary and the candidates."""
    s = Settings.from_config(cfg)
    thr = SdcThresholds.from_config(sdc)
    cohort = pl.read_parquet(paths["cohort"])
    rows = read_person_rows(paths["person_rows"], cohort)
    with_mags = bool(read_manifest(paths["person_rows"])["with_mags"])
    log.info("linked tables: %s", ", ".join(t for t in rows if t != COURT) or "none")
    r = analyse_persons(
        cohort, pl.read_csv(paths["cohort_flow"]), _read_columns(paths["crown"], INDEX_COLUMNS),
        rows, s, thr, with_mags=with_mags,
    )  # fmt: skip
    info = summary(r, cohort)
    for key, value in info.items():
        log.info("%s: %s", key, value)
    Path(out_summary).parent.mkdir(parents=True, exist_ok=True)
    Path(out_summary).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_candidates(build_candidates(r), out_candidates, stage="linkage")
    return r
