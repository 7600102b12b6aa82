"""The draft mapping: the proposals as a dataset entry, written as commented YAML.

The YAML is the mapping file's format (`datasets: <table>: {path, format, date_format,
columns, recode, unmapped}`) and loads as it is; confidence, runners-up, problems and raw values
without a proposed level are YAML comments, so accepting the draft means reading it, editing
what is wrong, and deleting nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from socflow import schema
from socflow.assist.dates import FORMATS
from socflow.assist.extract import Extract
from socflow.assist.levels import value_table
from socflow.assist.match import Evidence, Match


def _q(value: object) -> str:
    """A YAML scalar: JSON text is valid YAML and quotes every string safely."""
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


@dataclass
class Draft:
    """Everything the assistant proposes for one table of one extract."""

    table: str
    extract: Extract
    evidence: dict[str, Evidence]
    matches: dict[str, Match]
    date_format: str | None = None
    date_notes: list[str] = field(default_factory=list)
    value_tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    def spec(self) -> dict:
        """The dataset entry as the YAML loads (`path` as the extract was named)."""
        out: dict = {"path": str(self.extract.path), "format": self.extract.format}
        if self.date_format:
            out["date_format"] = self.date_format
        out["columns"] = {name: m.source for name, m in self.matches.items()}
        out["recode"] = {
            name: {
                v: lv
                for v, lv in vt.select("value", "proposed_level").iter_rows()
                if lv is not None
            }
            for name, vt in self.value_tables.items()
        }
        out["unmapped"] = dict.fromkeys(self.value_tables, "quarantine")
        return out

    def yaml_text(self) -> str:
        ex = self.extract
        lines = [
            f"# Draft mapping of {self.table}, proposed by the socflow mapping assistant from",
            f"# {ex.path} ({len(ex.files)} file(s) read). Check every entry against the data",
            "# dictionary before use: confidence is the match score (0-1) from the column's name",
            "# and values; `null` declares a column absent from this extract. Raw value counts",
            "# are in values_<column>.csv and mapping_assistant.html (internal: small counts).",
        ]
        lines += [f"# NOT READ: {f} ({why})" for f, why in ex.skipped]
        lines += ["datasets:", f"  {self.table}:", f"    path: {_q(str(ex.path))}"]
        kinds = sorted({k for _, k in ex.files})
        lines.append(f"    format: {ex.format}  # files: {', '.join(kinds)}")
        if self.date_format:
            lines.append(f"    date_format: {_q(self.date_format)}")
        elif self.date_notes:
            lines.append("    # date_format: none can read the date columns (see below)")
        elif any(c.kind == "date" for c in schema.source_columns(self.table)):
            lines.append("    # date_format: no date column found, so none detected")
        lines += [f"    # {n}" for n in self.date_notes]
        lines.append("    columns:")
        for name, m in self.matches.items():
            lines += [f"      # {name}: {n}" for n in m.notes]
            alts = ", ".join(f"{a.source} {a.score:.2f}" for a in m.alternatives)
            if m.source is None:
                need = "required" if m.column.required else "optional"
                comment = f"absent ({need})" + (f"; candidates: {alts}" if alts else "")
            else:
                comment = (
                    f"{m.confidence} {m.score:.2f} (name {m.name:.2f}, content {m.content:.2f})"
                )
                comment += f"; alternatives: {alts}" if alts else ""
            lines.append(f"      {name}: {_q(m.source)}  # {comment}")
        spec = self.spec()
        lines.append("    recode:" + ("" if self.value_tables else " {}"))
        for name, vt in self.value_tables.items():
            lines.append(f"      {name}:" + ("" if spec["recode"][name] else " {}"))
            for value, rows, level, how, flag in vt.select(
                "value", "rows", "proposed_level", "matched_by", "flag"
            ).iter_rows():
                if level is not None:
                    lines.append(f"        {_q(value)}: {_q(level)}  # {rows} rows, by {how}")
                elif flag == "blank -> null":
                    lines.append(f"        # {_q(value)}: {rows} rows, blank: kept as null")
                else:
                    lines.append(f"        # {_q(value)}: ?  # {rows} rows: NO LEVEL MATCHED")
        lines.append("    unmapped:" + ("" if self.value_tables else " {}"))
        lines += [f"      {name}: quarantine" for name in self.value_tables]
        return "\n".join(lines) + "\n"


def build_draft(
    table: str, extract: Extract, evidence: dict[str, Evidence], matches: dict[str, Match]
) -> Draft:
    """Add the table's date format, the value tables of coded columns, and per-column notes."""
    draft = Draft(table, extract, evidence, matches)
    formats = Counter()
    for name, m in matches.items():
        if m.source is None:
            continue
        ev = evidence[m.source]
        kind = m.column.kind
        if ev.profile.missing_in:
            m.notes.append(f"{m.source} is missing from {', '.join(ev.profile.missing_in)}")
        if kind == "date":
            if ev.date.format is None:
                draft.date_notes.append(
                    f"no date_format reads {m.source} (for {name}): two-digit years"
                )
            else:
                formats[ev.date.format] += 1
            m.notes += [f"{m.source}: {p}" for p in ev.date.problems]
        elif kind == "ho_code":
            m.notes.append(
                f"{m.source}: HO codes written "
                f"{'without leading zeros' if ev.code.form == 'zero-stripped' else ev.code.form}"
                f", {ev.code.known_share:.1%} of distinct values in the HO code table"
            )
            m.notes += [f"{m.source}: {p}" for p in ev.code.problems]
        elif kind == "int" and ev.decimal_text_share > 0:
            m.notes.append(f"{m.source}: whole numbers written with a decimal point (e.g. 12.0)")
        elif kind == "enum" and ev.profile.counts is not None:
            draft.value_tables[name] = value_table(m.column, ev.profile.counts)
            unmatched = draft.value_tables[name].filter(pl.col("flag") == "unmatched")
            if unmatched.height:
                m.notes.append(f"{unmatched.height} raw value(s), {unmatched['rows'].sum()} "
                               "rows, have no proposed level: see recode")  # fmt: skip
    if formats:
        best = max(formats, key=lambda f: (formats[f], -FORMATS.index(f)))
        draft.date_format = best
        if len(formats) > 1:
            others = ", ".join(f for f in formats if f != best)
            draft.date_notes.append(
                f"date columns differ in format ({best} and {others}); one date_format serves "
                "a table: convert the odd column(s) first"
            )
    return draft
