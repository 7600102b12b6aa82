"""The researcher's page of a draft mapping: matches, confidence, runners-up and value tables."""

from __future__ import annotations

import polars as pl

from socflow.assist.draft import Draft
from socflow.render import environment


def matches_table(draft: Draft) -> pl.DataFrame:
    rows = []
    for name, m in draft.matches.items():
        rows.append(
            {
                "canonical column": name,
                "kind": m.column.kind,
                "required": "yes" if m.column.required else "no",
                "proposed source": m.source if m.source is not None else "(absent)",
                "confidence": m.confidence,
                "score": round(m.score, 2),
                "name": round(m.name, 2),
                "content": round(m.content, 2),
                "alternatives": ", ".join(f"{a.source} ({a.score:.2f})" for a in m.alternatives),
                "notes": "; ".join(m.notes),
            }
        )
    return pl.DataFrame(rows)


def unused_table(draft: Draft) -> pl.DataFrame:
    used = {m.source for m in draft.matches.values()}
    rows = [
        {"source column": name, "rows": ev.profile.rows, "blank": ev.profile.blank,
         "distinct values": ev.profile.distinct,
         "looks like": ("dates " + ev.date.format if ev.date.format
                        else "HO codes" if ev.code.form
                        else "numbers" if ev.number_share > 0.9
                        else "coded" if ev.profile.counts is not None else "text")}
        for name, ev in draft.evidence.items() if name not in used
    ]  # fmt: skip
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def render_page(draft: Draft) -> str:
    ex = draft.extract
    files = pl.DataFrame(
        {"file": [f.name for f, _ in ex.files], "format": [k for _, k in ex.files]}
    )
    return (
        environment()
        .get_template("mapping_assistant.html.j2")
        .render(
            table=draft.table,
            extract=str(ex.path),
            format=ex.format,
            date_format=draft.date_format,
            date_notes=draft.date_notes,
            files=files,
            skipped=[f"{f} ({why})" for f, why in ex.skipped],
            matches=matches_table(draft),
            unused=unused_table(draft),
            value_tables=draft.value_tables,
            yaml_text=draft.yaml_text(),
        )
    )
