"""Names shared across the harm stage, and exact group sums."""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

WEIGHTS: tuple[str, ...] = ("ons_css", "data_derived", "cchi")


WEIGHT_LABELS: dict[str, str] = {
    "ons_css": "ONS Crime Severity Score",
    "data_derived": "Data-derived severity",
    "cchi": "Cambridge Crime Harm Index",
}


NOT_SENTENCED = "none"


SOC_LABEL = {True: "SOC case", False: "non-SOC case"}


# Dimensions of the concentration analysis: (name, label, count basis).
DIMENSIONS: tuple[tuple[str, str, str], ...] = (
    ("offence_group", "Offence group", "defendant-cases"),
    ("soc_category", "SOC category (SOC defendant-cases)", "defendant-cases"),
    ("soc_group", "Co-offending group", "defendant-cases"),
    ("court", "Crown Court centre", "cases"),
    ("region", "HMCTS region", "cases"),
)


# How titles name each dimension's units, in the singular and the plural.
SINGULAR: dict[str, str] = {
    "offence_group": "offence group",
    "soc_category": "SOC category (SOC defendant-cases)",
    "soc_group": "co-offending group",
    "court": "Crown Court centre",
    "region": "HMCTS region",
}


PLURALS: dict[str, str] = {
    "offence_group": "offence groups",
    "soc_category": "SOC categories (SOC defendant-cases)",
    "soc_group": "co-offending groups",
    "court": "Crown Court centres",
    "region": "HMCTS regions",
}


# Dimensions whose units are few and named: harm against case shares as bars, magnitude totals.
SHARE_DIMENSIONS: tuple[str, ...] = ("offence_group", "soc_category", "court", "region")


MAGNITUDE_DIMENSIONS: tuple[str, ...] = ("offence_group", "soc_category", "region")


HO_CODE = re.compile(r"^(\d{1,3})/(\d{1,2})$")


class HarmInputError(ValueError):
    """An input the harm stage cannot use; the message names the file and the column."""


# Sums are taken in integer micro-days: integer addition is exact, so a multi-threaded
# group-by gives the same bits whatever order it adds partial sums in (float addition is not
# associative). Totals stay far below 2**63 (about 9e12 days).
FIXED_POINT = 1_000_000


def group_sums(
    frame: pl.DataFrame,
    keys: Sequence[str],
    sums: Sequence[str] = (),
    *,
    nullable: Sequence[str] = (),
    maxes: Sequence[str] = (),
    firsts: Sequence[str] = (),
    count: str | None = None,
) -> pl.DataFrame:
    """Per group of `keys`, in order of first appearance: sums of `sums` (nulls as 0), sums of
    `nullable` (null when every value is null), maxima of `maxes`, the first value of
    `firsts`, and the row count as `count`. Sums are exact to a millionth and deterministic."""

    def fixed(c: str) -> pl.Expr:
        return (pl.col(c).cast(pl.Float64) * FIXED_POINT).round().cast(pl.Int64)

    aggs = [fixed(c).fill_null(0).sum().alias(c) for c in sums]
    aggs += [pl.when(pl.col(c).is_not_null().any()).then(fixed(c).sum()).alias(c) for c in nullable]
    aggs += [pl.col(c).max() for c in maxes] + [pl.col(c).first() for c in firsts]
    if count:
        aggs.append(pl.len().cast(pl.Int64).alias(count))
    out = frame.group_by(list(keys), maintain_order=True).agg(aggs)
    return out.with_columns((pl.col(c) / FIXED_POINT).alias(c) for c in [*sums, *nullable])


def w_col(weight: str) -> str:
    """Column holding a weight (in the weights table) or the harm under it (elsewhere)."""
    return f"w_{weight}"
