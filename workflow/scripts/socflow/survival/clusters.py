"""Whose re-appearances are correlated: the clusters of the robust variances.

Co-defendants of one index case are sentenced together, often released together and, when they
offend together again, share their next case: their times to re-appearance are not independent.
Clustering by index case lets the robust variances (Cox sandwich, Kaplan-Meier infinitesimal
jackknife) see that correlation; clustering by person treats every person as independent (the
plain robust variance, since the follow-up table has one row per person). See
docs/methods/survival.md for the choice.
"""

from __future__ import annotations

import polars as pl

CLUSTER_LABELS = {
    "index_case": "index case (co-defendants together)",
    "person": "person",
}


def cluster_expr(cluster: str) -> pl.Expr:
    """The cluster of each follow-up row, as a string column `cluster`.

    "index_case": the Crown Court case (case_id) of the person's index event; a person without
    a case ID is a cluster alone. "person": every person alone.
    """
    person = pl.col("person").cast(pl.String)
    if cluster == "index_case":
        case = pl.lit("case:") + pl.col("case_id").cast(pl.String)
        return pl.coalesce(case, pl.lit("person:") + person).alias("cluster")
    if cluster == "person":
        return person.alias("cluster")
    raise ValueError(f"cluster must be one of {tuple(CLUSTER_LABELS)}, got {cluster!r}")
