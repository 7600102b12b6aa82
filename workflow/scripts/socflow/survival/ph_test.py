"""Proportional-hazards test of a fitted Cox model, as R's `cox.zph` (survival >= 3.0) computes it.

The test asks whether a coefficient drifts with time: each covariate x is joined by x g(t),
with g a transform of time, and the score test of the added coefficients is computed at the
fitted coefficients and zero (Grambsch and Therneau 1994; Therneau's exact score test, which
replaced the approximate scaled-Schoenfeld form in survival 3.0). Per term the test is joint
over the term's dummies; the global test is joint over every added coefficient. Risk sets,
ties (Efron or Breslow) and strata are those of the fit.

g(t) is one of (R's names): "km" (1 - the Kaplan-Meier estimate just before t, over all rows and
ignoring strata: time on the scale of how many have re-appeared), "rank" (average rank of t
among all rows), "identity" (t) or "log" (log t); it is centred at its mean over the events.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from socflow.distributions import average_ranks, chi2_sf
from socflow.survival.efron import (
    Evaluation,
    RiskSets,
    block_scores,
    time_weighted_information,
)
from socflow.survival.settings import PH_TRANSFORMS


def transformed_time(time: np.ndarray, event: np.ndarray, transform: str = "km") -> np.ndarray:
    """g(t) per row, centred at its mean over the events (as `cox.zph` does)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    if transform == "km":
        distinct, inverse = np.unique(time, return_inverse=True)
        deaths = np.bincount(inverse, weights=event.astype(float), minlength=len(distinct))
        exits = np.bincount(inverse, minlength=len(distinct)).astype(float)
        at_risk = np.cumsum(exits[::-1])[::-1]
        survival = np.cumprod(1.0 - deaths / at_risk)
        # Left-continuous: the estimate at the last distinct time strictly before t.
        before = np.r_[1.0, survival][inverse]
        g = 1.0 - before
    elif transform == "rank":
        g = average_ranks(time)
    elif transform == "identity":
        g = time.copy()
    elif transform == "log":
        g = np.log(time)
    else:
        raise ValueError(f"PH test transform must be one of {PH_TRANSFORMS}, got {transform!r}")
    return g - g[event].mean()


def ph_test(
    rs: RiskSets,
    x: np.ndarray,
    ev: Evaluation,
    time: np.ndarray,
    blocks: dict[str, list[int]],
    transform: str = "km",
) -> pl.DataFrame:
    """Score test of proportional hazards per term and globally (R `cox.zph`).

    `rs`, `x` and `ev` are the risk sets, the (centred) design and the evaluation at the fitted
    coefficients; `blocks` maps each term to its columns of `x`. Returns term, chi2, df, p_value,
    with a last row "GLOBAL".
    """
    p = x.shape[1]
    g_row = transformed_time(time, rs.events > 0, transform)
    g = g_row[rs.order[rs.block_end]]  # one value per (stratum, time) block
    u_time = g @ block_scores(rs, x, ev)
    info = np.empty((2 * p, 2 * p))
    info[:p, :p] = ev.information
    cross = time_weighted_information(rs, x, ev, g)
    info[:p, p:] = cross
    info[p:, :p] = cross.T
    info[p:, p:] = time_weighted_information(rs, x, ev, g * g)
    rows = []
    for term, cols in [*blocks.items(), ("GLOBAL", list(range(p)))]:
        keep = np.r_[np.arange(p), p + np.asarray(cols, dtype=int)]
        u = np.r_[np.zeros(p), u_time[cols]]
        chi2 = float(u @ np.linalg.solve(info[np.ix_(keep, keep)], u))
        df = len(cols)
        rows.append((term, chi2, df, float(chi2_sf(chi2, df))))
    return pl.DataFrame(
        rows,
        schema={"term": pl.String, "chi2": pl.Float64, "df": pl.Int64, "p_value": pl.Float64},
        orient="row",
    )
