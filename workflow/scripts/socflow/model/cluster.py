"""Cluster-robust (CR1) covariance of a logistic fit, from the sparse design.

The same sandwich as statsmodels' `cov_cluster` (bread: the inverse Hessian; meat: the outer
products of the per-cluster sums of the row scores; small-sample factor G/(G-1) * (N-1)/(N-K)),
but the row scores are never formed as a dense rows x columns array: the per-cluster sums are
one sparse product of a clusters x rows matrix of residuals with the sparse design. Only the
order of the floating-point sums differs from statsmodels' (about 1e-15 relative).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def cluster_codes(clusters: np.ndarray) -> np.ndarray:
    """Every row's cluster as a code 0..G-1 in sorted order of the cluster labels (what
    `np.unique(clusters, return_inverse=True)` gives), without sorting the rows when the
    labels are small non-negative integers."""
    if (
        np.issubdtype(clusters.dtype, np.integer)
        and len(clusters)
        and 0 <= clusters.min()
        and clusters.max() < 4 * len(clusters)
    ):
        present = np.bincount(clusters) > 0
        return (np.cumsum(present) - 1)[clusters]
    return np.unique(clusters, return_inverse=True)[1].ravel()


def cluster_score_sums(
    x: sp.csr_matrix, resid: np.ndarray, groups: np.ndarray, of_row: np.ndarray | None = None
) -> np.ndarray:
    """(clusters, columns) sums of the row scores x_i * resid_i over each cluster's rows
    (`groups`: every row's cluster code 0..G-1, every code present). With `of_row`, `x` holds
    one row per covariate pattern and `of_row` is every row's pattern."""
    n = len(resid)
    n_groups = int(groups.max()) + 1
    columns = np.arange(n) if of_row is None else of_row
    # Clusters x patterns: a row's residual lands in its (cluster, pattern) cell.
    by_cluster = sp.csr_matrix((resid, (groups, columns)), shape=(n_groups, x.shape[0]))
    return np.asarray((by_cluster @ x).toarray())


def cluster_covariance(
    x: sp.csr_matrix,
    resid: np.ndarray,
    groups: np.ndarray,
    hessian: np.ndarray,
    of_row: np.ndarray | None = None,
) -> np.ndarray:
    """CR1 covariance of the coefficients: `hessian` is the log-likelihood's Hessian at the
    estimate, `resid` each row's outcome minus its fitted probability (`of_row`: see
    `cluster_score_sums`)."""
    n, k = len(resid), x.shape[1]
    sums = cluster_score_sums(x, resid, groups, of_row)
    n_groups = sums.shape[0]
    bread = np.linalg.inv(hessian)
    cov = bread @ (sums.T @ sums) @ bread.T
    return cov * (n_groups / (n_groups - 1.0) * ((n - 1.0) / float(n - k)))
