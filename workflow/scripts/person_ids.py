"""Rule person_ids: one cross-justice person ID per row of every linked dataset."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.persons import write_person_lookup  # noqa: E402

counts = write_person_lookup(snakemake.input.link, snakemake.output.lookup)
for dataset, rows in counts.items():
    log.info("%s: %s rows resolved to one person ID", dataset, rows)
