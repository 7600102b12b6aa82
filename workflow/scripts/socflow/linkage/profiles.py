"""OASys profiles of SOC and non-SOC offenders: the assessment nearest after the index case,
the share with each criminogenic need, mean section and risk scores, and standardised
differences."""

from __future__ import annotations

import polars as pl

from socflow.distributions import t_quantile
from socflow.headline import wilson_interval
from socflow.linkage.balance import BINARY, CONTINUOUS, standardised_differences
from socflow.linkage.diagnostics import soc_status
from socflow.linkage.settings import SOC_LABEL, Settings
from socflow.schema import OASYS_SECTIONS

RISK_SCORES = {"ogrs_2yr": "OGRS (2-year general reoffending, %)",
               "ovp_2yr": "OVP (2-year violent reoffending, %)"}  # fmt: skip


def section_label(section: str) -> str:
    """An OASys section in words."""
    return {
        "education_training_employability": "education, training and employability",
        "lifestyle_associates": "lifestyle and associates",
        "emotional_wellbeing": "emotional well-being",
        "thinking_behaviour": "thinking and behaviour",
    }.get(section, section.replace("_", " "))


def nearest_assessment(
    cohort: pl.DataFrame, assessments: pl.DataFrame, s: Settings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each cohort person's OASys assessment nearest after the index disposal, within
    `s.oasys_window_days` (full assessments only when `s.full_assessments_only`), and the flow.

    `assessments` carries person_id (`socflow.linkage.linked.person_rows`). Ties on the date
    go to the smallest row_id. Returns the profiled persons (cohort columns, the assessment's
    columns and days_to_assessment) and the flow: persons per step, SOC and non-SOC.
    """
    window = pl.duration(days=s.oasys_window_days)
    rows = assessments.join(
        cohort.select("person_id", "index_disposal_date"), on="person_id", how="inner"
    )
    steps = [("with any linked OASys assessment", rows)]
    if s.full_assessments_only:
        rows = rows.filter(pl.col("full_assessment").cast(pl.String) == "yes")
        steps.append(("with a full (layer 3) assessment", rows))
    rows = rows.filter(
        pl.col("assessment_date").is_between(
            pl.col("index_disposal_date"), pl.col("index_disposal_date") + window
        )
    )
    steps.append((f"with one within {s.oasys_window_days} days after the index case", rows))
    nearest = (
        rows.sort("person_id", "assessment_date", "row_id")
        .group_by("person_id", maintain_order=True)
        .first()
        .drop("index_disposal_date")
    )
    profiled = cohort.join(nearest, on="person_id", how="inner").with_columns(
        (pl.col("assessment_date") - pl.col("index_disposal_date"))
        .dt.total_days()
        .cast(pl.Int32)
        .alias("days_to_assessment")
    )
    flow_rows = [("index persons (linked cohort)", cohort)] + [
        (label, cohort.join(frame.select("person_id").unique(), on="person_id", how="semi"))
        for label, frame in steps
    ]
    flow = pl.concat(
        [
            frame.group_by(soc_status().alias("soc_status"))
            .agg(pl.len().cast(pl.Int64).alias("persons"))
            .select(pl.lit(label).alias("step"), "soc_status", "persons")
            for label, frame in flow_rows
        ]
    )
    order = {label: i for i, (label, _) in enumerate(flow_rows)}
    flow = (
        flow.with_columns(pl.col("step").replace_strict(order, return_dtype=pl.Int32).alias("_o"))
        .sort("_o", pl.col("soc_status") != SOC_LABEL)
        .drop("_o")
    )
    return profiled.sort("person_id"), flow


def need_shares(profiled: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Share of profiled persons with each criminogenic need, SOC and non-SOC (Wilson
    intervals). Persons whose section is not recorded are left out of that section's base.
    Columns: section, soc_status, with_need, n_persons, share, ci_lower, ci_upper."""
    long = _needs_long(profiled)
    lo, hi = wilson_interval(pl.col("with_need"), pl.col("n_persons"), level)
    return (
        long.group_by("section", "soc_status")
        .agg(
            pl.col("need").sum().cast(pl.Int64).alias("with_need"),
            pl.len().cast(pl.Int64).alias("n_persons"),
        )
        .with_columns((pl.col("with_need") / pl.col("n_persons")).alias("share"), lo, hi)
        .pipe(_in_section_order)
    )


def _needs_long(profiled: pl.DataFrame) -> pl.DataFrame:
    needs = [f"{sec}_need" for sec in OASYS_SECTIONS if f"{sec}_need" in profiled.columns]
    return (
        profiled.select(
            soc_status().alias("soc_status"),
            *[(pl.col(n).cast(pl.String) == "yes").cast(pl.Int8).alias(n) for n in needs],
            *[pl.col(n).is_null().alias(f"{n}__missing") for n in needs],
        )
        .with_columns(
            pl.when(pl.col(f"{n}__missing")).then(None).otherwise(pl.col(n)).alias(n) for n in needs
        )
        .select("soc_status", *needs)
        .unpivot(index="soc_status", on=needs, variable_name="section", value_name="need")
        .drop_nulls("need")
        .with_columns(pl.col("section").str.strip_suffix("_need"))
    )


def _in_section_order(frame: pl.DataFrame) -> pl.DataFrame:
    order = {sec: i for i, sec in enumerate([*OASYS_SECTIONS, *RISK_SCORES])}
    return frame.sort(
        pl.col("section").replace_strict(order, return_dtype=pl.Int32),
        pl.col("soc_status") != SOC_LABEL,
    )


def score_means(profiled: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Mean section scores and risk scores (OGRS, OVP), SOC and non-SOC, with t intervals.
    Columns: section (section or risk score), soc_status, n_persons, mean, ci_lower, ci_upper."""
    columns = {f"{sec}_score": sec for sec in OASYS_SECTIONS}
    columns.update({c: c for c in RISK_SCORES})
    present = [c for c in columns if c in profiled.columns]
    if not present:
        return pl.DataFrame(
            schema={"section": pl.String, "soc_status": pl.String, "n_persons": pl.Int64,
                    "mean": pl.Float64, "ci_lower": pl.Float64, "ci_upper": pl.Float64}
        )  # fmt: skip
    long = (
        profiled.select(
            soc_status().alias("soc_status"), *[pl.col(c).cast(pl.Float64) for c in present]
        )
        .unpivot(index="soc_status", on=present, variable_name="column", value_name="x")
        .drop_nulls("x")
        .with_columns(
            pl.col("column").replace_strict(columns, return_dtype=pl.String).alias("section")
        )
    )
    agg = long.group_by("section", "soc_status").agg(
        pl.len().cast(pl.Int64).alias("n_persons"),
        pl.col("x").mean().alias("mean"),
        (pl.col("x").std(ddof=1) / pl.len().sqrt()).alias("_se"),
    )
    t = [float(t_quantile(0.5 + level / 2, max(n - 1, 1))) for n in agg["n_persons"]]
    return (
        agg.with_columns(pl.Series("_t", t))
        .with_columns(
            (pl.col("mean") - pl.col("_t") * pl.col("_se")).alias("ci_lower"),
            (pl.col("mean") + pl.col("_t") * pl.col("_se")).alias("ci_upper"),
        )
        .drop("_t", "_se")
        .pipe(_in_section_order)
    )


def profile_differences(profiled: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Standardised differences, SOC against non-SOC, of every need, section score and risk
    score (socflow.linkage.balance)."""
    kinds: dict[str, str] = {}
    exprs = []
    for sec in OASYS_SECTIONS:
        need, score = f"{sec}_need", f"{sec}_score"
        if need in profiled.columns:
            name = f"need: {section_label(sec)}"
            kinds[name] = BINARY
            exprs.append(
                pl.when(pl.col(need).is_not_null())
                .then((pl.col(need).cast(pl.String) == "yes").cast(pl.Float64))
                .alias(name)
            )
        if score in profiled.columns:
            name = f"score: {section_label(sec)}"
            kinds[name] = CONTINUOUS
            exprs.append(pl.col(score).cast(pl.Float64).alias(name))
    for column, label in RISK_SCORES.items():
        if column in profiled.columns:
            kinds[label] = CONTINUOUS
            exprs.append(pl.col(column).cast(pl.Float64).alias(label))
    features = profiled.select("soc", *exprs)
    return standardised_differences(features, "soc", kinds, level)
