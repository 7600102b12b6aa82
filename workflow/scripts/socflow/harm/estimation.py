"""Point estimates and bootstrap replicates of every harm statistic, and the tests."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from socflow.harm.bootstrap import replicate_type_counts, unit_bootstrap
from socflow.harm.common import DIMENSIONS, SHARE_DIMENSIONS, SOC_LABEL, group_sums, w_col
from socflow.harm.concentration import concentration_stats
from socflow.harm.design import Tabulation, build_design
from socflow.harm.permutation import permutation_tests
from socflow.harm.settings import HarmSettings

log = logging.getLogger(__name__)


CASE_LEVEL = ("court", "region", "soc_year")


def dimension_rows(dc: pl.DataFrame, names: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Per dimension, the defendant-case rows that belong to one of its units.

    Adds `unit`, the harm columns with nulls as 0, `covered_<w>` (1 when the harm under w is
    known) and `count`: 1 per defendant-case for defendant-level dimensions; for case-level
    dimensions (court, region, SOC status by year) 1 on the case's first row, so that counts
    are cases.
    """
    wcols = [w_col(w) for w in names]
    filled = dc.with_columns(
        *[pl.col(c).fill_null(0.0) for c in wcols],
        *[pl.col(c).is_not_null().cast(pl.Float64).alias(f"covered_{w}")
          for c, w in zip(wcols, names, strict=True)],
        # dc is sorted by case: a case's first row is where the case id changes.
        (pl.col("case_id") != pl.col("case_id").shift(1)).fill_null(True).cast(pl.Float64)
        .alias("first_of_case"),
    )  # fmt: skip
    first_of_case = pl.col("first_of_case")
    one = pl.lit(1.0).alias("count")
    soc_year = pl.concat_str(
        pl.col("soc_case").replace_strict(SOC_LABEL, return_dtype=pl.String),
        pl.lit("|"),
        pl.col("year").cast(pl.String),
    )
    return {
        "offence_group": filled.with_columns(pl.col("offence_group").alias("unit"), one),
        "soc_category": filled.filter(pl.col("soc") & pl.col("soc_category").is_not_null())
        .with_columns(pl.col("soc_category").alias("unit"), one),
        "soc_group": filled.filter(pl.col("soc_group").is_not_null())
        .with_columns(pl.col("soc_group").alias("unit"), one),
        "court": filled.with_columns(pl.col("court").alias("unit"), first_of_case.alias("count")),
        "region": filled.with_columns(pl.col("region").alias("unit"),
                                      first_of_case.alias("count")),
        "soc_year": filled.with_columns(soc_year.alias("unit"), first_of_case.alias("count")),
    }  # fmt: skip


def case_level_contributions(
    rows: dict[str, pl.DataFrame], names: Sequence[str]
) -> dict[str, pl.DataFrame]:
    """Each dimension's rows summed per (case, unit). `n_<w>` counts covered counted units:
    for case-level dimensions 1 when any defendant-case of the case has a weight (means are
    per covered case), otherwise the covered defendant-cases."""
    wcols = [w_col(w) for w in names]
    out = {}
    for dim, frame in rows.items():
        covered = [f"covered_{w}" for w in names]
        case_level = dim in CASE_LEVEL
        sums = group_sums(
            frame, ["case_id", "unit"], [*wcols, "count", *([] if case_level else covered)],
            maxes=covered if case_level else (),
        )  # fmt: skip
        out[dim] = sums.rename({f"covered_{w}": f"n_{w}" for w in names})
    return out


def _soc_stats(
    tot: dict[str, np.ndarray], units: Sequence[str], names: Sequence[str]
) -> dict[str, np.ndarray]:
    """SOC statistics from (replicates x SOC-status-by-year units) totals: over all years
    ("all") and per year."""
    soc = np.array([u.split("|")[0] == SOC_LABEL[True] for u in units])
    year_of = np.array([int(u.split("|")[1]) for u in units])
    count = tot["count"]
    out: dict[str, np.ndarray] = {}
    scopes = [("all", np.ones(len(units), dtype=bool))]
    scopes += [(str(y), year_of == y) for y in sorted(set(year_of.tolist()))]
    with np.errstate(invalid="ignore", divide="ignore"):
        for scope, sel in scopes:
            s, n = sel & soc, sel & ~soc
            out[f"case_share|{scope}"] = count[..., s].sum(-1) / count[..., sel].sum(-1)
            for w in names:
                h, cov = tot[w_col(w)], tot[f"n_{w}"]
                hs, hn = h[..., s].sum(-1), h[..., n].sum(-1)
                mean_soc = hs / cov[..., s].sum(-1)
                mean_non = hn / cov[..., n].sum(-1)
                out[f"harm_share|{scope}|{w}"] = hs / (hs + hn)
                out[f"mean_soc|{scope}|{w}"] = mean_soc
                out[f"mean_non|{scope}|{w}"] = mean_non
                out[f"ratio|{scope}|{w}"] = mean_soc / mean_non
    return out


@dataclass
class Estimates:
    """Point estimates, their bootstrap replicates and the permutation tests."""

    names: list[str]
    units: dict[str, list[str]]
    totals: dict[str, dict[str, np.ndarray]]
    point: dict[str, dict[str, np.ndarray]]
    boot: dict[str, dict[str, np.ndarray]]
    tests: dict[str, tuple[float, float, int]]
    rows: dict[str, pl.DataFrame]
    n_cases: int
    n_types: int


def _case_stats(
    name: str, tab: Tabulation, counts: np.ndarray, names: Sequence[str], primary: str
) -> dict[str, np.ndarray]:
    """Statistics resampled over cases: SOC against non-SOC, and each unit's harm share
    (which needs the primary weight's totals only)."""
    if name == "soc_year":
        return _soc_stats(tab.totals(counts), tab.units, names)
    h = tab.totals(counts, [w_col(primary)])[w_col(primary)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"share": h / h.sum(axis=-1, keepdims=True)}


# Replicates tabulated at once. The draws come in small blocks (see `replicate_type_counts`);
# tabulating them in larger batches saves the fixed cost of each sparse product. Every total
# is a sum over types in type order whatever the batch, so the statistics are the same.
TABULATION_BATCH = 64


def _batched(blocks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """The rows of `blocks` (replicates x types) regrouped into batches of about `size`."""
    held: list[np.ndarray] = []
    rows = 0
    for block in blocks:
        held.append(block)
        rows += len(block)
        if rows >= size:
            yield np.concatenate(held)
            held, rows = [], 0
    if held:
        yield np.concatenate(held)


def estimate(dc: pl.DataFrame, names: Sequence[str], s: HarmSettings) -> Estimates:
    """Point estimates and bootstrap replicates of every harm statistic, and the tests.

    SOC statistics and unit harm shares: cases (or courts) resampled. Concentration
    statistics: units resampled (`unit_bootstrap`).
    """
    names = list(names)
    value_cols = [w_col(w) for w in names] + [f"n_{w}" for w in names] + ["count"]
    rows = dimension_rows(dc, names)
    contrib = case_level_contributions(rows, names)
    resampled = {k: v for k, v in contrib.items() if k == "soc_year" or k in SHARE_DIMENSIONS}
    design = build_design(
        dc, resampled, value_cols,
        case_key=["court", "region", "soc_case", "year"],
        row_key=["offence_group", "soc", "soc_category", *[w_col(w) for w in names]],
    )  # fmt: skip
    log.info("resampling design: %d cases in %d types", len(design.type_of_case), design.n_types)
    point: dict[str, dict[str, np.ndarray]] = {}
    totals: dict[str, dict[str, np.ndarray]] = {}
    parts: dict[str, dict[str, list[np.ndarray]]] = {}
    units: dict[str, list[str]] = {}
    everyone = design.cases_per_type[None, :].astype(np.float64)
    for name, tab in design.tabulations.items():
        stats = _case_stats(name, tab, everyone, names, s.primary)
        point[name] = {k: v[0] for k, v in stats.items()}
        parts[name] = {k: [] for k in point[name]}
    rng = np.random.default_rng(s.seed)
    log.info("bootstrap: %d replicates resampling %s", s.replicates, s.resample)
    draws = replicate_type_counts(design, s.replicates, rng, s.resample)
    for counts in _batched(draws, TABULATION_BATCH):
        for name, tab in design.tabulations.items():
            for k, v in _case_stats(name, tab, counts, names, s.primary).items():
                parts[name][k].append(v)
    boot = {n: {k: np.concatenate(v) for k, v in p.items()} for n, p in parts.items()}
    unit_rng = np.random.default_rng(s.seed + 2)
    log.info("bootstrap over units: %d replicates", s.replicates)
    for dim, _, _ in DIMENSIONS:
        # Sums in integer micro-days do not depend on the order of their terms: group, then
        # put the (few) units in order, instead of sorting every contribution first.
        per_unit = group_sums(contrib[dim], ["unit"], value_cols).sort("unit")
        units[dim] = per_unit["unit"].cast(pl.String).to_list()
        totals[dim] = {c: per_unit[c].to_numpy().astype(np.float64) for c in value_cols}
        if not units[dim]:
            continue
        stats = concentration_stats(
            {c: v[None, :] for c, v in totals[dim].items()}, names, s.power_few,
            s.min_units_per_point,
        )  # fmt: skip
        point.setdefault(dim, {}).update({k: v[0] for k, v in stats.items()})
        boot.setdefault(dim, {}).update(unit_bootstrap(totals[dim], names, s, unit_rng))
        if dim in design.tabulations and design.tabulations[dim].units != units[dim]:
            raise AssertionError(f"unit order differs for {dim}")
    units["soc_year"] = design.tabulations["soc_year"].units
    log.info("permutation tests: %d permutations", s.permutations)
    tests = permutation_tests(
        contrib, rows, s.primary, s.permutations, np.random.default_rng(s.seed + 1)
    )
    return Estimates(
        names=names, units=units, totals=totals, point=point, boot=boot, tests=tests,
        rows=rows, n_cases=len(design.type_of_case), n_types=design.n_types,
    )  # fmt: skip
