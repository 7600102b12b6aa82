"""Whether a column holds Home Office offence codes, and in which form.

HO codes are written `NNNNN` (class and subclass run together) or `NNN/NN`; ingest accepts both
and checks them against the HO code table. A code read from a numeric column may have lost its
leading zeros (`831` for `00831`): ingest cannot repair that, so it is reported as a problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

FORMS = {"NNNNN": r"^\d{5}$", "NNN/NN": r"^\d{3}/\d{2}$"}


@dataclass(frozen=True)
class CodeGuess:
    """`form`: NNNNN, NNN/NN, mixed, zero-stripped (codes that lost their leading zeros), or
    None (not a code column); `shape_share`: values of either form; `known_share`: values that
    are in the HO code table; `stripped_share`: values that are in it once zero-padded."""

    form: str | None
    shape_share: float
    known_share: float
    n_values: int
    problems: tuple[str, ...] = ()
    stripped_share: float = 0.0


def detect_ho_codes(values: pl.Series, known_codes: pl.Series) -> CodeGuess:
    """Share of values shaped like HO codes and found in the table (`known_codes`: NNNNN)."""
    text = values.cast(pl.String).str.strip_chars()
    text = text.filter(text.is_not_null() & (text != ""))
    n = text.len()
    if n == 0:
        return CodeGuess(None, 0.0, 0.0, 0)
    shares = {form: text.str.contains(rx).mean() for form, rx in FORMS.items()}
    shaped = sum(shares.values())
    known = text.str.replace("/", "", literal=True).is_in(known_codes.implode()).mean()
    problems: list[str] = []
    stripped = 0.0
    short = text.filter(text.str.contains(r"^\d{1,4}$"))
    if short.len():
        repaired = short.str.zfill(5).is_in(known_codes.implode()).mean()
        if repaired > 0.5 and short.len() / n > 0.05:
            stripped = repaired * short.len() / n
            problems.append(
                f"{short.len() / n:.0%} of distinct values have fewer than 5 digits (e.g. "
                f"{short[0]!r}) and are HO codes once zero-padded: the column was probably "
                "stored as a number; have it delivered as text"
            )
    if shaped < 0.5 and not stripped:
        return CodeGuess(None, shaped, known, n)
    if shaped < 0.5:
        form = "zero-stripped"
    else:
        form = max(shares, key=shares.__getitem__) if min(shares.values()) == 0 else "mixed"
    if shaped < 1:
        odd = text.filter(~text.str.contains(FORMS["NNNNN"]) & ~text.str.contains(FORMS["NNN/NN"]))
        problems.append(f"{1 - shaped:.1%} of distinct values are not shaped NNNNN or NNN/NN "
                        f"(e.g. {odd[0]!r}); they will be quarantined")  # fmt: skip
    if known < shaped:
        problems.append(
            f"{shaped - known:.1%} of distinct values are shaped like codes but not in the "
            "HO code table"
        )
    return CodeGuess(form, shaped, known, n, tuple(problems), stripped)
