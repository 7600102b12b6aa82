"""Render report pages from the Jinja2 templates in `socflow/templates`."""

from __future__ import annotations

from pathlib import Path

import jinja2
import polars as pl
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).parent / "templates"


def environment() -> jinja2.Environment:
    """The templates' environment: HTML templates autoescaped, Markdown twins left as text."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["html_table"] = html_table
    env.filters["md_table"] = md_table
    return env


def _cell(v: object, column: str = "") -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool) and "year" not in column:
        return f"{v:,}"
    return str(v)


def html_table(df: pl.DataFrame) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(_cell(v, c))}</td>" for v, c in zip(row, df.columns, strict=True))
        + "</tr>"
        for row in df.iter_rows()
    )
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def md_table(df: pl.DataFrame) -> str:
    if df.width == 0:
        return "_(empty)_"
    lines = [
        "| " + " | ".join(df.columns) + " |",
        "|" + "---|" * df.width,
    ]
    lines += [
        "| " + " | ".join(_cell(v, c) for v, c in zip(row, df.columns, strict=True)) + " |"
        for row in df.iter_rows()
    ]
    return "\n".join(lines)


def render_pair(name: str, context: dict, html_path: Path, md_path: Path) -> None:
    """Render `<name>.html.j2` and `<name>.md.j2` with the same context."""
    env = environment()
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    Path(html_path).write_text(env.get_template(f"{name}.html.j2").render(**context))
    Path(md_path).write_text(env.get_template(f"{name}.md.j2").render(**context))
