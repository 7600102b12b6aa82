"""Tables of SOC against non-SOC cases: summary, by year, medians, and every SOC definition."""

from __future__ import annotations

from typing import Any

import polars as pl

from socflow.harm.common import SOC_LABEL, group_sums, w_col
from socflow.harm.defendant_harm import case_harm
from socflow.harm.estimation import Estimates
from socflow.harm.settings import HarmSettings
from socflow.harm.table_format import _frame, _interval, _label, _num, _persons, _round_to


def _person_columns(dc: pl.DataFrame) -> list[str]:
    """The column `_persons` counts persons by (the dense number where present)."""
    return ["person_code"] if "person_code" in dc.columns else ["person"]


def soc_tables(est: Estimates, dc: pl.DataFrame, s: HarmSettings) -> dict[str, pl.DataFrame]:
    """SOC against non-SOC cases: the summary, shares by year, means by year, medians."""
    conf = s.confidence
    # Persons are counted in many subsets: filter only the columns that count them, not the
    # whole defendant-case table.
    people = dc.select(*_person_columns(dc), "soc_case", "year")
    soc_dc, non_dc = people.filter(pl.col("soc_case")), people.filter(~pl.col("soc_case"))
    n_all, n_soc, n_non = _persons(people), _persons(soc_dc), _persons(non_dc)
    p, years = est.point["soc_year"], sorted({int(u.split("|")[1]) for u in est.units["soc_year"]})
    cases = case_harm(dc, est.names)

    def ci(key: str) -> tuple[Any, Any]:
        lo, hi = _interval(est, "soc_year", key, conf)
        return _num(lo), _num(hi)

    def median(frame: pl.DataFrame, w: str) -> float | None:
        m = frame[w_col(w)].drop_nulls().median()
        return _round_to(None if m is None else float(m), s.median_rounding)

    summary = [
        {"weight": "all weights", "statistic": "Share of all cases that are SOC cases",
         "value": _num(p["case_share|all"]), **dict(zip(("ci_lower", "ci_upper"),
                                                        ci("case_share|all"), strict=True)),
         "n_persons": n_all},
    ]  # fmt: skip
    for w in est.names:
        lab = _label(w)
        for key, stat, n in (
            ("harm_share", "Share of all harm in SOC cases", n_all),
            ("mean_soc", "Mean harm per SOC case (days)", n_soc),
            ("mean_non", "Mean harm per non-SOC case (days)", n_non),
            ("ratio", "Ratio of mean harm per case, SOC to non-SOC", min(n_soc, n_non)),
        ):
            lo, hi = ci(f"{key}|all|{w}")
            summary.append({"weight": lab, "statistic": stat, "value": _num(p[f"{key}|all|{w}"]),
                            "ci_lower": lo, "ci_upper": hi, "n_persons": n})  # fmt: skip
        base = f"{s.median_rounding:g}"
        for frame, stat, n in (
            (cases.filter(pl.col("soc_case")), "Median harm per SOC case", n_soc),
            (cases.filter(~pl.col("soc_case")), "Median harm per non-SOC case", n_non),
        ):
            summary.append({"weight": lab, "statistic": f"{stat} (days, rounded to {base})",
                            "value": median(frame, w), "ci_lower": None, "ci_upper": None,
                            "n_persons": n})  # fmt: skip
    share_rows, mean_rows, median_rows = [], [], []
    for y in years:
        year_dc = people.filter(pl.col("year") == y)
        n_y = _persons(year_dc)
        n_ys = _persons(year_dc.filter(pl.col("soc_case")))
        n_yn = _persons(year_dc.filter(~pl.col("soc_case")))
        lo, hi = ci(f"case_share|{y}")
        share_rows.append({"year": y, "series": "Cases", "statistic": "Share that is SOC",
                           "value": _num(p[f"case_share|{y}"]), "ci_lower": lo, "ci_upper": hi,
                           "n_persons": n_y})  # fmt: skip
        year_cases = cases.filter(pl.col("year") == y)
        for w in est.names:
            lab = _label(w)
            lo, hi = ci(f"harm_share|{y}|{w}")
            share_rows.append({"year": y, "series": f"Harm: {lab}",
                               "statistic": "Share that is SOC",
                               "value": _num(p[f"harm_share|{y}|{w}"]), "ci_lower": lo,
                               "ci_upper": hi, "n_persons": n_y})  # fmt: skip
            for key, who, n, sel in (
                ("mean_soc", SOC_LABEL[True], n_ys, pl.col("soc_case")),
                ("mean_non", SOC_LABEL[False], n_yn, ~pl.col("soc_case")),
            ):
                lo, hi = ci(f"{key}|{y}|{w}")
                mean_rows.append({"year": y, "series": f"{who}: {lab}",
                                  "statistic": "Mean harm per case (days)",
                                  "value": _num(p[f"{key}|{y}|{w}"]), "ci_lower": lo,
                                  "ci_upper": hi, "n_persons": n})  # fmt: skip
                median_rows.append({"year": y, "series": f"{who}: {lab}",
                                    "statistic": "Median harm per case (days, rounded to "
                                                 f"{s.median_rounding:g})",
                                    "value": median(year_cases.filter(sel), w), "ci_lower": None,
                                    "ci_upper": None, "n_persons": n})  # fmt: skip
    year_cols = {"year": pl.Int32, "series": pl.String}
    return {
        "summary": _frame(summary, {"weight": pl.String}),
        "share_by_year": _frame(share_rows, year_cols),
        "mean_by_year": _frame(mean_rows, year_cols),
        "median_by_year": _frame(median_rows, year_cols).drop("ci_lower", "ci_upper"),
    }


def sensitivity_table(
    dc: pl.DataFrame, weight: str, labels: dict[str, str] | None = None
) -> pl.DataFrame:
    """Share of cases that are SOC and share of harm in SOC cases under every SOC definition
    in the flags (point estimates); definitions named by `labels` where given."""
    labels = labels or {}
    defs = ["soc_case", *sorted(c for c in dc.columns if c.startswith("soc_case__"))]
    hcol = w_col(weight)
    cases = group_sums(dc, ["case_id"], [hcol], firsts=defs)
    # The persons of each definition's SOC cases, from the columns that count them only.
    people = dc.select("case_id", *_person_columns(dc))
    rows = []
    for d in defs:
        name = "primary" if d == "soc_case" else d.removeprefix("soc_case__")
        name = labels.get(name, name)
        soc_cases = cases.filter(pl.col(d))
        persons = people.join(soc_cases.select("case_id"), on="case_id", how="semi")
        harm_total = float(cases[hcol].sum())
        for stat, value in (
            ("Share of all cases that are SOC cases", soc_cases.height / max(cases.height, 1)),
            (f"Share of all harm in SOC cases ({_label(weight)})",
             float(soc_cases[hcol].sum()) / harm_total if harm_total > 0 else None),
        ):  # fmt: skip
            rows.append({"definition": name, "statistic": stat, "value": value,
                         "ci_lower": None, "ci_upper": None,
                         "n_persons": _persons(persons)})  # fmt: skip
    return _frame(rows, {"definition": pl.String}).drop("ci_lower", "ci_upper")
