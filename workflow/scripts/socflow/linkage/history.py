"""Known criminal histories before the index case: from the courts data themselves, and from a
Police National Computer extract when one is mapped.

The courts data begin in 2011 (magistrates') and 2013 (Crown Court), so a history seen in them
is cut on the left: a person indexed in 2014 shows at most three years of magistrates' history.
Counts are therefore taken over a fixed look-back (`linkage.history.lookback_years`) and only
for persons whose whole look-back lies inside both courts' data; "age at first appearance seen"
is the earliest age in any court row up to the index case, a floor that moves with the data's
start. A PNC extract records whole careers and is read without a look-back limit.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from socflow.linkage.balance import BINARY, CONTINUOUS, COUNT, standardised_differences
from socflow.linkage.diagnostics import soc_status
from socflow.linkage.linked import person_ids
from socflow.linkage.settings import SOC_LABEL, Settings
from socflow.survival.settings import str_col

COURT_MEASURES = {
    "prior_appearances": ("court appearances in the look-back", COUNT),
    "prior_convictions": ("convictions in the look-back", COUNT),
    "prior_custody": ("immediate custodial sentences in the look-back", COUNT),
    "any_prior_appearance": ("any court appearance in the look-back", BINARY),
    "any_prior_conviction": ("any conviction in the look-back", BINARY),
    "any_prior_custody": ("any immediate custodial sentence in the look-back", BINARY),
    "age_first_seen": ("age at first court appearance seen (years)", CONTINUOUS),
}
PNC_MEASURES = {
    "pnc_convictions": ("PNC convictions before the index case", COUNT),
    "pnc_cautions": ("PNC cautions before the index case", COUNT),
    "pnc_custody": ("PNC custodial sentences before the index case", COUNT),
    "pnc_any_conviction": ("any PNC conviction before the index case", BINARY),
    "pnc_any_caution": ("any PNC caution before the index case", BINARY),
    "pnc_years_since_first": ("years from first PNC event to the index case", CONTINUOUS),
}
COURT_ROW_COLUMNS = ("row_id", "case_id", "offence_date", "receipt_date", "disposal_date",
                     "age_at_offence", "outcome_group", "sentence_type")  # fmt: skip


def index_start(cohort: pl.DataFrame, crown: pl.DataFrame) -> pl.DataFrame:
    """The cohort with `index_start`: the index case's offence date, else its receipt, else its
    disposal. A history is what was disposed of before it (the index case's own hearing in the
    magistrates' court, before it was sent up, is not history)."""
    start = crown.select(
        pl.col("defendant_on_case_id").alias("index_defendant_on_case_id"),
        pl.coalesce(
            *[c for c in ("offence_date", "receipt_date") if c in crown.columns], "disposal_date"
        ).alias("index_start"),
    )
    return cohort.join(start, on="index_defendant_on_case_id", how="left").with_columns(
        pl.col("index_start").fill_null(pl.col("index_disposal_date"))
    )


def court_rows(
    crown: pl.DataFrame, mags: pl.DataFrame, ids: pl.DataFrame | pl.LazyFrame, s: Settings
) -> pl.DataFrame:
    """Every court row with a cross-justice person (`ids`: the person lookup or a linking
    table, `socflow.linkage.linked.person_ids`): person_id, source, case_id,
    disposal_date, age_at_offence, convicted, custody. Magistrates' breaches and civil
    applications are not appearances for an offence and are left out."""
    parts = []
    for source, table in (("crown", crown), ("mags", mags)):
        if table.height == 0:
            continue
        rows = table
        if source == "mags" and "proceeding_type" in rows.columns:
            rows = rows.filter(
                str_col("proceeding_type").is_null() | (str_col("proceeding_type") == "criminal")
            )
        resolved = person_ids(ids, source, s.fanout_rule)
        linked = rows.join(
            resolved.select("row_id", "person_id"), on="row_id", how="inner", maintain_order="left"
        ).drop_nulls("person_id")
        parts.append(
            linked.select(
                "person_id",
                pl.lit(source).alias("source"),
                pl.col("case_id").cast(pl.String),
                "disposal_date",
                pl.col("age_at_offence").cast(pl.Int16),
                (pl.col("outcome_group") == "convicted").fill_null(False).alias("convicted"),
                (str_col("sentence_type") == "immediate_custody").fill_null(False).alias("custody"),
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={"person_id": pl.String, "source": pl.String, "case_id": pl.String,
                    "disposal_date": pl.Date, "age_at_offence": pl.Int16,
                    "convicted": pl.Boolean, "custody": pl.Boolean}
        )  # fmt: skip
    return pl.concat(parts)


def court_history(
    cohort: pl.DataFrame, rows: pl.DataFrame, s: Settings, with_mags: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per cohort person (with `index_start`): appearances, convictions and immediate custodial
    sentences disposed in the look-back before the index case, and age at first appearance seen.

    An appearance is one case of one court (a magistrates' case and the Crown Court case it was
    sent to are two appearances). Returns the per-person table (persons whose look-back the
    data cover have the counts; others null) and the coverage counts by SOC status.
    """
    years = s.history_lookback_years
    # The look-back must lie inside the data of every court read.
    covered_from = max(s.mags_data_start if with_mags else date.min, s.crown_data_start)
    base = cohort.select(
        "person_id", "soc", "index_start",
        pl.col("index_start").dt.offset_by(f"-{years}y").alias("lookback_from"),
    )  # fmt: skip
    base = base.with_columns((pl.col("lookback_from") >= covered_from).alias("covered"))
    # The cohort's court rows, joined once for both the counts and the age first seen.
    joined = rows.join(base, on="person_id", how="inner")
    before = joined.filter(pl.col("disposal_date") < pl.col("index_start"))
    in_window = before.filter(pl.col("disposal_date") >= pl.col("lookback_from"))
    per_case = in_window.group_by("person_id", "source", "case_id").agg(
        pl.col("convicted").any(), pl.col("custody").any()
    )
    counts = per_case.group_by("person_id").agg(
        pl.len().alias("prior_appearances"),
        pl.col("convicted").sum().alias("prior_convictions"),
        pl.col("custody").sum().alias("prior_custody"),
    )
    ages = pl.concat(
        [
            joined.filter(pl.col("disposal_date") <= pl.col("index_start")).select(
                "person_id", "age_at_offence"
            ),
            cohort.select("person_id", "age_at_offence"),
        ]
    )
    first_age = ages.group_by("person_id").agg(
        pl.col("age_at_offence").min().alias("age_first_seen")
    )
    history = (
        base.join(counts, on="person_id", how="left")
        .join(first_age, on="person_id", how="left")
        .with_columns(
            pl.when(pl.col("covered")).then(pl.col(c).fill_null(0)).cast(pl.Float64).alias(c)
            for c in ("prior_appearances", "prior_convictions", "prior_custody")
        )
        .with_columns(
            (pl.col(c) > 0).cast(pl.Float64).alias(a)
            for c, a in (
                ("prior_appearances", "any_prior_appearance"),
                ("prior_convictions", "any_prior_conviction"),
                ("prior_custody", "any_prior_custody"),
            )
        )
        .with_columns(pl.col("age_first_seen").cast(pl.Float64))
        .sort("person_id")
    )
    coverage = (
        history.group_by(soc_status().alias("soc_status"))
        .agg(pl.len().alias("persons"), pl.col("covered").sum().alias("covered"))
        .sort(pl.col("soc_status") != SOC_LABEL)
    )
    return history, coverage


def pnc_history(cohort: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Per cohort person (with `index_start`): PNC convictions, cautions and custodial
    sentences dated before the index case, and years since the first PNC event."""
    before = events.join(cohort.select("person_id", "index_start"), on="person_id").filter(
        pl.col("event_date") < pl.col("index_start")
    )
    counts = before.group_by("person_id").agg(
        *[
            (str_col("event_type") == t).sum().alias(f"pnc_{name}")
            for t, name in (
                ("conviction", "convictions"),
                ("caution", "cautions"),
                ("custody", "custody"),
            )
        ],
        pl.col("event_date").min().alias("_first"),
    )
    return (
        cohort.select("person_id", "soc", "index_start")
        .join(counts, on="person_id", how="left")
        .with_columns(pl.col("pnc_convictions", "pnc_cautions", "pnc_custody").fill_null(0))
        .with_columns(
            (pl.col("pnc_convictions") > 0).cast(pl.Float64).alias("pnc_any_conviction"),
            (pl.col("pnc_cautions") > 0).cast(pl.Float64).alias("pnc_any_caution"),
            ((pl.col("index_start") - pl.col("_first")).dt.total_days() / 365.25).alias(
                "pnc_years_since_first"
            ),
            pl.col("pnc_convictions", "pnc_cautions", "pnc_custody").cast(pl.Float64),
        )
        .drop("_first")
        .sort("person_id")
    )


def history_summary(
    history: pl.DataFrame, measures: dict[str, tuple[str, str]], level: float = 0.95
) -> pl.DataFrame:
    """Mean (or share) of each measure, SOC and non-SOC, and their standardised difference.
    Columns: measure, kind, soc_mean, soc_n, non_soc_mean, non_soc_n, smd, ci_lower, ci_upper,
    n_persons."""
    present = {c: v for c, v in measures.items() if c in history.columns}
    features = history.select(
        "soc", *[pl.col(c).cast(pl.Float64).alias(label) for c, (label, _) in present.items()]
    )
    kinds = {label: kind for label, kind in present.values()}
    return standardised_differences(features, "soc", kinds, level)
