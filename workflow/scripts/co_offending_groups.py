"""Rule co_offending_groups: connected components of the person-case network."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.soc import run_co_offending_groups  # noqa: E402

run_co_offending_groups(
    flags_path=snakemake.input.flags,
    crown_path=snakemake.input.crown,
    mags_path=snakemake.input.get("mags"),
    person_ids_path=snakemake.input.get("person_ids"),
    out_person_groups=snakemake.output.person_groups,
    out_groups=snakemake.output.groups,
    out_candidates=snakemake.output.candidates,
)
