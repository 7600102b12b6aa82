"""The permutation test of whether harm is distributed like cases."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from socflow.harm.common import w_col
from socflow.harm.concentration import dissimilarity


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
        contrib["court"].filter(pl.col("count") > 0).select("case_id", "unit", hcol)
        .join(contrib["region"].select("case_id", pl.col("unit").alias("region")), on="case_id")
        .sort("unit", "case_id")
    )  # fmt: skip

    def by_unit(dim: str) -> pl.DataFrame:
        # Only the columns used: the sort orders the same keys, carrying less.
        return rows[dim].select("unit", hcol).sort("unit")

    frames = {
        "cases": (case_frame, {"court": "unit", "region": "region"}),
        "offence_group": (by_unit("offence_group"), {"offence_group": "unit"}),
        "soc_category": (by_unit("soc_category"), {"soc_category": "unit"}),
        "soc_group": (by_unit("soc_group"), {"soc_group": "unit"}),
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
