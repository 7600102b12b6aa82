"""What the custody and establishments stages do without the prison tables (socflow.coverage)."""

from __future__ import annotations

import pytest

from socflow import schema
from socflow.coverage import REDUCED, SKIPPED, plan

COURTS = ("crown_defendant_cases", "crown_offences", "mags_defendant_cases", "xjs_link",
          "mags_crown_journey")  # fmt: skip
PRISON = ("prison_journeys", "prison_establishment_spells", "prison_incidents")


def present(*tables: str, drop: dict[str, str] | None = None) -> dict[str, list[str]]:
    out = {t: list(schema.polars_schema(t)) for t in tables}
    for table, column in (drop or {}).items():
        out[table].remove(column)
    return out


def notes(p, section: str) -> dict[str, tuple[str, str]]:
    return {n["analysis"]: (n["status"], n["reason"]) for n in p.notes if n["section"] == section}


def test_courts_only_skip_both_stages_with_notes(config):
    p = plan(config, present(*COURTS))
    assert {"custody", "establishments"} <= set(p.skipped_stages)
    status, reason = notes(p, "custody")["recall after custody (whole section)"]
    assert status == SKIPPED and "prison_journeys" in reason
    status, reason = notes(p, "establishments")[
        "establishment panel and incident rates (whole section)"
    ]
    assert status == SKIPPED and "prison_establishment_spells" in reason
    # Survival falls back on the estimated release, and says so.
    assert p.config["survival"]["time_at_risk"]["release_from_prison_journey"] is False
    status, reason = notes(p, "survival")["start of time at risk after custody"]
    assert status == REDUCED and "estimated release" in reason


def test_all_prison_tables_run_both_stages(config):
    p = plan(config, present(*COURTS, *PRISON))
    assert "custody" not in p.skipped_stages and "establishments" not in p.skipped_stages
    assert p.config["survival"]["time_at_risk"]["release_from_prison_journey"] is True
    assert not notes(p, "custody") and not notes(p, "establishments")


def test_journeys_without_incidents_run_custody_only(config):
    p = plan(config, present(*COURTS, "prison_journeys"))
    assert "custody" not in p.skipped_stages
    assert "establishments" in p.skipped_stages
    assert (
        "prison_incidents"
        in notes(p, "establishments")["establishment panel and incident rates (whole section)"][1]
    )


@pytest.mark.parametrize("column", ["release_date", "reception_reason"])
def test_journeys_lacking_a_needed_column_skip_recall(config, column):
    p = plan(config, present(*COURTS, *PRISON, drop={"prison_journeys": column}))
    assert "custody" in p.skipped_stages
    assert column in notes(p, "custody")["recall after custody (whole section)"][1]


def test_no_release_reason_means_no_competing_event(config):
    p = plan(config, present(*COURTS, *PRISON, drop={"prison_journeys": "release_reason"}))
    assert "custody" not in p.skipped_stages
    assert p.config["custody"]["recall"]["competing_release_reasons"] == []
    assert notes(p, "custody")["competing risks"][0] == REDUCED


def test_no_link_skips_everything_linked(config):
    p = plan(config, present("crown_defendant_cases", *PRISON))
    assert {"custody", "establishments"} <= set(p.skipped_stages)
    assert (
        "xjs_link"
        in notes(p, "establishments")["establishment panel and incident rates (whole section)"][1]
    )


def test_spells_without_end_dates_still_run_the_panel(config):
    p = plan(config, present(*COURTS, *PRISON, drop={"prison_establishment_spells": "end_date"}))
    assert "establishments" not in p.skipped_stages
