"""Which strptime format a column of date text is written in.

Only four-digit years are accepted: `17/01/17` read with `%d/%m/%Y` would become the year 17,
and `%y` guesses the century, so a column of two-digit years gets no format and a problem that
says why. A format counts a value only if the value has the format's shape (a regular
expression built from it), parses, and falls in a plausible year window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

# Four-digit-year formats, in order of preference when values fit several (day before month:
# the extracts are British).
FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d/%b/%Y",
    "%d%b%Y",
    "%Y%m%d",
)
TWO_DIGIT_FORMATS: tuple[str, ...] = (
    "%d/%m/%y",
    "%d-%m-%y",
    "%d.%m.%y",
    "%y-%m-%d",
    "%d-%b-%y",
    "%d %b %y",
    "%d%b%y",
)
_FIELDS = {"%Y": r"\d{4}", "%y": r"\d{2}", "%m": r"\d{1,2}", "%d": r"\d{1,2}", "%b": "[A-Za-z]{3}"}
YEARS = (1900, 2100)  # outside this window a parsed date is not taken as evidence of the format
MIN_SHARE = 0.5  # a column is a date column if its best format reads at least this share
CLEAN_SHARE = 0.98  # below this, the unread rest is examined for a second format


def shape(fmt: str) -> str:
    """The regular expression of the text a format writes (`%Y-%m-%d` -> `^\\d{4}-...$`)."""
    parts = re.split(r"(%[A-Za-z])", fmt)
    return "^" + "".join(_FIELDS.get(p, re.escape(p)) for p in parts if p) + "$"


@dataclass(frozen=True)
class DateGuess:
    """The detected format (None if there is none to propose), the share of the values it reads,
    the other formats that read as many, and problems for the researcher."""

    format: str | None
    share: float
    n_values: int
    rates: dict[str, float] = field(default_factory=dict)
    ambiguous_with: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    unread_examples: tuple[str, ...] = ()
    two_digit_share: float = 0.0  # values shaped like dates with two-digit years


def _reads(values: pl.Series, fmt: str, years: tuple[int, int]) -> pl.Series:
    """Which values `fmt` reads: right shape, a real date, a plausible year."""
    parsed = values.str.to_date(fmt, strict=False)
    return (values.str.contains(shape(fmt)) & parsed.dt.year().is_between(*years)).fill_null(False)


def detect_date_format(values: pl.Series, years: tuple[int, int] = YEARS) -> DateGuess:
    """The strptime format of a column of date text (blanks ignored)."""
    text = values.cast(pl.String).str.strip_chars()
    text = text.filter(text.is_not_null() & (text != ""))
    n = text.len()
    if n == 0:
        return DateGuess(None, 0.0, 0)
    reads = {fmt: _reads(text, fmt, years) for fmt in FORMATS}
    rates = {fmt: r.mean() for fmt, r in reads.items()}
    best = max(FORMATS, key=lambda f: (rates[f], -FORMATS.index(f)))
    share = rates[best]
    problems: list[str] = []
    two_digit = {f: text.str.contains(shape(f)).mean() for f in TWO_DIGIT_FORMATS}
    worst_two = max(TWO_DIGIT_FORMATS, key=lambda f: (two_digit[f], -TWO_DIGIT_FORMATS.index(f)))
    if two_digit[worst_two] > 0:
        example = text.filter(text.str.contains(shape(worst_two)))[0]
        problems.append(
            f"{two_digit[worst_two]:.0%} of distinct values have two-digit years "
            f"(e.g. {example!r}, like {worst_two}): the century cannot be told, and a "
            "four-digit-year format would read 17 as the year 0017; have the dates delivered "
            "with four-digit years"
        )
    if share < MIN_SHARE:
        return DateGuess(None, share, n, rates, problems=tuple(problems),
                         unread_examples=tuple(text.head(3).to_list()),
                         two_digit_share=two_digit[worst_two])  # fmt: skip
    ambiguous = tuple(f for f in FORMATS if f != best and rates[f] == share)
    if ambiguous:
        problems.append(
            f"every value reads as {best} and as {', '.join(ambiguous)} (no day above 12 seen): "
            f"{best} is proposed; check against a known date"
        )
    unread = text.filter(~reads[best])
    if share < CLEAN_SHARE:
        rest = {f: _reads(unread, f, years).mean() for f in FORMATS if f != best}
        second = max(rest, key=lambda f: (rest[f], -FORMATS.index(f))) if rest else None
        if second is not None and rest[second] > 0:
            problems.append(
                f"mixed formats: {best} reads {share:.1%} of distinct values and {second} reads "
                f"{rest[second] * (1 - share):.1%}; one date_format serves a table, so the "
                "rest would be quarantined as unparseable: convert the column first"
            )
        else:
            problems.append(f"{1 - share:.1%} of distinct values do not read as {best}")
    return DateGuess(
        best, share, n, rates, ambiguous, tuple(problems), tuple(unread.head(3).to_list()),
        two_digit[worst_two],
    )  # fmt: skip
