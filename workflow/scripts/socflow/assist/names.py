"""Which source column names could stand for which canonical column: normalised tokens.

A name is split into lower-case tokens (at underscores, spaces, punctuation and camelCase
humps); common abbreviations are spelled out (`dt` -> `date`, `mc` -> `magistrates`) and tokens
that say nothing about meaning (`desc`, `hash`) are dropped. Two names then match as well as
their token sets overlap. Each canonical column has a few plain-English spellings; Data First's
own column names, where known, are listed apart so that their contribution can be measured.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Abbreviations and variants -> one spelling ("" drops the token).
TOKEN_ALIASES: dict[str, str] = {
    "gender": "sex",
    "ethnic": "ethnicity",
    "dt": "date",
    "dte": "date",
    "offense": "offence",
    "off": "offence",
    "offences": "offence",
    "no": "number",
    "num": "number",
    "nbr": "number",
    "ref": "id",
    "reference": "id",
    "key": "id",
    "identifier": "id",
    "cd": "code",
    "mags": "magistrates",
    "mc": "magistrates",
    "mcs": "magistrates",
    "cc": "crown",
    "def": "defendant",
    "dft": "defendant",
    "defendants": "defendant",
    "custodial": "custody",
    "cust": "custody",
    "desc": "",
    "descr": "",
    "description": "",
    "hash": "",
    "hashed": "",
    "the": "",
    "of": "",
    "txt": "",
    "text": "",
    "recvd": "received",
    "rcpt": "receipt",
    "disp": "disposal",
    "hrg": "hearing",
    "proceedings": "proceeding",
    "sent": "sentence",
    "yrs": "years",
    "pk": "id",
    "flag": "",
    "ind": "",
    "indicator": "",
    "pct": "",
    "percent": "",
    "percentage": "",
    "drugs": "drug",
    "misuse": "",
}

# Plain-English spellings of each canonical column (the canonical name itself always counts).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "row_id": ("row id", "record id", "row key", "record key"),
    "defendant_on_case_id": ("defendant on case id", "defendant case id", "case defendant id"),
    "case_id": ("case id", "case number", "case reference", "case urn", "urn"),
    "defendant_id": ("defendant id", "defendant number", "defendant reference"),
    "court_id": ("court id", "court code", "court number", "court centre code", "location code"),
    "court_name": ("court name", "court", "court centre", "court centre name", "location name"),
    "region": ("region", "hmcts region", "court region", "area"),
    "receipt_type": ("receipt type", "case type", "receipt"),
    "offence_date": ("offence date", "date offence", "offence start date", "date committed"),
    "receipt_date": ("receipt date", "date received", "received date", "received on"),
    "disposal_date": (
        "disposal date",
        "date disposed",
        "disposed date",
        "completion date",
        "date completed",
        "disposed on",
    ),
    "first_hearing_date": ("first hearing date", "date first hearing", "first listing date"),
    "ho_offence_code": (
        "ho offence code",
        "offence code",
        "home office offence code",
        "ho code",
        "offence classification code",
        "offence classification",
    ),
    "age_at_offence": ("age at offence", "age", "age at offence date", "offender age"),
    "sex": ("sex",),
    "ethnicity": ("ethnicity", "ethnicity group", "ethnicity code", "self defined ethnicity"),
    "plea": ("plea", "final plea", "plea type"),
    "outcome": ("outcome", "result", "case outcome", "case result", "verdict", "outcome type"),
    "sentence_type": ("sentence type", "sentence", "sentence outcome", "disposal type"),
    "custody_days": (
        "custody days",
        "custody period days",
        "days custody",
        "custody length days",
        "custody length",
        "custody term days",
    ),
    "n_offences": ("number offence", "offence count", "count offence", "n offence"),
    "proceeding_type": ("proceeding type", "proceeding", "hearing type"),
    "offence_number": (
        "offence number",
        "offence sequence",
        "offence seq",
        "count number",
        "offence order",
    ),
    "source_dataset": ("source dataset", "dataset", "source", "source system", "data source"),
    "person_id": (
        "person id",
        "xjs id",
        "cross justice id",
        "person key",
        "offender id",
        "linked person id",
    ),
    "mags_case_id": ("magistrates case id", "magistrates case"),
    "mags_defendant_id": ("magistrates defendant id", "magistrates defendant"),
    "crown_defendant_on_case_id": ("crown defendant on case id", "crown defendant case id"),
    "match_score": (
        "match score",
        "linkage score",
        "match probability",
        "link score",
        "match weight",
    ),
    # Linked prison, OASys, probation and PNC tables.
    "reception_date": ("reception date", "date received into custody", "first reception date"),
    "release_date": ("release date", "discharge date", "final release date", "date released"),
    "reception_reason": ("reception reason", "reception type", "first reception type"),
    "release_reason": ("release reason", "discharge reason", "release type", "reason released"),
    "sentence_days": ("sentence days", "sentence length", "sentence length days", "term days"),
    "age_at_reception": ("age at reception", "age on reception", "age", "reception age"),
    "journey_row_id": ("journey id", "journey row id", "prison journey id", "custody journey id"),
    "establishment_id": (
        "establishment id",
        "establishment code",
        "prison code",
        "agency id",
        "location code",
    ),
    "start_date": ("start date", "movement in date", "arrival date", "date in", "from date"),
    "end_date": ("end date", "movement out date", "departure date", "date out", "to date"),
    "security_category": (
        "security category",
        "establishment category",
        "category",
        "prison category",
        "cat",
    ),
    "incident_id": ("incident id", "incident number", "incident ref"),
    "incident_date": ("incident date", "date incident", "date of incident"),
    "incident_type": ("incident type", "type incident", "incident category"),
    "assessment_date": (
        "assessment date",
        "date completed",
        "completed date",
        "date assessment completed",
    ),
    "full_assessment": ("full assessment", "assessment layer", "layer", "assessment type"),
    "ogrs_2yr": ("ogrs 2yr", "ogrs", "ogrs3 2yr", "ogrs3", "ogrs score"),
    "ovp_2yr": ("ovp 2yr", "ovp", "ovp score"),
    "disposal_type": ("disposal type", "disposal", "event type", "sentence type"),
    "event_date": ("event date", "date", "conviction date", "disposal date"),
    "event_type": ("event type", "type", "event"),
}
# Short names of the OASys sections as assessments spell them: every section has a score and
# a need column, `<name> score` and `<name> need` (e.g. `sec4_ete_score`, `ete need flag`).
OASYS_SECTION_NAMES: dict[str, tuple[str, ...]] = {
    "accommodation": ("accommodation", "accom"),
    "education_training_employability": (
        "ete",
        "education training employability",
        "employability",
        "education training",
    ),
    "finance": ("finance", "financial", "finances"),
    "relationships": ("relationships", "relationship"),
    "lifestyle_associates": ("lifestyle", "lifestyle associates"),
    "drug_misuse": ("drug",),
    "alcohol_misuse": ("alcohol",),
    "emotional_wellbeing": ("emotional", "emotional wellbeing", "emotional well being"),
    "thinking_behaviour": ("thinking", "thinking behaviour", "thinking and behaviour"),
    "attitudes": ("attitudes", "attitude"),
}
for _section, _names in OASYS_SECTION_NAMES.items():
    for _kind in ("score", "need"):
        SPELLINGS[f"{_section}_{_kind}"] = tuple(f"{n} {_kind}" for n in _names)
# OASys section numbers (`sec3`, `s11`, `section12`) say nothing beyond the section's name.
_SECTION_NUMBER = re.compile(r"s(ec|ection)?\d+")

# Column names of the Data First extracts as published in the MoJ data dictionaries and
# mirrored by socflow's synthetic extracts, per canonical table.
DATA_FIRST_SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "crown_defendant_cases": {
        "row_id": ("row_id_hash",),
        "case_id": ("case_number",),
        "region": ("hmcts_region",),
        "receipt_type": ("receipt_type_desc",),
        "plea": ("plea_final_desc",),
        "outcome": ("result_desc",),
        "sentence_type": ("sentence_type_desc",),
        "custody_days": ("custodial_period_days",),
        "n_offences": ("number_of_offences",),
    },
    "crown_offences": {"custody_days": ("custodial_period_days",)},
    "mags_defendant_cases": {
        "row_id": ("row_id_hash",),
        "case_id": ("case_id_hash",),
        "court_id": ("court_code",),
        "proceeding_type": ("proceedings_type_desc",),
        "ho_offence_code": ("offence_code",),
        "outcome": ("jsas_result_group_desc",),
        "sentence_type": ("sentence_desc",),
        "custody_days": ("custodial_period_days",),
    },
    "xjs_link": {"row_id": ("row_id_hash",), "person_id": ("estimated_xjs_id",)},
    "mags_crown_journey": {
        "mags_case_id": ("mc_case_id",),
        "mags_defendant_id": ("mc_defendant_id",),
        "crown_defendant_on_case_id": ("cc_defendant_on_case_id",),
        "match_score": ("estimated_match_score",),
    },
}

_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^0-9a-zA-Z]+")


def tokens(name: str) -> tuple[str, ...]:
    """`DateOfOffence`, `date_of_offence`, `Date of offence` -> ('date', 'offence')."""
    out = []
    for raw in _NON_ALNUM.split(_HUMP.sub(" ", name)):
        tok = raw.lower()
        if not tok or _SECTION_NUMBER.fullmatch(tok):
            continue
        tok = TOKEN_ALIASES.get(tok, tok)
        if tok:
            out.append(tok)
    return tuple(out)


def _similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """1 for the same tokens; else the larger of the token-set overlap (Dice) and a damped
    character similarity (which catches misspellings such as `ofence`)."""
    if not a or not b:
        return 0.0
    if sorted(a) == sorted(b):
        return 1.0
    sa, sb = set(a), set(b)
    dice = 2 * len(sa & sb) / (len(sa) + len(sb))
    chars = SequenceMatcher(None, " ".join(a), " ".join(b)).ratio()
    return max(dice, 0.8 * chars if chars >= 0.8 else 0.0)


def spellings(table: str, column: str, data_first: bool = True) -> tuple[str, ...]:
    """Every spelling a source column could have for canonical `column` of `table`."""
    out = (column, *SPELLINGS.get(column, ()))
    if data_first:
        out += DATA_FIRST_SPELLINGS.get(table, {}).get(column, ())
    return out


def name_score(source: str, table: str, column: str, data_first: bool = True) -> float:
    """How well a source column name says `column` (0-1): its best match among the spellings."""
    src = tokens(source)
    return max(_similarity(src, tokens(s)) for s in spellings(table, column, data_first))
