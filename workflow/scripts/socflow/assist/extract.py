"""Read one extract (a file or a folder of shards, CSV and Parquet mixed) and profile its columns.

Files are chosen as ingest chooses them (socflow.ingest.list_source_files): every data file of a
folder, each read by its suffix. An entry of the folder that is not a data file is listed in the
outputs, because ingest will stop on it. Every value is read as text, as ingest reads CSV, so
that the profile sees what ingest will parse; columns are read one at a time, so memory holds
one column of the extract rather than all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from socflow.ingest import DATA_SUFFIXES, SNAKEMAKE_MARKER

SUFFIXES = {
    "csv": tuple(s for s in DATA_SUFFIXES if s.startswith(".csv")),
    "parquet": tuple(s for s in DATA_SUFFIXES if not s.startswith(".csv")),
}
SAMPLE = 5000  # distinct values kept per column for content tests
CODED_MAX = 200  # at most this many distinct values: the column may be coded


class AssistError(RuntimeError):
    """The extract cannot be read: the message names the path and what is wrong."""


def kind_of(path: Path) -> str | None:
    for kind, suffixes in SUFFIXES.items():
        if path.name.endswith(suffixes):
            return kind
    return None


@dataclass(frozen=True)
class Extract:
    """The files read (with their formats), the entries not read (with why), and the columns.

    `asked`: the --format given (`auto` unless the user named one)."""

    path: Path
    files: tuple[tuple[Path, str], ...]
    skipped: tuple[tuple[Path, str], ...]
    columns: tuple[str, ...]
    columns_by_file: dict[str, tuple[str, ...]] = field(default_factory=dict)
    asked: str = "auto"

    @property
    def format(self) -> str:
        """The `format` a mapping should give: as asked, else the one kind of file, or `auto`."""
        if self.asked != "auto":
            return self.asked
        kinds = {k for _, k in self.files}
        return kinds.pop() if len(kinds) == 1 else "auto"

    def scan(self) -> pl.LazyFrame:
        """All files stacked, every column as text; a column missing from a file is null there."""
        frames = []
        for f, kind in self.files:
            if kind == "csv":
                lf = (pl.read_csv(f, infer_schema=False).lazy() if f.name.endswith(".gz")
                      else pl.scan_csv(f, infer_schema=False))  # fmt: skip
            else:
                lf = pl.scan_parquet(f).select(pl.all().cast(pl.String))
            frames.append(lf)
        return pl.concat(frames, how="diagonal")


def open_extract(path: str | Path, fmt: str = "auto") -> Extract:
    """List the data files behind `path`, as ingest would, and read their headers.

    `fmt` is the format of a single file whose name has no data suffix; in a folder every data
    file is read by its suffix, as ingest reads it.
    """
    if fmt not in ("auto", "csv", "parquet"):
        raise AssistError(f"--format must be auto, csv or parquet, not {fmt!r}")
    p = Path(path)
    if not p.exists():
        raise AssistError(f"extract not found: {p}")
    files, skipped = [], []
    if p.is_file():
        kind = kind_of(p) or (fmt if fmt != "auto" else None)
        if kind is None:
            raise AssistError(f"cannot tell the format of {p} from its name: give --format")
        files.append((p, kind))
    else:
        for f in sorted(e for e in p.iterdir() if e.name != SNAKEMAKE_MARKER):
            kind = kind_of(f) if f.is_file() else None
            if kind is None:
                skipped.append((f, "not a data file; ingest stops on it: move it out"))
            else:
                files.append((f, kind))
    if not files:
        raise AssistError(f"{p} holds no data file ({', '.join(DATA_SUFFIXES)})")
    by_file: dict[str, tuple[str, ...]] = {}
    for f, kind in files:
        try:
            if kind == "csv":
                cols = pl.read_csv(f, n_rows=0, infer_schema=False).columns
            else:
                cols = list(pl.read_parquet_schema(f))
        except Exception as exc:  # unreadable file: say which
            raise AssistError(f"cannot read {f}: {exc}") from exc
        by_file[f.name] = tuple(cols)
    columns = tuple(dict.fromkeys(c for cols in by_file.values() for c in cols))
    return Extract(p, tuple(files), tuple(skipped), columns, by_file, fmt)


@dataclass(frozen=True)
class ColumnProfile:
    """What one source column holds: counts, a sample of distinct values and, when the column
    has few distinct values, every value with its row count."""

    name: str
    rows: int
    blank: int
    distinct: int  # distinct non-blank values
    sample: pl.Series  # up to SAMPLE distinct non-blank values, in a fixed pseudo-random order
    counts: pl.DataFrame | None  # value (blank as ""), rows; None if more than CODED_MAX values
    missing_in: tuple[str, ...] = ()  # files that lack the column

    @property
    def filled(self) -> int:
        return self.rows - self.blank

    @property
    def distinct_share(self) -> float:
        """Distinct values per non-blank row: 1 for a key."""
        return self.distinct / self.filled if self.filled else 0.0


def profile_columns(extract: Extract) -> dict[str, ColumnProfile]:
    """A profile of every source column, in the extract's column order.

    One column is read at a time (one scan of the files each), then profiled in memory.
    """
    lf = extract.scan()
    out = {}
    for name in extract.columns:
        text = lf.select(pl.col(name).str.strip_chars().fill_null("")).collect().to_series()
        filled = text.filter(text != "")
        distinct = filled.unique()
        sample = (
            pl.DataFrame({name: distinct})
            .sort(pl.col(name).hash(seed=0), name)
            .head(SAMPLE)
            .get_column(name)
        )
        counts = None
        if distinct.len() <= CODED_MAX:
            counts = (
                text.rename("value")
                .value_counts(name="rows")
                .sort(["rows", "value"], descending=[True, False])
                .with_columns(pl.col("rows").cast(pl.Int64))
            )
        missing = tuple(f for f, cols in extract.columns_by_file.items() if name not in cols)
        rows = text.len()
        out[name] = ColumnProfile(
            name, rows, rows - filled.len(), distinct.len(), sample, counts, missing
        )
        del text, filled, distinct
    return out
