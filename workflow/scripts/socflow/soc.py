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
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from socflow.ingest import normalise_ho_code
from socflow.mapping import check_link_matches, read_ingested
from socflow.outputs import Candidate, write_candidates
from socflow.parquet import write_parquet
from socflow.persons import read_link_rows

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
    return soc_flags(criteria(crown, offences, codes, d), d)


def criteria_key(d: Definition) -> tuple:
    """What the criterion columns of `d` depend on (all but the criteria it requires):
    definitions with the same key share them."""
    return (d.offence_scope, d.tier, d.seriousness_mode, d.threshold_years, d.min_defendants,
            d.codefendants_must_meet_offence)  # fmt: skip


def criteria(
    crown: pl.DataFrame, offences: pl.DataFrame, codes: CodeList, d: Definition
) -> pl.DataFrame:
    """The three criterion columns of every Crown Court defendant-case under `d` (its
    `require` aside), with the case's number of defendants and the offence's SOC category."""
    listed = codes.table
    if d.tier == "likely":
        listed = listed.filter(pl.col("tier") == "likely")
    listed = listed.select(
        pl.col("ho_code").alias("ho_offence_code"), "max_custody_years", "soc_category"
    )
    # Rows stay in the order of `crown` (every definition's columns line up row by row).
    base = crown.select("defendant_on_case_id", "case_id", "ho_offence_code", "custody_days").join(
        listed, on="ho_offence_code", how="left", maintain_order="left"
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
        base = base.join(
            any_listed, on="defendant_on_case_id", how="left", maintain_order="left"
        ).with_columns(
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
    return flagged.select(
        "defendant_on_case_id", "case_id", "crit_offence", "crit_seriousness",
        "crit_codefendants", "n_defendants", "soc_category",
    )  # fmt: skip


def soc_flags(criteria: pl.DataFrame, d: Definition) -> pl.DataFrame:
    """The SOC flag of each defendant-case (every criterion `d` requires) and of its case (any
    defendant flagged), from the criterion columns (`criteria`)."""
    soc = pl.all_horizontal([pl.col(f"crit_{c}") for c in d.require])
    flagged = criteria.with_columns(soc.alias("soc")).with_columns(
        pl.col("soc").any().over("case_id").alias("soc_case")
    )
    return flagged.select(
        "defendant_on_case_id", "case_id", "crit_offence", "crit_seriousness",
        "crit_codefendants", "n_defendants", "soc", "soc_case",
        pl.when(pl.col("crit_offence")).then("soc_category").alias("soc_category"),
    )  # fmt: skip


def person_key_expr() -> pl.Expr:
    """The person key: the cross-justice `person_id`, else the Crown Court `defendant_id`, else
    (an extract without defendant IDs) the defendant-case itself."""
    return pl.coalesce(
        "person_id",
        pl.concat_str(pl.lit("crown:"), "defendant_id"),
        pl.concat_str(pl.lit("case:"), "defendant_on_case_id"),
    )


def person_keys(crown: pl.DataFrame, link: pl.DataFrame) -> pl.DataFrame:
    """One person key per Crown defendant-case: the cross-justice ID where the linking table
    gives one (the smallest where it fans out), else the court-system defendant ID."""
    ids = (
        link.filter(pl.col("source_dataset") == "crown")
        .group_by("row_id")
        .agg(pl.col("person_id").min())
    )
    check_link_matches(ids, crown, "crown", "crown_defendant_cases")
    return (
        crown.select("defendant_on_case_id", "row_id", "defendant_id")
        .join(ids, on="row_id", how="left", maintain_order="left")
        .select(
            "defendant_on_case_id",
            person_key_expr().alias("person"),
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
    # Variants that differ from another definition only in the criteria they require share
    # its criterion columns: they are computed once per criteria_key. Every frame keeps the
    # rows of `crown` in order, so the variants' flags are added as columns, not joined.
    shared = {criteria_key(primary): criteria(crown, offences, codes, primary)}
    flags = soc_flags(shared[criteria_key(primary)], primary)
    flags = flags.with_columns(_aligned(person_keys(crown, link), flags)["person"])
    variants = {}
    for d in sensitivity:
        key = criteria_key(d)
        if key not in shared:
            shared[key] = _aligned(criteria(crown, offences, codes, d), flags)
        variants[d.name] = shared[key].select(
            pl.all_horizontal([f"crit_{c}" for c in d.require]).alias(f"soc__{d.name}")
        )
    flags = flags.hstack([v.to_series() for v in variants.values()])
    flags = flags.with_columns(
        pl.col(f"soc__{n}").any().over("case_id").alias(f"soc_case__{n}") for n in variants
    ).select(
        *[c for c in flags.columns if not c.startswith("soc__")],
        *[c for n in variants for c in (f"soc__{n}", f"soc_case__{n}")],
    )
    # Counted on integer codes of the case and person keys: the same counts, cheaper.
    coded = flags.select(
        pl.col("case_id").rank("dense"),
        pl.col("person").rank("dense"),
        "soc",
        "soc_case",
        *[c for n in variants for c in (f"soc__{n}", f"soc_case__{n}")],
    )
    cases = coded["case_id"].n_unique()
    counts = [_counts(coded, primary.name, "soc", "soc_case", cases)]
    counts += [
        _counts(coded, d.name, f"soc__{d.name}", f"soc_case__{d.name}", cases) for d in sensitivity
    ]
    flags = flags.with_columns(
        pl.lit(codes.version).alias("code_list_version"),
        pl.lit(codes.sha256).alias("code_list_sha256"),
    )
    return flags, pl.DataFrame(counts)


def _aligned(frame: pl.DataFrame, flags: pl.DataFrame) -> pl.DataFrame:
    """`frame`, checked to hold the defendant-cases of `flags` in the same order."""
    if not frame["defendant_on_case_id"].equals(flags["defendant_on_case_id"]):
        raise AssertionError("frames of the SOC flags are not in the order of the defendant-cases")
    return frame


def _counts(flags: pl.DataFrame, name: str, soc: str, soc_case: str, all_cases: int) -> dict:
    soc_cases = flags.filter(pl.col(soc_case))["case_id"].n_unique()
    return {
        "definition": name,
        "soc_defendant_cases": int(flags[soc].sum()),
        "soc_persons": flags.filter(pl.col(soc))["person"].n_unique(),
        "soc_cases": soc_cases,
        "all_defendant_cases": flags.height,
        "all_cases": all_cases,
        "share_of_appearances": round(float(flags[soc].mean()), 4),
        "share_of_cases": round(soc_cases / all_cases, 4),
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
    # Imported here: the rules that flag or read person keys do not need scipy.
    from scipy.sparse import coo_matrix  # noqa: PLC0415
    from scipy.sparse.csgraph import connected_components  # noqa: PLC0415

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


def unknown_codes(codes: CodeList, ho_codes: pl.DataFrame) -> list[str]:
    """Codes of the SOC list that the HO code table does not hold (sorted)."""
    known = ho_codes.select(normalise_ho_code(pl.col("ho_code")).alias("ho_code"))["ho_code"]
    return sorted(codes.table.filter(~pl.col("ho_code").is_in(known.implode()))["ho_code"])


def definitions_from_config(
    definition: dict, sensitivity: dict[str, dict]
) -> tuple[Definition, list[Definition]]:
    """The primary definition and the named sensitivity variants (each a change of it)."""
    primary = Definition.from_config("primary", definition)
    variants = [Definition.from_config(n, sensitivity[n], primary) for n in sorted(sensitivity)]
    return primary, variants


COUNT_MEASURES = {
    "soc_persons": "SOC persons",
    "soc_defendant_cases": "SOC defendant-cases (appearances)",
    "soc_cases": "SOC cases",
    "share_of_appearances": "share of appearances that are SOC",
    "share_of_cases": "share of cases that are SOC",
}


def sensitivity_statistics(
    counts: pl.DataFrame, labels: dict[str, str] | None = None
) -> pl.DataFrame:
    """Counts under every definition as a statistics table (one row per definition and
    measure), each resting on the SOC persons of its definition. `labels` names definitions in
    words (socflow.labels), so that published tables show no config keys."""
    if labels:
        counts = counts.with_columns(
            pl.col("definition").replace_strict(labels, default=pl.col("definition"))
        )
    long = counts.unpivot(
        index=["definition", "soc_persons"],
        on=list(COUNT_MEASURES),
        variable_name="measure",
        value_name="value",
    )
    return long.select(
        pl.concat_str(
            "definition", pl.lit(": "), pl.col("measure").replace_strict(COUNT_MEASURES)
        ).alias("statistic"),
        "definition",
        pl.col("measure").replace_strict(COUNT_MEASURES).alias("measure"),
        pl.col("value").cast(pl.Float64),
        pl.col("soc_persons").alias("n_persons"),
    )


def group_membership(
    crown: pl.DataFrame,
    flags: pl.DataFrame,
    mags: pl.DataFrame | None = None,
    link: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """(person, case_id, year) participations: Crown Court cases, plus magistrates' cases of
    the same persons when `mags` and `link` are given (case IDs prefixed by court)."""
    crown_m = flags.join(
        crown.select("defendant_on_case_id", "disposal_year"), on="defendant_on_case_id"
    ).select(
        "person",
        pl.concat_str(pl.lit("crown:"), "case_id").alias("case_id"),
        pl.col("disposal_year").cast(pl.Int32).alias("year"),
    )
    if mags is None or link is None:
        return crown_m
    ids = (
        link.filter(pl.col("source_dataset") == "mags")
        .group_by("row_id")
        .agg(pl.col("person_id").min().alias("person"))
    )
    mags_m = mags.join(ids, on="row_id", how="inner").select(
        "person",
        pl.concat_str(pl.lit("mags:"), "case_id").alias("case_id"),
        pl.col("disposal_year").cast(pl.Int32).alias("year"),
    )
    return pl.concat([crown_m, mags_m])


GROUP_SIZE_BANDS = [(2, "2"), (3, "3-4"), (5, "5-9"), (10, "10+")]


def group_size_table(person_group: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """Persons in co-offending groups by group size band and by whether most of the
    group's cases are SOC: a frequency table of distinct persons (each in one group)."""
    band = pl.lit(None, dtype=pl.String)
    for lo, label in GROUP_SIZE_BANDS:
        band = pl.when(pl.col("n_persons") >= lo).then(pl.lit(label)).otherwise(band)
    g = groups.select(
        "group_id",
        band.alias("group_size"),
        pl.when(pl.col("share_cases_soc") >= 0.5)
        .then(pl.lit("mostly SOC cases"))
        .otherwise(pl.lit("mostly non-SOC cases"))
        .alias("group_type"),
    )
    order = pl.DataFrame({"group_size": [label for _, label in GROUP_SIZE_BANDS]})
    counts = (
        person_group.join(g, on="group_id")
        .group_by("group_size", "group_type")
        .agg(pl.col("person").n_unique().alias("persons"))
        .sort("group_size", "group_type")  # a fixed column order in the published table
    )
    return order.join(counts, on="group_size", how="left", maintain_order="left").drop_nulls(
        "group_type"
    )


def run_flag_soc(
    crown_path: str,
    offences_path: str | None,
    person_ids_path: str | None,
    code_list_path: str,
    ho_codes_path: str,
    code_list_version: str,
    definition: dict,
    sensitivity: dict[str, dict],
    out_flags: str,
    out_counts: str,
    out_code_list: str,
    out_candidates: str,
    definition_labels: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Body of rule flag_soc: check the code list, flag, count, write the candidates."""

    codes = load_code_list(code_list_path, code_list_version)
    unknown = unknown_codes(codes, pl.read_csv(ho_codes_path, infer_schema=False))
    if unknown:
        raise CodeListError(
            f"{code_list_path}: column ho_code has codes not in the HO code table "
            f"{ho_codes_path}: {', '.join(unknown)}"
        )
    primary, variants = definitions_from_config(definition, sensitivity)
    crown = pl.read_parquet(crown_path)
    flags, counts = flag_all(
        crown,
        read_ingested(offences_path, "crown_offences"),
        read_link_rows(person_ids_path, "crown"),
        codes,
        primary,
        variants,
    )
    write_parquet(flags, out_flags)
    counts.write_csv(out_counts)
    tiers = codes.table["tier"].value_counts().sort("tier")
    Path(out_code_list).write_text(
        json.dumps(
            {
                "path": str(code_list_path),
                "version": codes.version,
                "sha256": codes.sha256,
                "n_codes": codes.table.height,
                "tiers": dict(zip(tiers["tier"], tiers["count"], strict=True)),
                "definition": primary.__dict__ | {"require": list(primary.require)},
                "sensitivity": {v.name: sensitivity[v.name] for v in variants},
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    write_candidates(
        [
            Candidate(
                "soc_definitions",
                "statistics",
                "SOC persons, appearances and cases under each definition",
                sensitivity_statistics(counts, definition_labels),
                notes=f"SOC code list {codes.version} (sha256 {codes.sha256[:12]}). Counts over "
                "every Crown Court defendant-case of the extract, whatever its year: the "
                "description tables count persons disposed of in the study years, the models "
                "their trial population and re-appearance each person's first case, so their "
                "totals are smaller.",
                figure={"type": "bar", "x": "definition", "y": "value", "group": None,
                        "horizontal": True, "filter": {"measure": COUNT_MEASURES["soc_persons"]}},
            )
        ],
        out_candidates,
        stage="soc",
    )  # fmt: skip
    return flags


def run_co_offending_groups(
    flags_path: str,
    crown_path: str,
    mags_path: str | None,
    person_ids_path: str | None,
    out_person_groups: str,
    out_groups: str,
    out_candidates: str,
) -> pl.DataFrame:
    """Body of rule co_offending_groups."""

    flags = pl.read_parquet(flags_path)
    crown = pl.read_parquet(crown_path)
    mags = pl.read_parquet(mags_path) if mags_path else None
    link = read_link_rows(person_ids_path, "mags") if person_ids_path else None
    membership = group_membership(crown, flags, mags, link)
    case_flags = flags.select(
        pl.concat_str(pl.lit("crown:"), "case_id").alias("case_id"), "soc_case", "soc_category"
    )
    person_group, groups = co_offending_groups(membership, case_flags)
    write_parquet(person_group, out_person_groups)
    write_parquet(groups, out_groups)
    write_candidates(
        [
            Candidate(
                "soc_group_sizes",
                "frequency",
                "Persons in co-offending groups, by group size and type",
                group_size_table(person_group, groups),
                spec={"row": "group_size", "col": "group_type", "count": "persons"},
                notes="A group is a connected set of persons linked by shared cases; "
                "'mostly SOC' groups have half or more of their cases flagged SOC.",
                figure={"type": "bar", "x": "group_size", "y": "persons", "group": "group_type"},
            )
        ],
        out_candidates,
        stage="soc_groups",
    )
    return groups


def run_validate_synthetic(
    flags_path: str, person_groups_path: str, crown_path: str, truth_path: str, out_metrics: str
) -> dict:
    """Body of rule validate_synthetic: recovery of the planted groups, as JSON."""
    metrics = recovery_metrics(
        pl.read_parquet(flags_path),
        pl.read_parquet(person_groups_path),
        pl.read_parquet(truth_path),
        pl.read_parquet(crown_path),
    )
    Path(out_metrics).parent.mkdir(parents=True, exist_ok=True)
    Path(out_metrics).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


CHANGE_LABELS = ("became SOC", "no longer SOC", "SOC under both")


# The columns of a listed code whose edit can move persons or cases: the category they are
# counted under, the tier (the "likely" definitions) and the maximum custody (seriousness).
EDITED_COLUMNS = ("soc_category", "tier", "max_custody")


def code_list_changes(current: CodeList, baseline: CodeList) -> pl.DataFrame:
    """Codes added to and removed from the list, and codes on both lists whose category, tier
    or maximum custody was edited; `detail` says what changed, from the baseline's value to the
    current one (maximum custody compared in years, so "14" and "14.0" are the same)."""
    cols = ["ho_code", "description", "soc_category", "tier"]
    now, before = current.table, baseline.table

    def listed(frame: pl.DataFrame, change: str, detail: pl.Expr) -> pl.DataFrame:
        return frame.select(*cols, pl.lit(change).alias("change"), detail.alias("detail"))

    no_detail = pl.lit(None, dtype=pl.String)
    added = listed(now.join(before, on="ho_code", how="anti"), "added", no_detail)
    removed = listed(before.join(now, on="ho_code", how="anti"), "removed", no_detail)
    both = now.join(
        before.select("ho_code", *EDITED_COLUMNS, "max_custody_years"), on="ho_code",
        suffix="_before",
    )  # fmt: skip

    def edited(c: str) -> pl.Expr:
        compared = "max_custody_years" if c == "max_custody" else c
        return pl.when(pl.col(compared) != pl.col(f"{compared}_before")).then(
            pl.format("{}: {} to {}", pl.lit(c), pl.col(f"{c}_before"), pl.col(c))
        )

    detail = pl.concat_str([edited(c) for c in EDITED_COLUMNS], separator="; ", ignore_nulls=True)
    changed = listed(both.with_columns(detail.alias("_detail")), "changed", pl.col("_detail"))
    changed = changed.filter(pl.col("detail") != "")
    return pl.concat([added, removed, changed]).sort("change", "ho_code")


def status_changes(flags_now: pl.DataFrame, flags_before: pl.DataFrame, unit: str) -> pl.DataFrame:
    """Units (`person` or `case_id`) whose SOC status differs between two flaggings, by SOC
    category (the current one, or the baseline one for units no longer SOC)."""
    soc_col = "soc" if unit == "person" else "soc_case"

    def per_unit(flags: pl.DataFrame, suffix: str) -> pl.DataFrame:
        return flags.group_by(unit).agg(
            pl.col(soc_col).any().alias(f"soc{suffix}"),
            pl.col("soc_category").filter(pl.col(soc_col)).drop_nulls().mode().sort().first()
            .alias(f"category{suffix}"),
        )  # fmt: skip

    both = per_unit(flags_now, "_now").join(per_unit(flags_before, "_before"), on=unit)
    change = (
        pl.when(pl.col("soc_now") & ~pl.col("soc_before"))
        .then(pl.lit(CHANGE_LABELS[0]))
        .when(~pl.col("soc_now") & pl.col("soc_before"))
        .then(pl.lit(CHANGE_LABELS[1]))
        .when(pl.col("soc_now") & pl.col("soc_before"))
        .then(pl.lit(CHANGE_LABELS[2]))
    )
    counts = (
        both.with_columns(
            change.alias("change"),
            pl.coalesce("category_now", "category_before")
            .fill_null("not known")
            .alias("soc_category"),
        )
        .drop_nulls("change")
        .group_by("soc_category", "change")
        .agg(pl.len().alias("persons" if unit == "person" else "cases"))
    )
    grid = counts.select(pl.col("soc_category").unique().sort()).join(
        pl.DataFrame({"change": list(CHANGE_LABELS)}), how="cross"
    )
    name = "persons" if unit == "person" else "cases"
    return grid.join(counts, on=["soc_category", "change"], how="left").with_columns(
        pl.col(name).fill_null(0)
    )


def run_compare_code_lists(
    crown_path: str,
    offences_path: str | None,
    person_ids_path: str | None,
    flags_path: str,
    baseline_path: str,
    baseline_version: str,
    code_list_path: str,
    code_list_version: str,
    definition: dict,
    out_changes: str,
    out_candidates: str,
) -> pl.DataFrame:
    """Body of rule compare_code_lists: the current list against a baseline list."""
    current = load_code_list(code_list_path, code_list_version)
    baseline = load_code_list(baseline_path, baseline_version)
    primary, _ = definitions_from_config(definition, {})
    crown = pl.read_parquet(crown_path)
    flags_before, _ = flag_all(
        crown,
        read_ingested(offences_path, "crown_offences"),
        read_link_rows(person_ids_path, "crown"),
        baseline,
        primary,
        [],
    )
    flags_now = pl.read_parquet(flags_path)
    changes = code_list_changes(current, baseline)
    changes.write_csv(out_changes)
    note = (
        f"Current list {current.version} against baseline {baseline.version}: "
        f"{changes.filter(pl.col('change') == 'added').height} codes added, "
        f"{changes.filter(pl.col('change') == 'removed').height} removed, "
        f"{changes.filter(pl.col('change') == 'changed').height} with an edited category, "
        "tier or maximum custody. SOC status is that of the primary definition."
    )
    write_candidates(
        [
            Candidate(
                "soc_baseline_persons",
                "frequency",
                "Persons whose SOC status changes with the code list, by SOC category",
                status_changes(flags_now, flags_before, "person"),
                spec={"row": "soc_category", "col": "change", "count": "persons"},
                notes=note,
            ),
            Candidate(
                "soc_baseline_cases",
                "frequency",
                "Cases whose SOC status changes with the code list, by SOC category",
                status_changes(flags_now, flags_before, "case_id"),
                spec={"row": "soc_category", "col": "change", "count": "cases"},
                notes=note,
            ),
        ],
        out_candidates,
        stage="soc_baseline",
    )
    return changes
