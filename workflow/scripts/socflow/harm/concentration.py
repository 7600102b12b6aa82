"""How evenly harm falls across units: Gini coefficients, top shares, Lorenz points and the
dissimilarity index, from totals or from resampled multiplicities."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from socflow.harm.common import w_col


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
