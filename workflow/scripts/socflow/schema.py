"""The canonical schema every ingested dataset is mapped onto.

One definition serves the ingest (parsing and validation), the documentation
(`docs/canonical_schema.md` is generated from it and checked by a test) and later stages,
which can rely on these names, dtypes and value sets whatever the extract called them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

REGIONS = (
    "London",
    "South East",
    "South West",
    "Midlands",
    "North East",
    "North West",
    "Wales",
)
SEX = ("M", "F", "U")
ETHNICITY = (
    "W1", "W2", "W9", "M1", "M2", "M3", "M9", "A1", "A2", "A3", "A9", "B1", "B2", "B9", "O1",
    "O9", "NS",
)  # fmt: skip
ETHNIC_GROUPS = ("White", "Black", "Asian", "Mixed", "Chinese and other", "Not stated")
RECEIPT_TYPES = ("trial", "sentence", "appeal")
PLEAS = ("guilty", "not_guilty", "no_plea", "not_known")
OUTCOMES = (
    "guilty_plea",
    "convicted_after_trial",
    "proved_in_absence",
    "acquitted_jury",
    "judge_directed_acquittal",
    "discontinued",
    "withdrawn",
    "no_evidence_offered",
    "lie_on_file",
    "stayed",
    "dismissed",
    "admin_finalised",
    "sentenced_on_committal",
    "appeal_allowed",
    "appeal_dismissed",
    "sent_for_trial",
    "committed_for_sentence",
    "breach_proved",
    "order_made",
    "other",
)
SENTENCE_TYPES = (
    "immediate_custody",
    "suspended_sentence",
    "community_sentence",
    "fine",
    "conditional_discharge",
    "absolute_discharge",
    "compensation",
    "otherwise_dealt_with",
    "none",
)
PROCEEDING_TYPES = ("criminal", "breach", "civil")
SOURCE_DATASETS = ("crown", "mags", "prison", "oasys", "probation", "pnc")
RECEPTION_REASONS = ("remand", "sentenced", "recall", "other")
RELEASE_REASONS = (
    "automatic_release",
    "parole",
    "end_of_sentence",
    "remand_released",
    "died",
    "deported",
    "other",
)
SECURITY_CATEGORIES = ("A", "B", "C", "D", "female_closed", "female_open", "yoi", "remand", "other")
INCIDENT_TYPES = ("assault", "self_harm", "drugs_find", "contraband_find", "other")
PROBATION_DISPOSALS = (
    "community_order",
    "suspended_sentence_order",
    "licence",
    "post_sentence_supervision",
    "other",
)
PNC_EVENT_TYPES = ("conviction", "caution", "custody")
YES_NO = ("yes", "no")
# OASys criminogenic need sections, in the order of the assessment.
OASYS_SECTIONS = (
    "accommodation",
    "education_training_employability",
    "finance",
    "relationships",
    "lifestyle_associates",
    "drug_misuse",
    "alcohol_misuse",
    "emotional_wellbeing",
    "thinking_behaviour",
    "attitudes",
)


@dataclass(frozen=True)
class Column:
    """One canonical column: name, dtype, whether the extract must supply it, and meaning."""

    name: str
    dtype: pl.DataType
    description: str
    required: bool = True
    nullable: bool = False
    kind: str = "plain"  # plain | date | ho_code | enum | int | float | derived


def _enum(values: tuple[str, ...]) -> pl.Enum:
    return pl.Enum(list(values))


TABLES: dict[str, tuple[Column, ...]] = {
    "crown_defendant_cases": (
        Column(
            "row_id",
            pl.String(),
            "Row key of the extract; joins to the linking table.",
            required=False,
            nullable=True,
        ),
        Column("defendant_on_case_id", pl.String(), "One defendant on one case (unique)."),
        Column("case_id", pl.String(), "Case; co-defendants share it."),
        Column(
            "defendant_id",
            pl.String(),
            "Court-system defendant ID (not cross-justice).",
            required=False,
            nullable=True,
        ),
        Column("court_id", pl.String(), "Crown Court centre code.", required=False, nullable=True),
        Column(
            "court_name", pl.String(), "Crown Court centre name.", required=False, nullable=True
        ),
        Column(
            "region", _enum(REGIONS), "HMCTS region.", kind="enum", required=False, nullable=True
        ),
        Column(
            "receipt_type",
            _enum(RECEIPT_TYPES),
            "Trial, committal for sentence, appeal.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "offence_date",
            pl.Date(),
            "Date of the principal offence.",
            kind="date",
            required=False,
            nullable=True,
        ),
        Column(
            "receipt_date",
            pl.Date(),
            "Date the case was received.",
            kind="date",
            required=False,
            nullable=True,
        ),
        Column("disposal_date", pl.Date(), "Date the case was disposed of.", kind="date"),
        Column("ho_offence_code", pl.String(), "Principal offence, HO code NNNNN.", kind="ho_code"),
        Column(
            "age_at_offence",
            pl.Int16(),
            "Age in years at the offence.",
            kind="int",
            required=False,
            nullable=True,
        ),
        Column(
            "sex", _enum(SEX), "M, F or U (not known).", kind="enum", required=False, nullable=True
        ),
        Column(
            "ethnicity",
            _enum(ETHNICITY),
            "Self-defined ethnicity (16+1); null if blank.",
            nullable=True,
            kind="enum",
            required=False,
        ),
        Column("plea", _enum(PLEAS), "Final plea.", kind="enum", required=False, nullable=True),
        Column(
            "outcome",
            _enum(OUTCOMES),
            "Canonical case outcome.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "sentence_type",
            _enum(SENTENCE_TYPES),
            "Sentence outcome; none if not sentenced.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "custody_days",
            pl.Int32(),
            "Custodial term in days (0 if none).",
            kind="int",
            required=False,
            nullable=True,
        ),
        Column(
            "n_offences",
            pl.Int16(),
            "Offences of the defendant in the case.",
            required=False,
            nullable=True,
            kind="int",
        ),
        Column(
            "offence_group",
            pl.String(),
            "MoJ offence group of the principal offence.",
            kind="derived",
        ),
        Column(
            "ethnic_group", _enum(ETHNIC_GROUPS), "Five MoJ groups + not stated.", kind="derived"
        ),
        Column("age_band", pl.String(), "Age band at offence (config age_bands).", kind="derived"),
        Column("receipt_year", pl.Int16(), "Year of receipt.", kind="derived"),
        Column("disposal_year", pl.Int16(), "Year of disposal.", kind="derived"),
        Column(
            "outcome_group", pl.String(), "Outcome group (config outcome_groups).", kind="derived"
        ),
    ),
    "crown_offences": (
        Column("defendant_on_case_id", pl.String(), "Joins to crown_defendant_cases."),
        Column("offence_number", pl.Int16(), "Sequence of the offence in the case.", kind="int"),
        Column("ho_offence_code", pl.String(), "HO code NNNNN.", kind="ho_code"),
        Column(
            "offence_date", pl.Date(), "Offence date.", kind="date", nullable=True, required=False
        ),
        Column(
            "custody_days",
            pl.Int32(),
            "Custody imposed for this offence.",
            kind="int",
            required=False,
            nullable=True,
        ),
    ),
    "mags_defendant_cases": (
        Column("row_id", pl.String(), "Row key of the extract; joins to the linking table."),
        Column("case_id", pl.String(), "Case; co-defendants share it."),
        Column(
            "defendant_id", pl.String(), "Court-system defendant ID.", required=False, nullable=True
        ),
        Column("court_id", pl.String(), "Magistrates' court code.", required=False, nullable=True),
        Column("court_name", pl.String(), "Court name.", required=False, nullable=True),
        Column(
            "region", _enum(REGIONS), "HMCTS region.", kind="enum", required=False, nullable=True
        ),
        Column(
            "proceeding_type",
            _enum(PROCEEDING_TYPES),
            "Criminal, breach or civil.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "offence_date",
            pl.Date(),
            "Date of the principal offence.",
            kind="date",
            required=False,
            nullable=True,
        ),
        Column(
            "first_hearing_date",
            pl.Date(),
            "First hearing.",
            kind="date",
            required=False,
            nullable=True,
        ),
        Column(
            "disposal_date",
            pl.Date(),
            "Date of disposal.",
            kind="date",
            required=False,
            nullable=True,
        ),
        Column("ho_offence_code", pl.String(), "Principal offence, HO code NNNNN.", kind="ho_code"),
        Column(
            "age_at_offence",
            pl.Int16(),
            "Age in years at the offence.",
            kind="int",
            required=False,
            nullable=True,
        ),
        Column("sex", _enum(SEX), "M, F or U.", kind="enum", required=False, nullable=True),
        Column(
            "ethnicity",
            _enum(ETHNICITY),
            "Self-defined ethnicity; null if blank.",
            nullable=True,
            kind="enum",
            required=False,
        ),
        Column(
            "outcome",
            _enum(OUTCOMES),
            "Canonical outcome.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "sentence_type",
            _enum(SENTENCE_TYPES),
            "Sentence outcome.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "custody_days",
            pl.Int32(),
            "Custodial term in days.",
            kind="int",
            required=False,
            nullable=True,
        ),
        Column("offence_group", pl.String(), "MoJ offence group.", kind="derived"),
        Column(
            "ethnic_group", _enum(ETHNIC_GROUPS), "Five MoJ groups + not stated.", kind="derived"
        ),
        Column("age_band", pl.String(), "Age band at offence.", kind="derived"),
        Column("disposal_year", pl.Int16(), "Year of disposal.", kind="derived"),
        Column("outcome_group", pl.String(), "Outcome group.", kind="derived"),
    ),
    "xjs_link": (
        Column("source_dataset", _enum(SOURCE_DATASETS), "Dataset of the row.", kind="enum"),
        Column("row_id", pl.String(), "Row key in that dataset."),
        Column("person_id", pl.String(), "Estimated cross-justice person ID."),
    ),
    "mags_crown_journey": (
        Column("mags_case_id", pl.String(), "Magistrates' case."),
        Column("mags_defendant_id", pl.String(), "Magistrates' defendant."),
        Column("crown_defendant_on_case_id", pl.String(), "Crown Court defendant-case."),
        Column(
            "match_score",
            pl.Float64(),
            "Linkage match score (0-1).",
            kind="float",
            required=False,
            nullable=True,
        ),
    ),
    "prison_journeys": (
        Column("row_id", pl.String(), "Journey row key (p-NOMIS); joins xjs_link (prison)."),
        Column("reception_date", pl.Date(), "First reception of the journey.", kind="date"),
        Column(
            "release_date",
            pl.Date(),
            "Final release of the journey; null while still in custody at extract end.",
            kind="date",
            required=False,
            nullable=True,
        ),
        Column(
            "reception_reason",
            _enum(RECEPTION_REASONS),
            "Why the journey began: remand, sentence, recall (no new court case), other.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "release_reason",
            _enum(RELEASE_REASONS),
            "Why the journey ended; null while in custody.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "sentence_days",
            pl.Int32(),
            "Sentence length in days (0 or null on remand).",
            kind="int",
            required=False,
            nullable=True,
        ),
        Column(
            "ho_offence_code",
            pl.String(),
            "Main offence, HO code NNNNN.",
            kind="ho_code",
            required=False,
            nullable=True,
        ),
        Column(
            "age_at_reception",
            pl.Int16(),
            "Age in years at reception.",
            kind="int",
            required=False,
            nullable=True,
        ),
        Column("sex", _enum(SEX), "M, F or U.", kind="enum", required=False, nullable=True),
    ),
    "prison_establishment_spells": (
        Column("journey_row_id", pl.String(), "Joins prison_journeys.row_id."),
        Column("establishment_id", pl.String(), "Establishment code (identifiable: never shown)."),
        Column("start_date", pl.Date(), "Arrival at the establishment.", kind="date"),
        Column(
            "end_date",
            pl.Date(),
            "Departure (transfer or release); null while still there.",
            kind="date",
            required=False,
            nullable=True,
        ),
        Column(
            "security_category",
            _enum(SECURITY_CATEGORIES),
            "Category of the establishment or prisoner during the spell.",
            kind="enum",
            required=False,
            nullable=True,
        ),
    ),
    "prison_incidents": (
        Column("incident_id", pl.String(), "Incident (several prisoners may share one)."),
        Column("journey_row_id", pl.String(), "Joins prison_journeys.row_id."),
        Column("establishment_id", pl.String(), "Establishment of the incident."),
        Column("incident_date", pl.Date(), "Date of the incident.", kind="date"),
        Column(
            "incident_type",
            _enum(INCIDENT_TYPES),
            "Assault, self-harm, find of drugs, find of other contraband, other.",
            kind="enum",
        ),
    ),
    "oasys_assessments": (
        Column("row_id", pl.String(), "Assessment row key; joins xjs_link (oasys)."),
        Column("assessment_date", pl.Date(), "Date the assessment was completed.", kind="date"),
        Column(
            "full_assessment",
            _enum(YES_NO),
            "Full (layer 3) assessment.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        *(
            Column(
                f"{section}_score",
                pl.Int16(),
                f"Section score: {section.replace('_', ' ')}.",
                kind="int",
                required=False,
                nullable=True,
            )
            for section in OASYS_SECTIONS
        ),
        *(
            Column(
                f"{section}_need",
                _enum(YES_NO),
                f"Identified criminogenic need: {section.replace('_', ' ')}.",
                kind="enum",
                required=False,
                nullable=True,
            )
            for section in OASYS_SECTIONS
        ),
        Column(
            "ogrs_2yr",
            pl.Float64(),
            "OGRS general reoffending probability at 2 years (0-100).",
            kind="float",
            required=False,
            nullable=True,
        ),
        Column(
            "ovp_2yr",
            pl.Float64(),
            "OVP violent reoffending probability at 2 years (0-100).",
            kind="float",
            required=False,
            nullable=True,
        ),
    ),
    "probation_starts": (
        Column("row_id", pl.String(), "Event row key (nDelius); joins xjs_link (probation)."),
        Column("start_date", pl.Date(), "Start of supervision.", kind="date"),
        Column(
            "disposal_type",
            _enum(PROBATION_DISPOSALS),
            "What is supervised.",
            kind="enum",
            required=False,
            nullable=True,
        ),
        Column(
            "region",
            _enum(REGIONS),
            "Probation region.",
            kind="enum",
            required=False,
            nullable=True,
        ),
    ),
    "pnc_events": (
        Column("row_id", pl.String(), "Event row key; joins xjs_link (pnc)."),
        Column("event_date", pl.Date(), "Date of the conviction, caution or custody.", kind="date"),
        Column("event_type", _enum(PNC_EVENT_TYPES), "Conviction, caution, custody.", kind="enum"),
        Column(
            "ho_offence_code",
            pl.String(),
            "Offence, HO code NNNNN.",
            kind="ho_code",
            required=False,
            nullable=True,
        ),
    ),
}

# Keys that must be unique within a table (after exact duplicate rows are quarantined).
KEYS: dict[str, tuple[str, ...]] = {
    "crown_defendant_cases": ("defendant_on_case_id",),
    "crown_offences": ("defendant_on_case_id", "offence_number"),
    "mags_defendant_cases": ("row_id",),
    "xjs_link": ("source_dataset", "row_id", "person_id"),
    "mags_crown_journey": ("mags_case_id", "mags_defendant_id", "crown_defendant_on_case_id"),
    "prison_journeys": ("row_id",),
    "prison_establishment_spells": ("journey_row_id", "start_date", "establishment_id"),
    "prison_incidents": ("incident_id", "journey_row_id"),
    "oasys_assessments": ("row_id",),
    "probation_starts": ("row_id",),
    "pnc_events": ("row_id",),
}

# What each derived column is derived from: a derived column is absent (null) when one of these
# is absent from the extract, never filled with a default level.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "offence_group": ("ho_offence_code",),
    "ethnic_group": ("ethnicity",),
    "age_band": ("age_at_offence",),
    "receipt_year": ("receipt_date",),
    "disposal_year": ("disposal_date",),
    "outcome_group": ("outcome",),
}

# Ordered pairs of date columns: the first must not fall after the second.
DATE_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "crown_defendant_cases": (("offence_date", "receipt_date"), ("receipt_date", "disposal_date")),
    "mags_defendant_cases": (
        ("offence_date", "first_hearing_date"),
        ("first_hearing_date", "disposal_date"),
        ("offence_date", "disposal_date"),
    ),
    "prison_journeys": (("reception_date", "release_date"),),
    "prison_establishment_spells": (("start_date", "end_date"),),
}

ETHNIC_GROUP_OF = {
    **{c: "White" for c in ("W1", "W2", "W9")},
    **{c: "Mixed" for c in ("M1", "M2", "M3", "M9")},
    **{c: "Asian" for c in ("A1", "A2", "A3", "A9")},
    **{c: "Black" for c in ("B1", "B2", "B9")},
    **{c: "Chinese and other" for c in ("O1", "O9")},
    "NS": "Not stated",
}


def source_columns(table: str) -> tuple[Column, ...]:
    """Columns an extract supplies (everything except derived ones)."""
    return tuple(c for c in TABLES[table] if c.kind != "derived")


def polars_schema(table: str) -> dict[str, pl.DataType]:
    return {c.name: c.dtype for c in TABLES[table]}


def schema_markdown() -> str:
    """The canonical schema as Markdown (docs/canonical_schema.md is this text)."""
    lines = [
        "# Canonical schema",
        "",
        "Generated from `workflow/scripts/socflow/schema.py` by "
        "`python -m socflow.schema > docs/canonical_schema.md`; a test keeps them equal.",
        "Ingest maps every extract onto these tables (config `datasets`), writes them to",
        "`results/ingest/<table>.parquet` with exactly these dtypes, and quarantines rows",
        "that fail validation. *Required*: the mapping must supply the column (a source column",
        "or a constant); any other column may be declared absent (`null` in the mapping), and",
        "is then null throughout, as are the derived columns made from it. Only",
        "`crown_defendant_cases` is a required table.",
        "",
    ]
    for table, cols in TABLES.items():
        lines += [f"## `{table}`", ""]
        if table in KEYS:
            lines += [f"Unique key: {', '.join(f'`{k}`' for k in KEYS[table])}.", ""]
        lines += [
            "| column | dtype | required | nullable | meaning | allowed values |",
            "|---|---|---|---|---|---|",
        ]
        for c in cols:
            allowed = (
                ", ".join(c.dtype.categories.to_list()) if isinstance(c.dtype, pl.Enum) else ""
            )
            if c.kind == "ho_code":
                allowed = "5 digits; `NNN/NN` accepted on input; must be in the HO code table"
            req = "derived" if c.kind == "derived" else ("yes" if c.required else "no")
            dtype = "Enum" if isinstance(c.dtype, pl.Enum) else str(c.dtype)
            lines.append(
                f"| `{c.name}` | {dtype} | {req} | {'yes' if c.nullable else 'no'} | "
                f"{c.description} | {allowed} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(schema_markdown())
