"""The headline measures of the field: SOC against non-SOC Crown Court defendants.

The published Data First study of SOC in the Crown Court 2013-2020 (ADR UK Data Insight, 2023)
reported, for SOC and other appearances: the SOC share of appearances and of cases, the share of
appearances on a drug offence, the guilty-plea and conviction rates, re-appearance and recall to
prison within two years, the share male and White, and the mean age. This module computes each
of them from the workflow's own tables with the stages' own definitions, so that the report's
headline table and the synthetic data's calibration read the same numbers:

* an *appearance* is a Crown Court defendant-case disposed of in the study years
  (`socflow.describe.study_rows`), SOC when the primary definition flags it;
* a *case* is counted once, SOC when any of its defendant-cases is (`socflow.describe.case_rows`);
* convicted means the outcome group `convicted` of config `outcome_groups` (ingest derives it);
* back in court within two years is the survival stage's Kaplan-Meier cumulative re-appearance
  at 730 days, per index person (`socflow.survival.kaplan_meier`, `km_at`);
* recalled within two years is the custody stage's Aalen-Johansen cumulative incidence of recall
  at 730 days after release from the index case's prison journey, death or deportation
  competing (`socflow.custody`); without linked prison data the row says so.

Every proportion carries its count base and a Wilson score interval; a mean carries its base.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from socflow.custody.incidence import EVENT, cumulative_incidence
from socflow.describe import SOC_LABEL, case_rows, index_appearances, study_rows
from socflow.distributions import normal_quantile
from socflow.labels import HEADLINE_MEASURES as MEASURES
from socflow.outputs import Candidate, write_candidates
from socflow.parquet import write_parquet
from socflow.survival import GROUP as SURVIVAL_GROUP
from socflow.survival import NON_SOC_LABEL as SURVIVAL_NON_SOC
from socflow.survival import kaplan_meier, km_at

SOC = SOC_LABEL[True]
NON_SOC = SOC_LABEL[False]
ALL = "all"
POPULATIONS = (SOC, NON_SOC, ALL)
NEEDS_PRISON_DATA = "needs prison data"
DRUG_GROUP = "Drug offences"
REAPPEARANCE_HORIZON_DAYS = 730


SCHEMA: dict[str, pl.DataType] = {
    "measure": pl.String(),
    "population": pl.String(),
    "unit": pl.String(),
    "kind": pl.String(),
    "numerator": pl.Int64(),
    "base": pl.Int64(),
    "value": pl.Float64(),
    "ci_lower": pl.Float64(),
    "ci_upper": pl.Float64(),
    "note": pl.String(),
}


@dataclass(frozen=True)
class HeadlineInputs:
    """The tables the measures are computed from (the stages' outputs)."""

    crown: pl.DataFrame  # results/ingest/crown_defendant_cases.parquet
    flags: pl.DataFrame  # results/soc/defendant_cases.parquet
    follow_up: pl.DataFrame | None  # results/survival/follow_up.parquet (None: not run)
    first_year: int
    last_year: int
    confidence_level: float = 0.95
    recall: pl.DataFrame | None = None  # results/custody/recall.parquet (None: no prison data)


def wilson_interval(successes: pl.Expr, n: pl.Expr, level: float = 0.95) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval of a binomial proportion (null when the base is 0)."""
    z = float(normal_quantile(0.5 + level / 2))
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * ((p * (1 - p) / n + z**2 / (4 * n**2)).sqrt())
    valid = n > 0
    return (
        pl.when(valid).then(centre - half).alias("ci_lower"),
        pl.when(valid).then(centre + half).alias("ci_upper"),
    )


def _status(soc: str) -> pl.Expr:
    return pl.col(soc).replace_strict(SOC_LABEL, return_dtype=pl.String).alias("population")


def _with_all(df: pl.DataFrame) -> pl.DataFrame:
    """The rows of each status, plus every row again as population `all`."""
    return pl.concat([df, df.with_columns(pl.lit(ALL).alias("population"))])


def _per_population(df: pl.DataFrame, aggs: list[pl.Expr]) -> pl.DataFrame:
    """`aggs` per population and over every row (population `all`): the groups of
    `_with_all(df)`, without copying the rows (none when `df` has no rows)."""
    by = df.group_by("population").agg(aggs)
    if df.is_empty():
        return by
    every = df.select(aggs).with_columns(pl.lit(ALL).alias("population"))
    return pl.concat([by, every.select(by.columns)])


def _proportions(
    units: pl.DataFrame, conditions: dict[str, pl.Expr], unit: str, level: float
) -> pl.DataFrame:
    """Share of `units` (with a `population` column) meeting each condition (measure id ->
    condition), per population; the units are grouped once for every condition."""
    counts = _per_population(
        units,
        [cond.fill_null(False).sum().cast(pl.Int64).alias(m) for m, cond in conditions.items()]
        + [pl.len().cast(pl.Int64).alias("base")],
    )
    return pl.concat(
        [
            _complete(
                counts.select("population", pl.col(m).alias("numerator"), "base").with_columns(
                    (pl.col("numerator") / pl.col("base")).alias("value"),
                    *wilson_interval(pl.col("numerator"), pl.col("base"), level),
                ),
                m,
                unit,
                "proportion",
            )
            for m in conditions
        ]
    )


def _complete(df: pl.DataFrame, measure: str, unit: str, kind: str) -> pl.DataFrame:
    """Every population present (empty ones with base 0), in the fixed schema and order."""
    grid = pl.DataFrame({"population": list(POPULATIONS)})
    out = grid.join(df, on="population", how="left", maintain_order="left")
    for name, dtype in SCHEMA.items():
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return out.with_columns(
        pl.lit(measure).alias("measure"),
        pl.lit(unit).alias("unit"),
        pl.lit(kind).alias("kind"),
        pl.col("base").fill_null(0),
    ).select([pl.col(k).cast(v) for k, v in SCHEMA.items()])


def appearances(inputs: HeadlineInputs) -> pl.DataFrame:
    """Crown Court appearances in the study years with their SOC status (`population`)."""
    rows = study_rows(inputs.crown, inputs.flags, inputs.first_year, inputs.last_year)
    return rows.with_columns(_status("soc"))


def soc_share(rows: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """SOC share of appearances and of cases (population `all`: the share is of everyone)."""
    cases = case_rows(rows)
    out = []
    for measure, unit, units, flag in (
        ("soc_share_appearances", "appearances", rows, "soc"),
        ("soc_share_cases", "cases", cases, "soc_case"),
    ):
        n = units.height
        k = int(units[flag].fill_null(False).sum())
        one = pl.DataFrame({"population": [ALL], "numerator": [k], "base": [n]}).with_columns(
            (pl.col("numerator") / pl.col("base")).alias("value"),
            *wilson_interval(pl.col("numerator"), pl.col("base"), level),
        )
        out.append(_complete(one, measure, unit, "proportion").filter(pl.col("population") == ALL))
    return pl.concat(out)


def appearance_conditions() -> dict[str, pl.Expr]:
    """Measure id -> the condition an appearance meets to count in that proportion."""
    return {
        "drug_offence_share": pl.col("offence_group") == DRUG_GROUP,
        "guilty_plea_rate": pl.col("plea").cast(pl.String) == "guilty",
        "conviction_rate": pl.col("outcome_group") == "convicted",
        "male_share": pl.col("sex").cast(pl.String) == "M",
        "white_share": pl.col("ethnic_group").cast(pl.String) == "White",
    }


def appearance_proportions(rows: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Drug offences, guilty plea, conviction, male and White among appearances."""
    return _proportions(rows, appearance_conditions(), "appearances", level)


AGE_UNIT = "persons (age at their index appearance)"


def persons_with_age(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per person with a known age: the age at their index appearance (their first SOC
    appearance if they have one, else their first: `socflow.describe.index_appearances`), and
    their status as `population`. A mean over persons is a magnitude disclosure control can
    check (one contribution per person)."""
    return (
        index_appearances(rows)
        .filter(pl.col("age_at_offence").is_not_null())
        .select(
            pl.col("status").alias("population"),
            pl.col("age_at_offence").cast(pl.Float64).alias("value"),
            "person",
        )
    )


def mean_age(rows: pl.DataFrame, ages: pl.DataFrame | None = None) -> pl.DataFrame:
    """Mean age at offence of persons at their index appearance, per population (`ages`:
    `persons_with_age(rows)`, when the caller has it already)."""
    means = (
        _with_all(persons_with_age(rows) if ages is None else ages)
        .group_by("population")
        .agg(pl.col("value").mean().alias("value"), pl.len().cast(pl.Int64).alias("base"))
    )
    return _complete(means, "mean_age", AGE_UNIT, "mean")


def back_in_court(
    follow_up: pl.DataFrame, level: float = 0.95, horizon_days: int = REAPPEARANCE_HORIZON_DAYS
) -> pl.DataFrame:
    """Kaplan-Meier cumulative re-appearance at the horizon, per index person (survival stage)."""
    follow = pl.concat(
        [
            follow_up.with_columns(
                pl.when(pl.col(SURVIVAL_GROUP) == SURVIVAL_NON_SOC)
                .then(pl.lit(NON_SOC))
                .otherwise(pl.col(SURVIVAL_GROUP))
                .alias(SURVIVAL_GROUP)
            ),
            follow_up.with_columns(pl.lit(ALL).alias(SURVIVAL_GROUP)),
        ]
    )
    km = kaplan_meier(follow, SURVIVAL_GROUP, level)
    at = km_at(km, horizon_days, SURVIVAL_GROUP)
    persons = follow.group_by(SURVIVAL_GROUP).agg(pl.col("person").n_unique().alias("base"))
    df = at.join(persons, on=SURVIVAL_GROUP, how="right").select(
        pl.col(SURVIVAL_GROUP).alias("population"),
        "base",
        pl.col("estimate").alias("value"),
        "ci_lower",
        "ci_upper",
    )
    return _complete(df, "back_in_court_2y", "index persons", "proportion")


RECALL_UNIT = "released persons"


def _recall_population(recall: pl.DataFrame) -> pl.DataFrame:
    """The custody stage's recall follow-up with the headline's `population` labels."""
    return recall.with_columns(
        pl.when(pl.col("soc_status") == "SOC")
        .then(pl.lit(SOC))
        .otherwise(pl.lit(NON_SOC))
        .alias("population")
    )


def recall_to_prison(
    recall: pl.DataFrame | None = None,
    level: float = 0.95,
    horizon_days: int = REAPPEARANCE_HORIZON_DAYS,
) -> pl.DataFrame:
    """Cumulative incidence of recall within two years of release, per population, from the
    custody stage's follow-up; without linked prison data (None) the rows say so."""
    if recall is None:
        df = pl.DataFrame({"population": [SOC, NON_SOC], "note": [NEEDS_PRISON_DATA] * 2})
        return _complete(df, "recall_to_prison_2y", "index persons", "proportion").filter(
            pl.col("population") != ALL
        )
    rows = []
    for (pop,), part in _with_all(_recall_population(recall)).group_by(
        "population", maintain_order=True
    ):
        inc = cumulative_incidence(
            part["time"].to_numpy(), part["status"].to_numpy(), horizon_days, level
        )
        rows.append(
            {"population": pop, "numerator": inc.events, "base": inc.persons,
             "value": inc.estimate, "ci_lower": inc.ci_lower, "ci_upper": inc.ci_upper}
        )  # fmt: skip
    columns = ("population", "numerator", "base", "value", "ci_lower", "ci_upper")
    df = pl.DataFrame(rows, schema={k: SCHEMA[k] for k in columns})
    return _complete(df, "recall_to_prison_2y", RECALL_UNIT, "proportion")


def headline_measures(
    inputs: HeadlineInputs,
    rows: pl.DataFrame | None = None,
    ages: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every headline measure, one row per (measure, population), in the order of MEASURES.

    Without a follow-up table (survival not run) the re-appearance rows say so in `note`.
    `rows` (`appearances(inputs)`) and `ages` (`persons_with_age(rows)`) may be given when the
    caller has them already, so that they are derived once.
    """
    level = inputs.confidence_level
    rows = appearances(inputs) if rows is None else rows
    parts = [soc_share(rows, level), appearance_proportions(rows, level), mean_age(rows, ages)]
    if inputs.follow_up is not None:
        parts.append(back_in_court(inputs.follow_up, level))
    else:
        parts.append(
            _complete(
                pl.DataFrame({"population": list(POPULATIONS),
                              "note": ["needs the re-appearance stage"] * 3}),
                "back_in_court_2y", "index persons", "proportion",
            )
        )  # fmt: skip
    parts.append(recall_to_prison(inputs.recall, level))
    order = {m: i for i, m in enumerate(MEASURES)}
    pop_order = {p: i for i, p in enumerate(POPULATIONS)}
    return (
        pl.concat(parts)
        .sort(
            pl.col("measure").replace_strict(order, return_dtype=pl.Int32),
            pl.col("population").replace_strict(pop_order, return_dtype=pl.Int32),
        )
        .with_columns(pl.col("measure").replace_strict(MEASURES).alias("label"))
    )


# --------------------------------------------------------------------------------------------
# The headline table as outputs for the disclosure stage

HEADLINE_STATS = "headline_measures"
HEADLINE_AGE = "headline_mean_age"


def _persons_each_side(
    rows: pl.DataFrame, conditions: dict[str, pl.Expr], populations: bool = True
) -> pl.DataFrame:
    """(measure, population, n_persons): per population, distinct persons among units meeting
    each condition (measure id -> condition) and among the others; a proportion states both
    counts, so it rests on the smaller. The units are grouped once for every condition;
    `populations` False: over every unit only (population `all`)."""
    aggs = []
    for i, cond in enumerate(conditions.values()):
        met = cond.fill_null(False)
        aggs += [
            pl.col("person").filter(met).n_unique().alias(f"_with{i}"),
            pl.col("person").filter(~met).n_unique().alias(f"_without{i}"),
        ]
    counts = (
        _per_population(rows, aggs)
        if populations
        else rows.select(aggs).with_columns(pl.lit(ALL).alias("population"))
    )
    return pl.concat(
        [
            counts.select(
                pl.lit(m).alias("measure"),
                "population",
                pl.min_horizontal(f"_with{i}", f"_without{i}").cast(pl.Int64).alias("n_persons"),
            )
            for i, m in enumerate(conditions)
        ]
    )


def _person_bases(inputs: HeadlineInputs, rows: pl.DataFrame) -> pl.DataFrame:
    """(measure, population, n_persons) for every proportion of `headline_measures`."""
    parts = [_persons_each_side(rows, appearance_conditions())]
    if not rows.is_empty():
        soc_cases = rows.filter(pl.col("soc_case").fill_null(False)).select("case_id").unique()
        shares = {
            "soc_share_appearances": pl.col("soc").fill_null(False),
            "soc_share_cases": pl.col("case_id").is_in(soc_cases["case_id"].implode()),
        }
        parts.append(_persons_each_side(rows, shares, populations=False))
    if inputs.follow_up is not None:
        fu = inputs.follow_up.with_columns(
            pl.when(pl.col(SURVIVAL_GROUP) == SURVIVAL_NON_SOC)
            .then(pl.lit(NON_SOC))
            .otherwise(pl.col(SURVIVAL_GROUP))
            .alias("population")
        )
        back = pl.col("event") & (pl.col("time") <= REAPPEARANCE_HORIZON_DAYS)
        parts.append(_persons_each_side(fu, {"back_in_court_2y": back}))
    if inputs.recall is not None:
        recalled = (pl.col("status") == EVENT) & (pl.col("time") <= REAPPEARANCE_HORIZON_DAYS)
        parts.append(
            _persons_each_side(
                _recall_population(inputs.recall).rename({"person_id": "person"}),
                {"recall_to_prison_2y": recalled},
            )
        )
    return pl.concat(parts).select("measure", "population", "n_persons")


def headline_candidates(
    inputs: HeadlineInputs, skipped: list[str] | tuple[str, ...] = ()
) -> list[Candidate]:
    """The headline table as outputs: the proportions (each resting on the smaller of the
    persons it counts in and out, withheld below the threshold) and the mean ages (a
    magnitude: one contribution per appearance, so dominance and p-ratio rules apply).
    `skipped`: measure ids the extract cannot give (socflow.coverage), left out."""
    rows = appearances(inputs)
    ages = persons_with_age(rows)
    measures = headline_measures(inputs, rows, ages)
    return _candidates(inputs, rows, ages, measures, skipped)


def _candidates(
    inputs: HeadlineInputs,
    rows: pl.DataFrame,
    ages: pl.DataFrame,
    measures: pl.DataFrame,
    skipped: list[str] | tuple[str, ...],
) -> list[Candidate]:
    """`headline_candidates` from the appearances, the persons' ages and every measure."""
    measures = measures.filter(~pl.col("measure").is_in(list(skipped)))
    props = (
        measures.filter((pl.col("kind") == "proportion") & pl.col("note").is_null())
        .join(_person_bases(inputs, rows), on=["measure", "population"], how="left")
        .select(
            pl.concat_str("label", pl.lit(": "), "population").alias("statistic"),
            pl.col("label").alias("measure"),
            "population",
            "value",
            "ci_lower",
            "ci_upper",
            pl.col("base").alias("base"),
            pl.col("unit").alias("base_unit"),
            pl.col("n_persons").fill_null(0),
        )
    )
    level = round(100 * inputs.confidence_level)
    if "mean_age" in skipped:
        ages = ages.clear()
    return [
        Candidate(
            HEADLINE_STATS,
            "statistics",
            "Headline measures: SOC and non-SOC Crown Court defendants",
            props,
            notes=f"Proportions with {level}% Wilson intervals; the base is the number of "
            "appearances (defendant-cases disposed of in the study years), cases or index "
            "persons each proportion is of. Back in court within 2 years: Kaplan-Meier "
            "estimate at 730 days. Recalled within 2 years: Aalen-Johansen cumulative "
            "incidence at 730 days after release from custody (death or deportation "
            "competing), of persons released from the index case's prison journey.",
        ),
        Candidate(
            HEADLINE_AGE,
            "magnitude",
            "Headline measures: age at offence of SOC and non-SOC persons",
            ages,
            spec={"by": ["population"], "value": "value", "person": "person", "margins": True},
            notes="Mean age at offence of persons at their index appearance (first SOC "
            "appearance if any, else first appearance), with a known age.",
        ),
    ]


# The columns the measures read: the appearances of `socflow.describe.study_rows` and the
# conditions, ages and person counts above; the rule reads no others.
CROWN_COLUMNS = (
    "defendant_on_case_id", "case_id", "disposal_year", "disposal_date", "region", "sex",
    "ethnic_group", "plea", "sentence_type", "court_name", "court_id", "custody_days",
    "offence_group", "outcome_group", "age_at_offence",
)  # fmt: skip
FLAG_COLUMNS = ("defendant_on_case_id", "person", "soc", "soc_case", "soc_category")


def _read_columns(path: str, columns: tuple[str, ...]) -> pl.DataFrame:
    """The file's columns among `columns` (one it lacks fails where it is used, as before)."""
    return pl.read_parquet(path, columns=[c for c in pl.read_parquet_schema(path) if c in columns])


def run_headline(
    crown_path: str,
    flags_path: str,
    follow_up_path: str | None,
    first_year: int,
    last_year: int,
    confidence_level: float,
    skipped: list[str],
    out_candidates: str,
    recall_path: str | None = None,
    out_measures: str | Path | None = None,
) -> list[Candidate]:
    """Rule `headline`: the headline measures as candidates for the disclosure stage, and
    (`out_measures`) every measure of `headline_measures` as one table, which the synthetic
    data's calibration reads rather than computing them again."""
    inputs = HeadlineInputs(
        crown=_read_columns(crown_path, CROWN_COLUMNS),
        flags=_read_columns(flags_path, FLAG_COLUMNS),
        follow_up=pl.read_parquet(follow_up_path) if follow_up_path else None,
        first_year=first_year,
        last_year=last_year,
        confidence_level=confidence_level,
        recall=pl.read_parquet(recall_path) if recall_path else None,
    )
    rows = appearances(inputs)
    ages = persons_with_age(rows)
    measures = headline_measures(inputs, rows, ages)
    if out_measures is not None:
        Path(out_measures).parent.mkdir(parents=True, exist_ok=True)
        write_parquet(measures, out_measures)
    candidates = [c for c in _candidates(inputs, rows, ages, measures, skipped) if c.data.height]
    write_candidates(candidates, out_candidates, stage="headline")
    return candidates
