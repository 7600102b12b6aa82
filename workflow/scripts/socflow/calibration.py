"""How close the synthetic extracts come to the published picture of the courts.

Synthetic runs only. The targets are data (resources/synthetic/calibration_targets.csv: measure,
population, definition, target, tolerance, source); every headline measure is computed by
`socflow.headline` (the functions the report's headline table uses), and the few extra marginals
below by the stages' own person-ID rules. The table written is measure | population | target |
synthetic | tolerance | within, where `within` is "yes", "no", or why the measure has no
synthetic value (recall to prison needs the linked prison data). The linked data's own measures
(incident rates, OASys coverage) are in socflow.calibration_linked.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from socflow.calibration_linked import incident_rates, oasys_match
from socflow.headline import ALL, SCHEMA, HeadlineInputs, headline_measures
from socflow.parquet import write_parquet
from socflow.persons import person_ids_of, person_lookup

TARGET_COLUMNS = ("measure", "population", "definition", "target", "tolerance", "source")
OUTPUT_COLUMNS = ("measure", "population", "target", "synthetic", "tolerance", "within")

# Returning defendants (MoJ Data First, 2022): people whose first magistrates' case was in the
# first year of the data, back before the magistrates' courts by the end of the follow-up year.
RETURNING_COHORT_YEAR = 2011
RETURNING_FOLLOW_UP_END = date(2019, 12, 31)


# Linked tables the calibration reads when the extract has them (rule input names).
LINKED_CALIBRATION_TABLES = ("prison_establishment_spells", "prison_incidents", "oasys_assessments")


class CalibrationError(ValueError):
    """A targets file that cannot be used."""


def load_targets(path: str | Path) -> pl.DataFrame:
    """The calibration targets, checked: every column present, target and tolerance numeric."""
    path = Path(path)
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise CalibrationError(f"{path}: cannot be read ({exc}) (rule calibration)") from None
    missing = [c for c in TARGET_COLUMNS if c not in df.columns]
    if missing:
        raise CalibrationError(f"{path}: missing column(s) {missing} (rule calibration)")
    out = df.with_columns(
        pl.col("target").cast(pl.Float64, strict=False).alias("target_num"),
        pl.col("tolerance").cast(pl.Float64, strict=False).alias("tolerance_num"),
    )
    bad = out.filter(pl.col("target_num").is_null() | (pl.col("source").str.strip_chars() == ""))
    if bad.height:
        raise CalibrationError(
            f"{path}: column `target` not a number or `source` empty for "
            f"{bad.select('measure', 'population').rows()} (rule calibration)"
        )
    dupes = out.filter(pl.struct("measure", "population").is_duplicated())
    if dupes.height:
        raise CalibrationError(
            f"{path}: (measure, population) repeated: "
            f"{dupes.select('measure', 'population').unique().rows()} (rule calibration)"
        )
    return out.select(
        "measure", "population", "definition",
        pl.col("target_num").alias("target"), pl.col("tolerance_num").alias("tolerance"),
        "source",
    )  # fmt: skip


def _one(measure: str, numerator: int, base: int, unit: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "measure": [measure], "population": [ALL], "unit": [unit], "kind": ["proportion"],
            "numerator": [numerator], "base": [base],
            "value": [numerator / base if base else None],
        }
    ).select([pl.col(k).cast(v) if k in ("measure", "population", "unit", "kind", "numerator",
                                            "base", "value")
              else pl.lit(None, dtype=v).alias(k) for k, v in SCHEMA.items()])  # fmt: skip


def returning_defendants(
    mags: pl.DataFrame, ids: pl.DataFrame | pl.LazyFrame, fanout_rule: str = "smallest"
) -> pl.DataFrame:
    """Share of people whose first magistrates' criminal case was disposed of in 2011 who had
    another magistrates' criminal case disposed of after it, by the end of 2019.

    People are the cross-justice IDs of the person lookup of rule person_ids (`ids`; or of a
    linking table, resolved here as that rule does), as the re-appearance stage reads them;
    breaches and civil applications are not cases.
    """
    schema = ids.collect_schema() if isinstance(ids, pl.LazyFrame) else ids.schema
    lookup = ids if "n_ids" in schema else person_lookup(ids)
    person_ids = person_ids_of(lookup, "mags", fanout_rule).select("row_id", "person_id")
    # Criminal cases only: the person IDs are joined to the rows counted only.
    criminal = mags.filter(
        (pl.col("proceeding_type").cast(pl.String) == "criminal")
        & pl.col("disposal_date").is_not_null()
    )
    # A person's first case falls in the cohort year only if it is disposed of before the
    # year's end: those rows alone decide the cohort and its first cases, and only the cohort's
    # rows are needed after it. Each is joined to the few persons it concerns rather than the
    # person ID of every magistrates' row (the same persons and cases, at a fraction of the
    # cost).
    cohort_end = date(RETURNING_COHORT_YEAR + 1, 1, 1)
    early = criminal.filter(pl.col("disposal_date") < cohort_end).join(
        person_ids.drop_nulls("person_id"), on="row_id"
    )
    first = early.group_by("person_id").agg(pl.col("disposal_date").min().alias("first"))
    cohort = first.filter(pl.col("first").dt.year() == RETURNING_COHORT_YEAR)
    first_case = (
        early.join(cohort, on="person_id")
        .filter(pl.col("disposal_date") == pl.col("first"))
        .group_by("person_id")
        .agg(pl.col("first").first(), pl.col("case_id").alias("first_cases"))
    )
    cohort_ids = person_ids.filter(pl.col("person_id").is_in(cohort["person_id"].implode()))
    returned = (
        criminal.filter(
            (pl.col("disposal_date") > date(RETURNING_COHORT_YEAR, 1, 1))
            & (pl.col("disposal_date") <= RETURNING_FOLLOW_UP_END)
        )
        .join(cohort_ids, on="row_id")
        .join(first_case, on="person_id")
        .filter(
            (pl.col("disposal_date") > pl.col("first"))
            & (pl.col("disposal_date") <= RETURNING_FOLLOW_UP_END)
            & ~pl.col("first_cases").list.contains(pl.col("case_id"))
        )
        .select("person_id")
        .unique()
    )
    return _one("returning_defendants", returned.height, cohort.height, "persons")


def crown_to_mags_rows(crown: pl.DataFrame, mags: pl.DataFrame) -> pl.DataFrame:
    """Crown Court defendant-case rows per magistrates' row, as ingested (all years)."""
    return _one("crown_to_mags_rows", crown.height, mags.height, "rows")


def calibration_measures(
    inputs: HeadlineInputs,
    mags: pl.DataFrame | None = None,
    link: pl.DataFrame | None = None,
    linked: dict[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """The headline measures and the extra marginals, in the headline schema; with `linked`
    (ingested linked tables by name), the incident rates and OASys coverage too. The same as
    the two rules: `marginal_measures` (calibration_marginals), then `with_headline`."""
    marginals = marginal_measures(
        inputs.crown, inputs.first_year, inputs.last_year, mags, link, linked
    )
    return with_headline(inputs, marginals)


def marginal_measures(
    crown: pl.DataFrame,
    first_year: int,
    last_year: int,
    mags: pl.DataFrame | None = None,
    link: pl.DataFrame | None = None,
    linked: dict[str, pl.DataFrame] | None = None,
    ids: pl.DataFrame | pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """The measures that do not depend on the SOC flags (headline schema without `label`):
    Crown rows per magistrates' row, returning defendants, and with `linked` the incident rates
    and OASys coverage (study years `first_year`-`last_year`). `crown` needs row_id,
    sentence_type and disposal_date only. Returning defendants read the person lookup `ids`
    (rule person_ids) when given, else resolve `link`; the OASys coverage joins the linking
    table's Crown Court and OASys rows as they are."""
    parts = [pl.DataFrame(schema=SCHEMA)]
    if mags is not None:
        parts.append(crown_to_mags_rows(crown, mags))
        if ids is not None or link is not None:
            parts.append(returning_defendants(mags, ids if ids is not None else link))
    linked = linked or {}
    if "prison_incidents" in linked and "prison_establishment_spells" in linked:
        parts.append(
            incident_rates(linked["prison_incidents"], linked["prison_establishment_spells"])
        )
    if "oasys_assessments" in linked and link is not None:
        parts.append(oasys_match(crown, link, linked["oasys_assessments"], first_year, last_year))
    return pl.concat(parts)


def with_headline(inputs: HeadlineInputs, marginals: pl.DataFrame) -> pl.DataFrame:
    """The headline measures (which read the SOC flags), then the marginals."""
    return pl.concat([headline_measures(inputs).drop("label"), marginals])


def calibration_table(measures: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """One row per target: its synthetic value and whether it lies within the tolerance.

    `within`: "yes" or "no"; a target without a synthetic value says why (the measure's note,
    e.g. "needs prison data"), or "not computed".
    """
    joined = targets.join(
        measures.select("measure", "population", pl.col("value").alias("synthetic"), "note"),
        on=["measure", "population"],
        how="left",
        maintain_order="left",
    )
    within = (
        pl.when(pl.col("synthetic").is_null())
        .then(pl.coalesce("note", pl.lit("not computed")))
        .when((pl.col("synthetic") - pl.col("target")).abs() <= pl.col("tolerance"))
        .then(pl.lit("yes"))
        .otherwise(pl.lit("no"))
    )
    return joined.with_columns(within.alias("within")).select(OUTPUT_COLUMNS)


# Columns the marginals read (`marginal_measures`).
CROWN_MARGINAL_COLUMNS = ["row_id", "sentence_type", "disposal_date"]
MAGS_MARGINAL_COLUMNS = ["row_id", "case_id", "proceeding_type", "disposal_date"]
# Sources of the linking table the OASys coverage joins (every ID of a fanned-out row).
LINK_SOURCES = ("crown", "oasys")


def run_marginals(
    paths: dict[str, str | None], first_year: int, last_year: int, out: str | Path
) -> pl.DataFrame:
    """Rule calibration_marginals: the flag-independent measures, written once."""
    crown = pl.read_parquet(paths["crown"], columns=CROWN_MARGINAL_COLUMNS)
    mags = (
        pl.read_parquet(paths["mags"], columns=MAGS_MARGINAL_COLUMNS) if paths.get("mags") else None
    )
    link = None
    if paths.get("link"):
        link = (
            pl.scan_parquet(paths["link"])
            .filter(pl.col("source_dataset").cast(pl.String).is_in(LINK_SOURCES))
            .collect()
        )
    ids = pl.scan_parquet(paths["person_ids"])
    linked = {t: pl.read_parquet(paths[t]) for t in LINKED_CALIBRATION_TABLES if paths.get(t)}
    measures = marginal_measures(crown, first_year, last_year, mags, link, linked, ids)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_parquet(measures, out)
    return measures


def run_calibration(paths: dict[str, str | None], out: str | Path) -> pl.DataFrame:
    """Rule calibration: the headline measures as the headline rule wrote them
    (`paths["headline"]`, `headline_measures` of the stage outputs), the marginals
    (`run_marginals`), and the targets; writes the calibration table."""
    headline = pl.read_parquet(paths["headline"]).drop("label")
    measures = pl.concat([headline, pl.read_parquet(paths["marginals"])])
    table = calibration_table(measures, load_targets(paths["targets"]))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    table.write_csv(out, float_precision=4)
    return table
