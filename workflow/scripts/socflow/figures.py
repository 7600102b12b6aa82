"""Figures for the report, drawn only from disclosure-checked tables.

Each function takes a published table and a figure spec from the candidate
(`socflow.outputs`), and writes a PNG. A withheld value (null in the table, or a share
whose count is withheld) is drawn as a grey cross labelled "[c]" at the baseline, never as
an empty bar or a gap that reads as zero. PNG, not SVG: vector
files embed exact coordinates. Files are deterministic (no timestamps in the metadata).

Rule `figures` draws one stage's figures (`draw_stage`) in a job of its own; the summary report
only copies them into the release folder, so it never loads matplotlib.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

TOTAL = "Total"
PNG_META = {"Software": None}
MARKER = "[c]"
WITHHELD_COLOUR = "#6c757d"
COLOURS = ["#1b6ca8", "#d9822b", "#5a9e4b", "#a23b72", "#6c757d", "#e0b400", "#3b3b98"]
# One colour for SOC and one for non-SOC across the report; everyone else in grey.
GROUP_COLOURS = {"soc": "#b2182b", "non-soc": "#2166ac", "all": "#6c757d", "total": "#6c757d"}
DPI = 200
TITLE_WIDTH = 70  # characters per title line
NICE_RATIOS = (
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    0.67,
    0.8,
    1,
    1.25,
    1.5,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1000,
)
MAX_TICKS = 7


def colour_of(group: str, k: int) -> str:
    """SOC and non-SOC keep their colours in every figure; other groups take the palette."""
    return GROUP_COLOURS.get(str(group).strip().lower(), COLOURS[k % len(COLOURS)])


def _title(ax: Any, title: str) -> None:
    ax.set_title(textwrap.fill(title, TITLE_WIDTH), fontsize=10)


def _legend(ax: Any) -> None:
    """The legend beside the plot, never over the data."""
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, metadata=PNG_META, bbox_inches="tight")
    plt.close(fig)
    return path


def _plain(v: float, _pos: int = 0) -> str:
    """A tick label as a plain number (0.5, 1, 2), not a power of ten."""
    return f"{v:g}"


def _body(table: pl.DataFrame, label: str) -> pl.DataFrame:
    """Cells only: the total row of a frequency table removed."""
    return table.filter(pl.col(label).cast(pl.String) != TOTAL)


def frequency_shares(table: pl.DataFrame, spec: dict[str, Any]) -> pl.DataFrame:
    """Long frame (category, group, value) for a frequency figure, from published counts.

    `share_within: <column dim>` gives each cell as a share of its column total;
    `share_of: <column label>` gives that column as a share of the row total.
    """
    row = table.columns[0]
    body = _body(table, row)
    groups = [c for c in table.columns[1:] if c != TOTAL]
    if "share_of" in spec:
        col = spec["share_of"]
        return body.select(
            pl.col(row).cast(pl.String).alias("category"),
            pl.lit(col).alias("group"),
            (pl.col(col) / pl.col(TOTAL)).alias("value"),
        )
    if "share_within" in spec:
        totals = table.filter(pl.col(row).cast(pl.String) == TOTAL)
        parts = [
            body.select(
                pl.col(row).cast(pl.String).alias("category"),
                pl.lit(g).alias("group"),
                (pl.col(g) / totals[g][0]).alias("value")
                if totals.height and totals[g][0]
                else pl.lit(None, dtype=pl.Float64).alias("value"),
            )
            for g in groups
        ]
        return pl.concat(parts)
    value_cols = groups or [spec.get("y")]
    return pl.concat(
        [
            body.select(
                pl.col(row).cast(pl.String).alias("category"),
                pl.lit(g).alias("group"),
                pl.col(g).cast(pl.Float64).alias("value"),
            )
            for g in value_cols
        ]
    )


def _mark_withheld(ax: Any, positions: np.ndarray, *, horizontal: bool) -> None:
    """A labelled cross at the baseline for each withheld value."""
    if not len(positions):
        return
    trans = ax.get_yaxis_transform() if horizontal else ax.get_xaxis_transform()
    for p in positions:
        xy = (0.01, p) if horizontal else (p, 0.01)
        ax.plot(*xy, marker="x", color=WITHHELD_COLOUR, ms=6, transform=trans, clip_on=False)
        ax.annotate(
            MARKER,
            xy,
            xytext=(4, 0) if horizontal else (0, 6),
            xycoords=trans,
            textcoords="offset points",
            fontsize=7,
            color=WITHHELD_COLOUR,
            ha="left" if horizontal else "center",
            va="center" if horizontal else "bottom",
        )


def bar(long: pl.DataFrame, path: Path, *, title: str, ylabel: str, horizontal: bool) -> Path:
    """Grouped bars of `value` by `category` and `group`; withheld values marked [c]."""
    cats = long["category"].unique(maintain_order=True).to_list()
    groups = long["group"].unique(maintain_order=True).to_list()
    height = max(3.0, 0.32 * len(cats) * max(len(groups), 1) + 1.2) if horizontal else 3.6
    fig, ax = plt.subplots(figsize=(7.5, min(height, 12)))
    width = 0.8 / max(len(groups), 1)
    pos = np.arange(len(cats))
    for k, g in enumerate(groups):
        sub = long.filter(pl.col("group") == g)
        lookup = dict(zip(sub["category"], sub["value"], strict=True))
        vals = np.array([np.nan if lookup.get(c) is None else lookup[c] for c in cats], float)
        offset = pos + (k - (len(groups) - 1) / 2) * width
        colour = colour_of(g, k)
        err = None
        if {"lower", "upper"} <= set(sub.columns):
            lo = dict(zip(sub["category"], sub["lower"], strict=True))
            hi = dict(zip(sub["category"], sub["upper"], strict=True))
            lows = np.array([np.nan if lo.get(c) is None else lo[c] for c in cats], float)
            highs = np.array([np.nan if hi.get(c) is None else hi[c] for c in cats], float)
            err = np.vstack([vals - lows, highs - vals])
        draw_bars = ax.barh if horizontal else ax.bar
        size = {"height": width, "xerr": err} if horizontal else {"width": width, "yerr": err}
        draw_bars(offset, vals, label=str(g), color=colour,
                  error_kw={"lw": 0.8, "capsize": 2}, **size)  # fmt: skip
        _mark_withheld(ax, offset[np.isnan(vals)], horizontal=horizontal)
    if horizontal:
        ax.set_yticks(pos, cats)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
    else:
        ax.set_xticks(pos, cats, rotation=30 if len(cats) > 6 else 0, ha="right")
        ax.set_ylabel(ylabel)
    if len(groups) > 1:
        _legend(ax)
    _title(ax, title)
    return _save(fig, path)


def line(long: pl.DataFrame, path: Path, *, title: str, ylabel: str, lorenz: bool = False) -> Path:
    """Lines of `value` against `category` by `group` (Lorenz: with the equality line)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8) if not lorenz else (5.2, 5.0))
    for k, (g,) in enumerate(long.select("group").unique(maintain_order=True).iter_rows()):
        sub = long.filter(pl.col("group") == g)
        x = sub["category"].cast(pl.Float64, strict=False)
        xs = x.to_numpy() if x.null_count() == 0 else np.arange(sub.height)
        ys = sub["value"].cast(pl.Float64).to_numpy()
        ax.plot(xs, ys, marker="o", ms=3, label=str(g), color=colour_of(g, k))
        _mark_withheld(ax, np.asarray(xs, float)[np.isnan(ys)], horizontal=False)
        if x.null_count():
            ax.set_xticks(xs, sub["category"].to_list())
    if lorenz:
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="equal distribution")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    else:
        ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    _legend(ax)
    _title(ax, title)
    return _save(fig, path)


def forest(table: pl.DataFrame, spec: dict[str, Any], path: Path, *, title: str) -> Path:
    """Point estimates with intervals, one row per label; reference line at `ref`."""
    df = table.drop_nulls([spec["estimate"], spec["lower"], spec["upper"]])
    labels = df[spec["label"]].cast(pl.String).to_list()
    est = df[spec["estimate"]].to_numpy()
    lo, hi = df[spec["lower"]].to_numpy(), df[spec["upper"]].to_numpy()
    width = 6.5 + 0.07 * max((len(x) for x in labels), default=0)
    fig, ax = plt.subplots(figsize=(min(width, 11.0), max(2.2, 0.4 * len(labels) + 1.0)))
    y = np.arange(len(labels))
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color=GROUP_COLOURS["soc"], capsize=3)
    ax.axvline(spec.get("ref", 1.0), color="grey", ls="--", lw=1)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    if spec.get("log", True):
        ax.set_xscale("log")
        # Plain ticks (0.5, 1, 2) where the data are, not powers of ten.
        lo_all, hi_all = float(np.nanmin(lo)), float(np.nanmax(hi))
        nice = [v for v in NICE_RATIOS if lo_all / 1.2 <= v <= hi_all * 1.2] or [1.0]
        while len(nice) > MAX_TICKS:
            nice = nice[::2]
        if 1.0 not in nice and lo_all <= 1.0 <= hi_all:
            nice = sorted({*nice, 1.0})
        ax.xaxis.set_major_locator(FixedLocator(nice))
        ax.xaxis.set_major_formatter(FuncFormatter(_plain))
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(spec.get("xlabel", "odds ratio (log scale)" if spec.get("log", True) else ""))
    _title(ax, title)
    return _save(fig, path)


def km(table: pl.DataFrame, spec: dict[str, Any], path: Path, *, title: str) -> Path:
    """Step curves of the aggregated Kaplan-Meier steps, with confidence bands."""
    group = spec["group"]
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    for k, (g,) in enumerate(table.select(group).unique(maintain_order=True).iter_rows()):
        sub = table.filter(pl.col(group) == g).sort("time")
        t = np.concatenate([[0.0], sub["time"].cast(pl.Float64).to_numpy()])
        est = np.concatenate([[spec.get("start", 0.0)], sub["estimate"].to_numpy()])
        colour = colour_of(g, k)
        ax.step(t, est, where="post", label=str(g), color=colour)
        if "ci_lower" in sub.columns and "ci_upper" in sub.columns:
            lo = np.concatenate([[est[0]], sub["ci_lower"].to_numpy()])
            hi = np.concatenate([[est[0]], sub["ci_upper"].to_numpy()])
            ax.fill_between(t, lo, hi, step="post", alpha=0.2, color=colour)
    ax.set_xlabel(spec.get("xlabel", "days at risk"))
    ax.set_ylabel(spec.get("ylabel", "cumulative re-appearance"))
    _legend(ax)
    _title(ax, title)
    return _save(fig, path)


def draw(output: dict[str, Any], path: Path) -> Path | None:
    """Draw the figure of one checked output, or None when it has none or nothing to show."""
    spec = output.get("figure")
    table = output.get("table")
    if not spec or table is None or table.height == 0 or output["status"] == "fail":
        return None
    kind, title = spec["type"], output["title"]
    if kind == "km":
        return km(table, spec, path, title=title)
    if kind == "forest":
        rows = table
        for col, val in (spec.get("filter") or {}).items():
            rows = rows.filter(pl.col(col) == val)
        return forest(rows, spec, path, title=title) if rows.height else None
    if output["kind"] == "frequency":
        long = frequency_shares(table, spec)
        if "share_of" in spec:
            ylabel = f"{spec['share_of']} share"
        elif "share_within" in spec:
            within = spec["share_within"]
            ylabel = "share of each group" if within == "status" else f"share within {within}"
        else:
            ylabel = spec.get("ylabel", spec.get("y", ""))
    else:
        df = table
        for col, val in (spec.get("filter") or {}).items():
            df = df.filter(pl.col(col) == val)
        group = spec.get("group")
        bounds = [
            pl.col(c).cast(pl.Float64).alias(a)
            for c, a in (("ci_lower", "lower"), ("ci_upper", "upper"))
            if spec["y"] == "value" and c in df.columns
        ]  # intervals are drawn wherever they were computed
        long = df.select(
            pl.col(spec["x"]).cast(pl.String).alias("category"),
            (pl.col(group).cast(pl.String) if group else pl.lit(spec["y"])).alias("group"),
            pl.col(spec["y"]).cast(pl.Float64).alias("value"),
            *(bounds if len(bounds) == 2 else []),
        )
        ylabel = spec.get("ylabel", spec["y"])
    if long.drop_nulls("value").height == 0:
        return None
    if kind in ("line", "lorenz"):
        return line(long, path, title=title, ylabel=ylabel, lorenz=kind == "lorenz")
    return bar(long, path, title=title, ylabel=ylabel, horizontal=spec.get("horizontal", False))


def draw_stage(checked: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Draw every figure of one stage's checked outputs into `out_dir` as `<output_id>.png`.

    An output whose figure `draw` declines (no spec, withheld or empty table, nothing to show)
    leaves no file. The folder is made even when it stays empty. Returns the files written, in
    the order of the outputs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for o in checked:
        path = draw(o, out_dir / f"{o['output_id']}.png")
        if path is not None:
            written.append(path)
    return written
