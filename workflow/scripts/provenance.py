"""Rule provenance: the rule graph (DOT, Mermaid, PNG) and the run manifest with benchmarks."""

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.provenance import (  # noqa: E402
    build_manifest,
    read_input_hashes,
    resources_from_config,
    snakemake_rulegraph,
    write_benchmarks_csv,
    write_manifest,
    write_rulegraph,
)

p, out = snakemake.params, snakemake.output
# The project folder: params name files relative to it, so that moving it re-runs nothing.
repo = Path(snakemake.scriptdir).resolve().parents[1]


def in_repo(path: str) -> str:
    return str(path) if Path(path).is_absolute() else str(repo / path)


dot = snakemake_rulegraph(
    in_repo(p.snakefile),
    workdir=os.getcwd(),
    configfiles=[in_repo(f) for f in p.configfiles],
    config=p.config,
)
graph = write_rulegraph(dot, out.dot, out.mermaid, out.png)
log.info("rule graph: %d rules, picture drawn by %s", len(graph["rules"]), graph["png_renderer"])

paths, versions = resources_from_config(p.resources)
paths = {k: v if Path(v).exists() else in_repo(v) for k, v in paths.items()}
manifest = build_manifest(
    config=p.config,
    datasets=p.datasets,
    resources=paths,
    resource_versions=versions,
    configfiles=[in_repo(f) for f in p.all_configfiles],
    repo_dir=repo,
    bench_dir=p.benchmarks,
    rulegraph=graph,
    input_hashes=read_input_hashes(snakemake.input.input_hashes, p.datasets),
)
write_manifest(manifest, out.manifest)
write_benchmarks_csv(manifest["benchmarks"], out.benchmarks)
log.info("git: %s", {k: manifest["git"][k] for k in ("commit", "dirty", "reason")})
log.info(
    "manifest: %d input tables, %d resource tables, %d benchmark rows",
    len(manifest["inputs"]),
    len(manifest["resources"]),
    len(manifest["benchmarks"]),
)
