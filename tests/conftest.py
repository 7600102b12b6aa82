"""Shared fixtures: a tiny synthetic world, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from socflow import soc
from socflow.ingest import Limits, ingest_table, load_ho_codes
from socflow.mapping import load_mapping
from socflow.synth import SimulationParams, generate

REPO = Path(__file__).resolve().parents[1]
HO_CODES = REPO / "resources" / "offence_codes" / "ho_offence_codes.csv"
# Three times the config's `tiny` scale: calibrated to the published picture, SOC is 6% of Crown
# Court appearances, and the recovery tests need a few hundred SOC persons (about 170 here).
TINY = SimulationParams(seed=7, n_entrants=36_000, n_groups=270)


@pytest.fixture(scope="session")
def tiny_extracts():
    return generate(TINY)


@pytest.fixture(scope="session")
def config() -> dict:
    """The default config, with the tables of its mapping file under `datasets`."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["datasets"] = load_mapping(REPO / cfg["mapping"])
    return cfg


@pytest.fixture(scope="session")
def tiny_canonical(tiny_extracts, config) -> dict:
    """The tiny world through ingest and the default SOC proxy, as later stages see it.

    Keys: the canonical tables the mapping declares present, by name, plus `flags`
    (results/soc/defendant_cases), `person_groups` and `groups` (results/soc/), and
    `truth_rows` / `truth_summary` (the planted truth, for recovery tests only).
    """
    ho = load_ho_codes(HO_CODES)
    out: dict = {}
    for table, spec in config["datasets"].items():
        if spec is None:
            continue  # declared absent by the mapping (the PNC extract)
        raw = getattr(tiny_extracts, table).with_columns(
            pl.lit("x").alias("_source_file"), pl.int_range(1, pl.len() + 1).alias("_source_row")
        )
        out[table] = ingest_table(
            table, raw, config["datasets"][table], ho, Limits(), config["outcome_groups"],
            config["age_bands"],
        ).clean  # fmt: skip
    codes = soc.load_code_list(REPO / "resources/offence_codes/soc_offence_codes.csv", "test")
    primary = soc.Definition("primary")
    variants = [
        soc.Definition.from_config("offence_only", {"require": ["offence"]}, primary),
        soc.Definition.from_config("likely_tier", {"tier": "likely"}, primary),
    ]
    flags, _ = soc.flag_all(
        out["crown_defendant_cases"], out["crown_offences"], out["xjs_link"], codes, primary,
        variants,
    )  # fmt: skip
    membership = flags.join(
        out["crown_defendant_cases"].select("defendant_on_case_id", "disposal_year"),
        on="defendant_on_case_id",
    ).select("person", "case_id", pl.col("disposal_year").alias("year"))
    out["person_groups"], out["groups"] = soc.co_offending_groups(membership, flags)
    out["flags"] = flags
    out["truth_rows"] = tiny_extracts.truth_rows
    out["truth_summary"] = tiny_extracts.truth_summary
    return out
