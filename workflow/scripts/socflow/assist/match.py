"""Match each canonical column of a table to the source column most likely to hold it.

Every (canonical column, source column) pair gets a name score (names.py) and a content score:
what the column's values say about the canonical column's kind (a date format that reads
them, HO codes found in the table, values that map onto the Enum's levels, whole numbers in a
plausible range, a key's uniqueness). Content gates the pair: values that cannot be the column
never match it, however the name reads. Pairs are then taken best first, each source column
used once, so one column cannot be proposed as both the case ID and the defendant ID; a
canonical column without a pair above the threshold is proposed absent (`null`), never forced
onto an unrelated column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from socflow import schema
from socflow.assist.codes import CodeGuess, detect_ho_codes
from socflow.assist.dates import MIN_SHARE, DateGuess, detect_date_format
from socflow.assist.extract import ColumnProfile
from socflow.assist.levels import value_table
from socflow.assist.names import name_score

ACCEPT = 0.5  # a pair below this score is not proposed
GATE = 0.25  # content below this rules a pair out
NAME_WEIGHT = 0.6  # of the score; content has the rest
DISTINCT_NAME_WEIGHT = 0.35  # when content alone nearly identifies the column (codes, levels)
SHARED_NAME = 0.95  # a source column may serve a second canonical column only if named for it

# Plausible ranges of integer columns (values outside count against the match, not the row).
INT_RANGES: dict[str, tuple[int, int]] = {
    "age_at_offence": (5, 110),
    "age_at_reception": (5, 110),
    "custody_days": (0, 36500),
    "sentence_days": (0, 36500),
    "n_offences": (1, 500),
    "offence_number": (1, 1000),
    **{f"{section}_score": (0, 40) for section in schema.OASYS_SECTIONS},
}
# Plausible ranges of numeric columns (default: a share, 0 to 1).
FLOAT_RANGES: dict[str, tuple[float, float]] = {"ogrs_2yr": (0, 100), "ovp_2yr": (0, 100)}
# What a plain (text) canonical column holds: a unique key, a high-cardinality ID, a short code
# of a few hundred places, or a name.
PLAIN_KINDS: dict[str, str] = {
    "row_id": "key",
    "defendant_on_case_id": "key",
    "court_id": "code",
    "court_name": "name",
    "incident_id": "key",
    "establishment_id": "code",
}
NON_UNIQUE_KEYS = {("xjs_link", "row_id"), ("crown_offences", "defendant_on_case_id")}


@dataclass(frozen=True)
class Evidence:
    """What a source column's values are, independent of any canonical column."""

    profile: ColumnProfile
    date: DateGuess
    code: CodeGuess
    whole_share: float  # sample values that are whole numbers
    number_share: float  # sample values that are numbers
    numbers: pl.Series  # the sample's numeric values
    decimal_text_share: float  # whole numbers written with a decimal point (`12.0`)
    named_share: float  # values with a letter and a space (names, descriptions)
    short_share: float  # values of at most 10 characters without spaces (codes)


def evidence(profile: ColumnProfile, known_codes: pl.Series) -> Evidence:
    s = profile.sample
    numbers = s.cast(pl.Float64, strict=False)
    ok = numbers.is_not_null() & numbers.is_finite()
    whole = ok & (numbers == numbers.round(0))
    n = max(s.len(), 1)
    return Evidence(
        profile=profile,
        date=detect_date_format(s),
        code=detect_ho_codes(s, known_codes),
        whole_share=whole.sum() / n,
        number_share=ok.sum() / n,
        numbers=numbers.filter(ok),
        decimal_text_share=(whole & s.str.contains(r"\.")).sum() / n,
        named_share=s.str.contains(r"[A-Za-z].* ").sum() / n,
        short_share=(s.str.len_chars().le(10) & ~s.str.contains(" ")).sum() / n,
    )


# How much a proposed level says that the column is this one: a value that merely contains a
# level's words (`Leeds (London)` has `London`) is weak evidence of a region column.
LEVEL_EVIDENCE = {"exact": 1.0, "synonym": 1.0, "blank": 1.0, "spelling": 0.9, "words": 0.5}


def _level_share(column: schema.Column, profile: ColumnProfile) -> float:
    """Share of rows whose value has a proposed level, weighted by how the level was found
    (blanks of a nullable column left out)."""
    if profile.counts is None:
        return 0.0
    vt = value_table(column, profile.counts).filter(pl.col("flag") != "blank -> null")
    total = vt["rows"].sum()
    weight = pl.col("matched_by").replace_strict(
        LEVEL_EVIDENCE, default=0.0, return_dtype=pl.Float64
    )
    return (vt["rows"] * vt.select(weight).to_series()).sum() / total if total else 0.0


def content_score(table: str, column: schema.Column, ev: Evidence) -> tuple[float, bool]:
    """How well the values fit `column` (0-1), and whether they nearly identify it alone."""
    p = ev.profile
    if p.filled == 0:
        return (0.0, False)
    # Dates with two-digit years and codes that lost their leading zeros are still proposed
    # (at half weight, with the problem noted), as the column they are: ingest cannot read them,
    # and the researcher must know which column needs a better delivery.
    is_date = ev.date.format is not None or ev.date.two_digit_share >= MIN_SHARE
    if column.kind == "date":
        if ev.date.format is None:
            return (0.5 * ev.date.two_digit_share if is_date else 0.0, False)
        return (ev.date.share, False)
    if column.kind == "ho_code":
        if ev.code.form == "zero-stripped":
            return (0.5 * ev.code.stripped_share, False)
        return (ev.code.known_share if ev.code.form else 0.0, ev.code.known_share >= 0.9)
    if column.kind == "enum":
        if p.counts is None:
            return (0.0, False)
        share = _level_share(column, p)
        return (0.3 + 0.7 * share, share >= 0.8)
    if column.kind == "int":
        lo, hi = INT_RANGES.get(column.name, (-(2**31), 2**31 - 1))
        in_range = ev.numbers.is_between(lo, hi).mean() if ev.numbers.len() else 0.0
        return (ev.whole_share * in_range, False)
    if column.kind == "float":
        lo, hi = FLOAT_RANGES.get(column.name, (0, 1))
        in_range = ev.numbers.is_between(lo, hi).mean() if ev.numbers.len() else 0.0
        return (ev.number_share * in_range, False)
    # Plain text: keys, IDs, codes and names. Dates, codes and fractions are none of these.
    if is_date or ev.code.form or ev.number_share - ev.whole_share > 0.5:
        return (0.1, False)
    kind = PLAIN_KINDS.get(column.name, "id")
    if kind == "key" and (table, column.name) in NON_UNIQUE_KEYS:
        kind = "id"
    share = p.distinct_share
    if kind == "key":
        return (1.0 if share >= 0.95 else 0.4 if share >= 0.5 else 0.1, False)
    if kind == "id":
        return (1.0 if share >= 0.05 or p.distinct >= 1000 else 0.3, False)
    few = 2 <= p.distinct and (share <= 0.5 or p.filled < 50)
    if kind == "code":
        return ((1.0 if few else 0.3) * (0.4 + 0.6 * ev.short_share), False)
    return ((1.0 if few else 0.3) * (0.4 + 0.6 * ev.named_share), False)  # a name


@dataclass(frozen=True)
class Candidate:
    source: str
    score: float
    name: float
    content: float


@dataclass
class Match:
    """The proposal for one canonical column: its source column (None: absent), the score as
    confidence, the runners-up, and notes for the researcher."""

    column: schema.Column
    source: str | None = None
    score: float = 0.0
    name: float = 0.0
    content: float = 0.0
    alternatives: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def confidence(self) -> str:
        """high, medium, low or none; never high when the values fit poorly (say, dates with
        two-digit years under a perfect name)."""
        if self.source is None:
            return "none"
        if self.score >= 0.8 and self.content >= 0.6:
            return "high"
        return "medium" if self.score >= 0.65 else "low"


def candidates(
    table: str,
    evidence_by_source: dict[str, Evidence],
    data_first: bool = True,
) -> dict[str, list[Candidate]]:
    """Every pair that content allows, per canonical column, best first."""
    out: dict[str, list[Candidate]] = {}
    for column in schema.source_columns(table):
        found = []
        for source, ev in evidence_by_source.items():
            content, distinctive = content_score(table, column, ev)
            if content < GATE:
                continue
            name = name_score(source, table, column.name, data_first)
            w = DISTINCT_NAME_WEIGHT if distinctive else NAME_WEIGHT
            found.append(Candidate(source, round(w * name + (1 - w) * content, 3), name, content))
        out[column.name] = sorted(found, key=lambda c: (-c.score, -c.name, c.source))
    return out


def assign(table: str, found: dict[str, list[Candidate]]) -> dict[str, Match]:
    """Best pairs first, one canonical column per source column (unless named for both)."""
    columns = {c.name: c for c in schema.source_columns(table)}
    order = list(columns)
    pairs = sorted(
        ((c, col) for col, cands in found.items() for c in cands if c.score >= ACCEPT),
        key=lambda p: (-p[0].score, -p[0].name, order.index(p[1]), p[0].source),
    )
    matches = {name: Match(col) for name, col in columns.items()}
    used: dict[str, str] = {}
    for cand, col in pairs:
        m = matches[col]
        if m.source is not None:
            continue
        if cand.source in used and cand.name < SHARED_NAME:
            continue
        if cand.source in used:
            m.notes.append(f"shares source column {cand.source} with {used[cand.source]}")
        m.source, m.score, m.name, m.content = cand.source, cand.score, cand.name, cand.content
        used.setdefault(cand.source, col)
    for name, m in matches.items():
        m.alternatives = [c for c in found[name] if c.source != m.source][:3]
        if m.source is None:
            best = m.alternatives[0] if m.alternatives else None
            if best is None:
                m.notes.append("no source column has values that could be this column")
            elif best.score >= ACCEPT:
                m.notes.append(f"its best candidate {best.source} went to {used[best.source]}")
            else:
                m.notes.append(f"no candidate reaches {ACCEPT}: best is {best.source} "
                               f"({best.score:.2f})")  # fmt: skip
    return matches
