"""Nature, extent and outcomes of SOC against non-SOC cases in the Crown Court (aim 1).

Every table is a frequency table of mutually exclusive units, so that its margins are the sums
of its cells and disclosure control can protect it:

* person tables count each distinct person once: a person is "SOC" when flagged in any Crown
  Court defendant-case disposed of in the study years, and is described by their *index*
  appearance (their first SOC defendant-case if SOC, else their first defendant-case);
* person-year tables count each person once per year of disposal (SOC in that year if
  flagged in any case of that year);
* case tables count each case once (SOC when any of its defendant-cases is).
"""

from __future__ import annotations

import polars as pl

from socflow.labels import LEVEL_LABELS
from socflow.outputs import Candidate

SOC_LABEL = {True: "SOC", False: "non-SOC"}
CASE_SIZE_BANDS = [(1, "1"), (2, "2"), (3, "3"), (4, "4-5"), (6, "6-9"), (10, "10+")]
CUSTODY_BANDS_DAYS = [
    (0, "under 1 year"),
    (365, "1 to under 2 years"),
    (730, "2 to under 3 years"),
    (1095, "3 to under 5 years"),
    (1826, "5 to under 10 years"),
    (3652, "10 years or more"),
]

# Columns whose canonical levels are shown in words (LEVEL_LABELS).
WORDED_COLUMNS = ("plea", "outcome_group", "sentence_type")

# (output id, column, title, figure kind)
PERSON_BREAKDOWNS: list[tuple[str, str, str]] = [
    ("describe_region", "region", "Persons by HMCTS region"),
    ("describe_sex", "sex", "Persons by sex"),
    ("describe_age", "age_band", "Persons by age band at offence"),
    ("describe_ethnicity", "ethnic_group", "Persons by ethnic group"),
    ("describe_offence_group", "offence_group", "Persons by offence group (index offence)"),
    ("describe_plea", "plea", "Persons by final plea"),
    ("describe_outcome", "outcome_group", "Persons by case outcome"),
    ("describe_sentence", "sentence_type", "Persons by sentence type"),
    ("describe_custody", "custody_band", "Persons sentenced to immediate custody, by length"),
    ("describe_court", "court", "Persons by Crown Court centre"),
]


def _band(col: str, bands: list[tuple[int, str]]) -> pl.Expr:
    expr = pl.lit(None, dtype=pl.String)
    for lo, label in bands:
        expr = pl.when(pl.col(col) >= lo).then(pl.lit(label)).otherwise(expr)
    return expr


def study_rows(
    crown: pl.DataFrame, flags: pl.DataFrame, first_year: int, last_year: int
) -> pl.DataFrame:
    """Crown defendant-cases disposed of in the study years, with their SOC flags."""
    return (
        crown.filter(pl.col("disposal_year").is_between(first_year, last_year))
        .join(
            flags.select("defendant_on_case_id", "person", "soc", "soc_case", "soc_category"),
            on="defendant_on_case_id",
        )
        .with_columns(
            pl.col("region").cast(pl.String),
            pl.col("sex").cast(pl.String),
            pl.col("ethnic_group").cast(pl.String),
            pl.col("plea").cast(pl.String),
            pl.col("sentence_type").cast(pl.String),
            pl.coalesce("court_name", "court_id").alias("court"),
            pl.when(pl.col("sentence_type") == "immediate_custody")
            .then(_band("custody_days", CUSTODY_BANDS_DAYS))
            .alias("custody_band"),
            pl.len().over("case_id").alias("case_defendants"),
        )
    )


def index_appearances(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per person: their index appearance and whether they are SOC."""
    return (
        rows.with_columns(pl.col("soc").any().over("person").alias("soc_person"))
        .sort("person", "disposal_date", "defendant_on_case_id")
        .filter(pl.col("soc") == pl.col("soc_person"))
        .unique("person", keep="first", maintain_order=True)
        .with_columns(pl.col("soc_person").replace_strict(SOC_LABEL).alias("status"))
    )


def case_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per case of `study_rows`: SOC when any of its defendant-cases is (the flag is
    per case), the year of its first disposal, and its number of defendants."""
    return rows.group_by("case_id").agg(
        pl.col("soc_case").first(),
        pl.col("disposal_year").min().alias("year"),
        pl.col("case_defendants").first(),
    )


def _status_table(df: pl.DataFrame, row: str, count_expr: pl.Expr, name: str) -> pl.DataFrame:
    """Long table row x status with a count, rows sorted by label, every status present."""
    counts = df.group_by(row, "status").agg(count_expr.alias(name))
    rows = counts.select(pl.col(row).unique().sort())
    grid = rows.join(pl.DataFrame({"status": ["SOC", "non-SOC"]}), how="cross")
    return grid.join(counts, on=[row, "status"], how="left", maintain_order="left").with_columns(
        pl.col(name).fill_null(0)
    )


def describe_candidates(
    crown: pl.DataFrame,
    flags: pl.DataFrame,
    first_year: int,
    last_year: int,
    min_soc_defendants: int = 1,
    skipped_outputs: list[str] | tuple[str, ...] = (),
) -> list[Candidate]:
    """The nature/extent/outcome tables, as candidates for disclosure control.

    `skipped_outputs`: person breakdowns left out because the extract lacks their column
    (socflow.coverage decides which; the report says so).

    `min_soc_defendants`: the fewest defendants a SOC case can have under the primary
    definition (its co-defendant threshold, or 1 when that criterion is not required); SOC
    cells of smaller cases are structural zeros, published as 0.
    """
    rows = study_rows(crown, flags, first_year, last_year)
    persons = index_appearances(rows)
    out: list[Candidate] = []

    person_years = rows.group_by("person", "disposal_year").agg(
        pl.col("soc").any().replace_strict(SOC_LABEL).alias("status")
    )
    out.append(
        Candidate(
            "describe_persons_by_year",
            "frequency",
            "Persons in Crown Court cases by year of disposal",
            # One row per person and year: a count of rows is a count of persons.
            _status_table(
                person_years.rename({"disposal_year": "year"}), "year", pl.len(), "persons"
            ),
            spec={"row": "year", "col": "status", "count": "persons"},
            notes="Each person counted once per year; the total counts person-years.",
            figure={"type": "line", "x": "year", "y": "share", "group": None, "share_of": "SOC"},
        )
    )
    cases = case_rows(rows).with_columns(
        pl.col("soc_case").replace_strict(SOC_LABEL).alias("status")
    )
    out.append(
        Candidate(
            "describe_cases_by_year",
            "frequency",
            "Crown Court cases by year of disposal",
            _status_table(cases, "year", pl.len(), "cases"),
            spec={"row": "year", "col": "status", "count": "cases"},
            notes="A case is SOC when any of its defendant-cases is; year of first disposal.",
            figure={"type": "line", "x": "year", "y": "share", "group": None, "share_of": "SOC"},
        )
    )
    band_order = {label: i for i, (_, label) in enumerate(CASE_SIZE_BANDS)}
    band_upper = {
        label: (CASE_SIZE_BANDS[i + 1][0] - 1 if i + 1 < len(CASE_SIZE_BANDS) else 10**6)
        for i, (_, label) in enumerate(CASE_SIZE_BANDS)
    }
    out.append(
        Candidate(
            "describe_defendants_per_case",
            "frequency",
            "Crown Court cases by number of defendants",
            _status_table(
                cases.with_columns(_band("case_defendants", CASE_SIZE_BANDS).alias("defendants")),
                "defendants",
                pl.len(),
                "cases",
            ).sort(pl.col("defendants").replace_strict(band_order), maintain_order=True)
            .with_columns(
                ((pl.col("status") == "SOC")
                 & (pl.col("defendants").replace_strict(band_upper) < min_soc_defendants))
                .alias("structural_zero")
            ),
            spec={"row": "defendants", "col": "status", "count": "cases",
                  "structural_zero": "structural_zero"},
            figure={"type": "bar", "x": "defendants", "y": "cases", "group": "status"},
        )
    )  # fmt: skip
    for output_id, column, title in PERSON_BREAKDOWNS:
        if output_id in skipped_outputs:
            continue
        df = persons
        if column == "custody_band":
            df = persons.filter(pl.col("custody_band").is_not_null())
        df = df.with_columns(
            pl.col(column)
            .cast(pl.String)
            .replace(LEVEL_LABELS if column in WORDED_COLUMNS else {})
            .fill_null("not known")
        )
        # One row per person (`index_appearances`): a count of rows is a count of persons.
        table = _status_table(df, column, pl.len(), "persons")
        if column == "custody_band":
            order = {label: i for i, (_, label) in enumerate(CUSTODY_BANDS_DAYS)}
            table = table.sort(
                pl.col(column).replace_strict(order, default=99), maintain_order=True
            )
        out.append(
            Candidate(
                output_id,
                "frequency",
                title,
                table,
                spec={"row": column, "col": "status", "count": "persons"},
                figure=None
                if column == "court"
                else {"type": "bar", "x": column, "y": "share", "group": "status",
                      "horizontal": True, "share_within": "status"},
            )
        )  # fmt: skip
    if "describe_age_median" not in skipped_outputs:
        out.append(_median_age(persons))
    soc_persons = persons.filter(pl.col("soc_person"))
    out.append(
        Candidate(
            "describe_soc_category",
            "frequency",
            "SOC persons by SOC category of their index offence",
            soc_persons.group_by(pl.col("soc_category").fill_null("not known"))
            .agg(pl.len().alias("persons"))  # one row per person
            .sort("persons", "soc_category", descending=[True, False]),
            spec={"row": "soc_category", "col": None, "count": "persons"},
            figure={"type": "bar", "x": "soc_category", "y": "persons", "group": None,
                    "horizontal": True},
        )
    )  # fmt: skip
    return out


def _median_age(persons: pl.DataFrame) -> Candidate:
    """Median age at the index appearance, SOC, non-SOC and all persons. A median is one
    person's value: it rests on the persons of its group and is a whole number of years, a
    value many persons share."""
    known = persons.filter(pl.col("age_at_offence").is_not_null())
    groups = [(label, known.filter(pl.col("status") == label)) for label in SOC_LABEL.values()]
    rows = [
        {
            "statistic": f"median age at offence: {label}",
            "value": None if df.is_empty() else float(round(df["age_at_offence"].median())),
            "n_persons": df.height,  # one row per person (`index_appearances`)
        }
        for label, df in [*groups, ("all", known)]
    ]
    return Candidate(
        "describe_age_median",
        "statistics",
        "Median age at offence of persons at their index appearance (whole years)",
        pl.DataFrame(rows, schema={"statistic": pl.String, "value": pl.Float64,
                                   "n_persons": pl.Int64}),
        notes="Mean ages are in the headline table. Medians are rounded to whole years.",
    )  # fmt: skip
