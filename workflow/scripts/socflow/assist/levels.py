"""Proposed canonical levels for the raw values of a coded column.

A raw value is matched to one of the column's Enum levels (socflow.schema) by its normalised
text (case, punctuation and spacing ignored): the level itself (`not_guilty` ~ `Not guilty`),
a known synonym (`Found guilty after trial` -> `convicted_after_trial`), a level whose every
word the value contains when no other level's does (`crown_xhibit` -> `crown`), or a close
spelling. Anything else is left without a proposal, to be decided by the researcher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import get_close_matches

import polars as pl

from socflow import schema

# Known raw spellings per canonical column: normalised text -> level.
SYNONYMS: dict[str, dict[str, str]] = {
    "sex": {
        "male": "M",
        "female": "F",
        "m": "M",
        "f": "F",
        "unknown": "U",
        "not known": "U",
        "not specified": "U",
        "u": "U",
        "indeterminate": "U",
    },
    "ethnicity": {"not stated": "NS", "ns": "NS"},
    "receipt_type": {
        "committal for sentence": "sentence",
        "committed for sentence": "sentence",
        "appeal against conviction or sentence": "appeal",
        "appeal against conviction": "appeal",
        "appeal against sentence": "appeal",
        "for trial": "trial",
        "sent for trial": "trial",
    },
    "plea": {
        "no plea taken": "no_plea",
        "no plea": "no_plea",
        "not known": "not_known",
        "unknown": "not_known",
        "guilty plea": "guilty",
        "pleaded guilty": "guilty",
        "not guilty plea": "not_guilty",
        "pleaded not guilty": "not_guilty",
    },
    "outcome": {
        "guilty plea": "guilty_plea",
        "pleaded guilty": "guilty_plea",
        "found guilty after trial": "convicted_after_trial",
        "convicted after trial": "convicted_after_trial",
        "found guilty": "convicted_after_trial",
        "acquitted by jury": "acquitted_jury",
        "jury acquittal": "acquitted_jury",
        "found not guilty": "acquitted_jury",
        "judge directed acquittal": "judge_directed_acquittal",
        "judge ordered acquittal": "judge_directed_acquittal",
        "offered no evidence": "no_evidence_offered",
        "ordered to lie on file": "lie_on_file",
        "left on file": "lie_on_file",
        "proceedings stayed": "stayed",
        "administratively finalised": "admin_finalised",
        "sentenced following committal": "sentenced_on_committal",
        "appeal allowed": "appeal_allowed",
        "appeal dismissed": "appeal_dismissed",
        "sent for trial to crown court": "sent_for_trial",
        "committed for sentence to crown court": "committed_for_sentence",
        "committed for sentence": "committed_for_sentence",
        "adjourned sine die": "other",
        "proved in absence": "proved_in_absence",
        "breach proved": "breach_proved",
        "order made": "order_made",
    },
    "sentence_type": {
        "immediate custody": "immediate_custody",
        "custody": "immediate_custody",
        "suspended sentence order": "suspended_sentence",
        "suspended sentence": "suspended_sentence",
        "community order": "community_sentence",
        "community sentence": "community_sentence",
        "compensation order": "compensation",
        "otherwise dealt with": "otherwise_dealt_with",
        "no sentence": "none",
        "not sentenced": "none",
    },
    "proceeding_type": {"civil application": "civil", "criminal proceedings": "criminal"},
    "source_dataset": {
        "crown xhibit": "crown",
        "xhibit": "crown",
        "crown court": "crown",
        "mags hocas": "mags",
        "hocas": "mags",
        "libra": "mags",
        "magistrates": "mags",
        "magistrates court": "mags",
        "prison nomis": "prison",
        "nomis": "prison",
        "prison oasys": "oasys",
        "oasys": "oasys",
        "police national computer": "pnc",
        "probation delius": "probation",
        "delius": "probation",
        "ndelius": "probation",
    },
    "reception_reason": {
        "remanded": "remand",
        "remand in custody": "remand",
        "recalled": "recall",
        "licence recall": "recall",
        "recall to custody": "recall",
    },
    "release_reason": {
        "automatic release": "automatic_release",
        "automatic release crd": "automatic_release",
        "conditional release": "automatic_release",
        "parole board release": "parole",
        "sentence expiry": "end_of_sentence",
        "sentence expired": "end_of_sentence",
        "released from remand": "remand_released",
        "died in custody": "died",
        "death in custody": "died",
        "deportation": "deported",
    },
    "security_category": {
        "local": "remand",
        "local reception": "remand",
        "reception": "remand",
        "category a": "A",
        "category b": "B",
        "category c": "C",
        "category d": "D",
        "young offender institution": "yoi",
    },
    "incident_type": {
        "assaults": "assault",
        "fight": "assault",
        "find drugs": "drugs_find",
        "drug find": "drugs_find",
        "drugs find": "drugs_find",
        "find other contraband": "contraband_find",
        "contraband find": "contraband_find",
    },
    "disposal_type": {
        "ora community order": "community_order",
        "ora suspended sentence order": "suspended_sentence_order",
        "license": "licence",
        "pss": "post_sentence_supervision",
    },
    "event_type": {
        "custodial sentence": "custody",
        "immediate custody": "custody",
    },
    "full_assessment": {"layer 3": "yes", "full": "yes", "layer 1": "no", "basic": "no"},
}
# Yes/no columns (OASys need flags, full assessment) read the usual spellings of yes and no.
_YES_NO = {"y": "yes", "n": "no", "true": "yes", "false": "no", "1": "yes", "0": "no"}
for _section in schema.OASYS_SECTIONS:
    SYNONYMS[f"{_section}_need"] = dict(_YES_NO)
SYNONYMS["full_assessment"].update(_YES_NO)

# The level a blank stands for, where the column has one; blanks of a nullable column are nulls.
BLANK_LEVEL: dict[str, str] = {"sex": "U", "sentence_type": "none"}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Lower case, punctuation and runs of space as one space: `NOT-GUILTY ` -> `not guilty`."""
    return _NON_ALNUM.sub(" ", text.lower()).strip()


@dataclass(frozen=True)
class Proposal:
    level: str | None
    how: str  # exact | synonym | words | spelling | blank | null | none


def levels_of(column: schema.Column) -> list[str]:
    return column.dtype.categories.to_list() if isinstance(column.dtype, pl.Enum) else []


def propose_level(column: schema.Column, raw: str) -> Proposal:
    """The canonical level proposed for one raw value of a coded column."""
    levels = levels_of(column)
    text = normalise(raw)
    if not text:
        if column.name in BLANK_LEVEL:
            return Proposal(BLANK_LEVEL[column.name], "blank")
        return Proposal(None, "null" if column.nullable else "none")
    by_text = {normalise(level): level for level in levels}
    if text in by_text:
        return Proposal(by_text[text], "exact")
    synonyms = SYNONYMS.get(column.name, {})
    if text in synonyms:
        return Proposal(synonyms[text], "synonym")
    words = set(text.split())
    contained = [lv for lv in levels if set(normalise(lv).split()) <= words]
    if contained:
        most = max(len(normalise(lv).split()) for lv in contained)
        top = [lv for lv in contained if len(normalise(lv).split()) == most]
        if len(top) == 1:
            return Proposal(top[0], "words")
    known = {**by_text, **synonyms}
    close = get_close_matches(text, list(known), n=2, cutoff=0.85)
    if len(close) == 1 or (len(close) == 2 and known[close[0]] == known[close[1]]):
        return Proposal(known[close[0]], "spelling")
    return Proposal(None, "none")


def value_table(column: schema.Column, counts: pl.DataFrame) -> pl.DataFrame:
    """Raw values with row counts (columns `value`, `rows`) -> plus the proposed level.

    `flag` says why a value has no level: `unmatched` (the researcher must decide) or
    `blank -> null` (a blank of a nullable column, which ingest keeps as a missing value).
    """
    proposals = [propose_level(column, v) for v in counts["value"].to_list()]
    return counts.with_columns(
        pl.Series("proposed_level", [p.level for p in proposals], dtype=pl.String),
        pl.Series("matched_by", [p.how for p in proposals], dtype=pl.String),
        pl.Series(
            "flag",
            ["blank -> null" if p.how == "null" else ("unmatched" if p.level is None else "")
             for p in proposals],
            dtype=pl.String,
        ),
    )  # fmt: skip
