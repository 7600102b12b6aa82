"""The workflow's Parquet writer (socflow.parquet)."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq
from polars.testing import assert_frame_equal

from socflow.parquet import write_parquet


def test_written_files_are_zstd_and_read_back_unchanged(tmp_path):
    frame = pl.DataFrame(
        {"id": [f"P{i:06d}" for i in range(5000)], "n": list(range(5000)), "x": [None, 1.5] * 2500}
    )
    path = tmp_path / "frame.parquet"
    write_parquet(frame, path)
    meta = pq.ParquetFile(path).metadata
    codecs = {
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    }
    assert codecs == {"ZSTD"}
    assert_frame_equal(pl.read_parquet(path), frame)


def test_written_files_are_byte_identical_run_to_run(tmp_path):
    frame = pl.DataFrame({"a": list(range(20000)), "b": [str(i % 97) for i in range(20000)]})
    write_parquet(frame, tmp_path / "one.parquet")
    write_parquet(frame, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
