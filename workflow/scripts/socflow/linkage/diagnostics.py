"""Whom the linked analyses describe: who is found in each linked dataset, and how the found
differ from the others (linkage diagnostics)."""

from __future__ import annotations

import polars as pl

from socflow.headline import wilson_interval
from socflow.linkage.balance import BINARY, CONTINUOUS, standardised_differences
from socflow.linkage.settings import NON_SOC_LABEL, SOC_LABEL

ALL_YEARS = "all years"
CUSTODIAL = "immediate custody at the index case"
EVERYONE = "all index cases"
# The pseudo-dataset of persons with an OASys assessment in the profile window.
OASYS_WINDOW_LABEL = "OASys assessment in the profile window"
NOT_KNOWN = "Not known"  # offence group of an index case without one (cohort)


def soc_status() -> pl.Expr:
    return pl.when(pl.col("soc")).then(pl.lit(SOC_LABEL)).otherwise(pl.lit(NON_SOC_LABEL))


def found_shares(
    found: pl.DataFrame, datasets: dict[str, str], level: float = 0.95
) -> pl.DataFrame:
    """Share of cohort persons found in each dataset, SOC and non-SOC.

    `found` is the cohort with a boolean column per key of `datasets` (column -> label). Rows:
    persons with immediate custody at the index case, by index year and over all years; and
    all persons over all years. Columns: dataset, population, soc_status, index_year,
    found (count), n_persons (base), share, ci_lower, ci_upper (Wilson).
    """
    parts = []
    base = found.with_columns(
        soc_status().alias("soc_status"), pl.col("index_year").cast(pl.String)
    )
    custodial = base.filter(pl.col("custodial"))
    for column, label in datasets.items():
        for population, rows, by_year in ((CUSTODIAL, custodial, True), (EVERYONE, base, False)):
            keys = ["soc_status", "index_year"] if by_year else ["soc_status"]
            groups = [rows.group_by(keys).agg(_found(column))]
            if by_year:
                groups.append(
                    rows.group_by("soc_status")
                    .agg(_found(column))
                    .with_columns(pl.lit(ALL_YEARS).alias("index_year"))
                )
            else:
                groups = [g.with_columns(pl.lit(ALL_YEARS).alias("index_year")) for g in groups]
            for g in groups:
                parts.append(
                    g.select(
                        pl.lit(label).alias("dataset"),
                        pl.lit(population).alias("population"),
                        "soc_status",
                        "index_year",
                        "found",
                        "n_persons",
                    )
                )
    if not parts:
        return pl.DataFrame(
            schema={
                "dataset": pl.String,
                "population": pl.String,
                "soc_status": pl.String,
                "index_year": pl.String,
                "found": pl.Int64,
                "n_persons": pl.Int64,
                "share": pl.Float64,
                "ci_lower": pl.Float64,
                "ci_upper": pl.Float64,
            }
        )
    order = {label: i for i, label in enumerate(datasets.values())}
    lo, hi = wilson_interval(pl.col("found"), pl.col("n_persons"), level)
    return (
        pl.concat(parts)
        .with_columns(
            pl.col("found").cast(pl.Int64),
            pl.col("n_persons").cast(pl.Int64),
            (pl.col("found") / pl.col("n_persons")).alias("share"),
            lo,
            hi,
        )
        .sort(
            pl.col("dataset").replace_strict(order, return_dtype=pl.Int32),
            pl.col("population") != CUSTODIAL,
            pl.col("soc_status") != SOC_LABEL,
            pl.col("index_year") == ALL_YEARS,
            "index_year",
        )
    )


def _found(column: str) -> list[pl.Expr]:
    return [pl.col(column).sum().alias("found"), pl.len().alias("n_persons")]


def cohort_features(cohort: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """The characteristics on which linked and unlinked persons are compared, as Float columns
    (indicators 0/1; null where not known) beside `person_id`, and their kinds."""
    kinds: dict[str, str] = {"SOC (primary definition)": BINARY}
    exprs = [pl.col("soc").cast(pl.Float64).alias("SOC (primary definition)")]
    kinds["age at offence (years)"] = CONTINUOUS
    exprs.append(pl.col("age_at_offence").cast(pl.Float64).alias("age at offence (years)"))
    kinds["male"] = BINARY
    exprs.append(
        pl.when(pl.col("sex").is_in(["M", "F"]))
        .then((pl.col("sex") == "M").cast(pl.Float64))
        .alias("male")
    )
    for column, prefix in (("offence_group", "offence group"), ("sentence_type", "sentence")):
        levels = sorted(cohort[column].drop_nulls().unique().to_list())
        for lvl in levels:
            if lvl == NOT_KNOWN:
                continue
            name = f"{prefix}: {lvl.replace('_', ' ')}"
            kinds[name] = BINARY
            exprs.append(
                pl.when(pl.col(column).is_not_null() & (pl.col(column) != NOT_KNOWN))
                .then((pl.col(column) == lvl).cast(pl.Float64))
                .alias(name)
            )
    term = "custodial term (days; immediate custody)"
    kinds[term] = CONTINUOUS
    exprs.append(
        pl.when(pl.col("custodial")).then(pl.col("custody_days").cast(pl.Float64)).alias(term)
    )
    return cohort.select("person_id", *exprs), kinds


def linked_balance(
    found: pl.DataFrame, datasets: dict[str, str], level: float = 0.95
) -> pl.DataFrame:
    """Linked against unlinked persons, per dataset, on every cohort characteristic.

    Columns: dataset, characteristic, kind, n1 (linked), mean1, n0 (unlinked), mean0, smd,
    ci_lower, ci_upper, n_persons (see socflow.linkage.balance).
    """
    features, kinds = cohort_features(found)
    parts = []
    for column, label in datasets.items():
        frame = features.with_columns(found[column].alias("_linked"))
        diffs = standardised_differences(frame, "_linked", kinds, level)
        parts.append(diffs.select(pl.lit(label).alias("dataset"), pl.all()))
    return pl.concat(parts) if parts else standardised_differences(features, "soc", {})
