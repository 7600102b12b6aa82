"""Table-level facts about the linked datasets: what the extract's linked tables allow.

Every linked table (prison journeys, establishment spells, incidents, OASys, probation starts,
PNC) is optional. For each one absent, or present without a column the linked analyses lean on,
the plan gets one note in section `linked_data` saying what cannot be done with the extract.
The stages built on these tables (linkage, custody, establishments) add their own notes, about
their own outputs, in socflow.coverage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socflow.schema import OASYS_SECTIONS

if TYPE_CHECKING:
    from socflow.coverage import Plan

SECTION = "linked_data"
LINKED_TABLES = (
    "prison_journeys",
    "prison_establishment_spells",
    "prison_incidents",
    "oasys_assessments",
    "probation_starts",
    "pnc_events",
)
# Which linking-table source each person-level linked table joins on.
LINK_SOURCE = {
    "prison_journeys": "prison",
    "oasys_assessments": "oasys",
    "probation_starts": "probation",
    "pnc_events": "pnc",
}
# What each linked table gives, and so what is lost without it.
WITHOUT_TABLE: dict[str, tuple[str, str]] = {
    "prison_journeys": (
        "custodial journeys (prison_journeys)",
        "no prison data: no recall after custody, re-appearance is timed from the estimated "
        "release (planted release fraction of the term) only, and the establishment spells and "
        "incidents, which hang on journeys, cannot be used",
    ),
    "prison_establishment_spells": (
        "establishment spells (prison_establishment_spells)",
        "no establishment spells: no establishment x month panel of prisoner-days, so no "
        "establishment models and no person-level incident rates",
    ),
    "prison_incidents": (
        "incidents (prison_incidents)",
        "no Safety in Custody incidents: no establishment models and no person-level "
        "incident rates",
    ),
    "oasys_assessments": (
        "offender assessments (oasys_assessments)",
        "no OASys assessments: no needs or risk-score profiles",
    ),
    "probation_starts": (
        "probation starts (probation_starts)",
        "no probation records: the linkage diagnostics cannot say who was supervised in the "
        "community",
    ),
    "pnc_events": (
        "Police National Computer histories (pnc_events)",
        "not part of Data First: criminal histories come from the courts data alone "
        "(magistrates' from 2011, Crown Court from 2013), so offending before then is unseen",
    ),
}
# Columns of a present table whose absence reduces what it allows: column -> consequence.
WITHOUT_COLUMN: dict[str, dict[str, str]] = {
    "prison_journeys": {
        "release_date": "no release dates: no recall after release and no follow-up timed "
        "from the actual release",
        "reception_reason": "recall journeys cannot be told from journeys that begin with a "
        "new case: no recall",
        "sentence_days": "no sentence lengths on the journeys",
    },
    "prison_establishment_spells": {
        "end_date": "spells without an end: prisoner-days are counted to the journey's release",
        "security_category": "no security category of the spells",
    },
    "oasys_assessments": {
        "full_assessment": "full (layer 3) assessments cannot be told from others: every "
        "assessment is used",
        "ogrs_2yr": "no OGRS risk score",
        "ovp_2yr": "no OVP risk score",
    },
    "probation_starts": {
        "region": "no probation region: OASys coverage cannot be shown by region",
        "disposal_type": "licences cannot be told from community orders",
    },
}


def plan_linked(p: Plan, present: dict[str, list[str]]) -> None:
    """Notes on the linked tables the extract lacks, or has without what they are used for."""
    link_sources_ok = bool(present.get("xjs_link"))
    for table in LINKED_TABLES:
        have = set(present.get(table, []))
        if not have:
            what, why = WITHOUT_TABLE[table]
            p.note(SECTION, what, "skipped", why)
            continue
        if table in LINK_SOURCE and not link_sources_ok:
            p.note(
                SECTION,
                WITHOUT_TABLE[table][0],
                "skipped",
                "no cross-justice linking table (xjs_link): its rows cannot be tied to the "
                "persons of the court data",
            )
            continue
        for column, why in WITHOUT_COLUMN.get(table, {}).items():
            if column not in have:
                p.note(SECTION, f"{WITHOUT_TABLE[table][0]}: {column}", "reduced", why)
        if table == "oasys_assessments":
            lacking = [s for s in OASYS_SECTIONS if f"{s}_need" not in have]
            if lacking:
                p.note(
                    SECTION,
                    f"{WITHOUT_TABLE[table][0]}: need flags",
                    "reduced",
                    f"no need flag for {', '.join(lacking)}: those sections are left out of "
                    "the needs profiles",
                )
    if not present.get("prison_journeys"):
        for table in ("prison_establishment_spells", "prison_incidents"):
            if present.get(table):
                p.note(
                    SECTION,
                    f"{WITHOUT_TABLE[table][0]}: journeys",
                    "reduced",
                    "no journey table: rows cannot be tied to persons (no SOC status) and "
                    "orphan journeys cannot be checked",
                )
