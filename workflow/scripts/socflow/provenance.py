"""Provenance of a run: the rule graph (DOT, Mermaid, PNG) and a manifest of what went in.

The manifest holds the SHA-256 of every input file and resource table, the resolved config,
the Python and package versions, the git state of the workflow and Snakemake's per-rule
benchmark figures. It is deterministic for the same code, data and environment, except the
fields that must vary: the git commit and dirty state, and the benchmark timings.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, PathPatch
from matplotlib.path import Path as MplPath

from socflow.ingest import list_source_files

MANIFEST_VERSION = 1
PACKAGES = (
    "snakemake",
    "polars",
    "numpy",
    "scipy",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "jinja2",
    "pyarrow",
    "pandas",
)
_CHUNK = 1 << 20


# --- the rule graph --------------------------------------------------------------------------


@dataclass
class RuleGraph:
    """A directed graph: node id -> label, and edges (from, to) in the order they were read."""

    labels: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    @property
    def nodes(self) -> list[str]:
        return list(self.labels)


_DOT_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>//[^\n]*|/\*.*?\*/|^[ \t]*\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<arrow>->|--)
    | (?P<punct>[\[\]{};,=:])
    | (?P<id>-?(?:\.\d+|\d+(?:\.\d*)?)|[A-Za-z_\x80-\uffff][\w\x80-\uffff]*)
    """,
    re.VERBOSE | re.DOTALL | re.MULTILINE,
)
_KEYWORDS = {"graph", "digraph", "node", "edge", "subgraph", "strict"}


def _dot_tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _DOT_TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"cannot parse DOT at offset {pos}: {text[pos : pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind in ("space", "comment"):
            continue
        value = m.group()
        if kind == "string":
            kind, value = "id", value[1:-1].replace('\\"', '"').replace("\\\n", "")
        tokens.append((kind, value))
    return tokens


def _skip_port(toks: list[tuple[str, str]], i: int) -> int:
    """Skip a `:port[:compass]` after a node id."""
    while i + 1 < len(toks) and toks[i] == ("punct", ":"):
        i += 2
    return i


def parse_dot(text: str) -> RuleGraph:
    """Nodes (with their `label`) and edges of a DOT graph such as `snakemake --rulegraph`.

    Handles quoted and bare ids, attribute lists, edge chains (`a -> b -> c`), default
    attribute statements and comments; subgraph braces are read through.
    """
    toks = _dot_tokens(text)
    graph = RuleGraph()
    i = 0
    # Header: [strict] (graph|digraph) [id] {
    while i < len(toks) and toks[i] != ("punct", "{"):
        i += 1
    if i == len(toks):
        raise ValueError("not a DOT graph: no opening brace")
    i += 1

    def attrs(j: int) -> tuple[dict[str, str], int]:
        found: dict[str, str] = {}
        while j < len(toks) and toks[j] == ("punct", "["):
            j += 1
            while j < len(toks) and toks[j] != ("punct", "]"):
                if toks[j][0] == "id" and j + 2 < len(toks) and toks[j + 1] == ("punct", "="):
                    found[toks[j][1]] = toks[j + 2][1]
                    j += 3
                else:
                    j += 1
            j += 1
        return found, j

    def node(name: str) -> None:
        graph.labels.setdefault(name, name)

    while i < len(toks):
        kind, value = toks[i]
        if kind == "punct":
            i += 1
            continue
        if kind == "id" and value.lower() in _KEYWORDS:
            _, i = attrs(i + 1)
            if i < len(toks) and toks[i][0] == "id" and value.lower() == "subgraph":
                i += 1
            continue
        if kind != "id":
            raise ValueError(f"unexpected {value!r} in DOT")
        if i + 1 < len(toks) and toks[i + 1] == ("punct", "="):
            i += 3  # graph attribute: id = id
            continue
        chain, i = [value], _skip_port(toks, i + 1)
        while i < len(toks) and toks[i][0] == "arrow" and i + 1 < len(toks):
            chain.append(toks[i + 1][1])
            i = _skip_port(toks, i + 2)
        found, i = attrs(i)
        for name in chain:
            node(name)
        if len(chain) == 1 and "label" in found:
            graph.labels[value] = found["label"]
        graph.edges.extend(pairwise(chain))
    return graph


def to_mermaid(graph: RuleGraph) -> str:
    """The graph as a Mermaid top-down flowchart (nodes `n<i>` in reading order)."""
    ids = {name: f"n{k}" for k, name in enumerate(graph.nodes)}
    lines = ["flowchart TD"]
    for name in graph.nodes:
        label = graph.labels[name].replace('"', "#quot;")
        lines.append(f'    {ids[name]}["{label}"]')
    lines += [f"    {ids[a]} --> {ids[b]}" for a, b in graph.edges]
    return "\n".join(lines) + "\n"


@dataclass
class Layout:
    """A layered drawing: layer and horizontal centre of every node, and each edge's route.

    Edges that span several layers pass through virtual points (ids `("via", a, b, k)`), one
    per layer crossed, so they go around the boxes. x is in box widths, centred on 0.
    """

    layer: dict[Any, int]
    x: dict[Any, float]
    routes: dict[tuple[str, str], list[Any]]


def _spread(wanted: list[float], widths: list[float], gap: float) -> list[float]:
    """Positions closest (least squares) to `wanted`, in the given order, boxes not touching.

    Subtracting each item's minimum offset from the first turns the spacing constraints into
    monotonicity, solved exactly by pool-adjacent-violators.
    """
    offsets = [0.0]
    for a, b in pairwise(widths):
        offsets.append(offsets[-1] + (a + b) / 2 + gap)
    blocks: list[list[float]] = []  # [sum, count]
    for w, o in zip(wanted, offsets, strict=True):
        blocks.append([w - o, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted = [b[0] / b[1] for b in blocks for _ in range(int(b[1]))]
    return [f + o for f, o in zip(fitted, offsets, strict=True)]


def layered_layout(
    graph: RuleGraph, sweeps: int = 6, via_width: float = 0.3, gap: float = 0.15
) -> Layout:
    """Longest-path layering and barycentre ordering for a top-to-bottom drawing.

    Each node's layer is the length of the longest path reaching it from a source, so every
    edge goes from a lower layer to a higher one. Each layer is then ordered by the mean
    position of its neighbours in the layer above and below, alternately, to reduce crossings,
    and placed as near that mean as the spacing allows, which keeps long edges straight.
    Raises ValueError on a cycle.
    """
    nodes = graph.nodes
    edges = [(a, b) for a, b in dict.fromkeys(graph.edges) if a != b]
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        preds[b].append(a)
    layer: dict[Any, int] = {}
    visiting: set[str] = set()

    def depth(n: str) -> int:
        if n not in layer:
            if n in visiting:
                raise ValueError(f"the graph has a cycle through {n!r}")
            visiting.add(n)
            layer[n] = max((depth(p) + 1 for p in preds[n]), default=0)
            visiting.discard(n)
        return layer[n]

    for n in nodes:
        depth(n)
    up: dict[Any, list[Any]] = {n: [] for n in nodes}
    down: dict[Any, list[Any]] = {n: [] for n in nodes}
    routes: dict[tuple[str, str], list[Any]] = {}
    for a, b in edges:
        route: list[Any] = [a]
        route += [("via", a, b, k) for k in range(layer[a] + 1, layer[b])]
        route.append(b)
        for u, v in pairwise(route):
            layer.setdefault(v, layer[u] + 1)
            up.setdefault(v, []).append(u)
            down.setdefault(u, []).append(v)
            up.setdefault(u, [])
            down.setdefault(v, [])
        routes[(a, b)] = route
    n_layers = max(layer.values(), default=-1) + 1
    rows: list[list[Any]] = [[] for _ in range(n_layers)]
    for n in layer:  # real nodes in reading order, then virtual points in edge order
        rows[layer[n]].append(n)

    def reorder(row: list[Any], neighbours: dict[Any, list[Any]], ref: list[Any]) -> list[Any]:
        where = {n: k for k, n in enumerate(ref)}

        def key(item: tuple[int, Any]) -> float:
            k, n = item
            near = [where[m] for m in neighbours[n] if m in where]
            return sum(near) / len(near) if near else float(k)

        return [n for _, n in sorted(enumerate(row), key=key)]

    for s in range(sweeps):
        if s % 2 == 0:
            for k in range(1, n_layers):
                rows[k] = reorder(rows[k], up, rows[k - 1])
        else:
            for k in range(n_layers - 2, -1, -1):
                rows[k] = reorder(rows[k], down, rows[k + 1])
    width = {n: via_width if isinstance(n, tuple) else 1.0 for n in layer}
    x: dict[Any, float] = {}
    for row in rows:  # packed start, then pulled towards the neighbours' mean position
        left = -(sum(width[n] for n in row) + gap * (len(row) - 1)) / 2
        for n in row:
            x[n] = left + width[n] / 2
            left += width[n] + gap
    both = {n: up[n] + down[n] for n in layer}
    for s in range(2 * sweeps + 1):
        order = range(1, n_layers) if s % 2 == 0 else range(n_layers - 2, -1, -1)
        nbrs = both if s == 2 * sweeps else (up if s % 2 == 0 else down)
        for k in order:
            row = rows[k]
            wanted = [sum(x[m] for m in nbrs[n]) / len(nbrs[n]) if nbrs[n] else x[n] for n in row]
            for n, pos in zip(row, _spread(wanted, [width[n] for n in row], gap), strict=True):
                x[n] = pos
    if x:
        shift = (min(x[n] - width[n] / 2 for n in x) + max(x[n] + width[n] / 2 for n in x)) / 2
        x = {n: v - shift for n, v in x.items()}
    return Layout(layer=layer, x=x, routes=routes)


def draw_rulegraph(graph: RuleGraph, png_path: str | Path, dpi: int = 120) -> Path:
    """Draw the graph with matplotlib alone: labelled boxes in layers, arrows downward."""
    lay = layered_layout(graph)
    longest = max((len(label) for label in graph.labels.values()), default=4)
    box_w = 0.3 + 0.085 * longest  # inches, wide enough for a 9-point label
    box_h, gap_y, margin = 0.42, 0.55, 0.3
    n_layers = max(lay.layer.values(), default=0) + 1
    half = max((abs(v) + 0.5 for v in lay.x.values()), default=0.5)
    fig_w = 2 * half * box_w + 2 * margin
    fig_h = n_layers * (box_h + gap_y) - gap_y + 2 * margin

    def centre(n: Any) -> tuple[float, float]:
        return fig_w / 2 + lay.x[n] * box_w, fig_h - margin - box_h / 2 - lay.layer[n] * (
            box_h + gap_y
        )

    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, fig_w)
    ax.set_ylim(0, fig_h)
    ax.set_axis_off()
    style = {"edgecolor": "#7f7f7f", "facecolor": "#7f7f7f", "linewidth": 1.3, "zorder": 1}
    for route in lay.routes.values():
        (xa, ya), (xb, yb) = centre(route[0]), centre(route[-1])
        points = [(xa, ya - box_h / 2), *(centre(v) for v in route[1:-1]), (xb, yb + box_h / 2)]
        # Through the virtual points as a smooth curve (quadratic pieces between midpoints),
        # ending in a straight arrow into the box.
        mids = [((x0 + x1) / 2, (y0 + y1) / 2) for (x0, y0), (x1, y1) in pairwise(points)]
        start = points[0]
        if len(points) > 2:
            verts = [points[0], mids[0]]
            codes = [MplPath.MOVETO, MplPath.LINETO]
            for corner, mid in zip(points[1:-1], mids[1:], strict=True):
                verts += [corner, mid]
                codes += [MplPath.CURVE3, MplPath.CURVE3]
            ax.add_patch(PathPatch(MplPath(verts, codes), fill=False, **style))
            start = mids[-1]
        ax.add_patch(
            FancyArrowPatch(
                start,
                points[-1],
                arrowstyle="-|>",
                mutation_scale=12,
                shrinkA=0,
                shrinkB=1,
                **style,
            )
        )
    for n in graph.nodes:
        x, y = centre(n)
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor="#eef3fb",
                edgecolor="#2f5597",
                linewidth=1.4,
                zorder=2,
            )
        )
        ax.text(x, y, graph.labels[n], ha="center", va="center", fontsize=9, zorder=3)
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=dpi, facecolor="white", metadata={"Software": None})
    return png_path


def render_png(
    dot_text: str, png_path: str | Path, use_graphviz: bool | None = None, timeout: int = 120
) -> str:
    """Write the PNG with Graphviz `dot` when it is on PATH, else with matplotlib.

    `use_graphviz=None` decides by PATH; False forces matplotlib. Returns the renderer used.
    """
    png_path = Path(png_path)
    dot = shutil.which("dot") if use_graphviz is not False else None
    if dot:
        proc = subprocess.run(
            [dot, "-Tpng", "-o", str(png_path)],
            input=dot_text,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode == 0 and png_path.exists() and png_path.stat().st_size > 0:
            return "graphviz"
    draw_rulegraph(parse_dot(dot_text), png_path)
    return "matplotlib"


def snakemake_rulegraph(
    snakefile: str | Path,
    workdir: str | Path,
    configfiles: Sequence[str | Path] = (),
    config: Mapping[str, Any] | None = None,
    snakemake_cmd: Sequence[str] | None = None,
    timeout: int = 600,
) -> str:
    """The rule graph in DOT, from `snakemake --rulegraph` run as a subprocess.

    `configfiles` are passed as given; `config` (the resolved config of the running workflow,
    including `--config` overrides and filled defaults) is written to a temporary YAML file and
    passed last, so the graph is computed for exactly the configuration of the run.
    """
    cmd = list(snakemake_cmd or [sys.executable, "-m", "snakemake"])
    with tempfile.TemporaryDirectory(prefix="socflow_rulegraph_") as tmp:
        files = [str(f) for f in configfiles]
        if config is not None:
            resolved = Path(tmp) / "resolved_config.yaml"
            resolved.write_text(yaml.safe_dump(_plain(config), sort_keys=False))
            files.append(str(resolved))
        cmd += ["--snakefile", str(snakefile), "--directory", str(workdir)]
        if files:
            cmd += ["--configfile", *files]
        cmd += ["--rulegraph", "--nolock"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or "digraph" not in proc.stdout:
        raise RuntimeError(
            f"snakemake --rulegraph failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
        )
    return proc.stdout[proc.stdout.index("digraph") :].rstrip() + "\n"


def write_rulegraph(
    dot_text: str,
    dot_path: str | Path,
    mermaid_path: str | Path,
    png_path: str | Path,
    use_graphviz: bool | None = None,
) -> dict[str, Any]:
    """Write the DOT, Mermaid and PNG forms; return a summary for the manifest."""
    graph = parse_dot(dot_text)
    Path(dot_path).write_text(dot_text)
    Path(mermaid_path).write_text(to_mermaid(graph))
    renderer = render_png(dot_text, png_path, use_graphviz=use_graphviz)
    labels = graph.labels
    return {
        "rules": sorted(set(labels.values())),
        "edges": sorted({(labels[a], labels[b]) for a, b in graph.edges}),
        "png_renderer": renderer,
    }


# --- the manifest ----------------------------------------------------------------------------


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_entry(path: Path) -> dict[str, Any]:
    return {"path": path.as_posix(), "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def hash_datasets(datasets: Mapping[str, Mapping[str, Any] | str]) -> dict[str, Any]:
    """SHA-256 of every input file: the file, or every shard the ingest reads from a folder.

    `datasets` maps a table to its mapping entry (`path`, optional `format`), a path, or None
    for a table the extract lacks (recorded as absent).
    """
    out: dict[str, Any] = {}
    for table, given in sorted(datasets.items()):
        if given is None:
            out[table] = {"absent": True}
            continue
        spec = {"path": given} if isinstance(given, str | Path) else given
        fmt = spec.get("format", "auto")
        files = list_source_files(spec["path"], fmt, rule="provenance")
        out[table] = {
            "path": Path(spec["path"]).as_posix(),
            "files": [_file_entry(f) for f in files],
        }
    return out


def write_input_hashes(datasets: Mapping[str, Mapping[str, Any] | str], path: str | Path) -> None:
    """`hash_datasets` as JSON (rule input_hashes): the input files are hashed once, when they
    change, rather than by every run of the provenance rule; `read_input_hashes` reads it."""
    text = json.dumps(hash_datasets(datasets), indent=2, sort_keys=True, ensure_ascii=False)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text + "\n")


def read_input_hashes(path: str | Path, tables: Iterable[str]) -> dict[str, Any]:
    """The hashes `write_input_hashes` wrote; they must cover exactly the tables of the run."""
    hashes = json.loads(Path(path).read_text())
    if sorted(hashes) != sorted(tables):
        raise ValueError(
            f"{path}: hashes of tables {sorted(hashes)}, but the run's tables are "
            f"{sorted(tables)} (rule provenance; re-run rule input_hashes)"
        )
    return hashes


def resources_from_config(resources: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Paths and versions from `name: path` or `name: {path, version}` (no path: left out)."""
    paths, versions = {}, {}
    for name, value in resources.items():
        if isinstance(value, Mapping):
            if value.get("path") is None:
                continue
            paths[name] = str(value["path"])
            if value.get("version") is not None:
                versions[name] = str(value["version"])
        elif isinstance(value, str | Path):
            paths[name] = str(value)
    return paths, versions


def hash_resources(
    resources: Mapping[str, str | Path], versions: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Path, version (None unless given) and SHA-256 of each resource table."""
    versions = versions or {}
    out = {}
    for name, path in sorted(resources.items()):
        entry = _file_entry(Path(path))
        version = versions.get(name)
        entry["version"] = None if version is None else str(version)
        out[name] = entry
    return out


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def python_info() -> dict[str, str]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def git_state(path: str | Path, git: str = "git") -> dict[str, Any]:
    """Commit and dirty state of the repository holding `path`; says why when unknown."""
    exe = shutil.which(git)
    unknown = {"available": False, "commit": None, "dirty": None, "changed": []}
    if exe is None:
        return {**unknown, "reason": f"{git} not found on PATH"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [exe, "-C", str(path), *args], capture_output=True, text=True, timeout=60, check=False
        )

    try:
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            lines = (head.stderr or head.stdout).strip().splitlines()
            return {**unknown, "reason": lines[0] if lines else "not a git repository"}
        status = run("status", "--porcelain")
    except (OSError, subprocess.SubprocessError) as exc:
        return {**unknown, "reason": f"git failed: {exc}"}
    if status.returncode != 0:
        return {**unknown, "commit": head.stdout.strip(), "reason": status.stderr.strip()}
    changed = sorted(line[3:] for line in status.stdout.splitlines() if line.strip())
    return {
        "available": True,
        "commit": head.stdout.strip(),
        "dirty": bool(changed),
        "changed": changed,
        "reason": None,
    }


def _number(value: str) -> float | int | str | None:
    if value in ("", "NA", "-"):
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    if math.isfinite(number) and number.is_integer() and "." not in value:
        return int(number)
    return number


def read_benchmarks(bench_dir: str | Path) -> list[dict[str, Any]]:
    """Every benchmarks/**/*.tsv as rows: job (path below the folder, no .tsv), repeat, columns."""
    bench_dir = Path(bench_dir)
    rows = []
    if not bench_dir.is_dir():
        return rows
    for tsv in sorted(bench_dir.rglob("*.tsv")):
        job = tsv.relative_to(bench_dir).with_suffix("").as_posix()
        with open(tsv, newline="") as fh:
            for k, rec in enumerate(csv.DictReader(fh, delimiter="\t")):
                row = {"job": job, "repeat": k}
                row.update({key: _number(val) for key, val in rec.items() if key})
                rows.append(row)
    return rows


def write_benchmarks_csv(rows: list[dict[str, Any]], path: str | Path) -> None:
    columns: list[str] = ["job", "repeat"]
    for row in rows:
        columns += [c for c in row if c not in columns]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else row[c] for c in columns})


def _plain(value: Any) -> Any:
    """Config as plain JSON/YAML types (Snakemake may hand over its own mapping types)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _unique_files(paths: Iterable[str | Path]) -> list[Path]:
    """Existing files, each once (Snakemake lists a config file given twice twice)."""
    seen, out = set(), []
    for p in map(Path, paths):
        if p.is_file() and p.resolve() not in seen:
            seen.add(p.resolve())
            out.append(p)
    return out


def build_manifest(
    *,
    config: Mapping[str, Any],
    datasets: Mapping[str, Any],
    resources: Mapping[str, str | Path],
    resource_versions: Mapping[str, Any] | None = None,
    configfiles: Sequence[str | Path] = (),
    repo_dir: str | Path = ".",
    bench_dir: str | Path = "benchmarks",
    rulegraph: Mapping[str, Any] | None = None,
    packages: Iterable[str] = PACKAGES,
    git: str = "git",
    input_hashes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the manifest records (see the module docstring). `input_hashes`: what
    `hash_datasets(datasets)` gives, when it was computed already (rule input_hashes)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_name": config.get("run_name"),
        "data_source": config.get("data_source"),
        "inputs": hash_datasets(datasets) if input_hashes is None else dict(input_hashes),
        "resources": hash_resources(resources, resource_versions),
        "config_files": [_file_entry(f) for f in _unique_files(configfiles)],
        "config": _plain(config),
        "python": python_info(),
        "packages": package_versions(packages),
        "git": git_state(repo_dir, git=git),
        "rulegraph": dict(rulegraph) if rulegraph else None,
        "benchmarks": read_benchmarks(bench_dir),
    }


def write_manifest(manifest: Mapping[str, Any], path: str | Path) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    Path(path).write_text(text + "\n")
