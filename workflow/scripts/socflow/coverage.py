"""What each analysis can do with the tables and columns an extract has.

One place decides, from the mapping (which canonical columns are present) and the config, how
each analysis runs: in full, in a reduced form, or not at all. It returns the settings the rules
run with (adjusted where an analysis is reduced) and one note per reduced or skipped analysis,
which the summary report prints, so that what the workflow does without a table or column and
what the report says it did come from the same decision.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from socflow import schema
from socflow.coverage_linked import plan_linked
from socflow.labels import HEADLINE_MEASURES, variant_label

RUNS, REDUCED, SKIPPED = "runs", "reduced", "skipped"

# Report sections (stages) an analysis belongs to, in report order.
SECTIONS = (
    "headline", "soc", "soc_groups", "describe", "harm", "model", "survival", "linked_data",
    "linkage", "custody", "establishments",
)  # fmt: skip

# Person breakdowns of the describe stage: output id -> canonical Crown columns it needs (any
# one of a tuple inside the list suffices).
DESCRIBE_NEEDS: dict[str, list[str | tuple[str, ...]]] = {
    "describe_region": ["region"],
    "describe_sex": ["sex"],
    "describe_age": ["age_band"],
    "describe_age_median": ["age_at_offence"],
    "describe_ethnicity": ["ethnic_group"],
    "describe_offence_group": ["offence_group"],
    "describe_plea": ["plea"],
    "describe_outcome": ["outcome_group"],
    "describe_sentence": ["sentence_type"],
    "describe_custody": ["sentence_type", "custody_days"],
    "describe_court": [("court_id", "court_name")],
}


# Headline measures (socflow.headline): measure id -> canonical Crown columns it needs.
HEADLINE_NEEDS: dict[str, list[str | tuple[str, ...]]] = {
    "drug_offence_share": ["offence_group"],
    "guilty_plea_rate": ["plea"],
    "conviction_rate": ["outcome_group"],
    "male_share": ["sex"],
    "white_share": ["ethnic_group"],
    "mean_age": ["age_at_offence"],
}


class CoverageError(ValueError):
    """The configured primary analysis cannot be computed from this extract at all."""


@dataclass
class Plan:
    """The settings each stage runs with, and what the report must say about them."""

    config: dict[str, Any]
    notes: list[dict[str, str]] = field(default_factory=list)
    skipped_stages: list[str] = field(default_factory=list)
    skipped_outputs: dict[str, list[str]] = field(default_factory=dict)

    def note(self, section: str, analysis: str, status: str, reason: str) -> None:
        self.notes.append(
            {"section": section, "analysis": analysis, "status": status, "reason": reason}
        )


def _columns(present: dict[str, list[str]], table: str) -> set[str]:
    return set(present.get(table, []))


def _missing(have: set[str], needs: list[str | tuple[str, ...]]) -> list[str]:
    out = []
    for need in needs:
        options = need if isinstance(need, tuple) else (need,)
        if not any(o in have for o in options):
            out.append(" or ".join(_source_name(o) for o in options))
    return out


def _source_name(column: str) -> str:
    """A derived column is named by what it is derived from (what the mapping lacks)."""
    return "/".join(schema.DERIVED_FROM.get(column, (column,)))


def _formula_terms(formula: str) -> list[str]:
    return [t.strip() for t in formula.split("~", 1)[1].split("+") if t.strip()]


def _drop_terms(formula: str, drop: set[str]) -> str:
    lhs = formula.split("~", 1)[0].strip()
    kept = [t for t in _formula_terms(formula) if t not in drop]
    return f"{lhs} ~ " + " + ".join(kept)


def plan(config: dict[str, Any], present: dict[str, list[str]]) -> Plan:
    """Settings and notes for an extract with `present` columns (socflow.mapping)."""
    p = Plan(copy.deepcopy(config))
    cfg = p.config
    crown = _columns(present, "crown_defendant_cases")
    offences = _columns(present, "crown_offences")
    mags = _columns(present, "mags_defendant_cases")
    link = bool(present.get("xjs_link"))
    journey = bool(present.get("mags_crown_journey"))
    _plan_soc(p, cfg["soc"], crown, offences, mags, link)
    _plan_describe(p, crown)
    _plan_harm(p, cfg["harm"], crown, offences, mags)
    _plan_model(p, cfg["model"], crown)
    _plan_survival(p, cfg["survival"], crown, mags, link, journey)
    _plan_linkage(p, cfg["linkage"], present)
    _plan_headline(p, crown)
    _plan_prison(p, cfg, present, crown, link)
    plan_linked(p, present)
    order = {s: i for i, s in enumerate(SECTIONS)}
    p.notes.sort(key=lambda n: (order[n["section"]], n["status"], n["analysis"]))
    return p


def _plan_soc(
    p: Plan, soc: dict, crown: set[str], offences: set[str], mags: set[str], link: bool
) -> None:
    primary = soc["definition"]
    custody = "custody_days" in crown  # the imposed-sentence test reads the Crown table
    if not offences:
        if primary["offence_scope"] == "any":
            primary["offence_scope"] = "principal"
            p.note(
                "soc",
                "SOC flags (primary definition)",
                REDUCED,
                "no offence-level table: offence criterion read from the principal offence "
                "only (soc.definition.offence_scope is 'any')",
            )
        _drop_variants(p, soc, "offence_scope", "any", "the offence-level table (crown_offences)")
    if not custody:
        if primary["seriousness_mode"] == "imposed":
            raise CoverageError(
                "soc.definition.seriousness_mode 'imposed' needs custody_days, which the "
                "extract lacks: choose 'statutory_max'"
            )
        _drop_variants(p, soc, "seriousness_mode", "imposed", "the custodial term (custody_days)")
    if not link or "row_id" not in crown:
        why = "no cross-justice linking table" if not link else "no row_id in the Crown table"
        if "defendant_id" in crown:
            how = "persons are identified by the Crown Court defendant ID"
        else:
            how = "no defendant ID either: each defendant-case is counted as a person"
        p.note("soc", "persons (person key)", REDUCED, f"{why}: {how}")
    elif "defendant_id" not in crown:
        p.note(
            "soc",
            "persons (person key)",
            REDUCED,
            "Crown rows without a cross-justice ID have no defendant ID to fall back on: "
            "each such defendant-case is counted as a person",
        )
    if soc["groups"]["include_mags"] and (not mags or not link):
        soc["groups"]["include_mags"] = False
        p.note(
            "soc_groups",
            "co-offending groups across both courts",
            REDUCED,
            "magistrates' table or linking table absent: groups from Crown Court cases only",
        )


def _drop_variants(p: Plan, soc: dict, key: str, value: str, needs: str) -> None:
    """Leave out the sensitivity variants that set `key` to `value`, which need `needs`."""
    for name, change in sorted(soc["sensitivity"].items()):
        if change.get(key) == value:
            label = variant_label(change, soc["definition"])
            del soc["sensitivity"][name]
            p.note("soc", f"sensitivity definition: {label}", SKIPPED, f"needs {needs}")


def _plan_describe(p: Plan, crown: set[str]) -> None:
    skipped = []
    for output, needs in DESCRIBE_NEEDS.items():
        missing = _missing(crown, needs)
        if missing:
            skipped.append(output)
            p.note("describe", output, SKIPPED, f"needs {', '.join(missing)} (Crown Court table)")
    p.skipped_outputs["describe"] = skipped


def _plan_headline(p: Plan, crown: set[str]) -> None:
    skipped = []
    for measure, needs in HEADLINE_NEEDS.items():
        missing = _missing(crown, needs)
        if missing:
            skipped.append(measure)
            p.note(
                "headline",
                HEADLINE_MEASURES[measure],
                SKIPPED,
                f"needs {', '.join(missing)} (Crown Court table)",
            )
    if "survival" in p.skipped_stages:
        skipped.append("back_in_court_2y")
        p.note(
            "headline",
            HEADLINE_MEASURES["back_in_court_2y"],
            SKIPPED,
            "needs the re-appearance analysis, which this extract cannot support",
        )
    p.skipped_outputs["headline"] = skipped


def _plan_harm(p: Plan, harm: dict, crown: set[str], offences: set[str], mags: set[str]) -> None:
    sentencing = {"sentence_type", "custody_days"}
    # Weights come from sentences; harm is resampled by court and shared out by region.
    needs = sentencing | {"court_id", "region"}
    if not needs <= crown:
        p.skipped_stages.append("harm")
        p.note(
            "harm",
            "crime-harm weighting (whole section)",
            SKIPPED,
            f"needs {', '.join(sorted(needs - crown))} in the Crown Court table: the "
            "data-derived weights come from sentences, intervals resample courts, shares "
            "are by region",
        )
        return
    if harm["offence_scope"] == "all" and not offences:
        p.skipped_stages.append("harm")
        p.note(
            "harm",
            "crime-harm weighting (whole section)",
            SKIPPED,
            "harm.offence_scope is 'all', which needs the offence-level table",
        )
        return
    dd = harm["data_derived"]
    if dd["include_magistrates"] and not sentencing <= mags:
        dd["include_magistrates"] = False
        why = (
            "no magistrates' table"
            if not mags
            else (f"the magistrates' table lacks {', '.join(sorted(sentencing - mags))}")
        )
        p.note(
            "harm",
            "data-derived harm weights",
            REDUCED,
            f"{why}: weights from Crown Court sentences only",
        )


def _plan_model(p: Plan, model: dict, crown: set[str]) -> None:
    canonical = schema.polars_schema("crown_defendant_cases")
    needs = ["outcome", "receipt_type", model["cluster"], model["fixed_effects"]]
    missing = sorted({c for c in needs if c in canonical and c not in crown})
    if missing:
        p.skipped_stages.append("model")
        p.note(
            "model",
            "discontinuance and dismissal models (whole section)",
            SKIPPED,
            f"needs {', '.join(missing)} (Crown Court table): the outcome, the trial "
            "population, the clusters of the standard errors and the fixed effects",
        )
        return
    dropped = sorted(
        t
        for t in _formula_terms(model["formulas"]["adjusted"])
        if t in canonical and t not in crown
    )
    if dropped:
        model["formulas"]["adjusted"] = _drop_terms(model["formulas"]["adjusted"], set(dropped))
        model["ordered_terms"] = [t for t in model["ordered_terms"] if t not in dropped]
        p.note(
            "model",
            "adjusted models",
            REDUCED,
            f"adjusted without {', '.join(_source_name(t) for t in dropped)}, which the "
            "extract lacks",
        )


def _plan_survival(
    p: Plan, surv: dict, crown: set[str], mags: set[str], link: bool, journey: bool
) -> None:
    offence_timing = surv["event"]["timing"] == "offence_date"
    needs = {"row_id", "disposal_date", "offence_date" if offence_timing else "receipt_date"}
    if surv["cohort"]["receipt_types"]:
        needs.add("receipt_type")
    if surv["cohort"]["outcome_groups"] or surv["event"]["convicted_only"]:
        needs.add("outcome")
    needs -= crown
    if not link or needs:
        p.skipped_stages.append("survival")
        why = [] if link else ["the cross-justice linking table (xjs_link)"]
        why += [f"{c} in the Crown Court table" for c in sorted(needs)]
        p.note(
            "survival",
            "re-appearance (whole section)",
            SKIPPED,
            f"needs {' and '.join(why)} to follow persons across cases",
        )
        return
    if not mags_usable_for_survival(surv, mags):
        mags_needs = _MAGS_FOR_SURVIVAL | {"offence_date" if offence_timing else "disposal_date"}
        why = (
            "no magistrates' table"
            if not mags
            else (f"the magistrates' table lacks {', '.join(sorted(mags_needs - mags))}")
        )
        p.note(
            "survival",
            "re-appearance events",
            REDUCED,
            f"{why}: re-appearances in the Crown Court only",
        )
    if not journey and mags_usable_for_survival(surv, mags):
        joined = (
            "only when they share the person and offence date"
            if surv["event"]["merge_same_offence_date"]
            else "never"
        )
        p.note(
            "survival",
            "cases sent from the magistrates' court",
            REDUCED,
            f"no journey table: a magistrates' case and its Crown Court case are joined {joined}",
        )
    canonical = schema.polars_schema("crown_defendant_cases")
    cox = surv["cox"]
    dropped = sorted(c for c in cox["covariates"] if c in canonical and c not in crown)
    if dropped:
        cox["covariates"] = [c for c in cox["covariates"] if c not in dropped]
        p.note(
            "survival",
            "Cox model",
            REDUCED,
            f"adjusted without {', '.join(_source_name(t) for t in dropped)}, which the "
            "extract lacks",
        )


_MAGS_FOR_SURVIVAL = {"row_id", "case_id", "proceeding_type"}


def mags_usable_for_survival(surv: dict[str, Any], mags: set[str]) -> bool:
    """Whether the survival stage can read events from the magistrates' table: it needs the
    rows' links, cases, proceeding types (breach and civil matters are not re-appearances) and
    the event date (offence date, or the first hearing falling back on disposal)."""
    offence_timing = surv["event"]["timing"] == "offence_date"
    has_date = (
        "offence_date" in mags
        if offence_timing
        else bool({"first_hearing_date", "disposal_date"} & mags)
    )
    return has_date and _MAGS_FOR_SURVIVAL <= mags


# Linked tables of the linkage stage, in words (socflow.linkage.linked).
LINKED_TABLES = {
    "prison_journeys": "prison custodial journeys",
    "oasys_assessments": "OASys assessments",
    "probation_starts": "probation starts",
    "pnc_events": "Police National Computer events",
}
LINKAGE_TERMS = {"age_at_offence": "age_at_offence", "sex": "sex", "offence_group": "offence_group"}


def _plan_linkage(p: Plan, link_cfg: dict, present: dict[str, list[str]]) -> None:
    """The linkage stage needs the linking table and the Crown rows' key; each of its analyses
    needs its linked table (and, for the profiles, OASys need or score columns). What each
    absent linked table costs in general (the PNC extract included) is noted once, in section
    `linked_data` (socflow.coverage_linked); these notes are about the stage's own outputs."""
    crown = _columns(present, "crown_defendant_cases")
    if not present.get("xjs_link") or "row_id" not in crown:
        p.skipped_stages.append("linkage")
        why = (
            "the cross-justice linking table (xjs_link)"
            if not present.get("xjs_link")
            else "row_id in the Crown Court table"
        )
        p.note(
            "linkage",
            "linked data: who is linked and their profiles (whole section)",
            SKIPPED,
            f"needs {why} to find Crown Court defendants in the linked datasets",
        )
        return
    linked = [t for t in LINKED_TABLES if present.get(t)]
    if not linked:
        p.note(
            "linkage",
            "who is found in the linked datasets",
            SKIPPED,
            "no linked prison, OASys, probation or PNC table in the extract",
        )
    oasys = _columns(present, "oasys_assessments")
    sections = [s for s in schema.OASYS_SECTIONS if f"{s}_need" in oasys or f"{s}_score" in oasys]
    if not oasys or not sections:
        p.note(
            "linkage",
            "OASys profiles and need models",
            SKIPPED,
            "the extract has no oasys_assessments table"
            if not oasys
            else "the OASys table has no need or score column",
        )
    else:
        if link_cfg["full_assessments_only"] and "full_assessment" not in oasys:
            link_cfg["full_assessments_only"] = False
            p.note(
                "linkage",
                "OASys profiles",
                REDUCED,
                "no full_assessment column: every assessment is used, whatever its layer",
            )
        lacking = [s for s in schema.OASYS_SECTIONS if s not in sections]
        if lacking:
            p.note(
                "linkage",
                "OASys profiles",
                REDUCED,
                f"the OASys table lacks the sections {', '.join(lacking)}",
            )
        dropped = [t for t in link_cfg["adjust_for"] if LINKAGE_TERMS[t] not in crown and
                   not (t == "offence_group" and "ho_offence_code" in crown)]  # fmt: skip
        if dropped:
            link_cfg["adjust_for"] = [t for t in link_cfg["adjust_for"] if t not in dropped]
            p.note(
                "linkage",
                "adjusted need models",
                REDUCED,
                f"adjusted without {', '.join(_source_name(t) for t in dropped)}, which the "
                "extract lacks",
            )
    if not present.get("mags_defendant_cases"):
        p.note(
            "linkage",
            "criminal histories from the courts data",
            REDUCED,
            "no magistrates' table: histories from Crown Court cases only",
        )


# Canonical columns the after-custody and establishment analyses need (socflow.custody,
# socflow.establishments); the linked cohort also needs the Crown row key and the link.
CUSTODY_NEEDS = ("row_id", "reception_date", "release_date", "reception_reason")
ESTABLISHMENT_NEEDS = {
    "prison_journeys": ("row_id",),
    # Without end_date a spell ends at the next spell or the journey's release (the linked-data
    # notes say so).
    "prison_establishment_spells": ("journey_row_id", "establishment_id", "start_date"),
    "prison_incidents": ("incident_id", "journey_row_id", "establishment_id", "incident_date",
                         "incident_type"),
}  # fmt: skip


def _lacks(present: dict[str, list[str]], table: str, needs: tuple[str, ...]) -> str:
    """Why `table` cannot serve (absent, or the columns it lacks), or "" when it can."""
    have = _columns(present, table)
    if not have:
        return f"the {table} table"
    missing = [c for c in needs if c not in have]
    return f"{', '.join(missing)} in {table}" if missing else ""


def _plan_prison(
    p: Plan, cfg: dict, present: dict[str, list[str]], crown: set[str], link: bool
) -> None:
    """Custody (recall), establishments, and survival's start of time at risk after custody."""
    cohort = [] if link else ["the cross-justice linking table (xjs_link)"]
    cohort += [] if "row_id" in crown else ["row_id in the Crown Court table"]
    journeys = _lacks(present, "prison_journeys", CUSTODY_NEEDS)
    why = cohort + ([journeys] if journeys else [])
    if why:
        p.skipped_stages.append("custody")
        p.note("custody", "recall after custody (whole section)", SKIPPED,
               f"needs {' and '.join(why)}: recall is a later prison journey received as a "
               "recall, timed from the release of the index case's journey")  # fmt: skip
    elif "release_reason" not in _columns(present, "prison_journeys"):
        cfg.setdefault("custody", {}).setdefault("recall", {})["competing_release_reasons"] = []
        p.note("custody", "competing risks", REDUCED,
               "no release_reason in prison_journeys: release by death or deportation cannot "
               "be told apart, so no competing event")  # fmt: skip
    surv = cfg["survival"].setdefault("time_at_risk", {})
    release = _lacks(present, "prison_journeys", ("row_id", "reception_date", "release_date"))
    if surv.get("release_from_prison_journey", True) and (release or cohort):
        surv["release_from_prison_journey"] = False
        if "survival" not in p.skipped_stages:
            p.note("survival", "start of time at risk after custody", REDUCED,
                   f"needs {' and '.join(cohort + ([release] if release else []))}: time at "
                   "risk after immediate custody starts at the estimated release date "
                   "(survival.time_at_risk.release_fraction)")  # fmt: skip
    why = list(cohort)
    for table, needs in ESTABLISHMENT_NEEDS.items():
        lack = _lacks(present, table, needs)
        if lack:
            why.append(lack)
    if why:
        p.skipped_stages.append("establishments")
        p.note("establishments", "establishment panel and incident rates (whole section)",
               SKIPPED, f"needs {' and '.join(why)}")  # fmt: skip
