"""Normal, chi-squared and Student t quantiles and tail areas, and average ranks, without
importing scipy.stats.

scipy.stats computes these with the special functions used here: `norm.ppf(p)` is
`ndtri(p)`, `norm.sf(x)` is `ndtr(-x)`, `chi2.sf(x, df)` is `chdtrc(df, x)` and
`t.ppf(p, df)` is `stdtrit(df, p)`, so the results are the same to the bit (tests compare
them). Importing scipy.stats costs a rule process about 0.6 s, and most rules need nothing
else from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special


def normal_quantile(p: Any) -> Any:
    """The standard normal quantile at `p` (scipy.stats.norm.ppf)."""
    return special.ndtri(p)


def normal_sf(x: Any) -> Any:
    """The standard normal upper tail area beyond `x` (scipy.stats.norm.sf)."""
    return special.ndtr(np.negative(x))


def chi2_sf(x: Any, df: Any) -> Any:
    """The chi-squared upper tail area beyond `x` on `df` degrees of freedom
    (scipy.stats.chi2.sf: 1 below the support, where chdtrc gives NaN)."""
    return special.chdtrc(df, np.maximum(x, 0.0))


def t_quantile(p: Any, df: Any) -> Any:
    """Student's t quantile at `p` (0 < p <= 1) on `df` degrees of freedom (scipy.stats.t.ppf)."""
    return special.stdtrit(df, p)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing the average of their positions
    (scipy.stats.rankdata(values, method="average")); `values` without NaN."""
    values = np.asarray(values)
    if values.size and np.isnan(values).any():
        raise ValueError("average_ranks: values contain NaN")
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (0.5 * (ends + (ends - counts) + 1))[inverse.reshape(-1)]
