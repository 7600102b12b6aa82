"""The modelling population: one row per defendant-case, and what was excluded and why."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from socflow.model.settings import (
    DEFENDANTS_BAND,
    PRIMARY,
    SOC_NO,
    SOC_TERM,
    SOC_YES,
    ModelConfigError,
    ModelSettings,
)


def band_labels(edges: tuple[int, ...]) -> list[str]:
    """Labels of integer bands with these lower edges: 1, 2, 3-4, 5-9, 10+."""
    labels = []
    for lo, nxt in zip(edges, [*edges[1:], None], strict=True):
        if nxt is None:
            labels.append(f"{lo}+")
        elif nxt - 1 == lo:
            labels.append(str(lo))
        else:
            labels.append(f"{lo}-{nxt - 1}")
    return labels


def _band_expr(col: str, edges: tuple[int, ...]) -> pl.Expr:
    expr = pl.lit(None, dtype=pl.String)
    for lo, label in zip(edges, band_labels(edges), strict=True):
        expr = pl.when(pl.col(col) >= lo).then(pl.lit(label)).otherwise(expr)
    return expr


def soc_definitions(flags: pl.DataFrame, soc_flag: str = "soc") -> dict[str, str]:
    """SOC definitions in the flags table: name -> column (primary first, then variants in the
    flagging stage's order)."""
    prefix = f"{soc_flag}__"
    out = {PRIMARY: soc_flag}
    out.update({c.removeprefix(prefix): c for c in flags.columns if c.startswith(prefix)})
    return out


def soc_column(definition: str) -> str:
    """The population column holding SOC status under a definition."""
    return SOC_TERM if definition == PRIMARY else f"{SOC_TERM}__{definition}"


def crown_columns(settings: ModelSettings) -> set[str]:
    """The Crown Court columns `build_population` reads (the canonical table has many more)."""
    return {
        "defendant_on_case_id",
        "person",
        "defendant_id",
        "receipt_type",
        "outcome",
        "n_defendants",
        settings.cluster,
        *settings.model_terms(),
    }


def read_inputs(
    crown_path: str | Path, flags_path: str | Path, settings: ModelSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The Crown Court table and the SOC flags, only the columns `build_population` uses: the
    same population as from the whole tables, for a fraction of the reading and memory."""
    crown_schema = pl.read_parquet_schema(crown_path)
    wanted = crown_columns(settings)
    crown = pl.read_parquet(crown_path, columns=[c for c in crown_schema if c in wanted])
    # Flag columns that the Crown Court table also has are taken from the latter.
    flag_schema = pl.read_parquet_schema(flags_path)
    flags = pl.read_parquet(
        flags_path,
        columns=[c for c in flag_schema if c == "defendant_on_case_id" or c not in crown_schema],
    )
    return crown, flags


def build_population(
    crown: pl.DataFrame, flags: pl.DataFrame, settings: ModelSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The modelling population, one row per defendant-case, and what was excluded and why.

    Returns (population, exclusions). The population has `defendant_on_case_id`, `person` (an
    integer code per person), `person_key` (the person key of the flags), `cluster`, `outcome`,
    one Boolean column per modelled outcome, SOC status under every definition (`soc`,
    `soc__<name>`: "SOC" / "non-SOC"), and every formula term (categorical terms as strings,
    numeric terms as floats). Exclusions has one row per reason (the first
    that applies) with `defendant_cases` and distinct `persons`.
    """
    defs = soc_definitions(flags, settings.soc_flag)
    flag_cols = [c for c in flags.columns if c not in crown.columns]
    joined = crown.join(
        flags.select("defendant_on_case_id", *flag_cols).with_columns(pl.lit(True).alias("_flag")),
        on="defendant_on_case_id",
        how="left",
    )
    if "n_defendants" in joined.columns:
        joined = joined.with_columns(
            _band_expr("n_defendants", settings.defendants_bands).alias(DEFENDANTS_BAND)
        )
    terms = [t for t in settings.model_terms() if t != SOC_TERM]
    missing = [t for t in [*terms, settings.cluster] if t not in joined.columns]
    if missing:
        raise ModelConfigError(
            f"model: term(s) {missing} are neither canonical Crown Court columns nor SOC flag "
            f"columns (nor {DEFENDANTS_BAND})"
        )
    person = pl.coalesce(
        pl.col("person"), pl.concat_str(pl.lit("crown:"), pl.col("defendant_id"))
    ).alias("person")
    receipt = pl.col("receipt_type").cast(pl.String)
    outcome = pl.col("outcome").cast(pl.String)
    reason = (
        pl.when(~receipt.is_in(list(settings.receipt_types)))
        .then(pl.format("receipt type outside the population: {}", receipt))
        .when(outcome.is_in(list(settings.exclude_outcomes)))
        .then(pl.format("outcome excluded by configuration: {}", outcome))
        .when(pl.col("_flag").is_null())
        .then(pl.lit("no SOC flag for the defendant-case"))
    )
    conditions = [
        ~receipt.is_in(list(settings.receipt_types)),
        outcome.is_in(list(settings.exclude_outcomes)),
        pl.col("_flag").is_null(),
    ]
    for col in [*terms, settings.cluster, *defs.values()]:
        reason = reason.when(pl.col(col).is_null()).then(pl.lit(f"missing value: {col}"))
        conditions.append(pl.col(col).is_null())
    # Which condition excludes a row, as a number: the reason's text is written for the
    # excluded rows only (a chain of string branches over every row costs about 0.4 s).
    first = pl.when(conditions[0]).then(0)
    for i, condition in enumerate(conditions[1:], start=1):
        first = first.when(condition).then(i)
    joined = joined.with_columns(person, first.otherwise(None).alias("_excluded_by"))
    excluded = joined.filter(pl.col("_excluded_by").is_not_null())
    exclusions = (
        excluded.with_columns(reason.otherwise(None).alias("_reason"))
        .group_by(pl.col("_reason").alias("reason"))
        .agg(
            pl.len().alias("defendant_cases"),
            pl.col("person").n_unique().alias("persons"),
        )
        .sort("reason")
    )
    kept = joined.filter(pl.col("_excluded_by").is_null())
    events = {k: outcome.is_in(list(v)).alias(k) for k, v in settings.outcome_sets().items()}
    soc_label = [
        pl.when(pl.col(col)).then(pl.lit(SOC_YES)).otherwise(pl.lit(SOC_NO)).alias(soc_column(d))
        for d, col in defs.items()
    ]
    term_cols = [
        pl.col(t).cast(pl.Float64) if t in settings.numeric_terms else pl.col(t).cast(pl.String)
        for t in terms
    ]
    population = kept.select(
        "defendant_on_case_id",
        # Integer codes count distinct persons faster than strings; the key stays alongside.
        pl.col("person").rank("dense").cast(pl.UInt32).alias("person"),
        pl.col("person").alias("person_key"),
        pl.col(settings.cluster).cast(pl.String).alias("cluster"),
        outcome.alias("outcome"),
        *events.values(),
        *soc_label,
        *term_cols,
    )
    # Defendant-case order (extracts usually come in it already: then no sort is needed, but
    # the rows are made one chunk as a sort leaves them, which the Parquet row groups follow).
    if population["defendant_on_case_id"].is_sorted():
        population = population.rechunk()
    else:
        population = population.sort("defendant_on_case_id")
    return population, exclusions
