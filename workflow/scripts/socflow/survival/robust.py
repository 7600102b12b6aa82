"""Robust (sandwich) variance of the Cox model from score residuals."""

from __future__ import annotations

import numpy as np


def _sorted_blocks(
    time: np.ndarray, strata: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sort rows by stratum then descending time; label (stratum, time) blocks.

    Returns order, block id per sorted row, the index of each block's last row, and the stratum
    of each block.
    """
    order = np.lexsort((-time, strata))
    t = time[order]
    st = strata[order]
    new_block = np.r_[True, (t[1:] != t[:-1]) | (st[1:] != st[:-1])]
    block = np.cumsum(new_block) - 1
    last = np.r_[np.flatnonzero(new_block[1:]), len(t) - 1]
    return order, block, last, st[last]


def _within_stratum_cumsum(values: np.ndarray, strata_of_row: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 0 restarting at each new stratum (rows grouped by stratum)."""
    csum = np.cumsum(values, axis=0)
    start = np.r_[True, strata_of_row[1:] != strata_of_row[:-1]]
    first = np.flatnonzero(start)
    offset_idx = np.repeat(first, np.diff(np.r_[first, len(strata_of_row)]))
    before = np.where(
        (offset_idx > 0)[:, None] if values.ndim == 2 else offset_idx > 0,
        csum[np.maximum(offset_idx - 1, 0)],
        0.0,
    )
    return csum - before


def breslow_terms(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, strata: np.ndarray
) -> dict[str, np.ndarray]:
    """Risk-set means and cumulative hazard terms at each row's time (Breslow, tie-aware).

    Returns, per row in the original order: mean (weighted covariate mean of the risk set at the
    row's time), a (sum over event times up to the row's time of d/S0) and b (same sum of
    d * mean / S0), plus risk (exp of the linear predictor).
    """
    risk = np.exp(x @ beta)
    order, block, last, block_stratum = _sorted_blocks(time, strata)
    xs, rs, es = x[order], risk[order], event[order].astype(float)
    st_sorted = strata[order]
    s0 = _within_stratum_cumsum(rs, st_sorted)[last]
    s1 = _within_stratum_cumsum(xs * rs[:, None], st_sorted)[last]
    mean_block = s1 / s0[:, None]
    d_block = np.bincount(block, weights=es, minlength=len(last))
    # Blocks are in descending time within stratum; "up to this time" sums the stratum's blocks
    # from this one to its last (earliest time), i.e. a reverse cumulative sum.
    inc_a = d_block / s0
    inc_b = mean_block * inc_a[:, None]
    rev = np.arange(len(last))[::-1]
    a_block = _within_stratum_cumsum(inc_a[rev], block_stratum[rev])[rev]
    b_block = _within_stratum_cumsum(inc_b[rev], block_stratum[rev])[rev]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    row_block = block[inverse]
    return {
        "mean": mean_block[row_block],
        "a": a_block[row_block],
        "b": b_block[row_block],
        "risk": risk,
    }


def score_residuals(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, strata: np.ndarray
) -> np.ndarray:
    """Cox score residuals (Breslow form), one row per observation, vectorised.

    r_i = delta_i (x_i - mean(t_i)) - exp(eta_i) (x_i A(t_i) - B(t_i)) with A, B the cumulative
    sums of d/S0 and d*mean/S0 over event times up to t_i in the row's stratum. Matches
    lifelines' (quadratic) score residuals when times are untied.
    """
    t = breslow_terms(time, event, x, beta, strata)
    e = event.astype(float)[:, None]
    return e * (x - t["mean"]) - t["risk"][:, None] * (x * t["a"][:, None] - t["b"])


def robust_covariance(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    strata: np.ndarray,
    variance: np.ndarray,
    cluster: np.ndarray | None = None,
) -> np.ndarray:
    """Sandwich variance V (sum over clusters of U_c U_c') V, U the score residuals."""
    u = score_residuals(time, event, x, beta, strata)
    if cluster is not None:
        _, codes = np.unique(cluster, return_inverse=True)
        summed = np.zeros((codes.max() + 1, u.shape[1]))
        np.add.at(summed, codes, u)
        u = summed
    dfbeta = u @ variance
    return dfbeta.T @ dfbeta
