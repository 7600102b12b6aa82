"""What the linkage stage does without a table or column: one decision (socflow.coverage)."""

from __future__ import annotations

import copy

from socflow import coverage, schema


def _present(*tables: str, drop: dict[str, set[str]] | None = None) -> dict[str, list[str]]:
    drop = drop or {}
    return {
        t: [c.name for c in schema.source_columns(t) if c.name not in drop.get(t, set())]
        for t in tables
    }


COURTS = ("crown_defendant_cases", "mags_defendant_cases", "xjs_link")
LINKED = ("prison_journeys", "oasys_assessments", "probation_starts", "pnc_events")


def _notes(p: coverage.Plan) -> dict[str, tuple[str, str]]:
    return {n["analysis"]: (n["status"], n["reason"]) for n in p.notes if n["section"] == "linkage"}


def test_without_the_linking_table_the_stage_is_skipped(config):
    p = coverage.plan(config, _present("crown_defendant_cases", *LINKED))
    assert "linkage" in p.skipped_stages
    status, reason = _notes(p)["linked data: who is linked and their profiles (whole section)"]
    assert status == "skipped" and "xjs_link" in reason
    p = coverage.plan(config, _present(*COURTS, drop={"crown_defendant_cases": {"row_id"}}))
    assert "linkage" in p.skipped_stages


def test_every_linked_table_present_leaves_nothing_to_say(config):
    p = coverage.plan(config, _present(*COURTS, *LINKED))
    assert "linkage" not in p.skipped_stages
    assert _notes(p) == {}
    assert p.config["linkage"] == config["linkage"]


def test_each_absent_table_skips_its_own_analysis(config):
    p = coverage.plan(config, _present(*COURTS, "prison_journeys"))
    notes = _notes(p)
    assert "linkage" not in p.skipped_stages
    assert notes["OASys profiles and need models"][0] == "skipped"
    assert "who is found in the linked datasets" not in notes
    p = coverage.plan(config, _present("crown_defendant_cases", "xjs_link"))
    notes = _notes(p)
    assert notes["who is found in the linked datasets"][0] == "skipped"
    assert notes["criminal histories from the courts data"][0] == "reduced"


def test_oasys_without_layer_or_sections_is_reduced_or_skipped(config):
    cfg = copy.deepcopy(config)
    p = coverage.plan(
        cfg, _present(*COURTS, *LINKED, drop={"oasys_assessments": {"full_assessment"}})
    )
    assert p.config["linkage"]["full_assessments_only"] is False
    assert cfg["linkage"]["full_assessments_only"] is True  # the config itself is not changed
    assert _notes(p)["OASys profiles"][0] == "reduced"
    sections = {c for c in _present("oasys_assessments")["oasys_assessments"]
                if c.endswith(("_need", "_score"))}  # fmt: skip
    p = coverage.plan(cfg, _present(*COURTS, *LINKED, drop={"oasys_assessments": sections}))
    assert _notes(p)["OASys profiles and need models"] == (
        "skipped",
        "the OASys table has no need or score column",
    )


def test_need_models_adjust_only_for_what_the_extract_has(config):
    p = coverage.plan(
        config,
        _present(*COURTS, *LINKED, drop={"crown_defendant_cases": {"sex", "age_at_offence"}}),
    )
    assert p.config["linkage"]["adjust_for"] == ["offence_group"]
    assert _notes(p)["adjusted need models"][0] == "reduced"
