"""Rule provenance: the run manifest with benchmarks, made last."""

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import in_repo, setup

log = setup(snakemake)

from socflow.provenance import (  # noqa: E402
    build_manifest,
    read_input_hashes,
    resources_from_config,
    write_benchmarks_csv,
    write_manifest,
)

p, out = snakemake.params, snakemake.output

# Drawn by rule rulegraph; its summary goes into the manifest.
graph = json.loads(Path(snakemake.input.rulegraph).read_text())

paths, versions = resources_from_config(p.resources)
paths = {k: v if Path(v).exists() else in_repo(snakemake, v) for k, v in paths.items()}
manifest = build_manifest(
    config=p.config,
    datasets=p.datasets,
    resources=paths,
    resource_versions=versions,
    configfiles=[in_repo(snakemake, f) for f in p.all_configfiles],
    repo_dir=Path(in_repo(snakemake, ".")),
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
