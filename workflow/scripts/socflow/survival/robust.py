"""Robust (sandwich) variance of the Cox model from Efron-consistent score residuals.

V_robust = D'D with D the cluster sums of the dfbeta residuals U_i V (U the score residuals of
`efron.score_residuals_from`, V the model-based variance): Lin and Wei's (1989) estimator with
clusters, as R's `coxph(..., cluster=)` computes it (no small-sample factor). Without clusters
each row is its own cluster.
"""

from __future__ import annotations

import numpy as np

from socflow.survival.efron import evaluate, risk_sets, score_residuals_from


def score_residuals(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    strata: np.ndarray | None = None,
    ties: str = "efron",
) -> np.ndarray:
    """Cox score residuals at `beta`, one row per observation (Efron form by default).

    Vectorised; they sum to the score, which is zero at the maximum-likelihood estimate.
    """
    x = np.asarray(x, dtype=float)
    rs = risk_sets(time, event, strata, ties)
    centred = np.ascontiguousarray(x - x.mean(0))
    return score_residuals_from(rs, centred, evaluate(rs, centred, np.asarray(beta, float)))


def cluster_sums(values: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Rows of `values` summed within clusters (unchanged without clusters), one row per
    cluster in order of first appearance (`pandas.factorize`)."""
    if cluster is None:
        return values
    cluster = np.asarray(cluster)
    if _first_appearance_codes(cluster):  # factorize would number them as they are
        codes, n_clusters = cluster, int(cluster.max()) + 1 if len(cluster) else 0
    else:
        import pandas as pd  # noqa: PLC0415 (only for labels that are not codes yet)

        codes, uniques = pd.factorize(cluster)
        n_clusters = len(uniques)
    # One count over every (cluster, column) cell, the rows in order: each cell adds its rows in
    # ascending order, as a count per column would, and the sums come out row-major.
    values = np.ascontiguousarray(values)
    p = values.shape[1]
    cells = (codes[:, None] * p + np.arange(p)).ravel()
    sums = np.bincount(cells, weights=values.ravel(), minlength=n_clusters * p)
    return sums.reshape(n_clusters, p)


def _first_appearance_codes(cluster: np.ndarray) -> bool:
    """Whether `cluster` are integer codes 0, 1, 2, ... numbered by first appearance (as
    `cox.cluster_codes` gives them): each row's code at most one above every earlier one."""
    if cluster.dtype.kind not in "iu" or len(cluster) == 0 or cluster[0] != 0:
        return False
    highest_before = np.maximum.accumulate(cluster)[:-1]
    return bool(np.all(cluster[1:] <= highest_before + 1) and cluster.min() >= 0)


def sandwich(residuals: np.ndarray, variance: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """V (sum over clusters of U_c U_c') V from per-row score residuals."""
    dfbeta = cluster_sums(residuals, cluster) @ variance
    return dfbeta.T @ dfbeta


def robust_covariance(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    strata: np.ndarray | None,
    variance: np.ndarray,
    cluster: np.ndarray | None = None,
    ties: str = "efron",
) -> np.ndarray:
    """Sandwich variance of the Cox coefficients, clustered by `cluster` (else per row)."""
    return sandwich(score_residuals(time, event, x, beta, strata, ties), variance, cluster)
