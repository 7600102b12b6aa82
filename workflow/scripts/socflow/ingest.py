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
from functools import partial, reduce
from pathlib import Path

import polars as pl

from socflow import schema

log = logging.getLogger(__name__)

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
REASON = "reason"
_SRC = "__src__"
_TXT = "__txt__"  # stripped text of a source column
_RECODED = "__recoded__"  # recoded text of an enum column, before the allowed-value check
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


def _age_band_expr(col: str, edges: list[int]) -> pl.Expr:
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
        self.mapping: dict[str, str] = spec["columns"]
        self.recode: dict[str, dict[str, str]] = spec.get("recode") or {}
        self.date_fmt = spec.get("date_format", "%Y-%m-%d")
        self.known_codes = ho_codes["ho_code"]
        self.limits = limits
        for name, col in self.cols.items():
            if name not in self.mapping and col.required:
                raise IngestError(f"config maps no source column to required `{name}` of {table}")
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
        checks: list[tuple[pl.Expr, str]] = []
        for name, col in self.cols.items():
            if name not in self.mapping:
                parsed.append(pl.lit(None, dtype=col.dtype).alias(name))
                continue
            src = self.mapping[name]
            value = pl.col(name)
            if col.kind == "date":
                parsed.append(txt(src).str.to_date(self.date_fmt, strict=False).alias(name))
                checks.append((~blank(src) & value.is_null(), f"unparseable date in {name}"))
            elif col.kind == "int":
                # An integer column needs no round trip through text.
                raw = txt(src) if src in with_text else pl.col(_SRC + src)
                parsed.append(raw.cast(pl.Int64, strict=False).alias(name))
                checks.append((~blank(src) & value.is_null(), f"non-integer {name}"))
            elif col.kind == "float":
                parsed.append(txt(src).cast(pl.Float64, strict=False).alias(name))
                checks.append((~blank(src) & value.is_null(), f"non-numeric {name}"))
            elif col.kind == "ho_code":
                parsed.append(txt(src).str.replace("/", "", literal=True).alias(name))
                malformed = ~blank(src) & ~value.str.contains(r"^\d{5}$")
                checks.append((malformed, f"malformed HO offence code in {name}"))
                checks.append(
                    (
                        ~blank(src) & ~malformed & ~value.is_in(self.known_codes.implode()),
                        f"{name} not in HO code table",
                    )
                )
            elif col.kind == "enum":
                recoded = pl.col(_RECODED + name)
                if name in self.recode:
                    text = txt(src).fill_null("").replace_strict(self.recode[name], default=None)
                    unmapped = recoded.is_null() & ~(blank(src) & pl.lit(col.nullable))
                else:
                    text = pl.when(blank(src)).then(None).otherwise(txt(src))
                    unmapped = ~blank(src)
                parsed.append(text.alias(_RECODED + name))
                ok = recoded.is_in(col.dtype.categories.implode())
                enums.append(pl.when(ok).then(recoded).otherwise(None).cast(col.dtype).alias(name))
                checks.append((unmapped & ~ok.fill_null(False), f"unmapped value in {name}"))
            else:
                parsed.append(pl.when(blank(src)).then(None).otherwise(txt(src)).alias(name))
            if not col.nullable:
                checks.append((blank(src) & value.is_null(), f"missing {name}"))

        # Range and order checks on parsed values.
        lim = self.limits
        if "age_at_offence" in self.cols:
            age = pl.col("age_at_offence")
            checks.append(
                (~age.is_between(lim.age_min, lim.age_max), "age_at_offence out of range")
            )
        if "custody_days" in self.cols:
            cd = pl.col("custody_days")
            checks.append((~cd.is_between(0, lim.custody_days_max), "custody_days out of range"))
        if "match_score" in self.cols:
            checks.append((~pl.col("match_score").is_between(0, 1), "match_score out of range"))
        for first, second in schema.DATE_ORDER.get(self.table, ()):
            checks.append((pl.col(first) > pl.col(second), f"{first} after {second}"))

        check_exprs = [e.fill_null(False).alias(f"{_CHECK}{i}") for i, (e, _) in enumerate(checks)]
        return texts, parsed, enums, check_exprs, [t for _, t in checks]

    def _pipeline(self, raw: pl.DataFrame) -> pl.LazyFrame:
        """Raw rows (source columns renamed) -> parsed values, checks and the key hash."""
        dtypes = {c: raw.schema[_SRC + c] for c in self.source_cols}
        # Stripping copies every string; most extract columns have nothing to strip.
        strings = [c for c in self.source_cols if dtypes[c] == pl.String]
        padded = raw.select(
            (pl.col(_SRC + c) != pl.col(_SRC + c).str.strip_chars()).any().alias(c)
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
        _, _, _, checks, reasons = self._plan({c: raw.schema[c] for c in self.source_cols})
        check_names = [f"{_CHECK}{i}" for i in range(len(checks))]
        bad = pl.any_horizontal(check_names) if check_names else pl.lit(False)
        reason = pl.concat_str(
            [pl.when(pl.col(c)).then(pl.lit(t)) for c, t in zip(check_names, reasons, strict=True)],
            separator="; ",
            ignore_nulls=True,
        )
        src = [_SRC + c for c in self.source_cols]
        out = _Validated([], [], [], [])
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
) -> IngestResult:
    """Validate part by part, then find duplicate rows and keys across all parts.

    Equal rows have equal keys, so only rows whose key hash is shared can repeat a row or a key.
    A first pass over the key's source columns finds those hashes; the raw values of such rows
    are kept as each part is validated, then compared exactly.
    """
    parts = list(parts)
    validator = _Validator(table, spec, ho_codes, limits)
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
        counts.append(raw.group_by(SOURCE_FILE).len("rows_read"))
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
        clean = _derive(table, k, ho_codes, outcome_groups, age_bands)
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
    return IngestResult(clean, quarantine, reconciliation)


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
        spec, ho_codes, limits, outcome_groups or {}, age_bands or [],
    )  # fmt: skip


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
) -> IngestResult:
    """Read, validate and write one dataset (the body of rule `ingest`), one file at a time."""
    source_cols = list(dict.fromkeys(spec["columns"].values()))
    parts = _file_parts(spec["path"], spec.get("format", "auto"), source_cols, rule)
    log.info("%s: reading %d file(s) from %s", table, len(parts), spec["path"])
    result = _ingest_parts(
        table, parts, spec, load_ho_codes(ho_codes_path), limits, outcome_groups, age_bands
    )
    rec = result.reconciliation
    log.info("%s: read %d rows", table, rec["rows_read"].sum())
    if not (rec["rows_read"] == rec["rows_kept"] + rec["rows_quarantined"]).all():
        raise IngestError(f"[rule {rule}] reconciliation does not balance for {table}")
    result.clean.write_parquet(out_clean)
    result.quarantine.write_parquet(out_quarantine)
    rec.write_csv(out_reconciliation)
    log.info("%s: kept %d, quarantined %d", table, result.clean.height, result.quarantine.height)
    return result
