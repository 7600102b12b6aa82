"""Tables of the weights: coverage, and the weights of the commonest offences."""

from __future__ import annotations

import polars as pl

from socflow.harm.common import NOT_SENTENCED, w_col
from socflow.harm.table_format import _frame, _label, _persons
from socflow.harm.weights import available_weights, weight_coverage


def coverage_table(weights: pl.DataFrame, dc: pl.DataFrame) -> pl.DataFrame:
    """Coverage of every weight: HO codes, principal-offence codes in the analysed cases, and
    analysed defendant-cases with a weight (harm columns of `dc`)."""
    n_all = _persons(dc)
    cov = weight_coverage(weights, dc.select("ho_offence_code"))
    rows = []
    for r in cov.iter_rows(named=True):
        lab = _label(r["weight"])
        for stat, value in (
            ("Share of all HO offence codes with a weight", r["share_codes"]),
            ("Share of principal-offence codes in the analysed cases with a weight",
             r["share_codes_in_data"]),
            ("Share of analysed defendant-cases with a weight", r["share_defendant_cases"]),
        ):  # fmt: skip
            rows.append({"weight": lab, "statistic": stat, "value": value, "ci_lower": None,
                         "ci_upper": None, "n_persons": n_all})  # fmt: skip
        if r["weight"] == "data_derived" and "dd_basis" in weights.columns:
            used = weights.join(
                dc.select("ho_offence_code").unique(), on="ho_offence_code", how="semi"
            ).filter(pl.col(w_col("data_derived")).is_not_null())
            fallback = used.filter(pl.col("dd_basis") == "class fallback").height
            rows.append({"weight": lab, "statistic": "Share of weighted principal-offence "
                         "codes resting on the class fallback",
                         "value": fallback / used.height if used.height else None,
                         "ci_lower": None, "ci_upper": None, "n_persons": n_all})  # fmt: skip
    return _frame(rows, {"weight": pl.String}).drop("ci_lower", "ci_upper")


def weights_table(weights: pl.DataFrame, dc: pl.DataFrame, top: int) -> pl.DataFrame:
    """The weights of the `top` commonest principal offences of the analysed cases, side by
    side. `n_persons`: for the data-derived weight, distinct persons sentenced in the analysed
    Crown Court cases for the code (for the class, on the class fallback), a lower bound of
    those behind the weight; for the published indices, persons with the code."""
    names = available_weights(weights)
    common = (
        dc.group_by("ho_offence_code")
        .agg(pl.len().alias("n"), pl.col("person").n_unique().alias("persons"))
        .sort(["n", "ho_offence_code"], descending=[True, False])
        .head(top)
    )
    # Only the columns used: filtering the whole defendant-case table would copy all of it.
    sentenced = dc.select("ho_offence_code", "person", "sentence_type").filter(
        pl.col("sentence_type") != NOT_SENTENCED
    )
    by_code = sentenced.group_by("ho_offence_code").agg(
        pl.col("person").n_unique().alias("sentenced_code")
    )
    by_class = (
        sentenced.with_columns(pl.col("ho_offence_code").str.slice(0, 3).alias("ho_class"))
        .group_by("ho_class")
        .agg(pl.col("person").n_unique().alias("sentenced_class"))
    )
    table = (
        common.join(weights, on="ho_offence_code", how="left")
        .with_columns(pl.col("ho_offence_code").str.slice(0, 3).alias("ho_class"))
        .join(by_code, on="ho_offence_code", how="left")
        .join(by_class, on="ho_class", how="left")
    )
    rows = []
    for r in table.iter_rows(named=True):
        for w in names:
            if w == "data_derived":
                basis = r["dd_basis"]
                n = r["sentenced_class"] if basis == "class fallback" else r["sentenced_code"]
            elif w == "ons_css":
                basis = (
                    f"{r['ons_method']} ({r['ons_po_code']})"
                    if r["ons_po_code"]
                    else (r["ons_method"])
                )
                n = r["persons"]
            else:
                basis, n = "user-supplied table", r["persons"]
            rows.append({"ho_code": r["ho_code"], "description": r["description"],
                         "weight": _label(w), "basis": basis,
                         "statistic": "Weight (equivalent days of custody)",
                         "value": r[w_col(w)], "ci_lower": None, "ci_upper": None,
                         "n_persons": int(n or 0)})  # fmt: skip
    extra = {"ho_code": pl.String, "description": pl.String, "weight": pl.String,
             "basis": pl.String}  # fmt: skip
    return _frame(rows, extra).drop("ci_lower", "ci_upper")
