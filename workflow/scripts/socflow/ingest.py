"""Read an extract, map it onto the canonical schema, validate it, and account for every row.

Rows that fail a check are not dropped: they go to a quarantine table with every reason they
failed, and a reconciliation table shows, per input file, rows read = rows kept + rows
quarantined. Problems that make a whole file unusable (missing, unreadable, missing a required
column) stop the run with one message naming the file, the column and the rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from socflow import schema

log = logging.getLogger(__name__)

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
REASON = "reason"
_SRC = "__src__"


class IngestError(RuntimeError):
    """A problem that stops the run: the message names the file, the column and the rule."""


@dataclass(frozen=True)
class Limits:
    age_min: int = 10
    age_max: int = 100
    custody_days_max: int = 36500

    @classmethod
    def from_config(cls, cfg: dict) -> Limits:
        return cls(
            age_min=cfg["age_min"],
            age_max=cfg["age_max"],
            custody_days_max=cfg["custody_days_max"],
        )


@dataclass
class IngestResult:
    clean: pl.DataFrame
    quarantine: pl.DataFrame
    reconciliation: pl.DataFrame


def list_source_files(path: str | Path, fmt: str, rule: str) -> list[Path]:
    """The files behind a dataset path: the file itself, or the shards in a folder."""
    p = Path(path)
    if not p.exists():
        raise IngestError(f"[rule {rule}] input file not found: {p} (check `datasets` in config)")
    if p.is_file():
        return [p]
    suffixes = {"parquet": (".parquet", ".pq"), "csv": (".csv", ".csv.gz")}
    wanted = suffixes.get(fmt, suffixes["parquet"] + suffixes["csv"])
    files = sorted(f for f in p.iterdir() if f.is_file() and f.name.endswith(wanted))
    if not files:
        raise IngestError(f"[rule {rule}] folder {p} holds no {fmt} files")
    return files


def _format_of(f: Path, fmt: str) -> str:
    if fmt in ("csv", "parquet"):
        return fmt
    return "csv" if f.name.endswith((".csv", ".csv.gz")) else "parquet"


def read_source(path: str | Path, fmt: str, columns: list[str], rule: str) -> pl.DataFrame:
    """Read a file or a folder of shards, keeping only the mapped columns.

    Adds the file name and row number of every row, so that each can be traced and reconciled.
    CSV is read as text throughout; parsing happens in validation, where failures are caught.
    """
    frames = []
    for f in list_source_files(path, fmt, rule):
        kind = _format_of(f, fmt)
        try:
            if kind == "csv":
                header = pl.read_csv(f, n_rows=0, infer_schema=False).columns
            else:
                header = list(pl.read_parquet_schema(f))
        except Exception as exc:  # the file is there but cannot be parsed at all
            raise IngestError(f"[rule {rule}] cannot read {f}: {exc}") from exc
        missing = [c for c in columns if c not in header]
        if missing:
            raise IngestError(
                f"[rule {rule}] {f} lacks required column(s) {', '.join(missing)} "
                f"(present: {', '.join(header)}); fix the file or `datasets.*.columns` in config"
            )
        try:
            if kind == "csv":
                df = pl.read_csv(f, columns=columns, infer_schema=False)
            else:
                df = pl.read_parquet(f, columns=columns)
        except Exception as exc:
            raise IngestError(f"[rule {rule}] cannot read {f}: {exc}") from exc
        frames.append(
            df.with_columns(
                pl.lit(f.name).alias(SOURCE_FILE),
                pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
            )
        )
    return pl.concat(frames, how="vertical_relaxed")


def normalise_ho_code(expr: pl.Expr) -> pl.Expr:
    """`NNN/NN` or `NNNNN` (also with stray spaces) -> `NNNNN`; anything else unchanged."""
    return expr.cast(pl.String).str.strip_chars().str.replace("/", "", literal=True)


def _text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.strip_chars()


def _blank(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (_text(col) == "")


def _age_band_expr(col: str, edges: list[int]) -> pl.Expr:
    labels = []
    for lo, hi in zip(edges, [*edges[1:], None], strict=True):
        labels.append(f"{lo}+" if hi is None else f"{lo}-{hi - 1}")
    expr = pl.lit(None, dtype=pl.String)
    for lo, label in zip(edges, labels, strict=True):
        expr = pl.when(pl.col(col) >= lo).then(pl.lit(label)).otherwise(expr)
    return expr


def ingest_table(
    table: str,
    raw: pl.DataFrame,
    spec: dict,
    ho_codes: pl.DataFrame,
    limits: Limits,
    outcome_groups: dict[str, list[str]] | None = None,
    age_bands: list[int] | None = None,
) -> IngestResult:
    """Map, parse and validate one dataset; split it into clean rows and quarantined rows.

    `raw` holds the source columns (as named in the extract) plus `_source_file`/`_source_row`;
    `spec` is the dataset's config entry (`columns`, `recode`, `date_format`); `ho_codes` has
    the HO code table with `ho_code` (NNNNN) and `offence_group`.
    """
    cols = {c.name: c for c in schema.source_columns(table)}
    mapping: dict[str, str] = spec["columns"]
    recode: dict[str, dict[str, str]] = spec.get("recode") or {}
    date_fmt = spec.get("date_format", "%Y-%m-%d")
    known_codes = ho_codes["ho_code"]

    parsed: list[pl.Expr] = []
    checks: list[tuple[pl.Expr, str]] = []
    for name, col in cols.items():
        if name not in mapping:
            if col.required:
                raise IngestError(f"config maps no source column to required `{name}` of {table}")
            parsed.append(pl.lit(None, dtype=col.dtype).alias(name))
            continue
        src = _SRC + mapping[name]
        blank = _blank(src)
        if col.kind == "date":
            value = _text(src).str.to_date(date_fmt, strict=False)
            checks.append((~blank & value.is_null(), f"unparseable date in {name}"))
        elif col.kind == "int":
            value = pl.col(src).cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)
            checks.append((~blank & value.is_null(), f"non-integer {name}"))
        elif col.kind == "float":
            value = _text(src).cast(pl.Float64, strict=False)
            checks.append((~blank & value.is_null(), f"non-numeric {name}"))
        elif col.kind == "ho_code":
            value = normalise_ho_code(pl.col(src))
            malformed = ~blank & ~value.str.contains(r"^\d{5}$")
            checks.append((malformed, f"malformed HO offence code in {name}"))
            checks.append(
                (
                    ~blank & ~malformed & ~value.is_in(known_codes.implode()),
                    f"{name} not in HO code table",
                )
            )
        elif col.kind == "enum":
            text = pl.col(src).cast(pl.String).str.strip_chars()
            if name in recode:
                text = text.fill_null("").replace_strict(recode[name], default=None)
                unmapped = text.is_null() & ~(blank & pl.lit(col.nullable))
            else:
                text = pl.when(blank).then(None).otherwise(text)
                unmapped = ~blank
            categories = col.dtype.categories
            ok = text.is_in(categories.implode())
            checks.append((unmapped & ~ok.fill_null(False), f"unmapped value in {name}"))
            value = pl.when(ok).then(text).otherwise(None).cast(col.dtype)
        else:
            value = pl.when(blank).then(None).otherwise(_text(src))
        if not col.nullable:
            checks.append((blank & value.is_null(), f"missing {name}"))
        parsed.append(value.alias(name))

    # Source columns move to a namespace of their own: a canonical name may equal a source one.
    source_cols = list(dict.fromkeys(mapping[n] for n in cols if n in mapping))
    df = raw.select(
        SOURCE_FILE, SOURCE_ROW, *[pl.col(c).alias(_SRC + c) for c in source_cols]
    ).with_columns(pl.struct([_SRC + c for c in source_cols]).is_first_distinct().alias("_first"))
    df = df.with_columns(parsed)
    # Range and order checks on parsed values.
    if "age_at_offence" in cols:
        age = pl.col("age_at_offence")
        checks.append(
            (~age.is_between(limits.age_min, limits.age_max), "age_at_offence out of range")
        )
    if "custody_days" in cols:
        cd = pl.col("custody_days")
        checks.append((~cd.is_between(0, limits.custody_days_max), "custody_days out of range"))
    if "match_score" in cols:
        checks.append((~pl.col("match_score").is_between(0, 1), "match_score out of range"))
    for first, second in schema.DATE_ORDER.get(table, ()):
        checks.append((pl.col(first) > pl.col(second), f"{first} after {second}"))
    checks.append((~pl.col("_first"), "duplicate row"))

    reason = pl.concat_str(
        [pl.when(bad.fill_null(False)).then(pl.lit(text)) for bad, text in checks],
        separator="; ",
        ignore_nulls=True,
    )
    df = df.with_columns(reason.alias(REASON)).with_columns(
        pl.when(pl.col(REASON) == "").then(None).otherwise(pl.col(REASON)).alias(REASON)
    )
    # A key seen twice among otherwise valid rows: keep the first, quarantine the rest.
    key = list(schema.KEYS[table])
    dup_key = pl.col(REASON).is_null() & ~pl.struct(key).is_first_distinct().over(
        pl.col(REASON).is_null()
    )
    df = df.with_columns(
        pl.when(dup_key).then(pl.lit("duplicate key")).otherwise(pl.col(REASON)).alias(REASON)
    )

    quarantine = df.filter(pl.col(REASON).is_not_null()).select(
        pl.lit(table).alias("table"),
        SOURCE_FILE,
        SOURCE_ROW,
        REASON,
        *[pl.col(_SRC + c).cast(pl.String).alias(f"src_{c}") for c in source_cols],
    )
    clean = df.filter(pl.col(REASON).is_null()).select(list(cols))
    clean = _derive(table, clean, ho_codes, outcome_groups or {}, age_bands or [])
    clean = clean.select([pl.col(c.name).cast(c.dtype) for c in schema.TABLES[table]])

    reconciliation = (
        df.group_by(SOURCE_FILE)
        .agg(
            pl.len().alias("rows_read"),
            pl.col(REASON).is_null().sum().alias("rows_kept"),
            pl.col(REASON).is_not_null().sum().alias("rows_quarantined"),
        )
        .with_columns(pl.lit(table).alias("table"))
        .select("table", pl.col(SOURCE_FILE).alias("source_file"), "rows_read", "rows_kept",
                "rows_quarantined")
        .sort("source_file")
    )  # fmt: skip
    return IngestResult(clean, quarantine, reconciliation)


def _derive(
    table: str,
    df: pl.DataFrame,
    ho_codes: pl.DataFrame,
    outcome_groups: dict[str, list[str]],
    age_bands: list[int],
) -> pl.DataFrame:
    names = {c.name for c in schema.TABLES[table] if c.kind == "derived"}
    if not names:
        return df
    out = df
    if "offence_group" in names:
        out = out.join(
            ho_codes.select(pl.col("ho_code").alias("ho_offence_code"), pl.col("offence_group")),
            on="ho_offence_code",
            how="left",
        )
    exprs = []
    if "ethnic_group" in names:
        exprs.append(
            pl.col("ethnicity")
            .cast(pl.String)
            .replace_strict(schema.ETHNIC_GROUP_OF, default="Not stated")
            .alias("ethnic_group")
        )
    if "age_band" in names:
        exprs.append(_age_band_expr("age_at_offence", age_bands).alias("age_band"))
    if "receipt_year" in names:
        exprs.append(pl.col("receipt_date").dt.year().alias("receipt_year"))
    if "disposal_year" in names:
        exprs.append(pl.col("disposal_date").dt.year().alias("disposal_year"))
    if "outcome_group" in names:
        lookup = {o: g for g, members in outcome_groups.items() for o in members}
        exprs.append(
            pl.col("outcome").cast(pl.String).replace_strict(lookup, default="other")
            .alias("outcome_group")
        )  # fmt: skip
    return out.with_columns(exprs)


def load_ho_codes(path: str | Path) -> pl.DataFrame:
    """The HO code table with codes normalised to NNNNN."""
    df = pl.read_csv(path, infer_schema=False)
    for needed in ("ho_code", "offence_group"):
        if needed not in df.columns:
            raise IngestError(f"HO code table {path} lacks column {needed}")
    return df.with_columns(normalise_ho_code(pl.col("ho_code")).alias("ho_code"))


def run_ingest(
    table: str,
    spec: dict,
    ho_codes_path: str | Path,
    limits: Limits,
    outcome_groups: dict[str, list[str]],
    age_bands: list[int],
    out_clean: str | Path,
    out_quarantine: str | Path,
    out_reconciliation: str | Path,
    rule: str,
) -> IngestResult:
    """Read, validate and write one dataset (the body of rule `ingest`)."""
    source_cols = list(dict.fromkeys(spec["columns"].values()))
    raw = read_source(spec["path"], spec.get("format", "auto"), source_cols, rule)
    log.info("%s: read %d rows from %s", table, raw.height, spec["path"])
    result = ingest_table(
        table, raw, spec, load_ho_codes(ho_codes_path), limits, outcome_groups, age_bands
    )
    rec = result.reconciliation
    if not (rec["rows_read"] == rec["rows_kept"] + rec["rows_quarantined"]).all():
        raise IngestError(f"[rule {rule}] reconciliation does not balance for {table}")
    result.clean.write_parquet(out_clean)
    result.quarantine.write_parquet(out_quarantine)
    rec.write_csv(out_reconciliation)
    log.info("%s: kept %d, quarantined %d", table, result.clean.height, result.quarantine.height)
    return result
