"""Identify SOC cases: the three-criterion proxy, its sensitivity variants, co-offending groups.

Criterion 1 (offence): the principal offence (option: any offence of the defendant in the case)
is on the SOC code list (option: likely tier only). Criterion 2 (seriousness): the charged offence
attracts custody of `threshold_years` or more, read as the statutory maximum (default, so
acquitted and discontinued defendants can qualify), as the sentence actually imposed, or switched
off. Criterion 3 (co-defendants): the case has at least `min_defendants` defendants (option:
counting only those who meet criterion 1). A defendant-case is SOC when every criterion named in
`require` holds; a case is SOC when any of its defendant-cases is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from socflow.ingest import normalise_ho_code

LIFE_YEARS = 99.0  # "life" as a number, above any finite statutory maximum
CRITERIA = ("offence", "seriousness", "codefendants")
SOC_LIST_COLUMNS = ("ho_code", "description", "soc_category", "tier", "max_custody", "statute")


class CodeListError(ValueError):
    """The SOC code list cannot be used; the message names the file and the column."""


@dataclass(frozen=True)
class CodeList:
    table: pl.DataFrame  # ho_code (NNNNN), soc_category, tier, max_custody_years, ...
    version: str
    sha256: str


def load_code_list(path: str | Path, version: str) -> CodeList:
    """Read and check a SOC code list; record its version and content hash."""
    path = Path(path)
    raw = path.read_bytes()
    df = pl.read_csv(path, infer_schema=False)
    missing = [c for c in SOC_LIST_COLUMNS if c not in df.columns]
    if missing:
        raise CodeListError(f"{path}: missing column(s) {', '.join(missing)}")
    df = df.with_columns(normalise_ho_code(pl.col("ho_code")).alias("ho_code"))
    bad = df.filter(~pl.col("ho_code").str.contains(r"^\d{5}$"))
    if bad.height:
        raise CodeListError(
            f"{path}: column ho_code has malformed codes {bad['ho_code'].to_list()}"
        )
    if df["ho_code"].is_duplicated().any():
        dups = df.filter(pl.col("ho_code").is_duplicated())["ho_code"].unique().to_list()
        raise CodeListError(f"{path}: column ho_code repeats {dups}")
    tiers = set(df["tier"].unique())
    if not tiers <= {"likely", "possible"}:
        raise CodeListError(f"{path}: column tier has values {tiers - {'likely', 'possible'}}")
    years = (
        pl.when(pl.col("max_custody").str.to_lowercase() == "life")
        .then(pl.lit(LIFE_YEARS))
        .otherwise(pl.col("max_custody").cast(pl.Float64, strict=False))
    )
    df = df.with_columns(years.alias("max_custody_years"))
    if df["max_custody_years"].null_count():
        raise CodeListError(f"{path}: column max_custody must be a number of years or 'life'")
    return CodeList(df, version, hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class Definition:
    """One reading of the SOC proxy (the primary one, or a sensitivity variant)."""

    name: str
    offence_scope: str = "principal"  # principal | any
    tier: str = "any"  # any | likely
    seriousness_mode: str = "statutory_max"  # statutory_max | imposed | off
    threshold_years: float = 3.0
    min_defendants: int = 2
    codefendants_must_meet_offence: bool = False
    require: tuple[str, ...] = CRITERIA

    @classmethod
    def from_config(cls, name: str, cfg: dict, base: Definition | None = None) -> Definition:
        merged = {**(base.__dict__ if base else {}), **cfg, "name": name}
        merged["require"] = tuple(merged.get("require", CRITERIA))
        unknown = set(merged["require"]) - set(CRITERIA)
        if unknown:
            raise ValueError(f"definition {name}: unknown criteria {sorted(unknown)}")
        return cls(**merged)


def flag_defendant_cases(
    crown: pl.DataFrame, offences: pl.DataFrame, codes: CodeList, d: Definition
) -> pl.DataFrame:
    """Criterion columns and the SOC flag for every Crown Court defendant-case under `d`."""
    listed = codes.table
    if d.tier == "likely":
        listed = listed.filter(pl.col("tier") == "likely")
    listed = listed.select(
        pl.col("ho_code").alias("ho_offence_code"), "max_custody_years", "soc_category"
    )
    base = crown.select("defendant_on_case_id", "case_id", "ho_offence_code", "custody_days").join(
        listed, on="ho_offence_code", how="left"
    )
    if d.offence_scope == "any":
        # Any listed offence of the defendant in the case; the most serious one sets criterion 2.
        any_listed = (
            offences.select("defendant_on_case_id", "ho_offence_code")
            .join(listed, on="ho_offence_code", how="inner")
            .group_by("defendant_on_case_id")
            .agg(
                pl.col("max_custody_years").max().alias("any_max_years"),
                pl.col("soc_category").sort_by("max_custody_years", descending=True).first()
                .alias("any_category"),
            )
        )  # fmt: skip
        base = base.join(any_listed, on="defendant_on_case_id", how="left").with_columns(
            pl.max_horizontal("max_custody_years", "any_max_years").alias("max_custody_years"),
            pl.coalesce("soc_category", "any_category").alias("soc_category"),
        )
    c1 = pl.col("max_custody_years").is_not_null()
    if d.seriousness_mode == "statutory_max":
        c2 = c1 & (pl.col("max_custody_years") >= d.threshold_years)
    elif d.seriousness_mode == "imposed":
        c2 = pl.col("custody_days") >= d.threshold_years * 365.25
    else:
        c2 = pl.lit(True)
    flagged = base.with_columns(
        c1.alias("crit_offence"), c2.fill_null(False).alias("crit_seriousness")
    )
    n_counted = (
        pl.col("crit_offence").sum().over("case_id")
        if d.codefendants_must_meet_offence
        else pl.len().over("case_id")
    )
    flagged = flagged.with_columns(
        pl.len().over("case_id").alias("n_defendants"),
        n_counted.alias("n_counted_defendants"),
    ).with_columns((pl.col("n_counted_defendants") >= d.min_defendants).alias("crit_codefendants"))
    soc = pl.all_horizontal([pl.col(f"crit_{c}") for c in d.require])
    flagged = flagged.with_columns(soc.alias("soc")).with_columns(
        pl.col("soc").any().over("case_id").alias("soc_case")
    )
    return flagged.select(
        "defendant_on_case_id", "case_id", "crit_offence", "crit_seriousness",
        "crit_codefendants", "n_defendants", "soc", "soc_case",
        pl.when(pl.col("crit_offence")).then("soc_category").alias("soc_category"),
    )  # fmt: skip


def person_keys(crown: pl.DataFrame, link: pl.DataFrame) -> pl.DataFrame:
    """One person key per Crown defendant-case: the cross-justice ID where the linking table
    gives one (the smallest where it fans out), else the court-system defendant ID."""
    ids = (
        link.filter(pl.col("source_dataset") == "crown")
        .group_by("row_id")
        .agg(pl.col("person_id").min())
    )
    return (
        crown.select("defendant_on_case_id", "row_id", "defendant_id")
        .join(ids, on="row_id", how="left")
        .select(
            "defendant_on_case_id",
            pl.coalesce("person_id", pl.concat_str(pl.lit("crown:"), "defendant_id")).alias(
                "person"
            ),
        )
    )


def flag_all(
    crown: pl.DataFrame,
    offences: pl.DataFrame,
    link: pl.DataFrame,
    codes: CodeList,
    primary: Definition,
    sensitivity: list[Definition],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Primary flags (with criterion columns) plus one `soc__<name>` column per variant, and the
    count of SOC defendant-cases, persons and cases under every definition."""
    flags = flag_defendant_cases(crown, offences, codes, primary)
    flags = flags.join(person_keys(crown, link), on="defendant_on_case_id", how="left")
    counts = [_counts(flags, primary.name, "soc", "soc_case")]
    for d in sensitivity:
        alt = flag_defendant_cases(crown, offences, codes, d).select(
            "defendant_on_case_id",
            pl.col("soc").alias(f"soc__{d.name}"),
            pl.col("soc_case").alias(f"soc_case__{d.name}"),
        )
        flags = flags.join(alt, on="defendant_on_case_id", how="left")
        counts.append(_counts(flags, d.name, f"soc__{d.name}", f"soc_case__{d.name}"))
    flags = flags.with_columns(
        pl.lit(codes.version).alias("code_list_version"),
        pl.lit(codes.sha256).alias("code_list_sha256"),
    )
    return flags, pl.DataFrame(counts)


def _counts(flags: pl.DataFrame, name: str, soc: str, soc_case: str) -> dict:
    return {
        "definition": name,
        "soc_defendant_cases": int(flags[soc].sum()),
        "soc_persons": flags.filter(pl.col(soc))["person"].n_unique(),
        "soc_cases": flags.filter(pl.col(soc_case))["case_id"].n_unique(),
        "all_defendant_cases": flags.height,
        "all_cases": flags["case_id"].n_unique(),
        "share_of_appearances": round(float(flags[soc].mean()), 4),
        "share_of_cases": round(
            flags.filter(pl.col(soc_case))["case_id"].n_unique() / flags["case_id"].n_unique(), 4
        ),
    }


def co_offending_groups(
    membership: pl.DataFrame, flags: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Connected components of the person-case network.

    `membership` has one row per (person, case_id, year, court) participation (Crown Court, and
    optionally magistrates' cases); `flags` gives SOC status and category per Crown case.
    Returns (person -> group_id, one row per group of two or more persons).
    """
    m = membership.select("person", "case_id", "year").unique(["person", "case_id"])
    persons = m["person"].unique().sort()
    cases = m["case_id"].unique().sort()
    pi = m.join(persons.to_frame().with_row_index("pi"), on="person")["pi"].to_numpy()
    ci = m.join(cases.to_frame().with_row_index("ci"), on="case_id")["ci"].to_numpy()
    # Bipartite graph: persons 0..P-1, cases P..P+C-1; components join co-defendants.
    n_p, n_c = len(persons), len(cases)
    graph = coo_matrix(
        (np.ones(len(pi), dtype=np.int8), (pi, n_p + ci)), shape=(n_p + n_c, n_p + n_c)
    )
    _, label = connected_components(graph, directed=False)
    person_group = pl.DataFrame({"person": persons, "component": label[:n_p]})
    sizes = person_group.group_by("component").len("n_persons")
    person_group = person_group.join(sizes, on="component").filter(pl.col("n_persons") >= 2)
    # Group IDs by size then first member, so that they are stable across runs.
    order = (
        person_group.group_by("component")
        .agg(pl.col("n_persons").first(), pl.col("person").min().alias("first"))
        .sort(["n_persons", "first"], descending=[True, False])
        .with_row_index("group_id", offset=1)
        .select("component", "group_id")
    )
    person_group = person_group.join(order, on="component").select("person", "group_id")
    case_soc = flags.group_by("case_id").agg(
        pl.col("soc_case").first(), pl.col("soc_category").drop_nulls().mode().first()
    )
    gm = m.join(person_group, on="person").join(case_soc, on="case_id", how="left")
    groups = (
        gm.group_by("group_id")
        .agg(
            pl.col("person").n_unique().alias("n_persons"),
            pl.col("case_id").n_unique().alias("n_cases"),
            pl.col("year").min().alias("first_year"),
            pl.col("year").max().alias("last_year"),
            pl.col("soc_category").drop_nulls().mode().sort().first().alias("dominant_category"),
            (
                pl.col("case_id").filter(pl.col("soc_case").fill_null(False)).n_unique()
                / pl.col("case_id").n_unique()
            ).alias("share_cases_soc"),
        )
        .with_columns((pl.col("last_year") - pl.col("first_year") + 1).alias("years_active"))
        .sort("group_id")
    )
    return person_group, groups


def recovery_metrics(
    flags: pl.DataFrame,
    person_group: pl.DataFrame,
    truth: pl.DataFrame,
    crown_rows: pl.DataFrame,
) -> dict:
    """Synthetic-data validation: how well the flag and the groups recover planted OCGs.

    Defendant level (true persons in the Crown Court): precision and recall of "flagged SOC in
    any case" against "member of a planted group". Group purity: for detected groups holding a
    planted member, the share of their persons in their most common planted group.
    """
    t = truth.filter(pl.col("source_dataset") == "crown_xhibit").select(
        pl.col("row_id_hash").alias("row_id"), "true_person_id", "ocg_group_id"
    )
    rows = crown_rows.select("row_id", "defendant_on_case_id").join(t, on="row_id")
    per = (
        rows.join(flags.select("defendant_on_case_id", "soc", "person"), on="defendant_on_case_id")
        .group_by("true_person_id")
        .agg(
            pl.col("soc").any().alias("flagged"),
            pl.col("ocg_group_id").drop_nulls().first().alias("planted_group"),
            pl.col("person").first(),
        )
    )
    member = per["planted_group"].is_not_null()
    flagged = per["flagged"]
    tp = int((member & flagged).sum())
    precision = tp / max(int(flagged.sum()), 1)
    recall = tp / max(int(member.sum()), 1)
    detected = per.join(person_group, on="person", how="inner").filter(
        pl.col("planted_group").is_not_null().any().over("group_id")
    )
    purity_by_group = detected.group_by("group_id").agg(
        (pl.col("planted_group").drop_nulls().mode().first() == pl.col("planted_group"))
        .fill_null(False).sum().alias("top"),
        pl.len().alias("n"),
    )  # fmt: skip
    purity = float(purity_by_group["top"].sum() / max(purity_by_group["n"].sum(), 1))
    return {
        "defendants": per.height,
        "planted_members": int(member.sum()),
        "flagged_persons": int(flagged.sum()),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "group_purity": round(purity, 4),
        "groups_with_planted_members": purity_by_group.height,
    }
