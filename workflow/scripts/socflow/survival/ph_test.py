"""Proportional-hazards test of a fitted Cox model."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from socflow.survival.robust import breslow_terms


def schoenfeld_test(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    strata: np.ndarray,
    variance: np.ndarray,
    blocks: dict[str, list[int]],
) -> pl.DataFrame:
    """Proportional-hazards test on scaled Schoenfeld residuals against rank of event time.

    The Grambsch-Therneau approximate test as lifelines' proportional_hazard_test (rank
    transform) computes it, per term (joint over a term's dummies) and globally. Returns term,
    chi2, df, p_value.
    """
    t = breslow_terms(time, event, x, beta, strata)
    ev = event.astype(bool)
    resid = (x - t["mean"])[ev]
    n_events = int(ev.sum())
    scaled = n_events * resid @ variance
    # Rank of event time: position in time order among the events (ties broken by row order).
    g = np.empty(n_events)
    g[np.argsort(time[ev], kind="stable")] = np.arange(1, n_events + 1)
    gc = g - g.mean()
    u = gc @ scaled
    ssq = float((gc**2).sum())
    out = []
    for term, cols in [*blocks.items(), ("GLOBAL", list(range(x.shape[1])))]:
        idx = np.asarray(cols)
        cov = n_events * variance[np.ix_(idx, idx)] * ssq
        chi2 = float(u[idx] @ np.linalg.solve(cov, u[idx]))
        out.append((term, chi2, len(idx), float(stats.chi2.sf(chi2, len(idx)))))
    return pl.DataFrame(
        out,
        schema={"term": pl.String, "chi2": pl.Float64, "df": pl.Int64, "p_value": pl.Float64},
        orient="row",
    )
