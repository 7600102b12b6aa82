"""Crime harm (aim 2): severity weights, cumulative harm of SOC against non-SOC cases, and how
evenly harm falls across offence types, SOC groups and places.

Weights (rule `harm_weights`), each a number of equivalent days of custody per Home Office (HO)
offence code:

* ``ons_css``: the ONS Crime Severity Score, keyed by police recorded crime codes and carried
  onto HO court codes by the documented mapping `resources/harm/ons_css_to_ho.csv`;
* ``data_derived``: an ONS-style weight computed from the sentences in the data: the mean
  equivalent custody days per HO code (immediate custody counts its term; other sentences a
  configured number of days), falling back, flagged, to the mean of the code's 3-digit class
  when fewer than `min_sentences` sentences lie behind the code;
* ``cchi``: the Cambridge Crime Harm Index, read from a spreadsheet the user supplies (never
  shipped).

Analysis (rule `harm`): harm per Crown Court defendant-case (principal offence, or the sum over
its offences) and per case (sum over its defendant-cases); SOC against non-SOC cases (totals,
shares, means and medians, by year) with bootstrap intervals; concentration across units
(offence groups, SOC categories, co-offending groups, courts, regions): harm against case
shares, Lorenz curves, Gini coefficients, "power few" shares, and a permutation test of whether
harm is distributed like cases.

Resampling, vectorised (no Python loop over cases):

* SOC statistics and each unit's harm share: cases (option: courts) are resampled with
  replacement. Cases with identical contributions to every tabulated unit are collapsed into
  *types*; a replicate is one multinomial draw of cases tallied by type (integer draws and a
  bincount), and every statistic is a sparse product of type counts and type contributions.
* Gini coefficients, power-few shares and D: the units themselves are resampled; a replicate is
  a vector of unit multiplicities, summarised without sorting (`multiplicity_stats`).
* The test of "harm is distributed like cases": a permutation test, drawn as random
  contingency tables with fixed margins, or as shuffles when those tables would be large.

Defendant-cases without a weight keep their rows: they add nothing to harm totals, are left out
of the harm means of that weight, and are counted in the coverage tables. Sums are exact
integer micro-days, so the same inputs give byte-identical outputs.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy import stats

from socflow.ingest import normalise_ho_code
from socflow.outputs import STATISTICS_SCHEMA, Candidate
from socflow.sdc import SdcThresholds, check_magnitude_table

log = logging.getLogger(__name__)

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


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------


def w_col(weight: str) -> str:
    """Column holding a weight (in the weights table) or the harm under it (elsewhere)."""
    return f"w_{weight}"


def load_ons_weights(
    weights_path: str | Path, mapping_path: str | Path, ho_codes: pl.DataFrame
) -> pl.DataFrame:
    """The ONS CSS weight of every HO code through the mapping table.

    Returns one row per HO code of `ho_codes` (codes `NNNNN`): `ons_po_code`, `ons_method`,
    and `w_ons_css` (null where the mapping gives no weight, or where the mapping lacks the
    code: such codes are logged, not dropped).
    """
    ons = pl.read_csv(weights_path, infer_schema=False)
    mapping = pl.read_csv(mapping_path, infer_schema=False)
    for path, frame, needed in (
        (weights_path, ons, ("po_offence_code", "css_weight")),
        (mapping_path, mapping, ("ho_code", "po_offence_code", "method")),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise HarmInputError(f"{path}: missing column(s) {', '.join(missing)}")
    ons = ons.select(
        "po_offence_code", pl.col("css_weight").cast(pl.Float64).alias(w_col("ons_css"))
    )
    mapping = mapping.select(
        normalise_ho_code(pl.col("ho_code")).alias("ho_offence_code"),
        pl.col("po_offence_code").replace("", None).alias("ons_po_code"),
        pl.col("method").alias("ons_method"),
    )
    unknown = mapping.filter(
        pl.col("ons_po_code").is_not_null()
        & ~pl.col("ons_po_code").is_in(ons["po_offence_code"].implode())
    )
    if unknown.height:
        raise HarmInputError(
            f"{mapping_path}: column po_offence_code has codes not in {weights_path}: "
            f"{sorted(unknown['ons_po_code'].unique().to_list())}"
        )
    out = (
        ho_codes.select(pl.col("ho_code").alias("ho_offence_code"))
        .join(mapping, on="ho_offence_code", how="left")
        .join(ons, left_on="ons_po_code", right_on="po_offence_code", how="left")
    )
    absent = out.filter(pl.col("ons_method").is_null()).height
    if absent:
        log.warning("%d HO codes are not in the ONS mapping table; they get no ONS weight", absent)
    return out.with_columns(pl.col("ons_method").fill_null("not in mapping"))


def equivalent_days(equivalents: dict[str, float]) -> pl.Expr:
    """Equivalent custody days of a sentence: the term for immediate custody, else the
    configured value of the sentence type (null for types without one)."""
    expr = pl.when(pl.col("sentence_type") == "immediate_custody").then(
        pl.col("custody_days").cast(pl.Float64)
    )
    for sentence, days in sorted(equivalents.items()):
        expr = expr.when(pl.col("sentence_type") == sentence).then(pl.lit(float(days)))
    return expr.otherwise(None)


def sentences(
    crown: pl.DataFrame | pl.LazyFrame,
    mags: pl.DataFrame | pl.LazyFrame | None,
    equivalents: dict[str, float],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Sentences behind the data-derived weight, in equivalent custody days.

    One row per sentenced defendant-case (Crown Court) and, when `mags` is given, per sentenced
    criminal magistrates' row, keyed by the principal offence. Returns (sentences with
    `source`, `ho_offence_code`, `days`; the count of rows left out, by source and reason).
    Left out: immediate custody without a positive term (indeterminate or not recorded; the ONS
    excludes indeterminate sentences), sentence types without a configured equivalent,
    magistrates' breach and civil proceedings. Rows with sentence type `none` were not
    sentenced and are not counted at all.
    """
    parts = [
        crown.lazy().select(
            pl.lit("crown").alias("source"), "ho_offence_code",
            pl.col("sentence_type").cast(pl.String), "custody_days",
            pl.lit(True).alias("criminal"),
        )
    ]  # fmt: skip
    if mags is not None:
        parts.append(
            mags.lazy().select(
                pl.lit("mags").alias("source"), "ho_offence_code",
                pl.col("sentence_type").cast(pl.String), "custody_days",
                (pl.col("proceeding_type").cast(pl.String) == "criminal").alias("criminal"),
            )
        )  # fmt: skip
    rows = (
        pl.concat(parts)
        .filter(pl.col("sentence_type") != NOT_SENTENCED)
        .with_columns(equivalent_days(equivalents).alias("days"))
        .with_columns(
            pl.when(~pl.col("criminal"))
            .then(pl.lit("breach or civil proceedings"))
            .when((pl.col("sentence_type") == "immediate_custody") & (pl.col("days") <= 0))
            .then(pl.lit("immediate custody without a term"))
            .when(pl.col("days").is_null())
            .then(pl.lit("sentence type without an equivalent"))
            .alias("excluded")
        )
        .collect()
    )
    excluded = (
        rows.filter(pl.col("excluded").is_not_null())
        .group_by("source", "excluded")
        .len("rows")
        .sort("source", "excluded")
    )
    used = rows.filter(pl.col("excluded").is_null()).select("source", "ho_offence_code", "days")
    return used, excluded


def data_derived_weights(
    sentence_rows: pl.DataFrame, ho_codes: pl.DataFrame, min_sentences: int
) -> pl.DataFrame:
    """Mean equivalent custody days per HO code, with the class fallback.

    Every HO code gets a row: `dd_n_sentences` and `dd_code_mean` (its own sentences),
    `dd_class_n` and `dd_class_mean` (its 3-digit class), `w_data_derived` and `dd_basis`:
    "code" (at least `min_sentences` sentences), "class fallback" (fewer, but the class has
    enough; flagged) or "none" (too few in the class as well: no weight).
    """
    per_code = group_sums(sentence_rows, ["ho_offence_code"], ["days"], count="dd_n_sentences")
    per_code = per_code.select(
        "ho_offence_code", "dd_n_sentences",
        (pl.col("days") / pl.col("dd_n_sentences")).alias("dd_code_mean"),
    )  # fmt: skip
    with_class = sentence_rows.with_columns(
        pl.col("ho_offence_code").str.slice(0, 3).alias("ho_class")
    )
    per_class = group_sums(with_class, ["ho_class"], ["days"], count="dd_class_n").select(
        "ho_class", "dd_class_n", (pl.col("days") / pl.col("dd_class_n")).alias("dd_class_mean")
    )
    out = (
        ho_codes.select(pl.col("ho_code").alias("ho_offence_code"))
        .with_columns(pl.col("ho_offence_code").str.slice(0, 3).alias("ho_class"))
        .join(per_code, on="ho_offence_code", how="left")
        .join(per_class, on="ho_class", how="left")
        .with_columns(
            pl.col("dd_n_sentences").fill_null(0).cast(pl.Int64),
            pl.col("dd_class_n").fill_null(0).cast(pl.Int64),
        )
    )
    enough_code = pl.col("dd_n_sentences") >= min_sentences
    enough_class = pl.col("dd_class_n") >= min_sentences
    return out.with_columns(
        pl.when(enough_code)
        .then(pl.col("dd_code_mean"))
        .when(enough_class)
        .then(pl.col("dd_class_mean"))
        .alias(w_col("data_derived")),
        pl.when(enough_code)
        .then(pl.lit("code"))
        .when(enough_class)
        .then(pl.lit("class fallback"))
        .otherwise(pl.lit("none"))
        .alias("dd_basis"),
    ).drop("ho_class")


def _normalise_header(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def _cchi_rows(path: Path, sheet: str | None) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl  # noqa: PLC0415 - only needed when a spreadsheet is supplied

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            if sheet and sheet not in book.sheetnames:
                raise HarmInputError(f"{path}: no sheet {sheet!r} (sheets: {book.sheetnames})")
            ws = book[sheet] if sheet else book.worksheets[0]
            return [list(row) for row in ws.iter_rows(values_only=True)]
        finally:
            book.close()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [list(row) for row in csv.reader(handle)]
    raise HarmInputError(f"{path}: the Cambridge Crime Harm Index must be .xlsx or .csv")


def _cell_text(row: Sequence[Any], i: int) -> str:
    return str(row[i]).strip() if i < len(row) and row[i] is not None else ""


def read_cchi(
    path: str | Path, code_column: str, score_column: str, sheet: str | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Read a user-supplied Cambridge Crime Harm Index table (xlsx via openpyxl, or CSV).

    The header row is the first of the first 50 rows naming both columns (matched ignoring
    case and runs of whitespace). Codes are HO classifications `NNN/NN` (also `N/N`, `NN/NN`,
    zero-padded) or `NNNNN`. Returns (`ho_offence_code`, `w_cchi`) and a count of problems:
    rows read, rows with an unreadable code or score (left out), and codes given more than
    once (the largest score is kept).
    """
    path = Path(path)
    rows = _cchi_rows(path, sheet)
    want = (_normalise_header(code_column), _normalise_header(score_column))
    header_at = next(
        (i for i, row in enumerate(rows[:50])
         if all(w in [_normalise_header(c) for c in row] for w in want)),
        None,
    )  # fmt: skip
    if header_at is None:
        raise HarmInputError(
            f"{path}: no header row with columns {code_column!r} and {score_column!r} "
            "in the first 50 rows"
        )
    header = [_normalise_header(c) for c in rows[header_at]]
    ci, si = header.index(want[0]), header.index(want[1])
    body = [r for r in rows[header_at + 1 :] if any(c not in (None, "") for c in r)]
    raw = pl.DataFrame(
        {
            "code": [_cell_text(r, ci) for r in body],
            "score": [_cell_text(r, si) for r in body],
        },
        schema={"code": pl.String, "score": pl.String},
    )  # fmt: skip
    parts = raw["code"].str.extract_groups(HO_CODE.pattern)
    code = (
        pl.when(raw["code"].str.contains(r"^\d{5}$").to_frame().to_series())
        .then(raw["code"])
        .otherwise(pl.concat_str(parts.struct.field("1").str.zfill(3),
                                 parts.struct.field("2").str.zfill(2)))
    )  # fmt: skip
    frame = raw.with_columns(
        pl.select(code).to_series().alias("ho_offence_code"),
        pl.col("score").str.replace_all(",", "").cast(pl.Float64, strict=False).alias("w_cchi"),
    )
    bad_code = frame.filter(pl.col("ho_offence_code").is_null()).height
    bad_score = frame.filter(
        pl.col("ho_offence_code").is_not_null()
        & (pl.col("w_cchi").is_null() | (pl.col("w_cchi") < 0))
    ).height
    good = frame.filter(pl.col("ho_offence_code").is_not_null() & (pl.col("w_cchi") >= 0))
    duplicated = good.filter(pl.col("ho_offence_code").is_duplicated())["ho_offence_code"]
    out = good.group_by("ho_offence_code").agg(pl.col("w_cchi").max()).sort("ho_offence_code")
    problems = {
        "rows": raw.height,
        "unreadable_code": bad_code,
        "unreadable_or_negative_score": bad_score,
        "duplicated_codes": duplicated.n_unique(),
    }
    return out, problems


def build_weights(
    ho_codes: pl.DataFrame,
    ons: pl.DataFrame,
    derived: pl.DataFrame,
    cchi: pl.DataFrame | None,
) -> pl.DataFrame:
    """One row per HO code with every available weight side by side (`w_<weight>`)."""
    out = (
        ho_codes.select(
            pl.col("ho_code").alias("ho_offence_code"),
            pl.concat_str(
                pl.col("ho_code").str.slice(0, 3), pl.lit("/"), pl.col("ho_code").str.slice(3, 2)
            ).alias("ho_code"),
            pl.col("subclass_description").alias("description"),
            "offence_group",
        )
        .join(ons, on="ho_offence_code", how="left")
        .join(derived, on="ho_offence_code", how="left")
    )
    if cchi is not None:
        unknown = cchi.join(out, on="ho_offence_code", how="anti").height
        if unknown:
            log.warning("%d CCHI codes are not HO codes in the code table; not used", unknown)
        out = out.join(cchi, on="ho_offence_code", how="left")
    return out.sort("ho_offence_code")


def available_weights(weights: pl.DataFrame) -> list[str]:
    """The weights the weights table carries, in the fixed order of WEIGHTS."""
    return [w for w in WEIGHTS if w_col(w) in weights.columns]


def weight_coverage(weights: pl.DataFrame, crown: pl.DataFrame) -> pl.DataFrame:
    """Per weight: HO codes with a weight (of all codes, and of the principal-offence codes in
    the Crown Court data) and Crown defendant-cases with a weight."""
    used = crown.group_by("ho_offence_code").len("defendant_cases")
    joined = used.join(weights, on="ho_offence_code", how="left")
    rows = []
    for w in available_weights(weights):
        has = pl.col(w_col(w)).is_not_null()
        rows.append(
            {
                "weight": w,
                "codes_total": weights.height,
                "codes_weighted": weights.filter(has).height,
                "codes_in_data": joined.height,
                "codes_in_data_weighted": joined.filter(has).height,
                "defendant_cases": int(joined["defendant_cases"].sum()),
                "defendant_cases_weighted": int(joined.filter(has)["defendant_cases"].sum()),
            }
        )
    out = pl.DataFrame(rows)
    return out.with_columns(
        (pl.col("codes_weighted") / pl.col("codes_total")).alias("share_codes"),
        (pl.col("codes_in_data_weighted") / pl.col("codes_in_data")).alias("share_codes_in_data"),
        (pl.col("defendant_cases_weighted") / pl.col("defendant_cases")).alias(
            "share_defendant_cases"
        ),
    )


# ---------------------------------------------------------------------------------------------
# Harm per defendant-case and per case
# ---------------------------------------------------------------------------------------------


def defendant_case_harm(
    crown: pl.DataFrame,
    flags: pl.DataFrame,
    weights: pl.DataFrame,
    person_groups: pl.DataFrame,
    groups: pl.DataFrame,
    *,
    first_year: int,
    last_year: int,
    offence_scope: str = "principal",
    offences: pl.DataFrame | None = None,
    soc_groups_only: bool = True,
) -> pl.DataFrame:
    """Harm of every Crown Court defendant-case of cases disposed of in the study years.

    A case's year, court and region are those of its earliest-disposed defendant-case (its
    rows normally agree). Harm under weight w (`w_<w>`) is the weight of the principal offence,
    or with `offence_scope="all"` the sum over the defendant-case's offences in
    `crown_offences` (the principal offence where it has none there); null when no offence has
    a weight. `n_unweighted_w_<w>` counts the offences without a weight. `soc_group` is the
    co-offending group of the person (only groups with a SOC case when `soc_groups_only`).
    Defendant-cases without SOC flags, and cases outside the years, are counted in the log.
    """
    names = available_weights(weights)
    wcols = [w_col(w) for w in names]
    base = crown.select(
        "defendant_on_case_id", "case_id", "court_id",
        pl.coalesce(pl.col("court_name"), pl.col("court_id")).alias("court"),
        pl.col("region").cast(pl.String), "disposal_year", "ho_offence_code", "offence_group",
        pl.col("sentence_type").cast(pl.String),
    ).join(
        flags.select("defendant_on_case_id", "person", "soc", "soc_case", "soc_category",
                     pl.col("^soc_case__.*$")),
        on="defendant_on_case_id", how="inner",
    )  # fmt: skip
    case_attributes = (
        base.sort("case_id", "disposal_year", "defendant_on_case_id")
        .group_by("case_id", maintain_order=True)
        .agg(
            pl.col("disposal_year").first().cast(pl.Int32).alias("year"),
            pl.col("court_id").first(),
            pl.col("court").first(),
            pl.col("region").first(),
            pl.col("soc_case").any(),
        )
    )
    unflagged = crown.height - base.height
    if unflagged:
        log.warning("%d Crown Court defendant-cases have no SOC flags and are left out", unflagged)
    base = base.drop("court_id", "court", "region", "soc_case").join(
        case_attributes, on="case_id", how="left"
    )
    in_years = pl.col("year").is_between(first_year, last_year)
    log.info("%d defendant-cases of cases disposed of outside %d-%d are not analysed",
             base.filter(~in_years).height, first_year, last_year)  # fmt: skip
    base = base.filter(in_years)
    wtab = weights.select("ho_offence_code", *wcols)
    if offence_scope == "all":
        if offences is None:
            raise ValueError("offence_scope 'all' needs the crown_offences table")
        per_offence = (
            offences.select("defendant_on_case_id", "ho_offence_code")
            .join(base.select("defendant_on_case_id"), on="defendant_on_case_id", how="semi")
            .join(wtab, on="ho_offence_code", how="left")
        )
        summed = group_sums(
            per_offence.with_columns(
                pl.col(c).is_null().cast(pl.UInt32).alias(f"n_unweighted_{c}") for c in wcols
            ),
            ["defendant_on_case_id"], [f"n_unweighted_{c}" for c in wcols], nullable=wcols,
        ).with_columns(pl.col(f"n_unweighted_{c}").cast(pl.UInt32) for c in wcols)  # fmt: skip
        principal = base.select("defendant_on_case_id", "ho_offence_code").join(
            wtab, on="ho_offence_code", how="left"
        )
        harm = principal.join(summed, on="defendant_on_case_id", how="left", suffix="_sum")
        missing = harm.filter(pl.col(f"n_unweighted_{wcols[0]}").is_null()).height
        if missing:
            log.info("%d defendant-cases have no rows in crown_offences: principal offence used",
                     missing)  # fmt: skip
        harm = harm.select(
            "defendant_on_case_id",
            *[pl.when(pl.col(f"n_unweighted_{c}").is_null()).then(pl.col(c))
              .otherwise(pl.col(f"{c}_sum")).alias(c) for c in wcols],
            *[pl.col(f"n_unweighted_{c}").fill_null(pl.col(c).is_null().cast(pl.UInt32))
              .alias(f"n_unweighted_{c}") for c in wcols],
        )  # fmt: skip
    else:
        harm = base.select("defendant_on_case_id", "ho_offence_code").join(
            wtab, on="ho_offence_code", how="left"
        )
        harm = harm.select(
            "defendant_on_case_id", *wcols,
            *[pl.col(c).is_null().cast(pl.UInt32).alias(f"n_unweighted_{c}") for c in wcols],
        )  # fmt: skip
    keep = groups
    if soc_groups_only:
        keep = groups.filter(pl.col("share_cases_soc") > 0)
    member = person_groups.join(keep.select("group_id"), on="group_id", how="semi").select(
        "person", pl.col("group_id").cast(pl.String).alias("soc_group")
    )
    return (
        base.join(harm, on="defendant_on_case_id", how="left")
        .join(member, on="person", how="left")
        .sort("case_id", "defendant_on_case_id")
        .with_columns((pl.col("person").rank("dense") - 1).cast(pl.Int64).alias("person_code"))
    )


def case_harm(dc: pl.DataFrame, weight_names: Sequence[str]) -> pl.DataFrame:
    """One row per case: harm under each weight (sum over its defendant-cases with a weight;
    null when none has one), number of defendant-cases, SOC status, year, court, region."""
    wcols = [w_col(w) for w in weight_names]
    return group_sums(
        dc, ["case_id"], nullable=wcols,
        firsts=["year", "court_id", "court", "region", "soc_case"], count="n_defendants",
    ).sort("case_id")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Concentration measures
# ---------------------------------------------------------------------------------------------


def gini(totals: np.ndarray) -> np.ndarray:
    """Gini coefficient of non-negative unit totals along the last axis (0: equal; (n-1)/n:
    one unit holds everything). Rows summing to zero give NaN."""
    x = np.sort(np.asarray(totals, dtype=np.float64), axis=-1)
    n = x.shape[-1]
    total = x.sum(axis=-1)
    rank = np.arange(1, n + 1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (2.0 * (x * rank).sum(axis=-1)) / (n * total) - (n + 1.0) / n


def top_share(totals: np.ndarray, k: int) -> np.ndarray:
    """Share of the total held by the `k` largest units, along the last axis."""
    x = np.sort(np.asarray(totals, dtype=np.float64), axis=-1)
    total = x.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return x[..., x.shape[-1] - k :].sum(axis=-1) / total


def lorenz_ranks(n_units: int, step: float, min_units: int) -> list[int]:
    """Unit counts at which to report a Lorenz point: the nearest whole number of units to
    every multiple of `step`, kept only when at least `min_units` units separate it from the
    previous point and from the end, so that no point (or difference of points) rests on
    fewer units. Always starts at 0 and ends at `n_units`."""
    ks = [0]
    n_steps = round(1.0 / step)
    for i in range(1, n_steps):
        k = math.floor(i * step * n_units + 0.5)
        if k - ks[-1] >= min_units and n_units - k >= min_units:
            ks.append(k)
    ks.append(n_units)
    return ks


def dissimilarity(harm: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Dissimilarity index D = 1/2 sum |harm share - count share| along the last axis: the
    share of harm that would have to move between units for harm to follow cases (0: harm is
    distributed exactly like cases)."""
    h = np.asarray(harm, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        hs = h / h.sum(axis=-1, keepdims=True)
        cs = c / c.sum(axis=-1, keepdims=True)
    return 0.5 * np.abs(hs - cs).sum(axis=-1)


# ---------------------------------------------------------------------------------------------
# Resampling design: cases collapsed into types
# ---------------------------------------------------------------------------------------------


@dataclass
class Tabulation:
    """Per-type contributions to the units of one dimension."""

    name: str
    units: list[str]
    columns: list[str]  # value columns, in the order of `matrix` blocks
    matrix: sp.csr_matrix  # types x (len(columns) * len(units)), column-major by value column

    def totals(self, type_counts: np.ndarray) -> dict[str, np.ndarray]:
        """Replicate totals (replicates x units) of every value column."""
        prod = np.asarray((self.matrix.T @ type_counts.T).T)
        u = len(self.units)
        return {c: prod[:, i * u : (i + 1) * u] for i, c in enumerate(self.columns)}


@dataclass
class Design:
    """Cases grouped into types of identical contributions, for resampling."""

    type_of_case: np.ndarray  # (cases,) type index of each case
    cases_per_type: np.ndarray  # (types,)
    court_of_type: np.ndarray  # (types,) court index
    n_courts: int
    tabulations: dict[str, Tabulation] = field(default_factory=dict)

    @property
    def n_types(self) -> int:
        return len(self.cases_per_type)


def build_design(
    dc: pl.DataFrame,
    contributions: dict[str, pl.DataFrame],
    value_columns: Sequence[str],
    case_key: Sequence[str],
    row_key: Sequence[str],
) -> Design:
    """Collapse cases into types and tabulate each dimension's contributions per type.

    `contributions[name]` has one row per (case_id, unit) with the `value_columns` (summed
    over the case's defendant-cases in that unit); they must be functions of the case's
    `case_key` columns and of the multiset of its defendant-cases' `row_key` values. Cases
    agreeing on both (and on the court, which the court resampling needs) are one type.
    """
    cols = list(value_columns)
    keys = list(dict.fromkeys(["court_id", *case_key]))
    content = dc.select(row_key).unique().sort(pl.all(), nulls_last=True)
    content = content.with_row_index("content_id")
    with_id = dc.select("case_id", *keys, *row_key).join(
        content, on=list(row_key), how="left", nulls_equal=True
    )
    cases = (
        with_id.group_by("case_id")
        .agg(*[pl.col(k).first() for k in keys], pl.col("content_id").sort())
        .sort("case_id")
        .with_row_index("case_index")
    )
    courts = cases["court_id"].unique().sort()
    cases = cases.join(courts.to_frame().with_row_index("court_index"), on="court_id")
    types = (
        cases.group_by(*keys, "content_id")
        .agg(pl.col("case_index").min().alias("first_case"), pl.len().alias("n"),
             pl.col("court_index").first())
        .sort("first_case")
        .with_row_index("type_index")
    )  # fmt: skip
    cases = cases.join(
        types.select(*keys, "content_id", "type_index"),
        on=[*keys, "content_id"],
        how="left",
        nulls_equal=True,
    ).sort("case_index")
    design = Design(
        type_of_case=cases["type_index"].to_numpy().astype(np.int32),
        cases_per_type=types["n"].to_numpy().astype(np.int64),
        court_of_type=types["court_index"].to_numpy().astype(np.int64),
        n_courts=courts.len(),
    )
    reps = types.select("type_index", "first_case").join(
        cases.select("case_index", "case_id"), left_on="first_case", right_on="case_index"
    )
    for name, frame in sorted(contributions.items()):
        units = frame["unit"].cast(pl.String).unique().sort().to_list()
        unit_index = pl.DataFrame({"unit": units}).with_row_index("unit_index")
        rows = (
            frame.with_columns(pl.col("unit").cast(pl.String))
            .join(reps.select("type_index", "case_id"), on="case_id", how="inner")
            .join(unit_index, on="unit")
        )
        t = rows["type_index"].to_numpy().astype(np.int64)
        u = rows["unit_index"].to_numpy().astype(np.int64)
        blocks = []
        for i, c in enumerate(cols):
            blocks.append(
                sp.csr_matrix(
                    (rows[c].fill_null(0.0).to_numpy().astype(np.float64), (t, u + i * len(units))),
                    shape=(design.n_types, len(cols) * len(units)),
                )
            )
        design.tabulations[name] = Tabulation(name, units, cols, sum(blocks[1:], blocks[0]))
    return design


def replicate_type_counts(
    design: Design, n_replicates: int, rng: np.random.Generator, resample: str, block: int = 32
) -> Iterator[np.ndarray]:
    """Blocks of bootstrap replicates, as (replicates x types) counts of each case type.

    `resample="cases"`: every replicate draws as many cases as there are, with replacement.
    `resample="courts"`: it draws courts with replacement, each bringing all its cases.
    """
    n_cases = len(design.type_of_case)
    done = 0
    while done < n_replicates:
        r = min(block, n_replicates - done)
        if resample == "courts":
            court_counts = rng.multinomial(
                design.n_courts, np.full(design.n_courts, 1.0 / design.n_courts), size=r
            )
            counts = court_counts[:, design.court_of_type] * design.cases_per_type[None, :]
        else:
            # Every replicate of the block draws its cases in one call (the same stream as one
            # call per replicate), tallied by type with one count over (replicate, type) codes.
            draws = rng.integers(0, n_cases, size=(r, n_cases), dtype=np.int32)
            wide = np.int32 if r * design.n_types < 2**31 else np.int64
            codes = design.type_of_case[draws].astype(wide, copy=False)
            codes += (np.arange(r, dtype=wide) * design.n_types)[:, None]
            counts = np.bincount(codes.ravel(), minlength=r * design.n_types).reshape(r, -1)
        done += r
        yield counts.astype(np.float64)


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along the first axis (NaN replicates ignored)."""
    alpha = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore"):
        lower = np.nanquantile(replicates, alpha, axis=0)
        upper = np.nanquantile(replicates, 1.0 - alpha, axis=0)
    return lower, upper


# ---------------------------------------------------------------------------------------------
# Estimation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HarmSettings:
    """Analysis settings (config `harm`)."""

    primary: str = "data_derived"
    first_year: int = 2013
    last_year: int = 2020
    offence_scope: str = "principal"
    soc_groups_only: bool = True
    replicates: int = 1000
    resample: str = "cases"
    seed: int = 20130101
    confidence: float = 0.95
    permutations: int = 199
    lorenz_step: float = 0.05
    min_units_per_point: int = 2
    power_few: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20)
    median_rounding: float = 10.0
    weights_table_top: int = 25

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> HarmSettings:
        """Settings from the `harm` config section (absent keys take the defaults)."""
        boot = cfg.get("bootstrap", {})
        d = cls()
        return cls(
            primary=cfg.get("primary_weight", d.primary),
            first_year=int(cfg.get("first_year", d.first_year)),
            last_year=int(cfg.get("last_year", d.last_year)),
            offence_scope=cfg.get("offence_scope", d.offence_scope),
            soc_groups_only=cfg.get("soc_groups", "soc_only") == "soc_only",
            replicates=int(boot.get("replicates", d.replicates)),
            resample=boot.get("resample", d.resample),
            seed=int(boot.get("seed", d.seed)),
            confidence=float(boot.get("confidence", d.confidence)),
            permutations=int(cfg.get("permutations", d.permutations)),
            lorenz_step=float(cfg.get("lorenz_step", d.lorenz_step)),
            min_units_per_point=int(cfg.get("min_units_per_point", d.min_units_per_point)),
            power_few=tuple(float(x) for x in cfg.get("power_few", d.power_few)),
            median_rounding=float(cfg.get("median_rounding", d.median_rounding)),
            weights_table_top=int(cfg.get("weights_table_top", d.weights_table_top)),
        )


CASE_LEVEL = ("court", "region", "soc_year")


def dimension_rows(dc: pl.DataFrame, names: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Per dimension, the defendant-case rows that belong to one of its units.

    Adds `unit`, the harm columns with nulls as 0, `covered_<w>` (1 when the harm under w is
    known) and `count`: 1 per defendant-case for defendant-level dimensions; for case-level
    dimensions (court, region, SOC status by year) 1 on the case's first row, so that counts
    are cases.
    """
    wcols = [w_col(w) for w in names]
    filled = dc.with_columns(
        *[pl.col(c).fill_null(0.0) for c in wcols],
        *[pl.col(c).is_not_null().cast(pl.Float64).alias(f"covered_{w}")
          for c, w in zip(wcols, names, strict=True)],
        # dc is sorted by case: a case's first row is where the case id changes.
        (pl.col("case_id") != pl.col("case_id").shift(1)).fill_null(True).cast(pl.Float64)
        .alias("first_of_case"),
    )  # fmt: skip
    first_of_case = pl.col("first_of_case")
    one = pl.lit(1.0).alias("count")
    soc_year = pl.concat_str(
        pl.col("soc_case").replace_strict(SOC_LABEL, return_dtype=pl.String),
        pl.lit("|"),
        pl.col("year").cast(pl.String),
    )
    return {
        "offence_group": filled.with_columns(pl.col("offence_group").alias("unit"), one),
        "soc_category": filled.filter(pl.col("soc") & pl.col("soc_category").is_not_null())
        .with_columns(pl.col("soc_category").alias("unit"), one),
        "soc_group": filled.filter(pl.col("soc_group").is_not_null())
        .with_columns(pl.col("soc_group").alias("unit"), one),
        "court": filled.with_columns(pl.col("court").alias("unit"), first_of_case.alias("count")),
        "region": filled.with_columns(pl.col("region").alias("unit"),
                                      first_of_case.alias("count")),
        "soc_year": filled.with_columns(soc_year.alias("unit"), first_of_case.alias("count")),
    }  # fmt: skip


def case_level_contributions(
    rows: dict[str, pl.DataFrame], names: Sequence[str]
) -> dict[str, pl.DataFrame]:
    """Each dimension's rows summed per (case, unit). `n_<w>` counts covered counted units:
    for case-level dimensions 1 when any defendant-case of the case has a weight (means are
    per covered case), otherwise the covered defendant-cases."""
    wcols = [w_col(w) for w in names]
    out = {}
    for dim, frame in rows.items():
        covered = [f"covered_{w}" for w in names]
        case_level = dim in CASE_LEVEL
        sums = group_sums(
            frame, ["case_id", "unit"], [*wcols, "count", *([] if case_level else covered)],
            maxes=covered if case_level else (),
        )  # fmt: skip
        out[dim] = sums.rename({f"covered_{w}": f"n_{w}" for w in names})
    return out


def _sorted_stats(
    h: np.ndarray, count: np.ndarray, fractions: Sequence[float], min_units: int
) -> dict[str, np.ndarray]:
    """Gini, top-k shares and D from (replicates x units) harm totals, sorting once."""
    xs = np.sort(h, axis=-1)
    n = xs.shape[-1]
    total = xs.sum(axis=-1)
    rank = np.arange(1, n + 1, dtype=np.float64)
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["gini"] = (2.0 * (xs * rank).sum(axis=-1)) / (n * total) - (n + 1.0) / n
        for f in fractions:
            k = math.floor(f * n + 0.5)
            if min_units <= k <= n - min_units:
                out[f"top|{f:g}"] = xs[..., n - k :].sum(axis=-1) / total
    out["dissimilarity"] = dissimilarity(h, count)
    return out


def concentration_stats(
    totals: dict[str, np.ndarray],
    names: Sequence[str],
    fractions: Sequence[float],
    min_units: int,
) -> dict[str, np.ndarray]:
    """Gini, top shares and D under every weight, from (replicates x units) totals."""
    out: dict[str, np.ndarray] = {}
    for w in names:
        for k, v in _sorted_stats(totals[w_col(w)], totals["count"], fractions, min_units).items():
            out[f"{k}|{w}"] = v
    return out


def multiplicity_stats(
    x: np.ndarray,
    count: np.ndarray,
    m: np.ndarray,
    fractions: Sequence[float],
    min_units: int,
) -> dict[str, np.ndarray]:
    """Gini, top shares and D of resamples of units given as multiplicities, no sorting.

    `x` (units) is sorted ascending, `count` is aligned with it, `m` (replicates x units) says
    how often each unit is drawn. The resample, sorted, is every x repeated m times, so the
    rank sum of a unit's copies is m * (copies before it) + m (m + 1) / 2.
    """
    # Single precision halves the memory traffic; relative errors stay near 1e-7.
    m = m.astype(np.float32)
    x = x.astype(np.float32)
    count = count.astype(np.float32)
    n = m.shape[-1]
    before = np.cumsum(m, axis=-1) - m
    total = (m * x).sum(axis=-1)
    ranks = m * before + m * (m + 1.0) / 2.0
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        gini_sum = (ranks * x).sum(axis=-1, dtype=np.float64)
        out["gini"] = 2.0 * gini_sum / (n * total.astype(np.float64)) - (n + 1.0) / n
        above = np.cumsum(m[..., ::-1], axis=-1)[..., ::-1] - m  # copies ranked above a unit
        for f in fractions:
            k = math.floor(f * n + 0.5)
            if min_units <= k <= n - min_units:
                taken = np.clip(k - above, 0.0, m)
                out[f"top|{f:g}"] = (taken * x).sum(axis=-1) / total
        hs = m * x / total[..., None]
        cs = m * count / (m * count).sum(axis=-1, keepdims=True)
    out["dissimilarity"] = 0.5 * np.abs(hs - cs).sum(axis=-1)
    return out


def unit_bootstrap(
    totals: dict[str, np.ndarray],
    names: Sequence[str],
    s: HarmSettings,
    rng: np.random.Generator,
    block: int = 64,
) -> dict[str, np.ndarray]:
    """Replicates of the concentration statistics, resampling units with replacement.

    The units are the observations whose inequality is measured. Resampling cases instead
    would add sampling noise to the totals of sparse units (co-offending groups have two or
    three cases) and push the replicated Gini above the observed one (the sparse-data bias
    Bernasco and Steenbeek 2017 correct for).
    """
    n_units = len(totals["count"])
    orders = {w: np.argsort(totals[w_col(w)], kind="stable") for w in names}
    parts: dict[str, list[np.ndarray]] = {}
    done = 0
    while done < s.replicates:
        r = min(block, s.replicates - done)
        idx = rng.integers(0, n_units, size=(r, n_units)) + (np.arange(r) * n_units)[:, None]
        m = np.bincount(idx.ravel(), minlength=r * n_units).reshape(r, n_units)
        for w in names:
            o = orders[w]
            stats = multiplicity_stats(
                totals[w_col(w)][o], totals["count"][o], m[:, o], s.power_few,
                s.min_units_per_point,
            )  # fmt: skip
            for k, v in stats.items():
                parts.setdefault(f"{k}|{w}", []).append(v)
        done += r
    return {k: np.concatenate(v) for k, v in parts.items()}


def _soc_stats(
    tot: dict[str, np.ndarray], units: Sequence[str], names: Sequence[str]
) -> dict[str, np.ndarray]:
    """SOC statistics from (replicates x SOC-status-by-year units) totals: over all years
    ("all") and per year."""
    soc = np.array([u.split("|")[0] == SOC_LABEL[True] for u in units])
    year_of = np.array([int(u.split("|")[1]) for u in units])
    count = tot["count"]
    out: dict[str, np.ndarray] = {}
    scopes = [("all", np.ones(len(units), dtype=bool))]
    scopes += [(str(y), year_of == y) for y in sorted(set(year_of.tolist()))]
    with np.errstate(invalid="ignore", divide="ignore"):
        for scope, sel in scopes:
            s, n = sel & soc, sel & ~soc
            out[f"case_share|{scope}"] = count[..., s].sum(-1) / count[..., sel].sum(-1)
            for w in names:
                h, cov = tot[w_col(w)], tot[f"n_{w}"]
                hs, hn = h[..., s].sum(-1), h[..., n].sum(-1)
                mean_soc = hs / cov[..., s].sum(-1)
                mean_non = hn / cov[..., n].sum(-1)
                out[f"harm_share|{scope}|{w}"] = hs / (hs + hn)
                out[f"mean_soc|{scope}|{w}"] = mean_soc
                out[f"mean_non|{scope}|{w}"] = mean_non
                out[f"ratio|{scope}|{w}"] = mean_soc / mean_non
    return out


@dataclass
class Estimates:
    """Point estimates, their bootstrap replicates and the permutation tests."""

    names: list[str]
    units: dict[str, list[str]]
    totals: dict[str, dict[str, np.ndarray]]
    point: dict[str, dict[str, np.ndarray]]
    boot: dict[str, dict[str, np.ndarray]]
    tests: dict[str, tuple[float, float, int]]
    rows: dict[str, pl.DataFrame]
    n_cases: int
    n_types: int


def _case_stats(
    name: str, tab: Tabulation, tot: dict[str, np.ndarray], names: Sequence[str], primary: str
) -> dict[str, np.ndarray]:
    """Statistics resampled over cases: SOC against non-SOC, and each unit's harm share."""
    if name == "soc_year":
        return _soc_stats(tot, tab.units, names)
    h = tot[w_col(primary)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"share": h / h.sum(axis=-1, keepdims=True)}


def _random_table_totals(
    unit_sizes: np.ndarray,
    values: np.ndarray,
    value_counts: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Unit totals of `n` random allocations of a multiset of values to units of fixed
    sizes: random contingency tables with fixed margins (Patefield's algorithm)."""
    table = stats.random_table(unit_sizes, value_counts, seed=rng)
    block = max(1, 4_000_000 // max(1, len(unit_sizes) * len(values)))
    parts = []
    done = 0
    while done < n:
        r = min(block, n - done)
        parts.append(table.rvs(size=r, method="patefield") @ values)
        done += r
    return np.concatenate(parts)


def permutation_tests(
    contrib: dict[str, pl.DataFrame],
    rows: dict[str, pl.DataFrame],
    weight: str,
    n_permutations: int,
    rng: np.random.Generator,
) -> dict[str, tuple[float, float, int]]:
    """Monte Carlo permutation test, per dimension, of "harm is distributed like cases".

    Statistic: the dissimilarity index D between the units' harm shares and count shares.
    Under the null, harm is exchangeable across the counted units (cases for courts and
    regions, defendant-cases otherwise): the harm values are randomly re-allocated to the
    counted units, keeping every unit's count. A re-allocation is drawn as a random
    contingency table of units by distinct harm values with both margins fixed (Patefield's
    algorithm) when that table is small, else by shuffling the harm values (courts and regions
    share one shuffle of case harm). Returns {dimension: (D, p-value, permutations)},
    p = (1 + #{D* >= D}) / (1 + P).
    """
    hcol = w_col(weight)
    case_frame = (
        contrib["court"].filter(pl.col("count") > 0)
        .join(contrib["region"].select("case_id", pl.col("unit").alias("region")), on="case_id")
        .sort("unit", "case_id")
    )  # fmt: skip
    frames = {
        "cases": (case_frame, {"court": "unit", "region": "region"}),
        "offence_group": (rows["offence_group"].sort("unit"), {"offence_group": "unit"}),
        "soc_category": (rows["soc_category"].sort("unit"), {"soc_category": "unit"}),
        "soc_group": (rows["soc_group"].sort("unit"), {"soc_group": "unit"}),
    }
    out: dict[str, tuple[float, float, int]] = {}
    shuffled = []
    for frame, dims in frames.values():
        if frame.height == 0 or frame[hcol].sum() <= 0:
            continue
        h = frame[hcol].to_numpy().astype(np.float64)
        values, value_code = np.unique(h, return_inverse=True)
        value_counts = np.bincount(value_code, minlength=len(values))
        members = []
        for dim, col in dims.items():
            codes = frame[col].cast(pl.String).rank("dense").cast(pl.Int64).to_numpy() - 1
            n_units = int(codes.max()) + 1
            if n_units < 2:
                continue
            sizes = np.bincount(codes, minlength=n_units)
            observed = float(dissimilarity(np.bincount(codes, weights=h, minlength=n_units),
                                           sizes))  # fmt: skip
            if n_units * len(values) * 8 <= len(h):
                totals = _random_table_totals(sizes, values, value_counts, n_permutations, rng)
                exceed = int((dissimilarity(totals, sizes) >= observed - 1e-12).sum())
                out[dim] = (observed, (1 + exceed) / (1 + n_permutations), n_permutations)
            else:
                # Sorted by unit: court totals are sums over contiguous runs.
                run = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
                contiguous = len(run) == n_units
                members.append([dim, codes, n_units, sizes, run if contiguous else None,
                                observed, 0])  # fmt: skip
        if members:
            shuffled.append((h, members))
    for _ in range(n_permutations):
        for h, members in shuffled:
            rng.shuffle(h)
            for mem in members:
                dim, codes, n_units, sizes, run, observed, _ = mem
                totals = (
                    np.add.reduceat(h, run)
                    if run is not None
                    else np.bincount(codes, weights=h, minlength=n_units)
                )
                mem[6] += int(dissimilarity(totals, sizes) >= observed - 1e-12)
    for _, members in shuffled:
        for dim, *_, observed, exceed in members:
            out[dim] = (observed, (1 + exceed) / (1 + n_permutations), n_permutations)
    return out


def estimate(dc: pl.DataFrame, names: Sequence[str], s: HarmSettings) -> Estimates:
    """Point estimates and bootstrap replicates of every harm statistic, and the tests.

    SOC statistics and unit harm shares: cases (or courts) resampled. Concentration
    statistics: units resampled (`unit_bootstrap`).
    """
    names = list(names)
    value_cols = [w_col(w) for w in names] + [f"n_{w}" for w in names] + ["count"]
    rows = dimension_rows(dc, names)
    contrib = case_level_contributions(rows, names)
    resampled = {k: v for k, v in contrib.items() if k == "soc_year" or k in SHARE_DIMENSIONS}
    design = build_design(
        dc, resampled, value_cols,
        case_key=["court", "region", "soc_case", "year"],
        row_key=["offence_group", "soc", "soc_category", *[w_col(w) for w in names]],
    )  # fmt: skip
    log.info("resampling design: %d cases in %d types", len(design.type_of_case), design.n_types)
    point: dict[str, dict[str, np.ndarray]] = {}
    totals: dict[str, dict[str, np.ndarray]] = {}
    parts: dict[str, dict[str, list[np.ndarray]]] = {}
    units: dict[str, list[str]] = {}
    everyone = design.cases_per_type[None, :].astype(np.float64)
    for name, tab in design.tabulations.items():
        stats = _case_stats(name, tab, tab.totals(everyone), names, s.primary)
        point[name] = {k: v[0] for k, v in stats.items()}
        parts[name] = {k: [] for k in point[name]}
    rng = np.random.default_rng(s.seed)
    log.info("bootstrap: %d replicates resampling %s", s.replicates, s.resample)
    for counts in replicate_type_counts(design, s.replicates, rng, s.resample):
        for name, tab in design.tabulations.items():
            for k, v in _case_stats(name, tab, tab.totals(counts), names, s.primary).items():
                parts[name][k].append(v)
    boot = {n: {k: np.concatenate(v) for k, v in p.items()} for n, p in parts.items()}
    unit_rng = np.random.default_rng(s.seed + 2)
    log.info("bootstrap over units: %d replicates", s.replicates)
    for dim, _, _ in DIMENSIONS:
        per_unit = group_sums(contrib[dim].sort("unit", "case_id"), ["unit"], value_cols)
        units[dim] = per_unit["unit"].cast(pl.String).to_list()
        totals[dim] = {c: per_unit[c].to_numpy().astype(np.float64) for c in value_cols}
        if not units[dim]:
            continue
        stats = concentration_stats(
            {c: v[None, :] for c, v in totals[dim].items()}, names, s.power_few,
            s.min_units_per_point,
        )  # fmt: skip
        point.setdefault(dim, {}).update({k: v[0] for k, v in stats.items()})
        boot.setdefault(dim, {}).update(unit_bootstrap(totals[dim], names, s, unit_rng))
        if dim in design.tabulations and design.tabulations[dim].units != units[dim]:
            raise AssertionError(f"unit order differs for {dim}")
    units["soc_year"] = design.tabulations["soc_year"].units
    log.info("permutation tests: %d permutations", s.permutations)
    tests = permutation_tests(
        contrib, rows, s.primary, s.permutations, np.random.default_rng(s.seed + 1)
    )
    return Estimates(
        names=names, units=units, totals=totals, point=point, boot=boot, tests=tests,
        rows=rows, n_cases=len(design.type_of_case), n_types=design.n_types,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

STAT_SCHEMA = STATISTICS_SCHEMA


def _label(weight: str) -> str:
    return WEIGHT_LABELS[weight]


def _round_to(value: float | None, base: float) -> float | None:
    """Round half up to a multiple of `base` (medians are single-person values)."""
    if value is None or not math.isfinite(value):
        return None
    return math.floor(value / base + 0.5) * base


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _interval(est: Estimates, dim: str, key: str, conf: float) -> tuple[Any, Any]:
    lo, hi = percentile_interval(est.boot[dim][key], conf)
    return lo, hi


def _frame(rows: list[dict[str, Any]], extra: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={**extra, **STAT_SCHEMA}, orient="row")


def _persons(frame: pl.DataFrame) -> int:
    return int(frame["person"].n_unique())


def soc_tables(est: Estimates, dc: pl.DataFrame, s: HarmSettings) -> dict[str, pl.DataFrame]:
    """SOC against non-SOC cases: the summary, shares by year, means by year, medians."""
    conf = s.confidence
    soc_dc, non_dc = dc.filter(pl.col("soc_case")), dc.filter(~pl.col("soc_case"))
    n_all, n_soc, n_non = _persons(dc), _persons(soc_dc), _persons(non_dc)
    p, years = est.point["soc_year"], sorted({int(u.split("|")[1]) for u in est.units["soc_year"]})
    cases = case_harm(dc, est.names)

    def ci(key: str) -> tuple[Any, Any]:
        lo, hi = _interval(est, "soc_year", key, conf)
        return _num(lo), _num(hi)

    def median(frame: pl.DataFrame, w: str) -> float | None:
        m = frame[w_col(w)].drop_nulls().median()
        return _round_to(None if m is None else float(m), s.median_rounding)

    summary = [
        {"weight": "all weights", "statistic": "Share of all cases that are SOC cases",
         "value": _num(p["case_share|all"]), **dict(zip(("ci_lower", "ci_upper"),
                                                        ci("case_share|all"), strict=True)),
         "n_persons": n_all},
    ]  # fmt: skip
    for w in est.names:
        lab = _label(w)
        for key, stat, n in (
            ("harm_share", "Share of all harm in SOC cases", n_all),
            ("mean_soc", "Mean harm per SOC case (days)", n_soc),
            ("mean_non", "Mean harm per non-SOC case (days)", n_non),
            ("ratio", "Ratio of mean harm per case, SOC to non-SOC", min(n_soc, n_non)),
        ):
            lo, hi = ci(f"{key}|all|{w}")
            summary.append({"weight": lab, "statistic": stat, "value": _num(p[f"{key}|all|{w}"]),
                            "ci_lower": lo, "ci_upper": hi, "n_persons": n})  # fmt: skip
        base = f"{s.median_rounding:g}"
        for frame, stat, n in (
            (cases.filter(pl.col("soc_case")), "Median harm per SOC case", n_soc),
            (cases.filter(~pl.col("soc_case")), "Median harm per non-SOC case", n_non),
        ):
            summary.append({"weight": lab, "statistic": f"{stat} (days, rounded to {base})",
                            "value": median(frame, w), "ci_lower": None, "ci_upper": None,
                            "n_persons": n})  # fmt: skip
    share_rows, mean_rows, median_rows = [], [], []
    for y in years:
        year_dc = dc.filter(pl.col("year") == y)
        n_y = _persons(year_dc)
        n_ys = _persons(year_dc.filter(pl.col("soc_case")))
        n_yn = _persons(year_dc.filter(~pl.col("soc_case")))
        lo, hi = ci(f"case_share|{y}")
        share_rows.append({"year": y, "series": "Cases", "statistic": "Share that is SOC",
                           "value": _num(p[f"case_share|{y}"]), "ci_lower": lo, "ci_upper": hi,
                           "n_persons": n_y})  # fmt: skip
        year_cases = cases.filter(pl.col("year") == y)
        for w in est.names:
            lab = _label(w)
            lo, hi = ci(f"harm_share|{y}|{w}")
            share_rows.append({"year": y, "series": f"Harm: {lab}",
                               "statistic": "Share that is SOC",
                               "value": _num(p[f"harm_share|{y}|{w}"]), "ci_lower": lo,
                               "ci_upper": hi, "n_persons": n_y})  # fmt: skip
            for key, who, n, sel in (
                ("mean_soc", SOC_LABEL[True], n_ys, pl.col("soc_case")),
                ("mean_non", SOC_LABEL[False], n_yn, ~pl.col("soc_case")),
            ):
                lo, hi = ci(f"{key}|{y}|{w}")
                mean_rows.append({"year": y, "series": f"{who}: {lab}",
                                  "statistic": "Mean harm per case (days)",
                                  "value": _num(p[f"{key}|{y}|{w}"]), "ci_lower": lo,
                                  "ci_upper": hi, "n_persons": n})  # fmt: skip
                median_rows.append({"year": y, "series": f"{who}: {lab}",
                                    "statistic": "Median harm per case (days, rounded to "
                                                 f"{s.median_rounding:g})",
                                    "value": median(year_cases.filter(sel), w), "ci_lower": None,
                                    "ci_upper": None, "n_persons": n})  # fmt: skip
    year_cols = {"year": pl.Int32, "series": pl.String}
    return {
        "summary": _frame(summary, {"weight": pl.String}),
        "share_by_year": _frame(share_rows, year_cols),
        "mean_by_year": _frame(mean_rows, year_cols),
        "median_by_year": _frame(median_rows, year_cols).drop("ci_lower", "ci_upper"),
    }


@dataclass
class UnitPersons:
    """The distinct (unit, person) pairs of a dimension, as integer codes."""

    units: list[str]
    unit_code: np.ndarray
    person_code: np.ndarray
    n_persons: int

    @classmethod
    def of(cls, rows: pl.DataFrame, units: list[str]) -> UnitPersons:
        """From defendant-case rows with `unit` and `person_code` (dense person numbers)."""
        pairs = rows.select(
            pl.col("unit").cast(pl.String).cast(pl.Enum(units)).to_physical().alias("u"),
            "person_code",
        ).unique()
        codes = pairs["person_code"].to_numpy().astype(np.int64)
        return cls(
            units=units,
            unit_code=pairs["u"].to_numpy().astype(np.int64),
            person_code=codes,
            n_persons=int(np.unique(codes).size),
        )

    def per_unit(self) -> np.ndarray:
        """Distinct persons in each unit."""
        return np.bincount(self.unit_code, minlength=len(self.units))

    def cumulative(self, order: np.ndarray) -> np.ndarray:
        """Distinct persons in the first k units of `order` (unit indices), k = 0..U."""
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        size = int(self.person_code.max()) + 1 if len(self.person_code) else 0
        first = np.full(size, len(order) + 1, dtype=np.int64)
        np.minimum.at(first, self.person_code, rank[self.unit_code])
        return np.cumsum(np.bincount(first, minlength=len(order) + 2)[: len(order) + 1])


def dominated_units(rows: pl.DataFrame, weight: str, thresholds: SdcThresholds | None) -> set[str]:
    """Units whose harm total the magnitude check withholds (too few contributors, dominance,
    p-ratio, or secondary suppression): their harm share would disclose that total, given
    the published grand total, so the share is withheld with it."""
    if thresholds is None:
        return set()
    contrib = rows.filter(pl.col(f"covered_{weight}") > 0).select(
        pl.col("unit").cast(pl.String), pl.col(w_col(weight)).alias("harm"), "person"
    )
    if contrib.height == 0:
        return set()
    table = check_magnitude_table(contrib, ["unit"], "harm", "person", thresholds, margins=True)
    return set(table.cells.filter(pl.col("total").is_null())["unit"].to_list())


def concentration_tables(
    est: Estimates,
    rows: dict[str, pl.DataFrame],
    s: HarmSettings,
    thresholds: SdcThresholds | None = None,
) -> dict[str, pl.DataFrame]:
    """Gini, power-few shares, D and the permutation test (one table); Lorenz points and harm
    against count shares (one table per dimension). A unit's harm share carries no
    `n_persons` (so the disclosure check withholds it) when the magnitude check under
    `thresholds` withholds the unit's harm total."""
    conc: list[dict[str, Any]] = []
    out: dict[str, pl.DataFrame] = {}
    for dim, dim_label, basis in DIMENSIONS:
        units, tot, p = est.units[dim], est.totals[dim], est.point[dim]
        drows = rows[dim]
        people = UnitPersons.of(drows, units)
        n_units, n_all = len(units), people.n_persons
        lorenz: list[dict[str, Any]] = []
        for w in est.names:
            lab = _label(w)
            h = tot[w_col(w)]
            order = np.lexsort((np.arange(n_units), h))  # ascending harm, ties by unit name
            cum_asc = people.cumulative(order)
            cum_desc = people.cumulative(order[::-1])
            d_label = f"Dissimilarity index D (harm against {basis})"
            for key, stat in (("gini", "Gini coefficient"), ("dissimilarity", d_label)):
                lo, hi = _interval(est, dim, f"{key}|{w}", s.confidence)
                conc.append({"dimension": dim_label, "weight": lab, "n_units": n_units,
                             "statistic": stat, "value": _num(p[f"{key}|{w}"]),
                             "ci_lower": _num(lo), "ci_upper": _num(hi),
                             "n_persons": n_all})  # fmt: skip
            for f in s.power_few:
                key = f"top|{f:g}|{w}"
                if key not in p:
                    continue
                k = math.floor(f * n_units + 0.5)
                lo, hi = _interval(est, dim, key, s.confidence)
                conc.append({"dimension": dim_label, "weight": lab, "n_units": k,
                             "statistic": f"Share of harm held by the top {f:.0%} of units",
                             "value": _num(p[key]), "ci_lower": _num(lo), "ci_upper": _num(hi),
                             "n_persons": int(cum_desc[k])})  # fmt: skip
            if w == s.primary and dim in est.tests:
                _, pval, n_perm = est.tests[dim]
                conc.append({"dimension": dim_label, "weight": lab, "n_units": n_units,
                             "statistic": f"Permutation p-value, H0: harm is distributed like "
                                          f"{basis} ({n_perm} permutations)",
                             "value": pval, "ci_lower": None, "ci_upper": None,
                             "n_persons": n_all})  # fmt: skip
            total = float(h.sum())
            cum = np.concatenate([[0.0], np.cumsum(h[order])])
            for k in lorenz_ranks(n_units, s.lorenz_step, s.min_units_per_point)[1:]:
                lorenz.append({"weight": lab, "population_share": k / n_units, "n_units": k,
                               "statistic": "Cumulative share of harm",
                               "value": cum[k] / total if total > 0 else None,
                               "ci_lower": None, "ci_upper": None,
                               "n_persons": int(cum_asc[k])})  # fmt: skip
        out[f"lorenz_{dim}"] = _frame(
            lorenz, {"weight": pl.String, "population_share": pl.Float64, "n_units": pl.Int64}
        ).drop("ci_lower", "ci_upper")
        if dim in SHARE_DIMENSIONS:
            per_unit = people.per_unit()
            withheld = dominated_units(drows, s.primary, thresholds)
            share = p["share"]
            lo, hi = _interval(est, dim, "share", s.confidence)
            count = tot["count"]
            shares = []
            for i in np.argsort(-share, kind="stable"):
                shares.append(
                    {
                        "unit": units[i],
                        "statistic": f"Share of harm ({_label(s.primary)})",
                        "value": _num(share[i]),
                        "ci_lower": _num(lo[i]),
                        "ci_upper": _num(hi[i]),
                        "n_persons": None if units[i] in withheld else int(per_unit[i]),
                    }
                )
                shares.append({"unit": units[i], "statistic": f"Share of {basis}",
                               "value": _num(count[i] / count.sum()), "ci_lower": None,
                               "ci_upper": None, "n_persons": int(per_unit[i])})  # fmt: skip
            out[f"shares_{dim}"] = _frame(shares, {"unit": pl.String})
    out["concentration"] = _frame(
        conc, {"dimension": pl.String, "weight": pl.String, "n_units": pl.Int64}
    )
    return out


def sensitivity_table(
    dc: pl.DataFrame, weight: str, labels: dict[str, str] | None = None
) -> pl.DataFrame:
    """Share of cases that are SOC and share of harm in SOC cases under every SOC definition
    in the flags (point estimates); definitions named by `labels` where given."""
    labels = labels or {}
    defs = ["soc_case", *sorted(c for c in dc.columns if c.startswith("soc_case__"))]
    hcol = w_col(weight)
    cases = group_sums(dc, ["case_id"], [hcol], firsts=defs)
    rows = []
    for d in defs:
        name = "primary" if d == "soc_case" else d.removeprefix("soc_case__")
        name = labels.get(name, name)
        soc_cases = cases.filter(pl.col(d))
        persons = dc.join(soc_cases.select("case_id"), on="case_id", how="semi")
        harm_total = float(cases[hcol].sum())
        for stat, value in (
            ("Share of all cases that are SOC cases", soc_cases.height / max(cases.height, 1)),
            (f"Share of all harm in SOC cases ({_label(weight)})",
             float(soc_cases[hcol].sum()) / harm_total if harm_total > 0 else None),
        ):  # fmt: skip
            rows.append({"definition": name, "statistic": stat, "value": value,
                         "ci_lower": None, "ci_upper": None,
                         "n_persons": _persons(persons)})  # fmt: skip
    return _frame(rows, {"definition": pl.String}).drop("ci_lower", "ci_upper")


def coverage_table(weights: pl.DataFrame, dc: pl.DataFrame) -> pl.DataFrame:
    """Coverage of every weight: HO codes, principal-offence codes in the analysed cases, and
    analysed defendant-cases with a weight (harm columns of `dc`)."""
    n_all = _persons(dc)
    cov = weight_coverage(weights, dc.select("ho_offence_code"))
    rows = []
    for r in cov.iter_rows(named=True):
        lab = _label(r["weight"])
        for stat, value in (
            ("Share of all HO offence codes with a weight", r["share_codes"]),
            ("Share of principal-offence codes in the analysed cases with a weight",
             r["share_codes_in_data"]),
            ("Share of analysed defendant-cases with a weight", r["share_defendant_cases"]),
        ):  # fmt: skip
            rows.append({"weight": lab, "statistic": stat, "value": value, "ci_lower": None,
                         "ci_upper": None, "n_persons": n_all})  # fmt: skip
        if r["weight"] == "data_derived" and "dd_basis" in weights.columns:
            used = weights.join(
                dc.select("ho_offence_code").unique(), on="ho_offence_code", how="semi"
            ).filter(pl.col(w_col("data_derived")).is_not_null())
            fallback = used.filter(pl.col("dd_basis") == "class fallback").height
            rows.append({"weight": lab, "statistic": "Share of weighted principal-offence "
                         "codes resting on the class fallback",
                         "value": fallback / used.height if used.height else None,
                         "ci_lower": None, "ci_upper": None, "n_persons": n_all})  # fmt: skip
    return _frame(rows, {"weight": pl.String}).drop("ci_lower", "ci_upper")


def weights_table(weights: pl.DataFrame, dc: pl.DataFrame, top: int) -> pl.DataFrame:
    """The weights of the `top` commonest principal offences of the analysed cases, side by
    side. `n_persons`: for the data-derived weight, distinct persons sentenced in the analysed
    Crown Court cases for the code (for the class, on the class fallback), a lower bound of
    those behind the weight; for the published indices, persons with the code."""
    names = available_weights(weights)
    common = (
        dc.group_by("ho_offence_code")
        .agg(pl.len().alias("n"), pl.col("person").n_unique().alias("persons"))
        .sort(["n", "ho_offence_code"], descending=[True, False])
        .head(top)
    )
    sentenced = dc.filter(pl.col("sentence_type") != NOT_SENTENCED)
    by_code = sentenced.group_by("ho_offence_code").agg(
        pl.col("person").n_unique().alias("sentenced_code")
    )
    by_class = (
        sentenced.with_columns(pl.col("ho_offence_code").str.slice(0, 3).alias("ho_class"))
        .group_by("ho_class")
        .agg(pl.col("person").n_unique().alias("sentenced_class"))
    )
    table = (
        common.join(weights, on="ho_offence_code", how="left")
        .with_columns(pl.col("ho_offence_code").str.slice(0, 3).alias("ho_class"))
        .join(by_code, on="ho_offence_code", how="left")
        .join(by_class, on="ho_class", how="left")
    )
    rows = []
    for r in table.iter_rows(named=True):
        for w in names:
            if w == "data_derived":
                basis = r["dd_basis"]
                n = r["sentenced_class"] if basis == "class fallback" else r["sentenced_code"]
            elif w == "ons_css":
                basis = (
                    f"{r['ons_method']} ({r['ons_po_code']})"
                    if r["ons_po_code"]
                    else (r["ons_method"])
                )
                n = r["persons"]
            else:
                basis, n = "user-supplied table", r["persons"]
            rows.append({"ho_code": r["ho_code"], "description": r["description"],
                         "weight": _label(w), "basis": basis,
                         "statistic": "Weight (equivalent days of custody)",
                         "value": r[w_col(w)], "ci_lower": None, "ci_upper": None,
                         "n_persons": int(n or 0)})  # fmt: skip
    extra = {"ho_code": pl.String, "description": pl.String, "weight": pl.String,
             "basis": pl.String}  # fmt: skip
    return _frame(rows, extra).drop("ci_lower", "ci_upper")


# ---------------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------------


def _magnitude_rows(dc: pl.DataFrame, weight: str, by: dict[str, pl.Expr]) -> pl.DataFrame:
    """One contribution per defendant-case with a weight; sorted, because the magnitude
    table orders its categories by first appearance."""
    hcol = w_col(weight)
    return (
        dc.filter(pl.col(hcol).is_not_null())
        .select(*[e.alias(k) for k, e in by.items()], pl.col(hcol).alias("harm"), "person")
        .sort(list(by), maintain_order=True)
    )


def harm_candidates(
    est: Estimates,
    dc: pl.DataFrame,
    weights: pl.DataFrame,
    s: HarmSettings,
    thresholds: SdcThresholds | None = None,
    definition_labels: dict[str, str] | None = None,
) -> list[Candidate]:
    """Every would-be output of the harm stage, for the disclosure stage to check.

    `thresholds` (the SDC rules) keep unit harm shares consistent with the magnitude tables
    of the same totals (`dominated_units`)."""
    rows = est.rows
    soc = soc_tables(est, dc, s)
    conc = concentration_tables(est, rows, s, thresholds)
    primary = _label(s.primary)
    scope = (
        "the principal offence of each defendant-case"
        if s.offence_scope == "principal"
        else "the sum over each defendant-case's offences"
    )
    ci_note = (
        f"{s.confidence:.0%} percentile bootstrap intervals from {s.replicates} replicates "
        f"resampling {s.resample} with replacement (seed {s.seed})."
    )
    years = f"Crown Court cases disposed of in {s.first_year}-{s.last_year}"
    out: list[Candidate] = [
        Candidate(
            "harm_weight_coverage", "statistics", "Coverage of the harm weights",
            coverage_table(weights, dc),
            notes=f"{years}. A defendant-case without a weight keeps its row: it adds nothing "
            "to harm totals and is left out of that weight's means.",
        ),
        Candidate(
            "harm_weights_by_offence", "statistics",
            f"Harm weights of the {s.weights_table_top} commonest principal offences",
            weights_table(weights, dc, s.weights_table_top),
            notes="Equivalent days of custody. Data-derived: mean over the sentences in the data "
            "(class fallback where the code has too few). ONS: the mapped police recorded crime "
            "code. An empty weight means the index has none for the code (basis says why). "
            "n_persons for the data-derived weight: persons sentenced in the analysed Crown "
            "Court cases for the code (or class), a lower bound of those behind it.",
        ),
        Candidate(
            "harm_soc_summary", "statistics", "Crime harm of SOC and non-SOC cases",
            soc["summary"],
            notes=f"{years}; harm from {scope}; a case's harm is the sum over its "
            f"defendant-cases. {ci_note} Medians are rounded and shown without intervals.",
        ),
        Candidate(
            "harm_soc_share_by_year", "statistics",
            "Share of cases and of harm that is SOC, by year of disposal",
            soc["share_by_year"], notes=ci_note,
            figure={"type": "line", "x": "year", "y": "value", "group": "series",
                    "ylabel": "share that is SOC"},
        ),
        Candidate(
            "harm_soc_mean_by_year", "statistics",
            "Mean harm per case, SOC and non-SOC, by year of disposal",
            soc["mean_by_year"], notes=ci_note,
            figure={"type": "line", "x": "year", "y": "value", "group": "series",
                    "ylabel": "mean harm per case (days)"},
        ),
        Candidate(
            "harm_soc_median_by_year", "statistics",
            "Median harm per case, SOC and non-SOC, by year of disposal (rounded)",
            soc["median_by_year"],
            notes=f"Medians are single-case values: rounded to {s.median_rounding:g} days.",
        ),
    ]  # fmt: skip
    for w in est.names:
        out.append(
            Candidate(
                f"harm_totals_{w}", "magnitude",
                f"Total crime harm by SOC status and year ({_label(w)}, days)",
                _magnitude_rows(dc, w, {"case_type": pl.col("soc_case").replace_strict(
                    SOC_LABEL, return_dtype=pl.String), "year": pl.col("year")}),
                spec={"by": ["case_type", "year"], "value": "harm", "person": "person",
                      "margins": True},
                notes="One contribution per defendant-case with a weight; a person's "
                "contributions in a cell are added up before the dominance checks.",
                # The published magnitude table is long: kind, row_label, col_label, n, total.
                figure={"type": "bar", "x": "col_label", "y": "total", "group": "row_label",
                        "horizontal": False, "filter": {"kind": "cell"},
                        "ylabel": "harm (days of custody)"},
            )
        )  # fmt: skip
    bases = {d: b for d, _, b in DIMENSIONS}
    for dim in MAGNITUDE_DIMENSIONS:
        frame = (
            rows[dim]
            .filter(pl.col(f"covered_{s.primary}") > 0)
            .select(pl.col("unit").alias(dim), pl.col(w_col(s.primary)).alias("harm"), "person")
        )
        out.append(
            Candidate(
                f"harm_by_{dim}", "magnitude", f"Total crime harm by {SINGULAR[dim]} "
                f"({primary}, days)", frame,
                spec={"by": [dim], "value": "harm", "person": "person", "margins": True},
                figure={"type": "bar", "x": "row_label", "y": "total", "group": None,
                        "horizontal": True, "filter": {"kind": "cell"},
                        "ylabel": "harm (days of custody)"},
            )
        )  # fmt: skip
    for dim in SHARE_DIMENSIONS:
        out.append(
            Candidate(
                f"harm_shares_{dim}", "statistics",
                f"Share of harm against share of {bases[dim]}, by {SINGULAR[dim]}",
                conc[f"shares_{dim}"],
                notes=f"Harm: {primary}. Intervals for harm shares: {ci_note} A harm share "
                "is withheld with its unit's harm total when that total fails the magnitude "
                "checks (dominance, p-ratio).",
                # 77 courts make an unreadable bar chart: the Lorenz curve shows them.
                figure=None if dim == "court" else {
                    "type": "bar", "x": "unit", "y": "value", "group": "statistic",
                    "horizontal": True, "ylabel": "share"},
            )
        )  # fmt: skip
    for dim, _, _ in DIMENSIONS:
        out.append(
            Candidate(
                f"harm_lorenz_{dim}", "statistics", f"Lorenz curve of harm across {PLURALS[dim]}",
                conc[f"lorenz_{dim}"],
                notes=f"Units ordered from least to most harm; points every "
                f"{s.lorenz_step:.0%} of units, kept only where at least "
                f"{s.min_units_per_point} units separate neighbouring points and the end.",
                figure={"type": "lorenz", "x": "population_share", "y": "value",
                        "group": "weight", "ylabel": "cumulative share of harm"},
            )
        )  # fmt: skip
    out.append(
        Candidate(
            "harm_concentration",
            "statistics",
            "Concentration of harm: Gini coefficients, power-few shares, and whether harm is "
            "distributed like cases",
            conc["concentration"],
            notes=f"{ci_note} Top shares are shown where the top group holds at least "
            f"{s.min_units_per_point} units. The test permutes harm over the counted units "
            "(cases or defendant-cases) keeping each unit's count; statistic D = half the sum "
            "of absolute differences between harm and count shares.",
        )
    )
    out.append(
        Candidate(
            "harm_soc_sensitivity",
            "statistics",
            f"Share of harm in SOC cases under each SOC definition ({primary})",
            sensitivity_table(dc, s.primary, definition_labels),
        )
    )
    return [Candidate(c.output_id, c.kind, c.title, c.data, c.spec, c.extra, c.notes,
                      c.figure, i + 1) for i, c in enumerate(out)]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Rule entry points
# ---------------------------------------------------------------------------------------------


def run_harm_weights(
    *,
    crown_path: str | Path,
    mags_path: str | Path | None,
    ho_codes_path: str | Path,
    ons_weights_path: str | Path,
    ons_mapping_path: str | Path,
    cchi: dict[str, Any] | None,
    equivalents: dict[str, float],
    min_sentences: int,
    out_weights: str | Path,
    out_report: str | Path,
) -> pl.DataFrame:
    """Rule harm_weights: every weight per HO code, and a report of how each was made."""
    import json  # noqa: PLC0415

    from socflow.ingest import load_ho_codes  # noqa: PLC0415

    ho = load_ho_codes(ho_codes_path)
    ons = load_ons_weights(ons_weights_path, ons_mapping_path, ho)
    crown = pl.scan_parquet(crown_path)
    mags = pl.scan_parquet(mags_path) if mags_path else None
    used, excluded = sentences(crown, mags, equivalents)
    derived = data_derived_weights(used, ho, min_sentences)
    cchi_frame, cchi_problems = None, None
    if cchi:
        cchi_frame, cchi_problems = read_cchi(
            cchi["path"], cchi["code_column"], cchi["score_column"], cchi.get("sheet") or None
        )
        log.info("CCHI %s: %s", cchi["path"], cchi_problems)
    weights = build_weights(ho, ons, derived, cchi_frame)
    Path(out_weights).parent.mkdir(parents=True, exist_ok=True)
    weights.write_parquet(out_weights)
    report = {
        "ho_codes": weights.height,
        "weights": {
            w: int(weights[w_col(w)].is_not_null().sum()) for w in available_weights(weights)
        },
        "ons_mapping_methods": dict(sorted(weights.group_by("ons_method").len().iter_rows())),
        "data_derived": {
            "min_sentences": min_sentences,
            "equivalent_days": dict(sorted(equivalents.items())),
            "sentences_used": dict(sorted(used.group_by("source").len().iter_rows())),
            "rows_left_out": [
                {"source": r[0], "reason": r[1], "rows": r[2]} for r in excluded.iter_rows()
            ],
            "codes_by_basis": dict(sorted(weights.group_by("dd_basis").len().iter_rows())),
        },
        "cchi": {"path": str(cchi["path"]), **(cchi_problems or {})} if cchi else None,
    }
    Path(out_report).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    log.info("weights: %s", report["weights"])
    for r in excluded.iter_rows(named=True):
        log.info("sentences left out: %s, %s: %d", r["source"], r["excluded"], r["rows"])
    return weights


def run_harm(
    *,
    crown_path: str | Path,
    flags_path: str | Path,
    person_groups_path: str | Path,
    groups_path: str | Path,
    weights_path: str | Path,
    offences_path: str | Path | None,
    settings: HarmSettings,
    thresholds: SdcThresholds,
    out_candidates: str | Path,
    out_defendant_cases: str | Path,
    out_cases: str | Path,
    out_unweighted: str | Path,
    definition_labels: dict[str, str] | None = None,
) -> list[Candidate]:
    """Rule harm: harm per defendant-case and case, the estimates, the candidates
    (`definition_labels` names the SOC definitions in words)."""
    from socflow.outputs import write_candidates  # noqa: PLC0415

    s = settings
    weights = pl.read_parquet(weights_path)
    names = available_weights(weights)
    if s.primary not in names:
        raise HarmInputError(
            f"{weights_path}: primary weight {s.primary!r} is not available ({names})"
        )
    dc = defendant_case_harm(
        pl.read_parquet(crown_path), pl.read_parquet(flags_path), weights,
        pl.read_parquet(person_groups_path), pl.read_parquet(groups_path),
        first_year=s.first_year, last_year=s.last_year, offence_scope=s.offence_scope,
        offences=pl.read_parquet(offences_path) if offences_path else None,
        soc_groups_only=s.soc_groups_only,
    )  # fmt: skip
    log.info("%d defendant-cases in %d cases, %d-%d", dc.height, dc["case_id"].n_unique(),
             s.first_year, s.last_year)  # fmt: skip
    unweighted = (
        dc.unpivot(index="ho_offence_code", on=[w_col(w) for w in names], variable_name="weight")
        .filter(pl.col("value").is_null())
        .group_by("weight", "ho_offence_code")
        .len("defendant_cases")
        .with_columns(pl.col("weight").str.strip_prefix("w_"))
        .sort("weight", "ho_offence_code")
    )
    Path(out_unweighted).parent.mkdir(parents=True, exist_ok=True)
    unweighted.write_csv(out_unweighted)
    for w in names:
        n = int(unweighted.filter(pl.col("weight") == w)["defendant_cases"].sum())
        log.info("weight %s: %d defendant-cases (%d codes) without a weight, kept with no "
                 "harm", w, n, unweighted.filter(pl.col("weight") == w).height)  # fmt: skip
    est = estimate(dc, names, s)
    log.info("tables and candidates")
    candidates = harm_candidates(est, dc, weights, s, thresholds, definition_labels)
    write_candidates(candidates, out_candidates, "harm")
    log.info("wrote %d candidates", len(candidates))
    dc.write_parquet(out_defendant_cases)
    case_harm(dc, names).write_parquet(out_cases)
    return candidates
