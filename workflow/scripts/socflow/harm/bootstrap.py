"""Bootstrap replicates: cases (or courts) drawn as type counts, units drawn as multiplicities,
and percentile intervals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from socflow.harm.common import w_col
from socflow.harm.concentration import multiplicity_stats
from socflow.harm.design import Design
from socflow.harm.settings import HarmSettings


def replicate_type_counts(
    design: Design,
    n_replicates: int,
    rng: np.random.Generator,
    resample: str,
    block: int | None = None,
) -> Iterator[np.ndarray]:
    """Blocks of bootstrap replicates, as (replicates x types) counts of each case type.

    `resample="cases"`: every replicate draws as many cases as there are, with replacement.
    `resample="courts"`: it draws courts with replacement, each bringing all its cases.
    The draws do not depend on `block` (replicates per block; default: as many as keep a
    block's draws near 8 MB).
    """
    n_cases = len(design.type_of_case)
    if block is None:
        # Large blocks are mapped afresh by the allocator and fault in page by page: at 773k
        # cases, blocks of 32 replicates (99 MB of draws) cost 4 s of system time, blocks of
        # 2 next to none, for the same user time.
        block = max(1, min(64, 2**21 // max(1, n_cases)))
    # The type codes in the narrowest integer that holds them: gathering a code for every
    # drawn case reads the table at random, and a smaller table stays in cache (twice as fast
    # with two bytes a code as with four).
    narrow = np.uint16 if design.n_types <= 2**16 else np.int32
    type_code = design.type_of_case.astype(narrow)
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
            # call per replicate), tallied by type one replicate at a time.
            draws = rng.integers(0, n_cases, size=(r, n_cases), dtype=np.int32)
            # The draws lie in range: "clip" never clips, and skips the bounds check that
            # makes plain indexing twice as slow.
            codes = np.take(type_code, draws, mode="clip")
            counts = np.stack([np.bincount(row, minlength=design.n_types) for row in codes])
        done += r
        yield counts.astype(np.float64)


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along the first axis (NaN replicates ignored)."""
    alpha = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore"):
        lower = np.nanquantile(replicates, alpha, axis=0)
        upper = np.nanquantile(replicates, 1.0 - alpha, axis=0)
    return lower, upper


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
