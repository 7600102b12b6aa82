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


def cluster_score_sums(x: sp.csr_matrix, resid: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(clusters, columns) sums of the row scores x_i * resid_i over each cluster's rows
    (`groups`: cluster codes 0..G-1, every code present)."""
    n = x.shape[0]
    n_groups = int(groups.max()) + 1
    by_cluster = sp.csr_matrix((resid, (groups, np.arange(n))), shape=(n_groups, n))
    return np.asarray((by_cluster @ x).toarray())


def cluster_covariance(
    x: sp.csr_matrix, resid: np.ndarray, groups: np.ndarray, hessian: np.ndarray
) -> np.ndarray:
    """CR1 covariance of the coefficients: `hessian` is the log-likelihood's Hessian at the
    estimate, `resid` each row's outcome minus its fitted probability."""
    n, k = x.shape
    sums = cluster_score_sums(x, resid, groups)
    n_groups = sums.shape[0]
    bread = np.linalg.inv(hessian)
    cov = bread @ (sums.T @ sums) @ bread.T
    return cov * (n_groups / (n_groups - 1.0) * ((n - 1.0) / float(n - k)))
