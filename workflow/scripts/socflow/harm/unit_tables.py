"""Tables of how harm falls across units: concentration, Lorenz points and harm shares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from socflow.harm.common import DIMENSIONS, SHARE_DIMENSIONS, w_col
from socflow.harm.concentration import lorenz_ranks
from socflow.harm.estimation import Estimates
from socflow.harm.settings import HarmSettings
from socflow.harm.table_format import _frame, _interval, _label, _num
from socflow.sdc import SdcThresholds, check_magnitude_table, check_one_way_tables


@dataclass
class UnitPersons:
    """The distinct (unit, person) pairs of a dimension, as integer codes."""

    units: list[str]
    unit_code: np.ndarray
    person_code: np.ndarray
    n_persons: int

    @classmethod
    def of(cls, rows: pl.DataFrame, units: list[str]) -> UnitPersons:
        """From defendant-case rows with `unit` and `person_code` (dense person numbers)."""
        pairs = rows.select(
            pl.col("unit").cast(pl.String).cast(pl.Enum(units)).to_physical().alias("u"),
            "person_code",
        ).unique()
        codes = pairs["person_code"].to_numpy().astype(np.int64)
        return cls(
            units=units,
            unit_code=pairs["u"].to_numpy().astype(np.int64),
            person_code=codes,
            # Person codes are dense numbers: counting them needs no sort.
            n_persons=int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0,
        )

    def per_unit(self) -> np.ndarray:
        """Distinct persons in each unit."""
        return np.bincount(self.unit_code, minlength=len(self.units))

    def cumulative(self, order: np.ndarray) -> np.ndarray:
        """Distinct persons in the first k units of `order` (unit indices), k = 0..U."""
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        size = int(self.person_code.max()) + 1 if len(self.person_code) else 0
        first = np.full(size, len(order) + 1, dtype=np.int64)
        np.minimum.at(first, self.person_code, rank[self.unit_code])
        return np.cumsum(np.bincount(first, minlength=len(order) + 2)[: len(order) + 1])


def dominated_units(rows: pl.DataFrame, weight: str, thresholds: SdcThresholds | None) -> set[str]:
    """Units whose harm total the magnitude check withholds (too few contributors, dominance,
    p-ratio, or secondary suppression): their harm share would disclose that total, given
    the published grand total, so the share is withheld with it."""
    if thresholds is None:
        return set()
    # Persons by their dense number (`person_code`, in the order of the identifiers): the
    # same contributors in the same order as the identifiers, cheaper to sort.
    covered = f"covered_{weight}"
    contrib = (
        rows.select(
            pl.col("unit").cast(pl.String), pl.col(w_col(weight)).alias("harm"), "person_code",
            covered,
        )
        .filter(pl.col(covered) > 0)
        .drop(covered)
    )  # fmt: skip
    if contrib.height == 0:
        return set()
    table = check_magnitude_table(
        contrib, ["unit"], "harm", "person_code", thresholds, margins=True
    )
    return set(table.cells.filter(pl.col("total").is_null())["unit"].to_list())


def _same_contributions(a: pl.DataFrame, b: pl.DataFrame, weight: str) -> bool:
    """Whether two dimensions' rows hold the same contributions under `weight`, row for row
    (the same persons, harm and coverage): they then differ only in their units."""
    cols = ["person_code", w_col(weight), f"covered_{weight}"]
    return a.height == b.height and all(a[c].equals(b[c]) for c in cols)


def dominated_units_by_dimension(
    rows: dict[str, pl.DataFrame],
    dims: Sequence[str],
    weight: str,
    thresholds: SdcThresholds | None,
) -> dict[str, set[str]]:
    """`dominated_units` of each dimension in `dims`, the same sets.

    Dimensions whose rows hold the same contributions (every defendant-case: offence groups,
    courts, regions) are checked together (`check_one_way_tables`): their contributions are
    put in person order once and share one grand total, instead of once per dimension."""
    if thresholds is None:
        return {d: set() for d in dims}
    together: list[list[str]] = []
    for d in dims:
        for group in together:
            if _same_contributions(rows[group[0]], rows[d], weight):
                group.append(d)
                break
        else:
            together.append([d])
    out: dict[str, set[str]] = {}
    for group in together:
        if len(group) == 1:
            out[group[0]] = dominated_units(rows[group[0]], weight, thresholds)
            continue
        # The rows are the same in every dimension of the group: one filter of the columns
        # used (filtering the whole rows would copy every column).
        covered = f"covered_{weight}"
        contrib = (
            pl.DataFrame(
                [
                    *[rows[d]["unit"].cast(pl.String).alias(d) for d in group],
                    rows[group[0]][w_col(weight)].alias("harm"),
                    rows[group[0]]["person_code"],
                    rows[group[0]][covered],
                ]
            )
            .filter(pl.col(covered) > 0)
            .drop(covered)
        )
        if contrib.height == 0:
            out.update({d: set() for d in group})
            continue
        tables = check_one_way_tables(contrib, group, "harm", "person_code", thresholds)
        for d, table in tables.items():
            out[d] = set(table.cells.filter(pl.col("total").is_null())[d].to_list())
    return {d: out[d] for d in dims}


def concentration_tables(
    est: Estimates,
    rows: dict[str, pl.DataFrame],
    s: HarmSettings,
    thresholds: SdcThresholds | None = None,
) -> dict[str, pl.DataFrame]:
    """Gini, power-few shares, D and the permutation test (one table); Lorenz points and harm
    against count shares (one table per dimension). A unit's harm share carries no
    `n_persons` (so the disclosure check withholds it) when the magnitude check under
    `thresholds` withholds the unit's harm total."""
    conc: list[dict[str, Any]] = []
    out: dict[str, pl.DataFrame] = {}
    withheld_of = dominated_units_by_dimension(
        rows, [d for d, _, _ in DIMENSIONS if d in SHARE_DIMENSIONS], s.primary, thresholds
    )
    for dim, dim_label, basis in DIMENSIONS:
        units, tot, p = est.units[dim], est.totals[dim], est.point[dim]
        drows = rows[dim]
        people = UnitPersons.of(drows, units)
        n_units, n_all = len(units), people.n_persons
        lorenz: list[dict[str, Any]] = []
        for w in est.names:
            lab = _label(w)
            h = tot[w_col(w)]
            order = np.lexsort((np.arange(n_units), h))  # ascending harm, ties by unit name
            cum_asc = people.cumulative(order)
            cum_desc = people.cumulative(order[::-1])
            d_label = f"Dissimilarity index D (harm against {basis})"
            for key, stat in (("gini", "Gini coefficient"), ("dissimilarity", d_label)):
                lo, hi = _interval(est, dim, f"{key}|{w}", s.confidence)
                conc.append({"dimension": dim_label, "weight": lab, "n_units": n_units,
                             "statistic": stat, "value": _num(p[f"{key}|{w}"]),
                             "ci_lower": _num(lo), "ci_upper": _num(hi),
                             "n_persons": n_all})  # fmt: skip
            for f in s.power_few:
                key = f"top|{f:g}|{w}"
                if key not in p:
                    continue
                k = math.floor(f * n_units + 0.5)
                lo, hi = _interval(est, dim, key, s.confidence)
                conc.append({"dimension": dim_label, "weight": lab, "n_units": k,
                             "statistic": f"Share of harm held by the top {f:.0%} of units",
                             "value": _num(p[key]), "ci_lower": _num(lo), "ci_upper": _num(hi),
                             "n_persons": int(cum_desc[k])})  # fmt: skip
            if w == s.primary and dim in est.tests:
                _, pval, n_perm = est.tests[dim]
                conc.append({"dimension": dim_label, "weight": lab, "n_units": n_units,
                             "statistic": f"Permutation p-value, H0: harm is distributed like "
                                          f"{basis} ({n_perm} permutations)",
                             "value": pval, "ci_lower": None, "ci_upper": None,
                             "n_persons": n_all})  # fmt: skip
            total = float(h.sum())
            cum = np.concatenate([[0.0], np.cumsum(h[order])])
            for k in lorenz_ranks(n_units, s.lorenz_step, s.min_units_per_point)[1:]:
                lorenz.append({"weight": lab, "population_share": k / n_units, "n_units": k,
                               "statistic": "Cumulative share of harm",
                               "value": cum[k] / total if total > 0 else None,
                               "ci_lower": None, "ci_upper": None,
                               "n_persons": int(cum_asc[k])})  # fmt: skip
        out[f"lorenz_{dim}"] = _frame(
            lorenz, {"weight": pl.String, "population_share": pl.Float64, "n_units": pl.Int64}
        ).drop("ci_lower", "ci_upper")
        if dim in SHARE_DIMENSIONS:
            per_unit = people.per_unit()
            withheld = withheld_of[dim]
            share = p["share"]
            lo, hi = _interval(est, dim, "share", s.confidence)
            count = tot["count"]
            shares = []
            for i in np.argsort(-share, kind="stable"):
                shares.append(
                    {
                        "unit": units[i],
                        "statistic": f"Share of harm ({_label(s.primary)})",
                        "value": _num(share[i]),
                        "ci_lower": _num(lo[i]),
                        "ci_upper": _num(hi[i]),
                        "n_persons": None if units[i] in withheld else int(per_unit[i]),
                    }
                )
                shares.append({"unit": units[i], "statistic": f"Share of {basis}",
                               "value": _num(count[i] / count.sum()), "ci_lower": None,
                               "ci_upper": None, "n_persons": int(per_unit[i])})  # fmt: skip
            out[f"shares_{dim}"] = _frame(shares, {"unit": pl.String})
    out["concentration"] = _frame(
        conc, {"dimension": pl.String, "weight": pl.String, "n_units": pl.Int64}
    )
    return out
