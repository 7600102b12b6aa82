"""Rule flag_soc: the SOC proxy and its sensitivity variants for every Crown defendant-case."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.mapping import LinkError  # noqa: E402
from socflow.soc import CodeListError, run_flag_soc  # noqa: E402

try:
    run_flag_soc(
        crown_path=snakemake.input.crown,
        offences_path=snakemake.input.get("offences"),
        person_ids_path=snakemake.input.get("person_ids"),
        code_list_path=snakemake.input.code_list,
        ho_codes_path=snakemake.input.ho_codes,
        code_list_version=snakemake.params.code_list_version,
        definition=snakemake.params.definition,
        sensitivity=snakemake.params.sensitivity,
        out_flags=snakemake.output.flags,
        out_counts=snakemake.output.counts,
        out_code_list=snakemake.output.code_list,
        out_candidates=snakemake.output.candidates,
        definition_labels=snakemake.params.definition_labels,
    )
except (CodeListError, LinkError) as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR [rule flag_soc]: {exc}")
