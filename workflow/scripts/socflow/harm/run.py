"""Entry point of the rule harm: harm per defendant-case and case, estimates, candidates."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from socflow.harm.candidates import harm_candidates
from socflow.harm.common import HarmInputError, w_col
from socflow.harm.defendant_harm import case_harm, defendant_case_harm
from socflow.harm.estimation import estimate
from socflow.harm.settings import HarmSettings
from socflow.harm.weights import available_weights
from socflow.outputs import Candidate
from socflow.parquet import write_parquet
from socflow.sdc import SdcThresholds

log = logging.getLogger(__name__)


def run_harm(
    *,
    crown_path: str | Path,
    flags_path: str | Path,
    person_groups_path: str | Path,
    groups_path: str | Path,
    weights_path: str | Path,
    offences_path: str | Path | None,
    settings: HarmSettings,
    thresholds: SdcThresholds,
    out_candidates: str | Path,
    out_defendant_cases: str | Path,
    out_cases: str | Path,
    out_unweighted: str | Path,
    definition_labels: dict[str, str] | None = None,
) -> list[Candidate]:
    """Rule harm: harm per defendant-case and case, the estimates, the candidates
    (`definition_labels` names the SOC definitions in words)."""
    from socflow.outputs import write_candidates  # noqa: PLC0415

    s = settings
    weights = pl.read_parquet(weights_path)
    names = available_weights(weights)
    if s.primary not in names:
        raise HarmInputError(
            f"{weights_path}: primary weight {s.primary!r} is not available ({names})"
        )
    dc = defendant_case_harm(
        pl.read_parquet(crown_path), pl.read_parquet(flags_path), weights,
        pl.read_parquet(person_groups_path), pl.read_parquet(groups_path),
        first_year=s.first_year, last_year=s.last_year, offence_scope=s.offence_scope,
        offences=pl.read_parquet(offences_path) if offences_path else None,
        soc_groups_only=s.soc_groups_only,
    )  # fmt: skip
    log.info("%d defendant-cases in %d cases, %d-%d", dc.height, dc["case_id"].n_unique(),
             s.first_year, s.last_year)  # fmt: skip
    unweighted = (
        dc.unpivot(index="ho_offence_code", on=[w_col(w) for w in names], variable_name="weight")
        .filter(pl.col("value").is_null())
        .group_by("weight", "ho_offence_code")
        .len("defendant_cases")
        .with_columns(pl.col("weight").str.strip_prefix("w_"))
        .sort("weight", "ho_offence_code")
    )
    Path(out_unweighted).parent.mkdir(parents=True, exist_ok=True)
    unweighted.write_csv(out_unweighted)
    for w in names:
        n = int(unweighted.filter(pl.col("weight") == w)["defendant_cases"].sum())
        log.info("weight %s: %d defendant-cases (%d codes) without a weight, kept with no "
                 "harm", w, n, unweighted.filter(pl.col("weight") == w).height)  # fmt: skip
    est = estimate(dc, names, s)
    log.info("tables and candidates")
    candidates = harm_candidates(est, dc, weights, s, thresholds, definition_labels)
    write_candidates(candidates, out_candidates, "harm")
    log.info("wrote %d candidates", len(candidates))
    write_parquet(dc, out_defendant_cases)
    write_parquet(case_harm(dc, names), out_cases)
    return candidates
