"""The stage's would-be outputs (candidates) for the disclosure stage."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from socflow.distributions import normal_quantile
from socflow.headline import wilson_interval
from socflow.linkage.balance import BINARY, COUNT
from socflow.linkage.diagnostics import ALL_YEARS, CUSTODIAL, OASYS_WINDOW_LABEL
from socflow.linkage.profiles import RISK_SCORES, section_label
from socflow.linkage.results import Results
from socflow.linkage.settings import NON_SOC_LABEL, SOC_LABEL
from socflow.outputs import STATISTICS_SCHEMA, Candidate

DIFFERENCE = "standardised difference"
COUNT_NOTE = (
    "The mean of a count rests on (n_persons) the fewer of the persons with any and with none, "
    "since a mean of 0 says that no one had any; a difference on the fewest of those counts "
    "in either group."
)


def _statistics(frame: pl.DataFrame, ids: list[str]) -> pl.DataFrame:
    """A statistics frame: identifying columns first, then the standard ones."""
    return frame.select(
        *[pl.col(c).cast(pl.String) for c in ids],
        *[pl.col(c).cast(t) for c, t in STATISTICS_SCHEMA.items()],
    )


def comparison_rows(
    diffs: pl.DataFrame, label1: str, label0: str, level: float, id_name: str = "characteristic"
) -> tuple[pl.DataFrame, list[str]]:
    """Two groups' shares (Wilson intervals) or means (t intervals) and their standardised
    difference, three rows per characteristic, from `standardised_differences`; and the labels
    of the rows that are shares of persons. The mean of a count rests on the fewer of the
    persons with any and without any (a mean of 0 says no one had any)."""
    z = float(normal_quantile(0.5 + level / 2))
    parts = []
    for suffix, label in (("1", label1), ("0", label0)):
        n, m, v = pl.col(f"n{suffix}"), pl.col(f"mean{suffix}"), pl.col(f"var{suffix}")
        k = pl.col(f"k{suffix}")
        lo, hi = wilson_interval(n * m, n, level)
        binary = pl.col("kind") == BINARY
        se = (v / n).sqrt()
        parts.append(
            diffs.select(
                pl.col("characteristic").alias(id_name),
                pl.lit(label).alias("measure"),
                pl.format("{}: {}", "characteristic", pl.lit(label)).alias("statistic"),
                m.alias("value"),
                pl.when(binary).then(lo).otherwise(m - z * se).alias("ci_lower"),
                pl.when(binary).then(hi).otherwise(m + z * se).alias("ci_upper"),
                pl.when(pl.col("kind") == COUNT)
                .then(pl.min_horizontal(k, n - k))
                .otherwise(n)
                .alias("n_persons"),
                binary.alias("_share"),
                pl.int_range(pl.len()).alias("_i"),
            )
        )
    parts.append(
        diffs.select(
            pl.col("characteristic").alias(id_name),
            pl.lit(DIFFERENCE).alias("measure"),
            pl.format("{}: {}", "characteristic", pl.lit(DIFFERENCE)).alias("statistic"),
            pl.col("smd").alias("value"),
            "ci_lower",
            "ci_upper",
            "n_persons",
            pl.lit(False).alias("_share"),
            pl.int_range(pl.len()).alias("_i"),
        )
    )
    rows = pl.concat(parts, how="vertical_relaxed").with_row_index("_o").sort("_i", "_o")
    shares = rows.filter(pl.col("_share"))["statistic"].to_list()
    return _statistics(rows, [id_name, "measure"]), shares


def _flow(r: Results) -> Candidate:
    flow = r.cohort_flow.with_columns(
        pl.col("step").alias("statistic"),
        pl.col("persons").cast(pl.Float64).alias("value"),
        pl.lit(None, dtype=pl.Float64).alias("ci_lower"),
        pl.lit(None, dtype=pl.Float64).alias("ci_upper"),
        pl.col("persons").alias("n_persons"),
    )
    s = r.settings
    return Candidate(
        output_id="linkage_cohort_flow",
        kind="statistics",
        title="The linked cohort: Crown Court defendants with a cross-justice person ID",
        data=_statistics(flow, []),
        notes=f"Distinct cross-justice person IDs left after each step. Index case: the "
        f"person's first SOC case (primary definition) disposed {s.first_disposal_date} to "
        f"{s.last_disposal_date}, else their first case.",
    )


def _found(r: Results) -> Candidate:
    f = r.found
    assert f is not None
    data = f.select(
        "dataset",
        "population",
        "soc_status",
        "index_year",
        pl.format("{}: {}: {}: {}", "dataset", "population", "soc_status", "index_year").alias(
            "statistic"
        ),
        pl.col("share").alias("value"),
        "ci_lower",
        "ci_upper",
        "n_persons",
    )
    return Candidate(
        output_id="linkage_found",
        kind="statistics",
        title="Share of Crown Court defendants found in each linked dataset, SOC and non-SOC",
        data=_statistics(data, ["dataset", "population", "soc_status", "index_year"]),
        spec={"person_shares": True},
        notes="Found: the person's cross-justice ID has at least one row of the dataset, at any "
        "date in the extract. Shares of index persons with immediate custody at the index case "
        "(by year of the index disposal and over all years), and of all index persons; "
        f"{round(100 * r.settings.confidence_level)}% Wilson intervals.",
        figure={
            "type": "bar",
            "x": "dataset",
            "y": "value",
            "group": "soc_status",
            "horizontal": True,
            "filter": {"population": CUSTODIAL, "index_year": ALL_YEARS},
            "ylabel": "share found (immediate custody at the index case)",
        },
    )


def _balance(r: Results) -> list[Candidate]:
    b = r.balance
    assert b is not None
    parts, shares = [], []
    for (dataset,), rows in b.group_by("dataset", maintain_order=True):
        frame, share_labels = comparison_rows(
            rows, "linked", "not linked", r.settings.confidence_level
        )
        parts.append(
            frame.with_columns(
                pl.lit(dataset).alias("dataset"),
                pl.format("{}: {}", pl.lit(dataset), "statistic").alias("statistic"),
            )
        )
        shares += [f"{dataset}: {x}" for x in share_labels]
    data = _statistics(pl.concat(parts), ["dataset", "characteristic", "measure"])
    differences = (
        "linked minus not linked, over the pooled standard deviation; |d| above 0.1 is the "
        "usual mark of a difference that matters. A standardised difference rests on the "
        "smallest of the counts it is made from."
    )
    table = Candidate(
        output_id="linkage_balance",
        kind="statistics",
        title="Linked against not linked: index persons compared, per linked dataset",
        data=data,
        spec={"person_shares": shares},
        notes="Means or shares among index persons found in the dataset (linked) and not found "
        "(not linked), and their standardised difference (" + differences + ")",
    )
    # The figure shows the persons the profiles describe (else the first linked dataset).
    labels = b["dataset"].unique(maintain_order=True).to_list()
    shown = OASYS_WINDOW_LABEL if OASYS_WINDOW_LABEL in labels else labels[0]
    who = (
        "the OASys profiles describe: index persons with an assessment in the profile window"
        if shown == OASYS_WINDOW_LABEL
        else f"the {shown} describe: index persons found there"
    )
    figure = Candidate(
        output_id="linkage_balance_figure",
        kind="statistics",
        title=f"Whom {who}, against the others (standardised differences)",
        data=data.filter((pl.col("dataset") == shown) & (pl.col("measure") == DIFFERENCE)).select(
            "characteristic", *STATISTICS_SCHEMA
        ),
        notes=f"The standardised differences of the table below for {shown} ({differences})",
        figure={
            "type": "forest",
            "label": "characteristic",
            "estimate": "value",
            "lower": "ci_lower",
            "upper": "ci_upper",
            "ref": 0.0,
            "log": False,
            "xlabel": "standardised difference, linked minus not linked",
        },
    )
    return [figure, table]


def _oasys(r: Results) -> list[Candidate]:
    s = r.settings
    level = round(100 * s.confidence_level)
    assert r.oasys_flow is not None and r.needs is not None and r.scores is not None
    flow = r.oasys_flow.select(
        "step",
        "soc_status",
        pl.format("{}: {}", "step", "soc_status").alias("statistic"),
        pl.col("persons").cast(pl.Float64).alias("value"),
        pl.lit(None, dtype=pl.Float64).alias("ci_lower"),
        pl.lit(None, dtype=pl.Float64).alias("ci_upper"),
        pl.col("persons").alias("n_persons"),
    )
    which = "full (layer 3) assessment" if s.full_assessments_only else "assessment"
    window = (
        f"The profile is the person's {which} nearest after the index disposal, within "
        f"{s.oasys_window_days} days."
    )
    needs = _section_statistics(r.needs, section_label, "share")
    scores = _section_statistics(r.scores, _score_label, "mean")
    out = [
        Candidate(
            output_id="linkage_oasys_flow",
            kind="statistics",
            title="Who has an OASys profile: index persons with an assessment after the index case",
            data=_statistics(flow, ["step", "soc_status"]),
            notes="Persons left after each step. " + window,
        ),
        Candidate(
            output_id="linkage_needs",
            kind="statistics",
            title="Criminogenic needs identified by OASys, SOC and non-SOC",
            data=_statistics(needs, ["section", "soc_status"]),
            spec={"person_shares": True},
            notes=f"Share of profiled persons with the need identified; {level}% Wilson "
            "intervals; a section not recorded leaves the person out of its base. " + window,
            figure={
                "type": "bar",
                "x": "section",
                "y": "value",
                "group": "soc_status",
                "horizontal": True,
                "ylabel": "share with the need",
            },
        ),
        Candidate(
            output_id="linkage_scores",
            kind="statistics",
            title="Mean OASys section scores and risk scores (OGRS, OVP), SOC and non-SOC",
            data=_statistics(scores, ["section", "soc_status"]),
            notes=f"Means over profiled persons with the score recorded; {level}% t intervals. "
            + window,
        ),
    ]
    if r.profile_differences is not None and r.profile_differences.height:
        d = r.profile_differences
        data = d.select(
            "characteristic",
            pl.col("characteristic").alias("statistic"),
            pl.col("smd").alias("value"),
            "ci_lower",
            "ci_upper",
            "n_persons",
        )
        out.append(
            Candidate(
                output_id="linkage_profile_differences",
                kind="statistics",
                title="How SOC offenders' OASys profiles differ: standardised differences",
                data=_statistics(data, ["characteristic"]),
                notes=f"SOC minus non-SOC over the pooled standard deviation, with {level}% "
                "intervals (large-sample variance of a standardised difference); |d| above "
                "0.1 is the usual mark of a difference that matters. A difference rests on the "
                "smallest of the counts it is made from. " + window,
                figure={
                    "type": "forest",
                    "label": "statistic",
                    "estimate": "value",
                    "lower": "ci_lower",
                    "upper": "ci_upper",
                    "ref": 0.0,
                    "log": False,
                    "xlabel": "standardised difference, SOC minus non-SOC",
                },
            )
        )
    m = r.need_models
    if m is not None and m.coefficients.height:
        terms = ", ".join(
            {"age_at_offence": "age at offence", "sex": "sex", "offence_group": "offence group"}[t]
            for t in s.adjust_for
        )
        out.append(
            Candidate(
                output_id="linkage_need_models",
                kind="model",
                title="Odds of each criminogenic need, SOC against non-SOC, adjusted "
                f"for {terms or 'nothing'}",
                data=m.coefficients,
                spec={
                    "residual_df": int(m.residual_df),
                    "estimate": "odds_ratio",
                    "ci_scale": "odds_ratio",
                },
                extra={"levels": m.levels},
                notes=f"One logistic regression per need on {m.n_persons:,} profiled persons; "
                f"odds ratio of SOC status with its {level}% interval (coef and se on the "
                "log-odds scale); model-based standard errors. " + "; ".join(m.notes),
                figure={
                    "type": "forest",
                    "label": "need",
                    "estimate": "odds_ratio",
                    "lower": "ci_lower",
                    "upper": "ci_upper",
                    "ref": 1.0,
                    "log": True,
                    "xlabel": "odds ratio, SOC against non-SOC (log scale)",
                },
            )
        )
    return out


def _score_label(section: str) -> str:
    return RISK_SCORES.get(section) or f"section score: {section_label(section)}"


def _history(r: Results) -> list[Candidate]:
    s = r.settings
    out = []
    if r.court_history is not None and r.history_coverage is not None:
        cov = r.history_coverage.select(
            "soc_status",
            pl.format("index persons whose look-back the data cover: {}", "soc_status").alias(
                "statistic"
            ),
            (pl.col("covered") / pl.col("persons")).alias("value"),
            pl.lit(None, dtype=pl.Float64).alias("ci_lower"),
            pl.lit(None, dtype=pl.Float64).alias("ci_upper"),
            pl.col("persons").cast(pl.Int64).alias("n_persons"),
        )
        courts = "magistrates' and Crown Court" if r.with_mags else "Crown Court"
        starts = f"Crown Court from {s.crown_data_start}"
        if r.with_mags:
            starts = f"magistrates' from {s.mags_data_start}, " + starts
        data, shares = comparison_rows(r.court_history, SOC_LABEL, NON_SOC_LABEL,
                                       s.confidence_level, "measure_name")  # fmt: skip
        out += [
            Candidate(
                output_id="linkage_history_coverage",
                kind="statistics",
                title="Criminal histories from the courts data: who has a whole look-back",
                data=_statistics(cov, ["soc_status"]),
                spec={"person_shares": True},
                notes=f"Share of index persons whose {s.history_lookback_years}-year look-back "
                f"before the index case starts on or after the first date of the {courts} "
                f"data ({starts}); only they have history counts.",
            ),
            Candidate(
                output_id="linkage_history_courts",
                kind="statistics",
                title=f"Known criminal histories in the {courts} data, SOC and non-SOC",
                data=data,
                spec={"person_shares": shares},
                notes=f"Appearances (one per case per court), convictions and immediate "
                f"custodial sentences disposed in the {s.history_lookback_years} years before "
                "the index case's offence date, for persons whose look-back the data cover; "
                "age at first appearance seen over all the data before the index case, which "
                f"is cut on the left by the data's start. SOC minus non-SOC standardised "
                "differences with intervals. " + COUNT_NOTE,
                figure={
                    "type": "forest",
                    "label": "measure_name",
                    "estimate": "value",
                    "lower": "ci_lower",
                    "upper": "ci_upper",
                    "ref": 0.0,
                    "log": False,
                    "filter": {"measure": DIFFERENCE},
                    "xlabel": "standardised difference, SOC minus non-SOC",
                },
            ),
        ]
    if r.pnc_history is not None:
        data, shares = comparison_rows(r.pnc_history, SOC_LABEL, NON_SOC_LABEL,
                                       s.confidence_level, "measure_name")  # fmt: skip
        out.append(
            Candidate(
                output_id="linkage_history_pnc",
                kind="statistics",
                title="Criminal histories in the Police National Computer extract, SOC and non-SOC",
                data=data,
                spec={"person_shares": shares},
                notes="PNC convictions, cautions and custodial sentences dated before the index "
                "case's offence date (whole careers: no look-back limit); SOC minus non-SOC "
                "standardised differences with intervals. " + COUNT_NOTE,
            )
        )
    return out


def build_candidates(r: Results) -> list[Candidate]:
    """Every would-be output of the stage that its inputs allowed."""
    out = [_flow(r)]
    if r.found is not None:
        out.append(_found(r))
    if r.balance is not None:
        out += _balance(r)
    if r.needs is not None:
        out += _oasys(r)
    out += _history(r)
    for i, c in enumerate(out, start=1):
        c.order = i
    return out


def _section_statistics(
    frame: pl.DataFrame, label: Callable[[str], str], value: str
) -> pl.DataFrame:
    """Statistics rows per OASys section and SOC status: the section's label (`label` of the
    section name), `<label>: <SOC status>`, the `value` column and its interval and base."""
    return frame.with_columns(pl.col("section").map_elements(label, return_dtype=pl.String)).select(
        "section",
        "soc_status",
        pl.format("{}: {}", "section", "soc_status").alias("statistic"),
        pl.col(value).alias("value"),
        "ci_lower",
        "ci_upper",
        "n_persons",
    )
