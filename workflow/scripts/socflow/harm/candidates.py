"""Every would-be output of the harm stage, for the disclosure stage to check."""

from __future__ import annotations

import polars as pl

from socflow.harm.common import (
    DIMENSIONS,
    MAGNITUDE_DIMENSIONS,
    PLURALS,
    SHARE_DIMENSIONS,
    SINGULAR,
    SOC_LABEL,
    w_col,
)
from socflow.harm.estimation import Estimates
from socflow.harm.settings import HarmSettings
from socflow.harm.soc_comparison import sensitivity_table, soc_tables
from socflow.harm.table_format import _label
from socflow.harm.unit_tables import concentration_tables
from socflow.harm.weight_tables import coverage_table, weights_table
from socflow.outputs import Candidate
from socflow.sdc import SdcThresholds


def _magnitude_rows(dc: pl.DataFrame, weight: str, by: dict[str, pl.Expr]) -> pl.DataFrame:
    """One contribution per defendant-case with a weight; sorted, because the magnitude
    table orders its categories by first appearance."""
    hcol = w_col(weight)
    # Selected, then filtered: filtering the whole table first would copy every column.
    return (
        dc.select(*[e.alias(k) for k, e in by.items()], pl.col(hcol).alias("harm"), "person")
        .filter(pl.col("harm").is_not_null())
        .sort(list(by), maintain_order=True)
    )


def harm_candidates(
    est: Estimates,
    dc: pl.DataFrame,
    weights: pl.DataFrame,
    s: HarmSettings,
    thresholds: SdcThresholds | None = None,
    definition_labels: dict[str, str] | None = None,
) -> list[Candidate]:
    """Every would-be output of the harm stage, for the disclosure stage to check.

    `thresholds` (the SDC rules) keep unit harm shares consistent with the magnitude tables
    of the same totals (`dominated_units`)."""
    rows = est.rows
    soc = soc_tables(est, dc, s)
    conc = concentration_tables(est, rows, s, thresholds)
    primary = _label(s.primary)
    scope = (
        "the principal offence of each defendant-case"
        if s.offence_scope == "principal"
        else "the sum over each defendant-case's offences"
    )
    ci_note = (
        f"{s.confidence:.0%} percentile bootstrap intervals from {s.replicates} replicates "
        f"resampling {s.resample} with replacement (seed {s.seed})."
    )
    years = f"Crown Court cases disposed of in {s.first_year}-{s.last_year}"
    out: list[Candidate] = [
        Candidate(
            "harm_weight_coverage", "statistics", "Coverage of the harm weights",
            coverage_table(weights, dc),
            notes=f"{years}. A defendant-case without a weight keeps its row: it adds nothing "
            "to harm totals and is left out of that weight's means.",
        ),
        Candidate(
            "harm_weights_by_offence", "statistics",
            f"Harm weights of the {s.weights_table_top} commonest principal offences",
            weights_table(weights, dc, s.weights_table_top),
            notes="Equivalent days of custody. Data-derived: mean over the sentences in the data "
            "(class fallback where the code has too few). ONS: the mapped police recorded crime "
            "code. An empty weight means the index has none for the code (basis says why). "
            "n_persons for the data-derived weight: persons sentenced in the analysed Crown "
            "Court cases for the code (or class), a lower bound of those behind it.",
        ),
        Candidate(
            "harm_soc_summary", "statistics", "Crime harm of SOC and non-SOC cases",
            soc["summary"],
            notes=f"{years}; harm from {scope}; a case's harm is the sum over its "
            f"defendant-cases. {ci_note} Medians are rounded and shown without intervals.",
        ),
        Candidate(
            "harm_soc_share_by_year", "statistics",
            "Share of cases and of harm that is SOC, by year of disposal",
            soc["share_by_year"], notes=ci_note,
            figure={"type": "line", "x": "year", "y": "value", "group": "series",
                    "ylabel": "share that is SOC"},
        ),
        Candidate(
            "harm_soc_mean_by_year", "statistics",
            "Mean harm per case, SOC and non-SOC, by year of disposal",
            soc["mean_by_year"], notes=ci_note,
            figure={"type": "line", "x": "year", "y": "value", "group": "series",
                    "ylabel": "mean harm per case (days)"},
        ),
        Candidate(
            "harm_soc_median_by_year", "statistics",
            "Median harm per case, SOC and non-SOC, by year of disposal (rounded)",
            soc["median_by_year"],
            notes=f"Medians are single-case values: rounded to {s.median_rounding:g} days.",
        ),
    ]  # fmt: skip
    for w in est.names:
        out.append(
            Candidate(
                f"harm_totals_{w}", "magnitude",
                f"Total crime harm by SOC status and year ({_label(w)}, days)",
                _magnitude_rows(dc, w, {"case_type": pl.col("soc_case").replace_strict(
                    SOC_LABEL, return_dtype=pl.String), "year": pl.col("year")}),
                spec={"by": ["case_type", "year"], "value": "harm", "person": "person",
                      "margins": True},
                notes="One contribution per defendant-case with a weight; a person's "
                "contributions in a cell are added up before the dominance checks.",
                # The published magnitude table is long: kind, row_label, col_label, n, total.
                figure={"type": "bar", "x": "col_label", "y": "total", "group": "row_label",
                        "horizontal": False, "filter": {"kind": "cell"},
                        "ylabel": "harm (days of custody)"},
            )
        )  # fmt: skip
    bases = {d: b for d, _, b in DIMENSIONS}
    for dim in MAGNITUDE_DIMENSIONS:
        # Filtered, then selected: the filter's output chunks become the file's row groups,
        # so the order of the two steps shows in the bytes of the written file.
        frame = (
            rows[dim]
            .filter(pl.col(f"covered_{s.primary}") > 0)
            .select(pl.col("unit").alias(dim), pl.col(w_col(s.primary)).alias("harm"), "person")
        )
        out.append(
            Candidate(
                f"harm_by_{dim}", "magnitude", f"Total crime harm by {SINGULAR[dim]} "
                f"({primary}, days)", frame,
                spec={"by": [dim], "value": "harm", "person": "person", "margins": True},
                figure={"type": "bar", "x": "row_label", "y": "total", "group": None,
                        "horizontal": True, "filter": {"kind": "cell"},
                        "ylabel": "harm (days of custody)"},
            )
        )  # fmt: skip
    for dim in SHARE_DIMENSIONS:
        out.append(
            Candidate(
                f"harm_shares_{dim}", "statistics",
                f"Share of harm against share of {bases[dim]}, by {SINGULAR[dim]}",
                conc[f"shares_{dim}"],
                notes=f"Harm: {primary}. Intervals for harm shares: {ci_note} A harm share "
                "is withheld with its unit's harm total when that total fails the magnitude "
                "checks (dominance, p-ratio).",
                # 77 courts make an unreadable bar chart: the Lorenz curve shows them.
                figure=None if dim == "court" else {
                    "type": "bar", "x": "unit", "y": "value", "group": "statistic",
                    "horizontal": True, "ylabel": "share"},
            )
        )  # fmt: skip
    for dim, _, _ in DIMENSIONS:
        out.append(
            Candidate(
                f"harm_lorenz_{dim}", "statistics", f"Lorenz curve of harm across {PLURALS[dim]}",
                conc[f"lorenz_{dim}"],
                notes=f"Units ordered from least to most harm; points every "
                f"{s.lorenz_step:.0%} of units, kept only where at least "
                f"{s.min_units_per_point} units separate neighbouring points and the end.",
                figure={"type": "lorenz", "x": "population_share", "y": "value",
                        "group": "weight", "ylabel": "cumulative share of harm"},
            )
        )  # fmt: skip
    out.append(
        Candidate(
            "harm_concentration",
            "statistics",
            "Concentration of harm: Gini coefficients, power-few shares, and whether harm is "
            "distributed like cases",
            conc["concentration"],
            notes=f"{ci_note} Top shares are shown where the top group holds at least "
            f"{s.min_units_per_point} units. The test permutes harm over the counted units "
            "(cases or defendant-cases) keeping each unit's count; statistic D = half the sum "
            "of absolute differences between harm and count shares.",
        )
    )
    out.append(
        Candidate(
            "harm_soc_sensitivity",
            "statistics",
            f"Share of harm in SOC cases under each SOC definition ({primary})",
            sensitivity_table(dc, s.primary, definition_labels),
        )
    )
    return [Candidate(c.output_id, c.kind, c.title, c.data, c.spec, c.extra, c.notes,
                      c.figure, i + 1) for i, c in enumerate(out)]  # fmt: skip
