"""Rule rulegraph: the rule graph of the workflow as configured (DOT, Mermaid, PNG)."""

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import in_repo, setup

log = setup(snakemake)

from socflow.provenance import snakemake_rulegraph, write_rulegraph  # noqa: E402

p, out = snakemake.params, snakemake.output


dot = snakemake_rulegraph(
    in_repo(snakemake, p.snakefile),
    workdir=os.getcwd(),
    configfiles=[in_repo(snakemake, f) for f in p.configfiles],
    config=p.config,
)
graph = write_rulegraph(dot, out.dot, out.mermaid, out.png)
Path(out.summary).parent.mkdir(parents=True, exist_ok=True)
Path(out.summary).write_text(json.dumps(graph, indent=2, sort_keys=True) + "\n")
log.info("rule graph: %d rules, picture drawn by %s", len(graph["rules"]), graph["png_renderer"])
