"""Read an extract, map it onto the canonical schema, validate it, and account for every row.

Rows that fail a check are not dropped: they go to a quarantine table with every reason they
failed, and a reconciliation table shows, per input file, rows read = rows kept + rows
quarantined. Problems that make a whole file unusable (missing, unreadable, missing a required
column) stop the run with one message naming the file, the column and the rule.

A dataset is processed one input file (shard) at a time, so that memory holds one shard's raw
text rather than the whole extract's; only canonical rows are kept. Duplicates are found across
shards without keeping the raw data: equal rows have equal keys, so a first pass hashes the key of
every row, and only rows whose key hash is shared keep their raw values, to be compared exactly
(a hash collision can never quarantine a row).
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import partial, reduce
from pathlib import Path

import polars as pl

from socflow import schema
from socflow.parquet import write_parquet

log = logging.getLogger(__name__)

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
REASON = "reason"
_SRC = "__src__"
_TXT = "__txt__"  # stripped text of a source column
_RECODED = "__recoded__"  # recoded text of an enum column, before the allowed-value check
_UNMAPPED = "__unmapped__"  # flag: an enum column's raw value is not listed by its recode
_CHECK = "__check__"
_BAD = "__bad__"
_POS = "__pos__"  # row position within its input file
_PART = "__part__"  # index of the input file
_KEY_HASH = "__key_hash__"
_DUP_ROW = "duplicate row"  # also the name of a flag column
_DUP_KEY = "duplicate key"

SLICE_ROWS = 2_000_000  # a large single file is validated in slices of at most this many rows


class IngestError(RuntimeError):
    """A problem that stops the run: the message names the file, the column and the rule."""


@dataclass(frozen=True)
class Limits:
    age_min: int = 10
    age_max: int = 100
    custody_days_max: int = 36500
    first_plausible_date: date = date(1900, 1, 1)
    last_plausible_date: date = date(2030, 12, 31)
    # 1.0 stops never: library callers opt in; the workflow takes the share from config.
    max_quarantine_share: float = 1.0

    @classmethod
    def from_config(cls, cfg: dict) -> Limits:
        return cls(
            age_min=cfg["age_min"],
            age_max=cfg["age_max"],
            custody_days_max=cfg["custody_days_max"],
            first_plausible_date=date.fromisoformat(str(cfg["first_plausible_date"])),
            last_plausible_date=date.fromisoformat(str(cfg["last_plausible_date"])),
            max_quarantine_share=cfg["max_quarantine_share"],
        )


_INT_RANGE = {
    pl.Int8(): (-(2**7), 2**7 - 1),
    pl.Int16(): (-(2**15), 2**15 - 1),
    pl.Int32(): (-(2**31), 2**31 - 1),
    pl.Int64(): (-(2**63), 2**63 - 1),
}
# Tables whose foreign key must match a row of another table: (column, parent table, the
# parent's key column). Checked when the parent table is present; without it, nothing to match.
ORPHAN_KEYS = {
    "crown_offences": ("defendant_on_case_id", "crown_defendant_cases", "defendant_on_case_id"),
    "prison_establishment_spells": ("journey_row_id", "prison_journeys", "row_id"),
    "prison_incidents": ("journey_row_id", "prison_journeys", "row_id"),
}

# Smallest allowed value of count columns (negative counts are impossible).
MIN_VALUE = {
    "n_offences": 0,
    "offence_number": 0,
    "custody_days": 0,
    "sentence_days": 0,
    **{f"{section}_score": 0 for section in schema.OASYS_SECTIONS},
}
# Probabilities on a 0-100 scale (OASys risk scores).
PERCENT_COLUMNS = ("ogrs_2yr", "ovp_2yr")


@dataclass(frozen=True)
class _Check:
    """One row-wise check: the rows it fails, its reason, and the config key most likely wrong
    when it fails many rows."""

    fails: pl.Expr
    reason: str
    column: str | None = None
    config_key: str = ""


UNMAPPED_SCHEMA = {
    "source_file": pl.String,
    "column": pl.String,
    "raw_value": pl.String,
    "rows": pl.Int64,
    "policy": pl.String,
}


@dataclass
class IngestResult:
    clean: pl.DataFrame
    quarantine: pl.DataFrame
    reconciliation: pl.DataFrame
    unmapped: pl.DataFrame  # raw codes no recode lists, per file and column (UNMAPPED_SCHEMA)


@dataclass(frozen=True)
class _Part:
    """One input file (or an in-memory frame).

    `load(columns)` gives its raw rows (all mapped source columns, or only `columns`) with
    `_source_file` and `_source_row`, as often as needed; `dtypes` are the source columns' dtypes.
    """

    name: str
    load: Callable[[list[str] | None], pl.DataFrame]
    dtypes: dict[str, pl.DataType]


def list_source_files(path: str | Path, fmt: str, rule: str) -> list[Path]:
    """The files behind a dataset path: the file itself, or the shards in a folder."""
    p = Path(path)
    if not p.exists():
        raise IngestError(f"[rule {rule}] input file not found: {p} (check `datasets` in config)")
    if p.is_file():
        return [p]
    # Every file of a shard folder is read, each by its own suffix (CSV and Parquet may mix);
    # a file that is neither stops the run rather than being skipped.
    entries = sorted(f for f in p.iterdir() if f.name != SNAKEMAKE_MARKER)
    files = [f for f in entries if f.is_file() and f.name.endswith(DATA_SUFFIXES)]
    other = [f.name for f in entries if f not in files]
    if other:
        raise IngestError(
            f"[rule {rule}] folder {p} holds {len(other)} entr{'y' if len(other) == 1 else 'ies'} "
            f"that are not data files ({', '.join(DATA_SUFFIXES)}), which would not be read: "
            f"{', '.join(other[:10])}{' ...' if len(other) > 10 else ''}; move them out of the "
            "folder"
        )
    if not files:
        raise IngestError(f"[rule {rule}] folder {p} holds no data files")
    return files


DATA_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz")
# Snakemake's time stamp in a folder it wrote (the synthetic shard folders): not data.
SNAKEMAKE_MARKER = ".snakemake_timestamp"


def _format_of(f: Path, fmt: str) -> str:
    """A file's format: by its suffix where it has a data suffix, else the configured one."""
    if f.name.endswith((".csv", ".csv.gz")):
        return "csv"
    if f.name.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv" if fmt == "csv" else "parquet"


def _file_parts(path: str | Path, fmt: str, columns: list[str], rule: str) -> list[_Part]:
    """Check every file's header, then return one lazily read part per file.

    The files stack as one table: a column whose dtype differs between files is read as the
    common supertype in each (as a relaxed concatenation would), so values hash and compare alike.
    """
    files = list_source_files(path, fmt, rule)
    schemas = []
    for f in files:
        try:
            if _format_of(f, fmt) == "csv":
                header = dict.fromkeys(pl.read_csv(f, n_rows=0, infer_schema=False).columns,
                                       pl.String())  # fmt: skip
            else:
                header = dict(pl.read_parquet_schema(f))
        except Exception as exc:  # the file is there but cannot be parsed at all
            raise IngestError(f"[rule {rule}] cannot read {f}: {exc}") from exc
        missing = [c for c in columns if c not in header]
        if missing:
            raise IngestError(
                f"[rule {rule}] {f} lacks required column(s) {', '.join(missing)} "
                f"(present: {', '.join(header)}); fix the file or `datasets.*.columns` in config"
            )
        schemas.append({c: header[c] for c in columns})
    common = dict(pl.concat([pl.DataFrame(schema=s) for s in schemas], how="vertical_relaxed")
                  .schema)  # fmt: skip
    return [
        _Part(f.name, partial(_read_file, f, _format_of(f, fmt), columns, common, rule), common)
        for f in files
    ]


def _read_file(
    f: Path,
    kind: str,
    all_columns: list[str],
    dtypes: dict[str, pl.DataType],
    rule: str,
    columns: list[str] | None = None,
) -> pl.DataFrame:
    columns = all_columns if columns is None else columns
    try:
        if kind == "csv":
            df = pl.read_csv(f, columns=columns, infer_schema=False)
        else:
            df = pl.read_parquet(f, columns=columns)
    except Exception as exc:
        raise IngestError(f"[rule {rule}] cannot read {f}: {exc}") from exc
    return df.select(pl.col(c).cast(dtypes[c]) for c in columns).with_columns(
        pl.lit(f.name).alias(SOURCE_FILE),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
    )


def read_source(path: str | Path, fmt: str, columns: list[str], rule: str) -> pl.DataFrame:
    """Read a file or a folder of shards, keeping only the mapped columns.

    Adds the file name and row number of every row, so that each can be traced and reconciled.
    CSV is read as text throughout; parsing happens in validation, where failures are caught.
    """
    return pl.concat([part.load(None) for part in _file_parts(path, fmt, columns, rule)])


def normalise_ho_code(expr: pl.Expr) -> pl.Expr:
    """`NNN/NN` or `NNNNN` (also with stray spaces) -> `NNNNN`; anything else unchanged."""
    return expr.cast(pl.String).str.strip_chars().str.replace("/", "", literal=True)


def _constant(value: object, dtype: pl.DataType) -> pl.Expr:
    """A mapping constant as a typed literal (dates in ISO form)."""
    if dtype == pl.Date:
        return pl.lit(date.fromisoformat(str(value)))
    if isinstance(dtype, pl.Enum):
        return pl.lit(str(value)).cast(dtype)
    return pl.lit(value).cast(dtype)


def _age_band_expr(col: str, edges: list[int]) -> pl.Expr:
    if not edges:
        return pl.lit(None, dtype=pl.String)
    labels = []
    for lo, hi in zip(edges, [*edges[1:], None], strict=True):
        labels.append(f"{lo}+" if hi is None else f"{lo}-{hi - 1}")
    expr = pl.lit(None, dtype=pl.String)
    for lo, label in zip(edges, labels, strict=True):
        expr = pl.when(pl.col(col) >= lo).then(pl.lit(label)).otherwise(expr)
    return expr


def _hash_columns(names: list[str]) -> pl.Expr:
    """One 64-bit hash of several columns: equal values give equal hashes (given equal dtypes)."""
    return reduce(operator.xor, [pl.col(c).hash(seed=i) for i, c in enumerate(names)])


def _is_in(col: str, values: pl.Series) -> pl.Expr:
    return pl.col(col).is_in(values.implode())


class _Validator:
    """The mapping, parsing and row-wise checks of one table, as Polars expressions."""

    def __init__(self, table: str, spec: dict, ho_codes: pl.DataFrame, limits: Limits) -> None:
        self.table = table
        self.cols = {c.name: c for c in schema.source_columns(table)}
        entries = spec["columns"]
        for name, col in self.cols.items():
            if entries.get(name) is None and col.required:
                raise IngestError(f"config maps no source column to required `{name}` of {table}")
        # Canonical name -> source column; constants; everything else is absent (typed null).
        self.mapping: dict[str, str] = {n: e for n, e in entries.items() if isinstance(e, str)}
        self.constants: dict[str, object] = {
            n: e["value"] for n, e in entries.items() if isinstance(e, dict)
        }
        self.recode: dict[str, dict[str, str]] = spec.get("recode") or {}
        self.unmapped: dict[str, object] = spec.get("unmapped") or {}
        self.date_fmt = spec.get("date_format", "%Y-%m-%d")
        self.known_codes = ho_codes["ho_code"]
        self.limits = limits
        self.parents: pl.Series | None = None  # keys a foreign key must match (orphan check)
        self.present = set(self.mapping) | set(self.constants)
        # Source columns move to a namespace of their own: a canonical name may equal a source one.
        self.source_cols = list(dict.fromkeys(self.mapping[n] for n in self.cols
                                              if n in self.mapping))  # fmt: skip
        self.key = list(schema.KEYS[table])

    def _plan(
        self, dtypes: dict[str, pl.DataType], trimmed: frozenset[str] = frozenset()
    ) -> tuple[list, list, list, list, list]:
        """Expressions in dependency order: texts, parsed values, enum values, checks.

        `trimmed` names text columns known to have no leading or trailing white space: they are
        used as they are rather than copied by stripping.
        """
        kinds = {self.mapping[n]: [] for n in self.cols if n in self.mapping}
        for name, col in self.cols.items():
            if name in self.mapping:
                kinds[self.mapping[name]].append(col.kind)
        # Stripped text of each source column, unless it only feeds integers and is one already.
        with_text = [
            s for s, k in kinds.items() if not (set(k) == {"int"} and dtypes[s].is_integer())
        ]
        texts = [
            pl.col(_SRC + s).alias(_TXT + s) if s in trimmed
            else pl.col(_SRC + s).cast(pl.String).str.strip_chars().alias(_TXT + s)
            for s in with_text
        ]  # fmt: skip

        def txt(src: str) -> pl.Expr:
            return pl.col(_TXT + src)

        def blank(src: str) -> pl.Expr:
            if src in with_text:
                return txt(src).is_null() | (txt(src) == "")
            return pl.col(_SRC + src).is_null()

        parsed: list[pl.Expr] = []
        enums: list[pl.Expr] = []
        checks: list[_Check] = []
        key_of = f"datasets.{self.table}"
        for name, col in self.cols.items():
            if name in self.constants:
                (enums if col.kind == "enum" else parsed).append(
                    _constant(self.constants[name], col.dtype).alias(name)
                )
                continue
            if name not in self.mapping:
                # Declared absent: a typed null, never a made-up value.
                parsed.append(pl.lit(None, dtype=col.dtype).alias(name))
                continue
            src = self.mapping[name]
            value = pl.col(name)
            col_key = f"{key_of}.columns.{name}"
            if col.kind == "date":
                parsed.append(txt(src).str.to_date(self.date_fmt, strict=False).alias(name))
                checks.append(_Check(~blank(src) & value.is_null(), f"unparseable date in {name}",
                                     src, f"{key_of}.date_format"))  # fmt: skip
                lim = self.limits
                checks.append(
                    _Check(
                        ~value.is_between(lim.first_plausible_date, lim.last_plausible_date),
                        f"implausible date in {name} (outside {lim.first_plausible_date}.."
                        f"{lim.last_plausible_date})",
                        src,
                        f"{key_of}.date_format",
                    )
                )
            elif col.kind == "int":
                if src in with_text:
                    # Whole numbers written as decimals (e.g. a shard stored as float) are read as
                    # integers; a fraction is never truncated.
                    as_float = txt(src).cast(pl.Float64, strict=False)
                    whole = (as_float == as_float.floor()) & (as_float.abs() < 2**53)
                    raw = pl.coalesce(
                        txt(src).cast(pl.Int64, strict=False),
                        pl.when(whole).then(as_float.cast(pl.Int64, strict=False)),
                    )
                else:  # an integer column needs no round trip through text
                    raw = pl.col(_SRC + src).cast(pl.Int64, strict=False)
                parsed.append(raw.alias(name))
                checks.append(_Check(~blank(src) & value.is_null(), f"non-integer {name}", src,
                                     col_key))  # fmt: skip
                lo, hi = _INT_RANGE[col.dtype]
                out_of_range = f"{name} out of range for {col.dtype}"
                checks.append(_Check(~value.is_between(lo, hi), out_of_range, src, col_key))
                if name in MIN_VALUE:
                    checks.append(_Check(value < MIN_VALUE[name], f"negative {name}", src,
                                         col_key))  # fmt: skip
            elif col.kind == "float":
                parsed.append(txt(src).cast(pl.Float64, strict=False).alias(name))
                checks.append(_Check(~blank(src) & value.is_null(), f"non-numeric {name}", src,
                                     col_key))  # fmt: skip
            elif col.kind == "ho_code":
                parsed.append(txt(src).str.replace("/", "", literal=True).alias(name))
                malformed = ~blank(src) & ~value.str.contains(r"^\d{5}$")
                checks.append(_Check(malformed, f"malformed HO offence code in {name}", src,
                                     col_key))  # fmt: skip
                checks.append(
                    _Check(
                        ~blank(src) & ~malformed & ~value.is_in(self.known_codes.implode()),
                        f"{name} not in HO code table",
                        src,
                        "resources.ho_offence_codes",
                    )
                )
            elif col.kind == "enum":
                recoded = pl.col(_RECODED + name)
                levels = col.dtype.categories.implode()
                if name in self.recode:
                    listed = txt(src).fill_null("").replace_strict(self.recode[name], default=None)
                else:
                    listed = pl.when(txt(src).is_in(levels)).then(txt(src))
                # A non-blank raw value that the recode does not list (nor the canonical levels).
                unlisted_now = listed.is_null() & ~blank(src)
                parsed.append(unlisted_now.alias(_UNMAPPED + name))
                unlisted = pl.col(_UNMAPPED + name)
                policy = self.unmapped.get(name, "quarantine")
                if isinstance(policy, dict):
                    listed = pl.when(unlisted_now).then(pl.lit(policy["level"])).otherwise(listed)
                parsed.append(listed.alias(_RECODED + name))
                ok = recoded.is_in(levels)
                enums.append(pl.when(ok).then(recoded).otherwise(None).cast(col.dtype).alias(name))
                bad_recode = ~blank(src) & ~unlisted & ~ok.fill_null(False)
                checks.append(
                    _Check(bad_recode, f"recode of {name} gives no canonical level", src,
                           f"{key_of}.recode.{name}")
                )  # fmt: skip
                if not isinstance(policy, dict):
                    checks.append(
                        _Check(unlisted, f"unmapped value in {name}", src,
                               f"{key_of}.recode.{name} (or {key_of}.unmapped.{name})")
                    )  # fmt: skip
            else:
                parsed.append(pl.when(blank(src)).then(None).otherwise(txt(src)).alias(name))
            if not col.nullable:
                checks.append(_Check(blank(src) & value.is_null(), f"missing {name}", src, col_key))

        # Range and order checks on parsed values.
        lim = self.limits
        present = set(self.mapping) | set(self.constants)
        if "age_at_offence" in present:
            age = pl.col("age_at_offence")
            checks.append(_Check(~age.is_between(lim.age_min, lim.age_max),
                                 "age_at_offence out of range", self.mapping.get("age_at_offence"),
                                 "validation.age_min / validation.age_max"))  # fmt: skip
        if "age_at_reception" in present:
            age = pl.col("age_at_reception")
            checks.append(_Check(~age.is_between(lim.age_min, lim.age_max),
                                 "age_at_reception out of range",
                                 self.mapping.get("age_at_reception"),
                                 "validation.age_min / validation.age_max"))  # fmt: skip
        for name in (c for c in PERCENT_COLUMNS if c in present):
            checks.append(_Check(~pl.col(name).is_between(0, 100), f"{name} out of range",
                                 self.mapping.get(name), f"{key_of}.columns.{name}"))  # fmt: skip
        if "custody_days" in present:
            cd = pl.col("custody_days")
            checks.append(_Check(~cd.is_between(0, lim.custody_days_max),
                                 "custody_days out of range", self.mapping.get("custody_days"),
                                 "validation.custody_days_max"))  # fmt: skip
        if "match_score" in present:
            checks.append(_Check(~pl.col("match_score").is_between(0, 1),
                                 "match_score out of range", self.mapping.get("match_score"),
                                 f"{key_of}.columns.match_score"))  # fmt: skip
        for first, second in schema.DATE_ORDER.get(self.table, ()):
            if first in present and second in present:
                checks.append(_Check(pl.col(first) > pl.col(second), f"{first} after {second}",
                                     self.mapping.get(first), f"{key_of}.date_format"))  # fmt: skip
        if self.parents is not None:
            fk = ORPHAN_KEYS[self.table]
            checks.append(
                _Check(~pl.col(fk[0]).is_in(self.parents.implode()),
                       f"orphan: {fk[0]} not in {fk[1]}", self.mapping.get(fk[0]),
                       f"datasets.{fk[1]}")
            )  # fmt: skip

        check_exprs = [c.fails.fill_null(False).alias(f"{_CHECK}{i}") for i, c in enumerate(checks)]
        return texts, parsed, enums, check_exprs, checks

    def _pipeline(self, raw: pl.DataFrame) -> pl.LazyFrame:
        """Raw rows (source columns renamed) -> parsed values, checks and the key hash."""
        dtypes = {c: raw.schema[_SRC + c] for c in self.source_cols}
        # Stripping copies every string; most extract columns have nothing to strip. A string is
        # padded exactly when stripping shortens it: comparing lengths, not texts, is cheaper.
        strings = [c for c in self.source_cols if dtypes[c] == pl.String]
        padded = raw.select(
            (pl.col(_SRC + c).str.len_bytes()
             != pl.col(_SRC + c).str.strip_chars().str.len_bytes()).any().alias(c)
            for c in strings
        ).row(0, named=True) if strings and raw.height else {}  # fmt: skip
        texts, parsed, enums, checks, _ = self._plan(
            dtypes, frozenset(c for c in strings if padded.get(c) is False)
        )
        return (
            raw.lazy()
            .with_columns(texts)
            .with_columns(parsed)
            .with_columns(enums)
            .with_columns(*checks, _hash_columns(self.key).alias(_KEY_HASH))
        )  # fmt: skip

    def _renamed(self, raw: pl.DataFrame, dtypes: dict[str, pl.DataType]) -> pl.DataFrame:
        """Source columns under their own names; any not loaded are null (pruned later)."""
        return raw.select(
            SOURCE_FILE,
            SOURCE_ROW,
            *[
                pl.col(c).alias(_SRC + c) if c in raw.columns
                else pl.lit(None, dtype=dtypes[c]).alias(_SRC + c)
                for c in self.source_cols
            ],
        ).with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(_POS))  # fmt: skip

    def key_columns(self) -> list[str]:
        """The source columns the key is parsed from."""
        return list(dict.fromkeys(self.mapping[k] for k in self.key if k in self.mapping))

    def key_hashes(self, raw: pl.DataFrame, dtypes: dict[str, pl.DataType]) -> pl.Series:
        """The key hash of every row, from the key's source columns alone."""
        return self._pipeline(self._renamed(raw, dtypes)).select(_KEY_HASH).collect().to_series()

    def validate(self, raw: pl.DataFrame, shared_keys: pl.Series) -> _Validated:
        """Validate one part; rows whose key hash is in `shared_keys` are also candidates."""
        renamed = self._renamed(raw, raw.schema)
        _, _, _, checks, meta = self._plan({c: raw.schema[c] for c in self.source_cols})
        reasons = [c.reason for c in meta]
        check_names = [f"{_CHECK}{i}" for i in range(len(checks))]
        bad = pl.any_horizontal(check_names) if check_names else pl.lit(False)
        reason = pl.concat_str(
            [pl.when(pl.col(c)).then(pl.lit(t)) for c, t in zip(check_names, reasons, strict=True)],
            separator="; ",
            ignore_nulls=True,
        )
        src = [_SRC + c for c in self.source_cols]
        coded = [n for n in self.mapping if self.cols[n].kind == "enum"]
        out = _Validated([], [], [], [], [], [], meta)
        for offset in range(0, max(renamed.height, 1), SLICE_ROWS):
            df = self._pipeline(renamed.slice(offset, SLICE_ROWS)).with_columns(
                bad.alias(_BAD)).collect()  # fmt: skip
            is_bad = df.get_column(_BAD)
            out.flagged.append(
                df.select(_POS, SOURCE_FILE, SOURCE_ROW, *check_names, *src).filter(is_bad).select(
                    _POS, SOURCE_FILE, SOURCE_ROW, reason.alias(REASON),
                    *[pl.col(c).cast(pl.String).alias(f"src_{c.removeprefix(_SRC)}") for c in src],
                )
            )  # fmt: skip
            out.kept.append(df.select(_POS, *self.cols).filter(~is_bad))
            out.check_counts.append(
                df.group_by(SOURCE_FILE).agg(pl.col(check_names).sum().cast(pl.Int64))
            )
            out.unmapped.extend(
                df.filter(pl.col(_UNMAPPED + n))
                .group_by(SOURCE_FILE, _TXT + self.mapping[n])
                .len("rows")
                .select(
                    pl.col(SOURCE_FILE).alias("source_file"),
                    pl.lit(n).alias("column"),
                    pl.col(_TXT + self.mapping[n]).alias("raw_value"),
                    pl.col("rows").cast(pl.Int64),
                    pl.lit(_policy_text(self.unmapped.get(n, "quarantine"))).alias("policy"),
                )
                for n in coded
            )
            out.counts.append(
                df.select(SOURCE_FILE).filter(~is_bad).group_by(SOURCE_FILE).len("rows_kept")
            )
            out.candidates.append(
                df.select(_POS, _BAD, SOURCE_FILE, SOURCE_ROW, *src, *self.key).filter(
                    df.get_column(_KEY_HASH).is_in(shared_keys.implode())
                )
            )
            del df, is_bad
        return out


@dataclass
class _Validated:
    """One part, validated: rows that pass every row-wise check (canonical values), rows that
    fail one (reasons and source values), candidate repeats (raw and key values), and kept rows
    per file. Every frame carries the rows' positions in the part."""

    kept: list[pl.DataFrame]
    flagged: list[pl.DataFrame]
    candidates: list[pl.DataFrame]
    counts: list[pl.DataFrame]
    check_counts: list[pl.DataFrame]  # per file, rows failing each check
    unmapped: list[pl.DataFrame]  # per file and coded column, raw values no recode lists
    checks: list[_Check]


def _policy_text(policy: object) -> str:
    return f"level {policy['level']}" if isinstance(policy, dict) else str(policy)


def _shared(series: list[pl.Series]) -> pl.Series:
    """Values that occur more than once."""
    s = pl.concat(series) if series else pl.Series([], dtype=pl.UInt64)
    return s.filter(s.is_duplicated()).unique()


def _ingest_parts(
    table: str,
    parts: Iterable[_Part],
    spec: dict,
    ho_codes: pl.DataFrame,
    limits: Limits,
    outcome_groups: dict[str, list[str]],
    age_bands: list[int],
    rule: str = "ingest",
    parents: pl.Series | None = None,
) -> IngestResult:
    """Validate part by part, then find duplicate rows and keys across all parts.

    Equal rows have equal keys, so only rows whose key hash is shared can repeat a row or a key.
    A first pass over the key's source columns finds those hashes; the raw values of such rows
    are kept as each part is validated, then compared exactly.
    """
    parts = list(parts)
    validator = _Validator(table, spec, ho_codes, limits)
    validator.parents = parents
    key_cols = validator.key_columns()
    single = parts[0].load(None) if len(parts) == 1 else None  # read once, used twice
    shared_keys = _shared(
        [
            validator.key_hashes(single if single is not None else part.load(key_cols),
                                 part.dtypes)
            for part in parts
        ]
    )  # fmt: skip
    done: list[_Validated] = []
    counts: list[pl.DataFrame] = []
    heights: list[int] = []
    for part in parts:
        raw = single if single is not None else part.load(None)
        single = None
        counts.append(
            raw.group_by(SOURCE_FILE).len("rows_read") if raw.height
            else pl.DataFrame({SOURCE_FILE: [part.name], "rows_read": [0]})
        )  # fmt: skip
        heights.append(raw.height)
        done.append(validator.validate(raw, shared_keys))
        del raw

    # Candidates in input order: the first of equal rows is kept, the others are duplicate rows;
    # then, among rows that pass every check and repeat no row, the first of equal keys is kept.
    cand = pl.concat(
        [
            pl.concat(v.candidates).with_columns(pl.lit(i, dtype=pl.Int32).alias(_PART))
            for i, v in enumerate(done)
        ]
    )
    src = [_SRC + c for c in validator.source_cols]
    dup_row = ~pl.struct(src).is_first_distinct()
    cand = cand.with_columns(dup_row.alias(_DUP_ROW))
    dup_key = ~pl.struct(validator.key).is_first_distinct().over(~pl.col(_BAD) & ~pl.col(_DUP_ROW))
    cand = cand.with_columns((~pl.col(_BAD) & ~pl.col(_DUP_ROW) & dup_key).alias(_DUP_KEY))
    moved = cand.filter(~pl.col(_BAD) & (pl.col(_DUP_ROW) | pl.col(_DUP_KEY))).select(
        _PART,
        _POS,
        SOURCE_FILE,
        SOURCE_ROW,
        pl.when(pl.col(_DUP_ROW)).then(pl.lit(_DUP_ROW)).otherwise(pl.lit(_DUP_KEY)).alias(REASON),
        *[pl.col(c).cast(pl.String).alias(f"src_{c.removeprefix(_SRC)}") for c in src],
    )
    flagged_dup = cand.filter(pl.col(_BAD) & pl.col(_DUP_ROW)).select(_PART, _POS)
    del cand
    unmapped = _unmapped_values(done)
    _fail_fast(table, validator, done, moved, pl.concat(counts, how="diagonal_relaxed"),
               unmapped, limits, rule)  # fmt: skip

    clean_parts, quarantine_parts = [], []
    for i, v in enumerate(done):
        moved_i = moved.filter(pl.col(_PART) == i).drop(_PART)
        f = pl.concat(v.flagged).with_columns(
            pl.when(_is_in(_POS, flagged_dup.filter(pl.col(_PART) == i)[_POS]))
            .then(pl.concat_str(REASON, pl.lit(_DUP_ROW), separator="; "))
            .otherwise(pl.col(REASON))
            .alias(REASON)
        )
        quarantine_parts.append(
            pl.concat([f, moved_i])
            .sort(_POS)
            .select(_POS, pl.lit(table).alias("table"), pl.exclude(_POS))
        )
        k = pl.concat(v.kept).filter(~_is_in(_POS, moved_i[_POS]))
        counts += [
            *v.counts,
            moved_i.group_by(SOURCE_FILE).agg((-pl.len().cast(pl.Int64)).alias("rows_kept")),
            quarantine_parts[-1].group_by(SOURCE_FILE).len("rows_quarantined"),
        ]
        done[i] = None  # free each part once its rows are made
        clean = _derive(table, k, ho_codes, outcome_groups, age_bands, validator.present)
        clean_parts.append(
            clean.select(_POS, *[pl.col(c.name).cast(c.dtype) for c in schema.TABLES[table]])
        )
        del v, f, k, clean

    reconciliation = (
        pl.concat(counts, how="diagonal_relaxed")
        .group_by(SOURCE_FILE)
        .agg(pl.col("rows_read", "rows_kept", "rows_quarantined").sum().cast(pl.UInt32))
        .with_columns(pl.lit(table).alias("table"))
        .select("table", pl.col(SOURCE_FILE).alias("source_file"), "rows_read", "rows_kept",
                "rows_quarantined")
        .sort("source_file")
    )  # fmt: skip
    # Parquet row groups follow the chunks of the written frame. The chunks are laid out as a
    # filter of the whole table left them before ingest went shard by shard, so that the files
    # stay byte for byte the same: one chunk per thread, cut at equal row positions of the
    # input, except after the offence-group join, which leaves one chunk.
    n_threads = pl.thread_pool_size()
    quarantine = _cut_by_position(quarantine_parts, heights, n_threads)
    if "offence_group" in schema.polars_schema(table):
        clean_parts[:] = [f.drop(_POS) for f in clean_parts]
        clean = _contiguous(clean_parts)
    else:
        clean = _cut_by_position(clean_parts, heights, n_threads)
    return IngestResult(clean, quarantine, reconciliation, unmapped)


def _unmapped_values(done: list[_Validated]) -> pl.DataFrame:
    """Every raw code no recode lists, with its rows, per file and column (sorted)."""
    frames = [f for v in done for f in v.unmapped]
    if not frames:
        return pl.DataFrame(schema=UNMAPPED_SCHEMA)
    return (
        pl.concat(frames)
        .group_by("source_file", "column", "raw_value", "policy")
        .agg(pl.col("rows").sum())
        .select(*UNMAPPED_SCHEMA)
        .sort("source_file", "column", "rows", "raw_value", descending=[False, False, True, False])
    )


def _fail_fast(
    table: str,
    validator: _Validator,
    done: list[_Validated],
    moved: pl.DataFrame,
    read: pl.DataFrame,
    unmapped: pl.DataFrame,
    limits: Limits,
    rule: str,
) -> None:
    """Stop when a mapping is wrong rather than the rows bad: one reason quarantines more than
    `max_quarantine_share` of a file's rows, or a coded column whose policy is `stop` has a value
    its recode does not list."""
    stop_cols = [n for n, p in validator.unmapped.items() if p == "stop"]
    stopped = unmapped.filter(pl.col("column").is_in(stop_cols))
    if stopped.height:
        listing = "; ".join(
            f"{r['source_file']}: {r['column']}={r['raw_value']!r} ({r['rows']} rows)"
            for r in stopped.head(20).iter_rows(named=True)
        )
        raise IngestError(
            f"[rule {rule}] {table}: values not listed in `datasets.{table}.recode` of a column "
            f"whose `unmapped` policy is stop: {listing}"
        )
    rows_read = read.group_by(SOURCE_FILE).agg(pl.col("rows_read").sum())
    checks = done[0].checks if done else []
    names = [f"{_CHECK}{i}" for i in range(len(checks))]
    per_check = pl.concat([f for v in done for f in v.check_counts], how="vertical_relaxed")
    failing = (
        per_check.group_by(SOURCE_FILE)
        .agg(pl.col(names).sum())
        .unpivot(index=SOURCE_FILE, variable_name="check", value_name="rows")
        .with_columns(pl.col("check").str.strip_prefix(_CHECK).cast(pl.Int64))
        if names and per_check.height
        else pl.DataFrame(schema={SOURCE_FILE: pl.String, "check": pl.Int64, "rows": pl.Int64})
    )
    dup_reasons = [_DUP_ROW, _DUP_KEY]
    dups = moved.group_by(SOURCE_FILE, REASON).len("rows").with_columns(
        (pl.col(REASON).replace_strict(dup_reasons, [-1, -2], return_dtype=pl.Int64)).alias("check")
    ).select(SOURCE_FILE, "check", pl.col("rows").cast(pl.Int64))  # fmt: skip
    worst = (
        pl.concat([failing.with_columns(pl.col("rows").cast(pl.Int64)), dups])
        .join(rows_read, on=SOURCE_FILE)
        .with_columns((pl.col("rows") / pl.col("rows_read")).alias("share"))
        .filter(pl.col("share") > limits.max_quarantine_share)
        .sort("share", SOURCE_FILE, "check", descending=[True, False, False])
    )
    if not worst.height:
        return
    r = worst.row(0, named=True)
    if r["check"] < 0:
        reason = dup_reasons[-r["check"] - 1]
        check = _Check(
            pl.lit(True), reason, None, f"datasets.{table}.columns ({', '.join(validator.key)})"
        )
    else:
        check = checks[r["check"]]
    samples: list[str] = []
    if check.column is not None:
        flagged = pl.concat([f for v in done for f in v.flagged] + [moved.drop(_PART)],
                            how="diagonal_relaxed")  # fmt: skip
        samples = (
            flagged.filter(
                (pl.col(SOURCE_FILE) == r[SOURCE_FILE])
                & pl.col(REASON).str.contains(check.reason, literal=True)
            )
            .get_column(f"src_{check.column}")
            .unique(maintain_order=True)
            .head(3)
            .to_list()
        )
    raise IngestError(
        f"[rule {rule}] {table}: {r['rows']} of {r['rows_read']} rows of {r[SOURCE_FILE]} "
        f"({r['share']:.1%}, more than validation.max_quarantine_share "
        f"{limits.max_quarantine_share:.0%}) fail one check: {check.reason}"
        + (f"; column {check.column}" if check.column else "")
        + (f"; sample values {samples}" if samples else "")
        + f". Check config key `{check.config_key}`"
        + (f" (now {validator.date_fmt!r})" if check.config_key.endswith("date_format") else "")
    )


def _contiguous(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate into one chunk, one column at a time: only one column is ever held twice.

    `frames` is emptied as its columns move.
    """
    if len(frames) == 1:
        return frames.pop().rechunk()
    columns = []
    for name in frames[0].columns:
        columns.append(pl.concat([f.get_column(name) for f in frames]).rechunk())
        frames[:] = [f.drop(name) for f in frames]
    frames.clear()
    return pl.DataFrame(columns)


def _cut_by_position(frames: list[pl.DataFrame], heights: list[int], n: int) -> pl.DataFrame:
    """One chunk per `n` equal ranges of input position (`_POS` within each part)."""
    total = sum(heights)
    size = total // n if n > 1 else total
    cuts = [i * size for i in range(n)] + [total] if n > 1 else [0, total]
    starts = [sum(heights[:i]) for i in range(len(heights))]
    pieces = []
    for lo, hi in itertools.pairwise(cuts):
        take = []
        for f, start in zip(frames, starts, strict=True):
            pos = f.get_column(_POS)
            a = pos.search_sorted(max(lo - start, 0), "left")
            b = pos.search_sorted(max(hi - start, 0), "left")
            if b > a:
                take.append(f.slice(a, b - a).drop(_POS))
        pieces.append(_contiguous(take) if take else frames[0].clear().drop(_POS))
    frames.clear()
    return pl.concat(pieces, rechunk=False)


def ingest_table(
    table: str,
    raw: pl.DataFrame,
    spec: dict,
    ho_codes: pl.DataFrame,
    limits: Limits,
    outcome_groups: dict[str, list[str]] | None = None,
    age_bands: list[int] | None = None,
    parents: pl.Series | None = None,
) -> IngestResult:
    """Map, parse and validate one dataset; split it into clean rows and quarantined rows.

    `raw` holds the source columns (as named in the extract) plus `_source_file`/`_source_row`;
    `spec` is the dataset's config entry (`columns`, `recode`, `date_format`); `ho_codes` has
    the HO code table with `ho_code` (NNNNN) and `offence_group`.
    """
    return _ingest_parts(
        table,
        [_Part("raw", lambda cols: raw if cols is None else raw.select(SOURCE_FILE, SOURCE_ROW,
                                                                       *cols), raw.schema)],
        spec, ho_codes, limits, outcome_groups or {}, age_bands or [], parents=parents,
    )  # fmt: skip


def _derive(
    table: str,
    df: pl.DataFrame,
    ho_codes: pl.DataFrame,
    outcome_groups: dict[str, list[str]],
    age_bands: list[int],
    present: set[str] | None = None,
) -> pl.DataFrame:
    """The derived columns; null where a column they derive from is absent from the extract."""
    names = {c.name for c in schema.TABLES[table] if c.kind == "derived"}
    if present is not None:
        absent = {n for n in names if not set(schema.DERIVED_FROM[n]) <= present}
        names -= absent
        df = df.with_columns(pl.lit(None).alias(n) for n in sorted(absent))
    if not names:
        return df
    out = df
    exprs = []
    if "offence_group" in names:
        codes = ho_codes.select("ho_code", "offence_group")
        if codes["ho_code"].is_unique().all():
            # A lookup of the one column, rather than a join that copies every column.
            exprs.append(
                pl.col("ho_offence_code")
                .replace_strict(codes["ho_code"], codes["offence_group"], default=None,
                                return_dtype=pl.String)
                .alias("offence_group")
            )  # fmt: skip
        else:
            out = out.join(
                codes.rename({"ho_code": "ho_offence_code"}),
                on="ho_offence_code",
                how="left",
                maintain_order="left",
            )
    if "ethnic_group" in names:
        exprs.append(
            _enum_lookup("ethnicity", out.schema["ethnicity"], schema.ETHNIC_GROUP_OF,
                         "Not stated").alias("ethnic_group")
        )  # fmt: skip
    if "age_band" in names:
        exprs.append(_age_band_expr("age_at_offence", age_bands).alias("age_band"))
    if "receipt_year" in names:
        exprs.append(pl.col("receipt_date").dt.year().alias("receipt_year"))
    if "disposal_year" in names:
        exprs.append(pl.col("disposal_date").dt.year().alias("disposal_year"))
    if "outcome_group" in names:
        lookup = {o: g for g, members in outcome_groups.items() for o in members}
        exprs.append(
            _enum_lookup("outcome", out.schema["outcome"], lookup, "other").alias("outcome_group")
        )
    return out.with_columns(exprs)


def _enum_lookup(col: str, dtype: pl.DataType, mapping: dict[str, str], default: str) -> pl.Expr:
    """`mapping` applied to an Enum column (null and unlisted values give `default`), looked up
    once per category rather than once per row."""
    if not isinstance(dtype, pl.Enum):
        return pl.col(col).cast(pl.String).replace_strict(mapping, default=default)
    values = pl.Series([mapping.get(c, default) for c in dtype.categories], dtype=pl.String)
    return pl.lit(values).gather(pl.col(col).to_physical()).fill_null(default)


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
    out_unmapped: str | Path | None = None,
    parents_path: str | Path | None = None,
) -> IngestResult:
    """Read, validate and write one dataset (the body of rule `ingest`), one file at a time.

    `parents_path`: the ingested parent table of a table with a foreign key (ORPHAN_KEYS), whose
    rows without a parent are quarantined as orphans.
    """
    source_cols = list(dict.fromkeys(e for e in spec["columns"].values() if isinstance(e, str)))
    parts = _file_parts(spec["path"], spec.get("format", "auto"), source_cols, rule)
    log.info("%s: reading %d file(s) from %s", table, len(parts), spec["path"])
    parents = None
    if parents_path is not None:
        parent_key = ORPHAN_KEYS[table][2]
        parents = pl.read_parquet(parents_path, columns=[parent_key]).get_column(parent_key)
    result = _ingest_parts(
        table, parts, spec, load_ho_codes(ho_codes_path), limits, outcome_groups, age_bands,
        rule=rule, parents=parents,
    )  # fmt: skip
    rec = result.reconciliation
    log.info("%s: read %d rows", table, rec["rows_read"].sum())
    if not (rec["rows_read"] == rec["rows_kept"] + rec["rows_quarantined"]).all():
        raise IngestError(f"[rule {rule}] reconciliation does not balance for {table}")
    if rec["rows_read"].sum() > 0 and result.clean.height == 0:
        raise IngestError(
            f"[rule {rule}] {table}: every row of {spec['path']} was quarantined; see "
            f"{out_quarantine} for the reasons (the mapping is probably wrong)"
        )
    if rec["rows_read"].sum() == 0:
        raise IngestError(
            f"[rule {rule}] {spec['path']} holds no data rows (only headers): if the extract "
            f"lacks {table}, declare it absent (`datasets.{table}: null` in the mapping)"
        )
    for r in result.unmapped.iter_rows(named=True):
        log.warning(
            "%s: %s: %s has value %r in %d rows that datasets.%s.recode does not list (%s)",
            table, r["source_file"], r["column"], r["raw_value"], r["rows"], table, r["policy"],
        )  # fmt: skip
    write_parquet(result.clean, out_clean)
    write_parquet(result.quarantine, out_quarantine)
    rec.write_csv(out_reconciliation)
    if out_unmapped is not None:
        result.unmapped.with_columns(pl.lit(table).alias("table")).select(
            "table", *UNMAPPED_SCHEMA
        ).write_csv(out_unmapped)
    log.info("%s: kept %d, quarantined %d", table, result.clean.height, result.quarantine.height)
    return result
