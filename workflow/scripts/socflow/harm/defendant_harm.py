"""Harm per Crown Court defendant-case and per case."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import polars as pl

from socflow.harm.common import group_sums, w_col
from socflow.harm.weights import available_weights

log = logging.getLogger(__name__)


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
    unflagged = crown.height - base.height
    if unflagged:
        log.warning("%d Crown Court defendant-cases have no SOC flags and are left out", unflagged)
    base = _with_case_attributes(base)
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
        harm = None
    keep = groups
    if soc_groups_only:
        keep = groups.filter(pl.col("share_cases_soc") > 0)
    member = person_groups.join(keep.select("group_id"), on="group_id", how="semi").select(
        "person", pl.col("group_id").cast(pl.String).alias("soc_group")
    )
    if harm is None:
        # The principal offence's weights, joined on the code directly (the rows are sorted
        # below): no second join of every defendant-case on its identifier.
        with_harm = base.join(wtab, on="ho_offence_code", how="left").with_columns(
            pl.col(c).is_null().cast(pl.UInt32).alias(f"n_unweighted_{c}") for c in wcols
        )
    else:
        with_harm = base.join(harm, on="defendant_on_case_id", how="left")
    return (
        with_harm.join(member, on="person", how="left")
        .sort("case_id", "defendant_on_case_id")
        .with_columns((pl.col("person").rank("dense") - 1).cast(pl.Int64).alias("person_code"))
    )


def _with_case_attributes(base: pl.DataFrame) -> pl.DataFrame:
    """Every defendant-case with its case's year, court and region (those of the case's
    earliest-disposed defendant-case, ties broken by identifier) and SOC status (any of its
    defendant-cases), in order of case, disposal year and identifier.

    Once sorted, a case's rows are contiguous: its first row is read by position, instead of
    grouping the cases and joining the groups back on the case identifier."""
    ordered = base.sort("case_id", "disposal_year", "defendant_on_case_id")
    case = ordered["case_id"].rle_id().to_numpy()
    first = np.flatnonzero(np.r_[True, case[1:] != case[:-1]]) if len(case) else case
    first_row = pl.Series(first[case] if len(case) else case, dtype=pl.Int64)
    soc_case = ordered["soc_case"].to_numpy().astype(np.int8)
    any_soc = np.maximum.reduceat(soc_case, first)[case] if len(case) else soc_case
    return ordered.drop("court_id", "court", "region", "soc_case").with_columns(
        ordered["disposal_year"].gather(first_row).cast(pl.Int32).alias("year"),
        ordered["court_id"].gather(first_row),
        ordered["court"].gather(first_row),
        ordered["region"].gather(first_row),
        pl.Series("soc_case", any_soc.astype(bool), dtype=pl.Boolean),
    )


def case_harm(dc: pl.DataFrame, weight_names: Sequence[str]) -> pl.DataFrame:
    """One row per case: harm under each weight (sum over its defendant-cases with a weight;
    null when none has one), number of defendant-cases, SOC status, year, court, region."""
    wcols = [w_col(w) for w in weight_names]
    return group_sums(
        dc, ["case_id"], nullable=wcols,
        firsts=["year", "court_id", "court", "region", "soc_case"], count="n_defendants",
    ).sort("case_id")  # fmt: skip
