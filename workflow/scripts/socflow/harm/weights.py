"""Severity weights per HO offence code: the ONS Crime Severity Score through the mapping, and the
data-derived weight from the sentences in the data."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from socflow.harm.common import NOT_SENTENCED, WEIGHTS, HarmInputError, group_sums, w_col
from socflow.ingest import normalise_ho_code

log = logging.getLogger(__name__)


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
