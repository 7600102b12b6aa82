"""Standardised differences between two groups, with intervals.

For a characteristic with means m1, m0 and variances v1, v0 in the two groups (for a 0/1
indicator v = p(1 - p)), the standardised difference is d = (m1 - m0) / sqrt((v1 + v0) / 2)
(Austin 2009). Its interval is d +/- z se with the large-sample variance of a standardised
mean difference, se^2 = (n1 + n0) / (n1 n0) + d^2 / (2 (n1 + n0)) (Hedges and Olkin 1985).
|d| above 0.1 is the usual mark of a difference that matters.

`n_persons` of each row is what a published difference rests on: for an indicator, the
smallest of the four counts it is made from (with and without, in each group), since the two
shares and the group sizes give those counts back; for a count (e.g. of prior convictions),
whose mean of 0 would say that no one had any, the same with "any" for "with"; for a
measurement, the smaller group. `k1`, `k0` are the persons with a non-zero value per group.
"""

from __future__ import annotations

import polars as pl

from socflow.distributions import normal_quantile

# Kinds of characteristic.
BINARY, COUNT, CONTINUOUS = "binary", "count", "continuous"


def standardised_differences(
    features: pl.DataFrame,
    group: str,
    kinds: dict[str, str],
    level: float = 0.95,
) -> pl.DataFrame:
    """Per characteristic (a Float column of `features` named in `kinds`): the mean in each
    group (`group` is a boolean column; True is the first group), the standardised difference
    of True against False with its interval, and the counts it rests on.

    Columns: characteristic, kind, n1, k1, mean1, var1, n0, k0, mean0, var0 (sample variances), smd,
    ci_lower, ci_upper, n_persons.
    Nulls are left out characteristic by characteristic. Rows in `kinds` order.
    """
    z = float(normal_quantile(0.5 + level / 2))
    names = list(kinds)
    if not names:
        return _empty()
    # One wide aggregation per group: unpivoting every characteristic into one long column
    # would copy the whole table once per characteristic.
    stats_of = {"n": lambda x: x.count(), "m": lambda x: x.mean(),
                "v": lambda x: x.var(ddof=1), "k": lambda x: (x != 0).sum()}  # fmt: skip
    wide = (
        features.select(pl.col(group).alias("_g"), *[pl.col(c).cast(pl.Float64) for c in names])
        .drop_nulls("_g")
        .group_by("_g")
        .agg(
            fn(pl.col(c)).alias(f"{i}:{stat}")
            for i, c in enumerate(names)
            for stat, fn in stats_of.items()
        )
    )
    per_group = pl.concat(
        [
            wide.select(
                pl.lit(c).alias("characteristic"),
                "_g",
                *[pl.col(f"{i}:{stat}").alias(stat) for stat in stats_of],
            )
            for i, c in enumerate(names)
        ],
        how="vertical_relaxed",
    ).filter(pl.col("n") > 0)
    frame = pl.DataFrame(
        {"characteristic": names, "kind": [kinds[c] for c in names]},
        schema={"characteristic": pl.String, "kind": pl.String},
    )
    for flag, suffix in ((True, "1"), (False, "0")):
        part = per_group.filter(pl.col("_g") == flag).select(
            "characteristic",
            pl.col("n").cast(pl.Int64).alias(f"n{suffix}"),
            pl.col("k").cast(pl.Int64).alias(f"k{suffix}"),
            pl.col("m").alias(f"mean{suffix}"),
            pl.col("v").alias(f"var{suffix}"),
        )
        frame = frame.join(part, on="characteristic", how="left")
    frame = frame.with_columns(pl.col("n1", "n0", "k1", "k0").fill_null(0))
    binary = pl.col("kind") == BINARY
    var1 = pl.when(binary).then(pl.col("mean1") * (1 - pl.col("mean1"))).otherwise("var1")
    var0 = pl.when(binary).then(pl.col("mean0") * (1 - pl.col("mean0"))).otherwise("var0")
    pooled = ((var1 + var0) / 2).sqrt()
    n1, n0 = pl.col("n1").cast(pl.Float64), pl.col("n0").cast(pl.Float64)
    smd = pl.when(pooled > 0).then((pl.col("mean1") - pl.col("mean0")) / pooled)
    se = ((n1 + n0) / (n1 * n0) + pl.col("smd") ** 2 / (2 * (n1 + n0))).sqrt()
    counts = pl.min_horizontal(
        pl.col("k1"), pl.col("n1") - pl.col("k1"), pl.col("k0"), pl.col("n0") - pl.col("k0")
    )
    return (
        frame.with_columns(smd.alias("smd"), var1.alias("var1"), var0.alias("var0"))
        .with_columns(
            (pl.col("smd") - z * se).alias("ci_lower"),
            (pl.col("smd") + z * se).alias("ci_upper"),
            pl.when(pl.col("kind").is_in([BINARY, COUNT]))
            .then(counts)
            .otherwise(pl.min_horizontal(n1, n0))
            .cast(pl.Int64)
            .alias("n_persons"),
        )
        .select(
            "characteristic",
            "kind",
            "n1",
            "k1",
            "mean1",
            "var1",
            "n0",
            "k0",
            "mean0",
            "var0",
            "smd",
            "ci_lower",
            "ci_upper",
            "n_persons",
        )
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "characteristic": pl.String,
            "kind": pl.String,
            "n1": pl.Int64,
            "k1": pl.Int64,
            "mean1": pl.Float64,
            "var1": pl.Float64,
            "n0": pl.Int64,
            "k0": pl.Int64,
            "mean0": pl.Float64,
            "var0": pl.Float64,
            "smd": pl.Float64,
            "ci_lower": pl.Float64,
            "ci_upper": pl.Float64,
            "n_persons": pl.Int64,
        }
    )
