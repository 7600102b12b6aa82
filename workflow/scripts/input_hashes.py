"""Rule input_hashes: the SHA-256 of every input data file, for the provenance manifest."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.provenance import write_input_hashes  # noqa: E402

write_input_hashes(snakemake.params.datasets, snakemake.output.hashes)
log.info("hashed the input files of %d tables", len(snakemake.params.datasets))
