"""The Cox model's design: dummy-coded terms with small levels pooled."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from socflow.survival.clusters import cluster_expr
from socflow.survival.settings import GROUP, NON_SOC_LABEL, CoxSettings


@dataclass
class Design:
    """Dummy-coded covariates for the Cox model."""

    frame: pl.DataFrame  # duration, event, cluster, strata columns and dummies
    columns: list[str]  # dummy column names, in order
    term_of: dict[str, str]  # dummy column -> term
    level_of: dict[str, str]  # dummy column -> level
    reference: dict[str, str]  # term -> reference level
    levels: pl.DataFrame  # term, level, persons, events (every level, after pooling)
    pooled: dict[str, list[str]]  # term -> levels pooled (see pooled_level)
    pooled_into: dict[str, str]  # term -> the level its small levels were merged into


def pooled_level(term: str) -> str:
    """Name of the level that small levels of `term` are pooled into (unique across terms)."""
    return f"other {term.replace('_', ' ')} (pooled)"


def pool_small_levels(
    follow: pl.DataFrame, term: str, min_persons: int, min_events: int
) -> tuple[pl.Expr, list[str], str]:
    """An expression giving `term` with levels too small to publish pooled.

    Levels with fewer than `min_persons` persons or `min_events` events go into one level
    "other <term> (pooled)"; if that pool is itself too small, its members join the largest
    level. Returns the expression, the small levels and the level they were merged into ("" if
    none were small).
    """
    counts = (
        follow.group_by(pl.col(term).cast(pl.String).alias("level"))
        .agg(pl.len().alias("persons"), pl.col("event").sum().alias("events"))
        .sort("persons", "level", descending=[True, False])
    )
    small = counts.filter((pl.col("persons") < min_persons) | (pl.col("events") < min_events))[
        "level"
    ].to_list()
    if not small:
        return pl.col(term).cast(pl.String).alias(term), [], ""
    pooled = counts.filter(pl.col("level").is_in(small))
    target = pooled_level(term)
    if (
        int(pooled["persons"].sum()) < min_persons
        or int(pooled["events"].sum()) < min_events
        or len(small) == counts.height
    ):
        target = counts["level"][0]
    expr = (
        pl.when(pl.col(term).cast(pl.String).is_in(small))
        .then(pl.lit(target))
        .otherwise(pl.col(term).cast(pl.String))
        .alias(term)
    )
    return expr, small, target


def cox_design(
    follow: pl.DataFrame,
    covariates: tuple[str, ...],
    c: CoxSettings,
    cluster: str = "index_case",
) -> tuple[Design, list[str]]:
    """Dummy-code SOC status and the covariates available in `follow`.

    The reference level of each term is its largest level (SOC's is non-SOC). The frame carries
    a column `cluster` (`clusters.cluster_expr` of `cluster`). Returns the design and the
    covariates that were asked for but are missing or constant.
    """
    skipped = [v for v in covariates if v not in follow.columns]
    terms = [v for v in covariates if v in follow.columns]
    pooled: dict[str, list[str]] = {}
    pooled_into: dict[str, str] = {}
    exprs = []
    for term in terms:
        expr, small, target = pool_small_levels(
            follow, term, c.min_level_persons, c.min_level_events
        )
        exprs.append(expr)
        if small:
            pooled[term] = small
            pooled_into[term] = target
    base = follow.select("person", cluster_expr(cluster), "time", "event", pl.col(GROUP), *exprs)
    keep = []
    for term in terms:
        if base[term].n_unique() < 2:
            skipped.append(term)
        else:
            keep.append(term)
    columns: list[str] = []
    term_of: dict[str, str] = {}
    level_of: dict[str, str] = {}
    reference: dict[str, str] = {GROUP: NON_SOC_LABEL}
    dummies: list[pl.Expr] = []
    level_rows = []
    for term in [GROUP, *keep]:
        counts = (
            base.group_by(pl.col(term).alias("level"))
            .agg(pl.len().alias("persons"), pl.col("event").sum().alias("events"))
            .sort("persons", "level", descending=[True, False])
        )
        ref = reference.get(term, counts["level"][0])
        reference[term] = ref
        for level, persons, events in counts.iter_rows():
            level_rows.append((term, level, persons, events))
        for level in sorted(counts["level"].to_list()):
            if level == ref:
                continue
            name = f"{term}[{level}]"
            columns.append(name)
            term_of[name] = term
            level_of[name] = level
            dummies.append((pl.col(term) == level).cast(pl.Float64).alias(name))
    frame = base.with_columns(dummies)
    levels = pl.DataFrame(
        level_rows,
        schema={"term": pl.String, "level": pl.String, "persons": pl.Int64, "events": pl.Int64},
        orient="row",
    )
    return (
        Design(frame, columns, term_of, level_of, reference, levels, pooled, pooled_into),
        skipped,
    )
