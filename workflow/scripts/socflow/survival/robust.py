"""Robust (sandwich) variance of the Cox model from Efron-consistent score residuals.

V_robust = D'D with D the cluster sums of the dfbeta residuals U_i V (U the score residuals of
`efron.score_residuals_from`, V the model-based variance): Lin and Wei's (1989) estimator with
clusters, as R's `coxph(..., cluster=)` computes it (no small-sample factor). Without clusters
each row is its own cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    """Rows of `values` summed within clusters (unchanged without clusters)."""
    if cluster is None:
        return values
    codes, uniques = pd.factorize(np.asarray(cluster))
    return np.column_stack(
        [
            np.bincount(codes, weights=values[:, j], minlength=len(uniques))
            for j in range(values.shape[1])
        ]
    )


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
